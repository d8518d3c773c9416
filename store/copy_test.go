package store

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store/storetest"
)

// A SQLite database in use moves into a new PostgreSQL one whole: every
// table's rows, the ids, the audit chain (which verifies there), the
// report's day sums, and the sequences (the next row gets a new id); a
// target that holds rows is refused.
func TestCopyToPostgres(t *testing.T) {
	t.Parallel()
	base := storetest.PostgresURL()
	if base == "" {
		t.Skip("needs PostgreSQL: set " + storetest.EnvPostgres)
	}
	src := setup(t, func(c *Config) { c.Path = filepath.Join(t.TempDir(), "hotline.db") })
	w := seedReportWorld(t, src)
	for i := 1; i <= 7; i++ {
		_, err := src.db.AppendAudit(src.ctx, testAudit(i))
		require.NoError(t, err)
	}
	require.NoError(t, src.db.CreateCall(src.ctx, testCall("copy-c1", "13900000009", t0)))
	task, created, err := src.db.AddMissedCall(src.ctx, MissedCall{CallID: "copy-c1", Number: "13900000009", MissedAt: t0,
		Deadline: t0.Add(time.Hour), DueAt: t0})
	require.NoError(t, err)
	require.True(t, created)

	dst, err := Open(src.ctx, Config{Path: storetest.Schema(t, base)}, slog.New(slog.DiscardHandler), WithClock(src.clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, dst.Close()) })

	report, err := src.db.CopyTo(src.ctx, dst)
	require.NoError(t, err)
	counts := map[string]int64{}
	for _, c := range report.Tables {
		require.Equal(t, c.Source, c.Target, c.Table)
		counts[c.Table] = c.Target
	}
	for _, table := range []string{"agents", "calls", "call_legs", "ratings", "callback_tasks", "callback_task_calls", "promises",
		"violations", "reviews", "complaints", "audit_log"} {
		require.Positive(t, counts[table], "table %s has rows to copy", table)
	}
	require.Equal(t, int64(7), report.AuditEntries)

	// The same database, moved: its identity, tasks and report.
	srcID, err := src.db.DatabaseID(src.ctx)
	require.NoError(t, err)
	dstID, err := dst.DatabaseID(src.ctx)
	require.NoError(t, err)
	require.Equal(t, srcID, dstID)
	got, err := dst.GetTask(src.ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, task.Number, got.Number)
	p := period(t, "2026-01-30", "2026-02-03", shanghai)
	after := reportSpanStart.Add(30 * 24 * time.Hour)
	want, err := src.db.AgentReports(src.ctx, ReportFilter{From: p.From, End: p.End, Now: after})
	require.NoError(t, err)
	require.Equal(t, w.want(p.From, p.End, after, ""), want)
	moved, err := dst.AgentReports(src.ctx, ReportFilter{From: p.From, End: p.End, Now: after})
	require.NoError(t, err)
	require.Equal(t, want, moved)

	// New rows get new ids after the copied ones.
	next, err := dst.AppendAudit(src.ctx, testAudit(8))
	require.NoError(t, err)
	require.Equal(t, int64(8), next.ID)
	require.NoError(t, dst.CreateCall(src.ctx, testCall("copy-c2", "13900000010", t0)))
	_, created, err = dst.AddMissedCall(src.ctx, MissedCall{CallID: "copy-c2", Number: "13900000010", MissedAt: t0,
		Deadline: t0.Add(time.Hour), DueAt: t0})
	require.NoError(t, err)
	require.True(t, created, "a new task, with an id after the copied ones")

	_, err = src.db.CopyTo(src.ctx, dst)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
	require.ErrorContains(t, err, "is not empty")
}
