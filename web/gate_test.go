package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// Test credentials: each bearer token is one actor.
var testActors = map[string]hotline.Actor{
	"sup":   {ID: "s01", Name: "督察", Roles: []hotline.Role{hotline.RoleSupervisor}},
	"a1001": {ID: "1001", Name: "张伟", Roles: []hotline.Role{hotline.RoleAgent}},
	"a1002": {ID: "1002", Name: "王芳", Roles: []hotline.Role{hotline.RoleAgent}},
	"adm":   {ID: "9001", Name: "管理员", Roles: []hotline.Role{hotline.RoleAdmin}},
	// A supervisor whose name is markup: pages show it as text.
	"xss": {ID: "1003", Name: `<script>alert(1)</script>`, Roles: []hotline.Role{hotline.RoleSupervisor}},
}

// fakeAuth knows the tokens of testActors; "off" is a disabled user's
// token; a session secret is "session-" plus a token.
type fakeAuth struct{}

func (fakeAuth) actor(secret, address string, m hotline.AuthMethod) (hotline.Actor, error) {
	a, ok := testActors[secret]
	if !ok {
		return hotline.Actor{}, hotline.Errorf(hotline.KindUnauthorized, "fake", "the token is unknown, revoked or expired, or its user is disabled")
	}
	a.Address, a.Method = address, m
	return a, nil
}

func (f fakeAuth) Login(_ context.Context, user, password, address string) (string, hotline.Actor, time.Time, error) {
	for token, a := range testActors {
		if a.ID == user && password == "right-password" {
			a.Address, a.Method = address, hotline.AuthSession
			return "session-" + token, a, time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC), nil
		}
	}
	return "", hotline.Actor{}, time.Time{}, hotline.Errorf(hotline.KindUnauthorized, "fake", "wrong user or password")
}

func (fakeAuth) Logout(context.Context, string, hotline.Actor) error { return nil }

func (f fakeAuth) SessionActor(_ context.Context, secret, address string) (hotline.Actor, time.Time, error) {
	a, err := f.actor(strings.TrimPrefix(secret, "session-"), address, hotline.AuthSession)
	return a, time.Time{}, err
}

func (f fakeAuth) TokenActor(_ context.Context, secret, address string) (hotline.Actor, error) {
	return f.actor(secret, address, hotline.AuthToken)
}

// auditRecorder keeps the audit rows the server writes.
type auditRecorder struct {
	mu   sync.Mutex
	rows []string // "actor role action object outcome"
}

func (a *auditRecorder) Audit(_ context.Context, actor hotline.Actor, action, object, outcome, _ string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows = append(a.rows, strings.Join([]string{actor.ID, actor.RoleText(), action, object, outcome}, " "))
}

func (a *auditRecorder) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.rows)
}

// testDeps adds the fake authenticator (and an audit recorder) to deps.
func testDeps(d web.Deps) web.Deps {
	if d.Auth == nil {
		d.Auth = fakeAuth{}
	}
	if d.Auditor == nil {
		d.Auditor = &auditRecorder{}
	}
	return d
}

// serveAs serves h with every request sent as the test actor whose token
// is as, unless the request says otherwise in X-Test-As ("anonymous" for
// none).
func serveAs(t *testing.T, h http.Handler, as string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := as
		if v := r.Header.Get("X-Test-As"); v != "" {
			who = v
		}
		if r.Header.Get("Authorization") == "" && who != "anonymous" {
			r.Header.Set("Authorization", "Bearer "+who)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// send makes one request as the actor whose token is as.
func send(t *testing.T, method, url, as, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Test-As", as)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirects.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

// noRedirects answers a redirect as it is (a page sends a browser
// without a login to the login page).
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// allDeps has every dependency, each matter belonging to agent 1001: call
// c1 it answered, task 1 whose attempt reached the citizen, promise 1,
// violation 1 against it, recording c1 it took part in.
func allDeps(audit *auditRecorder) web.Deps {
	call := hotline.Call{ID: "c1", CallerNumber: "13800138000", CallerRaw: "13800138000", State: hotline.CallCompleted,
		FirstResponsibleAgent: "1001", ArrivedAt: arrived, AnsweredAt: arrived.Add(time.Second), EndedAt: arrived.Add(time.Minute)}
	task := hotline.CallbackTask{ID: 1, Number: "13800138000", State: hotline.CallbackPending, AgentID: "1001", Deadline: arrived,
		AttemptLog: []hotline.CallbackAttempt{{ID: 1, AgentID: "1001", BridgedAt: arrived, Outcome: hotline.AttemptTooShort}}}
	promise := hotline.Promise{ID: 1, CallID: "c1", Number: "13800138000", AgentID: "1001", CreatedBy: "1001", State: hotline.PromiseOpen,
		Deadline: arrived.Add(time.Hour)}
	violation := hotline.Violation{ID: 1, Kind: hotline.ViolationCallbackOverdue, AgentID: "1001", Detail: "回访 13800138000 超时"}
	return web.Deps{
		Auth:    fakeAuth{},
		Auditor: audit,
		Calls: callReaderFunc{
			list: func(context.Context, web.CallFilter) ([]hotline.Call, error) { return []hotline.Call{call}, nil },
			get: func(_ context.Context, id string) (hotline.Call, error) {
				if id != "c1" {
					return hotline.Call{}, hotline.Errorf(hotline.KindNotFound, "fake", "call %q not found", id)
				}
				return call, nil
			},
		},
		Agents: agentList{{ID: "1001", Name: "张伟", State: hotline.AgentAvailable}},
		Control: agentControlFunc(func(context.Context, string, hotline.AgentState, string) (hotline.Agent, error) {
			return hotline.Agent{}, nil
		}),
		Referrer: referrerFunc(func(context.Context, string, string, string, string) (hotline.Referral, error) {
			return hotline.Referral{}, nil
		}),
		Callbacks: fixedCallbacks{task},
		Violations: violationDeskFuncs{
			list: func(context.Context, web.ViolationFilter) ([]hotline.Violation, error) {
				return []hotline.Violation{violation}, nil
			},
			get: func(context.Context, int64) (hotline.Violation, error) { return violation, nil },
			dispose: func(context.Context, int64, hotline.Disposition, string) (hotline.Violation, error) {
				return violation, nil
			},
		},
		Promises:   fixedPromises{promise},
		Recordings: &fakePlayer{parties: []string{"1001"}},
		Reviews:    &fakeReviews{},
		Audit:      auditFunc(func(context.Context) (int64, error) { return 0, nil }),
		Holds:      holdFunc(func(context.Context, string, bool) error { return nil }),
		Reports: reportDeskFunc(func(context.Context, hotline.ReportPeriod, string) ([]hotline.AgentReport, error) {
			return []hotline.AgentReport{{Agent: "1001"}}, nil
		}),
		Complaints: complaintDesk{added: make(chan hotline.Complaint, 100)},
		Gatherer:   prometheus.NewRegistry(),
	}
}

// fixedCallbacks is a callback desk of one task.
type fixedCallbacks struct{ t hotline.CallbackTask }

func (f fixedCallbacks) ListCallbacks(context.Context, web.CallbackFilter) ([]hotline.CallbackTask, error) {
	return []hotline.CallbackTask{f.t}, nil
}
func (f fixedCallbacks) GetCallback(context.Context, int64) (hotline.CallbackTask, error) {
	return f.t, nil
}
func (f fixedCallbacks) DialNow(context.Context, int64) error { return nil }
func (f fixedCallbacks) Acknowledge(context.Context, int64, string) (hotline.CallbackTask, error) {
	return f.t, nil
}
func (f fixedCallbacks) Close(context.Context, int64, string) (hotline.CallbackTask, error) {
	return f.t, nil
}

// fixedPromises is a promise desk of one promise.
type fixedPromises struct{ p hotline.Promise }

func (f fixedPromises) CreatePromise(context.Context, web.PromiseInput) (hotline.Promise, error) {
	return f.p, nil
}
func (f fixedPromises) ListPromises(context.Context, web.PromiseFilter) ([]hotline.Promise, error) {
	return []hotline.Promise{f.p}, nil
}
func (f fixedPromises) GetPromise(context.Context, int64) (hotline.Promise, error) { return f.p, nil }
func (f fixedPromises) ExtendPromise(context.Context, int64, time.Time, string) (hotline.Promise, error) {
	return f.p, nil
}
func (f fixedPromises) FulfilPromise(context.Context, int64, string) (hotline.Promise, error) {
	return f.p, nil
}
func (f fixedPromises) ReplyCall(context.Context, int64) error { return nil }
func (f fixedPromises) ClosePromise(context.Context, int64, string) (hotline.Promise, error) {
	return f.p, nil
}

// whoMay is this test's own table of who gets past the gate on each
// route: "open" for everyone, else the test tokens allowed. A route
// registered without a row here fails the test, and so does a route whose
// action has no row in hotline's access table.
var whoMay = map[string][]string{
	"GET /healthz":                                  {"open"},
	"GET /readyz":                                   {"open"},
	"GET /*":                                        {"open"},
	"POST /api/v1/session":                          {"open"},
	"GET /metrics":                                  {"sup", "a1001", "a1002", "adm"},
	"GET /debug/pprof/*":                            {"adm"},
	"GET /api/v1/session":                           {"sup", "a1001", "a1002", "adm"},
	"DELETE /api/v1/session":                        {"sup", "a1001", "a1002", "adm"},
	"GET /api/v1/calls":                             {"sup", "a1001", "a1002"},
	"GET /api/v1/calls/{id}":                        {"sup", "a1001"},
	"POST /api/v1/calls/{id}/referrals":             {"sup", "a1001"},
	"POST /api/v1/calls/{id}/reviews":               {"sup"},
	"GET /api/v1/reviews":                           {"sup", "a1001", "a1002"},
	"GET /api/v1/agents":                            {"sup", "a1001", "a1002", "adm"},
	"POST /api/v1/agents/{id}/pause":                {"sup", "a1001"},
	"POST /api/v1/agents/{id}/resume":               {"sup", "a1001"},
	"GET /api/v1/callbacks":                         {"sup", "a1001", "a1002"},
	"GET /api/v1/callbacks/{id}":                    {"sup", "a1001"},
	"POST /api/v1/callbacks/{id}/dial":              {"sup", "a1001"},
	"POST /api/v1/callbacks/{id}/acknowledge":       {"sup"},
	"POST /api/v1/callbacks/{id}/close":             {"sup", "a1001"},
	"GET /api/v1/violations":                        {"sup", "a1001", "a1002"},
	"POST /api/v1/violations/{id}/disposition":      {"sup"},
	"GET /api/v1/promises":                          {"sup", "a1001", "a1002"},
	"POST /api/v1/promises":                         {"sup", "a1001", "a1002"},
	"GET /api/v1/promises/{id}":                     {"sup", "a1001"},
	"POST /api/v1/promises/{id}/extend":             {"sup"},
	"POST /api/v1/promises/{id}/fulfil":             {"sup", "a1001"},
	"POST /api/v1/promises/{id}/reply-call":         {"sup", "a1001"},
	"POST /api/v1/promises/{id}/close":              {"sup"},
	"GET /api/v1/recordings/{name}/audio":           {"sup", "a1001"},
	"POST /api/v1/recordings/{name}/hold":           {"sup"},
	"GET /api/v1/reports/agents":                    {"sup", "a1001", "a1002"},
	"POST /api/v1/complaints":                       {"sup"},
	"GET /api/v1/complaints":                        {"sup", "a1001", "a1002"},
	"GET /api/v1/audit":                             {"sup", "adm"},
	"GET /api/v1/audit/verify":                      {"sup", "adm"},
	"GET /api/v1/calls/export":                      {"sup"},
	"GET /api/v1/calls/{id}/timeline":               {"sup", "a1001"},
	"POST /api/v1/monitors/{id}/end":                {"sup"},
	"POST /api/v1/calls/{id}/monitor":               {"sup"},
	"POST /api/v1/promises/{id}/extension-requests": {"sup", "a1001"},
	"GET /api/v1/extension-requests":                {"sup"},
	"POST /api/v1/extension-requests/{id}/decision": {"sup"},
	"GET /api/v1/events":                            {"sup", "a1001", "a1002", "adm"},
	"GET /api/v1/wall":                              {"sup"},

	"GET /":           {"sup", "a1001", "a1002", "adm"},
	"GET /desk":       {"sup", "a1001", "a1002"},
	"GET /desk/{id}":  {"sup", "a1001"},
	"GET /wall":       {"sup"},
	"GET /calls":      {"sup", "a1001", "a1002"},
	"GET /calls/{id}": {"sup", "a1001"},
	"GET /promises":   {"sup", "a1001", "a1002"},
	"GET /violations": {"sup", "a1001", "a1002"},
	"GET /reports":    {"sup", "a1001", "a1002"},
	"GET /audit":      {"sup", "adm"},
}

// Every route registered in the router: no credentials, each role, and a
// disabled user's token get the status the table above says (the matters
// all belong to agent 1001).
func TestEveryRouteIsChecked(t *testing.T) {
	t.Parallel()
	audit := &auditRecorder{}
	// Every route is refused many times over: the failure limit must not
	// answer 429 first.
	s, err := web.New(web.Config{MetricsOpenTo: []string{"192.0.2.0/24"}, FailureLimit: 100000}, allDeps(audit), nil)
	require.NoError(t, err)
	h := s.Handler()
	srv := serveAs(t, h, "anonymous")

	actions := map[string]web.RouteInfo{}
	for _, ri := range s.Routes() {
		actions[ri.Method+" "+ri.Pattern] = ri
	}
	var walked []string
	err = chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.Replace(route, "/api/v1/*", "/api/v1", 1) // chi names a mounted router's routes so
		route = strings.TrimSuffix(route, "/")
		if route == "" {
			route = "/"
		}
		walked = append(walked, method+" "+route)
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, walked)
	for _, key := range walked {
		allowed, ok := whoMay[key]
		require.True(t, ok, "route %s has no row in whoMay: say who may call it", key)
		ri, ok := actions[key]
		require.True(t, ok, "route %s is not in the server's route table", key)
		if !ri.Open {
			_, ok := hotline.PermissionOf(ri.Action)
			require.True(t, ok, "route %s: action %q has no row in hotline's access table", key, ri.Action)
		}
		method, path, _ := strings.Cut(key, " ")
		path = strings.NewReplacer("{id}", "1", "{name}", "c1", "/*", "/index.html").Replace(path)
		if strings.HasPrefix(path, "/api/v1/calls/1") || path == "/calls/1" {
			path = strings.Replace(path, "/calls/1", "/calls/c1", 1)
		}
		if path == "/desk/1" {
			path = "/desk/1001"
		}
		if strings.HasPrefix(path, "/api/v1/agents/1/") {
			path = strings.Replace(path, "/agents/1/", "/agents/1001/", 1)
		}
		if slices.Contains(allowed, "open") {
			status, _, _ := send(t, method, srv.URL+path, "anonymous", "")
			require.NotEqual(t, http.StatusUnauthorized, status, "%s is open", key)
			continue
		}
		noLogin := http.StatusUnauthorized
		if ri.Page {
			noLogin = http.StatusSeeOther // to the login page
		}
		status, _, h := send(t, method, srv.URL+path, "anonymous", "")
		require.Equal(t, noLogin, status, "%s without credentials", key)
		if ri.Page {
			require.True(t, strings.HasPrefix(h.Get("Location"), "/login.html?next="), "%s goes to the login page", key)
		}
		status, _, _ = send(t, method, srv.URL+path, "off", "")
		require.Equal(t, noLogin, status, "%s by a disabled user", key)
		for _, who := range []string{"sup", "a1001", "a1002", "adm"} {
			status, _, _ := send(t, method, srv.URL+path, who, "")
			if slices.Contains(allowed, who) {
				require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, status, "%s by %s", key, who)
			} else {
				require.Equal(t, http.StatusForbidden, status, "%s by %s", key, who)
			}
		}
	}
	for key := range whoMay {
		require.Contains(t, walked, key, "whoMay lists a route the server does not have")
	}
	// Every refusal was audited as denied, with the actor's role.
	var denied int
	for _, row := range audit.all() {
		if strings.HasSuffix(row, " denied") {
			denied++
		}
	}
	require.Positive(t, denied)
}

// A page on another site that reaches the API through DNS rebinding names
// its own host: refused. Every answer carries the security headers.
func TestHostAllowListAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	s, err := web.New(web.Config{Listen: "10.1.2.3:8080", AllowedHosts: []string{"hotline.example.gov.cn", "127.0.0.1"}}, testDeps(web.Deps{}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	for host, want := range map[string]int{"evil.example": 403, "hotline.example.gov.cn": 200, "HOTLINE.example.gov.cn:8080": 200, "localhost": 403} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, host)
		require.Equal(t, "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'", resp.Header.Get("Content-Security-Policy"))
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	}
	var c web.Config
	c.Listen = "192.0.2.9:8080"
	c.SetDefaults()
	require.Equal(t, []string{"localhost", "127.0.0.1", "::1", "192.0.2.9"}, c.AllowedHosts, "default: the listen address and localhost")
}

// Login sets an HttpOnly, SameSite=Lax cookie that then authenticates;
// logging out ends it. A request that still names "by" fails loudly.
func TestLoginCookie(t *testing.T) {
	t.Parallel()
	s, err := web.New(web.Config{}, testDeps(web.Deps{Agents: agentList{{ID: "1001"}}}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "anonymous")
	status, body, h := send(t, http.MethodPost, srv.URL+"/api/v1/session", "anonymous", `{"user":"1001","password":"wrong"}`)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "wrong user or password", body["error"])
	status, body, h = send(t, http.MethodPost, srv.URL+"/api/v1/session", "anonymous", `{"user":"1001","password":"right-password"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "1001", body["user"].(map[string]any)["id"])
	cookie := h.Get("Set-Cookie")
	require.Contains(t, cookie, "hotline_session=session-a1001")
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Lax")
	require.NotContains(t, cookie, "Secure", "plain HTTP")

	get := func(path string) int {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("X-Test-As", "anonymous")
		req.Header.Set("Cookie", "hotline_session=session-a1001")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("/api/v1/session"))
	require.Equal(t, http.StatusOK, get("/api/v1/agents"))
	require.Equal(t, http.StatusBadRequest, get("/api/v1/agents?by=1001"), "by is refused by name")
	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/agents", "anonymous", "")
	require.Equal(t, http.StatusUnauthorized, status)
}

// Failing requests of one actor are limited: past the limit it must wait.
func TestFailingRequestsAreLimitedPerActor(t *testing.T) {
	t.Parallel()
	audit := &auditRecorder{}
	s, err := web.New(web.Config{FailureLimit: 3}, testDeps(web.Deps{Auditor: audit}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "a1002")
	for range 3 {
		status, _, _ := send(t, http.MethodPost, srv.URL+"/api/v1/recordings/c1/hold", "a1002", `{"hold":true}`)
		require.Equal(t, http.StatusForbidden, status)
	}
	status, body, h := send(t, http.MethodPost, srv.URL+"/api/v1/recordings/c1/hold", "a1002", `{"hold":true}`)
	require.Equal(t, http.StatusTooManyRequests, status, body)
	require.Equal(t, "10", h.Get("Retry-After"))
	require.Len(t, audit.all(), 3, "the limited request is not audited")
	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/audit", "sup", "")
	require.NotEqual(t, http.StatusTooManyRequests, status, "other actors go on")
}

// Numbers are masked unless ?numbers=full; then the responsible agent and
// supervisors get them whole, and that read is one audit row.
func TestNumbersAreMaskedAndFullReadsAudited(t *testing.T) {
	t.Parallel()
	audit := &auditRecorder{}
	s, err := web.New(web.Config{}, allDeps(audit), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	number := func(as, path string) any {
		status, body, _ := send(t, http.MethodGet, srv.URL+path, as, "")
		require.Equal(t, http.StatusOK, status, body)
		if calls, ok := body["calls"].([]any); ok {
			return calls[0].(map[string]any)["caller_number"]
		}
		if list, ok := body["callbacks"].([]any); ok {
			return list[0].(map[string]any)["number"]
		}
		if v, ok := body["violations"].([]any); ok {
			return v[0].(map[string]any)["detail"]
		}
		if n, ok := body["caller_number"]; ok {
			return n
		}
		return body["number"]
	}
	require.Equal(t, "138****8000", number("sup", "/api/v1/calls"))
	require.Equal(t, "138****8000", number("a1001", "/api/v1/calls/c1"))
	require.Empty(t, audit.all(), "masked reads are not audited")
	require.Equal(t, "13800138000", number("a1001", "/api/v1/calls/c1?numbers=full"), "the responsible agent")
	require.Equal(t, "138****8000", number("a1002", "/api/v1/calls?numbers=full"), "an agent only rung on the call")
	require.Equal(t, "13800138000", number("sup", "/api/v1/callbacks?numbers=full"))
	require.Equal(t, "13800138000", number("sup", "/api/v1/promises/1?numbers=full"))
	require.Equal(t, "回访 138****8000 超时", number("a1001", "/api/v1/violations"), "violation texts")
	require.Equal(t, []string{
		"1001 agent call.number call:c1 ok",
		"s01 supervisor call.number callback:1 ok",
		"s01 supervisor call.number promise:1 ok",
	}, audit.all())
}

func TestClientAddressThroughTrustedProxies(t *testing.T) {
	t.Parallel()
	got := make(chan string, 4)
	s, err := web.New(web.Config{TrustedProxies: []string{"127.0.0.1", "10.0.0.0/8"}}, testDeps(web.Deps{
		Control: agentControlFunc(func(ctx context.Context, _ string, _ hotline.AgentState, _ string) (hotline.Agent, error) {
			a, _ := hotline.ActorFromContext(ctx)
			got <- a.Address
			return hotline.Agent{}, nil
		})}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	resume := func(xff string) string {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/agents/1001/resume", nil)
		require.NoError(t, err)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return <-got
	}
	require.Equal(t, "127.0.0.1", resume(""))
	require.Equal(t, "203.0.113.5", resume("198.51.100.1, 203.0.113.5, 10.0.0.2"), "the last address that is not a trusted proxy")

	s, err = web.New(web.Config{}, testDeps(web.Deps{Control: agentControlFunc(func(ctx context.Context, _ string, _ hotline.AgentState, _ string) (hotline.Agent, error) {
		a, _ := hotline.ActorFromContext(ctx)
		got <- a.Address
		return hotline.Agent{}, nil
	})}), nil)
	require.NoError(t, err)
	srv = serveAs(t, s.Handler(), "sup")
	require.Equal(t, "127.0.0.1", resume("203.0.113.5"), "no trusted proxies: the header is not believed")
}
