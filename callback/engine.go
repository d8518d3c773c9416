package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline"
	"hotline/store"
)

// The deadline engine: callback tasks (6.1) and promises (6.2) are matters
// with a deadline that someone is reminded of before it and that escalates
// at it, once, with a violation (拖延) against the responsible agent. One
// engine does that for either kind; Service adds the callback tasks' dials
// (a second index, claims under a lease), PromiseWatch only says how
// promises read and are told.
//
// SQLite is the truth and decides that each reminder and each escalation
// happens once (store.MarkRemindersSent, store.Escalate). Redis holds an
// Index with one entry per unfinished matter, due at its next event: the
// earliest reminder lead not sent yet (calendar.SubWorking(deadline,
// lead)), else the deadline. A popped entry is only a hint: the matter is
// read from SQLite, what is due is done, and the entry moves to the next
// event or goes. While Redis fails, the engine polls SQLite for the
// matters whose deadline is within the largest lead instead.

// Calendar is the working-hours calendar (*hotline.Calendar): dials go out
// while the line is open, reminders fire a lead of working time before a
// deadline.
type Calendar interface {
	hotline.WorkingTime
	IsOpen(t time.Time) bool
	Location() *time.Location
	SubWorking(t time.Time, d time.Duration) time.Time
	WorkingBetween(a, b time.Time) time.Duration
}

// DeadlineStore is what the engine needs of the database (*store.DB), for
// either kind of matter.
type DeadlineStore interface {
	DuePage(ctx context.Context, k store.MatterKind, afterID int64, limit int) ([]store.Due, error)
	DueBefore(ctx context.Context, k store.MatterKind, horizon time.Time, after store.Due, limit int) ([]store.Due, error)
	RemindersSent(ctx context.Context, k store.MatterKind, ids []int64) (map[int64][]time.Duration, error)
	MarkRemindersSent(ctx context.Context, k store.MatterKind, rs []store.Reminder, now time.Time) ([]bool, error)
	UnmarkReminderSent(ctx context.Context, k store.MatterKind, id int64, lead time.Duration) error
	Escalate(ctx context.Context, k store.MatterKind, now time.Time, es []store.Escalation) ([]store.Escalated, error)
}

// Notifier tells people about tasks and promises (SIP MESSAGE to
// softphones, the console). Texts are Chinese and complete.
type Notifier interface {
	NotifySupervisors(ctx context.Context, text string) error
	NotifyAgent(ctx context.Context, agentID, text string) error
}

// NotifierFuncs adapts two functions to Notifier; a nil one does nothing.
type NotifierFuncs struct {
	Supervisors func(ctx context.Context, text string) error
	Agent       func(ctx context.Context, agentID, text string) error
}

// NotifySupervisors calls n.Supervisors.
func (n NotifierFuncs) NotifySupervisors(ctx context.Context, text string) error {
	if n.Supervisors == nil {
		return nil
	}
	return n.Supervisors(ctx, text)
}

// NotifyAgent calls n.Agent.
func (n NotifierFuncs) NotifyAgent(ctx context.Context, agentID, text string) error {
	if n.Agent == nil {
		return nil
	}
	return n.Agent(ctx, agentID, text)
}

// matter is one callback task or promise as the engine handles it.
type matter struct {
	id        int64
	deadline  time.Time
	watched   bool // unfinished: its deadline still counts
	escalated bool
	agent     string // responsible; "" none yet
	number    string
	reminded  []time.Duration // leads sent for the current deadline
	v         any             // the hotline.CallbackTask or hotline.Promise, for the texts
}

// notice is one push: to agent, or to the supervisors when agent is "".
type notice struct {
	agent, text string
}

// kind is what differs between callback tasks and promises.
type kind interface {
	// load reads the matters with ids; unknown ids are left out.
	load(ctx context.Context, ids []int64) ([]matter, error)
	// reminder is the push of lead before m's deadline, at now.
	reminder(m matter, lead time.Duration, now time.Time) notice
	// overdueDetail is the escalation's violation text (numbers masked).
	overdueDetail(m matter) string
	// overdue are the pushes of m's escalation.
	overdue(m matter) []notice
}

// Common are the collaborators every deadline engine has (Deps,
// PromiseDeps). Redis, Calendar and Notifier are required.
type Common struct {
	Redis    redis.UniversalClient
	Calendar Calendar
	Notifier Notifier
	Log      *slog.Logger          // default: discard
	Now      func() time.Time      // default: time.Now
	Registry prometheus.Registerer // nil: metrics are not registered
	// Active is asked before each round: only the instance that drives
	// Asterisk (it holds the lease, and its application was not taken over
	// by another client) claims, dials, reminds and escalates; any other
	// skips the round, from the next one on. nil: always active.
	Active func() bool
}

// settings is a config section with its defaults and validation.
type settings interface {
	SetDefaults()
	Validate() error
}

// check fills in cfg's defaults and validates it, reports the first
// collaborator op is missing, the store (haveStore) included, and fills in
// the defaults of c.
func (c *Common) check(op string, cfg settings, haveStore bool) error {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, missing := range []struct {
		what string
		nil  bool
	}{{"a store", !haveStore}, {"a Redis client", c.Redis == nil}, {"a calendar", c.Calendar == nil}, {"a notifier", c.Notifier == nil}} {
		if missing.nil {
			return fmt.Errorf("%s: %s is required", op, missing.what)
		}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// engine builds the engine of one kind of matter on c; its metrics are
// registered with the extra collectors.
func (c Common) engine(cfg EngineConfig, d engineDeps, extra ...prometheus.Collector) *engine {
	d.rdb, d.cal, d.notifier, d.now, d.active = c.Redis, c.Calendar, c.Notifier, c.Now, c.Active
	d.log = c.Log.With("component", d.name+"s")
	if c.Registry != nil {
		c.Registry.MustRegister(append(d.metrics.collectors(), extra...)...)
	}
	return newEngine(cfg, d)
}

// engineDeps are an engine's collaborators.
type engineDeps struct {
	kind     store.MatterKind
	name     string // "callback", "promise": log lines
	matters  kind
	store    DeadlineStore
	rdb      redis.UniversalClient
	cal      Calendar
	notifier Notifier
	log      *slog.Logger
	now      func() time.Time
	leads    []time.Duration
	active   func() bool // nil: always
	withWork bool        // a second index of the next dials (callbacks)
	metrics  *engineMetrics
}

// engine runs the deadlines of one kind of matter.
type engine struct {
	engineDeps
	cfg       EngineConfig
	deadlines *Index // the next reminder or escalation of each unfinished matter
	work      *Index // callbacks: the next dial of each open task; nil for promises
	maxLead   time.Duration

	redisHealth
	reconcileMu sync.Mutex
	rounds
}

func newEngine(cfg EngineConfig, d engineDeps) *engine {
	e := &engine{engineDeps: d, cfg: cfg, deadlines: NewIndex(d.rdb, cfg.KeyPrefix, "deadline")}
	if d.withWork {
		e.work = NewIndex(d.rdb, cfg.KeyPrefix, "work")
	}
	for _, l := range d.leads {
		e.maxLead = max(e.maxLead, l)
	}
	e.redisHealth = redisHealth{index: d.name, polled: d.name + " deadlines", rdb: d.rdb, logger: d.log, clock: d.now,
		every: cfg.ReconcileInterval, poll: cfg.PollInterval, reconcile: e.Reconcile,
		degradedGauge: d.metrics.degraded, errors: d.metrics.redisErrors}
	return e
}

// isActive reports whether this instance runs the rounds now (Common.Active).
func (e *engine) isActive() bool { return e.active == nil || e.active() }

// roundStats says what one round did, for tests.
type roundStats struct {
	skipped                           string // why the round did nothing: "standby", "citizens waiting"
	deadlinesDue, reminded, escalated int    // reminders and escalations
	due, claimed, conflicts, settled  int    // callback dials
	more                              bool
	source                            string // "redis" or "sql"
}

// batch is what a round read before it writes: the due entries it popped
// and the rows they stand for. Reading one writes nothing to the
// database, only moves entries in flight in Redis.
type batch struct {
	deadlines dueBatch
	dials     dialBatch // callbacks
}

// stages is a kind's round in two parts: read pops the due entries and
// reads their rows; act decides what is due and writes it (the claims,
// escalations and reminders, each decided once in SQL), moves the
// entries and hands the claimed tasks on.
type stages interface {
	read(ctx context.Context) batch
	act(ctx context.Context, b batch, st *roundStats)
}

// round runs one round on the active instance: check Redis (recover, or
// reconcile when it is time), read, act. Pipelined (the running service),
// a round whose read was a full batch reads the next batch while it acts
// on this one, and goes on so until a read is not full: the database's
// single writer then no longer waits for the pops and the reads. The
// batches never share an entry (a popped entry is in flight until its
// batch moves it, after its writes), and every write is decided in SQL
// against the row as it is then, so a read made beside the previous
// batch's writes is as safe as one made after them. A read made for a
// round that does not run (standby since, or stopping) is put back.
func (e *engine) round(ctx context.Context, k stages, pipelined bool) roundStats {
	var total roundStats
	if !e.isActive() {
		total.skipped = "standby"
		return total
	}
	e.checkRedis(ctx)
	b := k.read(ctx)
	for {
		var next chan batch
		if pipelined && e.full(b) {
			next = make(chan batch, 1)
			go func() { next <- k.read(ctx) }()
		}
		total.more = false // this batch's
		k.act(ctx, b, &total)
		e.indexSize(ctx)
		if next == nil {
			return total
		}
		b = <-next
		if ctx.Err() != nil || !e.isActive() {
			e.putBack(ctx, b)
			total.more = false
			return total
		}
		e.checkRedis(ctx)
	}
}

// full reports whether b took a whole batch from the index: more is
// likely due at once. Dials count only without an agent limit below the
// batch (Service.readDials), so that reading ahead never claims beyond
// the free agents.
func (e *engine) full(b batch) bool {
	d, w := b.deadlines, b.dials
	return d.source == "redis" && len(d.ids) == e.cfg.BatchSize ||
		w.source == "redis" && len(w.ids) == e.cfg.BatchSize && w.free >= e.cfg.BatchSize
}

// putBack makes the entries b popped due again at once, for a round that
// will not act on them; without it they would wait out the visibility
// timeout.
func (e *engine) putBack(ctx context.Context, b batch) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, p := range []struct {
		x      *Index
		source string
		ids    []int64
		now    time.Time
	}{{e.deadlines, b.deadlines.source, b.deadlines.ids, b.deadlines.now}, {e.work, b.dials.source, b.dials.ids, b.dials.now}} {
		if p.x == nil || p.source != "redis" || len(p.ids) == 0 {
			continue
		}
		due := make(map[int64]time.Time, len(p.ids))
		for _, id := range p.ids {
			due[id] = p.now
		}
		if err := p.x.AddMany(ctx, due); err != nil {
			e.redisFailed(ctx, "put back unread entries", err)
		}
	}
}

// nextEvent is when m next needs the engine: the earliest reminder lead
// not sent yet whose time lies before the deadline, else the deadline;
// zero when nothing is left (finished, or escalated already).
func (e *engine) nextEvent(m matter) time.Time {
	if !m.watched || m.escalated {
		return time.Time{}
	}
	next := m.deadline
	for _, lead := range e.leads {
		if slices.Contains(m.reminded, lead) {
			continue
		}
		if fire := e.cal.SubWorking(m.deadline, lead); !fire.IsZero() && fire.Before(next) {
			next = fire
		}
	}
	return next
}

// track indexes m at its next event, or drops its entry when it has none.
// SQLite is written first, so a Redis failure loses nothing: it is
// logged, switches to the SQL poll, and returned for information only.
func (e *engine) track(ctx context.Context, m matter) error {
	if e.degraded.Load() {
		return nil
	}
	var err error
	if next := e.nextEvent(m); next.IsZero() {
		err = e.deadlines.Remove(ctx, m.id)
	} else {
		err = e.deadlines.Add(ctx, m.id, next)
	}
	if err != nil {
		e.redisFailed(ctx, "index a "+e.name, err)
	}
	return err
}

// forget drops every index entry of ids (finished matters).
func (e *engine) forget(ctx context.Context, ids ...int64) error {
	if e.degraded.Load() || len(ids) == 0 {
		return nil
	}
	err := e.deadlines.Remove(ctx, ids...)
	if err == nil && e.work != nil {
		err = e.work.Remove(ctx, ids...)
	}
	if err != nil {
		e.redisFailed(ctx, "forget a "+e.name, err)
	}
	return err
}

// Reconcile rebuilds the Redis index from SQLite (every unfinished
// matter at its next event, and for callbacks every open task at its next
// dial), and then marks it built. It runs at start, every
// ReconcileInterval, at once when the index was lost, and when Redis
// answers again. Like every write of the live engine it only adds, and
// only ever makes an entry earlier (ZADD LT): an entry of a matter
// finished meanwhile, or too early, is dropped or moved when it pops. As
// the rebuild does not read which reminders went out, an entry may come
// back at a reminder sent already; it pops, is found sent, and moves on.
func (e *engine) Reconcile(ctx context.Context) error {
	e.reconcileMu.Lock()
	defer e.reconcileMu.Unlock()
	start := time.Now()
	e.lastReconcile.Store(e.now().UnixMilli()) // a failure waits for the next interval too
	n, err := e.rebuild(ctx, 5000)
	took := time.Since(start)
	if err != nil {
		e.metrics.reconciles.WithLabelValues("error").Inc()
		if IsRedisError(err) {
			e.redisFailed(ctx, "rebuild the index", err)
		} else if ctx.Err() == nil {
			e.metrics.storeErrors.Inc()
			e.log.Error("rebuilding the "+e.name+" index failed", "indexed", n, "err", err)
		}
		return err
	}
	e.metrics.reconciles.WithLabelValues("ok").Inc()
	e.metrics.rebuildSeconds.Set(took.Seconds())
	e.log.Info(e.name+" index rebuilt from SQLite", "unfinished", n, "took", took.Round(time.Millisecond))
	return nil
}

// rebuild reads the unfinished matters page by page and indexes them,
// reading the next page from SQLite while the last is written to Redis.
// It returns how many matters it indexed.
func (e *engine) rebuild(ctx context.Context, pageSize int) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		dues []store.Due
		err  error
	}
	pages := make(chan page, 2)
	go func() {
		defer close(pages)
		var after int64
		for {
			dues, err := e.store.DuePage(ctx, e.kind, after, pageSize)
			select {
			case pages <- page{dues: dues, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(dues) < pageSize {
				return
			}
			after = dues[len(dues)-1].ID
		}
	}()
	total := 0
	deadlines := make([]Entry, 0, pageSize)
	var work []Entry
	for p := range pages {
		if p.err != nil {
			return total, fmt.Errorf("callback: rebuild the %s index: %w", e.name, p.err)
		}
		deadlines, work = deadlines[:0], work[:0]
		for _, d := range p.dues {
			if next := e.nextEvent(matter{deadline: d.Deadline, watched: true, escalated: d.Escalated}); !next.IsZero() {
				deadlines = append(deadlines, Entry{ID: d.ID, Due: next})
			}
			if e.work != nil {
				work = append(work, Entry{ID: d.ID, Due: d.Work})
			}
		}
		if err := e.deadlines.AddEarlier(ctx, deadlines); err != nil {
			return total, err
		}
		if e.work != nil {
			if err := e.work.AddEarlier(ctx, work); err != nil {
				return total, err
			}
		}
		total += len(p.dues)
	}
	if err := ctx.Err(); err != nil {
		return total, err
	}
	for _, x := range []*Index{e.deadlines, e.work} {
		if x != nil {
			if err := x.MarkBuilt(ctx, e.now()); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// DropIndex deletes the engine's Redis keys, as a Redis restarted without
// its data would have lost them (benchmarks and tests).
func (e *engine) DropIndex(ctx context.Context) error {
	for _, x := range []*Index{e.deadlines, e.work} {
		if x == nil {
			continue
		}
		if err := x.Drop(ctx); err != nil {
			return err
		}
	}
	return nil
}

// popDue pops up to n due ids of x, rebuilding the index first when it
// was lost; a Redis failure switches to the SQL poll and returns nothing.
func (e *engine) popDue(ctx context.Context, x *Index, now time.Time, n int) ([]int64, bool) {
	ids, err := x.PopDue(ctx, now, n)
	if errors.Is(err, ErrIndexLost) {
		e.log.Warn("the " + e.name + " index is gone from Redis (flushed, or restarted without its data): rebuilding it from SQLite")
		if err = e.Reconcile(ctx); err != nil {
			return nil, false // logged there; a Redis failure switched to the SQL poll
		}
		ids, err = x.PopDue(ctx, now, n)
	}
	if err != nil {
		e.redisFailed(ctx, "pop due entries", err)
		return nil, false
	}
	return ids, true
}

// dueBatch is the deadline half of what a round read before it writes:
// the entries popped from the index at now and their matters.
type dueBatch struct {
	now    time.Time
	source string // "redis"; "sql": the slow poll, which reads as it goes; "": nothing to do
	ids    []int64
	ms     []matter
	err    error // reading the matters failed: the entries stay in flight
}

// readDeadlines pops the due entries and reads their matters, from the
// index or, while Redis fails, leaves the reading to the SQL poll. It
// writes nothing to the database, so it may run beside the previous
// batch's writes.
func (e *engine) readDeadlines(ctx context.Context) dueBatch {
	b := dueBatch{now: e.now()}
	if !e.degraded.Load() {
		if ids, ok := e.popDue(ctx, e.deadlines, b.now, e.cfg.BatchSize); ok {
			b.source, b.ids = "redis", ids
			if len(ids) > 0 {
				b.ms, b.err = e.load(ctx, ids)
			}
			return b
		}
	}
	if e.degraded.Load() && ctx.Err() == nil {
		b.source = "sql"
	}
	return b
}

// runDeadlines sends the due reminders and escalates the overdue matters
// read by readDeadlines: from the index or, while Redis fails, from the
// SQL poll.
func (e *engine) runDeadlines(ctx context.Context, b dueBatch, st *roundStats) {
	switch b.source {
	case "redis":
		st.source = "redis"
		st.deadlinesDue += len(b.ids)
		st.more = st.more || len(b.ids) == e.cfg.BatchSize
		e.metrics.due.WithLabelValues("redis").Add(float64(len(b.ids)))
		e.fromIndex(ctx, b, st)
	case "sql":
		st.source = "sql"
		e.fromSQL(ctx, b.now, st)
	}
}

// fromIndex handles popped entries and moves each to its matter's next
// event, or drops it. A failure leaves the entry in flight: it comes back
// after the visibility timeout.
func (e *engine) fromIndex(ctx context.Context, b dueBatch, st *roundStats) {
	if len(b.ids) == 0 {
		return
	}
	if b.err != nil {
		e.storeFailed(ctx, "read due "+e.name+"s", b.err)
		return
	}
	handled, err := e.fire(ctx, b.ms, b.now, st)
	if err != nil {
		return
	}
	moved := make(map[int64]time.Time, len(handled))
	var done []int64
	for _, id := range b.ids {
		m, ok := handled[id]
		if !ok {
			done = append(done, id) // finished, or no longer there
			continue
		}
		if next := e.nextEvent(m); next.IsZero() {
			done = append(done, id)
		} else {
			if retry := b.now.Add(e.cfg.Tick); next.Before(retry) {
				next = retry // a failed push is tried again, not at once
			}
			moved[id] = next
		}
	}
	err = e.deadlines.Remove(ctx, done...)
	if err == nil {
		err = e.deadlines.AddMany(ctx, moved)
	}
	if err != nil {
		e.redisFailed(ctx, "move handled entries", err)
	}
}

// fromSQL is the slow poll while Redis is down: the matters not escalated
// whose deadline is within the largest lead of working time (a deadline
// in closed hours after that counts the same, hence the next opening),
// page by page, earliest deadline first.
func (e *engine) fromSQL(ctx context.Context, now time.Time, st *roundStats) {
	horizon := now
	if e.maxLead > 0 {
		if h := e.cal.AddWorking(now, e.maxLead); !h.IsZero() {
			horizon = h
			if next := e.cal.NextOpen(h); !next.IsZero() {
				horizon = next
			}
		}
	}
	var after store.Due
	for ctx.Err() == nil {
		dues, err := e.store.DueBefore(ctx, e.kind, horizon, after, e.cfg.BatchSize)
		if err != nil {
			e.storeFailed(ctx, "poll "+e.name+" deadlines", err)
			return
		}
		ids := make([]int64, len(dues))
		for i, d := range dues {
			ids[i] = d.ID
		}
		st.deadlinesDue += len(ids)
		e.metrics.due.WithLabelValues("sql").Add(float64(len(ids)))
		if _, err := e.handle(ctx, ids, now, st); err != nil || len(dues) < e.cfg.BatchSize {
			return
		}
		after = dues[len(dues)-1]
	}
}

// handle reads the matters with ids and does what is due at now (fire).
func (e *engine) handle(ctx context.Context, ids []int64, now time.Time, st *roundStats) (map[int64]matter, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ms, err := e.load(ctx, ids)
	if err != nil {
		e.storeFailed(ctx, "read due "+e.name+"s", err)
		return nil, err
	}
	return e.fire(ctx, ms, now, st)
}

// load reads the matters with ids and which reminders each has had.
func (e *engine) load(ctx context.Context, ids []int64) ([]matter, error) {
	ms, err := e.matters.load(ctx, ids)
	if err == nil {
		err = e.withReminders(ctx, ms)
	}
	return ms, err
}

// fire does what is due at now to the matters ms: the escalation of those
// past their deadline, in one transaction, and the reminders whose time
// has come, marked sent in one transaction before they are pushed (and
// unmarked when the push fails, so the next round tries again). It returns
// the unfinished matters as they are now.
func (e *engine) fire(ctx context.Context, ms []matter, now time.Time, st *roundStats) (map[int64]matter, error) {
	byID := make(map[int64]matter, len(ms))
	var escalations []store.Escalation
	var reminders []store.Reminder
	for _, m := range ms {
		if !m.watched {
			continue
		}
		byID[m.id] = m
		switch {
		case m.escalated:
		case !now.Before(m.deadline):
			escalations = append(escalations, store.Escalation{ID: m.id, Detail: e.matters.overdueDetail(m)})
		default:
			for _, lead := range e.leads {
				fire := e.cal.SubWorking(m.deadline, lead)
				if !slices.Contains(m.reminded, lead) && !fire.IsZero() && !now.Before(fire) {
					reminders = append(reminders, store.Reminder{ID: m.id, Lead: lead})
				}
			}
		}
	}
	if err := e.escalate(ctx, escalations, byID, now, st); err != nil {
		return nil, err
	}
	if err := e.remind(ctx, reminders, byID, now, st); err != nil {
		return nil, err
	}
	return byID, nil
}

// withReminders reads which reminders each matter has had.
func (e *engine) withReminders(ctx context.Context, ms []matter) error {
	if len(e.leads) == 0 || len(ms) == 0 {
		return nil
	}
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	sent, err := e.store.RemindersSent(ctx, e.kind, ids)
	if err != nil {
		return err
	}
	for i := range ms {
		ms[i].reminded = sent[ms[i].id]
	}
	return nil
}

// escalate escalates the overdue matters in one transaction, each with its
// violation; the matters this instance escalated are told of.
func (e *engine) escalate(ctx context.Context, es []store.Escalation, byID map[int64]matter, now time.Time, st *roundStats) error {
	if len(es) == 0 {
		return nil
	}
	done, err := e.store.Escalate(ctx, e.kind, now, es)
	if err != nil {
		e.storeFailed(ctx, "escalate overdue "+e.name+"s", err)
		return err
	}
	for _, d := range done {
		m := byID[d.ID]
		m.escalated = true
		byID[d.ID] = m
		if !d.Won {
			continue // another instance escalated it, or it was finished meanwhile
		}
		st.escalated++
		e.metrics.escalations.Inc()
		e.log.Warn(e.name+" overdue: escalated to the supervisors", "id", m.id, "agent", m.agent,
			"number", hotline.MaskNumber(m.number), "deadline", m.deadline, "violation", d.Violation.ID)
		for _, n := range e.matters.overdue(m) {
			if err := e.push(ctx, n); err != nil {
				e.log.Error("an overdue "+e.name+" is escalated on record but not told", "id", m.id, "to", n.who(), "err", err)
			}
		}
	}
	return nil
}

// remind marks the due reminders sent in one transaction and pushes those
// this instance marked; a push that fails is unmarked, to go out next
// round.
func (e *engine) remind(ctx context.Context, rs []store.Reminder, byID map[int64]matter, now time.Time, st *roundStats) error {
	if len(rs) == 0 {
		return nil
	}
	won, err := e.store.MarkRemindersSent(ctx, e.kind, rs, now)
	if err != nil {
		e.storeFailed(ctx, "mark "+e.name+" reminders sent", err)
		return err
	}
	for i, r := range rs {
		m := byID[r.ID]
		m.reminded = append(m.reminded, r.Lead) // sent, by this instance or another
		byID[r.ID] = m
		if !won[i] {
			continue
		}
		if err := e.push(ctx, e.matters.reminder(m, r.Lead, now)); err != nil {
			e.log.Warn(e.name+" reminder not delivered; trying again next round", "id", m.id, "agent", m.agent, "lead", r.Lead, "err", err)
			if err := e.store.UnmarkReminderSent(ctx, e.kind, m.id, r.Lead); err != nil {
				e.storeFailed(ctx, "unmark a reminder that was not delivered", err, "id", m.id, "lead", r.Lead)
				continue // marked sent for good: retrying would be refused
			}
			m.reminded = slices.DeleteFunc(m.reminded, func(l time.Duration) bool { return l == r.Lead })
			byID[r.ID] = m
			continue
		}
		st.reminded++
		e.metrics.reminders.WithLabelValues(leadLabel(r.Lead)).Inc()
		e.log.Info(e.name+" reminder sent", "id", m.id, "agent", m.agent, "lead", r.Lead, "deadline", m.deadline)
	}
	return nil
}

// push sends one notice; a failure is counted.
func (e *engine) push(ctx context.Context, n notice) error {
	var err error
	if n.agent == "" {
		err = e.notifier.NotifySupervisors(ctx, n.text)
	} else {
		err = e.notifier.NotifyAgent(ctx, n.agent, n.text)
	}
	if err != nil {
		e.metrics.notifyErrors.Inc()
	}
	return err
}

func (n notice) who() string {
	if n.agent == "" {
		return "supervisors"
	}
	return n.agent
}

func (e *engine) storeFailed(ctx context.Context, what string, err error, args ...any) {
	if ctx.Err() != nil {
		return
	}
	e.metrics.storeErrors.Inc()
	e.log.Error(e.name+"s: database "+what+" failed", append(args, "err", err)...)
}

// indexSize sets the index size gauge.
func (e *engine) indexSize(ctx context.Context) {
	if e.degraded.Load() {
		return
	}
	var total int64
	for _, x := range []*Index{e.deadlines, e.work} {
		if x == nil {
			continue
		}
		n, err := x.Size(ctx)
		if err != nil {
			return
		}
		total += n
	}
	e.metrics.indexSize.Set(float64(total))
}

// Texts. Times are written on the calendar's wall, e.g. "11月30日 09:00".

func (e *engine) when(t time.Time) string { return t.In(e.cal.Location()).Format("1月2日 15:04") }

// workingLeft is the working time left before deadline, e.g. "约1小时" or
// "约10分钟".
func (e *engine) workingLeft(deadline, now time.Time) string {
	left := e.cal.WorkingBetween(now, deadline).Round(time.Minute)
	h, m := int(left/time.Hour), int(left%time.Hour/time.Minute)
	switch {
	case left < time.Minute:
		return "不到1分钟"
	case h == 0:
		return fmt.Sprintf("约%d分钟", m)
	case m == 0:
		return fmt.Sprintf("约%d小时", h)
	}
	return fmt.Sprintf("约%d小时%d分钟", h, m)
}

// leadLabel writes a lead time for a metric label: "1h", "10m", "1h30m".
func leadLabel(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// engineMetrics are the metrics of an engine: one set of names for every
// kind of matter, told apart by the label kind (callback, promise).
type engineMetrics struct {
	due            *prometheus.CounterVec // source: redis, sql
	escalations    prometheus.Counter
	reminders      *prometheus.CounterVec // lead
	indexSize      prometheus.Gauge
	degraded       prometheus.Gauge
	redisErrors    prometheus.Counter
	storeErrors    prometheus.Counter
	notifyErrors   prometheus.Counter
	reconciles     *prometheus.CounterVec // result: ok, error
	rebuildSeconds prometheus.Gauge
}

// newEngineMetrics makes the metrics of the engine of kind ("callback",
// "promise"), whose reminders go out at leads.
func newEngineMetrics(kind string, leads []time.Duration) *engineMetrics {
	labels := prometheus.Labels{"kind": kind}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
	}
	vec := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, []string{label})
	}
	m := &engineMetrics{
		due: vec("hotline_deadline_due_total",
			"Due reminders and escalations found, by kind of matter and source: redis (the index) or sql (the slow poll while Redis is down).", "source"),
		escalations: counter("hotline_deadline_escalations_total",
			"Overdue callback tasks and promises escalated by this instance, each with its violation (once per deadline across instances)."),
		reminders: vec("hotline_deadline_reminders_total",
			"Reminders pushed before a deadline, by kind of matter and lead time (once per deadline and lead across instances).", "lead"),
		indexSize: gauge("hotline_deadline_index_size", "Entries in the Redis indexes of a kind of matter, due and in flight."),
		degraded: gauge("hotline_deadline_redis_degraded",
			"1 while Redis fails and the deadlines of a kind of matter come from the slow SQL poll."),
		redisErrors:  counter("hotline_deadline_redis_errors_total", "Failed Redis operations of the deadline index."),
		storeErrors:  counter("hotline_deadline_store_errors_total", "Failed database operations of the deadline engine."),
		notifyErrors: counter("hotline_deadline_notify_errors_total", "Reminders and escalation pushes that could not be delivered."),
		reconciles: vec("hotline_deadline_index_rebuilds_total",
			"Rebuilds of the Redis index from SQLite, by kind of matter and result.", "result"),
		rebuildSeconds: gauge("hotline_deadline_index_rebuild_seconds", "How long the last rebuild of the index from SQLite took."),
	}
	for _, lead := range leads {
		m.reminders.WithLabelValues(leadLabel(lead))
	}
	return m
}

func (m *engineMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.due, m.escalations, m.reminders, m.indexSize, m.degraded, m.redisErrors, m.storeErrors,
		m.notifyErrors, m.reconciles, m.rebuildSeconds}
}
