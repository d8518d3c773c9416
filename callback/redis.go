// Package callback keeps the deadlines of clause 6: the missed-call
// callbacks of 6.1 (Service) and the promised replies of 6.2 (PromiseWatch)
// run on one deadline engine (engine.go) that reminds before a deadline and
// escalates at it, once, with a violation. Every missed call with a
// callable number becomes a callback task (or merges into its number's
// open task) with a working-time deadline; due tasks are claimed under a
// lease, as many as free agents can take, and dialed during working hours;
// failures retry after a backoff.
//
// SQLite (package store) holds every fact and decides every claim,
// reminder and escalation; a lease token fences every later write of a
// dialer. Redis holds only indexes of due times (Index) and the in-flight
// marks of popped ids: losing it delays work and never loses it, since the
// indexes are rebuilt from SQLite at start, periodically and whenever they
// are found missing, and a slow SQL poll keeps deadlines firing while Redis
// is down. This file opens the Redis connection the engines share.
package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// RedisConfig says where the deadline index lives.
type RedisConfig struct {
	// URL is a redis:// or rediss:// URL (with password if any). Empty starts
	// an embedded in-memory Redis inside the process: fine for a demo or a
	// single small instance, since SQLite stays the source of truth and the
	// index is rebuilt from it at start. Overridden by HOTLINE_REDIS_URL.
	URL string `yaml:"url"`
	// DialTimeout bounds connecting and the start-up ping. Default 3s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
}

// SetDefaults fills unset fields.
func (c *RedisConfig) SetDefaults() {
	if c.DialTimeout == 0 {
		c.DialTimeout = 3 * time.Second
	}
}

// Validate reports the first bad field, named by its YAML key under "redis.".
func (c RedisConfig) Validate() error {
	if c.URL != "" {
		if _, err := parseRedisURL(c.URL); err != nil {
			return fmt.Errorf("redis.url: %w", err)
		}
	}
	if c.DialTimeout <= 0 {
		return fmt.Errorf("redis.dial_timeout: must be positive")
	}
	return nil
}

// OpenRedis connects to the configured Redis, or starts the embedded one,
// and checks that it answers. The returned func closes both.
func OpenRedis(ctx context.Context, cfg RedisConfig, log *slog.Logger) (redis.UniversalClient, func(), error) {
	cfg.SetDefaults()
	// go-redis prints its own pool errors to stderr; route them into our
	// structured log, where the caller's one error line is the summary.
	redis.SetLogger(redisLogger{log.With("component", "redis")})
	url := cfg.URL
	var embedded *miniredis.Miniredis
	if url == "" {
		embedded = miniredis.NewMiniRedis()
		if err := embedded.Start(); err != nil {
			return nil, nil, fmt.Errorf("start embedded redis: %w", err)
		}
		url = "redis://" + embedded.Addr()
		log.Warn("no Redis configured: using an embedded in-memory Redis; deadlines are rebuilt from SQLite at every start", "addr", embedded.Addr())
	}
	opts, err := parseRedisURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("redis.url: %w", err)
	}
	opts.DialTimeout = cfg.DialTimeout
	client := redis.NewClient(opts)
	closeAll := func() {
		_ = client.Close()
		if embedded != nil {
			embedded.Close()
		}
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("redis at %s does not answer: %w", opts.Addr, err)
	}
	return client, closeAll, nil
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}

// parseRedisURL is redis.ParseURL with an error that never holds the URL:
// the URL carries the password, and net/url quotes the whole URL in its
// errors, which would print the secret in a log line or a start-up failure.
func parseRedisURL(raw string) (*redis.Options, error) {
	opts, err := redis.ParseURL(raw)
	if err == nil {
		return opts, nil
	}
	var escape url.EscapeError
	var urlErr *url.Error
	msg := err.Error()
	switch {
	case errors.As(err, &escape):
		msg = "a %-escape is malformed"
	case errors.As(err, &urlErr):
		msg = urlErr.Err.Error()
	}
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if userinfo, _, ok := strings.Cut(rest, "@"); ok {
			if _, password, ok := strings.Cut(userinfo, ":"); ok && password != "" {
				msg = strings.ReplaceAll(msg, password, "***")
			}
			msg = strings.ReplaceAll(msg, userinfo, "***")
		}
	}
	return nil, fmt.Errorf("malformed Redis URL (redis://[user:password@]host:port/db): %s", msg)
}
