package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Violations (clauses 7.1.4–7.1.6): the occurrence is recorded once and never
// changes (trigger violations_occurrence_is_final); a supervisor's
// disposition may change, and the trigger violations_record_disposition
// keeps every one in violation_dispositions.

// violationRow is a violations row as the statements read and write it.
type violationRow struct {
	ID            int64          `db:"id"`
	Kind          string         `db:"kind"`
	AgentID       string         `db:"agent_id"`
	CallID        sql.NullString `db:"call_id"`    // NULL when not about a call
	TaskID        sql.NullInt64  `db:"task_id"`    // NULL when not about a callback task
	PromiseID     sql.NullInt64  `db:"promise_id"` // NULL when not about a promise
	AtMs          int64          `db:"at_ms"`
	Detail        string         `db:"detail"`
	Disposition   string         `db:"disposition"`
	DisposedBy    string         `db:"disposed_by"`
	DisposedMs    int64          `db:"disposed_ms"`
	DisposeReason string         `db:"dispose_reason"`
}

func violationToRow(v hotline.Violation) violationRow {
	return violationRow{
		ID:            v.ID,
		Kind:          string(v.Kind),
		AgentID:       v.AgentID,
		CallID:        nullString(v.CallID),
		TaskID:        nullID(v.TaskID),
		PromiseID:     nullID(v.PromiseID),
		AtMs:          hotline.UnixMilli(v.At),
		Detail:        v.Detail,
		Disposition:   string(v.Disposition),
		DisposedBy:    v.DisposedBy,
		DisposedMs:    hotline.UnixMilli(v.DisposedAt),
		DisposeReason: v.DisposeReason,
	}
}

func (r violationRow) violation() hotline.Violation {
	return hotline.Violation{
		ID:            r.ID,
		Kind:          hotline.ViolationKind(r.Kind),
		AgentID:       r.AgentID,
		CallID:        r.CallID.String,
		TaskID:        r.TaskID.Int64,
		PromiseID:     r.PromiseID.Int64,
		At:            hotline.FromUnixMilli(r.AtMs),
		Detail:        r.Detail,
		Disposition:   hotline.Disposition(r.Disposition),
		DisposedBy:    r.DisposedBy,
		DisposedAt:    hotline.FromUnixMilli(r.DisposedMs),
		DisposeReason: r.DisposeReason,
	}
}

// nullID stores 0 as NULL, for optional integer references.
func nullID(id int64) sql.NullInt64 {
	return sql.NullInt64{Int64: id, Valid: id != 0}
}

// validViolationKind reports whether k is one of hotline's violation kinds;
// the CHECK of violations.kind (00003) lists the same.
func validViolationKind(k hotline.ViolationKind) bool {
	switch k {
	case hotline.ViolationCallbackOverdue, hotline.ViolationPromiseOverdue, hotline.ViolationRingDeclined,
		hotline.ViolationRingNotAnswered, hotline.ViolationReferralLoop:
		return true
	}
	return false
}

const violationColumns = `id, kind, agent_id, call_id, task_id, promise_id, at_ms, detail,
    disposition, disposed_by, disposed_ms, dispose_reason`

// addViolationSQL inserts one open violations row; SQLite picks its id.
const addViolationSQL = `
INSERT INTO violations (kind, agent_id, call_id, task_id, promise_id, at_ms, detail)
VALUES (:kind, :agent_id, :call_id, :task_id, :promise_id, :at_ms, :detail)
RETURNING id`

// AddViolation records an occurrence against an agent, still open (no
// disposition), and returns its id; v.ID is ignored. The kind, agent and
// time are required, and a disposition is refused: DisposeViolation decides
// one. An unknown agent, call, task or promise is invalid.
func (db *DB) AddViolation(ctx context.Context, v hotline.Violation) (int64, error) {
	const op = "store.AddViolation"
	subject := fmt.Sprintf("%s violation of agent %q", v.Kind, v.AgentID)
	switch {
	case !validViolationKind(v.Kind):
		return 0, hotline.Errorf(hotline.KindInvalid, op, "violation: unknown kind %q", v.Kind)
	case strings.TrimSpace(v.AgentID) == "":
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: the agent is required", subject)
	case v.At.IsZero():
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: the time is required", subject)
	case v.Disposition != hotline.DispositionOpen || v.DisposedBy != "" || !v.DisposedAt.IsZero() || v.DisposeReason != "":
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: a violation is recorded open; DisposeViolation decides it", subject)
	}
	var id int64
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) (err error) {
		id, err = insertViolation(ctx, tx, v)
		return err
	})
	if err != nil {
		return 0, wrapErr(op, subject, err)
	}
	return id, nil
}

// addViolationsSQL inserts one open violations row per element of a JSON
// array of {kind, agent, call, task, promise, at, detail} (call, task and
// promise null when not about one), and reads each new id with its
// task_id and promise_id.
const addViolationsSQL = `
INSERT INTO violations (kind, agent_id, call_id, task_id, promise_id, at_ms, detail)
SELECT value ->> '$.kind', value ->> '$.agent', value ->> '$.call', value ->> '$.task', value ->> '$.promise',
       value ->> '$.at', value ->> '$.detail'
FROM json_each(?)
RETURNING id, task_id, promise_id`

// insertViolations records vs through tx in one statement and returns them
// with their ids. A violation is told from the others by its task or
// promise: each of vs must name a different one.
func insertViolations(ctx context.Context, tx *sqlx.Tx, vs []hotline.Violation) ([]hotline.Violation, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	type jsonViolation struct {
		Kind    hotline.ViolationKind `json:"kind"`
		Agent   string                `json:"agent"`
		Call    *string               `json:"call"`
		Task    *int64                `json:"task"`
		Promise *int64                `json:"promise"`
		At      int64                 `json:"at"`
		Detail  string                `json:"detail"`
	}
	rows := make([]jsonViolation, len(vs))
	byRef := make(map[int64]int, len(vs))
	for i, v := range vs {
		r := violationToRow(v)
		rows[i] = jsonViolation{Kind: v.Kind, Agent: v.AgentID, At: r.AtMs, Detail: v.Detail}
		if r.CallID.Valid {
			rows[i].Call = &r.CallID.String
		}
		if r.TaskID.Valid {
			rows[i].Task = &r.TaskID.Int64
		}
		if r.PromiseID.Valid {
			rows[i].Promise = &r.PromiseID.Int64
		}
		byRef[v.TaskID+v.PromiseID] = i
	}
	data, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	var added []struct {
		ID        int64         `db:"id"`
		TaskID    sql.NullInt64 `db:"task_id"`
		PromiseID sql.NullInt64 `db:"promise_id"`
	}
	if err := tx.SelectContext(ctx, &added, addViolationsSQL, string(data)); err != nil {
		return nil, err
	}
	out := slices.Clone(vs)
	for _, a := range added {
		out[byRef[a.TaskID.Int64+a.PromiseID.Int64]].ID = a.ID
	}
	return out, nil
}

// insertViolation runs addViolationSQL in tx (its own, or the one that
// transaction that records the violation with what caused it) and returns
// the new id.
func insertViolation(ctx context.Context, tx *sqlx.Tx, v hotline.Violation) (int64, error) {
	query, args, err := tx.BindNamed(addViolationSQL, violationToRow(v))
	if err != nil {
		return 0, err
	}
	var id int64
	return id, tx.GetContext(ctx, &id, query, args...)
}

// ViolationFilter selects violations for ListViolations; zero fields select
// everything.
type ViolationFilter struct {
	AgentID    string                // recorded against this agent
	Kind       hotline.ViolationKind // of this kind
	Undisposed bool                  // only those without a disposition yet
	Limit      int                   // at most this many; 0 means DefaultListLimit, at most MaxListLimit
	Offset     int                   // skipping this many of the newest
}

// listViolationsSQL reads violations rows, newest first; ListViolations
// fills in the conditions of the WHERE clause from a ViolationFilter, each
// on an indexed column (violations_by_agent, violations_by_kind,
// violations_by_disposition, or violations_by_at without one).
const listViolationsSQL = `SELECT ` + violationColumns + ` FROM violations WHERE %s
ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?`

// ListViolations returns the violations that match f, newest first.
func (db *DB) ListViolations(ctx context.Context, f ViolationFilter) ([]hotline.Violation, error) {
	const op = "store.ListViolations"
	limit, err := pageLimit(op, f.Limit, f.Offset)
	if err != nil {
		return nil, err
	}
	conds := []string{"TRUE"}
	var args []any
	if f.AgentID != "" {
		conds, args = append(conds, "agent_id = ?"), append(args, f.AgentID)
	}
	if f.Kind != "" {
		conds, args = append(conds, "kind = ?"), append(args, f.Kind)
	}
	if f.Undisposed {
		conds = append(conds, "disposition = ''")
	}
	return selectPage(ctx, db, op, "violations", listViolationsSQL, conds, args, limit, f.Offset, violationRow.violation)
}

// disposeViolationSQL writes the disposition of one violations row and
// reads the row back; the trigger violations_record_disposition adds the
// violation_dispositions row in the same statement.
const disposeViolationSQL = `
UPDATE violations SET disposition = ?, disposed_by = ?, disposed_ms = ?, dispose_reason = ?
WHERE id = ?
RETURNING ` + violationColumns

// DisposeViolation records a supervisor's decision on violation id:
// confirmed, or dismissed (which needs a reason), by by at now. A later
// decision replaces the current one; every decision stays in the history
// (DispositionHistory), and the occurrence itself (kind, agent, time, ids,
// detail) never changes. NotFound when there is no such violation.
func (db *DB) DisposeViolation(ctx context.Context, id int64, d hotline.Disposition, by, reason string, now time.Time) (hotline.Violation, error) {
	const op = "store.DisposeViolation"
	subject := fmt.Sprintf("violation %d", id)
	by, reason = strings.TrimSpace(by), strings.TrimSpace(reason)
	switch {
	case d != hotline.DispositionConfirmed && d != hotline.DispositionDismissed:
		return hotline.Violation{}, hotline.Errorf(hotline.KindInvalid, op, "%s: disposition %q must be confirmed or dismissed", subject, d)
	case d == hotline.DispositionDismissed && reason == "":
		return hotline.Violation{}, hotline.Errorf(hotline.KindInvalid, op, "%s: dismissing it needs a reason", subject)
	case by == "":
		return hotline.Violation{}, hotline.Errorf(hotline.KindInvalid, op, "%s: who decides is required", subject)
	case now.IsZero():
		return hotline.Violation{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the time is required", subject)
	}
	var row violationRow
	err := db.writer.GetContext(ctx, &row, disposeViolationSQL, d, by, hotline.UnixMilli(now), reason, id)
	if err != nil {
		return hotline.Violation{}, wrapErr(op, subject, err)
	}
	return row.violation(), nil
}

// DispositionChange is one decision in a violation's history.
type DispositionChange struct {
	ID          int64               `json:"id"`
	ViolationID int64               `json:"violation_id"`
	From        hotline.Disposition `json:"from"` // the disposition it replaced; "" for the first
	To          hotline.Disposition `json:"to"`
	By          string              `json:"by"`
	At          time.Time           `json:"at"`
	Reason      string              `json:"reason,omitempty"`
}

// violationExistsSQL reads whether one violations row exists.
const violationExistsSQL = `SELECT EXISTS (SELECT 1 FROM violations WHERE id = ?)`

// dispositionHistorySQL reads the violation_dispositions rows of one
// violation, oldest first.
const dispositionHistorySQL = `
SELECT id, violation_id, from_disposition, disposition, disposed_by, disposed_ms, reason
FROM violation_dispositions WHERE violation_id = ? ORDER BY id`

// DispositionHistory returns every disposition given to violation id, oldest
// first; empty while it has none. NotFound when there is no such violation.
func (db *DB) DispositionHistory(ctx context.Context, id int64) ([]DispositionChange, error) {
	const op = "store.DispositionHistory"
	var rows []struct {
		ID              int64  `db:"id"`
		ViolationID     int64  `db:"violation_id"`
		FromDisposition string `db:"from_disposition"`
		Disposition     string `db:"disposition"`
		DisposedBy      string `db:"disposed_by"`
		DisposedMs      int64  `db:"disposed_ms"`
		Reason          string `db:"reason"`
	}
	err := db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		var exists bool
		if err := tx.GetContext(ctx, &exists, violationExistsSQL, id); err != nil {
			return err
		}
		if !exists {
			return sql.ErrNoRows
		}
		return tx.SelectContext(ctx, &rows, dispositionHistorySQL, id)
	})
	if err != nil {
		return nil, wrapErr(op, fmt.Sprintf("violation %d", id), err)
	}
	changes := make([]DispositionChange, 0, len(rows))
	for _, r := range rows {
		changes = append(changes, DispositionChange{
			ID:          r.ID,
			ViolationID: r.ViolationID,
			From:        hotline.Disposition(r.FromDisposition),
			To:          hotline.Disposition(r.Disposition),
			By:          r.DisposedBy,
			At:          hotline.FromUnixMilli(r.DisposedMs),
			Reason:      r.Reason,
		})
	}
	return changes, nil
}

// getViolationSQL reads one violations row by id.
const getViolationSQL = `SELECT ` + violationColumns + ` FROM violations WHERE id = ?`

// GetViolation returns violation id; NotFound when there is none.
func (db *DB) GetViolation(ctx context.Context, id int64) (hotline.Violation, error) {
	const op = "store.GetViolation"
	var row violationRow
	if err := db.reader.GetContext(ctx, &row, getViolationSQL, id); err != nil {
		return hotline.Violation{}, wrapErr(op, fmt.Sprintf("violation %d", id), err)
	}
	return row.violation(), nil
}
