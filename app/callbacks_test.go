package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
)

// postJSONAs POSTs body to url with the API token.
func postJSONAs(t *testing.T, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestMissedCallsAreCalledBackWithApology(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 500 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	fake.SetTrunkDefault("trunk", aritest.Behavior{AnswerAfter: 30 * time.Millisecond})
	cfg := testConfig(t, fake.ARIURL())
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "s01", Name: "督察", Endpoint: "PJSIP/2001", Role: "supervisor"})
	fake.SetEndpoint("PJSIP/2001", aritest.Behavior{Offline: true})
	b := startService(t, cfg)
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))

	// Nobody on duty: two calls from one citizen are missed.
	status, _ := b.postJSON(t, b.base+"/api/v1/agents/1001/pause", `{"reason":"培训"}`)
	require.Equal(t, http.StatusOK, status)
	for range 2 {
		_, err := fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
		require.NoError(t, err)
	}
	var list struct{ Callbacks []hotline.CallbackTask }
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/callbacks?state=pending", &list)
		return len(list.Callbacks) == 1 && list.Callbacks[0].MissedCount == 2
	}, 10*time.Second, 20*time.Millisecond, "two missed calls of one number make one task")
	id := strconv.FormatInt(list.Callbacks[0].ID, 10)

	// An agent may not close a task that never reached the citizen.
	status, body := postJSONAs(t, b.base+"/api/v1/callbacks/"+id+"/close", b.tokenFor(t, "1001", hotline.RoleAgent), `{"reason":"不需要"}`)
	require.Equal(t, http.StatusForbidden, status, body)

	// The agent comes back: the dialer rings them, then the citizen, apologises, bridges.
	status, _ = b.postJSON(t, b.base+"/api/v1/agents/1001/resume", `{}`)
	require.Equal(t, http.StatusOK, status)
	var task hotline.CallbackTask
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/callbacks/"+id, &task)
		return task.State == hotline.CallbackConnected
	}, 15*time.Second, 20*time.Millisecond)
	require.Len(t, task.AttemptLog, 1)
	a := task.AttemptLog[0]
	require.Equal(t, "1001", a.AgentID)
	require.Equal(t, hotline.AttemptConnected, a.Outcome)
	require.False(t, a.ApologyFinishedAt.IsZero())
	require.False(t, a.BridgedAt.Before(a.ApologyFinishedAt), "apology before bridge")
	require.NotEmpty(t, a.RecordingName)
	requireArchived(t, b, a.RecordingName)

	// Missed again while the agent pauses; then the citizen calls in and is
	// answered: the new task closes as resolved by the inbound call.
	status, _ = b.postJSON(t, b.base+"/api/v1/agents/1001/pause", `{"reason":"会议"}`)
	require.Equal(t, http.StatusOK, status)
	_, err := fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	var again struct{ Callbacks []hotline.CallbackTask }
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/callbacks?state=pending", &again)
		return len(again.Callbacks) == 1
	}, 10*time.Second, 20*time.Millisecond)
	// 1001, responsible since they connected the callback, stays paused, so
	// the callback waits for them; a colleague answers the citizen's call.
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond})
	require.NoError(t, fake.SetOnline("PJSIP/1002", true))
	require.Eventually(t, func() bool { a, _ := b.svc.Roster.Get("1002"); return a.State == hotline.AgentAvailable }, 5*time.Second, 10*time.Millisecond)
	_, err = fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/callbacks/"+strconv.FormatInt(again.Callbacks[0].ID, 10), &task)
		return task.State == hotline.CallbackResolved
	}, 15*time.Second, 20*time.Millisecond, "the citizen got through, which closes the callback")
	require.Empty(t, task.AttemptLog, "the waiting callback was never dialed")

	// The refused close went into the audit log, whose chain holds.
	var broken int64
	broken, err = b.svc.DB.VerifyAudit(context.Background())
	require.NoError(t, err)
	require.Zero(t, broken)
}

// requireArchived waits until the recording is in the service's archive
// with its hash, and no longer on Asterisk.
func requireArchived(t *testing.T, b *runBundle, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		r, err := b.svc.DB.GetRecording(context.Background(), name)
		return err == nil && r.State == hotline.RecordingArchived && len(r.SHA256) == 64
	}, 10*time.Second, 20*time.Millisecond, "recording %s archived", name)
}
