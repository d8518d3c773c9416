package callback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"hotline"
	"hotline/store"
)

// Store is what the service needs of the database (*store.DB): SQLite is
// the source of truth of every task, and every claim is decided there.
type Store interface {
	DeadlineStore
	AddMissedCall(ctx context.Context, m store.MissedCall) (hotline.CallbackTask, bool, error)
	GetTask(ctx context.Context, id int64) (hotline.CallbackTask, error)
	GetTasks(ctx context.Context, ids []int64) ([]hotline.CallbackTask, error)
	DueTaskIDs(ctx context.Context, now time.Time, limit int) ([]int64, error)
	ClaimTasks(ctx context.Context, ids []int64, batch string, now, leaseUntil time.Time) ([]hotline.CallbackTask, error)
	ExtendLease(ctx context.Context, id int64, token string, until time.Time) error
	ReleaseTask(ctx context.Context, id int64, token string, nextAttempt time.Time) error
	StartAttempt(ctx context.Context, id int64, token, agentID string, now time.Time) (int64, error)
	UpdateAttempt(ctx context.Context, token string, a hotline.CallbackAttempt) error
	FinishAttempt(ctx context.Context, token string, a hotline.CallbackAttempt, t hotline.CallbackTask) error
	HandOver(ctx context.Context, id int64, token, to string, now time.Time, detail string) (hotline.Violation, error)
	StaleAttempts(ctx context.Context, now time.Time, limit int) ([]hotline.CallbackAttempt, error)
	SettleAttempt(ctx context.Context, a hotline.CallbackAttempt, t hotline.CallbackTask, now time.Time) error
	ResolveByInbound(ctx context.Context, number, callID string, now time.Time) ([]int64, error)
	ResponsibleAgent(ctx context.Context, number string, since time.Time) (string, error)
}

// Dialer makes one callback attempt on a claimed task (ari.Dialer, through
// DialerFunc). It may return at once and dial in the background; whatever
// it does to the task goes through the lease, which it must end with
// Finish or Release. A dialer that drops the lease (it crashed) leaves the
// task to be settled once the lease has run out.
type Dialer interface {
	Dial(ctx context.Context, task hotline.CallbackTask, lease *Lease)
}

// DialerFunc adapts a function to Dialer.
type DialerFunc func(ctx context.Context, task hotline.CallbackTask, lease *Lease)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, task hotline.CallbackTask, lease *Lease) {
	f(ctx, task, lease)
}

// Agents says who can make callbacks now (ari.Dialer): the service claims
// only the tasks free agents can take, so its work follows free agents and
// not the number of open tasks.
type Agents interface {
	// Free is how many agents could start a callback now.
	Free() int
	// Takes reports whether a free agent would make task's call now; when
	// not, wait is how long before asking again is worth it.
	Takes(task hotline.CallbackTask) (ok bool, wait time.Duration)
}

// Inbound says how many inbound calls wait for an agent now (ari.Calls):
// citizens on the line come first, so no callback is dialed while one
// waits.
type Inbound interface {
	Waiting() int
}

// Probe tells whether an attempt its dialer left mid-dial (the process
// died) still has live channels in Asterisk (ari.Dialer).
type Probe interface {
	AttemptLive(ctx context.Context, a hotline.CallbackAttempt) (bool, error)
}

// Deps are the service's collaborators. Store, Dialer and the Common ones
// are required.
type Deps struct {
	Common
	Store  Store
	Dialer Dialer
	// Agents bounds the claims by the free agents; nil claims up to
	// BatchSize due tasks a round (tests).
	Agents Agents
	// Probe asks Asterisk about attempts left mid-dial; nil takes their
	// channels for gone.
	Probe Probe
	// Inbound holds the dials while citizens wait on inbound calls; nil
	// never holds them.
	Inbound Inbound
}

// lookahead is how many due tasks a round reads per free agent: enough to
// find ones whose responsible agent is free behind ones that must wait.
const lookahead = 4

// Service runs the missed-call callbacks of clause 6.1 on the deadline
// engine: every missed call with a callable number becomes a task (or
// merges into its number's open task) with a working-time deadline; the
// engine reminds and escalates; due tasks are claimed in SQL under a lease,
// as many as free agents can take, and handed to the Dialer during working
// hours. A task whose dialer died mid-dial is settled once its lease has
// run out: while its channels still live in Asterisk it waits, and then
// its attempt ends (connected when the citizen was bridged, else failed)
// and it is due again: never lost, never dialed twice at once.
//
// SQLite is the truth, Redis only two indexes (see Index): the next
// reminder or escalation of each open task, and its next dial. While Redis
// fails the service polls SQLite every PollInterval instead and says so in
// the redis_degraded gauge; when Redis answers again it rebuilds the
// indexes and goes back to them. Several instances may share one Redis and
// one database: the claim in SQL decides which one dials a task.
type Service struct {
	*engine
	cfg     Config
	store   Store
	dialer  Dialer
	agents  Agents
	probe   Probe
	inbound Inbound
	texts   tasks
	m       *metrics
}

// New builds the service; Start runs it.
func New(cfg Config, d Deps) (*Service, error) {
	if err := d.check("callback.New", &cfg, d.Store != nil); err != nil {
		return nil, err
	}
	if d.Dialer == nil {
		return nil, errors.New("callback.New: a dialer is required")
	}
	s := &Service{cfg: cfg, store: d.Store, dialer: d.Dialer, agents: d.Agents, probe: d.Probe, inbound: d.Inbound, m: newMetrics()}
	s.texts = tasks{loader: loader[hotline.CallbackTask]{get: d.Store.GetTasks, wrap: taskMatter}}
	s.engine = d.engine(cfg.EngineConfig, engineDeps{kind: store.CallbackTasks, name: "callback", matters: &s.texts,
		store: d.Store, leads: cfg.leads(), withWork: true,
		metrics: newEngineMetrics("callback", cfg.leads()),
	}, s.m.collectors()...)
	s.texts.e = s.engine
	s.reconcile = s.Reconcile
	return s, nil
}

// Index is the queue of the tasks' next dials.
func (s *Service) Index() *Index { return s.work }

// Start settles what dialers left mid-dial, rebuilds the indexes and then
// looks for work every Tick (every PollInterval while Redis is down) until
// Stop.
func (s *Service) Start(ctx context.Context) {
	s.rounds.start(ctx, &s.redisHealth, s.cfg.Tick, func(ctx context.Context) bool { return s.round(ctx, s, true).more })
}

// Stop ends the loop and waits for the round in progress. Attempts the
// dialer runs in the background are the dialer's to end.
func (s *Service) Stop() { s.rounds.stop() }

// Reconcile settles the attempts dialers left mid-dial whose lease has run
// out, and rebuilds the Redis indexes from SQLite (engine.Reconcile). It
// runs at start, every ReconcileInterval, and when Redis answers again.
func (s *Service) Reconcile(ctx context.Context) error {
	s.settleStale(ctx)
	return s.engine.Reconcile(ctx)
}

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
			"call", call.ID, "number", hotline.MaskNumber(call.CallerNumber), "offered_to", offeredTo, "err", err)
	}
	task, created, err := s.store.AddMissedCall(ctx, store.MissedCall{
		CallID: call.ID, Number: call.CallerNumber, AgentID: agent, MissedAt: missedAt,
		Deadline: s.cfg.Deadline(missedAt, s.cal), DueAt: s.cal.NextOpen(missedAt),
	})
	if err != nil {
		s.metrics.storeErrors.Inc()
		return fmt.Errorf("callback task for missed call %s: %w", call.ID, err)
	}
	if created {
		s.m.tasks.WithLabelValues("created").Inc()
	} else {
		s.m.tasks.WithLabelValues("merged").Inc()
	}
	s.log.Info("missed call queued for a callback", "call", call.ID, "task", task.ID, "number", hotline.MaskNumber(task.Number),
		"created", created, "missed_count", task.MissedCount, "agent", task.AgentID, "deadline", task.Deadline)
	if task.Open() {
		s.indexWork(ctx, task.ID, dueOf(task))
		_ = s.track(ctx, taskMatter(task)) // a failure is logged and handled there
	}
	if created && task.AgentID != "" {
		// The responsible agent learns of the duty at once, on the softphone (6.1).
		if err := s.push(ctx, notice{agent: task.AgentID, text: s.texts.createdText(task)}); err != nil {
			s.log.Warn("agent not told of a new callback task", "task", task.ID, "agent", task.AgentID, "err", err)
		}
	}
	return nil
}

// Answered hears that the citizen at number got through on call callID
// (ari.CallbackQueue): their open task is resolved by the inbound call and
// leaves the indexes.
func (s *Service) Answered(ctx context.Context, number, callID string) error {
	if number == "" {
		return nil
	}
	ids, err := s.store.ResolveByInbound(ctx, number, callID, s.now())
	if err != nil {
		s.metrics.storeErrors.Inc()
		return fmt.Errorf("resolve the callbacks of %s: %w", hotline.MaskNumber(number), err)
	}
	if len(ids) == 0 {
		return nil
	}
	s.m.resolved.Add(float64(len(ids)))
	s.log.Info("callback task resolved: the citizen called in and was answered", "tasks", ids,
		"number", hotline.MaskNumber(number), "call", callID)
	_ = s.forget(ctx, ids...)
	return nil
}

// DialNow puts task id at the head of the dial queue (a supervisor's "dial
// now", after store.DueNow made it due in SQLite).
func (s *Service) DialNow(ctx context.Context, id int64, at time.Time) error {
	return s.work.Add(ctx, id, at)
}

// Forget drops the index entries of tasks closed outside the service (a
// supervisor's close or acknowledgement).
func (s *Service) Forget(ctx context.Context, ids ...int64) error { return s.forget(ctx, ids...) }

// runOnce is one round, on the active instance only (Common.Active): check
// Redis (recover, or reconcile when it is time), send the due reminders
// and escalate the overdue tasks, and claim and dial the due tasks free
// agents can take when the line is open and no citizen waits on an
// inbound call.
func (s *Service) runOnce(ctx context.Context) roundStats { return s.round(ctx, s, false) }

// read pops the round's due deadlines and dials and reads their tasks.
func (s *Service) read(ctx context.Context) batch {
	return batch{deadlines: s.readDeadlines(ctx), dials: s.readDials(ctx)}
}

// act does the round's reminders, escalations and claims.
func (s *Service) act(ctx context.Context, b batch, st *roundStats) {
	s.runDeadlines(ctx, b.deadlines, st)
	s.dialDue(ctx, b.dials, st)
}

// indexWork indexes a task's next dial unless Redis is known to be down; a
// failure is logged and counted.
func (s *Service) indexWork(ctx context.Context, id int64, due time.Time) {
	if s.degraded.Load() {
		return
	}
	if err := s.work.Add(ctx, id, due); err != nil {
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

// dialBatch is the dial half of what a round read before it writes: the
// due tasks popped from the dial queue (or polled) and the tasks as read.
type dialBatch struct {
	now     time.Time
	skipped string // why there is nothing to dial: "citizens waiting"
	source  string // "redis", "sql"; "": nothing read
	free    int    // the free agents when read (BatchSize without Agents)
	ids     []int64
	tasks   []hotline.CallbackTask
	err     error // reading the tasks failed: the entries stay in flight
}

// readDials takes the due tasks free agents may take now, and reads them.
// With the line closed, a citizen waiting on an inbound call, or no free
// agent it takes nothing; otherwise a few due tasks per free agent, from
// the queue or, while Redis fails, from the SQL poll. It writes nothing to
// the database.
func (s *Service) readDials(ctx context.Context) dialBatch {
	b := dialBatch{now: s.now(), free: s.cfg.BatchSize}
	switch {
	case !s.cal.IsOpen(b.now):
		return b
	case s.inbound != nil && s.inbound.Waiting() > 0:
		// Citizens on the line come first: a free agent is theirs. The
		// due tasks stay queued for the next round.
		b.skipped = "citizens waiting"
		return b
	}
	if s.agents != nil {
		b.free = min(b.free, s.agents.Free())
	}
	if b.free <= 0 {
		return b
	}
	if !s.degraded.Load() {
		var ok bool
		if b.ids, ok = s.popDue(ctx, s.work, b.now, min(s.cfg.BatchSize, b.free*lookahead)); ok {
			b.source = "redis"
		}
	}
	if s.degraded.Load() {
		// The poll cannot put a task back for later: it reads a whole batch
		// to find what free agents take.
		b.source = "sql"
		if b.ids, b.err = s.store.DueTaskIDs(ctx, b.now, s.cfg.BatchSize); b.err != nil {
			return b
		}
	}
	if len(b.ids) > 0 {
		b.tasks, b.err = s.store.GetTasks(ctx, b.ids)
	}
	return b
}

// dialDue claims the due tasks of b that free agents can take now and
// hands each to the dialer. With no free agent it does nothing at all;
// otherwise it claims those a free agent takes (at most one per free
// agent, counted again now), puts the others back in the queue for when
// their agent may be free, and settles the tasks left mid-dial whose lease
// ran out. Claims therefore follow free agents, whatever the number of
// open tasks.
func (s *Service) dialDue(ctx context.Context, b dialBatch, st *roundStats) {
	if b.skipped != "" {
		st.skipped = b.skipped
	}
	if b.source == "" {
		return
	}
	now, ids := b.now, b.ids
	if b.err != nil && len(ids) == 0 {
		s.storeFailed(ctx, "poll due tasks", b.err)
		return
	}
	st.source = b.source
	st.due += len(ids)
	s.m.due.WithLabelValues(b.source).Add(float64(len(ids)))
	if len(ids) == 0 {
		return
	}
	if b.err != nil {
		s.storeFailed(ctx, "read due tasks", b.err)
		return // left in flight: they come back after the visibility timeout
	}
	free := b.free
	if s.agents != nil {
		free = min(free, s.agents.Free()) // dials since the read may have taken some
	}
	read := b.tasks
	byID := make(map[int64]hotline.CallbackTask, len(read))
	for _, t := range read {
		byID[t.ID] = t
	}
	next := map[int64]time.Time{} // the queue's new due times
	var done, claims []int64
	for _, id := range ids {
		t, ok := byID[id]
		switch {
		case !ok || !t.Open():
			done = append(done, id)
		case t.State == hotline.CallbackDialing && !t.LeaseUntil.Before(now), t.State == hotline.CallbackPending && t.NextAttempt.After(now):
			next[id] = dueOf(t) // the entry was early: another instance holds it, or it moved
		case len(claims) >= free:
			next[id] = now // still due; the next round
		default:
			if s.agents != nil {
				if takes, wait := s.agents.Takes(t); !takes {
					next[id] = now.Add(wait)
					continue
				}
			}
			claims = append(claims, id)
		}
	}
	until := now.Add(s.cfg.Lease)
	claimed, err := s.store.ClaimTasks(ctx, claims, newToken(), now, until)
	if err != nil {
		s.storeFailed(ctx, "claim due tasks", err)
		claimed = nil
	}
	won := make(map[int64]bool, len(claimed))
	for _, t := range claimed {
		next[t.ID] = until // due again when the lease runs out, in case this process dies
		won[t.ID] = true
	}
	for _, id := range claims {
		if won[id] {
			continue
		}
		switch t := byID[id]; {
		case err != nil:
			next[id] = now.Add(s.cfg.Tick)
		case t.State == hotline.CallbackDialing:
			// Its lease ran out with an attempt active: its dialer died mid-dial.
			if at, open := s.settle(ctx, id, now, st); open {
				next[id] = at
			} else {
				done = append(done, id)
			}
		default:
			// Another instance claimed it first; its entry follows.
			st.conflicts++
			s.m.conflicts.Inc()
			next[id] = now.Add(s.cfg.Tick)
		}
	}
	if !s.degraded.Load() {
		err := s.work.Remove(ctx, done...)
		if err == nil {
			err = s.work.AddMany(ctx, next)
		}
		if err != nil {
			s.redisFailed(ctx, "move due tasks", err)
		}
		if len(done) > 0 {
			_ = s.deadlines.Remove(ctx, done...)
		}
	}
	// A full batch with no agent limit: more may be due at once.
	st.more = st.more || len(claimed) == s.cfg.BatchSize
	for _, t := range claimed {
		st.claimed++
		s.m.claimed.Inc()
		s.log.Info("callback task claimed", "task", t.ID, "number", hotline.MaskNumber(t.Number), "agent", t.AgentID,
			"attempts", t.Attempts, "agent_misses", t.AgentMisses, "deadline", t.Deadline, "lease_until", until)
		s.dialer.Dial(ctx, t, &Lease{s: s, task: t, token: t.LeaseToken, until: until})
	}
}

// settleStale settles every attempt left mid-dial whose lease has run out.
func (s *Service) settleStale(ctx context.Context) {
	now := s.now()
	stale, err := s.store.StaleAttempts(ctx, now, s.cfg.BatchSize)
	if err != nil {
		s.storeFailed(ctx, "list attempts left mid-dial", err)
		return
	}
	var st roundStats
	for _, a := range stale {
		if ctx.Err() != nil {
			return
		}
		at, open := s.settle(ctx, a.TaskID, now, &st)
		if open {
			s.indexWork(ctx, a.TaskID, at)
		} else {
			_ = s.forget(ctx, a.TaskID)
		}
	}
}

// settle ends the attempt a dead dialer left active on task id, whose lease
// ran out before now, unless its channels still live in Asterisk (the
// citizen and the agent may still be talking): then it waits a lease.
// Settled, the attempt ends as hotline.SettledOutcome says and the task
// takes the callback rules' next step. It returns when the task is next
// due and whether it is still open.
func (s *Service) settle(ctx context.Context, id int64, now time.Time, st *roundStats) (time.Time, bool) {
	later := now.Add(s.cfg.Lease)
	task, err := s.store.GetTask(ctx, id)
	if err != nil {
		s.storeFailed(ctx, "read a task left mid-dial", err, "task", id)
		return later, true
	}
	var active *hotline.CallbackAttempt
	for i := range task.AttemptLog {
		if task.AttemptLog[i].EndedAt.IsZero() {
			active = &task.AttemptLog[i]
		}
	}
	switch {
	case !task.Open():
		return time.Time{}, false
	case task.State != hotline.CallbackDialing || !task.LeaseUntil.Before(now) || active == nil:
		return dueOf(task), true // claimed since, or claimable as it is
	}
	if s.probe != nil {
		live, err := s.probe.AttemptLive(ctx, *active)
		if err != nil {
			s.log.Warn("cannot ask Asterisk about a callback attempt left mid-dial; asking again later",
				"task", id, "attempt", active.ID, "err", err)
			return later, true
		}
		if live {
			s.log.Info("a callback attempt left mid-dial is still live in Asterisk: the task waits for it to end",
				"task", id, "attempt", active.ID, "agent", active.AgentID)
			return later, true
		}
	}
	a := *active
	a.Outcome, a.EndedAt = hotline.SettledOutcome(a), now
	after := s.cfg.AfterAttempt(task, a, s.cal)
	if err := s.store.SettleAttempt(ctx, a, after, now); err != nil {
		if hotline.KindOf(err) != hotline.KindConflict {
			s.storeFailed(ctx, "settle an attempt left mid-dial", err, "task", id, "attempt", a.ID)
		}
		return now.Add(s.cfg.Tick), true // settled or claimed by another instance: read it again
	}
	st.settled++
	s.m.settled.WithLabelValues(string(a.Outcome)).Inc()
	s.log.Info("callback attempt left mid-dial settled", "task", id, "attempt", a.ID, "agent", a.AgentID,
		"outcome", a.Outcome, "state", after.State, "next_attempt", after.NextAttempt)
	return after.NextAttempt, after.Open()
}

// newToken is a lease token no other claim will ever use.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}
