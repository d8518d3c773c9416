package callback

import (
	"context"
	"fmt"
	"slices"
	"time"

	"hotline"
	"hotline/store"
)

// PromiseStore is what PromiseWatch needs of the database (*store.DB):
// SQLite holds every promise, and decides that each reminder and each
// escalation happens once.
type PromiseStore interface {
	DeadlineStore
	// GetPromises reads promises by id, without their history.
	GetPromises(ctx context.Context, ids []int64) ([]hotline.Promise, error)
}

// PromiseDeps are PromiseWatch's collaborators. Store and the Common ones
// are required.
type PromiseDeps struct {
	Common
	Store PromiseStore
}

// PromiseWatch keeps the promised replies of clause 6.2 on the deadline
// engine: the owner of each unfinished promise (the call's
// first-responsible agent) is reminded at every lead time of working time
// before its deadline, and at the deadline the promise is escalated, a
// promise_overdue violation (拖延) recorded against the owner in the same
// transaction, and the supervisors and the owner told. Each reminder and
// each escalation happens once per promise and deadline, across restarts
// and instances. The index, its rebuild and the SQL poll while Redis is
// down are the engine's (see the top of engine.go).
//
// A process that dies between marking a reminder sent and pushing it
// loses that one reminder: the mark says it went out.
type PromiseWatch struct {
	*engine
	cfg   PromiseConfig
	texts promises
}

// NewPromiseWatch builds the watch; Start runs it.
func NewPromiseWatch(cfg PromiseConfig, d PromiseDeps) (*PromiseWatch, error) {
	if err := d.check("callback.NewPromiseWatch", &cfg, d.Store != nil); err != nil {
		return nil, err
	}
	w := &PromiseWatch{cfg: cfg}
	w.texts = promises{loader: loader[hotline.Promise]{get: d.Store.GetPromises, wrap: promiseMatter}}
	w.engine = d.engine(cfg.EngineConfig, engineDeps{kind: store.Promises, name: "promise", matters: &w.texts,
		store: d.Store, leads: slices.Clone(cfg.ReminderLeads),
		metrics: newEngineMetrics("promise", cfg.ReminderLeads),
	})
	w.texts.e = w.engine
	return w, nil
}

// Index is the watch's Redis index: each unfinished promise at its next
// reminder or escalation.
func (w *PromiseWatch) Index() *Index { return w.deadlines }

// Start rebuilds the index and then looks for due reminders and
// escalations every Tick (every PollInterval while Redis is down) until
// Stop.
func (w *PromiseWatch) Start(ctx context.Context) {
	w.rounds.start(ctx, &w.redisHealth, w.cfg.Tick, func(ctx context.Context) bool { return w.round(ctx, w, true).more })
}

// Stop ends the loop and waits for the round in progress.
func (w *PromiseWatch) Stop() { w.rounds.stop() }

// Track indexes promise p as stored: call it after the promise is created
// and after its deadline is extended, with the promise read back from the
// store. A finished promise is forgotten. SQLite is written first, so a
// Redis failure loses nothing: it is logged, switches the watch to the SQL
// poll, and is returned for information only; the next rebuild indexes p.
func (w *PromiseWatch) Track(ctx context.Context, p hotline.Promise) error {
	if p.ID <= 0 {
		return fmt.Errorf("callback.PromiseWatch.Track: promise without an id")
	}
	return w.track(ctx, promiseMatter(p))
}

// Forget drops the index entry of promise id (fulfilled or closed). Like
// Track, a Redis failure is handled here and returned for information.
func (w *PromiseWatch) Forget(ctx context.Context, id int64) error { return w.forget(ctx, id) }

// runOnce is one round, on the active instance only: check Redis
// (recover, or reconcile when it is time), then send the due reminders and
// escalate the overdue promises.
func (w *PromiseWatch) runOnce(ctx context.Context) roundStats { return w.round(ctx, w, false) }

// read pops the round's due reminders and escalations and reads their
// promises.
func (w *PromiseWatch) read(ctx context.Context) batch { return batch{deadlines: w.readDeadlines(ctx)} }

// act sends the reminders and escalates the overdue promises.
func (w *PromiseWatch) act(ctx context.Context, b batch, st *roundStats) {
	w.runDeadlines(ctx, b.deadlines, st)
}

// promises is the promise kind of matter for the engine.
type promises struct {
	loader[hotline.Promise]
	e *engine
}

func promiseMatter(p hotline.Promise) matter {
	return matter{id: p.ID, deadline: p.Deadline, watched: p.Unfinished(), escalated: !p.EscalatedAt.IsZero(),
		agent: p.AgentID, number: p.Number, reminded: p.RemindersSent, v: p}
}

// matterPart is "市民 13800138000（来电 c123）「社保转移进度」"; masked for the
// ledger, whose readers are not all entitled to the number.
func matterPart(p hotline.Promise, masked bool) string {
	citizen := "市民"
	if number := p.Number; number != "" {
		if masked {
			number = hotline.MaskNumber(number)
		}
		citizen += " " + number
	}
	return fmt.Sprintf("%s（来电 %s）「%s」", citizen, p.CallID, p.Summary)
}

func (k promises) reminder(m matter, _ time.Duration, now time.Time) notice {
	p := m.v.(hotline.Promise)
	return notice{agent: p.AgentID, text: fmt.Sprintf("承诺答复提醒 #%d：%s需在 %s 前答复，还剩%s。",
		p.ID, matterPart(p, false), k.e.when(p.Deadline), k.e.workingLeft(p.Deadline, now))}
}

func (k promises) overdueDetail(m matter) string {
	p := m.v.(hotline.Promise)
	return fmt.Sprintf("承诺答复 #%d：%s答复期限 %s 已过，未答复（拖延）。", p.ID, matterPart(p, true), k.e.when(p.Deadline))
}

func (k promises) overdue(m matter) []notice {
	p := m.v.(hotline.Promise)
	return []notice{
		{text: fmt.Sprintf("承诺答复超时 #%d：%s答复期限 %s 已过，仍未答复，责任人 %s，已记拖延，请督办。",
			p.ID, matterPart(p, false), k.e.when(p.Deadline), p.AgentID)},
		{agent: p.AgentID, text: fmt.Sprintf("承诺答复已超时 #%d：%s答复期限 %s 已过，已报督察并记拖延，请立即答复。",
			p.ID, matterPart(p, false), k.e.when(p.Deadline))},
	}
}
