package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// maxGroup bounds how many write transactions share one commit.
const maxGroup = 128

// groupCommit lets write transactions that queue for SQLite's one writer
// connection share one transaction and one commit, instead of a BEGIN, a
// fence check and a COMMIT each: with many calls up, their writes arrive
// together and, one at a time, waited on each other's commits more than
// on their own work.
//
// One goroutine at a time drains the queue, a batch per transaction. Each
// write's fn runs once, inside a savepoint of the shared transaction: a
// failing fn rolls back only its own writes and gets its own error, the
// others commit. A caller returns once the shared transaction committed,
// so what it wrote is on disk and visible to the readers before it goes
// on, as before. A write alone in the queue runs as its own transaction.
//
// Only writes whose context cannot be cancelled share a transaction (the
// call path's writes use context.WithoutCancel). A cancelled statement
// makes the driver call sqlite3_interrupt, and SQLite answers an
// interrupted INSERT, UPDATE or DELETE by rolling back the whole
// transaction it is in: in a shared one, the other callers' writes too.
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupWrite
	running bool // a goroutine is writing batches
}

type groupWrite struct {
	ctx   context.Context
	fence *sqlx.Stmt // fenceTokenSQL prepared, when ctx carries a fence
	fn    func(tx *sqlx.Tx) error
	done  chan error
}

// shares reports whether a write on ctx may join a shared transaction.
func (g *groupCommit) shares(ctx context.Context) bool {
	return g != nil && ctx.Done() == nil
}

// write queues w and waits for the commit of the batch it joins.
func (g *groupCommit) write(db *DB, w *groupWrite) error {
	w.done = make(chan error, 1)
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

// errTxLost says SQLite rolled back a shared transaction by itself (an
// I/O error, a full disk, an interrupt): every write in it is undone.
var errTxLost = errors.New("the shared write transaction was rolled back by SQLite")

// writeBatch runs the batch's writes in one transaction and tells each
// its outcome.
func (db *DB) writeBatch(batch []*groupWrite) {
	if len(batch) == 1 {
		w := batch[0]
		w.done <- db.writeAlone(w.ctx, w.fence, w.fn)
		return
	}
	tx, err := db.writer.BeginTxx(context.Background(), nil)
	if err != nil {
		err = db.noteWrite(err)
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	results := make([]error, len(batch))
	// The fence is read once per holder and batch: the batch is one
	// transaction, and only RaiseFence, outside any transaction of the
	// writer, moves a lease's token.
	checked := map[Fence]error{}
	for i, w := range batch {
		if f, ok := FenceOf(w.ctx); ok {
			ferr, seen := checked[f]
			if !seen {
				ferr = checkFence(w.ctx, tx, w.fence)
				checked[f] = ferr
			}
			if ferr != nil {
				results[i] = ferr
				continue
			}
		}
		if results[i] = db.inSavepoint(tx, w); errors.Is(results[i], errTxLost) {
			// Nothing of the batch so far is stored: those before
			// fail with it (a retry helps), those after get a
			// transaction of their own making.
			_ = tx.Rollback()
			for _, done := range batch[:i+1] {
				done.done <- lostTx(db.noteWrite(results[i]))
			}
			if rest := batch[i+1:]; len(rest) > 0 {
				db.writeBatch(rest)
			}
			return
		}
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
// It returns errTxLost, wrapping fn's error, when the savepoint is gone
// with the whole transaction.
func (db *DB) inSavepoint(tx *sqlx.Tx, w *groupWrite) error {
	if _, err := tx.Exec("SAVEPOINT w"); err != nil {
		return fmt.Errorf("%w: %w", errTxLost, err)
	}
	if err := w.fn(tx); err != nil {
		if _, rerr := tx.Exec("ROLLBACK TO w"); rerr != nil {
			return fmt.Errorf("%w: %w (%w)", errTxLost, err, rerr)
		}
		if _, rerr := tx.Exec("RELEASE w"); rerr != nil {
			return fmt.Errorf("%w: %w (%w)", errTxLost, err, rerr)
		}
		return db.noteWrite(err)
	}
	if _, err := tx.Exec("RELEASE w"); err != nil {
		return fmt.Errorf("%w: %w", errTxLost, err)
	}
	return nil
}

// writeAlone runs fn in a transaction of its own: begin, check ctx's
// fence, fn, commit.
func (db *DB) writeAlone(ctx context.Context, fence *sqlx.Stmt, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.writer.BeginTxx(ctx, nil)
	if err != nil {
		return db.noteWrite(err)
	}
	if err := checkFence(ctx, tx, fence); err != nil {
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

// lostTx says a write was undone with the shared transaction it was in:
// unavailable, and a retry helps.
func lostTx(err error) error {
	return &hotline.Error{Kind: hotline.KindUnavailable, Op: "store.write",
		Message: "the write was undone with the transaction it shared", Retryable: true, Err: err}
}
