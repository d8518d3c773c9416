package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"hotline"
)

// AuditReader reads and checks the tamper-evident audit log.
type AuditReader interface {
	// VerifyAudit returns 0 when the chain is intact, else the id of the
	// first entry that does not match.
	VerifyAudit(ctx context.Context) (int64, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]hotline.AuditEntry, error)
}

// AuditFilter selects audit entries; empty fields select everything. The
// API passes a Limit from 1 to 1000 and an Offset of 0 or more.
type AuditFilter struct {
	Actor, Action, Object string
	Since                 time.Time
	Limit, Offset         int
}

// verifyAudit: GET /api/v1/audit/verify → {"intact": true} or
// {"intact": false, "broken_at": 17}.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) {
	broken, err := s.deps.Audit.VerifyAudit(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := map[string]any{"intact": broken == 0}
	if broken != 0 {
		out["broken_at"] = broken
	}
	writeJSON(w, http.StatusOK, out)
}

// listAudit: GET /api/v1/audit?actor=&action=&object=&since=&limit=&offset=
// → {"entries": [...]}, newest first. Numbers in details are masked for
// anyone who is not a supervisor.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	const op = "web.listAudit"
	q := r.URL.Query()
	err := checkQuery(op, q, "actor", "action", "object", "since", "limit", "offset")
	f := AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")), Object: strings.TrimSpace(q.Get("object"))}
	if err == nil {
		f.Limit, err = queryLimit(op, q)
	}
	if err == nil {
		f.Offset, err = queryOffset(op, q)
	}
	if v := q.Get("since"); err == nil && v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			err = hotline.Errorf(hotline.KindInvalid, op, "since %q must be an RFC 3339 time such as 2026-11-27T08:30:00+08:00", v)
		}
	}
	var entries []hotline.AuditEntry
	if err == nil {
		entries, err = s.deps.Audit.ListAudit(r.Context(), f)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, _ := hotline.ActorFromContext(r.Context())
	if !a.Has(hotline.RoleSupervisor) {
		for i := range entries {
			entries[i].Detail = hotline.MaskNumbersIn(entries[i].Detail)
		}
	}
	if entries == nil {
		entries = []hotline.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}
