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
	"hotline/store/storetest"
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
func setup(t testing.TB, configure ...func(*Config)) fixture {
	t.Helper()
	f := setupUnmigrated(t, configure...)
	_, err := f.db.Migrate(f.ctx)
	require.NoError(t, err)
	return f
}

// setupUnmigrated opens a database in a fresh folder (with
// HOTLINE_TEST_POSTGRES set: a fresh PostgreSQL schema) without migrating
// it.
func setupUnmigrated(t testing.TB, configure ...func(*Config)) fixture {
	t.Helper()
	cfg := Config{Path: storetest.Path(t)}
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

// onPostgres reports whether the tests run against PostgreSQL.
func onPostgres() bool { return storetest.PostgresURL() != "" }

// sqliteOnly skips a test that checks what only SQLite has, saying why.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if onPostgres() {
		t.Skip("SQLite only: " + why)
	}
}

// schemaObjects lists the names of the database's objects of a type
// ("table", "index", "trigger"), leaving out SQLite's own.
func (f fixture) schemaObjects(t *testing.T, typ string) []string {
	t.Helper()
	var names []string
	query := `SELECT name FROM sqlite_schema WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if onPostgres() {
		// The same objects from PostgreSQL's catalog: the indexes made by a
		// name, not those behind a primary key or UNIQUE constraint (SQLite's
		// sqlite_autoindex_…), and the triggers of rows.
		query = map[string]string{
			"table": `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND ? <> '' ORDER BY 1`,
			"index": `SELECT indexname FROM pg_indexes i WHERE schemaname = current_schema() AND ? <> ''
				AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY 1`,
			"trigger": `SELECT DISTINCT trigger_name::text FROM information_schema.triggers
				WHERE trigger_schema = current_schema() AND ? <> '' ORDER BY 1`,
		}[typ]
	}
	require.NoError(t, f.db.reader.SelectContext(f.ctx, &names, query, typ))
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
	sqliteOnly(t, "a file path")
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
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 22}, applied)

	require.Equal(t, []string{
		"agent_days", "agent_months", "agents", "api_tokens", "audit_log", "call_leg_lag", "call_legs", "call_monitors", "callback_attempts", "callback_reminders", "callback_task_calls",
		"callback_tasks", "calls", "complaints", "database_identity", "goose_db_version", "lease_fences", "promise_extension_requests", "promise_extensions", "promise_reminders", "promises", "ratings", "recordings",
		"referrals", "report_zone", "reviews", "sessions", "users", "violation_dispositions", "violations",
	}, f.schemaObjects(t, "table"))
	require.Equal(t, []string{
		"api_tokens_one_live_name",
		"audit_log_by_actor", "audit_log_by_at", "audit_log_by_object", "audit_log_one_successor",
		"call_legs_by_agent", "call_legs_by_call", "call_legs_by_rung", "call_monitors_by_call",
		"callback_attempts_by_task", "callback_attempts_one_active_per_task",
		"callback_task_calls_by_task",
		"callback_tasks_by_agent", "callback_tasks_by_agent_deadline", "callback_tasks_by_deadline", "callback_tasks_by_number",
		"callback_tasks_by_state", "callback_tasks_one_open_per_number", "callback_tasks_open_by_next_attempt",
		"callback_tasks_open_dues", "callback_tasks_to_escalate",
		"calls_by_agent", "calls_by_agent_state", "calls_by_arrived", "calls_by_caller", "calls_by_state",
		"calls_missed_by_reason", "calls_unfinished", "complaints_by_agent", "complaints_by_recorded", "promise_extension_requests_open",
		"promise_extensions_by_promise",
		"promises_by_agent", "promises_by_agent_deadline", "promises_by_call", "promises_by_deadline", "promises_by_number",
		"promises_by_state", "promises_to_escalate", "promises_unfinished_dues",
		"ratings_by_agent", "ratings_by_rated", "recordings_by_call", "recordings_by_state", "recordings_to_archive",
		"referrals_by_call", "reviews_by_agent", "reviews_by_call", "reviews_by_created",
		"sessions_by_expiry", "sessions_by_user",
		"violation_dispositions_by_violation",
		"violations_by_agent", "violations_by_at", "violations_by_disposition", "violations_by_kind",
		"violations_confirmed_by_at",
	}, f.schemaObjects(t, "index"))
	require.Equal(t, []string{
		"agent_days_months_callbacks", "agent_days_months_calls", "agent_days_months_complaints", "agent_days_months_delete",
		"agent_days_months_insert", "agent_days_months_legs", "agent_days_months_move", "agent_days_months_promises",
		"agent_days_months_ratings", "agent_days_months_reviews", "agent_days_months_violations",
		"audit_log_no_delete", "audit_log_no_update",
		"call_legs_lag_insert", "call_legs_lag_update",
		"call_legs_report_delete", "call_legs_report_insert", "call_legs_report_update",
		"callback_tasks_report_delete", "callback_tasks_report_insert", "callback_tasks_report_update",
		"calls_first_responsible_agent_is_final", "calls_lag_update",
		"calls_report_delete", "calls_report_insert", "calls_report_update",
		"complaints_report_delete", "complaints_report_insert", "complaints_report_update",
		"lease_fences_only_rise",
		"promise_extensions_no_delete", "promise_extensions_no_update",
		"promises_deadline_moves_by_extension", "promises_overdue_is_not_stored_insert", "promises_overdue_is_not_stored_update", "promises_record_is_final",
		"promises_report_delete", "promises_report_insert", "promises_report_update",
		"ratings_report_delete", "ratings_report_insert", "ratings_report_update",
		"referrals_outcome_on_insert", "referrals_outcome_on_update",
		"reviews_report_delete", "reviews_report_insert", "reviews_report_update",
		"violation_dispositions_no_delete", "violation_dispositions_no_update",
		"violations_no_delete", "violations_occurrence_is_final", "violations_record_disposition",
		"violations_report_delete", "violations_report_insert", "violations_report_update",
	}, f.schemaObjects(t, "trigger"))

	status, err := f.db.MigrationStatus(f.ctx)
	require.NoError(t, err)
	sources := []string{"00001_initial.sql", "00002_inbound.sql", "00003_callbacks.sql", "00004_callback_number_index.sql",
		"00005_promises.sql", "00006_recording_archive.sql", "00007_staff.sql", "00008_audit_roles.sql",
		"00010_recording_parts.sql", "00012_deadlines.sql", "00014_reports.sql", "00015_call_log_indexes.sql", "00016_call_phase.sql", "00017_call_reasons.sql", "00018_instance_lease.sql",
		"00019_report_months_and_leg_lag.sql", "00020_console.sql",
		"00022_recording_servers.sql"}
	require.Len(t, status, len(sources))
	for i, source := range sources {
		var version int64
		_, err := fmt.Sscanf(source, "%05d_", &version)
		require.NoError(t, err)
		require.Equal(t, version, status[i].Version)
		require.Equal(t, source, status[i].Source)
		require.True(t, status[i].Applied)
		require.False(t, status[i].AppliedAt.IsZero())
		require.Equal(t, source+" applied "+status[i].AppliedAt.UTC().Format(time.RFC3339), status[i].String())
	}
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	f := setup(t)
	schema := func() []string { return f.schemaSQL(t) }
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

// Instances started together on one new database migrate it at the same
// moment: one applies the migrations, the others wait for it and find the
// schema current.
func TestInstancesMigratingANewDatabaseTogetherAllSucceed(t *testing.T) {
	t.Parallel()
	if !onPostgres() {
		t.Skip("PostgreSQL only: several instances share a PostgreSQL database; a SQLite file is migrated by one process")
	}
	f := setupUnmigrated(t)
	const instances = 3
	dbs := []*DB{f.db}
	for range instances - 1 {
		db, err := Open(f.ctx, f.cfg, nil)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		dbs = append(dbs, db)
	}
	applied := make([][]int64, instances)
	errs := make([]error, instances)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			<-start
			applied[i], errs[i] = db.Migrate(f.ctx)
		})
	}
	close(start)
	wg.Wait()
	all := 0
	for i := range dbs {
		require.NoError(t, errs[i], "instance %d", i)
		all += len(applied[i])
	}
	status, err := f.db.MigrationStatus(f.ctx)
	require.NoError(t, err)
	require.Equal(t, len(status), all, "each migration applied once: %v", applied)
	for _, db := range dbs {
		require.NoError(t, db.UpsertAgent(f.ctx, testAgent("a1")), "every instance can use the schema")
	}
}

// Every connection of both pools must carry the pragmas, not only the first.
func TestEveryConnectionHasThePragmas(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) { c.BusyTimeout, c.CacheMiB = 1234*time.Millisecond, 3 })

	tests := []struct {
		name      string
		pool      func() *sql.DB
		conns     int
		queryOnly int
	}{
		{"writer", func() *sql.DB { return f.db.writer.DB.DB }, 1, 0},
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
				setting := func(query string) string {
					var v string
					require.NoError(t, conn.QueryRowContext(f.ctx, query).Scan(&v))
					return v
				}
				if onPostgres() {
					// PostgreSQL's settings of the same meaning.
					require.Equal(t, "1234ms", setting("SHOW lock_timeout"))
					require.Equal(t, map[int]string{0: "off", 1: "on"}[tt.queryOnly], setting("SHOW default_transaction_read_only"))
					continue
				}
				pragma := func(name string) string { return setting("PRAGMA " + name) }
				require.Equal(t, "wal", pragma("journal_mode"))
				require.Equal(t, "1", pragma("foreign_keys"))
				require.Equal(t, "1234", pragma("busy_timeout"))
				require.Equal(t, "-3072", pragma("cache_size"), "3 MiB in KiB")
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
	sqliteOnly(t, "PostgreSQL's writer pool has more connections than one transaction holds")
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
	// BEGIN IMMEDIATE: holds the write lock. Not on f.ctx: the test's
	// context ends before the cleanups run, and database/sql would roll the
	// transaction back on its own, racing the cleanup's Rollback.
	tx, err := other.writer.BeginTx(context.WithoutCancel(f.ctx), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tx.Rollback()) })
	if onPostgres() {
		// PostgreSQL locks what a transaction writes, not the database.
		_, err := tx.ExecContext(f.ctx, `LOCK TABLE agents IN EXCLUSIVE MODE`)
		require.NoError(t, err)
	}

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

// schemaSQL lists every object of the database with the SQL that made it.
func (f fixture) schemaSQL(t *testing.T) []string {
	t.Helper()
	var sqls []string
	// A table rebuilt under a temporary name and renamed (00017) is
	// written CREATE TABLE "calls": the same table.
	query := `SELECT type || ' ' || name || ' ' || replace(coalesce(sql, ''), 'CREATE TABLE "calls"', 'CREATE TABLE calls') FROM sqlite_schema ORDER BY name`
	if onPostgres() {
		// The same from PostgreSQL's catalog, without the schema's name
		// (each test has its own).
		query = `SELECT replace(x, current_schema() || '.', '') FROM (
SELECT 'table ' || table_name || ' ' || string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' ||
       coalesce(column_default, ''), ', ' ORDER BY ordinal_position) AS x
FROM information_schema.columns WHERE table_schema = current_schema() GROUP BY table_name
UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
UNION ALL SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
    WHERE connamespace = current_schema()::regnamespace
UNION ALL SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = current_schema()
UNION ALL SELECT 'function ' || proname || ' ' || prosrc FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
) AS s ORDER BY 1`
	}
	require.NoError(t, f.db.reader.SelectContext(f.ctx, &sqls, query))
	return sqls
}

// A database in service at version 1 keeps its rows through 00002 and ends
// with the same schema as a new one; 00002 also goes down and up again.
func TestMigrate00002KeepsExistingRows(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "no PostgreSQL database was ever at this version: PostgreSQL came later, its databases start at the current schema")
	f := setupUnmigrated(t)
	first, err := f.db.migrations.UpTo(f.ctx, 1)
	require.NoError(t, err)
	require.Len(t, first, 1)

	// Rows as the version-1 service wrote them: raw SQL, since the store's
	// statements now name columns version 1 does not have.
	require.NoError(t, f.exec(t,
		`INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms) VALUES ('a1', 'A1', 'PJSIP/a1', 'agent', 'available', 1, 1)`,
		`INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms) VALUES ('a2', 'A2', 'PJSIP/a2', 'agent', 'available', 1, 1)`,
		fmt.Sprintf(`INSERT INTO calls (id, caller_number, line, state, first_responsible_agent, arrived_ms, answered_ms, ended_ms, updated_ms)
			VALUES ('c1', '13900000001', 'hotline', 'completed', 'a1', %d, %d, %d, 1)`,
			t0.UnixMilli(), t0.Add(time.Second).UnixMilli(), t0.Add(time.Minute).UnixMilli()),
		fmt.Sprintf(`INSERT INTO call_legs (call_id, agent_id, channel_id, outcome, rung_ms) VALUES ('c1', 'a1', 'c1-a1', 'completed', %d)`, t0.UnixMilli()),
		// Referrals with the column's default outcome: one still ringing,
		// one ended without a recorded outcome.
		fmt.Sprintf(`INSERT INTO referrals (call_id, from_agent, to_agent, requested_ms) VALUES ('c1', 'a1', 'a2', %d)`, t0.Add(10*time.Second).UnixMilli()),
		fmt.Sprintf(`INSERT INTO referrals (call_id, from_agent, to_department, requested_ms, ended_ms) VALUES ('c1', 'a1', 'tax', %d, %d)`,
			t0.Add(20*time.Second).UnixMilli(), t0.Add(30*time.Second).UnixMilli()),
		fmt.Sprintf(`INSERT INTO ratings (call_id, agent_id, score, rated_ms) VALUES ('c1', 'a1', 4, %d)`, t0.Add(time.Minute).UnixMilli()),
	))

	applied, err := f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 22}, applied)

	got, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, hotline.Call{
		ID:                    "c1",
		CallerNumber:          "13900000001",
		Line:                  hotline.LineHotline,
		State:                 hotline.CallCompleted,
		FirstResponsibleAgent: "a1",
		ArrivedAt:             t0,
		AnsweredAt:            t0.Add(time.Second),
		EndedAt:               t0.Add(time.Minute),
		Legs: []hotline.CallLeg{{
			ID: 1, CallID: "c1", AgentID: "a1", ChannelID: "c1-a1", Outcome: hotline.LegCompleted, RungAt: t0,
		}},
		Referrals: []hotline.Referral{
			{ID: 1, CallID: "c1", FromAgent: "a1", ToAgent: "a2", Outcome: hotline.ReferralRinging, RequestedAt: t0.Add(10 * time.Second)},
			{ID: 2, CallID: "c1", FromAgent: "a1", ToDepartment: "tax", Outcome: "",
				RequestedAt: t0.Add(20 * time.Second), EndedAt: t0.Add(30 * time.Second)},
		},
		Rating: &hotline.Rating{CallID: "c1", AgentID: "a1", Score: hotline.Dissatisfied, RatedAt: t0.Add(time.Minute)},
	}, got, "voicemail_name is '', the unended referral is ringing")

	// The migrated rows take the new statements.
	got.VoicemailName = "vm-c1"
	got.RecordingParts = []string{"c1", "c1-part2"}
	require.NoError(t, f.db.UpdateCall(f.ctx, got))
	got.Referrals[1].Outcome = hotline.ReferralCancelled
	require.NoError(t, f.db.UpdateReferral(f.ctx, got.Referrals[1]))
	again, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, got, again)

	fresh := setup(t)
	require.Equal(t, fresh.schemaSQL(t), f.schemaSQL(t), "the same schema as a new database")

	// Down to 1 drops what 00022 to 00002 added and keeps the rows; up again.
	down, err := f.db.migrations.DownTo(f.ctx, 1)
	require.NoError(t, err)
	require.Len(t, down, 17)
	require.NotContains(t, f.schemaObjects(t, "trigger"), "referrals_outcome_on_insert")
	require.NotContains(t, f.schemaObjects(t, "index"), "call_legs_by_rung")
	var columns []string
	require.NoError(t, f.db.reader.SelectContext(f.ctx, &columns, `SELECT name FROM pragma_table_info('calls')`))
	require.NotContains(t, columns, "voicemail_name")
	var calls int
	require.NoError(t, f.db.reader.GetContext(f.ctx, &calls, `SELECT count(*) FROM calls`))
	require.Equal(t, 1, calls)

	applied, err = f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 22}, applied)
	require.Equal(t, fresh.schemaSQL(t), f.schemaSQL(t))
}
