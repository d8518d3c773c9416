package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// maxPauseReason is the longest pause reason, in characters.
const maxPauseReason = 200

type pauseRequest struct {
	Reason string `json:"reason"`
}

// pauseAgent: POST /api/v1/agents/{id}/pause {"reason": "午休"} → the agent.
func (s *Server) pauseAgent(w http.ResponseWriter, r *http.Request) {
	const op = "web.pauseAgent"
	var req pauseRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	reason := strings.TrimSpace(req.Reason)
	if n := utf8.RuneCountInString(reason); n == 0 {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "reason is required: say why the agent pauses, e.g. 午休"))
		return
	} else if n > maxPauseReason {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "reason is %d characters long; at most %d are allowed", n, maxPauseReason))
		return
	}
	noteAudit(r, "", reason)
	s.setAgentState(w, r, hotline.AgentPaused, reason)
}

// resumeAgent: POST /api/v1/agents/{id}/resume → the agent, available again.
// The body may be empty or {}.
func (s *Server) resumeAgent(w http.ResponseWriter, r *http.Request) {
	if err := decodeJSON(w, r, &struct{}{}); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.setAgentState(w, r, hotline.AgentAvailable, "")
}

func (s *Server) setAgentState(w http.ResponseWriter, r *http.Request, state hotline.AgentState, reason string) {
	a, err := s.deps.Control.SetAgentState(r.Context(), chi.URLParam(r, "id"), state, reason)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
