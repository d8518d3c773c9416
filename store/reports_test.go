package store

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// seedTask and seedPromise are callback tasks and promises as the report
// test writes them (raw rows: the report reads them whatever wrote them).
type seedTask struct {
	agent              string
	state              hotline.CallbackState
	deadline, closedAt time.Time
}

type seedPromise struct {
	agent                 string
	state                 hotline.PromiseState
	deadline, fulfilledAt time.Time
	closedAt              time.Time
}

// reportWorld is everything the report test seeded, as the domain sees it:
// the wanted figures are computed from it in Go, independently of the SQL.
type reportWorld struct {
	staff      []hotline.Agent
	calls      []hotline.Call
	legs       []hotline.CallLeg
	ratings    []hotline.Rating
	tasks      []seedTask
	promises   []seedPromise
	violations []hotline.Violation
	reviews    []hotline.Review
	complaints []hotline.Complaint
}

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// reportSpanStart is where the seeded facts begin: 2026-01-30 00:00 in
// Shanghai; they spread over four days, across a month's end.
var reportSpanStart = time.Date(2026, 1, 30, 0, 0, 0, 0, shanghai)

const reportSpan = 4 * 24 * time.Hour

// seedReportWorld writes a random but reproducible world through the
// store's statements (and raw rows for tasks and promises), following each
// call through its life so that every trigger of agent_days runs.
func seedReportWorld(t *testing.T, f fixture) reportWorld {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 3))
	var w reportWorld
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		w.staff = append(w.staff, testAgent(id))
	}
	sup := testAgent("s1")
	sup.Role, sup.Endpoint = hotline.RoleSupervisor, "PJSIP/s1"
	w.staff = append(w.staff, sup)
	for _, a := range w.staff {
		require.NoError(t, f.db.UpsertAgent(f.ctx, a))
	}
	agents := []string{"a1", "a2", "a3", "a4"} // a5 is never rung: a row of zeros
	when := func() time.Time {
		return reportSpanStart.Add(time.Duration(rng.Int64N(int64(reportSpan/time.Millisecond))) * time.Millisecond).UTC()
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }

	for i := range 240 {
		arrived := when()
		c := testCall(fmt.Sprintf("c%03d", i), fmt.Sprintf("1390000%04d", rng.IntN(60)), arrived)
		complaint := rng.IntN(10) == 0
		if complaint {
			c.Line, c.DialedNumber = hotline.LineComplaint, "12340"
		}
		require.NoError(t, f.db.CreateCall(f.ctx, c))

		// Ring some agents (the supervisor on the complaint line), a later
		// round maybe ringing one again; at most one leg wins.
		rung := []string{}
		if complaint {
			rung = []string{"s1"}
		} else {
			for _, a := range agents {
				if rng.IntN(3) == 0 {
					rung = append(rung, a)
				}
			}
			if len(rung) > 0 && rng.IntN(5) == 0 {
				rung = append(rung, rung[0])
			}
		}
		winner := -1
		if len(rung) > 0 && rng.IntN(4) != 0 {
			winner = rng.IntN(len(rung))
		}
		var answeredAt time.Time
		for j, agent := range rung {
			leg := hotline.CallLeg{CallID: c.ID, AgentID: agent, ChannelID: fmt.Sprintf("%s-a%s-%d", c.ID, agent, j),
				Outcome: hotline.LegRinging, RungAt: arrived.Add(ms(2000 + 30000*j + rng.IntN(3000)))}
			id, err := f.db.AddLeg(f.ctx, leg)
			require.NoError(t, err)
			leg.ID = id
			switch {
			case j == winner:
				leg.AnsweredAt = leg.RungAt.Add(ms(500 + rng.IntN(20000)))
				answeredAt = leg.AnsweredAt
				leg.Outcome = hotline.LegAnswered
				require.NoError(t, f.db.UpdateLeg(f.ctx, leg))
			default:
				leg.Outcome = []hotline.LegOutcome{hotline.LegNoAnswer, hotline.LegBusy, hotline.LegCancelled,
					hotline.LegLost, hotline.LegFailed, hotline.LegRinging}[rng.IntN(6)]
				if leg.Outcome == hotline.LegLost {
					leg.AnsweredAt = leg.RungAt.Add(ms(rng.IntN(5000)))
				}
				if leg.Outcome != hotline.LegRinging {
					leg.EndedAt = leg.RungAt.Add(ms(rng.IntN(20000)))
				}
				require.NoError(t, f.db.UpdateLeg(f.ctx, leg))
			}
			w.legs = append(w.legs, leg)
		}

		switch {
		case winner >= 0:
			require.NoError(t, c.Answer(rung[winner], answeredAt))
			require.NoError(t, f.db.UpdateCall(f.ctx, c))
			if rng.IntN(8) != 0 { // some are still talking
				c.End(answeredAt.Add(ms(10000+rng.IntN(600000))), "")
				require.NoError(t, f.db.UpdateCall(f.ctx, c))
				leg := &w.legs[len(w.legs)-len(rung)+winner]
				leg.Outcome, leg.EndedAt = hotline.LegCompleted, c.EndedAt
				require.NoError(t, f.db.UpdateLeg(f.ctx, *leg))
				if rng.IntN(2) == 0 {
					r := hotline.Rating{CallID: c.ID, AgentID: c.FirstResponsibleAgent,
						Score: hotline.Satisfaction(rng.IntN(6)), RatedAt: c.EndedAt.Add(ms(5000))}
					require.NoError(t, f.db.SaveRating(f.ctx, r))
					if r.Score == 0 && rng.IntN(2) == 0 { // the survey retried: the score replaces the 0
						r.Score, r.RatedAt = hotline.Satisfaction(1+rng.IntN(5)), r.RatedAt.Add(time.Minute)
						require.NoError(t, f.db.SaveRating(f.ctx, r))
					}
					w.ratings = append(w.ratings, r)
				}
			}
		case rng.IntN(6) != 0: // missed; a few still ringing
			c.End(arrived.Add(ms(60000+rng.IntN(60000))), []hotline.MissedReason{hotline.MissedNoAnswer,
				hotline.MissedNoAgent, hotline.MissedAbandoned, hotline.MissedAfterHours}[rng.IntN(4)])
			require.NoError(t, f.db.UpdateCall(f.ctx, c))
		}
		w.calls = append(w.calls, c)
	}

	// Callback tasks: created pending, then moved to where they end up.
	taskStates := []hotline.CallbackState{hotline.CallbackPending, hotline.CallbackDialing, hotline.CallbackConnected,
		hotline.CallbackResolved, hotline.CallbackUnreachable, hotline.CallbackInvalid, hotline.CallbackClosed}
	for i := range 80 {
		task := seedTask{state: taskStates[rng.IntN(len(taskStates))], deadline: when()}
		if rng.IntN(6) != 0 {
			task.agent = agents[rng.IntN(len(agents))]
		}
		if task.state != hotline.CallbackPending && task.state != hotline.CallbackDialing {
			task.closedAt = task.deadline.Add(time.Duration(rng.IntN(7200)-3600) * time.Second)
		}
		var id int64
		require.NoError(t, f.db.writer.GetContext(f.ctx, &id, `
			INSERT INTO callback_tasks (number, state, agent_id, first_missed_ms, deadline_ms, created_ms)
			VALUES (?, 'pending', ?, ?, ?, ?) RETURNING id`,
			fmt.Sprintf("1380000%04d", i), nullString(task.agent), task.deadline.Add(-30*time.Minute).UnixMilli(),
			task.deadline.UnixMilli(), task.deadline.Add(-30*time.Minute).UnixMilli()))
		var lease any
		if task.state == hotline.CallbackDialing {
			lease = "lease"
		}
		require.NoError(t, f.exec(t, fmt.Sprintf(`UPDATE callback_tasks SET state = '%s', closed_ms = %d, lease_token = %s WHERE id = %d`,
			task.state, hotline.UnixMilli(task.closedAt), sqlText(lease), id)))
		w.tasks = append(w.tasks, task)
	}

	// Promises on answered calls: recorded open, some extended once, then
	// ended or left.
	promiseStates := []hotline.PromiseState{hotline.PromiseOpen, hotline.PromiseEscalated,
		hotline.PromiseFulfilled, hotline.PromiseClosed}
	for i, c := range w.calls {
		if c.FirstResponsibleAgent == "" || c.FirstResponsibleAgent == "s1" || i%4 != 0 {
			continue
		}
		p := seedPromise{agent: c.FirstResponsibleAgent, state: promiseStates[rng.IntN(len(promiseStates))], deadline: when()}
		var id int64
		require.NoError(t, f.db.writer.GetContext(f.ctx, &id, `
			INSERT INTO promises (call_id, number, agent_id, summary, state, deadline_ms, original_deadline_ms, created_ms)
			VALUES (?, ?, ?, 'reply', 'open', ?, ?, ?) RETURNING id`,
			c.ID, c.CallerNumber, p.agent, p.deadline.UnixMilli(), p.deadline.UnixMilli(), c.ArrivedAt.UnixMilli()))
		if rng.IntN(4) == 0 {
			moved := p.deadline.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
			require.NoError(t, f.exec(t,
				fmt.Sprintf(`INSERT INTO promise_extensions (promise_id, from_ms, to_ms, approved_by, reason, at_ms, from_state)
					VALUES (%d, %d, %d, 's1', 'needs the department', %d, 'open')`, id, p.deadline.UnixMilli(), moved.UnixMilli(), p.deadline.UnixMilli()),
				fmt.Sprintf(`UPDATE promises SET deadline_ms = %d WHERE id = %d`, moved.UnixMilli(), id)))
			p.deadline = moved
		}
		switch p.state {
		case hotline.PromiseFulfilled:
			p.fulfilledAt = p.deadline.Add(time.Duration(rng.IntN(7200)-5400) * time.Second)
		case hotline.PromiseClosed:
			p.closedAt = p.deadline.Add(time.Duration(rng.IntN(7200)-3600) * time.Second)
		}
		require.NoError(t, f.exec(t, fmt.Sprintf(`UPDATE promises SET state = '%s', fulfilled_ms = %d, closed_ms = %d WHERE id = %d`,
			p.state, hotline.UnixMilli(p.fulfilledAt), hotline.UnixMilli(p.closedAt), id)))
		w.promises = append(w.promises, p)
	}

	// Violations, some confirmed, some dismissed, some undecided; one
	// confirmed and then dismissed.
	for range 60 {
		v := hotline.Violation{Kind: hotline.ViolationRingNotAnswered, AgentID: agents[rng.IntN(len(agents))], At: when()}
		id, err := f.db.AddViolation(f.ctx, v)
		require.NoError(t, err)
		for range rng.IntN(3) {
			d := []hotline.Disposition{hotline.DispositionConfirmed, hotline.DispositionDismissed}[rng.IntN(2)]
			got, err := f.db.DisposeViolation(f.ctx, id, d, "s1", "checked the recording", v.At.Add(time.Hour))
			require.NoError(t, err)
			v.Disposition = got.Disposition
		}
		w.violations = append(w.violations, v)
	}

	// Reviews of answered calls, with and without flags; complaints.
	for _, c := range w.calls {
		if c.FirstResponsibleAgent == "" || rng.IntN(3) != 0 {
			continue
		}
		r := hotline.Review{CallID: c.ID, SupervisorID: "s1", Score: rng.IntN(101), CreatedAt: when()}
		for _, flag := range ReviewFlags {
			if rng.IntN(5) == 0 {
				r.Flags = append(r.Flags, flag)
			}
		}
		r, err := f.db.AddReview(f.ctx, r)
		require.NoError(t, err)
		w.reviews = append(w.reviews, r)
	}
	for range 25 {
		c, err := f.db.AddComplaint(f.ctx, hotline.Complaint{AgentID: agents[rng.IntN(len(agents))], Summary: "态度生硬",
			RecordedBy: "s1", RecordedAt: when()})
		require.NoError(t, err)
		w.complaints = append(w.complaints, c)
	}
	return w
}

// sqlText is v as an SQL literal: NULL or a quoted string.
func sqlText(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprintf("'%s'", v)
}

// want computes the report of [from, end) at now from the world, by the
// definitions of hotline.AgentReport.
func (w reportWorld) want(from, end, now time.Time, agentID string) []hotline.AgentReport {
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(end) }
	reports := map[string]*hotline.AgentReport{}
	get := func(id string) *hotline.AgentReport {
		if reports[id] == nil {
			reports[id] = &hotline.AgentReport{Agent: id}
		}
		return reports[id]
	}
	for _, c := range w.calls {
		if c.FirstResponsibleAgent == "" || !in(c.ArrivedAt) {
			continue
		}
		r := get(c.FirstResponsibleAgent)
		r.Answered++
		if !c.EndedAt.IsZero() {
			r.TalkedCalls++
			r.TalkTime += c.EndedAt.Sub(c.AnsweredAt)
		}
	}
	for _, l := range w.legs {
		if !in(l.RungAt) {
			continue
		}
		r := get(l.AgentID)
		r.Offered++
		switch l.Outcome {
		case hotline.LegNoAnswer, hotline.LegBusy:
			r.Missed++
		case hotline.LegAnswered, hotline.LegCompleted:
			r.AnsweredRings++
			r.RingTime += l.AnsweredAt.Sub(l.RungAt)
		}
	}
	for _, rt := range w.ratings {
		if rt.Score.Valid() && in(rt.RatedAt) {
			get(rt.AgentID).Ratings[rt.Score-1]++
		}
	}
	for _, task := range w.tasks {
		open := task.state == hotline.CallbackPending || task.state == hotline.CallbackDialing
		switch {
		case task.agent == "" || !in(task.deadline), task.state == hotline.CallbackInvalid,
			task.state == hotline.CallbackClosed && !task.closedAt.After(task.deadline),
			open && task.deadline.After(now):
			continue
		}
		r := get(task.agent)
		r.CallbacksDue++
		if (task.state == hotline.CallbackConnected || task.state == hotline.CallbackResolved) && !task.closedAt.After(task.deadline) {
			r.CallbacksOnTime++
		}
	}
	for _, p := range w.promises {
		unfinished := p.state.Unfinished()
		switch {
		case !in(p.deadline), p.state == hotline.PromiseClosed && !p.closedAt.After(p.deadline),
			unfinished && p.deadline.After(now):
			continue
		}
		r := get(p.agent)
		r.PromisesDue++
		if p.state == hotline.PromiseFulfilled && !p.fulfilledAt.After(p.deadline) {
			r.PromisesKept++
		}
	}
	for _, v := range w.violations {
		if v.Disposition == hotline.DispositionConfirmed && in(v.At) {
			get(v.AgentID).ViolationsConfirmed++
		}
	}
	for _, rv := range w.reviews {
		if in(rv.CreatedAt) {
			r := get(rv.AgentID)
			r.Reviews++
			r.ReviewScoreSum += rv.Score
			if len(rv.Flags) > 0 {
				r.ReviewFindings++
			}
		}
	}
	for _, c := range w.complaints {
		if in(c.RecordedAt) {
			get(c.AgentID).Complaints++
		}
	}
	var out []hotline.AgentReport
	for _, a := range w.staff {
		r := reports[a.ID]
		switch {
		case agentID != "" && a.ID != agentID:
			continue
		case r == nil && a.Role == hotline.RoleSupervisor && agentID == "":
			continue
		case r == nil:
			r = &hotline.AgentReport{Agent: a.ID}
		}
		r.Name = a.Name
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b hotline.AgentReport) int { return cmpString(a.Agent, b.Agent) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func period(t *testing.T, from, to string, loc *time.Location) hotline.ReportPeriod {
	t.Helper()
	p, err := hotline.NewReportPeriod(from, to, loc)
	require.NoError(t, err)
	return p
}

func (f fixture) setClock(at time.Time) {
	f.clock.mu.Lock()
	defer f.clock.mu.Unlock()
	f.clock.now = at
}

// The report's figures equal the ones computed in Go from the seeded world,
// by the definitions, for periods of whole days of the report's zone
// (agent_days) and of other zones (+05:30, +05:45: the edges come from the
// views), at a time after every deadline and at one in the middle.
func TestAgentReportsCountByTheDefinitions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := seedReportWorld(t, f)
	after := reportSpanStart.Add(30 * 24 * time.Hour)
	midway := reportSpanStart.Add(50 * time.Hour)
	tests := []struct {
		name   string
		period hotline.ReportPeriod
		now    time.Time
		agent  string
	}{
		{"the whole span", period(t, "2026-01-30", "2026-02-02", shanghai), after, ""},
		{"a month: January", mustPeriod(t, "2026-01", shanghai), after, ""},
		{"a quarter", mustPeriod(t, "2026-Q1", shanghai), after, ""},
		{"one day", period(t, "2026-01-31", "2026-01-31", shanghai), after, ""},
		{"days of a zone off the hour", period(t, "2026-01-30", "2026-02-01", mustZone("Asia/Kolkata")), after, ""},
		{"days of a zone a quarter off the hour", period(t, "2026-01-31", "2026-01-31", mustZone("Asia/Kathmandu")), after, ""},
		{"open tasks and promises not due yet", period(t, "2026-01-30", "2026-02-02", shanghai), midway, ""},
		{"one agent", period(t, "2026-01-30", "2026-02-02", shanghai), after, "a2"},
		{"a supervisor by id", period(t, "2026-01-30", "2026-02-02", shanghai), after, "s1"},
		{"an agent with nothing", period(t, "2026-01-30", "2026-02-02", shanghai), after, "a5"},
		{"a period with nothing", period(t, "2025-06-01", "2025-06-30", shanghai), after, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.AgentReports(f.ctx, ReportFilter{From: tt.period.From, End: tt.period.End, Now: tt.now, AgentID: tt.agent})
			require.NoError(t, err)
			want := w.want(tt.period.From, tt.period.End, tt.now, tt.agent)
			require.Equal(t, want, got)

			// The answered calls add up to the call log's of the period.
			if tt.agent == "" {
				total := hotline.AgentReport{}
				for _, r := range got {
					total.Add(r)
				}
				logged, err := f.db.ListCalls(f.ctx, CallFilter{Since: tt.period.From, Until: tt.period.End,
					Outcome: hotline.OutcomeAnswered, Limit: MaxListLimit})
				require.NoError(t, err)
				require.Equal(t, len(logged), total.Answered)
			}
		})
	}
	// The seeded world has something in every figure, or the comparison
	// above proves less than it seems.
	total := hotline.AgentReport{}
	for _, r := range w.want(reportSpanStart, reportSpanStart.Add(reportSpan), after, "") {
		total.Add(r)
	}
	for _, fig := range hotline.AgentReportFigures {
		v, ok := fig.Value(total)
		require.True(t, ok && v > 0, "figure %s is %v in the seeded world", fig.Key, v)
	}
	require.Contains(t, callIDs(w.calls), "c000")

	_, err := f.db.AgentReports(f.ctx, ReportFilter{From: reportSpanStart, End: reportSpanStart.Add(time.Hour), AgentID: "nobody"})
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	_, err = f.db.AgentReports(f.ctx, ReportFilter{From: reportSpanStart, End: reportSpanStart})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)

	// Without a time, the store's clock decides what is due.
	f.setClock(midway)
	got, err := f.db.AgentReports(f.ctx, ReportFilter{From: reportSpanStart, End: reportSpanStart.Add(reportSpan)})
	require.NoError(t, err)
	require.Equal(t, w.want(reportSpanStart, reportSpanStart.Add(reportSpan), midway, ""), got)
}

func mustPeriod(t *testing.T, s string, loc *time.Location) hotline.ReportPeriod {
	t.Helper()
	p, err := hotline.ParseReportPeriod(s, loc)
	require.NoError(t, err)
	return p
}

// agent_days holds what the views add up to by day of the report's zone,
// whatever the order of the writes that brought the rows where they are
// (the triggers subtract a row's old facts and add its new ones); a
// migration that finds rows already stored fills it the same way, and so
// does a change of zone.
func TestAgentDaysEqualTheFactsViews(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := seedReportWorld(t, f)
	want := viewDays(t, f, 8*time.Hour)
	require.Greater(t, len(want), 15)
	require.Equal(t, want, storedDays(t, f), "kept by the triggers, in days of Asia/Shanghai")
	require.Equal(t, daysByMonth(t, f), storedMonths(t, f), "agent_months kept by the triggers")

	// Another zone: days of Santiago (UTC-4, UTC-3 in its summer), counted
	// again; the report of its days (an hour off the buckets in January)
	// still counts by the definitions.
	santiago := mustZone("America/Santiago")
	rebuilt, err := f.db.SetReportZone(f.ctx, santiago)
	require.NoError(t, err)
	require.True(t, rebuilt)
	require.Equal(t, viewDays(t, f, -4*time.Hour), storedDays(t, f), "recounted in days of America/Santiago")
	require.Equal(t, daysByMonth(t, f), storedMonths(t, f), "agent_months recounted")
	p := period(t, "2026-01-30", "2026-02-01", santiago)
	after := reportSpanStart.Add(30 * 24 * time.Hour)
	got, err := f.db.AgentReports(f.ctx, ReportFilter{From: p.From, End: p.End, Now: after})
	require.NoError(t, err)
	require.Equal(t, w.want(p.From, p.End, after, ""), got)

	rebuilt, err = f.db.SetReportZone(f.ctx, santiago)
	require.NoError(t, err)
	require.False(t, rebuilt, "the same zone again changes nothing")
	rebuilt, err = f.db.SetReportZone(f.ctx, time.FixedZone("UTC-4", -4*3600))
	require.NoError(t, err)
	require.False(t, rebuilt, "the same standard offset keeps the days")

	// Down to 6 and up again (complaints go with their table): 00014 fills
	// agent_days from the rows, in days of Asia/Shanghai again.
	_, err = f.db.migrations.DownTo(f.ctx, 6)
	require.NoError(t, err)
	_, err = f.db.Migrate(f.ctx)
	require.NoError(t, err)
	again := viewDays(t, f, 8*time.Hour)
	require.Len(t, again, len(want))
	require.Equal(t, again, storedDays(t, f), "filled by the migration")
	require.Equal(t, daysByMonth(t, f), storedMonths(t, f), "agent_months filled by the migration")

	// A day deleted, and one moved to another staff member and month, leave
	// the months equal to the days.
	_, err = f.db.writer.ExecContext(f.ctx, `DELETE FROM agent_days WHERE day = (SELECT min(day) FROM agent_days)`)
	require.NoError(t, err)
	_, err = f.db.writer.ExecContext(f.ctx, `UPDATE agent_days SET agent_id = 'moved', day = day + 40 WHERE day = (SELECT max(day) FROM agent_days)`)
	require.NoError(t, err)
	require.Equal(t, daysByMonth(t, f), storedMonths(t, f), "after a delete and a move")
}

// daysByMonth sums the agent_days rows by month (yyyymm, computed here
// from the day numbers) and staff member; the rows with a non-zero sum.
func daysByMonth(t *testing.T, f fixture) [][]any {
	cols := factColumns()
	days := dayRows(t, f, fmt.Sprintf("SELECT day, agent_id, %s FROM agent_days ORDER BY agent_id, day", strings.Join(cols, ", ")))
	var out [][]any
	for _, d := range days {
		month := monthOf(d[0].(int64))
		last := len(out) - 1
		if last < 0 || out[last][0] != month || out[last][1] != d[1] {
			out = append(out, append([]any{month, d[1]}, make([]any, len(cols))...))
			last++
			for i := range cols {
				out[last][2+i] = int64(0)
			}
		}
		for i := range cols {
			out[last][2+i] = out[last][2+i].(int64) + d[2+i].(int64)
		}
	}
	kept := out[:0]
	for _, m := range out {
		if slices.ContainsFunc(m[2:], func(v any) bool { return v.(int64) != 0 }) {
			kept = append(kept, m)
		}
	}
	slices.SortFunc(kept, func(a, b []any) int {
		if c := cmp.Compare(a[0].(int64), b[0].(int64)); c != 0 {
			return c
		}
		return strings.Compare(a[1].(string), b[1].(string))
	})
	require.NotEmpty(t, kept)
	return kept
}

// storedMonths are the agent_months rows with a non-zero count.
func storedMonths(t *testing.T, f fixture) [][]any {
	cols := factColumns()
	return dayRows(t, f, fmt.Sprintf("SELECT month, agent_id, %s FROM agent_months WHERE %s ORDER BY month, agent_id",
		strings.Join(cols, ", "), nonZero(cols, "")))
}

// The edges of a period in whole months: the months it holds from the
// first day that starts one, and the days before and after them.
func TestReportMonths(t *testing.T) {
	t.Parallel()
	day := func(s string) int64 {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return d.Unix() / 86400
	}
	tests := []struct {
		day                 string
		month, onOrAfter    int64
		firstOfMonth, first string
	}{
		{"1970-01-01", 197001, 197001, "1970-01-01", "1970-01-01"},
		{"2026-01-01", 202601, 202601, "2026-01-01", "2026-01-01"},
		{"2026-01-31", 202601, 202602, "2026-01-01", "2026-02-01"},
		{"2026-02-28", 202602, 202603, "2026-02-01", "2026-03-01"},
		{"2028-02-29", 202802, 202803, "2028-02-01", "2028-03-01"},
		{"2026-12-15", 202612, 202701, "2026-12-01", "2027-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.day, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.month, monthOf(day(tt.day)))
			require.Equal(t, tt.onOrAfter, monthOnOrAfter(day(tt.day)))
			require.Equal(t, day(tt.firstOfMonth), firstDayOf(tt.month))
			require.Equal(t, day(tt.first), firstDayOf(tt.onOrAfter))
		})
	}
}

// viewDays sums the facts views by day (of a zone offset) and staff
// member, as agent_days should hold them; the rows with a non-zero sum.
func viewDays(t *testing.T, f fixture, offset time.Duration) [][]any {
	cols := factColumns()
	var arms []string
	for _, v := range factViews {
		var sel []string
		for _, c := range cols {
			if slices.Contains(v.columns, c) {
				sel = append(sel, c)
			} else {
				sel = append(sel, "0 AS "+c)
			}
		}
		arms = append(arms, fmt.Sprintf("SELECT (at_ms + %d) / %d AS day, agent_id, %s FROM %s",
			offset.Milliseconds(), dayMs, strings.Join(sel, ", "), v.view))
	}
	return dayRows(t, f, fmt.Sprintf("SELECT day, agent_id, %s FROM (%s) AS facts GROUP BY day, agent_id HAVING %s ORDER BY day, agent_id",
		sumsOf(), strings.Join(arms, " UNION ALL "), nonZero(cols, "sum")))
}

// storedDays are the agent_days rows with a non-zero count.
func storedDays(t *testing.T, f fixture) [][]any {
	cols := factColumns()
	return dayRows(t, f, fmt.Sprintf("SELECT day, agent_id, %s FROM agent_days WHERE %s ORDER BY day, agent_id",
		strings.Join(cols, ", "), nonZero(cols, "")))
}

// dayRows runs a query of days and sums; PostgreSQL's sum of a bigint is a
// numeric, which comes as its text, read back as a number.
func dayRows(t *testing.T, f fixture, query string) [][]any {
	r, err := f.db.reader.QueryxContext(f.ctx, query)
	require.NoError(t, err)
	defer r.Close()
	var out [][]any
	for r.Next() {
		row, err := r.SliceScan()
		require.NoError(t, err)
		for i, v := range row {
			if s, ok := v.(string); ok {
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					row[i] = n
				}
			}
		}
		out = append(out, row)
	}
	require.NoError(t, r.Err())
	return out
}

// nonZero is the SQL condition that one of cols (wrapped in fn) is not 0.
func nonZero(cols []string, fn string) string {
	var terms []string
	for _, c := range cols {
		terms = append(terms, fn+"("+c+") <> 0")
	}
	return strings.Join(terms, " OR ")
}

func TestComplaints(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "13900000001", t0)))

	first, err := f.db.AddComplaint(f.ctx, hotline.Complaint{AgentID: "a1", CallID: "c1", Summary: " 推诿 ", RecordedBy: "a2"})
	require.NoError(t, err)
	require.Equal(t, hotline.Complaint{ID: first.ID, AgentID: "a1", CallID: "c1", Summary: "推诿", RecordedBy: "a2", RecordedAt: t0}, first)
	f.clock.Advance(time.Minute)
	second, err := f.db.AddComplaint(f.ctx, hotline.Complaint{AgentID: "a2", AboutCallID: "c1", Summary: "拖延", RecordedBy: "a1"})
	require.NoError(t, err)

	tests := []struct {
		name     string
		in       hotline.Complaint
		wantKind hotline.ErrorKind
	}{
		{"no agent", hotline.Complaint{Summary: "x", RecordedBy: "a1"}, hotline.KindInvalid},
		{"no summary", hotline.Complaint{AgentID: "a1", Summary: "  ", RecordedBy: "a1"}, hotline.KindInvalid},
		{"no recorder", hotline.Complaint{AgentID: "a1", Summary: "x"}, hotline.KindInvalid},
		{"unknown agent", hotline.Complaint{AgentID: "zz", Summary: "x", RecordedBy: "a1"}, hotline.KindInvalid},
		{"unknown call", hotline.Complaint{AgentID: "a1", CallID: "nope", Summary: "x", RecordedBy: "a1"}, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.db.AddComplaint(f.ctx, tt.in)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
		})
	}

	all, err := f.db.ListComplaints(f.ctx, ComplaintFilter{})
	require.NoError(t, err)
	require.Equal(t, []hotline.Complaint{second, first}, all, "newest first")
	mine, err := f.db.ListComplaints(f.ctx, ComplaintFilter{AgentID: "a1"})
	require.NoError(t, err)
	require.Equal(t, []hotline.Complaint{first}, mine)
}
