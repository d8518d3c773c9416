package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Loader writes whole rows as given, many to a transaction, for the store
// benchmark and tests that need millions of rows: calls with their legs
// and rating, callback tasks, promises, violations, reviews, complaints.
// It writes facts that happened, in their final state, so it skips the
// steps the service takes to reach them (a violation's disposition
// history, a promise's extensions); the schema's constraints and triggers
// still hold, agent_days included. Not safe for concurrent use.
type Loader struct {
	ctx     context.Context
	db      *DB
	batch   int // rows per transaction
	pending int
	tx      *sqlx.Tx
	stmts   map[string]*sqlx.Stmt
	// dropped are the definitions of the indexes and triggers a bulk
	// load dropped, made again on Close; nil for an ordinary Loader.
	dropped []string
}

// Loader statements: each inserts one row of its table, all columns the
// domain type carries.
const (
	loadCallSQL = `INSERT INTO calls (id, channel_id, caller_raw, caller_number, dialed_number, line, state,
    missed_reason, first_responsible_agent, recording_name, voicemail_name, arrived_ms, answered_ms, ended_ms, updated_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	loadLegSQL = `INSERT INTO call_legs (call_id, agent_id, channel_id, outcome, cause, rung_ms, answered_ms, ended_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	loadRatingSQL = `INSERT INTO ratings (call_id, agent_id, score, rated_ms) VALUES (?, ?, ?, ?)`
	loadTaskSQL   = `INSERT INTO callback_tasks (number, state, agent_id, missed_count, attempts, first_missed_ms,
    deadline_ms, next_attempt_ms, lease_token, lease_until_ms, escalated_ms, created_ms, closed_ms, close_reason, closed_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	loadTaskCallSQL = `INSERT INTO callback_task_calls (call_id, task_id) VALUES (?, ?)`
	loadPromiseSQL  = `INSERT INTO promises (call_id, number, agent_id, created_by, summary, department, state,
    deadline_ms, original_deadline_ms, created_ms, fulfilled_ms, fulfilled_how, fulfilled_by, evidence, escalated_ms,
    closed_ms, close_reason, closed_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	loadViolationSQL = `INSERT INTO violations (kind, agent_id, call_id, task_id, promise_id, at_ms, detail,
    disposition, disposed_by, disposed_ms, dispose_reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	loadReviewSQL = `INSERT INTO reviews (call_id, agent_id, supervisor_id, score, flags, comment, created_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)`
	loadComplaintSQL = `INSERT INTO complaints (agent_id, call_id, about_call_id, summary, recorded_by, recorded_ms)
VALUES (?, ?, ?, ?, ?, ?)`
)

// NewLoader starts a Loader that commits every batch rows (a call with its
// legs and rating counts one). It holds the writer between batches: use
// the DB's other writing methods only after Close.
func (db *DB) NewLoader(ctx context.Context, batch int) (*Loader, error) {
	if batch < 1 {
		return nil, hotline.Errorf(hotline.KindInvalid, "store.NewLoader", "batch %d must be at least 1", batch)
	}
	return &Loader{ctx: ctx, db: db, batch: batch}, nil
}

// loadedTables are the tables a Loader writes.
var loadedTables = []string{"calls", "call_legs", "ratings", "callback_tasks", "callback_task_calls", "promises",
	"violations", "reviews", "complaints"}

// bulkDroppedSQL reads the definitions of the indexes of the tables a
// Loader writes (those of constraints excepted: they have no sql) and of
// the triggers that keep agent_days, from sqlite_master; indexes last, so
// that they are made again first.
const bulkDroppedSQL = `
SELECT type, name, sql FROM sqlite_master
WHERE sql IS NOT NULL AND (
    (type = 'index' AND tbl_name IN (SELECT value FROM json_each(?)))
    OR (type = 'trigger' AND sql LIKE '%agent_days%'))
ORDER BY type = 'index', name`

// syncOffSQL lets the writer's commits return before the disk has them (a
// crash may lose the last ones); syncNormalSQL is the store's usual
// setting again.
const (
	syncOffSQL    = `PRAGMA synchronous = OFF`
	syncNormalSQL = `PRAGMA synchronous = NORMAL`
)

// NewBulkLoader is NewLoader for filling a database that holds no calls
// yet with millions of rows (the store benchmark), at the cost of what the
// service needs while it runs: it drops the indexes of the tables it
// writes and the triggers that keep agent_days, writes without waiting for
// the disk (synchronous off), and Close builds the indexes again, makes the
// triggers again and counts agent_days from the rows, as a change of the
// report's zone does. A bulk load stopped before Close leaves a database
// without those indexes and triggers: it is for benchmarks only. SQLite
// only.
func (db *DB) NewBulkLoader(ctx context.Context, batch int) (*Loader, error) {
	const op = "store.NewBulkLoader"
	if db.dialect != sqliteDialect {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "a bulk load is for SQLite only")
	}
	l, err := db.NewLoader(ctx, batch)
	if err != nil {
		return nil, err
	}
	var defs []struct {
		Type string `db:"type"`
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	tables, _ := json.Marshal(loadedTables) // strings always marshal
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &defs, bulkDroppedSQL, string(tables)); err != nil {
			return err
		}
		for _, d := range defs {
			// DROP INDEX / DROP TRIGGER of a name read from sqlite_master.
			if _, err := tx.ExecContext(ctx, "DROP "+strings.ToUpper(d.Type)+" "+quoteIdent(d.Name)); err != nil {
				return err
			}
			l.dropped = append(l.dropped, d.SQL)
		}
		return nil
	})
	if err == nil {
		_, err = db.writer.ExecContext(ctx, syncOffSQL)
	}
	if err != nil {
		return nil, wrapErr(op, "indexes and triggers", err)
	}
	// Made again last to first: the indexes before the triggers.
	slices.Reverse(l.dropped)
	return l, nil
}

// quoteIdent quotes a SQL identifier.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// finishBulk makes the dropped indexes and triggers again, counts
// agent_days from the rows and waits for the disk again.
func (l *Loader) finishBulk() error {
	if l.dropped == nil {
		return nil
	}
	ctx := l.ctx
	err := l.db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range l.dropped {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return recountDays(ctx, tx)
	})
	l.dropped = nil
	_, syncErr := l.db.writer.ExecContext(ctx, syncNormalSQL)
	return errors.Join(err, syncErr)
}

// exec runs one of the loader's statements in the current transaction,
// beginning one when none is open.
func (l *Loader) exec(query string, args ...any) (sql.Result, error) {
	if err := l.begin(); err != nil {
		return nil, err
	}
	return l.stmts[query].ExecContext(l.ctx, args...)
}

func (l *Loader) begin() error {
	if l.tx != nil {
		return nil
	}
	tx, err := l.db.writer.BeginTxx(l.ctx, nil)
	if err != nil {
		return err
	}
	l.tx, l.stmts = tx, map[string]*sqlx.Stmt{}
	for _, q := range []string{loadCallSQL, loadLegSQL, loadRatingSQL, loadTaskSQL, loadTaskCallSQL, loadPromiseSQL,
		loadViolationSQL, loadReviewSQL, loadComplaintSQL} {
		stmt, err := tx.PreparexContext(l.ctx, q)
		if err != nil {
			return errors.Join(err, tx.Rollback())
		}
		l.stmts[q] = stmt
	}
	return nil
}

// row counts one row and commits when the batch is full.
func (l *Loader) row() error {
	l.pending++
	if l.pending < l.batch {
		return nil
	}
	return l.commit()
}

func (l *Loader) commit() error {
	if l.tx == nil {
		return nil
	}
	tx := l.tx
	l.tx, l.pending = nil, 0
	return tx.Commit()
}

// Close commits what is pending, and ends a bulk load (NewBulkLoader).
func (l *Loader) Close() error {
	err := l.commit()
	if err == nil {
		err = l.finishBulk()
	}
	return wrapErr("store.Loader.Close", "loaded rows", err)
}

// Call writes c with its Legs and its Rating (when not nil).
func (l *Loader) Call(c hotline.Call) error {
	const op = "store.Loader.Call"
	subject := fmt.Sprintf("call %q", c.ID)
	if err := validateCall(op, c); err != nil {
		return err
	}
	r := callToRow(c)
	if _, err := l.exec(loadCallSQL, r.ID, r.ChannelID, r.CallerRaw, r.CallerNumber, r.DialedNumber, r.Line, r.State,
		r.MissedReason, r.FirstResponsibleAgent, r.RecordingName, r.VoicemailName, r.ArrivedMs, r.AnsweredMs, r.EndedMs,
		max(r.EndedMs, r.AnsweredMs, r.ArrivedMs)); err != nil {
		return wrapErr(op, subject, err)
	}
	for _, leg := range c.Legs {
		lr := legToRow(leg)
		if _, err := l.exec(loadLegSQL, c.ID, lr.AgentID, lr.ChannelID, lr.Outcome, lr.Cause, lr.RungMs, lr.AnsweredMs, lr.EndedMs); err != nil {
			return wrapErr(op, subject, err)
		}
	}
	if c.Rating != nil {
		rr := ratingToRow(*c.Rating)
		if _, err := l.exec(loadRatingSQL, c.ID, rr.AgentID, rr.Score, rr.RatedMs); err != nil {
			return wrapErr(op, subject, err)
		}
	}
	return wrapErr(op, subject, l.row())
}

// Task writes callback task t, linked to its CallIDs, and returns its id.
func (l *Loader) Task(t hotline.CallbackTask) (int64, error) {
	const op = "store.Loader.Task"
	subject := fmt.Sprintf("callback task of %s", t.Number)
	var lease sql.NullString
	if t.LeaseToken != "" {
		lease = sql.NullString{String: t.LeaseToken, Valid: true}
	}
	if err := l.begin(); err != nil {
		return 0, wrapErr(op, subject, err)
	}
	var id int64
	err := l.stmts[loadTaskSQL].GetContext(l.ctx, &id, t.Number, t.State, nullString(t.AgentID), t.MissedCount, t.Attempts,
		hotline.UnixMilli(t.FirstMissed), hotline.UnixMilli(t.Deadline), hotline.UnixMilli(t.NextAttempt), lease,
		hotline.UnixMilli(t.LeaseUntil), hotline.UnixMilli(t.EscalatedAt), hotline.UnixMilli(t.CreatedAt),
		hotline.UnixMilli(t.ClosedAt), t.CloseReason, t.ClosedBy)
	if err != nil {
		return 0, wrapErr(op, subject, err)
	}
	for _, callID := range t.CallIDs {
		if _, err := l.exec(loadTaskCallSQL, callID, id); err != nil {
			return 0, wrapErr(op, subject, err)
		}
	}
	return id, wrapErr(op, subject, l.row())
}

// Promise writes promise p as it stands (no extensions, no reminders).
func (l *Loader) Promise(p hotline.Promise) error {
	const op = "store.Loader.Promise"
	_, err := l.exec(loadPromiseSQL, p.CallID, p.Number, p.AgentID, p.CreatedBy, p.Summary, p.Department, p.State,
		hotline.UnixMilli(p.Deadline), hotline.UnixMilli(p.OriginalDeadline), hotline.UnixMilli(p.CreatedAt),
		hotline.UnixMilli(p.FulfilledAt), p.FulfilledHow, p.FulfilledBy, p.Evidence, hotline.UnixMilli(p.EscalatedAt),
		hotline.UnixMilli(p.ClosedAt), p.CloseReason, p.ClosedBy)
	if err != nil {
		return wrapErr(op, fmt.Sprintf("promise on call %q", p.CallID), err)
	}
	return wrapErr(op, "promise", l.row())
}

// Violation writes v with its current disposition (no history).
func (l *Loader) Violation(v hotline.Violation) error {
	const op = "store.Loader.Violation"
	r := violationToRow(v)
	_, err := l.exec(loadViolationSQL, r.Kind, r.AgentID, r.CallID, r.TaskID, r.PromiseID, r.AtMs, r.Detail,
		r.Disposition, r.DisposedBy, r.DisposedMs, r.DisposeReason)
	if err != nil {
		return wrapErr(op, fmt.Sprintf("%s violation of %q", v.Kind, v.AgentID), err)
	}
	return wrapErr(op, "violation", l.row())
}

// Review writes review r.
func (l *Loader) Review(r hotline.Review) error {
	const op = "store.Loader.Review"
	flags := r.Flags
	if flags == nil {
		flags = []string{}
	}
	raw, err := json.Marshal(flags)
	if err != nil {
		return wrapErr(op, "review", err)
	}
	if _, err := l.exec(loadReviewSQL, r.CallID, r.AgentID, r.SupervisorID, r.Score, string(raw), r.Comment,
		hotline.UnixMilli(r.CreatedAt)); err != nil {
		return wrapErr(op, fmt.Sprintf("review of call %q", r.CallID), err)
	}
	return wrapErr(op, "review", l.row())
}

// Complaint writes complaint c.
func (l *Loader) Complaint(c hotline.Complaint) error {
	const op = "store.Loader.Complaint"
	if err := c.Validate(); err != nil {
		return err
	}
	if _, err := l.exec(loadComplaintSQL, c.AgentID, nullString(c.CallID), nullString(c.AboutCallID), c.Summary,
		c.RecordedBy, hotline.UnixMilli(c.RecordedAt)); err != nil {
		return wrapErr(op, fmt.Sprintf("complaint against %q", c.AgentID), err)
	}
	return wrapErr(op, "complaint", l.row())
}
