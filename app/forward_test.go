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
	"hotline/store"
)

// postForwarded is postJSONAs with the header that marks a request one
// instance passed on to another.
func postForwarded(t *testing.T, url, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Hotline-Forwarded", "1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// Two instances drive one server each. Monitoring (start and end) and a
// referral of a call live on the server one instance drives, sent to the
// other, are passed on to the driving instance, which carries them out
// and audits each once, as the user who asked; a request already passed
// on is not passed on again.
func TestCallActionsSentToTheInstanceNotDrivingTheCallsServerAreServedByTheOneThatDoes(t *testing.T) {
	t.Parallel()
	_, fb, cfg := twoFakes(t, time.Minute)
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "2002", Name: "赵敏", Endpoint: "PJSIP/2002", Server: "b"})
	fb.SetEndpoint("PJSIP/2002", aritest.Behavior{AnswerAfter: time.Hour})
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "2003", Name: "钱进", Endpoint: "PJSIP/2003", Server: "b"})
	fb.SetEndpoint("PJSIP/2003", aritest.Behavior{AnswerAfter: time.Hour})
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "s02", Name: "督察", Endpoint: "PJSIP/2009", Role: "supervisor", Server: "b"})
	fb.SetEndpoint("PJSIP/2009", aritest.Behavior{AnswerAfter: 20 * time.Millisecond})
	cfg.Lease.Renew, cfg.Lease.TTL = time.Second, 3*time.Second
	ctx := context.Background()
	inst := startTwoInstances(t, cfg)
	var driver, other *runBundle
	require.Eventually(t, func() bool {
		// Each drives exactly one: not while one has just taken over the
		// other's server and the other has not noticed yet.
		a, b := inst[0].svc.Servers, inst[1].svc.Servers
		switch {
		case a[1].Active() && !a[0].Active() && b[0].Active() && !b[1].Active():
			driver, other = inst[0], inst[1]
		case b[1].Active() && !b[0].Active() && a[0].Active() && !a[1].Active():
			driver, other = inst[1], inst[0]
		default:
			return false
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "each instance drives one server")
	require.NoError(t, driver.svc.Servers[1].ARI.WaitConnected(withDeadline(t, 10*time.Second)))

	_, err := fb.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
	require.NoError(t, err)
	call := answeredCalls(t, driver.svc.DB, 1)[0]
	require.Regexp(t, `^cb_`, call.ID)
	agent := other.tokenFor(t, "2001", hotline.RoleAgent)
	url := "/api/v1/calls/" + call.ID + "/referrals"

	// Passed on already: the other instance does not pass it on again.
	status, header, body := postForwarded(t, other.base+url, agent, `{"to_agent": "2002"}`)
	require.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	require.Contains(t, body["error"], "is being taken over by another instance", "%v", body)
	require.NotEmpty(t, header.Get("Retry-After"))

	// Monitoring, started and ended through the other instance.
	supervisor := other.tokenFor(t, "s02", hotline.RoleSupervisor)
	status, body = postJSONAs(t, other.base+"/api/v1/calls/"+call.ID+"/monitor", supervisor, `{"mode":"listen"}`)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	var m hotline.MonitorSession
	require.Eventually(t, func() bool {
		list, err := driver.svc.DB.CallMonitors(ctx, call.ID)
		if err != nil || len(list) != 1 {
			return false
		}
		m = list[0]
		return !m.ConnectedAt.IsZero()
	}, 10*time.Second, 20*time.Millisecond, "the supervisor listens in")
	status, body = postJSONAs(t, other.base+"/api/v1/monitors/"+strconv.FormatInt(m.ID, 10)+"/end", supervisor, `{}`)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	require.Eventually(t, func() bool {
		list, err := driver.svc.DB.CallMonitors(ctx, call.ID)
		return err == nil && len(list) == 1 && list[0].EndReason == hotline.MonitorStopped
	}, 10*time.Second, 20*time.Millisecond, "the monitoring ends")
	entries, err := driver.svc.DB.ListAudit(ctx, store.AuditFilter{Action: string(hotline.ActCallMonitor)})
	require.NoError(t, err)
	require.Len(t, entries, 2, "start and end audited once each: %+v", entries)
	for _, e := range entries {
		require.Equal(t, "s02", e.Actor)
		require.Equal(t, hotline.OutcomeOK, e.Result)
	}

	status, body = postJSONAs(t, other.base+url, agent, `{"to_agent": "2002"}`)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	require.Equal(t, "2002", body["to_agent"], "%v", body)

	entries, err = driver.svc.DB.ListAudit(ctx, store.AuditFilter{Action: string(hotline.ActCallRefer)})
	require.NoError(t, err)
	require.Len(t, entries, 1, "audited once, by the instance that referred the call: %+v", entries)
	require.Equal(t, "2001", entries[0].Actor)
	require.Equal(t, "call:"+call.ID, entries[0].Object)
	require.Equal(t, hotline.OutcomeOK, entries[0].Result)

	// An agent whose phone is on b pauses and resumes through the other
	// instance: the driving one, which rings that phone, changes its state.
	me := other.tokenFor(t, "2003", hotline.RoleAgent)
	status, body = postJSONAs(t, other.base+"/api/v1/agents/2003/pause", me, `{"reason":"午休"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	a, ok := driver.svc.Servers[1].Roster.Get("2003")
	require.True(t, ok)
	require.Equal(t, hotline.AgentPaused, a.State, "the driving instance rings 2003 no more")
	status, body = postJSONAs(t, other.base+"/api/v1/agents/2003/resume", me, `{}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	a, _ = driver.svc.Servers[1].Roster.Get("2003")
	require.Equal(t, hotline.AgentAvailable, a.State)
	entries, err = driver.svc.DB.ListAudit(ctx, store.AuditFilter{Action: string(hotline.ActAgentPause)})
	require.NoError(t, err)
	require.Len(t, entries, 1, "audited once, by the driving instance: %+v", entries)
	require.Equal(t, "2003", entries[0].Actor)
}
