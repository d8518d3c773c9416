package hotline

import (
	"sort"
	"sync"
	"time"
)

// Roster is the live view of who can take a call. It is the one place that
// decides whether an agent may be rung, so two calls never ring the same
// agent at once and an agent on a call, in wrap-up, paused or offline is
// never rung. The store keeps the durable copy of each state.
type Roster struct {
	mu          sync.Mutex
	now         Clock
	agents      map[string]*rosterEntry
	lastOffered map[Role]string // round-robin memory
}

type rosterEntry struct {
	agent      Agent
	ringing    string    // call id while a leg to this agent rings
	lastCallAt time.Time // end of the last call or offer, for least-recent order
	refusals   int       // rings declined or let ring out since the last answer or pause
}

// NewRoster returns a roster of agents with their current states.
func NewRoster(now Clock, agents []Agent) *Roster {
	r := &Roster{now: now, agents: make(map[string]*rosterEntry, len(agents)), lastOffered: map[Role]string{}}
	for _, a := range agents {
		r.agents[a.ID] = &rosterEntry{agent: a}
	}
	return r
}

// Get returns an agent by id.
func (r *Roster) Get(id string) (Agent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.agents[id]
	if !ok {
		return Agent{}, false
	}
	return e.agent, true
}

// ByEndpoint finds the agent whose softphone is endpoint ("PJSIP/1001").
func (r *Roster) ByEndpoint(endpoint string) (Agent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.agents {
		if e.agent.Endpoint == endpoint {
			return e.agent, true
		}
	}
	return Agent{}, false
}

// List returns every agent, sorted by id.
func (r *Roster) List() []Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Agent, 0, len(r.agents))
	for _, e := range r.agents {
		out = append(out, e.agent)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Strategy is how agents are chosen when a call rings.
type Strategy string

const (
	// LeastRecent rings one agent at a time, the one whose last call ended
	// longest ago first.
	LeastRecent Strategy = "least_recent"
	// RoundRobin rings one agent at a time in id order, starting after the
	// agent who was offered the previous call (the roster remembers).
	RoundRobin Strategy = "round_robin"
	// RingAll rings every available agent at once; the first to answer wins.
	RingAll Strategy = "ring_all"
)

// Valid reports whether s is a known strategy.
func (s Strategy) Valid() bool { return s == LeastRecent || s == RoundRobin || s == RingAll }

// Filter narrows the agents a reservation may pick; nil allows all.
type Filter func(Agent) bool

// InDepartment allows agents of department dept.
func InDepartment(dept string) Filter { return func(a Agent) bool { return a.Department == dept } }

// Reserve picks agents of role for callID by strategy, skipping ids in
// exclude and agents the filter refuses, and marks each ringing so no other
// call rings them. RingAll returns every ringable agent; the others return
// at most one. An empty result means nobody can be rung now.
func (r *Roster) Reserve(callID string, role Role, strategy Strategy, exclude map[string]bool, filter Filter) []Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var candidates []*rosterEntry
	for _, e := range r.agents {
		if e.agent.Role != role || !e.agent.Ringable() || e.ringing != "" || exclude[e.agent.ID] || (filter != nil && !filter(e.agent)) {
			continue
		}
		candidates = append(candidates, e)
	}
	if len(candidates) == 0 {
		return nil
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].agent.ID < candidates[j].agent.ID })
	var picked []*rosterEntry
	switch strategy {
	case RingAll:
		picked = candidates
	case RoundRobin:
		next := candidates[0]
		for _, e := range candidates {
			if e.agent.ID > r.lastOffered[role] {
				next = e
				break
			}
		}
		picked = []*rosterEntry{next}
	default:
		best := candidates[0]
		for _, e := range candidates[1:] {
			if e.lastCallAt.Before(best.lastCallAt) {
				best = e
			}
		}
		picked = []*rosterEntry{best}
	}
	out := make([]Agent, len(picked))
	for i, e := range picked {
		e.ringing = callID
		out[i] = e.agent
		r.lastOffered[role] = e.agent.ID
	}
	return out
}

// ReserveAgent reserves one named agent for callID, as sticky routing and
// referrals to a person need. It reports false when that agent cannot be
// rung now.
func (r *Roster) ReserveAgent(id, callID string) (Agent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.agents[id]
	if !ok || !e.agent.Ringable() || e.ringing != "" {
		return Agent{}, false
	}
	e.ringing = callID
	return e.agent, true
}

// Release ends callID's reservation of agent id without a call (the leg
// failed, was declined or was cancelled). The offer counts as the agent's
// latest, so least-recent hunting moves on to colleagues instead of
// offering the next call to the same agent again.
func (r *Roster) Release(id, callID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.agents[id]; ok && e.ringing == callID {
		e.ringing = ""
		e.lastCallAt = r.now()
	}
}

// SetState changes an agent's state and reports the agent as changed, or
// false when the id is unknown. Leaving on_call stamps the last call time.
func (r *Roster) SetState(id string, state AgentState, reason string) (Agent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.setState(id, state, reason)
}

// SetStateIf changes an agent's state to state only while it is from, in
// one step: a wrap-up that ends must not undo a pause set meanwhile. It
// reports the agent and whether it changed.
func (r *Roster) SetStateIf(id string, from, state AgentState) (Agent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.agents[id]; !ok || e.agent.State != from {
		return Agent{}, false
	}
	return r.setState(id, state, "")
}

// setState is SetState; callers hold r.mu.
func (r *Roster) setState(id string, state AgentState, reason string) (Agent, bool) {
	e, ok := r.agents[id]
	if !ok {
		return Agent{}, false
	}
	now := r.now()
	if e.agent.State == AgentOnCall && state != AgentOnCall {
		e.lastCallAt = now
	}
	if state == AgentOnCall {
		e.ringing = ""
	}
	if state == AgentOnCall || state == AgentPaused {
		e.refusals = 0 // an answer ends a streak of refusals; so does a pause
	}
	e.agent.State = state
	e.agent.PauseReason = ""
	if state == AgentPaused {
		e.agent.PauseReason = reason
	}
	e.agent.StateSince = now
	return e.agent, true
}

// Free returns the agents of role who could be rung now: available and
// not reserved for a call, sorted by id. It reserves nothing.
func (r *Roster) Free(role Role) []Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Agent
	for _, e := range r.agents {
		if e.agent.Role == role && e.agent.Ringable() && e.ringing == "" {
			out = append(out, e.agent)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Counts returns how many agents of role are in each state.
func (r *Roster) Counts(role Role) map[AgentState]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[AgentState]int)
	for _, e := range r.agents {
		if e.agent.Role == role {
			out[e.agent.State]++
		}
	}
	return out
}

// Refused counts a ring the agent declined or let ring out while
// available, and returns how many in a row: an answered call or a pause
// starts the count again. The call flow pauses an agent whose count reaches
// its limit, so a phone nobody answers stops taking citizens' rings (7.1.5).
func (r *Roster) Refused(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.agents[id]
	if !ok {
		return 0
	}
	e.refusals++
	return e.refusals
}
