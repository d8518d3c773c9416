package app

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
)

// The console's actions through the whole service: a supervisor listens
// to a call in progress on their own phone (audited, on the call's
// timeline, ended when the supervisor hangs up); the owner of a promise
// asks for more time and a supervisor grants or refuses.
func TestConsoleMonitoringAndExtensionRequests(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 3 * time.Second})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	fake.SetEndpoint("PJSIP/2001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond})
	cfg := testConfig(t, fake.ARIURL())
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "s01", Name: "督察", Endpoint: "PJSIP/2001", Role: "supervisor"})
	b := startService(t, cfg)
	ctx := context.Background()
	require.NoError(t, fake.WaitRegistered(ctx, "hotline"))
	_, err := fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	var callID string
	require.Eventually(t, func() bool {
		calls, err := b.svc.DB.ListCalls(ctx, store.CallFilter{State: hotline.CallAnswered})
		if err == nil && len(calls) == 1 {
			callID = calls[0].ID
		}
		return callID != ""
	}, 10*time.Second, 20*time.Millisecond)

	agent := b.tokenFor(t, "1001", hotline.RoleAgent)
	status, body := postJSONAs(t, b.base+"/api/v1/calls/"+callID+"/monitor", agent, `{"mode":"listen"}`)
	require.Equal(t, http.StatusForbidden, status, "agents do not monitor: %v", body)
	status, body = b.postJSON(t, b.base+"/api/v1/calls/"+callID+"/monitor", `{"mode":"listen"}`)
	require.Equal(t, http.StatusAccepted, status, body)
	require.Equal(t, "1001", body["agent_id"])
	// The wall shows it going on; a supervisor ends it from the console.
	var wall struct{ Monitors []hotline.MonitorSession }
	require.Eventually(t, func() bool {
		require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/wall", &wall))
		return len(wall.Monitors) == 1 && !wall.Monitors[0].ConnectedAt.IsZero()
	}, 10*time.Second, 20*time.Millisecond)
	end := b.base + "/api/v1/monitors/" + strconv.FormatInt(wall.Monitors[0].ID, 10) + "/end"
	status, _ = postJSONAs(t, end, agent, `{}`)
	require.Equal(t, http.StatusForbidden, status)
	status, body = b.postJSON(t, end, `{}`)
	require.Equal(t, http.StatusAccepted, status, body)
	var tl struct {
		Events   []struct{ Kind, Text string }
		Monitors []hotline.MonitorSession
	}
	require.Eventually(t, func() bool {
		require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/calls/"+callID+"/timeline", &tl))
		return len(tl.Monitors) == 1 && tl.Monitors[0].EndReason != ""
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, hotline.MonitorStopped, tl.Monitors[0].EndReason)
	var marks []string
	for _, e := range tl.Events {
		if e.Kind == "monitor" {
			marks = append(marks, e.Text)
		}
	}
	require.Equal(t, []string{"督察 s01 发起监听（呼叫督察话机）", "督察 s01 开始监听", "督察 s01 的监听结束：在控制台结束"}, marks)
	entries, err := b.svc.DB.ListAudit(ctx, store.AuditFilter{Action: string(hotline.ActCallMonitor)})
	require.NoError(t, err)
	require.Len(t, entries, 4, "the refusals and the monitoring's start and end")
	require.Equal(t, "ok", entries[0].Result, "the end")
	require.Equal(t, fmt.Sprintf("monitor:%d", tl.Monitors[0].ID), entries[0].Object)
	require.Equal(t, "denied", entries[1].Result)
	require.Equal(t, "ok", entries[2].Result, "the start")
	require.Equal(t, "call:"+callID, entries[2].Object)
	require.Equal(t, "listen", entries[2].Detail)
	require.Equal(t, "denied", entries[3].Result)

	// Extension requests on a promise of agent 1001.
	status, body = postJSONAs(t, b.base+"/api/v1/promises", agent, `{"call_id":"`+callID+`","summary":"社保转移进度","due_in_working_days":2}`)
	require.Equal(t, http.StatusCreated, status, body)
	id := strconv.FormatInt(int64(body["id"].(float64)), 10)
	deadline, err := time.Parse(time.RFC3339, body["deadline"].(string))
	require.NoError(t, err)
	later := deadline.Add(48 * time.Hour).UTC().Format(time.RFC3339)
	other := b.tokenFor(t, "1002", hotline.RoleAgent)
	status, _ = postJSONAs(t, b.base+"/api/v1/promises/"+id+"/extension-requests", other, `{"deadline":"`+later+`","reason":"材料未齐"}`)
	require.Equal(t, http.StatusForbidden, status, "only the owner asks")
	status, body = postJSONAs(t, b.base+"/api/v1/promises/"+id+"/extension-requests", agent, `{"deadline":"`+later+`","reason":"材料未齐"}`)
	require.Equal(t, http.StatusCreated, status, body)
	reqID := strconv.FormatInt(int64(body["id"].(float64)), 10)
	status, body = postJSONAs(t, b.base+"/api/v1/promises/"+id+"/extension-requests", agent, `{"deadline":"`+later+`","reason":"再等等"}`)
	require.Equal(t, http.StatusConflict, status, "one request waits at a time: %v", body)
	var pending struct{ Requests []hotline.ExtensionRequest }
	require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/extension-requests?pending=true", &pending))
	require.Len(t, pending.Requests, 1)
	require.Equal(t, "1001", pending.Requests[0].RequestedBy)
	status, body = postJSONAs(t, b.base+"/api/v1/extension-requests/"+reqID+"/decision", agent, `{"grant":true,"reason":"自批"}`)
	require.Equal(t, http.StatusForbidden, status, body)
	status, body = b.postJSON(t, b.base+"/api/v1/extension-requests/"+reqID+"/decision", `{"grant":true,"reason":"同意，会商需时"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "granted", body["decision"])
	require.Equal(t, "s01", body["decided_by"])
	var p hotline.Promise
	require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/promises/"+id, &p))
	require.Equal(t, later, p.Deadline.UTC().Format(time.RFC3339), "granting extends the promise")
	require.Len(t, p.Extensions, 1)
	status, _ = b.postJSON(t, b.base+"/api/v1/extension-requests/"+reqID+"/decision", `{"grant":false,"reason":"再议"}`)
	require.Equal(t, http.StatusConflict, status, "decided once")

	// A refusal moves nothing.
	evenLater := deadline.Add(72 * time.Hour).UTC().Format(time.RFC3339)
	status, body = postJSONAs(t, b.base+"/api/v1/promises/"+id+"/extension-requests", agent, `{"deadline":"`+evenLater+`","reason":"仍未办结"}`)
	require.Equal(t, http.StatusCreated, status, body)
	reqID = strconv.FormatInt(int64(body["id"].(float64)), 10)
	status, body = b.postJSON(t, b.base+"/api/v1/extension-requests/"+reqID+"/decision", `{"grant":false,"reason":"请按期答复"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "refused", body["decision"])
	require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/promises/"+id, &p))
	require.Equal(t, later, p.Deadline.UTC().Format(time.RFC3339))
}
