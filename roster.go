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
	mu     sync.Mutex
	now    Clock
	agents map[string]*rosterEntry
}

type rosterEntry struct {
	agent      Agent
	ringing    string    // call id while a leg to this agent rings
	lastCallAt time.Time // end of the last call, for least-recently-called order
}

// NewRoster returns a roster of agents with their current states.
func NewRoster(now Clock, agents []Agent) *Roster {
	r := &Roster{now: now, agents: make(map[string]*rosterEntry, len(agents))}
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

// Reserve picks the available, not-ringing agent of role who finished a
// call longest ago, skipping ids in exclude, and marks it ringing for
// callID. It reports false when nobody can be rung.
func (r *Roster) Reserve(callID string, role Role, exclude map[string]bool) (Agent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *rosterEntry
	for _, e := range r.agents {
		if e.agent.Role != role || !e.agent.Ringable() || e.ringing != "" || exclude[e.agent.ID] {
			continue
		}
		if best == nil || e.lastCallAt.Before(best.lastCallAt) ||
			(e.lastCallAt.Equal(best.lastCallAt) && e.agent.ID < best.agent.ID) {
			best = e
		}
	}
	if best == nil {
		return Agent{}, false
	}
	best.ringing = callID
	return best.agent, true
}

// Release ends callID's reservation of agent id without a call (the leg
// failed or was cancelled).
func (r *Roster) Release(id, callID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.agents[id]; ok && e.ringing == callID {
		e.ringing = ""
	}
}

// SetState changes an agent's state and reports the agent as changed, or
// false when the id is unknown. Leaving on_call stamps the last call time.
func (r *Roster) SetState(id string, state AgentState, reason string) (Agent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
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
	e.agent.State = state
	e.agent.PauseReason = ""
	if state == AgentPaused {
		e.agent.PauseReason = reason
	}
	e.agent.StateSince = now
	return e.agent, true
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
