package web

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// LegalHolder puts recordings on legal hold, which retention never deletes.
type LegalHolder interface {
	SetLegalHold(ctx context.Context, name string, hold bool) error
}

type holdBody struct {
	Hold *bool `json:"hold"`
}

// setLegalHold: POST /api/v1/recordings/{name}/hold {"hold": true}.
func (s *Server) setLegalHold(w http.ResponseWriter, r *http.Request) {
	const op = "web.setLegalHold"
	var body holdBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if body.Hold == nil {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "hold is required: true to keep the recording, false to release it"))
		return
	}
	name := chi.URLParam(r, "name")
	if err := validRecordingName(op, name); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	noteAudit(r, "recording:"+name, map[bool]string{true: "hold", false: "release"}[*body.Hold])
	if err := s.deps.Holds.SetLegalHold(r.Context(), name, *body.Hold); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "legal_hold": *body.Hold})
}
