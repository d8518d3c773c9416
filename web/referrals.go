package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"hotline"
)

type referralRequest struct {
	ToAgent      string `json:"to_agent"`
	ToDepartment string `json:"to_department"`
}

// referCall: POST /api/v1/calls/{id}/referrals {"to_agent": "1002"} or
// {"to_department": "不动产登记"} → 202 and the referral: the target is
// being rung, the outcome comes later. The referring agent is the actor.
func (s *Server) referCall(w http.ResponseWriter, r *http.Request) {
	const op = "web.referCall"
	var req referralRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	actor, _ := hotline.ActorFromContext(r.Context())
	from := actor.ID
	toAgent := strings.TrimSpace(req.ToAgent)
	toDept := strings.TrimSpace(req.ToDepartment)
	var bad error
	switch {
	case toAgent == "" && toDept == "":
		bad = hotline.Errorf(hotline.KindInvalid, op, "to_agent or to_department is required: whom to refer the call to")
	case toAgent != "" && toDept != "":
		bad = hotline.Errorf(hotline.KindInvalid, op, "give to_agent or to_department, not both")
	case toAgent == from:
		bad = hotline.Errorf(hotline.KindInvalid, op, "agent %s cannot refer a call to themselves", from)
	}
	if bad != nil {
		writeError(w, r, s.log, bad)
		return
	}
	noteAudit(r, "", "to "+toAgent+toDept)
	ref, err := s.deps.Referrer.Refer(r.Context(), chi.URLParam(r, "id"), from, toAgent, toDept)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, ref)
}
