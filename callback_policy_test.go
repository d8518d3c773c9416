package hotline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestCallbackPolicyAfterAttempt(t *testing.T) {
	t.Parallel()
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(t, err)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 11, 27, 16, 55, 0, 0, sh) // Friday, 5 working minutes left
	p := hotline.CallbackPolicy{}
	p.SetDefaults()
	require.NoError(t, p.Validate())
	pending := hotline.CallbackTask{State: hotline.CallbackDialing, Attempts: 0}
	cases := []struct {
		name      string
		seed      hotline.CallbackTask
		outcome   hotline.AttemptOutcome
		wantState hotline.CallbackState
		wantTries int
		wantNext  time.Time
	}{
		{"connected closes", pending, hotline.AttemptConnected, hotline.CallbackConnected, 0, time.Time{}},
		{"no such number closes at once", pending, hotline.AttemptInvalidNumber, hotline.CallbackInvalid, 1, time.Time{}},
		{"busy retries after the backoff in working time", pending, hotline.AttemptBusy, hotline.CallbackPending, 1,
			time.Date(2026, 11, 30, 8, 35, 0, 0, sh)}, // 5 min today + 5 min Monday
		{"third failure is unreachable", hotline.CallbackTask{State: hotline.CallbackDialing, Attempts: 2}, hotline.AttemptNoAnswer, hotline.CallbackUnreachable, 3, time.Time{}},
		{"agent not answering does not count; a colleague calls at once", hotline.CallbackTask{State: hotline.CallbackDialing, Attempts: 2},
			hotline.AttemptAgentNoAnswer, hotline.CallbackPending, 2, now},
		{"our own failure is retried a minute later", hotline.CallbackTask{State: hotline.CallbackDialing, AgentID: "a9", Attempts: 2},
			hotline.AttemptFailed, hotline.CallbackPending, 2, time.Date(2026, 11, 27, 16, 56, 0, 0, sh)},
		{"too short a talk counts", pending, hotline.AttemptTooShort, hotline.CallbackPending, 1, time.Date(2026, 11, 30, 8, 35, 0, 0, sh)},
		{"the responsible agent's miss hands the task over at once",
			hotline.CallbackTask{State: hotline.CallbackDialing, AgentID: "a1"}, hotline.AttemptAgentNoAnswer,
			hotline.CallbackPending, 0, now},
	}
	for _, tc := range cases {
		got := p.AfterAttempt(tc.seed, hotline.CallbackAttempt{AgentID: tc.seed.AgentID, Outcome: tc.outcome, EndedAt: now}, cal)
		require.Equal(t, tc.wantState, got.State, tc.name)
		require.Equal(t, tc.wantTries, got.Attempts, tc.name)
		require.True(t, tc.wantNext.Equal(got.NextAttempt), "%s: next %s, want %s", tc.name, got.NextAttempt, tc.wantNext)
		require.Equal(t, !got.Open(), !got.ClosedAt.IsZero(), "%s: closed tasks carry their closing time", tc.name)
	}
	// A call missed at 18:00 on Friday is due 30 working minutes after Monday's opening.
	require.Equal(t, time.Date(2026, 11, 30, 9, 0, 0, 0, sh), p.Deadline(time.Date(2026, 11, 27, 18, 0, 0, 0, sh), cal).In(sh))
}

func TestCallbackPolicyCountsTheResponsibleAgentsMisses(t *testing.T) {
	t.Parallel()
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(t, err)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, sh)
	p := hotline.CallbackPolicy{AgentTries: 2}
	p.SetDefaults()
	require.Equal(t, 2, p.AgentTries)
	task := hotline.CallbackTask{State: hotline.CallbackDialing, AgentID: "a1", Deadline: now.Add(time.Hour)}
	cases := []struct {
		name       string
		misses     int
		attempt    hotline.CallbackAttempt
		wantMisses int
	}{
		{"the responsible agent declines", 0, hotline.CallbackAttempt{AgentID: "a1", Outcome: hotline.AttemptAgentNoAnswer}, 1},
		{"a helper's miss is not theirs", 1, hotline.CallbackAttempt{AgentID: "a2", Outcome: hotline.AttemptAgentNoAnswer}, 1},
		{"our own failure changes nothing", 1, hotline.CallbackAttempt{AgentID: "a1", Outcome: hotline.AttemptFailed}, 1},
		{"an answered dial clears them", 1, hotline.CallbackAttempt{AgentID: "a1", Outcome: hotline.AttemptBusy}, 0},
	}
	for _, tc := range cases {
		seed := task
		seed.AgentMisses = tc.misses
		tc.attempt.EndedAt = now
		got := p.AfterAttempt(seed, tc.attempt, cal)
		require.Equal(t, tc.wantMisses, got.AgentMisses, tc.name)
	}

	require.False(t, p.HandsOver(task, 0))
	require.False(t, p.HandsOver(task, 1))
	require.True(t, p.HandsOver(task, 2), "an agent refusing callbacks across tasks")
	missed := task
	missed.AgentMisses = 2
	require.True(t, p.HandsOver(missed, 0), "refused this task twice")
	require.False(t, p.HandsOver(hotline.CallbackTask{AgentMisses: 5}, 0), "nobody to hand over from")

	require.True(t, p.AnyAgentMay(hotline.CallbackTask{Deadline: now.Add(time.Hour)}, now, cal), "no responsible agent")
	require.False(t, p.AnyAgentMay(task, now, cal), "an hour left: wait for the responsible agent")
	require.True(t, p.AnyAgentMay(task, now.Add(50*time.Minute), cal), "ten working minutes left")

	require.Equal(t, hotline.AttemptConnected, hotline.SettledOutcome(hotline.CallbackAttempt{BridgedAt: now}))
	require.Equal(t, hotline.AttemptFailed, hotline.SettledOutcome(hotline.CallbackAttempt{CitizenAnsweredAt: now}))
	require.Equal(t, hotline.ViolationRingDeclined, hotline.RefusalKind(17))
	require.Equal(t, hotline.ViolationRingNotAnswered, hotline.RefusalKind(19))
}
