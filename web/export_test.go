package web_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// The full export: every call the filters select, across pages, numbers
// whole, one audit row; supervisors only; no paging or masking parameters.
func TestCallLogExport(t *testing.T) {
	t.Parallel()
	audit := &auditRecorder{}
	var filters []web.CallFilter
	s, err := web.New(web.Config{}, testDeps(web.Deps{Auditor: audit,
		Calls: callReaderFunc{list: func(_ context.Context, f web.CallFilter) ([]hotline.Call, error) {
			filters = append(filters, f)
			if !f.After.IsZero() {
				return []hotline.Call{{ID: "c0", CallerNumber: "13900139000", State: hotline.CallMissed, ArrivedAt: arrived}}, nil
			}
			page := make([]hotline.Call, f.Limit)
			for i := range page {
				page[i] = hotline.Call{ID: "c" + strings.Repeat("1", 1+i%3), CallerNumber: "13800138000", State: hotline.CallCompleted,
					FirstResponsibleAgent: "1001", ArrivedAt: arrived.Add(-time.Duration(i) * time.Minute)}
			}
			return page, nil
		}},
	}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/calls/export?outcome=answered", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(raw), "\ufeff"))
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"来电编号", "来电时间", "来电号码"}, rows[0][:3])
	require.Len(t, rows, 1+1000+1, "the header, a full page and the next")
	require.Equal(t, "13800138000", rows[1][2], "numbers whole")
	require.Equal(t, "13900139000", rows[1001][2])
	require.Len(t, filters, 2)
	require.Equal(t, hotline.CallOutcome("answered"), filters[0].Outcome)
	require.Equal(t, []string{"s01 supervisor call.export calls ok"}, audit.all())

	for _, tc := range []struct {
		as, query string
		want      int
	}{
		{"a1001", "", http.StatusForbidden},
		{"sup", "?numbers=full", http.StatusBadRequest},
		{"sup", "?cursor=x", http.StatusBadRequest},
		{"sup", "?outcome=maybe", http.StatusBadRequest},
	} {
		status, _, _ := send(t, http.MethodGet, srv.URL+"/api/v1/calls/export"+tc.query, tc.as, "")
		require.Equal(t, tc.want, status, "%s %s", tc.as, tc.query)
	}
	require.Len(t, audit.all(), 2, "the refusal is audited; invalid requests are not")
}
