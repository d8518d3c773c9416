package callback

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestOnlyTheActiveInstanceClaimsDialsRemindsAndEscalates(t *testing.T) {
	t.Parallel()
	pb := setupPromises(t)
	var active atomic.Bool // a standby, or an instance whose application another client took
	dials := newDialLog()
	s := pb.serviceWith(finishing(t, dials, "a1", busy), func(d *Deps) { d.Active = active.Load })
	w := pb.watchWith(nil, active.Load)

	pb.clock.Set(at(11, 27, 9, 0))
	pb.miss(s, "13800138000", "a1")
	task := pb.openTasks()[0]
	p := pb.promise(w, "13900000002", "公积金提取", at(11, 27, 9, 30))

	// Past the task's deadline and the promise's: an inactive instance
	// claims, dials, reminds and escalates nothing, round after round.
	pb.clock.Set(at(11, 27, 10, 0))
	for range 3 {
		st := s.runOnce(pb.ctx)
		require.Equal(t, "standby", st.skipped)
		require.Zero(t, st.due+st.claimed+st.reminded+st.escalated)
		require.Equal(t, "standby", w.runOnce(pb.ctx).skipped)
	}
	require.Zero(t, dials.count(task.ID))
	require.Zero(t, counter(s.m.claimed))
	require.True(t, pb.task(task.ID).EscalatedAt.IsZero())
	require.True(t, pb.get(p.ID).EscalatedAt.IsZero())
	require.Empty(t, pb.reminders(p.ID))

	// Active, the next rounds do it all.
	active.Store(true)
	st := s.runOnce(pb.ctx)
	require.Empty(t, st.skipped)
	require.Equal(t, 1, st.claimed)
	require.Equal(t, 1, dials.count(task.ID))
	require.False(t, pb.task(task.ID).EscalatedAt.IsZero(), "the overdue task escalated")
	require.Equal(t, 1, w.runOnce(pb.ctx).escalated)

	// Inactive again (the lease lost, or the application replaced): it
	// stops at the next round.
	active.Store(false)
	pb.clock.Set(at(11, 27, 11, 0))
	require.Equal(t, "standby", s.runOnce(pb.ctx).skipped)
	require.Equal(t, 1, dials.count(task.ID))
}

// waitingCalls is the call side's count of citizens waiting for an agent.
type waitingCalls struct{ n atomic.Int64 }

func (w *waitingCalls) Waiting() int { return int(w.n.Load()) }

func TestCallbacksWaitWhileCitizensWaitOnInboundCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dials := newDialLog()
	inbound := &waitingCalls{}
	s := b.serviceWith(finishing(t, dials, "a1", busy), func(d *Deps) { d.Inbound = inbound })

	b.clock.Set(at(11, 27, 9, 0))
	b.miss(s, "13800138000", "a1")
	b.miss(s, "13800138001", "a1")
	tasks := b.openTasks()
	require.Len(t, tasks, 2)

	tests := []struct {
		name    string
		waiting int64
		claimed int
		skipped string
	}{
		{"two citizens on hold", 2, 0, "citizens waiting"},
		{"one left", 1, 0, "citizens waiting"},
		{"none waits", 0, 2, ""}, // no agent limit in this test: both at once
	}
	for _, tt := range tests {
		inbound.n.Store(tt.waiting)
		st := s.runOnce(b.ctx)
		require.Equal(t, tt.skipped, st.skipped, tt.name)
		require.Equal(t, tt.claimed, st.claimed, tt.name)
	}
	// The held tasks lost nothing: both were dialed once citizens were served.
	for _, task := range tasks {
		require.Equal(t, 1, dials.count(task.ID), "task %d", task.ID)
		require.Equal(t, hotline.CallbackPending, b.task(task.ID).State, "busy: retried later")
	}
	// Reminders and escalations do not wait for the citizens: only dials do.
	inbound.n.Store(3)
	b.clock.Set(at(11, 27, 10, 0))
	st := s.runOnce(b.ctx)
	require.Equal(t, "citizens waiting", st.skipped)
	require.Equal(t, 2, st.escalated)
}
