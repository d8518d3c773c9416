package web

import (
	"net/http"
	"slices"
	"strings"

	"hotline"
)

// violationKinds are the kinds of violation, for ?kind=.
var violationKinds = []hotline.ViolationKind{
	hotline.ViolationCallbackOverdue, hotline.ViolationPromiseOverdue, hotline.ViolationRingDeclined,
	hotline.ViolationRingNotAnswered, hotline.ViolationReferralLoop,
}

// listViolations: GET /api/v1/violations?agent=1001&kind=callback_overdue&undisposed=true&limit=50&offset=0
// → {"violations": [violation…]}.
func (s *Server) listViolations(w http.ResponseWriter, r *http.Request) {
	const op = "web.listViolations"
	f, err := violationFilter(op, r)
	full, ferr := wantFullNumbers(op, r)
	if err == nil {
		err = ferr
	}
	if err == nil {
		f.AgentID, err = s.ownFilter(r, hotline.ActViolationList, f.AgentID)
	}
	var vs []hotline.Violation
	if err == nil {
		vs, err = s.deps.Violations.ListViolations(r.Context(), f)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if vs == nil {
		vs = []hotline.Violation{}
	}
	view := s.numbers(r, full)
	for i, v := range vs {
		vs[i].Detail = view.text(hotline.Matter{Kind: "violation", Responsible: v.AgentID}, v.Detail)
	}
	writeJSON(w, http.StatusOK, map[string]any{"violations": vs})
}

func violationFilter(op string, r *http.Request) (ViolationFilter, error) {
	q := r.URL.Query()
	if err := checkQuery(op, q, "agent", "kind", "undisposed", "limit", "offset", "numbers"); err != nil {
		return ViolationFilter{}, err
	}
	f := ViolationFilter{AgentID: strings.TrimSpace(q.Get("agent")), Kind: hotline.ViolationKind(q.Get("kind"))}
	if f.Kind != "" && !slices.Contains(violationKinds, f.Kind) {
		return f, hotline.Errorf(hotline.KindInvalid, op, "kind %q must be one of %s", f.Kind, join(violationKinds))
	}
	var err error
	if f.Undisposed, err = queryFlag(op, q, "undisposed"); err != nil {
		return f, err
	}
	if f.Limit, err = queryLimit(op, q); err != nil {
		return f, err
	}
	if f.Offset, err = queryOffset(op, q); err != nil {
		return f, err
	}
	return f, nil
}

type dispositionRequest struct {
	Disposition string `json:"disposition"`
	Reason      string `json:"reason"`
}

// disposeViolation: POST /api/v1/violations/{id}/disposition
// {"disposition": "dismissed", "reason": "市民未留号码，无法回拨"} → the
// violation with the decision of the supervisor logged in, who may not
// decide on one recorded against themselves. A dismissal needs a reason; a
// confirmation may give one.
func (s *Server) disposeViolation(w http.ResponseWriter, r *http.Request) {
	const op = "web.disposeViolation"
	var req dispositionRequest
	id, err := pathID(op, r, "violation")
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	d := hotline.Disposition(strings.TrimSpace(req.Disposition))
	reason := strings.TrimSpace(req.Reason)
	if err == nil {
		switch d {
		case hotline.DispositionConfirmed, hotline.DispositionDismissed:
		case "":
			err = hotline.Errorf(hotline.KindInvalid, op, "disposition is required: confirmed or dismissed")
		default:
			err = hotline.Errorf(hotline.KindInvalid, op, "disposition %q must be confirmed or dismissed", d)
		}
	}
	if err == nil {
		err = checkText(op, "reason", reason, d == hotline.DispositionDismissed, "say why the violation is dismissed")
	}
	var v hotline.Violation
	if err == nil {
		noteAudit(r, "", string(d)+": "+reason)
		v, err = s.deps.Violations.Dispose(r.Context(), id, d, reason)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
