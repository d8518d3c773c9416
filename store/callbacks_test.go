package store

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"hotline"
)

// The numbers of the callback tests' citizens.
const (
	number1 = "13900000001"
	number2 = "13900000002"
)

// at is t0 plus d: the tests' times.
func at(d time.Duration) time.Time { return t0.Add(d) }

// missed is call id from number missed at t0+when, due a minute later,
// with its deadline at t0+deadline.
func missed(id, number, agent string, when, deadline time.Duration) MissedCall {
	return MissedCall{
		CallID:   id,
		Number:   number,
		AgentID:  agent,
		MissedAt: at(when),
		Deadline: at(deadline),
		DueAt:    at(when + time.Minute),
	}
}

// addMissed stores the missed call's calls row when it has none yet and
// hands it to AddMissedCall.
func (f fixture) addMissed(t *testing.T, m MissedCall) (hotline.CallbackTask, bool) {
	t.Helper()
	if _, err := f.db.GetCall(f.ctx, m.CallID); hotline.KindOf(err) == hotline.KindNotFound {
		f.seedCall(t, m.CallID, m.Number, "", m.MissedAt.Add(-time.Minute))
	}
	task, created, err := f.db.AddMissedCall(f.ctx, m)
	require.NoError(t, err)
	return task, created
}

// newTask makes a pending task for number from one missed call at t0, due
// at t0+1m with its deadline at t0+30m, and returns its id.
func (f fixture) newTask(t *testing.T, callID, number string) int64 {
	t.Helper()
	task, created := f.addMissed(t, missed(callID, number, "", 0, 30*time.Minute))
	require.True(t, created)
	return task.ID
}

// setTaskState puts task id in state through raw SQL, as a dialer that
// claimed it and then vanished, or one that finished it, would have left
// it: dialing under token "lease-old" until t0+2m, or closed at t0+5m.
func (f fixture) setTaskState(t *testing.T, id int64, state hotline.CallbackState) {
	t.Helper()
	var err error
	switch state {
	case hotline.CallbackPending:
		return
	case hotline.CallbackDialing:
		_, err = f.db.writer.ExecContext(f.ctx,
			`UPDATE callback_tasks SET state = 'dialing', lease_token = 'lease-old', lease_until_ms = ? WHERE id = ?`,
			at(2*time.Minute).UnixMilli(), id)
	default:
		_, err = f.db.writer.ExecContext(f.ctx,
			`UPDATE callback_tasks SET state = ?, closed_ms = ? WHERE id = ?`, state, at(5*time.Minute).UnixMilli(), id)
	}
	require.NoError(t, err)
}

// second opens another DB on the same file: a second service instance.
func (f fixture) second(t *testing.T) *DB {
	t.Helper()
	other, err := Open(f.ctx, f.cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, other.Close()) })
	return other
}

// plainTime is a working-time calendar that is always open.
type plainTime struct{}

func (plainTime) AddWorking(t time.Time, d time.Duration) time.Time { return t.Add(d) }
func (plainTime) NextOpen(t time.Time) time.Time                    { return t }

func TestAddMissedCallMerges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		seed        []MissedCall                            // added first, in order
		between     func(t *testing.T, f fixture, id int64) // run on the seeded task, if any
		add         MissedCall
		wantCreated bool
		wantTasks   int
		want        hotline.CallbackTask // ID, CreatedAt and AttemptLog are not compared
	}{
		{
			name: "first miss creates a pending task",
			add:  missed("c1", number1, "a1", 0, 30*time.Minute), wantCreated: true, wantTasks: 1,
			want: hotline.CallbackTask{Number: number1, State: hotline.CallbackPending, AgentID: "a1", MissedCount: 1,
				FirstMissed: at(0), Deadline: at(30 * time.Minute), NextAttempt: at(time.Minute), CallIDs: []string{"c1"}},
		},
		{
			name: "three missed calls of one number: one task, the earliest deadline",
			seed: []MissedCall{
				missed("c1", number1, "", 0, 30*time.Minute),
				missed("c2", number1, "", 5*time.Minute, 35*time.Minute),
			},
			// reported late: missed before the others, with the earliest deadline
			add: missed("c3", number1, "", -10*time.Minute, 20*time.Minute), wantTasks: 1,
			want: hotline.CallbackTask{Number: number1, State: hotline.CallbackPending, MissedCount: 3,
				FirstMissed: at(-10 * time.Minute), Deadline: at(20 * time.Minute), NextAttempt: at(time.Minute),
				CallIDs: []string{"c1", "c2", "c3"}},
		},
		{
			name: "the same call twice is counted once",
			seed: []MissedCall{missed("c1", number1, "", 0, 30*time.Minute)},
			add:  missed("c1", number1, "a2", 0, 10*time.Minute), wantTasks: 1,
			want: hotline.CallbackTask{Number: number1, State: hotline.CallbackPending, MissedCount: 1,
				FirstMissed: at(0), Deadline: at(30 * time.Minute), NextAttempt: at(time.Minute), CallIDs: []string{"c1"}},
		},
		{
			name: "agent set when the task has none",
			seed: []MissedCall{missed("c1", number1, "", 0, 30*time.Minute)},
			add:  missed("c2", number1, "a1", time.Minute, 31*time.Minute), wantTasks: 1,
			want: hotline.CallbackTask{Number: number1, State: hotline.CallbackPending, AgentID: "a1", MissedCount: 2,
				FirstMissed: at(0), Deadline: at(30 * time.Minute), NextAttempt: at(time.Minute), CallIDs: []string{"c1", "c2"}},
		},
		{
			name: "the task's agent is kept",
			seed: []MissedCall{missed("c1", number1, "a1", 0, 30*time.Minute)},
			add:  missed("c2", number1, "a2", time.Minute, 31*time.Minute), wantTasks: 1,
			want: hotline.CallbackTask{Number: number1, State: hotline.CallbackPending, AgentID: "a1", MissedCount: 2,
				FirstMissed: at(0), Deadline: at(30 * time.Minute), NextAttempt: at(time.Minute), CallIDs: []string{"c1", "c2"}},
		},
		{
			name: "a miss while the task is dialed merges into it",
			seed: []MissedCall{missed("c1", number1, "", 0, 30*time.Minute)},
			between: func(t *testing.T, f fixture, id int64) {
				_, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(3*time.Minute))
				require.NoError(t, err)
			},
			add: missed("c2", number1, "", 90*time.Second, 32*time.Minute), wantTasks: 1,
			want: hotline.CallbackTask{Number: number1, State: hotline.CallbackDialing, MissedCount: 2,
				FirstMissed: at(0), Deadline: at(30 * time.Minute), NextAttempt: at(time.Minute),
				LeaseToken: "lease-1", LeaseUntil: at(3 * time.Minute), CallIDs: []string{"c1", "c2"}},
		},
		{
			name: "a closed task takes no more calls: a new one",
			seed: []MissedCall{missed("c1", number1, "a1", 0, 30*time.Minute)},
			between: func(t *testing.T, f fixture, id int64) {
				f.setTaskState(t, id, hotline.CallbackConnected)
			},
			add: missed("c2", number1, "", time.Hour, 90*time.Minute), wantCreated: true, wantTasks: 2,
			want: hotline.CallbackTask{Number: number1, State: hotline.CallbackPending, MissedCount: 1,
				FirstMissed: at(time.Hour), Deadline: at(90 * time.Minute), NextAttempt: at(61 * time.Minute),
				CallIDs: []string{"c2"}},
		},
		{
			name: "another number, another task",
			seed: []MissedCall{missed("c1", number1, "", 0, 30*time.Minute)},
			add:  missed("c2", number2, "", 0, 30*time.Minute), wantCreated: true, wantTasks: 2,
			want: hotline.CallbackTask{Number: number2, State: hotline.CallbackPending, MissedCount: 1,
				FirstMissed: at(0), Deadline: at(30 * time.Minute), NextAttempt: at(time.Minute), CallIDs: []string{"c2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2")
			var seeded hotline.CallbackTask
			for _, m := range tt.seed {
				seeded, _ = f.addMissed(t, m)
			}
			if tt.between != nil {
				tt.between(t, f, seeded.ID)
			}

			got, created := f.addMissed(t, tt.add)
			require.Equal(t, tt.wantCreated, created)
			stored, err := f.db.GetTask(f.ctx, got.ID)
			require.NoError(t, err)
			require.Equal(t, stored, got, "returns the task as stored")

			tt.want.ID, tt.want.CreatedAt = got.ID, t0
			got.AttemptLog = nil
			require.Equal(t, tt.want, got)

			all, err := f.db.ListTasks(f.ctx, TaskFilter{})
			require.NoError(t, err)
			require.Len(t, all, tt.wantTasks)
		})
	}
}

func TestAddMissedCallRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedCall(t, "c1", number1, "", t0)
	tests := []struct {
		name string
		m    MissedCall
	}{
		{"no call id", missed(" ", number1, "", 0, time.Hour)},
		{"no number", missed("c1", "", "", 0, time.Hour)},
		{"no time", MissedCall{CallID: "c1", Number: number1, Deadline: at(time.Hour)}},
		{"deadline before the miss", missed("c1", number1, "", 0, -time.Second)},
		{"unknown call", missed("nope", number1, "", 0, time.Hour)},
		{"unknown agent", missed("c1", number1, "nobody", 0, time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.db.AddMissedCall(f.ctx, tt.m)
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "store.AddMissedCall")
		})
	}
	tasks, err := f.db.ListTasks(f.ctx, TaskFilter{})
	require.NoError(t, err)
	require.Empty(t, tasks, "nothing half-written")
}

// Two service instances (two DBs on one file), eight writers: the missed
// calls of one number end in one task, and one call added by all of them is
// counted once.
func TestAddMissedCallConcurrently(t *testing.T) {
	t.Parallel()
	const writers = 8
	tests := []struct {
		name        string
		callID      func(w int) string
		wantMissed  int
		wantCreated int32
	}{
		{"distinct calls of one number", func(w int) string { return fmt.Sprintf("c%d", w) }, writers, 1},
		{"the same call", func(int) string { return "c0" }, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			dbs := []*DB{f.db, f.second(t)}
			for w := range writers {
				if w == 0 || tt.callID(w) != tt.callID(0) {
					f.seedCall(t, tt.callID(w), number1, "", t0)
				}
			}

			var created atomic.Int32
			ids := make([]int64, writers)
			errs := make([]error, writers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					<-start
					m := missed(tt.callID(w), number1, "", time.Duration(w)*time.Second, 30*time.Minute)
					task, c, err := dbs[w%2].AddMissedCall(f.ctx, m)
					ids[w], errs[w] = task.ID, err
					if c {
						created.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantCreated, created.Load(), "exactly one writer created the task")
			for _, id := range ids {
				require.Equal(t, ids[0], id, "every writer got the same task")
			}
			tasks, err := f.db.ListTasks(f.ctx, TaskFilter{})
			require.NoError(t, err)
			require.Len(t, tasks, 1)
			require.Equal(t, tt.wantMissed, tasks[0].MissedCount)
			got, err := f.db.GetTask(f.ctx, ids[0])
			require.NoError(t, err)
			require.Len(t, got.CallIDs, tt.wantMissed)
		})
	}
}

func TestGetTaskWithCallsAndAttempts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	id := f.newTask(t, "c1", number1)
	f.addMissed(t, missed("c2", number1, "", -time.Hour, time.Hour)) // older, added later

	// Two attempts: a1 busy, then a2 still ringing.
	_, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(3*time.Minute))
	require.NoError(t, err)
	first, err := f.db.StartAttempt(f.ctx, id, "lease-1", "a1", at(time.Minute))
	require.NoError(t, err)
	task, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	a := hotline.CallbackAttempt{ID: first, TaskID: id, AgentID: "a1", StartedAt: at(time.Minute),
		AgentAnsweredAt: at(70 * time.Second), EndedAt: at(90 * time.Second), Outcome: hotline.AttemptBusy, Cause: 17}
	p := hotline.CallbackPolicy{}
	p.SetDefaults()
	after := p.AfterAttempt(task, a, plainTime{})
	require.NoError(t, f.db.FinishAttempt(f.ctx, "lease-1", a, after))
	_, err = f.db.ClaimTask(f.ctx, id, "lease-2", at(20*time.Minute), at(22*time.Minute))
	require.NoError(t, err)
	second, err := f.db.StartAttempt(f.ctx, id, "lease-2", "a2", at(20*time.Minute))
	require.NoError(t, err)

	got, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, hotline.CallbackTask{
		ID: id, Number: number1, State: hotline.CallbackDialing, AgentID: "a1", MissedCount: 2, Attempts: 1,
		FirstMissed: at(-time.Hour), Deadline: at(30 * time.Minute), NextAttempt: at(90*time.Second + 10*time.Minute),
		LeaseToken: "lease-2", LeaseUntil: at(22 * time.Minute), CreatedAt: t0,
		CallIDs: []string{"c1", "c2"},
		AttemptLog: []hotline.CallbackAttempt{
			a,
			{ID: second, TaskID: id, AgentID: "a2", StartedAt: at(20 * time.Minute)},
		},
	}, got)

	_, err = f.db.GetTask(f.ctx, 999)
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	require.ErrorContains(t, err, "store.GetTask: callback task 999 not found")
}

func TestListTasksFilters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	// Deadlines: p1 10m, p2 20m (a1), d3 30m dialing (a2), u4 5m unreachable (a1), c5 40m closed.
	add := func(call, number, agent string, deadline time.Duration, state hotline.CallbackState) int64 {
		task, _ := f.addMissed(t, missed(call, number, agent, 0, deadline))
		f.setTaskState(t, task.ID, state)
		return task.ID
	}
	p1 := add("c1", "1391", "", 10*time.Minute, hotline.CallbackPending)
	p2 := add("c2", "1392", "a1", 20*time.Minute, hotline.CallbackPending)
	d3 := add("c3", "1393", "a2", 30*time.Minute, hotline.CallbackDialing)
	u4 := add("c4", "1394", "a1", 5*time.Minute, hotline.CallbackUnreachable)
	c5 := add("c5", "1395", "", 40*time.Minute, hotline.CallbackClosed)

	tests := []struct {
		name     string
		filter   TaskFilter
		want     []int64
		wantKind hotline.ErrorKind
	}{
		{"all, by deadline", TaskFilter{}, []int64{u4, p1, p2, d3, c5}, ""},
		{"pending", TaskFilter{State: hotline.CallbackPending}, []int64{p1, p2}, ""},
		{"unreachable", TaskFilter{State: hotline.CallbackUnreachable}, []int64{u4}, ""},
		{"of an agent", TaskFilter{AgentID: "a1"}, []int64{u4, p2}, ""},
		{"overdue at 20m: open ones only", TaskFilter{OverdueAt: at(20 * time.Minute)}, []int64{p1, p2}, ""},
		{"overdue at 30m", TaskFilter{OverdueAt: at(30 * time.Minute)}, []int64{p1, p2, d3}, ""},
		{"overdue of an agent", TaskFilter{OverdueAt: at(time.Hour), AgentID: "a2"}, []int64{d3}, ""},
		{"overdue and closed: none", TaskFilter{OverdueAt: at(time.Hour), State: hotline.CallbackClosed}, []int64{}, ""},
		{"state overdue", TaskFilter{State: hotline.CallbackOverdue, OverdueAt: at(20 * time.Minute)}, []int64{p1, p2}, ""},
		{"state overdue needs the time", TaskFilter{State: hotline.CallbackOverdue}, nil, hotline.KindInvalid},
		{"open", TaskFilter{State: hotline.CallbackOpen}, []int64{p1, p2, d3}, ""},
		{"unfinished: open, or waiting for a supervisor", TaskFilter{State: hotline.CallbackUnfinished}, []int64{u4, p1, p2, d3}, ""},
		{"unknown state", TaskFilter{State: "lost"}, nil, hotline.KindInvalid},
		{"a page", TaskFilter{Limit: 2, Offset: 1}, []int64{p1, p2}, ""},
		{"past the end", TaskFilter{Offset: 10}, []int64{}, ""},
		{"limit too large", TaskFilter{Limit: MaxListLimit + 1}, nil, hotline.KindInvalid},
		{"negative offset", TaskFilter{Offset: -1}, nil, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.ListTasks(f.ctx, tt.filter)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			ids := []int64{}
			for _, task := range got {
				ids = append(ids, task.ID)
				require.Nil(t, task.CallIDs, "no calls in a list")
				require.Nil(t, task.AttemptLog, "no attempts in a list")
			}
			require.Equal(t, tt.want, ids)
		})
	}
}

func TestDueTaskIDs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// Due times: pending at next_attempt_ms, dialing at lease_until_ms.
	seed := []struct {
		state hotline.CallbackState
		dueMs time.Duration
	}{
		{hotline.CallbackPending, 3 * time.Minute},  // 0
		{hotline.CallbackPending, time.Minute},      // 1
		{hotline.CallbackDialing, 2 * time.Minute},  // 2: lease ran out at 2m
		{hotline.CallbackPending, 10 * time.Minute}, // 3: not yet
		{hotline.CallbackDialing, 10 * time.Minute}, // 4: lease still live
		{hotline.CallbackClosed, 0},                 // 5
		{hotline.CallbackPending, 0},                // 6: due at once
	}
	ids := make([]int64, len(seed))
	for i, s := range seed {
		ids[i] = f.newTask(t, fmt.Sprintf("c%d", i), fmt.Sprintf("139%d", i))
		f.setTaskState(t, ids[i], s.state)
		require.NoError(t, f.exec(t, fmt.Sprintf(
			`UPDATE callback_tasks SET next_attempt_ms = %d, lease_until_ms = CASE state WHEN 'dialing' THEN %[2]d ELSE 0 END WHERE id = %d`,
			hotline.UnixMilli(at(s.dueMs)), hotline.UnixMilli(at(s.dueMs)), ids[i])))
	}
	require.NoError(t, f.exec(t, fmt.Sprintf(`UPDATE callback_tasks SET next_attempt_ms = 0 WHERE id = %d`, ids[6])))

	tests := []struct {
		name  string
		now   time.Duration
		limit int
		want  []int64
	}{
		{"before anything", -time.Hour, 10, []int64{ids[6]}},
		{"at 2m: a lease that ends at 2m is not due yet", 2 * time.Minute, 10, []int64{ids[6], ids[1]}},
		{"at 5m: oldest due first", 5 * time.Minute, 10, []int64{ids[6], ids[1], ids[2], ids[0]}},
		{"at 5m, two", 5 * time.Minute, 2, []int64{ids[6], ids[1]}},
		{"at 11m: every open task", 11 * time.Minute, 10, []int64{ids[6], ids[1], ids[2], ids[0], ids[3], ids[4]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.DueTaskIDs(f.ctx, at(tt.now), tt.limit)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := f.db.DueTaskIDs(f.ctx, t0, 0)
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
}

func TestClaimTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		state     hotline.CallbackState // of the seeded task, due at t0+1m; a dialing one's lease runs out at t0+2m
		now       time.Duration
		token     string
		id        int64 // 0: the seeded task
		wantKind  hotline.ErrorKind
		wantError string
	}{
		{"pending and due", hotline.CallbackPending, time.Minute, "lease-1", 0, "", ""},
		{"pending, not yet due", hotline.CallbackPending, 59 * time.Second, "lease-1", 0, hotline.KindConflict, "not due before"},
		{"dialing, lease expired", hotline.CallbackDialing, 3 * time.Minute, "lease-1", 0, "", ""},
		{"dialing, lease live", hotline.CallbackDialing, 2 * time.Minute, "lease-1", 0, hotline.KindConflict, "being dialed under a lease"},
		{"dialing, the same token", hotline.CallbackDialing, time.Minute, "lease-old", 0, hotline.KindConflict, "being dialed"},
		{"connected", hotline.CallbackConnected, time.Hour, "lease-1", 0, hotline.KindConflict, "is connected"},
		{"resolved", hotline.CallbackResolved, time.Hour, "lease-1", 0, hotline.KindConflict, "is resolved"},
		{"unreachable", hotline.CallbackUnreachable, time.Hour, "lease-1", 0, hotline.KindConflict, "is unreachable"},
		{"closed", hotline.CallbackClosed, time.Hour, "lease-1", 0, hotline.KindConflict, "is closed"},
		{"no such task", hotline.CallbackPending, time.Hour, "lease-1", 999, hotline.KindNotFound, "callback task 999 not found"},
		{"no token", hotline.CallbackPending, time.Hour, "", 0, hotline.KindInvalid, "lease token is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.newTask(t, "c1", number1)
			f.setTaskState(t, id, tt.state)
			if tt.id != 0 {
				id = tt.id
			}
			before, _ := f.db.GetTask(f.ctx, id)

			got, err := f.db.ClaimTask(f.ctx, id, tt.token, at(tt.now), at(tt.now+2*time.Minute))
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.ClaimTask")
				require.ErrorContains(t, err, tt.wantError)
				after, _ := f.db.GetTask(f.ctx, id)
				require.Equal(t, before, after, "unchanged")
				return
			}
			require.NoError(t, err)
			require.Equal(t, hotline.CallbackDialing, got.State)
			require.Equal(t, tt.token, got.LeaseToken)
			require.Equal(t, at(tt.now+2*time.Minute), got.LeaseUntil)
			stored, err := f.db.GetTask(f.ctx, id)
			require.NoError(t, err)
			stored.CallIDs = nil
			require.Equal(t, stored, got, "returns the claimed row")
		})
	}
	t.Run("the lease must end after now", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		id := f.newTask(t, "c1", number1)
		_, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(time.Minute))
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
	})
}

// A batch claim takes the claimable tasks asked for, each under its own
// token, in one transaction, and leaves the others as they are.
func TestClaimTasksInABatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var ids []int64
	for i, state := range []hotline.CallbackState{hotline.CallbackPending, hotline.CallbackDialing, hotline.CallbackConnected,
		hotline.CallbackPending, hotline.CallbackPending} {
		id := f.newTask(t, fmt.Sprintf("c%d", i), fmt.Sprintf("139%d", i))
		f.setTaskState(t, id, state)
		ids = append(ids, id)
	}
	// The last one is not due before 10m.
	require.NoError(t, f.exec(t, fmt.Sprintf(`UPDATE callback_tasks SET next_attempt_ms = %d WHERE id = %d`, at(10*time.Minute).UnixMilli(), ids[4])))
	now := at(time.Minute) // ids[1]'s lease runs out at 2m
	claimed, err := f.db.ClaimTasks(f.ctx, []int64{ids[4], ids[3], ids[2], ids[1], ids[0], 999}, "b1", now, at(3*time.Minute))
	require.NoError(t, err)
	require.Len(t, claimed, 2)
	require.Equal(t, []int64{ids[0], ids[3]}, []int64{claimed[0].ID, claimed[1].ID}, "in id order")
	for _, tk := range claimed {
		require.Equal(t, fmt.Sprintf("b1.%d", tk.ID), tk.LeaseToken)
		require.Equal(t, hotline.CallbackDialing, tk.State)
		require.Equal(t, at(3*time.Minute), tk.LeaseUntil)
	}
	again, err := f.db.ClaimTasks(f.ctx, ids, "b2", now, at(3*time.Minute))
	require.NoError(t, err)
	require.Empty(t, again, "nothing claimable is left")
	got, err := f.db.GetTask(f.ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, "lease-old", got.LeaseToken, "a live lease is left alone")
	_, err = f.db.ClaimTasks(f.ctx, ids, "", now, at(3*time.Minute))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
}

// Dialers of two instances race for one task: exactly one wins.
func TestClaimTaskHasOneWinner(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.newTask(t, "c1", number1)
	dbs := []*DB{f.db, f.second(t)}

	const dialers = 8
	errs := make([]error, dialers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for d := range dialers {
		wg.Go(func() {
			<-start
			_, errs[d] = dbs[d%2].ClaimTask(f.ctx, id, fmt.Sprintf("lease-%d", d), at(time.Minute), at(3*time.Minute))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for d, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "a second winner: %d", d)
			winner = d
			continue
		}
		require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
	}
	require.NotEqual(t, -1, winner)
	got, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("lease-%d", winner), got.LeaseToken)
}

// A dialer whose lease ran out while an attempt was active (it died
// mid-dial) leaves the task to be settled: no claim takes it until
// SettleAttempt has ended the attempt; then the next claim does, and every
// write the old dialer still tries is a conflict, while the new dialer
// works on.
func TestExpiredLeaseIsSettledReclaimedAndTheOldTokenIsFenced(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	id := f.newTask(t, "c1", number1)
	p := hotline.CallbackPolicy{}
	p.SetDefaults()

	oldTask, err := f.db.ClaimTask(f.ctx, id, "old", at(time.Minute), at(2*time.Minute))
	require.NoError(t, err)
	oldAttempt, err := f.db.StartAttempt(f.ctx, id, "old", "a1", at(time.Minute))
	require.NoError(t, err)

	// The old dialer stalls past its lease; another wants the task.
	_, err = f.db.ClaimTask(f.ctx, id, "new", at(2*time.Minute), at(time.Minute+30*time.Second))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "a lease ending before now: %v", err)
	_, err = f.db.ClaimTask(f.ctx, id, "new", at(2*time.Minute), at(2*time.Minute))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
	_, err = f.db.ClaimTask(f.ctx, id, "new", at(2*time.Minute), at(4*time.Minute))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "the lease ends at 2m, not before: %v", err)
	stale, err := f.db.StaleAttempts(f.ctx, at(2*time.Minute), 10)
	require.NoError(t, err)
	require.Empty(t, stale, "not stale while the lease holds")

	now := at(2*time.Minute + time.Millisecond)
	_, err = f.db.ClaimTask(f.ctx, id, "new", now, at(4*time.Minute))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
	require.ErrorContains(t, err, "left mid-dial by attempt")
	claimed, err := f.db.ClaimTasks(f.ctx, []int64{id}, "new", now, at(4*time.Minute))
	require.NoError(t, err)
	require.Empty(t, claimed, "a batch claim leaves it out too")

	stale, err = f.db.StaleAttempts(f.ctx, now, 10)
	require.NoError(t, err)
	require.Equal(t, []hotline.CallbackAttempt{{ID: oldAttempt, TaskID: id, AgentID: "a1", StartedAt: at(time.Minute)}}, stale)
	held, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	settled := stale[0]
	settled.Outcome, settled.EndedAt = hotline.SettledOutcome(settled), now
	require.Equal(t, hotline.AttemptFailed, settled.Outcome, "never bridged")
	after := p.AfterAttempt(held, settled, plainTime{})
	wrong := after
	wrong.LeaseToken = "someone-else"
	require.Equal(t, hotline.KindConflict, hotline.KindOf(f.db.SettleAttempt(f.ctx, settled, wrong, now)), "under another lease")
	require.Equal(t, hotline.KindConflict, hotline.KindOf(f.db.SettleAttempt(f.ctx, settled, after, at(time.Minute))), "before the lease ran out")
	require.NoError(t, f.db.SettleAttempt(f.ctx, settled, after, now))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(f.db.SettleAttempt(f.ctx, settled, after, now)), "settled once")

	newTask, err := f.db.ClaimTask(f.ctx, id, "new", after.NextAttempt, after.NextAttempt.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, "new", newTask.LeaseToken)

	got, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, []hotline.CallbackAttempt{{
		ID: oldAttempt, TaskID: id, AgentID: "a1", StartedAt: at(time.Minute),
		EndedAt: now, Outcome: hotline.AttemptFailed,
	}}, got.AttemptLog, "the stale attempt ended as failed")
	require.Zero(t, got.Attempts, "our failure does not count against the citizen")

	// The old dialer wakes up: every fenced write fails, nothing changes.
	a := hotline.CallbackAttempt{ID: oldAttempt, TaskID: id, AgentID: "a1", StartedAt: at(time.Minute),
		CitizenAnsweredAt: at(150 * time.Second), EndedAt: at(3 * time.Minute), Outcome: hotline.AttemptConnected}
	fenced := []struct {
		name string
		run  func() error
	}{
		{"FinishAttempt", func() error {
			return f.db.FinishAttempt(f.ctx, "old", a, p.AfterAttempt(oldTask, a, plainTime{}))
		}},
		{"UpdateAttempt", func() error { return f.db.UpdateAttempt(f.ctx, "old", a) }},
		{"ExtendLease", func() error { return f.db.ExtendLease(f.ctx, id, "old", at(10*time.Minute)) }},
		{"ReleaseTask", func() error { return f.db.ReleaseTask(f.ctx, id, "old", at(10*time.Minute)) }},
		{"StartAttempt", func() error { _, err := f.db.StartAttempt(f.ctx, id, "old", "a1", at(3*time.Minute)); return err }},
	}
	for _, w := range fenced {
		err := w.run()
		require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%s: %v", w.name, err)
		require.ErrorContains(t, err, "store."+w.name)
		require.ErrorContains(t, err, "claimed by another dialer", w.name)
	}
	unchanged, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, got, unchanged, "the old dialer changed nothing")

	// The new dialer goes on and finishes.
	newAttempt, err := f.db.StartAttempt(f.ctx, id, "new", "a2", after.NextAttempt)
	require.NoError(t, err)
	b := hotline.CallbackAttempt{ID: newAttempt, TaskID: id, EndedAt: after.NextAttempt.Add(time.Minute), Outcome: hotline.AttemptConnected}
	require.NoError(t, f.db.FinishAttempt(f.ctx, "new", b, p.AfterAttempt(newTask, b, plainTime{})))
	final, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, hotline.CallbackConnected, final.State)
	require.Equal(t, "a1", final.AgentID, "the first attempt's agent stays the task's")
}

func TestStartAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		taskAgent string // the task's agent before
		token     string
		agent     string
		id        int64 // 0: the claimed task
		twice     bool  // start one attempt first
		wantAgent string
		wantKind  hotline.ErrorKind
	}{
		{"sets the task's agent when empty", "", "lease-1", "a2", 0, false, "a2", ""},
		{"keeps the task's agent", "a1", "lease-1", "a2", 0, false, "a1", ""},
		{"a second active attempt is refused", "", "lease-1", "a2", 0, true, "a2", hotline.KindConflict},
		{"another token", "", "lease-2", "a2", 0, false, "", hotline.KindConflict},
		{"no such task", "", "lease-1", "a2", 999, false, "", hotline.KindNotFound},
		{"unknown agent", "", "lease-1", "nobody", 0, false, "", hotline.KindInvalid},
		{"no agent", "", "lease-1", "", 0, false, "", hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2")
			task, _ := f.addMissed(t, missed("c1", number1, tt.taskAgent, 0, 30*time.Minute))
			_, err := f.db.ClaimTask(f.ctx, task.ID, "lease-1", at(time.Minute), at(3*time.Minute))
			require.NoError(t, err)
			var first int64
			if tt.twice {
				first, err = f.db.StartAttempt(f.ctx, task.ID, "lease-1", tt.agent, at(time.Minute))
				require.NoError(t, err)
			}
			id := task.ID
			if tt.id != 0 {
				id = tt.id
			}

			attemptID, err := f.db.StartAttempt(f.ctx, id, tt.token, tt.agent, at(2*time.Minute))
			got, getErr := f.db.GetTask(f.ctx, task.ID)
			require.NoError(t, getErr)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.StartAttempt")
				require.Equal(t, tt.wantAgent, got.AgentID)
				if tt.twice {
					require.Len(t, got.AttemptLog, 1, "never two active dials")
					require.Equal(t, first, got.AttemptLog[0].ID)
				} else {
					require.Empty(t, got.AttemptLog)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantAgent, got.AgentID)
			require.Equal(t, []hotline.CallbackAttempt{{ID: attemptID, TaskID: task.ID, AgentID: tt.agent, StartedAt: at(2 * time.Minute)}},
				got.AttemptLog)
		})
	}
}

func TestUpdateAttemptRecordsProgress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	id := f.newTask(t, "c1", number1)
	_, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(3*time.Minute))
	require.NoError(t, err)
	attemptID, err := f.db.StartAttempt(f.ctx, id, "lease-1", "a1", at(time.Minute))
	require.NoError(t, err)

	a := hotline.CallbackAttempt{ID: attemptID, TaskID: id, AgentID: "a1", StartedAt: at(time.Minute)}
	steps := []struct {
		name   string
		change func(a *hotline.CallbackAttempt)
	}{
		{"agent answered, recording", func(a *hotline.CallbackAttempt) {
			a.AgentAnsweredAt, a.RecordingName = at(65*time.Second), "cb-1"
		}},
		{"citizen answered", func(a *hotline.CallbackAttempt) { a.CitizenAnsweredAt = at(80 * time.Second) }},
		{"apology finished", func(a *hotline.CallbackAttempt) { a.ApologyFinishedAt = at(95 * time.Second) }},
		{"bridged", func(a *hotline.CallbackAttempt) { a.BridgedAt = at(96 * time.Second) }},
	}
	for _, s := range steps {
		s.change(&a)
		require.NoError(t, f.db.UpdateAttempt(f.ctx, "lease-1", a), s.name)
		got, err := f.db.GetTask(f.ctx, id)
		require.NoError(t, err)
		require.Equal(t, []hotline.CallbackAttempt{a}, got.AttemptLog, s.name)
	}

	// A stale copy with zero fields keeps what is stored.
	stale := hotline.CallbackAttempt{ID: attemptID, Cause: 16}
	require.NoError(t, f.db.UpdateAttempt(f.ctx, "lease-1", stale))
	a.Cause = 16
	got, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, []hotline.CallbackAttempt{a}, got.AttemptLog)

	tests := []struct {
		name     string
		token    string
		a        hotline.CallbackAttempt
		wantKind hotline.ErrorKind
	}{
		{"another token", "lease-2", a, hotline.KindConflict},
		{"no such attempt", "lease-1", hotline.CallbackAttempt{ID: 999}, hotline.KindNotFound},
		{"no token", "", a, hotline.KindInvalid},
	}
	for _, tt := range tests {
		err := f.db.UpdateAttempt(f.ctx, tt.token, tt.a)
		require.Equal(t, tt.wantKind, hotline.KindOf(err), "%s: %v", tt.name, err)
	}

	// Ended: no more progress.
	a.EndedAt, a.Outcome = at(2*time.Minute), hotline.AttemptConnected
	task, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	p := hotline.CallbackPolicy{}
	p.SetDefaults()
	require.NoError(t, f.db.FinishAttempt(f.ctx, "lease-1", a, p.AfterAttempt(task, a, plainTime{})))
	err = f.db.UpdateAttempt(f.ctx, "lease-1", a)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
}

// FinishAttempt stores what the callback policy made of the attempt.
func TestFinishAttemptAppliesThePolicy(t *testing.T) {
	t.Parallel()
	p := hotline.CallbackPolicy{}
	p.SetDefaults()
	end := at(2 * time.Minute)
	tests := []struct {
		name         string
		attempts     int // already counted before
		outcome      hotline.AttemptOutcome
		wantState    hotline.CallbackState
		wantAttempts int
		wantNext     time.Time
		wantClosed   time.Time
	}{
		{"connected", 0, hotline.AttemptConnected, hotline.CallbackConnected, 0, time.Time{}, end},
		{"busy retries after the backoff", 0, hotline.AttemptBusy, hotline.CallbackPending, 1, end.Add(p.RetryBackoff), time.Time{}},
		{"agent not answering does not count; a colleague calls at once", 1, hotline.AttemptAgentNoAnswer, hotline.CallbackPending, 1, end, time.Time{}},
		{"the last attempt", p.MaxAttempts - 1, hotline.AttemptNoAnswer, hotline.CallbackUnreachable, p.MaxAttempts, time.Time{}, end},
		{"no such number", 0, hotline.AttemptInvalidNumber, hotline.CallbackInvalid, 1, time.Time{}, end},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1")
			id := f.newTask(t, "c1", number1)
			require.NoError(t, f.exec(t, fmt.Sprintf(`UPDATE callback_tasks SET attempts = %d WHERE id = %d`, tt.attempts, id)))
			task, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(3*time.Minute))
			require.NoError(t, err)
			attemptID, err := f.db.StartAttempt(f.ctx, id, "lease-1", "a1", at(time.Minute))
			require.NoError(t, err)

			a := hotline.CallbackAttempt{ID: attemptID, TaskID: id, AgentID: "a1", RecordingName: "cb-1",
				StartedAt: at(time.Minute), AgentAnsweredAt: at(65 * time.Second), EndedAt: end, Outcome: tt.outcome, Cause: 16}
			require.NoError(t, f.db.FinishAttempt(f.ctx, "lease-1", a, p.AfterAttempt(task, a, plainTime{})))

			got, err := f.db.GetTask(f.ctx, id)
			require.NoError(t, err)
			require.Equal(t, tt.wantState, got.State)
			require.Equal(t, tt.wantAttempts, got.Attempts)
			require.Equal(t, tt.wantNext, got.NextAttempt)
			require.Equal(t, tt.wantClosed, got.ClosedAt)
			require.Empty(t, got.LeaseToken, "the lease is cleared")
			require.True(t, got.LeaseUntil.IsZero())
			require.Equal(t, []hotline.CallbackAttempt{a}, got.AttemptLog)

			err = f.db.FinishAttempt(f.ctx, "lease-1", a, p.AfterAttempt(task, a, plainTime{}))
			require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "finishing twice: %v", err)
		})
	}
}

func TestFinishAttemptRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	id := f.newTask(t, "c1", number1)
	other := f.newTask(t, "c2", number2)
	task, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(3*time.Minute))
	require.NoError(t, err)
	attemptID, err := f.db.StartAttempt(f.ctx, id, "lease-1", "a1", at(time.Minute))
	require.NoError(t, err)
	_, err = f.db.ClaimTask(f.ctx, other, "lease-1", at(time.Minute), at(3*time.Minute))
	require.NoError(t, err)

	good := hotline.CallbackAttempt{ID: attemptID, TaskID: id, EndedAt: at(2 * time.Minute), Outcome: hotline.AttemptBusy}
	pending := task
	pending.State, pending.Attempts, pending.NextAttempt = hotline.CallbackPending, 1, at(12*time.Minute)
	with := func(change func(a *hotline.CallbackAttempt, t *hotline.CallbackTask)) (hotline.CallbackAttempt, hotline.CallbackTask) {
		a, t := good, pending
		change(&a, &t)
		return a, t
	}
	tests := []struct {
		name     string
		token    string
		change   func(a *hotline.CallbackAttempt, t *hotline.CallbackTask)
		wantKind hotline.ErrorKind
	}{
		{"unknown outcome", "lease-1", func(a *hotline.CallbackAttempt, _ *hotline.CallbackTask) { a.Outcome = "hung_up" }, hotline.KindInvalid},
		{"no outcome", "lease-1", func(a *hotline.CallbackAttempt, _ *hotline.CallbackTask) { a.Outcome = "" }, hotline.KindInvalid},
		{"no end", "lease-1", func(a *hotline.CallbackAttempt, _ *hotline.CallbackTask) { a.EndedAt = time.Time{} }, hotline.KindInvalid},
		{"task left dialing", "lease-1", func(_ *hotline.CallbackAttempt, t *hotline.CallbackTask) { t.State = hotline.CallbackDialing }, hotline.KindInvalid},
		{"task closed by the dialer", "lease-1", func(_ *hotline.CallbackAttempt, t *hotline.CallbackTask) {
			t.State, t.ClosedAt = hotline.CallbackClosed, at(2*time.Minute)
		}, hotline.KindInvalid},
		{"connected without a closing time", "lease-1", func(_ *hotline.CallbackAttempt, t *hotline.CallbackTask) {
			t.State = hotline.CallbackConnected
		}, hotline.KindInvalid},
		{"attempt of another task", "lease-1", func(a *hotline.CallbackAttempt, _ *hotline.CallbackTask) { a.TaskID = other }, hotline.KindInvalid},
		{"attempt id of another task", "lease-1", func(a *hotline.CallbackAttempt, t *hotline.CallbackTask) {
			a.TaskID, t.ID = 0, other
		}, hotline.KindInvalid},
		{"no such attempt", "lease-1", func(a *hotline.CallbackAttempt, _ *hotline.CallbackTask) { a.ID = 999 }, hotline.KindNotFound},
		{"another token", "lease-2", func(*hotline.CallbackAttempt, *hotline.CallbackTask) {}, hotline.KindConflict},
		{"no token", "", func(*hotline.CallbackAttempt, *hotline.CallbackTask) {}, hotline.KindInvalid},
	}
	before, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	for _, tt := range tests {
		a, task := with(tt.change)
		err := f.db.FinishAttempt(f.ctx, tt.token, a, task)
		require.Equal(t, tt.wantKind, hotline.KindOf(err), "%s: %v", tt.name, err)
		require.ErrorContains(t, err, "store.FinishAttempt", tt.name)
	}
	after, err := f.db.GetTask(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, before, after, "nothing written")
}

func TestReleaseAndExtend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		attempt  bool // an attempt is active
		token    string
		id       int64 // 0: the claimed task
		run      string
		wantKind hotline.ErrorKind
	}{
		{"release", false, "lease-1", 0, "release", ""},
		{"release with an active attempt", true, "lease-1", 0, "release", hotline.KindConflict},
		{"release under another token", false, "lease-2", 0, "release", hotline.KindConflict},
		{"release a missing task", false, "lease-1", 999, "release", hotline.KindNotFound},
		{"extend", true, "lease-1", 0, "extend", ""},
		{"extend under another token", false, "lease-2", 0, "extend", hotline.KindConflict},
		{"extend a missing task", false, "lease-1", 999, "extend", hotline.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1")
			id := f.newTask(t, "c1", number1)
			_, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(3*time.Minute))
			require.NoError(t, err)
			if tt.attempt {
				_, err := f.db.StartAttempt(f.ctx, id, "lease-1", "a1", at(time.Minute))
				require.NoError(t, err)
			}
			before, err := f.db.GetTask(f.ctx, id)
			require.NoError(t, err)
			target := id
			if tt.id != 0 {
				target = tt.id
			}

			if tt.run == "release" {
				err = f.db.ReleaseTask(f.ctx, target, tt.token, at(5*time.Minute))
			} else {
				err = f.db.ExtendLease(f.ctx, target, tt.token, at(10*time.Minute))
			}
			got, getErr := f.db.GetTask(f.ctx, id)
			require.NoError(t, getErr)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.Equal(t, before, got, "unchanged")
				return
			}
			require.NoError(t, err)
			want := before
			if tt.run == "release" {
				want.State, want.LeaseToken, want.LeaseUntil, want.NextAttempt = hotline.CallbackPending, "", time.Time{}, at(5*time.Minute)
			} else {
				want.LeaseUntil = at(10 * time.Minute)
			}
			require.Equal(t, want, got)
		})
	}
}

func TestCloseTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		state     hotline.CallbackState
		by        string
		reason    string
		id        int64 // 0: the seeded task
		wantKind  hotline.ErrorKind
		wantError string
	}{
		{"pending", hotline.CallbackPending, "s1", "citizen asked not to be called", 0, "", ""},
		{"unreachable", hotline.CallbackUnreachable, "s1", "wrong number", 0, "", ""},
		{"invalid number", hotline.CallbackInvalid, "s1", "number out of service", 0, "", ""},
		{"dialing", hotline.CallbackDialing, "s1", "duplicate", 0, hotline.KindConflict, "a dial is active"},
		{"connected", hotline.CallbackConnected, "s1", "duplicate", 0, hotline.KindConflict, "already closed"},
		{"resolved", hotline.CallbackResolved, "s1", "duplicate", 0, hotline.KindConflict, "already closed"},
		{"closed", hotline.CallbackClosed, "s1", "duplicate", 0, hotline.KindConflict, "already closed"},
		{"without a reason", hotline.CallbackPending, "s1", "  ", 0, hotline.KindInvalid, "reason"},
		{"without who", hotline.CallbackPending, "", "duplicate", 0, hotline.KindInvalid, "who closes"},
		{"no such task", hotline.CallbackPending, "s1", "duplicate", 999, hotline.KindNotFound, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.newTask(t, "c1", number1)
			f.setTaskState(t, id, tt.state)
			if tt.id != 0 {
				id = tt.id
			}
			before, _ := f.db.GetTask(f.ctx, id)

			got, err := f.db.CloseTask(f.ctx, id, tt.by, tt.reason, at(time.Hour))
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.CloseTask")
				require.ErrorContains(t, err, tt.wantError)
				after, _ := f.db.GetTask(f.ctx, id)
				require.Equal(t, before, after, "unchanged")
				return
			}
			require.NoError(t, err)
			want := before
			want.State, want.ClosedAt, want.CloseReason, want.ClosedBy, want.NextAttempt =
				hotline.CallbackClosed, at(time.Hour), tt.reason, tt.by, time.Time{}
			require.Equal(t, want, got)
			stored, err := f.db.GetTask(f.ctx, id)
			require.NoError(t, err)
			require.Equal(t, want, stored)
		})
	}
}

func TestAcknowledgeTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		state      hotline.CallbackState
		note       string
		wantKind   hotline.ErrorKind
		wantReason string
	}{
		{"unreachable", hotline.CallbackUnreachable, "tried the office number too", "", "acknowledged: tried the office number too"},
		{"invalid number", hotline.CallbackInvalid, "", "", "acknowledged"},
		{"pending", hotline.CallbackPending, "x", hotline.KindConflict, ""},
		{"dialing", hotline.CallbackDialing, "x", hotline.KindConflict, ""},
		{"connected", hotline.CallbackConnected, "x", hotline.KindConflict, ""},
		{"closed", hotline.CallbackClosed, "x", hotline.KindConflict, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.newTask(t, "c1", number1)
			f.setTaskState(t, id, tt.state)
			before, err := f.db.GetTask(f.ctx, id)
			require.NoError(t, err)

			got, err := f.db.AcknowledgeTask(f.ctx, id, "s1", tt.note, at(time.Hour))
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.AcknowledgeTask")
				after, err := f.db.GetTask(f.ctx, id)
				require.NoError(t, err)
				require.Equal(t, before, after, "unchanged")
				return
			}
			require.NoError(t, err)
			require.Equal(t, hotline.CallbackClosed, got.State)
			require.Equal(t, tt.wantReason, got.CloseReason)
			require.Equal(t, "s1", got.ClosedBy)
			require.Equal(t, at(time.Hour), got.ClosedAt)
		})
	}
	f := setup(t)
	_, err := f.db.AcknowledgeTask(f.ctx, 999, "s1", "", at(time.Hour))
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	_, err = f.db.AcknowledgeTask(f.ctx, 999, " ", "", at(time.Hour))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
}

func TestResolveByInbound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		state     hotline.CallbackState
		number    string
		wantState hotline.CallbackState
	}{
		{"pending", hotline.CallbackPending, number1, hotline.CallbackResolved},
		{"dialing", hotline.CallbackDialing, number1, hotline.CallbackResolved},
		{"already connected", hotline.CallbackConnected, number1, hotline.CallbackConnected},
		{"unreachable waits for the supervisor", hotline.CallbackUnreachable, number1, hotline.CallbackUnreachable},
		{"another number", hotline.CallbackPending, number2, hotline.CallbackPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.newTask(t, "c1", number1)
			f.setTaskState(t, id, tt.state)

			ids, err := f.db.ResolveByInbound(f.ctx, tt.number, "c9", at(time.Hour))
			require.NoError(t, err)
			got, err := f.db.GetTask(f.ctx, id)
			require.NoError(t, err)
			require.Equal(t, tt.wantState, got.State)
			if tt.wantState != hotline.CallbackResolved {
				require.Empty(t, ids)
				return
			}
			require.Equal(t, []int64{id}, ids)
			require.Equal(t, at(time.Hour), got.ClosedAt)
			require.Equal(t, "citizen called in: call c9 answered", got.CloseReason)
			require.Empty(t, got.LeaseToken)
			require.True(t, got.NextAttempt.IsZero())
		})
	}

	t.Run("the dialer of a resolved task is fenced off", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		f.seedAgents(t, "a1")
		id := f.newTask(t, "c1", number1)
		task, err := f.db.ClaimTask(f.ctx, id, "lease-1", at(time.Minute), at(3*time.Minute))
		require.NoError(t, err)
		attemptID, err := f.db.StartAttempt(f.ctx, id, "lease-1", "a1", at(time.Minute))
		require.NoError(t, err)

		ids, err := f.db.ResolveByInbound(f.ctx, number1, "c9", at(2*time.Minute))
		require.NoError(t, err)
		require.Equal(t, []int64{id}, ids)

		p := hotline.CallbackPolicy{}
		p.SetDefaults()
		a := hotline.CallbackAttempt{ID: attemptID, TaskID: id, EndedAt: at(150 * time.Second), Outcome: hotline.AttemptConnected}
		err = f.db.FinishAttempt(f.ctx, "lease-1", a, p.AfterAttempt(task, a, plainTime{}))
		require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
		require.ErrorContains(t, err, "is resolved, no longer dialing")

		got, err := f.db.GetTask(f.ctx, id)
		require.NoError(t, err)
		require.Equal(t, hotline.CallbackResolved, got.State, "the dialer did not overwrite the resolution")
		require.Equal(t, []hotline.CallbackAttempt{{ID: attemptID, TaskID: id, AgentID: "a1", StartedAt: at(time.Minute),
			EndedAt: at(2 * time.Minute), Outcome: hotline.AttemptFailed}}, got.AttemptLog)

		// The citizen misses another call later: a new task.
		again, created := f.addMissed(t, missed("c10", number1, "", time.Hour, 90*time.Minute))
		require.True(t, created)
		require.NotEqual(t, id, again.ID)
	})

	t.Run("refuses", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		for _, args := range [][2]string{{"", "c9"}, {number1, ""}} {
			_, err := f.db.ResolveByInbound(f.ctx, args[0], args[1], at(time.Hour))
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
		}
	})
}

// The CHECKs of callback_attempts (00003).
func TestCallbackAttemptChecks(t *testing.T) {
	t.Parallel()
	const insert = `INSERT INTO callback_attempts (task_id, started_ms, ended_ms, outcome) VALUES `
	tests := []struct {
		name      string
		statement string
		wantKind  hotline.ErrorKind // "" when allowed
	}{
		{"ended busy", insert + `(1, 10, 20, 'busy')`, ""},
		{"every outcome of the domain", insert + `(1, 10, 20, 'connected'), (1, 10, 20, 'too_short'),
			(1, 10, 20, 'citizen_no_answer'), (1, 10, 20, 'unreachable'), (1, 10, 20, 'invalid_number'),
			(1, 10, 20, 'agent_no_answer'), (1, 10, 20, 'failed')`, ""},
		{"ended without an outcome (written before 00003)", insert + `(1, 10, 20, '')`, ""},
		{"unknown outcome", insert + `(1, 10, 20, 'hung_up')`, hotline.KindInvalid},
		{"outcome in capitals", insert + `(1, 10, 20, 'BUSY')`, hotline.KindInvalid},
		{"an active attempt with an outcome", insert + `(1, 10, 0, 'busy')`, hotline.KindInvalid},
		{"a time as text (STRICT)", `INSERT INTO callback_attempts (task_id, started_ms, bridged_ms) VALUES (1, 10, 'soon')`, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.newTask(t, "c1", number1)
			err := f.exec(t, tt.statement)
			if tt.wantKind == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
		})
	}
}

// planSteps returns the EXPLAIN QUERY PLAN lines of query.
func (f fixture) planSteps(t *testing.T, query string, args ...any) []string {
	t.Helper()
	sqliteOnly(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN); PostgreSQL's planner chooses by its statistics")
	var plan []struct {
		ID      int    `db:"id"`
		Parent  int    `db:"parent"`
		NotUsed int    `db:"notused"`
		Detail  string `db:"detail"`
	}
	require.NoError(t, f.db.reader.SelectContext(f.ctx, &plan, "EXPLAIN QUERY PLAN "+query, args...))
	details := make([]string, 0, len(plan))
	for _, step := range plan {
		details = append(details, step.Detail)
	}
	return details
}

// The callback, violation and audit statements read through their indexes:
// every table they touch is searched, never scanned (a SCAN of a subquery's
// result or a covering index walk is fine).
func TestCallbackStatementsUseTheirIndexes(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	f := setup(t)
	list := func(query string, conds ...string) string {
		return fmt.Sprintf(query, strings.Join(append([]string{"TRUE"}, conds...), " AND "))
	}
	updateAttempt, updateAttemptArgs, err := sqlx.Named(updateAttemptSQL, attemptWrite{attemptToRow(hotline.CallbackAttempt{ID: 1}), "t"})
	require.NoError(t, err)
	tests := []struct {
		name  string
		query string
		args  []any
		index string // a step searches this index
	}{
		{"GetTask: task", getTaskSQL, []any{1}, "INTEGER PRIMARY KEY"},
		{"GetTask: calls", taskCallsSQL, []any{1}, "callback_task_calls_by_task"},
		{"GetTask: attempts", taskAttemptsSQL, []any{1}, "callback_attempts_by_task"},
		{"AddMissedCall: the call's task", taskOfCallSQL, []any{"c1"}, "sqlite_autoindex_callback_task_calls_1"},
		{"AddMissedCall: the number's open task", openTaskOfNumberSQL, []any{number1}, "callback_tasks_one_open_per_number"},
		{"ListTasks by state", list(listTasksSQL, "state = ?"), []any{"pending", 10, 0}, "callback_tasks_by_state"},
		{"ListTasks by agent", list(listTasksSQL, "agent_id = ?"), []any{"a1", 10, 0}, "callback_tasks_by_agent_deadline"},
		{"ListTasks overdue", list(listTasksSQL, "state IN ('pending', 'dialing')", "deadline_ms <= ?"), []any{1, 10, 0}, "callback_tasks_by_state"},
		{"DueTaskIDs: pending", dueTasksSQL, []any{1, 10, 1, 10, 10}, "callback_tasks_open_by_next_attempt"},
		{"DueTaskIDs: dialing", dueTasksSQL, []any{1, 10, 1, 10, 10}, "callback_tasks_by_state"},
		{"ClaimTask", claimTaskSQL, []any{"t", 1, 1, 1, 1}, "INTEGER PRIMARY KEY"},
		{"ClaimTasks", claimTasksSQL, []any{"b", 1, "[1,2]", 1}, "INTEGER PRIMARY KEY"},
		{"ClaimTasks: stale attempts", endStaleAttemptsOfSQL, []any{1, "[1,2]"}, "callback_attempts_one_active_per_task"},
		{"stale attempts", endStaleAttemptsSQL, []any{1, 1}, "callback_attempts_one_active_per_task"},
		{"ReleaseTask", releaseTaskSQL, []any{1, 1, "t"}, "callback_attempts_one_active_per_task"},
		{"UpdateAttempt", updateAttempt, updateAttemptArgs, "INTEGER PRIMARY KEY"},
		{"ResolveByInbound", resolveByInboundSQL, []any{1, "r", number1}, "callback_tasks_one_open_per_number"},
		{"GetTasks", CallbackTasks.table().byIDSQL, []any{"[1,2]"}, "INTEGER PRIMARY KEY"},
		{"StaleAttempts: tasks", staleAttemptsSQL, []any{1, 10}, "callback_tasks_by_state"},
		{"StaleAttempts: attempts", staleAttemptsSQL, []any{1, 10}, "callback_attempts_one_active_per_task"},
		{"SettleAttempt: task", settleTaskSQL, []any{"pending", 0, 0, 0, 0, 1, "t", 1}, "INTEGER PRIMARY KEY"},
		{"SettleAttempt: attempt", settleAttemptSQL, []any{1, "failed", 1, 1}, "INTEGER PRIMARY KEY"},
		{"HandOver", handOverReadSQL, []any{1, "t"}, "INTEGER PRIMARY KEY"},
		{"HandOver: the latest attempt", handOverReadSQL, []any{1, "t"}, "callback_attempts_by_task"},
		{"ListViolations by agent", list(listViolationsSQL, "agent_id = ?"), []any{"a1", 10, 0}, "violations_by_agent"},
		{"ListViolations by kind", list(listViolationsSQL, "kind = ?"), []any{"referral_loop", 10, 0}, "violations_by_kind"},
		{"ListViolations undisposed", list(listViolationsSQL, "disposition = ''"), []any{10, 0}, "violations_by_disposition"},
		{"DispositionHistory", dispositionHistorySQL, []any{1}, "violation_dispositions_by_violation"},
		{"AppendAudit: the last hash", lastAuditHashSQL, nil, "INTEGER PRIMARY KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			details := f.planSteps(t, tt.query, tt.args...)
			require.NotEmpty(t, details)
			searched := false
			for _, d := range details {
				if strings.HasPrefix(d, "SEARCH") && strings.Contains(d, tt.index) {
					searched = true
				}
				if strings.HasPrefix(d, "SCAN") {
					require.True(t, strings.HasPrefix(d, "SCAN (subquery") || strings.HasPrefix(d, "SCAN CONSTANT ROW") ||
						slices.Contains([]string{"SCAN pending", "SCAN lapsed", "SCAN due"}, d) || // dueTasksSQL's subqueries
						strings.HasPrefix(d, "SCAN json_each VIRTUAL TABLE"), "%q", details)
				}
			}
			require.True(t, searched, "%q", details)
		})
	}
	// The lists without a filter walk one index in their order, which is
	// what a page of everything is.
	require.Equal(t, []string{"SCAN callback_tasks USING INDEX callback_tasks_by_deadline"},
		f.planSteps(t, fmt.Sprintf(listTasksSQL, "TRUE"), 10, 0))
	require.Equal(t, []string{"SCAN violations USING INDEX violations_by_at"},
		f.planSteps(t, fmt.Sprintf(listViolationsSQL, "TRUE"), 10, 0))
}

// A database in service at version 2 keeps its callback rows through 00003
// (callback_attempts is rebuilt) and ends with the same schema as a new one;
// 00003 also goes down to exactly the version-2 schema and up again.
func TestMigrate00003KeepsExistingRows(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "no PostgreSQL database was ever at this version: PostgreSQL came later, its databases start at the current schema")
	f := setupUnmigrated(t)
	_, err := f.db.migrations.UpTo(f.ctx, 2)
	require.NoError(t, err)
	atVersion2 := setupUnmigrated(t)
	_, err = atVersion2.db.migrations.UpTo(atVersion2.ctx, 2)
	require.NoError(t, err)

	// Rows as a version-2 database may hold them: raw SQL, since the store's
	// statements name columns version 2 does not have.
	ms := func(d time.Duration) int64 { return at(d).UnixMilli() }
	require.NoError(t, f.exec(t,
		`INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms) VALUES ('a1', 'A1', 'PJSIP/a1', 'agent', 'available', 1, 1)`,
		`INSERT INTO calls (id, caller_number, line, state, missed_reason, arrived_ms, updated_ms) VALUES ('c1', '`+number1+`', 'hotline', 'missed', 'no_answer', 1, 1)`,
		`INSERT INTO calls (id, caller_number, line, state, missed_reason, arrived_ms, updated_ms) VALUES ('c2', '`+number2+`', 'hotline', 'missed', 'no_agent', 1, 1)`,
		fmt.Sprintf(`INSERT INTO callback_tasks (id, number, state, agent_id, first_missed_ms, deadline_ms, next_attempt_ms, created_ms)
			VALUES (1, '%s', 'pending', 'a1', %d, %d, %d, %d)`, number1, ms(0), ms(30*time.Minute), ms(time.Minute), ms(0)),
		fmt.Sprintf(`INSERT INTO callback_tasks (id, number, state, attempts, first_missed_ms, deadline_ms, created_ms, closed_ms)
			VALUES (2, '%s', 'unreachable', 3, %d, %d, %d, %d)`, number2, ms(0), ms(30*time.Minute), ms(0), ms(20*time.Minute)),
		`INSERT INTO callback_task_calls (call_id, task_id) VALUES ('c1', 1), ('c2', 2)`,
		fmt.Sprintf(`INSERT INTO callback_attempts (id, task_id, agent_id, started_ms, ended_ms, outcome) VALUES
			(1, 2, 'a1', %d, %d, 'citizen_no_answer'),
			(2, 2, 'a1', %d, %d, ''),
			(3, 1, 'a1', %d, 0, '')`, ms(time.Minute), ms(2*time.Minute), ms(10*time.Minute), ms(11*time.Minute), ms(12*time.Minute)),
	))

	applied, err := f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{3, 4, 5, 6, 7, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 22}, applied)

	task, err := f.db.GetTask(f.ctx, 2)
	require.NoError(t, err)
	require.Equal(t, hotline.CallbackTask{
		ID: 2, Number: number2, State: hotline.CallbackUnreachable, MissedCount: 1, Attempts: 3,
		FirstMissed: at(0), Deadline: at(30 * time.Minute), CreatedAt: at(0), ClosedAt: at(20 * time.Minute),
		CallIDs: []string{"c2"},
		AttemptLog: []hotline.CallbackAttempt{
			{ID: 1, TaskID: 2, AgentID: "a1", StartedAt: at(time.Minute), EndedAt: at(2 * time.Minute), Outcome: hotline.AttemptNoAnswer},
			{ID: 2, TaskID: 2, AgentID: "a1", StartedAt: at(10 * time.Minute), EndedAt: at(11 * time.Minute)},
		},
	}, task, "no escalation, no closer, attempts with no progress times; an outcome never recorded stays empty")

	// The migrated rows take the new statements.
	_, err = f.db.AcknowledgeTask(f.ctx, 2, "s1", "", at(time.Hour))
	require.NoError(t, err)
	_, err = f.db.ClaimTask(f.ctx, 1, "lease-1", at(time.Hour), at(time.Hour+time.Minute))
	require.NoError(t, err)
	task, err = f.db.GetTask(f.ctx, 1)
	require.NoError(t, err)
	require.Equal(t, hotline.AttemptFailed, task.AttemptLog[0].Outcome, "the attempt a pending task was left ends with the claim")
	_, err = f.db.StartAttempt(f.ctx, 1, "lease-1", "a1", at(time.Hour))
	require.NoError(t, err)

	fresh := setup(t)
	require.Equal(t, fresh.schemaSQL(t), f.schemaSQL(t), "the same schema as a new database")

	// Down to 2: exactly the version-2 schema, every attempt kept.
	down, err := f.db.migrations.DownTo(f.ctx, 2)
	require.NoError(t, err)
	require.Len(t, down, 16, "00022 to 00016 and on down to 00003 go down")
	require.Equal(t, atVersion2.schemaSQL(t), f.schemaSQL(t), "the schema of a database made at version 2")
	var attempts int
	require.NoError(t, f.db.reader.GetContext(f.ctx, &attempts, `SELECT count(*) FROM callback_attempts`))
	require.Equal(t, 4, attempts)

	applied, err = f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{3, 4, 5, 6, 7, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 22}, applied)
	require.Equal(t, fresh.schemaSQL(t), f.schemaSQL(t))
	task, err = f.db.GetTask(f.ctx, 1)
	require.NoError(t, err)
	require.Len(t, task.AttemptLog, 2)
}

// BenchmarkDuePage reads every open task's due times in keyset pages,
// as the reconciler does to rebuild the Redis index, over 1M open tasks
// (10% dialing) beside 250k closed ones. One op is one whole pass; rows/s
// is open tasks read per second.
func BenchmarkDuePage(b *testing.B) {
	const open, closed = 1_000_000, 250_000
	f := setup(b)
	start := time.Now()
	// One INSERT, so one transaction: a few seconds.
	_, err := f.db.writer.ExecContext(f.ctx, `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ? + ?)
		INSERT INTO callback_tasks (number, state, lease_token, lease_until_ms, first_missed_ms, deadline_ms,
		                            next_attempt_ms, created_ms, closed_ms)
		SELECT printf('139%08d', i),
		       CASE WHEN i > ? THEN 'connected' WHEN i % 10 = 0 THEN 'dialing' ELSE 'pending' END,
		       CASE WHEN i <= ? AND i % 10 = 0 THEN 'lease-' || i END,
		       CASE WHEN i <= ? AND i % 10 = 0 THEN ? + i ELSE 0 END,
		       ?, ? + i, ? + i, ?, CASE WHEN i > ? THEN ? ELSE 0 END
		FROM n`,
		open, closed, open, open, open, t0.UnixMilli(),
		t0.UnixMilli(), t0.Add(30*time.Minute).UnixMilli(), t0.Add(time.Minute).UnixMilli(), t0.UnixMilli(),
		open, t0.Add(time.Hour).UnixMilli())
	require.NoError(b, err)
	b.Logf("generated %d open and %d closed tasks in %s", open, closed, time.Since(start).Round(time.Millisecond))

	for _, page := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			rows := 0
			for b.Loop() {
				after := int64(0)
				for {
					dues, err := f.db.DuePage(f.ctx, CallbackTasks, after, page)
					if err != nil {
						b.Fatal(err)
					}
					rows += len(dues)
					if len(dues) < page {
						break
					}
					after = dues[len(dues)-1].ID
				}
			}
			if rows%open != 0 {
				b.Fatalf("read %d rows, not whole passes over %d open tasks", rows, open)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
