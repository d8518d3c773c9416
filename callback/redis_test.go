package callback_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline/callback"
)

func TestOpenRedisEmbeddedWhenNoURL(t *testing.T) {
	t.Parallel()
	rdb, closeRedis, err := callback.OpenRedis(context.Background(), callback.RedisConfig{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer closeRedis()
	require.NoError(t, rdb.Set(context.Background(), "k", "v", 0).Err())
	require.Equal(t, "v", rdb.Get(context.Background(), "k").Val())
}

func TestOpenRedisRealServer(t *testing.T) {
	t.Parallel()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL not set; the embedded server is covered above")
	}
	rdb, closeRedis, err := callback.OpenRedis(context.Background(), callback.RedisConfig{URL: url}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer closeRedis()
	require.NoError(t, rdb.Ping(context.Background()).Err())
}

func TestOpenRedisUnreachableIsOneClearError(t *testing.T) {
	t.Parallel()
	_, _, err := callback.OpenRedis(context.Background(), callback.RedisConfig{URL: "redis://127.0.0.1:1/0", DialTimeout: 200 * time.Millisecond}, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "redis at 127.0.0.1:1 does not answer")
}

func TestRedisConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := callback.RedisConfig{URL: "http://nope"}
	cfg.SetDefaults()
	require.ErrorContains(t, cfg.Validate(), "redis.url")
	cfg = callback.RedisConfig{URL: "redis://127.0.0.1:6379/0"}
	cfg.SetDefaults()
	require.NoError(t, cfg.Validate())
}
