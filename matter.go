package hotline

import (
	"fmt"
	"time"
)

// CallbackState is where a missed-call callback task is (clause 6.1).
type CallbackState string

const (
	CallbackPending     CallbackState = "pending"     // waiting to be dialed
	CallbackDialing     CallbackState = "dialing"     // claimed by a dialer under a lease
	CallbackConnected   CallbackState = "connected"   // closed: the citizen was reached
	CallbackResolved    CallbackState = "resolved"    // closed: the citizen called in and was answered
	CallbackUnreachable CallbackState = "unreachable" // attempts exhausted; a supervisor must acknowledge
	CallbackInvalid     CallbackState = "invalid_number"
	CallbackClosed      CallbackState = "closed" // closed by a supervisor with a reason
)

// CallbackTask is the duty to call a missed citizen back before Deadline.
// All the missed calls of one number while a task is open merge into it.
type CallbackTask struct {
	ID          int64         `json:"id"`
	Number      string        `json:"number"` // normalised, callable
	State       CallbackState `json:"state"`
	AgentID     string        `json:"agent_id,omitempty"`     // responsible agent; "" until the dialer assigns one
	AgentMisses int           `json:"agent_misses,omitempty"` // dials in a row its responsible agent left unanswered
	MissedCount int           `json:"missed_count"`
	Attempts    int           `json:"attempts"` // attempts that count against the citizen
	FirstMissed time.Time     `json:"first_missed_at"`
	Deadline    time.Time     `json:"deadline"`
	NextAttempt time.Time     `json:"next_attempt_at,omitzero"`
	LeaseToken  string        `json:"-"` // set while a dialer holds the task
	LeaseUntil  time.Time     `json:"-"`
	EscalatedAt time.Time     `json:"escalated_at,omitzero"`
	CreatedAt   time.Time     `json:"created_at"`
	ClosedAt    time.Time     `json:"closed_at,omitzero"`
	CloseReason string        `json:"close_reason,omitempty"`
	ClosedBy    string        `json:"closed_by,omitempty"`
	CallIDs     []string      `json:"call_ids,omitempty"` // the missed calls behind it
	// VoiceMessages are the recordings of the messages the citizen left on
	// those calls (after hours, or in the dialplan's fallback), oldest
	// first; the task's agent may hear them.
	VoiceMessages []string          `json:"voice_messages,omitempty"`
	AttemptLog    []CallbackAttempt `json:"attempt_log,omitempty"`
}

// AttemptOutcome is how one callback dial ended.
type AttemptOutcome string

const (
	AttemptConnected     AttemptOutcome = "connected"         // bridged for at least the minimum talk time
	AttemptTooShort      AttemptOutcome = "too_short"         // bridged, but hung up before the minimum talk time
	AttemptNoAnswer      AttemptOutcome = "citizen_no_answer" // rang out (cause 19)
	AttemptBusy          AttemptOutcome = "busy"              // cause 17
	AttemptUnreachable   AttemptOutcome = "unreachable"       // cause 20 and other network failures
	AttemptInvalidNumber AttemptOutcome = "invalid_number"    // the network says the number does not exist (cause 1)
	AttemptAgentNoAnswer AttemptOutcome = "agent_no_answer"   // the agent's phone was not answered: not the citizen's fault
	AttemptFailed        AttemptOutcome = "failed"            // the system failed (ARI error, lease lost): not the citizen's fault
)

// CountsAgainstCitizen reports whether the outcome uses up one of the
// citizen's attempts. The agent not answering, or our own failure, does not.
func (o AttemptOutcome) CountsAgainstCitizen() bool {
	switch o {
	case AttemptTooShort, AttemptNoAnswer, AttemptBusy, AttemptUnreachable, AttemptInvalidNumber:
		return true
	}
	return false
}

// CallbackAttempt is one dial of a callback task.
// Its timestamps prove the order the standard asks for: the apology
// finished before agent and citizen were bridged.
type CallbackAttempt struct {
	ID                int64          `json:"id"`
	TaskID            int64          `json:"task_id"`
	AgentID           string         `json:"agent_id,omitempty"`
	RecordingName     string         `json:"recording_name,omitempty"`
	StartedAt         time.Time      `json:"started_at"`
	AgentAnsweredAt   time.Time      `json:"agent_answered_at,omitzero"`
	CitizenAnsweredAt time.Time      `json:"citizen_answered_at,omitzero"`
	ApologyFinishedAt time.Time      `json:"apology_finished_at,omitzero"`
	BridgedAt         time.Time      `json:"bridged_at,omitzero"`
	EndedAt           time.Time      `json:"ended_at,omitzero"`
	Outcome           AttemptOutcome `json:"outcome,omitempty"`
	Cause             int            `json:"cause,omitempty"` // Q.850 cause of the leg that failed: the agent's for agent_no_answer, else the citizen's
}

// WorkingTime is the part of the calendar that deadlines need.
type WorkingTime interface {
	AddWorking(t time.Time, d time.Duration) time.Time
	NextOpen(t time.Time) time.Time
}

// CallbackPolicy holds the callback rules (6.1); it is the "callbacks"
// section of the service config.
type CallbackPolicy struct {
	// SLA is the working time from a missed call to its callback deadline.
	// Default 30m. A call missed after hours is due SLA after the next opening.
	SLA time.Duration `yaml:"sla"`
	// MaxAttempts is how many failed attempts on the citizen make the task
	// unreachable, waiting for a supervisor. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBackoff is the working time between failed attempts. Default 10m.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// MinTalk is how long the citizen and agent must be bridged for the task
	// to close as connected. Default 10s.
	MinTalk time.Duration `yaml:"min_talk"`
	// AnyAgentWithin: this close to the deadline (working time), any
	// available agent may make the call when the responsible one is not
	// available. Default 10m.
	AnyAgentWithin time.Duration `yaml:"any_agent_within"`
	// AgentTries is how many callback dials in a row an agent may leave
	// unanswered (declined or not picked up) before their tasks go to
	// other available agents: counted on the task, and across tasks by the
	// dialer. A task that passes on records the refusal against the agent
	// (7.1.5). Default 1: a citizen waiting for a callback does not wait on
	// an agent who has just refused one.
	AgentTries int `yaml:"agent_tries"`
}

// SetDefaults fills unset fields.
func (p *CallbackPolicy) SetDefaults() {
	if p.SLA == 0 {
		p.SLA = 30 * time.Minute
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 3
	}
	if p.RetryBackoff == 0 {
		p.RetryBackoff = 10 * time.Minute
	}
	if p.MinTalk == 0 {
		p.MinTalk = 10 * time.Second
	}
	if p.AnyAgentWithin == 0 {
		p.AnyAgentWithin = 10 * time.Minute
	}
	if p.AgentTries == 0 {
		p.AgentTries = 1
	}
}

// Validate reports the first bad field, named by its YAML key under "callbacks.".
func (p CallbackPolicy) Validate() error {
	switch {
	case p.SLA <= 0:
		return fmt.Errorf("callbacks.sla: must be positive")
	case p.MaxAttempts < 1 || p.MaxAttempts > 20:
		return fmt.Errorf("callbacks.max_attempts: %d must be from 1 to 20", p.MaxAttempts)
	case p.RetryBackoff < 0:
		return fmt.Errorf("callbacks.retry_backoff: must not be negative")
	case p.MinTalk < 0:
		return fmt.Errorf("callbacks.min_talk: must not be negative")
	case p.AnyAgentWithin < 0:
		return fmt.Errorf("callbacks.any_agent_within: must not be negative")
	case p.AgentTries < 1 || p.AgentTries > 10:
		return fmt.Errorf("callbacks.agent_tries: %d must be from 1 to 10", p.AgentTries)
	}
	return nil
}

// Deadline is when a call missed at missedAt must have been called back.
func (p CallbackPolicy) Deadline(missedAt time.Time, cal WorkingTime) time.Time {
	return cal.AddWorking(missedAt, p.SLA)
}

// AfterAttempt applies ended attempt a (its Outcome, EndedAt and AgentID)
// to the task: a connected call closes it; a number that does not exist
// makes it invalid_number at once; other failures on the citizen count,
// retry after the backoff in working time, and after MaxAttempts make it
// unreachable; failures that are not the citizen's (agent did not answer,
// system failure) retry soon without counting. The responsible agent
// leaving the dial unanswered adds to AgentMisses, and once that reaches
// AgentTries the task is due at once, for another agent (HandsOver); an
// agent who answered clears it. The lease is not touched.
func (p CallbackPolicy) AfterAttempt(t CallbackTask, a CallbackAttempt, cal WorkingTime) CallbackTask {
	outcome, now := a.Outcome, a.EndedAt
	switch {
	case outcome == AttemptAgentNoAnswer && (t.AgentID == "" || a.AgentID == t.AgentID):
		t.AgentMisses++
	case outcome != AttemptAgentNoAnswer && outcome != AttemptFailed:
		t.AgentMisses = 0
	}
	if outcome.CountsAgainstCitizen() {
		t.Attempts++
	}
	switch {
	case outcome == AttemptConnected:
		t.State, t.ClosedAt, t.NextAttempt = CallbackConnected, now, time.Time{}
	case outcome == AttemptInvalidNumber:
		t.State, t.ClosedAt, t.NextAttempt = CallbackInvalid, now, time.Time{}
	case outcome.CountsAgainstCitizen() && t.Attempts >= p.MaxAttempts:
		t.State, t.ClosedAt, t.NextAttempt = CallbackUnreachable, now, time.Time{}
	case outcome.CountsAgainstCitizen():
		t.State, t.NextAttempt = CallbackPending, cal.AddWorking(now, p.RetryBackoff)
	case t.AgentMisses >= p.AgentTries:
		// Another agent takes it over: no reason to wait.
		t.State, t.NextAttempt = CallbackPending, cal.NextOpen(now)
	default:
		// Not the citizen's doing: try again as soon as the line is open.
		t.State, t.NextAttempt = CallbackPending, cal.NextOpen(now.Add(time.Minute))
	}
	return t
}

// HandsOver reports whether task t goes to another available agent: its
// responsible agent left AgentTries of its dials in a row unanswered, or
// refusalsInARow (the dialer's count of that agent's unanswered callback
// dials, across tasks) reached AgentTries.
func (p CallbackPolicy) HandsOver(t CallbackTask, refusalsInARow int) bool {
	return t.AgentID != "" && (t.AgentMisses >= p.AgentTries || refusalsInARow >= p.AgentTries)
}

// AnyAgentMay reports whether any available agent may make t's call while
// its responsible agent cannot take it now (on a call, paused, offline):
// t has no responsible agent, or its deadline is AnyAgentWithin of working
// time away or less. Such a helper does not take the task over.
func (p CallbackPolicy) AnyAgentMay(t CallbackTask, now time.Time, cal WorkingTime) bool {
	return t.AgentID == "" || !cal.AddWorking(now, p.AnyAgentWithin).Before(t.Deadline)
}

// SettledOutcome is how attempt a ended when its dialer died mid-dial and
// its channels are gone by now: bridged, the citizen heard the apology and
// talked with the agent until one hung up, so it connected; otherwise the
// system failed, which does not count against the citizen.
func SettledOutcome(a CallbackAttempt) AttemptOutcome {
	if !a.BridgedAt.IsZero() {
		return AttemptConnected
	}
	return AttemptFailed
}

// RefusalKind is the violation an agent's unanswered ring is, by the Q.850
// cause of their leg: 17 (busy) is a declined ring, anything else one
// that was not answered.
func RefusalKind(cause int) ViolationKind {
	if cause == 17 {
		return ViolationRingDeclined
	}
	return ViolationRingNotAnswered
}

// PromiseState is where a promised reply is (clause 6.2).
type PromiseState string

// The stored states; the groups (unfinished, overdue) are in states.go.
const (
	PromiseOpen      PromiseState = "open"      // waiting for its reply, not escalated
	PromiseEscalated PromiseState = "escalated" // past its deadline, told to the supervisors, reply still owed
	PromiseFulfilled PromiseState = "fulfilled"
	PromiseClosed    PromiseState = "closed"
)

// Promise is an agent's commitment to reply to a citizen by Deadline
// (6.2). It is owned by the call's first-responsible agent, whoever
// records it. A deadline moves only with a supervisor's approval; the
// original stays on record.
type Promise struct {
	ID               int64              `json:"id"`
	CallID           string             `json:"call_id"`
	Number           string             `json:"number"`
	AgentID          string             `json:"agent_id"` // the call's first-responsible agent
	CreatedBy        string             `json:"created_by"`
	Summary          string             `json:"summary"`
	Department       string             `json:"department,omitempty"`
	State            PromiseState       `json:"state"`
	Deadline         time.Time          `json:"deadline"`
	OriginalDeadline time.Time          `json:"original_deadline"`
	CreatedAt        time.Time          `json:"created_at"`
	FulfilledAt      time.Time          `json:"fulfilled_at,omitzero"`
	FulfilledHow     string             `json:"fulfilled_how,omitempty"` // reply_call | note
	FulfilledBy      string             `json:"fulfilled_by,omitempty"`
	Evidence         string             `json:"evidence,omitempty"` // note text, or the reply call's recording
	EscalatedAt      time.Time          `json:"escalated_at,omitzero"`
	ClosedAt         time.Time          `json:"closed_at,omitzero"`
	ClosedBy         string             `json:"closed_by,omitempty"`
	CloseReason      string             `json:"close_reason,omitempty"`
	Extensions       []PromiseExtension `json:"extensions,omitempty"`
	RemindersSent    []time.Duration    `json:"reminders_sent,omitempty"` // lead times already pushed
}

// PromiseExtension is one approved move of a promise's deadline.
type PromiseExtension struct {
	FromState   PromiseState `json:"from_state"`            // the state the extension lifted the promise from
	EscalatedAt time.Time    `json:"escalated_at,omitzero"` // an escalation it lifted stays on record
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	ApprovedBy  string       `json:"approved_by"` // a supervisor
	Reason      string       `json:"reason"`
	At          time.Time    `json:"at"`
}

// PromisePolicy holds the promised-reply rules (6.2): the "promises"
// section of the service config.
type PromisePolicy struct {
	// ReminderLeads are the working-time lead times before a deadline at
	// which the owner is reminded. Default [1h, 10m].
	ReminderLeads []time.Duration `yaml:"reminder_leads"`
	// MaxWorkingDays bounds a new deadline: at most this many working days
	// after the promise is made. Default 30.
	MaxWorkingDays int `yaml:"max_working_days"`
	// MaxExtensionWorkingDays bounds each extension: the new deadline is at
	// most this many working days after the current one. Default 10.
	MaxExtensionWorkingDays int `yaml:"max_extension_working_days"`
}

// SetDefaults fills unset fields.
func (p *PromisePolicy) SetDefaults() {
	if p.ReminderLeads == nil {
		p.ReminderLeads = []time.Duration{time.Hour, 10 * time.Minute}
	}
	if p.MaxWorkingDays == 0 {
		p.MaxWorkingDays = 30
	}
	if p.MaxExtensionWorkingDays == 0 {
		p.MaxExtensionWorkingDays = 10
	}
}

// WorkingDays is the calendar arithmetic the promise bounds need.
type WorkingDays interface {
	AddWorkingDays(t time.Time, n int) time.Time
}

// CheckDeadline refuses a new promise's deadline later than MaxWorkingDays
// working days after now (Invalid, naming the latest allowed).
func (p PromisePolicy) CheckDeadline(deadline, now time.Time, cal WorkingDays) error {
	if latest := cal.AddWorkingDays(now, p.MaxWorkingDays); deadline.After(latest) {
		return Errorf(KindInvalid, "hotline.PromisePolicy", "deadline %s is more than %d working days away; the latest allowed is %s",
			deadline.Format(time.RFC3339), p.MaxWorkingDays, latest.Format(time.RFC3339))
	}
	return nil
}

// CheckExtension refuses an extension that moves the deadline more than
// MaxExtensionWorkingDays working days past the current one.
func (p PromisePolicy) CheckExtension(current, next time.Time, cal WorkingDays) error {
	if latest := cal.AddWorkingDays(current, p.MaxExtensionWorkingDays); next.After(latest) {
		return Errorf(KindInvalid, "hotline.PromisePolicy", "an extension moves a deadline at most %d working days; from %s the latest is %s",
			p.MaxExtensionWorkingDays, current.Format(time.RFC3339), latest.Format(time.RFC3339))
	}
	return nil
}

// Validate reports the first bad field, named by its YAML key under "promises.".
func (p PromisePolicy) Validate() error {
	switch {
	case p.MaxWorkingDays < 1 || p.MaxWorkingDays > 250:
		return fmt.Errorf("promises.max_working_days: %d must be from 1 to 250", p.MaxWorkingDays)
	case p.MaxExtensionWorkingDays < 1 || p.MaxExtensionWorkingDays > 250:
		return fmt.Errorf("promises.max_extension_working_days: %d must be from 1 to 250", p.MaxExtensionWorkingDays)
	}
	seen := map[time.Duration]bool{}
	for i, d := range p.ReminderLeads {
		if d <= 0 {
			return fmt.Errorf("promises.reminder_leads[%d]: %s must be positive", i, d)
		}
		if seen[d] {
			return fmt.Errorf("promises.reminder_leads[%d]: %s is listed twice", i, d)
		}
		seen[d] = true
	}
	return nil
}

// RecordingState says whether the service holds a recording's audio.
type RecordingState string

const (
	RecordingLive     RecordingState = "live"     // Asterisk is recording
	RecordingPending  RecordingState = "pending"  // finished, not yet archived
	RecordingArchived RecordingState = "archived" // in the archive, hash known
	RecordingFailed   RecordingState = "failed"   // archiving gave up; metadata kept
	RecordingDeleted  RecordingState = "deleted"  // audio removed by retention; metadata kept
)

// Recording is the audio of a whole consultation (clause 7.1.3).
type Recording struct {
	Name       string         `json:"name"` // flat, generated by the service
	CallID     string         `json:"call_id"`
	State      RecordingState `json:"state"`
	Format     string         `json:"format"`
	SizeBytes  int64          `json:"size_bytes,omitempty"`
	Duration   float64        `json:"duration_seconds,omitempty"`
	SHA256     string         `json:"sha256,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
	ArchivedAt time.Time      `json:"archived_at,omitzero"`
}

// Satisfaction is the five-level scale of GB/T 39735 (clause 7.2): the
// citizen presses 1..5.
type Satisfaction int

const (
	VerySatisfied Satisfaction = iota + 1
	Satisfied
	FairlySatisfied
	Dissatisfied
	VeryDissatisfied
)

var satisfactionNames = [...]string{"", "非常满意", "满意", "基本满意", "不满意", "非常不满意"}

// Valid reports whether s is on the scale.
func (s Satisfaction) Valid() bool { return s >= VerySatisfied && s <= VeryDissatisfied }

func (s Satisfaction) String() string {
	if !s.Valid() {
		return "未评价"
	}
	return satisfactionNames[s]
}

// Rating is the citizen's survey answer for a call, tied to its
// first-responsible agent.
type Rating struct {
	CallID  string       `json:"call_id"`
	AgentID string       `json:"agent_id"`
	Score   Satisfaction `json:"score"` // 0 = not rated
	RatedAt time.Time    `json:"rated_at"`
}

// Review is a supervisor's assessment of a call (clause 7.1.4).
type Review struct {
	ID           int64     `json:"id"`
	CallID       string    `json:"call_id"`
	AgentID      string    `json:"agent_id"`
	SupervisorID string    `json:"supervisor_id"`
	Score        int       `json:"score"`           // 0..100
	Flags        []string  `json:"flags,omitempty"` // 推诿 拒绝 拖延 态度
	Comment      string    `json:"comment,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// AuditEntry is one line of the tamper-evident audit log: each entry carries
// the hash of the previous one.
type AuditEntry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Role     string    `json:"role,omitempty"` // the actor's roles then, e.g. "supervisor"; "" for entries older than roles
	Action   string    `json:"action"`         // e.g. recording.listen
	Object   string    `json:"object"`
	Client   string    `json:"client,omitempty"`
	Result   string    `json:"result"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// ViolationKind names a breach of the standard recorded against an agent
// (7.1.5: refusing, shirking, delaying).
type ViolationKind string

const (
	ViolationCallbackOverdue ViolationKind = "callback_overdue" // 拖延: a missed call not called back in time
	ViolationPromiseOverdue  ViolationKind = "promise_overdue"  // 拖延: a promised reply not given in time
	ViolationRingDeclined    ViolationKind = "ring_declined"    // 拒绝: declined a ring while available
	ViolationRingNotAnswered ViolationKind = "ring_not_answered"
	ViolationReferralLoop    ViolationKind = "referral_loop" // 推诿: the same matter referred back and forth
)

// Disposition is a supervisor's decision on a violation.
type Disposition string

const (
	DispositionOpen      Disposition = ""
	DispositionConfirmed Disposition = "confirmed"
	DispositionDismissed Disposition = "dismissed"
)

// Violation is one recorded occurrence, with the supervisor's disposition.
type Violation struct {
	ID            int64         `json:"id"`
	Kind          ViolationKind `json:"kind"`
	AgentID       string        `json:"agent_id"`
	CallID        string        `json:"call_id,omitempty"`
	TaskID        int64         `json:"task_id,omitempty"`
	PromiseID     int64         `json:"promise_id,omitempty"`
	At            time.Time     `json:"at"`
	Detail        string        `json:"detail,omitempty"`
	Disposition   Disposition   `json:"disposition,omitempty"`
	DisposedBy    string        `json:"disposed_by,omitempty"`
	DisposedAt    time.Time     `json:"disposed_at,omitzero"`
	DisposeReason string        `json:"dispose_reason,omitempty"`
}
