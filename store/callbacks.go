package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Callback tasks (clause 6.1) and their attempts.
//
// A dialer claims a task in one UPDATE that decides the race (ClaimTask);
// every later change it makes carries its lease token and state 'dialing'
// (fencing), so once its lease has run out and another dialer has claimed
// the task, or an inbound call has resolved it, the old dialer's writes fail
// as a conflict instead of overwriting the new truth.

// taskRow is a callback_tasks row as the statements read and write it.
type taskRow struct {
	ID            int64          `db:"id"`
	Number        string         `db:"number"`
	State         string         `db:"state"`
	AgentID       sql.NullString `db:"agent_id"` // NULL until an agent is assigned
	MissedCount   int            `db:"missed_count"`
	Attempts      int            `db:"attempts"`
	FirstMissedMs int64          `db:"first_missed_ms"`
	DeadlineMs    int64          `db:"deadline_ms"`
	NextAttemptMs int64          `db:"next_attempt_ms"`
	LeaseToken    sql.NullString `db:"lease_token"` // NULL when no dialer holds the task
	LeaseUntilMs  int64          `db:"lease_until_ms"`
	EscalatedMs   int64          `db:"escalated_ms"`
	CreatedMs     int64          `db:"created_ms"`
	ClosedMs      int64          `db:"closed_ms"`
	CloseReason   string         `db:"close_reason"`
	ClosedBy      string         `db:"closed_by"`
}

func (r taskRow) task() hotline.CallbackTask {
	return hotline.CallbackTask{
		ID:          r.ID,
		Number:      r.Number,
		State:       hotline.CallbackState(r.State),
		AgentID:     r.AgentID.String,
		MissedCount: r.MissedCount,
		Attempts:    r.Attempts,
		FirstMissed: hotline.FromUnixMilli(r.FirstMissedMs),
		Deadline:    hotline.FromUnixMilli(r.DeadlineMs),
		NextAttempt: hotline.FromUnixMilli(r.NextAttemptMs),
		LeaseToken:  r.LeaseToken.String,
		LeaseUntil:  hotline.FromUnixMilli(r.LeaseUntilMs),
		EscalatedAt: hotline.FromUnixMilli(r.EscalatedMs),
		CreatedAt:   hotline.FromUnixMilli(r.CreatedMs),
		ClosedAt:    hotline.FromUnixMilli(r.ClosedMs),
		CloseReason: r.CloseReason,
		ClosedBy:    r.ClosedBy,
	}
}

// attemptRow is a callback_attempts row as the statements read and write it.
type attemptRow struct {
	ID                int64          `db:"id"`
	TaskID            int64          `db:"task_id"`
	AgentID           sql.NullString `db:"agent_id"`
	RecordingName     string         `db:"recording_name"`
	StartedMs         int64          `db:"started_ms"`
	AgentAnsweredMs   int64          `db:"agent_answered_ms"`
	CitizenAnsweredMs int64          `db:"citizen_answered_ms"`
	ApologyFinishedMs int64          `db:"apology_finished_ms"`
	BridgedMs         int64          `db:"bridged_ms"`
	EndedMs           int64          `db:"ended_ms"`
	Outcome           string         `db:"outcome"`
	Cause             int            `db:"cause"`
}

func attemptToRow(a hotline.CallbackAttempt) attemptRow {
	return attemptRow{
		ID:                a.ID,
		TaskID:            a.TaskID,
		AgentID:           nullString(a.AgentID),
		RecordingName:     a.RecordingName,
		StartedMs:         hotline.UnixMilli(a.StartedAt),
		AgentAnsweredMs:   hotline.UnixMilli(a.AgentAnsweredAt),
		CitizenAnsweredMs: hotline.UnixMilli(a.CitizenAnsweredAt),
		ApologyFinishedMs: hotline.UnixMilli(a.ApologyFinishedAt),
		BridgedMs:         hotline.UnixMilli(a.BridgedAt),
		EndedMs:           hotline.UnixMilli(a.EndedAt),
		Outcome:           string(a.Outcome),
		Cause:             a.Cause,
	}
}

func (r attemptRow) attempt() hotline.CallbackAttempt {
	return hotline.CallbackAttempt{
		ID:                r.ID,
		TaskID:            r.TaskID,
		AgentID:           r.AgentID.String,
		RecordingName:     r.RecordingName,
		StartedAt:         hotline.FromUnixMilli(r.StartedMs),
		AgentAnsweredAt:   hotline.FromUnixMilli(r.AgentAnsweredMs),
		CitizenAnsweredAt: hotline.FromUnixMilli(r.CitizenAnsweredMs),
		ApologyFinishedAt: hotline.FromUnixMilli(r.ApologyFinishedMs),
		BridgedAt:         hotline.FromUnixMilli(r.BridgedMs),
		EndedAt:           hotline.FromUnixMilli(r.EndedMs),
		Outcome:           hotline.AttemptOutcome(r.Outcome),
		Cause:             r.Cause,
	}
}

// validAttemptOutcome reports whether o is one of hotline's attempt
// outcomes; the CHECK of callback_attempts.outcome (00003) lists the same.
func validAttemptOutcome(o hotline.AttemptOutcome) bool {
	switch o {
	case hotline.AttemptConnected, hotline.AttemptTooShort, hotline.AttemptNoAnswer, hotline.AttemptBusy,
		hotline.AttemptUnreachable, hotline.AttemptInvalidNumber, hotline.AttemptAgentNoAnswer, hotline.AttemptFailed:
		return true
	}
	return false
}

const taskColumns = `id, number, state, agent_id, missed_count, attempts, first_missed_ms, deadline_ms,
    next_attempt_ms, lease_token, lease_until_ms, escalated_ms, created_ms, closed_ms, close_reason, closed_by`

const attemptColumns = `id, task_id, agent_id, recording_name, started_ms, agent_answered_ms,
    citizen_answered_ms, apology_finished_ms, bridged_ms, ended_ms, outcome, cause`

// getTaskSQL reads one callback_tasks row by id.
const getTaskSQL = `SELECT ` + taskColumns + ` FROM callback_tasks WHERE id = ?`

// taskCallsSQL reads the call ids of the callback_task_calls rows of one
// task, in the order they were added (rowid order, kept by
// callback_task_calls_by_task).
const taskCallsSQL = `SELECT call_id FROM callback_task_calls WHERE task_id = ? ORDER BY rowid`

// taskVoiceMessagesSQL reads the voicemail_name of the calls of one task
// that have one, in the order the calls were added.
const taskVoiceMessagesSQL = `
SELECT c.voicemail_name FROM callback_task_calls tc JOIN calls c ON c.id = tc.call_id
WHERE tc.task_id = ? AND c.voicemail_name <> '' ORDER BY tc.rowid`

// taskAttemptsSQL reads the callback_attempts rows of one task, oldest first.
const taskAttemptsSQL = `SELECT ` + attemptColumns + ` FROM callback_attempts
WHERE task_id = ? ORDER BY started_ms, id`

// readTask returns the task with id through q, with its calls and attempts.
func readTask(ctx context.Context, q sqlx.QueryerContext, id int64) (hotline.CallbackTask, error) {
	var row taskRow
	if err := sqlx.GetContext(ctx, q, &row, getTaskSQL, id); err != nil {
		return hotline.CallbackTask{}, err
	}
	task := row.task()
	if err := sqlx.SelectContext(ctx, q, &task.CallIDs, taskCallsSQL, id); err != nil {
		return hotline.CallbackTask{}, err
	}
	if err := sqlx.SelectContext(ctx, q, &task.VoiceMessages, taskVoiceMessagesSQL, id); err != nil {
		return hotline.CallbackTask{}, err
	}
	var attempts []attemptRow
	if err := sqlx.SelectContext(ctx, q, &attempts, taskAttemptsSQL, id); err != nil {
		return hotline.CallbackTask{}, err
	}
	for _, a := range attempts {
		task.AttemptLog = append(task.AttemptLog, a.attempt())
	}
	return task, nil
}

// GetTask returns the callback task with id, with the missed calls behind
// it (in the order they were added) and its attempts (oldest first), read
// from one snapshot; NotFound when there is no such task.
func (db *DB) GetTask(ctx context.Context, id int64) (hotline.CallbackTask, error) {
	const op = "store.GetTask"
	var task hotline.CallbackTask
	err := db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		task, err = readTask(ctx, tx, id)
		return err
	})
	if err != nil {
		return hotline.CallbackTask{}, wrapErr(op, fmt.Sprintf("callback task %d", id), err)
	}
	return task, nil
}

// MissedCall is a missed call handed to the callback queue.
type MissedCall struct {
	CallID   string // an existing calls row
	Number   string // normalised, callable
	AgentID  string // responsible agent, "" when none
	MissedAt time.Time
	Deadline time.Time // computed by the caller with the working-time calendar
	DueAt    time.Time // when the first attempt may start; zero: at once
}

// taskOfCallSQL reads task_id of the callback_task_calls row of one call.
const taskOfCallSQL = `SELECT task_id FROM callback_task_calls WHERE call_id = ?`

// openTaskOfNumberSQL reads id of the open callback_tasks row (pending or
// dialing) of one number, through the partial unique index
// callback_tasks_one_open_per_number, whose WHERE term it repeats.
const openTaskOfNumberSQL = `
SELECT id FROM callback_tasks WHERE number = ? AND state IN ('pending', 'dialing')`

// mergeMissedCallSQL writes one more missed call into one callback_tasks
// row: missed_count + 1, the earliest first miss and deadline, and agent_id
// only when the row has none.
const mergeMissedCallSQL = `
UPDATE callback_tasks SET
    missed_count    = missed_count + 1,
    first_missed_ms = min(first_missed_ms, ?),
    deadline_ms     = min(deadline_ms, ?),
    agent_id        = coalesce(agent_id, ?)
WHERE id = ?`

// createTaskSQL inserts one pending callback_tasks row for one missed call.
const createTaskSQL = `
INSERT INTO callback_tasks (number, state, agent_id, missed_count, first_missed_ms, deadline_ms,
                            next_attempt_ms, created_ms)
VALUES (?, 'pending', ?, 1, ?, ?, ?, ?)`

// linkTaskCallSQL inserts one callback_task_calls row.
const linkTaskCallSQL = `INSERT INTO callback_task_calls (call_id, task_id) VALUES (?, ?)`

// AddMissedCall links the call to the open task (pending or dialing) of its
// number, or creates a pending one due at m.DueAt, and returns the task with
// its calls and attempts.
//
// Merging: missed_count+1, the call linked, the earliest deadline (and first
// miss) kept, the agent set only if the task has none; the next attempt time
// stays as scheduled. Adding a call already linked to a task returns that
// task, whatever its state, with created=false and counts nothing.
//
// The transaction begins IMMEDIATE, taking the database's write lock before
// it reads: two service instances adding missed calls of one number at the
// same moment run one after the other, and the second merges into the task
// the first created. The partial unique index on open tasks per number backs
// this: a second open task would be a conflict, never a fact. An unknown
// call or agent is invalid.
func (db *DB) AddMissedCall(ctx context.Context, m MissedCall) (task hotline.CallbackTask, created bool, err error) {
	const op = "store.AddMissedCall"
	subject := fmt.Sprintf("missed call %q from %s", m.CallID, m.Number)
	switch {
	case strings.TrimSpace(m.CallID) == "":
		return hotline.CallbackTask{}, false, hotline.Errorf(hotline.KindInvalid, op, "missed call: call id is required")
	case strings.TrimSpace(m.Number) == "":
		return hotline.CallbackTask{}, false, hotline.Errorf(hotline.KindInvalid, op, "%s: a callable number is required", subject)
	case m.MissedAt.IsZero():
		return hotline.CallbackTask{}, false, hotline.Errorf(hotline.KindInvalid, op, "%s: the time of the miss is required", subject)
	case m.Deadline.Before(m.MissedAt):
		return hotline.CallbackTask{}, false, hotline.Errorf(hotline.KindInvalid, op,
			"%s: deadline %s must not be before the miss at %s", subject, m.Deadline, m.MissedAt)
	}
	missedMs, deadlineMs := hotline.UnixMilli(m.MissedAt), hotline.UnixMilli(m.Deadline)
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var taskID int64
		err := tx.GetContext(ctx, &taskID, taskOfCallSQL, m.CallID)
		if err == nil {
			task, err = readTask(ctx, tx, taskID)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}

		err = tx.GetContext(ctx, &taskID, openTaskOfNumberSQL, m.Number)
		switch {
		case err == nil:
			if _, err := tx.ExecContext(ctx, mergeMissedCallSQL, missedMs, deadlineMs, nullString(m.AgentID), taskID); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, createTaskSQL, m.Number, nullString(m.AgentID), missedMs, deadlineMs,
				hotline.UnixMilli(m.DueAt), db.nowMs())
			if err != nil {
				return err
			}
			if taskID, err = res.LastInsertId(); err != nil {
				return err
			}
			created = true
		default:
			return err
		}
		if _, err := tx.ExecContext(ctx, linkTaskCallSQL, m.CallID, taskID); err != nil {
			return err
		}
		task, err = readTask(ctx, tx, taskID)
		return err
	})
	if err != nil {
		return hotline.CallbackTask{}, false, wrapErr(op, subject, err)
	}
	return task, created, nil
}

// TaskFilter selects callback tasks for ListTasks; zero fields select
// everything.
type TaskFilter struct {
	State     hotline.CallbackState // in this state
	AgentID   string                // assigned to this agent
	OverdueAt time.Time             // non-zero: open tasks whose deadline <= it
	Limit     int                   // at most this many; 0 means DefaultListLimit, at most MaxListLimit
	Offset    int                   // skipping this many of the earliest deadlines
}

// listTasksSQL reads callback_tasks rows in deadline order; ListTasks fills
// in the conditions of the WHERE clause from a TaskFilter, each on an
// indexed column (callback_tasks_by_state, callback_tasks_by_agent_deadline,
// or callback_tasks_by_deadline without one).
const listTasksSQL = `SELECT ` + taskColumns + ` FROM callback_tasks WHERE %s
ORDER BY deadline_ms, id LIMIT ? OFFSET ?`

// ListTasks returns the tasks that match f, earliest deadline first, without
// their calls and attempts (GetTask reads those).
func (db *DB) ListTasks(ctx context.Context, f TaskFilter) ([]hotline.CallbackTask, error) {
	const op = "store.ListTasks"
	limit, err := pageLimit(op, f.Limit, f.Offset)
	if err != nil {
		return nil, err
	}
	conds := []string{"TRUE"}
	var args []any
	if f.State != "" {
		conds, args = append(conds, "state = ?"), append(args, f.State)
	}
	if f.AgentID != "" {
		conds, args = append(conds, "agent_id = ?"), append(args, f.AgentID)
	}
	if !f.OverdueAt.IsZero() {
		conds = append(conds, "state IN ('pending', 'dialing')", "deadline_ms <= ?")
		args = append(args, hotline.UnixMilli(f.OverdueAt))
	}
	return selectPage(ctx, db, op, "callback tasks", listTasksSQL, conds, args, limit, f.Offset, taskRow.task)
}

// pageLimit checks a list's limit and offset and returns the limit to use.
func pageLimit(op string, limit, offset int) (int, error) {
	switch {
	case limit < 0 || limit > MaxListLimit:
		return 0, hotline.Errorf(hotline.KindInvalid, op, "limit %d must be between 0 and %d", limit, MaxListLimit)
	case offset < 0:
		return 0, hotline.Errorf(hotline.KindInvalid, op, "offset %d must not be negative", offset)
	case limit == 0:
		return DefaultListLimit, nil
	}
	return limit, nil
}

// TaskDue is when an open task next needs the dialer: a pending task at its
// next attempt (zero: at once), a dialing one when its lease runs out (an
// expired lease is due again).
type TaskDue struct {
	ID    int64
	DueAt time.Time
}

// openTaskDuesSQL reads id and due time of open callback_tasks rows after an
// id, in id order, from the covering partial index callback_tasks_open_dues
// alone. INDEXED BY: the planner would rather read every open task through
// callback_tasks_by_state and sort them, for every page.
const openTaskDuesSQL = `
SELECT id, CASE state WHEN 'dialing' THEN lease_until_ms ELSE next_attempt_ms END AS due_ms
FROM callback_tasks INDEXED BY callback_tasks_open_dues
WHERE state IN ('pending', 'dialing') AND id > ?
ORDER BY id LIMIT ?`

// OpenTaskDues returns up to limit open tasks with ids above afterID, in id
// order, with their due times: keyset pages for rebuilding the Redis index
// (pass the last id of a page to get the next; an empty page is the end).
func (db *DB) OpenTaskDues(ctx context.Context, afterID int64, limit int) ([]TaskDue, error) {
	const op = "store.OpenTaskDues"
	if limit <= 0 {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "limit %d must be positive", limit)
	}
	rows, err := db.reader.QueryContext(ctx, openTaskDuesSQL, afterID, limit)
	if err != nil {
		return nil, wrapErr(op, "open callback tasks", err)
	}
	defer rows.Close()
	dues := make([]TaskDue, 0, limit)
	for rows.Next() {
		var id, dueMs int64
		if err := rows.Scan(&id, &dueMs); err != nil {
			return nil, wrapErr(op, "open callback tasks", err)
		}
		dues = append(dues, TaskDue{ID: id, DueAt: hotline.FromUnixMilli(dueMs)})
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(op, "open callback tasks", err)
	}
	return dues, nil
}

// dueTasksSQL reads ids of callback_tasks rows due at a time, oldest due
// first: pending ones whose next attempt has come, read in due order from
// callback_tasks_open_by_next_attempt (INDEXED BY, its WHERE term repeated:
// the planner would rather read every pending task through
// callback_tasks_by_state and sort them), and dialing ones whose lease ran
// out, few at any time, through callback_tasks_by_state. Each branch stops
// at the limit before the two are merged.
const dueTasksSQL = `
SELECT id FROM (
    SELECT * FROM (
        SELECT id, next_attempt_ms AS due_ms
        FROM callback_tasks INDEXED BY callback_tasks_open_by_next_attempt
        WHERE state IN ('pending', 'dialing') AND state = 'pending' AND next_attempt_ms <= ?
        ORDER BY next_attempt_ms, id LIMIT ?)
    UNION ALL
    SELECT * FROM (
        SELECT id, lease_until_ms AS due_ms FROM callback_tasks
        WHERE state = 'dialing' AND lease_until_ms < ?
        ORDER BY lease_until_ms, id LIMIT ?)
)
ORDER BY due_ms, id LIMIT ?`

// DueTaskIDs returns up to limit ids of tasks due at now, oldest due first:
// pending with next_attempt <= now, or dialing with lease_until < now. It is
// the slow SQL poll used while Redis is down.
func (db *DB) DueTaskIDs(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	const op = "store.DueTaskIDs"
	if limit <= 0 {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "limit %d must be positive", limit)
	}
	nowMs := hotline.UnixMilli(now)
	ids := []int64{}
	if err := db.reader.SelectContext(ctx, &ids, dueTasksSQL, nowMs, limit, nowMs, limit, limit); err != nil {
		return nil, wrapErr(op, "due callback tasks", err)
	}
	return ids, nil
}

// claimTaskSQL makes one callback_tasks row dialing under a new lease when
// it is pending and due, or dialing under a lease that ran out, and reads
// the row back. This one statement decides which dialer wins.
const claimTaskSQL = `
UPDATE callback_tasks SET state = 'dialing', lease_token = ?, lease_until_ms = ?
WHERE id = ?
  AND ((state = 'pending' AND next_attempt_ms <= ?) OR (state = 'dialing' AND lease_until_ms < ?))
RETURNING ` + taskColumns

// endStaleAttemptsSQL ends the active callback_attempts row of one task as
// failed: its dialer lost the task (lease ran out, or the task was resolved).
const endStaleAttemptsSQL = `
UPDATE callback_attempts SET ended_ms = max(started_ms, ?), outcome = 'failed'
WHERE task_id = ? AND ended_ms = 0`

// taskLeaseSQL reads state, lease_token, lease_until_ms and next_attempt_ms
// of one callback_tasks row, to say why a claim or fenced write failed.
const taskLeaseSQL = `
SELECT state, lease_token, lease_until_ms, next_attempt_ms FROM callback_tasks WHERE id = ?`

type taskLease struct {
	State         string         `db:"state"`
	LeaseToken    sql.NullString `db:"lease_token"`
	LeaseUntilMs  int64          `db:"lease_until_ms"`
	NextAttemptMs int64          `db:"next_attempt_ms"`
}

// ClaimTask gives task id to the dialer holding token until leaseUntil: it
// must be pending and due at now, or dialing under a lease that ran out
// before now (its dialer is presumed dead; the attempt it left active is
// ended as failed, so the new dialer can start one). It returns the claimed
// task without its calls and attempts. Conflict when the task is not
// claimable (not due, held under a live lease, closed); NotFound when there
// is no such task.
func (db *DB) ClaimTask(ctx context.Context, id int64, token string, now, leaseUntil time.Time) (hotline.CallbackTask, error) {
	const op = "store.ClaimTask"
	subject := fmt.Sprintf("callback task %d", id)
	switch {
	case token == "":
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindInvalid, op, "%s: a lease token is required", subject)
	case now.IsZero() || !leaseUntil.After(now):
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindInvalid, op,
			"%s: the lease must end after now (%s), not at %s", subject, now, leaseUntil)
	}
	nowMs := hotline.UnixMilli(now)
	var row taskRow
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &row, claimTaskSQL, token, hotline.UnixMilli(leaseUntil), id, nowMs, nowMs)
		if errors.Is(err, sql.ErrNoRows) {
			return claimConflict(ctx, tx, op, id)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, endStaleAttemptsSQL, nowMs, id)
		return err
	})
	if err != nil {
		return hotline.CallbackTask{}, wrapErr(op, subject, err)
	}
	return row.task(), nil
}

// claimConflict says why task id could not be claimed.
func claimConflict(ctx context.Context, q sqlx.QueryerContext, op string, id int64) error {
	var l taskLease
	if err := sqlx.GetContext(ctx, q, &l, taskLeaseSQL, id); err != nil {
		return err
	}
	switch hotline.CallbackState(l.State) {
	case hotline.CallbackPending:
		return hotline.Errorf(hotline.KindConflict, op, "callback task %d is not due before %s",
			id, hotline.FromUnixMilli(l.NextAttemptMs).Format(time.RFC3339Nano))
	case hotline.CallbackDialing:
		return hotline.Errorf(hotline.KindConflict, op, "callback task %d is being dialed under a lease until %s",
			id, hotline.FromUnixMilli(l.LeaseUntilMs).Format(time.RFC3339Nano))
	}
	return hotline.Errorf(hotline.KindConflict, op, "callback task %d is %s", id, l.State)
}

// fenceHolds reports, through an error, whether the dialer holding token
// still holds task id: nil when it does, NotFound without the task, else
// Conflict (the claim was lost).
func fenceHolds(ctx context.Context, q sqlx.QueryerContext, op string, id int64, token string) error {
	var l taskLease
	if err := sqlx.GetContext(ctx, q, &l, taskLeaseSQL, id); err != nil {
		return err
	}
	if l.State != string(hotline.CallbackDialing) {
		return hotline.Errorf(hotline.KindConflict, op, "callback task %d is %s, no longer dialing: the claim was lost", id, l.State)
	}
	if l.LeaseToken.String != token {
		return hotline.Errorf(hotline.KindConflict, op, "callback task %d is claimed by another dialer: the lease was lost", id)
	}
	return nil
}

// fenceConflict says why a write fenced by token on task id matched nothing.
func fenceConflict(ctx context.Context, q sqlx.QueryerContext, op string, id int64, token string) error {
	if err := fenceHolds(ctx, q, op, id, token); err != nil {
		return err
	}
	return fmt.Errorf("callback task %d: the fenced write matched nothing though the claim holds", id)
}

// execFenced runs a write on one callback_tasks row fenced by token, and
// turns "no row" into the reason (fenceConflict).
func execFenced(ctx context.Context, tx *sqlx.Tx, op string, id int64, token, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fenceConflict(ctx, tx, op, id, token)
	}
	return nil
}

// extendLeaseSQL writes lease_until_ms of one dialing callback_tasks row
// held under a token.
const extendLeaseSQL = `
UPDATE callback_tasks SET lease_until_ms = ?
WHERE id = ? AND state = 'dialing' AND lease_token = ?`

// ExtendLease keeps the claim of the dialer holding token on task id until
// until, while a long call goes on. Conflict when the claim was lost;
// NotFound when there is no such task. A lease that ran out can still be
// extended while nobody else has claimed the task.
func (db *DB) ExtendLease(ctx context.Context, id int64, token string, until time.Time) error {
	const op = "store.ExtendLease"
	if token == "" || until.IsZero() {
		return hotline.Errorf(hotline.KindInvalid, op, "callback task %d: a lease token and an end are required", id)
	}
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		return execFenced(ctx, tx, op, id, token, extendLeaseSQL, hotline.UnixMilli(until), id, token)
	})
	return wrapErr(op, fmt.Sprintf("callback task %d", id), err)
}

// releaseTaskSQL makes one dialing callback_tasks row held under a token
// pending again, due at a time, with its lease cleared, provided it has no
// active callback_attempts row.
const releaseTaskSQL = `
UPDATE callback_tasks SET state = 'pending', next_attempt_ms = ?, lease_token = NULL, lease_until_ms = 0
WHERE id = ? AND state = 'dialing' AND lease_token = ?
  AND NOT EXISTS (SELECT 1 FROM callback_attempts WHERE task_id = callback_tasks.id AND ended_ms = 0)`

// activeAttemptSQL reads id of the active callback_attempts row of one task.
const activeAttemptSQL = `SELECT id FROM callback_attempts WHERE task_id = ? AND ended_ms = 0`

// ReleaseTask gives a claimed task back without an attempt (no agent was
// free): pending again, due at nextAttempt, lease cleared. Conflict when the
// claim was lost or an attempt is active (FinishAttempt ends those);
// NotFound when there is no such task.
func (db *DB) ReleaseTask(ctx context.Context, id int64, token string, nextAttempt time.Time) error {
	const op = "store.ReleaseTask"
	if token == "" {
		return hotline.Errorf(hotline.KindInvalid, op, "callback task %d: a lease token is required", id)
	}
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, releaseTaskSQL, hotline.UnixMilli(nextAttempt), id, token)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		if err := fenceHolds(ctx, tx, op, id, token); err != nil {
			return err
		}
		var attemptID int64
		if err := tx.GetContext(ctx, &attemptID, activeAttemptSQL, id); err != nil {
			return err
		}
		return hotline.Errorf(hotline.KindConflict, op,
			"callback task %d has attempt %d active: finish it instead of releasing the task", id, attemptID)
	})
	return wrapErr(op, fmt.Sprintf("callback task %d", id), err)
}

// assignTaskAgentSQL sets agent_id of one dialing callback_tasks row held
// under a token when it has none; it matches the row either way, so it also
// checks the fence.
const assignTaskAgentSQL = `
UPDATE callback_tasks SET agent_id = coalesce(agent_id, ?)
WHERE id = ? AND state = 'dialing' AND lease_token = ?`

// startAttemptSQL inserts one active callback_attempts row.
const startAttemptSQL = `INSERT INTO callback_attempts (task_id, agent_id, started_ms) VALUES (?, ?, ?)`

// StartAttempt records a new attempt on task id by agentID at now, under the
// claim of token, and returns its id; the task takes agentID as its agent
// when it has none. Conflict when the claim was lost or another attempt of
// the task is active (never two active dials to one citizen); NotFound when
// there is no such task; Invalid for an unknown agent.
func (db *DB) StartAttempt(ctx context.Context, id int64, token, agentID string, now time.Time) (int64, error) {
	const op = "store.StartAttempt"
	subject := fmt.Sprintf("attempt on callback task %d", id)
	switch {
	case token == "":
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: a lease token is required", subject)
	case strings.TrimSpace(agentID) == "":
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: the agent is required", subject)
	case now.IsZero():
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: the start time is required", subject)
	}
	var attemptID int64
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		if err := execFenced(ctx, tx, op, id, token, assignTaskAgentSQL, agentID, id, token); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, startAttemptSQL, id, agentID, hotline.UnixMilli(now))
		if err != nil {
			return err
		}
		attemptID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, wrapErr(op, subject, err)
	}
	return attemptID, nil
}

// attemptProgress is the SET list shared by updateAttemptSQL and
// finishAttemptSQL: a zero time or cause, or an empty name, keeps what is
// stored, so a progress timestamp once recorded is never unset.
const attemptProgress = `
    recording_name      = coalesce(nullif(:recording_name, ''), recording_name),
    agent_answered_ms   = coalesce(nullif(:agent_answered_ms, 0), agent_answered_ms),
    citizen_answered_ms = coalesce(nullif(:citizen_answered_ms, 0), citizen_answered_ms),
    apology_finished_ms = coalesce(nullif(:apology_finished_ms, 0), apology_finished_ms),
    bridged_ms          = coalesce(nullif(:bridged_ms, 0), bridged_ms),
    cause               = coalesce(nullif(:cause, 0), cause)`

// attemptFence is the WHERE clause shared by updateAttemptSQL and
// finishAttemptSQL: the active callback_attempts row whose task is dialing
// under the token.
const attemptFence = `
WHERE id = :id AND ended_ms = 0
  AND EXISTS (SELECT 1 FROM callback_tasks
              WHERE callback_tasks.id = callback_attempts.task_id
                AND callback_tasks.state = 'dialing' AND callback_tasks.lease_token = :token)`

// updateAttemptSQL writes the progress of one active callback_attempts row
// (recording_name, the answer, apology and bridge times, cause), fenced
// through its callback_tasks row.
const updateAttemptSQL = `UPDATE callback_attempts SET` + attemptProgress + attemptFence

// attemptWrite is an attempt with the token that fences its write.
type attemptWrite struct {
	attemptRow
	Token string `db:"token"`
}

// attemptTaskSQL reads task_id and ended_ms of one callback_attempts row.
const attemptTaskSQL = `SELECT task_id, ended_ms FROM callback_attempts WHERE id = ?`

// attemptConflict says why a fenced write on attempt id of task taskID (0:
// whichever) matched nothing: NotFound without the attempt, Invalid when it
// belongs to another task, Conflict when its task's claim was lost or it has
// ended.
func attemptConflict(ctx context.Context, q sqlx.QueryerContext, op string, id, taskID int64, token string) error {
	var a struct {
		TaskID  int64 `db:"task_id"`
		EndedMs int64 `db:"ended_ms"`
	}
	if err := sqlx.GetContext(ctx, q, &a, attemptTaskSQL, id); err != nil {
		return err
	}
	if taskID != 0 && a.TaskID != taskID {
		return hotline.Errorf(hotline.KindInvalid, op, "callback attempt %d belongs to task %d, not %d", id, a.TaskID, taskID)
	}
	if err := fenceHolds(ctx, q, op, a.TaskID, token); err != nil {
		return err
	}
	if a.EndedMs != 0 {
		return hotline.Errorf(hotline.KindConflict, op, "callback attempt %d has already ended", id)
	}
	return fmt.Errorf("callback attempt %d: the fenced write matched nothing though the claim holds", id)
}

// UpdateAttempt records the progress of active attempt a.ID under the claim
// of token: recording name, the agent's and citizen's answer, the end of the
// apology, the bridge, the cause. Zero fields keep what is stored. Conflict
// when the attempt has ended or its task's claim was lost; NotFound when
// there is no such attempt.
func (db *DB) UpdateAttempt(ctx context.Context, token string, a hotline.CallbackAttempt) error {
	const op = "store.UpdateAttempt"
	subject := fmt.Sprintf("callback attempt %d", a.ID)
	if token == "" {
		return hotline.Errorf(hotline.KindInvalid, op, "%s: a lease token is required", subject)
	}
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.NamedExecContext(ctx, updateAttemptSQL, attemptWrite{attemptToRow(a), token})
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return attemptConflict(ctx, tx, op, a.ID, 0, token)
	})
	return wrapErr(op, subject, err)
}

// finishAttemptSQL ends one active callback_attempts row of a task (ended_ms,
// outcome, and the progress columns), fenced through its callback_tasks row.
const finishAttemptSQL = `UPDATE callback_attempts SET ended_ms = :ended_ms, outcome = :outcome,` +
	attemptProgress + attemptFence + ` AND task_id = :task_id`

// finishTaskSQL writes state, attempts, next_attempt_ms and closed_ms of one
// dialing callback_tasks row held under a token, and clears its lease.
const finishTaskSQL = `
UPDATE callback_tasks
SET state = ?, attempts = ?, next_attempt_ms = ?, closed_ms = ?, lease_token = NULL, lease_until_ms = 0
WHERE id = ? AND state = 'dialing' AND lease_token = ?`

// FinishAttempt ends attempt a of task t under the claim of token, in one
// transaction: the attempt gets a.EndedAt, a.Outcome, a.Cause and any
// progress timestamps it did not have; the task gets t's state, attempts,
// next attempt and closed time (as hotline.CallbackPolicy.AfterAttempt made
// them) and loses its lease. t.State must be pending again or one of the
// ends an attempt leads to (connected, unreachable, invalid_number).
// Conflict when the attempt already ended or the claim was lost (the lease
// ran out and another dialer claimed the task, or an inbound call resolved
// it): then nothing is written. NotFound when there is no such attempt.
func (db *DB) FinishAttempt(ctx context.Context, token string, a hotline.CallbackAttempt, t hotline.CallbackTask) error {
	const op = "store.FinishAttempt"
	subject := fmt.Sprintf("callback attempt %d of task %d", a.ID, t.ID)
	if err := validateFinish(op, subject, token, a, t); err != nil {
		return err
	}
	a.TaskID = t.ID
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.NamedExecContext(ctx, finishAttemptSQL, attemptWrite{attemptToRow(a), token})
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return attemptConflict(ctx, tx, op, a.ID, t.ID, token)
		}
		var closedMs int64
		if t.State != hotline.CallbackPending {
			closedMs = hotline.UnixMilli(t.ClosedAt)
		}
		return execFenced(ctx, tx, op, t.ID, token, finishTaskSQL,
			t.State, t.Attempts, hotline.UnixMilli(t.NextAttempt), closedMs, t.ID, token)
	})
	return wrapErr(op, subject, err)
}

func validateFinish(op, subject, token string, a hotline.CallbackAttempt, t hotline.CallbackTask) error {
	switch {
	case token == "":
		return hotline.Errorf(hotline.KindInvalid, op, "%s: a lease token is required", subject)
	case a.TaskID != 0 && a.TaskID != t.ID:
		return hotline.Errorf(hotline.KindInvalid, op, "%s: the attempt belongs to task %d", subject, a.TaskID)
	case !validAttemptOutcome(a.Outcome):
		return hotline.Errorf(hotline.KindInvalid, op, "%s: unknown outcome %q", subject, a.Outcome)
	case a.EndedAt.IsZero():
		return hotline.Errorf(hotline.KindInvalid, op, "%s: the end time is required", subject)
	case t.Attempts < 0:
		return hotline.Errorf(hotline.KindInvalid, op, "%s: attempts %d must not be negative", subject, t.Attempts)
	}
	switch t.State {
	case hotline.CallbackPending:
		return nil
	case hotline.CallbackConnected, hotline.CallbackUnreachable, hotline.CallbackInvalid:
		if t.ClosedAt.IsZero() {
			return hotline.Errorf(hotline.KindInvalid, op, "%s: a %s task needs its closing time", subject, t.State)
		}
		return nil
	}
	return hotline.Errorf(hotline.KindInvalid, op,
		"%s: an attempt leaves the task pending, connected, unreachable or invalid_number, not %q", subject, t.State)
}

// closeTaskSQL closes one pending, unreachable or invalid_number
// callback_tasks row at a time with a reason and who closed it, clearing its
// next attempt and lease (a pending task has neither an active attempt nor a
// lease).
const closeTaskSQL = `
UPDATE callback_tasks
SET state = 'closed', closed_ms = ?, close_reason = ?, closed_by = ?, next_attempt_ms = 0,
    lease_token = NULL, lease_until_ms = 0
WHERE id = ? AND state IN ('pending', 'unreachable', 'invalid_number')`

// acknowledgeTaskSQL closes one unreachable or invalid_number callback_tasks
// row at a time with a reason and who acknowledged it.
const acknowledgeTaskSQL = `
UPDATE callback_tasks
SET state = 'closed', closed_ms = ?, close_reason = ?, closed_by = ?, next_attempt_ms = 0,
    lease_token = NULL, lease_until_ms = 0
WHERE id = ? AND state IN ('unreachable', 'invalid_number')`

// taskStateSQL reads state of one callback_tasks row.
const taskStateSQL = `SELECT state FROM callback_tasks WHERE id = ?`

// closeTaskWith runs closeTaskSQL or acknowledgeTaskSQL on task id and
// returns the task with its calls and attempts; refused says why the task's
// state is a conflict when the statement matched nothing.
func (db *DB) closeTaskWith(ctx context.Context, op, query string, id int64, by, reason string, now time.Time,
	refused func(state string) string,
) (hotline.CallbackTask, error) {
	var task hotline.CallbackTask
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, query, hotline.UnixMilli(now), reason, by, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var state string
			if err := tx.GetContext(ctx, &state, taskStateSQL, id); err != nil {
				return err
			}
			return hotline.Errorf(hotline.KindConflict, op, "callback task %d is %s: %s", id, state, refused(state))
		}
		task, err = readTask(ctx, tx, id)
		return err
	})
	if err != nil {
		return hotline.CallbackTask{}, wrapErr(op, fmt.Sprintf("callback task %d", id), err)
	}
	return task, nil
}

// CloseTask is a supervisor's close of task id with a reason: a task not
// closed yet in the domain's sense (pending, unreachable, invalid_number)
// becomes closed at now, by by. The closed states (connected, resolved,
// closed) keep how they ended, and a dialing task is refused while its dial
// is active: both Conflict. A reason and who closes are required (Invalid);
// NotFound when there is no such task. Returns the task with its calls and
// attempts.
func (db *DB) CloseTask(ctx context.Context, id int64, by, reason string, now time.Time) (hotline.CallbackTask, error) {
	const op = "store.CloseTask"
	by, reason = strings.TrimSpace(by), strings.TrimSpace(reason)
	switch {
	case reason == "":
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindInvalid, op, "callback task %d: a reason to close it is required", id)
	case by == "":
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindInvalid, op, "callback task %d: who closes it is required", id)
	case now.IsZero():
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindInvalid, op, "callback task %d: the closing time is required", id)
	}
	return db.closeTaskWith(ctx, op, closeTaskSQL, id, by, reason, now, func(state string) string {
		if state == string(hotline.CallbackDialing) {
			return "a dial is active; close the task once the attempt has ended"
		}
		return "it is already closed"
	})
}

// AcknowledgeTask records that a supervisor saw task id end unreachable or
// invalid_number: it becomes closed at now, by by, with close reason
// "acknowledged: "+note ("acknowledged" when the note is blank). Conflict for
// a task in any other state; NotFound when there is no such task. Returns
// the task with its calls and attempts.
func (db *DB) AcknowledgeTask(ctx context.Context, id int64, by, note string, now time.Time) (hotline.CallbackTask, error) {
	const op = "store.AcknowledgeTask"
	by, note = strings.TrimSpace(by), strings.TrimSpace(note)
	switch {
	case by == "":
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindInvalid, op, "callback task %d: who acknowledges it is required", id)
	case now.IsZero():
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindInvalid, op, "callback task %d: the time is required", id)
	}
	reason := "acknowledged"
	if note != "" {
		reason += ": " + note
	}
	return db.closeTaskWith(ctx, op, acknowledgeTaskSQL, id, by, reason, now, func(string) string {
		return "only an unreachable or invalid_number task is acknowledged"
	})
}

// resolveByInboundSQL resolves the open callback_tasks rows of one number
// (through callback_tasks_one_open_per_number, whose WHERE term it
// repeats), clearing next attempt and lease, and reads their ids.
const resolveByInboundSQL = `
UPDATE callback_tasks
SET state = 'resolved', closed_ms = ?, close_reason = ?, next_attempt_ms = 0, lease_token = NULL, lease_until_ms = 0
WHERE number = ? AND state IN ('pending', 'dialing')
RETURNING id`

// ResolveByInbound records that the citizen at number called again and
// inbound call callID was answered: the open task of that number (pending,
// or dialing) becomes resolved at now, with callID in its close reason. A
// dialing task's active attempt ends as failed, and its dialer's fenced
// writes (UpdateAttempt, FinishAttempt, ExtendLease) then fail as Conflict.
// Returns the ids of the resolved tasks; none when the number has no open
// task.
func (db *DB) ResolveByInbound(ctx context.Context, number, callID string, now time.Time) ([]int64, error) {
	const op = "store.ResolveByInbound"
	switch {
	case strings.TrimSpace(number) == "":
		return nil, hotline.Errorf(hotline.KindInvalid, op, "a number is required")
	case strings.TrimSpace(callID) == "":
		return nil, hotline.Errorf(hotline.KindInvalid, op, "the answered call's id is required")
	case now.IsZero():
		return nil, hotline.Errorf(hotline.KindInvalid, op, "the time is required")
	}
	nowMs := hotline.UnixMilli(now)
	ids := []int64{}
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		reason := fmt.Sprintf("citizen called in: call %s answered", callID)
		if err := tx.SelectContext(ctx, &ids, resolveByInboundSQL, nowMs, reason, number); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, endStaleAttemptsSQL, nowMs, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr(op, fmt.Sprintf("callback tasks of %s", number), err)
	}
	return ids, nil
}

// overdueTasksSQL reads ids of open callback_tasks rows past their deadline
// and not yet escalated, earliest deadline first, from the partial index
// callback_tasks_to_escalate (INDEXED BY, its WHERE terms repeated: the
// planner would rather read every overdue open task, escalated or not,
// through callback_tasks_by_state and sort them).
const overdueTasksSQL = `
SELECT id FROM callback_tasks INDEXED BY callback_tasks_to_escalate
WHERE state IN ('pending', 'dialing') AND escalated_ms = 0 AND deadline_ms <= ?
ORDER BY deadline_ms, id LIMIT ?`

// OverdueTaskIDs returns up to limit ids of open tasks whose deadline is at
// or before now and that were not escalated yet, earliest deadline first.
func (db *DB) OverdueTaskIDs(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	const op = "store.OverdueTaskIDs"
	if limit <= 0 {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "limit %d must be positive", limit)
	}
	ids := []int64{}
	if err := db.reader.SelectContext(ctx, &ids, overdueTasksSQL, hotline.UnixMilli(now), limit); err != nil {
		return nil, wrapErr(op, "overdue callback tasks", err)
	}
	return ids, nil
}

// markEscalatedSQL sets escalated_ms of one open, overdue callback_tasks row
// that has none yet.
const markEscalatedSQL = `
UPDATE callback_tasks SET escalated_ms = ?
WHERE id = ? AND escalated_ms = 0 AND state IN ('pending', 'dialing') AND deadline_ms <= ?`

// taskExistsSQL reads whether one callback_tasks row exists.
const taskExistsSQL = `SELECT EXISTS (SELECT 1 FROM callback_tasks WHERE id = ?)`

// MarkEscalated records that overdue task id was escalated at now. It sets
// the time exactly once: true for the one caller that set it, false when it
// was already set or the task is no longer open or not overdue at now, so an
// escalation fires once across service instances. NotFound when there is no
// such task.
func (db *DB) MarkEscalated(ctx context.Context, id int64, now time.Time) (bool, error) {
	const op = "store.MarkEscalated"
	if now.IsZero() {
		return false, hotline.Errorf(hotline.KindInvalid, op, "callback task %d: the time is required", id)
	}
	nowMs := hotline.UnixMilli(now)
	var marked bool
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, markEscalatedSQL, nowMs, id, nowMs)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if marked = n == 1; marked {
			return nil
		}
		var exists bool
		if err := tx.GetContext(ctx, &exists, taskExistsSQL, id); err != nil {
			return err
		}
		if !exists {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return false, wrapErr(op, fmt.Sprintf("callback task %d", id), err)
	}
	return marked, nil
}

// dueNowSQL writes next_attempt_ms of one pending callback_tasks row, so a
// supervisor's "dial now" makes it due at once.
const dueNowSQL = `UPDATE callback_tasks SET next_attempt_ms = ? WHERE id = ? AND state = 'pending'`

// DueNow makes a pending task due at now. Conflict when the task is not
// pending (being dialed, or closed); NotFound when there is no such task.
func (db *DB) DueNow(ctx context.Context, id int64, now time.Time) error {
	const op = "store.DueNow"
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, dueNowSQL, hotline.UnixMilli(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var state string
		if err := tx.GetContext(ctx, &state, taskStateSQL, id); err != nil {
			return err
		}
		return hotline.Errorf(hotline.KindConflict, op, "callback task %d is %s, not pending", id, state)
	})
	return wrapErr(op, fmt.Sprintf("callback task %d", id), err)
}
