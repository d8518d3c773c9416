package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// RecordingPlayer serves archived recordings with audit (recording.Player).
type RecordingPlayer interface {
	// RecordingParties returns the agents who took part in what the
	// recording holds; NotFound when there is no such recording.
	RecordingParties(ctx context.Context, name string) ([]string, error)
	// ServeAudio serves the audio to the actor of r's context, auditing
	// the listen (or download) with its result; it writes nothing when it
	// returns an error.
	ServeAudio(w http.ResponseWriter, r *http.Request, name string, download bool) error
}

// ReviewDesk is the supervisors' review of calls (7.1.4, recording.Reviews).
type ReviewDesk interface {
	AddReview(ctx context.Context, r hotline.Review) (hotline.Review, error)
	ListReviews(ctx context.Context, agentID string) ([]hotline.Review, error)
}

// recordingAudio is GET /api/v1/recordings/{name}/audio[?download=true]:
// supervisors hear every recording, an agent those it took part in.
// Streaming is exempt from http.write_timeout: a long recording on a slow
// link takes as long as it takes.
func (s *Server) recordingAudio(w http.ResponseWriter, r *http.Request) {
	const op = "web.recordingAudio"
	q := r.URL.Query()
	name := chi.URLParam(r, "name")
	err := validRecordingName(op, name)
	if err == nil {
		err = checkQuery(op, q, "download")
	}
	var download bool
	if err == nil {
		download, err = queryFlag(op, q, "download")
	}
	act := hotline.ActRecordingListen
	if download {
		act = hotline.ActRecordingDownload
	}
	var parties []string
	if err == nil {
		parties, err = s.deps.Recordings.RecordingParties(r.Context(), name)
	}
	if err == nil {
		err = s.authorize(r, act, hotline.Matter{Kind: "recording", ID: name, Parties: parties})
	}
	if err == nil {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		err = s.deps.Recordings.ServeAudio(w, r, name, download)
	}
	if err != nil {
		writeError(w, r, s.log, err)
	}
}

// validRecordingName refuses a bad name before anything is looked up or
// audited.
func validRecordingName(op string, name string) error {
	if err := hotline.ValidRecordingName(name); err != nil {
		return hotline.WrapError(hotline.KindInvalid, op, err)
	}
	return nil
}

type reviewRequest struct {
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
	comment := strings.TrimSpace(req.Comment)
	var err error
	switch {
	case req.Score == nil:
		err = hotline.Errorf(hotline.KindInvalid, op, "score (0 to 100) is required")
	case len(req.Flags) > 8:
		err = hotline.Errorf(hotline.KindInvalid, op, "at most 8 flags")
	default:
		err = checkTextMax(op, "comment", comment, false, maxPromiseText, "")
	}
	if err == nil {
		err = checkTextMax(op, "agent_id", strings.TrimSpace(req.AgentID), false, hotline.MaxUserID, "")
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	actor, _ := hotline.ActorFromContext(r.Context())
	noteAudit(r, "call:"+chi.URLParam(r, "id"), fmt.Sprintf("score %d", *req.Score))
	rev, err := s.deps.Reviews.AddReview(r.Context(), hotline.Review{CallID: chi.URLParam(r, "id"), AgentID: strings.TrimSpace(req.AgentID),
		SupervisorID: actor.ID, Score: *req.Score, Flags: req.Flags, Comment: comment})
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
	agent, err := s.ownFilter(r, hotline.ActReviewList, strings.TrimSpace(q.Get("agent")))
	var list []hotline.Review
	if err == nil {
		list, err = s.deps.Reviews.ListReviews(r.Context(), agent)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []hotline.Review{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": list})
}
