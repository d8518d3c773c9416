package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestFenceRefusesTheWritesOfAnOlderHolder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const lease = "hotline@127.0.0.1:8088"
	require.NoError(t, f.db.RaiseFence(f.ctx, lease, 1, "a", t0))
	first := WithFence(f.ctx, Fence{Lease: lease, Token: 1})

	// The holder writes: one statement, a named one and a transaction.
	require.NoError(t, f.db.CreateCall(first, testCall("c1", "13800138000", t0)))
	c1 := answered(t, testCall("c1", "13800138000", t0), "1001", t0.Add(time.Second))
	f.seedAgents(t, "1001")
	require.NoError(t, f.db.UpdateCall(first, c1))
	_, _, err := f.db.AddMissedCall(first, MissedCall{CallID: "c1", Number: "13800138000", MissedAt: t0, Deadline: t0.Add(time.Hour)})
	require.NoError(t, err)

	// Another instance takes the lease: the first one's writes are refused whole.
	require.NoError(t, f.db.RaiseFence(f.ctx, lease, 2, "b", t0.Add(time.Minute)))
	second := WithFence(f.ctx, Fence{Lease: lease, Token: 2})
	tests := []struct {
		name  string
		write func() error
	}{
		{"one statement", func() error { return f.db.CreateCall(first, testCall("c2", "13800138001", t0)) }},
		{"a named statement", func() error {
			_, err := f.db.AddLeg(first, hotline.CallLeg{CallID: "c1", ChannelID: "c1-a001", AgentID: "1001", Outcome: hotline.LegRinging, RungAt: t0})
			return err
		}},
		{"a transaction", func() error {
			_, _, err := f.db.AddMissedCall(first, MissedCall{CallID: "c1", Number: "13900139000", MissedAt: t0, Deadline: t0.Add(time.Hour)})
			return err
		}},
		{"a lease never raised here", func() error {
			return f.db.CreateCall(WithFence(f.ctx, Fence{Lease: "other@host", Token: 9}), testCall("c3", "13800138003", t0))
		}},
	}
	for _, tt := range tests {
		err := tt.write()
		require.Error(t, err, tt.name)
		require.Equal(t, hotline.KindConflict, hotline.KindOf(err), tt.name)
	}
	_, err = f.db.GetCall(f.ctx, "c2")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "nothing of a refused write is stored")
	got, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Empty(t, got.Legs)

	// The new holder writes, and so does whatever carries no fence (the API).
	require.NoError(t, f.db.CreateCall(second, testCall("c2", "13800138001", t0)))
	require.NoError(t, f.db.CreateCall(f.ctx, testCall("c4", "13800138004", t0)))

	// A fence never goes back.
	err = f.db.RaiseFence(f.ctx, lease, 1, "a", t0.Add(2*time.Minute))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.ErrorContains(t, err, "raised by b")
	fence, err := f.db.GetLeaseFence(f.ctx, lease)
	require.NoError(t, err)
	require.Equal(t, LeaseFence{Lease: lease, Token: 2, Holder: "b", RaisedAt: t0.Add(time.Minute)}, fence)
	_, err = f.db.writer.DB.ExecContext(f.ctx, `UPDATE lease_fences SET token = 1 WHERE lease = ?`, lease)
	require.ErrorContains(t, err, "never goes back", "the schema refuses it too")

	// The same holder raising its own token again (a restart of the keeper) is fine.
	require.NoError(t, f.db.RaiseFence(f.ctx, lease, 2, "b", t0.Add(3*time.Minute)))
	_, err = f.db.GetLeaseFence(f.ctx, "never@raised")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err))
}

func TestDatabaseIDIsStableAndItsOwn(t *testing.T) {
	t.Parallel()
	a, b := setup(t), setup(t)
	idA, err := a.db.DatabaseID(a.ctx)
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{32}$`, idA)
	again, err := a.db.DatabaseID(a.ctx)
	require.NoError(t, err)
	require.Equal(t, idA, again)
	idB, err := b.db.DatabaseID(b.ctx)
	require.NoError(t, err)
	require.NotEqual(t, idA, idB, "a database started empty elsewhere is another database")

	// Opened again, the file keeps its identity.
	reopened, err := Open(t.Context(), a.cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reopened.Close() })
	_, err = reopened.Migrate(t.Context())
	require.NoError(t, err)
	got, err := reopened.DatabaseID(t.Context())
	require.NoError(t, err)
	require.Equal(t, idA, got)
}
