package hotline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestReportPeriods(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, shanghai) }
	tests := []struct {
		name           string
		period         string // for ParseReportPeriod; from~to for NewReportPeriod
		from, to, end  time.Time
		label, wantErr string
	}{
		{"a year", "2026", day(2026, 1, 1), day(2026, 12, 31), day(2027, 1, 1), "2026", ""},
		{"a quarter", "2026-Q1", day(2026, 1, 1), day(2026, 3, 31), day(2026, 4, 1), "2026-Q1", ""},
		{"the last quarter", "2026-q4", day(2026, 10, 1), day(2026, 12, 31), day(2027, 1, 1), "2026-Q4", ""},
		{"a month", "2026-02", day(2026, 2, 1), day(2026, 2, 28), day(2026, 3, 1), "2026-02", ""},
		{"a leap February", "2028-02", day(2028, 2, 1), day(2028, 2, 29), day(2028, 3, 1), "2028-02", ""},
		{"a range, to included", "2026-01-01~2026-01-15", day(2026, 1, 1), day(2026, 1, 15), day(2026, 1, 16), "2026-01-01~2026-01-15", ""},
		{"one day", "2026-03-05~2026-03-05", day(2026, 3, 5), day(2026, 3, 5), day(2026, 3, 6), "2026-03-05", ""},
		{"quarter 5", "2026-Q5", time.Time{}, time.Time{}, time.Time{}, "", "must be a year"},
		{"month 13", "2026-13", time.Time{}, time.Time{}, time.Time{}, "", "must be a year"},
		{"two-digit year", "26", time.Time{}, time.Time{}, time.Time{}, "", "must be a year"},
		{"a word", "this-year", time.Time{}, time.Time{}, time.Time{}, "", "must be a year"},
		{"backwards", "2026-02-01~2026-01-01", time.Time{}, time.Time{}, time.Time{}, "", "ends before it starts"},
		{"not a date", "2026-02-30~2026-03-01", time.Time{}, time.Time{}, time.Time{}, "", "must be a date"},
		{"too long", "2000-01-01~2020-01-01", time.Time{}, time.Time{}, time.Time{}, "", "at most 3660"},
		{"before 2000", "1999", time.Time{}, time.Time{}, time.Time{}, "", "within the years 2000 to 2999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p hotline.ReportPeriod
			var err error
			if from, to, ok := cutRange(tt.period); ok {
				p, err = hotline.NewReportPeriod(from, to, shanghai)
			} else {
				p, err = hotline.ParseReportPeriod(tt.period, shanghai)
			}
			if tt.wantErr != "" {
				require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, hotline.ReportPeriod{From: tt.from, To: tt.to, End: tt.end, Label: tt.label}, p)
			require.True(t, p.Contains(tt.from))
			require.True(t, p.Contains(tt.end.Add(-time.Millisecond)))
			require.False(t, p.Contains(tt.end))
			require.False(t, p.Contains(tt.from.Add(-time.Millisecond)))
		})
	}
}

func cutRange(s string) (string, string, bool) {
	for i, r := range s {
		if r == '~' {
			return s[:i], s[i+len("~"):], true
		}
	}
	return "", "", false
}

func TestCallOutcomes(t *testing.T) {
	t.Parallel()
	calls := map[string]hotline.Call{
		"ringing":   {State: hotline.CallRinging},
		"talking":   {State: hotline.CallAnswered},
		"completed": {State: hotline.CallCompleted},
		"abandoned": {State: hotline.CallMissed, MissedReason: hotline.MissedAbandoned},
		"no_agent":  {State: hotline.CallMissed, MissedReason: hotline.MissedNoAgent},
		"down":      {State: hotline.CallMissed, MissedReason: hotline.MissedServiceDown},
		"cut":       {State: hotline.CallMissed, MissedReason: hotline.MissedInterrupted},
	}
	tests := []struct {
		outcome hotline.CallOutcome
		want    []string // the calls it matches
	}{
		{"", []string{"abandoned", "completed", "cut", "down", "no_agent", "ringing", "talking"}},
		{hotline.OutcomeAnswered, []string{"completed", "talking"}},
		{hotline.OutcomeMissed, []string{"abandoned", "cut", "down", "no_agent"}},
		{hotline.OutcomeInProgress, []string{"ringing", "talking"}},
		{hotline.CallOutcome(hotline.MissedAbandoned), []string{"abandoned"}},
		{hotline.CallOutcome(hotline.MissedFailed), nil},
		{hotline.CallOutcome(hotline.MissedServiceDown), []string{"down"}},
		{hotline.CallOutcome(hotline.MissedInterrupted), []string{"cut"}},
	}
	for _, tt := range tests {
		var got []string
		for _, name := range []string{"abandoned", "completed", "cut", "down", "no_agent", "ringing", "talking"} {
			if tt.outcome.Matches(calls[name]) {
				got = append(got, name)
			}
		}
		require.Equal(t, tt.want, got, "outcome %q", tt.outcome)
	}
	require.Len(t, hotline.CallOutcomes(), 10)
	for _, o := range hotline.CallOutcomes() {
		require.True(t, o.Valid())
	}
	require.False(t, hotline.CallOutcome("lost").Valid())
}

func TestCallCursorRoundTrips(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	c := hotline.CursorAfter(hotline.Call{ID: "c.1", ArrivedAt: at})
	require.Equal(t, "1767323045006.c.1", c.String())
	back, err := hotline.ParseCallCursor(c.String())
	require.NoError(t, err)
	require.Equal(t, c, back)
	zero, err := hotline.ParseCallCursor("")
	require.NoError(t, err)
	require.True(t, zero.IsZero())
	for _, bad := range []string{"abc", "12", "-5.c1", "12.", "x.c1"} {
		_, err := hotline.ParseCallCursor(bad)
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%q", bad)
	}
}

func TestAgentReportFigures(t *testing.T) {
	t.Parallel()
	r := hotline.AgentReport{Agent: "1001", Name: "张伟", Offered: 10, Answered: 6, Missed: 3,
		AnsweredRings: 7, RingTime: 7 * 4500 * time.Millisecond, TalkedCalls: 5, TalkTime: 5*time.Minute + 1500*time.Millisecond,
		CallbacksDue: 3, CallbacksOnTime: 2, Ratings: [5]int{2, 1, 0, 0, 1}, Complaints: 1, ViolationsConfirmed: 2,
		Reviews: 2, ReviewFindings: 1, ReviewScoreSum: 155}

	raw, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"agent":"1001","name":"张伟","offered":10,"answered":6,"missed":3,"avg_answer_seconds":4.5,
		"talk_seconds":302,"avg_talk_seconds":60.3,"callbacks_due":3,"callbacks_on_time":2,"callbacks_on_time_pct":66.7,
		"promises_due":0,"promises_kept":0,"promises_kept_pct":null,"rated":4,"very_satisfied":2,"satisfied":1,
		"fairly_satisfied":0,"dissatisfied":0,"very_dissatisfied":1,"avg_rating":2.25,"complaints":1,
		"violations_confirmed":2,"reviews":2,"review_findings":1,"avg_review_score":77.5}`, string(raw))
	require.Regexp(t, `^\{"agent":"1001","name":"张伟","offered":10,"answered":6,`, string(raw), "keys in the figures' order")

	keys, titles := map[string]bool{}, map[string]bool{}
	for _, f := range hotline.AgentReportFigures {
		require.False(t, keys[f.Key], "key %s twice", f.Key)
		require.False(t, titles[f.Title], "title %s twice", f.Title)
		keys[f.Key], titles[f.Title] = true, true
		require.NotEmpty(t, f.Definition, f.Key)
	}

	var total hotline.AgentReport
	total.Add(r)
	total.Add(r)
	require.Equal(t, 2*r.Offered, total.Offered)
	require.Equal(t, 2*r.TalkTime, total.TalkTime)
	require.Equal(t, [5]int{4, 2, 0, 0, 2}, total.Ratings)
	require.Equal(t, "", total.Agent)
	require.True(t, hotline.AgentReport{Agent: "1002", Name: "李娜"}.IsZero())
	require.False(t, total.IsZero())
}

func TestComplaintValidate(t *testing.T) {
	t.Parallel()
	ok := hotline.Complaint{AgentID: "1001", Summary: "态度生硬", RecordedBy: "2001", RecordedAt: time.Unix(1, 0)}
	require.NoError(t, ok.Validate())
	long := ok
	long.Summary = string(make([]rune, hotline.MaxComplaintSummary+1))
	for _, c := range []hotline.Complaint{
		{Summary: "x", RecordedBy: "2001", RecordedAt: ok.RecordedAt},
		{AgentID: "1001", Summary: " ", RecordedBy: "2001", RecordedAt: ok.RecordedAt},
		{AgentID: "1001", Summary: "x", RecordedAt: ok.RecordedAt},
		{AgentID: "1001", Summary: "x", RecordedBy: "2001"},
		long,
	} {
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(c.Validate()), "%+v", c)
	}
}
