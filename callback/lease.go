package callback

import (
	"context"
	"sync"
	"time"

	"hotline"
)

// Lease is a dialer's claim on one callback task. Every change the dialer
// makes goes through it and carries its token, so a dialer whose lease ran
// out and whose task another instance took over changes nothing (the store
// answers Conflict). It ends with Finish or Release; after that every
// method is a Conflict. Safe for concurrent use. It satisfies
// ari.CallbackLease.
type Lease struct {
	s     *Service
	token string

	mu    sync.Mutex
	task  hotline.CallbackTask // as claimed, with the agent once one is assigned
	until time.Time
	ended bool
}

// Token is the claim's fencing token.
func (l *Lease) Token() string { return l.token }

// TaskID is the claimed task's id.
func (l *Lease) TaskID() int64 { return l.task.ID }

// Until is when the claim runs out unless extended.
func (l *Lease) Until() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

func (l *Lease) check(op string) error {
	if l.ended {
		return hotline.Errorf(hotline.KindConflict, "callback.Lease."+op, "the lease on callback task %d has ended", l.task.ID)
	}
	return nil
}

// Extend keeps the claim for another Config.Lease from now, while a long
// call goes on.
func (l *Lease) Extend(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check("Extend"); err != nil {
		return err
	}
	until := l.s.now().Add(l.s.cfg.Lease)
	if err := l.s.store.ExtendLease(ctx, l.task.ID, l.token, until); err != nil {
		return err
	}
	l.until = until
	l.s.indexWork(ctx, l.task.ID, until)
	return nil
}

// HandOver passes the task to agentID before they dial it: its responsible
// agent would not take it (hotline.CallbackPolicy.HandsOver). agentID
// becomes responsible, and when the agent it leaves had left dials of this
// task unanswered, that refusal is recorded against them as a violation, in
// the same transaction.
func (l *Lease) HandOver(ctx context.Context, agentID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check("HandOver"); err != nil {
		return err
	}
	s, from := l.s, l.task
	v, err := s.store.HandOver(ctx, from.ID, l.token, agentID, s.now(), s.texts.handOverDetail(from, agentID))
	if err != nil {
		return err
	}
	l.task.AgentID, l.task.AgentMisses = agentID, 0
	s.m.handovers.Inc()
	s.log.Info("callback task handed over to another agent", "task", from.ID, "from", from.AgentID, "to", agentID,
		"misses", from.AgentMisses, "violation", v.ID)
	return nil
}

// Start records a new attempt by agentID and returns it; the task takes
// agentID as its responsible agent when it had none.
func (l *Lease) Start(ctx context.Context, agentID string) (hotline.CallbackAttempt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check("Start"); err != nil {
		return hotline.CallbackAttempt{}, err
	}
	now := l.s.now()
	id, err := l.s.store.StartAttempt(ctx, l.task.ID, l.token, agentID, now)
	if err != nil {
		return hotline.CallbackAttempt{}, err
	}
	if l.task.AgentID == "" {
		l.task.AgentID = agentID
	}
	return hotline.CallbackAttempt{ID: id, TaskID: l.task.ID, AgentID: agentID, StartedAt: now}, nil
}

// Update records the attempt's progress (answer times, apology, bridge,
// recording).
func (l *Lease) Update(ctx context.Context, a hotline.CallbackAttempt) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check("Update"); err != nil {
		return err
	}
	a.TaskID = l.task.ID
	return l.s.store.UpdateAttempt(ctx, l.token, a)
}

// Finish ends attempt a with outcome and ends the lease: the callback
// rules (policy.AfterAttempt with the calendar) make the task connected,
// unreachable, invalid_number, or pending again at its next attempt; the
// attempt and the task are written in one transaction, then the task's
// dial entry moves to its next attempt, or its entries go when it is
// closed. An attempt without an end time ends now.
func (l *Lease) Finish(ctx context.Context, a hotline.CallbackAttempt, outcome hotline.AttemptOutcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check("Finish"); err != nil {
		return err
	}
	s := l.s
	a.TaskID, a.Outcome = l.task.ID, outcome
	if a.EndedAt.IsZero() {
		a.EndedAt = s.now()
	}
	t := s.cfg.AfterAttempt(l.task, a, s.cal)
	if err := s.store.FinishAttempt(ctx, l.token, a, t); err != nil {
		if hotline.KindOf(err) == hotline.KindConflict {
			l.ended = true // the claim is lost for good
		}
		return err
	}
	l.ended = true
	s.m.attempts.WithLabelValues(string(outcome)).Inc()
	s.log.Info("callback attempt finished", "task", t.ID, "attempt", a.ID, "agent", a.AgentID, "outcome", outcome,
		"state", t.State, "attempts", t.Attempts, "agent_misses", t.AgentMisses, "next_attempt", t.NextAttempt)
	if t.Open() {
		s.indexWork(ctx, t.ID, t.NextAttempt)
	} else {
		_ = s.forget(ctx, t.ID)
	}
	return nil
}

// Release gives the task back without an attempt (no agent could make the
// call), due again at next (the zero time: at once), and ends the lease.
func (l *Lease) Release(ctx context.Context, next time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check("Release"); err != nil {
		return err
	}
	if err := l.s.store.ReleaseTask(ctx, l.task.ID, l.token, next); err != nil {
		return err // a conflict: the claim was lost, or an attempt is active (Finish it)
	}
	l.ended = true
	l.s.indexWork(ctx, l.task.ID, next)
	return nil
}
