package web_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// reportDeskFunc adapts a function to web.ReportDesk.
type reportDeskFunc func(context.Context, hotline.ReportPeriod, string) ([]hotline.AgentReport, error)

func (f reportDeskFunc) AgentReports(ctx context.Context, p hotline.ReportPeriod, agent string) ([]hotline.AgentReport, error) {
	return f(ctx, p, agent)
}

// complaintDesk is a web.ComplaintDesk that keeps complaints in memory.
type complaintDesk struct{ added chan hotline.Complaint }

func (d complaintDesk) AddComplaint(_ context.Context, c hotline.Complaint) (hotline.Complaint, error) {
	c.ID = 7
	d.added <- c
	return c, nil
}

func (d complaintDesk) ListComplaints(_ context.Context, f web.ComplaintFilter) ([]hotline.Complaint, error) {
	if f.AgentID == "1001" {
		return []hotline.Complaint{{ID: 7, AgentID: "1001", Summary: "态度生硬", RecordedBy: "2001"}}, nil
	}
	return nil, nil
}

type reportBundle struct {
	srv        *httptest.Server
	periods    chan hotline.ReportPeriod
	agents     chan string
	complaints chan hotline.Complaint
}

var reportRows = []hotline.AgentReport{
	{Agent: "1001", Name: "张伟", Offered: 12, Answered: 8, Missed: 2, AnsweredRings: 8, RingTime: 40 * time.Second,
		TalkedCalls: 8, TalkTime: 16 * time.Minute, Ratings: [5]int{3, 1, 0, 0, 1}, CallbacksDue: 4, CallbacksOnTime: 3},
	{Agent: "1002", Name: "=李娜"},
}

func setupReports(t *testing.T) *reportBundle {
	t.Helper()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	b := &reportBundle{periods: make(chan hotline.ReportPeriod, 4), agents: make(chan string, 4),
		complaints: make(chan hotline.Complaint, 4)}
	s, err := web.New(web.Config{}, testDeps(web.Deps{
		Zone: shanghai,
		Now:  func() time.Time { return arrived },
		Reports: reportDeskFunc(func(_ context.Context, p hotline.ReportPeriod, agent string) ([]hotline.AgentReport, error) {
			b.periods <- p
			b.agents <- agent
			if agent == "nobody" {
				return nil, hotline.Errorf(hotline.KindNotFound, "desk", "staff member %q not found", agent)
			}
			return reportRows, nil
		}),
		Complaints: complaintDesk{added: b.complaints},
	}), nil)
	require.NoError(t, err)
	b.srv = serveAs(t, s.Handler(), "sup")
	return b
}

// get sends a GET as the test actor whose token is as.
func (b *reportBundle) get(t *testing.T, path string, as ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	require.NoError(t, err)
	if len(as) > 0 {
		req.Header.Set("X-Test-As", as[0])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(raw)
}

func TestAgentReportsAPI(t *testing.T) {
	t.Parallel()
	b := setupReports(t)
	resp, raw := b.get(t, "/api/v1/reports/agents?from=2026-01-01&to=2026-12-31")
	require.Equal(t, http.StatusOK, resp.StatusCode, raw)
	p := <-b.periods
	require.Equal(t, "2026-01-01T00:00:00+08:00", p.From.Format(time.RFC3339), "days of the calendar's zone")
	require.Equal(t, "2027-01-01T00:00:00+08:00", p.End.Format(time.RFC3339), "to is included")
	require.Equal(t, "", <-b.agents)
	require.Contains(t, raw, `"period":{"from":"2026-01-01","to":"2026-12-31","label":"2026-01-01~2026-12-31","zone":"Asia/Shanghai"}`)
	require.Contains(t, raw, `{"agent":"1001","name":"张伟","offered":12,"answered":8,"missed":2,"avg_answer_seconds":5.0,`)
	require.Contains(t, raw, `"callbacks_on_time_pct":75.0,`)
	require.Contains(t, raw, `"total":{"agent":"","name":"合计","offered":12,"answered":8,`)
	require.Contains(t, raw, `"figures":[{"key":"offered","title":"振铃次数","definition":"`)

	resp, _ = b.get(t, "/api/v1/reports/agents?period=2026-Q2&agent=1001")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p = <-b.periods
	require.Equal(t, "2026-04-01", p.From.Format("2006-01-02"))
	require.Equal(t, "2026-07-01", p.End.Format("2006-01-02"))
	require.Equal(t, "1001", <-b.agents)

	// CSV: the same rows, a BOM, Chinese headers, CRLF; a name that looks
	// like a formula is written as text.
	resp, raw = b.get(t, "/api/v1/reports/agents?period=2026&format=csv")
	require.Equal(t, http.StatusOK, resp.StatusCode, raw)
	<-b.periods
	<-b.agents
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, `attachment; filename="agents-2026.csv"`, resp.Header.Get("Content-Disposition"))
	require.True(t, strings.HasPrefix(raw, "\ufeff工号,姓名,振铃次数,首问接听,未接振铃,平均应答时长（秒）,"), raw)
	require.Contains(t, raw, "\r\n")
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 3)
	require.Len(t, records[0], 2+len(hotline.AgentReportFigures))
	require.Equal(t, []string{"1001", "张伟", "12", "8", "2", "5.0", "960", "120.0", "4", "3", "75.0", "0", "0", "", "5",
		"3", "1", "0", "0", "1", "2.00", "0", "0", "0", "0", ""}, records[1])
	require.Equal(t, "'=李娜", records[2][1])

	cases := []struct {
		path, status, msg string
	}{
		{"/api/v1/reports/agents", "400", "the report needs a period"},
		{"/api/v1/reports/agents?from=2026-01-01", "400", "the report needs a period"},
		{"/api/v1/reports/agents?period=2026&from=2026-01-01", "400", "not both"},
		{"/api/v1/reports/agents?from=2026-12-31&to=2026-01-01", "400", "ends before it starts"},
		{"/api/v1/reports/agents?from=2026/01/01&to=2026-12-31", "400", "must be a date"},
		{"/api/v1/reports/agents?period=2026-Q7", "400", "must be a year"},
		{"/api/v1/reports/agents?period=2026&format=xlsx", "400", "json or csv"},
		{"/api/v1/reports/agents?period=2026&year=2026", "400", `unknown query parameter \"year\"`},
		{"/api/v1/reports/agents?period=2026&agent=nobody", "404", "not found"},
	}
	for _, tc := range cases {
		resp, raw := b.get(t, tc.path)
		require.Equal(t, tc.status, resp.Status[:3], tc.path)
		require.Contains(t, raw, tc.msg, tc.path)
	}

	require.Equal(t, "nobody", <-b.agents, "the 404 came from the desk")
	<-b.periods

	// An agent gets its own row whatever it asks, and is refused another's.
	resp, _ = b.get(t, "/api/v1/reports/agents?period=2026", "a1002")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "1002", <-b.agents)
	<-b.periods
	resp, _ = b.get(t, "/api/v1/reports/agents?period=2026&agent=1001", "a1002")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestComplaintsAPI(t *testing.T) {
	t.Parallel()
	b := setupReports(t)
	status, body := post(t, b.srv.URL+"/api/v1/complaints", "application/json",
		`{"agent":"1001","call_id":"c9","about_call_id":"c1","summary":" 态度生硬 "}`)
	require.Equal(t, http.StatusCreated, status, body)
	require.Equal(t, hotline.Complaint{ID: 7, AgentID: "1001", CallID: "c9", AboutCallID: "c1", Summary: "态度生硬",
		RecordedBy: "s01", RecordedAt: arrived}, <-b.complaints, "recorded by the logged-in supervisor")
	require.Equal(t, float64(7), body["id"])

	for _, tc := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"summary":"x"}`, http.StatusBadRequest, "names the staff member"},
		{`{"agent":"1001"}`, http.StatusBadRequest, "needs a summary"},
		{`{"by":"s01","agent":"1001","summary":"x"}`, http.StatusBadRequest, `field "by" is no longer accepted`},
		{`{"agent":"1001","summary":"x","severity":3}`, http.StatusBadRequest, `unknown field "severity"`},
	} {
		status, body := post(t, b.srv.URL+"/api/v1/complaints", "application/json", tc.body)
		require.Equal(t, tc.status, status, tc.body)
		require.Contains(t, body["error"], tc.msg, tc.body)
	}

	resp, raw := b.get(t, "/api/v1/complaints?agent=1001")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, raw, `"summary":"态度生硬"`)
	resp, raw = b.get(t, "/api/v1/complaints", "a1001")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, raw, `"summary":"态度生硬"`, "an agent lists the complaints against it")
	resp, _ = b.get(t, "/api/v1/complaints?agent=1001", "a1002")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "and not another's")
	status, _ = post(t, b.srv.URL+"/api/v1/complaints", "application/json", `{"agent":"1002","summary":"x"}`)
	require.Equal(t, http.StatusCreated, status)
	<-b.complaints
	resp, raw = b.get(t, "/api/v1/complaints")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"complaints":[]}`, raw)
	resp, _ = b.get(t, "/api/v1/complaints?limit=5000")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
