package web

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"hotline"
)

// Until login exists, the staff member who acknowledges, closes or
// disposes is named in the request body as "by"; the desks check that
// id's role and record it. Cross-origin protection applies to every route
// under /api/v1.

// maxNote is the longest acknowledgement note, close reason or disposition
// reason, and maxStaffID the longest "by", both in characters.
const (
	maxNote    = 500
	maxStaffID = 64
)

// callbackJSON is a task as the API shows it: the domain fields plus whether
// it is open past its deadline at the time of the request.
type callbackJSON struct {
	hotline.CallbackTask
	Overdue bool `json:"overdue"`
}

// callbackDetailJSON is one task with its missed calls and attempts, as
// arrays even when there are none.
type callbackDetailJSON struct {
	callbackJSON
	CallIDs    []string                  `json:"call_ids"`
	AttemptLog []hotline.CallbackAttempt `json:"attempt_log"`
}

func (s *Server) newCallbackJSON(t hotline.CallbackTask) callbackJSON {
	return callbackJSON{CallbackTask: t, Overdue: t.Overdue(s.deps.Now())}
}

func (s *Server) newCallbackDetailJSON(t hotline.CallbackTask) callbackDetailJSON {
	out := callbackDetailJSON{callbackJSON: s.newCallbackJSON(t), CallIDs: t.CallIDs, AttemptLog: t.AttemptLog}
	if out.CallIDs == nil {
		out.CallIDs = []string{}
	}
	if out.AttemptLog == nil {
		out.AttemptLog = []hotline.CallbackAttempt{}
	}
	return out
}

// listCallbacks: GET /api/v1/callbacks?state=pending&agent=1001&overdue=true&limit=50&offset=0
// → {"callbacks": [task…]}, each task with "overdue". state is a stored
// state or a group of the vocabulary: open, unfinished, overdue
// (state=overdue is overdue=true).
func (s *Server) listCallbacks(w http.ResponseWriter, r *http.Request) {
	const op = "web.listCallbacks"
	f, err := callbackFilter(op, r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	tasks, err := s.deps.Callbacks.ListCallbacks(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]callbackJSON, len(tasks))
	for i, t := range tasks {
		out[i] = s.newCallbackJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"callbacks": out})
}

func callbackFilter(op string, r *http.Request) (CallbackFilter, error) {
	q := r.URL.Query()
	if err := checkQuery(op, q, "state", "agent", "overdue", "limit", "offset"); err != nil {
		return CallbackFilter{}, err
	}
	f := CallbackFilter{State: hotline.CallbackState(q.Get("state")), AgentID: strings.TrimSpace(q.Get("agent"))}
	if f.State != "" && !f.State.Valid() {
		return f, hotline.Errorf(hotline.KindInvalid, op, "state %q must be one of %s", f.State, join(hotline.CallbackStateNames()))
	}
	var err error
	if f.Overdue, err = queryFlag(op, q, "overdue"); err != nil {
		return f, err
	}
	if f.Overdue && f.State != "" && !slices.ContainsFunc(f.State.Selects(), hotline.CallbackState.Open) {
		return f, hotline.Errorf(hotline.KindInvalid, op, "overdue=true selects open tasks, but state %q is not open (pending or dialing)", f.State)
	}
	if f.Limit, err = queryLimit(op, q); err != nil {
		return f, err
	}
	if f.Offset, err = queryOffset(op, q); err != nil {
		return f, err
	}
	return f, nil
}

// getCallback: GET /api/v1/callbacks/{id} → the task with "call_ids",
// "attempt_log" and "overdue".
func (s *Server) getCallback(w http.ResponseWriter, r *http.Request) {
	id, err := pathID("web.getCallback", r, "callback task")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.deps.Callbacks.GetCallback(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.newCallbackDetailJSON(t))
}

// dialCallback: POST /api/v1/callbacks/{id}/dial → 202 {"status": "due now"}:
// the pending task is due at once; the dialer takes it from there. The body
// may be empty or {}.
func (s *Server) dialCallback(w http.ResponseWriter, r *http.Request) {
	id, err := pathID("web.dialCallback", r, "callback task")
	if err == nil {
		err = decodeJSON(w, r, &struct{}{})
	}
	if err == nil {
		err = s.deps.Callbacks.DialNow(r.Context(), id)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "due now"})
}

type acknowledgeRequest struct {
	By   string `json:"by"`
	Note string `json:"note"`
}

// acknowledgeCallback: POST /api/v1/callbacks/{id}/acknowledge
// {"by": "s01", "note": "号码停机"} → the task, acknowledged by the supervisor.
func (s *Server) acknowledgeCallback(w http.ResponseWriter, r *http.Request) {
	const op = "web.acknowledgeCallback"
	var req acknowledgeRequest
	id, err := pathID(op, r, "callback task")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	by, note := strings.TrimSpace(req.By), strings.TrimSpace(req.Note)
	if err == nil {
		err = checkBy(op, by, "the supervisor who acknowledges the task, e.g. s01")
	}
	if err == nil {
		err = checkText(op, "note", note, false, "")
	}
	var t hotline.CallbackTask
	if err == nil {
		t, err = s.deps.Callbacks.Acknowledge(r.Context(), id, by, note)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.newCallbackDetailJSON(t))
}

type closeRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// closeCallback: POST /api/v1/callbacks/{id}/close
// {"by": "1001", "reason": "市民已通过其他渠道办结"} → the task, closed. Whether
// by may close it is the desk's to decide.
func (s *Server) closeCallback(w http.ResponseWriter, r *http.Request) {
	const op = "web.closeCallback"
	var req closeRequest
	id, err := pathID(op, r, "callback task")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	by, reason := strings.TrimSpace(req.By), strings.TrimSpace(req.Reason)
	if err == nil {
		err = checkBy(op, by, "the agent or supervisor who closes the task, e.g. 1001")
	}
	if err == nil {
		err = checkText(op, "reason", reason, true, "say why the task is closed without a callback, e.g. 市民已通过其他渠道办结")
	}
	var t hotline.CallbackTask
	if err == nil {
		t, err = s.deps.Callbacks.Close(r.Context(), id, by, reason)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.newCallbackDetailJSON(t))
}

// checkBy checks the staff id of a request body; who describes it.
func checkBy(op, by, who string) error { return checkStaff(op, "by", by, who) }

// checkStaff checks a staff id given in field of a request body; who
// describes the staff member wanted.
func checkStaff(op, field, id, who string) error {
	if id == "" {
		return hotline.Errorf(hotline.KindInvalid, op, "%s is required: %s", field, who)
	}
	if n := utf8.RuneCountInString(id); n > maxStaffID {
		return hotline.Errorf(hotline.KindInvalid, op, "%s is %d characters long; at most %d are allowed", field, n, maxStaffID)
	}
	return nil
}

// checkText checks a free-text field of at most maxNote characters;
// hint says what to write when it is required and missing.
func checkText(op, field, text string, required bool, hint string) error {
	return checkTextMax(op, field, text, required, maxNote, hint)
}

// checkTextMax is checkText with a limit of maxLen characters.
func checkTextMax(op, field, text string, required bool, maxLen int, hint string) error {
	n := utf8.RuneCountInString(text)
	switch {
	case n == 0 && required:
		return hotline.Errorf(hotline.KindInvalid, op, "%s is required: %s", field, hint)
	case n > maxLen:
		return hotline.Errorf(hotline.KindInvalid, op, "%s is %d characters long; at most %d are allowed", field, n, maxLen)
	}
	return nil
}

// join lists string constants for a message: "a, b, c".
func join[T ~string](list []T) string {
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}
