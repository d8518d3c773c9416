package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"hotline/web"
)

// FuzzAPIRequest sends every route of the API a fuzzed path parameter,
// query string and JSON body as a supervisor (who may call every route
// but the admin's), with collaborators that accept anything. Whatever
// arrives, the answer is never a server error, and every refusal is the
// JSON error shape with a kind, so bad input gets a clear error.
func FuzzAPIRequest(f *testing.F) {
	var routes []string
	for route := range whoMay {
		if !strings.Contains(route, "/*") {
			routes = append(routes, route)
		}
	}
	slices.Sort(routes)
	srv, err := web.New(web.Config{FailureLimit: 1 << 30}, allDeps(&auditRecorder{}), nil)
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()

	seeds := []struct {
		route       uint8
		param, q, b string
	}{
		{0, "c1", "state=missed&limit=10", ""},
		{1, "1", "numbers=full", `{"to_agent":"1002"}`},
		{2, "c1", "since=2026-11-27T08:00:00Z&agent=1001", `{"score":90,"flags":["拖延"],"comment":"ok"}`},
		{3, "../etc/passwd", "limit=-1", `{"deadline":"2026-12-01T09:00:00+08:00","reason":"x"}`},
		{4, "%2e%2e", "limit=99999999999999999999", `{"call_id":"c1","summary":"s","due_in_working_days":2}`},
		{5, "1", "state=overdue&overdue=maybe", `{"hold":true}`},
		{6, "9223372036854775808", "offset=abc", `{"reason":"` + strings.Repeat("长", 3000) + `"}`},
		{7, "", "state=%ff", `{"disposition":"confirmed","reason":"r"}{}`},
		{8, "x", "by=2001", `{"by":"2001"}`},
		{9, "1", "", `[1,2,3]`},
		{10, "1", "agent=" + strings.Repeat("a", 5000), `{"note": 12}`},
		{11, "c1", "numbers=full&numbers=masked", `{"user":"2001","password":"x"}`},
		{12, "c1", "uncallable=true&state=missed", "\x00\xff"},
	}
	for _, s := range seeds {
		f.Add(s.route, s.param, s.q, s.b)
	}
	f.Fuzz(func(t *testing.T, route uint8, param, rawQuery, body string) {
		method, pattern, _ := strings.Cut(routes[int(route)%len(routes)], " ")
		path := strings.NewReplacer("{id}", url.PathEscape(param), "{name}", url.PathEscape(param)).Replace(pattern)
		req := httptest.NewRequest(method, "/", strings.NewReader(body))
		req.URL = &url.URL{Path: path, RawQuery: rawQuery}
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Authorization", "Bearer sup")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s with %q: %d %s", method, path, rawQuery, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			var e struct{ Error, Kind string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Kind == "" {
				t.Fatalf("%s %s?%s: %d without a JSON error: %s", method, path, rawQuery, rec.Code, rec.Body.String())
			}
		}
	})
}
