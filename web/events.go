package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"hotline"
)

// The console is live through server-sent events: each browser tab opens
// one stream (GET /api/v1/events, the same session cookie as every other
// request) and hears which kinds of things changed, never the things
// themselves; it then reads them through the API, where the access rules
// and the masking of numbers apply as always. A tab that loses its stream
// reconnects (EventSource does, and the page does too after a refused
// reconnect) and reads everything again, so nothing is missed across a drop.

// Topic is a kind of thing the console shows.
type Topic string

const (
	TopicAgents     Topic = "agents"     // an agent's state changed
	TopicCalls      Topic = "calls"      // a call arrived, was answered, ended, got a leg, a referral, a rating
	TopicCallbacks  Topic = "callbacks"  // a callback task was created, dialed, closed
	TopicPromises   Topic = "promises"   // a promise was recorded, extended, fulfilled, closed; an extension asked for
	TopicViolations Topic = "violations" // a violation was recorded or disposed of
	TopicMonitor    Topic = "monitor"    // a supervisor started or stopped monitoring a call
)

// readActionOf is the list action whose scope decides who hears of a topic.
var readActionOf = map[Topic]hotline.Action{
	TopicAgents:     hotline.ActAgentList,
	TopicCalls:      hotline.ActCallList,
	TopicCallbacks:  hotline.ActCallbackList,
	TopicPromises:   hotline.ActPromiseList,
	TopicViolations: hotline.ActViolationList,
	TopicMonitor:    hotline.ActCallMonitor,
}

// Event says that something of Topic changed. Agents are the staff it
// concerns (a call's agents, a task's agent); an actor who may read only
// their own matters of the topic hears of it when they are among them.
type Event struct {
	Topic  Topic
	Agents []string
}

// Events is the hub between the parts of the service that change things
// and the console's streams. Publish never blocks: each stream keeps the
// set of topics changed since it last wrote, so a burst of changes is one
// message and none is lost.
type Events struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	done   chan struct{}
}

// NewEvents returns an empty hub.
func NewEvents() *Events {
	return &Events{subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
}

type subscriber struct {
	actor   hotline.Actor
	mu      sync.Mutex
	pending map[Topic]bool
	notify  chan struct{} // capacity 1: "something is pending"
}

// Publish tells every stream allowed to know of ev.
func (e *Events) Publish(ev Event) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for sub := range e.subs {
		if !hears(sub.actor, ev) {
			continue
		}
		sub.mu.Lock()
		sub.pending[ev.Topic] = true
		sub.mu.Unlock()
		select {
		case sub.notify <- struct{}{}:
		default:
		}
	}
}

// hears reports whether a may know that ev happened: it may list every
// matter of the topic, or its own and ev concerns it.
func hears(a hotline.Actor, ev Event) bool {
	act, ok := readActionOf[ev.Topic]
	if !ok {
		return false
	}
	switch hotline.ScopeOf(a, act) {
	case hotline.Any:
		return true
	case hotline.Never:
		return false
	}
	return slices.Contains(ev.Agents, a.ID)
}

// Streams is how many streams are open, per actor id.
func (e *Events) Streams() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for sub := range e.subs {
		out[sub.actor.ID]++
	}
	return out
}

// maxStreamsPerActor bounds the streams one staff member holds open: a tab
// each, and a page that leaks streams is refused rather than the server
// running out of connections.
const maxStreamsPerActor = 16

func (e *Events) subscribe(a hotline.Actor) (*subscriber, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, hotline.Errorf(hotline.KindUnavailable, "web.events", "the server is stopping")
	}
	n := 0
	for sub := range e.subs {
		if sub.actor.ID == a.ID {
			n++
		}
	}
	if n >= maxStreamsPerActor {
		return nil, hotline.RateLimited("web.events", 10*time.Second, "%d live streams are open already; close a console tab", n)
	}
	sub := &subscriber{actor: a, pending: map[Topic]bool{}, notify: make(chan struct{}, 1)}
	e.subs[sub] = struct{}{}
	return sub, nil
}

func (e *Events) unsubscribe(sub *subscriber) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.subs, sub)
}

// Close ends every stream (the server is shutting down).
func (e *Events) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		close(e.done)
	}
}

// take returns the topics pending, sorted, and clears them.
func (sub *subscriber) take() []Topic {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	out := make([]Topic, 0, len(sub.pending))
	for t := range sub.pending {
		out = append(out, t)
	}
	clear(sub.pending)
	slices.Sort(out)
	return out
}

// events: GET /api/v1/events → text/event-stream. The first message is
// "hello" (read everything now); then "change" with {"topics": [...]} for
// every batch of changes the actor may know of; a comment every
// http.events_keepalive, when the stream also checks that its login still
// holds (logged out, disabled or expired: the stream ends, and the page's
// reconnect gets 401 and goes to the login page).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	const op = "web.events"
	if err := checkQuery(op, r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, _ := hotline.ActorFromContext(r.Context())
	sub, err := s.deps.Events.subscribe(a)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	defer s.deps.Events.unsubscribe(sub)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream lasts as long as the tab
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy must pass each event on at once
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: %d\nevent: hello\ndata: {}\n\n", s.cfg.EventsRetry.Milliseconds()) {
		return
	}
	keepalive := time.NewTicker(s.cfg.EventsKeepalive)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.deps.Events.done:
			return
		case <-keepalive.C:
			if _, err := s.authenticate(r, ClientAddress(r)); err != nil {
				return
			}
			if !write(": keepalive\n\n") {
				return
			}
		case <-sub.notify:
			topics := sub.take()
			if len(topics) == 0 {
				continue // told twice of what one message already carried
			}
			data, _ := json.Marshal(map[string][]Topic{"topics": topics})
			if !write("event: change\ndata: %s\n\n", data) {
				return
			}
		}
	}
}
