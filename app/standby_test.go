package app

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/lease"
	"hotline/store"
)

// readyzOf reads an instance's /readyz.
type readyzBody struct {
	Ready   bool   `json:"ready"`
	Role    string `json:"role"`
	Standby string `json:"standby"`
	Detail  string `json:"detail"`
}

func readyzOf(t *testing.T, b *runBundle) (int, readyzBody) {
	t.Helper()
	var body readyzBody
	status := getJSON(t, b.base+"/readyz", &body)
	return status, body
}

func TestOneInstanceDrivesAsteriskTheOtherWaitsAndTakesOverWhenItStops(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	cfg := testConfig(t, fake.ARIURL())
	first := startService(t, cfg)
	require.Eventually(t, first.svc.Lease.Held, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, first.svc.ARI.WaitConnected(withDeadline(t, 10*time.Second)))

	// The same config on another port: same database, Redis and Asterisk.
	second := startService(t, cfg)
	require.Eventually(t, func() bool { return second.svc.Lease.Status().Holder.Instance != "" }, 10*time.Second, 10*time.Millisecond)
	status, body := readyzOf(t, second)
	require.Equal(t, http.StatusOK, status, "a standby still serves the API and the console")
	require.True(t, body.Ready)
	require.Equal(t, "standby", body.Role)
	require.Contains(t, body.Standby, first.svc.Lease.Status().Self.Instance)
	require.Contains(t, body.Standby, first.svc.HTTPAddr, "it says where the holder is")
	status, body = readyzOf(t, first)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "active", body.Role)
	require.Error(t, second.svc.ARI.Ready(), "the standby never connects to Asterisk")
	// A standby serves the API: the call log is the shared one.
	require.Equal(t, http.StatusOK, getJSONAs(t, second.base+"/api/v1/calls", second.tokenFor(t, "s02", hotline.RoleSupervisor), nil))

	// A call goes to the holder.
	_, err := fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := first.svc.DB.ListCalls(context.Background(), store.CallFilter{State: hotline.CallCompleted})
		return err == nil && len(got) == 1
	}, 10*time.Second, 20*time.Millisecond)

	// An agent paused meanwhile stays paused on the instance that takes over.
	require.Eventually(t, func() bool {
		status, _ := first.postJSON(t, first.base+"/api/v1/agents/1001/pause", `{"reason":"午休"}`)
		return status == http.StatusOK
	}, 5*time.Second, 50*time.Millisecond)

	// The holder stops and hands the lease back: the standby takes over at
	// its next try, connects, and takes the next call.
	start := time.Now()
	require.NoError(t, first.stop())
	require.Eventually(t, second.svc.Lease.Held, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, second.svc.ARI.WaitConnected(withDeadline(t, 10*time.Second)))
	t.Logf("taken over %s after the holder stopped", time.Since(start).Round(time.Millisecond))
	status, body = readyzOf(t, second)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "active", body.Role)
	a, _ := second.svc.Roster.Get("1001")
	require.Equal(t, hotline.AgentPaused, a.State, "the pause made on the old holder")
	require.Equal(t, "午休", a.PauseReason)
	status, _ = second.postJSON(t, second.base+"/api/v1/agents/1001/resume", "")
	require.Equal(t, http.StatusOK, status)
	_, err = fake.PlaceCall(aritest.InboundCall{Caller: "13800138001", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := second.svc.DB.ListCalls(context.Background(), store.CallFilter{State: hotline.CallCompleted})
		return err == nil && len(got) == 2
	}, 10*time.Second, 20*time.Millisecond)
	fence, err := second.svc.DB.GetLeaseFence(context.Background(), second.svc.Config.Lease.Name)
	require.NoError(t, err)
	require.Equal(t, second.svc.Lease.Status().Self.Instance, fence.Holder)
}

func TestAnInstanceOnItsOwnDatabaseRefusesToTakeTheLease(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	cfg := testConfig(t, fake.ARIURL())
	first := startService(t, cfg)
	require.Eventually(t, first.svc.Lease.Held, 10*time.Second, 10*time.Millisecond)

	own := cfg
	own.Store.Path = filepath.Join(t.TempDir(), "own.db")
	err := Run(withDeadline(t, 20*time.Second), Options{Config: &own, LogOutput: testLog(t)})
	require.ErrorIs(t, err, lease.ErrOtherDatabase)
	require.ErrorContains(t, err, "split the call log")
	require.True(t, first.svc.Lease.Held(), "the holder goes on")
}

func withDeadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
