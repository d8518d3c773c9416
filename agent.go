package hotline

import (
	"strings"
	"time"
)

// AgentState is what an agent is doing now; only StateAvailable may be rung.
type AgentState string

const (
	AgentAvailable AgentState = "available"
	AgentOnCall    AgentState = "on_call"
	AgentWrapUp    AgentState = "wrap_up"
	AgentPaused    AgentState = "paused"
	AgentOffline   AgentState = "offline"
)

// Valid reports whether s is one of the known states.
func (s AgentState) Valid() bool {
	switch s {
	case AgentAvailable, AgentOnCall, AgentWrapUp, AgentPaused, AgentOffline:
		return true
	}
	return false
}

// AgentStateChange is an agent entering State at At; Reason is kept only
// for a pause.
type AgentStateChange struct {
	AgentID string
	State   AgentState
	Reason  string
	At      time.Time
}

// Agent is a roster entry: a softphone that answers the hotline (首问责任人),
// or a supervisor's (大厅督察) that answers the complaint line. Its Role says
// which line rings it; what a person may do through the API is their User's
// roles (access.go), the one source of those.
type Agent struct {
	ID          string     `json:"id" db:"id"`
	Name        string     `json:"name" db:"name"`
	Endpoint    string     `json:"endpoint" db:"endpoint"` // Asterisk endpoint, e.g. "PJSIP/1001"
	Department  string     `json:"department" db:"department"`
	Skills      []string   `json:"skills"`
	Role        Role       `json:"role" db:"role"`
	State       AgentState `json:"state" db:"state"`
	PauseReason string     `json:"pause_reason,omitempty" db:"pause_reason"`
	StateSince  time.Time  `json:"state_since"`
}

// Validate checks the fields a stored agent must have.
func (a Agent) Validate() error {
	const op = "hotline.Agent.Validate"
	switch {
	case strings.TrimSpace(a.ID) == "":
		return Errorf(KindInvalid, op, "agent id is required")
	case strings.TrimSpace(a.Name) == "":
		return Errorf(KindInvalid, op, "agent %q: name is required", a.ID)
	case !strings.Contains(a.Endpoint, "/"):
		return Errorf(KindInvalid, op, "agent %q: endpoint %q must look like TECH/resource, e.g. PJSIP/1001", a.ID, a.Endpoint)
	case a.Role != RoleAgent && a.Role != RoleSupervisor:
		return Errorf(KindInvalid, op, "agent %q: role %q must be agent or supervisor", a.ID, a.Role)
	case !a.State.Valid():
		return Errorf(KindInvalid, op, "agent %q: unknown state %q", a.ID, a.State)
	}
	return nil
}

// Ringable reports whether the agent may be offered a call now.
func (a Agent) Ringable() bool { return a.State == AgentAvailable }
