package web

import (
	"context"
	"net/http"
	"strings"

	"hotline"
)

// ComplaintDesk records complaints against staff (7.1.2). Who may record
// and list them is the access table's (the gate's) business.
type ComplaintDesk interface {
	AddComplaint(ctx context.Context, c hotline.Complaint) (hotline.Complaint, error)
	ListComplaints(ctx context.Context, f ComplaintFilter) ([]hotline.Complaint, error)
}

// ComplaintFilter selects complaints for listing, newest first; an empty
// AgentID selects everyone's. The API passes a Limit from 1 to 1000 and an
// Offset of 0 or more.
type ComplaintFilter struct {
	AgentID       string
	Limit, Offset int
}

type complaintRequest struct {
	AgentID     string `json:"agent"`
	CallID      string `json:"call_id"`
	AboutCallID string `json:"about_call_id"`
	Summary     string `json:"summary"`
}

// addComplaint: POST /api/v1/complaints {"agent": "1001", "call_id",
// "about_call_id", "summary"} → 201 with the complaint, recorded by the
// logged-in supervisor.
func (s *Server) addComplaint(w http.ResponseWriter, r *http.Request) {
	var req complaintRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	actor, _ := hotline.ActorFromContext(r.Context())
	c := hotline.Complaint{AgentID: strings.TrimSpace(req.AgentID), CallID: strings.TrimSpace(req.CallID),
		AboutCallID: strings.TrimSpace(req.AboutCallID), Summary: strings.TrimSpace(req.Summary),
		RecordedBy: actor.ID, RecordedAt: s.deps.Now()}
	if err := c.Validate(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	noteAudit(r, "agent:"+c.AgentID, "")
	c, err := s.deps.Complaints.AddComplaint(r.Context(), c)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// listComplaints: GET /api/v1/complaints?agent=1001&limit=50&offset=0 →
// {"complaints": [complaint…]}, newest first.
func (s *Server) listComplaints(w http.ResponseWriter, r *http.Request) {
	const op = "web.listComplaints"
	q := r.URL.Query()
	if err := checkQuery(op, q, "agent", "limit", "offset"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	agent, err := s.ownFilter(r, hotline.ActComplaintList, strings.TrimSpace(q.Get("agent")))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f := ComplaintFilter{AgentID: agent}
	if f.Limit, err = queryLimit(op, q); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if f.Offset, err = queryOffset(op, q); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list, err := s.deps.Complaints.ListComplaints(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []hotline.Complaint{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"complaints": list})
}
