package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"hotline"
)

// Limits of a promise's fields, in characters, and of its relative
// deadlines, in working days and working hours.
const (
	maxPromiseText  = 2000 // a summary or a fulfilment note
	maxCallID       = 128
	maxDepartment   = 64
	maxWorkingDays  = 60
	maxWorkingHours = 480
)

// promiseJSON is a promise as the API shows it: the domain fields plus
// whether it is unfinished at or past its deadline at the time of the request.
type promiseJSON struct {
	hotline.Promise
	Overdue bool `json:"overdue"`
}

// promiseDetailJSON is one promise with its extensions and the reminder
// lead times already pushed, as arrays even when there are none.
type promiseDetailJSON struct {
	promiseJSON
	Extensions    []hotline.PromiseExtension `json:"extensions"`
	RemindersSent []time.Duration            `json:"reminders_sent"`
}

func (s *Server) newPromiseJSON(p hotline.Promise, view *numberView) promiseJSON {
	overdue := p.Overdue(s.deps.Now())
	p.Number = view.show(PromiseMatter(p), p.Number)
	return promiseJSON{Promise: p, Overdue: overdue}
}

func (s *Server) newPromiseDetailJSON(p hotline.Promise, view *numberView) promiseDetailJSON {
	out := promiseDetailJSON{promiseJSON: s.newPromiseJSON(p, view), Extensions: p.Extensions, RemindersSent: p.RemindersSent}
	if out.Extensions == nil {
		out.Extensions = []hotline.PromiseExtension{}
	}
	if out.RemindersSent == nil {
		out.RemindersSent = []time.Duration{}
	}
	return out
}

// listPromises: GET /api/v1/promises?state=open&agent=1001&number=13800138000&overdue=true&limit=50&offset=0
// → {"promises": [promise…]}, each promise with "overdue". state is a stored
// state (open, escalated, fulfilled, closed) or a group of the vocabulary:
// unfinished, overdue (unfinished past the deadline: state=overdue is
// overdue=true).
func (s *Server) listPromises(w http.ResponseWriter, r *http.Request) {
	const op = "web.listPromises"
	f, err := promiseFilter(op, r)
	full, ferr := wantFullNumbers(op, r)
	if err == nil {
		err = ferr
	}
	if err == nil {
		f.AgentID, err = s.ownFilter(r, hotline.ActPromiseList, f.AgentID)
	}
	var ps []hotline.Promise
	if err == nil {
		ps, err = s.deps.Promises.ListPromises(r.Context(), f)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	view := s.numbers(r, full)
	out := make([]promiseJSON, len(ps))
	for i, p := range ps {
		out[i] = s.newPromiseJSON(p, view)
	}
	view.audit()
	writeJSON(w, http.StatusOK, map[string]any{"promises": out})
}

func promiseFilter(op string, r *http.Request) (PromiseFilter, error) {
	q := r.URL.Query()
	if err := checkQuery(op, q, "state", "agent", "number", "overdue", "limit", "offset", "numbers"); err != nil {
		return PromiseFilter{}, err
	}
	f := PromiseFilter{State: hotline.PromiseState(q.Get("state")), AgentID: strings.TrimSpace(q.Get("agent")),
		Number: strings.TrimSpace(q.Get("number"))}
	if f.State != "" && !f.State.Valid() {
		return f, hotline.Errorf(hotline.KindInvalid, op, "state %q must be one of %s", f.State, join(hotline.PromiseStateNames()))
	}
	var err error
	if f.Overdue, err = queryFlag(op, q, "overdue"); err != nil {
		return f, err
	}
	if f.Overdue && f.State != "" && !slices.ContainsFunc(f.State.Selects(), hotline.PromiseState.Unfinished) {
		return f, hotline.Errorf(hotline.KindInvalid, op, "overdue=true selects unfinished promises, but state %q is finished", f.State)
	}
	if f.Limit, err = queryLimit(op, q); err != nil {
		return f, err
	}
	if f.Offset, err = queryOffset(op, q); err != nil {
		return f, err
	}
	return f, nil
}

// getPromise: GET /api/v1/promises/{id}[?numbers=full] → the promise with
// "extensions", "reminders_sent" and "overdue".
func (s *Server) getPromise(w http.ResponseWriter, r *http.Request) {
	const op = "web.getPromise"
	id, err := pathID(op, r, "promise")
	if err == nil {
		err = checkQuery(op, r.URL.Query(), "numbers")
	}
	full, ferr := wantFullNumbers(op, r)
	if err == nil {
		err = ferr
	}
	var p hotline.Promise
	if err == nil {
		p, err = s.deps.Promises.GetPromise(r.Context(), id)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	view := s.numbers(r, full)
	out := s.newPromiseDetailJSON(p, view)
	view.audit()
	writeJSON(w, http.StatusOK, out)
}

// answerPromise writes a promise changed by an action: its number masked.
func (s *Server) answerPromise(w http.ResponseWriter, r *http.Request, status int, p hotline.Promise, err error) {
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, status, s.newPromiseDetailJSON(p, s.numbers(r, false)))
}

type promiseRequest struct {
	CallID            string `json:"call_id"`
	Summary           string `json:"summary"`
	Department        string `json:"department"`
	Deadline          string `json:"deadline"`
	DueInWorkingDays  *int   `json:"due_in_working_days"`
	DueInWorkingHours *int   `json:"due_in_working_hours"`
}

// createPromise: POST /api/v1/promises {"call_id": "c1", "summary": "咨询公积金提取进度",
// "department": "公积金中心", "due_in_working_days": 3} → 201 and the
// promise. The deadline is one of "deadline" (RFC 3339),
// "due_in_working_days" or "due_in_working_hours". An agent records
// promises on its own calls (responsible or rung); a supervisor on any.
func (s *Server) createPromise(w http.ResponseWriter, r *http.Request) {
	const op = "web.createPromise"
	var req promiseRequest
	err := decodeJSON(w, r, &req)
	in := PromiseInput{CallID: strings.TrimSpace(req.CallID), Summary: strings.TrimSpace(req.Summary),
		Department: strings.TrimSpace(req.Department)}
	if err == nil {
		err = checkTextMax(op, "call_id", in.CallID, true, maxCallID, "the call on which the reply was promised")
	}
	if err == nil {
		err = checkTextMax(op, "summary", in.Summary, true, maxPromiseText, "what the citizen asked, to be answered later")
	}
	if err == nil {
		err = checkTextMax(op, "department", in.Department, false, maxDepartment, "")
	}
	if err == nil {
		err = s.promiseDue(op, req, &in)
	}
	var call hotline.Call
	if err == nil {
		call, err = s.deps.Calls.GetCall(r.Context(), in.CallID)
	}
	if err == nil {
		noteAudit(r, "call:"+in.CallID, in.Summary)
		err = s.authorize(r, hotline.ActPromiseCreate, CallMatter(call))
	}
	var p hotline.Promise
	if err == nil {
		p, err = s.deps.Promises.CreatePromise(r.Context(), in)
	}
	if err == nil {
		noteAudit(r, PromiseMatter(p).String(), in.Summary)
	}
	s.answerPromise(w, r, http.StatusCreated, p, err)
}

// promiseDue checks the one deadline form of req and sets it in in.
func (s *Server) promiseDue(op string, req promiseRequest, in *PromiseInput) error {
	var forms []string
	deadline := strings.TrimSpace(req.Deadline)
	if deadline != "" {
		forms = append(forms, "deadline")
	}
	if req.DueInWorkingDays != nil {
		forms = append(forms, "due_in_working_days")
	}
	if req.DueInWorkingHours != nil {
		forms = append(forms, "due_in_working_hours")
	}
	switch {
	case len(forms) == 0:
		return hotline.Errorf(hotline.KindInvalid, op, "a deadline is required: give deadline (an RFC 3339 time such as 2026-11-30T17:00:00+08:00), "+
			"due_in_working_days (1 to %d) or due_in_working_hours (1 to %d)", maxWorkingDays, maxWorkingHours)
	case len(forms) > 1:
		return hotline.Errorf(hotline.KindInvalid, op, "give one of deadline, due_in_working_days and due_in_working_hours, not %s", strings.Join(forms, " and "))
	case req.DueInWorkingDays != nil:
		if n := *req.DueInWorkingDays; n < 1 || n > maxWorkingDays {
			return hotline.Errorf(hotline.KindInvalid, op, "due_in_working_days is %d; it must be from 1 to %d", n, maxWorkingDays)
		}
		in.DueInWorkingDays = *req.DueInWorkingDays
	case req.DueInWorkingHours != nil:
		if n := *req.DueInWorkingHours; n < 1 || n > maxWorkingHours {
			return hotline.Errorf(hotline.KindInvalid, op, "due_in_working_hours is %d; it must be from 1 to %d", n, maxWorkingHours)
		}
		in.DueInWorkingHours = *req.DueInWorkingHours
	default:
		t, err := s.futureTime(op, "deadline", deadline)
		if err != nil {
			return err
		}
		in.Deadline = t
	}
	return nil
}

// futureTime parses field's value v as an RFC 3339 time with a zone, later
// than now by the server's clock.
func (s *Server) futureTime(op, field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, hotline.Errorf(hotline.KindInvalid, op, "%s %q must be an RFC 3339 time with a zone, such as 2026-11-30T17:00:00+08:00", field, v)
	}
	if now := s.deps.Now(); !t.After(now) {
		return time.Time{}, hotline.Errorf(hotline.KindInvalid, op, "%s %s is not in the future (it is now %s)", field, v, now.Format(time.RFC3339))
	}
	return t, nil
}

type extendRequest struct {
	Deadline string `json:"deadline"`
	Reason   string `json:"reason"`
}

// extendPromise: POST /api/v1/promises/{id}/extend {"deadline":
// "2026-12-04T17:00:00+08:00", "reason": "需住建部门会商"} → the promise with
// its new deadline, approved by the supervisor logged in; the original
// stays on record.
func (s *Server) extendPromise(w http.ResponseWriter, r *http.Request) {
	const op = "web.extendPromise"
	var req extendRequest
	id, err := pathID(op, r, "promise")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	deadline := strings.TrimSpace(req.Deadline)
	reason := strings.TrimSpace(req.Reason)
	var t time.Time
	if err == nil && deadline == "" {
		err = hotline.Errorf(hotline.KindInvalid, op, "deadline is required: the new deadline, an RFC 3339 time such as 2026-11-30T17:00:00+08:00")
	}
	if err == nil {
		t, err = s.futureTime(op, "deadline", deadline)
	}
	if err == nil {
		err = checkText(op, "reason", reason, true, "say why the deadline moves, e.g. 需住建部门会商")
	}
	var p hotline.Promise
	if err == nil {
		noteAudit(r, "", "to "+deadline+": "+reason)
		p, err = s.deps.Promises.ExtendPromise(r.Context(), id, t, reason)
	}
	s.answerPromise(w, r, http.StatusOK, p, err)
}

type fulfilRequest struct {
	Note string `json:"note"`
}

// fulfilPromise: POST /api/v1/promises/{id}/fulfil {"note":
// "已短信告知办理结果，短信回执 20261127-0031"} → the promise, fulfilled by a note
// with evidence.
func (s *Server) fulfilPromise(w http.ResponseWriter, r *http.Request) {
	const op = "web.fulfilPromise"
	var req fulfilRequest
	id, err := pathID(op, r, "promise")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	note := strings.TrimSpace(req.Note)
	if err == nil {
		err = checkTextMax(op, "note", note, true, maxPromiseText, "how the citizen was answered, with the evidence")
	}
	var p hotline.Promise
	if err == nil {
		noteAudit(r, "", note)
		p, err = s.deps.Promises.FulfilPromise(r.Context(), id, note)
	}
	s.answerPromise(w, r, http.StatusOK, p, err)
}

// replyCall: POST /api/v1/promises/{id}/reply-call (body empty or {}) → 202
// {"status": "dialing"}: the citizen is being dialed; the promise is
// fulfilled when the reply call connects, which the desk records.
func (s *Server) replyCall(w http.ResponseWriter, r *http.Request) {
	const op = "web.replyCall"
	id, err := pathID(op, r, "promise")
	if err == nil {
		err = decodeJSON(w, r, &struct{}{})
	}
	if err == nil {
		err = s.deps.Promises.ReplyCall(r.Context(), id)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "dialing"})
}

// closePromise: POST /api/v1/promises/{id}/close {"reason": "市民撤回诉求"} →
// the promise, closed without a reply by the supervisor logged in.
func (s *Server) closePromise(w http.ResponseWriter, r *http.Request) {
	const op = "web.closePromise"
	var req closeRequest
	id, err := pathID(op, r, "promise")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	reason := strings.TrimSpace(req.Reason)
	if err == nil {
		err = checkText(op, "reason", reason, true, "say why the promise is closed without a reply, e.g. 市民撤回诉求")
	}
	var p hotline.Promise
	if err == nil {
		noteAudit(r, "", reason)
		p, err = s.deps.Promises.ClosePromise(r.Context(), id, reason)
	}
	s.answerPromise(w, r, http.StatusOK, p, err)
}
