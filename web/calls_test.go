package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// The call log's query parameters become the filter they say, and every
// bad value is a 400 that says what is expected.
func TestCallLogFilters(t *testing.T) {
	t.Parallel()
	b := setup(t) // the zone is time.Local there; days are checked in TestCallLogDays
	yes, no := true, false
	tests := []struct {
		query string
		want  web.CallFilter
	}{
		{"", web.CallFilter{Limit: 100}},
		{"outcome=abandoned&line=complaint&rated=true&reviewed=false", web.CallFilter{Outcome: "abandoned",
			Line: hotline.LineComplaint, Rated: &yes, Reviewed: &no, Limit: 100}},
		{"number=%2B86%20138-0013-8000&agent=1001", web.CallFilter{Number: "13800138000", Agent: "1001", Limit: 100}},
		{"since=2026-03-01T00:00:00Z&until=2026-03-02T00:00:00Z", web.CallFilter{Limit: 100,
			Since: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}},
		{"cursor=1772323200000.c7&limit=2", web.CallFilter{Limit: 2,
			After: hotline.CallCursor{ArrivedAt: time.UnixMilli(1772323200000).UTC(), ID: "c7"}}},
	}
	for _, tt := range tests {
		status, body, raw := b.get(t, "/api/v1/calls?"+tt.query)
		require.Equal(t, http.StatusOK, status, raw)
		got := <-b.filters
		got.Since, got.Until = got.Since.UTC(), got.Until.UTC()
		if tt.want.Since.IsZero() {
			got.Since = time.Time{}
		}
		if tt.want.Until.IsZero() {
			got.Until = time.Time{}
		}
		require.Equal(t, tt.want, got, tt.query)
		// The fake answers two calls: a full page of two has a next cursor.
		if tt.want.Limit == 2 {
			require.Equal(t, "1795768200000.c3", body["next_cursor"])
		} else {
			require.NotContains(t, body, "next_cursor")
		}
	}

	bad := []struct{ query, msg string }{
		{"outcome=lost", `outcome \"lost\" must be one of answered, missed, in_progress, no_answer`},
		{"line=fax", `line \"fax\" must be one of hotline, complaint`},
		{"rated=yes", `rated \"yes\" must be true or false`},
		{"reviewed=1", `reviewed \"1\" must be true or false`},
		{"number=abc", `number \"abc\" is not a phone number`},
		{"number=anonymous", "use uncallable=true"},
		{"cursor=xyz", "is not one the call log gave out"},
		{"since=2026-03-01T00:00:00Z&from=2026-03-01", "give since or from, not both"},
		{"to=2026-02-30", `to \"2026-02-30\" must be a date`},
		{"since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", "ends"},
		{"agnet=1001", `unknown query parameter \"agnet\"`},
		{"state=missed&state=completed", `is given 2 times`},
	}
	for _, tc := range bad {
		status, _, raw := b.get(t, "/api/v1/calls?"+tc.query)
		require.Equal(t, http.StatusBadRequest, status, tc.query)
		require.Contains(t, raw, tc.msg, tc.query)
	}
}

// from and to are days of the calendar's zone, to included.
func TestCallLogDays(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	filters := make(chan web.CallFilter, 1)
	s, err := web.New(web.Config{}, testDeps(web.Deps{Zone: shanghai, Calls: callReaderFunc{
		list: func(_ context.Context, f web.CallFilter) ([]hotline.Call, error) { filters <- f; return nil, nil },
	}}), nil)
	require.NoError(t, err)
	b := &bundle{srv: serveAs(t, s.Handler(), "sup")}
	status, _, raw := b.get(t, "/api/v1/calls?"+url.Values{"from": {"2026-03-01"}, "to": {"2026-03-31"}}.Encode())
	require.Equal(t, http.StatusOK, status, raw)
	f := <-filters
	require.Equal(t, "2026-03-01T00:00:00+08:00", f.Since.Format(time.RFC3339))
	require.Equal(t, "2026-04-01T00:00:00+08:00", f.Until.Format(time.RFC3339))
}
