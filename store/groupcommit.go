package store

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// maxGroup bounds how many write transactions share one commit.
const maxGroup = 128

// groupCommit lets write transactions that queue for the one writer
// connection share one SQLite transaction and one commit, instead of a
// BEGIN, a fence check and a COMMIT each. Every call's state change is a
// write; with hundreds of calls up they arrive together, and one at a time
// they made the writer the call path's bottleneck (callers waited on each
// other's commits, not on their own work).
//
// Each caller's fn runs once, inside a savepoint of the shared
// transaction: a failing fn rolls back only its own writes and gets its
// own error, the others commit. A caller returns once the shared
// transaction committed, so what it wrote is durable as before and
// visible to the readers. A write alone runs as its own transaction, as
// it did before.
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupWrite
	running bool // a goroutine is writing batches
}

type groupWrite struct {
	ctx  context.Context
	fn   func(tx *sqlx.Tx) error
	done chan error
}

// write queues fn and waits for the commit of the batch it joins.
func (g *groupCommit) write(db *DB, ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		go g.run(db)
	}
	return <-w.done
}

// run writes batches until none is waiting.
func (g *groupCommit) run(db *DB) {
	for {
		g.mu.Lock()
		n := min(len(g.pending), maxGroup)
		if n == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		batch := g.pending[:n:n]
		g.pending = g.pending[n:]
		if len(g.pending) == 0 {
			g.pending = nil // let the array go
		}
		g.mu.Unlock()
		db.writeBatch(batch)
	}
}

// writeBatch runs the batch's writes in one transaction and tells each
// its outcome.
func (db *DB) writeBatch(batch []*groupWrite) {
	if len(batch) == 1 {
		w := batch[0]
		w.done <- db.writeAlone(w.ctx, w.fn)
		return
	}
	results := make([]error, len(batch))
	tx, err := db.writer.BeginTxx(context.Background(), nil)
	if err != nil {
		err = db.noteWrite(err)
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	checked := map[Fence]error{}
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		// The fence is read once per holder and batch: the batch is one
		// transaction, so the lease cannot change within it.
		if f, ok := FenceOf(w.ctx); ok {
			ferr, seen := checked[f]
			if !seen {
				ferr = checkFence(w.ctx, tx)
				checked[f] = ferr
			}
			if ferr != nil {
				results[i] = ferr
				continue
			}
		}
		results[i] = db.inSavepoint(tx, w)
	}
	if err := tx.Commit(); err != nil {
		err = db.noteWrite(err)
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	_ = db.noteWrite(nil)
	for i, w := range batch {
		w.done <- results[i]
	}
}

// inSavepoint runs w's fn so that its failure undoes only its own writes.
func (db *DB) inSavepoint(tx *sqlx.Tx, w *groupWrite) error {
	if _, err := tx.ExecContext(w.ctx, "SAVEPOINT w"); err != nil {
		return db.noteWrite(err)
	}
	if err := w.fn(tx); err != nil {
		// Undo fn's writes; the shared transaction goes on. If the
		// rollback itself fails the commit will say so to everyone.
		_, _ = tx.Exec("ROLLBACK TO w")
		_, _ = tx.Exec("RELEASE w")
		return db.noteWrite(err)
	}
	if _, err := tx.Exec("RELEASE w"); err != nil {
		return db.noteWrite(err)
	}
	return nil
}

// writeAlone runs fn in a transaction of its own: begin, check ctx's
// fence, fn, commit.
func (db *DB) writeAlone(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.writer.BeginTxx(ctx, nil)
	if err != nil {
		return db.noteWrite(err)
	}
	if err := checkFence(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := fn(tx); err != nil {
		// fn's error is the one the caller needs; whether or not the
		// rollback succeeds, nothing of the transaction is committed.
		_ = tx.Rollback()
		return db.noteWrite(err)
	}
	return db.noteWrite(tx.Commit())
}
