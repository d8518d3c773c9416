package aritest

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// CallTiming is when things happened to one citizen's call, on the fake's
// clock: what a load generator reads to measure an application's latency
// from Asterisk's side of the wire. Agent legs are the channels the app
// originated with the citizen's channel as originator.
type CallTiming struct {
	Channel string    `json:"channel_id"`
	Stasis  time.Time `json:"stasis_start"` // StasisStart sent for the citizen
	// FirstOriginate is the first originate naming the citizen's channel
	// as originator.
	FirstOriginate time.Time `json:"first_originate,omitzero"`
	// AgentAnswered is the first agent leg's answer (its StasisStart).
	AgentAnswered time.Time `json:"agent_answered,omitzero"`
	// Bridged is when an answered agent leg and the citizen were first in
	// one bridge.
	Bridged time.Time `json:"bridged,omitzero"`
	// AgentHangup is the first agent leg hung up by its far end.
	AgentHangup time.Time `json:"agent_hangup,omitzero"`
	// Ended is when the citizen's channel left Stasis, whoever hung up.
	Ended time.Time `json:"ended,omitzero"`
	// Fallback: the application sent the citizen to the dialplan's
	// fallback (POST /channels/{id}/continue) rather than serve the call.
	Fallback bool `json:"fallback,omitempty"`
}

// CallTimings is what GET /sim/timings returns: the calls that ended since
// the last read (each returned once), how many are still up, and how many
// events and ARI requests the fake has served in all.
type CallTimings struct {
	Active int `json:"active"`
	// Events are the events written to applications' websockets. An
	// event queued for a websocket is counted once written, not before:
	// a reader comparing it with what the application received must not
	// count the events still on their way.
	Events uint64 `json:"events_sent"`
	// EventsLost are events queued for a websocket that closed before
	// they were written (the application's connection dropped).
	EventsLost uint64       `json:"events_lost"`
	Requests   uint64       `json:"ari_requests"`
	Ended      []CallTiming `json:"ended"`
	// Next numbers the first call to end after these: the reader passes
	// it as ?since= to its next read.
	Next uint64 `json:"next"`
}

// loadCounters are the figures of CallTimings. They have a lock of their
// own: under overload the server's lock is contended by every request,
// and a load generator that waits behind it for its figures sees a fake
// that does not answer.
type loadCounters struct {
	active     atomic.Int64
	eventsSent atomic.Uint64
	eventsLost atomic.Uint64
	requests   atomic.Uint64

	mu    sync.Mutex
	ended []CallTiming // ended and not read yet
	first uint64       // the number of ended[0]: calls are numbered as they end
}

// maxEndedTimings bounds the ended calls kept for a reader that never
// comes: the oldest are forgotten first.
const maxEndedTimings = 200_000

// timingOf returns the timing of the inbound call whose channel is id.
// Callers hold s.mu.
func (s *Server) timingOf(id string) *CallTiming {
	if id == "" {
		return nil
	}
	return s.timings[id]
}

// timeStasis starts the timing of a citizen's call. Callers hold s.mu.
func (s *Server) timeStasis(c *channel) {
	if s.timings == nil {
		s.timings = make(map[string]*CallTiming)
	}
	s.timings[c.id] = &CallTiming{Channel: c.id, Stasis: s.now()}
	s.load.active.Store(int64(len(s.timings)))
}

// timeOriginate notes an agent leg originated for a citizen. Callers hold s.mu.
func (s *Server) timeOriginate(c *channel, originator string) {
	t := s.timingOf(originator)
	if t == nil {
		return
	}
	c.originator = originator
	if t.FirstOriginate.IsZero() {
		t.FirstOriginate = s.now()
	}
}

// timeLegAnswered notes an agent leg's answer. Callers hold s.mu.
func (s *Server) timeLegAnswered(c *channel) {
	if t := s.timingOf(c.originator); t != nil && t.AgentAnswered.IsZero() {
		t.AgentAnswered = s.now()
	}
}

// timeJoined notes the first time a citizen and an answered leg of theirs
// share a bridge, whichever joined last. Callers hold s.mu.
func (s *Server) timeJoined(b *bridge) {
	for _, m := range b.members {
		t := s.timingOf(m.originator)
		if t == nil || !t.Bridged.IsZero() || m.answeredAt.IsZero() {
			continue
		}
		for _, o := range b.members {
			if o.id == m.originator {
				t.Bridged = s.now()
				break
			}
		}
	}
}

// timeLeft runs when c left bridge b: a citizen whose call asked for it
// (InboundCall.HangupWhenAlone) hangs up once the last other party has
// gone. Callers hold s.mu.
func (s *Server) timeLeft(b *bridge, c *channel) {
	if len(b.members) != 1 || c.kind == kindSnoop {
		return
	}
	alone := b.members[0]
	if alone.kind != kindInbound || alone.hangupWhenAlone == nil {
		return
	}
	d := *alone.hangupWhenAlone
	s.channelTimer(alone, d, func() { s.scriptedHangup(alone) })
}

// timeHangup notes a far end's hangup of an agent leg, and the end of a
// citizen's call. Callers hold s.mu.
func (s *Server) timeHangup(c *channel, byApp bool) {
	if t := s.timingOf(c.originator); t != nil && !byApp && t.AgentHangup.IsZero() {
		t.AgentHangup = s.now()
	}
	if c.kind != kindInbound {
		return
	}
	t := s.timingOf(c.id)
	if t == nil {
		return
	}
	t.Ended = s.now()
	delete(s.timings, c.id)
	l := &s.load
	l.mu.Lock()
	if len(l.ended) >= maxEndedTimings {
		l.ended = l.ended[1:]
		l.first++
	}
	l.ended = append(l.ended, *t)
	// Under l.mu: a reader sees the call either up or ended, never neither.
	l.active.Store(int64(len(s.timings)))
	l.mu.Unlock()
}

// Timings returns the calls that ended since the last read, and the
// counts of CallTimings; the calls returned are forgotten. It does not wait
// for the server's lock.
func (s *Server) Timings() CallTimings {
	return s.readTimings(math.MaxUint64)
}

// TimingsSince returns the calls that ended from number since on (the Next
// of the reader's last answer) and forgets those before: an answer lost on
// its way (a reader that gave up waiting for it) is sent again.
func (s *Server) TimingsSince(since uint64) CallTimings {
	return s.readTimings(since)
}

// readTimings forgets the ended calls numbered before since, or all that
// it returns when since is MaxUint64.
func (s *Server) readTimings(since uint64) CallTimings {
	l := &s.load
	l.mu.Lock()
	defer l.mu.Unlock()
	if since != math.MaxUint64 && since > l.first {
		n := min(since-l.first, uint64(len(l.ended)))
		l.ended = l.ended[n:]
		l.first += n
	}
	out := CallTimings{Active: int(l.active.Load()), Events: l.eventsSent.Load(), EventsLost: l.eventsLost.Load(),
		Requests: l.requests.Load(), Ended: slices.Clone(l.ended), Next: l.first + uint64(len(l.ended))}
	if out.Ended == nil {
		out.Ended = []CallTiming{}
	}
	if since == math.MaxUint64 {
		l.ended, l.first = nil, out.Next
	}
	return out
}

// simTimings serves GET /sim/timings[?since=N].
func (s *Server) simTimings(r *http.Request) (int, any, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return http.StatusOK, s.Timings(), nil
	}
	since, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, nil, badInput("since must be a whole number: %q", v)
	}
	return http.StatusOK, s.TimingsSince(since), nil
}
