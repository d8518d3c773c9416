package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"hotline"
)

// The assessment report's page (7.1.4, 7.3) is rendered here, charts
// included (SVG drawn by the template), from the same rows and figure
// definitions as GET /api/v1/reports/agents: the page, the JSON and the
// CSV cannot disagree.

// reportRow is one row of the page's table.
type reportRow struct {
	Agent, Name string
	Cells       []string
	Total       bool
}

// bar is one bar of a chart, in the SVG's units.
type bar struct {
	Label, Value string
	Y            int
	Width        float64
	Segments     []segment // a stacked bar (the rating levels)
}

type segment struct {
	X, Width float64
	Fill     string
	Title    string
}

// chart is one small horizontal bar chart.
type chart struct {
	Title  string
	Height int
	Bars   []bar
	Legend []segment
}

type reportPageData struct {
	From, To, Label, Zone string
	Figures               []hotline.ReportFigure
	Rows                  []reportRow
	Charts                []chart
	CSV                   template.URL
	Error                 string
}

// chartWidth is the bars' full width in the SVG's units; labels take 90.
const chartWidth = 320.0

// ratingFills colour the five levels, 非常满意 to 非常不满意.
var ratingFills = [5]string{"#2e7d32", "#81c784", "#bdbdbd", "#ffb74d", "#c62828"}

// reportPage: GET /reports?from=2026-01-01&to=2026-12-31 (or ?period=2026,
// 2026-Q1, 2026-03; default this month so far) → the assessment report
// with its figures' definitions, small charts and the CSV download.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	const op = "web.reportPage"
	q := r.URL.Query()
	data := reportPageData{Zone: s.deps.Zone.String(), Figures: hotline.AgentReportFigures}
	if q.Get("period") == "" && q.Get("from") == "" && q.Get("to") == "" {
		now := s.deps.Now().In(s.deps.Zone)
		q.Set("from", time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, s.deps.Zone).Format(reportDate))
		q.Set("to", now.Format(reportDate))
	}
	err := checkQuery(op, q, "from", "to", "period", "agent")
	var p hotline.ReportPeriod
	if err == nil {
		p, err = reportPeriod(op, q, s.deps.Zone)
	}
	var agent string
	if err == nil {
		agent, err = s.ownFilter(r, hotline.ActReportRead, strings.TrimSpace(q.Get("agent")))
	}
	var rows []hotline.AgentReport
	if err == nil {
		rows, err = s.deps.Reports.AgentReports(r.Context(), p, agent)
	}
	if err != nil {
		if hotline.KindOf(err) != hotline.KindInvalid {
			s.pageError(w, r, err)
			return
		}
		data.Error = hotline.MessageOf(err)
		data.From, data.To = q.Get("from"), q.Get("to")
		s.renderPage(w, r, "reports", "考核报表", "", data)
		return
	}
	data.From, data.To, data.Label = p.From.Format(reportDate), p.To.Format(reportDate), p.Label
	csv := fmt.Sprintf("/api/v1/reports/agents?from=%s&to=%s&format=csv", data.From, data.To)
	if agent != "" {
		csv += "&agent=" + agent
	}
	data.CSV = template.URL(csv)
	total := hotline.AgentReport{Name: "合计"}
	for _, row := range rows {
		total.Add(row)
		data.Rows = append(data.Rows, reportRow{Agent: row.Agent, Name: row.Name, Cells: formatFigures(row)})
	}
	if len(rows) > 1 {
		data.Rows = append(data.Rows, reportRow{Name: "合计", Cells: formatFigures(total), Total: true})
	}
	data.Charts = reportCharts(rows)
	s.renderPage(w, r, "reports", "考核报表", "", data)
}

func formatFigures(row hotline.AgentReport) []string {
	cells := make([]string, len(hotline.AgentReportFigures))
	for i, f := range hotline.AgentReportFigures {
		cells[i] = f.Format(row)
		if cells[i] == "" {
			cells[i] = "—"
		}
	}
	return cells
}

// reportCharts draws the answered calls, the on-time callback rate and
// the rating levels of each staff member.
func reportCharts(rows []hotline.AgentReport) []chart {
	figure := func(key string) hotline.ReportFigure {
		for _, f := range hotline.AgentReportFigures {
			if f.Key == key {
				return f
			}
		}
		panic("no report figure " + key)
	}
	bars := func(title string, f hotline.ReportFigure, max float64) chart {
		c := chart{Title: title, Height: 22*len(rows) + 4}
		if max == 0 {
			for _, row := range rows {
				v, _ := f.Value(row)
				max = maxf(max, v)
			}
		}
		for i, row := range rows {
			v, ok := f.Value(row)
			b := bar{Label: row.Name, Value: "—", Y: 22 * i}
			if ok {
				b.Value = f.Format(row) + f.Unit
				if max > 0 {
					b.Width = chartWidth * v / max
				}
			}
			c.Bars = append(c.Bars, b)
		}
		return c
	}
	out := []chart{
		bars("首问接听（次）", figure("answered"), 0),
		bars("按时回拨率", figure("callbacks_on_time_pct"), 100),
	}
	ratings := chart{Title: "满意度评价分布", Height: 22*len(rows) + 4}
	for i, level := range []hotline.Satisfaction{hotline.VerySatisfied, hotline.Satisfied, hotline.FairlySatisfied,
		hotline.Dissatisfied, hotline.VeryDissatisfied} {
		ratings.Legend = append(ratings.Legend, segment{X: float64(i) * 64, Fill: ratingFills[i], Title: level.String()})
	}
	for i, row := range rows {
		b := bar{Label: row.Name, Y: 22 * i, Value: fmt.Sprintf("%d 条", row.Rated())}
		x := 0.0
		for level, n := range row.Ratings {
			if n == 0 || row.Rated() == 0 {
				continue
			}
			w := chartWidth * float64(n) / float64(row.Rated())
			b.Segments = append(b.Segments, segment{X: x, Width: w, Fill: ratingFills[level],
				Title: fmt.Sprintf("%s %d", hotline.Satisfaction(level+1).String(), n)})
			x += w
		}
		ratings.Bars = append(ratings.Bars, b)
	}
	return append(out, ratings)
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
