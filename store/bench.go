package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// The rows `hotline bench deadlines` measures against: many open callback
// tasks and unfinished promises, written in a few statements. Nothing else
// writes these rows; a database seeded with them is for benchmarks only.

// BenchAgent and BenchCall own every seeded task and promise.
const (
	BenchAgent = "bench-agent"
	BenchCall  = "bench-call"
)

// seedBenchAgentSQL inserts the agents row every seeded matter belongs to.
const seedBenchAgentSQL = `
INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms)
VALUES ('` + BenchAgent + `', 'bench', 'PJSIP/bench-agent', 'agent', 'available', ?1, ?1)`

// seedBenchCallSQL inserts the answered calls row every seeded promise is
// made on.
const seedBenchCallSQL = `
INSERT INTO calls (id, caller_number, line, state, first_responsible_agent, arrived_ms, answered_ms, ended_ms, updated_ms)
VALUES ('` + BenchCall + `', '13800000000', 'hotline', 'completed', '` + BenchAgent + `', ?1, ?1, ?1, ?1)`

// seedBenchTasksSQL inserts n pending callback_tasks rows, row i due at
// start + i·step with its deadline a day later, each with its own number.
const seedBenchTasksSQL = `
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
INSERT INTO callback_tasks (number, state, agent_id, missed_count, first_missed_ms, deadline_ms, next_attempt_ms, created_ms)
SELECT printf('1%010d', i), 'pending', '` + BenchAgent + `', 1, ?2, ?2 + i * ?3 + 86400000, ?2 + i * ?3, ?2 FROM seq`

// seedBenchPromisesSQL inserts n open promises rows on the bench call, row i
// due at start + i·step.
const seedBenchPromisesSQL = `
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
INSERT INTO promises (call_id, number, agent_id, created_by, summary, state, deadline_ms, original_deadline_ms, created_ms)
SELECT '` + BenchCall + `', printf('1%010d', i), '` + BenchAgent + `', '` + BenchAgent + `', 'bench', 'open',
       ?2 + i * ?3, ?2 + i * ?3, ?2 FROM seq`

// checkpointSQL copies the whole write-ahead log into the database file and
// empties the log, so the next writer does not pay for the seed's.
const checkpointSQL = `PRAGMA wal_checkpoint(TRUNCATE)`

// SeedBenchMatters writes n open callback tasks and n open promises, the
// i-th of each (from 1) due at start + i·step: the task's next attempt,
// the promise's deadline (a task's deadline is a day after its attempt).
// So at start + k·step the first k of each are due. Each kind is one
// statement, one transaction; a checkpoint follows, as a service running
// for a while would have made.
func (db *DB) SeedBenchMatters(ctx context.Context, n int, start time.Time, step time.Duration) error {
	const op = "store.SeedBenchMatters"
	if n < 1 || step < time.Millisecond {
		return hotline.Errorf(hotline.KindInvalid, op, "%d matters %s apart: want at least one, at least 1ms apart", n, step)
	}
	startMs, stepMs := hotline.UnixMilli(start), step.Milliseconds()
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range []string{seedBenchAgentSQL, seedBenchCallSQL} {
			if _, err := tx.ExecContext(ctx, q, startMs); err != nil {
				return err
			}
		}
		return nil
	})
	for _, q := range []string{seedBenchTasksSQL, seedBenchPromisesSQL} {
		if err != nil {
			break
		}
		_, err = db.writer.ExecContext(ctx, q, n, startMs, stepMs)
	}
	if err == nil {
		_, err = db.writer.ExecContext(ctx, checkpointSQL)
	}
	return wrapErr(op, fmt.Sprintf("%d bench matters", n), err)
}

// callSpanSQL reads how many calls rows there are and the first and last
// arrived_ms.
const callSpanSQL = `SELECT count(*) AS n, coalesce(min(arrived_ms), 0) AS first_ms, coalesce(max(arrived_ms), 0) AS last_ms FROM calls`

// CallSpan says how many calls the database holds and when the first and
// the last arrived: a benchmark that queries an existing file asks what
// it holds rather than what it was told.
func (db *DB) CallSpan(ctx context.Context) (n int, first, last time.Time, err error) {
	var row struct {
		N       int   `db:"n"`
		FirstMs int64 `db:"first_ms"`
		LastMs  int64 `db:"last_ms"`
	}
	if err := db.reader.GetContext(ctx, &row, callSpanSQL); err != nil {
		return 0, time.Time{}, time.Time{}, wrapErr("store.CallSpan", "calls", err)
	}
	return row.N, hotline.FromUnixMilli(row.FirstMs), hotline.FromUnixMilli(row.LastMs), nil
}
