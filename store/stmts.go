package store

import (
	"context"
	"errors"
	"sync"

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
