package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"hotline"
)

// The store runs on SQLite (a file path in store.path) or on PostgreSQL (a
// postgres:// URL there). Every statement is written once, in SQLite's
// dialect; this file holds everything that differs on PostgreSQL:
//
//   - statements: the connections of a PostgreSQL store go through a driver
//     that rewrites each statement once (then from a cache) before pgx sees
//     it: ? and ?NNN placeholders become $N, SQLite's planner hints
//     (INDEXED BY, NOT INDEXED) go, scalar min/max become least/greatest,
//     json_each(?) of an id list becomes json_array_elements_text, an
//     upsert's "c = c + excluded.c" names its table, and the few statements
//     with no common form are replaced whole (pgStatements);
//   - errors: classifyPostgres maps SQLSTATE codes to the same kinds SQLite's
//     codes get (unique: conflict; check, foreign key, not null: invalid; a
//     trigger's refusal as SQLite's RAISE(ABORT); serialization, deadlock,
//     lock and connection failures: unavailable), and pgStorageProblem the
//     storage failures (disk full, read-only, I/O);
//   - migrations: migrations/postgres holds the same versions as
//     migrations/, in PostgreSQL's dialect (identity columns, trigger
//     functions); goose runs them with its postgres dialect;
//   - writing: SQLite has one writer connection per process, so writers
//     queue in Go and share commits (groupcommit.go); PostgreSQL takes row
//     locks itself, so the writer pool has several connections and each
//     write transaction commits alone. Where a read decides a write in the same
//     transaction against every other writer (the audit chain's tail, a
//     lease's fence, the open task of a number) the transaction locks what
//     it read (lockAuditLog, fenceTokenSQL's FOR SHARE, lockKey). Claims are the same fenced
//     UPDATE … RETURNING on both.

// dialect is the kind of database a DB talks to.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

// dialectOf tells from store.path which database it names.
func dialectOf(path string) dialect {
	if strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://") {
		return postgresDialect
	}
	return sqliteDialect
}

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// goose is the goose dialect and the folder of d's migrations.
func (d dialect) goose() (goose.Dialect, string) {
	if d == postgresDialect {
		return goose.DialectPostgres, "migrations/postgres"
	}
	return goose.DialectSQLite3, "migrations"
}

// writerConns is how many connections write at once.
func (d dialect) writerConns() int {
	if d == postgresDialect {
		return 4
	}
	return 1
}

// redactURL is a PostgreSQL URL without its password, for messages and
// logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// validatePostgresURL reports a URL pgx cannot use.
func validatePostgresURL(raw string) error {
	if _, err := pgx.ParseConfig(raw); err != nil {
		return fmt.Errorf("store.path: %s: %w", redactURL(raw), err)
	}
	return nil
}

// openPostgres opens the writer and reader pools of a PostgreSQL store,
// and the one connection migrations run on (goose's own statements are
// PostgreSQL's already, so they are not rewritten); the readers'
// transactions are read-only, as SQLite's query_only readers are.
func openPostgres(ctx context.Context, cfg Config) (writer, reader *sqlx.DB, raw *sql.DB, err error) {
	base, err := pgx.ParseConfig(cfg.Path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store: open %s: %w", redactURL(cfg.Path), err)
	}
	open := func(readOnly, rewrite bool) (*sql.DB, error) {
		pc := base.Copy()
		if pc.RuntimeParams == nil {
			pc.RuntimeParams = map[string]string{}
		}
		// A statement waits for a lock at most as long as SQLite's busy
		// timeout lets it.
		pc.RuntimeParams["lock_timeout"] = strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)
		if readOnly {
			pc.RuntimeParams["default_transaction_read_only"] = "on"
		}
		var pool *sql.DB
		if rewrite {
			pool = sql.OpenDB(pgConnector{stdlib.GetConnector(*pc)})
		} else {
			pool = stdlib.OpenDB(*pc)
		}
		if err := pool.PingContext(ctx); err != nil {
			err = &hotline.Error{Kind: hotline.KindUnavailable, Op: "store.Open", Retryable: true,
				Message: fmt.Sprintf("the database %s cannot be reached: %v", redactURL(cfg.Path), err), Err: err}
			return nil, errors.Join(err, pool.Close())
		}
		return pool, nil
	}
	w, err := open(false, true)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := open(true, true)
	if err != nil {
		return nil, nil, nil, errors.Join(err, w.Close())
	}
	if raw, err = open(false, false); err != nil {
		return nil, nil, nil, errors.Join(err, w.Close(), r.Close())
	}
	raw.SetMaxOpenConns(1)
	return sqlx.NewDb(w, pgDriverName), sqlx.NewDb(r, pgDriverName), raw, nil
}

// pgDriverName is the name sqlx knows the rewriting driver by: named
// parameters compile to ?, which the driver then numbers.
const pgDriverName = "hotline-postgres"

func init() { sqlx.BindDriver(pgDriverName, sqlx.QUESTION) }

// pgConnector makes pgx connections whose statements are rewritten.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return pgConn{conn.(*stdlib.Conn)}, nil
}

// pgConn is a pgx connection that rewrites each statement it is given.
type pgConn struct{ *stdlib.Conn }

func (c pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(pgRewrite(query))
}

func (c pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, pgRewrite(query))
}

func (c pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, pgRewrite(query), args)
}

func (c pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, pgRewrite(query), args)
}

// pgRewritten caches pgRewrite: the store's statements are few and fixed.
var pgRewritten sync.Map

// pgRewrite turns a statement written for SQLite into PostgreSQL's form.
func pgRewrite(query string) string {
	if q, ok := pgRewritten.Load(query); ok {
		return q.(string)
	}
	q := query
	if whole, ok := pgStatementsTrimmed()[strings.TrimSpace(q)]; ok {
		q = whole
	}
	q = numberPlaceholders(q)
	q = plannerHints.ReplaceAllString(q, "")
	q = jsonIDList.ReplaceAllString(q, "SELECT value::bigint FROM json_array_elements_text($1::json) AS value")
	q = scalarMinMax(q)
	// nullif(?, 0) would take its parameter for an int4.
	q = nullifZero.ReplaceAllString(q, "nullif(${1}::bigint, 0)")
	q = qualifyUpsert(q)
	pgRewritten.Store(query, q)
	return q
}

var (
	// plannerHints are SQLite's INDEXED BY name and NOT INDEXED;
	// PostgreSQL's planner takes no hints.
	plannerHints = regexp.MustCompile(`(?i)\s(INDEXED BY\s+\w+|NOT INDEXED)\b`)
	// jsonIDList is the subquery that reads a JSON array of ids.
	jsonIDList = regexp.MustCompile(`SELECT value FROM json_each\((\$\d+)\)`)
	nullifZero = regexp.MustCompile(`nullif\((\$\d+), 0\)`)
	// upsertSum is "c = c + excluded.c" in an upsert's SET.
	upsertSum  = regexp.MustCompile(`\b(\w+) = (\w+) \+ excluded\.(\w+)`)
	insertInto = regexp.MustCompile(`(?i)INSERT INTO (\w+)`)
)

// numberPlaceholders turns ? and ?NNN into $N, outside quotes and comments.
// A bare ? takes the number after the largest used so far, as in SQLite.
func numberPlaceholders(q string) string {
	var b strings.Builder
	largest := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			b.WriteString(q[i : i+end])
			i += end - 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := largest + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			largest = max(largest, n)
			b.WriteString("$" + strconv.Itoa(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// scalarMinMax turns min(a, b, …) and max(a, b, …), SQLite's scalar forms,
// into least and greatest; the one-argument aggregates stay.
func scalarMinMax(q string) string {
	lower := strings.ToLower(q)
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		fn := ""
		if strings.HasPrefix(lower[i:], "min(") {
			fn = "least("
		} else if strings.HasPrefix(lower[i:], "max(") {
			fn = "greatest("
		}
		if fn == "" || (i > 0 && (isWordByte(q[i-1]))) {
			b.WriteByte(q[i])
			continue
		}
		depth, commas := 0, 0
		for j := i + 3; j < len(q); j++ {
			switch q[j] {
			case '(':
				depth++
			case ')':
				depth--
			case ',':
				if depth == 1 {
					commas++
				}
			}
			if depth == 0 {
				break
			}
		}
		if commas == 0 {
			b.WriteByte(q[i])
			continue
		}
		b.WriteString(fn)
		i += 3
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.'
}

// qualifyUpsert names the table in an upsert's "c = c + excluded.c", which
// PostgreSQL finds ambiguous.
func qualifyUpsert(q string) string {
	if !strings.Contains(q, "ON CONFLICT") {
		return q
	}
	m := insertInto.FindStringSubmatch(q)
	if m == nil {
		return q
	}
	table := m[1]
	return upsertSum.ReplaceAllStringFunc(q, func(s string) string {
		p := upsertSum.FindStringSubmatch(s)
		if p[1] != p[2] || p[2] != p[3] {
			return s
		}
		return p[1] + " = " + table + "." + p[1] + " + excluded." + p[1]
	})
}

// pgStatements are the statements with no form both databases run, by
// their SQLite text, and their PostgreSQL text (written with ? as well).
// The driver sees named statements compiled by sqlx, so only statements
// with ? parameters can be replaced here.
var pgStatements = map[string]string{
	// The id the next audit_log row gets: from the identity column's
	// sequence, which never hands out an id twice, and past every id
	// stored (rows copied in with their ids leave the sequence behind).
	nextAuditIDSQL: `SELECT greatest(nextval(pg_get_serial_sequence('audit_log', 'id')), coalesce(max(id), 0) + 1) FROM audit_log`,
	// A fence is checked under a share lock on its row, so a new holder's
	// raise waits until the write it guards commits, as SQLite's one writer
	// makes it wait.
	fenceTokenSQL: fenceTokenSQL + ` FOR SHARE`,
	// The bytes of the audit log's text fields.
	auditSizeSQL: `SELECT count(*), coalesce(sum(octet_length(actor || role || action || object || client || result || detail)), 0)
FROM audit_log`,
	// The growth probe makes a table of 64 KiB, rolled back.
	probeGrowthSQL: `CREATE TABLE storage_probe AS SELECT convert_to(repeat('0', 65536), 'UTF8') AS filler`,
	// The benchmark's seed: a series instead of SQLite's recursive count,
	// lpad instead of printf, parameters typed where the first use would
	// make them int4.
	seedBenchTasksSQL: `
INSERT INTO callback_tasks (number, state, agent_id, missed_count, first_missed_ms, deadline_ms, next_attempt_ms, created_ms)
SELECT '1' || lpad(i::text, 10, '0'), 'pending', '` + BenchAgent + `', 1, CAST(?2 AS BIGINT), ?2 + i * CAST(?3 AS BIGINT) + 86400000, ?2 + i * ?3, ?2
FROM generate_series(1, CAST(?1 AS BIGINT)) AS i`,
	seedBenchPromisesSQL: `
INSERT INTO promises (call_id, number, agent_id, created_by, summary, state, deadline_ms, original_deadline_ms, created_ms)
SELECT '` + BenchCall + `', '1' || lpad(i::text, 10, '0'), '` + BenchAgent + `', '` + BenchAgent + `', 'bench', 'open',
       CAST(?2 AS BIGINT) + i * CAST(?3 AS BIGINT), ?2 + i * ?3, ?2
FROM generate_series(1, CAST(?1 AS BIGINT)) AS i`,
	// After the seed PostgreSQL needs its statistics more than a
	// checkpoint (which only a superuser may ask for).
	checkpointSQL: `ANALYZE callback_tasks, promises`,
	// Violations from a JSON array: PostgreSQL's JSON operators take a key,
	// not a path.
	addViolationsSQL: `INSERT INTO violations (kind, agent_id, call_id, task_id, promise_id, at_ms, detail)
SELECT value ->> 'kind', value ->> 'agent', value ->> 'call', CAST(value ->> 'task' AS BIGINT), CAST(value ->> 'promise' AS BIGINT),
       CAST(value ->> 'at' AS BIGINT), value ->> 'detail'
FROM json_array_elements(CAST(? AS json)) AS value
RETURNING id, task_id, promise_id`,
}

// pgStatementsTrimmed is pgStatements by their trimmed text.
var pgStatementsTrimmed = sync.OnceValue(func() map[string]string {
	out := make(map[string]string, len(pgStatements))
	for from, to := range pgStatements {
		out[strings.TrimSpace(from)] = to
	}
	return out
})

// lockAuditLog makes an audit append wait for any other in flight on
// PostgreSQL, so two never read the same tail of the chain; SQLite's one
// writer has the lock already.
func (db *DB) lockAuditLog(ctx context.Context, tx *sqlx.Tx) error {
	if db.dialect != postgresDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, `LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// lockKey makes the write transactions that lock key run one at a time on
// PostgreSQL (a transaction-scoped advisory lock): for a read that decides
// a write, such as "merge into the open task of this number, else create
// one", which would otherwise race. SQLite's one writer has the lock
// already.
func (db *DB) lockKey(ctx context.Context, tx *sqlx.Tx, key string) error {
	if db.dialect != postgresDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key)
	return err
}

// classifyPostgres is kindOf for a PostgreSQL error; ok is false for an
// error that does not come from PostgreSQL.
func classifyPostgres(err error) (kind hotline.ErrorKind, ok bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) || pgconn.Timeout(err) {
			return hotline.KindUnavailable, true
		}
		return hotline.KindInternal, false
	}
	switch {
	case pe.Code == "23505": // unique_violation
		return hotline.KindConflict, true
	case pe.Code == "P0001": // raise_exception: a trigger refused the change
		if strings.HasPrefix(pe.Message, checkFailed) {
			return hotline.KindInvalid, true
		}
		return hotline.KindConflict, true
	case strings.HasPrefix(pe.Code, "23"), // integrity: check, foreign key, not null
		strings.HasPrefix(pe.Code, "22"): // data exception: bad JSON, out of range
		return hotline.KindInvalid, true
	case pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
		pe.Code == "55P03", pe.Code == "57014", // lock not available, statement cancelled
		strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"):
		return hotline.KindUnavailable, true
	}
	return hotline.KindInternal, true
}

// pgStorageProblem is storageProblem for PostgreSQL.
func pgStorageProblem(where string, err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	switch {
	case pe.Code == "53100":
		return fmt.Sprintf("the disk of the database %s is full: nothing of this write was stored; free space on the server", where)
	case pe.Code == "25006":
		return fmt.Sprintf("the database %s is read-only (a standby, or default_transaction_read_only): point store.path at the primary", where)
	case pe.Code == "58030":
		return fmt.Sprintf("disk I/O error on the database server of %s: check its disk and log", where)
	case pe.Code == "XX001" || pe.Code == "XX002":
		return fmt.Sprintf("the database %s is damaged: restore it from a backup", where)
	}
	return ""
}
