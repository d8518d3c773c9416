package callback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline"
	"hotline/store"
)

// Store is what the service needs of the database (*store.DB): SQLite is
// the source of truth of every task, and every claim is decided there.
type Store interface {
	DueSource
	AddMissedCall(ctx context.Context, m store.MissedCall) (hotline.CallbackTask, bool, error)
	GetTask(ctx context.Context, id int64) (hotline.CallbackTask, error)
	DueTaskIDs(ctx context.Context, now time.Time, limit int) ([]int64, error)
	ClaimTask(ctx context.Context, id int64, token string, now, leaseUntil time.Time) (hotline.CallbackTask, error)
	ExtendLease(ctx context.Context, id int64, token string, until time.Time) error
	ReleaseTask(ctx context.Context, id int64, token string, nextAttempt time.Time) error
	StartAttempt(ctx context.Context, id int64, token, agentID string, now time.Time) (int64, error)
	UpdateAttempt(ctx context.Context, token string, a hotline.CallbackAttempt) error
	FinishAttempt(ctx context.Context, token string, a hotline.CallbackAttempt, t hotline.CallbackTask) error
	ResolveByInbound(ctx context.Context, number, callID string, now time.Time) ([]int64, error)
	OverdueTaskIDs(ctx context.Context, now time.Time, limit int) ([]int64, error)
	MarkEscalated(ctx context.Context, id int64, now time.Time) (bool, error)
	AddViolation(ctx context.Context, v hotline.Violation) (int64, error)
	ResponsibleAgent(ctx context.Context, number string, since time.Time) (string, error)
}

// Calendar is the working-hours calendar (*hotline.Calendar).
type Calendar interface {
	hotline.WorkingTime
	IsOpen(t time.Time) bool
	Location() *time.Location
}

// Dialer makes one callback attempt on a claimed task (ari.Dialer, through
// DialerFunc). It may return at once and dial in the background; whatever
// it does to the task goes through the lease, which it must end with
// Finish or Release. A dialer that drops the lease (it crashed) loses the
// task when the lease runs out: another instance claims it again.
type Dialer interface {
	Dial(ctx context.Context, task hotline.CallbackTask, lease *Lease)
}

// DialerFunc adapts a function to Dialer.
type DialerFunc func(ctx context.Context, task hotline.CallbackTask, lease *Lease)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, task hotline.CallbackTask, lease *Lease) {
	f(ctx, task, lease)
}

// Notifier tells people about callback tasks (SIP MESSAGE to softphones,
// the console). Texts are Chinese and complete.
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

// Deps are the service's collaborators. Store, Redis, Calendar, Dialer and
// Notifier are required.
type Deps struct {
	Store    Store
	Redis    redis.UniversalClient
	Calendar Calendar
	Dialer   Dialer
	Notifier Notifier
	Log      *slog.Logger          // default: discard
	Now      func() time.Time      // default: time.Now
	Registry prometheus.Registerer // nil: metrics are not registered
}

// Service runs the missed-call callbacks of clause 6.1: every missed call
// with a callable number becomes a task (or merges into its number's open
// task) with a working-time deadline; due tasks are claimed in SQL under a
// lease and handed to the Dialer during working hours; overdue tasks are
// escalated once, and agents reminded once before the deadline.
//
// SQLite is the truth, Redis only an index (see Index): while Redis fails
// the service polls SQLite every PollInterval instead and says so in the
// redis_degraded gauge; when Redis answers again it rebuilds the index and
// goes back to it. Several instances may share one Redis and one database:
// the claim in SQL decides which one dials a task.
type Service struct {
	cfg      Config
	store    Store
	index    *Index
	rdb      redis.UniversalClient
	cal      Calendar
	dialer   Dialer
	notifier Notifier
	log      *slog.Logger
	now      func() time.Time
	m        *metrics

	redisHealth
	reconcileMu sync.Mutex

	rounds
}

// New builds the service; Start runs it.
func New(cfg Config, d Deps) (*Service, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case d.Store == nil:
		return nil, errors.New("callback.New: a store is required")
	case d.Redis == nil:
		return nil, errors.New("callback.New: a Redis client is required")
	case d.Calendar == nil:
		return nil, errors.New("callback.New: a calendar is required")
	case d.Dialer == nil:
		return nil, errors.New("callback.New: a dialer is required")
	case d.Notifier == nil:
		return nil, errors.New("callback.New: a notifier is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{
		cfg: cfg, store: d.Store, index: NewIndex(d.Redis, cfg.KeyPrefix), rdb: d.Redis, cal: d.Calendar,
		dialer: d.Dialer, notifier: d.Notifier, log: d.Log.With("component", "callbacks"), now: d.Now,
		m: newMetrics(d.Registry),
	}
	s.redisHealth = redisHealth{index: "callback", work: "due callbacks", rdb: d.Redis, log: s.log, now: d.Now,
		every: cfg.ReconcileInterval, poll: cfg.PollInterval, reconcile: s.Reconcile,
		degradedGauge: s.m.degraded, errors: s.m.redisErrors}
	return s, nil
}

// Index is the service's Redis index.
func (s *Service) Index() *Index { return s.index }

// Start rebuilds the index and then looks for work every Tick (every
// PollInterval while Redis is down) until Stop.
func (s *Service) Start(ctx context.Context) {
	s.rounds.start(ctx, &s.redisHealth, s.cfg.Tick, func(ctx context.Context) { s.runOnce(ctx) })
}

// Stop ends the loop and waits for the round in progress. Attempts the
// dialer runs in the background are the dialer's to end.
func (s *Service) Stop() { s.rounds.stop() }

// MissedCall takes a call that ended without an agent (ari.CallbackQueue).
// A callable number gets a task, or its open task one more missed call:
// the deadline is policy.SLA of working time after the miss, the first
// attempt due when the line is next open, and the responsible agent the
// one of the citizen's open matter, else offeredTo (the agent the call was
// offered to first), else none. SQLite is written first; a Redis failure
// after that is logged and counted, never returned: the task is safe and
// the SQL poll and the next rebuild find it. A call without a callable
// number is counted (hotline_callback_uncallable_missed_calls_total) and
// logged with its id and raw caller id; its calls row stays, missed, with
// an empty caller_number.
func (s *Service) MissedCall(ctx context.Context, call hotline.Call, offeredTo string) error {
	missedAt := call.EndedAt
	if missedAt.IsZero() {
		missedAt = s.now()
	}
	if call.CallerNumber == "" {
		s.m.uncallable.Inc()
		s.log.Warn("missed call cannot be called back: no callable caller number; a supervisor must review it",
			"call", call.ID, "caller_raw", call.CallerRaw, "missed_reason", call.MissedReason, "missed_at", missedAt)
		return nil
	}
	agent := offeredTo
	since := missedAt.Add(-time.Duration(s.cfg.ResponsibleDays) * 24 * time.Hour)
	switch id, err := s.store.ResponsibleAgent(ctx, call.CallerNumber, since); {
	case err == nil && id != "":
		agent = id
	case err != nil && hotline.KindOf(err) != hotline.KindNotFound:
		s.log.Warn("responsible agent lookup failed; the agent the call was offered to stays responsible",
			"call", call.ID, "number", call.CallerNumber, "offered_to", offeredTo, "err", err)
	}
	task, created, err := s.store.AddMissedCall(ctx, store.MissedCall{
		CallID: call.ID, Number: call.CallerNumber, AgentID: agent, MissedAt: missedAt,
		Deadline: s.cfg.Deadline(missedAt, s.cal), DueAt: s.cal.NextOpen(missedAt),
	})
	if err != nil {
		s.m.storeErrors.Inc()
		return fmt.Errorf("callback task for missed call %s: %w", call.ID, err)
	}
	if created {
		s.m.tasks.WithLabelValues("created").Inc()
	} else {
		s.m.tasks.WithLabelValues("merged").Inc()
	}
	s.log.Info("missed call queued for a callback", "call", call.ID, "task", task.ID, "number", task.Number,
		"created", created, "missed_count", task.MissedCount, "agent", task.AgentID, "deadline", task.Deadline)
	if task.Open() {
		s.indexAdd(ctx, task.ID, dueOf(task))
	}
	if created && task.AgentID != "" {
		// The responsible agent learns of the duty at once, on the softphone (6.1).
		s.notifyAgent(ctx, task.ID, task.AgentID, s.createdText(task))
	}
	return nil
}

// Answered hears that the citizen at number got through on call callID
// (ari.CallbackQueue): their open task is resolved by the inbound call and
// leaves the index.
func (s *Service) Answered(ctx context.Context, number, callID string) error {
	if number == "" {
		return nil
	}
	ids, err := s.store.ResolveByInbound(ctx, number, callID, s.now())
	if err != nil {
		s.m.storeErrors.Inc()
		return fmt.Errorf("resolve the callbacks of %s: %w", number, err)
	}
	if len(ids) == 0 {
		return nil
	}
	s.m.resolved.Add(float64(len(ids)))
	s.log.Info("callback task resolved: the citizen called in and was answered", "tasks", ids, "number", number, "call", callID)
	if !s.degraded.Load() {
		if err := s.index.Remove(ctx, ids...); err != nil {
			s.redisFailed(ctx, "remove resolved tasks", err)
		}
	}
	return nil
}

// Reconcile rebuilds the Redis index from SQLite (Index.Rebuild). It runs
// at start, every ReconcileInterval, at once when the index was lost, and
// when Redis answers again after a failure.
func (s *Service) Reconcile(ctx context.Context) error {
	s.reconcileMu.Lock()
	defer s.reconcileMu.Unlock()
	start := time.Now()
	s.lastReconcile.Store(s.now().UnixMilli()) // a failure waits for the next interval too
	n, err := s.index.Rebuild(ctx, s.store)
	if err != nil {
		s.m.reconciles.WithLabelValues("error").Inc()
		if IsRedisError(err) {
			s.redisFailed(ctx, "rebuild the index", err)
		} else if ctx.Err() == nil {
			s.m.storeErrors.Inc()
			s.log.Error("rebuilding the callback index failed", "indexed", n, "err", err)
		}
		return err
	}
	s.m.reconciles.WithLabelValues("ok").Inc()
	s.log.Info("callback index rebuilt from SQLite", "open_tasks", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// runStats says what one round did, for tests.
type runStats struct {
	due, claimed, conflicts, escalated, reminded int
	source                                       string // "redis" or "sql"
}

// runOnce is one round: check Redis (recover, or reconcile when it is
// time), claim and dial the due tasks when the line is open, escalate the
// overdue ones and remind agents of deadlines coming up.
func (s *Service) runOnce(ctx context.Context) runStats {
	var st runStats
	s.checkRedis(ctx)
	if s.cal.IsOpen(s.now()) {
		s.dialDue(ctx, &st)
	}
	s.escalate(ctx, &st)
	s.remind(ctx, &st)
	if !s.degraded.Load() {
		if n, err := s.index.Size(ctx); err == nil {
			s.m.indexSize.Set(float64(n))
		}
	}
	return st
}

// indexAdd indexes a task unless Redis is known to be down; a failure is
// logged and counted.
func (s *Service) indexAdd(ctx context.Context, id int64, due time.Time) {
	if s.degraded.Load() {
		return
	}
	if err := s.index.Add(ctx, id, due); err != nil {
		s.redisFailed(ctx, "index a task", err)
	}
}

// dueOf is when an open task next needs the dialer: a dialing one when
// its lease runs out, a pending one at its next attempt.
func dueOf(t hotline.CallbackTask) time.Time {
	if t.State == hotline.CallbackDialing {
		return t.LeaseUntil
	}
	return t.NextAttempt
}

// dialDue claims the due tasks and hands each to the dialer.
func (s *Service) dialDue(ctx context.Context, st *runStats) {
	now := s.now()
	var ids []int64
	if !s.degraded.Load() {
		var err error
		ids, err = s.index.PopDue(ctx, now, s.cfg.BatchSize)
		if errors.Is(err, ErrIndexLost) {
			s.log.Warn("the callback index is gone from Redis (flushed, or restarted without its data): rebuilding it from SQLite")
			if err = s.Reconcile(ctx); err != nil {
				// Logged there; a Redis failure switched to the SQL poll below.
				ids, err = nil, nil
			} else {
				ids, err = s.index.PopDue(ctx, now, s.cfg.BatchSize)
			}
		}
		if err != nil {
			s.redisFailed(ctx, "pop due tasks", err)
		}
		st.source = "redis"
	}
	if s.degraded.Load() {
		var err error
		ids, err = s.store.DueTaskIDs(ctx, now, s.cfg.BatchSize)
		if err != nil {
			s.storeFailed(ctx, "poll due tasks", err)
			return
		}
		st.source = "sql"
	}
	st.due = len(ids)
	s.m.due.WithLabelValues(st.source).Add(float64(len(ids)))
	for _, id := range ids {
		if ctx.Err() != nil {
			return // the ids left in flight come back after the visibility timeout
		}
		s.claimAndDial(ctx, id, st)
	}
}

// claimAndDial claims task id in SQL under a fresh token and hands it to
// the dialer. A conflict is normal: another instance holds the task, or the
// index entry was stale; either way the entry is corrected from SQLite.
func (s *Service) claimAndDial(ctx context.Context, id int64, st *runStats) {
	now := s.now()
	token := newToken()
	until := now.Add(s.cfg.Lease)
	task, err := s.store.ClaimTask(ctx, id, token, now, until)
	switch hotline.KindOf(err) {
	case "":
	case hotline.KindConflict:
		st.conflicts++
		s.m.conflicts.Inc()
		s.log.Debug("callback task not claimable", "task", id, "err", err)
		s.reindex(ctx, id)
		return
	case hotline.KindNotFound:
		if !s.degraded.Load() {
			if err := s.index.Remove(ctx, id); err != nil {
				s.redisFailed(ctx, "remove a task", err)
			}
		}
		return
	default:
		s.storeFailed(ctx, "claim a task", err, "task", id)
		return
	}
	st.claimed++
	s.m.claimed.Inc()
	// Due again when the lease runs out, in case this process dies.
	s.indexAdd(ctx, id, until)
	s.log.Info("callback task claimed", "task", id, "number", task.Number, "agent", task.AgentID,
		"attempts", task.Attempts, "deadline", task.Deadline, "lease_until", until)
	s.dialer.Dial(ctx, task, &Lease{s: s, task: task, token: token, until: until})
}

// reindex sets task id's index entry from SQLite.
func (s *Service) reindex(ctx context.Context, id int64) {
	if s.degraded.Load() {
		return
	}
	task, err := s.store.GetTask(ctx, id)
	switch {
	case hotline.KindOf(err) == hotline.KindNotFound || (err == nil && !task.Open()):
		err = s.index.Remove(ctx, id)
	case err == nil:
		err = s.index.Add(ctx, id, dueOf(task))
	default:
		s.storeFailed(ctx, "read a task", err, "task", id)
		return
	}
	if err != nil {
		s.redisFailed(ctx, "reindex a task", err)
	}
}

func (s *Service) storeFailed(ctx context.Context, what string, err error, args ...any) {
	if ctx.Err() != nil {
		return
	}
	s.m.storeErrors.Inc()
	s.log.Error("callbacks: database "+what+" failed", append(args, "err", err)...)
}

// newToken is a lease token no other claim will ever use.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}
