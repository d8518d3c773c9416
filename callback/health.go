package callback

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// redisHealth is the Redis side of a service that indexes due times in
// Redis and falls back to polling SQLite: it notices failures and switches
// to the SQL poll, and on recovery rebuilds the index before using it
// again, since writes were missed meanwhile. It also rebuilds the index
// every reconcile interval.
type redisHealth struct {
	index         string // what the index holds, for log lines: "callback", "promise"
	polled        string // what the SQL poll then provides, for log lines
	rdb           redis.UniversalClient
	logger        *slog.Logger
	clock         func() time.Time
	every         time.Duration // reconcile interval
	poll          time.Duration // SQL poll interval
	reconcile     func(context.Context) error
	degradedGauge prometheus.Gauge
	errors        prometheus.Counter

	degraded      atomic.Bool
	lastReconcile atomic.Int64 // unix ms by now, 0: never
}

// checkRedis tries Redis again while degraded, and otherwise reconciles
// when it is time.
func (h *redisHealth) checkRedis(ctx context.Context) {
	if h.degraded.Load() {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := h.rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			return
		}
		if h.reconcile(ctx) == nil {
			h.degraded.Store(false)
			h.degradedGauge.Set(0)
			h.logger.Info("Redis answers again: the " + h.index + " index is rebuilt and back in use")
		}
		return
	}
	last := h.lastReconcile.Load()
	if last == 0 || h.clock().UnixMilli()-last >= h.every.Milliseconds() {
		_ = h.reconcile(ctx) // logged and counted there
	}
}

// redisFailed switches to the SQL poll until Redis answers again.
func (h *redisHealth) redisFailed(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return // shutting down, not a Redis failure
	}
	h.errors.Inc()
	if !h.degraded.Swap(true) {
		h.degradedGauge.Set(1)
		h.logger.Error("Redis failed: "+h.polled+" now come from the slow SQL poll until it answers again",
			"op", what, "poll_interval", h.poll, "err", err)
		return
	}
	h.logger.Debug("Redis still failing", "op", what, "err", err)
}

// Degraded reports whether Redis is failing and the SQL poll is in use.
func (h *redisHealth) Degraded() bool { return h.degraded.Load() }

// rounds runs a service's round at start and then every tick (every poll
// interval of its redisHealth while Redis is down) until stop; a round that
// says there is more runs again at once.
type rounds struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *rounds) start(ctx context.Context, h *redisHealth, tick time.Duration, round func(context.Context) (more bool)) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			more := round(ctx)
			wait := tick
			switch {
			case h.degraded.Load():
				wait = h.poll
			case more:
				wait = 0
			}
			timer.Reset(wait)
		}
	}()
}

// stop ends the loop and waits for the round in progress.
func (r *rounds) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
}
