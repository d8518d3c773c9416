package web

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"hotline"
)

// The staff member who acknowledges, closes or disposes is the logged-in
// actor (gate.go); the desks record them. Cross-origin protection applies
// to every route under /api/v1.

// maxNote is the longest acknowledgement note, close reason or disposition
// reason, in characters.
const maxNote = 500

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

func (s *Server) newCallbackJSON(t hotline.CallbackTask, view *numberView) callbackJSON {
	overdue := t.Overdue(s.deps.Now())
	t.Number = view.show(CallbackMatter(t), t.Number)
	return callbackJSON{CallbackTask: t, Overdue: overdue}
}

func (s *Server) newCallbackDetailJSON(t hotline.CallbackTask, view *numberView) callbackDetailJSON {
	out := callbackDetailJSON{callbackJSON: s.newCallbackJSON(t, view), CallIDs: t.CallIDs, AttemptLog: t.AttemptLog}
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
	full, ferr := wantFullNumbers(op, r)
	if err == nil {
		err = ferr
	}
	if err == nil {
		f.AgentID, err = s.ownFilter(r, hotline.ActCallbackList, f.AgentID)
	}
	var tasks []hotline.CallbackTask
	if err == nil {
		tasks, err = s.deps.Callbacks.ListCallbacks(r.Context(), f)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	view := s.numbers(r, full)
	out := make([]callbackJSON, len(tasks))
	for i, t := range tasks {
		out[i] = s.newCallbackJSON(t, view)
	}
	view.audit()
	writeJSON(w, http.StatusOK, map[string]any{"callbacks": out})
}

func callbackFilter(op string, r *http.Request) (CallbackFilter, error) {
	q := r.URL.Query()
	if err := checkQuery(op, q, "state", "agent", "overdue", "limit", "offset", "numbers"); err != nil {
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

// getCallback: GET /api/v1/callbacks/{id}[?numbers=full] → the task with
// "call_ids", "attempt_log" and "overdue".
func (s *Server) getCallback(w http.ResponseWriter, r *http.Request) {
	const op = "web.getCallback"
	id, err := pathID(op, r, "callback task")
	if err == nil {
		err = checkQuery(op, r.URL.Query(), "numbers")
	}
	full, ferr := wantFullNumbers(op, r)
	if err == nil {
		err = ferr
	}
	var t hotline.CallbackTask
	if err == nil {
		t, err = s.deps.Callbacks.GetCallback(r.Context(), id)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	view := s.numbers(r, full)
	out := s.newCallbackDetailJSON(t, view)
	view.audit()
	writeJSON(w, http.StatusOK, out)
}

// answerTask writes a task changed by an action: its number masked.
func (s *Server) answerTask(w http.ResponseWriter, r *http.Request, t hotline.CallbackTask, err error) {
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.newCallbackDetailJSON(t, s.numbers(r, false)))
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
	Note string `json:"note"`
}

// acknowledgeCallback: POST /api/v1/callbacks/{id}/acknowledge
// {"note": "号码停机"} → the task, acknowledged by the supervisor.
func (s *Server) acknowledgeCallback(w http.ResponseWriter, r *http.Request) {
	const op = "web.acknowledgeCallback"
	var req acknowledgeRequest
	id, err := pathID(op, r, "callback task")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	note := strings.TrimSpace(req.Note)
	if err == nil {
		err = checkText(op, "note", note, false, "")
	}
	var t hotline.CallbackTask
	if err == nil {
		noteAudit(r, "", note)
		t, err = s.deps.Callbacks.Acknowledge(r.Context(), id, note)
	}
	s.answerTask(w, r, t, err)
}

type closeRequest struct {
	Reason string `json:"reason"`
}

// closeCallback: POST /api/v1/callbacks/{id}/close {"reason":
// "市民已通过其他渠道办结"} → the task, closed. The access table decides who
// may (an agent its own task once the citizen was reached; a supervisor).
func (s *Server) closeCallback(w http.ResponseWriter, r *http.Request) {
	const op = "web.closeCallback"
	var req closeRequest
	id, err := pathID(op, r, "callback task")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	reason := strings.TrimSpace(req.Reason)
	if err == nil {
		err = checkText(op, "reason", reason, true, "say why the task is closed without a callback, e.g. 市民已通过其他渠道办结")
	}
	var t hotline.CallbackTask
	if err == nil {
		noteAudit(r, "", reason)
		t, err = s.deps.Callbacks.Close(r.Context(), id, reason)
	}
	s.answerTask(w, r, t, err)
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
