package web

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"hotline"
)

// callStates and callLines are the values ?state= and ?line= take.
var (
	callStates = []hotline.CallState{hotline.CallRinging, hotline.CallAnswered, hotline.CallCompleted, hotline.CallMissed}
	callLines  = []hotline.Line{hotline.LineHotline, hotline.LineComplaint}
)

// callFilter reads the call log's query parameters, refusing unknown ones
// and bad values with a message that says what is expected.
func (s *Server) callFilter(op string, q url.Values) (CallFilter, error) {
	if err := checkQuery(op, q, "state", "outcome", "line", "agent", "number", "uncallable", "rated", "reviewed",
		"since", "until", "from", "to", "cursor", "limit", "numbers"); err != nil {
		return CallFilter{}, err
	}
	f := CallFilter{
		State: hotline.CallState(q.Get("state")), Outcome: hotline.CallOutcome(q.Get("outcome")),
		Line: hotline.Line(q.Get("line")), Agent: strings.TrimSpace(q.Get("agent")),
	}
	switch {
	case f.State != "" && !slices.Contains(callStates, f.State):
		return f, hotline.Errorf(hotline.KindInvalid, op, "state %q must be one of %s", f.State, join(callStates))
	case f.Outcome != "" && !f.Outcome.Valid():
		return f, hotline.Errorf(hotline.KindInvalid, op, "outcome %q must be one of %s", f.Outcome, join(hotline.CallOutcomes()))
	case f.Line != "" && !slices.Contains(callLines, f.Line):
		return f, hotline.Errorf(hotline.KindInvalid, op, "line %q must be one of %s", f.Line, join(callLines))
	}
	if v := q.Get("number"); v != "" {
		n := hotline.NormalizeNumber(v)
		if !n.Callable {
			return f, hotline.Errorf(hotline.KindInvalid, op, "number %q is not a phone number a citizen calls from (%s); "+
				"use uncallable=true for withheld and invalid numbers", v, n.Kind)
		}
		f.Number = n.Number
	}
	var err error
	if f.Uncallable, err = queryFlag(op, q, "uncallable"); err != nil {
		return f, err
	}
	if f.Rated, err = queryTristate(op, q, "rated"); err != nil {
		return f, err
	}
	if f.Reviewed, err = queryTristate(op, q, "reviewed"); err != nil {
		return f, err
	}
	if f.Limit, err = queryLimit(op, q); err != nil {
		return f, err
	}
	if f.After, err = hotline.ParseCallCursor(q.Get("cursor")); err != nil {
		return f, err
	}
	if f.Since, f.Until, err = s.callWindow(op, q); err != nil {
		return f, err
	}
	return f, nil
}

// callWindow reads the arrival window: since/until (RFC 3339 times, until
// excluded) or from/to (days of the calendar's zone, to included), one
// form for each end.
func (s *Server) callWindow(op string, q url.Values) (since, until time.Time, err error) {
	bound := func(timeName, dayName string, nextDay bool) (time.Time, error) {
		timeText, dayText := q.Get(timeName), q.Get(dayName)
		switch {
		case timeText != "" && dayText != "":
			return time.Time{}, hotline.Errorf(hotline.KindInvalid, op, "give %s or %s, not both", timeName, dayName)
		case timeText != "":
			t, err := time.Parse(time.RFC3339, timeText)
			if err != nil {
				return time.Time{}, hotline.Errorf(hotline.KindInvalid, op,
					"%s %q must be an RFC 3339 time such as 2026-11-27T08:30:00+08:00", timeName, timeText)
			}
			return t, nil
		case dayText != "":
			d, err := time.ParseInLocation(reportDate, dayText, s.deps.Zone)
			if err != nil {
				return time.Time{}, hotline.Errorf(hotline.KindInvalid, op, "%s %q must be a date such as 2026-03-01", dayName, dayText)
			}
			if nextDay {
				d = d.AddDate(0, 0, 1) // to is included: the window ends when the next day starts
			}
			return d, nil
		}
		return time.Time{}, nil
	}
	if since, err = bound("since", "from", false); err != nil {
		return
	}
	if until, err = bound("until", "to", true); err != nil {
		return
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		err = hotline.Errorf(hotline.KindInvalid, op, "the window ends (%s) before it starts (%s)",
			until.In(s.deps.Zone).Format(time.RFC3339), since.In(s.deps.Zone).Format(time.RFC3339))
	}
	return
}

// queryTristate reads a true/false parameter that may be absent: nil when
// absent, so that "not rated" and "either" differ.
func queryTristate(op string, q url.Values, name string) (*bool, error) {
	if q.Get(name) == "" {
		return nil, nil
	}
	v, err := queryFlag(op, q, name)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
