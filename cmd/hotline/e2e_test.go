package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The service through real processes: `hotline demo` (the fake Asterisk
// inside) and `hotline serve`, built as the release is, on free ports,
// driven over HTTP only.
func TestEndToEndThroughRealProcesses(t *testing.T) {
	t.Parallel()
	bin := buildHotline(t)
	t.Run("demo", func(t *testing.T) { t.Parallel(); endToEndDemo(t, bin) })
	t.Run("serve", func(t *testing.T) { t.Parallel(); endToEndServe(t, bin) })
}

// buildHotline builds the command into a temporary folder, with the race
// detector when the test runs with it (so the build reuses the test's
// compiled packages).
func buildHotline(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hotline")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running hotline command whose stdout lines arrive on lines.
type process struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *bytes.Buffer
}

func start(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	p := &process{cmd: cmd, lines: make(chan string, 256), stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return p
}

// envWithout is the test's environment without the named variables (the
// demo must not share the test's Redis: it runs an embedded one).
func envWithout(names ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			if name == n {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// client talks to one service as one staff member.
type client struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func newClient(t *testing.T, base, token string) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, base: base, token: token, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (c *client) do(method, path, body string, header ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	require.NoError(c.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

func (c *client) login(user, password string) int {
	c.t.Helper()
	status, _, _ := c.do(http.MethodPost, "/api/v1/session", fmt.Sprintf(`{"user":%q,"password":%q}`, user, password))
	return status
}

// eventually polls cond every 50ms until it holds, failing after 20s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin is eventually with another limit.
func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(50 * time.Millisecond)
	}
}

func sim(t *testing.T, ariAddr, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+ariAddr+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, raw)
}

func endToEndDemo(t *testing.T, bin string) {
	dir := t.TempDir()
	prompts := shortPrompts(t, dir)
	httpAddr, ariAddr := freePort(t), freePort(t)
	demo := start(t, bin, envWithout("REDIS_URL", "HOTLINE_REDIS_URL"), "demo", "-http", httpAddr, "-ari", ariAddr,
		"-data", filepath.Join(dir, "data"), "-rate", "0.0001", "-summary", "1h", "-prompts", prompts)
	creds := map[string]string{}
	timeout := time.After(60 * time.Second)
	for creds["token"] == "" {
		select {
		case line, ok := <-demo.lines:
			require.True(t, ok, "demo ended: %s", demo.stderr)
			f := strings.Fields(line)
			switch {
			case len(f) == 5 && f[0] == "demo" && f[1] == "login":
				creds[f[3]] = f[4]
			case len(f) == 4 && f[0] == "demo" && f[1] == "token" && f[2] == "supervisor":
				creds["token"] = f[3]
			}
		case <-timeout:
			t.Fatalf("no demo credentials within 60s: %s", demo.stderr)
		}
	}
	require.NotEmpty(t, creds["1001"])
	require.NotEmpty(t, creds["2001"])
	base := "http://" + httpAddr
	anon := newClient(t, base, "")
	super := newClient(t, base, creds["token"])
	agent := newClient(t, base, "")

	// Without credentials: 401. A foreign Host (DNS rebinding): refused.
	status, _, _ := anon.do(http.MethodGet, "/api/v1/calls", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _, _ = super.do(http.MethodGet, "/api/v1/calls", "", "Host", "evil.example:"+strings.Split(httpAddr, ":")[1])
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = anon.do(http.MethodGet, "/healthz", "")
	require.Equal(t, http.StatusOK, status)

	// Call A is answered by 1002 (1001 is not registered, never rung);
	// call B by 1001.
	for _, ep := range []string{"1001", "1003", "1004", "1005"} {
		sim(t, ariAddr, http.MethodPut, "/sim/endpoints/PJSIP/"+ep, `{"offline": true}`)
	}
	sim(t, ariAddr, http.MethodPut, "/sim/endpoints/PJSIP/1002", `{"answer_after": "100ms", "hangup_after": "1m"}`)
	agentState := func(id string) string {
		var out struct{ Agents []struct{ ID, State string } }
		status, body, _ := super.do(http.MethodGet, "/api/v1/agents", "")
		require.Equal(t, http.StatusOK, status)
		raw, _ := json.Marshal(body)
		_ = json.Unmarshal(raw, &out)
		for _, a := range out.Agents {
			if a.ID == id {
				return a.State
			}
		}
		return ""
	}
	eventually(t, "1001 offline", func() bool { return agentState("1001") == "offline" })
	callA := placeAndAwait(t, super, ariAddr, "13800138000", "1002")
	sim(t, ariAddr, http.MethodPut, "/sim/endpoints/PJSIP/1002", `{"offline": true}`)
	sim(t, ariAddr, http.MethodPut, "/sim/endpoints/PJSIP/1001", `{"answer_after": "100ms", "hangup_after": "1m"}`)
	eventually(t, "1001 available", func() bool { return agentState("1001") == "available" })
	callB := placeAndAwait(t, super, ariAddr, "13900139000", "1001")

	require.Equal(t, http.StatusOK, agent.login("1001", creds["1001"]))
	// An agent: another agent's recording 403, its own 200; pausing
	// another agent 403. The supervisor: 200 for both.
	status, _, _ = agent.do(http.MethodGet, "/api/v1/recordings/"+callA.recording+"/audio", "")
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = agent.do(http.MethodGet, "/api/v1/recordings/"+callB.recording+"/audio", "")
	require.Equal(t, http.StatusOK, status)
	status, _, _ = agent.do(http.MethodPost, "/api/v1/agents/1002/pause", `{"reason":"午休"}`)
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = super.do(http.MethodGet, "/api/v1/recordings/"+callA.recording+"/audio", "")
	require.Equal(t, http.StatusOK, status)
	status, _, _ = super.do(http.MethodPost, "/api/v1/agents/1002/pause", `{"reason":"培训"}`)
	require.Equal(t, http.StatusOK, status)
	status, body, _ := agent.do(http.MethodPost, "/api/v1/agents/1001/pause", `{"reason":"午休","by":"2001"}`)
	require.Equal(t, http.StatusBadRequest, status, "an old client naming by fails loudly")
	require.Contains(t, body["error"], `"by"`)

	// The agent sees its own calls, numbers masked; the whole number on
	// request, as the responsible agent; another agent's call not at all.
	status, body, _ = agent.do(http.MethodGet, "/api/v1/calls", "")
	require.Equal(t, http.StatusOK, status)
	calls := body["calls"].([]any)
	require.Len(t, calls, 1)
	require.Equal(t, "139****9000", calls[0].(map[string]any)["caller_number"])
	status, body, _ = agent.do(http.MethodGet, "/api/v1/calls/"+callB.id+"?numbers=full", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "13900139000", body["caller_number"])
	status, _, _ = agent.do(http.MethodGet, "/api/v1/calls/"+callA.id, "")
	require.Equal(t, http.StatusForbidden, status)

	// Each of those is in the audit log with actor, role, address, action,
	// target and outcome.
	audit := func(query string) []string {
		status, body, _ := super.do(http.MethodGet, "/api/v1/audit?limit=1000&"+query, "")
		require.Equal(t, http.StatusOK, status)
		var rows []string
		for _, e := range body["entries"].([]any) {
			m := e.(map[string]any)
			rows = append(rows, fmt.Sprint(m["actor"], " ", m["role"], " ", m["client"], " ", m["action"], " ", m["object"], " ", m["result"]))
		}
		return rows
	}
	rows := strings.Join(audit("actor=1001"), "\n")
	for _, want := range []string{
		"1001 agent 127.0.0.1 session.login user:1001 ok",
		"1001 agent 127.0.0.1 recording.listen recording:" + callA.recording + " denied",
		"1001 agent 127.0.0.1 recording.listen recording:" + callB.recording + " ok",
		"1001 agent 127.0.0.1 agent.pause agent:1002 denied",
		"1001 agent 127.0.0.1 call.number call:" + callB.id + " ok",
		"1001 agent 127.0.0.1 call.read call:" + callA.id + " denied",
	} {
		require.Contains(t, rows, want)
	}
	rows = strings.Join(audit("actor=2001"), "\n")
	require.Contains(t, rows, "2001 supervisor 127.0.0.1 recording.listen recording:"+callA.recording+" ok")
	require.Contains(t, rows, "2001 supervisor 127.0.0.1 agent.pause agent:1002 ok")

	// Oversized invalid requests are refused without growing the audit log.
	before := len(audit(""))
	huge := strings.Repeat("a", 700<<10)
	for range 10 {
		status, _, _ := agent.do(http.MethodGet, "/api/v1/recordings/"+strings.Repeat("x", 8000)+"/audio", "")
		require.Equal(t, http.StatusBadRequest, status)
		status, _, _ = agent.do(http.MethodPost, "/api/v1/agents/1001/pause", `{"reason":"`+huge+`"}`)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
	}
	status, _, _ = agent.do(http.MethodGet, "/api/v1/recordings/"+huge+"/audio", "")
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, status)
	require.Equal(t, before, len(audit("")))
	status, body, _ = super.do(http.MethodGet, "/api/v1/audit/verify", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, body["intact"])

	// The login limit: the same answer for each wrong password, then a wait.
	guess := newClient(t, base, "")
	for range 5 {
		status, body, _ := guess.do(http.MethodPost, "/api/v1/session", `{"user":"1002","password":"not-the-password"}`)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, "wrong user or password", body["error"])
	}
	status, _, h := guess.do(http.MethodPost, "/api/v1/session", `{"user":"1002","password":"`+creds["1002"]+`"}`)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.NotEmpty(t, h.Get("Retry-After"))

	// Logging out ends the session.
	status, _, _ = agent.do(http.MethodDelete, "/api/v1/session", "")
	require.Equal(t, http.StatusNoContent, status)
	status, _, _ = agent.do(http.MethodGet, "/api/v1/calls", "")
	require.Equal(t, http.StatusUnauthorized, status)
}

type finishedCall struct{ id, recording string }

// placeAndAwait places a citizen's call that hangs up after 1.5 s and waits
// until it is completed by agent with its recording archived.
func placeAndAwait(t *testing.T, super *client, ariAddr, caller, agent string) finishedCall {
	t.Helper()
	sim(t, ariAddr, http.MethodPost, "/sim/calls", `{"caller": "`+caller+`", "dialed": "12345", "hangup_after": "1500ms"}`)
	var fc finishedCall
	eventually(t, "call from "+caller+" completed by "+agent, func() bool {
		_, body, _ := super.do(http.MethodGet, "/api/v1/calls?state=completed", "")
		calls, _ := body["calls"].([]any)
		for _, c := range calls {
			m := c.(map[string]any)
			if m["first_responsible_agent"] == agent && m["recording_name"] != nil && m["caller_number"] == caller[:3]+"****"+caller[7:] {
				fc = finishedCall{id: m["id"].(string), recording: m["recording_name"].(string)}
				return true
			}
		}
		return false
	})
	eventually(t, "recording "+fc.recording+" archived", func() bool {
		status, _, _ := super.do(http.MethodGet, "/api/v1/recordings/"+fc.recording+"/audio", "", "Range", "bytes=0-0")
		return status == http.StatusPartialContent
	})
	return fc
}

func endToEndServe(t *testing.T, bin string) {
	dir := t.TempDir()
	httpAddr := freePort(t)
	cfg := filepath.Join(dir, "hotline.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`log: {level: warn}
http: {listen: "`+httpAddr+`"}
auth: {session_idle: 2s, session_max: 1h, bcrypt_cost: 4}
ari: {url: "http://127.0.0.1:1/ari", password: x}
store: {path: "`+filepath.Join(dir, "h.db")+`"}
recordings: {archive_dir: "`+filepath.Join(dir, "rec")+`"}
`), 0o600))
	env := envWithout("REDIS_URL", "HOTLINE_REDIS_URL")

	// A malformed Redis URL stops the service with a line that names the
	// problem, never the password.
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Env = append(env, "HOTLINE_REDIS_URL=redis://:s3cretPW@redis.example:notaport/0")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "redis.url")
	require.NotContains(t, string(out), "s3cret")

	user := func(stdin string, args ...string) string {
		cmd := exec.Command(bin, append([]string{"user"}, append(args, "-config", cfg)...)...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, user("a-long-password-1\n", "add", "-id", "2001", "-role", "supervisor", "-name", "赵督察"), "added")
	token := strings.TrimSpace(strings.Split(user("", "token", "-id", "2001", "-name", "e2e", "-expires", "1d"), "\n")[1])
	require.True(t, strings.HasPrefix(token, "hlt_"), token)

	serve := start(t, bin, env, "serve", "-config", cfg)
	base := "http://" + httpAddr
	eventually(t, "serve listening", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	_ = serve

	// A session ends after the idle time.
	s := newClient(t, base, "")
	require.Equal(t, http.StatusOK, s.login("2001", "a-long-password-1"))
	status, _, _ := s.do(http.MethodGet, "/api/v1/session", "")
	require.Equal(t, http.StatusOK, status)
	// Any use would keep the session alive, so the test waits out the idle
	// time of the real process's clock untouched, then asks once.
	<-time.After(2500 * time.Millisecond)
	require.True(t, sessionEnded(s), "idle for longer than auth.session_idle")

	// A disabled user's sessions and tokens stop at once.
	require.Equal(t, http.StatusOK, s.login("2001", "a-long-password-1"))
	tok := newClient(t, base, token)
	status, _, _ = tok.do(http.MethodGet, "/api/v1/audit/verify", "")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, user("", "disable", "-id", "2001"), "disabled")
	status, _, _ = s.do(http.MethodGet, "/api/v1/session", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _, _ = tok.do(http.MethodGet, "/api/v1/audit/verify", "")
	require.Equal(t, http.StatusUnauthorized, status)
}

// sessionEnded reports whether the client's session is refused now.
func sessionEnded(c *client) bool {
	status, _, _ := c.do(http.MethodGet, "/api/v1/session", "")
	return status == http.StatusUnauthorized
}
