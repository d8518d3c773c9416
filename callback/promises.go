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

// PromiseConfig is the "promises" section of the service config: the
// promised-reply rules of clause 6.2 (hotline.PromisePolicy, inline) and
// how PromiseWatch runs them.
//
//	promises:
//	  reminder_leads: [1h, 10m]  # hotline.PromisePolicy
//	  key_prefix: hotline:promises
//	  tick: 1s
//	  reconcile_interval: 5m
//	  poll_interval: 30s
//	  batch_size: 200
type PromiseConfig struct {
	hotline.PromisePolicy `yaml:",inline"`

	// KeyPrefix starts every Redis key of the promise index, so several
	// deployments (or tests) can share one Redis; it must differ from
	// callbacks.key_prefix. The keys are "{<prefix>}:due",
	// "{<prefix>}:inflight" and "{<prefix>}:built" (see Index). Default
	// "hotline:promises".
	KeyPrefix string `yaml:"key_prefix"`
	// Tick is how often due reminders and escalations are looked for while
	// Redis answers. Default 1s.
	Tick time.Duration `yaml:"tick"`
	// ReconcileInterval is how often the Redis index is rebuilt from
	// SQLite (it also is at start, at once when the index was lost, and
	// when Redis answers again). Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// PollInterval is how often SQLite is asked for due reminders and
	// escalations while Redis is down (the slow SQL poll). Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize bounds how many index entries one round handles, and is
	// the page size of the SQL poll. Default 200.
	BatchSize int `yaml:"batch_size"`
}

// Defaults of PromiseConfig.
const (
	DefaultPromiseKeyPrefix = "hotline:promises"
	// MaxReminderLeads is how many reminder lead times a promise may have:
	// the index keeps 8 entries per promise, one for the escalation and
	// one per lead (see PromiseWatch).
	MaxReminderLeads = promiseSlots - 1
)

// SetDefaults fills unset fields, the policy's included.
func (c *PromiseConfig) SetDefaults() {
	c.PromisePolicy.SetDefaults()
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultPromiseKeyPrefix
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = 5 * time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = 30 * time.Second
	}
	if c.BatchSize == 0 {
		c.BatchSize = 200
	}
}

// Validate reports the first bad field, named by its YAML key under "promises.".
func (c PromiseConfig) Validate() error {
	if err := c.PromisePolicy.Validate(); err != nil {
		return err
	}
	switch {
	case len(c.ReminderLeads) > MaxReminderLeads:
		return fmt.Errorf("promises.reminder_leads: %d lead times, at most %d", len(c.ReminderLeads), MaxReminderLeads)
	case c.KeyPrefix == "":
		return fmt.Errorf("promises.key_prefix: must not be empty")
	case strings.ContainsAny(c.KeyPrefix, "{} \t\r\n"):
		return fmt.Errorf("promises.key_prefix: %q must not contain braces or white space", c.KeyPrefix)
	case c.Tick < 10*time.Millisecond:
		return fmt.Errorf("promises.tick: %s is shorter than 10ms", c.Tick)
	case c.ReconcileInterval < time.Second:
		return fmt.Errorf("promises.reconcile_interval: %s is shorter than 1s", c.ReconcileInterval)
	case c.PollInterval < c.Tick:
		return fmt.Errorf("promises.poll_interval: %s must not be shorter than promises.tick (%s)", c.PollInterval, c.Tick)
	case c.BatchSize < 1 || c.BatchSize > maxBatchSize:
		return fmt.Errorf("promises.batch_size: %d must be from 1 to %d", c.BatchSize, maxBatchSize)
	}
	return nil
}

// PromiseStore is what PromiseWatch needs of the database (*store.DB):
// SQLite holds every promise, and decides that each reminder and each
// escalation happens once.
type PromiseStore interface {
	// OpenPromiseDues returns up to limit unfinished promises with ids
	// above afterID, in id order, with their deadlines; a short page is
	// the end.
	OpenPromiseDues(ctx context.Context, afterID int64, limit int) ([]store.PromiseDue, error)
	// PromiseDeadlinesBefore returns up to limit unfinished promises whose
	// deadline is at or before horizon.
	PromiseDeadlinesBefore(ctx context.Context, horizon time.Time, limit int) ([]store.PromiseDue, error)
	// GetPromise reads a promise with the reminders sent for its current
	// deadline; KindNotFound when there is none.
	GetPromise(ctx context.Context, id int64) (hotline.Promise, error)
	// MarkReminderSent records that the reminder lead before promise id's
	// deadline goes out now: true exactly once per promise, deadline and lead.
	MarkReminderSent(ctx context.Context, id int64, lead time.Duration, now time.Time) (bool, error)
	// UnmarkReminderSent takes the mark back after the reminder could not
	// be pushed, so that it is tried again.
	UnmarkReminderSent(ctx context.Context, id int64, lead time.Duration) error
	// OverduePromiseIDs returns up to limit open promises, not escalated,
	// whose deadline is at or before now.
	OverduePromiseIDs(ctx context.Context, now time.Time, limit int) ([]int64, error)
	// MarkPromiseEscalated escalates promise id once (true), recording a
	// promise_overdue violation against its owner with detail in the same
	// transaction; false when it was escalated already or is finished.
	MarkPromiseEscalated(ctx context.Context, id int64, now time.Time, detail string) (bool, hotline.Violation, error)
}

// PromiseCalendar is the working-hours calendar (*hotline.Calendar) as
// promises need it: reminders fire a lead of working time before the
// deadline.
type PromiseCalendar interface {
	Calendar
	SubWorking(t time.Time, d time.Duration) time.Time
	WorkingBetween(a, b time.Time) time.Duration
}

// PromiseDeps are PromiseWatch's collaborators. Store, Redis, Calendar and
// Notifier are required.
type PromiseDeps struct {
	Store    PromiseStore
	Redis    redis.UniversalClient
	Calendar PromiseCalendar
	Notifier Notifier
	Log      *slog.Logger          // default: discard
	Now      func() time.Time      // default: time.Now
	Registry prometheus.Registerer // nil: metrics are not registered
}

// promiseSlots is how many index entries a promise has at most: its index
// members are id×promiseSlots + slot, slot 0 the escalation at the
// deadline and slot i (1…7) the reminder of ReminderLeads[i-1].
const promiseSlots = 8

const escalationSlot = 0

func promiseMember(id int64, slot int) int64 { return id*promiseSlots + int64(slot) }

func splitMember(m int64) (id int64, slot int) { return m / promiseSlots, int(m % promiseSlots) }

// PromiseWatch keeps the promised replies of clause 6.2: the owner of
// each unfinished promise (the call's first-responsible agent) is reminded
// at every lead time of working time before its deadline, and at the
// deadline the promise is escalated, a promise_overdue violation (拖延)
// recorded against the owner, and the supervisors and the owner told.
// Each reminder and each escalation happens once per promise and deadline,
// across restarts and instances: the store decides it (MarkReminderSent,
// MarkPromiseEscalated) before anybody is told.
//
// SQLite is the truth. Redis holds an Index of when each promise next
// needs attention, under its own key prefix: every unfinished promise has
// one member per reminder lead, due at calendar.SubWorking(deadline,
// lead), and one for the escalation, due at the deadline; a member is
// id×8 + slot, slot 0 the escalation and slot i the reminder of
// ReminderLeads[i-1]. A popped entry is only a hint: the promise is read
// from SQLite and the entry moved to its right time (a deadline was
// extended, the lead times changed) or dropped (finished, reminded
// already, escalated already). The index is rebuilt from SQLite at start,
// every ReconcileInterval, at once when it is found lost, and when Redis
// answers again; while Redis fails the watch polls SQLite every
// PollInterval instead and says so in the redis_degraded gauge.
//
// A process that dies between marking a reminder sent and pushing it
// loses that one reminder: the mark says it went out.
type PromiseWatch struct {
	cfg      PromiseConfig
	leads    []time.Duration
	maxLead  time.Duration
	store    PromiseStore
	index    *Index
	rdb      redis.UniversalClient
	cal      PromiseCalendar
	notifier Notifier
	log      *slog.Logger
	now      func() time.Time
	m        *promiseMetrics

	redisHealth
	reconcileMu sync.Mutex

	rounds
}

// NewPromiseWatch builds the watch; Start runs it.
func NewPromiseWatch(cfg PromiseConfig, d PromiseDeps) (*PromiseWatch, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case d.Store == nil:
		return nil, errors.New("callback.NewPromiseWatch: a store is required")
	case d.Redis == nil:
		return nil, errors.New("callback.NewPromiseWatch: a Redis client is required")
	case d.Calendar == nil:
		return nil, errors.New("callback.NewPromiseWatch: a calendar is required")
	case d.Notifier == nil:
		return nil, errors.New("callback.NewPromiseWatch: a notifier is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	w := &PromiseWatch{
		cfg: cfg, leads: slices.Clone(cfg.ReminderLeads), store: d.Store, index: NewIndex(d.Redis, cfg.KeyPrefix),
		rdb: d.Redis, cal: d.Calendar, notifier: d.Notifier, log: d.Log.With("component", "promises"), now: d.Now,
		m: newPromiseMetrics(d.Registry, cfg.ReminderLeads),
	}
	w.redisHealth = redisHealth{index: "promise", work: "promise reminders and escalations", rdb: d.Redis, log: w.log, now: d.Now,
		every: cfg.ReconcileInterval, poll: cfg.PollInterval, reconcile: w.Reconcile,
		degradedGauge: w.m.degraded, errors: w.m.redisErrors}
	for _, l := range w.leads {
		w.maxLead = max(w.maxLead, l)
	}
	return w, nil
}

// Index is the watch's Redis index (members id×8 + slot).
func (w *PromiseWatch) Index() *Index { return w.index }

// Start rebuilds the index and then looks for due reminders and
// escalations every Tick (every PollInterval while Redis is down) until
// Stop.
func (w *PromiseWatch) Start(ctx context.Context) {
	w.rounds.start(ctx, &w.redisHealth, w.cfg.Tick, func(ctx context.Context) { w.runOnce(ctx) })
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
	if !unfinished(p) {
		return w.Forget(ctx, p.ID)
	}
	if w.degraded.Load() {
		return nil
	}
	add := map[int64]time.Time{}
	var drop []int64
	if p.EscalatedAt.IsZero() {
		add[promiseMember(p.ID, escalationSlot)] = p.Deadline
	} else {
		drop = append(drop, promiseMember(p.ID, escalationSlot))
	}
	for i, lead := range w.leads {
		m := promiseMember(p.ID, i+1)
		fire := w.cal.SubWorking(p.Deadline, lead)
		if slices.Contains(p.RemindersSent, lead) || fire.IsZero() || !p.EscalatedAt.IsZero() {
			drop = append(drop, m)
			continue
		}
		add[m] = fire
	}
	for slot := len(w.leads) + 1; slot < promiseSlots; slot++ {
		drop = append(drop, promiseMember(p.ID, slot))
	}
	err := w.index.Remove(ctx, drop...)
	if err == nil {
		err = w.index.AddMany(ctx, add)
	}
	if err != nil {
		w.redisFailed(ctx, "index a promise", err)
	}
	return err
}

// Forget drops every index entry of promise id (fulfilled or closed). Like
// Track, a Redis failure is handled here and returned for information.
func (w *PromiseWatch) Forget(ctx context.Context, id int64) error {
	if w.degraded.Load() {
		return nil
	}
	members := make([]int64, promiseSlots)
	for slot := range members {
		members[slot] = promiseMember(id, slot)
	}
	err := w.index.Remove(ctx, members...)
	if err != nil {
		w.redisFailed(ctx, "forget a promise", err)
	}
	return err
}

// unfinished: the promise still waits for its reply (open, overdue, or
// escalated and not yet fulfilled or closed).
func unfinished(p hotline.Promise) bool {
	switch p.State {
	case hotline.PromiseOpen, hotline.PromiseOverdue, hotline.PromiseEscalated:
		return true
	}
	return false
}

// Reconcile rebuilds the Redis index from SQLite: every unfinished promise
// whose deadline is still ahead gets its entries, and every promise past
// its deadline and not escalated yet (OverduePromiseIDs, up to one page of
// Index.PageSize; a longer backlog follows at the next rebuild) its
// escalation entry, due now. Escalated promises waiting for their reply
// get none. Like Index.Rebuild it adds and never removes, and only ever
// makes an entry earlier (ZADD LT): an entry made too early by a deadline
// extended meanwhile is moved to its right time when it pops, and one of a
// reminder sent already is dropped.
func (w *PromiseWatch) Reconcile(ctx context.Context) error {
	w.reconcileMu.Lock()
	defer w.reconcileMu.Unlock()
	start := time.Now()
	w.lastReconcile.Store(w.now().UnixMilli()) // a failure waits for the next interval too
	n, err := w.rebuild(ctx)
	if err != nil {
		w.m.reconciles.WithLabelValues("error").Inc()
		if IsRedisError(err) {
			w.redisFailed(ctx, "rebuild the index", err)
		} else if ctx.Err() == nil {
			w.m.storeErrors.Inc()
			w.log.Error("rebuilding the promise index failed", "indexed", n, "err", err)
		}
		return err
	}
	w.m.reconciles.WithLabelValues("ok").Inc()
	w.log.Info("promise index rebuilt from SQLite", "unfinished_promises", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (w *PromiseWatch) rebuild(ctx context.Context) (int, error) {
	x := w.index
	pageSize := x.PageSize
	if pageSize <= 0 {
		pageSize = 5000
	}
	now := w.now()
	total := 0
	members := make([]redis.Z, 0, pageSize*(1+len(w.leads)))
	var after int64
	for {
		dues, err := w.store.OpenPromiseDues(ctx, after, pageSize)
		if err != nil {
			return total, fmt.Errorf("callback: rebuild the promise index: read unfinished promises: %w", err)
		}
		members = members[:0]
		for _, d := range dues {
			if !now.Before(d.Deadline) {
				continue // escalated already, or among the overdue below
			}
			members = append(members, redis.Z{Score: float64(hotline.UnixMilli(d.Deadline)), Member: promiseMember(d.ID, escalationSlot)})
			for i, lead := range w.leads {
				if fire := w.cal.SubWorking(d.Deadline, lead); !fire.IsZero() {
					members = append(members, redis.Z{Score: float64(hotline.UnixMilli(fire)), Member: promiseMember(d.ID, i+1)})
				}
			}
		}
		if len(members) > 0 {
			if err := x.rdb.ZAddLT(ctx, x.due, members...).Err(); err != nil {
				return total, wrapRedis("rebuild promises", err)
			}
		}
		total += len(dues)
		if len(dues) < pageSize {
			break
		}
		after = dues[len(dues)-1].ID
	}
	// The promises past their deadline and not escalated yet: due now.
	overdue, err := w.store.OverduePromiseIDs(ctx, now, pageSize)
	if err != nil {
		return total, fmt.Errorf("callback: rebuild the promise index: read overdue promises: %w", err)
	}
	if len(overdue) > 0 {
		members = members[:0]
		for _, id := range overdue {
			members = append(members, redis.Z{Score: float64(hotline.UnixMilli(now)), Member: promiseMember(id, escalationSlot)})
		}
		if err := x.rdb.ZAddLT(ctx, x.due, members...).Err(); err != nil {
			return total, wrapRedis("rebuild promises", err)
		}
	}
	if err := x.rdb.Set(ctx, x.built, time.Now().UTC().Format(time.RFC3339), 0).Err(); err != nil {
		return total, wrapRedis("rebuild promises", err)
	}
	return total, nil
}

// promiseStats says what one round did, for tests.
type promiseStats struct {
	due, reminded, escalated int
	source                   string // "redis" or "sql"
}

// runOnce is one round: check Redis (recover, or reconcile when it is
// time), then send the due reminders and escalate the overdue promises,
// from the index or, while Redis fails, from the SQL poll.
func (w *PromiseWatch) runOnce(ctx context.Context) promiseStats {
	var st promiseStats
	w.checkRedis(ctx)
	if !w.degraded.Load() {
		w.fromIndex(ctx, &st)
	}
	if w.degraded.Load() && ctx.Err() == nil {
		w.fromSQL(ctx, &st)
	}
	if !w.degraded.Load() {
		if n, err := w.index.Size(ctx); err == nil {
			w.m.indexSize.Set(float64(n))
		}
	}
	return st
}

func (w *PromiseWatch) storeFailed(ctx context.Context, what string, err error, args ...any) {
	if ctx.Err() != nil {
		return
	}
	w.m.storeErrors.Inc()
	w.log.Error("promises: database "+what+" failed", append(args, "err", err)...)
}

// entryAction is what becomes of a popped index entry.
type entryAction int

const (
	entryDone  entryAction = iota // handled or moot: drop it
	entryMove                     // due again at the time given
	entryRetry                    // a failure: leave it in flight; it comes back after the visibility timeout
)

// fromIndex pops the due entries and handles each against SQLite.
func (w *PromiseWatch) fromIndex(ctx context.Context, st *promiseStats) {
	now := w.now()
	members, err := w.index.PopDue(ctx, now, w.cfg.BatchSize)
	if errors.Is(err, ErrIndexLost) {
		w.log.Warn("the promise index is gone from Redis (flushed, or restarted without its data): rebuilding it from SQLite")
		if err = w.Reconcile(ctx); err != nil {
			return // logged there; a Redis failure switched to the SQL poll
		}
		members, err = w.index.PopDue(ctx, now, w.cfg.BatchSize)
	}
	if err != nil {
		w.redisFailed(ctx, "pop due promises", err)
		return
	}
	st.source = "redis"
	st.due = len(members)
	w.m.due.WithLabelValues("redis").Add(float64(len(members)))
	var done []int64
	moved := map[int64]time.Time{}
	promises := map[int64]*hotline.Promise{} // read once per round
	for _, m := range members {
		if ctx.Err() != nil {
			break // what is left in flight comes back after the visibility timeout
		}
		id, slot := splitMember(m)
		p, ok := promises[id]
		if !ok {
			got, err := w.store.GetPromise(ctx, id)
			switch {
			case err == nil:
				p = &got
			case hotline.KindOf(err) == hotline.KindNotFound:
			default:
				w.storeFailed(ctx, "read a promise", err, "promise", id)
				continue
			}
			promises[id] = p
		}
		if p == nil || !unfinished(*p) {
			done = append(done, m)
			continue
		}
		var (
			action entryAction // entryDone for a slot past the lead times (they changed)
			at     time.Time
		)
		switch {
		case slot == escalationSlot:
			action, at = w.escalate(ctx, p, now, st)
		case slot <= len(w.leads):
			action, at = w.remind(ctx, p, w.leads[slot-1], now, st)
		}
		switch action {
		case entryDone:
			done = append(done, m)
		case entryMove:
			moved[m] = at
		}
	}
	err = w.index.Remove(ctx, done...)
	if err == nil {
		err = w.index.AddMany(ctx, moved)
	}
	if err != nil {
		w.redisFailed(ctx, "update popped promise entries", err)
	}
}

// fromSQL is the slow poll while Redis is down: the overdue promises are
// escalated, and the promises whose deadline is within the largest lead
// of working time get their due reminders.
func (w *PromiseWatch) fromSQL(ctx context.Context, st *promiseStats) {
	now := w.now()
	st.source = "sql"
	ids, err := w.store.OverduePromiseIDs(ctx, now, w.cfg.BatchSize)
	if err != nil {
		w.storeFailed(ctx, "poll overdue promises", err)
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		st.due++
		w.m.due.WithLabelValues("sql").Inc()
		p, err := w.store.GetPromise(ctx, id)
		if err != nil {
			if hotline.KindOf(err) != hotline.KindNotFound {
				w.storeFailed(ctx, "read a promise", err, "promise", id)
			}
			continue
		}
		if unfinished(p) {
			w.escalate(ctx, &p, now, st)
		}
	}
	if len(w.leads) == 0 {
		return
	}
	// A reminder is due when at most the largest lead of working time is
	// left; a deadline in closed hours after that point counts the same,
	// hence the next opening.
	horizon := w.cal.AddWorking(now, w.maxLead)
	if horizon.IsZero() {
		return
	}
	if next := w.cal.NextOpen(horizon); !next.IsZero() {
		horizon = next
	}
	dues, err := w.dueSoon(ctx, now, horizon)
	if err != nil {
		w.storeFailed(ctx, "poll promises due soon", err)
		return
	}
	for _, d := range dues {
		if ctx.Err() != nil {
			return
		}
		var due []time.Duration
		for _, lead := range w.leads {
			if fire := w.cal.SubWorking(d.Deadline, lead); !fire.IsZero() && !now.Before(fire) {
				due = append(due, lead)
			}
		}
		if len(due) == 0 {
			continue
		}
		p, err := w.store.GetPromise(ctx, d.ID)
		if err != nil {
			if hotline.KindOf(err) != hotline.KindNotFound {
				w.storeFailed(ctx, "read a promise", err, "promise", d.ID)
			}
			continue
		}
		if !unfinished(p) {
			continue
		}
		for _, lead := range due {
			if !slices.Contains(p.RemindersSent, lead) {
				st.due++
				w.m.due.WithLabelValues("sql").Inc()
				w.remind(ctx, &p, lead, now, st)
			}
		}
	}
}

// dueSoon returns the unfinished promises whose deadline is after now and
// at or before horizon. PromiseDeadlinesBefore reads them earliest
// deadline first, escalated promises still waiting for their reply
// included; when its page is full, the rest may lie beyond it, and all
// unfinished promises are read instead, page by page in id order: slower,
// but only while Redis is down and that many deadlines are close or past.
func (w *PromiseWatch) dueSoon(ctx context.Context, now, horizon time.Time) ([]store.PromiseDue, error) {
	inWindow := func(d store.PromiseDue) bool { return now.Before(d.Deadline) && !d.Deadline.After(horizon) }
	page, err := w.store.PromiseDeadlinesBefore(ctx, horizon, w.cfg.BatchSize)
	if err != nil {
		return nil, err
	}
	if len(page) < w.cfg.BatchSize {
		return slices.DeleteFunc(page, func(d store.PromiseDue) bool { return !inWindow(d) }), nil
	}
	var dues []store.PromiseDue
	pageSize := max(w.index.PageSize, w.cfg.BatchSize)
	for after := int64(0); ; {
		page, err := w.store.OpenPromiseDues(ctx, after, pageSize)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			if inWindow(d) {
				dues = append(dues, d)
			}
		}
		if len(page) < pageSize {
			return dues, nil
		}
		after = page[len(page)-1].ID
	}
}

// remind sends promise p's reminder of lead when it is due and nobody
// sent it yet: the store marks it sent (once across instances) before it
// is pushed to the owner, and takes the mark back when the push fails, so
// that the next round tries again.
func (w *PromiseWatch) remind(ctx context.Context, p *hotline.Promise, lead time.Duration, now time.Time, st *promiseStats) (entryAction, time.Time) {
	fire := w.cal.SubWorking(p.Deadline, lead)
	switch {
	case fire.IsZero(), !now.Before(p.Deadline), !p.EscalatedAt.IsZero(), slices.Contains(p.RemindersSent, lead):
		return entryDone, time.Time{} // too late (the escalation's), or sent already
	case now.Before(fire):
		return entryMove, fire // early: the deadline moved, or the leads changed
	}
	won, err := w.store.MarkReminderSent(ctx, p.ID, lead, now)
	if err != nil {
		w.storeFailed(ctx, "mark a reminder sent", err, "promise", p.ID, "lead", lead)
		return entryRetry, time.Time{}
	}
	if !won {
		return entryDone, time.Time{} // another instance, or an earlier round, sent it
	}
	if err := w.notifier.NotifyAgent(ctx, p.AgentID, w.reminderText(*p, now)); err != nil {
		w.m.notifyErrors.Inc()
		w.log.Warn("promise reminder not delivered; trying again next round", "promise", p.ID, "agent", p.AgentID,
			"lead", lead, "err", err)
		if err := w.store.UnmarkReminderSent(ctx, p.ID, lead); err != nil {
			w.storeFailed(ctx, "unmark a reminder that was not delivered", err, "promise", p.ID, "lead", lead)
			return entryDone, time.Time{} // marked sent for good: retrying would be refused
		}
		return entryMove, now
	}
	p.RemindersSent = append(p.RemindersSent, lead)
	st.reminded++
	w.m.reminders.WithLabelValues(leadLabel(lead)).Inc()
	w.log.Info("promise reminder sent", "promise", p.ID, "agent", p.AgentID, "lead", lead, "deadline", p.Deadline)
	return entryDone, time.Time{}
}

// escalate escalates promise p once it is past its deadline: the store
// marks it escalated and records the promise_overdue violation against the
// owner in one transaction, once across instances; the instance that did
// tells the supervisors and the owner.
func (w *PromiseWatch) escalate(ctx context.Context, p *hotline.Promise, now time.Time, st *promiseStats) (entryAction, time.Time) {
	switch {
	case !p.EscalatedAt.IsZero():
		return entryDone, time.Time{}
	case now.Before(p.Deadline):
		return entryMove, p.Deadline // early: the deadline was extended
	}
	won, v, err := w.store.MarkPromiseEscalated(ctx, p.ID, now, w.overdueDetail(*p))
	if err != nil {
		w.storeFailed(ctx, "mark a promise escalated", err, "promise", p.ID)
		return entryRetry, time.Time{}
	}
	if !won {
		return entryDone, time.Time{} // another instance escalated it, or it was finished meanwhile
	}
	p.EscalatedAt = now
	st.escalated++
	w.m.escalations.Inc()
	w.log.Warn("promise overdue: escalated to the supervisors", "promise", p.ID, "agent", p.AgentID, "call", p.CallID,
		"number", p.Number, "deadline", p.Deadline, "violation", v.ID)
	if err := w.notifier.NotifySupervisors(ctx, w.overdueSupervisorText(*p)); err != nil {
		w.m.notifyErrors.Inc()
		w.log.Error("supervisors not told of an overdue promise; it is escalated on record", "promise", p.ID, "err", err)
	}
	if err := w.notifier.NotifyAgent(ctx, p.AgentID, w.overdueAgentText(*p)); err != nil {
		w.m.notifyErrors.Inc()
		w.log.Warn("owner not told of an overdue promise", "promise", p.ID, "agent", p.AgentID, "err", err)
	}
	return entryDone, time.Time{}
}

// Texts. Times are written on the calendar's wall, e.g. "11月30日 09:00".

func (w *PromiseWatch) when(t time.Time) string {
	return t.In(w.cal.Location()).Format("1月2日 15:04")
}

// matterPart is "市民 13800138000（来电 c123）「社保转移进度」".
func matterPart(p hotline.Promise) string {
	citizen := "市民"
	if p.Number != "" {
		citizen += " " + p.Number
	}
	return fmt.Sprintf("%s（来电 %s）「%s」", citizen, p.CallID, p.Summary)
}

// workingLeft is the working time left before p's deadline, e.g. "约1小时"
// or "约10分钟".
func (w *PromiseWatch) workingLeft(p hotline.Promise, now time.Time) string {
	left := w.cal.WorkingBetween(now, p.Deadline).Round(time.Minute)
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

func (w *PromiseWatch) reminderText(p hotline.Promise, now time.Time) string {
	return fmt.Sprintf("承诺答复提醒 #%d：%s需在 %s 前答复，还剩%s。", p.ID, matterPart(p), w.when(p.Deadline), w.workingLeft(p, now))
}

func (w *PromiseWatch) overdueSupervisorText(p hotline.Promise) string {
	return fmt.Sprintf("承诺答复超时 #%d：%s答复期限 %s 已过，仍未答复，责任人 %s，已记拖延，请督办。", p.ID, matterPart(p), w.when(p.Deadline), p.AgentID)
}

func (w *PromiseWatch) overdueAgentText(p hotline.Promise) string {
	return fmt.Sprintf("承诺答复已超时 #%d：%s答复期限 %s 已过，已报督察并记拖延，请立即答复。", p.ID, matterPart(p), w.when(p.Deadline))
}

func (w *PromiseWatch) overdueDetail(p hotline.Promise) string {
	return fmt.Sprintf("承诺答复 #%d：%s答复期限 %s 已过，未答复（拖延）。", p.ID, matterPart(p), w.when(p.Deadline))
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

type promiseMetrics struct {
	reminders    *prometheus.CounterVec // lead
	escalations  prometheus.Counter
	due          *prometheus.CounterVec // source: redis, sql
	indexSize    prometheus.Gauge
	degraded     prometheus.Gauge
	redisErrors  prometheus.Counter
	storeErrors  prometheus.Counter
	notifyErrors prometheus.Counter
	reconciles   *prometheus.CounterVec // result: ok, error
}

func newPromiseMetrics(reg prometheus.Registerer, leads []time.Duration) *promiseMetrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &promiseMetrics{
		reminders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_promise_reminders_total",
			Help: "Reminders pushed to a promise's owner before its deadline, by lead time (once per promise, deadline and lead)."}, []string{"lead"}),
		escalations: counter("hotline_promise_escalations_total",
			"Promises escalated at their deadline by this instance, each with a promise_overdue violation (once per promise and deadline across instances)."),
		due: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_promise_due_total",
			Help: "Due reminders and escalations found, by source: redis (the index) or sql (the slow poll while Redis is down)."}, []string{"source"}),
		indexSize: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_promise_index_size",
			Help: "Entries in the Redis promise index (one per reminder lead and one for the escalation of each unfinished promise), due and in flight."}),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_promise_redis_degraded",
			Help: "1 while Redis fails and promise reminders and escalations come from the slow SQL poll."}),
		redisErrors:  counter("hotline_promise_redis_errors_total", "Failed Redis operations of the promise index."),
		storeErrors:  counter("hotline_promise_store_errors_total", "Failed database operations of the promise watch."),
		notifyErrors: counter("hotline_promise_notify_errors_total", "Promise reminders and escalation notices that could not be delivered."),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_promise_index_rebuilds_total",
			Help: "Rebuilds of the Redis promise index from SQLite, by result."}, []string{"result"}),
	}
	for _, lead := range leads {
		m.reminders.WithLabelValues(leadLabel(lead))
	}
	if reg != nil {
		reg.MustRegister(m.reminders, m.escalations, m.due, m.indexSize, m.degraded, m.redisErrors, m.storeErrors,
			m.notifyErrors, m.reconciles)
	}
	return m
}
