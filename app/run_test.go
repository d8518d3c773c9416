package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari"
	"hotline/ari/aritest"
	"hotline/auth"
	"hotline/callback"
	"hotline/lease"
	"hotline/recording"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/web"
)

// runBundle is the whole service running against a fake Asterisk.
type runBundle struct {
	fake  *aritest.Server
	svc   *Service
	base  string
	token string // a supervisor's API token (s01)
	stop  func() error
}

func testConfig(t *testing.T, ariURL string) Config {
	return Config{
		Log:   LogConfig{Level: "debug", Format: "text"},
		HTTP:  web.Config{Listen: "127.0.0.1:0"},
		Auth:  auth.Config{BcryptCost: 4}, // a slow hash only slows the tests
		ARI:   ari.Config{URL: ariURL, Password: "hotline", ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond},
		Calls: ari.CallConfig{RingTimeout: time.Second, MaxWait: 3 * time.Second, WrapUp: 100 * time.Millisecond, SurveyTimeout: 200 * time.Millisecond},
		// PostgreSQL when HOTLINE_TEST_POSTGRES is set.
		Store: store.Config{Path: storetest.Path(t)},
		Redis: callback.RedisConfig{URL: os.Getenv("REDIS_URL")},
		// Tests run at any hour: the line is open around the clock.
		Calendar: alwaysOpenCalendar(),
		Callbacks: callback.Config{EngineConfig: callback.EngineConfig{KeyPrefix: testKeyPrefix(t), Tick: 50 * time.Millisecond},
			CallbackPolicy: hotline.CallbackPolicy{MinTalk: 100 * time.Millisecond}},
		Promises:   callback.PromiseConfig{EngineConfig: callback.EngineConfig{KeyPrefix: testKeyPrefix(t) + ":promises"}},
		Dialer:     ari.DialerConfig{AgentRing: time.Second, CitizenRing: time.Second, AgentWait: 200 * time.Millisecond},
		Lease:      lease.Config{KeyPrefix: testKeyPrefix(t) + ":lease", TTL: 600 * time.Millisecond, Renew: 100 * time.Millisecond},
		Recordings: recording.Config{ArchiveDir: filepath.Join(t.TempDir(), "archive"), PollInterval: 50 * time.Millisecond},
		Agents: []AgentConfig{
			{ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001"},
			{ID: "1002", Name: "王芳", Endpoint: "PJSIP/1002"},
		},
	}
}

// testKeyPrefix gives each test its own Redis keys, removed afterwards, so
// tests sharing a real Redis (REDIS_URL) never see each other's index.
func testKeyPrefix(t *testing.T) string {
	prefix := fmt.Sprintf("hotline-test:%s:%d", t.Name(), time.Now().UnixNano())
	if url := os.Getenv("REDIS_URL"); url != "" {
		t.Cleanup(func() {
			opts, err := redis.ParseURL(url)
			if err != nil {
				return
			}
			rdb := redis.NewClient(opts)
			defer rdb.Close()
			ctx := context.Background()
			iter := rdb.Scan(ctx, 0, "{"+prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
		})
	}
	return prefix
}

func alwaysOpenCalendar() hotline.CalendarConfig { return alwaysOpen() }

func startService(t *testing.T, cfg Config) *runBundle {
	t.Helper()
	return startServiceLogging(t, cfg, testLog(t))
}

// startServiceLogging is startService with the service log written to logs.
func startServiceLogging(t *testing.T, cfg Config, logs io.Writer) *runBundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *Service, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: &cfg, LogOutput: logs, Started: func(s *Service) { started <- s }})
	}()
	b := &runBundle{stop: sync.OnceValue(func() error { cancel(); return <-done })}
	select {
	case b.svc = <-started:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("service did not start")
	}
	t.Cleanup(func() { _ = b.stop() })
	b.base = "http://" + b.svc.HTTPAddr
	b.token = b.tokenFor(t, "s01", hotline.RoleSupervisor)
	return b
}

// tokenFor creates account id with roles (an agent's must be on the
// roster) unless it exists, and returns a new API token of it.
func (b *runBundle) tokenFor(t *testing.T, id string, roles ...hotline.Role) string {
	t.Helper()
	ctx := context.Background()
	by := hotline.Actor{ID: "test", Method: hotline.AuthCLI}
	_, err := b.svc.Auth.AddUser(ctx, by, hotline.User{ID: id, Name: "测试" + id, Roles: roles}, "a-good-test-password")
	if hotline.KindOf(err) != hotline.KindConflict {
		require.NoError(t, err)
	}
	secret, _, err := b.svc.Auth.CreateToken(ctx, by, id, fmt.Sprintf("test-%d", time.Now().UnixNano()), time.Hour)
	require.NoError(t, err)
	return secret
}

// getJSON GETs url as the supervisor and decodes the answer into v.
func (b *runBundle) getJSON(t *testing.T, url string, v any) int {
	return getJSONAs(t, url, b.token, v)
}

// postJSON POSTs body to url as the supervisor.
func (b *runBundle) postJSON(t *testing.T, url, body string) (int, map[string]any) {
	return postJSONAs(t, url, b.token, body)
}

func getJSON(t *testing.T, url string, v any) int { return getJSONAs(t, url, "", v) }

// getJSONAs GETs url with the API token (none when "").
func getJSONAs(t *testing.T, url, token string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if v != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}
	return resp.StatusCode
}

func TestRunServesCallsAndBecomesReady(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	b := startService(t, testConfig(t, fake.ARIURL()))
	require.NoError(t, b.svc.ARI.WaitConnected(context.Background()))
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))

	var ready struct{ Ready bool }
	require.Equal(t, http.StatusOK, getJSON(t, b.base+"/readyz", &ready))
	require.True(t, ready.Ready)

	_, err := fake.PlaceCall(aritest.InboundCall{Caller: "+86 138 0013 8000", Dialed: "12345"})
	require.NoError(t, err)
	var list struct {
		Calls []struct {
			State                 string
			FirstResponsibleAgent string `json:"first_responsible_agent"`
		}
	}
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/calls?state=completed", &list)
		return len(list.Calls) == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "1001", list.Calls[0].FirstResponsibleAgent)

	// The call's row is written before its counter moves: read until it has.
	var body []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get(b.base + "/metrics")
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(body), `hotline_calls_total{line="hotline",reason="",state="completed"} 1`)
	}, 5*time.Second, 20*time.Millisecond)
	for _, want := range []string{"hotline_staffing_gap 0", "hotline_ari_connected 1", "go_goroutines", "process_cpu_seconds_total"} {
		require.Contains(t, string(body), want)
	}

	var agents struct{ Agents []struct{ ID, State string } }
	b.getJSON(t, b.base+"/api/v1/agents", &agents)
	require.Equal(t, "offline", agents.Agents[1].State, "1002's phone is not registered")
	require.NoError(t, b.stop())
}

func TestRunCallRecordsNormalisedCaller(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 50 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	b := startService(t, testConfig(t, fake.ARIURL()))
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))
	_, err := fake.PlaceCall(aritest.InboundCall{Caller: "+86 138 0013 8000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		calls, err := b.svc.DB.ListCalls(context.Background(), store.CallFilter{State: "completed"})
		return err == nil && len(calls) == 1 && calls[0].CallerNumber == "13800138000" && calls[0].FirstResponsibleAgent == "1001"
	}, 10*time.Second, 20*time.Millisecond)
}

func TestRunStartsBeforeAsteriskAndConnectsLater(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	addr := strings.TrimPrefix(fake.URL(), "http://")
	require.NoError(t, fake.Close()) // Asterisk is down when the service starts
	b := startService(t, testConfig(t, "http://"+addr+"/ari"))
	var ready struct {
		Ready  bool
		Checks []struct {
			Name  string
			OK    bool
			Error string
		}
	}
	require.Eventually(t, func() bool {
		return getJSON(t, b.base+"/readyz", &ready) == http.StatusServiceUnavailable &&
			strings.Contains(ready.Checks[0].Error, "Asterisk unreachable")
	}, 5*time.Second, 10*time.Millisecond, "readyz names the reason once the first attempt failed")
	require.Equal(t, "ari", ready.Checks[0].Name)

	aritest.NewTest(t, aritest.Options{Addr: addr})
	require.NoError(t, b.svc.ARI.WaitConnected(context.Background()))
	require.Equal(t, http.StatusOK, getJSON(t, b.base+"/readyz", &ready))
}

func TestRunStartupFailuresAreOneClearLine(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"wrong ARI password", func(c *Config) { c.ARI.Password = "wrong" }, `Asterisk rejected ARI user "hotline"`},
		{"unreachable Redis", func(c *Config) { c.Redis.URL = "redis://127.0.0.1:1/0"; c.Redis.DialTimeout = 500 * time.Millisecond }, "redis at 127.0.0.1:1 does not answer"},
		{"bad config", func(c *Config) { c.Calls.MaxWait = time.Millisecond }, "calls.max_wait"},
		{"database folder is a file", func(c *Config) {
			f := filepath.Join(t.TempDir(), "file")
			require.NoError(t, os.WriteFile(f, nil, 0o600))
			c.Store.Path = filepath.Join(f, "hotline.db")
		}, "hotline.db"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, fake.ARIURL())
			tc.mutate(&cfg)
			err := Run(context.Background(), Options{Config: &cfg, LogOutput: io.Discard})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "\n")
		})
	}
}

// testLog collects the service log and shows it when the test fails.
func testLog(t *testing.T) io.Writer {
	var buf syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", buf.String())
		}
	})
	return &buf
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lineWriter hands every complete line written to it to a channel.
type lineWriter struct {
	pw *io.PipeWriter
}

func newLineWriter(t *testing.T, lines chan<- string) *lineWriter {
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() }) // ends the reader
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return &lineWriter{pw: pw}
}

func (w *lineWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func TestDemoShowsCallsFlowing(t *testing.T) {
	t.Parallel()
	lines := make(chan string, 1000)
	out := newLineWriter(t, lines)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Demo(ctx, DemoOptions{HTTPAddr: "127.0.0.1:0", ARIAddr: "127.0.0.1:0", DataDir: t.TempDir(),
			CallsPerSecond: 10, SummaryEvery: 200 * time.Millisecond, Out: out})
	}()
	summary := regexp.MustCompile(`calls (\d+) · answered (\d+)`)
	deadline := time.After(30 * time.Second)
	for answered := 0; answered == 0; {
		select {
		case line := <-lines:
			if m := summary.FindStringSubmatch(line); m != nil {
				answered, _ = strconv.Atoi(m[2])
			}
		case err := <-done:
			t.Fatalf("demo ended early: %v", err)
		case <-deadline:
			t.Fatal("the demo summary never showed an answered call")
		}
	}
	cancel()
	require.NoError(t, <-done)
}
