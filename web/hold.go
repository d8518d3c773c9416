package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// LegalHolder puts recordings on legal hold, which retention never deletes.
type LegalHolder interface {
	SetLegalHold(ctx context.Context, name, by string, hold bool) error
}

type holdBody struct {
	By   string `json:"by"`
	Hold *bool  `json:"hold"`
}

// setLegalHold: POST /api/v1/recordings/{name}/hold {"by": "s01", "hold": true}.
func (s *Server) setLegalHold(w http.ResponseWriter, r *http.Request) {
	const op = "web.setLegalHold"
	var body holdBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	by := strings.TrimSpace(body.By)
	if err := checkBy(op, by, "the supervisor who orders the hold"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if body.Hold == nil {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "hold is required: true to keep the recording, false to release it"))
		return
	}
	name := chi.URLParam(r, "name")
	if err := s.deps.Holds.SetLegalHold(r.Context(), name, by, *body.Hold); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "legal_hold": *body.Hold})
}
