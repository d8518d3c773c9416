package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// writeStmts keeps the writer's hot statements prepared: the calls, legs
// and ratings every call writes several times. Preparing one compiles the
// triggers on its table too (agent_days), which would otherwise be done
// again on every write.
type writeStmts struct {
	mu    sync.Mutex
	named map[string]*sqlx.NamedStmt
}

// namedWrite returns the prepared form of a named statement on the writer,
// preparing it on first use; inside a transaction, pass it to
// tx.NamedStmtContext.
func (db *DB) namedWrite(ctx context.Context, query string) (*sqlx.NamedStmt, error) {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if s, ok := db.stmts.named[query]; ok {
		return s, nil
	}
	s, err := db.writer.PrepareNamedContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts.named == nil {
		db.stmts.named = map[string]*sqlx.NamedStmt{}
	}
	db.stmts.named[query] = s
	return s, nil
}

// close closes every prepared statement.
func (s *writeStmts) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for q, stmt := range s.named {
		errs = append(errs, stmt.Close())
		delete(s.named, q)
	}
	return errors.Join(errs...)
}

// getPrepared runs a prepared write that returns a row (INSERT …
// RETURNING) as execPrepared runs one that does not.
func (db *DB) getPrepared(ctx context.Context, stmt *sqlx.NamedStmt, dest, arg any) error {
	if _, ok := FenceOf(ctx); !ok {
		return db.noteWrite(stmt.GetContext(ctx, dest, arg))
	}
	return db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		return tx.NamedStmtContext(ctx, stmt).GetContext(ctx, dest, arg)
	})
}

// execPrepared runs a prepared write outside a transaction: as one
// statement, or, when ctx carries a lease's fence, in a transaction that
// checks it first (inWriteTx), as every other write.
func (db *DB) execPrepared(ctx context.Context, stmt *sqlx.NamedStmt, arg any) (sql.Result, error) {
	kind := db.kindOf(stmt.QueryString)
	if _, ok := FenceOf(ctx); !ok {
		if kind != "" {
			defer db.observeWrite(kind, time.Now())
		}
		res, err := stmt.ExecContext(ctx, arg)
		return res, db.noteWrite(err)
	}
	var res sql.Result
	err := db.inWriteTxAs(ctx, kind, func(tx *sqlx.Tx) (err error) {
		res, err = tx.NamedStmtContext(ctx, stmt).ExecContext(ctx, arg)
		return err
	})
	return res, err
}
