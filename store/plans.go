package store

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	"github.com/jmoiron/sqlx"
)

// PlanLog collects the query plans (EXPLAIN QUERY PLAN) of the reads a DB
// returned by WithPlans runs: the store benchmark and tests look at the
// plans of the console's queries with the arguments they really get.
type PlanLog struct {
	mu         sync.Mutex
	statements []PlannedStatement
}

// PlannedStatement is one statement and the steps of its plan.
type PlannedStatement struct {
	SQL  string
	Plan []string // the detail column of each step, in order
}

// Take returns the statements planned so far and empties the log.
func (l *PlanLog) Take() []PlannedStatement {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.statements
	l.statements = nil
	return out
}

func (l *PlanLog) add(s PlannedStatement) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statements = append(l.statements, s)
}

// fullScan matches a plan step that reads a whole table or index of calls
// or call_legs: SCAN, not SEARCH (SQLite's words).
var fullScan = regexp.MustCompile(`^SCAN (calls|call_legs)\b`)

// FullScans returns the steps that read the whole of calls or call_legs,
// the tables that grow with every call.
func (s PlannedStatement) FullScans() []string {
	var out []string
	for _, step := range s.Plan {
		if fullScan.MatchString(step) {
			out = append(out, step)
		}
	}
	return out
}

// WithPlans returns a DB that runs every read of the list and report
// methods after writing its plan into log. It shares db's connections:
// close db, not it.
func (db *DB) WithPlans(log *PlanLog) *DB {
	c := *db
	c.plans = log
	return &c
}

// explainSQL reads the plan of a statement: EXPLAIN QUERY PLAN prefixed
// to it, with the same arguments.
const explainSQL = `EXPLAIN QUERY PLAN `

// selectOn runs a read on q (the reader pool or a read transaction),
// writing its plan into the DB's PlanLog first when there is one.
func (db *DB) selectOn(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	// The plans are SQLite's (EXPLAIN QUERY PLAN); PostgreSQL's EXPLAIN
	// says other words, so a PostgreSQL store plans nothing into the log.
	if db.plans != nil && db.dialect == sqliteDialect {
		var steps []struct {
			ID      int    `db:"id"`
			Parent  int    `db:"parent"`
			NotUsed int    `db:"notused"`
			Detail  string `db:"detail"`
		}
		if err := sqlx.SelectContext(ctx, q, &steps, explainSQL+query, args...); err != nil {
			return fmt.Errorf("explain: %w", err)
		}
		planned := PlannedStatement{SQL: query}
		for _, s := range steps {
			planned.Plan = append(planned.Plan, s.Detail)
		}
		db.plans.add(planned)
	}
	return sqlx.SelectContext(ctx, q, dest, query, args...)
}
