package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// callbackDeskFuncs adapts functions to web.CallbackDesk.
type callbackDeskFuncs struct {
	list  func(context.Context, web.CallbackFilter) ([]hotline.CallbackTask, error)
	get   func(context.Context, int64) (hotline.CallbackTask, error)
	dial  func(context.Context, int64) error
	ack   func(ctx context.Context, id int64, by, note string) (hotline.CallbackTask, error)
	close func(ctx context.Context, id int64, by, reason string) (hotline.CallbackTask, error)
}

func (f callbackDeskFuncs) ListCallbacks(ctx context.Context, flt web.CallbackFilter) ([]hotline.CallbackTask, error) {
	return f.list(ctx, flt)
}
func (f callbackDeskFuncs) GetCallback(ctx context.Context, id int64) (hotline.CallbackTask, error) {
	return f.get(ctx, id)
}
func (f callbackDeskFuncs) DialNow(ctx context.Context, id int64) error { return f.dial(ctx, id) }
func (f callbackDeskFuncs) Acknowledge(ctx context.Context, id int64, note string) (hotline.CallbackTask, error) {
	return f.ack(ctx, id, actorID(ctx), note)
}
func (f callbackDeskFuncs) Close(ctx context.Context, id int64, reason string) (hotline.CallbackTask, error) {
	return f.close(ctx, id, actorID(ctx), reason)
}

// actorID is who acts in ctx, as the desks record it.
func actorID(ctx context.Context) string {
	a, _ := hotline.ActorFromContext(ctx)
	return a.ID
}

// violationDeskFuncs adapts functions to web.ViolationDesk.
type violationDeskFuncs struct {
	list    func(context.Context, web.ViolationFilter) ([]hotline.Violation, error)
	get     func(context.Context, int64) (hotline.Violation, error)
	dispose func(ctx context.Context, id int64, d hotline.Disposition, reason string) (hotline.Violation, error)
}

func (f violationDeskFuncs) ListViolations(ctx context.Context, flt web.ViolationFilter) ([]hotline.Violation, error) {
	return f.list(ctx, flt)
}
func (f violationDeskFuncs) GetViolation(ctx context.Context, id int64) (hotline.Violation, error) {
	if f.get == nil {
		return hotline.Violation{ID: id, AgentID: "1001"}, nil
	}
	return f.get(ctx, id)
}
func (f violationDeskFuncs) Dispose(ctx context.Context, id int64, d hotline.Disposition, reason string) (hotline.Violation, error) {
	return f.dispose(ctx, id, d, reason)
}

// errByNumID is what the desk fakes fail with, chosen by the task or
// violation id; list routes fail by the agent filter, through errByID.
var errByNumID = map[int64]error{
	12:  hotline.Errorf(hotline.KindConflict, "fake", "task 12 is being dialed"),
	13:  hotline.Errorf(hotline.KindForbidden, "fake", "an agent may not close a task that was never attempted"),
	404: hotline.Errorf(hotline.KindNotFound, "fake", "callback task 404 not found"),
	503: hotline.Errorf(hotline.KindUnavailable, "fake", "the database is busy"),
	500: errors.New("disk on fire"),
}

// deskCall is one state-changing call to a desk fake.
type deskCall struct {
	Op          string
	ID          int64
	By, Text    string
	Disposition hotline.Disposition
}

// The test clock: 2026-11-27 10:00 in Beijing, a Friday morning.
var (
	beijing = time.FixedZone("CST", 8*3600)
	deskNow = time.Date(2026, 11, 27, 10, 0, 0, 0, beijing)
)

// openTasks is what the callback list fake answers: two open tasks past
// their deadline (one exactly at it), one open before it, and one
// unreachable past it, which is not overdue because it is not open.
var openTasks = []hotline.CallbackTask{
	{ID: 7, Number: "13800138000", State: hotline.CallbackPending, AgentID: "1001", MissedCount: 2, Attempts: 1,
		FirstMissed: deskNow.Add(-40 * time.Minute), Deadline: deskNow.Add(-time.Minute), CreatedAt: deskNow.Add(-40 * time.Minute),
		LeaseToken: "secret-lease"},
	{ID: 8, Number: "13900139000", State: hotline.CallbackDialing, MissedCount: 1, Deadline: deskNow},
	{ID: 9, Number: "057188880000", State: hotline.CallbackPending, MissedCount: 1, Deadline: deskNow.Add(time.Minute)},
	{ID: 10, Number: "13700137000", State: hotline.CallbackUnreachable, MissedCount: 1, Attempts: 3, Deadline: deskNow.Add(-time.Hour)},
}

type deskBundle struct {
	srv      *httptest.Server
	now      atomic.Int64 // unix nanoseconds of the injected clock
	cbFilter chan web.CallbackFilter
	vFilter  chan web.ViolationFilter
	calls    chan deskCall
}

func (b *deskBundle) setNow(t time.Time) { b.now.Store(t.UnixNano()) }

// deskServer serves an API whose desks record what they were asked and
// succeed, unless the id is a key of errByNumID or the agent filter a key
// of errByID. Its clock reads deskNow until setNow moves it.
func deskServer(t *testing.T) *deskBundle {
	t.Helper()
	b := &deskBundle{cbFilter: make(chan web.CallbackFilter, 8), vFilter: make(chan web.ViolationFilter, 8), calls: make(chan deskCall, 8)}
	b.setNow(deskNow)
	task := func(id int64) (hotline.CallbackTask, error) {
		if err := errByNumID[id]; err != nil {
			return hotline.CallbackTask{}, err
		}
		for _, t := range openTasks {
			if t.ID == id {
				return t, nil
			}
		}
		return hotline.CallbackTask{ID: id, Number: "13800138000", State: hotline.CallbackUnreachable, Deadline: deskNow.Add(-time.Hour)}, nil
	}
	closed := func(op string, id int64, by, text string) (hotline.CallbackTask, error) {
		b.calls <- deskCall{Op: op, ID: id, By: by, Text: text}
		t, err := task(id)
		t.State, t.ClosedBy, t.CloseReason, t.ClosedAt = hotline.CallbackClosed, by, op+": "+text, deskNow
		return t, err
	}
	s, err := web.New(web.Config{}, testDeps(web.Deps{
		Callbacks: callbackDeskFuncs{
			list: func(_ context.Context, f web.CallbackFilter) ([]hotline.CallbackTask, error) {
				b.cbFilter <- f
				if err := errByID[f.AgentID]; err != nil {
					return nil, err
				}
				return openTasks, nil
			},
			get: func(_ context.Context, id int64) (hotline.CallbackTask, error) {
				t, err := task(id)
				if id == 7 {
					t.CallIDs = []string{"c1", "c2"}
					t.AttemptLog = []hotline.CallbackAttempt{{ID: 3, TaskID: 7, AgentID: "1001", StartedAt: deskNow.Add(-20 * time.Minute),
						EndedAt: deskNow.Add(-19 * time.Minute), Outcome: hotline.AttemptNoAnswer, Cause: 19}}
				}
				return t, err
			},
			dial: func(_ context.Context, id int64) error {
				b.calls <- deskCall{Op: "dial", ID: id}
				return errByNumID[id]
			},
			ack: func(_ context.Context, id int64, by, note string) (hotline.CallbackTask, error) {
				return closed("acknowledge", id, by, note)
			},
			close: func(_ context.Context, id int64, by, reason string) (hotline.CallbackTask, error) {
				return closed("close", id, by, reason)
			},
		},
		Violations: violationDeskFuncs{
			list: func(_ context.Context, f web.ViolationFilter) ([]hotline.Violation, error) {
				b.vFilter <- f
				if err := errByID[f.AgentID]; err != nil {
					return nil, err
				}
				if f.AgentID == "none" {
					return nil, nil
				}
				return []hotline.Violation{{ID: 5, Kind: hotline.ViolationCallbackOverdue, AgentID: "1001", TaskID: 7,
					At: deskNow.Add(-time.Minute), Detail: "回访超时 1 分钟"}}, nil
			},
			dispose: func(ctx context.Context, id int64, d hotline.Disposition, reason string) (hotline.Violation, error) {
				by := actorID(ctx)
				b.calls <- deskCall{Op: "dispose", ID: id, By: by, Text: reason, Disposition: d}
				if err := errByNumID[id]; err != nil {
					return hotline.Violation{}, err
				}
				return hotline.Violation{ID: id, Kind: hotline.ViolationRingDeclined, AgentID: "1002", CallID: "c9", At: deskNow.Add(-time.Hour),
					Disposition: d, DisposedBy: by, DisposedAt: deskNow, DisposeReason: reason}, nil
			},
		},
		Now: func() time.Time { return time.Unix(0, b.now.Load()).In(beijing) },
	}), nil)
	require.NoError(t, err)
	b.srv = serveAs(t, s.Handler(), "sup")
	t.Cleanup(b.srv.Close)
	return b
}

// getJSON fetches url and returns the status and the decoded JSON object.
func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"), "response %d %q is not JSON", resp.StatusCode, raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out
}

// overdueByID reads the "overdue" flag of each task of a list answer.
func overdueByID(t *testing.T, body map[string]any) map[float64]any {
	t.Helper()
	out := map[float64]any{}
	for _, item := range body["callbacks"].([]any) {
		task := item.(map[string]any)
		out[task["id"].(float64)] = task["overdue"]
	}
	return out
}

func TestCallbackList(t *testing.T) {
	t.Parallel()
	b := deskServer(t)

	status, body := getJSON(t, b.srv.URL+"/api/v1/callbacks")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, web.CallbackFilter{Limit: 100}, <-b.cbFilter)
	require.Equal(t, map[float64]any{7: true, 8: true, 9: false, 10: false}, overdueByID(t, body))
	require.Equal(t, map[string]any{"id": float64(7), "number": "138****8000", "state": "pending", "agent_id": "1001",
		"missed_count": float64(2), "attempts": float64(1), "first_missed_at": "2026-11-27T09:20:00+08:00",
		"deadline": "2026-11-27T09:59:00+08:00", "created_at": "2026-11-27T09:20:00+08:00", "overdue": true,
	}, body["callbacks"].([]any)[0], "the lease token stays inside")

	status, _ = getJSON(t, b.srv.URL+"/api/v1/callbacks?state=pending&agent=%201001%20&overdue=true&limit=5&offset=10")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, web.CallbackFilter{State: hotline.CallbackPending, AgentID: "1001", Overdue: true, Limit: 5, Offset: 10}, <-b.cbFilter)

	for _, q := range []string{"state=invalid_number&overdue=false&limit=1000&offset=0", "state=closed&limit=1",
		"state=open", "state=unfinished&overdue=true", "state=overdue"} {
		status, _ = getJSON(t, b.srv.URL+"/api/v1/callbacks?"+q)
		require.Equal(t, http.StatusOK, status, q)
		<-b.cbFilter
	}
}

func TestCallbackOverdueFollowsTheInjectedClock(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	_, body := getJSON(t, b.srv.URL+"/api/v1/callbacks")
	require.Equal(t, map[float64]any{7: true, 8: true, 9: false, 10: false}, overdueByID(t, body))

	b.setNow(deskNow.Add(-time.Minute - time.Millisecond)) // just before task 7's deadline
	_, body = getJSON(t, b.srv.URL+"/api/v1/callbacks")
	require.Equal(t, map[float64]any{7: false, 8: false, 9: false, 10: false}, overdueByID(t, body))
	_, body = getJSON(t, b.srv.URL+"/api/v1/callbacks/7")
	require.Equal(t, false, body["overdue"])

	b.setNow(deskNow.Add(time.Minute)) // at task 9's deadline
	_, body = getJSON(t, b.srv.URL+"/api/v1/callbacks")
	require.Equal(t, map[float64]any{7: true, 8: true, 9: true, 10: false}, overdueByID(t, body))
	_, body = getJSON(t, b.srv.URL+"/api/v1/callbacks/7")
	require.Equal(t, true, body["overdue"])
}

func TestCallbackOverdueDefaultsToTheWallClock(t *testing.T) {
	t.Parallel()
	tasks := []hotline.CallbackTask{
		{ID: 1, State: hotline.CallbackPending, Deadline: time.Now().Add(-time.Minute)},
		{ID: 2, State: hotline.CallbackPending, Deadline: time.Now().Add(time.Hour)},
	}
	s, err := web.New(web.Config{}, testDeps(web.Deps{Callbacks: callbackDeskFuncs{
		list: func(context.Context, web.CallbackFilter) ([]hotline.CallbackTask, error) { return tasks, nil },
	}}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	t.Cleanup(srv.Close)
	_, body := getJSON(t, srv.URL+"/api/v1/callbacks")
	require.Equal(t, map[float64]any{1: true, 2: false}, overdueByID(t, body))
}

func TestCallbackListRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	cases := []struct{ query, msg string }{
		{"state=lost", `state "lost" must be one of pending, dialing, connected, resolved, unreachable, invalid_number, closed, open, unfinished, overdue`},
		{"state=PENDING", `state "PENDING" must be one of`},
		{"state=", ""}, // an empty value is no filter: not an error, skipped below
		{"overdue=yes", `overdue "yes" must be true or false`},
		{"overdue=1", `overdue "1" must be true or false`},
		{"overdue=true&state=closed", `overdue=true selects open tasks, but state "closed" is not open (pending or dialing)`},
		{"overdue=true&state=unreachable", `state "unreachable" is not open`},
		{"limit=0", `limit "0" must be a number from 1 to 1000`},
		{"limit=1001", `limit "1001" must be a number from 1 to 1000`},
		{"limit=ten", `limit "ten" must be a number from 1 to 1000`},
		{"limit=-5", `limit "-5" must be a number from 1 to 1000`},
		{"offset=-1", `offset "-1" must be a whole number, 0 or more`},
		{"offset=1.5", `offset "1.5" must be a whole number, 0 or more`},
		{"agnet=1001", `unknown query parameter "agnet"; the parameters are state, agent, overdue, limit, offset`},
		{"state=pending&state=dialing", `query parameter "state" is given 2 times; give it once`},
	}
	for _, tc := range cases {
		status, body := getJSON(t, b.srv.URL+"/api/v1/callbacks?"+tc.query)
		if tc.msg == "" {
			require.Equal(t, http.StatusOK, status, tc.query)
			require.Equal(t, web.CallbackFilter{Limit: 100}, <-b.cbFilter)
			continue
		}
		requireError(t, status, body, http.StatusBadRequest, "invalid", tc.msg, tc.query)
	}
	require.Empty(t, b.cbFilter, "bad input must not reach the desk")
}

func TestCallbackDetail(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	status, body := getJSON(t, b.srv.URL+"/api/v1/callbacks/7")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"id": float64(7), "number": "138****8000", "state": "pending", "agent_id": "1001",
		"missed_count": float64(2), "attempts": float64(1), "first_missed_at": "2026-11-27T09:20:00+08:00",
		"deadline": "2026-11-27T09:59:00+08:00", "created_at": "2026-11-27T09:20:00+08:00", "overdue": true,
		"call_ids": []any{"c1", "c2"},
		"attempt_log": []any{map[string]any{"id": float64(3), "task_id": float64(7), "agent_id": "1001",
			"started_at": "2026-11-27T09:40:00+08:00", "ended_at": "2026-11-27T09:41:00+08:00",
			"outcome": "citizen_no_answer", "cause": float64(19)}},
	}, body)

	// A task never attempted still shows both lists, empty.
	status, body = getJSON(t, b.srv.URL+"/api/v1/callbacks/9")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{}, body["call_ids"])
	require.Equal(t, []any{}, body["attempt_log"])
	require.Equal(t, false, body["overdue"])

	for _, id := range []string{"abc", "0", "-3", "1.5", "7x", "%207", "99999999999999999999"} {
		status, body = getJSON(t, b.srv.URL+"/api/v1/callbacks/"+id)
		requireError(t, status, body, http.StatusBadRequest, "invalid", "callback task id", id)
		require.Contains(t, body["error"], "must be a positive whole number", id)
	}
}

func TestCallbackActions(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	url := b.srv.URL + "/api/v1/callbacks/"

	for _, body := range []string{"", "{}", " \n"} {
		status, out := post(t, url+"9/dial", "", body)
		require.Equal(t, http.StatusAccepted, status, body)
		require.Equal(t, map[string]any{"status": "due now"}, out)
		require.Equal(t, deskCall{Op: "dial", ID: 9}, <-b.calls)
	}

	status, out := post(t, url+"10/acknowledge", jsonType, `{"note": " 号码停机 "}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, deskCall{Op: "acknowledge", ID: 10, By: "s01", Text: "号码停机"}, <-b.calls)
	require.Equal(t, "closed", out["state"])
	require.Equal(t, "s01", out["closed_by"])
	require.Equal(t, false, out["overdue"])
	require.Contains(t, out, "attempt_log")

	// The note is optional, and may be 500 characters.
	for _, note := range []string{"", strings.Repeat("停", 500)} {
		status, out = post(t, url+"10/acknowledge", jsonType, `{"note": "`+note+`"}`)
		require.Equal(t, http.StatusOK, status, out)
		require.Equal(t, note, (<-b.calls).Text)
	}
	status, out = post(t, url+"10/acknowledge", "", `{}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, deskCall{Op: "acknowledge", ID: 10, By: "s01"}, <-b.calls)

	status, out = post(t, url+"7/close", jsonType, `{"reason": "市民已通过其他渠道办结"}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, deskCall{Op: "close", ID: 7, By: "s01", Text: "市民已通过其他渠道办结"}, <-b.calls)
	require.Equal(t, "closed", out["state"])
	require.Equal(t, "close: 市民已通过其他渠道办结", out["close_reason"])
	require.Equal(t, false, out["overdue"], "a closed task is not overdue")
	require.Equal(t, []any{}, out["call_ids"])

	reason := strings.Repeat("办", 500)
	status, out = post(t, url+"7/close", jsonType, `{"reason": "`+reason+`"}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, reason, (<-b.calls).Text)
}

func TestCallbackActionsRejectBadInput(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	url := b.srv.URL + "/api/v1/callbacks/"
	big := `{"note": "` + strings.Repeat("x", 64<<10) + `"}`
	cases := []struct {
		path, ctype, body string
		status            int
		msg               string
	}{
		{"x/dial", jsonType, ``, 400, `callback task id "x" must be a positive whole number`},
		{"0/dial", jsonType, ``, 400, `callback task id "0" must be a positive whole number`},
		{"9/dial", jsonType, `{"now": true}`, 400, `body: unknown field "now"`},
		{"9/dial", jsonType, `[]`, 400, "body: expected a JSON object, got array"},
		{"9/dial", jsonType, big, 413, "body: larger than the limit of 64 KiB"},

		{"x/acknowledge", jsonType, `{}`, 400, `callback task id "x" must be a positive whole number`},
		{"-1/acknowledge", jsonType, `{}`, 400, `callback task id "-1" must be a positive whole number`},
		{"10/acknowledge", jsonType, `{"note": "` + strings.Repeat("停", 501) + `"}`, 400, "note is 501 characters long; at most 500 are allowed"},
		{"10/acknowledge", jsonType, `{"reason": "号码停机"}`, 400, `body: unknown field "reason"`},
		{"10/acknowledge", jsonType, `{"by": 1}`, 400, `body: field "by" is no longer accepted: the actor is the logged-in user`},
		{"10/acknowledge", "text/plain", `by=s01`, 400, `body: malformed JSON at byte 1: invalid character 'b' looking for beginning of value (Content-Type is "text/plain"; send application/json)`},
		{"10/acknowledge", jsonType, big, 413, "body: larger than the limit of 64 KiB"},

		{"x/close", jsonType, `{"reason": "已办结"}`, 400, `callback task id "x" must be a positive whole number`},
		{"7/close", jsonType, `{}`, 400, "reason is required: say why the task is closed without a callback"},
		{"7/close", jsonType, `{"reason": " \t "}`, 400, "reason is required"},
		{"7/close", jsonType, `{"reason": "` + strings.Repeat("办", 501) + `"}`, 400, "reason is 501 characters long; at most 500 are allowed"},
		{"7/close", jsonType, `{"reason": "已办结", "note": "x"}`, 400, `body: unknown field "note"`},
		{"7/close", jsonType, `{"reason": "已办结"`, 400, "body: malformed JSON: it ends too early"},
		{"7/close", jsonType, `{"reason": "已办结"} {}`, 400, "body: unexpected data after the JSON object"},
		{"7/close", jsonType, big, 413, "body: larger than the limit of 64 KiB"},
	}
	for _, tc := range cases {
		status, body := post(t, url+tc.path, tc.ctype, tc.body)
		requireError(t, status, body, tc.status, "invalid", tc.msg, tc.path+" "+tc.body[:min(len(tc.body), 60)])
	}
	require.Empty(t, b.calls, "bad input must not reach the desk")
}

// routeCase is one request to a route of the desks, with a valid body.
type routeCase struct{ method, path, body string }

// deskRoutes are the routes of the desks that take an id, for task or violation id.
func deskRoutes(id string) []routeCase {
	return []routeCase{
		{http.MethodGet, "/api/v1/callbacks/" + id, ""},
		{http.MethodPost, "/api/v1/callbacks/" + id + "/dial", ""},
		{http.MethodPost, "/api/v1/callbacks/" + id + "/acknowledge", `{"note": "号码停机"}`},
		{http.MethodPost, "/api/v1/callbacks/" + id + "/close", `{"reason": "市民已通过其他渠道办结"}`},
		{http.MethodPost, "/api/v1/violations/" + id + "/disposition", `{"disposition": "dismissed", "reason": "系统误报"}`},
	}
}

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	if method == http.MethodGet {
		return getJSON(t, url)
	}
	return post(t, url, jsonType, body)
}

func TestDeskErrorsMapToStatus(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	cases := []struct {
		id     int64
		status int
		kind   string
		msg    string
		retry  bool
	}{
		{12, 409, "conflict", "task 12 is being dialed", false},
		{13, 403, "forbidden", "an agent may not close a task that was never attempted", false},
		{404, 404, "not_found", "callback task 404 not found", false},
		{503, 503, "unavailable", "the database is busy", true},
		{500, 500, "internal", "internal error", false}, // no internals leak
	}
	for _, tc := range cases {
		for _, rc := range deskRoutes(strconv.FormatInt(tc.id, 10)) {
			status, body := do(t, rc.method, b.srv.URL+rc.path, rc.body)
			requireError(t, status, body, tc.status, tc.kind, tc.msg, rc.method+" "+rc.path)
			require.Equal(t, tc.retry, body["retryable"], rc.path)
			require.NotContains(t, body["error"], "disk on fire")
			if rc.method == http.MethodPost {
				// The desk is reached only when the matter loaded (the
				// gate reads it first, with the same error otherwise).
				select {
				case c := <-b.calls:
					require.Equal(t, tc.id, c.ID, rc.path)
				default:
				}
			}
		}
	}

	listCases := []struct {
		agent  string
		status int
		kind   string
		msg    string
	}{
		{"missing", 404, "not_found", "missing not found"},
		{"busy", 409, "conflict", "agent 1001 is on a call"},
		{"bad", 400, "invalid", "department 不存在 has no agents"},
		{"down", 503, "unavailable", "Asterisk is not connected"},
		{"boom", 500, "internal", "internal error"},
	}
	for _, tc := range listCases {
		status, body := getJSON(t, b.srv.URL+"/api/v1/callbacks?agent="+tc.agent)
		requireError(t, status, body, tc.status, tc.kind, tc.msg, "callbacks "+tc.agent)
		require.Equal(t, tc.agent, (<-b.cbFilter).AgentID)
		status, body = getJSON(t, b.srv.URL+"/api/v1/violations?agent="+tc.agent)
		requireError(t, status, body, tc.status, tc.kind, tc.msg, "violations "+tc.agent)
		require.Equal(t, tc.agent, (<-b.vFilter).AgentID)
	}
}

func TestViolationList(t *testing.T) {
	t.Parallel()
	b := deskServer(t)

	status, body := getJSON(t, b.srv.URL+"/api/v1/violations")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, web.ViolationFilter{Limit: 100}, <-b.vFilter)
	require.Equal(t, []any{map[string]any{"id": float64(5), "kind": "callback_overdue", "agent_id": "1001", "task_id": float64(7),
		"at": "2026-11-27T09:59:00+08:00", "detail": "回访超时 1 分钟"}}, body["violations"])

	status, _ = getJSON(t, b.srv.URL+"/api/v1/violations?agent=1001&kind=ring_declined&undisposed=true&limit=20&offset=40")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, web.ViolationFilter{AgentID: "1001", Kind: hotline.ViolationRingDeclined, Undisposed: true, Limit: 20, Offset: 40}, <-b.vFilter)

	// None is an empty list, not null.
	status, body = getJSON(t, b.srv.URL+"/api/v1/violations?agent=none&undisposed=false")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{}, body["violations"])
	require.Equal(t, web.ViolationFilter{AgentID: "none", Limit: 100}, <-b.vFilter)
}

func TestViolationListRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	cases := []struct{ query, msg string }{
		{"kind=late", `kind "late" must be one of callback_overdue, promise_overdue, ring_declined, ring_not_answered, referral_loop`},
		{"undisposed=yes", `undisposed "yes" must be true or false`},
		{"undisposed=TRUE", `undisposed "TRUE" must be true or false`},
		{"limit=0", `limit "0" must be a number from 1 to 1000`},
		{"limit=1001", `limit "1001" must be a number from 1 to 1000`},
		{"offset=-1", `offset "-1" must be a whole number, 0 or more`},
		{"offset=x", `offset "x" must be a whole number, 0 or more`},
		{"state=pending", `unknown query parameter "state"; the parameters are agent, kind, undisposed, limit, offset`},
		{"kind=ring_declined&kind=referral_loop", `query parameter "kind" is given 2 times; give it once`},
	}
	for _, tc := range cases {
		status, body := getJSON(t, b.srv.URL+"/api/v1/violations?"+tc.query)
		requireError(t, status, body, http.StatusBadRequest, "invalid", tc.msg, tc.query)
	}
	require.Empty(t, b.vFilter, "bad input must not reach the desk")
}

func TestDisposition(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	url := b.srv.URL + "/api/v1/violations/5/disposition"

	status, out := post(t, url, jsonType, `{"disposition": "dismissed", "reason": " 坐席电话故障，已报修 "}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, deskCall{Op: "dispose", ID: 5, By: "s01", Text: "坐席电话故障，已报修", Disposition: hotline.DispositionDismissed}, <-b.calls)
	require.Equal(t, map[string]any{"id": float64(5), "kind": "ring_declined", "agent_id": "1002", "call_id": "c9",
		"at": "2026-11-27T09:00:00+08:00", "disposition": "dismissed", "disposed_by": "s01",
		"disposed_at": "2026-11-27T10:00:00+08:00", "dispose_reason": "坐席电话故障，已报修"}, out)

	// A confirmation may come without a reason.
	status, out = post(t, url, "", `{"disposition": "confirmed"}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, deskCall{Op: "dispose", ID: 5, By: "s01", Disposition: hotline.DispositionConfirmed}, <-b.calls)
	require.NotContains(t, out, "dispose_reason")

	status, out = post(t, url, jsonType, `{"disposition": "confirmed", "reason": "录音核实"}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "录音核实", (<-b.calls).Text)
}

func TestDispositionRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	url := b.srv.URL + "/api/v1/violations/"
	cases := []struct {
		id, body string
		status   int
		msg      string
	}{
		{"x", `{"disposition": "confirmed"}`, 400, `violation id "x" must be a positive whole number`},
		{"0", `{"disposition": "confirmed"}`, 400, `violation id "0" must be a positive whole number`},
		{"5", ``, 400, "disposition is required: confirmed or dismissed"},
		{"5", `{"reason": "x"}`, 400, "disposition is required"},
		{"5", `{"disposition": "open"}`, 400, `disposition "open" must be confirmed or dismissed`},
		{"5", `{"disposition": "Confirmed"}`, 400, `disposition "Confirmed" must be confirmed or dismissed`},
		{"5", `{"disposition": "dismissed"}`, 400, "reason is required: say why the violation is dismissed"},
		{"5", `{"disposition": "dismissed", "reason": "  "}`, 400, "reason is required"},
		{"5", `{"disposition": "confirmed", "reason": "` + strings.Repeat("核", 501) + `"}`, 400, "reason is 501 characters long; at most 500 are allowed"},
		{"5", `{"disposition": "confirmed", "note": "x"}`, 400, `body: unknown field "note"`},
		{"5", `{"disposition": true}`, 400, `body: field "disposition" must be a string, got bool`},
		{"5", `{"disposition": "confirmed", "reason": "` + strings.Repeat("x", 64<<10) + `"}`, 413, "body: larger than the limit of 64 KiB"},
	}
	for _, tc := range cases {
		status, body := post(t, url+tc.id+"/disposition", jsonType, tc.body)
		requireError(t, status, body, tc.status, "invalid", tc.msg, tc.id+" "+tc.body[:min(len(tc.body), 60)])
	}
	require.Empty(t, b.calls, "bad input must not reach the desk")
}

func TestMissingDesksAnswer503(t *testing.T) {
	t.Parallel()
	s, err := web.New(web.Config{}, testDeps(web.Deps{}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	t.Cleanup(srv.Close)
	cases := []struct{ method, path, body, msg string }{
		{http.MethodGet, "/api/v1/callbacks", "", "the callback queue is not available"},
		{http.MethodGet, "/api/v1/callbacks?state=lost", "", "the callback queue is not available"},
		{http.MethodGet, "/api/v1/callbacks/7", "", "the callback queue is not available"},
		{http.MethodGet, "/api/v1/callbacks/x", "", "the callback queue is not available"},
		{http.MethodPost, "/api/v1/callbacks/7/dial", "", "the callback queue is not available"},
		{http.MethodPost, "/api/v1/callbacks/7/acknowledge", `{}`, "the callback queue is not available"},
		{http.MethodPost, "/api/v1/callbacks/7/acknowledge", `{`, "the callback queue is not available"},
		{http.MethodPost, "/api/v1/callbacks/7/close", `{"reason": "已办结"}`, "the callback queue is not available"},
		{http.MethodGet, "/api/v1/violations", "", "the violations ledger is not available"},
		{http.MethodGet, "/api/v1/violations?kind=late", "", "the violations ledger is not available"},
		{http.MethodPost, "/api/v1/violations/5/disposition", `{"disposition": "confirmed"}`, "the violations ledger is not available"},
	}
	for _, tc := range cases {
		status, body := do(t, tc.method, srv.URL+tc.path, tc.body)
		requireError(t, status, body, http.StatusServiceUnavailable, "unavailable", tc.msg, tc.method+" "+tc.path)
		require.Contains(t, body["error"], "the server was started without it")
		require.Equal(t, false, body["retryable"], tc.path)
	}
}

func TestDeskRoutesRefuseCrossSiteRequests(t *testing.T) {
	t.Parallel()
	b := deskServer(t)
	for _, rc := range deskRoutes("7")[1:] {
		req, err := http.NewRequest(rc.method, b.srv.URL+rc.path, strings.NewReader(rc.body))
		require.NoError(t, err)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, rc.path)
	}
	require.Empty(t, b.calls, "a refused request must not reach the desk")
}

func TestConsoleShowsCallbacksAndViolations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, _, raw := b.get(t, "/")
	require.Equal(t, http.StatusOK, status)
	for _, s := range []string{"回访任务", "违规记录", `id="callbacks"`, `id="violations"`, `id="logout"`} {
		require.Contains(t, raw, s)
	}
	status, _, raw = b.get(t, "/console.js")
	require.Equal(t, http.StatusOK, status)
	for _, s := range []string{"/api/v1/callbacks?state=", "/dial", "/acknowledge", "/api/v1/violations?undisposed=true",
		"/disposition", "overdue", "立即回拨", "确认", "驳回", "prompt("} {
		require.Contains(t, raw, s)
	}
	status, _, raw = b.get(t, "/console.css")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, raw, ".overdue")
}
