package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Deadlines of callback tasks (6.1) and promises (6.2). The deadline engine
// (package callback) treats both alike: it pages through the unfinished
// rows to rebuild its Redis index, polls the rows whose deadline is near
// while Redis is down, marks each reminder sent once, and escalates an
// overdue row once, with its violation in the same transaction. The
// statements below are written once for both tables; matterTable says
// where each kind keeps what.

// MatterKind names a kind of matter whose deadline the engine watches.
type MatterKind int

const (
	CallbackTasks MatterKind = iota + 1 // callback_tasks: a missed call to return (6.1)
	Promises                            // promises: a reply owed by a deadline (6.2)
)

func (k MatterKind) String() string {
	if t := k.table(); t != nil {
		return t.name
	}
	return fmt.Sprintf("MatterKind(%d)", int(k))
}

// matterTable is where one kind keeps its deadline, escalation and
// reminders, and the statements built from that.
type matterTable struct {
	name  string // "callback task", "promise"
	table string
	// unfinished is the WHERE term of the rows whose deadline is watched,
	// written from the state vocabulary of the root package; the partial
	// indexes below repeat it (TestDeadlineIndexesRepeatTheVocabulary).
	unfinished string
	work       string // the expression of a row's next work time; "0" when the kind has none
	// pageIndex covers id, state, the work columns, deadline_ms and
	// escalated_ms of the unfinished rows; dueIndex holds the unfinished
	// rows not escalated by deadline_ms.
	pageIndex, dueIndex string
	columns             string // every column, as its row type reads them
	reminders, ref      string // the table of sent reminders and its column naming the row
	escalateSet         string // SET terms an escalation adds to escalated_ms
	callOf              string // the expression of the call a violation names
	violation           hotline.ViolationKind

	byIDSQL, duePageSQL, dueBeforeSQL, remindersSQL, markReminderSQL, unmarkReminderSQL, escalateSQL string
}

// The WHERE terms of the vocabulary's groups the statements filter on,
// written once from the root package; the partial indexes repeat them word
// for word (TestDeadlineIndexesRepeatTheVocabulary), as the planner needs.
var (
	callbackOpenSQL      = sqlIn("state", hotline.CallbackOpen.Selects())      // state IN ('pending', 'dialing')
	promiseUnfinishedSQL = sqlIn("state", hotline.PromiseUnfinished.Selects()) // state IN ('open', 'escalated')
)

var matterTables = map[MatterKind]*matterTable{
	CallbackTasks: newMatterTable(matterTable{
		name: "callback task", table: "callback_tasks", columns: taskColumns,
		unfinished: callbackOpenSQL,
		work:       "CASE state WHEN 'dialing' THEN lease_until_ms ELSE next_attempt_ms END",
		pageIndex:  "callback_tasks_open_dues", dueIndex: "callback_tasks_to_escalate",
		reminders: "callback_reminders", ref: "task_id",
		callOf:    "(SELECT call_id FROM callback_task_calls WHERE task_id = callback_tasks.id ORDER BY rowid LIMIT 1)",
		violation: hotline.ViolationCallbackOverdue,
	}),
	Promises: newMatterTable(matterTable{
		name: "promise", table: "promises", columns: promiseColumns,
		unfinished: promiseUnfinishedSQL,
		work:       "0",
		pageIndex:  "promises_unfinished_dues", dueIndex: "promises_to_escalate",
		reminders: "promise_reminders", ref: "promise_id",
		escalateSet: ", state = 'escalated'",
		callOf:      "call_id",
		violation:   hotline.ViolationPromiseOverdue,
	}),
}

func (k MatterKind) table() *matterTable { return matterTables[k] }

// sqlIn is the WHERE term "column IN ('a', 'b')" for states.
func sqlIn[S ~string](column string, states []S) string {
	quoted := make([]string, len(states))
	for i, s := range states {
		quoted[i] = "'" + strings.ReplaceAll(string(s), "'", "''") + "'"
	}
	return column + " IN (" + strings.Join(quoted, ", ") + ")"
}

func newMatterTable(t matterTable) *matterTable {
	r := strings.NewReplacer("{table}", t.table, "{columns}", t.columns, "{unfinished}", t.unfinished, "{work}", t.work,
		"{page_index}", t.pageIndex, "{due_index}", t.dueIndex, "{reminders}", t.reminders, "{ref}", t.ref,
		"{escalate_set}", t.escalateSet, "{call}", t.callOf)
	t.byIDSQL = r.Replace(byIDSQL)
	t.duePageSQL = r.Replace(duePageSQL)
	t.dueBeforeSQL = r.Replace(dueBeforeSQL)
	t.remindersSQL = r.Replace(remindersSentSQL)
	t.markReminderSQL = r.Replace(markReminderSQL)
	t.unmarkReminderSQL = r.Replace(unmarkReminderSQL)
	t.escalateSQL = r.Replace(escalateSQL)
	return &t
}

// Each statement below is a template: {table} is callback_tasks or promises,
// {unfinished} its unfinished states, {reminders} and {ref} its table of
// sent reminders (callback_reminders.task_id, promise_reminders.promise_id).

// byIDSQL reads the {table} rows whose ids are in a JSON array, in id
// order, through the primary key.
const byIDSQL = `SELECT {columns} FROM {table} WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`

// duePageSQL reads id, deadline_ms, escalated_ms and the next work time of
// the unfinished rows of {table} after an id, in id order, from the
// covering partial index {page_index} alone (INDEXED BY, its WHERE term
// repeated: the planner would rather walk the table).
const duePageSQL = `
SELECT id, deadline_ms, escalated_ms, {work} AS work_ms FROM {table} INDEXED BY {page_index}
WHERE {unfinished} AND id > ?
ORDER BY id LIMIT ?`

// dueBeforeSQL reads id, deadline_ms, escalated_ms and the next work time of
// the unfinished rows of {table} not escalated whose deadline is at or
// before a time, after a (deadline_ms, id) position, earliest deadline
// first, from the partial index {due_index} (INDEXED BY, its WHERE terms
// repeated).
const dueBeforeSQL = `
SELECT id, deadline_ms, escalated_ms, {work} AS work_ms FROM {table} INDEXED BY {due_index}
WHERE {unfinished} AND escalated_ms = 0 AND deadline_ms <= ? AND (deadline_ms, id) > (?, ?)
ORDER BY deadline_ms, id LIMIT ?`

// remindersSentSQL reads {ref} and lead_ms of the {reminders} rows of the
// rows whose ids are in a JSON array, through its primary key.
const remindersSentSQL = `
SELECT {ref} AS id, lead_ms FROM {reminders}
WHERE {ref} IN (SELECT value FROM json_each(?))
ORDER BY {ref}, lead_ms DESC`

// markReminderSQL inserts the {reminders} row of one unfinished {table} row
// and lead time unless it exists.
const markReminderSQL = `
INSERT INTO {reminders} ({ref}, lead_ms, sent_ms)
SELECT id, ?, ? FROM {table} WHERE id = ? AND {unfinished}
ON CONFLICT ({ref}, lead_ms) DO NOTHING`

// unmarkReminderSQL deletes the {reminders} row of one {table} row and lead
// time.
const unmarkReminderSQL = `DELETE FROM {reminders} WHERE {ref} = ? AND lead_ms = ?`

// escalateSQL sets escalated_ms (and, for a promise, state 'escalated') of
// the unfinished {table} rows not escalated whose ids are in a JSON array
// and whose deadline has passed, and reads their id, agent_id and the call a
// violation names. NOT INDEXED: the rows are looked up by id; the planner
// would rather walk the unfinished ones by state.
const escalateSQL = `
UPDATE {table} NOT INDEXED SET escalated_ms = :now{escalate_set}
WHERE id IN (SELECT value FROM json_each(:ids)) AND {unfinished} AND escalated_ms = 0 AND deadline_ms <= :now
RETURNING id, agent_id, {call} AS call_id`

// Due is when an unfinished matter next needs the engine: its deadline
// (reminders before it, the escalation at it, unless escalated already),
// and for a callback task the next dial (its next attempt, or when the
// lease of a dialing task runs out).
type Due struct {
	ID        int64
	Deadline  time.Time
	Escalated bool
	Work      time.Time // zero for a promise
}

type dueRow struct {
	ID          int64 `db:"id"`
	DeadlineMs  int64 `db:"deadline_ms"`
	EscalatedMs int64 `db:"escalated_ms"`
	WorkMs      int64 `db:"work_ms"`
}

func (r dueRow) due() Due {
	return Due{ID: r.ID, Deadline: hotline.FromUnixMilli(r.DeadlineMs), Escalated: r.EscalatedMs != 0,
		Work: hotline.FromUnixMilli(r.WorkMs)}
}

// kindTable returns k's table, or Invalid for an unknown kind.
func kindTable(op string, k MatterKind) (*matterTable, error) {
	if t := k.table(); t != nil {
		return t, nil
	}
	return nil, hotline.Errorf(hotline.KindInvalid, op, "unknown kind of matter %d", int(k))
}

func (db *DB) selectDues(ctx context.Context, op string, k MatterKind, query func(*matterTable) string, limit int, args ...any) ([]Due, error) {
	t, err := kindTable(op, k)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "limit %d must be positive", limit)
	}
	var rows []dueRow
	if err := db.reader.SelectContext(ctx, &rows, query(t), append(args, limit)...); err != nil {
		return nil, wrapErr(op, "unfinished "+t.name+"s", err)
	}
	dues := make([]Due, len(rows))
	for i, r := range rows {
		dues[i] = r.due()
	}
	return dues, nil
}

// DuePage returns up to limit unfinished matters of kind k with ids above
// afterID, in id order: keyset pages for rebuilding the Redis index (pass
// the last id of a page to get the next; a short page is the end).
// Unfinished: an open callback task (pending, dialing), an unfinished
// promise (open, escalated).
func (db *DB) DuePage(ctx context.Context, k MatterKind, afterID int64, limit int) ([]Due, error) {
	return db.selectDues(ctx, "store.DuePage", k, func(t *matterTable) string { return t.duePageSQL }, limit, afterID)
}

// DueBefore returns up to limit unfinished matters of kind k not escalated
// whose deadline is at or before horizon, earliest deadline first, after
// the position of after (the last of the previous page; the zero Due for
// the first): the slow SQL poll of reminders and escalations while Redis is
// down.
func (db *DB) DueBefore(ctx context.Context, k MatterKind, horizon time.Time, after Due, limit int) ([]Due, error) {
	return db.selectDues(ctx, "store.DueBefore", k, func(t *matterTable) string { return t.dueBeforeSQL }, limit,
		hotline.UnixMilli(horizon), hotline.UnixMilli(after.Deadline), after.ID)
}

// jsonIDs is ids as a JSON array, the one parameter of an IN (json_each(?)).
func jsonIDs(ids []int64) string {
	b, _ := json.Marshal(ids) // a slice of integers always marshals
	return string(b)
}

// RemindersSent returns, for each of ids that has any, the lead times of the
// reminders already sent before its current deadline, longest first.
func (db *DB) RemindersSent(ctx context.Context, k MatterKind, ids []int64) (map[int64][]time.Duration, error) {
	const op = "store.RemindersSent"
	t, err := kindTable(op, k)
	if err != nil {
		return nil, err
	}
	sent := map[int64][]time.Duration{}
	if len(ids) == 0 {
		return sent, nil
	}
	var rows []struct {
		ID     int64 `db:"id"`
		LeadMs int64 `db:"lead_ms"`
	}
	if err := db.reader.SelectContext(ctx, &rows, t.remindersSQL, jsonIDs(ids)); err != nil {
		return nil, wrapErr(op, "reminders of "+t.name+"s", err)
	}
	for _, r := range rows {
		sent[r.ID] = append(sent[r.ID], time.Duration(r.LeadMs)*time.Millisecond)
	}
	return sent, nil
}

// Reminder names the reminder lead before the deadline of matter ID.
type Reminder struct {
	ID   int64
	Lead time.Duration
}

// MarkRemindersSent records, in one transaction, that each reminder goes
// out at now. Each is true for the one caller that recorded it, and false
// when it was recorded already (across restarts and service instances), or
// the matter is finished or unknown: a reminder fires once per matter,
// deadline and lead (an extended promise deadline clears the marks).
func (db *DB) MarkRemindersSent(ctx context.Context, k MatterKind, rs []Reminder, now time.Time) ([]bool, error) {
	const op = "store.MarkRemindersSent"
	t, err := kindTable(op, k)
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "the time is required")
	}
	for _, r := range rs {
		if r.Lead.Milliseconds() <= 0 {
			return nil, hotline.Errorf(hotline.KindInvalid, op, "reminder %s of %s %d: the lead time must be at least 1ms", r.Lead, t.name, r.ID)
		}
	}
	marked := make([]bool, len(rs))
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		stmt, err := tx.PreparexContext(ctx, t.markReminderSQL) // once for the batch
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, r := range rs {
			res, err := stmt.ExecContext(ctx, r.Lead.Milliseconds(), hotline.UnixMilli(now), r.ID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			marked[i] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr(op, "reminders of "+t.name+"s", err)
	}
	return marked, nil
}

// UnmarkReminderSent forgets that the reminder lead of matter id was sent,
// after its push failed, so the next round sends it again. Forgetting a
// mark that does not exist is no error.
func (db *DB) UnmarkReminderSent(ctx context.Context, k MatterKind, id int64, lead time.Duration) error {
	const op = "store.UnmarkReminderSent"
	t, err := kindTable(op, k)
	if err != nil {
		return err
	}
	_, err = db.writer.ExecContext(ctx, t.unmarkReminderSQL, id, lead.Milliseconds())
	return wrapErr(op, fmt.Sprintf("reminder %s of %s %d", lead, t.name, id), err)
}

// Escalation asks to escalate matter ID, with the violation's detail.
type Escalation struct {
	ID     int64
	Detail string
}

// Escalated is what Escalate did to one matter.
type Escalated struct {
	ID int64
	// Won: this caller escalated it. False when it was escalated already
	// (by another instance), is finished, is not due yet, or is unknown.
	Won bool
	// Violation is the one recorded with the escalation against the
	// matter's responsible agent; ID 0 when there was none to record it
	// against (a callback task nobody was made responsible for).
	Violation hotline.Violation
}

// Escalate escalates each overdue matter at now in one transaction: an
// unfinished matter not escalated yet whose deadline is at or before now
// gets escalated_ms (a promise also the state escalated), and in the same
// transaction a callback_overdue or promise_overdue violation (拖延) against
// its responsible agent, with its call and detail. Each is won by one caller
// only, across service instances, and a crash cannot leave an escalation
// without its violation.
func (db *DB) Escalate(ctx context.Context, k MatterKind, now time.Time, es []Escalation) ([]Escalated, error) {
	const op = "store.Escalate"
	t, err := kindTable(op, k)
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "the time is required")
	}
	ids, detail := make([]int64, len(es)), make(map[int64]string, len(es))
	for i, e := range es {
		ids[i], detail[e.ID] = e.ID, strings.TrimSpace(e.Detail)
	}
	at := hotline.FromUnixMilli(hotline.UnixMilli(now))
	won := map[int64]hotline.Violation{}
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		var rows []struct {
			ID      int64          `db:"id"`
			AgentID sql.NullString `db:"agent_id"`
			CallID  sql.NullString `db:"call_id"`
		}
		if err := namedSelect(ctx, tx, &rows, t.escalateSQL, map[string]any{"now": hotline.UnixMilli(now), "ids": jsonIDs(ids)}); err != nil {
			return err
		}
		var vs []hotline.Violation
		for _, r := range rows {
			won[r.ID] = hotline.Violation{}
			if !r.AgentID.Valid {
				continue // nobody was made responsible: nobody to record it against
			}
			v := hotline.Violation{Kind: t.violation, AgentID: r.AgentID.String, CallID: r.CallID.String, At: at, Detail: detail[r.ID]}
			if k == CallbackTasks {
				v.TaskID = r.ID
			} else {
				v.PromiseID = r.ID
			}
			vs = append(vs, v)
		}
		added, err := insertViolations(ctx, tx, vs)
		for _, v := range added {
			won[v.TaskID+v.PromiseID] = v
		}
		return err
	})
	if err != nil {
		return nil, wrapErr(op, "overdue "+t.name+"s", err)
	}
	out := make([]Escalated, len(es))
	for i, e := range es {
		v, ok := won[e.ID]
		out[i] = Escalated{ID: e.ID, Won: ok, Violation: v}
	}
	return out, nil
}

// MatterFilter selects callback tasks (TaskFilter) or promises
// (PromiseFilter) for a list; zero fields select everything.
type MatterFilter[S ~string] struct {
	// State is a stored state or a group of the kind's vocabulary; the
	// overdue group needs OverdueAt.
	State   S
	AgentID string // of this responsible agent
	Number  string // of this citizen's number
	// OverdueAt is when overdue is judged: non-zero selects the matters
	// overdue at it (unfinished, deadline at or before it), as State
	// overdue does.
	OverdueAt time.Time
	Limit     int // at most this many; 0 means DefaultListLimit, at most MaxListLimit
	Offset    int // skipping this many of the earliest deadlines
}

// stateWord is a state of a kind's vocabulary in the root package.
type stateWord[S any] interface {
	~string
	Selects() []S
	ByDeadline() bool
}

// listMatters runs a list query (selectPage) filtered by f; overdue is the
// kind's overdue group.
func listMatters[S stateWord[S], R, T any](ctx context.Context, db *DB, op, kind, query string, f MatterFilter[S], overdue S,
	convert func(R) T) ([]T, error) {
	limit, err := pageLimit(op, f.Limit, f.Offset)
	if err != nil {
		return nil, err
	}
	conds, args, err := stateConds(op, kind, f.State, f.State.Selects(), f.State.ByDeadline(), overdue.Selects(), f.OverdueAt)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct{ column, value string }{{"agent_id", f.AgentID}, {"number", f.Number}} {
		if c.value != "" {
			conds, args = append(conds, c.column+" = ?"), append(args, c.value)
		}
	}
	return selectPage(ctx, db, op, kind+"s", query, conds, args, limit, f.Offset, convert)
}

// stateConds are the WHERE terms and arguments of a list filtered by state,
// a stored state or a group of its kind's vocabulary (selects: the stored
// states it names, nil for an unknown name; byDeadline: the overdue group),
// and by overdueAt: when non-zero, the overdue group (its stored states
// overdue, with the deadline at or before it) as well. No state selects
// everything; an unknown one, or overdue without a time, is Invalid.
func stateConds[S ~string](op, kind string, state S, selects []S, byDeadline bool, overdue []S, overdueAt time.Time) ([]string, []any, error) {
	conds := []string{"TRUE"}
	switch {
	case state == "":
	case selects == nil:
		return nil, nil, hotline.Errorf(hotline.KindInvalid, op, "unknown %s state %q", kind, state)
	case byDeadline && overdueAt.IsZero():
		return nil, nil, hotline.Errorf(hotline.KindInvalid, op, "%s state %q needs the time it is judged at", kind, state)
	case !byDeadline:
		conds = append(conds, sqlIn("state", selects))
	}
	if overdueAt.IsZero() {
		return conds, nil, nil
	}
	return append(conds, sqlIn("state", overdue), "deadline_ms <= ?"), []any{hotline.UnixMilli(overdueAt)}, nil
}

// readOne reads one matter by id in a read transaction of its own, so the
// row and what hangs off it come from one snapshot; NotFound names it.
func readOne[T any](ctx context.Context, db *DB, op, subject string, read func(tx *sqlx.Tx) (T, error)) (T, error) {
	var out T
	err := db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = read(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, wrapErr(op, subject, err)
	}
	return out, nil
}

// GetTasks returns the callback tasks with ids, in id order, without their
// calls and attempts; unknown ids are left out. The deadline engine reads
// each batch of due tasks with it.
func (db *DB) GetTasks(ctx context.Context, ids []int64) ([]hotline.CallbackTask, error) {
	return getMatters(ctx, db, "store.GetTasks", CallbackTasks, ids, taskRow.task)
}

// GetPromises returns the promises with ids, in id order, without their
// extensions and reminders (RemindersSent reads those); unknown ids are
// left out. The deadline engine reads each batch of due promises with it.
func (db *DB) GetPromises(ctx context.Context, ids []int64) ([]hotline.Promise, error) {
	return getMatters(ctx, db, "store.GetPromises", Promises, ids, promiseRow.promise)
}

// getMatters reads the rows of kind k with ids and converts each.
func getMatters[R, T any](ctx context.Context, db *DB, op string, k MatterKind, ids []int64, convert func(R) T) ([]T, error) {
	t, err := kindTable(op, k)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var rows []R
	if err := db.reader.SelectContext(ctx, &rows, t.byIDSQL, jsonIDs(ids)); err != nil {
		return nil, wrapErr(op, t.name+"s", err)
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = convert(r)
	}
	return out, nil
}
