package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// Whoever connects with the citizen on a callback becomes responsible for
// the matter, until a newer answered call says otherwise.
func TestResponsibleAgentFollowsTheNewestConversation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	const number = "13800138000"
	for _, id := range []string{"a1", "a2"} {
		require.NoError(t, f.db.UpsertAgent(f.ctx, hotline.Agent{ID: id, Name: id, Endpoint: "PJSIP/" + id, Role: hotline.RoleAgent, State: hotline.AgentAvailable}))
	}
	answered := func(id, agent string, at time.Time) {
		c := hotline.Call{ID: id, CallerRaw: number, CallerNumber: number, Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: at}
		require.NoError(t, f.db.CreateCall(f.ctx, c))
		require.NoError(t, c.Answer(agent, at.Add(time.Second)))
		c.End(at.Add(time.Minute), "")
		require.NoError(t, f.db.UpdateCall(f.ctx, c))
	}
	answered("c1", "a1", t0)
	require.NoError(t, f.db.CreateCall(f.ctx, hotline.Call{ID: "c2", CallerRaw: number, CallerNumber: number, Line: hotline.LineHotline,
		State: hotline.CallMissed, MissedReason: hotline.MissedNoAnswer, ArrivedAt: t0.Add(time.Hour), EndedAt: t0.Add(time.Hour)}))
	task, _, err := f.db.AddMissedCall(f.ctx, MissedCall{CallID: "c2", Number: number, AgentID: "a1", MissedAt: t0.Add(time.Hour), Deadline: t0.Add(2 * time.Hour), DueAt: t0.Add(time.Hour)})
	require.NoError(t, err)

	// Near the deadline another agent makes the callback and connects.
	at := t0.Add(90 * time.Minute)
	_, err = f.db.ClaimTask(f.ctx, task.ID, "tok", at, at.Add(2*time.Minute))
	require.NoError(t, err)
	attemptID, err := f.db.StartAttempt(f.ctx, task.ID, "tok", "a2", at)
	require.NoError(t, err)
	done := task
	done.State, done.ClosedAt = hotline.CallbackConnected, at.Add(3*time.Minute)
	require.NoError(t, f.db.FinishAttempt(f.ctx, "tok", hotline.CallbackAttempt{ID: attemptID, TaskID: task.ID, AgentID: "a2",
		StartedAt: at, BridgedAt: at.Add(time.Minute), EndedAt: at.Add(3 * time.Minute), Outcome: hotline.AttemptConnected}, done))

	got, err := f.db.ResponsibleAgent(f.ctx, number, t0)
	require.NoError(t, err)
	require.Equal(t, "a2", got, "the agent who connected on the callback")

	answered("c3", "a1", t0.Add(3*time.Hour))
	got, err = f.db.ResponsibleAgent(f.ctx, number, t0)
	require.NoError(t, err)
	require.Equal(t, "a1", got, "a newer answered call wins")

	_, err = f.db.ResponsibleAgent(f.ctx, number, t0.Add(4*time.Hour))
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "nothing since then")
}
