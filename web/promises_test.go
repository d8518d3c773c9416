package web_test

import (
	"context"
	"encoding/json"
	"errors"
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

// promiseCall is one state-changing call to the promise desk fake.
type promiseCall struct {
	Op       string
	ID       int64
	By, Text string
	Deadline time.Time
	Input    web.PromiseInput
}

// errByPromiseID is what the promise desk fake fails with, chosen by the
// promise id; create fails by the call id and list by the agent filter,
// through errByID.
var errByPromiseID = map[int64]error{
	12:  hotline.Errorf(hotline.KindConflict, "fake", "promise 12 is already fulfilled"),
	13:  hotline.Errorf(hotline.KindForbidden, "fake", "an extension needs a supervisor's approval"),
	404: hotline.Errorf(hotline.KindNotFound, "fake", "promise 404 not found"),
	503: hotline.Errorf(hotline.KindUnavailable, "fake", "the database is busy"),
	500: errors.New("disk on fire"),
}

// deskPromises is what the list fake answers: three unfinished promises
// at or past their deadline (one exactly at it), one unfinished before it,
// and two finished past it, which are not overdue; 26 was extended.
var deskPromises = []hotline.Promise{
	{ID: 21, CallID: "c1", Number: "13800138000", AgentID: "1001", CreatedBy: "1001", Summary: "咨询公积金提取进度",
		Department: "公积金中心", State: hotline.PromiseOpen, Deadline: deskNow.Add(-time.Minute),
		OriginalDeadline: deskNow.Add(-time.Minute), CreatedAt: deskNow.Add(-24 * time.Hour)},
	{ID: 22, CallID: "c2", Number: "13900139000", AgentID: "1002", CreatedBy: "1003", Summary: "噪音投诉处理结果",
		State: hotline.PromiseOpen, Deadline: deskNow, OriginalDeadline: deskNow, CreatedAt: deskNow.Add(-48 * time.Hour)},
	{ID: 23, CallID: "c3", Number: "057188880000", AgentID: "1001", CreatedBy: "1001", Summary: "医保异地备案",
		State: hotline.PromiseEscalated, Deadline: deskNow.Add(time.Minute), OriginalDeadline: deskNow.Add(time.Minute),
		CreatedAt: deskNow.Add(-time.Hour), EscalatedAt: deskNow.Add(-time.Minute)},
	{ID: 24, CallID: "c4", Number: "13700137000", AgentID: "1002", CreatedBy: "1002", Summary: "路灯报修",
		State: hotline.PromiseFulfilled, Deadline: deskNow.Add(-time.Hour), OriginalDeadline: deskNow.Add(-time.Hour),
		CreatedAt: deskNow.Add(-3 * time.Hour), FulfilledAt: deskNow.Add(-2 * time.Hour), FulfilledHow: "note", Evidence: "短信回执 0031"},
	{ID: 25, CallID: "c5", Number: "13600136000", AgentID: "1002", CreatedBy: "1002", Summary: "学位咨询",
		State: hotline.PromiseClosed, Deadline: deskNow.Add(-time.Hour), OriginalDeadline: deskNow.Add(-time.Hour),
		CreatedAt: deskNow.Add(-3 * time.Hour), ClosedAt: deskNow.Add(-2 * time.Hour)},
	{ID: 26, CallID: "c6", Number: "13500135000", AgentID: "1001", CreatedBy: "1001", Summary: "拆迁补偿标准",
		State: hotline.PromiseOpen, Deadline: deskNow.Add(48 * time.Hour), OriginalDeadline: deskNow.Add(-time.Hour),
		CreatedAt: deskNow.Add(-72 * time.Hour),
		Extensions: []hotline.PromiseExtension{{From: deskNow.Add(-time.Hour), To: deskNow.Add(48 * time.Hour),
			ApprovedBy: "s01", Reason: "需住建部门会商", At: deskNow.Add(-2 * time.Hour)}},
		RemindersSent: []time.Duration{time.Hour}},
}

// promiseDeskFake records what it is asked and succeeds, unless the id is
// a key of errByPromiseID, or the call id or agent filter a key of errByID.
type promiseDeskFake struct {
	filters chan web.PromiseFilter
	calls   chan promiseCall
}

func (f promiseDeskFake) promise(id int64) (hotline.Promise, error) {
	if err := errByPromiseID[id]; err != nil {
		return hotline.Promise{}, err
	}
	for _, p := range deskPromises {
		if p.ID == id {
			return p, nil
		}
	}
	return hotline.Promise{ID: id, CallID: "c9", Number: "13800138000", AgentID: "1001", State: hotline.PromiseOpen,
		Deadline: deskNow.Add(time.Hour), OriginalDeadline: deskNow.Add(time.Hour), CreatedAt: deskNow}, nil
}

func (f promiseDeskFake) CreatePromise(ctx context.Context, in web.PromiseInput) (hotline.Promise, error) {
	f.calls <- promiseCall{Op: "create", Input: in}
	if err := errByID[in.CallID]; err != nil {
		return hotline.Promise{}, err
	}
	deadline := in.Deadline
	if deadline.IsZero() {
		deadline = deskNow.Add(time.Duration(in.DueInWorkingDays*24+in.DueInWorkingHours) * time.Hour)
	}
	return hotline.Promise{ID: 30, CallID: in.CallID, Number: "13800138000", AgentID: "1001", CreatedBy: actorID(ctx),
		Summary: in.Summary, Department: in.Department, State: hotline.PromiseOpen, Deadline: deadline,
		OriginalDeadline: deadline, CreatedAt: deskNow}, nil
}

func (f promiseDeskFake) ListPromises(_ context.Context, flt web.PromiseFilter) ([]hotline.Promise, error) {
	f.filters <- flt
	if err := errByID[flt.AgentID]; err != nil {
		return nil, err
	}
	if flt.AgentID == "none" {
		return nil, nil
	}
	return deskPromises, nil
}

func (f promiseDeskFake) GetPromise(_ context.Context, id int64) (hotline.Promise, error) {
	return f.promise(id)
}

func (f promiseDeskFake) ExtendPromise(ctx context.Context, id int64, deadline time.Time, reason string) (hotline.Promise, error) {
	approvedBy := actorID(ctx)
	f.calls <- promiseCall{Op: "extend", ID: id, By: approvedBy, Text: reason, Deadline: deadline}
	p, err := f.promise(id)
	p.Extensions = append(p.Extensions, hotline.PromiseExtension{From: p.Deadline, To: deadline, ApprovedBy: approvedBy, Reason: reason, At: deskNow})
	p.Deadline = deadline
	return p, err
}

func (f promiseDeskFake) FulfilPromise(ctx context.Context, id int64, note string) (hotline.Promise, error) {
	by := actorID(ctx)
	f.calls <- promiseCall{Op: "fulfil", ID: id, By: by, Text: note}
	p, err := f.promise(id)
	p.State, p.FulfilledAt, p.FulfilledHow, p.Evidence = hotline.PromiseFulfilled, deskNow, "note", note
	return p, err
}

func (f promiseDeskFake) ReplyCall(ctx context.Context, id int64) error {
	by := actorID(ctx)
	f.calls <- promiseCall{Op: "reply-call", ID: id, By: by}
	return errByPromiseID[id]
}

func (f promiseDeskFake) ClosePromise(ctx context.Context, id int64, reason string) (hotline.Promise, error) {
	by := actorID(ctx)
	f.calls <- promiseCall{Op: "close", ID: id, By: by, Text: reason}
	p, err := f.promise(id)
	p.State, p.ClosedAt = hotline.PromiseClosed, deskNow
	return p, err
}

type promiseBundle struct {
	promiseDeskFake
	srv *httptest.Server
	now atomic.Int64 // unix nanoseconds of the injected clock
}

func (b *promiseBundle) setNow(t time.Time) { b.now.Store(t.UnixNano()) }

// promiseServer serves an API with the promise desk fake; its clock reads
// deskNow until setNow moves it.
func promiseServer(t *testing.T) *promiseBundle {
	t.Helper()
	b := &promiseBundle{promiseDeskFake: promiseDeskFake{filters: make(chan web.PromiseFilter, 8), calls: make(chan promiseCall, 8)}}
	b.setNow(deskNow)
	s, err := web.New(web.Config{}, testDeps(web.Deps{
		Promises: b.promiseDeskFake,
		Calls: callReaderFunc{get: func(_ context.Context, id string) (hotline.Call, error) {
			return hotline.Call{ID: id, FirstResponsibleAgent: "1001", State: hotline.CallCompleted}, nil
		}},
		Now: func() time.Time { return time.Unix(0, b.now.Load()).In(beijing) },
	}), nil)
	require.NoError(t, err)
	b.srv = serveAs(t, s.Handler(), "sup")
	t.Cleanup(b.srv.Close)
	return b
}

// asJSON is v as a JSON answer decodes it.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// promiseOverdueByID reads the "overdue" flag of each promise of a list answer.
func promiseOverdueByID(t *testing.T, body map[string]any) map[float64]any {
	t.Helper()
	out := map[float64]any{}
	for _, item := range body["promises"].([]any) {
		p := item.(map[string]any)
		out[p["id"].(float64)] = p["overdue"]
	}
	return out
}

func TestPromiseList(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)

	status, body := getJSON(t, b.srv.URL+"/api/v1/promises")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, web.PromiseFilter{Limit: 100}, <-b.filters)
	require.Equal(t, map[float64]any{21: true, 22: true, 23: false, 24: false, 25: false, 26: false}, promiseOverdueByID(t, body))
	require.Equal(t, map[string]any{"id": float64(21), "call_id": "c1", "number": "138****8000", "agent_id": "1001",
		"created_by": "1001", "summary": "咨询公积金提取进度", "department": "公积金中心", "state": "open",
		"deadline": "2026-11-27T09:59:00+08:00", "original_deadline": "2026-11-27T09:59:00+08:00",
		"created_at": "2026-11-26T10:00:00+08:00", "overdue": true,
	}, body["promises"].([]any)[0])
	extended := body["promises"].([]any)[5].(map[string]any)
	require.Equal(t, "2026-11-29T10:00:00+08:00", extended["deadline"])
	require.Equal(t, "2026-11-27T09:00:00+08:00", extended["original_deadline"])

	status, _ = getJSON(t, b.srv.URL+"/api/v1/promises?state=escalated&agent=%201001%20&number=%2013800138000&overdue=true&limit=5&offset=10")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, web.PromiseFilter{State: hotline.PromiseEscalated, AgentID: "1001", Number: "13800138000", Overdue: true, Limit: 5, Offset: 10}, <-b.filters)

	// The groups of the vocabulary pass to the desk as they are.
	for q, want := range map[string]hotline.PromiseState{"state=overdue": hotline.PromiseOverdue, "state=unfinished": hotline.PromiseUnfinished} {
		status, _ = getJSON(t, b.srv.URL+"/api/v1/promises?"+q)
		require.Equal(t, http.StatusOK, status, q)
		require.Equal(t, web.PromiseFilter{State: want, Limit: 100}, <-b.filters)
	}

	for _, q := range []string{"state=open&overdue=true", "state=overdue&overdue=true", "state=unfinished&overdue=true",
		"state=fulfilled&overdue=false&limit=1000&offset=0", "state=closed&limit=1", "state="} {
		status, _ = getJSON(t, b.srv.URL+"/api/v1/promises?"+q)
		require.Equal(t, http.StatusOK, status, q)
		<-b.filters
	}

	// None is an empty list, not null.
	status, body = getJSON(t, b.srv.URL+"/api/v1/promises?agent=none")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{}, body["promises"])
	<-b.filters
}

func TestPromiseOverdueFollowsTheInjectedClock(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)

	b.setNow(deskNow.Add(-time.Minute - time.Millisecond)) // just before promise 21's deadline
	_, body := getJSON(t, b.srv.URL+"/api/v1/promises")
	require.Equal(t, map[float64]any{21: false, 22: false, 23: false, 24: false, 25: false, 26: false}, promiseOverdueByID(t, body))
	_, body = getJSON(t, b.srv.URL+"/api/v1/promises/21")
	require.Equal(t, false, body["overdue"])

	b.setNow(deskNow.Add(time.Minute)) // at promise 23's deadline
	_, body = getJSON(t, b.srv.URL+"/api/v1/promises")
	require.Equal(t, map[float64]any{21: true, 22: true, 23: true, 24: false, 25: false, 26: false}, promiseOverdueByID(t, body))
	_, body = getJSON(t, b.srv.URL+"/api/v1/promises/23")
	require.Equal(t, true, body["overdue"])

	b.setNow(deskNow.Add(48 * time.Hour)) // at the extended deadline of 26, not its original
	_, body = getJSON(t, b.srv.URL+"/api/v1/promises/26")
	require.Equal(t, true, body["overdue"])
	b.setNow(deskNow.Add(48*time.Hour - time.Millisecond))
	_, body = getJSON(t, b.srv.URL+"/api/v1/promises/26")
	require.Equal(t, false, body["overdue"])
	require.Len(t, b.filters, 2)
}

func TestPromiseListRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	cases := []struct{ query, msg string }{
		{"state=pending", `state "pending" must be one of open, escalated, fulfilled, closed, unfinished, overdue`},
		{"state=OPEN", `state "OPEN" must be one of`},
		{"overdue=yes", `overdue "yes" must be true or false`},
		{"overdue=true&state=fulfilled", `overdue=true selects unfinished promises, but state "fulfilled" is finished`},
		{"overdue=true&state=closed", `state "closed" is finished`},
		{"limit=0", `limit "0" must be a number from 1 to 1000`},
		{"limit=1001", `limit "1001" must be a number from 1 to 1000`},
		{"limit=x", `limit "x" must be a number from 1 to 1000`},
		{"offset=-1", `offset "-1" must be a whole number, 0 or more`},
		{"agnet=1001", `unknown query parameter "agnet"; the parameters are state, agent, number, overdue, limit, offset`},
		{"number=1&number=2", `query parameter "number" is given 2 times; give it once`},
	}
	for _, tc := range cases {
		status, body := getJSON(t, b.srv.URL+"/api/v1/promises?"+tc.query)
		requireError(t, status, body, http.StatusBadRequest, "invalid", tc.msg, tc.query)
	}
	require.Empty(t, b.filters, "bad input must not reach the desk")
}

func TestPromiseDetail(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	status, body := getJSON(t, b.srv.URL+"/api/v1/promises/26")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"id": float64(26), "call_id": "c6", "number": "135****5000", "agent_id": "1001",
		"created_by": "1001", "summary": "拆迁补偿标准", "state": "open",
		"deadline": "2026-11-29T10:00:00+08:00", "original_deadline": "2026-11-27T09:00:00+08:00",
		"created_at": "2026-11-24T10:00:00+08:00", "overdue": false,
		"extensions": asJSON(t, deskPromises[5].Extensions), "reminders_sent": []any{float64(time.Hour)},
	}, body)
	ext := body["extensions"].([]any)[0].(map[string]any)
	for k, v := range map[string]any{"from": "2026-11-27T09:00:00+08:00", "to": "2026-11-29T10:00:00+08:00",
		"reason": "需住建部门会商", "at": "2026-11-27T08:00:00+08:00"} {
		require.Equal(t, v, ext[k], k)
	}

	// A promise never extended nor reminded still shows both lists, empty.
	status, body = getJSON(t, b.srv.URL+"/api/v1/promises/21")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{}, body["extensions"])
	require.Equal(t, []any{}, body["reminders_sent"])
	require.Equal(t, true, body["overdue"])

	for _, id := range []string{"abc", "0", "-3", "1.5", "7x", "99999999999999999999"} {
		status, body = getJSON(t, b.srv.URL+"/api/v1/promises/"+id)
		requireError(t, status, body, http.StatusBadRequest, "invalid", `promise id "`+id+`" must be a positive whole number`, id)
	}
}

func TestPromiseCreate(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	url := b.srv.URL + "/api/v1/promises"

	status, out := post(t, url, jsonType, `{"call_id": " c1 ", "summary": " 咨询公积金提取进度 ", "department": " 公积金中心 ",
		"due_in_working_days": 3}`)
	require.Equal(t, http.StatusCreated, status, out)
	require.Equal(t, promiseCall{Op: "create", Input: web.PromiseInput{CallID: "c1", Summary: "咨询公积金提取进度",
		Department: "公积金中心", DueInWorkingDays: 3}}, <-b.calls)
	require.Equal(t, map[string]any{"id": float64(30), "call_id": "c1", "number": "138****8000", "agent_id": "1001",
		"created_by": "s01", "summary": "咨询公积金提取进度", "department": "公积金中心", "state": "open",
		"deadline": "2026-11-30T10:00:00+08:00", "original_deadline": "2026-11-30T10:00:00+08:00",
		"created_at": "2026-11-27T10:00:00+08:00", "overdue": false, "extensions": []any{}, "reminders_sent": []any{},
	}, out)

	status, out = post(t, url, "", `{"call_id": "c1", "summary": "医保异地备案", "due_in_working_hours": 480}`)
	require.Equal(t, http.StatusCreated, status, out)
	require.Equal(t, web.PromiseInput{CallID: "c1", Summary: "医保异地备案", DueInWorkingHours: 480}, (<-b.calls).Input)

	for _, n := range []string{"1", "60"} {
		status, out = post(t, url, jsonType, `{"call_id": "c1", "summary": "x", "due_in_working_days": `+n+`}`)
		require.Equal(t, http.StatusCreated, status, out)
		require.Equal(t, n, strconv.Itoa((<-b.calls).Input.DueInWorkingDays))
	}
	status, out = post(t, url, jsonType, `{"call_id": "c1", "summary": "x", "due_in_working_hours": 1}`)
	require.Equal(t, http.StatusCreated, status, out)
	require.Equal(t, 1, (<-b.calls).Input.DueInWorkingHours)

	// An explicit deadline keeps its zone; null counts as absent; the
	// summary may be 2000 characters.
	summary := strings.Repeat("问", 2000)
	status, out = post(t, url, jsonType, `{"call_id": "c1", "summary": "`+summary+`", "deadline": "2026-11-30T09:00:00Z", "due_in_working_days": null}`)
	require.Equal(t, http.StatusCreated, status, out)
	in := (<-b.calls).Input
	require.Equal(t, summary, in.Summary)
	require.True(t, in.Deadline.Equal(time.Date(2026, 11, 30, 17, 0, 0, 0, beijing)), in.Deadline)
	require.Zero(t, in.DueInWorkingDays)
	require.Equal(t, "2026-11-30T09:00:00Z", out["deadline"])

	status, out = post(t, url, jsonType, `{"call_id": "c1", "summary": "x", "deadline": "2026-11-27T10:00:00.001+08:00"}`)
	require.Equal(t, http.StatusCreated, status, out)
	require.True(t, (<-b.calls).Input.Deadline.Equal(deskNow.Add(time.Millisecond)))
}

func TestPromiseCreateRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	const ok = `"call_id": "c1", "summary": "咨询"`
	cases := []struct {
		body   string
		status int
		msg    string
	}{
		{``, 400, "call_id is required: the call on which the reply was promised"},
		{`{"summary": "咨询", "due_in_working_days": 3}`, 400, "call_id is required"},
		{`{"call_id": " ", "summary": "咨询", "due_in_working_days": 3}`, 400, "call_id is required"},
		{`{"call_id": "` + strings.Repeat("c", 129) + `", "summary": "咨询", "due_in_working_days": 3}`, 400, "call_id is 129 characters long; at most 128 are allowed"},
		{`{"call_id": "c1", "due_in_working_days": 3}`, 400, "summary is required: what the citizen asked"},
		{`{"call_id": "c1", "summary": " \n ", "due_in_working_days": 3}`, 400, "summary is required"},
		{`{"call_id": "c1", "summary": "` + strings.Repeat("问", 2001) + `", "due_in_working_days": 3}`, 400, "summary is 2001 characters long; at most 2000 are allowed"},
		{`{"call_id": "c1", "summary": "咨询", "department": "` + strings.Repeat("部", 65) + `", "due_in_working_days": 3}`, 400, "department is 65 characters long; at most 64 are allowed"},
		{`{` + ok + `}`, 400, "a deadline is required: give deadline (an RFC 3339 time such as 2026-11-30T17:00:00+08:00), due_in_working_days (1 to 60) or due_in_working_hours (1 to 480)"},
		{`{` + ok + `, "deadline": " ", "due_in_working_days": null}`, 400, "a deadline is required"},
		{`{` + ok + `, "deadline": "2026-11-30T17:00:00+08:00", "due_in_working_days": 3}`, 400, "give one of deadline, due_in_working_days and due_in_working_hours, not deadline and due_in_working_days"},
		{`{` + ok + `, "due_in_working_days": 3, "due_in_working_hours": 4}`, 400, "not due_in_working_days and due_in_working_hours"},
		{`{` + ok + `, "deadline": "2026-11-30T17:00:00+08:00", "due_in_working_days": 0, "due_in_working_hours": 0}`, 400, "not deadline and due_in_working_days and due_in_working_hours"},
		{`{` + ok + `, "due_in_working_days": 0}`, 400, "due_in_working_days is 0; it must be from 1 to 60"},
		{`{` + ok + `, "due_in_working_days": 61}`, 400, "due_in_working_days is 61; it must be from 1 to 60"},
		{`{` + ok + `, "due_in_working_days": -1}`, 400, "due_in_working_days is -1; it must be from 1 to 60"},
		{`{` + ok + `, "due_in_working_hours": 0}`, 400, "due_in_working_hours is 0; it must be from 1 to 480"},
		{`{` + ok + `, "due_in_working_hours": 481}`, 400, "due_in_working_hours is 481; it must be from 1 to 480"},
		{`{` + ok + `, "due_in_working_days": 1.5}`, 400, `body: field "due_in_working_days" must be a whole number, got number 1.5`},
		{`{` + ok + `, "due_in_working_hours": "4"}`, 400, `body: field "due_in_working_hours" must be a whole number, got string`},
		{`{` + ok + `, "deadline": "2026-11-30 17:00:00"}`, 400, `deadline "2026-11-30 17:00:00" must be an RFC 3339 time with a zone, such as 2026-11-30T17:00:00+08:00`},
		{`{` + ok + `, "deadline": "2026-11-30T17:00:00"}`, 400, `deadline "2026-11-30T17:00:00" must be an RFC 3339 time with a zone`},
		{`{` + ok + `, "deadline": "2026-11-30"}`, 400, `deadline "2026-11-30" must be an RFC 3339 time with a zone`},
		{`{` + ok + `, "deadline": "3 days"}`, 400, `deadline "3 days" must be an RFC 3339 time with a zone`},
		{`{` + ok + `, "deadline": "2026-11-27T10:00:00+08:00"}`, 400, "deadline 2026-11-27T10:00:00+08:00 is not in the future (it is now 2026-11-27T10:00:00+08:00)"},
		{`{` + ok + `, "deadline": "2026-11-27T01:59:59Z"}`, 400, "deadline 2026-11-27T01:59:59Z is not in the future"},
		{`{` + ok + `, "deadline": 1764489600}`, 400, `body: field "deadline" must be a string, got number`},
		{`{` + ok + `, "due_in_days": 3}`, 400, `body: unknown field "due_in_days"`},
		{`{` + ok + `, "due_in_working_days": 3} {}`, 400, "body: unexpected data after the JSON object"},
		{`{"call_id": "c1", "summary": "` + strings.Repeat("x", 64<<10) + `", "due_in_working_days": 3}`, 413, "body: larger than the limit of 64 KiB"},
	}
	for _, tc := range cases {
		status, body := post(t, b.srv.URL+"/api/v1/promises", jsonType, tc.body)
		requireError(t, status, body, tc.status, "invalid", tc.msg, tc.body[:min(len(tc.body), 120)])
	}
	require.Empty(t, b.calls, "bad input must not reach the desk")
}

func TestPromiseActions(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	url := b.srv.URL + "/api/v1/promises/"

	status, out := post(t, url+"21/extend", jsonType, `{"deadline": " 2026-12-04T17:00:00+08:00 ", "reason": " 需住建部门会商 "}`)
	require.Equal(t, http.StatusOK, status, out)
	newDeadline := time.Date(2026, 12, 4, 17, 0, 0, 0, beijing)
	c := <-b.calls
	require.True(t, c.Deadline.Equal(newDeadline), c.Deadline)
	c.Deadline = time.Time{}
	require.Equal(t, promiseCall{Op: "extend", ID: 21, By: "s01", Text: "需住建部门会商"}, c)
	require.Equal(t, "2026-12-04T17:00:00+08:00", out["deadline"])
	require.Equal(t, "2026-11-27T09:59:00+08:00", out["original_deadline"], "the original deadline stays on record")
	require.Equal(t, false, out["overdue"])
	require.Len(t, out["extensions"], 1)

	status, out = post(t, url+"21/fulfil", jsonType, `{"note": " 已短信告知办理结果，短信回执 20261127-0031 "}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, promiseCall{Op: "fulfil", ID: 21, By: "s01", Text: "已短信告知办理结果，短信回执 20261127-0031"}, <-b.calls)
	require.Equal(t, "fulfilled", out["state"])
	require.Equal(t, "note", out["fulfilled_how"])
	require.Equal(t, false, out["overdue"], "a fulfilled promise is not overdue")
	require.Equal(t, []any{}, out["extensions"])

	note := strings.Repeat("答", 2000)
	status, out = post(t, url+"21/fulfil", "", `{"note": "`+note+`"}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, note, (<-b.calls).Text)

	status, out = post(t, url+"22/reply-call", jsonType, `{}`)
	require.Equal(t, http.StatusAccepted, status, out)
	require.Equal(t, map[string]any{"status": "dialing"}, out)
	require.Equal(t, promiseCall{Op: "reply-call", ID: 22, By: "s01"}, <-b.calls)

	status, out = post(t, url+"23/close", jsonType, `{"reason": " 市民撤回诉求 "}`)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, promiseCall{Op: "close", ID: 23, By: "s01", Text: "市民撤回诉求"}, <-b.calls)
	require.Equal(t, "closed", out["state"])
	require.Equal(t, false, out["overdue"])
}

func TestPromiseActionsRejectBadInput(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	url := b.srv.URL + "/api/v1/promises/"
	big := `{"note": "` + strings.Repeat("x", 64<<10) + `"}`
	const ext = `"reason": "需会商"`
	cases := []struct {
		path, body string
		status     int
		msg        string
	}{
		{"x/extend", `{"deadline": "2026-12-04T17:00:00+08:00", ` + ext + `}`, 400, `promise id "x" must be a positive whole number`},
		{"0/extend", `{"deadline": "2026-12-04T17:00:00+08:00", ` + ext + `}`, 400, `promise id "0" must be a positive whole number`},
		{"21/extend", ``, 400, "deadline is required: the new deadline, an RFC 3339 time"},
		{"21/extend", `{` + ext + `}`, 400, "deadline is required"},
		{"21/extend", `{"deadline": "2026-12-04", ` + ext + `}`, 400, `deadline "2026-12-04" must be an RFC 3339 time with a zone`},
		{"21/extend", `{"deadline": "2026-12-04T17:00:00", ` + ext + `}`, 400, `deadline "2026-12-04T17:00:00" must be an RFC 3339 time with a zone`},
		{"21/extend", `{"deadline": "2026-11-27T09:00:00+08:00", ` + ext + `}`, 400, "deadline 2026-11-27T09:00:00+08:00 is not in the future"},
		{"21/extend", `{"deadline": "2026-12-04T17:00:00+08:00"}`, 400, "reason is required: say why the deadline moves"},
		{"21/extend", `{"deadline": "2026-12-04T17:00:00+08:00", "reason": "` + strings.Repeat("会", 501) + `"}`, 400, "reason is 501 characters long; at most 500 are allowed"},
		{"21/extend", `{"deadline": "2026-12-04T17:00:00+08:00", ` + ext + `, "by": "1001"}`, 400, `body: field "by" is no longer accepted: the actor is the logged-in user`},
		{"21/extend", big, 413, "body: larger than the limit of 64 KiB"},

		{"x/fulfil", `{"note": "已答复"}`, 400, `promise id "x" must be a positive whole number`},
		{"21/fulfil", `{}`, 400, "note is required: how the citizen was answered, with the evidence"},
		{"21/fulfil", `{"note": "  "}`, 400, "note is required"},
		{"21/fulfil", `{"note": "` + strings.Repeat("答", 2001) + `"}`, 400, "note is 2001 characters long; at most 2000 are allowed"},
		{"21/fulfil", `{"note": "已答复", "evidence": "x"}`, 400, `body: unknown field "evidence"`},
		{"21/fulfil", `{"note": 5}`, 400, `body: field "note" must be a string, got number`},
		{"21/fulfil", big, 413, "body: larger than the limit of 64 KiB"},

		{"x/reply-call", `{}`, 400, `promise id "x" must be a positive whole number`},
		{"22/reply-call", `{"number": "138****8000"}`, 400, `body: unknown field "number"`},
		{"22/reply-call", `{"by": "1001"`, 400, "body: malformed JSON: it ends too early"},
		{"22/reply-call", big, 413, "body: larger than the limit of 64 KiB"},

		{"x/close", `{"reason": "撤回"}`, 400, `promise id "x" must be a positive whole number`},
		{"23/close", `{}`, 400, "reason is required: say why the promise is closed without a reply"},
		{"23/close", `{"reason": "` + strings.Repeat("撤", 501) + `"}`, 400, "reason is 501 characters long; at most 500 are allowed"},
		{"23/close", `{"reason": "撤回", "note": "x"}`, 400, `body: unknown field "note"`},
		{"23/close", big, 413, "body: larger than the limit of 64 KiB"},
	}
	for _, tc := range cases {
		status, body := post(t, url+tc.path, jsonType, tc.body)
		requireError(t, status, body, tc.status, "invalid", tc.msg, tc.path+" "+tc.body[:min(len(tc.body), 80)])
	}
	require.Empty(t, b.calls, "bad input must not reach the desk")
}

// promiseRoutes are the routes of the promise desk that take an id.
func promiseRoutes(id string) []routeCase {
	return []routeCase{
		{http.MethodGet, "/api/v1/promises/" + id, ""},
		{http.MethodPost, "/api/v1/promises/" + id + "/extend", `{"deadline": "2026-12-04T17:00:00+08:00", "reason": "需会商"}`},
		{http.MethodPost, "/api/v1/promises/" + id + "/fulfil", `{"note": "已短信答复"}`},
		{http.MethodPost, "/api/v1/promises/" + id + "/reply-call", `{}`},
		{http.MethodPost, "/api/v1/promises/" + id + "/close", `{"reason": "市民撤回诉求"}`},
	}
}

func TestPromiseDeskErrorsMapToStatus(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	cases := []struct {
		id     int64
		status int
		kind   string
		msg    string
		retry  bool
	}{
		{12, 409, "conflict", "promise 12 is already fulfilled", false},
		{13, 403, "forbidden", "an extension needs a supervisor's approval", false},
		{404, 404, "not_found", "promise 404 not found", false},
		{503, 503, "unavailable", "the database is busy", true},
		{500, 500, "internal", "internal error", false}, // no internals leak
	}
	for _, tc := range cases {
		for _, rc := range promiseRoutes(strconv.FormatInt(tc.id, 10)) {
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

	byID := []struct {
		id     string
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
	for _, tc := range byID {
		status, body := post(t, b.srv.URL+"/api/v1/promises", jsonType, `{"call_id": "`+tc.id+`", "summary": "咨询", "due_in_working_days": 3}`)
		requireError(t, status, body, tc.status, tc.kind, tc.msg, "create "+tc.id)
		require.Equal(t, tc.id, (<-b.calls).Input.CallID)
		status, body = getJSON(t, b.srv.URL+"/api/v1/promises?agent="+tc.id)
		requireError(t, status, body, tc.status, tc.kind, tc.msg, "list "+tc.id)
		require.Equal(t, tc.id, (<-b.filters).AgentID)
	}
}

func TestMissingPromiseDeskAnswers503(t *testing.T) {
	t.Parallel()
	s, err := web.New(web.Config{}, testDeps(web.Deps{}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	t.Cleanup(srv.Close)
	cases := []struct{ method, path, body, msg string }{
		{http.MethodGet, "/api/v1/promises", "", "the promise ledger is not available"},
		{http.MethodGet, "/api/v1/promises?state=lost", "", "the promise ledger is not available"},
		{http.MethodPost, "/api/v1/promises", `{"call_id": "c1", "summary": "咨询", "due_in_working_days": 3}`, "recording promises is not available"},
		{http.MethodPost, "/api/v1/promises", `{`, "recording promises is not available"},
		{http.MethodGet, "/api/v1/promises/21", "", "the promise ledger is not available"},
		{http.MethodGet, "/api/v1/promises/x", "", "the promise ledger is not available"},
		{http.MethodPost, "/api/v1/promises/21/extend", `{"deadline": "2026-12-04T17:00:00+08:00", "reason": "需会商"}`, "the promise ledger is not available"},
		{http.MethodPost, "/api/v1/promises/21/fulfil", `{"note": "已答复"}`, "the promise ledger is not available"},
		{http.MethodPost, "/api/v1/promises/21/reply-call", `{}`, "the promise ledger is not available"},
		{http.MethodPost, "/api/v1/promises/21/close", `{"reason": "撤回"}`, "the promise ledger is not available"},
	}
	for _, tc := range cases {
		status, body := do(t, tc.method, srv.URL+tc.path, tc.body)
		requireError(t, status, body, http.StatusServiceUnavailable, "unavailable", tc.msg, tc.method+" "+tc.path)
		require.Contains(t, body["error"], "the server was started without it")
		require.Equal(t, false, body["retryable"], tc.path)
	}
}

func TestPromiseRoutesRefuseCrossSiteRequests(t *testing.T) {
	t.Parallel()
	b := promiseServer(t)
	routes := append(promiseRoutes("21")[1:], routeCase{http.MethodPost, "/api/v1/promises", `{"call_id": "c1", "summary": "咨询", "due_in_working_days": 3}`})
	for _, rc := range routes {
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

func TestConsoleShowsPromises(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, _, raw := b.get(t, "/")
	require.Equal(t, http.StatusOK, status)
	for _, s := range []string{"承诺答复", `id="promises"`} {
		require.Contains(t, raw, s)
	}
	status, _, raw = b.get(t, "/console.js")
	require.Equal(t, http.StatusOK, status)
	for _, s := range []string{"/api/v1/promises?state=", "/reply-call", "/fulfil", "original_deadline", "答复来电", "办结"} {
		require.Contains(t, raw, s)
	}
}
