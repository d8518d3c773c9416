package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hotline"
)

// maxExportRows bounds one export of the call log; a larger one is refused
// (narrow the days) rather than cut short without saying so.
const maxExportRows = 100_000

// exportCalls: GET /api/v1/calls/export?<the call log's filters> → every
// call the filters select as CSV (UTF-8 with a byte order mark, for Excel),
// citizens' numbers whole. A supervisor's deliberate read of personal data:
// one call.export audit row naming the filters.
func (s *Server) exportCalls(w http.ResponseWriter, r *http.Request) {
	const op = "web.exportCalls"
	q := r.URL.Query()
	for _, name := range []string{"cursor", "limit", "numbers"} {
		if q.Has(name) {
			writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "%s is not taken by the export: it has every call the filters select, numbers whole", name))
			return
		}
	}
	f, err := s.callFilter(op, q)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f.Limit = maxListLimit
	var calls []hotline.Call
	for {
		page, err := s.deps.Calls.ListCalls(r.Context(), f)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		calls = append(calls, page...)
		if len(calls) > maxExportRows {
			writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "more than %d calls: narrow the days (from, to)", maxExportRows))
			return
		}
		if len(page) < f.Limit {
			break
		}
		f.After = hotline.CursorAfter(page[len(page)-1])
	}
	filters := q.Encode()
	if filters == "" {
		filters = "(all calls)"
	}
	noteAudit(r, "calls", fmt.Sprintf("%d calls: %s", len(calls), filters))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="calls-`+s.deps.Now().In(s.deps.Zone).Format("20060102-150405")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(utf8BOM)); err != nil {
		return
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write([]string{"来电编号", "来电时间", "来电号码", "原始主叫", "拨打号码", "线路", "状态", "未接原因", "首问责任人", "等待（秒）", "通话（秒）", "满意度"})
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(s.deps.Zone).Format("2006-01-02 15:04:05")
	}
	for _, c := range calls {
		rating := ""
		if c.Rating != nil {
			rating = c.Rating.Score.String()
		}
		_ = cw.Write([]string{c.ID, stamp(c.ArrivedAt), csvText(c.CallerNumber), csvText(c.CallerRaw), csvText(c.DialedNumber),
			string(c.Line), string(c.State), string(c.MissedReason), csvText(c.FirstResponsibleAgent),
			strconv.FormatFloat(roundTenth(c.WaitSeconds()), 'f', 1, 64), strconv.FormatFloat(roundTenth(c.TalkSeconds()), 'f', 1, 64),
			strings.TrimSpace(rating)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.log.Warn("call log export not written whole", "err", err)
	}
}
