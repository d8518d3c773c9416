package store

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"hotline"
)

func TestStatementKind(t *testing.T) {
	t.Parallel()
	cases := []struct{ query, kind string }{
		{createCallSQL, "insert calls"},
		{updateCallSQL, "update calls"},
		{raiseFenceSQL, "insert lease_fences"},
		{"  DELETE FROM sessions WHERE expires_ms < ?", "delete sessions"},
		{"INSERT OR IGNORE INTO agent_days (agent_id) VALUES (?)", "insert agent_days"},
		{"WITH due AS (SELECT id FROM promises) UPDATE promises SET state = 'x' WHERE id IN (SELECT id FROM due)", "update promises"},
		{"UPDATE OR ROLLBACK callback_tasks SET state = ?", "update callback_tasks"},
		{"PRAGMA wal_checkpoint", "other"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.kind, statementKind(tc.query), tc.query)
	}
}

// Every write is timed by kind: a single statement by its verb and table,
// a transaction by the store method that made it, fenced or not.
func TestWritesAreTimedByKind(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	WithRegistry(reg)(f.db)
	// A second database on the same registry shares the series.
	other := setup(t)
	WithRegistry(reg)(other.db)
	require.Same(t, f.db.writeSeconds, other.db.writeSeconds)

	c := hotline.Call{ID: "c1", ChannelID: "ch1", CallerRaw: "13800138000", CallerNumber: "13800138000", DialedNumber: "12345",
		Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: t0}
	require.NoError(t, f.db.CreateCall(f.ctx, c))
	require.NoError(t, f.db.RaiseFence(f.ctx, "hotline", 1, "h1", t0))
	fenced := WithFence(f.ctx, Fence{Lease: "hotline", Token: 1})
	c2 := c
	c2.ID, c2.ChannelID = "c2", "ch2"
	require.NoError(t, f.db.CreateCall(fenced, c2))
	require.NoError(t, c.Answer("1001", t0.Add(5e9)))
	require.NoError(t, f.db.UpsertAgent(f.ctx, hotline.Agent{ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001",
		Role: hotline.RoleAgent, State: hotline.AgentAvailable}))
	require.NoError(t, f.db.UpdateCall(f.ctx, c))

	counts := map[string]uint64{}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, fam := range families {
		require.Equal(t, "hotline_store_write_seconds", fam.GetName())
		for _, m := range fam.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
		}
	}
	require.Equal(t, uint64(2), counts["insert calls"], "CreateCall, unfenced and fenced")
	require.Equal(t, uint64(1), counts["tx UpdateCall"], "a transaction is named by its method")
	require.NotContains(t, counts, "tx", "every transaction has a method's name")
}
