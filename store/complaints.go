package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"hotline"
)

// complaintRow is a complaints row as the statements read and write it.
type complaintRow struct {
	ID          int64          `db:"id"`
	AgentID     string         `db:"agent_id"`
	CallID      sql.NullString `db:"call_id"`       // NULL when not known
	AboutCallID sql.NullString `db:"about_call_id"` // NULL when not known
	Summary     string         `db:"summary"`
	RecordedBy  string         `db:"recorded_by"`
	RecordedMs  int64          `db:"recorded_ms"`
}

func (r complaintRow) complaint() hotline.Complaint {
	return hotline.Complaint{
		ID: r.ID, AgentID: r.AgentID, CallID: r.CallID.String, AboutCallID: r.AboutCallID.String,
		Summary: r.Summary, RecordedBy: r.RecordedBy, RecordedAt: hotline.FromUnixMilli(r.RecordedMs),
	}
}

// addComplaintSQL inserts one complaints row and reads its id.
const addComplaintSQL = `
INSERT INTO complaints (agent_id, call_id, about_call_id, summary, recorded_by, recorded_ms)
VALUES (?, ?, ?, ?, ?, ?) RETURNING id`

// AddComplaint stores a complaint and returns it with its id; RecordedAt
// is the store's clock when zero. Who may record one is the caller's rule;
// an unknown agent, recorder or call is invalid input.
func (db *DB) AddComplaint(ctx context.Context, c hotline.Complaint) (hotline.Complaint, error) {
	const op = "store.AddComplaint"
	c.AgentID, c.CallID, c.AboutCallID = strings.TrimSpace(c.AgentID), strings.TrimSpace(c.CallID), strings.TrimSpace(c.AboutCallID)
	c.Summary, c.RecordedBy = strings.TrimSpace(c.Summary), strings.TrimSpace(c.RecordedBy)
	if c.RecordedAt.IsZero() {
		c.RecordedAt = db.now()
	}
	c.RecordedAt = hotline.FromUnixMilli(hotline.UnixMilli(c.RecordedAt))
	if err := c.Validate(); err != nil {
		return hotline.Complaint{}, err
	}
	err := db.writer.GetContext(ctx, &c.ID, addComplaintSQL, c.AgentID, nullString(c.CallID), nullString(c.AboutCallID),
		c.Summary, c.RecordedBy, hotline.UnixMilli(c.RecordedAt))
	if err != nil {
		return hotline.Complaint{}, wrapErr(op, fmt.Sprintf("complaint against %q", c.AgentID), err)
	}
	return c, nil
}

// ComplaintFilter selects complaints; zero fields select everything.
type ComplaintFilter struct {
	AgentID string // against this staff member
	Limit   int    // at most this many; 0 means DefaultListLimit, at most MaxListLimit
	Offset  int    // skipping this many of the newest
}

// listComplaintsSQL reads complaints rows newest first; ListComplaints
// fills in the WHERE clause (complaints_by_agent for one agent).
const listComplaintsSQL = `
SELECT id, agent_id, call_id, about_call_id, summary, recorded_by, recorded_ms FROM complaints
WHERE %s ORDER BY recorded_ms DESC, id DESC LIMIT ? OFFSET ?`

// ListComplaints returns the complaints f selects, newest first.
func (db *DB) ListComplaints(ctx context.Context, f ComplaintFilter) ([]hotline.Complaint, error) {
	const op = "store.ListComplaints"
	limit, err := pageLimit(op, f.Limit, f.Offset)
	if err != nil {
		return nil, err
	}
	conds, args := []string{"TRUE"}, []any{}
	if f.AgentID != "" {
		conds, args = append(conds, "agent_id = ?"), append(args, f.AgentID)
	}
	return selectPage(ctx, db, op, "complaints", listComplaintsSQL, conds, args, limit, f.Offset, complaintRow.complaint)
}
