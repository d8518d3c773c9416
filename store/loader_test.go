package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// A bulk load drops the indexes and agent_days triggers of the tables it
// writes while it runs, and ends with the schema as it was and agent_days
// counted from the rows.
func TestBulkLoadEndsWithTheSchemaAndTheDaysOfTheRows(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if f.db.dialect != sqliteDialect {
		_, err := f.db.NewBulkLoader(f.ctx, 10)
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
		return
	}
	for _, id := range []string{"a1", "a2"} {
		require.NoError(t, f.db.UpsertAgent(f.ctx, testAgent(id)))
	}
	schema := func() []string {
		var defs []string
		require.NoError(t, f.db.reader.SelectContext(f.ctx, &defs,
			`SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`))
		return defs
	}
	before := schema()

	l, err := f.db.NewBulkLoader(f.ctx, 3)
	require.NoError(t, err)
	during := schema()
	require.NotContains(t, during, "index calls_by_caller: CREATE INDEX calls_by_caller ON calls (caller_number, arrived_ms)")
	require.Less(t, len(during), len(before))
	day := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	for i := range 7 {
		at := day.Add(time.Duration(i) * 5 * time.Hour)
		agent := []string{"a1", "a2"}[i%2]
		c := hotline.Call{ID: fmt.Sprintf("c%d", i), ChannelID: fmt.Sprintf("ch%d", i), CallerRaw: "13800000000", CallerNumber: "13800000000",
			DialedNumber: "12345", Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: at}
		c.Legs = []hotline.CallLeg{{CallID: c.ID, AgentID: agent, ChannelID: c.ID + "-a", Outcome: hotline.LegCompleted,
			RungAt: at.Add(time.Second), AnsweredAt: at.Add(4 * time.Second), EndedAt: at.Add(time.Minute)}}
		require.NoError(t, c.Answer(agent, at.Add(4*time.Second)))
		c.End(at.Add(time.Minute), "")
		c.Rating = &hotline.Rating{CallID: c.ID, AgentID: agent, Score: hotline.Satisfied, RatedAt: at.Add(2 * time.Minute)}
		require.NoError(t, l.Call(c))
		deadline := at.Add(30 * time.Minute)
		id, err := l.Task(hotline.CallbackTask{Number: "1390000000" + fmt.Sprint(i), AgentID: agent, MissedCount: 1, FirstMissed: at,
			Deadline: deadline, CreatedAt: at, State: hotline.CallbackConnected, Attempts: 1, ClosedAt: deadline.Add(time.Duration(i-3) * time.Minute)})
		require.NoError(t, err)
		require.NoError(t, l.Violation(hotline.Violation{Kind: hotline.ViolationCallbackOverdue, AgentID: agent, TaskID: id, At: deadline,
			Disposition: hotline.DispositionConfirmed, DisposedBy: "a1", DisposedAt: deadline.Add(time.Hour)}))
	}
	require.NoError(t, l.Close())

	require.Equal(t, before, schema(), "every index and trigger made again")
	days := storedDays(t, f)
	require.NotEmpty(t, days)
	require.Equal(t, viewDays(t, f, 8*time.Hour), days, "agent_days counted from the rows")
	var sync int
	require.NoError(t, f.db.writer.GetContext(f.ctx, &sync, `PRAGMA synchronous`))
	require.Equal(t, 1, sync, "NORMAL again")
}
