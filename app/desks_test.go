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
	policy := hotline.PromisePolicy{}
	policy.SetDefaults()
	desk := promiseDesk{db: db, cal: cal, policy: policy, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler)}
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
		in.CallID, in.Summary = "c1", "社保转移进度"
		p, err := desk.createPromiseOnly(hotline.NewContextWithActor(ctx, hotline.Actor{ID: "1001"}), in)
		require.NoError(t, err, tc.name)
		require.True(t, tc.want.Equal(p.Deadline), "%s: got %s", tc.name, p.Deadline.In(sh))
		require.True(t, p.OriginalDeadline.Equal(p.Deadline))
	}
}

// deskWorld is a database with agents 1001 and 1002 and call c1 answered
// by 1001 at friday-59m.
func deskWorld(t *testing.T, friday time.Time) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "h.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Migrate(ctx)
	require.NoError(t, err)
	for _, id := range []string{"1001", "1002"} {
		require.NoError(t, db.UpsertAgent(ctx, hotline.Agent{ID: id, Name: "a" + id, Endpoint: "PJSIP/" + id, Role: hotline.RoleAgent, State: hotline.AgentAvailable}))
	}
	c := hotline.Call{ID: "c1", CallerRaw: "13800138000", CallerNumber: "13800138000", Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: friday.Add(-time.Hour)}
	require.NoError(t, db.CreateCall(ctx, c))
	require.NoError(t, c.Answer("1001", friday.Add(-59*time.Minute)))
	require.NoError(t, db.UpdateCall(ctx, c))
	return db
}

// A reply call near the deadline may be made by any free agent
// (callbacks.any_agent_within); when it connects, the promise is fulfilled
// with its recording, by that agent, even though the owner is another.
func TestAColleaguesConnectedReplyCallFulfilsThePromise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	db := deskWorld(t, friday)
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(t, err)
	policy := hotline.PromisePolicy{}
	policy.SetDefaults()
	now := func() time.Time { return friday }
	log := slog.New(slog.DiscardHandler)
	desk := promiseDesk{db: db, cal: cal, policy: policy, now: now, log: log, audit: auditor{db: db, log: log, now: now}}
	p, err := desk.CreatePromise(hotline.NewContextWithActor(ctx, hotline.Actor{ID: "1001"}), web.PromiseInput{CallID: "c1", Summary: "社保转移进度", DueInWorkingHours: 2})
	require.NoError(t, err)
	require.Equal(t, "1001", p.AgentID)

	lease := &replyLease{desk: desk, promise: p}
	a := hotline.CallbackAttempt{AgentID: "1002", RecordingName: "rp1-1", AgentAnsweredAt: friday, BridgedAt: friday.Add(5 * time.Second), EndedAt: friday.Add(time.Minute)}
	require.NoError(t, lease.Finish(ctx, a, hotline.AttemptConnected))
	got, err := db.GetPromise(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, hotline.PromiseFulfilled, got.State)
	require.Equal(t, "1002", got.FulfilledBy)
	require.Equal(t, "rp1-1", got.Evidence)
	entries, err := db.ListAudit(ctx, store.AuditFilter{Action: "promise.reply_call"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "system", entries[0].Actor)
	require.Equal(t, "connected", entries[0].Result)
}

// A deadline years ahead is refused, and so is an extension past the bound.
func TestPromiseDeadlinesAreBounded(t *testing.T) {
	t.Parallel()
	ctx := hotline.NewContextWithActor(context.Background(), hotline.Actor{ID: "1001"})
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	db := deskWorld(t, friday)
	require.NoError(t, db.UpsertAgent(ctx, hotline.Agent{ID: "2001", Name: "s", Endpoint: "PJSIP/2001", Role: hotline.RoleSupervisor, State: hotline.AgentAvailable}))
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(t, err)
	policy := hotline.PromisePolicy{}
	policy.SetDefaults()
	desk := promiseDesk{db: db, cal: cal, policy: policy, now: func() time.Time { return friday }, log: slog.New(slog.DiscardHandler)}
	_, err = desk.CreatePromise(ctx, web.PromiseInput{CallID: "c1", Summary: "x", Deadline: friday.AddDate(3, 0, 0)})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
	require.ErrorContains(t, err, "more than 30 working days")

	p, err := desk.CreatePromise(ctx, web.PromiseInput{CallID: "c1", Summary: "x", DueInWorkingDays: 2})
	require.NoError(t, err)
	sup := hotline.NewContextWithActor(context.Background(), hotline.Actor{ID: "2001"})
	_, err = desk.ExtendPromise(sup, p.ID, cal.AddWorkingDays(p.Deadline, 11), "材料未齐")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
	got, err := desk.ExtendPromise(sup, p.ID, cal.AddWorkingDays(p.Deadline, 10), "材料未齐")
	require.NoError(t, err)
	require.Equal(t, "2001", got.Extensions[0].ApprovedBy)
}
