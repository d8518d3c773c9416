package callback

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
)

// agentsFunc adapts two functions to Agents.
type agentsFunc struct {
	free  func() int
	takes func(hotline.CallbackTask) (bool, time.Duration)
}

func (a agentsFunc) Free() int { return a.free() }
func (a agentsFunc) Takes(t hotline.CallbackTask) (bool, time.Duration) {
	return a.takes(t)
}

// With thousands of open tasks, claims follow free agents: none while no
// agent is free (the queue is not even read), at most one per free agent
// and round otherwise, and tasks no free agent takes wait in Redis without
// a claim.
func TestClaimsFollowFreeAgentsNotOpenTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 3000
	var free atomic.Int64
	var takes atomic.Bool
	dials := newDialLog()
	s := b.service(finishing(t, dials, "a1", busy))
	s.agents = agentsFunc{
		free:  func() int { return int(free.Load()) },
		takes: func(hotline.CallbackTask) (bool, time.Duration) { return takes.Load(), time.Minute },
	}
	b.clock.Set(at(11, 27, 9, 0))
	for i := range n {
		b.miss(s, fmt.Sprintf("136%08d", i), "a1")
	}
	require.NoError(t, s.Reconcile(b.ctx))

	for range 20 {
		st := s.runOnce(b.ctx)
		require.Zero(t, st.due, "no free agent: the queue is not read")
		require.Zero(t, st.claimed)
		b.clock.Advance(time.Second)
	}
	require.Zero(t, counter(s.m.claimed))

	// Two free agents, but the tasks' responsible agent is busy: a few
	// tasks are read a round and put back for agent_wait, none claimed.
	free.Store(2)
	for range 20 {
		st := s.runOnce(b.ctx)
		require.LessOrEqual(t, st.due, 2*lookahead)
		require.Zero(t, st.claimed)
		b.clock.Advance(time.Second)
	}
	require.Zero(t, counter(s.m.claimed))
	require.LessOrEqual(t, counter(s.m.due.WithLabelValues("redis")), float64(20*2*lookahead))

	// Taken: at most one claim per free agent and round.
	takes.Store(true)
	for range 10 {
		st := s.runOnce(b.ctx)
		require.Equal(t, 2, st.claimed)
		b.clock.Advance(time.Second)
	}
	require.EqualValues(t, 20, dials.total.Load())
	require.Equal(t, 1, dials.maxActive)
}

// A task whose responsible agent declines its dials goes, after
// agent_tries of them, to another agent, and the refusal is recorded
// against the first with the number masked; the citizen is reached.
func TestRefusedTaskIsHandedOverWithTheRefusalOnRecord(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.service(DialerFunc(func(ctx context.Context, task hotline.CallbackTask, lease *Lease) {
		agent, outcome := task.AgentID, hotline.AttemptAgentNoAnswer
		if task.AgentMisses >= 2 { // callbacks.agent_tries
			agent, outcome = "a2", hotline.AttemptConnected
			assertNoError(t, lease.HandOver(ctx, agent), "hand over task %d", task.ID)
		}
		a, err := lease.Start(ctx, agent)
		if !assertNoError(t, err, "start") {
			return
		}
		a.Cause = 17
		assertNoError(t, lease.Finish(ctx, a, outcome), "finish")
	}))
	b.clock.Set(at(11, 26, 10, 0))
	b.miss(s, "13800138000", "a1")
	id := b.openTasks()[0].ID
	for range 3 {
		require.Equal(t, 1, s.runOnce(b.ctx).claimed)
		b.clock.Advance(time.Minute)
	}
	got := b.task(id)
	require.Equal(t, hotline.CallbackConnected, got.State)
	require.Equal(t, "a2", got.AgentID, "the agent who called took the task over")
	require.Len(t, got.AttemptLog, 3)
	violations, err := b.db.ListViolations(b.ctx, store.ViolationFilter{AgentID: "a1"})
	require.NoError(t, err)
	require.Len(t, violations, 1, "one refusal on record, not one per ring")
	v := violations[0]
	require.Equal(t, hotline.ViolationRingDeclined, v.Kind)
	require.Equal(t, id, v.TaskID)
	require.Equal(t, fmt.Sprintf("回访任务 #%d（市民 138****8000）：责任坐席 a1 连续2次未接听回访，已转交坐席 a2。", id), v.Detail)
	require.Equal(t, 1.0, counter(s.m.handovers))
}

// Redis down for a minute during traffic, then back empty: tasks missed
// meanwhile are queued in SQLite, the reminders and escalations due in that
// minute go out from the SQL poll (callback reminders are marked in SQL like
// promise reminders), every task is dialed, and once the index is rebuilt
// nothing goes out a second time.
func TestRedisDownAMinuteLosesNothingAndRepeatsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.allowErrors = true // Redis fails on purpose
	dials := newDialLog()
	later := at(11, 26, 16, 0)
	s := b.service(releasing(t, dials, later))
	pb := &promiseBundle{bundle: b, plogs: &syncBuffer{}}
	w := pb.watch(nil)
	require.NoError(t, b.db.UpsertAgent(b.ctx, hotline.Agent{ID: "s1", Name: "督查 s1", Endpoint: "PJSIP/s1",
		Role: hotline.RoleSupervisor, State: hotline.AgentAvailable, StateSince: b.clock.Now()}))

	// 09:30 Thursday: tasks due at 10:00 and 10:01, a promise due at 10:05.
	b.clock.Set(at(11, 26, 9, 30))
	b.miss(s, "13800000001", "a1")
	b.clock.Set(at(11, 26, 9, 31))
	b.miss(s, "13800000002", "a2")
	p := pb.promise(w, "13900000003", "答复事项", at(11, 26, 10, 5))
	s.runOnce(b.ctx)
	w.runOnce(b.ctx)

	// 09:50 Redis goes down for a minute of traffic; the reminders due at
	// 09:50 and 09:51 and the promise's ten-minute reminder at 09:55 are in it.
	b.redis.Down()
	b.clock.Set(at(11, 26, 9, 50))
	b.miss(s, "13800000004", "a1") // due 10:20
	// rounds runs both engines from one time to another, every step.
	rounds := func(from, to time.Time, step time.Duration) {
		for now := from; !now.After(to); now = now.Add(step) {
			b.clock.Set(now)
			s.runOnce(b.ctx)
			w.runOnce(b.ctx)
		}
	}
	rounds(at(11, 26, 9, 50), at(11, 26, 9, 56), 15*time.Second)
	require.True(t, s.Degraded())
	require.True(t, w.Degraded())
	_, agents := b.notes.snapshot()
	reminders := func(prefix string) int {
		_, agents := b.notes.snapshot()
		n := 0
		for _, a := range agents {
			if strings.Contains(a, prefix) {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, reminders(": 回访任务 #1："), "the due-soon reminder of task 1 went out while Redis was down: %v", agents)
	require.Equal(t, 1, reminders(": 回访任务 #2："))
	require.Equal(t, 2, reminders(fmt.Sprintf("承诺答复提醒 #%d：", p.ID)), "the hour's lead at once (already past), the ten minutes' while Redis was down")

	// Back, empty. The index is rebuilt; the rounds run on past every deadline.
	b.redis.Up()
	b.redis.Flush(b.ctx) // restarted without its data
	rounds(at(11, 26, 9, 57), at(11, 26, 10, 30), 30*time.Second)
	require.False(t, s.Degraded())
	require.False(t, w.Degraded())
	require.Equal(t, 1, reminders(": 回访任务 #1："), "nothing twice after the rebuild")
	require.Equal(t, 1, reminders(": 回访任务 #2："))
	require.Equal(t, 1, reminders(": 回访任务 #3："), "the task missed while Redis was down is reminded too")
	require.Equal(t, 2, reminders(fmt.Sprintf("承诺答复提醒 #%d：", p.ID)), "the promise's two leads, each once")
	supervisors, _ := b.notes.snapshot()
	escalations := map[string]int{}
	for _, text := range supervisors {
		escalations[strings.SplitN(text, "：", 2)[0]]++
	}
	require.Equal(t, map[string]int{"回访超时 #1": 1, "回访超时 #2": 1, "回访超时 #3": 1, fmt.Sprintf("承诺答复超时 #%d", p.ID): 1}, escalations)
	for _, tk := range b.openTasks() {
		require.Positive(t, dials.count(tk.ID), "task %d was dialed", tk.ID)
	}
	require.Equal(t, 1, dials.maxActive)
}

// holding is a dialer that keeps every lease it is given, counting dials.
func holding(log *dialLog) Dialer {
	return DialerFunc(func(_ context.Context, task hotline.CallbackTask, _ *Lease) { log.begin(task.ID) })
}

// Running, two instances read each next batch while they claim the last
// (full batches back to back): every due task is claimed and dialed once,
// by one of them.
func TestPipelinedRoundsClaimEachTaskOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 11
	dials := newDialLog()
	small := func(c *Config) { c.BatchSize = 2; c.Tick = 10 * time.Millisecond }
	s1, s2 := b.service(holding(dials), small), b.service(holding(dials), small)
	b.clock.Set(at(11, 27, 9, 0))
	for i := range n {
		b.miss(s1, fmt.Sprintf("137%08d", i), "a1")
	}
	s1.Start(b.ctx)
	s2.Start(b.ctx)
	require.Eventually(t, func() bool { return dials.total.Load() >= n }, 10*time.Second, time.Millisecond)
	s1.Stop()
	s2.Stop()
	open := b.openTasks()
	require.Len(t, open, n)
	for _, task := range open {
		require.Equal(t, hotline.CallbackDialing, task.State, "task %d", task.ID)
		require.Equal(t, 1, dials.count(task.ID), "task %d", task.ID)
	}
	require.EqualValues(t, n, dials.total.Load())
	require.Equal(t, 1, dials.maxActive)
}

// A batch read ahead for a round that does not run (the instance went on
// standby meanwhile) goes back to the queue, due at once, instead of
// waiting out the visibility timeout; the batch before it is claimed.
func TestBatchReadAheadIsPutBackOnStandby(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dials := newDialLog()
	var asked atomic.Int64
	s := b.serviceWith(holding(dials), func(d *Deps) { d.Active = func() bool { return asked.Add(1) == 1 } },
		func(c *Config) { c.BatchSize = 2 })
	b.clock.Set(at(11, 27, 9, 0))
	for i := range 5 {
		b.miss(s, fmt.Sprintf("138%08d", i), "a1")
	}
	st := s.round(b.ctx, s, true)
	require.Equal(t, 2, st.claimed)
	require.False(t, st.more)
	require.EqualValues(t, 2, asked.Load(), "asked before the round and before the batch read ahead")
	queued := 0
	for _, task := range b.openTasks() {
		due, ok, err := s.Index().Due(b.ctx, task.ID)
		require.NoError(t, err)
		if task.State == hotline.CallbackPending {
			require.True(t, ok, "task %d is queued", task.ID)
			require.True(t, due.Equal(b.clock.Now()), "task %d due at once, got %s", task.ID, due)
			queued++
		}
	}
	require.Equal(t, 3, queued)
	require.EqualValues(t, 2, dials.total.Load())
}

// Running, two watches read each next batch of overdue promises while they
// escalate the last: each is escalated once, with one violation.
func TestPipelinedRoundsEscalateEachPromiseOnce(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	const n = 7
	small := func(c *PromiseConfig) { c.BatchSize = 2; c.Tick = 10 * time.Millisecond }
	w1, w2 := pb.watch(nil, small), pb.watch(nil, small)
	pb.clock.Set(at(11, 27, 9, 0))
	ids := make([]int64, n)
	for i := range n {
		ids[i] = pb.promise(w1, fmt.Sprintf("139%08d", i), "社保转移进度", at(11, 27, 9, 30)).ID
	}
	pb.clock.Set(at(11, 27, 10, 0))
	w1.Start(pb.ctx)
	w2.Start(pb.ctx)
	escalated := func() float64 { return counter(w1.metrics.escalations) + counter(w2.metrics.escalations) }
	require.Eventually(t, func() bool { return escalated() >= n }, 10*time.Second, time.Millisecond)
	w1.Stop()
	w2.Stop()
	require.EqualValues(t, n, escalated())
	for _, id := range ids {
		require.Equal(t, hotline.PromiseEscalated, pb.get(id).State, "promise %d", id)
	}
	vs, err := pb.db.ListViolations(pb.ctx, store.ViolationFilter{Limit: store.MaxListLimit})
	require.NoError(t, err)
	require.Len(t, vs, n, "one violation a promise")
}
