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
		{"agent not answering does not count", hotline.CallbackTask{State: hotline.CallbackDialing, Attempts: 2}, hotline.AttemptAgentNoAnswer, hotline.CallbackPending, 2,
			time.Date(2026, 11, 27, 16, 56, 0, 0, sh)},
		{"too short a talk counts", pending, hotline.AttemptTooShort, hotline.CallbackPending, 1, time.Date(2026, 11, 30, 8, 35, 0, 0, sh)},
	}
	for _, tc := range cases {
		got := p.AfterAttempt(tc.seed, tc.outcome, now, cal)
		require.Equal(t, tc.wantState, got.State, tc.name)
		require.Equal(t, tc.wantTries, got.Attempts, tc.name)
		require.True(t, tc.wantNext.Equal(got.NextAttempt), "%s: next %s, want %s", tc.name, got.NextAttempt, tc.wantNext)
		require.Equal(t, !got.Open(), !got.ClosedAt.IsZero(), "%s: closed tasks carry their closing time", tc.name)
	}
	// A call missed at 18:00 on Friday is due 30 working minutes after Monday's opening.
	require.Equal(t, time.Date(2026, 11, 30, 9, 0, 0, 0, sh), p.Deadline(time.Date(2026, 11, 27, 18, 0, 0, 0, sh), cal).In(sh))
}
