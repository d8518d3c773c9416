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
	plain map[string]*sqlx.Stmt
}

// namedWrite returns the prepared form of a named statement on the writer,
// preparing it on first use; inside a transaction, pass it to
// tx.NamedStmtContext.
func (db *DB) namedWrite(ctx context.Context, query string) (*sqlx.NamedStmt, error) {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	return prepareOnce(&db.stmts.named, query, func() (*sqlx.NamedStmt, error) {
		return db.writer.PrepareNamedContext(ctx, query)
	})
}

// plainWrite is namedWrite for a statement with positional parameters;
// inside a transaction, pass it to tx.StmtxContext. Call it before the
// write transaction: preparing takes the writer's one connection.
func (db *DB) plainWrite(ctx context.Context, query string) (*sqlx.Stmt, error) {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if _, ok := db.stmts.plain[query]; !ok && len(db.stmts.plain) >= maxPrepared {
		return nil, errors.New("too many statements prepared")
	}
	return prepareOnce(&db.stmts.plain, query, func() (*sqlx.Stmt, error) {
		return db.writer.PreparexContext(ctx, query)
	})
}

// prepareOnce returns (*m)[query], prepared by prepare on first use.
func prepareOnce[S any](m *map[string]S, query string, prepare func() (S, error)) (S, error) {
	if s, ok := (*m)[query]; ok {
		return s, nil
	}
	s, err := prepare()
	if err != nil {
		return s, err
	}
	if *m == nil {
		*m = map[string]S{}
	}
	(*m)[query] = s
	return s, nil
}

// maxPrepared bounds how many statements plainWrite keeps prepared, in
// case some caller builds its statements (an IN list): past it, a new
// statement is not kept.
const maxPrepared = 200

// fencedWrite is plainWrite for a statement about to run in a fenced
// transaction of the writer (writer.ExecContext, GetContext, the fence
// check): nil on PostgreSQL, which prepares as it did, and nil when it
// could not be prepared, so that the statement runs unprepared and says
// itself what is wrong with it.
func (db *DB) fencedWrite(ctx context.Context, query string) *sqlx.Stmt {
	if db.dialect != sqliteDialect {
		return nil
	}
	stmt, err := db.plainWrite(ctx, query)
	if err != nil {
		return nil
	}
	return stmt
}

// inTx is stmt, a statement prepared on the writer, for use in tx; nil
// when stmt is nil.
func inTx(ctx context.Context, tx *sqlx.Tx, stmt *sqlx.Stmt) *sqlx.Stmt {
	if stmt == nil {
		return nil
	}
	return tx.StmtxContext(ctx, stmt)
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
	for q, stmt := range s.plain {
		errs = append(errs, stmt.Close())
		delete(s.plain, q)
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
