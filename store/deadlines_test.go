package store

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// deadlineWorld is one database with matters of both kinds whose deadlines
// the statements under test read: for each kind, by index, a matter due at
// t0+10m (open), t0+20m (escalated), t0+30m (open), t0+40m (finished) and
// t0+50m (open).
type deadlineWorld struct {
	fixture
	ids map[MatterKind][]int64
}

var deadlineSeeds = []struct {
	deadline time.Duration
	finished bool
	escalate bool
}{
	{10 * time.Minute, false, false},
	{20 * time.Minute, false, true},
	{30 * time.Minute, false, false},
	{40 * time.Minute, true, false},
	{50 * time.Minute, false, false},
}

func setupDeadlines(t *testing.T) deadlineWorld {
	t.Helper()
	w := deadlineWorld{fixture: setup(t), ids: map[MatterKind][]int64{}}
	w.seedPromiseWorld(t)
	for i, s := range deadlineSeeds {
		task, _ := w.addMissed(t, missed(fmt.Sprintf("m%d", i), fmt.Sprintf("1390000%04d", i), "a1", 0, s.deadline))
		promise := w.newPromise(t, s.deadline)
		if s.finished {
			w.setTaskState(t, task.ID, hotline.CallbackConnected)
			w.setPromiseState(t, promise, hotline.PromiseFulfilled)
		}
		if s.escalate {
			for k, id := range map[MatterKind]int64{CallbackTasks: task.ID, Promises: promise} {
				done, err := w.db.Escalate(w.ctx, k, at(s.deadline), []Escalation{{ID: id, Detail: "late"}})
				require.NoError(t, err)
				require.True(t, done[0].Won)
			}
		}
		w.ids[CallbackTasks] = append(w.ids[CallbackTasks], task.ID)
		w.ids[Promises] = append(w.ids[Promises], promise)
	}
	return w
}

var matterKinds = []MatterKind{CallbackTasks, Promises}

// winners runs try n times at once, on the databases in turn (instances
// of the service), and counts those that won.
func winners(n int, dbs []*DB, try func(db *DB, i int) bool) int32 {
	var won atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if try(dbs[i%len(dbs)], i) {
				won.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return won.Load()
}

func TestDuePageAndDueBefore(t *testing.T) {
	t.Parallel()
	w := setupDeadlines(t)
	for _, k := range matterKinds {
		t.Run(k.String(), func(t *testing.T) {
			ids := w.ids[k]
			due := func(i int) Due {
				d := Due{ID: ids[i], Deadline: at(deadlineSeeds[i].deadline), Escalated: deadlineSeeds[i].escalate}
				if k == CallbackTasks {
					d.Work = at(time.Minute) // the first attempt, due a minute after the miss
				}
				return d
			}

			var pages [][]Due
			for after := int64(0); ; {
				page, err := w.db.DuePage(w.ctx, k, after, 2)
				require.NoError(t, err)
				pages = append(pages, page)
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].ID
			}
			require.Equal(t, [][]Due{{due(0), due(1)}, {due(2), due(4)}, {}}, pages, "unfinished ones by id, escalated or not")

			before := func(horizon time.Duration, after Due, limit int) []Due {
				t.Helper()
				got, err := w.db.DueBefore(w.ctx, k, at(horizon), after, limit)
				require.NoError(t, err)
				return got
			}
			require.Empty(t, before(9*time.Minute, Due{}, 10))
			require.Equal(t, []Due{due(0)}, before(10*time.Minute, Due{}, 10), "the horizon itself")
			require.Equal(t, []Due{due(0), due(2), due(4)}, before(time.Hour, Due{}, 10), "not escalated, earliest deadline first")
			require.Equal(t, []Due{due(0), due(2)}, before(time.Hour, Due{}, 2))
			require.Equal(t, []Due{due(4)}, before(time.Hour, due(2), 2), "the next page")

			_, err := w.db.DuePage(w.ctx, k, 0, 0)
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
			_, err = w.db.DueBefore(w.ctx, k, t0, Due{}, -1)
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
		})
	}
	_, err := w.db.DuePage(w.ctx, MatterKind(9), 0, 10)
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
}

// A reminder is marked sent once per matter, deadline and lead, across
// instances; after a failed push it is unmarked and fires once more.
func TestMarkRemindersSentOnce(t *testing.T) {
	t.Parallel()
	w := setupDeadlines(t)
	other := w.second(t)
	for _, k := range matterKinds {
		t.Run(k.String(), func(t *testing.T) {
			ids := w.ids[k]
			open, escalated, finished := ids[0], ids[1], ids[3]
			got, err := w.db.MarkRemindersSent(w.ctx, k, []Reminder{
				{open, 10 * time.Minute}, {open, 10 * time.Minute}, {open, time.Hour}, {escalated, time.Hour},
				{finished, time.Hour}, {999, time.Hour},
			}, at(time.Minute))
			require.NoError(t, err)
			require.Equal(t, []bool{true, false, true, true, false, false}, got,
				"once per lead; an escalated matter still waits, a finished or unknown one is not reminded")
			sent, err := w.db.RemindersSent(w.ctx, k, []int64{open, escalated, finished})
			require.NoError(t, err)
			require.Equal(t, map[int64][]time.Duration{open: {time.Hour, 10 * time.Minute}, escalated: {time.Hour}}, sent)

			race := func() int32 {
				return winners(8, []*DB{w.db, other}, func(db *DB, _ int) bool {
					ok, err := db.MarkRemindersSent(w.ctx, k, []Reminder{{ids[2], 5 * time.Minute}}, at(time.Minute))
					return err == nil && ok[0]
				})
			}
			require.Equal(t, int32(1), race())
			require.NoError(t, w.db.UnmarkReminderSent(w.ctx, k, ids[2], 5*time.Minute))
			require.NoError(t, w.db.UnmarkReminderSent(w.ctx, k, ids[2], 5*time.Minute), "unmarking twice is no error")
			require.Equal(t, int32(1), race(), "the retry fires once")

			_, err = w.db.MarkRemindersSent(w.ctx, k, []Reminder{{open, time.Microsecond}}, at(time.Minute))
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
		})
	}
}

// An overdue matter escalates once across instances, with its violation in
// the same transaction.
func TestEscalateOnceWithItsViolation(t *testing.T) {
	t.Parallel()
	w := setupDeadlines(t)
	other := w.second(t)
	for _, k := range matterKinds {
		t.Run(k.String(), func(t *testing.T) {
			ids := w.ids[k]
			got, err := w.db.Escalate(w.ctx, k, at(35*time.Minute), []Escalation{
				{ids[0], "first late"}, {ids[1], "again"}, {ids[2], "third late"}, {ids[3], "finished"}, {ids[4], "not yet"}, {999, "none"},
			})
			require.NoError(t, err)
			won := []bool{}
			for _, e := range got {
				won = append(won, e.Won)
			}
			require.Equal(t, []bool{true, false, true, false, false, false}, won)
			v := got[0].Violation
			require.NotZero(t, v.ID)
			want := hotline.Violation{ID: v.ID, Kind: hotline.ViolationPromiseOverdue, AgentID: "a1", CallID: "c1", PromiseID: ids[0],
				At: at(35 * time.Minute), Detail: "first late"}
			if k == CallbackTasks {
				want.Kind, want.CallID, want.PromiseID, want.TaskID = hotline.ViolationCallbackOverdue, "m0", 0, ids[0]
			}
			require.Equal(t, want, v)
			if k == Promises {
				p, err := w.db.GetPromise(w.ctx, ids[0])
				require.NoError(t, err)
				require.Equal(t, hotline.PromiseEscalated, p.State)
				require.Equal(t, at(35*time.Minute), p.EscalatedAt)
			} else {
				task, err := w.db.GetTask(w.ctx, ids[0])
				require.NoError(t, err)
				require.Equal(t, hotline.CallbackPending, task.State, "a task stays open: it still needs its call")
				require.Equal(t, at(35*time.Minute), task.EscalatedAt)
			}

			require.Equal(t, int32(1), winners(8, []*DB{w.db, other}, func(db *DB, i int) bool {
				got, err := db.Escalate(w.ctx, k, at(time.Hour), []Escalation{{ids[4], fmt.Sprintf("loop %d", i)}})
				return err == nil && got[0].Won
			}))
			vs, err := w.db.ListViolations(w.ctx, ViolationFilter{Kind: want.Kind, Limit: MaxListLimit})
			require.NoError(t, err)
			require.Len(t, vs, 4, "the seeded escalation, two now, one of the race")
		})
	}

	t.Run("a task nobody was made responsible for", func(t *testing.T) {
		task, _ := w.addMissed(t, missed("m-nobody", "13900009999", "", 0, 10*time.Minute))
		got, err := w.db.Escalate(w.ctx, CallbackTasks, at(time.Hour), []Escalation{{task.ID, "late"}})
		require.NoError(t, err)
		require.True(t, got[0].Won)
		require.Zero(t, got[0].Violation.ID, "no violation without an agent to record it against")
	})
}

// The deadline statements read through the indexes of their kind; those
// indexes repeat the state vocabulary's IN lists word for word.
func TestDeadlineStatementsUseTheirIndexes(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	f := setup(t)
	for _, k := range matterKinds {
		mt := k.table()
		for _, idx := range []string{mt.pageIndex, mt.dueIndex} {
			var ddl string
			require.NoError(t, f.db.reader.GetContext(f.ctx, &ddl, `SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?`, idx))
			require.Contains(t, ddl, "WHERE "+mt.unfinished, "%s repeats the vocabulary", idx)
		}
		tests := []struct {
			name, query string
			args        []any
			index       string
		}{
			{"DuePage", mt.duePageSQL, []any{0, 10}, "COVERING INDEX " + mt.pageIndex},
			{"DueBefore", mt.dueBeforeSQL, []any{1, 0, 0, 10}, mt.dueIndex},
			{"RemindersSent", mt.remindersSQL, []any{"[1]"}, "sqlite_autoindex_" + mt.reminders + "_1"},
			{"MarkRemindersSent", mt.markReminderSQL, []any{1, 1, 1}, "INTEGER PRIMARY KEY"},
			{"UnmarkReminderSent", mt.unmarkReminderSQL, []any{1, 1}, "sqlite_autoindex_" + mt.reminders + "_1"},
			{"Escalate", mt.escalateSQL, []any{1, 1, 1}, "INTEGER PRIMARY KEY"},
		}
		for _, tt := range tests {
			steps := f.planSteps(t, tt.query, tt.args...)
			found := false
			for _, s := range steps {
				found = found || strings.HasPrefix(s, "SEARCH") && strings.Contains(s, tt.index)
				if strings.HasPrefix(s, "SCAN") && !strings.HasPrefix(s, "SCAN json_each VIRTUAL TABLE") {
					t.Errorf("%s %s scans: %q", k, tt.name, steps)
				}
			}
			require.True(t, found, "%s %s: %q", k, tt.name, steps)
		}
	}
	for _, idx := range []string{"callback_tasks_one_open_per_number", "callback_tasks_open_by_next_attempt"} {
		var ddl string
		require.NoError(t, f.db.reader.GetContext(f.ctx, &ddl, `SELECT sql FROM sqlite_schema WHERE name = ?`, idx))
		require.Contains(t, ddl, "WHERE "+callbackOpenSQL)
	}
}

// "overdue" is a view of a promise, never its stored state: the schema
// refuses it, and 00012 puts right any row that held it.
func TestPromiseOverdueIsNotStored(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedPromiseWorld(t)
	id := f.newPromise(t, time.Hour)
	for _, statement := range []string{
		fmt.Sprintf(`UPDATE promises SET state = 'overdue' WHERE id = %d`, id),
		`INSERT INTO promises (call_id, agent_id, summary, state, deadline_ms, original_deadline_ms, created_ms) VALUES ('c1', 'a1', 'reply', 'overdue', 2, 2, 1)`,
	} {
		err := f.exec(t, statement)
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
		require.ErrorContains(t, err, "overdue is a view")
	}

	old := setupUnmigrated(t)
	_, err := old.db.migrations.UpTo(old.ctx, 11) // every version before 00012
	require.NoError(t, err)
	old.seedPromiseWorld(t)
	require.NoError(t, old.exec(t,
		`INSERT INTO promises (id, call_id, agent_id, summary, state, deadline_ms, original_deadline_ms, created_ms) VALUES (1, 'c1', 'a1', 'r', 'overdue', 2, 2, 1)`,
		`INSERT INTO promises (id, call_id, agent_id, summary, state, deadline_ms, original_deadline_ms, created_ms, escalated_ms) VALUES (2, 'c1', 'a1', 'r', 'overdue', 2, 2, 1, 3)`,
	))
	_, err = old.db.Migrate(old.ctx)
	require.NoError(t, err)
	for id, want := range map[int64]hotline.PromiseState{1: hotline.PromiseOpen, 2: hotline.PromiseEscalated} {
		p, err := old.db.GetPromise(old.ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, p.State, "promise %d", id)
	}
}

// A task whose responsible agent left its dials unanswered passes to
// another agent with the refusal on record, in one transaction.
func TestHandOver(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	p := hotline.CallbackPolicy{}
	p.SetDefaults()
	id := f.newTask(t, "c1", number1)
	now := at(time.Minute)
	for i, cause := range []int{17, 17} {
		token := fmt.Sprintf("lease-%d", i)
		task, err := f.db.ClaimTask(f.ctx, id, token, now, now.Add(2*time.Minute))
		require.NoError(t, err)
		a, err := f.db.StartAttempt(f.ctx, id, token, "a1", now)
		require.NoError(t, err)
		if task.AgentID == "" {
			task.AgentID = "a1"
		}
		attempt := hotline.CallbackAttempt{ID: a, TaskID: id, AgentID: "a1", EndedAt: now.Add(time.Second),
			Outcome: hotline.AttemptAgentNoAnswer, Cause: cause}
		after := p.AfterAttempt(task, attempt, plainTime{})
		require.NoError(t, f.db.FinishAttempt(f.ctx, token, attempt, after))
		now = after.NextAttempt
	}
	task, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, 2, task.AgentMisses)
	require.True(t, p.HandsOver(task, 0))

	_, err = f.db.ClaimTask(f.ctx, id, "lease-h", now, now.Add(2*time.Minute))
	require.NoError(t, err)
	_, err = f.db.HandOver(f.ctx, id, "lease-other", "a2", now, "x")
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
	v, err := f.db.HandOver(f.ctx, id, "lease-h", "a2", now, "a1 declined twice")
	require.NoError(t, err)
	require.NotZero(t, v.ID)
	require.Equal(t, hotline.Violation{ID: v.ID, Kind: hotline.ViolationRingDeclined, AgentID: "a1", CallID: "c1", TaskID: id,
		At: now, Detail: "a1 declined twice"}, v)
	task, err = f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, "a2", task.AgentID)
	require.Zero(t, task.AgentMisses)

	again, err := f.db.HandOver(f.ctx, id, "lease-h", "a1", now, "back")
	require.NoError(t, err)
	require.Zero(t, again.ID, "a2 refused nothing: no violation")
	_, err = f.db.HandOver(f.ctx, id, "lease-h", "nobody", now, "x")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
}

func TestSeedBenchMatters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.NoError(t, f.db.SeedBenchMatters(f.ctx, 50, t0, time.Second))
	for _, k := range matterKinds {
		page, err := f.db.DuePage(f.ctx, k, 0, 100)
		require.NoError(t, err)
		require.Len(t, page, 50, k)
		due, err := f.db.DueBefore(f.ctx, k, t0.Add(10*time.Second), Due{}, 100)
		require.NoError(t, err)
		if k == Promises {
			require.Len(t, due, 10, "the first ten promises are due at start + 10 steps")
		}
	}
	ids, err := f.db.DueTaskIDs(f.ctx, t0.Add(10*time.Second), 100)
	require.NoError(t, err)
	require.Len(t, ids, 10, "and the first ten tasks")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(f.db.SeedBenchMatters(f.ctx, 0, t0, time.Second)))
}
