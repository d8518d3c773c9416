package ari

import "hotline"

// setPhase moves the call on (the caller stores it); once an agent has
// answered (or the call ended) its citizen no longer waits.
func (c *call) setPhase(p hotline.CallPhase) {
	c.rec.Phase = p
	c.waiting.Store(p == hotline.PhaseGreeting || p == hotline.PhaseQueued)
}

// Waiting is how many citizens are on the line with no agent yet (in the
// greeting or on hold): the callback dialer holds its dials while any is
// (callback.Inbound), since citizens on the line come first.
func (s *Calls) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.active {
		if c.waiting.Load() {
			n++
		}
	}
	return n
}

// Replaced reports whether another client took the application's events
// (ApplicationReplaced): this instance then hears nothing from Asterisk
// and must claim no work.
func (c *Client) Replaced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaced
}
