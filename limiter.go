package hotline

import (
	"sync"
	"time"
)

// Limiter counts failures per key (an account, a client address, an
// actor) and imposes a growing wait once a key has failed Max times within
// Window: Base after the Max-th failure, doubling with each further one, at
// most MaxWait. A success may Reset a key. It lives in memory: each
// service instance limits on its own.
type Limiter struct {
	mu      sync.Mutex
	now     Clock
	max     int
	window  time.Duration
	base    time.Duration
	maxWait time.Duration
	entries map[string]*limitEntry
	ops     int
}

type limitEntry struct {
	failures int
	last     time.Time
}

// NewLimiter builds a limiter; see Limiter for the parameters.
func NewLimiter(now Clock, maxFailures int, window, base, maxWait time.Duration) *Limiter {
	return &Limiter{now: now, max: maxFailures, window: window, base: base, maxWait: maxWait, entries: map[string]*limitEntry{}}
}

// Wait is how long key must still wait before its next attempt; 0 when it
// may go ahead.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waitLocked(key, l.now())
}

// Fail records a failure of key and returns the wait it now has.
func (l *Limiter) Fail(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.prune(now)
	e := l.entries[key]
	if e == nil || now.Sub(e.last) >= l.window {
		e = &limitEntry{}
		l.entries[key] = e
	}
	e.failures++
	e.last = now
	return l.waitLocked(key, now)
}

// Reset forgets key's failures.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

func (l *Limiter) waitLocked(key string, now time.Time) time.Duration {
	e := l.entries[key]
	if e == nil || e.failures < l.max || now.Sub(e.last) >= l.window {
		return 0
	}
	wait := l.base
	for i := l.max; i < e.failures && wait < l.maxWait; i++ {
		wait *= 2
	}
	wait = min(wait, l.maxWait)
	if left := e.last.Add(wait).Sub(now); left > 0 {
		return left
	}
	return 0
}

// prune drops keys whose last failure is older than the window, now and
// then, so keys made up by a client cannot grow the map for ever.
func (l *Limiter) prune(now time.Time) {
	l.ops++
	if l.ops%1024 != 0 && len(l.entries) < 10000 {
		return
	}
	for k, e := range l.entries {
		if now.Sub(e.last) >= l.window {
			delete(l.entries, k)
		}
	}
}
