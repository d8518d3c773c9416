package aritest

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
)

// app is a Stasis application: what it is subscribed to, and the websocket
// that currently receives its events (nil while none is connected).
type app struct {
	name         string
	conn         *wsConn
	subscribeAll bool
	channels     map[string]bool
	bridges      map[string]bool
	endpoints    map[string]bool // "PJSIP/1001", or a whole technology "PJSIP"
	devices      map[string]bool
}

// appNamed returns the application, creating it on first use. Callers hold s.mu.
func (s *Server) appNamed(name string) *app {
	a, ok := s.apps[name]
	if !ok {
		a = &app{
			name:      name,
			channels:  make(map[string]bool),
			bridges:   make(map[string]bool),
			endpoints: make(map[string]bool),
			devices:   make(map[string]bool),
		}
		s.apps[name] = a
	}
	return a
}

// subscribed reports whether the application still watches something.
// Asterisk keeps an application whose websocket went away (the service
// died) as long as it does: its channels stay in Stasis, its bridges and
// recordings go on, and a client that connects again finds them listed
// and gets their events (trace 14).
func (a *app) subscribed() bool {
	return len(a.channels)+len(a.bridges)+len(a.endpoints)+len(a.devices) > 0
}

func (a *app) json() applicationJSON {
	return applicationJSON{
		Name:             a.name,
		ChannelIDs:       sortedKeys(a.channels),
		BridgeIDs:        sortedKeys(a.bridges),
		EndpointIDs:      sortedKeys(a.endpoints),
		DeviceNames:      sortedKeys(a.devices),
		EventsAllowed:    []any{},
		EventsDisallowed: []any{},
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortedApps lists applications by name, so events reach several apps in a
// stable order.
func (s *Server) sortedApps() []*app {
	out := make([]*app, 0, len(s.apps))
	for _, a := range s.apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// appsFor lists the applications that receive an event about the given
// channel, bridge or endpoint (any may be nil): those subscribed to one of
// them, and those subscribed to everything.
func (s *Server) appsFor(ch *channel, br *bridge, ep *endpoint) []*app {
	var out []*app
	for _, a := range s.sortedApps() {
		switch {
		case a.subscribeAll,
			ch != nil && a.channels[ch.id],
			br != nil && a.bridges[br.id],
			ep != nil && (a.endpoints[ep.name()] || a.endpoints[ep.tech]):
			out = append(out, a)
		}
	}
	return out
}

// channelSubscribers lists who hears an event of channel c's own topic
// (state, variables, dial, hangup, DTMF, caller and connected line): one
// entry per subscription that covers c, its channel subscription and its
// endpoint's (the endpoint itself or its whole technology). Asterisk sends
// such an event once per covering subscription, so an app that watches a
// channel and that channel's endpoint gets each of them twice, back to back
// (trace 13); an app subscribed to everything gets it once.
// Callers hold s.mu.
func (s *Server) channelSubscribers(c *channel) []*app {
	var out []*app
	for _, a := range s.sortedApps() {
		if a.subscribeAll {
			out = append(out, a)
			continue
		}
		if a.channels[c.id] {
			out = append(out, a)
		}
		if ep := c.owner; ep != nil && (a.endpoints[ep.name()] || a.endpoints[ep.tech]) {
			out = append(out, a)
		}
	}
	return out
}

// emit sends e to each application, as often as it is listed (see
// channelSubscribers). Applications without a websocket miss it, as they
// would on Asterisk, but OnEmit and watchers still see it.
// Callers hold s.mu.
func (s *Server) emit(e event, to []*app) {
	if len(to) == 0 {
		return
	}
	prefix := e.encode(s.now(), s.entityID)
	for _, a := range to {
		body := addressed(prefix, a.name)
		if a.conn != nil {
			a.conn.send(body)
		}
		s.record(Emitted{Kind: KindEvent, Model: e.typ, Body: body, App: a.name})
	}
}

// record hands an Emitted to OnEmit and the watchers. Callers hold s.mu.
func (s *Server) record(e Emitted) {
	if s.opts.OnEmit != nil {
		s.opts.OnEmit(e)
	}
	if e.Kind != KindEvent {
		return
	}
	for w := range s.watchers {
		w.push(e)
	}
}

// Watcher receives every event the fake emits from the moment Watch was
// called, without ever dropping one.
type Watcher struct {
	s      *Server
	mu     sync.Mutex
	queue  []Emitted
	wake   chan struct{}
	closed bool
}

// ErrWatcherClosed is returned by a Watcher after Close, or after the server closed.
var ErrWatcherClosed = errors.New("aritest: watcher closed")

// Watch subscribes to every event from now on. Close it when done.
func (s *Server) Watch() *Watcher {
	w := &Watcher{s: s, wake: make(chan struct{}, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		w.closed = true
		return w
	}
	s.watchers[w] = struct{}{}
	return w
}

func (w *Watcher) push(e Emitted) {
	w.mu.Lock()
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	w.signal()
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting for one until ctx ends.
func (w *Watcher) Next(ctx context.Context) (Emitted, error) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			e := w.queue[0]
			w.queue[0] = Emitted{}
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return e, nil
		}
		closed := w.closed
		w.mu.Unlock()
		if closed {
			return Emitted{}, ErrWatcherClosed
		}
		select {
		case <-ctx.Done():
			return Emitted{}, ctx.Err()
		case <-w.wake:
		}
	}
}

// WaitFor returns the first event, from the next one on, that match accepts.
func (w *Watcher) WaitFor(ctx context.Context, match func(Emitted) bool) (Emitted, error) {
	for {
		e, err := w.Next(ctx)
		if err != nil {
			return Emitted{}, err
		}
		if match(e) {
			return e, nil
		}
	}
}

// Close stops the subscription; pending events are discarded.
func (w *Watcher) Close() {
	w.s.mu.Lock()
	delete(w.s.watchers, w)
	w.s.mu.Unlock()
	w.close()
}

func (w *Watcher) close() {
	w.mu.Lock()
	w.closed = true
	w.queue = nil
	w.mu.Unlock()
	w.signal()
}

// subscribe adds an event source ("channel:ID", "bridge:ID",
// "endpoint:TECH[/RES]", "deviceState:NAME") to a. Callers hold s.mu.
func (s *Server) subscribe(a *app, source string) *ariError {
	scheme, id, _ := strings.Cut(source, ":")
	switch scheme {
	case "channel":
		if _, ok := s.channels[id]; !ok {
			return errMsg(422, "Event source does not exist")
		}
		a.channels[id] = true
	case "bridge":
		if _, ok := s.bridges[id]; !ok {
			return errMsg(422, "Event source does not exist")
		}
		a.bridges[id] = true
	case "endpoint":
		if !s.endpointSourceExists(id) {
			return errMsg(422, "Event source does not exist")
		}
		a.endpoints[id] = true
	case "deviceState":
		if id == "" {
			return errMsg(422, "Event source does not exist")
		}
		a.devices[id] = true
	default:
		return errMsg(400, "Invalid event source URI scheme '"+scheme+"'")
	}
	return nil
}

// unsubscribe removes an event source from a. Callers hold s.mu.
func (s *Server) unsubscribe(a *app, source string) *ariError {
	scheme, id, _ := strings.Cut(source, ":")
	var set map[string]bool
	switch scheme {
	case "channel":
		set = a.channels
	case "bridge":
		set = a.bridges
	case "endpoint":
		set = a.endpoints
	case "deviceState":
		set = a.devices
	default:
		return errMsg(400, "Invalid event source URI scheme '"+scheme+"'")
	}
	if !set[id] {
		return errMsg(409, "Application not subscribed to event source")
	}
	delete(set, id)
	return nil
}

// forgetChannel drops a channel from every subscription. Callers hold s.mu.
func (s *Server) forgetChannel(id string) {
	for _, a := range s.apps {
		delete(a.channels, id)
	}
}

// forgetBridge drops a bridge from every subscription. Callers hold s.mu.
func (s *Server) forgetBridge(id string) {
	for _, a := range s.apps {
		delete(a.bridges, id)
	}
}

// connList snapshots the open websockets. Callers hold s.mu.
func (s *Server) connList() []*wsConn {
	out := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// registeredApps lists the applications with a websocket, by name.
// Callers hold s.mu.
func (s *Server) registeredApps() []*app {
	return slices.DeleteFunc(s.sortedApps(), func(a *app) bool { return a.conn == nil })
}
