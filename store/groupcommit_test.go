package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
)

// Writes queued behind a running one share one transaction: each fn runs
// once, a failing one undoes only its own writes and gets its own error,
// the others are committed; a write fenced by a lease that does not hold
// is refused without touching the others.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "commits are shared on SQLite's one writer connection; PostgreSQL writes on several")
	f := setup(t)
	_, err := f.db.writer.ExecContext(f.ctx, `CREATE TABLE gc (x INTEGER PRIMARY KEY)`)
	require.NoError(t, err)
	insert := func(x int) func(tx *sqlx.Tx) error {
		return func(tx *sqlx.Tx) error {
			_, err := tx.Exec(`INSERT INTO gc (x) VALUES (?)`, x)
			return err
		}
	}
	const n = 40
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- f.db.inWriteTx(f.ctx, func(tx *sqlx.Tx) error {
			<-release // the others queue meanwhile
			return insert(0)(tx)
		})
	}()
	// Wait until the first write holds the writer.
	require.Eventually(t, func() bool {
		f.db.group.mu.Lock()
		defer f.db.group.mu.Unlock()
		return f.db.group.running && len(f.db.group.pending) == 0
	}, 10*time.Second, time.Millisecond)

	errs := make([]error, n+2)
	runs := make([]int, n+2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			errs[i] = f.db.inWriteTx(f.ctx, func(tx *sqlx.Tx) error {
				mu.Lock()
				runs[i]++
				mu.Unlock()
				return insert(i)(tx)
			})
		})
	}
	// One writes a row and then fails: its row must not stay.
	wg.Go(func() {
		errs[n+1] = f.db.inWriteTx(f.ctx, func(tx *sqlx.Tx) error {
			if err := insert(1000)(tx); err != nil {
				return err
			}
			return errors.New("changed its mind")
		})
	})
	// One fenced by a lease never raised in this database is refused.
	fenced := WithFence(context.WithoutCancel(f.ctx), Fence{Lease: "nobody", Token: 7})
	var fencedErr error
	wg.Go(func() { fencedErr = f.db.inWriteTx(fenced, insert(2000)) })
	require.Eventually(t, func() bool {
		f.db.group.mu.Lock()
		defer f.db.group.mu.Unlock()
		return len(f.db.group.pending) == n+2
	}, 10*time.Second, time.Millisecond, "every write queues behind the first")
	close(release)
	wg.Wait()
	require.NoError(t, <-first)

	for i := 1; i <= n; i++ {
		require.NoError(t, errs[i], "write %d", i)
		require.Equal(t, 1, runs[i], "write %d ran once", i)
	}
	require.EqualError(t, errs[n+1], "changed its mind")
	require.ErrorContains(t, fencedErr, `lease "nobody" was never raised`)
	var got []int
	require.NoError(t, f.db.reader.SelectContext(f.ctx, &got, `SELECT x FROM gc ORDER BY x`))
	want := make([]int, 0, n+1)
	for i := 0; i <= n; i++ {
		want = append(want, i)
	}
	require.Equal(t, want, got, fmt.Sprintf("rows 0..%d, not the failed write's 1000 nor the fenced 2000", n))
}
