package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// simBundle is `hotline sim` and `hotline serve -config
// configs/hotline.sim.yaml` as two processes, on free ports and a
// temporary data folder.
type simBundle struct {
	bin, dir            string
	ariAddr, httpAddr   string
	config              string   // the serve process's config file
	env                 []string // both processes' environment
	sim                 *process
	token               string // a supervisor's API token
	super               *client
	promptsDir, dataDir string
}

// shortPrompts writes a durations.tsv that plays every prompt for 50 ms,
// so calls reach the agents at once.
func shortPrompts(t *testing.T, dir string) string {
	t.Helper()
	prompts := filepath.Join(dir, "prompts")
	require.NoError(t, os.MkdirAll(prompts, 0o750))
	var tsv strings.Builder
	for _, s := range []string{"after-hours", "apology", "callback-apology", "callback-whisper", "complaint", "greeting",
		"recording-notice", "reply-greeting", "reply-whisper", "survey", "survey-invalid", "survey-thanks"} {
		fmt.Fprintf(&tsv, "sound:hotline/%s\t0.05\n", s)
	}
	require.NoError(t, os.WriteFile(filepath.Join(prompts, "durations.tsv"), []byte(tsv.String()), 0o640))
	return prompts
}

// simConfig is configs/hotline.sim.yaml pointed at this test's ports and
// folder: the shipped file, not a copy of it, is what the test runs.
func simConfig(t *testing.T, path, ariAddr, httpAddr, dataDir string) string {
	t.Helper()
	raw, err := os.ReadFile("../../configs/hotline.sim.yaml")
	require.NoError(t, err)
	cfg := string(raw)
	for _, r := range [][2]string{{"127.0.0.1:8088", ariAddr}, {"127.0.0.1:8080", httpAddr}, {"data/sim", dataDir}} {
		require.Contains(t, cfg, r[0])
		cfg = strings.ReplaceAll(cfg, r[0], r[1])
	}
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

// startSim starts `hotline sim` with extra flags and waits for its ARI line.
func startSim(t *testing.T, b *simBundle, flags ...string) *process {
	t.Helper()
	args := append([]string{"sim", "-ari", b.ariAddr, "-data", b.dataDir, "-prompts", b.promptsDir}, flags...)
	p := start(t, b.bin, b.env, args...)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			require.True(t, ok, "sim ended: %s", p.stderr)
			if f := strings.Fields(line); len(f) >= 6 && f[0] == "ARI" {
				require.Equal(t, "http://"+b.ariAddr+"/ari", f[1])
				require.Equal(t, []string{"user", "hotline", "password", "hotline"}, f[2:6])
				return p
			}
		case <-timeout:
			t.Fatalf("no ARI line from hotline sim within 30s: %s", p.stderr)
		}
	}
}

// newSimBundle builds the command, starts `hotline sim` with flags, and
// prepares the serve config with a supervisor's token (serve is started
// by the caller: startServe).
func newSimBundle(t *testing.T, flags ...string) *simBundle {
	t.Helper()
	dir := t.TempDir()
	b := &simBundle{bin: buildHotline(t), dir: dir, ariAddr: freePort(t), httpAddr: freePort(t),
		dataDir: filepath.Join(dir, "data"), env: envWithout("REDIS_URL", "HOTLINE_REDIS_URL", "HOTLINE_ARI_PASSWORD")}
	b.env = append(b.env, "HOTLINE_ARI_PASSWORD=hotline")
	b.promptsDir = shortPrompts(t, dir)
	b.config = simConfig(t, filepath.Join(dir, "hotline.sim.yaml"), b.ariAddr, b.httpAddr, b.dataDir)
	b.sim = startSim(t, b, flags...)
	user := func(stdin string, args ...string) string {
		cmd := exec.Command(b.bin, append([]string{"user"}, append(args, "-config", b.config)...)...)
		cmd.Env = b.env
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, user("a-long-password-1\n", "add", "-id", "2001", "-role", "supervisor", "-name", "赵督察"), "added")
	b.token = strings.TrimSpace(strings.Split(user("", "token", "-id", "2001", "-name", "sim", "-expires", "1d"), "\n")[1])
	b.super = newClient(t, "http://"+b.httpAddr, b.token)
	return b
}

// startServe starts `hotline serve` on the bundle's config and waits until
// it drives the fake Asterisk.
func (b *simBundle) startServe(t *testing.T) *process {
	t.Helper()
	p := start(t, b.bin, b.env, "serve", "-config", b.config)
	eventuallyWithin(t, processStart, "serve active on the sim", func() bool { return roleAt(b.httpAddr) == "active" })
	return p
}

// `hotline sim` and `hotline serve` as two processes: a call placed on the
// sim is answered by a simulated agent and lands in the call log.
func TestServeTakesCallsFromTheSimProcess(t *testing.T) {
	t.Parallel()
	b := newSimBundle(t, "-rate", "0")
	b.startServe(t)
	sim(t, b.ariAddr, http.MethodPost, "/sim/calls", `{"caller": "13800138000", "dialed": "12345", "hangup_after": "6s"}`)
	eventually(t, "the call answered by an agent, in the call log", func() bool {
		_, body, _ := b.super.do(http.MethodGet, "/api/v1/calls?state=completed", "")
		calls, _ := body["calls"].([]any)
		for _, c := range calls {
			m := c.(map[string]any)
			if agent, _ := m["first_responsible_agent"].(string); (agent == "1001" || agent == "1002") && m["caller_number"] == "138****8000" {
				return true
			}
		}
		return false
	})
}
