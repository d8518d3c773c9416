package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestDueNow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	require.NoError(t, f.db.UpsertAgent(f.ctx, hotline.Agent{ID: "1001", Name: "a", Endpoint: "PJSIP/1001", Role: hotline.RoleAgent, State: hotline.AgentAvailable}))
	require.NoError(t, f.db.CreateCall(f.ctx, hotline.Call{ID: "c1", CallerRaw: "13800138000", CallerNumber: "13800138000", Line: hotline.LineHotline, State: hotline.CallMissed, ArrivedAt: at}))
	task, _, err := f.db.AddMissedCall(f.ctx, MissedCall{CallID: "c1", Number: "13800138000", MissedAt: at, Deadline: at.Add(time.Hour), DueAt: at.Add(30 * time.Minute)})
	require.NoError(t, err)

	require.NoError(t, f.db.DueNow(f.ctx, task.ID, at.Add(time.Minute)))
	ids, err := f.db.DueTaskIDs(f.ctx, at.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []int64{task.ID}, ids)

	_, err = f.db.ClaimTask(f.ctx, task.ID, "tok", at.Add(time.Minute), at.Add(3*time.Minute))
	require.NoError(t, err)
	err = f.db.DueNow(f.ctx, task.ID, at.Add(2*time.Minute))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.ErrorContains(t, err, "is dialing, not pending")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.db.DueNow(f.ctx, 999, at)))
}
