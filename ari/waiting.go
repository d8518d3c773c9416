package ari

import "hotline"

// setPhase moves the call on (the caller stores it); once an agent has
// answered (or the call ended) its citizen no longer waits.
func (c *call) setPhase(p hotline.CallPhase) {
	c.rec.Phase = p
	c.setWaiting(p == hotline.PhaseGreeting || p == hotline.PhaseQueued)
}

// setWaiting says whether the citizen waits for an agent, and keeps the
// count of waiting citizens that Waiting reads.
func (c *call) setWaiting(w bool) {
	if c.waiting.Swap(w) == w {
		return
	}
	if w {
		c.s.nWaiting.Add(1)
	} else {
		c.s.nWaiting.Add(-1)
	}
}

// Waiting is how many citizens are on the line with no agent yet (in the
// greeting or on hold): the callback dialer holds its dials while any is
// (callback.Inbound), since citizens on the line come first.
func (s *Calls) Waiting() int { return int(s.nWaiting.Load()) }

// Replaced reports whether another client took the application's events
// (ApplicationReplaced): this instance then hears nothing from Asterisk
// and must claim no work.
func (c *Client) Replaced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaced
}
