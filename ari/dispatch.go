package ari

import (
	"slices"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// Mailbox is an unbounded queue of events for one consumer (a call). Put
// never blocks, so the websocket reader never waits on a slow call and no
// event is ever dropped; the consumer waits on Ready and then Takes all.
type Mailbox struct {
	mu     sync.Mutex
	queue  []ari.Event
	ready  chan struct{}
	closed bool
	// lag, when set, hears on each Take how long the oldest event taken
	// waited in the queue: how far behind its consumer is.
	lag    func(time.Duration)
	oldest time.Time // when the first event of the queue was put
}

// NewMailbox returns an empty, open mailbox.
func NewMailbox() *Mailbox { return &Mailbox{ready: make(chan struct{}, 1)} }

// Put queues e; it reports false when the mailbox is closed.
func (m *Mailbox) Put(e ari.Event) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	if m.lag != nil && len(m.queue) == 0 {
		m.oldest = time.Now()
	}
	m.queue = append(m.queue, e)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
	return true
}

// Age is how long the oldest queued event has waited, 0 when none is
// queued or the mailbox does not track it (no lag function).
func (m *Mailbox) Age(now time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lag == nil || len(m.queue) == 0 {
		return 0
	}
	return now.Sub(m.oldest)
}

// Ready is signalled after a Put; several Puts may share one signal.
func (m *Mailbox) Ready() <-chan struct{} { return m.ready }

// Take returns every queued event in arrival order and empties the queue.
func (m *Mailbox) Take() []ari.Event {
	m.mu.Lock()
	q, oldest := m.queue, m.oldest
	m.queue = nil
	m.mu.Unlock()
	if m.lag != nil && len(q) > 0 {
		m.lag(time.Since(oldest))
	}
	return q
}

// Any reports whether a queued event, not taken yet, satisfies match.
func (m *Mailbox) Any(match func(ari.Event) bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.ContainsFunc(m.queue, match)
}

// Close makes later Puts fail; queued events can still be taken.
func (m *Mailbox) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}

type routeKey struct{ kind, id string }

// Dispatcher routes each event to the mailbox registered for one of its keys
// (channel, bridge, playback, recording, endpoint id), instead of one library
// subscription per call: routing costs the same at 1 or 1,000 calls. Events
// that match no route go to the fallback mailbox, which is where new
// StasisStarts arrive.
type Dispatcher struct {
	mu       sync.RWMutex
	routes   map[routeKey]*Mailbox
	fallback *Mailbox
	m        *metrics
}

func newDispatcher(m *metrics) *Dispatcher {
	return &Dispatcher{routes: make(map[routeKey]*Mailbox), m: m}
}

// Route sends events keyed kind/id (kinds as in ari.ChannelKey…) to mb.
func (d *Dispatcher) Route(kind, id string, mb *Mailbox) {
	d.mu.Lock()
	d.routes[routeKey{kind, id}] = mb
	d.mu.Unlock()
}

// Routed reports whether events keyed kind/id have a route: something in
// this process owns that object.
func (d *Dispatcher) Routed(kind, id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.routes[routeKey{kind, id}] != nil
}

// Unroute removes the route for kind/id.
func (d *Dispatcher) Unroute(kind, id string) {
	d.mu.Lock()
	delete(d.routes, routeKey{kind, id})
	d.mu.Unlock()
}

// SetFallback sets the mailbox for events no route matches.
func (d *Dispatcher) SetFallback(mb *Mailbox) {
	d.mu.Lock()
	d.fallback = mb
	d.mu.Unlock()
}

// Dispatch delivers e once to every distinct mailbox routed by its keys, or
// to the fallback when there is none.
func (d *Dispatcher) Dispatch(e ari.Event) {
	keys := e.Keys()
	d.mu.RLock()
	var first *Mailbox
	var more []*Mailbox
	for _, k := range keys {
		mb := d.routes[routeKey{k.Kind, k.ID}]
		if mb == nil || mb == first {
			continue
		}
		if first == nil {
			first = mb
			continue
		}
		dup := false
		for _, o := range more {
			dup = dup || o == mb
		}
		if !dup {
			more = append(more, mb)
		}
	}
	fallback := d.fallback
	d.mu.RUnlock()

	if first == nil {
		if fallback == nil || !fallback.Put(e) {
			d.m.unrouted.Inc()
		}
		return
	}
	first.Put(e)
	for _, mb := range more {
		mb.Put(e)
	}
}

// Routes reports how many routes are registered (for tests and leak checks).
func (d *Dispatcher) Routes() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.routes)
}
