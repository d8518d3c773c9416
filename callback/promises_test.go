package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
)

// The real store and calendar are what the watch is written against.
var (
	_ PromiseStore = (*store.DB)(nil)
	_ Calendar     = (*hotline.Calendar)(nil)
)

// promiseBundle is the callback test world (setup) with a log of the
// promise watches' own, checked the same way.
type promiseBundle struct {
	*bundle
	plogs *syncBuffer
}

func setupPromises(t *testing.T) *promiseBundle {
	t.Helper()
	pb := &promiseBundle{bundle: setup(t), plogs: &syncBuffer{}}
	require.NoError(t, pb.db.UpsertAgent(pb.ctx, hotline.Agent{ID: "s1", Name: "督查 s1", Endpoint: "PJSIP/s1",
		Role: hotline.RoleSupervisor, State: hotline.AgentAvailable, StateSince: pb.clock.Now()}))
	t.Cleanup(func() {
		if pb.allowErrors {
			return
		}
		for _, line := range strings.Split(pb.plogs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) &&
				!strings.Contains(line, "promise overdue: escalated") && !strings.Contains(line, "promise index is gone") {
				t.Errorf("unexpected log: %s", line)
			}
		}
	})
	return pb
}

// watcher is one watch instance with its own database handle, Redis
// client and metrics, sharing the test's database file and Redis.
type watcher struct {
	*PromiseWatch
	reg *prometheus.Registry
}

func (pb *promiseBundle) watch(notifier Notifier, configure ...func(*PromiseConfig)) watcher {
	pb.t.Helper()
	return pb.watchWith(notifier, nil, configure...)
}

// watchWith is watch with Common.Active set to active.
func (pb *promiseBundle) watchWith(notifier Notifier, active func() bool, configure ...func(*PromiseConfig)) watcher {
	pb.t.Helper()
	cfg := PromiseConfig{EngineConfig: EngineConfig{KeyPrefix: pb.redis.prefix}}
	for _, c := range configure {
		c(&cfg)
	}
	if notifier == nil {
		notifier = pb.notes.notifier()
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewJSONHandler(pb.plogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := NewPromiseWatch(cfg, PromiseDeps{Store: pb.openStore(), Common: Common{Redis: pb.redis.client(), Calendar: pb.cal,
		Notifier: notifier, Log: log, Now: pb.clock.Now, Registry: reg, Active: active}})
	require.NoError(pb.t, err)
	return watcher{PromiseWatch: w, reg: reg}
}

// promise stores an answered call from number (a1 answered it) and a
// promise on it made now, due at deadline, and tracks it with w.
func (pb *promiseBundle) promise(w watcher, number, summary string, deadline time.Time) hotline.Promise {
	pb.t.Helper()
	now := pb.clock.Now()
	id := fmt.Sprintf("c%d", pb.calls.Add(1))
	call := hotline.Call{ID: id, ChannelID: "chan-" + id, CallerRaw: number, CallerNumber: number, DialedNumber: "12345",
		Line: hotline.LineHotline, State: hotline.CallCompleted, FirstResponsibleAgent: "a1",
		ArrivedAt: now.Add(-5 * time.Minute), AnsweredAt: now.Add(-5 * time.Minute), EndedAt: now}
	require.NoError(pb.t, pb.db.CreateCall(pb.ctx, call))
	p, err := pb.db.CreatePromise(pb.ctx, hotline.Promise{CallID: id, Summary: summary, Deadline: deadline,
		CreatedAt: now, CreatedBy: "a2"})
	require.NoError(pb.t, err)
	require.Equal(pb.t, "a1", p.AgentID, "the call's first-responsible agent owns it")
	if err := w.Track(pb.ctx, p); err != nil {
		require.True(pb.t, w.Degraded(), "a Redis failure switches to the SQL poll: %v", err)
	}
	return p
}

func (pb *promiseBundle) get(id int64) hotline.Promise {
	pb.t.Helper()
	p, err := pb.db.GetPromise(pb.ctx, id)
	require.NoError(pb.t, err)
	return p
}

// sent returns the texts pushed to agents ("agent: text") and supervisors
// that start with prefix.
func (pb *promiseBundle) sent(prefix string) (agents, supervisors []string) {
	sup, ag := pb.notes.snapshot()
	for _, a := range ag {
		if _, text, _ := strings.Cut(a, ": "); strings.HasPrefix(text, prefix) {
			agents = append(agents, a)
		}
	}
	for _, s := range sup {
		if strings.HasPrefix(s, prefix) {
			supervisors = append(supervisors, s)
		}
	}
	return agents, supervisors
}

func (pb *promiseBundle) reminders(id int64) []string {
	agents, _ := pb.sent(fmt.Sprintf("承诺答复提醒 #%d：", id))
	return agents
}

// entry is the due time of promise id's index entry (its next reminder or
// escalation), if any.
func (pb *promiseBundle) entry(w watcher, id int64) (time.Time, bool) {
	pb.t.Helper()
	due, ok, err := w.Index().Due(pb.ctx, id)
	require.NoError(pb.t, err)
	return due, ok
}

func requireAt(t *testing.T, want, got time.Time, msgAndArgs ...any) {
	t.Helper()
	require.True(t, want.Equal(got), "want %s, got %s %v", want.In(shanghai), got.In(shanghai), fmt.Sprint(msgAndArgs...))
}

func TestPromiseRemindersFireAtWorkingLeadTimesAcrossRestarts(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	w := pb.watch(nil)
	// Friday 09:00, due in 2 working days: Tuesday 09:00. One working hour
	// before is Monday 16:30 (Tuesday 08:30-09:00, then Monday until
	// 17:00); ten working minutes before is Tuesday 08:50.
	pb.clock.Set(at(11, 27, 9, 0))
	w.runOnce(pb.ctx) // the first round builds the index
	deadline := pb.cal.AddWorkingDays(pb.clock.Now(), 2)
	requireAt(t, at(12, 1, 9, 0), deadline)
	p := pb.promise(w, "13800138000", "社保转移进度", deadline)
	// Due Monday 08:40: its hour before starts Friday 16:10, over the weekend.
	q := pb.promise(w, "13900000002", "公积金提取", at(11, 30, 8, 40))

	// Each is indexed at its next event: its first reminder.
	for id, want := range map[int64]time.Time{p.ID: at(11, 30, 16, 30), q.ID: at(11, 27, 16, 10)} {
		due, ok := pb.entry(w, id)
		require.True(t, ok, "promise %d indexed", id)
		requireAt(t, want, due, "promise ", id)
	}

	pb.clock.Set(at(11, 27, 16, 9))
	require.Zero(t, w.runOnce(pb.ctx).reminded)
	pb.clock.Set(at(11, 27, 16, 10))
	st := w.runOnce(pb.ctx)
	require.Equal(t, 1, st.reminded)
	require.Equal(t, "redis", st.source)
	require.Equal(t, []string{fmt.Sprintf("a1: 承诺答复提醒 #%d：市民 13900000002（来电 %s）「公积金提取」需在 11月30日 08:40 前答复，还剩约1小时。", q.ID, q.CallID)},
		pb.reminders(q.ID))

	// The service restarts over the weekend: a new instance rebuilds the
	// index, and the reminder already sent is not sent again.
	w.Stop()
	w2 := pb.watch(nil)
	w = w2
	pb.clock.Set(at(11, 29, 12, 0))
	require.Zero(t, w.runOnce(pb.ctx).reminded)
	pb.clock.Set(at(11, 30, 8, 30))
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded)
	require.Len(t, pb.reminders(q.ID), 2)
	require.Contains(t, pb.reminders(q.ID)[1], "还剩约10分钟。")
	due, ok := pb.entry(w, q.ID)
	require.True(t, ok)
	requireAt(t, at(11, 30, 8, 40), due, "then its escalation")

	pb.clock.Set(at(11, 30, 16, 29))
	w.runOnce(pb.ctx)
	require.Empty(t, pb.reminders(p.ID), "not before Monday 16:30")
	pb.clock.Set(at(11, 30, 16, 30))
	w.runOnce(pb.ctx)
	require.Equal(t, []string{fmt.Sprintf("a1: 承诺答复提醒 #%d：市民 13800138000（来电 %s）「社保转移进度」需在 12月1日 09:00 前答复，还剩约1小时。", p.ID, p.CallID)},
		pb.reminders(p.ID))

	// Another restart between the two reminders of p.
	w3 := pb.watch(nil)
	w = w3
	pb.clock.Set(at(12, 1, 8, 49))
	w.runOnce(pb.ctx)
	require.Len(t, pb.reminders(p.ID), 1)
	pb.clock.Set(at(12, 1, 8, 50))
	w.runOnce(pb.ctx)
	require.Len(t, pb.reminders(p.ID), 2)
	require.Contains(t, pb.reminders(p.ID)[1], "还剩约10分钟。")
	require.ElementsMatch(t, []time.Duration{time.Hour, 10 * time.Minute}, pb.get(p.ID).RemindersSent)

	pb.clock.Set(at(12, 1, 8, 59))
	w.runOnce(pb.ctx)
	require.Len(t, pb.reminders(p.ID), 2)
	require.Len(t, pb.reminders(q.ID), 2)
	require.Equal(t, 1.0, counter(w2.metrics.reminders.WithLabelValues("1h")), "p's")
	require.Equal(t, 1.0, counter(w2.metrics.reminders.WithLabelValues("10m")), "q's")
	require.Equal(t, 0.0, counter(w3.metrics.reminders.WithLabelValues("1h")))
	require.Equal(t, 1.0, counter(w3.metrics.reminders.WithLabelValues("10m")), "p's")
	due, ok = pb.entry(w, p.ID)
	require.True(t, ok)
	requireAt(t, at(12, 1, 9, 0), due, "past its reminders, p waits for its escalation")
}

func TestPromiseRemindersAndEscalationOnceAcrossTwoInstances(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	w1, w2 := pb.watch(nil), pb.watch(nil)
	pb.clock.Set(at(11, 26, 9, 0))
	const n = 20
	var ids []int64
	for i := range n {
		// Deadlines a minute apart from Friday 10:00.
		p := pb.promise(w1, fmt.Sprintf("139000000%02d", i), "答复事项", at(11, 27, 10, i))
		ids = append(ids, p.ID)
	}
	// Both instances run side by side, minute by minute, past every deadline.
	var rounds sync.WaitGroup
	for now := at(11, 27, 8, 30); !now.After(at(11, 27, 10, 30)); now = now.Add(time.Minute) {
		pb.clock.Set(now)
		for _, w := range []watcher{w1, w2} {
			rounds.Go(func() { w.runOnce(pb.ctx) })
		}
		rounds.Wait()
	}
	for _, id := range ids {
		require.Len(t, pb.reminders(id), 2, "promise %d: each lead once", id)
		agents, supervisors := pb.sent(fmt.Sprintf("承诺答复超时 #%d：", id))
		require.Empty(t, agents)
		require.Len(t, supervisors, 1, "promise %d escalated once", id)
		agents, _ = pb.sent(fmt.Sprintf("承诺答复已超时 #%d：", id))
		require.Len(t, agents, 1, "the owner told once of promise %d", id)
		require.Equal(t, hotline.PromiseEscalated, pb.get(id).State)
	}
	violations, err := pb.db.ListViolations(pb.ctx, store.ViolationFilter{Kind: hotline.ViolationPromiseOverdue, Limit: store.MaxListLimit})
	require.NoError(t, err)
	require.Len(t, violations, n, "one violation per promise")
	for _, v := range violations {
		require.Equal(t, "a1", v.AgentID)
		require.Contains(t, v.Detail, fmt.Sprintf("承诺答复 #%d：", v.PromiseID))
		require.Contains(t, v.Detail, "（拖延）")
	}
	require.Equal(t, float64(n), counter(w1.metrics.escalations)+counter(w2.metrics.escalations))
	require.Equal(t, float64(n), counter(w1.metrics.reminders.WithLabelValues("1h"))+counter(w2.metrics.reminders.WithLabelValues("1h")))
}

func TestOverduePromiseEscalatesOnceWithOneViolation(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	w1, w2 := pb.watch(nil), pb.watch(nil)
	pb.clock.Set(at(11, 27, 9, 0))
	p := pb.promise(w1, "13800138000", "社保转移进度", at(11, 27, 10, 0))
	require.Zero(t, w1.runOnce(pb.ctx).escalated)

	pb.clock.Set(at(11, 27, 10, 0))
	var escalated atomic.Int64
	var both sync.WaitGroup
	for _, w := range []watcher{w1, w2} {
		both.Go(func() { escalated.Add(int64(w.runOnce(pb.ctx).escalated)) })
	}
	both.Wait()
	require.EqualValues(t, 1, escalated.Load())
	pb.clock.Set(at(11, 27, 10, 5))
	w1.runOnce(pb.ctx)
	w2.runOnce(pb.ctx)

	got := pb.get(p.ID)
	require.Equal(t, hotline.PromiseEscalated, got.State)
	requireAt(t, at(11, 27, 10, 0), got.EscalatedAt)
	_, supervisors := pb.sent("承诺答复超时")
	require.Equal(t, []string{fmt.Sprintf("承诺答复超时 #%d：市民 13800138000（来电 %s）「社保转移进度」答复期限 11月27日 10:00 已过，仍未答复，责任人 a1，已记拖延，请督办。", p.ID, p.CallID)}, supervisors)
	agents, _ := pb.sent("承诺答复已超时")
	require.Equal(t, []string{fmt.Sprintf("a1: 承诺答复已超时 #%d：市民 13800138000（来电 %s）「社保转移进度」答复期限 11月27日 10:00 已过，已报督察并记拖延，请立即答复。", p.ID, p.CallID)}, agents)
	violations, err := pb.db.ListViolations(pb.ctx, store.ViolationFilter{Kind: hotline.ViolationPromiseOverdue})
	require.NoError(t, err)
	require.Len(t, violations, 1)
	v := violations[0]
	require.Equal(t, "a1", v.AgentID)
	require.Equal(t, p.ID, v.PromiseID)
	require.Equal(t, p.CallID, v.CallID)
	require.Equal(t, fmt.Sprintf("承诺答复 #%d：市民 138****8000（来电 %s）「社保转移进度」答复期限 11月27日 10:00 已过，未答复（拖延）。", p.ID, p.CallID), v.Detail,
		"the ledger masks the number")

	// Restarted instances rebuild the index with the escalated promise
	// (still unfinished) and escalate nothing more.
	w3 := pb.watch(nil)
	pb.clock.Set(at(11, 27, 11, 0))
	require.Zero(t, w3.runOnce(pb.ctx).escalated)
	_, ok := pb.entry(w3, p.ID)
	require.False(t, ok, "an escalated promise's entry is dropped once read")
	require.Contains(t, pb.plogs.String(), "promise overdue: escalated to the supervisors")
}

func TestFulfilledPromiseSendsNothingMore(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	w := pb.watch(nil)
	pb.clock.Set(at(11, 27, 9, 0))
	p := pb.promise(w, "13800138000", "社保转移进度", at(11, 27, 14, 0))
	pb.clock.Set(at(11, 27, 12, 59))
	require.Zero(t, w.runOnce(pb.ctx).reminded)
	pb.clock.Set(at(11, 27, 13, 0)) // one working hour before 14:00
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded)

	_, err := pb.db.FulfilPromise(pb.ctx, p.ID, store.FulfilledByNote, "已电话答复市民", "a1", at(11, 27, 13, 5))
	require.NoError(t, err)
	// Nobody told the watch: the ten-minute reminder and the escalation
	// pop, find the promise fulfilled in SQLite, and leave the index.
	for _, now := range []time.Time{at(11, 27, 13, 50), at(11, 27, 14, 0), at(11, 28, 9, 0)} {
		pb.clock.Set(now)
		st := w.runOnce(pb.ctx)
		require.Zero(t, st.reminded)
		require.Zero(t, st.escalated)
	}
	require.Len(t, pb.reminders(p.ID), 1)
	_, supervisors := pb.sent("承诺答复超时")
	require.Empty(t, supervisors)
	_, ok := pb.entry(w, p.ID)
	require.False(t, ok)
	size, err := w.Index().Size(pb.ctx)
	require.NoError(t, err)
	require.Zero(t, size)
	violations, err := pb.db.ListViolations(pb.ctx, store.ViolationFilter{Kind: hotline.ViolationPromiseOverdue})
	require.NoError(t, err)
	require.Empty(t, violations)

	// Forget drops a finished promise's entries at once.
	q := pb.promise(w, "13900000002", "公积金提取", at(11, 30, 14, 0))
	size, err = w.Index().Size(pb.ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, size, "one entry per promise")
	require.NoError(t, w.Forget(pb.ctx, q.ID))
	size, err = w.Index().Size(pb.ctx)
	require.NoError(t, err)
	require.Zero(t, size)
}

func TestExtendedPromiseIsRemindedBeforeItsNewDeadline(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	w := pb.watch(nil)
	pb.clock.Set(at(11, 27, 9, 0))
	p := pb.promise(w, "13800138000", "社保转移进度", at(11, 27, 10, 0))
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded, "one working hour before 10:00 is 09:00")

	// A supervisor moves the deadline to Monday 10:00; the reminders start over.
	pb.clock.Set(at(11, 27, 9, 30))
	p, err := pb.db.ExtendPromise(pb.ctx, p.ID, at(11, 30, 10, 0), "s1", "需要人社局回复", pb.clock.Now())
	require.NoError(t, err)
	require.NoError(t, w.Track(pb.ctx, p))
	due, ok := pb.entry(w, p.ID)
	require.True(t, ok)
	requireAt(t, at(11, 30, 9, 0), due)

	// The old times pass without a word.
	for _, now := range []time.Time{at(11, 27, 9, 50), at(11, 27, 10, 0), at(11, 27, 16, 0)} {
		pb.clock.Set(now)
		st := w.runOnce(pb.ctx)
		require.Zero(t, st.reminded+st.escalated)
	}
	// A rebuild from an old read would put an entry too early; it is moved.
	require.NoError(t, w.Index().Add(pb.ctx, p.ID, at(11, 27, 16, 0)))
	require.Zero(t, w.runOnce(pb.ctx).reminded)
	due, ok = pb.entry(w, p.ID)
	require.True(t, ok)
	requireAt(t, at(11, 30, 9, 0), due)

	pb.clock.Set(at(11, 30, 9, 0))
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded)
	pb.clock.Set(at(11, 30, 9, 50))
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded)
	pb.clock.Set(at(11, 30, 10, 0))
	require.Equal(t, 1, w.runOnce(pb.ctx).escalated)
	texts := pb.reminders(p.ID)
	require.Len(t, texts, 3)
	require.Contains(t, texts[2], "需在 11月30日 10:00 前答复，还剩约10分钟。")
}

func TestPromiseReminderPushFailureIsRetried(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	pb.allowErrors = true // the failed push is logged
	var fail atomic.Bool
	fail.Store(true)
	inner := pb.notes.notifier()
	flaky := NotifierFuncs{
		Supervisors: inner.NotifySupervisors,
		Agent: func(ctx context.Context, agentID, text string) error {
			if fail.Load() {
				return errors.New("softphone offline")
			}
			return inner.NotifyAgent(ctx, agentID, text)
		},
	}
	w := pb.watch(flaky)
	pb.clock.Set(at(11, 27, 9, 0))
	p := pb.promise(w, "13800138000", "社保转移进度", at(11, 27, 10, 0))
	require.Zero(t, w.runOnce(pb.ctx).reminded)
	require.Empty(t, pb.get(p.ID).RemindersSent, "the mark was taken back")
	require.Equal(t, 1.0, counter(w.metrics.notifyErrors))

	fail.Store(false)
	pb.clock.Set(at(11, 27, 9, 0).Add(time.Second))
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded, "the next round tries again")
	require.Zero(t, w.runOnce(pb.ctx).reminded)
	require.Len(t, pb.reminders(p.ID), 1)
}

func TestPromisesFireFromTheSQLPollWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	pb.allowErrors = true
	// A small batch: the poll's page fills with escalated promises waiting
	// for their reply, and the reminders are found all the same.
	w := pb.watch(nil, func(c *PromiseConfig) { c.BatchSize = 2 })
	pb.clock.Set(at(11, 26, 9, 0))
	for i := range 3 {
		pb.promise(w, fmt.Sprintf("1370000000%d", i), "已超时事项", at(11, 26, 10, i))
	}
	pb.clock.Set(at(11, 26, 10, 5))
	escalated := 0
	for range 10 { // two entries a round
		escalated += w.runOnce(pb.ctx).escalated
	}
	require.Equal(t, 3, escalated)

	pb.clock.Set(at(11, 27, 9, 0))
	p := pb.promise(w, "13800138000", "社保转移进度", at(11, 27, 14, 0))
	w.runOnce(pb.ctx)
	require.False(t, w.Degraded())

	pb.redis.Down()
	// A promise made while Redis is down is safe in SQLite.
	q := pb.promise(w, "13900000002", "公积金提取", at(11, 27, 13, 40))
	require.True(t, w.Degraded(), "the failed index write was noticed")
	require.Equal(t, 1.0, counter(w.metrics.degraded))

	pb.clock.Set(at(11, 27, 11, 10)) // 1h before 13:40 is 11:10
	st := w.runOnce(pb.ctx)
	require.Equal(t, "sql", st.source)
	require.Equal(t, 1, st.reminded)
	require.Len(t, pb.reminders(q.ID), 1)
	pb.clock.Set(at(11, 27, 13, 0)) // 1h before 14:00
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded)
	require.Zero(t, w.runOnce(pb.ctx).reminded, "once")
	pb.clock.Set(at(11, 27, 13, 40))
	st = w.runOnce(pb.ctx)
	require.Equal(t, 1, st.escalated, "q is escalated from the poll")
	require.Zero(t, st.reminded, "q's ten-minute reminder (13:30) was missed and is moot past its deadline")
	require.Len(t, pb.reminders(q.ID), 1)
	require.True(t, w.Degraded())

	pb.redis.Up()
	pb.clock.Set(at(11, 27, 13, 45))
	st = w.runOnce(pb.ctx)
	require.False(t, w.Degraded(), "recovered by itself")
	require.Equal(t, 0.0, counter(w.metrics.degraded))
	require.Equal(t, "redis", st.source)
	// The rebuild put back every unfinished promise's entries; those
	// already handled are read and dropped, sending nothing.
	for range 10 {
		require.Zero(t, st.reminded+st.escalated, "nothing sent twice after the rebuild")
		st = w.runOnce(pb.ctx)
	}
	due, ok := pb.entry(w, q.ID)
	require.False(t, ok, "escalated q's entry was read and dropped: %s", due)
	pb.clock.Set(at(11, 27, 13, 50))
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded, "p's ten-minute reminder from Redis again")
	pb.clock.Set(at(11, 27, 14, 0))
	st = w.runOnce(pb.ctx)
	require.Equal(t, 1, st.escalated, "p escalates from Redis again")
	require.Len(t, pb.reminders(p.ID), 2)
	require.Len(t, pb.reminders(q.ID), 1)
	require.Positive(t, counter(w.metrics.due.WithLabelValues("sql")))
	require.Positive(t, counter(w.metrics.due.WithLabelValues("redis")))
}

func TestFlushedRedisLosesNoPromise(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	// No periodic rebuild in the way: the loss itself is noticed.
	w := pb.watch(nil, func(c *PromiseConfig) { c.ReconcileInterval = 24 * time.Hour })
	pb.clock.Set(at(11, 27, 9, 0))
	p := pb.promise(w, "13800138000", "社保转移进度", at(11, 27, 14, 0))
	w.runOnce(pb.ctx)

	pb.redis.Flush(pb.ctx)
	pb.clock.Set(at(11, 27, 13, 0))
	require.Equal(t, 1, w.runOnce(pb.ctx).reminded, "the index was rebuilt at once")
	require.Contains(t, pb.plogs.String(), "the promise index is gone from Redis")
	size, err := w.Index().Size(pb.ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, size, "p waits for its ten-minute reminder")
	require.Equal(t, 1.0, counter(w.metrics.indexSize))

	pb.redis.Flush(pb.ctx)
	pb.clock.Set(at(11, 27, 14, 0))
	st := w.runOnce(pb.ctx)
	require.Zero(t, st.reminded, "after the deadline the escalation fires, not the late reminder")
	require.Equal(t, 1, st.escalated)
	require.Len(t, pb.reminders(p.ID), 1)
}

func TestPromiseWatchStartRunsAndStopEnds(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	w := pb.watch(nil, func(c *PromiseConfig) { c.Tick = 10 * time.Millisecond; c.PollInterval = 10 * time.Millisecond })
	pb.clock.Set(at(11, 27, 9, 0))
	p := pb.promise(w, "13800138000", "社保转移进度", at(11, 27, 10, 0))
	w.Start(pb.ctx)
	require.Eventually(t, func() bool { return len(pb.reminders(p.ID)) == 1 }, 5*time.Second, 10*time.Millisecond)
	w.Stop()
	w.Stop()
}

func TestPromiseConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	var cfg PromiseConfig
	cfg.SetDefaults()
	require.NoError(t, cfg.Validate())
	require.Equal(t, []time.Duration{time.Hour, 10 * time.Minute}, cfg.ReminderLeads)
	require.Equal(t, "hotline:promises", cfg.KeyPrefix)
	require.Equal(t, time.Second, cfg.Tick)
	require.Equal(t, 5*time.Minute, cfg.ReconcileInterval)
	require.Equal(t, 30*time.Second, cfg.PollInterval)
	require.Equal(t, 200, cfg.BatchSize)

	for _, c := range []struct {
		change func(*PromiseConfig)
		want   string
	}{
		{func(c *PromiseConfig) { c.ReminderLeads = []time.Duration{time.Hour, -time.Minute} }, "promises.reminder_leads[1]"},
		{func(c *PromiseConfig) { c.ReminderLeads = make([]time.Duration, 8); fillLeads(c.ReminderLeads) }, "promises.reminder_leads: 8 lead times, at most 7"},
		{func(c *PromiseConfig) { c.KeyPrefix = "a{b}" }, "promises.key_prefix"},
		{func(c *PromiseConfig) { c.Tick = time.Millisecond }, "promises.tick"},
		{func(c *PromiseConfig) { c.ReconcileInterval = time.Millisecond }, "promises.reconcile_interval"},
		{func(c *PromiseConfig) { c.PollInterval = 100 * time.Millisecond }, "promises.poll_interval"},
		{func(c *PromiseConfig) { c.BatchSize = 5000 }, "promises.batch_size"},
	} {
		cfg := PromiseConfig{}
		cfg.SetDefaults()
		c.change(&cfg)
		require.ErrorContains(t, cfg.Validate(), c.want)
	}
	// No reminders at all is a valid policy: only the escalation.
	cfg = PromiseConfig{PromisePolicy: hotline.PromisePolicy{ReminderLeads: []time.Duration{}}}
	cfg.SetDefaults()
	require.NoError(t, cfg.Validate())

	_, err := NewPromiseWatch(PromiseConfig{}, PromiseDeps{})
	require.ErrorContains(t, err, "a store is required")
	require.Equal(t, "1h", leadLabel(time.Hour))
	require.Equal(t, "10m", leadLabel(10*time.Minute))
	require.Equal(t, "1h30m", leadLabel(90*time.Minute))
	require.Equal(t, "45s", leadLabel(45*time.Second))
}

func fillLeads(leads []time.Duration) {
	for i := range leads {
		leads[i] = time.Duration(i+1) * time.Minute
	}
}
