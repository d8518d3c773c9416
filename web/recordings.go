package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// RecordingPlayer serves archived recordings with access control and audit
// (recording.Player). ServeAudio writes nothing when it returns an error.
type RecordingPlayer interface {
	ServeAudio(w http.ResponseWriter, r *http.Request, name, viewer string, download bool) error
}

// ReviewDesk is the supervisors' review of calls (7.1.4, recording.Reviews).
type ReviewDesk interface {
	AddReview(ctx context.Context, r hotline.Review) (hotline.Review, error)
	ListReviews(ctx context.Context, agentID string) ([]hotline.Review, error)
}

// recordingAudio is GET /api/v1/recordings/{name}/audio?by=STAFF[&download=true]:
// until login exists the viewer is named by "by".
func (s *Server) recordingAudio(w http.ResponseWriter, r *http.Request) {
	const op = "web.recordingAudio"
	q := r.URL.Query()
	if err := checkQuery(op, q, "by", "download"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	download, err := queryFlag(op, q, "download")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := s.deps.Recordings.ServeAudio(w, r, chi.URLParam(r, "name"), strings.TrimSpace(q.Get("by")), download); err != nil {
		writeError(w, r, s.log, err)
	}
}

type reviewRequest struct {
	By      string   `json:"by"`
	AgentID string   `json:"agent_id"`
	Score   *int     `json:"score"`
	Flags   []string `json:"flags"`
	Comment string   `json:"comment"`
}

// addReview is POST /api/v1/calls/{id}/reviews.
func (s *Server) addReview(w http.ResponseWriter, r *http.Request) {
	const op = "web.addReview"
	var req reviewRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	switch {
	case strings.TrimSpace(req.By) == "":
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "by (the reviewing supervisor) is required"))
		return
	case req.Score == nil:
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "score (0 to 100) is required"))
		return
	}
	rev, err := s.deps.Reviews.AddReview(r.Context(), hotline.Review{CallID: chi.URLParam(r, "id"), AgentID: strings.TrimSpace(req.AgentID),
		SupervisorID: strings.TrimSpace(req.By), Score: *req.Score, Flags: req.Flags, Comment: strings.TrimSpace(req.Comment)})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, rev)
}

// listReviews is GET /api/v1/reviews?agent=ID.
func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	const op = "web.listReviews"
	q := r.URL.Query()
	if err := checkQuery(op, q, "agent"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list, err := s.deps.Reviews.ListReviews(r.Context(), q.Get("agent"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []hotline.Review{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": list})
}
