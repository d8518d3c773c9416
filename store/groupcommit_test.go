package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"hotline"
)

// groupFixture is a database with a table gc, whose trigger rolls back
// the whole transaction when x is 666 (as SQLite does by itself on an I/O
// error or an interrupt), and a first write holding the writer until
// release is closed, so that the writes the test queues meanwhile share
// one transaction.
type groupFixture struct {
	fixture
	ctx     context.Context // cannot be cancelled: such writes share
	release chan struct{}
	first   chan error
}

func setupGroup(t *testing.T) groupFixture {
	t.Helper()
	sqliteOnly(t, "the PostgreSQL store commits each write alone")
	f := setup(t)
	_, err := f.db.writer.ExecContext(f.ctx, `CREATE TABLE gc (x INTEGER PRIMARY KEY)`)
	require.NoError(t, err)
	_, err = f.db.writer.ExecContext(f.ctx, `CREATE TRIGGER gc_lost BEFORE INSERT ON gc WHEN NEW.x = 666
BEGIN SELECT RAISE(ROLLBACK, 'transaction lost'); END`)
	require.NoError(t, err)
	g := groupFixture{fixture: f, ctx: context.WithoutCancel(f.ctx), release: make(chan struct{}), first: make(chan error, 1)}
	// A fenced write prepares the fence's statement, which takes the
	// writer: done now, before the first write holds it.
	require.ErrorContains(t, f.db.inWriteTx(WithFence(g.ctx, nobody), insertGC(-1)), "never raised")
	go func() {
		g.first <- f.db.inWriteTx(g.ctx, func(tx *sqlx.Tx) error {
			<-g.release
			return insertGC(0)(tx)
		})
	}()
	g.waitPending(t, 0)
	return g
}

// nobody is a fence of a lease never raised.
var nobody = Fence{Lease: "nobody", Token: 7}

func insertGC(x int) func(tx *sqlx.Tx) error {
	return func(tx *sqlx.Tx) error {
		_, err := tx.Exec(`INSERT INTO gc (x) VALUES (?)`, x)
		return err
	}
}

// waitPending waits until the first write holds the writer and n writes
// queue behind it.
func (g groupFixture) waitPending(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		g.db.group.mu.Lock()
		defer g.db.group.mu.Unlock()
		return g.db.group.running && len(g.db.group.pending) == n
	}, 10*time.Second, time.Millisecond, "%d writes queued", n)
}

func (g groupFixture) rows(t *testing.T) []int {
	t.Helper()
	var got []int
	require.NoError(t, g.db.reader.SelectContext(g.fixture.ctx, &got, `SELECT x FROM gc ORDER BY x`))
	return got
}

// Writes queued behind a running one share one transaction: each fn runs
// once, a failing one undoes only its own writes and gets its own error,
// the others are committed; a write fenced by a lease that does not hold
// is refused without touching the others.
func TestGroupCommitIsolatesEachWrite(t *testing.T) {
	t.Parallel()
	g := setupGroup(t)
	const n = 40
	errs := make([]error, n+2)
	runs := make([]int, n+2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			errs[i] = g.db.inWriteTx(g.ctx, func(tx *sqlx.Tx) error {
				mu.Lock()
				runs[i]++
				mu.Unlock()
				return insertGC(i)(tx)
			})
		})
	}
	// One writes a row and then fails: its row must not stay.
	wg.Go(func() {
		errs[n+1] = g.db.inWriteTx(g.ctx, func(tx *sqlx.Tx) error {
			if err := insertGC(1000)(tx); err != nil {
				return err
			}
			return errors.New("changed its mind")
		})
	})
	// One fenced by a lease never raised in this database is refused.
	var fencedErr error
	wg.Go(func() { fencedErr = g.db.inWriteTx(WithFence(g.ctx, nobody), insertGC(2000)) })
	g.waitPending(t, n+2)
	close(g.release)
	wg.Wait()
	require.NoError(t, <-g.first)

	for i := 1; i <= n; i++ {
		require.NoError(t, errs[i], "write %d", i)
		require.Equal(t, 1, runs[i], "write %d ran once", i)
	}
	require.EqualError(t, errs[n+1], "changed its mind")
	require.ErrorContains(t, fencedErr, `lease "nobody" was never raised`)
	want := make([]int, 0, n+1)
	for i := 0; i <= n; i++ {
		want = append(want, i)
	}
	require.Equal(t, want, g.rows(t), "rows 0..n, not the failed write's 1000 nor the fenced 2000")
}

// When SQLite rolls the shared transaction back by itself, the writes
// that ran in it before are told they failed (a retry helps), and those
// queued after it are still committed, in a transaction of their own.
func TestGroupCommitLostTransactionFailsOnlyWhatItUndid(t *testing.T) {
	t.Parallel()
	g := setupGroup(t)
	xs := []int{1, 666, 3, 4}
	errs := make([]error, len(xs))
	var wg sync.WaitGroup
	for i, x := range xs {
		wg.Go(func() { errs[i] = g.db.inWriteTx(g.ctx, insertGC(x)) })
		g.waitPending(t, i+1) // queued in this order
	}
	close(g.release)
	wg.Wait()
	require.NoError(t, <-g.first, "the first write committed alone before the batch")
	for i := range 2 {
		var herr *hotline.Error
		require.ErrorAs(t, errs[i], &herr, "write of %d", xs[i])
		require.True(t, herr.Retryable, "write of %d: %v", xs[i], errs[i])
	}
	require.ErrorContains(t, errs[1], "transaction lost")
	require.NoError(t, errs[2])
	require.NoError(t, errs[3])
	require.Equal(t, []int{0, 3, 4}, g.rows(t))
}

// A write whose context can be cancelled runs in a transaction of its
// own: cancelling it interrupts SQLite, which rolls back the whole
// transaction the statement is in. PostgreSQL shares none.
func TestGroupCommitSharesOnlyUncancellableWrites(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	deadline, stop := context.WithTimeout(context.Background(), time.Hour)
	defer stop()
	for _, c := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"cancellable", cancellable, false},
		{"with a deadline", deadline, false},
		{"without cancel", context.WithoutCancel(cancellable), !onPostgres()},
		{"background", context.Background(), !onPostgres()},
	} {
		require.Equal(t, c.want, f.db.group.shares(c.ctx), c.name)
	}
}

// BenchmarkFencedWrites runs fenced one-statement writes from many
// goroutines, as the call path does, each in a transaction of its own
// (a cancellable context) or sharing (one that cannot be cancelled);
// cpu-ns/op is the process's CPU per write.
func BenchmarkFencedWrites(b *testing.B) {
	for _, c := range []struct {
		name   string
		shared bool
	}{{"alone", false}, {"shared", true}} {
		b.Run(c.name, func(b *testing.B) {
			sqliteOnly(b, "the PostgreSQL store commits each write alone")
			f := setup(b)
			_, err := f.db.writer.ExecContext(f.ctx, `CREATE TABLE gcb (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`)
			require.NoError(b, err)
			require.NoError(b, f.db.RaiseFence(f.ctx, "bench", 1, "bench", t0))
			ctx := WithFence(f.ctx, Fence{Lease: "bench", Token: 1})
			if c.shared {
				ctx = context.WithoutCancel(ctx)
			}
			var next atomic.Int64
			b.SetParallelism(16)
			start := cpuTime(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := next.Add(1)
				_, err := f.db.writer.ExecContext(f.ctx, `INSERT INTO gcb (id, n) VALUES (?, 0)`, id)
				require.NoError(b, err)
				for pb.Next() {
					_, err := f.db.writer.ExecContext(ctx, `UPDATE gcb SET n = n + 1 WHERE id = ?`, id)
					require.NoError(b, err)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
