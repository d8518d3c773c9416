package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Promised replies (clause 6.2). A promise is owned by its call's
// first-responsible agent, whoever records it. Its deadline moves only with
// a supervisor's approval, recorded in promise_extensions before the move
// (trigger promises_deadline_moves_by_extension); the original deadline,
// owner and call never change (trigger promises_record_is_final).
//
// The unfinished states are open, overdue and escalated; fulfilled and
// closed are final, except that a supervisor may close a fulfilled promise.
// Reminders and escalation are decided here, in SQL, exactly once: a
// promise_reminders row per promise and lead time, and the one UPDATE that
// turns an open promise escalated.

// MaxPromiseText is the longest summary, evidence, reason or note a promise
// takes, in characters.
const MaxPromiseText = 2000

// Ways a promise is fulfilled (promises.fulfilled_how).
const (
	FulfilledByReplyCall = "reply_call" // evidence: the reply call's recording name or call id
	FulfilledByNote      = "note"       // evidence: the note
)

// unfinished reports whether a promise in state s still waits for its reply
// (hotline.PromiseState.Unfinished).
func unfinished(s string) bool { return hotline.PromiseState(s).Unfinished() }

// checkText trims s and checks that it has 1..MaxPromiseText characters;
// what names the text in the error.
func checkText(op, subject, what, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", hotline.Errorf(hotline.KindInvalid, op, "%s: %s is required", subject, what)
	case n > MaxPromiseText:
		return "", hotline.Errorf(hotline.KindInvalid, op, "%s: %s has %d characters, more than %d", subject, what, n, MaxPromiseText)
	}
	return s, nil
}

const promiseColumns = `id, call_id, number, agent_id, created_by, summary, department, state, deadline_ms,
    original_deadline_ms, created_ms, fulfilled_ms, fulfilled_how, fulfilled_by, evidence, escalated_ms,
    closed_ms, close_reason, closed_by`

// getPromiseSQL reads one promises row by id.
const getPromiseSQL = `SELECT ` + promiseColumns + ` FROM promises WHERE id = ?`

// promiseExtensionsSQL reads the promise_extensions rows of one promise,
// oldest first, through promise_extensions_by_promise.
const promiseExtensionsSQL = `
SELECT from_ms, to_ms, approved_by, reason, at_ms, from_state, escalated_ms FROM promise_extensions
WHERE promise_id = ? ORDER BY id`

// promiseRemindersSQL reads lead_ms of the promise_reminders rows of one
// promise, longest lead (the first sent) first, through its primary key.
const promiseRemindersSQL = `
SELECT lead_ms FROM promise_reminders WHERE promise_id = ? ORDER BY lead_ms DESC`

// readPromise returns the promise with id through q, with its extensions
// and the reminders sent for its current deadline.
func readPromise(ctx context.Context, q sqlx.QueryerContext, id int64) (hotline.Promise, error) {
	var row promiseRow
	if err := sqlx.GetContext(ctx, q, &row, getPromiseSQL, id); err != nil {
		return hotline.Promise{}, err
	}
	p := row.promise()
	var extensions []struct {
		FromMs      int64  `db:"from_ms"`
		ToMs        int64  `db:"to_ms"`
		ApprovedBy  string `db:"approved_by"`
		Reason      string `db:"reason"`
		AtMs        int64  `db:"at_ms"`
		FromState   string `db:"from_state"`
		EscalatedMs int64  `db:"escalated_ms"`
	}
	if err := sqlx.SelectContext(ctx, q, &extensions, promiseExtensionsSQL, id); err != nil {
		return hotline.Promise{}, err
	}
	for _, e := range extensions {
		p.Extensions = append(p.Extensions, hotline.PromiseExtension{
			From:        hotline.FromUnixMilli(e.FromMs),
			To:          hotline.FromUnixMilli(e.ToMs),
			ApprovedBy:  e.ApprovedBy,
			Reason:      e.Reason,
			At:          hotline.FromUnixMilli(e.AtMs),
			FromState:   hotline.PromiseState(e.FromState),
			EscalatedAt: hotline.FromUnixMilli(e.EscalatedMs),
		})
	}
	var leads []int64
	if err := sqlx.SelectContext(ctx, q, &leads, promiseRemindersSQL, id); err != nil {
		return hotline.Promise{}, err
	}
	for _, ms := range leads {
		p.RemindersSent = append(p.RemindersSent, time.Duration(ms)*time.Millisecond)
	}
	return p, nil
}

// GetPromise returns the promise with id, with its extensions (oldest
// first) and the lead times of the reminders sent for its current deadline
// (longest first), read from one snapshot; NotFound when there is none.
func (db *DB) GetPromise(ctx context.Context, id int64) (hotline.Promise, error) {
	return readOne(ctx, db, "store.GetPromise", fmt.Sprintf("promise %d", id), func(tx *sqlx.Tx) (hotline.Promise, error) {
		return readPromise(ctx, tx, id)
	})
}

// promiseCallSQL reads first_responsible_agent and caller_number of one
// calls row.
const promiseCallSQL = `SELECT first_responsible_agent, caller_number FROM calls WHERE id = ?`

// createPromiseSQL inserts one open promises row whose original deadline is
// its deadline; SQLite picks its id.
const createPromiseSQL = `
INSERT INTO promises (call_id, number, agent_id, created_by, summary, department, state,
                      deadline_ms, original_deadline_ms, created_ms)
VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)
RETURNING id`

// CreatePromise stores a promise made on call p.CallID and returns it as
// stored. The owner is the call's first-responsible agent, read in the same
// transaction, whatever p.AgentID says: Invalid when the call was never
// answered, NotFound when there is no such call. p.CreatedBy is who recorded
// it; whether they may is the access table's to decide (hotline.Authorize),
// before this is called.
// p.Number defaults to the call's caller number; the summary (1 to
// MaxPromiseText characters) is required; p.CreatedAt defaults to the DB's
// clock and p.Deadline must be after it; the promise starts open with
// OriginalDeadline = Deadline. A state other than open, or any fulfilment,
// escalation or close, is refused: the other statements record those.
func (db *DB) CreatePromise(ctx context.Context, p hotline.Promise) (hotline.Promise, error) {
	const op = "store.CreatePromise"
	subject := fmt.Sprintf("promise on call %q", p.CallID)
	if p.CreatedAt.IsZero() {
		p.CreatedAt = db.now()
	}
	summary, err := checkText(op, subject, "the summary", p.Summary)
	switch {
	case strings.TrimSpace(p.CallID) == "":
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "promise: the call id is required")
	case err != nil:
		return hotline.Promise{}, err
	case strings.TrimSpace(p.CreatedBy) == "":
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: who records it is required", subject)
	case p.Deadline.IsZero() || !p.Deadline.After(p.CreatedAt):
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op,
			"%s: deadline %s must be after the promise is made at %s", subject, p.Deadline, p.CreatedAt)
	case p.State != "" && p.State != hotline.PromiseOpen:
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: a promise is recorded open, not %s", subject, p.State)
	case !p.FulfilledAt.IsZero() || !p.EscalatedAt.IsZero() || !p.ClosedAt.IsZero() || p.FulfilledHow != "" || p.Evidence != "":
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: a new promise has no fulfilment, escalation or close", subject)
	}
	var created hotline.Promise
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var call struct {
			Agent  sql.NullString `db:"first_responsible_agent"`
			Number string         `db:"caller_number"`
		}
		if err := tx.GetContext(ctx, &call, promiseCallSQL, p.CallID); err != nil {
			return err
		}
		if !call.Agent.Valid {
			return hotline.Errorf(hotline.KindInvalid, op,
				"%s: the call was never answered, so it has no first-responsible agent to own a promise", subject)
		}
		number := p.Number
		if number == "" {
			number = call.Number
		}
		deadlineMs := hotline.UnixMilli(p.Deadline)
		var id int64
		if err := tx.GetContext(ctx, &id, createPromiseSQL, p.CallID, number, call.Agent.String, p.CreatedBy, summary,
			strings.TrimSpace(p.Department), deadlineMs, deadlineMs, hotline.UnixMilli(p.CreatedAt)); err != nil {
			return err
		}
		created, err = readPromise(ctx, tx, id)
		return err
	})
	if err != nil {
		return hotline.Promise{}, wrapErr(op, subject, err)
	}
	return created, nil
}

// PromiseFilter selects promises for ListPromises; State is a stored state
// or a group of the vocabulary (unfinished, overdue:
// hotline.PromiseStateNames).
type PromiseFilter = MatterFilter[hotline.PromiseState]

// listPromisesSQL reads promises rows in deadline order; ListPromises fills
// in the conditions of the WHERE clause from a PromiseFilter, each on an
// indexed column (promises_by_state, promises_by_agent_deadline,
// promises_by_number, or promises_by_deadline without one).
const listPromisesSQL = `SELECT ` + promiseColumns + ` FROM promises WHERE %s
ORDER BY deadline_ms, id LIMIT ? OFFSET ?`

// ListPromises returns the promises that match f, earliest deadline first,
// without their extensions and reminders (GetPromise reads those).
func (db *DB) ListPromises(ctx context.Context, f PromiseFilter) ([]hotline.Promise, error) {
	return listMatters(ctx, db, "store.ListPromises", "promise", listPromisesSQL, f, hotline.PromiseOverdue, promiseRow.promise)
}

// addExtensionSQL inserts one promise_extensions row; the trigger
// promise_extensions_by_supervisor refuses an approver who is no supervisor.
const addExtensionSQL = `
INSERT INTO promise_extensions (promise_id, from_ms, to_ms, approved_by, reason, at_ms, from_state, escalated_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// extendPromiseSQL moves deadline_ms of one unfinished promises row from the
// deadline read in the same transaction, makes it open again and clears its
// escalated_ms (kept in the extension row written just before).
var extendPromiseSQL = `
UPDATE promises SET deadline_ms = ?, state = 'open', escalated_ms = 0
WHERE id = ? AND deadline_ms = ? AND ` + promiseUnfinishedSQL

// clearRemindersSQL deletes the promise_reminders rows of one promise.
const clearRemindersSQL = `DELETE FROM promise_reminders WHERE promise_id = ?`

// ExtendPromise moves the deadline of promise id to newDeadline with the
// approval of supervisor approvedBy at now, for reason.
//
// approvedBy is the approving supervisor, an agents row (whether they may
// approve is the access table's to decide, before this is called); reason is
// required, and newDeadline must be after both the
// current deadline and now (Invalid). Only an unfinished promise moves
// (Conflict when fulfilled or closed); NotFound when there is none.
//
// The move is recorded in promise_extensions (from, to, approver, reason,
// time, and the state and escalation time the promise had), and the
// original deadline never changes. An overdue or escalated promise becomes
// open again with escalated_ms 0: its escalation time stays in the
// extension row, and its promise_overdue violation stays as recorded. The
// sent-reminder marks are cleared, so the reminders fire again before the
// new deadline.
func (db *DB) ExtendPromise(ctx context.Context, id int64, newDeadline time.Time, approvedBy, reason string, now time.Time) (hotline.Promise, error) {
	const op = "store.ExtendPromise"
	subject := fmt.Sprintf("promise %d", id)
	approvedBy = strings.TrimSpace(approvedBy)
	reason, err := checkText(op, subject, "the reason for the extension", reason)
	switch {
	case err != nil:
		return hotline.Promise{}, err
	case now.IsZero():
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the time of the approval is required", subject)
	}
	var p hotline.Promise
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var row promiseRow
		if err := tx.GetContext(ctx, &row, getPromiseSQL, id); err != nil {
			return err
		}
		if approvedBy == "" {
			return hotline.Errorf(hotline.KindInvalid, op, "%s: who approved the new deadline is required", subject)
		}
		if !unfinished(row.State) {
			return hotline.Errorf(hotline.KindConflict, op, "%s is %s: only an unfinished promise's deadline moves", subject, row.State)
		}
		current := hotline.FromUnixMilli(row.DeadlineMs)
		switch {
		case !newDeadline.After(current):
			return hotline.Errorf(hotline.KindInvalid, op, "%s: new deadline %s must be after the current one, %s", subject, newDeadline, current)
		case !newDeadline.After(now):
			return hotline.Errorf(hotline.KindInvalid, op, "%s: new deadline %s must be after the approval at %s", subject, newDeadline, now)
		}
		newMs := hotline.UnixMilli(newDeadline)
		if _, err := tx.ExecContext(ctx, addExtensionSQL, id, row.DeadlineMs, newMs, approvedBy, reason,
			hotline.UnixMilli(now), row.State, row.EscalatedMs); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, extendPromiseSQL, newMs, id, row.DeadlineMs)
		if err != nil {
			return err
		}
		if err := expectOneRow(op, subject, res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, clearRemindersSQL, id); err != nil {
			return err
		}
		p, err = readPromise(ctx, tx, id)
		return err
	})
	if err != nil {
		return hotline.Promise{}, wrapErr(op, subject, err)
	}
	return p, nil
}

// replyEvidenceSQL reads whether a calls row with the id, or a recordings
// row with the name, exists.
const replyEvidenceSQL = `
SELECT EXISTS (SELECT 1 FROM calls WHERE id = ?1) OR EXISTS (SELECT 1 FROM recordings WHERE name = ?1)`

// fulfilPromiseSQL makes one unfinished promises row fulfilled.
var fulfilPromiseSQL = `
UPDATE promises SET state = 'fulfilled', fulfilled_ms = ?, fulfilled_how = ?, fulfilled_by = ?, evidence = ?
WHERE id = ? AND ` + promiseUnfinishedSQL

// FulfilPromise records that promise id was answered at now by by: how is
// FulfilledByReplyCall, with evidence the reply call's recording name or
// call id (a recordings or calls row), or FulfilledByNote, with evidence the
// note; evidence is required either way (Invalid). by is who gave the reply:
// for a note, the access table has checked them (the owner or a
// supervisor); for a reply call, whichever agent made the recorded call,
// which may be a colleague near the deadline (callbacks.any_agent_within).
// Only an unfinished promise is fulfilled
// (Conflict); NotFound when there is none.
func (db *DB) FulfilPromise(ctx context.Context, id int64, how, evidence, by string, now time.Time) (hotline.Promise, error) {
	const op = "store.FulfilPromise"
	subject := fmt.Sprintf("promise %d", id)
	by = strings.TrimSpace(by)
	var what string
	switch how {
	case FulfilledByReplyCall:
		what = "the reply call's recording name or call id"
	case FulfilledByNote:
		what = "the note"
	default:
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op,
			"%s: fulfilled how %q must be %s or %s", subject, how, FulfilledByReplyCall, FulfilledByNote)
	}
	evidence, err := checkText(op, subject, what, evidence)
	switch {
	case err != nil:
		return hotline.Promise{}, err
	case by == "":
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: who fulfils it is required", subject)
	case now.IsZero():
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the time is required", subject)
	}
	var p hotline.Promise
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var row promiseRow
		if err := tx.GetContext(ctx, &row, getPromiseSQL, id); err != nil {
			return err
		}
		if !unfinished(row.State) {
			return hotline.Errorf(hotline.KindConflict, op, "%s is already %s", subject, row.State)
		}
		if how == FulfilledByReplyCall {
			var exists bool
			if err := tx.GetContext(ctx, &exists, replyEvidenceSQL, evidence); err != nil {
				return err
			}
			if !exists {
				return hotline.Errorf(hotline.KindInvalid, op, "%s: reply call %q is neither a recording nor a call", subject, evidence)
			}
		}
		res, err := tx.ExecContext(ctx, fulfilPromiseSQL, hotline.UnixMilli(now), how, by, evidence, id)
		if err != nil {
			return err
		}
		if err := expectOneRow(op, subject, res); err != nil {
			return err
		}
		p, err = readPromise(ctx, tx, id)
		return err
	})
	if err != nil {
		return hotline.Promise{}, wrapErr(op, subject, err)
	}
	return p, nil
}

// closePromiseSQL closes one promises row that is not closed yet.
const closePromiseSQL = `
UPDATE promises SET state = 'closed', closed_ms = ?, close_reason = ?, closed_by = ?
WHERE id = ? AND state <> 'closed'`

// ClosePromise is a supervisor's close of promise id at now for reason
// (e.g. withdrawn by the citizen): an unfinished or fulfilled promise
// becomes closed; a fulfilled one keeps its fulfilment. by is the
// supervisor (the access table has checked), reason is required (Invalid); Conflict
// when it is closed already, NotFound when there is none.
func (db *DB) ClosePromise(ctx context.Context, id int64, by, reason string, now time.Time) (hotline.Promise, error) {
	const op = "store.ClosePromise"
	subject := fmt.Sprintf("promise %d", id)
	by = strings.TrimSpace(by)
	reason, err := checkText(op, subject, "the reason to close it", reason)
	switch {
	case err != nil:
		return hotline.Promise{}, err
	case by == "":
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: who closes it is required", subject)
	case now.IsZero():
		return hotline.Promise{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the closing time is required", subject)
	}
	var p hotline.Promise
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var row promiseRow
		if err := tx.GetContext(ctx, &row, getPromiseSQL, id); err != nil {
			return err
		}
		if row.State == string(hotline.PromiseClosed) {
			return hotline.Errorf(hotline.KindConflict, op, "%s is already closed", subject)
		}
		res, err := tx.ExecContext(ctx, closePromiseSQL, hotline.UnixMilli(now), reason, by, id)
		if err != nil {
			return err
		}
		if err := expectOneRow(op, subject, res); err != nil {
			return err
		}
		p, err = readPromise(ctx, tx, id)
		return err
	})
	if err != nil {
		return hotline.Promise{}, wrapErr(op, subject, err)
	}
	return p, nil
}
