package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
)

// gauge reads a gauge of the service's registry with the label kind.
func gauge(b *runBundle, name, kind string) float64 { return kindValue(b.svc.Registry, name, kind) }

type readiness struct {
	Ready    bool     `json:"ready"`
	Degraded []string `json:"degraded"`
}

// Redis lost during traffic and back empty a while later: calls go on and
// missed ones still become callback tasks (SQLite first); /readyz stays 200
// and its body, a metric and a log line say Redis is degraded; once Redis
// answers, the index is rebuilt and all of it clears.
func TestRedisDownIsDegradedNotUnready(t *testing.T) {
	t.Parallel()
	redis := miniredis.NewMiniRedis()
	require.NoError(t, redis.Start())
	t.Cleanup(redis.Close)
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{NoAnswer: true})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	cfg := testConfig(t, fake.ARIURL())
	cfg.Redis.URL = "redis://" + redis.Addr()
	// Redis is tried again every poll interval while it is down.
	cfg.Callbacks.PollInterval = 100 * time.Millisecond
	cfg.Promises.Tick, cfg.Promises.PollInterval = 50*time.Millisecond, 100*time.Millisecond
	logs := &syncBuffer{}
	b := startServiceLogging(t, cfg, logs)
	require.NoError(t, b.svc.ARI.WaitConnected(context.Background()))
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))

	var ready readiness
	require.Equal(t, http.StatusOK, getJSON(t, b.base+"/readyz", &ready))
	require.Empty(t, ready.Degraded)

	redis.Close()
	require.Eventually(t, func() bool {
		ready = readiness{}
		return getJSON(t, b.base+"/readyz", &ready) == http.StatusOK && ready.Ready && len(ready.Degraded) == 1 &&
			gauge(b, "hotline_deadline_redis_degraded", "callback") == 1
	}, 10*time.Second, 20*time.Millisecond, "ready, and degraded by Redis")
	require.Equal(t, []string{"redis"}, ready.Degraded)
	require.Contains(t, logs.String(), "Redis failed: callback deadlines now come from the slow SQL poll")

	// A call missed while Redis is down still becomes a callback task.
	_, err := fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		tasks, err := b.svc.DB.ListTasks(context.Background(), store.TaskFilter{State: hotline.CallbackOpen})
		return err == nil && len(tasks) == 1
	}, 10*time.Second, 20*time.Millisecond)

	redis.FlushAll()
	require.NoError(t, redis.Restart())
	require.Eventually(t, func() bool {
		ready = readiness{}
		return getJSON(t, b.base+"/readyz", &ready) == http.StatusOK && len(ready.Degraded) == 0 &&
			gauge(b, "hotline_deadline_redis_degraded", "callback") == 0 && gauge(b, "hotline_deadline_redis_degraded", "promise") == 0
	}, 15*time.Second, 20*time.Millisecond, "Redis is back: the index is rebuilt and readiness is clean")
	require.True(t, strings.Contains(logs.String(), "Redis answers again"))
	size, err := b.svc.Callbacks.Index().Size(context.Background())
	require.NoError(t, err)
	require.Positive(t, size, "the task is indexed again")
}
