package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// agentControlFunc adapts a function to web.AgentControl.
type agentControlFunc func(ctx context.Context, id string, state hotline.AgentState, reason string) (hotline.Agent, error)

func (f agentControlFunc) SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string) (hotline.Agent, error) {
	return f(ctx, id, state, reason)
}

// referrerFunc adapts a function to web.Referrer.
type referrerFunc func(ctx context.Context, callID, fromAgent, toAgent, toDepartment string) (hotline.Referral, error)

func (f referrerFunc) Refer(ctx context.Context, callID, fromAgent, toAgent, toDepartment string) (hotline.Referral, error) {
	return f(ctx, callID, fromAgent, toAgent, toDepartment)
}

// errByID is what the fakes below fail with, chosen by the agent or call id.
var errByID = map[string]error{
	"missing": hotline.Errorf(hotline.KindNotFound, "fake", "%s not found", "missing"),
	"busy":    hotline.Errorf(hotline.KindConflict, "fake", "agent 1001 is on a call"),
	"bad":     hotline.Errorf(hotline.KindInvalid, "fake", "department 不存在 has no agents"),
	"down":    hotline.Errorf(hotline.KindUnavailable, "fake", "Asterisk is not connected"),
	"boom":    errors.New("disk on fire"),
}

type stateChange struct {
	ID     string
	State  hotline.AgentState
	Reason string
}

type referCall struct{ CallID, From, ToAgent, ToDepartment string }

// controlServer serves an API whose AgentControl and Referrer record what
// they were asked and succeed, unless the id is a key of errByID.
func controlServer(t *testing.T) (*httptest.Server, chan stateChange, chan referCall) {
	t.Helper()
	changes := make(chan stateChange, 8)
	refers := make(chan referCall, 8)
	since := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	s, err := web.New(web.Config{}, testDeps(web.Deps{
		Calls: callReaderFunc{get: func(_ context.Context, id string) (hotline.Call, error) {
			return hotline.Call{ID: id, FirstResponsibleAgent: "1001", State: hotline.CallAnswered}, nil
		}},
		Control: agentControlFunc(func(_ context.Context, id string, state hotline.AgentState, reason string) (hotline.Agent, error) {
			changes <- stateChange{id, state, reason}
			if err := errByID[id]; err != nil {
				return hotline.Agent{}, err
			}
			return hotline.Agent{ID: id, Name: "张伟", State: state, PauseReason: reason, StateSince: since}, nil
		}),
		Referrer: referrerFunc(func(_ context.Context, callID, from, toAgent, toDept string) (hotline.Referral, error) {
			refers <- referCall{callID, from, toAgent, toDept}
			if err := errByID[callID]; err != nil {
				return hotline.Referral{}, err
			}
			return hotline.Referral{ID: 7, CallID: callID, FromAgent: from, ToAgent: toAgent, ToDepartment: toDept,
				Outcome: hotline.ReferralRinging, RequestedAt: since}, nil
		}),
	}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	t.Cleanup(srv.Close)
	return srv, changes, refers
}

// post sends body with Content-Type ctype (none when "") and returns the
// status and the decoded JSON object.
func post(t *testing.T, url, ctype, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"), "response %d %q is not JSON", resp.StatusCode, raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out
}

const jsonType = "application/json"

// tooLarge is a well-formed body just over the 64 KiB limit.
var tooLarge = `{"reason": "` + strings.Repeat("长", 64<<10/3+1) + `"}`

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	srv, changes, _ := controlServer(t)

	status, body := post(t, srv.URL+"/api/v1/agents/1001/pause", jsonType, `{"reason": "  午休  "}`)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, stateChange{"1001", hotline.AgentPaused, "午休"}, <-changes)
	require.Equal(t, map[string]any{"id": "1001", "name": "张伟", "endpoint": "", "department": "", "skills": nil,
		"role": "", "state": "paused", "pause_reason": "午休", "state_since": "2026-11-27T09:00:00Z"}, body)

	// A reason of exactly 200 characters is fine, counted in characters, not bytes.
	reason := strings.Repeat("培", 200)
	status, body = post(t, srv.URL+"/api/v1/agents/1001/pause", jsonType, `{"reason":"`+reason+`"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, reason, (<-changes).Reason)

	// Without a Content-Type, or with another one, a body that parses is accepted.
	for _, ctype := range []string{"", "text/plain", "application/json; charset=utf-8", "application/merge-patch+json"} {
		status, body = post(t, srv.URL+"/api/v1/agents/1001/pause", ctype, `{"reason":"开会"}`)
		require.Equal(t, http.StatusOK, status, ctype)
		require.Equal(t, "开会", body["pause_reason"], ctype)
		<-changes
	}

	for _, b := range []string{"", "{}", " \n"} {
		status, body = post(t, srv.URL+"/api/v1/agents/1001/resume", "", b)
		require.Equal(t, http.StatusOK, status, b)
		require.Equal(t, "available", body["state"])
		require.NotContains(t, body, "pause_reason")
		require.Equal(t, stateChange{"1001", hotline.AgentAvailable, ""}, <-changes)
	}
}

// requireError checks an error answer's status, kind and message.
func requireError(t *testing.T, status int, body map[string]any, wantStatus int, wantKind, wantMsg, context string) {
	t.Helper()
	require.Equal(t, wantStatus, status, context)
	require.Equal(t, wantKind, body["kind"], context)
	require.Contains(t, body["error"], wantMsg, context)
}

func TestPauseAndResumeRejectBadInput(t *testing.T) {
	t.Parallel()
	srv, changes, _ := controlServer(t)
	pause := srv.URL + "/api/v1/agents/1001/pause"
	resume := srv.URL + "/api/v1/agents/1001/resume"
	cases := []struct {
		url, ctype, body string
		status           int
		msg              string
	}{
		{pause, jsonType, ``, 400, "reason is required"},
		{pause, jsonType, `{}`, 400, "reason is required"},
		{pause, jsonType, `null`, 400, "reason is required"},
		{pause, jsonType, `{"reason": " \t "}`, 400, "reason is required"},
		{pause, jsonType, `{"reason":"` + strings.Repeat("培", 201) + `"}`, 400, "reason is 201 characters long; at most 200 are allowed"},
		{pause, jsonType, `{"reason": "午休", "minutes": 30}`, 400, `body: unknown field "minutes"`},
		{pause, jsonType, `{"reason": 30}`, 400, `body: field "reason" must be a string, got number`},
		{pause, jsonType, `["午休"]`, 400, "body: expected a JSON object, got array"},
		{pause, jsonType, `{"reason": "午休"`, 400, "body: malformed JSON: it ends too early"},
		{pause, jsonType, `{"reason": "午休",}`, 400, "body: malformed JSON at byte 21: invalid character '}' looking for beginning of object key string"},
		{pause, jsonType, `{"reason": "午休"} {"reason": "开会"}`, 400, "body: unexpected data after the JSON object"},
		{pause, "", `reason=午休`, 400, "(no Content-Type given; send application/json)"},
		{pause, "application/x-www-form-urlencoded", `reason=午休`, 400, `(Content-Type is "application/x-www-form-urlencoded"; send application/json)`},
		{pause, jsonType, tooLarge, 413, "body: larger than the limit of 64 KiB"},
		{resume, jsonType, `{"reason": "午休"}`, 400, `body: unknown field "reason"`},
		{resume, jsonType, `{`, 400, "body: malformed JSON"},
		{resume, jsonType, tooLarge, 413, "body: larger than the limit of 64 KiB"},
	}
	for _, tc := range cases {
		status, body := post(t, tc.url, tc.ctype, tc.body)
		requireError(t, status, body, tc.status, "invalid", tc.msg, tc.url+" "+tc.body[:min(len(tc.body), 60)])
	}
	require.Empty(t, changes, "bad input must not reach AgentControl")
}

func TestAgentControlErrorsMapToStatus(t *testing.T) {
	t.Parallel()
	srv, changes, _ := controlServer(t)
	cases := []struct {
		id     string
		status int
		kind   string
		msg    string
		retry  bool
	}{
		{"missing", 404, "not_found", "missing not found", false},
		{"busy", 409, "conflict", "agent 1001 is on a call", false},
		{"bad", 400, "invalid", "department 不存在 has no agents", false},
		{"down", 503, "unavailable", "Asterisk is not connected", true},
		{"boom", 500, "internal", "internal error", false}, // no internals leak
	}
	bodies := map[string]string{"pause": `{"reason":"午休"}`, "resume": ``}
	for _, tc := range cases {
		for action, b := range bodies {
			status, body := post(t, srv.URL+"/api/v1/agents/"+tc.id+"/"+action, jsonType, b)
			requireError(t, status, body, tc.status, tc.kind, tc.msg, action+" "+tc.id)
			require.Equal(t, tc.retry, body["retryable"], action+" "+tc.id)
			require.Equal(t, tc.id, (<-changes).ID)
		}
	}
}

func TestReferral(t *testing.T) {
	t.Parallel()
	srv, _, refers := controlServer(t)

	// The agent on the call refers it: the referring agent is the actor.
	status, body, _ := send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/referrals", "a1001", `{"to_agent": "1002"}`)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, referCall{"c1", "1001", "1002", ""}, <-refers)
	require.Equal(t, map[string]any{"id": float64(7), "call_id": "c1", "from_agent": "1001", "to_agent": "1002",
		"outcome": "ringing", "requested_at": "2026-11-27T09:00:00Z"}, body)

	status, body, _ = send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/referrals", "a1001", `{"to_department": " 不动产登记 "}`)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, referCall{"c1", "1001", "", "不动产登记"}, <-refers)
	status, _, _ = send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/referrals", "a1002", `{"to_department": "不动产登记"}`)
	require.Equal(t, http.StatusForbidden, status, "an agent not on the call")
	require.Equal(t, "不动产登记", body["to_department"])
	require.NotContains(t, body, "to_agent")
}

func TestReferralRejectsBadInput(t *testing.T) {
	t.Parallel()
	srv, _, refers := controlServer(t)
	url := srv.URL + "/api/v1/calls/c1/referrals"
	cases := []struct {
		ctype, body string
		status      int
		msg         string
	}{
		{jsonType, `{"to_agent": "1002", "to_department": "不动产登记"}`, 400, "give to_agent or to_department, not both"},
		{jsonType, `{}`, 400, "to_agent or to_department is required"},
		{jsonType, `{"to_agent": " ", "to_department": ""}`, 400, "to_agent or to_department is required"},
		{jsonType, `{"to_agent": "s01"}`, 400, "agent s01 cannot refer a call to themselves"},
		{jsonType, `{"to_agnet": "1002"}`, 400, `body: unknown field "to_agnet"`},
		{jsonType, `{"from_agent": "1001", "to_agent": "1002"}`, 400, `body: field "from_agent" is no longer accepted: the actor is the logged-in user`},
		{jsonType, `{"to_agent": ["1002"]}`, 400, `body: field "to_agent" must be a string, got array`},
		{jsonType, `{"from_agent": "1001" "to_agent": "1002"}`, 400, "body: malformed JSON at byte 23: invalid character '\"' after object key:value pair"},
		{"text/plain", `department=不动产登记`, 400, `body: malformed JSON at byte 1: invalid character 'd' looking for beginning of value (Content-Type is "text/plain"; send application/json)`},
		{jsonType, `{"to_department": "` + strings.Repeat("x", 64<<10) + `"}`, 413, "body: larger than the limit of 64 KiB"},
	}
	for _, tc := range cases {
		status, body := post(t, url, tc.ctype, tc.body)
		requireError(t, status, body, tc.status, "invalid", tc.msg, tc.body[:min(len(tc.body), 80)])
	}
	require.Empty(t, refers, "bad input must not reach the Referrer")
}

func TestReferrerErrorsMapToStatus(t *testing.T) {
	t.Parallel()
	srv, _, refers := controlServer(t)
	cases := []struct {
		callID string
		status int
		kind   string
		msg    string
	}{
		{"missing", 404, "not_found", "missing not found"},
		{"busy", 409, "conflict", "agent 1001 is on a call"},
		{"bad", 400, "invalid", "department 不存在 has no agents"},
		{"down", 503, "unavailable", "Asterisk is not connected"},
		{"boom", 500, "internal", "internal error"},
	}
	for _, tc := range cases {
		status, body := post(t, srv.URL+"/api/v1/calls/"+tc.callID+"/referrals", jsonType, `{"to_department": "不动产登记"}`)
		requireError(t, status, body, tc.status, tc.kind, tc.msg, tc.callID)
		require.Equal(t, tc.callID, (<-refers).CallID)
	}
}

func TestMissingDependenciesAnswer503(t *testing.T) {
	t.Parallel()
	s, err := web.New(web.Config{}, testDeps(web.Deps{}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	t.Cleanup(srv.Close)
	cases := []struct{ method, path, body, msg string }{
		{http.MethodGet, "/api/v1/calls", "", "the call log is not available"},
		{http.MethodGet, "/api/v1/calls/c1", "", "the call log is not available"},
		{http.MethodGet, "/api/v1/agents", "", "the agent list is not available"},
		{http.MethodPost, "/api/v1/agents/1001/pause", `{"reason":"午休"}`, "pausing agents is not available"},
		{http.MethodPost, "/api/v1/agents/1001/resume", "", "resuming agents is not available"},
		{http.MethodPost, "/api/v1/calls/c1/referrals", `{"to_agent":"1002"}`, "the call log is not available"},
		{http.MethodPost, "/api/v1/calls/c1/referrals", `{"to_agnet"`, "the call log is not available"},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		requireError(t, resp.StatusCode, body, http.StatusServiceUnavailable, "unavailable", tc.msg, tc.method+" "+tc.path)
		require.Contains(t, body["error"], "the server was started without it")
		require.Equal(t, false, body["retryable"], tc.path)
	}
	// Health stays up without them.
	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestCrossSiteRequestsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/api/v1/agents/1001/resume", strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "cross-origin request refused", body["error"])
}
