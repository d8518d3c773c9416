package hotline

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ReportPeriod is the span of days an assessment report covers (7.3): whole
// days of the working-time calendar's zone, From to To, both included.
type ReportPeriod struct {
	From  time.Time `json:"from"`  // the first day at midnight in the zone: the period's first instant
	To    time.Time `json:"to"`    // the last day at midnight in the zone
	End   time.Time `json:"end"`   // the day after To at midnight: the first instant after the period
	Label string    `json:"label"` // e.g. "2026", "2026-Q1", "2026-03", "2026-01-01~2026-01-15"
}

// maxReportDays bounds a report's span: ten years of days, more than any
// assessment needs, and a cap on the work one request can ask for.
const maxReportDays = 3660

const reportDate = "2006-01-02"

// NewReportPeriod is the period from the day from to the day to, both
// included, written as 2006-01-02 and read in loc. To must not be before
// from, and the span is at most ten years.
func NewReportPeriod(from, to string, loc *time.Location) (ReportPeriod, error) {
	const op = "hotline.NewReportPeriod"
	f, err := time.ParseInLocation(reportDate, strings.TrimSpace(from), loc)
	if err != nil {
		return ReportPeriod{}, Errorf(KindInvalid, op, "from %q must be a date such as 2026-01-01", from)
	}
	t, err := time.ParseInLocation(reportDate, strings.TrimSpace(to), loc)
	if err != nil {
		return ReportPeriod{}, Errorf(KindInvalid, op, "to %q must be a date such as 2026-12-31", to)
	}
	label := f.Format(reportDate) + "~" + t.Format(reportDate)
	if f.Equal(t) {
		label = f.Format(reportDate)
	}
	return newReportPeriod(op, f, t, label)
}

// ParseReportPeriod reads a calendar period in loc: a year ("2026"), a
// quarter ("2026-Q1" … "2026-Q4") or a month ("2026-03").
func ParseReportPeriod(s string, loc *time.Location) (ReportPeriod, error) {
	const op = "hotline.ParseReportPeriod"
	s = strings.TrimSpace(s)
	bad := Errorf(KindInvalid, op, "period %q must be a year (2026), a quarter (2026-Q1) or a month (2026-03)", s)
	yearText, rest, _ := strings.Cut(s, "-")
	year, err := strconv.Atoi(yearText)
	if err != nil || len(yearText) != 4 {
		return ReportPeriod{}, bad
	}
	first, months := 1, 12
	switch {
	case s == yearText:
	case len(rest) == 2 && (rest[0] == 'Q' || rest[0] == 'q'):
		q, err := strconv.Atoi(rest[1:])
		if err != nil || q < 1 || q > 4 {
			return ReportPeriod{}, bad
		}
		first, months = 3*q-2, 3
		s = fmt.Sprintf("%04d-Q%d", year, q)
	case len(rest) == 2:
		m, err := strconv.Atoi(rest)
		if err != nil || m < 1 || m > 12 {
			return ReportPeriod{}, bad
		}
		first, months = m, 1
	default:
		return ReportPeriod{}, bad
	}
	from := time.Date(year, time.Month(first), 1, 0, 0, 0, 0, loc)
	to := time.Date(year, time.Month(first+months), 0, 0, 0, 0, 0, loc) // day 0: the last day of the month before
	return newReportPeriod(op, from, to, s)
}

func newReportPeriod(op string, from, to time.Time, label string) (ReportPeriod, error) {
	switch {
	case from.Year() < 2000 || to.Year() > 2999:
		return ReportPeriod{}, Errorf(KindInvalid, op, "period %s must lie within the years 2000 to 2999", label)
	case to.Before(from):
		return ReportPeriod{}, Errorf(KindInvalid, op, "period %s ends before it starts", label)
	}
	// AddDate, not Add: a day in a zone with daylight saving is not always
	// 24 hours.
	end := to.AddDate(0, 0, 1)
	if days := end.Sub(from).Hours() / 24; days > maxReportDays {
		return ReportPeriod{}, Errorf(KindInvalid, op, "period %s spans %.0f days; at most %d", label, days, maxReportDays)
	}
	return ReportPeriod{From: from, To: to, End: end, Label: label}, nil
}

// Contains reports whether t falls in the period.
func (p ReportPeriod) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.End) }
