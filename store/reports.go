package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// The assessment report (clauses 7.1.4, 7.3). Migration 00014 defines
// what every row contributes (the report_*_facts views) and keeps the sums
// per staff member and day in agent_days, days of the zone in report_zone;
// the figures' meaning is written in hotline.AgentReport.

const dayMs = int64(24 * time.Hour / time.Millisecond)

// factSums are the sums of the report_*_facts views, per staff member,
// as agent_days keeps them.
type factSums struct {
	AgentID             string `db:"agent_id"`
	Offered             int    `db:"offered"`
	Missed              int    `db:"missed"`
	AnsweredRings       int    `db:"answered_rings"`
	RingMs              int64  `db:"ring_ms"`
	Answered            int    `db:"answered"`
	Talked              int    `db:"talked"`
	TalkMs              int64  `db:"talk_ms"`
	Rated1              int    `db:"rated_1"`
	Rated2              int    `db:"rated_2"`
	Rated3              int    `db:"rated_3"`
	Rated4              int    `db:"rated_4"`
	Rated5              int    `db:"rated_5"`
	CallbacksDue        int    `db:"callbacks_due"`
	CallbacksOnTime     int    `db:"callbacks_on_time"`
	PromisesDue         int    `db:"promises_due"`
	PromisesKept        int    `db:"promises_kept"`
	ViolationsConfirmed int    `db:"violations_confirmed"`
	Reviews             int    `db:"reviews"`
	ReviewFindings      int    `db:"review_findings"`
	ReviewScore         int    `db:"review_score"`
	Complaints          int    `db:"complaints"`
}

func (s factSums) addTo(r *hotline.AgentReport) {
	r.Add(hotline.AgentReport{
		Offered: s.Offered, Missed: s.Missed, AnsweredRings: s.AnsweredRings, RingTime: time.Duration(s.RingMs) * time.Millisecond,
		Answered: s.Answered, TalkedCalls: s.Talked, TalkTime: time.Duration(s.TalkMs) * time.Millisecond,
		Ratings:      [5]int{s.Rated1, s.Rated2, s.Rated3, s.Rated4, s.Rated5},
		CallbacksDue: s.CallbacksDue, CallbacksOnTime: s.CallbacksOnTime, PromisesDue: s.PromisesDue, PromisesKept: s.PromisesKept,
		ViolationsConfirmed: s.ViolationsConfirmed, Reviews: s.Reviews, ReviewFindings: s.ReviewFindings,
		ReviewScoreSum: s.ReviewScore, Complaints: s.Complaints,
	})
}

// factViews are the report_*_facts views and the sums each gives.
var factViews = []struct {
	view    string
	columns []string
}{
	{"report_call_facts", []string{"answered", "talked", "talk_ms"}},
	{"report_leg_facts", []string{"offered", "missed", "answered_rings", "ring_ms"}},
	{"report_rating_facts", []string{"rated_1", "rated_2", "rated_3", "rated_4", "rated_5"}},
	{"report_callback_facts", []string{"callbacks_due", "callbacks_on_time"}},
	{"report_promise_facts", []string{"promises_due", "promises_kept"}},
	{"report_violation_facts", []string{"violations_confirmed"}},
	{"report_review_facts", []string{"reviews", "review_findings", "review_score"}},
	{"report_complaint_facts", []string{"complaints"}},
}

// factColumns are the sums of all the views, in the order of agent_days.
func factColumns() []string {
	var cols []string
	for _, v := range factViews {
		cols = append(cols, v.columns...)
	}
	return cols
}

// sumsOf is "sum(c) AS c" for every fact column.
func sumsOf() string {
	var sums []string
	for _, c := range factColumns() {
		sums = append(sums, "sum("+c+") AS "+c)
	}
	return strings.Join(sums, ", ")
}

// daySumsSQL reads the agent_days rows of days [?1, ?2), summed per staff
// member (all when ?3 is empty): for each agents row, a range of the
// primary key, so the sums come out grouped without a sort.
var daySumsSQL = `SELECT a.id AS agent_id, ` + sumsOf() + ` FROM agents AS a
JOIN agent_days AS d ON d.agent_id = a.id AND d.day >= ?1 AND d.day < ?2
WHERE ?3 = '' OR a.id = ?3 GROUP BY a.id`

// monthSumsSQL reads the agent_months rows of months [?1, ?2) (yyyymm),
// summed per staff member (all when ?3 is empty), as daySumsSQL does.
var monthSumsSQL = `SELECT a.id AS agent_id, ` + sumsOf() + ` FROM agents AS a
JOIN agent_months AS m ON m.agent_id = a.id AND m.month >= ?1 AND m.month < ?2
WHERE ?3 = '' OR a.id = ?3 GROUP BY a.id`

// reportZoneSQL reads the one report_zone row.
const reportZoneSQL = `SELECT name, offset_ms FROM report_zone WHERE id = 1`

// factSumsSQL reads the report_*_facts views over times [?1, ?2), summed
// per staff member (all when ?3 is empty): the edges of a period that do
// not fall on the start of an agent_days day. Each view is searched by its time (calls_by_arrived,
// call_legs_by_rung, ratings_by_rated, callback_tasks_by_deadline,
// promises_by_deadline, violations_confirmed_by_at, reviews_by_created,
// complaints_by_recorded).
var factSumsSQL = func() string {
	var arms []string
	for _, v := range factViews {
		var cols []string
		for _, c := range factColumns() {
			if slices.Contains(v.columns, c) {
				cols = append(cols, c)
			} else {
				cols = append(cols, "0 AS "+c)
			}
		}
		arms = append(arms, "SELECT agent_id, "+strings.Join(cols, ", ")+" FROM "+v.view+" WHERE at_ms >= ?1 AND at_ms < ?2")
	}
	return "SELECT agent_id, " + sumsOf() + " FROM (\n" + strings.Join(arms, "\nUNION ALL\n") +
		"\n) AS facts WHERE ?3 = '' OR agent_id = ?3 GROUP BY agent_id"
}()

// factSumsOver reads the sums of [fromMs, endMs) per staff member: whole
// days from agent_days, the edges from the views.
func (db *DB) factSumsOver(ctx context.Context, tx *sqlx.Tx, fromMs, endMs int64, agentID string) ([]factSums, error) {
	var zone struct {
		Name     string `db:"name"`
		OffsetMs int64  `db:"offset_ms"`
	}
	if err := tx.GetContext(ctx, &zone, reportZoneSQL); err != nil {
		return nil, err
	}
	// Day d covers [d*dayMs - offset, (d+1)*dayMs - offset).
	first, end := ceilDiv(fromMs+zone.OffsetMs, dayMs), (endMs+zone.OffsetMs)/dayMs
	edges := [][2]int64{{fromMs, endMs}}
	var out []factSums
	if first < end {
		// Whole months from agent_months, the days before and after them
		// from agent_days.
		days := [][2]int64{{first, end}}
		if m1, m2 := monthOnOrAfter(first), monthOf(end); m1 < m2 {
			var sums []factSums
			if err := db.selectOn(ctx, tx, &sums, monthSumsSQL, m1, m2, agentID); err != nil {
				return nil, err
			}
			out = append(out, sums...)
			days = [][2]int64{{first, firstDayOf(m1)}, {firstDayOf(m2), end}}
		}
		for _, d := range days {
			if d[0] >= d[1] {
				continue
			}
			var sums []factSums
			if err := db.selectOn(ctx, tx, &sums, daySumsSQL, d[0], d[1], agentID); err != nil {
				return nil, err
			}
			out = append(out, sums...)
		}
		edges = [][2]int64{{fromMs, first*dayMs - zone.OffsetMs}, {end*dayMs - zone.OffsetMs, endMs}}
	}
	for _, e := range edges {
		if e[0] >= e[1] {
			continue
		}
		var sums []factSums
		if err := db.selectOn(ctx, tx, &sums, factSumsSQL, e[0], e[1], agentID); err != nil {
			return nil, err
		}
		out = append(out, sums...)
	}
	return out, nil
}

// The months of agent_months, as yyyymm, and the days of agent_days: day
// d is the calendar date 1970-01-01 plus d days (see migration 00019).

// monthOf is the month day falls in.
func monthOf(day int64) int64 {
	t := time.Unix(day*86400, 0).UTC()
	return int64(t.Year())*100 + int64(t.Month())
}

// firstDayOf is the first day of month.
func firstDayOf(month int64) int64 {
	return time.Date(int(month/100), time.Month(month%100), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// monthOnOrAfter is the first month that starts on day or later.
func monthOnOrAfter(day int64) int64 {
	m := monthOf(day)
	if firstDayOf(m) == day {
		return m
	}
	return monthOf(firstDayOf(m) + 31)
}

// rebuildDaysSQL fills agent_days from the views in the days of
// report_zone; each statement adds one view's sums.
func rebuildDaysSQL() []string {
	var out []string
	for _, v := range factViews {
		var sums, set []string
		for _, c := range v.columns {
			sums = append(sums, "sum("+c+")")
			set = append(set, c+" = "+c+" + excluded."+c)
		}
		out = append(out, "INSERT INTO agent_days (day, agent_id, "+strings.Join(v.columns, ", ")+")\n"+
			"SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, "+strings.Join(sums, ", ")+
			" FROM "+v.view+" WHERE TRUE GROUP BY 1, 2\nON CONFLICT (day, agent_id) DO UPDATE SET "+strings.Join(set, ", "))
	}
	return out
}

// setReportZoneSQL writes the one report_zone row.
const setReportZoneSQL = `UPDATE report_zone SET name = ?, offset_ms = ? WHERE id = 1`

// clearDaysSQL deletes every agent_days row; clearMonthsSQL every
// agent_months row (the triggers leave them at zero).
const (
	clearDaysSQL   = `DELETE FROM agent_days`
	clearMonthsSQL = `DELETE FROM agent_months`
)

// recountDays counts agent_days again from the rows, in tx: after a change
// of the report's zone, a copy, a bulk load. The triggers on agent_days
// count agent_months again with it.
func recountDays(ctx context.Context, tx *sqlx.Tx) error {
	for _, q := range []string{clearDaysSQL, clearMonthsSQL} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("clear agent_days: %w", err)
		}
	}
	for _, q := range rebuildDaysSQL() {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("count agent_days again: %w", err)
		}
	}
	return nil
}

// StandardOffset is loc's offset from UTC outside daylight saving time in
// year: the smaller of its offsets on 1 January and 1 July.
func StandardOffset(loc *time.Location, year int) time.Duration {
	_, jan := time.Date(year, 1, 1, 0, 0, 0, 0, loc).Zone()
	_, jul := time.Date(year, 7, 1, 0, 0, 0, 0, loc).Zone()
	return time.Duration(min(jan, jul)) * time.Second
}

// SetReportZone makes the report count days of loc (the working-time
// calendar's zone), at its standard offset. When the offset differs from
// the one agent_days was kept in, agent_days is rebuilt from the views in
// one transaction (a minute or more on millions of calls) and rebuilt is
// true.
func (db *DB) SetReportZone(ctx context.Context, loc *time.Location) (rebuilt bool, err error) {
	const op = "store.SetReportZone"
	offset := StandardOffset(loc, db.now().Year()).Milliseconds()
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var zone struct {
			Name     string `db:"name"`
			OffsetMs int64  `db:"offset_ms"`
		}
		if err := tx.GetContext(ctx, &zone, reportZoneSQL); err != nil {
			return err
		}
		if zone.Name == loc.String() && zone.OffsetMs == offset {
			return nil
		}
		if _, err := tx.ExecContext(ctx, setReportZoneSQL, loc.String(), offset); err != nil {
			return err
		}
		if zone.OffsetMs == offset {
			return nil
		}
		rebuilt = true
		db.logger.Warn("the report's time zone changed: recounting agent_days", "from", zone.Name, "to", loc.String())
		return recountDays(ctx, tx)
	})
	return rebuilt, wrapErr(op, "report_zone", err)
}

// openDuesSQL reads, per staff member (all when ?4 is empty), the open
// callback_tasks rows (pending, dialing) with an agent, through
// callback_tasks_by_state, and the unfinished promises rows (open,
// escalated: the vocabulary's groups), through promises_by_state, whose deadline is in [?1, ?2) and
// at or before ?3 (the report's now): due and not done.
var openDuesSQL = `
SELECT agent_id, sum(callbacks_open) AS callbacks_open, sum(promises_open) AS promises_open
FROM (
    SELECT agent_id, 1 AS callbacks_open, 0 AS promises_open
    FROM callback_tasks
    WHERE ` + callbackOpenSQL + ` AND agent_id IS NOT NULL
      AND deadline_ms >= ?1 AND deadline_ms < ?2 AND deadline_ms <= ?3
    UNION ALL
    SELECT agent_id, 0, 1
    FROM promises
    WHERE ` + promiseUnfinishedSQL + ` AND deadline_ms >= ?1 AND deadline_ms < ?2 AND deadline_ms <= ?3
) AS open_dues
WHERE ?4 = '' OR agent_id = ?4
GROUP BY agent_id`

// reportStaffSQL reads id, name and role of every agents row.
const reportStaffSQL = `SELECT id, name, role FROM agents ORDER BY id`

// ReportFilter selects what AgentReports counts.
type ReportFilter struct {
	From, End time.Time // the period [From, End): a hotline.ReportPeriod's From and End
	// Now decides which open callback tasks and promises are due: those
	// whose deadline has passed. Zero means the store's clock.
	Now     time.Time
	AgentID string // only this staff member's report; "" for everyone's
}

// AgentReports returns the assessment figures of a period, one report per
// staff member, ordered by id: every agent, and every supervisor with
// something to count (a supervisor answers the complaint line, so the
// answered calls add up to the call log's). With f.AgentID, only that
// staff member's report; NotFound when there is no such staff member.
// Everything is read from one snapshot.
func (db *DB) AgentReports(ctx context.Context, f ReportFilter) ([]hotline.AgentReport, error) {
	const op = "store.AgentReports"
	if err := checkReportPeriod(op, f.From, f.End); err != nil {
		return nil, err
	}
	fromMs, endMs, agentID := f.From.UnixMilli(), f.End.UnixMilli(), f.AgentID
	nowMs := hotline.UnixMilli(f.Now)
	if f.Now.IsZero() {
		nowMs = db.nowMs()
	}
	reports := map[string]*hotline.AgentReport{}
	report := func(id string) *hotline.AgentReport {
		r := reports[id]
		if r == nil {
			r = &hotline.AgentReport{Agent: id}
			reports[id] = r
		}
		return r
	}
	var staff []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
		Role string `db:"role"`
	}
	err := db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		sums, err := db.factSumsOver(ctx, tx, fromMs, endMs, agentID)
		if err != nil {
			return err
		}
		for _, s := range sums {
			s.addTo(report(s.AgentID))
		}

		var open []struct {
			AgentID       string `db:"agent_id"`
			CallbacksOpen int    `db:"callbacks_open"`
			PromisesOpen  int    `db:"promises_open"`
		}
		if err := db.selectOn(ctx, tx, &open, openDuesSQL, fromMs, endMs, nowMs, agentID); err != nil {
			return err
		}
		for _, o := range open {
			report(o.AgentID).Add(hotline.AgentReport{CallbacksDue: o.CallbacksOpen, PromisesDue: o.PromisesOpen})
		}
		return db.selectOn(ctx, tx, &staff, reportStaffSQL)
	})
	if err != nil {
		return nil, wrapErr(op, "the assessment report", err)
	}

	known := false
	for _, s := range staff {
		if agentID != "" && s.ID != agentID {
			continue
		}
		r, counted := reports[s.ID]
		if !counted {
			if s.Role != string(hotline.RoleAgent) && agentID == "" {
				continue // a supervisor with nothing to count
			}
			r = report(s.ID)
		}
		r.Name = s.Name
		known = known || s.ID == agentID
	}
	if agentID != "" && !known {
		return nil, hotline.Errorf(hotline.KindNotFound, op, "staff member %q not found", agentID)
	}
	out := make([]hotline.AgentReport, 0, len(reports))
	for _, r := range reports {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b hotline.AgentReport) int { return strings.Compare(a.Agent, b.Agent) })
	return out, nil
}

// ceilDiv is a / b rounded up, for a >= 0 and b > 0.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// checkReportPeriod is the error for a period the report cannot read.
func checkReportPeriod(op string, from, end time.Time) error {
	if from.Before(time.UnixMilli(0)) {
		return hotline.Errorf(hotline.KindInvalid, op, "the period starts before 1970: %s", from)
	}
	if !end.After(from) {
		return hotline.Errorf(hotline.KindInvalid, op, "the period must end (%s) after it starts (%s)", end, from)
	}
	return nil
}
