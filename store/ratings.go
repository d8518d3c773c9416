package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// ratingRow is a ratings row as the statements read and write it.
type ratingRow struct {
	CallID  string `db:"call_id"`
	AgentID string `db:"agent_id"`
	Score   int    `db:"score"`
	RatedMs int64  `db:"rated_ms"`
}

func ratingToRow(r hotline.Rating) ratingRow {
	return ratingRow{
		CallID:  r.CallID,
		AgentID: r.AgentID,
		Score:   int(r.Score),
		RatedMs: hotline.UnixMilli(r.RatedAt),
	}
}

func (r ratingRow) rating() hotline.Rating {
	return hotline.Rating{
		CallID:  r.CallID,
		AgentID: r.AgentID,
		Score:   hotline.Satisfaction(r.Score),
		RatedAt: hotline.FromUnixMilli(r.RatedMs),
	}
}

// saveRatingSQL inserts the ratings row of a call, or, when the call already
// has one that is still 0 ("not rated") and of the same agent, writes its
// score and rated_ms. It changes no row otherwise.
const saveRatingSQL = `
INSERT INTO ratings (call_id, agent_id, score, rated_ms)
VALUES (:call_id, :agent_id, :score, :rated_ms)
ON CONFLICT (call_id) DO UPDATE SET
    score    = excluded.score,
    rated_ms = excluded.rated_ms
WHERE ratings.score = 0 AND ratings.agent_id = excluded.agent_id`

// callRatingSQL reads the ratings row of one call.
const callRatingSQL = `SELECT call_id, agent_id, score, rated_ms FROM ratings WHERE call_id = ?`

// SaveRating stores the citizen's survey answer for a call: one rating per
// call, tied to the agent who took it. A second save for the same call
// replaces the first only while the first is 0 ("not rated", e.g. the
// citizen hung up during the survey and it was retried) and names the same
// agent; otherwise it is a conflict and the first stands. A score outside
// 0..5 is invalid, and so are an unknown call or agent.
func (db *DB) SaveRating(ctx context.Context, r hotline.Rating) error {
	const op = "store.SaveRating"
	subject := fmt.Sprintf("rating of call %q", r.CallID)
	switch {
	case strings.TrimSpace(r.CallID) == "":
		return hotline.Errorf(hotline.KindInvalid, op, "rating: call id is required")
	case strings.TrimSpace(r.AgentID) == "":
		return hotline.Errorf(hotline.KindInvalid, op, "%s: agent is required", subject)
	case r.Score != 0 && !r.Score.Valid():
		return hotline.Errorf(hotline.KindInvalid, op, "%s: score %d must be 0 (not rated) or 1..5", subject, r.Score)
	case r.RatedAt.IsZero():
		return hotline.Errorf(hotline.KindInvalid, op, "%s: rating time is required", subject)
	}
	stmt, err := db.namedWrite(ctx, saveRatingSQL)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.NamedStmtContext(ctx, stmt).ExecContext(ctx, ratingToRow(r))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		// No row changed: the call already has a rating that stands.
		stored, err := readRating(ctx, tx, r.CallID)
		if err != nil {
			return err
		}
		if stored == nil {
			return fmt.Errorf("no rating stored and none inserted")
		}
		if stored.AgentID != r.AgentID {
			return hotline.Errorf(hotline.KindConflict, op,
				"call %q is rated for agent %q, not %q", r.CallID, stored.AgentID, r.AgentID)
		}
		return hotline.Errorf(hotline.KindConflict, op, "call %q is already rated %d", r.CallID, stored.Score)
	})
	return wrapErr(op, subject, err)
}

// readRating returns the rating of call callID through q, or nil when it has
// none.
func readRating(ctx context.Context, q sqlx.QueryerContext, callID string) (*hotline.Rating, error) {
	var row ratingRow
	err := sqlx.GetContext(ctx, q, &row, callRatingSQL, callID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rating := row.rating()
	return &rating, nil
}
