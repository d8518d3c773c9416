package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// A monitoring is recorded when asked for, connected once, ended once
// (the first reason stands); one left open by a stopped service is listed
// as open until ended.
func TestMonitors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "1001", "2001")
	f.seedCall(t, "c1", "13800138000", "1001", t0)
	id, err := f.db.StartMonitor(f.ctx, hotline.MonitorSession{CallID: "c1", SupervisorID: "2001", AgentID: "1001",
		Mode: hotline.MonitorWhisper, RequestedAt: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.NoError(t, f.db.ConnectMonitor(f.ctx, id, t0.Add(70*time.Second)))
	require.NoError(t, f.db.EndMonitor(f.ctx, id, t0.Add(2*time.Minute), hotline.MonitorSupervisorLeft))
	require.NoError(t, f.db.EndMonitor(f.ctx, id, t0.Add(3*time.Minute), hotline.MonitorCallEnded), "ending twice is no error")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.db.ConnectMonitor(f.ctx, id, t0)), "an ended monitoring is not connected again")

	open, err := f.db.StartMonitor(f.ctx, hotline.MonitorSession{CallID: "c1", SupervisorID: "2001", Mode: hotline.MonitorListen,
		RequestedAt: t0.Add(4 * time.Minute)})
	require.NoError(t, err)
	left, err := f.db.OpenMonitors(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []hotline.MonitorSession{{ID: open, CallID: "c1", SupervisorID: "2001", Mode: hotline.MonitorListen,
		RequestedAt: t0.Add(4 * time.Minute)}}, left, "only the one not ended is open")
	require.NoError(t, f.db.EndMonitor(f.ctx, open, t0.Add(5*time.Minute), hotline.MonitorServiceStopping))
	left, err = f.db.OpenMonitors(f.ctx)
	require.NoError(t, err)
	require.Empty(t, left)

	got, err := f.db.CallMonitors(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, []hotline.MonitorSession{
		{ID: id, CallID: "c1", SupervisorID: "2001", AgentID: "1001", Mode: hotline.MonitorWhisper, RequestedAt: t0.Add(time.Minute),
			ConnectedAt: t0.Add(70 * time.Second), EndedAt: t0.Add(2 * time.Minute), EndReason: hotline.MonitorSupervisorLeft},
		{ID: open, CallID: "c1", SupervisorID: "2001", Mode: hotline.MonitorListen, RequestedAt: t0.Add(4 * time.Minute),
			EndedAt: t0.Add(5 * time.Minute), EndReason: hotline.MonitorServiceStopping},
	}, got)
	callID, err := f.db.MonitorCall(f.ctx, open)
	require.NoError(t, err)
	require.Equal(t, "c1", callID)
	_, err = f.db.MonitorCall(f.ctx, open+100)
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)

	_, err = f.db.StartMonitor(f.ctx, hotline.MonitorSession{CallID: "c1", SupervisorID: "2001", Mode: "spy"})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
	_, err = f.db.StartMonitor(f.ctx, hotline.MonitorSession{CallID: "c1", SupervisorID: "nobody", Mode: hotline.MonitorListen})
	require.Error(t, err, "the supervisor must be on the roster")
}
