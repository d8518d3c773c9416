package hotline

import (
	"strconv"
	"strings"
	"time"
)

// CallOutcome is how a call turned out, as the call log filters it: one
// vocabulary for the store, the API and the console.
type CallOutcome string

const (
	OutcomeAnswered   CallOutcome = "answered"    // an agent answered: in progress or completed
	OutcomeMissed     CallOutcome = "missed"      // ended without an agent, for any reason
	OutcomeInProgress CallOutcome = "in_progress" // not ended: ringing or talking
	// The reasons a call was missed (MissedReason) are outcomes too:
	// "no_answer", "no_agent", "abandoned", "after_hours", "failed",
	// "service_down", "interrupted".
)

// CallOutcomes lists every outcome the call log knows, broad ones first.
func CallOutcomes() []CallOutcome {
	return []CallOutcome{OutcomeAnswered, OutcomeMissed, OutcomeInProgress,
		CallOutcome(MissedNoAnswer), CallOutcome(MissedNoAgent), CallOutcome(MissedAbandoned),
		CallOutcome(MissedAfterHours), CallOutcome(MissedFailed), CallOutcome(MissedServiceDown),
		CallOutcome(MissedInterrupted)}
}

// Valid reports whether o is one of CallOutcomes.
func (o CallOutcome) Valid() bool {
	for _, known := range CallOutcomes() {
		if o == known {
			return true
		}
	}
	return false
}

// States are the call states a call with outcome o may be in; a missed
// reason further needs MissedReason.
func (o CallOutcome) States() []CallState {
	switch o {
	case OutcomeAnswered:
		return []CallState{CallAnswered, CallCompleted}
	case OutcomeInProgress:
		return []CallState{CallRinging, CallAnswered}
	case "":
		return nil
	}
	return []CallState{CallMissed}
}

// MissedReason is the reason o stands for; "" for the broad outcomes.
func (o CallOutcome) MissedReason() MissedReason {
	switch o {
	case OutcomeAnswered, OutcomeMissed, OutcomeInProgress:
		return ""
	}
	return MissedReason(o)
}

// Matches reports whether call c has outcome o; every call matches "".
func (o CallOutcome) Matches(c Call) bool {
	if o == "" {
		return true
	}
	for _, s := range o.States() {
		if c.State == s {
			return o.MissedReason() == "" || c.MissedReason == o.MissedReason()
		}
	}
	return false
}

// CallCursor marks a place in the call log, which lists calls newest first
// by arrival and then by id: the next page starts after it. Its text form
// travels in URLs.
type CallCursor struct {
	ArrivedAt time.Time
	ID        string
}

// CursorAfter is the cursor of the page that follows call c.
func CursorAfter(c Call) CallCursor { return CallCursor{ArrivedAt: c.ArrivedAt, ID: c.ID} }

// IsZero reports whether the cursor is unset: the log from its newest call.
func (c CallCursor) IsZero() bool { return c.ID == "" }

// String is the text form: the arrival in unix milliseconds, a dot, the id.
func (c CallCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(UnixMilli(c.ArrivedAt), 10) + "." + c.ID
}

// ParseCallCursor reads a cursor's text form; "" is the zero cursor.
func ParseCallCursor(s string) (CallCursor, error) {
	if s == "" {
		return CallCursor{}, nil
	}
	ms, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || n <= 0 || id == "" {
		return CallCursor{}, Errorf(KindInvalid, "hotline.ParseCallCursor", "cursor %q is not one the call log gave out (next_cursor)", s)
	}
	return CallCursor{ArrivedAt: FromUnixMilli(n), ID: id}, nil
}
