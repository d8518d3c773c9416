package hotline

import "time"

// Line says which published number the citizen dialed.
type Line string

const (
	LineHotline   Line = "hotline"   // the consultation hotline, answered by agents
	LineComplaint Line = "complaint" // the complaint line, answered by supervisors (7.1.2)
)

// CallState is where a call is in its life.
type CallState string

const (
	CallRinging   CallState = "ringing"   // in the app, no agent yet
	CallAnswered  CallState = "answered"  // an agent is connected
	CallCompleted CallState = "completed" // ended after an agent answered
	CallMissed    CallState = "missed"    // ended without an agent; a callback is owed
)

// MissedReason says why nobody answered.
type MissedReason string

const (
	MissedNoAnswer   MissedReason = "no_answer"   // agents were rung, none answered in time
	MissedNoAgent    MissedReason = "no_agent"    // no agent was available to ring
	MissedAbandoned  MissedReason = "abandoned"   // the citizen hung up while waiting
	MissedAfterHours MissedReason = "after_hours" // the line was closed
	MissedFailed     MissedReason = "failed"      // the system could not handle the call
	// MissedServiceDown: the service was not connected (stopped, restarting,
	// its websocket down); the dialplan's fallback took the call.
	MissedServiceDown MissedReason = "service_down"
	// MissedInterrupted: the service lost track of the call (it died, or
	// its connection dropped) and found the citizen's channel gone: the
	// call ended unobserved before an agent answered.
	MissedInterrupted MissedReason = "interrupted"
)

// CallPhase is where a call in progress is. It only moves forward and is
// stored with the call, so that after a crash the next process can take
// the call over where it was, or end it properly.
type CallPhase string

const (
	PhaseGreeting CallPhase = "greeting" // answered; the greeting and notices play
	PhaseQueued   CallPhase = "queued"   // on hold while agents ring
	PhaseTalking  CallPhase = "talking"  // an agent answered
	PhaseSurvey   CallPhase = "survey"   // the last agent left; the citizen rates the service
	// PhaseEnding: the end is decided and stored (state, times); what the
	// call holds in Asterisk is being released and the record handed on.
	PhaseEnding CallPhase = "ending"
	PhaseEnded  CallPhase = "ended" // finished: the record is final and handed on
)

// Live reports whether a call in phase p still has a citizen to serve.
func (p CallPhase) Live() bool {
	switch p {
	case PhaseGreeting, PhaseQueued, PhaseTalking, PhaseSurvey:
		return true
	}
	return false
}

// Call is one citizen call into the hotline, from arrival to hangup.
type Call struct {
	ID           string       `json:"id"`
	ChannelID    string       `json:"channel_id"`    // the citizen's Asterisk channel
	CallerRaw    string       `json:"caller_raw"`    // caller ID as Asterisk gave it
	CallerNumber string       `json:"caller_number"` // normalised, "" when not callable
	DialedNumber string       `json:"dialed_number"`
	Line         Line         `json:"line"`
	State        CallState    `json:"state"`
	MissedReason MissedReason `json:"missed_reason,omitempty"`
	// FirstResponsibleAgent is the first agent who answered (clause 3.1); it
	// never changes once set, through referrals and callbacks.
	FirstResponsibleAgent string `json:"first_responsible_agent,omitempty"`
	RecordingName         string `json:"recording_name,omitempty"`
	// RecordingParts lists the parts of the recording, in order, when
	// Asterisk ended one early and it went on in a new part; RecordingName
	// is then the first. Empty when the recording is whole.
	RecordingParts []string `json:"recording_parts,omitempty"`
	// VoicemailName is the citizen's message left after hours, if any.
	VoicemailName string    `json:"voicemail_name,omitempty"`
	ArrivedAt     time.Time `json:"arrived_at"`
	AnsweredAt    time.Time `json:"answered_at,omitzero"`
	EndedAt       time.Time `json:"ended_at,omitzero"`
	// Phase is where the call is; "" for calls stored before phases were.
	Phase CallPhase `json:"phase,omitempty"`
	// BridgeID and SnoopID are the call's bridge and the snoop channel
	// recording it in Asterisk, "" when it has none: what a process taking
	// the call over after a crash must find again, or release.
	BridgeID string `json:"-"`
	SnoopID  string `json:"-"`
	// InterruptedAt is when the service found the call's channels gone
	// after it had lost track of them (a crash, a lost connection): the
	// call then ended unobserved, at the last time it was known alive.
	InterruptedAt time.Time  `json:"interrupted_at,omitzero"`
	Legs          []CallLeg  `json:"legs,omitempty"`
	Referrals     []Referral `json:"referrals,omitempty"`
	Rating        *Rating    `json:"rating,omitempty"`
}

// WaitSeconds is how long the citizen waited for an agent (until answer, or
// until the end of a missed call).
func (c Call) WaitSeconds() float64 {
	end := c.AnsweredAt
	if end.IsZero() {
		end = c.EndedAt
	}
	if end.IsZero() || c.ArrivedAt.IsZero() {
		return 0
	}
	return end.Sub(c.ArrivedAt).Seconds()
}

// TalkSeconds is how long the citizen was connected to an agent.
func (c Call) TalkSeconds() float64 {
	if c.AnsweredAt.IsZero() || c.EndedAt.IsZero() {
		return 0
	}
	return c.EndedAt.Sub(c.AnsweredAt).Seconds()
}

// Answer makes agentID the call's first-responsible agent. It refuses a
// second winner: the first answer stands (clause 3.1).
func (c *Call) Answer(agentID string, at time.Time) error {
	if c.FirstResponsibleAgent != "" {
		return Errorf(KindConflict, "hotline.Call.Answer", "call %s already answered by %s", c.ID, c.FirstResponsibleAgent)
	}
	if c.State != CallRinging {
		return Errorf(KindConflict, "hotline.Call.Answer", "call %s is %s, not ringing", c.ID, c.State)
	}
	c.FirstResponsibleAgent = agentID
	c.AnsweredAt = at
	c.State = CallAnswered
	return nil
}

// End closes the call: completed when answered, otherwise missed for reason.
func (c *Call) End(at time.Time, reason MissedReason) {
	if !c.EndedAt.IsZero() {
		return
	}
	c.EndedAt = at
	if c.State == CallAnswered {
		c.State = CallCompleted
		return
	}
	c.State = CallMissed
	if c.MissedReason == "" {
		c.MissedReason = reason
	}
}

// LegOutcome is how one attempt to ring an agent ended.
type LegOutcome string

const (
	LegRinging   LegOutcome = "ringing"
	LegAnswered  LegOutcome = "answered"  // this leg won the call
	LegLost      LegOutcome = "lost"      // answered, but another leg won first
	LegCancelled LegOutcome = "cancelled" // hung up by us: another leg won, or the citizen left
	LegNoAnswer  LegOutcome = "no_answer" // rang until the timeout
	LegBusy      LegOutcome = "busy"      // declined or busy (cause 17)
	LegFailed    LegOutcome = "failed"    // Asterisk could not place it (offline, unreachable)
	LegCompleted LegOutcome = "completed" // answered and later hung up normally
)

// CallLeg is one agent rung for a call.
type CallLeg struct {
	ID         int64      `json:"id"`
	CallID     string     `json:"call_id"`
	AgentID    string     `json:"agent_id"`
	ChannelID  string     `json:"channel_id"`
	Outcome    LegOutcome `json:"outcome"`
	Cause      int        `json:"cause,omitempty"` // Q.850 cause from ChannelDestroyed
	RungAt     time.Time  `json:"rung_at"`
	AnsweredAt time.Time  `json:"answered_at,omitzero"`
	EndedAt    time.Time  `json:"ended_at,omitzero"`
}

// ReferralOutcome is how a referral (transfer) to another agent ended.
type ReferralOutcome string

const (
	ReferralRinging  ReferralOutcome = "ringing"
	ReferralAnswered ReferralOutcome = "answered" // the target joined the citizen's bridge
	// ReferralHandover: the target did not answer; the citizen went back to
	// the referring agent and the target owes a handover (5.2.2).
	ReferralHandover  ReferralOutcome = "handover"
	ReferralCancelled ReferralOutcome = "cancelled" // the call ended first
)

// Referral is one link in a call's chain of referrals (5.1.2, 5.2.2). The
// call's first-responsible agent never changes through referrals.
type Referral struct {
	ID           int64           `json:"id"`
	CallID       string          `json:"call_id"`
	FromAgent    string          `json:"from_agent"`
	ToAgent      string          `json:"to_agent,omitempty"` // chosen agent (set once rung for a department)
	ToDepartment string          `json:"to_department,omitempty"`
	Outcome      ReferralOutcome `json:"outcome"`
	RequestedAt  time.Time       `json:"requested_at"`
	EndedAt      time.Time       `json:"ended_at,omitzero"`
}
