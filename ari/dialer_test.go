package ari_test

import (
	"context"
	"sync"
	"testing"
	"time"

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
		{"agent does not answer", aritest.Behavior{NoAnswer: true}, aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, hotline.AttemptAgentNoAnswer, 0},
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
