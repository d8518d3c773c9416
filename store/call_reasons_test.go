package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// 00017 gives the calls stored as failed the reason they can be told to
// have (taken by the dialplan's fallback: service_down; found ended after
// the service lost track of them: interrupted), keeps every row, index,
// trigger and reference of calls, and goes down again.
func TestMigrate00017GivesFailedCallsTheirReason(t *testing.T) {
	t.Parallel()
	f := setupUnmigrated(t)
	_, err := f.db.migrations.UpTo(f.ctx, 16)
	require.NoError(t, err)
	at16 := setupUnmigrated(t)
	_, err = at16.db.migrations.UpTo(at16.ctx, 16)
	require.NoError(t, err)

	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	missed := func(id, extra, extraValues string) string {
		return fmt.Sprintf(`INSERT INTO calls (id, caller_number, line, state, missed_reason, arrived_ms, ended_ms, updated_ms%s)
			VALUES ('%s', '13900000001', 'hotline', 'missed', 'failed', %d, %d, 1%s)`, extra, id, ms(0), ms(time.Minute), extraValues)
	}
	require.NoError(t, f.exec(t,
		`INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms) VALUES ('a1', 'A1', 'PJSIP/a1', 'agent', 'available', 1, 1)`,
		missed("fb-1700000000.1", "", ""),
		missed("vm-1700000000-ab12", ", voicemail_name", ", 'vm-1700000000-ab12'"),
		missed("cut", ", interrupted_ms", fmt.Sprintf(", %d", ms(time.Hour))),
		missed("broke", "", ""),
		fmt.Sprintf(`INSERT INTO calls (id, caller_number, line, state, first_responsible_agent, arrived_ms, answered_ms, ended_ms, interrupted_ms, updated_ms)
			VALUES ('talk', '13900000002', 'hotline', 'completed', 'a1', %d, %d, %d, %d, 1)`, ms(0), ms(time.Second), ms(time.Minute), ms(time.Hour)),
		fmt.Sprintf(`INSERT INTO call_legs (call_id, agent_id, channel_id, outcome, rung_ms) VALUES ('talk', 'a1', 'talk-a001', 'completed', %d)`, ms(0)),
	))
	answered := func() int {
		var n int
		require.NoError(t, f.db.reader.GetContext(f.ctx, &n, `SELECT coalesce(sum(answered), 0) FROM agent_days WHERE agent_id = 'a1'`))
		return n
	}
	require.Equal(t, 1, answered())

	_, err = f.db.migrations.UpTo(f.ctx, 17)
	require.NoError(t, err)
	want := map[string]hotline.MissedReason{
		"fb-1700000000.1":    hotline.MissedServiceDown,
		"vm-1700000000-ab12": hotline.MissedServiceDown,
		"cut":                hotline.MissedInterrupted,
		"broke":              hotline.MissedFailed, // nothing says otherwise
		"talk":               "",                   // answered: completed, interrupted_at kept
	}
	reasons := func() map[string]hotline.MissedReason {
		got := map[string]hotline.MissedReason{}
		for id := range want {
			c, err := f.db.GetCall(f.ctx, id)
			require.NoError(t, err)
			got[id] = c.MissedReason
		}
		return got
	}
	require.Equal(t, want, reasons())
	talk, err := f.db.GetCall(f.ctx, "talk")
	require.NoError(t, err)
	require.Equal(t, hotline.CallCompleted, talk.State)
	require.Len(t, talk.Legs, 1, "the legs still reference their call")
	require.False(t, talk.InterruptedAt.IsZero())

	require.Equal(t, 1, answered(), "the report's counts are kept through the rebuild")
	if !onPostgres() {
		require.Subset(t, f.schemaObjects(t, "trigger"), []string{"calls_first_responsible_agent_is_final",
			"calls_report_delete", "calls_report_insert", "calls_report_update"})
		require.Subset(t, f.schemaObjects(t, "index"), []string{"calls_by_agent", "calls_by_agent_state", "calls_by_arrived",
			"calls_by_caller", "calls_by_state", "calls_missed_by_reason", "calls_unfinished"})
		var broken int
		require.NoError(t, f.db.reader.GetContext(f.ctx, &broken, `SELECT count(*) FROM pragma_foreign_key_check`))
		require.Zero(t, broken)
		var fk int
		require.NoError(t, f.db.writer.GetContext(f.ctx, &fk, `PRAGMA foreign_keys`))
		require.Equal(t, 1, fk, "foreign keys are on again on the writer")
	}

	// The new reasons are stored; the triggers run on the new table; the
	// first-responsible agent is still final.
	for _, reason := range []hotline.MissedReason{hotline.MissedServiceDown, hotline.MissedInterrupted} {
		c := testCall("new-"+string(reason), "13900000003", t0.Add(time.Minute))
		c.End(t0.Add(2*time.Minute), reason)
		require.NoError(t, f.db.CreateCall(f.ctx, c))
	}
	done := testCall("done", "13900000004", t0.Add(time.Minute))
	require.NoError(t, done.Answer("a1", t0.Add(70*time.Second)))
	done.End(t0.Add(2*time.Minute), "")
	require.NoError(t, f.db.CreateCall(f.ctx, done))
	require.Equal(t, 2, answered())
	require.Error(t, f.exec(t, `UPDATE calls SET first_responsible_agent = NULL WHERE id = 'talk'`))
	require.Error(t, f.exec(t, `UPDATE calls SET missed_reason = 'lost' WHERE id = 'broke'`), "the reason is still checked")

	fresh := setup(t)
	require.Equal(t, fresh.schemaSQL(t), func() []string {
		g := setupUnmigrated(t)
		_, err := g.db.migrations.UpTo(g.ctx, 16)
		require.NoError(t, err)
		_, err = g.db.Migrate(g.ctx)
		require.NoError(t, err)
		return g.schemaSQL(t)
	}(), "a database migrated through 00017 has the schema of a new one")

	// Down: the reasons are failed again, the schema that of version 16.
	require.NoError(t, f.exec(t, `DELETE FROM calls WHERE id LIKE 'new-%'`))
	_, err = f.db.migrations.DownTo(f.ctx, 16)
	require.NoError(t, err)
	var failed int
	require.NoError(t, f.db.reader.GetContext(f.ctx, &failed, `SELECT count(*) FROM calls WHERE missed_reason = 'failed'`))
	require.Equal(t, 4, failed)
	require.Equal(t, at16.schemaSQL(t), f.schemaSQL(t))
	require.Equal(t, 2, answered())
}
