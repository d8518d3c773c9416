package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hotline"
)

// ExtensionDesk keeps the owners' requests for a later deadline (6.2): the
// owner asks with a reason; a supervisor grants (the promise is extended,
// bounded as any extension) or refuses with a reason.
type ExtensionDesk interface {
	RequestExtension(ctx context.Context, promiseID int64, deadline time.Time, reason string) (hotline.ExtensionRequest, error)
	ListExtensionRequests(ctx context.Context, pending bool) ([]hotline.ExtensionRequest, error)
	GetExtensionRequest(ctx context.Context, id int64) (hotline.ExtensionRequest, error)
	DecideExtensionRequest(ctx context.Context, id int64, grant bool, reason string) (hotline.ExtensionRequest, error)
}

type extensionAsk struct {
	Deadline string `json:"deadline"`
	Reason   string `json:"reason"`
}

// requestExtension: POST /api/v1/promises/{id}/extension-requests
// {"deadline": RFC 3339, "reason"} → 201 and the request, waiting for a
// supervisor.
func (s *Server) requestExtension(w http.ResponseWriter, r *http.Request) {
	const op = "web.requestExtension"
	var req extensionAsk
	id, err := pathID(op, r, "promise")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	deadline, reason := strings.TrimSpace(req.Deadline), strings.TrimSpace(req.Reason)
	var t time.Time
	if err == nil && deadline == "" {
		err = hotline.Errorf(hotline.KindInvalid, op, "deadline is required: the deadline asked for, an RFC 3339 time such as 2026-11-30T17:00:00+08:00")
	}
	if err == nil {
		t, err = s.futureTime(op, "deadline", deadline)
	}
	if err == nil {
		err = checkTextMax(op, "reason", reason, true, maxNote, "say why more time is needed, e.g. 需住建部门会商")
	}
	var ext hotline.ExtensionRequest
	if err == nil {
		noteAudit(r, "", "to "+deadline+": "+reason)
		ext, err = s.deps.Extensions.RequestExtension(r.Context(), id, t, reason)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, ext)
}

// listExtensionRequests: GET /api/v1/extension-requests[?pending=true]
// → {"requests": [...]}, oldest first.
func (s *Server) listExtensionRequests(w http.ResponseWriter, r *http.Request) {
	const op = "web.listExtensionRequests"
	q := r.URL.Query()
	err := checkQuery(op, q, "pending")
	var pending bool
	if err == nil {
		pending, err = queryFlag(op, q, "pending")
	}
	var list []hotline.ExtensionRequest
	if err == nil {
		list, err = s.deps.Extensions.ListExtensionRequests(r.Context(), pending)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []hotline.ExtensionRequest{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": list})
}

type extensionDecision struct {
	Grant  *bool  `json:"grant"`
	Reason string `json:"reason"`
}

// decideExtension: POST /api/v1/extension-requests/{id}/decision
// {"grant": true|false, "reason"} → the request decided; granting extends
// the promise to the deadline asked for.
func (s *Server) decideExtension(w http.ResponseWriter, r *http.Request) {
	const op = "web.decideExtension"
	var req extensionDecision
	id, err := pathID(op, r, "extension request")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	reason := strings.TrimSpace(req.Reason)
	if err == nil && req.Grant == nil {
		err = hotline.Errorf(hotline.KindInvalid, op, "grant is required: true to extend the promise, false to refuse")
	}
	if err == nil {
		err = checkTextMax(op, "reason", reason, true, maxNote, "say why, e.g. 同意，会商需时")
	}
	var ext hotline.ExtensionRequest
	if err == nil {
		noteAudit(r, "", map[bool]string{true: "granted", false: "refused"}[*req.Grant]+": "+reason)
		ext, err = s.deps.Extensions.DecideExtensionRequest(r.Context(), id, *req.Grant, reason)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, ext)
}

// extensionMatter is the promise a request is about: its owner is
// responsible.
func (s *Server) extensionMatter(r *http.Request) (hotline.Matter, error) {
	if s.deps.Extensions == nil || s.deps.Promises == nil {
		return hotline.Matter{}, notConfigured("promise extension requests")
	}
	id, err := pathID("web.extensionMatter", r, "extension request")
	if err != nil {
		return hotline.Matter{}, err
	}
	ext, err := s.deps.Extensions.GetExtensionRequest(r.Context(), id)
	if err != nil {
		return hotline.Matter{}, err
	}
	p, err := s.deps.Promises.GetPromise(r.Context(), ext.PromiseID)
	if err != nil {
		return hotline.Matter{}, err
	}
	m := PromiseMatter(p)
	m.ID = strconv.FormatInt(p.ID, 10)
	return m, nil
}
