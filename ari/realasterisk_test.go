package ari_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
)

// The tests in this file cover what a real Asterisk 20 did differently
// from the fake of old (issue: "what real Asterisk showed"); the fake now
// does the same.

// wavSeconds is the length of a stored recording of the fake.
func wavSeconds(t *testing.T, fake *aritest.Server, name string) float64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(fake.RecordingsDir(), name+".wav"))
	require.NoError(t, err, "recording %s stored", name)
	return float64(st.Size()-44) / 16000
}

// TestRecordingLastsFromAnswerToHangup: the survey plays to the citizen's
// channel after the agent left. A bridge recording ends a moment later on
// a real Asterisk (trace 13: no audio in the bridge); the call's recording
// must still last from the answer to the hangup, the survey included.
func TestRecordingLastsFromAnswerToHangup(t *testing.T) {
	t.Parallel()
	b := setupFlow(t, hari.CallConfig{SurveyTimeout: 300 * time.Millisecond},
		flowOptions{fake: aritest.Options{
			RecorderIdleTimeout: 150 * time.Millisecond,
			SoundDurations:      map[string]time.Duration{"sound:hotline/survey": 700 * time.Millisecond},
		}},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 50 * time.Millisecond, HangupAfter: 200 * time.Millisecond}})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.NotNil(t, got.Rating, "the survey was played (no digit: not rated)")
	require.Equal(t, got.ID, got.RecordingName)
	require.Empty(t, got.RecordingParts, "one whole recording")
	call := got.EndedAt.Sub(got.ArrivedAt).Seconds()
	require.Eventually(t, func() bool { return contains(b.fake.StoredRecordings(), got.RecordingName) }, 5*time.Second, 10*time.Millisecond)
	require.InDelta(t, call, wavSeconds(t, b.fake, got.RecordingName), 0.2, "the recording lasts the whole call (%.2f s)", call)
	require.Greater(t, call, 1.0, "the survey is in the call")
}

// TestRecordingEndedEarlyGoesOnInANewPart: Asterisk may end a call's
// recording while the call goes on (RecordingFinished); the service goes on
// recording in a new part, and the parts together last the whole call.
func TestRecordingEndedEarlyGoesOnInANewPart(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 50 * time.Millisecond}})
	chID, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	callID := waitAnswered(t, b, "1001")
	require.NoError(t, b.fake.EndRecording(callID))
	require.Eventually(t, func() bool { return contains(b.fake.LiveRecordings(), callID+"-part2") }, 5*time.Second, 10*time.Millisecond)
	time.AfterFunc(300*time.Millisecond, func() { _ = b.fake.Hangup(chID) })

	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, []string{callID, callID + "-part2"}, got.RecordingParts)
	var total float64
	for _, p := range got.RecordingParts {
		require.Eventually(t, func() bool { return contains(b.fake.StoredRecordings(), p) }, 5*time.Second, 10*time.Millisecond)
		total += wavSeconds(t, b.fake, p)
	}
	require.InDelta(t, got.EndedAt.Sub(got.ArrivedAt).Seconds(), total, 0.2, "the parts cover the call")
}

// TestRefusingAgentIsNotRungAgainForTheCall: in the demo one call rang an
// agent who declines 24 times, a second apart. Now a decline ends the
// agent's part in the call, and one who lets it ring out is rung twice at
// most, while a colleague on another call keeps the citizen waiting.
func TestRefusingAgentIsNotRungAgainForTheCall(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{RingTimeout: 300 * time.Millisecond, MaxWait: 3 * time.Second},
		agentSpec{id: "1001", behavior: aritest.Behavior{Busy: true}},
		agentSpec{id: "1002", state: hotline.AgentOnCall}, // on duty, busy elsewhere
		agentSpec{id: "1003", behavior: aritest.Behavior{NoAnswer: true}})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, hotline.MissedNoAnswer, got.MissedReason)
	require.GreaterOrEqual(t, got.WaitSeconds(), 3.0, "the citizen waits for the colleague on the other call")
	rings := ringsPerAgent(got)
	require.Equal(t, 1, rings["1001"], "a decline is final for the call")
	require.Equal(t, 2, rings["1003"], "no answer: rung twice")
	require.Len(t, b.violations(t, "1001"), 1)
}

// TestAgentPausedAfterRefusalsInARow: calls.autopause_after (3) refusals
// in a row pause the agent with a reason, the last violation says so, and
// supervisors get a message.
func TestAgentPausedAfterRefusalsInARow(t *testing.T) {
	t.Parallel()
	b := setupFlow(t, hari.CallConfig{RingTimeout: 300 * time.Millisecond}, flowOptions{supervisors: true},
		agentSpec{id: "1001", behavior: aritest.Behavior{Busy: true}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 30 * time.Millisecond, HangupAfter: 50 * time.Millisecond}},
		agentSpec{id: "s01", role: hotline.RoleSupervisor})
	b.fake.SetEndpoint("PJSIP/s01", aritest.Behavior{})
	for i := range 3 {
		b.roster.SetState("1002", hotline.AgentAvailable, "")
		// A new citizen each time: a repeat caller would ring 1002 first (sticky).
		_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: fmt.Sprintf("1380013800%d", i), Dialed: "12345"})
		require.NoError(t, err)
		got := b.stored(t, b.waitEnded(t).ID)
		require.Equal(t, "1002", got.FirstResponsibleAgent, "call %d", i+1)
		require.Equal(t, 1, ringsPerAgent(got)["1001"], "call %d: 1001 declined first", i+1)
	}
	a, _ := b.roster.Get("1001")
	require.Equal(t, hotline.AgentPaused, a.State)
	require.Contains(t, a.PauseReason, "连续 3 次")
	stored, err := b.db.GetAgent(context.Background(), "1001")
	require.NoError(t, err)
	require.Equal(t, hotline.AgentPaused, stored.State)
	vs := b.violations(t, "1001")
	require.Len(t, vs, 3)
	require.Contains(t, vs[0].Detail, "已自动暂停", "the newest violation says the agent was paused")
	require.Contains(t, vs[0].Detail, "138****8002", "citizens' numbers are masked in violation texts")
	require.NotContains(t, vs[0].Detail, "13800138002")
	require.Eventually(t, func() bool {
		for _, m := range b.fake.Messages() {
			if m.To == "PJSIP/s01" && strings.Contains(m.Body, "坐席 1001") && strings.Contains(m.Body, "暂停") {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "supervisors are told")

	// Paused, 1001 is not rung.
	b.roster.SetState("1002", hotline.AgentAvailable, "")
	_, err = b.fake.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
	require.NoError(t, err)
	require.Empty(t, ringsPerAgent(b.stored(t, b.waitEnded(t).ID))["1001"])
}

// TestAgentLegEventsAreHandledOnce: presence watches every agent's
// endpoint, and the originate watches the agent's leg, so Asterisk sends
// the leg's events twice (trace 13). They reach the call once, and the
// copies are counted.
func TestAgentLegEventsAreHandledOnce(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 50 * time.Millisecond}})
	app := ari.NewKey(ari.ApplicationKey, "hotline")
	require.Eventually(t, func() bool {
		d, err := b.cli.ARI().Application().Data(app)
		return err == nil && contains(d.EndpointIDs, "PJSIP/1001")
	}, 5*time.Second, 10*time.Millisecond, "presence subscribed to the agent's endpoint")

	mb := hari.NewMailbox()
	b.cli.Dispatcher().Route(ari.ChannelKey, "t-a001-1001", mb)
	_, err := b.cli.ARI().Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/1001", App: "hotline", AppArgs: "test", ChannelID: "t-a001-1001"})
	require.NoError(t, err)
	counts := map[string]int{}
	for counts["ChannelDestroyed"] == 0 {
		select {
		case <-mb.Ready():
		case <-time.After(5 * time.Second):
			t.Fatalf("no ChannelDestroyed; got %v", counts)
		}
		for _, e := range mb.Take() {
			what := e.GetType() // with what tells apart events of one type
			switch ev := e.(type) {
			case *ari.Dial:
				what += " " + ev.Dialstatus
			case *ari.ChannelStateChange:
				what += " " + ev.Channel.State
			case *ari.ChannelVarset:
				what += " " + ev.Variable + "=" + ev.Value
			}
			counts[what]++
		}
	}
	for what, n := range counts {
		require.Equal(t, 1, n, "%s reaches the call once; got %v", what, counts)
	}
	require.Contains(t, counts, "StasisStart")
	require.NotContains(t, counts, "Dial ANSWER", "types nothing handles are not decoded nor routed")
	require.Greater(t, b.counter(t, "hotline_ari_events_duplicate_total"), 0.0, "the copies are counted")
}

// counter sums a counter family of the service's registry.
func (b *callBundle) counter(t *testing.T, name string) float64 {
	t.Helper()
	families, err := b.reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestMaxWaitCountsFromTheHold: the greeting and recording notice take
// 18 s with the generated prompts; max_wait counts from the end of them,
// so agents get the whole of it to answer.
func TestMaxWaitCountsFromTheHold(t *testing.T) {
	t.Parallel()
	b := setupFlow(t, hari.CallConfig{RingTimeout: 500 * time.Millisecond, MaxWait: 600 * time.Millisecond},
		flowOptions{fake: aritest.Options{SoundDurations: map[string]time.Duration{
			"sound:hotline/greeting": 400 * time.Millisecond, "sound:hotline/recording-notice": 400 * time.Millisecond}}},
		agentSpec{id: "1001", behavior: aritest.Behavior{NoAnswer: true}},
		agentSpec{id: "1002", state: hotline.AgentOnCall})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, hotline.MissedNoAnswer, got.MissedReason)
	require.NotEmpty(t, got.Legs)
	hold := got.Legs[0].RungAt.Sub(got.ArrivedAt)
	require.GreaterOrEqual(t, hold, 800*time.Millisecond, "agents ring once the prompts are over")
	require.GreaterOrEqual(t, got.EndedAt.Sub(got.Legs[0].RungAt), 550*time.Millisecond, "max_wait runs from the hold")
	require.InDelta(t, 0.8+0.6, got.WaitSeconds(), 0.3, "prompts + max_wait")
}
