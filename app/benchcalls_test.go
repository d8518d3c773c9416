package app

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The service config bench calls writes is one the service accepts: the
// line open around the clock, every agent, Redis keys of its own.
func TestBenchServiceConfigLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := CallBenchOptions{Rate: 10, RedisURL: "redis://127.0.0.1:6379/0", Record: true}
	opts.setDefaults()
	require.NoError(t, opts.validate())
	agents := []string{"PJSIP/b00001", "PJSIP/b00002"}
	path := filepath.Join(dir, "hotline.yaml")
	require.NoError(t, os.WriteFile(path, []byte(benchServiceConfig(opts, dir, "127.0.0.1:18301", "http://127.0.0.1:18300/ari", agents)), 0o600))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	require.Len(t, cfg.Agents, 2)
	require.Equal(t, "PJSIP/b00002", cfg.Agents[1].Endpoint)
	require.Equal(t, benchWrapUp, cfg.Calls.WrapUp)
	require.True(t, *cfg.Calls.Record)
	require.Contains(t, cfg.Callbacks.KeyPrefix, "hotline-bench-")
	require.Equal(t, "redis://127.0.0.1:6379/0", cfg.Redis.URL)
}

func TestBenchCallsOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts CallBenchOptions
		err  string
	}{
		{"defaults", CallBenchOptions{}, ""},
		{"both", CallBenchOptions{Rate: 10, Concurrency: 10}, "not both"},
		{"short", CallBenchOptions{For: time.Millisecond}, "at least 1s"},
		{"nothing", CallBenchOptions{SkipBaseline: true, SkipService: true}, "nothing to run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.setDefaults()
			err := tc.opts.validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
	o := CallBenchOptions{Rate: 100}
	o.setDefaults()
	// 100 calls/s of 4.1 s and a 1 s wrap-up: 510 agents busy, half again.
	require.Equal(t, 775, o.Agents)
}

func TestLatencyOf(t *testing.T) {
	t.Parallel()
	ms := make([]float64, 0, 200)
	for i := 200; i >= 1; i-- {
		ms = append(ms, float64(i))
	}
	l := latencyOf(ms)
	require.Equal(t, Latency{N: 200, P50: 101, P99: 199, Max: 200}, l)
	require.Equal(t, Latency{}, latencyOf(nil))
}

// processCPU reads this test's own CPU time, which only grows.
func TestProcessCPU(t *testing.T) {
	t.Parallel()
	before, err := processCPU(os.Getpid())
	require.NoError(t, err)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		now, err := processCPU(os.Getpid())
		require.NoError(t, err)
		if now > before {
			return
		}
		x := 0
		for i := range 10_000_000 {
			x ^= i
		}
		_ = x
	}
	t.Fatal("CPU time never grew")
}

func TestScrape(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`# HELP hotline_ari_http_requests_total ARI REST requests.
# TYPE hotline_ari_http_requests_total counter
hotline_ari_http_requests_total{code="204",method="POST"} 12
hotline_ari_http_requests_total{code="404",method="DELETE"} 3
hotline_ari_connected 1
go_memstats_heap_alloc_bytes 1.5e+06
`))
	}))
	defer srv.Close()
	m, err := scrape(t.Context(), srv.URL)
	require.NoError(t, err)
	require.Equal(t, 15.0, m.sum("hotline_ari_http_requests_total", ""))
	require.Equal(t, 3.0, m.sum("hotline_ari_http_requests_total", `code="404"`))
	require.Equal(t, 1.5e6, m.sum("go_memstats_heap_alloc_bytes", ""))
	require.Equal(t, "DELETE", labelValue(`{code="404",method="DELETE"}`, "method"))
	require.Empty(t, labelValue(`{code="404"}`, "method"))
}
