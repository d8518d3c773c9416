package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

const taskColumns = `id, number, state, agent_id, agent_misses, missed_count, attempts, first_missed_ms, deadline_ms,
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
	return readOne(ctx, db, "store.GetTask", fmt.Sprintf("callback task %d", id), func(tx *sqlx.Tx) (hotline.CallbackTask, error) {
		return readTask(ctx, tx, id)
	})
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
var openTaskOfNumberSQL = `
SELECT id FROM callback_tasks WHERE number = ? AND ` + callbackOpenSQL

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
VALUES (?, 'pending', ?, 1, ?, ?, ?, ?)
RETURNING id`

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
		if err := db.lockKey(ctx, tx, "missed-call:"+m.Number); err != nil {
			return err
		}
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
			if err := tx.GetContext(ctx, &taskID, createTaskSQL, m.Number, nullString(m.AgentID), missedMs, deadlineMs,
				hotline.UnixMilli(m.DueAt), db.nowMs()); err != nil {
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

// TaskFilter selects callback tasks for ListTasks; State is a stored state
// or a group of the vocabulary (open, unfinished, overdue:
// hotline.CallbackStateNames).
type TaskFilter = MatterFilter[hotline.CallbackState]

// listTasksSQL reads callback_tasks rows in deadline order; ListTasks fills
// in the conditions of the WHERE clause from a TaskFilter, each on an
// indexed column (callback_tasks_by_state, callback_tasks_by_agent_deadline,
// callback_tasks_by_number, or callback_tasks_by_deadline without one).
const listTasksSQL = `SELECT ` + taskColumns + ` FROM callback_tasks WHERE %s
ORDER BY deadline_ms, id LIMIT ? OFFSET ?`

// ListTasks returns the tasks that match f, earliest deadline first, without
// their calls and attempts (GetTask reads those).
func (db *DB) ListTasks(ctx context.Context, f TaskFilter) ([]hotline.CallbackTask, error) {
	return listMatters(ctx, db, "store.ListTasks", "callback task", listTasksSQL, f, hotline.CallbackOverdue, taskRow.task)
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

// dueTasksSQL reads ids of callback_tasks rows due at a time, oldest due
// first: pending ones whose next attempt has come, read in due order from
// callback_tasks_open_by_next_attempt (INDEXED BY, its WHERE term repeated:
// the planner would rather read every pending task through
// callback_tasks_by_state and sort them), and dialing ones whose lease ran
// out, few at any time, through callback_tasks_by_state. Each branch stops
// at the limit before the two are merged.
var dueTasksSQL = `
SELECT id FROM (
    SELECT * FROM (
        SELECT id, next_attempt_ms AS due_ms
        FROM callback_tasks INDEXED BY callback_tasks_open_by_next_attempt
        WHERE ` + callbackOpenSQL + ` AND state = 'pending' AND next_attempt_ms <= ?
        ORDER BY next_attempt_ms, id LIMIT ?) AS pending
    UNION ALL
    SELECT * FROM (
        SELECT id, lease_until_ms AS due_ms FROM callback_tasks
        WHERE state = 'dialing' AND lease_until_ms < ?
        ORDER BY lease_until_ms, id LIMIT ?) AS lapsed
) AS due
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

// claimable is the WHERE term of the callback_tasks rows a dialer may claim
// at a time (parameter :now): pending and due, or dialing under a lease that
// ran out while no attempt of it is active (its dialer died before
// dialing). A task whose dialer died mid-dial keeps its active attempt, and
// is not claimable, until SettleAttempt.
const claimable = `((state = 'pending' AND next_attempt_ms <= :now)
       OR (state = 'dialing' AND lease_until_ms < :now
           AND NOT EXISTS (SELECT 1 FROM callback_attempts WHERE task_id = callback_tasks.id AND ended_ms = 0)))`

// claimTaskSQL makes one claimable callback_tasks row dialing under a new
// lease and reads it back. This one statement decides which dialer wins.
const claimTaskSQL = `
UPDATE callback_tasks SET state = 'dialing', lease_token = :token, lease_until_ms = :until
WHERE id = :id AND ` + claimable + `
RETURNING ` + taskColumns

// claimTasksSQL makes the claimable callback_tasks rows whose ids are in a
// JSON array dialing, each under the token "<batch>.<id>", and reads them
// back: one statement for a batch of claims. NOT INDEXED: the rows are
// looked up by id; the planner would rather walk every pending task of
// callback_tasks_by_state.
const claimTasksSQL = `
UPDATE callback_tasks NOT INDEXED SET state = 'dialing', lease_token = :batch || '.' || id, lease_until_ms = :until
WHERE id IN (SELECT value FROM json_each(:ids)) AND ` + claimable + `
RETURNING ` + taskColumns

// endStaleAttemptsOfSQL ends the active callback_attempts rows of the tasks
// whose ids are in a JSON array as failed, through
// callback_attempts_one_active_per_task.
const endStaleAttemptsOfSQL = `
UPDATE callback_attempts SET ended_ms = max(started_ms, ?), outcome = 'failed'
WHERE ended_ms = 0 AND task_id IN (SELECT value FROM json_each(?))`

// endStaleAttemptsSQL ends the active callback_attempts row of one task as
// failed: the task was resolved while it was dialed, or a pending task was
// left one by an old version.
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

// ClaimTasks gives the tasks with ids that are claimable at now to one
// dialer until leaseUntil, in one transaction: each task claimed gets the
// lease token "<batch>.<id>", batch being a token of the dialer's own. A
// task is claimable when pending and due at now, or dialing under a lease
// that ran out before now with no attempt active (its dialer died before it
// dialed). It returns the claimed tasks in id order, without their calls
// and attempts; the others (not due, held under a live lease, left mid-dial
// and waiting for SettleAttempt, closed, unknown) are left out.
func (db *DB) ClaimTasks(ctx context.Context, ids []int64, batch string, now, leaseUntil time.Time) ([]hotline.CallbackTask, error) {
	const op = "store.ClaimTasks"
	if err := checkClaim(op, batch, now, leaseUntil); err != nil || len(ids) == 0 {
		return nil, err
	}
	var tasks []hotline.CallbackTask
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var rows []taskRow
		err := namedSelect(ctx, tx, &rows, claimTasksSQL, map[string]any{"batch": batch, "until": hotline.UnixMilli(leaseUntil),
			"ids": jsonIDs(ids), "now": hotline.UnixMilli(now)})
		if err != nil || len(rows) == 0 {
			return err
		}
		slices.SortFunc(rows, func(a, b taskRow) int { return cmp.Compare(a.ID, b.ID) })
		claimed := make([]int64, len(rows))
		for i, r := range rows {
			claimed[i] = r.ID
			tasks = append(tasks, r.task())
		}
		return endStaleAttempts(ctx, tx, now, claimed)
	})
	if err != nil {
		return nil, wrapErr(op, fmt.Sprintf("%d callback tasks", len(ids)), err)
	}
	return tasks, nil
}

func checkClaim(op, token string, now, leaseUntil time.Time) error {
	switch {
	case token == "":
		return hotline.Errorf(hotline.KindInvalid, op, "a lease token is required")
	case now.IsZero() || !leaseUntil.After(now):
		return hotline.Errorf(hotline.KindInvalid, op, "the lease must end after now (%s), not at %s", now, leaseUntil)
	}
	return nil
}

// endStaleAttempts ends the active attempts of the tasks just claimed. A
// claimed task has none unless a version before the leases left one on a
// pending task: that one ended long ago, as failed.
func endStaleAttempts(ctx context.Context, tx *sqlx.Tx, now time.Time, ids []int64) error {
	_, err := tx.ExecContext(ctx, endStaleAttemptsOfSQL, hotline.UnixMilli(now), jsonIDs(ids))
	return err
}

// namedSelect runs a named query through tx into dest.
func namedSelect(ctx context.Context, tx *sqlx.Tx, dest any, query string, args map[string]any) error {
	q, params, err := tx.BindNamed(query, args)
	if err != nil {
		return err
	}
	return tx.SelectContext(ctx, dest, q, params...)
}

// ClaimTask gives task id to the dialer holding token until leaseUntil
// when it is claimable (see ClaimTasks), saying why it was not: Conflict
// when it is not claimable (not due, held under a live lease, left
// mid-dial, closed); NotFound when there is no such task.
func (db *DB) ClaimTask(ctx context.Context, id int64, token string, now, leaseUntil time.Time) (hotline.CallbackTask, error) {
	const op = "store.ClaimTask"
	subject := fmt.Sprintf("callback task %d", id)
	if err := checkClaim(op, token, now, leaseUntil); err != nil {
		return hotline.CallbackTask{}, err
	}
	var rows []taskRow
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		err := namedSelect(ctx, tx, &rows, claimTaskSQL, map[string]any{"token": token, "until": hotline.UnixMilli(leaseUntil),
			"id": id, "now": hotline.UnixMilli(now)})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return claimConflict(ctx, tx, op, id, now)
		}
		return endStaleAttempts(ctx, tx, now, []int64{id})
	})
	if err != nil {
		return hotline.CallbackTask{}, wrapErr(op, subject, err)
	}
	return rows[0].task(), nil
}

// claimConflict says why task id could not be claimed at now.
func claimConflict(ctx context.Context, q sqlx.QueryerContext, op string, id int64, now time.Time) error {
	var l taskLease
	if err := sqlx.GetContext(ctx, q, &l, taskLeaseSQL, id); err != nil {
		return err
	}
	switch hotline.CallbackState(l.State) {
	case hotline.CallbackPending:
		return hotline.Errorf(hotline.KindConflict, op, "callback task %d is not due before %s",
			id, hotline.FromUnixMilli(l.NextAttemptMs).Format(time.RFC3339Nano))
	case hotline.CallbackDialing:
		var attemptID int64
		err := sqlx.GetContext(ctx, q, &attemptID, activeAttemptSQL, id)
		if err == nil && l.LeaseUntilMs < hotline.UnixMilli(now) {
			return hotline.Errorf(hotline.KindConflict, op, "callback task %d was left mid-dial by attempt %d: it is settled before it is dialed again",
				id, attemptID)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
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
const startAttemptSQL = `INSERT INTO callback_attempts (task_id, agent_id, started_ms) VALUES (?, ?, ?) RETURNING id`

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
		return tx.GetContext(ctx, &attemptID, startAttemptSQL, id, agentID, hotline.UnixMilli(now))
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

// finishTaskSQL writes state, attempts, agent_misses, next_attempt_ms and
// closed_ms of one dialing callback_tasks row held under a token, and
// clears its lease.
const finishTaskSQL = `
UPDATE callback_tasks
SET state = ?, attempts = ?, agent_misses = ?, next_attempt_ms = ?, closed_ms = ?, lease_token = NULL, lease_until_ms = 0
WHERE id = ? AND state = 'dialing' AND lease_token = ?`

// FinishAttempt ends attempt a of task t under the claim of token, in one
// transaction: the attempt gets a.EndedAt, a.Outcome, a.Cause and any
// progress timestamps it did not have; the task gets t's state, attempts,
// agent misses, next attempt and closed time (as hotline.CallbackPolicy.AfterAttempt made
// them) and loses its lease. t.State must be pending again or one of the
// ends an attempt leads to (connected, unreachable, invalid_number).
// Conflict when the attempt already ended or the claim was lost (the lease
// ran out and another dialer claimed the task, or an inbound call resolved
// it): then nothing is written. NotFound when there is no such attempt.
func (db *DB) FinishAttempt(ctx context.Context, token string, a hotline.CallbackAttempt, t hotline.CallbackTask) error {
	const op = "store.FinishAttempt"
	subject := fmt.Sprintf("callback attempt %d of task %d", a.ID, t.ID)
	if token == "" {
		return hotline.Errorf(hotline.KindInvalid, op, "%s: a lease token is required", subject)
	}
	if err := validateFinish(op, subject, a, t); err != nil {
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
			t.State, t.Attempts, t.AgentMisses, hotline.UnixMilli(t.NextAttempt), closedMs, t.ID, token)
	})
	return wrapErr(op, subject, err)
}

func validateFinish(op, subject string, a hotline.CallbackAttempt, t hotline.CallbackTask) error {
	switch {
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

// staleAttemptsSQL reads the active callback_attempts rows of the
// callback_tasks rows dialing under a lease that ran out before a time,
// oldest first; few tasks are dialing at any time
// (callback_tasks_by_state), and each has at most one active attempt.
const staleAttemptsSQL = `SELECT ` + attemptColumns + ` FROM callback_attempts
WHERE ended_ms = 0
  AND task_id IN (SELECT id FROM callback_tasks WHERE state = 'dialing' AND lease_until_ms < ?)
ORDER BY started_ms, id LIMIT ?`

// StaleAttempts returns up to limit attempts left active on tasks whose
// lease ran out before now, oldest first: their dialer died mid-dial (the
// process was killed). Nobody claims such a task until SettleAttempt has
// ended its attempt.
func (db *DB) StaleAttempts(ctx context.Context, now time.Time, limit int) ([]hotline.CallbackAttempt, error) {
	const op = "store.StaleAttempts"
	if limit <= 0 {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "limit %d must be positive", limit)
	}
	var rows []attemptRow
	if err := db.reader.SelectContext(ctx, &rows, staleAttemptsSQL, hotline.UnixMilli(now), limit); err != nil {
		return nil, wrapErr(op, "attempts left mid-dial", err)
	}
	out := make([]hotline.CallbackAttempt, len(rows))
	for i, r := range rows {
		out[i] = r.attempt()
	}
	return out, nil
}

// settleAttemptSQL ends one active callback_attempts row of a task with an
// outcome.
const settleAttemptSQL = `
UPDATE callback_attempts SET ended_ms = max(started_ms, ?), outcome = ?
WHERE id = ? AND task_id = ? AND ended_ms = 0`

// settleTaskSQL writes state, attempts, agent_misses, next_attempt_ms and
// closed_ms of one callback_tasks row dialing under a given lease that ran
// out before a time, and clears its lease.
const settleTaskSQL = `
UPDATE callback_tasks
SET state = ?, attempts = ?, agent_misses = ?, next_attempt_ms = ?, closed_ms = ?, lease_token = NULL, lease_until_ms = 0
WHERE id = ? AND state = 'dialing' AND lease_token = ? AND lease_until_ms < ?`

// SettleAttempt ends attempt a, left active by a dialer that died mid-dial,
// with a.Outcome at a.EndedAt, and gives its task t's state, attempts,
// agent misses, next attempt and closed time (t as
// hotline.CallbackPolicy.AfterAttempt made it from the task read with its
// lease), in one transaction. It holds only while the task is still dialing
// under t.LeaseToken, that lease ran out before now, and the attempt is
// active; otherwise Conflict (another instance settled it, or a dialer
// claimed it since) and nothing is written.
func (db *DB) SettleAttempt(ctx context.Context, a hotline.CallbackAttempt, t hotline.CallbackTask, now time.Time) error {
	const op = "store.SettleAttempt"
	subject := fmt.Sprintf("callback attempt %d of task %d", a.ID, t.ID)
	if err := validateFinish(op, subject, a, t); err != nil {
		return err
	}
	if t.LeaseToken == "" || now.IsZero() {
		return hotline.Errorf(hotline.KindInvalid, op, "%s: the lease it was left under and the time are required", subject)
	}
	conflict := hotline.Errorf(hotline.KindConflict, op, "%s: settled already, or the task was claimed since", subject)
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var closedMs int64
		if t.State != hotline.CallbackPending {
			closedMs = hotline.UnixMilli(t.ClosedAt)
		}
		res, err := tx.ExecContext(ctx, settleTaskSQL, t.State, t.Attempts, t.AgentMisses, hotline.UnixMilli(t.NextAttempt),
			closedMs, t.ID, t.LeaseToken, hotline.UnixMilli(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpOr(err, conflict)
		}
		res, err = tx.ExecContext(ctx, settleAttemptSQL, hotline.UnixMilli(a.EndedAt), a.Outcome, a.ID, t.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpOr(err, conflict)
		}
		return nil
	})
	return wrapErr(op, subject, err)
}

// cmpOr is err, or alt when err is nil.
func cmpOr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// handOverReadSQL reads agent_id and agent_misses of one callback_tasks row
// dialing under a token, the cause of its latest attempt and its first
// missed call.
const handOverReadSQL = `
SELECT agent_id, agent_misses,
       coalesce((SELECT cause FROM callback_attempts WHERE task_id = callback_tasks.id ORDER BY id DESC LIMIT 1), 0) AS cause,
       (SELECT call_id FROM callback_task_calls WHERE task_id = callback_tasks.id ORDER BY rowid LIMIT 1) AS call_id
FROM callback_tasks WHERE id = ? AND state = 'dialing' AND lease_token = ?`

// handOverSQL writes agent_id of one callback_tasks row dialing under a
// token and clears its agent_misses.
const handOverSQL = `
UPDATE callback_tasks SET agent_id = ?, agent_misses = 0
WHERE id = ? AND state = 'dialing' AND lease_token = ?`

// HandOver passes task id, held under token, to agent to (its responsible
// agent would not take it: hotline.CallbackPolicy.HandsOver): to becomes
// responsible and the misses count again from 0. When the agent it leaves
// had left dials of this task unanswered, a ring_declined or
// ring_not_answered violation (by the cause of the latest attempt,
// hotline.RefusalKind) is recorded against them at now with detail, in the
// same transaction, and returned; ID 0 when none was recorded. Conflict
// when the claim was lost; NotFound when there is no such task; Invalid for
// an unknown agent.
func (db *DB) HandOver(ctx context.Context, id int64, token, to string, now time.Time, detail string) (hotline.Violation, error) {
	const op = "store.HandOver"
	subject := fmt.Sprintf("callback task %d", id)
	switch {
	case token == "":
		return hotline.Violation{}, hotline.Errorf(hotline.KindInvalid, op, "%s: a lease token is required", subject)
	case strings.TrimSpace(to) == "":
		return hotline.Violation{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the agent it passes to is required", subject)
	case now.IsZero():
		return hotline.Violation{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the time is required", subject)
	}
	var v hotline.Violation
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var from struct {
			AgentID sql.NullString `db:"agent_id"`
			Misses  int            `db:"agent_misses"`
			Cause   int            `db:"cause"`
			CallID  sql.NullString `db:"call_id"`
		}
		err := tx.GetContext(ctx, &from, handOverReadSQL, id, token)
		if errors.Is(err, sql.ErrNoRows) {
			return fenceConflict(ctx, tx, op, id, token)
		}
		if err != nil {
			return err
		}
		if err := execFenced(ctx, tx, op, id, token, handOverSQL, to, id, token); err != nil {
			return err
		}
		if !from.AgentID.Valid || from.AgentID.String == to || from.Misses == 0 {
			return nil
		}
		v = hotline.Violation{Kind: hotline.RefusalKind(from.Cause), AgentID: from.AgentID.String, CallID: from.CallID.String,
			TaskID: id, At: now, Detail: strings.TrimSpace(detail)}
		v.ID, err = insertViolation(ctx, tx, v)
		return err
	})
	if err != nil {
		return hotline.Violation{}, wrapErr(op, subject, err)
	}
	return v, nil
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
var resolveByInboundSQL = `
UPDATE callback_tasks
SET state = 'resolved', closed_ms = ?, close_reason = ?, next_attempt_ms = 0, lease_token = NULL, lease_until_ms = 0
WHERE number = ? AND ` + callbackOpenSQL + `
RETURNING id`

// hasOpenTaskSQL reads whether number has an open callback_tasks row
// (through callback_tasks_one_open_per_number).
var hasOpenTaskSQL = `SELECT EXISTS (SELECT 1 FROM callback_tasks WHERE number = ? AND ` + callbackOpenSQL + `)`

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
	// Most answered callers owe no callback: a read on a reader tells, and
	// spares the one writer a transaction for every answered call. A task
	// made after this read is one made after this call was answered.
	var open bool
	if err := db.reader.GetContext(ctx, &open, hasOpenTaskSQL, number); err != nil {
		return nil, wrapErr(op, fmt.Sprintf("callback tasks of %s", number), err)
	}
	ids := []int64{}
	if !open {
		return ids, nil
	}
	nowMs := hotline.UnixMilli(now)
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
