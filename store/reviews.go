package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"hotline"
)

// ReviewFlags are the problems a supervisor may flag on a call (clauses
// 7.1.4–7.1.6): shirking, refusing, delaying, attitude.
var ReviewFlags = []string{"推诿", "拒绝", "拖延", "态度"}

// addReviewSQL inserts one reviews row.
const addReviewSQL = `
INSERT INTO reviews (call_id, agent_id, supervisor_id, score, flags, comment, created_ms)
VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`

// AddReview stores a supervisor's review of a call and returns it with its
// id and creation time (the store's clock when r.CreatedAt is zero). An
// empty AgentID means the call's first-responsible agent. The score must
// be 0..100, each flag one of ReviewFlags (listed once); an unknown call,
// agent or supervisor is invalid input.
func (db *DB) AddReview(ctx context.Context, r hotline.Review) (hotline.Review, error) {
	const op = "store.AddReview"
	subject := fmt.Sprintf("review of call %q", r.CallID)
	switch {
	case strings.TrimSpace(r.CallID) == "":
		return hotline.Review{}, hotline.Errorf(hotline.KindInvalid, op, "a review needs a call id")
	case strings.TrimSpace(r.SupervisorID) == "":
		return hotline.Review{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the supervisor is required", subject)
	case r.Score < 0 || r.Score > 100:
		return hotline.Review{}, hotline.Errorf(hotline.KindInvalid, op, "%s: score %d must be from 0 to 100", subject, r.Score)
	}
	flags := []string{}
	for _, f := range r.Flags {
		if !slices.Contains(ReviewFlags, f) {
			return hotline.Review{}, hotline.Errorf(hotline.KindInvalid, op, "%s: flag %q must be one of %s", subject, f, strings.Join(ReviewFlags, " "))
		}
		if slices.Contains(flags, f) {
			return hotline.Review{}, hotline.Errorf(hotline.KindInvalid, op, "%s: flag %q is given twice", subject, f)
		}
		flags = append(flags, f)
	}
	if r.AgentID == "" {
		var agent *string
		err := db.reader.GetContext(ctx, &agent, `SELECT first_responsible_agent FROM calls WHERE id = ?`, r.CallID)
		if err != nil {
			return hotline.Review{}, wrapErr(op, fmt.Sprintf("call %q", r.CallID), err)
		}
		if agent == nil {
			return hotline.Review{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the call has no responsible agent; name the agent", subject)
		}
		r.AgentID = *agent
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now()
	}
	r.CreatedAt = hotline.FromUnixMilli(hotline.UnixMilli(r.CreatedAt))
	raw, err := json.Marshal(flags)
	if err != nil {
		return hotline.Review{}, wrapErr(op, subject, err)
	}
	if err := db.writer.GetContext(ctx, &r.ID, addReviewSQL, r.CallID, r.AgentID, r.SupervisorID, r.Score,
		string(raw), r.Comment, hotline.UnixMilli(r.CreatedAt)); err != nil {
		return hotline.Review{}, wrapErr(op, subject, err)
	}
	if len(flags) == 0 {
		flags = nil
	}
	r.Flags = flags
	return r, nil
}

// ReviewFilter selects reviews; empty fields select everything. Limit 0
// means 100.
type ReviewFilter struct {
	AgentID, CallID string
	Limit, Offset   int
}

type reviewRow struct {
	ID           int64  `db:"id"`
	CallID       string `db:"call_id"`
	AgentID      string `db:"agent_id"`
	SupervisorID string `db:"supervisor_id"`
	Score        int    `db:"score"`
	Flags        string `db:"flags"`
	Comment      string `db:"comment"`
	CreatedMs    int64  `db:"created_ms"`
}

// listReviewsSQL reads reviews newest first, by agent and call when given
// (indexes reviews_by_agent, reviews_by_call).
const listReviewsSQL = `
SELECT id, call_id, agent_id, supervisor_id, score, flags, comment, created_ms FROM reviews
WHERE (?1 = '' OR agent_id = ?1) AND (?2 = '' OR call_id = ?2)
ORDER BY created_ms DESC, id DESC LIMIT ?3 OFFSET ?4`

// ListReviews returns the reviews f selects, newest first.
func (db *DB) ListReviews(ctx context.Context, f ReviewFilter) ([]hotline.Review, error) {
	const op = "store.ListReviews"
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var rows []reviewRow
	if err := db.reader.SelectContext(ctx, &rows, listReviewsSQL, f.AgentID, f.CallID, f.Limit, max(f.Offset, 0)); err != nil {
		return nil, wrapErr(op, "reviews", err)
	}
	out := make([]hotline.Review, len(rows))
	for i, r := range rows {
		var flags []string
		if err := json.Unmarshal([]byte(r.Flags), &flags); err != nil {
			return nil, wrapErr(op, fmt.Sprintf("review %d", r.ID), err)
		}
		if len(flags) == 0 {
			flags = nil
		}
		out[i] = hotline.Review{ID: r.ID, CallID: r.CallID, AgentID: r.AgentID, SupervisorID: r.SupervisorID,
			Score: r.Score, Flags: flags, Comment: r.Comment, CreatedAt: hotline.FromUnixMilli(r.CreatedMs)}
	}
	return out, nil
}
