package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// t0 is the fixed start of every test clock: 09:00 in Beijing.
var t0 = time.Date(2025, 3, 3, 1, 0, 0, 0, time.UTC)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	ctx   context.Context
	cfg   Config
	db    *DB
	clock *testClock
}

// setup opens a migrated database in a fresh folder.
func setup(t *testing.T, configure ...func(*Config)) fixture {
	t.Helper()
	f := setupUnmigrated(t, configure...)
	_, err := f.db.Migrate(f.ctx)
	require.NoError(t, err)
	return f
}

// setupUnmigrated opens a database in a fresh folder without migrating it.
func setupUnmigrated(t *testing.T, configure ...func(*Config)) fixture {
	t.Helper()
	cfg := Config{Path: filepath.Join(t.TempDir(), "data", "hotline.db")}
	cfg.SetDefaults()
	for _, c := range configure {
		c(&cfg)
	}
	clock := &testClock{now: t0}
	ctx := t.Context()
	db, err := Open(ctx, cfg, slog.New(slog.DiscardHandler), WithClock(clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return fixture{ctx: ctx, cfg: cfg, db: db, clock: clock}
}

// schemaObjects lists the names of the database's objects of a type
// ("table", "index", "trigger"), leaving out SQLite's own.
func (f fixture) schemaObjects(t *testing.T, typ string) []string {
	t.Helper()
	var names []string
	require.NoError(t, f.db.reader.SelectContext(f.ctx, &names,
		`SELECT name FROM sqlite_schema WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`, typ))
	return names
}

func TestOpenReportsTheBadPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	require.NoError(t, os.WriteFile(aFile, []byte("x"), 0o600))
	notADatabase := filepath.Join(dir, "not-a-database.db")
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte('a' + i%26)
	}
	require.NoError(t, os.WriteFile(notADatabase, garbage, 0o600))

	tests := []struct {
		name string
		path string
		want string // in the error
	}{
		{"folder is a file", filepath.Join(aFile, "hotline.db"), filepath.Join(aFile, "hotline.db")},
		{"path is a folder", dir, dir},
		{"file is not a database", notADatabase, notADatabase},
		{"empty path", " ", "store.path"},
		{"in-memory database", ":memory:", "store.path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(t.Context(), Config{Path: tt.path, BusyTimeout: time.Second}, nil)
			require.Error(t, err)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestOpenCreatesTheFolderWhateverItsName(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) {
		c.Path = filepath.Join(filepath.Dir(c.Path), "a b?c#d%20e", "nested", "hotline.db")
	})
	info, err := os.Stat(f.cfg.Path)
	require.NoError(t, err, "the database must be the file named by store.path, not a URI reading of it")
	require.True(t, info.Mode().IsRegular())
}

func TestOpenDoesNotMigrate(t *testing.T) {
	t.Parallel()
	f := setupUnmigrated(t)

	status, err := f.db.MigrationStatus(f.ctx)
	require.NoError(t, err)
	require.NotEmpty(t, status)
	for _, m := range status {
		require.False(t, m.Applied, "migration %s", m.Source)
		require.True(t, m.AppliedAt.IsZero())
		require.Equal(t, m.Source+" pending", m.String())
	}
	require.NotContains(t, f.schemaObjects(t, "table"), "calls")
}

func TestMigrateCreatesTheWholeSchema(t *testing.T) {
	t.Parallel()
	f := setupUnmigrated(t)

	applied, err := f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, applied)

	require.Equal(t, []string{
		"agents", "audit_log", "call_legs", "callback_attempts", "callback_task_calls",
		"callback_tasks", "calls", "goose_db_version", "promises", "ratings", "recordings",
		"referrals", "reviews",
	}, f.schemaObjects(t, "table"))
	require.Equal(t, []string{
		"audit_log_by_actor", "audit_log_by_at", "audit_log_by_object",
		"call_legs_by_agent", "call_legs_by_call",
		"callback_attempts_by_task", "callback_attempts_one_active_per_task",
		"callback_task_calls_by_task",
		"callback_tasks_by_agent", "callback_tasks_one_open_per_number", "callback_tasks_open_by_next_attempt",
		"calls_by_agent", "calls_by_arrived", "calls_by_caller", "calls_by_state",
		"promises_by_agent", "promises_by_call", "promises_by_number", "promises_unfinished_by_deadline",
		"ratings_by_agent", "recordings_by_call", "recordings_by_state",
		"referrals_by_call", "reviews_by_agent", "reviews_by_call",
	}, f.schemaObjects(t, "index"))
	require.Equal(t, []string{
		"audit_log_no_delete", "audit_log_no_update", "calls_first_responsible_agent_is_final",
	}, f.schemaObjects(t, "trigger"))

	status, err := f.db.MigrationStatus(f.ctx)
	require.NoError(t, err)
	require.Len(t, status, 1)
	require.Equal(t, int64(1), status[0].Version)
	require.Equal(t, "00001_initial.sql", status[0].Source)
	require.True(t, status[0].Applied)
	require.False(t, status[0].AppliedAt.IsZero())
	require.Equal(t, "00001_initial.sql applied "+status[0].AppliedAt.UTC().Format(time.RFC3339), status[0].String())
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	f := setup(t)
	schema := func() []string {
		var sqls []string
		require.NoError(t, f.db.reader.SelectContext(f.ctx, &sqls,
			`SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name`))
		return sqls
	}
	before := schema()

	applied, err := f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Empty(t, applied)
	require.Equal(t, before, schema())
}

func TestMigrateKeepsDataAcrossReopen(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.NoError(t, f.db.UpsertAgent(f.ctx, testAgent("a1")))
	require.NoError(t, f.db.Close())

	reopened, err := Open(f.ctx, f.cfg, nil)
	require.NoError(t, err)
	// setup's cleanup closes f.db again; closing a closed pool is a no-op.
	t.Cleanup(func() { require.NoError(t, reopened.Close()) })
	applied, err := reopened.Migrate(f.ctx)
	require.NoError(t, err)
	require.Empty(t, applied)
	_, err = reopened.GetAgent(f.ctx, "a1")
	require.NoError(t, err)
}

// Every connection of both pools must carry the pragmas, not only the first.
func TestEveryConnectionHasThePragmas(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) { c.BusyTimeout = 1234 * time.Millisecond })

	tests := []struct {
		name      string
		pool      func() *sql.DB
		conns     int
		queryOnly int
	}{
		{"writer", func() *sql.DB { return f.db.writer.DB }, 1, 0},
		{"readers", func() *sql.DB { return f.db.reader.DB }, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var held []*sql.Conn
			for range tt.conns {
				conn, err := tt.pool().Conn(f.ctx)
				require.NoError(t, err)
				held = append(held, conn)
			}
			for _, conn := range held {
				pragma := func(name string) string {
					var v string
					require.NoError(t, conn.QueryRowContext(f.ctx, "PRAGMA "+name).Scan(&v))
					return v
				}
				require.Equal(t, "wal", pragma("journal_mode"))
				require.Equal(t, "1", pragma("foreign_keys"))
				require.Equal(t, "1234", pragma("busy_timeout"))
				require.Equal(t, "1", pragma("synchronous"), "NORMAL")
				require.Equal(t, fmt.Sprint(tt.queryOnly), pragma("query_only"))
			}
			for _, conn := range held {
				require.NoError(t, conn.Close())
			}
		})
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	f := setupUnmigrated(t)
	require.NoError(t, f.db.Ping(f.ctx))

	// A writer held by a long transaction makes the service unready.
	tx, err := f.db.writer.BeginTx(f.ctx, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Millisecond)
	defer cancel()
	err = f.db.Ping(ctx)
	require.Equal(t, hotline.KindUnavailable, hotline.KindOf(err), "%v", err)
	require.NoError(t, tx.Rollback())
	require.NoError(t, f.db.Ping(f.ctx))
}

// A write lock held by another process (e.g. a second `hotline migrate`)
// surfaces, once the busy timeout passes, as a retryable Unavailable error.
func TestLockedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) { c.BusyTimeout = 20 * time.Millisecond })
	other, err := Open(f.ctx, f.cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, other.Close()) })
	tx, err := other.writer.BeginTx(f.ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tx.Rollback()) })

	err = f.db.UpsertAgent(f.ctx, testAgent("a1"))
	require.Equal(t, hotline.KindUnavailable, hotline.KindOf(err), "%v", err)
	require.True(t, hotline.IsRetryable(err))
	require.ErrorContains(t, err, "store.UpsertAgent")

	// Readers are not blocked by the writer in WAL mode.
	_, err = f.db.ListAgents(f.ctx)
	require.NoError(t, err)
}

func TestConcurrentWritersAllSucceed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const writers, callsEach = 8, 200

	errs := make(chan error, writers*callsEach+1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range callsEach {
				c := testCall(fmt.Sprintf("w%d-c%03d", w, i), fmt.Sprintf("1390000%02d", w), t0.Add(time.Duration(i)*time.Second))
				errs <- f.db.CreateCall(f.ctx, c)
			}
		})
	}
	// A reader runs beside the writers and must not disturb them.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for range 50 {
			if _, err := f.db.ListCalls(f.ctx, CallFilter{Limit: 10}); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	<-readerDone
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	counts, err := f.db.CallCounts(f.ctx, time.Time{})
	require.NoError(t, err)
	require.Equal(t, writers*callsEach, counts.Total)
}
