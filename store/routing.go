package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// openPromiseAgentSQL reads agent_id of the newest unfinished promises row
// (open or escalated) of one number, through promises_by_number.
var openPromiseAgentSQL = `
SELECT agent_id FROM promises
WHERE number = ? AND ` + promiseUnfinishedSQL + `
ORDER BY created_ms DESC, id DESC LIMIT 1`

// openCallbackAgentSQL reads agent_id of the open callback_tasks row
// (pending or dialing) of one number when it has an agent, through the
// partial index callback_tasks_one_open_per_number, whose WHERE term it
// repeats word for word so the planner can use it.
var openCallbackAgentSQL = `
SELECT agent_id FROM callback_tasks
WHERE number = ? AND ` + callbackOpenSQL + ` AND agent_id IS NOT NULL`

// recentCallAgentSQL reads first_responsible_agent and arrived_ms of the
// newest calls row from one number that arrived since a time and has one,
// through calls_by_caller.
const recentCallAgentSQL = `
SELECT first_responsible_agent AS agent, arrived_ms AS at_ms FROM calls
WHERE caller_number = ? AND arrived_ms >= ? AND first_responsible_agent IS NOT NULL
ORDER BY arrived_ms DESC, id DESC LIMIT 1`

// recentCallbackAgentSQL reads agent_id and bridged_ms of the newest
// connected callback_attempts row of one number's callback_tasks since a
// time, through callback_tasks_by_number: whoever connects on a callback
// becomes responsible for the matter.
const recentCallbackAgentSQL = `
SELECT a.agent_id AS agent, a.bridged_ms AS at_ms FROM callback_tasks t JOIN callback_attempts a ON a.task_id = t.id
WHERE t.number = ? AND a.outcome = 'connected' AND a.bridged_ms >= ? AND a.agent_id IS NOT NULL
ORDER BY a.bridged_ms DESC LIMIT 1`

// ResponsibleAgent returns the first-responsible agent of the open matter of
// the citizen at number, whom sticky routing rings first (clause 4.1.1). In
// order: the agent of the newest unfinished promise to that number (open
// or escalated); else the agent of its open callback task (pending
// or dialing), when one is assigned; else the first-responsible agent of the
// newest call from that number that arrived at or after since and was
// answered, or of the newest connected callback to it, whichever is newer.
// Fulfilled or closed promises and closed callback tasks are no
// open matter. NotFound when there is none, and for "" (an uncallable
// number has no matter) without reading the database. The three reads see
// one snapshot.
func (db *DB) ResponsibleAgent(ctx context.Context, number string, since time.Time) (string, error) {
	const op = "store.ResponsibleAgent"
	subject := fmt.Sprintf("responsible agent of %s", number)
	if number == "" {
		return "", hotline.Errorf(hotline.KindNotFound, op, "no responsible agent without a caller number")
	}
	lookups := []struct {
		query string
		args  []any
	}{
		{openPromiseAgentSQL, []any{number}},
		{openCallbackAgentSQL, []any{number}},
	}
	var agentID string
	err := db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		for _, l := range lookups {
			err := tx.GetContext(ctx, &agentID, l.query, l.args...)
			if !errors.Is(err, sql.ErrNoRows) {
				return err // found (nil), or failed
			}
		}
		// The newer of the last answered call and the last connected callback.
		type conversation struct {
			Agent string `db:"agent"`
			AtMs  int64  `db:"at_ms"`
		}
		var newest conversation
		for _, q := range []string{recentCallAgentSQL, recentCallbackAgentSQL} {
			var c conversation
			err := tx.GetContext(ctx, &c, q, number, hotline.UnixMilli(since))
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			case c.AtMs >= newest.AtMs:
				newest = c
			}
		}
		if newest.Agent == "" {
			return sql.ErrNoRows
		}
		agentID = newest.Agent
		return nil
	})
	if err != nil {
		return "", wrapErr(op, subject, err)
	}
	return agentID, nil
}
