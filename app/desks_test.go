package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
	"hotline/web"
)

// A promise "due in 2 working days" recorded on a Friday is due on Tuesday
// at the same time; "in 3 working hours" at 16:00 skips the night.
func TestPromiseDeadlinesCountWorkingTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sh, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, sh)
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "h.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Migrate(ctx)
	require.NoError(t, err)
	require.NoError(t, db.UpsertAgent(ctx, hotline.Agent{ID: "1001", Name: "a", Endpoint: "PJSIP/1001", Role: hotline.RoleAgent, State: hotline.AgentAvailable}))
	c := hotline.Call{ID: "c1", CallerRaw: "13800138000", CallerNumber: "13800138000", Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: friday.Add(-time.Hour)}
	require.NoError(t, db.CreateCall(ctx, c))
	require.NoError(t, c.Answer("1001", friday.Add(-59*time.Minute)))
	require.NoError(t, db.UpdateCall(ctx, c))

	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(t, err)
	now := friday
	desk := promiseDesk{db: db, cal: cal, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler)}
	cases := []struct {
		name string
		at   time.Time
		in   web.PromiseInput
		want time.Time
	}{
		{"2 working days from Friday is Tuesday", friday, web.PromiseInput{DueInWorkingDays: 2}, time.Date(2026, 12, 1, 10, 0, 0, 0, sh)},
		{"3 working hours from Friday 16:00 is Monday 10:30", time.Date(2026, 11, 27, 16, 0, 0, 0, sh), web.PromiseInput{DueInWorkingHours: 3},
			time.Date(2026, 11, 30, 10, 30, 0, 0, sh)},
	}
	for _, tc := range cases {
		now = tc.at
		in := tc.in
		in.CallID, in.Summary, in.By = "c1", "社保转移进度", "1001"
		p, err := desk.createPromiseOnly(ctx, in)
		require.NoError(t, err, tc.name)
		require.True(t, tc.want.Equal(p.Deadline), "%s: got %s", tc.name, p.Deadline.In(sh))
		require.True(t, p.OriginalDeadline.Equal(p.Deadline))
	}
}
