package web

import (
	"context"
	"net/http"
)

// AuditVerifier checks the tamper-evident audit log's hash chain.
type AuditVerifier interface {
	// VerifyAudit returns 0 when the chain is intact, else the id of the
	// first entry that does not match.
	VerifyAudit(ctx context.Context) (int64, error)
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
