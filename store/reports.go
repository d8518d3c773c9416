package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// The assessment report (clauses 7.1.4, 7.3). Migration 00014 defines
// what every row contributes (the report_*_facts views) and keeps the sums
// per staff member and hour in agent_hours; the figures' meaning is written
// in hotline.AgentReport.

const hourMs = int64(time.Hour / time.Millisecond)

// factSums are the sums of the report_*_facts views, per staff member,
// as agent_hours keeps them.
type factSums struct {
	AgentID         string `db:"agent_id"`
	Offered         int    `db:"offered"`
	Missed          int    `db:"missed"`
	AnsweredRings   int    `db:"answered_rings"`
	RingMs          int64  `db:"ring_ms"`
	Answered        int    `db:"answered"`
	Talked          int    `db:"talked"`
	TalkMs          int64  `db:"talk_ms"`
	Rated1          int    `db:"rated_1"`
	Rated2          int    `db:"rated_2"`
	Rated3          int    `db:"rated_3"`
	Rated4          int    `db:"rated_4"`
	Rated5          int    `db:"rated_5"`
	CallbacksDue    int    `db:"callbacks_due"`
	CallbacksOnTime int    `db:"callbacks_on_time"`
	PromisesDue     int    `db:"promises_due"`
	PromisesKept    int    `db:"promises_kept"`
}

func (s factSums) addTo(r *hotline.AgentReport) {
	r.Add(hotline.AgentReport{
		Offered: s.Offered, Missed: s.Missed, AnsweredRings: s.AnsweredRings, RingTime: time.Duration(s.RingMs) * time.Millisecond,
		Answered: s.Answered, TalkedCalls: s.Talked, TalkTime: time.Duration(s.TalkMs) * time.Millisecond,
		Ratings:      [5]int{s.Rated1, s.Rated2, s.Rated3, s.Rated4, s.Rated5},
		CallbacksDue: s.CallbacksDue, CallbacksOnTime: s.CallbacksOnTime, PromisesDue: s.PromisesDue, PromisesKept: s.PromisesKept,
	})
}

const factSumColumns = `sum(offered) AS offered, sum(missed) AS missed, sum(answered_rings) AS answered_rings,
    sum(ring_ms) AS ring_ms, sum(answered) AS answered, sum(talked) AS talked, sum(talk_ms) AS talk_ms,
    sum(rated_1) AS rated_1, sum(rated_2) AS rated_2, sum(rated_3) AS rated_3, sum(rated_4) AS rated_4,
    sum(rated_5) AS rated_5, sum(callbacks_due) AS callbacks_due, sum(callbacks_on_time) AS callbacks_on_time,
    sum(promises_due) AS promises_due, sum(promises_kept) AS promises_kept`

// hourSumsSQL reads the agent_hours rows of whole hours [?1, ?2), summed
// per staff member (all when ?3 is empty), through its primary key.
const hourSumsSQL = `
SELECT agent_id, ` + factSumColumns + `
FROM agent_hours
WHERE hour >= ?1 AND hour < ?2 AND (?3 = '' OR agent_id = ?3)
GROUP BY agent_id`

// factSumsSQL reads the report_*_facts views over times [?1, ?2), summed
// per staff member (all when ?3 is empty): the edges of a period that do not
// fill a whole hour. Each view is searched by its time (calls_by_arrived,
// call_legs_by_rung, ratings_by_rated, callback_tasks_by_deadline,
// promises_by_deadline).
const factSumsSQL = `
SELECT agent_id, ` + factSumColumns + `
FROM (
    SELECT agent_id, 0 AS offered, 0 AS missed, 0 AS answered_rings, 0 AS ring_ms, answered, talked, talk_ms,
           0 AS rated_1, 0 AS rated_2, 0 AS rated_3, 0 AS rated_4, 0 AS rated_5,
           0 AS callbacks_due, 0 AS callbacks_on_time, 0 AS promises_due, 0 AS promises_kept
    FROM report_call_facts WHERE at_ms >= ?1 AND at_ms < ?2
    UNION ALL
    SELECT agent_id, offered, missed, answered_rings, ring_ms, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM report_leg_facts WHERE at_ms >= ?1 AND at_ms < ?2
    UNION ALL
    SELECT agent_id, 0, 0, 0, 0, 0, 0, 0, rated_1, rated_2, rated_3, rated_4, rated_5, 0, 0, 0, 0
    FROM report_rating_facts WHERE at_ms >= ?1 AND at_ms < ?2
    UNION ALL
    SELECT agent_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, callbacks_due, callbacks_on_time, 0, 0
    FROM report_callback_facts WHERE at_ms >= ?1 AND at_ms < ?2
    UNION ALL
    SELECT agent_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, promises_due, promises_kept
    FROM report_promise_facts WHERE at_ms >= ?1 AND at_ms < ?2
)
WHERE ?3 = '' OR agent_id = ?3
GROUP BY agent_id`

// reportCountsSQL reads, per staff member (all when ?4 is empty), what the
// report counts straight from its tables over times [?1, ?2):
//   - open callback_tasks rows (pending, dialing) with an agent whose
//     deadline is in the period and at or before ?3 (the report's now),
//     through callback_tasks_by_state: due and not done;
//   - unfinished promises rows (open, overdue, escalated) likewise, through
//     promises_unfinished_deadlines;
//   - confirmed violations rows by at_ms (violations_confirmed_by_at);
//   - reviews rows by created_ms, those with a flag, and their scores
//     (reviews_by_created);
//   - complaints rows by recorded_ms (complaints_by_recorded).
const reportCountsSQL = `
SELECT agent_id, sum(callbacks_open) AS callbacks_open, sum(promises_open) AS promises_open,
       sum(violations) AS violations, sum(reviews) AS reviews, sum(findings) AS findings,
       sum(review_score) AS review_score, sum(complaints) AS complaints
FROM (
    SELECT agent_id, 1 AS callbacks_open, 0 AS promises_open, 0 AS violations, 0 AS reviews, 0 AS findings,
           0 AS review_score, 0 AS complaints
    FROM callback_tasks
    WHERE state IN ('pending', 'dialing') AND agent_id IS NOT NULL
      AND deadline_ms >= ?1 AND deadline_ms < ?2 AND deadline_ms <= ?3
    UNION ALL
    SELECT agent_id, 0, 1, 0, 0, 0, 0, 0
    FROM promises
    WHERE state IN ('open', 'overdue', 'escalated') AND deadline_ms >= ?1 AND deadline_ms < ?2 AND deadline_ms <= ?3
    UNION ALL
    SELECT agent_id, 0, 0, 1, 0, 0, 0, 0
    FROM violations WHERE disposition = 'confirmed' AND at_ms >= ?1 AND at_ms < ?2
    UNION ALL
    SELECT agent_id, 0, 0, 0, 1, flags <> '[]', score, 0
    FROM reviews WHERE created_ms >= ?1 AND created_ms < ?2
    UNION ALL
    SELECT agent_id, 0, 0, 0, 0, 0, 0, 1
    FROM complaints WHERE recorded_ms >= ?1 AND recorded_ms < ?2
)
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
		// Whole hours from agent_hours, the edges from the views.
		firstHour, endHour := ceilDiv(fromMs, hourMs), endMs/hourMs
		spans := [][2]int64{{fromMs, endMs}}
		var sums []factSums
		if firstHour < endHour {
			if err := db.selectOn(ctx, tx, &sums, hourSumsSQL, firstHour, endHour, agentID); err != nil {
				return err
			}
			spans = [][2]int64{{fromMs, firstHour * hourMs}, {endHour * hourMs, endMs}}
		}
		for _, span := range spans {
			if span[0] >= span[1] {
				continue
			}
			var edge []factSums
			if err := db.selectOn(ctx, tx, &edge, factSumsSQL, span[0], span[1], agentID); err != nil {
				return err
			}
			sums = append(sums, edge...)
		}
		for _, s := range sums {
			s.addTo(report(s.AgentID))
		}

		var counts []struct {
			AgentID       string `db:"agent_id"`
			CallbacksOpen int    `db:"callbacks_open"`
			PromisesOpen  int    `db:"promises_open"`
			Violations    int    `db:"violations"`
			Reviews       int    `db:"reviews"`
			Findings      int    `db:"findings"`
			ReviewScore   int    `db:"review_score"`
			Complaints    int    `db:"complaints"`
		}
		if err := db.selectOn(ctx, tx, &counts, reportCountsSQL, fromMs, endMs, nowMs, agentID); err != nil {
			return err
		}
		for _, c := range counts {
			report(c.AgentID).Add(hotline.AgentReport{
				CallbacksDue: c.CallbacksOpen, PromisesDue: c.PromisesOpen, ViolationsConfirmed: c.Violations,
				Reviews: c.Reviews, ReviewFindings: c.Findings, ReviewScoreSum: c.ReviewScore, Complaints: c.Complaints,
			})
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
