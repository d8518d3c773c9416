package aritest

import "time"

// PlacedCall is a citizen's call that PlaceCall brought in. The fake keeps
// every one for its whole life (Restart included), so a fault test can
// account for each call against the service's call log.
type PlacedCall struct {
	ChannelID string    `json:"channel_id"`
	Name      string    `json:"channel_name"` // PJSIP/citizen-0000000N
	Caller    string    `json:"caller"`
	Dialed    string    `json:"dialed"`
	PlacedAt  time.Time `json:"placed_at"`
	// Outcome is "stasis" when the application took the call, "fallback"
	// when Stasis() failed and the dialplan's fallback ran.
	Outcome string `json:"outcome"`
	// Voicemail is the .wav of the message the caller left in the
	// fallback, if any.
	Voicemail string `json:"voicemail,omitempty"`
	// EndedAt is when the channel hung up; nil while it lasts (or when a
	// Restart fault cut it off).
	EndedAt *time.Time `json:"ended_at,omitempty"`
}

// Outcomes of PlacedCall.
const (
	OutcomeStasis   = "stasis"
	OutcomeFallback = "fallback"
)

// recordPlaced notes c as placed. Callers hold s.mu.
func (s *Server) recordPlaced(c *channel, dialed, outcome string) {
	c.placed = &PlacedCall{ChannelID: c.id, Name: c.name, Caller: c.caller.Number, Dialed: dialed,
		PlacedAt: c.created, Outcome: outcome}
	s.placed = append(s.placed, c.placed)
}

// PlacedCalls lists every call PlaceCall brought in, oldest first.
func (s *Server) PlacedCalls() []PlacedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PlacedCall, 0, len(s.placed))
	for _, p := range s.placed {
		c := *p
		if p.EndedAt != nil {
			at := *p.EndedAt
			c.EndedAt = &at
		}
		out = append(out, c)
	}
	return out
}
