package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hotline"
)

// ReportDesk computes the assessment reports (7.1.4, 7.3).
type ReportDesk interface {
	// AgentReports returns one report per staff member for the period, or
	// only agentID's when it is set (NotFound for an unknown one).
	AgentReports(ctx context.Context, p hotline.ReportPeriod, agentID string) ([]hotline.AgentReport, error)
}

// reportJSON is the answer of GET /api/v1/reports/agents.
type reportJSON struct {
	Period  reportPeriodJSON       `json:"period"`
	Figures []hotline.ReportFigure `json:"figures"` // what each column means, in the rows' order
	Agents  []hotline.AgentReport  `json:"agents"`
	Total   hotline.AgentReport    `json:"total"` // every row added up; agent "", name 合计
}

type reportPeriodJSON struct {
	From  string `json:"from"` // first day, 2006-01-02
	To    string `json:"to"`   // last day, included
	Label string `json:"label"`
	Zone  string `json:"zone"` // the calendar's time zone the days are in
}

// reportDate is how days are written in the report's parameters and answer.
const reportDate = "2006-01-02"

// agentReports: GET /api/v1/reports/agents?from=2026-01-01&to=2026-12-31
// (or ?period=2026, 2026-Q1, 2026-03) [&agent=1001] [&format=csv] → the
// assessment report of every staff member (reportJSON), or the same rows as
// CSV in UTF-8 with a byte order mark, so that Excel reads the Chinese
// headers. An agent gets its own row only; a CSV download is audited.
func (s *Server) agentReports(w http.ResponseWriter, r *http.Request) {
	const op = "web.agentReports"
	q := r.URL.Query()
	if err := checkQuery(op, q, "from", "to", "period", "agent", "format"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p, err := reportPeriod(op, q, s.deps.Zone)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "format %q must be json or csv", format))
		return
	}
	agent, err := s.ownFilter(r, hotline.ActReportRead, strings.TrimSpace(q.Get("agent")))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	rows, err := s.deps.Reports.AgentReports(r.Context(), p, agent)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if rows == nil {
		rows = []hotline.AgentReport{}
	}
	if format == "csv" {
		s.auditf(r, hotline.ActReportRead, "report:"+p.Label, hotline.OutcomeOK, "CSV export")
		s.writeReportCSV(w, p, rows)
		return
	}
	total := hotline.AgentReport{Name: "合计"}
	for _, row := range rows {
		total.Add(row)
	}
	writeJSON(w, http.StatusOK, reportJSON{
		Period: reportPeriodJSON{From: p.From.Format(reportDate), To: p.To.Format(reportDate), Label: p.Label,
			Zone: s.deps.Zone.String()},
		Figures: hotline.AgentReportFigures, Agents: rows, Total: total,
	})
}

// reportPeriod reads ?period=, or ?from= and ?to= (both), in zone.
func reportPeriod(op string, q url.Values, zone *time.Location) (hotline.ReportPeriod, error) {
	period, from, to := q.Get("period"), q.Get("from"), q.Get("to")
	switch {
	case period != "" && (from != "" || to != ""):
		return hotline.ReportPeriod{}, hotline.Errorf(hotline.KindInvalid, op, "give period, or from and to, not both")
	case period != "":
		return hotline.ParseReportPeriod(period, zone)
	case from == "" || to == "":
		return hotline.ReportPeriod{}, hotline.Errorf(hotline.KindInvalid, op,
			"the report needs a period: from=2026-01-01&to=2026-12-31 (both days included), or period=2026, 2026-Q1 or 2026-03")
	}
	return hotline.NewReportPeriod(from, to, zone)
}

// reportCSVHeader is the CSV's first row: the staff member, then each
// figure's title with its unit.
func reportCSVHeader() []string {
	header := []string{"工号", "姓名"}
	for _, f := range hotline.AgentReportFigures {
		title := f.Title
		if f.Unit != "" {
			title += "（" + f.Unit + "）"
		}
		header = append(header, title)
	}
	return header
}

// csvText keeps a spreadsheet from reading text as a formula: a cell that
// starts with =, +, -, @ or a control character gets a leading apostrophe.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// utf8BOM starts the CSV so that Excel reads it as UTF-8.
const utf8BOM = "\ufeff"

func (s *Server) writeReportCSV(w http.ResponseWriter, p hotline.ReportPeriod, rows []hotline.AgentReport) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	// The label is ASCII digits, dashes and a tilde; the name stays safe
	// in the header without quoting tricks.
	name := "agents-" + strings.ReplaceAll(p.Label, "~", "_") + ".csv"
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(utf8BOM)); err != nil {
		return // the client went away
	}
	cw := csv.NewWriter(w)
	// Excel on Windows expects CRLF line ends.
	cw.UseCRLF = true
	_ = cw.Write(reportCSVHeader())
	for _, row := range rows {
		record := []string{csvText(row.Agent), csvText(row.Name)}
		for _, f := range hotline.AgentReportFigures {
			record = append(record, f.Format(row))
		}
		_ = cw.Write(record)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.log.Warn("report CSV not written whole", "err", err)
	}
}
