package store

import (
	"database/sql"

	"hotline"
)

// The rows of callback_tasks and promises as the statements read and write
// them, and the columns both have.

// lifecycleColumns are the columns a callback task and a promise share:
// when it was escalated and how it was closed.
type lifecycleColumns struct {
	EscalatedMs int64  `db:"escalated_ms"`
	ClosedMs    int64  `db:"closed_ms"`
	CloseReason string `db:"close_reason"`
	ClosedBy    string `db:"closed_by"`
}

// taskRow is a callback_tasks row as the statements read and write it.
type taskRow struct {
	ID            int64          `db:"id"`
	Number        string         `db:"number"`
	State         string         `db:"state"`
	AgentID       sql.NullString `db:"agent_id"` // NULL until an agent is assigned
	AgentMisses   int            `db:"agent_misses"`
	MissedCount   int            `db:"missed_count"`
	Attempts      int            `db:"attempts"`
	FirstMissedMs int64          `db:"first_missed_ms"`
	DeadlineMs    int64          `db:"deadline_ms"`
	NextAttemptMs int64          `db:"next_attempt_ms"`
	LeaseToken    sql.NullString `db:"lease_token"` // NULL when no dialer holds the task
	LeaseUntilMs  int64          `db:"lease_until_ms"`
	CreatedMs     int64          `db:"created_ms"`
	lifecycleColumns
}

func (r taskRow) task() hotline.CallbackTask {
	return hotline.CallbackTask{
		ID:          r.ID,
		Number:      r.Number,
		State:       hotline.CallbackState(r.State),
		AgentID:     r.AgentID.String,
		AgentMisses: r.AgentMisses,
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

// promiseRow is a promises row as the statements read and write it.
type promiseRow struct {
	ID                 int64  `db:"id"`
	CallID             string `db:"call_id"`
	Number             string `db:"number"`
	AgentID            string `db:"agent_id"`
	CreatedBy          string `db:"created_by"`
	Summary            string `db:"summary"`
	Department         string `db:"department"`
	State              string `db:"state"`
	DeadlineMs         int64  `db:"deadline_ms"`
	OriginalDeadlineMs int64  `db:"original_deadline_ms"`
	CreatedMs          int64  `db:"created_ms"`
	FulfilledMs        int64  `db:"fulfilled_ms"`
	FulfilledHow       string `db:"fulfilled_how"`
	FulfilledBy        string `db:"fulfilled_by"`
	Evidence           string `db:"evidence"`
	lifecycleColumns
}

func (r promiseRow) promise() hotline.Promise {
	return hotline.Promise{
		ID:               r.ID,
		CallID:           r.CallID,
		Number:           r.Number,
		AgentID:          r.AgentID,
		CreatedBy:        r.CreatedBy,
		Summary:          r.Summary,
		Department:       r.Department,
		State:            hotline.PromiseState(r.State),
		Deadline:         hotline.FromUnixMilli(r.DeadlineMs),
		OriginalDeadline: hotline.FromUnixMilli(r.OriginalDeadlineMs),
		CreatedAt:        hotline.FromUnixMilli(r.CreatedMs),
		FulfilledAt:      hotline.FromUnixMilli(r.FulfilledMs),
		FulfilledHow:     r.FulfilledHow,
		FulfilledBy:      r.FulfilledBy,
		Evidence:         r.Evidence,
		EscalatedAt:      hotline.FromUnixMilli(r.EscalatedMs),
		ClosedAt:         hotline.FromUnixMilli(r.ClosedMs),
		ClosedBy:         r.ClosedBy,
		CloseReason:      r.CloseReason,
	}
}
