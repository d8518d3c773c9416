package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// callReaderFunc adapts functions to web.CallReader.
type callReaderFunc struct {
	list func(context.Context, web.CallFilter) ([]hotline.Call, error)
	get  func(context.Context, string) (hotline.Call, error)
}

func (f callReaderFunc) ListCalls(ctx context.Context, flt web.CallFilter) ([]hotline.Call, error) {
	return f.list(ctx, flt)
}
func (f callReaderFunc) GetCall(ctx context.Context, id string) (hotline.Call, error) {
	return f.get(ctx, id)
}

type agentList []hotline.Agent

func (a agentList) List() []hotline.Agent { return a }

type bundle struct {
	srv      *httptest.Server
	filters  chan web.CallFilter
	ariErr   error
	redisErr error
	role     atomic.Pointer[web.Role]
}

var arrived = time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{filters: make(chan web.CallFilter, 4)}
	b.role.Store(&web.Role{Role: "active"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_test_total", Help: "t"}))
	s, err := web.New(web.Config{}, testDeps(web.Deps{
		Checks: []web.Check{
			{Name: "ari", ActiveOnly: true, Fn: func(context.Context) error { return b.ariErr }},
			{Name: "database", Fn: func(context.Context) error { return nil }},
			{Name: "redis", Degrades: true, Fn: func(context.Context) error { return b.redisErr }},
		},
		Calls: callReaderFunc{
			list: func(_ context.Context, f web.CallFilter) ([]hotline.Call, error) {
				b.filters <- f
				return []hotline.Call{
					{ID: "c2", State: hotline.CallMissed, MissedReason: hotline.MissedAbandoned,
						ArrivedAt: arrived, EndedAt: arrived.Add(41260 * time.Millisecond)},
					{ID: "c3", State: hotline.CallRinging, ArrivedAt: arrived},
				}, nil
			},
			get: func(_ context.Context, id string) (hotline.Call, error) {
				if id == "c1" {
					return hotline.Call{ID: "c1", State: hotline.CallCompleted, FirstResponsibleAgent: "1001", ArrivedAt: arrived,
						AnsweredAt: arrived.Add(12340 * time.Millisecond), EndedAt: arrived.Add(95060 * time.Millisecond)}, nil
				}
				return hotline.Call{}, hotline.Errorf(hotline.KindNotFound, "store.GetCall", "call %q not found", id)
			},
		},
		Agents:   agentList{{ID: "1001", Name: "张伟", State: hotline.AgentAvailable}},
		Gatherer: reg,
		Role:     func() web.Role { return *b.role.Load() },
	}), nil)
	require.NoError(t, err)
	b.srv = serveAs(t, s.Handler(), "sup")
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bundle) get(t *testing.T, path string) (int, map[string]any, string) {
	t.Helper()
	resp, err := http.Get(b.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &body))
	}
	return resp.StatusCode, body, string(raw)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, body, _ := b.get(t, "/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])

	status, body, _ = b.get(t, "/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, body["ready"])
	require.Equal(t, "active", body["role"])
	require.NotContains(t, body, "standby")

	// A standby is not connected to Asterisk, and serves the API: 200,
	// with its role and why it waits; the ARI check is not its to pass.
	b.ariErr = errors.New("ARI not connected yet")
	b.role.Store(&web.Role{Role: "standby", Detail: "instance h1 (127.0.0.1:38080) holds the lease hotline@127.0.0.1:8088"})
	status, body, _ = b.get(t, "/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, body["ready"])
	require.Equal(t, "standby", body["role"])
	require.Equal(t, "instance h1 (127.0.0.1:38080) holds the lease hotline@127.0.0.1:8088", body["standby"])
	require.Len(t, body["checks"], 2, "database and redis")
	b.ariErr = nil
	b.role.Store(&web.Role{Role: "active"})

	// A check that only degrades the service keeps it ready, and says so.
	b.redisErr = errors.New("redis does not answer")
	status, body, _ = b.get(t, "/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, body["ready"])
	require.Equal(t, []any{"redis"}, body["degraded"])
	require.Equal(t, map[string]any{"name": "redis", "ok": false, "degraded": true, "error": "redis does not answer"}, body["checks"].([]any)[2])

	b.ariErr = errors.New("ARI not connected yet")
	status, body, _ = b.get(t, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, false, body["ready"])
	checks := body["checks"].([]any)
	require.Equal(t, map[string]any{"name": "ari", "ok": false, "error": "ARI not connected yet"}, checks[0])

	status, _, raw := b.get(t, "/metrics")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, raw, "hotline_test_total 0")
}

func TestCallsAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, body, _ := b.get(t, "/api/v1/calls?state=missed&agent=1001&number=13800138000&limit=5&since=2026-11-27T08:30:00%2B08:00")
	require.Equal(t, http.StatusOK, status)
	calls := body["calls"].([]any)
	require.Len(t, calls, 2)
	missed, ringing := calls[0].(map[string]any), calls[1].(map[string]any)
	require.Equal(t, "abandoned", missed["missed_reason"])
	require.Equal(t, 41.3, missed["wait_seconds"]) // until the citizen hung up
	require.Equal(t, 0.0, missed["talk_seconds"])
	require.Equal(t, 0.0, ringing["wait_seconds"]) // not known while it rings
	require.Equal(t, 0.0, ringing["talk_seconds"])
	f := <-b.filters
	require.Equal(t, web.CallFilter{State: hotline.CallMissed, Agent: "1001", Number: "13800138000", Limit: 5,
		Since: time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC)}, web.CallFilter{State: f.State, Agent: f.Agent, Number: f.Number, Uncallable: f.Uncallable, Limit: f.Limit, Since: f.Since.UTC()})

	status, _, _ = b.get(t, "/api/v1/calls?state=missed&uncallable=true")
	require.Equal(t, http.StatusOK, status)
	require.True(t, (<-b.filters).Uncallable, "?uncallable=true lists the calls no callback can reach")
	status, _, _ = b.get(t, "/api/v1/calls?uncallable=maybe")
	require.Equal(t, http.StatusBadRequest, status)

	status, body, _ = b.get(t, "/api/v1/calls/c1")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "1001", body["first_responsible_agent"])
	require.Equal(t, "2026-11-27T08:30:00Z", body["arrived_at"])
	require.Equal(t, 12.3, body["wait_seconds"])
	require.Equal(t, 82.7, body["talk_seconds"]) // 95.06 - 12.34, rounded to 0.1 s

	status, body, _ = b.get(t, "/api/v1/agents")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "张伟", body["agents"].([]any)[0].(map[string]any)["name"])
}

func TestAPIErrorsAreClearJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		path   string
		status int
		kind   string
		msg    string
	}{
		{"/api/v1/calls/nope", http.StatusNotFound, "not_found", `call "nope" not found`},
		{"/api/v1/calls?limit=0", http.StatusBadRequest, "invalid", `limit "0" must be a number from 1 to 1000`},
		{"/api/v1/calls?state=lost", http.StatusBadRequest, "invalid", "state \"lost\" must be one of"},
		{"/api/v1/calls?since=yesterday", http.StatusBadRequest, "invalid", "RFC 3339"},
		{"/api/v1/nothing", http.StatusNotFound, "not_found", "no such API route"},
	}
	for _, tc := range cases {
		status, body, _ := b.get(t, tc.path)
		require.Equal(t, tc.status, status, tc.path)
		require.Equal(t, tc.kind, body["kind"], tc.path)
		require.Contains(t, body["error"], tc.msg, tc.path)
	}
}

func TestStatusTableCoversEveryKind(t *testing.T) {
	t.Parallel()
	want := map[hotline.ErrorKind]int{
		hotline.KindInvalid: 400, hotline.KindUnauthorized: 401, hotline.KindForbidden: 403, hotline.KindNotFound: 404,
		hotline.KindConflict: 409, hotline.KindInternal: 500, hotline.KindUnavailable: 503,
	}
	for kind, status := range want {
		require.Equal(t, status, web.StatusOf(hotline.Errorf(kind, "op", "x")), kind)
	}
	require.Equal(t, 500, web.StatusOf(errors.New("plain")))
	tooLarge := &hotline.Error{Kind: hotline.KindInvalid, Err: &http.MaxBytesError{Limit: 1}}
	require.Equal(t, http.StatusRequestEntityTooLarge, web.StatusOf(tooLarge))
}

// The console works only after login: it goes to the login page on 401,
// logs out with DELETE /api/v1/session, and never names who acts.
func TestConsoleLogsInAndNeverSendsBy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, _, raw := b.get(t, "/login.html")
	require.Equal(t, http.StatusOK, status)
	for _, s := range []string{"工作人员登录", `id="user"`, `type="password"`, "login.js"} {
		require.Contains(t, raw, s)
	}
	status, _, raw = b.get(t, "/login.js")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, raw, `fetch("/api/v1/session"`)
	require.Contains(t, raw, "429")
	status, _, raw = b.get(t, "/app.js")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, raw, `"/login.html?next="`)
	require.Contains(t, raw, `method: "DELETE"`)
	for _, script := range []string{"/app.js", "/desk.js", "/wall.js", "/call.js", "/calls.js", "/promises.js", "/violations.js", "/audit.js"} {
		status, _, raw = b.get(t, script)
		require.Equal(t, http.StatusOK, status, script)
		for _, field := range []string{"by:", "by,", "{ by", "approved_by", "from_agent", "?by="} {
			require.NotContains(t, raw, field, script)
		}
	}
}
