package aritest

import (
	"net/http"
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
	Active   int          `json:"active"`
	Events   uint64       `json:"events_sent"`
	Requests uint64       `json:"ari_requests"`
	Ended    []CallTiming `json:"ended"`
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
	if len(s.endedTimings) >= maxEndedTimings {
		s.endedTimings = s.endedTimings[1:]
	}
	s.endedTimings = append(s.endedTimings, *t)
}

// Timings returns the calls that ended since the last call of Timings,
// and the counts of CallTimings.
func (s *Server) Timings() CallTimings {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := CallTimings{Active: len(s.timings), Events: s.eventsSent, Requests: s.ariRequests, Ended: s.endedTimings}
	if out.Ended == nil {
		out.Ended = []CallTiming{}
	}
	s.endedTimings = nil
	return out
}

func (s *Server) simTimings(*http.Request) (int, any, error) {
	return http.StatusOK, s.Timings(), nil
}
