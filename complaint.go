package hotline

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Complaint is a citizen's complaint against a staff member (clause 7.1.2),
// recorded by the supervisor who received it, usually on the complaint
// line. It counts in the agent's assessment report (7.3).
type Complaint struct {
	ID      int64  `json:"id"`
	AgentID string `json:"agent_id"` // the staff member complained about
	// CallID is the call that brought the complaint (e.g. on the complaint
	// line); AboutCallID the call complained about. Either may be "".
	CallID      string    `json:"call_id,omitempty"`
	AboutCallID string    `json:"about_call_id,omitempty"`
	Summary     string    `json:"summary"`
	RecordedBy  string    `json:"recorded_by"` // a supervisor
	RecordedAt  time.Time `json:"recorded_at"`
}

// MaxComplaintSummary bounds a complaint's summary, in characters.
const MaxComplaintSummary = 2000

// Validate checks what a complaint to record must have: the agent, a
// summary of at most MaxComplaintSummary characters, who records it and
// when.
func (c Complaint) Validate() error {
	const op = "hotline.Complaint.Validate"
	switch {
	case strings.TrimSpace(c.AgentID) == "":
		return Errorf(KindInvalid, op, "a complaint names the staff member it is about (agent)")
	case strings.TrimSpace(c.Summary) == "":
		return Errorf(KindInvalid, op, "a complaint needs a summary")
	case utf8.RuneCountInString(c.Summary) > MaxComplaintSummary:
		return Errorf(KindInvalid, op, "the summary has %d characters; at most %d", utf8.RuneCountInString(c.Summary), MaxComplaintSummary)
	case strings.TrimSpace(c.RecordedBy) == "":
		return Errorf(KindInvalid, op, "a complaint needs the supervisor who records it")
	case c.RecordedAt.IsZero():
		return Errorf(KindInvalid, op, "a complaint needs the time it was recorded")
	}
	return nil
}
