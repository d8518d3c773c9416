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
	l.s.indexAdd(ctx, l.task.ID, until)
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
// index entry moves to its next attempt, or goes when it is closed. An
// attempt without an end time ends now.
func (l *Lease) Finish(ctx context.Context, a hotline.CallbackAttempt, outcome hotline.AttemptOutcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check("Finish"); err != nil {
		return err
	}
	s := l.s
	now := s.now()
	a.TaskID, a.Outcome = l.task.ID, outcome
	if a.EndedAt.IsZero() {
		a.EndedAt = now
	}
	t := s.cfg.AfterAttempt(l.task, outcome, a.EndedAt, s.cal)
	if err := s.store.FinishAttempt(ctx, l.token, a, t); err != nil {
		if hotline.KindOf(err) == hotline.KindConflict {
			l.ended = true // the claim is lost for good
		}
		return err
	}
	l.ended = true
	s.m.attempts.WithLabelValues(string(outcome)).Inc()
	s.log.Info("callback attempt finished", "task", t.ID, "attempt", a.ID, "agent", a.AgentID, "outcome", outcome,
		"state", t.State, "attempts", t.Attempts, "next_attempt", t.NextAttempt)
	if t.Open() {
		s.indexAdd(ctx, t.ID, t.NextAttempt)
	} else if !s.degraded.Load() {
		if err := s.index.Remove(ctx, t.ID); err != nil {
			s.redisFailed(ctx, "remove a closed task", err)
		}
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
	l.s.indexAdd(ctx, l.task.ID, next)
	return nil
}
