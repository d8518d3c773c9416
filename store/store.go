// Package store keeps every fact of the hotline in SQLite or PostgreSQL: the
// schema and its migrations, and every SQL statement the service runs.
//
// On SQLite, one writer connection serialises all writes in the process, so
// writers queue in Go instead of failing with SQLITE_BUSY; WAL lets a
// separate pool of read-only connections run beside it without blocking or
// being blocked. What differs on PostgreSQL is in dialect.go.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"

	"hotline"
)

// DB is the hotline database: the writer pool (one connection on SQLite)
// and a pool of readers over the same database.
type DB struct {
	path       string // the SQLite file, or the PostgreSQL URL without its password
	dialect    dialect
	rawPool    *sql.DB // PostgreSQL: the migrations' connection, without statement rewriting
	writer     writer
	reader     *sqlx.DB
	health     *writeHealth // shared by the copies WithPlans makes
	migrations *goose.Provider
	now        func() time.Time
	logger     *slog.Logger
	plans      *PlanLog    // set by WithPlans: reads write their plans here first
	stmts      *writeStmts // the writer's prepared statements
	// writeSeconds is hotline_store_write_seconds (WithRegistry); nil when
	// not exported.
	writeSeconds *prometheus.HistogramVec
	// group shares commits between queued write transactions on SQLite
	// (groupcommit.go); shared by the copies WithPlans makes; nil on
	// PostgreSQL.
	group *groupCommit
}

// Option changes how Open builds a DB.
type Option func(*DB)

// WithClock sets the clock that stamps created_ms and updated_ms columns.
// Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// Open opens the database cfg.Path names: a PostgreSQL database for a
// postgres:// URL, else the SQLite file at that path (created when missing,
// with its folder). It does not migrate: call Migrate before using the
// statements.
func Open(ctx context.Context, cfg Config, logger *slog.Logger, opts ...Option) (*DB, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dialectOf(cfg.Path) == postgresDialect {
		return openPostgresDB(ctx, cfg, logger, opts)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, hotline.WrapError(hotline.KindUnavailable, "store.Open", fmt.Errorf("open %s: create its folder: %w", cfg.Path, err))
	}
	// SQLite says only "unable to open database file" (and, for a folder
	// it may not write, "no such file or directory"): say what is wrong.
	if err := writable(cfg.Path); err != nil {
		return nil, hotline.WrapError(hotline.KindUnavailable, "store.Open", fmt.Errorf("open %s: %w", cfg.Path, err))
	}
	db := &DB{path: cfg.Path, now: time.Now, logger: logger, stmts: &writeStmts{}, health: &writeHealth{}, group: &groupCommit{}}
	for _, opt := range opts {
		opt(db)
	}

	// The writer connects first so the file is in WAL mode before any
	// reader opens it. BEGIN IMMEDIATE takes the write lock at the start of
	// a transaction, so a transaction never fails half-way when it turns
	// from reading to writing while another process writes.
	writer, err := openPool(ctx, cfg, url.Values{"_txlock": {"immediate"}})
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)

	reader, err := openPool(ctx, cfg, url.Values{"_query_only": {"1"}})
	if err != nil {
		return nil, errors.Join(err, writer.Close())
	}
	readers := max(4, runtime.NumCPU())
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)

	db.writer, db.reader = newWriter(writer, db), reader
	db.migrations, err = newMigrationProvider(writer.DB, sqliteDialect, logger)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	logger.Debug("database opened", "path", cfg.Path, "readers", readers)
	return db, nil
}

// openPostgresDB is Open for a PostgreSQL URL.
func openPostgresDB(ctx context.Context, cfg Config, logger *slog.Logger, opts []Option) (*DB, error) {
	writer, reader, raw, err := openPostgres(ctx, cfg)
	if err != nil {
		return nil, err
	}
	where := redactURL(cfg.Path)
	db := &DB{path: where, dialect: postgresDialect, rawPool: raw, now: time.Now, logger: logger,
		stmts: &writeStmts{}, health: &writeHealth{}}
	for _, opt := range opts {
		opt(db)
	}
	conns := postgresDialect.writerConns()
	writer.SetMaxOpenConns(conns)
	writer.SetMaxIdleConns(conns)
	readers := max(4, runtime.NumCPU())
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	db.writer, db.reader = newWriter(writer, db), reader
	db.migrations, err = newMigrationProvider(raw, postgresDialect, logger)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	logger.Debug("database opened", "url", where, "readers", readers, "writers", conns)
	return db, nil
}

// sqliteDriver is the SQLite driver with the settings the DSN cannot carry.
const sqliteDriver = "sqlite3_hotline"

// tempStoreSQL keeps SQLite's temporary data in memory. Above all the
// statement journal: a statement whose triggers may abort it (an UPDATE of
// callback_tasks or promises, whose agent_days triggers upsert) keeps
// the pages it changes there, and in a temporary file that cost about 30
// times the statement itself (a batch of claims: 550 µs of CPU a task
// against 16).
const tempStoreSQL = `PRAGMA temp_store = MEMORY`

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(tempStoreSQL, nil)
		return err
	}})
	sqlx.BindDriver(sqliteDriver, sqlx.QUESTION)
}

// openPool opens a connection pool on cfg.Path with the pragmas every
// connection needs plus extra, and connects once to surface a bad file now.
// The pragmas travel in the DSN so that every connection the pool opens
// later gets them too.
func openPool(ctx context.Context, cfg Config, extra url.Values) (*sqlx.DB, error) {
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_foreign_keys": {"1"},
		"_synchronous":  {"NORMAL"},
		"_busy_timeout": {strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)},
		"_cache_size":   {strconv.Itoa(-cfg.CacheMiB << 10)}, // negative: KiB, not pages
	}
	for k, v := range extra {
		params[k] = v
	}
	// A file: URI with an escaped path, so '?', '#' or '%' in a folder name
	// cannot be taken for parameters.
	dsn := "file:" + (&url.URL{Path: cfg.Path}).EscapedPath() + "?" + params.Encode()
	pool, err := sqlx.Open(sqliteDriver, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	if err := pool.PingContext(ctx); err != nil {
		if problem := storageProblem(cfg.Path, err); problem != "" {
			err = &hotline.Error{Kind: hotline.KindUnavailable, Op: "store.Open", Message: problem, Retryable: true, Err: err}
		}
		return nil, errors.Join(fmt.Errorf("store: open %s: %w", cfg.Path, err), pool.Close())
	}
	return pool, nil
}

// Where names the database in messages: the SQLite file, or the
// PostgreSQL URL without its password.
func (db *DB) Where() string { return db.path }

// Close closes every connection.
func (db *DB) Close() error {
	errs := []error{db.stmts.close(), db.reader.Close(), db.writer.Close()}
	if db.rawPool != nil {
		errs = append(errs, db.rawPool.Close())
	}
	return errors.Join(errs...)
}

// Ping reports whether both the writer and a reader connection can be had
// within ctx, and whether writes succeed: a writer stuck behind a long
// transaction, a full disk or a database turned read-only make it fail,
// which is what /readyz should say.
func (db *DB) Ping(ctx context.Context) error {
	const op = "store.Ping"
	if err := db.writer.PingContext(ctx); err != nil {
		return wrapErr(op, "writer", err)
	}
	if err := db.reader.PingContext(ctx); err != nil {
		return wrapErr(op, "reader", err)
	}
	return db.writesFailing(ctx)
}

// inWriteTx runs fn in one transaction on the writer and commits when fn
// returns nil. fn must not use the DB's other methods that write: the writer
// has one connection and fn holds it. When ctx carries a lease's fence
// (WithFence), the transaction first checks it and writes nothing for a
// holder the lease has passed from.
func (db *DB) inWriteTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	kind := ""
	if db.writeSeconds != nil {
		kind = txKind(1)
	}
	return db.inWriteTxAs(ctx, kind, fn)
}

// inWriteTxAs is inWriteTx, its time recorded as a write of kind. On
// SQLite, writes that queue for the writer share its transactions
// (groupcommit.go); on PostgreSQL, whose writer has several connections,
// each runs alone.
func (db *DB) inWriteTxAs(ctx context.Context, kind string, fn func(tx *sqlx.Tx) error) error {
	if db.writeSeconds != nil {
		defer db.observeWrite(kind, time.Now())
	}
	var fence *sqlx.Stmt
	if _, ok := FenceOf(ctx); ok {
		// Prepared before the transaction: preparing takes the writer's
		// one connection, which the transaction holds.
		fence = db.fencedWrite(ctx, fenceTokenSQL)
	}
	if !db.group.shares(ctx) {
		return db.writeAlone(ctx, fence, fn)
	}
	return db.group.write(db, &groupWrite{ctx: ctx, fence: fence, fn: fn})
}

// inReadTx runs fn in one read transaction on the reader pool, so reads that
// belong together see one snapshot.
func (db *DB) inReadTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.reader.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	// A read transaction changes nothing: rolling back only ends it.
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// nowMs is the current time in the storage form.
func (db *DB) nowMs() int64 { return db.now().UnixMilli() }

// selectPage runs a list query on the reader: query's %s becomes the AND of
// conds, args are followed by limit and offset, and each row is converted.
// The List… statements share it so each only says which conditions apply.
func selectPage[R, T any](ctx context.Context, db *DB, op, subject, query string, conds []string, args []any,
	limit, offset int, convert func(R) T) ([]T, error) {
	var rows []R
	args = append(args, limit, offset)
	if err := db.selectOn(ctx, db.reader, &rows, fmt.Sprintf(query, strings.Join(conds, " AND ")), args...); err != nil {
		return nil, wrapErr(op, subject, err)
	}
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		out = append(out, convert(r))
	}
	return out, nil
}
