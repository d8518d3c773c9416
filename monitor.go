package hotline

import "time"

// MonitorMode is how a supervisor joins a call in progress (7.1.3) on
// their own softphone.
type MonitorMode string

const (
	// MonitorListen: the supervisor hears the citizen and the agent; nobody
	// hears the supervisor.
	MonitorListen MonitorMode = "listen"
	// MonitorWhisper: the supervisor hears both and speaks to the agent
	// alone; the citizen does not hear the supervisor.
	MonitorWhisper MonitorMode = "whisper"
	// MonitorBarge: the supervisor hears both and both hear the supervisor.
	MonitorBarge MonitorMode = "barge"
)

// Valid reports whether m is a known mode.
func (m MonitorMode) Valid() bool {
	return m == MonitorListen || m == MonitorWhisper || m == MonitorBarge
}

// Title is the mode's name in the console.
func (m MonitorMode) Title() string {
	return map[MonitorMode]string{MonitorListen: "监听", MonitorWhisper: "耳语", MonitorBarge: "强插"}[m]
}

// MonitorEnd says why a monitoring session ended.
type MonitorEnd string

const (
	MonitorNotAnswered     MonitorEnd = "not_answered"      // the supervisor's phone did not answer (or was busy, offline)
	MonitorSupervisorLeft  MonitorEnd = "supervisor_hangup" // the supervisor hung up
	MonitorCallEnded       MonitorEnd = "call_ended"        // the monitored side hung up: the call (or the agent's part of it) ended
	MonitorFailed          MonitorEnd = "failed"            // Asterisk refused a step; the detail is in the log
	MonitorServiceStopping MonitorEnd = "service_stopped"   // the service stopped while monitoring
	MonitorStopped         MonitorEnd = "stopped"           // ended from the console
)

// MonitorSession is one supervisor monitoring one call: when it was asked
// for, when the supervisor's phone answered, when and why it ended. It is
// marked on the call's timeline.
type MonitorSession struct {
	ID           int64       `json:"id"`
	CallID       string      `json:"call_id"`
	SupervisorID string      `json:"supervisor_id"`
	AgentID      string      `json:"agent_id"` // the agent on the call when it started
	Mode         MonitorMode `json:"mode"`
	RequestedAt  time.Time   `json:"requested_at"`
	ConnectedAt  time.Time   `json:"connected_at,omitzero"`
	EndedAt      time.Time   `json:"ended_at,omitzero"`
	EndReason    MonitorEnd  `json:"end_reason,omitempty"`
}

// ExtensionRequest is a promise's owner asking a supervisor for a later
// deadline (6.2): only a supervisor's approval moves a deadline, so the
// owner asks with a reason, and the supervisor grants (the extension is
// then recorded as any other) or refuses with a reason.
type ExtensionRequest struct {
	ID           int64     `json:"id"`
	PromiseID    int64     `json:"promise_id"`
	RequestedBy  string    `json:"requested_by"`
	Deadline     time.Time `json:"deadline"` // the deadline asked for
	Reason       string    `json:"reason"`
	RequestedAt  time.Time `json:"requested_at"`
	Decision     string    `json:"decision,omitempty"` // granted, refused; "" while undecided
	DecidedBy    string    `json:"decided_by,omitempty"`
	DecidedAt    time.Time `json:"decided_at,omitzero"`
	DecideReason string    `json:"decide_reason,omitempty"`
}
