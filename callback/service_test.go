package callback

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
)

// never is a dialer for tests that must not dial.
func never(t *testing.T) Dialer {
	return DialerFunc(func(_ context.Context, task hotline.CallbackTask, _ *Lease) {
		t.Errorf("task %d dialed", task.ID)
	})
}

// releasing gives every task back, due again at next.
func releasing(t *testing.T, log *dialLog, next time.Time) Dialer {
	return DialerFunc(func(ctx context.Context, task hotline.CallbackTask, lease *Lease) {
		log.begin(task.ID)
		defer log.end(task.ID)
		assertNoError(t, lease.Release(ctx, next), "release task %d", task.ID)
	})
}

func busy(int64) hotline.AttemptOutcome { return hotline.AttemptBusy }

func TestMissedCallBecomesTaskWithWorkingTimeDeadline(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.service(never(t))

	// Friday 16:50, ten minutes before closing: 30 working minutes end
	// Monday 08:50; the first attempt is due at once, the line being open.
	b.clock.Set(at(11, 27, 16, 50))
	b.miss(s, "13800138000", "a1")
	tasks := b.openTasks()
	require.Len(t, tasks, 1)
	task := b.task(tasks[0].ID)
	require.Equal(t, hotline.CallbackPending, task.State)
	require.Equal(t, "a1", task.AgentID, "the agent the call was offered to")
	require.Equal(t, 1, task.MissedCount)
	require.True(t, task.Deadline.Equal(at(11, 30, 8, 50)), "deadline %s", task.Deadline.In(shanghai))
	require.True(t, task.NextAttempt.Equal(at(11, 27, 16, 50)), "due %s", task.NextAttempt.In(shanghai))
	due, ok, err := s.Index().Due(b.ctx, task.ID)
	require.NoError(t, err)
	require.True(t, ok, "indexed in Redis")
	require.True(t, due.Equal(task.NextAttempt))
	require.Equal(t, 1.0, counter(s.m.tasks.WithLabelValues("created")))

	// Missed after hours: due when the line opens, deadline 30 working
	// minutes later.
	b.clock.Set(at(11, 27, 18, 0))
	b.miss(s, "13900000002", "")
	task = b.openTasks()[1]
	require.Empty(t, task.AgentID, "nobody was offered the call")
	require.True(t, task.NextAttempt.Equal(at(11, 30, 8, 30)), "due %s", task.NextAttempt.In(shanghai))
	require.True(t, task.Deadline.Equal(at(11, 30, 9, 0)), "deadline %s", task.Deadline.In(shanghai))

	// A citizen whose earlier call a2 answered is a2's, whoever was rung.
	prev := hotline.Call{ID: "prev", ChannelID: "chan-prev", CallerRaw: "13700000003", CallerNumber: "13700000003",
		DialedNumber: "12345", Line: hotline.LineHotline, State: hotline.CallCompleted, FirstResponsibleAgent: "a2",
		ArrivedAt: at(11, 26, 9, 0), AnsweredAt: at(11, 26, 9, 0), EndedAt: at(11, 26, 9, 5)}
	require.NoError(t, b.db.CreateCall(b.ctx, prev))
	b.miss(s, "13700000003", "a1")
	var sticky hotline.CallbackTask
	for _, tk := range b.openTasks() {
		if tk.Number == "13700000003" {
			sticky = tk
		}
	}
	require.Equal(t, "a2", sticky.AgentID, "the responsible agent of the citizen's matter")
}

func TestThreeMissedCallsMergeIntoOneTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.service(never(t))
	for range 3 {
		b.miss(s, "13800138000", "a1")
		b.clock.Advance(5 * time.Minute)
	}
	tasks := b.openTasks()
	require.Len(t, tasks, 1)
	task := b.task(tasks[0].ID)
	require.Equal(t, 3, task.MissedCount)
	require.Len(t, task.CallIDs, 3)
	require.True(t, task.FirstMissed.Equal(at(11, 27, 10, 0)))
	require.True(t, task.Deadline.Equal(at(11, 27, 10, 30)), "the first miss's deadline holds")
	require.Equal(t, 1.0, counter(s.m.tasks.WithLabelValues("created")))
	require.Equal(t, 2.0, counter(s.m.tasks.WithLabelValues("merged")))
	size, err := s.Index().Size(b.ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, size)
}

func TestWithheldNumberIsReportedAndQueuesNoTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.service(never(t))
	call := b.missedCall("", "anonymous")
	require.NoError(t, s.MissedCall(b.ctx, call, "a1"))
	require.Equal(t, 1.0, counter(s.m.uncallable))
	require.Empty(t, b.openTasks())
	logs := b.logs.String()
	require.Contains(t, logs, "missed call cannot be called back")
	require.Contains(t, logs, `"call":"`+call.ID+`"`)
	require.Contains(t, logs, `"caller_raw":"anonymous"`)
	// The call stays on record, missed and without a number, for review.
	got, err := b.db.GetCall(b.ctx, call.ID)
	require.NoError(t, err)
	require.Equal(t, hotline.CallMissed, got.State)
	require.Empty(t, got.CallerNumber)
}

func TestDueTasksAreDialedOnlyInWorkingHours(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dials := newDialLog()
	s := b.service(finishing(t, dials, "a1", busy))

	b.clock.Set(at(11, 27, 7, 0)) // Friday, before opening
	b.miss(s, "13800138000", "a1")
	id := b.openTasks()[0].ID
	require.Zero(t, s.runOnce(b.ctx).due, "closed: nothing is due before 08:30")

	// Due at 08:30 but the line closes at 17:00 before anyone runs: the task
	// waits through the evening and the weekend.
	for _, now := range []time.Time{at(11, 27, 17, 0), at(11, 27, 20, 0), at(11, 28, 10, 0), at(11, 29, 16, 0), at(11, 30, 8, 29)} {
		b.clock.Set(now)
		st := s.runOnce(b.ctx)
		require.Zero(t, st.due+st.claimed, "at %s", now)
	}
	require.Zero(t, dials.count(id))
	got := b.task(id)
	require.Equal(t, hotline.CallbackPending, got.State)

	b.clock.Set(at(11, 30, 8, 30)) // Monday, opening
	st := s.runOnce(b.ctx)
	require.Equal(t, 1, st.claimed)
	require.Equal(t, 1, dials.count(id))
	got = b.task(id)
	require.Equal(t, hotline.CallbackPending, got.State)
	require.Equal(t, 1, got.Attempts)
	require.Len(t, got.AttemptLog, 1)
	require.Equal(t, hotline.AttemptBusy, got.AttemptLog[0].Outcome)
	require.True(t, got.NextAttempt.Equal(at(11, 30, 8, 40)), "busy retries 10 working minutes later: %s", got.NextAttempt.In(shanghai))
	due, ok, err := s.Index().Due(b.ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, due.Equal(got.NextAttempt), "the index follows the next attempt")

	b.clock.Set(at(11, 30, 8, 39))
	require.Zero(t, s.runOnce(b.ctx).claimed)
	b.clock.Set(at(11, 30, 8, 40))
	require.Equal(t, 1, s.runOnce(b.ctx).claimed)
	require.Equal(t, 2, dials.count(id))
	require.Equal(t, 2.0, counter(s.m.attempts.WithLabelValues(string(hotline.AttemptBusy))))
}

func TestTwoInstancesDialEachOfAThousandTasksOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 1000
	dials := newDialLog()
	outcome := func(id int64) hotline.AttemptOutcome {
		if id%2 == 0 {
			return hotline.AttemptAgentNoAnswer
		}
		return hotline.AttemptBusy
	}
	// An agent's miss waits a minute before the next try (not handed over at once).
	twoTries := func(c *Config) { c.AgentTries = 2 }
	one := b.service(finishing(t, dials, "a1", outcome), twoTries)
	two := b.service(finishing(t, dials, "a2", outcome), twoTries)

	b.clock.Set(at(11, 27, 9, 0))
	for i := range n {
		b.miss(one, fmt.Sprintf("139%08d", i), "")
	}
	require.NoError(t, one.Reconcile(b.ctx))
	require.NoError(t, two.Reconcile(b.ctx))

	var wg sync.WaitGroup
	for _, s := range []instance{one, two} {
		wg.Go(func() {
			for i := 0; i < 10*n && dials.total.Load() < n; i++ {
				s.runOnce(b.ctx)
			}
		})
	}
	wg.Wait()
	// Nothing is due any more: every task waits for its retry.
	require.Zero(t, one.runOnce(b.ctx).claimed+two.runOnce(b.ctx).claimed)

	require.EqualValues(t, n, dials.total.Load())
	require.Equal(t, 1, dials.maxActive, "never two dials of one citizen at once")
	claimed := counter(one.m.claimed) + counter(two.m.claimed)
	require.EqualValues(t, n, claimed)
	require.Positive(t, counter(one.m.claimed), "both instances took work")
	require.Positive(t, counter(two.m.claimed), "both instances took work")
	var tasks []hotline.CallbackTask
	for _, st := range []hotline.CallbackState{hotline.CallbackPending} {
		for off := 0; ; off += store.MaxListLimit {
			page, err := b.db.ListTasks(b.ctx, store.TaskFilter{State: st, Limit: store.MaxListLimit, Offset: off})
			require.NoError(t, err)
			tasks = append(tasks, page...)
			if len(page) < store.MaxListLimit {
				break
			}
		}
	}
	require.Len(t, tasks, n, "all pending again, waiting for a retry")
	for _, tk := range tasks {
		require.Equal(t, 1, dials.count(tk.ID), "task %d", tk.ID)
		got := b.task(tk.ID)
		require.Len(t, got.AttemptLog, 1, "task %d", tk.ID)
		a := got.AttemptLog[0]
		require.Equal(t, outcome(tk.ID), a.Outcome, "task %d", tk.ID)
		require.False(t, a.EndedAt.IsZero())
		require.Contains(t, []string{"a1", "a2"}, a.AgentID)
		if a.Outcome == hotline.AttemptBusy {
			require.Equal(t, 1, got.Attempts, "busy counts against the citizen")
		} else {
			require.Zero(t, got.Attempts, "the agent not answering does not")
		}
	}
}

func TestFlushedRedisLosesNoTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dials := newDialLog()
	s := b.service(finishing(t, dials, "a1", busy))
	b.clock.Set(at(11, 27, 7, 0))
	numbers := []string{"13800000001", "13800000002", "13800000003", "13800000004", "13800000005"}
	for _, n := range numbers {
		b.miss(s, n, "a1")
	}
	s.runOnce(b.ctx) // builds the index; the line is closed

	b.redis.Flush(b.ctx)
	size, err := s.Index().Size(b.ctx)
	require.NoError(t, err)
	require.Zero(t, size)
	require.NoError(t, s.Reconcile(b.ctx))
	for _, tk := range b.openTasks() {
		due, ok, err := s.Index().Due(b.ctx, tk.ID)
		require.NoError(t, err)
		require.True(t, ok, "task %d is back", tk.ID)
		require.True(t, due.Equal(tk.NextAttempt))
	}

	// Flushed again with nobody reconciling: the next round notices the
	// index is gone, rebuilds it and dials every task.
	b.redis.Flush(b.ctx)
	b.clock.Set(at(11, 27, 8, 30))
	st := s.runOnce(b.ctx)
	require.Equal(t, len(numbers), st.claimed)
	for _, tk := range b.openTasks() {
		require.Equal(t, 1, dials.count(tk.ID))
	}
}

func TestRedisDownFallsBackToTheSQLPollAndRecovers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.allowErrors = true
	dials := newDialLog()
	s := b.service(finishing(t, dials, "a1", busy))
	b.clock.Set(at(11, 27, 7, 0))
	b.miss(s, "13800000001", "a1")
	s.runOnce(b.ctx)
	require.False(t, s.Degraded())

	b.redis.Down()
	// A missed call while Redis is down is still queued: SQLite is the truth.
	b.miss(s, "13800000002", "a1")
	require.True(t, s.Degraded(), "the failed index write was noticed")
	require.Equal(t, 1.0, counter(s.metrics.degraded))
	require.Len(t, b.openTasks(), 2)

	b.clock.Set(at(11, 27, 8, 30))
	st := s.runOnce(b.ctx)
	require.Equal(t, "sql", st.source)
	require.Equal(t, 2, st.claimed, "the slow SQL poll keeps dialing")
	require.True(t, s.Degraded())
	// One more missed call, due at once; the poll finds it too.
	b.miss(s, "13800000003", "a2")
	st = s.runOnce(b.ctx)
	require.Equal(t, 1, st.claimed)
	require.EqualValues(t, 3, dials.total.Load())

	b.redis.Up()
	st = s.runOnce(b.ctx)
	require.False(t, s.Degraded(), "recovered by itself")
	require.Equal(t, 0.0, counter(s.metrics.degraded))
	require.Equal(t, "redis", st.source)
	// The rebuild put back what was missed while Redis was down.
	for _, tk := range b.openTasks() {
		due, ok, err := s.Index().Due(b.ctx, tk.ID)
		require.NoError(t, err)
		require.True(t, ok, "task %d indexed again", tk.ID)
		require.True(t, due.Equal(tk.NextAttempt), "task %d", tk.ID)
	}
	b.clock.Set(at(11, 27, 8, 41))
	require.Equal(t, 3, s.runOnce(b.ctx).claimed, "retries come from Redis again")
	require.Positive(t, counter(s.m.due.WithLabelValues("sql")))
	require.Positive(t, counter(s.m.due.WithLabelValues("redis")))
}

// probeFunc adapts a function to Probe.
type probeFunc func(ctx context.Context, a hotline.CallbackAttempt) (bool, error)

func (f probeFunc) AttemptLive(ctx context.Context, a hotline.CallbackAttempt) (bool, error) {
	return f(ctx, a)
}

// A dialer killed mid-dial leaves its attempt active. Once the lease has
// run out the task is settled: while Asterisk still has the attempt's
// channels (citizen and agent talking on without us) it waits, never dialed
// a second time; once they are gone the attempt ends and the task is due
// again, as a failure of ours that does not count against the citizen.
func TestTaskOfAKilledDialerIsSettledAfterTheLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var lost *Lease
	// The first process claims the task, starts the attempt and dies.
	killed := b.service(DialerFunc(func(ctx context.Context, task hotline.CallbackTask, lease *Lease) {
		_, err := lease.Start(ctx, "a1")
		assertNoError(t, err, "start")
		lost = lease
	}))
	b.miss(killed, "13800138000", "a1")
	require.Equal(t, 1, killed.runOnce(b.ctx).claimed)
	require.NotNil(t, lost)
	id := lost.TaskID()

	dials := newDialLog()
	var live atomic.Bool
	live.Store(true)
	var asked atomic.Int32
	survivor := b.service(finishing(t, dials, "a2", busy), func(c *Config) {})
	survivor.probe = probeFunc(func(_ context.Context, a hotline.CallbackAttempt) (bool, error) {
		asked.Add(1)
		require.Equal(t, id, a.TaskID)
		return live.Load(), nil
	})
	b.clock.Advance(time.Minute)
	st := survivor.runOnce(b.ctx)
	require.Zero(t, st.claimed+st.settled, "the lease still holds")
	require.Zero(t, asked.Load(), "nobody asks Asterisk while the lease holds")

	b.clock.Advance(time.Minute + time.Second) // past the 2m lease
	st = survivor.runOnce(b.ctx)
	require.Zero(t, st.claimed+st.settled, "the call goes on in Asterisk: no second dial")
	require.EqualValues(t, 1, asked.Load())
	require.Equal(t, hotline.CallbackDialing, b.task(id).State)
	due, ok, err := survivor.Index().Due(b.ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, due.Equal(b.clock.Now().Add(2*time.Minute)), "asked again a lease later, not every round")
	require.Zero(t, survivor.runOnce(b.ctx).settled)

	live.Store(false)
	b.clock.Advance(2 * time.Minute)
	st = survivor.runOnce(b.ctx)
	require.Equal(t, 1, st.settled)
	require.Zero(t, st.claimed, "settled first, dialed at its next attempt")
	got := b.task(id)
	require.Equal(t, hotline.CallbackPending, got.State)
	require.Zero(t, got.Attempts, "our failure does not count against the citizen")
	require.Len(t, got.AttemptLog, 1)
	require.Equal(t, hotline.AttemptFailed, got.AttemptLog[0].Outcome, "the dead dialer's attempt ended as failed")
	require.Equal(t, 1.0, counter(survivor.m.settled.WithLabelValues("failed")))

	b.clock.Advance(time.Minute)
	require.Equal(t, 1, survivor.runOnce(b.ctx).claimed)
	require.Equal(t, 1, dials.count(id))
	got = b.task(id)
	require.Len(t, got.AttemptLog, 2)
	require.Equal(t, hotline.AttemptBusy, got.AttemptLog[1].Outcome)

	// The dead dialer's lease is fenced off: it changes nothing.
	err = lost.Finish(b.ctx, got.AttemptLog[0], hotline.AttemptConnected)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.Equal(t, hotline.CallbackPending, b.task(id).State)
}

// A restarted service settles at start what it left mid-dial: an attempt
// that had bridged the citizen with the agent connected.
func TestStartSettlesAnAttemptLeftBridged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	killed := b.service(DialerFunc(func(ctx context.Context, task hotline.CallbackTask, lease *Lease) {
		a, err := lease.Start(ctx, "a1")
		assertNoError(t, err, "start")
		a.AgentAnsweredAt, a.CitizenAnsweredAt = b.clock.Now(), b.clock.Now()
		a.ApologyFinishedAt, a.BridgedAt = b.clock.Now(), b.clock.Now()
		assertNoError(t, lease.Update(ctx, a), "update")
	}))
	b.miss(killed, "13800138000", "a1")
	require.Equal(t, 1, killed.runOnce(b.ctx).claimed)
	id := b.openTasks()[0].ID

	b.clock.Advance(3 * time.Minute)
	restarted := b.service(never(t))
	require.NoError(t, restarted.Reconcile(b.ctx))
	got := b.task(id)
	require.Equal(t, hotline.CallbackConnected, got.State, "the citizen was reached and heard the apology")
	require.Equal(t, hotline.AttemptConnected, got.AttemptLog[0].Outcome)
	_, ok, err := restarted.Index().Due(b.ctx, id)
	require.NoError(t, err)
	require.False(t, ok, "a closed task leaves the index")
	require.Zero(t, restarted.runOnce(b.ctx).claimed)
}

func TestOverdueTaskEscalatesOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dials := newDialLog()
	later := at(11, 27, 15, 0)
	one := b.service(releasing(t, dials, later))
	two := b.service(releasing(t, dials, later))
	b.clock.Set(at(11, 27, 10, 0))
	b.miss(one, "13800138000", "a1")
	b.clock.Set(at(11, 27, 10, 5))
	b.miss(one, "13800138000", "a1")
	id := b.openTasks()[0].ID
	one.runOnce(b.ctx)

	b.clock.Set(at(11, 27, 10, 30)) // the deadline
	var wg sync.WaitGroup
	for _, s := range []instance{one, two} {
		wg.Go(func() { s.runOnce(b.ctx) })
	}
	wg.Wait()
	one.runOnce(b.ctx)
	two.runOnce(b.ctx)

	require.Equal(t, 1.0, counter(one.metrics.escalations)+counter(two.metrics.escalations))
	supervisors, agents := b.notes.snapshot()
	require.Equal(t, []string{"回访超时 #" + itoa(id) + "：13800138000 于 11月27日 10:00 来电未接（共2次），" +
		"回电期限 11月27日 10:30 已过，仍未回访成功（已尝试0次），责任人 a1，请督办。"}, supervisors)
	require.Len(t, agents, 2, "the creation push, then one overdue push")
	require.True(t, strings.HasPrefix(agents[0], "a1: 新回访任务 #"+itoa(id)), agents[0])
	require.True(t, strings.HasPrefix(agents[1], "a1: 回访任务 #"+itoa(id)+" 已超时"), agents[1])
	violations, err := b.db.ListViolations(b.ctx, store.ViolationFilter{AgentID: "a1"})
	require.NoError(t, err)
	require.Len(t, violations, 1)
	require.Equal(t, hotline.ViolationCallbackOverdue, violations[0].Kind)
	require.Equal(t, id, violations[0].TaskID)
	require.NotEmpty(t, violations[0].CallID)
	require.False(t, b.task(id).EscalatedAt.IsZero())
}

func TestDueSoonReminderIsSentOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dials := newDialLog()
	later := at(11, 26, 15, 0)
	s := b.service(releasing(t, dials, later))
	b.clock.Set(at(11, 26, 10, 0)) // Thursday
	b.miss(s, "13800138000", "a1")
	b.clock.Set(at(11, 26, 10, 5))
	b.miss(s, "13800138000", "a2")
	id := b.openTasks()[0].ID
	s.runOnce(b.ctx)

	b.clock.Set(at(11, 26, 10, 19)) // 11 working minutes left
	require.Zero(t, s.runOnce(b.ctx).reminded)
	b.clock.Set(at(11, 26, 10, 20))
	require.Equal(t, 1, s.runOnce(b.ctx).reminded)
	b.clock.Set(at(11, 26, 10, 21))
	require.Zero(t, s.runOnce(b.ctx).reminded)
	// Another instance, and this one restarted: no second reminder.
	require.Zero(t, b.service(never(t)).runOnce(b.ctx).reminded)
	require.Zero(t, b.service(never(t)).runOnce(b.ctx).reminded)

	_, agents := b.notes.snapshot()
	require.Equal(t, []string{
		"a1: 新回访任务 #" + itoa(id) + "：13800138000 于 11月26日 10:00 来电未接（共1次），请在 11月26日 10:30 前回电并致歉。",
		"a1: 回访任务 #" + itoa(id) + "：13800138000 于 11月26日 10:00 来电未接（共2次），请在 11月26日 10:30 前回电并致歉。",
	}, agents, "pushed when created and when due soon; a merged miss pushes nothing")
}

func TestInboundAnswerResolvesTheTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.service(never(t))
	b.clock.Set(at(11, 27, 7, 0))
	b.miss(s, "13800138000", "a1")
	id := b.openTasks()[0].ID
	require.NoError(t, s.Answered(b.ctx, "13800138000", "c-inbound"))
	require.Equal(t, hotline.CallbackResolved, b.task(id).State)
	_, ok, err := s.Index().Due(b.ctx, id)
	require.NoError(t, err)
	require.False(t, ok, "left the index")
	b.clock.Set(at(11, 27, 9, 0))
	require.Zero(t, s.runOnce(b.ctx).claimed)
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestTwoInstancesOnTheSQLPollNeverDialATaskTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.allowErrors = true // Redis is down on purpose
	const n = 300
	dials := newDialLog()
	one := b.service(finishing(t, dials, "a1", busy))
	two := b.service(finishing(t, dials, "a2", busy))
	b.clock.Set(at(11, 27, 9, 0))
	for i := range n {
		b.miss(one, fmt.Sprintf("137%08d", i), "")
	}
	b.redis.Down()
	// Both poll SQLite and see the same due ids: only the claim decides.
	var wg sync.WaitGroup
	for _, s := range []instance{one, two} {
		wg.Go(func() {
			for i := 0; i < 10*n && dials.total.Load() < n; i++ {
				s.runOnce(b.ctx)
			}
		})
	}
	wg.Wait()
	require.True(t, one.Degraded())
	require.True(t, two.Degraded())
	require.EqualValues(t, n, dials.total.Load())
	require.Equal(t, 1, dials.maxActive)
	for _, tk := range b.openTasks() {
		require.Equal(t, 1, dials.count(tk.ID), "task %d", tk.ID)
	}
	t.Logf("claims %v + %v, conflicts %v + %v", counter(one.m.claimed), counter(two.m.claimed),
		counter(one.m.conflicts), counter(two.m.conflicts))
}

func TestLeaseExtendUpdateAndEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var lease *Lease
	var task hotline.CallbackTask
	s := b.service(DialerFunc(func(_ context.Context, tk hotline.CallbackTask, l *Lease) { task, lease = tk, l }))
	b.miss(s, "13800138000", "")
	require.Equal(t, 1, s.runOnce(b.ctx).claimed)
	require.NotNil(t, lease)
	require.Empty(t, task.AgentID)
	require.True(t, lease.Until().Equal(b.clock.Now().Add(2*time.Minute)))

	a, err := lease.Start(b.ctx, "a2")
	require.NoError(t, err)
	require.Equal(t, "a2", b.task(task.ID).AgentID, "the agent who makes the call becomes responsible")
	b.clock.Advance(90 * time.Second)
	require.NoError(t, lease.Extend(b.ctx))
	until := b.clock.Now().Add(2 * time.Minute)
	require.True(t, lease.Until().Equal(until))
	require.True(t, b.task(task.ID).LeaseUntil.Equal(until))
	due, ok, err := s.Index().Due(b.ctx, task.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, due.Equal(until), "due again only if the lease runs out")

	a.AgentAnsweredAt = b.clock.Now()
	a.CitizenAnsweredAt = b.clock.Now().Add(5 * time.Second)
	a.ApologyFinishedAt = b.clock.Now().Add(12 * time.Second)
	a.BridgedAt = b.clock.Now().Add(13 * time.Second)
	require.NoError(t, lease.Update(b.ctx, a))
	b.clock.Advance(time.Minute)
	require.NoError(t, lease.Finish(b.ctx, a, hotline.AttemptConnected))
	got := b.task(task.ID)
	require.Equal(t, hotline.CallbackConnected, got.State)
	require.True(t, got.AttemptLog[0].ApologyFinishedAt.Before(got.AttemptLog[0].BridgedAt))
	_, ok, err = s.Index().Due(b.ctx, task.ID)
	require.NoError(t, err)
	require.False(t, ok, "a closed task leaves the index")
	for _, err := range []error{lease.Extend(b.ctx), lease.Release(b.ctx, time.Time{}), lease.Finish(b.ctx, a, hotline.AttemptBusy)} {
		require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	}
}

func TestStartRunsAndStopEnds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.service(never(t), func(c *Config) { c.Tick = 10 * time.Millisecond })
	s.Stop() // before Start: nothing to stop
	s.Start(b.ctx)
	s.Stop()
}

func TestBusyCitizenIsRetriedAfterTheBackoffThenUnreachable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dials := newDialLog()
	s := b.service(finishing(t, dials, "a1", func(int64) hotline.AttemptOutcome { return hotline.AttemptBusy }))
	b.clock.Set(at(11, 26, 10, 0)) // Thursday
	b.miss(s, "13800138000", "a1")
	id := b.openTasks()[0].ID

	for attempt := 1; attempt <= 3; attempt++ {
		require.Equal(t, 1, s.runOnce(b.ctx).claimed, "attempt %d", attempt)
		require.Eventually(t, func() bool { return b.task(id).State != hotline.CallbackDialing }, 5*time.Second, time.Millisecond)
		task := b.task(id)
		require.Equal(t, attempt, task.Attempts)
		if attempt < 3 {
			require.Equal(t, hotline.CallbackPending, task.State)
			require.True(t, task.NextAttempt.Equal(b.clock.Now().Add(10*time.Minute)), "retry after the 10 working minutes of backoff, got %s", task.NextAttempt)
			require.Zero(t, s.runOnce(b.ctx).claimed, "not before the backoff")
			b.clock.Set(task.NextAttempt)
		}
	}
	task := b.task(id)
	require.Equal(t, hotline.CallbackUnreachable, task.State, "three failures make the task unreachable, for a supervisor")
	require.Len(t, task.AttemptLog, 3)
	b.clock.Advance(time.Hour)
	require.Zero(t, s.runOnce(b.ctx).claimed, "an unreachable task is not dialed again")
	require.Equal(t, 3, dials.count(id))
}
