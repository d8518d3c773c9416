package ari_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
)

// fakeLease records what the dialer does with a claimed task.
type fakeLease struct {
	mu       sync.Mutex
	updates  []hotline.CallbackAttempt
	agent    string
	handedTo string
	finished chan finishedAttempt
	released chan time.Time
}

type finishedAttempt struct {
	attempt hotline.CallbackAttempt
	outcome hotline.AttemptOutcome
}

func newFakeLease() *fakeLease {
	return &fakeLease{finished: make(chan finishedAttempt, 1), released: make(chan time.Time, 1)}
}

func (l *fakeLease) HandOver(_ context.Context, agentID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handedTo = agentID
	return nil
}

func (l *fakeLease) Start(_ context.Context, agentID string) (hotline.CallbackAttempt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.agent = agentID
	return hotline.CallbackAttempt{ID: 7, TaskID: 42, AgentID: agentID, StartedAt: time.Now()}, nil
}

func (l *fakeLease) Update(_ context.Context, a hotline.CallbackAttempt) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.updates = append(l.updates, a)
	return nil
}

func (l *fakeLease) Finish(_ context.Context, a hotline.CallbackAttempt, o hotline.AttemptOutcome) error {
	l.finished <- finishedAttempt{a, o}
	return nil
}

func (l *fakeLease) Release(_ context.Context, next time.Time) error {
	l.released <- next
	return nil
}

func (l *fakeLease) Extend(context.Context) error { return nil }

// alwaysOpen is a calendar with no closed hours.
type alwaysOpen struct{}

func (alwaysOpen) AddWorking(t time.Time, d time.Duration) time.Time { return t.Add(d) }
func (alwaysOpen) NextOpen(t time.Time) time.Time                    { return t }

const citizen = "13800138000"

func setupDialer(t *testing.T, agent aritest.Behavior, agentState hotline.AgentState, citizenPhone aritest.Behavior) (*callBundle, *hari.Dialer) {
	t.Helper()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: agent, state: agentState})
	b.fake.SetEndpoint("PJSIP/"+citizen+"@trunk", citizenPhone)
	policy := hotline.CallbackPolicy{MinTalk: 200 * time.Millisecond}
	d, err := hari.NewDialer(b.calls, hari.DialerConfig{AgentRing: 400 * time.Millisecond, CitizenRing: 400 * time.Millisecond, AgentWait: time.Minute}, policy, alwaysOpen{}, nil)
	require.NoError(t, err)
	t.Cleanup(d.Wait)
	return b, d
}

func task() hotline.CallbackTask {
	return hotline.CallbackTask{ID: 42, Number: citizen, State: hotline.CallbackDialing, AgentID: "1001", Deadline: time.Now().Add(time.Hour)}
}

func waitFinished(t *testing.T, l *fakeLease) finishedAttempt {
	t.Helper()
	select {
	case f := <-l.finished:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("attempt did not finish")
		return finishedAttempt{}
	}
}

func TestCallbackRingsAgentThenCitizenAndApologisesBeforeBridging(t *testing.T) {
	t.Parallel()
	b, d := setupDialer(t, aritest.Behavior{AnswerAfter: 30 * time.Millisecond}, "",
		aritest.Behavior{AnswerAfter: 50 * time.Millisecond, HangupAfter: 600 * time.Millisecond})
	w := b.fake.Watch()
	defer w.Close()
	lease := newFakeLease()
	d.Dial(context.Background(), task(), lease)
	f := waitFinished(t, lease)

	require.Equal(t, hotline.AttemptConnected, f.outcome)
	a := f.attempt
	require.Equal(t, "1001", a.AgentID)
	require.False(t, a.AgentAnsweredAt.IsZero())
	require.False(t, a.CitizenAnsweredAt.Before(a.AgentAnsweredAt), "the agent is rung first")
	require.False(t, a.ApologyFinishedAt.IsZero(), "the apology was played to the end")
	require.True(t, a.ApologyFinishedAt.Before(a.BridgedAt) || a.ApologyFinishedAt.Equal(a.BridgedAt), "apology before bridge")
	require.Equal(t, "cb42-7", a.RecordingName)
	require.Eventually(t, func() bool { return contains(b.fake.StoredRecordings(), "cb42-7") }, 5*time.Second, 10*time.Millisecond)

	// The wire agrees: the citizen's apology playback finished before the
	// citizen entered the bridge, and the citizen saw the hotline number.
	var apologyDone, citizenBridged int
	for i := 1; apologyDone == 0 || citizenBridged == 0; i++ {
		e, err := w.Next(withTimeout(t, 5*time.Second))
		require.NoError(t, err)
		body := string(e.Body)
		switch {
		case e.Model == "PlaybackFinished" && containsBytes(e.Body, "callback-apology"):
			apologyDone = i
		case e.Model == "ChannelEnteredBridge" && containsBytes(e.Body, `"id":"cb42-7-citizen"`):
			citizenBridged = i
		case e.Model == "Dial" && containsBytes(e.Body, `"id":"cb42-7-citizen"`):
			require.Contains(t, body, `"number":"12345"`, "caller ID is the hotline")
		}
	}
	require.Less(t, apologyDone, citizenBridged)
	a1, _ := b.roster.Get("1001")
	require.Equal(t, hotline.AgentWrapUp, a1.State)
}

func TestCallbackOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		agent     aritest.Behavior
		citizen   aritest.Behavior
		want      hotline.AttemptOutcome
		wantCause int
	}{
		{"citizen busy", aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, aritest.Behavior{Busy: true}, hotline.AttemptBusy, 17},
		{"number does not exist", aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, aritest.Behavior{NotFound: true}, hotline.AttemptInvalidNumber, 1},
		{"citizen does not answer", aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, aritest.Behavior{NoAnswer: true}, hotline.AttemptNoAnswer, 19},
		{"agent does not answer", aritest.Behavior{NoAnswer: true}, aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, hotline.AttemptAgentNoAnswer, 19},
		{"agent declines", aritest.Behavior{Busy: true}, aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, hotline.AttemptAgentNoAnswer, 17},
		{"citizen hangs up during the apology", aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 5 * time.Millisecond}, hotline.AttemptTooShort, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, d := setupDialer(t, tc.agent, "", tc.citizen)
			lease := newFakeLease()
			d.Dial(context.Background(), task(), lease)
			f := waitFinished(t, lease)
			require.Equal(t, tc.want, f.outcome)
			require.Equal(t, tc.wantCause, f.attempt.Cause)
			require.True(t, f.attempt.BridgedAt.IsZero(), "nobody was bridged")
			require.Eventually(t, func() bool { return len(b.fake.Channels()) == 0 }, 5*time.Second, 10*time.Millisecond)
			if tc.want == hotline.AttemptAgentNoAnswer {
				a, _ := b.roster.Get("1001")
				require.Equal(t, hotline.AgentAvailable, a.State, "an agent who did not answer is free again")
			}
		})
	}
}

func TestCallbackWaitsWhenNoAgentCanCall(t *testing.T) {
	t.Parallel()
	_, d := setupDialer(t, aritest.Behavior{}, hotline.AgentPaused, aritest.Behavior{})
	lease := newFakeLease()
	before := time.Now()
	d.Dial(context.Background(), task(), lease)
	select {
	case next := <-lease.released:
		require.WithinDuration(t, before.Add(time.Minute), next, 5*time.Second, "due again after agent_wait")
	case <-lease.finished:
		t.Fatal("no attempt may start without an agent")
	case <-time.After(5 * time.Second):
		t.Fatal("task was not released")
	}
}

func TestReplyCallGreetsTheCitizenWithTheReply(t *testing.T) {
	t.Parallel()
	b, d := setupDialer(t, aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, "",
		aritest.Behavior{AnswerAfter: 30 * time.Millisecond, HangupAfter: 600 * time.Millisecond})
	lease := newFakeLease()
	d.ReplyCall(context.Background(), hotline.Promise{ID: 9, Number: citizen, AgentID: "1001", Deadline: time.Now().Add(time.Hour)}, lease)
	f := waitFinished(t, lease)
	require.Equal(t, hotline.AttemptConnected, f.outcome)
	require.Equal(t, "rp9-7", f.attempt.RecordingName)
	require.False(t, f.attempt.BridgedAt.Before(f.attempt.ApologyFinishedAt))
	require.True(t, playedOn(b.fake, "rp9-7-citizen", "sound:hotline/reply-greeting"), "the reply greeting, not the apology")
	require.False(t, playedOn(b.fake, "rp9-7-citizen", "sound:hotline/callback-apology"))
}

// setupTwoAgents is a dialer over 1001, who declines every ring, and 1002,
// who answers; citizens answer and talk briefly.
func setupTwoAgents(t *testing.T) (*callBundle, *hari.Dialer) {
	t.Helper()
	b := setupCalls(t, hari.CallConfig{},
		agentSpec{id: "1001", behavior: aritest.Behavior{Busy: true}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond}})
	b.fake.SetEndpoint("PJSIP/"+citizen+"@trunk", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 300 * time.Millisecond})
	policy := hotline.CallbackPolicy{MinTalk: 100 * time.Millisecond, AgentTries: 2}
	d, err := hari.NewDialer(b.calls, hari.DialerConfig{AgentRing: 400 * time.Millisecond, CitizenRing: 400 * time.Millisecond, AgentWait: time.Minute}, policy, alwaysOpen{}, nil)
	require.NoError(t, err)
	t.Cleanup(d.Wait)
	return b, d
}

// The responsible agent left the task's dials unanswered AgentTries times:
// the task goes to another available agent, who makes the call.
func TestCallbackIsHandedOverAfterTheResponsibleAgentsMisses(t *testing.T) {
	t.Parallel()
	b, d := setupTwoAgents(t)
	tk := task()
	tk.AgentMisses = 2
	ok, _ := d.Takes(tk)
	require.True(t, ok, "1002 is free and may take it over")
	lease := newFakeLease()
	d.Dial(context.Background(), tk, lease)
	f := waitFinished(t, lease)
	require.Equal(t, hotline.AttemptConnected, f.outcome)
	require.Equal(t, "1002", f.attempt.AgentID)
	lease.mu.Lock()
	require.Equal(t, "1002", lease.handedTo, "the task passes to the agent who calls")
	lease.mu.Unlock()
	require.Eventually(t, func() bool { return len(b.fake.Channels()) == 0 }, 5*time.Second, 10*time.Millisecond)
}

// An agent who declines callbacks AgentTries times in a row, on any tasks,
// is offered none for a while: their other tasks go to colleagues at once,
// and the free agents counted for claims leave them out.
func TestAgentRefusingCallbacksIsPassedOver(t *testing.T) {
	t.Parallel()
	_, d := setupTwoAgents(t)
	require.Equal(t, 2, d.Free())
	for i := range 2 {
		lease := newFakeLease()
		tk := task()
		tk.ID = int64(100 + i)
		d.Dial(context.Background(), tk, lease)
		f := waitFinished(t, lease)
		require.Equal(t, hotline.AttemptAgentNoAnswer, f.outcome)
		require.Equal(t, "1001", f.attempt.AgentID)
		require.Equal(t, 17, f.attempt.Cause, "the agent's leg was declined")
		lease.mu.Lock()
		require.Empty(t, lease.handedTo)
		lease.mu.Unlock()
	}
	require.Eventually(t, func() bool { return d.Free() == 1 }, 5*time.Second, 10*time.Millisecond, "1001 is not counted free for callbacks")

	lease := newFakeLease()
	d.Dial(context.Background(), task(), lease)
	f := waitFinished(t, lease)
	require.Equal(t, "1002", f.attempt.AgentID)
	lease.mu.Lock()
	require.Equal(t, "1002", lease.handedTo)
	lease.mu.Unlock()
}

// A reply call stays with the promise's owner: it is not handed over.
func TestReplyCallIsNotHandedOver(t *testing.T) {
	t.Parallel()
	_, d := setupTwoAgents(t)
	lease := newFakeLease()
	d.ReplyCall(context.Background(), hotline.Promise{ID: 9, Number: citizen, AgentID: "1001", Deadline: time.Now().Add(time.Hour)}, lease)
	f := waitFinished(t, lease)
	require.Equal(t, "1001", f.attempt.AgentID)
	require.Equal(t, hotline.AttemptAgentNoAnswer, f.outcome)
	lease.mu.Lock()
	require.Empty(t, lease.handedTo)
	lease.mu.Unlock()
}

// Takes and Free look without reserving: a busy responsible agent far from
// the deadline makes the task wait; near it, any free agent may call.
func TestTakesFollowsTheRoster(t *testing.T) {
	t.Parallel()
	b, d := setupTwoAgents(t)
	b.roster.SetState("1001", hotline.AgentOnCall, "")
	tk := task()
	ok, wait := d.Takes(tk)
	require.False(t, ok, "an hour left: the task waits for 1001")
	require.Equal(t, time.Minute, wait)
	tk.Deadline = time.Now().Add(5 * time.Minute)
	ok, _ = d.Takes(tk)
	require.True(t, ok, "near the deadline 1002 may help")
	require.Equal(t, 1, d.Free())
	b.roster.SetState("1002", hotline.AgentPaused, "午休")
	require.Zero(t, d.Free())
	ok, _ = d.Takes(tk)
	require.False(t, ok)
}

// AttemptLive finds an attempt's channels by their ids.
func TestAttemptLiveAsksAsteriskForTheAttemptsChannels(t *testing.T) {
	t.Parallel()
	b, d := setupTwoAgents(t)
	b.fake.SetEndpoint("PJSIP/1002", aritest.Behavior{NoAnswer: true})
	a := hotline.CallbackAttempt{ID: 9, TaskID: 5}
	live, err := d.AttemptLive(context.Background(), a)
	require.NoError(t, err)
	require.False(t, live)
	_, err = b.cli.ARI().Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/1002", App: b.cli.Application(),
		ChannelID: "cb5-9-agent", Timeout: 30})
	require.NoError(t, err)
	live, err = d.AttemptLive(context.Background(), a)
	require.NoError(t, err)
	require.True(t, live, "a channel of the attempt rings on")
	require.NoError(t, b.fake.Hangup("cb5-9-agent"))
	require.Eventually(t, func() bool {
		live, err := d.AttemptLive(context.Background(), a)
		return err == nil && !live
	}, 5*time.Second, 10*time.Millisecond)
}
