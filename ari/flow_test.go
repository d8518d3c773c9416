package ari_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
)

// scaledClock runs from base at factor times real speed, so a test can
// show a 7 s wait in a third of a second.
func scaledClock(base time.Time, factor float64) func() time.Time {
	start := time.Now()
	return func() time.Time {
		return base.Add(time.Duration(float64(time.Since(start)) * factor))
	}
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func defaultCalendar(t *testing.T) *hotline.Calendar {
	t.Helper()
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(t, err)
	return cal
}

// pressAfterPrompt presses digits on the citizen's phone each time a
// playback of sound starts on their channel, one entry per playback.
func pressAfterPrompt(t *testing.T, fake *aritest.Server, sound string, digits ...string) {
	t.Helper()
	w := fake.Watch()
	t.Cleanup(w.Close)
	go func() {
		for _, d := range digits {
			e, err := w.WaitFor(context.Background(), func(e aritest.Emitted) bool {
				return e.Kind == aritest.KindEvent && e.Model == "PlaybackStarted" && containsBytes(e.Body, `"media_uri":"`+sound+`"`)
			})
			if err != nil {
				return
			}
			ch := channelOfPlayback(e.Body)
			_ = fake.SendDTMF(ch, d)
		}
	}()
}

func TestRingAllSecondAgentAnswersFirst(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{Strategy: hotline.RingAll},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 600 * time.Millisecond}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 50 * time.Millisecond, HangupAfter: 200 * time.Millisecond}},
		agentSpec{id: "1003", behavior: aritest.Behavior{NoAnswer: true}})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, "1002", got.FirstResponsibleAgent)
	require.Equal(t, map[string]hotline.LegOutcome{"1001": hotline.LegCancelled, "1002": hotline.LegCompleted, "1003": hotline.LegCancelled}, legOutcomes(got))
	rung := got.Legs[0].RungAt
	for _, l := range got.Legs {
		require.WithinDuration(t, rung, l.RungAt, 100*time.Millisecond, "ring-all rings everyone at once")
	}
	require.Eventually(t, func() bool { return len(b.fake.Channels()) == 0 }, 5*time.Second, 10*time.Millisecond)
}

func TestTwoAgentsAnswerInTheSameMillisecond(t *testing.T) {
	t.Parallel()
	for range 3 {
		b := setupCalls(t, hari.CallConfig{Strategy: hotline.RingAll},
			agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 100 * time.Millisecond, HangupAfter: 300 * time.Millisecond}},
			agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 100 * time.Millisecond, HangupAfter: 300 * time.Millisecond}})
		_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
		require.NoError(t, err)
		got := b.stored(t, b.waitEnded(t).ID)
		outcomes := legOutcomes(got)
		winner := got.FirstResponsibleAgent
		require.Contains(t, []string{"1001", "1002"}, winner)
		loser := map[string]string{"1001": "1002", "1002": "1001"}[winner]
		require.Equal(t, hotline.LegCompleted, outcomes[winner])
		require.Contains(t, []hotline.LegOutcome{hotline.LegLost, hotline.LegCancelled}, outcomes[loser], "exactly one agent wins")
		loserState, _ := b.roster.Get(loser)
		require.Equal(t, hotline.AgentAvailable, loserState.State, "the loser is free for the next call")
	}
}

func TestCallerHangsUpAfterSevenSecondsOfRinging(t *testing.T) {
	t.Parallel()
	// 20× clock: 350 ms of real ringing is 7 s on the call record.
	b := setupFlow(t, hari.CallConfig{RingTimeout: 10 * time.Second, MaxWait: 30 * time.Second},
		flowOptions{now: scaledClock(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC), 20)},
		agentSpec{id: "1001", behavior: aritest.Behavior{NoAnswer: true}})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345", HangupAfter: 350 * time.Millisecond})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, hotline.CallMissed, got.State)
	require.Equal(t, hotline.MissedAbandoned, got.MissedReason)
	require.InDelta(t, 7.0, got.WaitSeconds(), 1.5)
}

func TestWorkingHours(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		at         time.Time
		wantState  hotline.CallState
		wantReason hotline.MissedReason
	}{
		{"workday 18:00 is after hours", time.Date(2026, 11, 26, 18, 0, 0, 0, shanghai), hotline.CallMissed, hotline.MissedAfterHours},
		{"National Day is a public holiday", time.Date(2026, 10, 1, 10, 0, 0, 0, shanghai), hotline.CallMissed, hotline.MissedAfterHours},
		{"make-up Saturday is a workday", time.Date(2026, 10, 10, 10, 0, 0, 0, shanghai), hotline.CallCompleted, ""},
		{"workday 10:00 is open", time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai), hotline.CallCompleted, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupFlow(t, hari.CallConfig{VoicemailMax: 300 * time.Millisecond},
				flowOptions{hours: defaultCalendar(t), now: scaledClock(tc.at, 1)},
				agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond}})
			_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
			require.NoError(t, err)
			got := b.stored(t, b.waitEnded(t).ID)
			require.Equal(t, tc.wantState, got.State)
			require.Equal(t, tc.wantReason, got.MissedReason)
			if tc.wantReason == hotline.MissedAfterHours {
				require.Empty(t, got.Legs, "nobody is rung after hours")
				require.Equal(t, got.ID+"-vm", got.VoicemailName, "the caller may leave a message")
				require.True(t, playedOn(b.fake, got.ChannelID, "sound:hotline/after-hours"))
			}
		})
	}
}

func TestRepeatCallerRingsResponsibleAgentFirst(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{},
		agentSpec{id: "1001", state: hotline.AgentPaused, behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond}})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	first := b.waitEnded(t)
	require.Equal(t, "1002", first.FirstResponsibleAgent)

	// 1001 is back and has never had a call, so least-recent would pick it;
	// the citizen's open matter belongs to 1002.
	b.roster.SetState("1001", hotline.AgentAvailable, "")
	b.roster.SetState("1002", hotline.AgentAvailable, "")
	_, err = b.fake.PlaceCall(aritest.InboundCall{Caller: "+86 138 0013 8000", Dialed: "12345"})
	require.NoError(t, err)
	second := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, "1002", second.FirstResponsibleAgent)
	require.Len(t, second.Legs, 1)
	require.Equal(t, "1002", second.Legs[0].AgentID)
}

func TestReferralKeepsFirstResponsibleAgent(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond}},
		agentSpec{id: "1002", department: "不动产登记", behavior: aritest.Behavior{AnswerAfter: 50 * time.Millisecond}},
		agentSpec{id: "1003", behavior: aritest.Behavior{NoAnswer: true}})
	chID, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	callID := waitAnswered(t, b, "1001")

	_, err = b.calls.Refer(context.Background(), callID, "1002", "1003", "")
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "only an agent on the call may refer it")
	ref, err := b.calls.Refer(context.Background(), callID, "1001", "", "不动产登记")
	require.NoError(t, err)
	require.Equal(t, "1002", ref.ToAgent)
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1002"); return a.State == hotline.AgentOnCall }, 5*time.Second, 10*time.Millisecond)

	// The target does not answer a second referral: a handover is recorded.
	ref2, err := b.calls.Refer(context.Background(), callID, "1002", "1003", "")
	require.NoError(t, err)
	require.Equal(t, "1003", ref2.ToAgent)
	require.NoError(t, b.fake.Hangup(b.legChannel(t, callID, "1001"))) // the first agent leaves; 1002 stays
	time.AfterFunc(2500*time.Millisecond, func() { _ = b.fake.Hangup(chID) })

	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, "1001", got.FirstResponsibleAgent, "referrals never change the first-responsible agent")
	require.Equal(t, hotline.CallCompleted, got.State)
	require.Len(t, got.Referrals, 2)
	require.Equal(t, hotline.ReferralAnswered, got.Referrals[0].Outcome)
	require.Equal(t, "不动产登记", got.Referrals[0].ToDepartment)
	require.Equal(t, hotline.ReferralHandover, got.Referrals[1].Outcome)
	require.Equal(t, "1003", got.Referrals[1].ToAgent)
}

func TestSatisfactionSurvey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		digits []string // pressed after each survey prompt
		want   hotline.Satisfaction
	}{
		{"digit 2 is stored", []string{"2"}, hotline.Satisfied},
		{"no digit is not rated", nil, 0},
		{"an invalid digit gets one retry", []string{"9", "3"}, hotline.FairlySatisfied},
		{"two invalid digits are not rated", []string{"9", "0"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupCalls(t, hari.CallConfig{SurveyTimeout: 400 * time.Millisecond},
				agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond}})
			prompts := []string{"sound:hotline/survey", "sound:hotline/survey-invalid"}
			for i, d := range tc.digits {
				pressAfterPrompt(t, b.fake, prompts[min(i, 1)], d)
			}
			_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
			require.NoError(t, err)
			got := b.stored(t, b.waitEnded(t).ID)
			require.NotNil(t, got.Rating)
			require.Equal(t, tc.want, got.Rating.Score)
			require.Equal(t, "1001", got.Rating.AgentID, "the rating belongs to the first-responsible agent")
		})
	}
}

func TestComplaintLineReachesSupervisor(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{ComplaintNumbers: []string{"12340"}},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond}},
		agentSpec{id: "s01", role: hotline.RoleSupervisor, behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond}})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12340"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, hotline.LineComplaint, got.Line)
	require.Equal(t, "s01", got.FirstResponsibleAgent)
	require.Equal(t, map[string]hotline.LegOutcome{"s01": hotline.LegCompleted}, legOutcomes(got), "agents are not rung for complaints")
	require.NotEmpty(t, got.RecordingName)
	require.True(t, playedOn(b.fake, b.bridgeOf(got.ID), "sound:hotline/complaint"))
}

func TestMissedCallerHearsApology(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", state: hotline.AgentPaused})
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, hotline.MissedNoAgent, got.MissedReason)
	require.True(t, playedOn(b.fake, got.ChannelID, "sound:hotline/apology"), "the caller hears the apology and the callback promise")
}

func TestAgentPauseAndResumeOnRequest(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001"}, agentSpec{id: "1002", behavior: aritest.Behavior{Offline: true}})
	ctx := context.Background()
	_, err := b.calls.SetAgentState(ctx, "1001", hotline.AgentPaused, "")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "a pause needs a reason")
	a, err := b.calls.SetAgentState(ctx, "1001", hotline.AgentPaused, "午休")
	require.NoError(t, err)
	require.Equal(t, "午休", a.PauseReason)
	stored, err := b.db.GetAgent(ctx, "1001")
	require.NoError(t, err)
	require.Equal(t, hotline.AgentPaused, stored.State)
	_, err = b.calls.SetAgentState(ctx, "1001", hotline.AgentAvailable, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1002"); return a.State == hotline.AgentOffline }, 5*time.Second, 10*time.Millisecond)
	_, err = b.calls.SetAgentState(ctx, "1002", hotline.AgentAvailable, "")
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "an unregistered phone cannot be made available")
	_, err = b.calls.SetAgentState(ctx, "nobody", hotline.AgentPaused, "x")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err))
}
