package web_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// chromium finds the headless browser; CI installs Debian's chromium.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI must install chromium for the console test (.ci/run does)")
	}
	t.Skip("no chromium on this machine; .ci/run installs it")
	return ""
}

// The console renders the API's agents, calls and readiness in a real
// browser: the page's JavaScript runs, fetches and fills the tables.
func TestConsoleRendersInABrowser(t *testing.T) {
	t.Parallel()
	browser := chromium(t)
	arrived := time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC)
	s, err := web.New(web.Config{}, testDeps(web.Deps{
		Checks: []web.Check{{Name: "ari", Fn: func(context.Context) error { return nil }}},
		Calls: callReaderFunc{
			list: func(context.Context, web.CallFilter) ([]hotline.Call, error) {
				return []hotline.Call{{ID: "c9", CallerNumber: "13800138000", State: hotline.CallMissed,
					MissedReason: hotline.MissedNoAnswer, ArrivedAt: arrived, EndedAt: arrived.Add(time.Minute)}}, nil
			},
			get: func(context.Context, string) (hotline.Call, error) { return hotline.Call{}, nil },
		},
		Agents: agentList{{ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001", Department: "社会保障", State: hotline.AgentPaused, PauseReason: "午休"}},
	}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=5000", "--dump-dom", srv.URL+"/").Output()
	require.NoError(t, err)
	dom := string(out)
	for _, want := range []string{
		"张伟", "PJSIP/1001", "午休", // the agents table, filled by console.js
		"138****8000", "无人接听", // the calls table: the number masked, the missed reason in Chinese
		"就绪", // the readiness badge
	} {
		require.True(t, strings.Contains(dom, want), "the rendered console shows %q", want)
	}
}
