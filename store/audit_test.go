package store

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"hotline"
)

// testAudit is supervisor s1 listening to recording r<n> at t0+n seconds.
func testAudit(n int) hotline.AuditEntry {
	return hotline.AuditEntry{
		At:     at(time.Duration(n) * time.Second),
		Actor:  "s1",
		Action: "recording.listen",
		Object: fmt.Sprintf("r%d", n),
		Client: "10.0.0.7",
		Result: "ok",
	}
}

func TestAppendAuditChains(t *testing.T) {
	t.Parallel()
	f := setup(t)

	first := testAudit(1)
	first.Role = "supervisor"
	first.At = first.At.Add(1234567 * time.Nanosecond) // kept to the millisecond
	first.Detail = "reason: complaint 7, 投诉"
	first.ID, first.PrevHash, first.Hash = 42, "forged", "forged" // ignored
	got, err := f.db.AppendAudit(f.ctx, first)
	require.NoError(t, err)

	// The documented encoding, written out by hand.
	atMs := fmt.Sprint(at(time.Second + time.Millisecond).UnixMilli())
	detail := "reason: complaint 7, 投诉"
	input := "16:hotline-audit-v2," + "0:," + "1:1," + fmt.Sprintf("%d:%s,", len(atMs), atMs) +
		"2:s1," + "10:supervisor," + "16:recording.listen," + "2:r1," + "8:10.0.0.7," + "2:ok," + fmt.Sprintf("%d:%s,", len(detail), detail)
	sum := sha256.Sum256([]byte(input))
	require.Equal(t, hotline.AuditEntry{
		ID: 1, At: at(time.Second + time.Millisecond), Actor: "s1", Role: "supervisor", Action: "recording.listen", Object: "r1",
		Client: "10.0.0.7", Result: "ok", Detail: detail, PrevHash: "", Hash: hex.EncodeToString(sum[:]),
	}, got)

	// A zero time takes the store's clock.
	untimed := testAudit(2)
	untimed.At = time.Time{}
	second, err := f.db.AppendAudit(f.ctx, untimed)
	require.NoError(t, err)
	require.Equal(t, int64(2), second.ID)
	require.Equal(t, t0, second.At)
	require.Equal(t, got.Hash, second.PrevHash, "each entry carries the hash of the one before")

	third, err := f.db.AppendAudit(f.ctx, testAudit(3))
	require.NoError(t, err)
	require.Equal(t, second.Hash, third.PrevHash)

	brokenAt, err := f.db.VerifyAudit(f.ctx)
	require.NoError(t, err)
	require.Zero(t, brokenAt)
}

// Rows written before roles (version 1, hashed without a role) still
// verify beside new ones, and an edit of either is found.
func TestAuditVersion1RowsStillVerify(t *testing.T) {
	t.Parallel()
	f := setup(t)
	old := auditRow{ID: 1, AtMs: at(time.Second).UnixMilli(), Version: 1, Actor: "s1", Action: "recording.listen",
		Object: "r1", Client: "10.0.0.7", Result: "ok"}
	old.Hash = auditHash(old)
	// The v1 encoding, written out by hand.
	atMs := fmt.Sprint(old.AtMs)
	sum := sha256.Sum256([]byte("16:hotline-audit-v1," + "0:," + "1:1," + fmt.Sprintf("%d:%s,", len(atMs), atMs) +
		"2:s1," + "16:recording.listen," + "2:r1," + "8:10.0.0.7," + "2:ok," + "0:,"))
	require.Equal(t, hex.EncodeToString(sum[:]), old.Hash)
	_, err := f.db.writer.ExecContext(f.ctx, `INSERT INTO audit_log (id, at_ms, actor, action, object, client, result, detail, prev_hash, hash)
		VALUES (1, ?, 's1', 'recording.listen', 'r1', '10.0.0.7', 'ok', '', '', ?)`, old.AtMs, old.Hash)
	require.NoError(t, err)
	next, err := f.db.AppendAudit(f.ctx, hotline.AuditEntry{Actor: "1001", Role: "agent", Action: "agent.pause", Object: "agent:1001", Result: "ok"})
	require.NoError(t, err)
	require.Equal(t, old.Hash, next.PrevHash)
	brokenAt, err := f.db.VerifyAudit(f.ctx)
	require.NoError(t, err)
	require.Zero(t, brokenAt)

	raw := f.rawConn(t)
	_, err = raw.ExecContext(f.ctx, `UPDATE audit_log SET role = 'supervisor' WHERE id = 2`)
	require.NoError(t, err)
	brokenAt, err = f.db.VerifyAudit(f.ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), brokenAt, "the role is inside the hash")
}

// However long the fields of a request, an audit row stays small: each
// field is cut to its cap, marked, and the chain verifies.
func TestAppendAuditCapsFields(t *testing.T) {
	t.Parallel()
	f := setup(t)
	long := strings.Repeat("名", 700_000)
	e, err := f.db.AppendAudit(f.ctx, hotline.AuditEntry{Actor: long, Role: long, Action: long, Object: long, Client: long, Result: long, Detail: long})
	require.NoError(t, err)
	for _, c := range []struct {
		v string
		n int
	}{{e.Actor, maxAuditShort}, {e.Role, maxAuditShort}, {e.Action, maxAuditShort}, {e.Object, maxAuditObject},
		{e.Client, maxAuditShort}, {e.Result, maxAuditShort}, {e.Detail, maxAuditDetail}} {
		require.Equal(t, c.n, utf8.RuneCountInString(c.v))
		require.True(t, strings.HasSuffix(c.v, auditCutMark))
	}
	entries, bytes, err := f.db.AuditSize(f.ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), entries)
	require.Less(t, bytes, int64(8<<10))
	brokenAt, err := f.db.VerifyAudit(f.ctx)
	require.NoError(t, err)
	require.Zero(t, brokenAt)
}

func TestListAudit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, e := range []hotline.AuditEntry{
		{Actor: "1001", Role: "agent", Action: "agent.pause", Object: "agent:1001", Result: "ok"},
		{Actor: "2001", Role: "supervisor", Action: "recording.listen", Object: "recording:r1", Result: "ok"},
		{Actor: "1001", Role: "agent", Action: "recording.listen", Object: "recording:r1", Result: "denied"},
	} {
		_, err := f.db.AppendAudit(f.ctx, e)
		require.NoError(t, err)
	}
	ids := func(f AuditFilter, list []hotline.AuditEntry) []int64 {
		out := []int64{}
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		filter AuditFilter
		want   []int64
	}{
		{AuditFilter{}, []int64{3, 2, 1}},
		{AuditFilter{Actor: "1001"}, []int64{3, 1}},
		{AuditFilter{Action: "recording.listen"}, []int64{3, 2}},
		{AuditFilter{Object: "recording:r1", Actor: "2001"}, []int64{2}},
		{AuditFilter{Limit: 1, Offset: 1}, []int64{2}},
		{AuditFilter{Since: t0.Add(time.Hour)}, []int64{}},
	} {
		list, err := f.db.ListAudit(f.ctx, tc.filter)
		require.NoError(t, err)
		require.Equal(t, tc.want, ids(tc.filter, list), "%+v", tc.filter)
	}
	list, err := f.db.ListAudit(f.ctx, AuditFilter{Actor: "2001"})
	require.NoError(t, err)
	require.Equal(t, "supervisor", list[0].Role)
}

func TestAppendAuditRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name   string
		change func(e *hotline.AuditEntry)
	}{
		{"no actor", func(e *hotline.AuditEntry) { e.Actor = " " }},
		{"no action", func(e *hotline.AuditEntry) { e.Action = "" }},
		{"no result", func(e *hotline.AuditEntry) { e.Result = "" }},
	}
	for _, tt := range tests {
		e := testAudit(1)
		tt.change(&e)
		_, err := f.db.AppendAudit(f.ctx, e)
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%s: %v", tt.name, err)
		require.ErrorContains(t, err, "store.AppendAudit")
	}
	brokenAt, err := f.db.VerifyAudit(f.ctx)
	require.NoError(t, err)
	require.Zero(t, brokenAt, "an empty log is intact")
}

// Eight writers on two service instances append at once: one chain, no
// fork, no gap.
func TestAppendAuditConcurrentlyKeepsOneChain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	dbs := []*DB{f.db, f.second(t)}
	const writers, each = 8, 10
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				_, err := dbs[w%2].AppendAudit(f.ctx, testAudit(w*each+i))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var n, maxID int64
	require.NoError(t, f.db.reader.QueryRowContext(f.ctx, `SELECT count(*), max(id) FROM audit_log`).Scan(&n, &maxID))
	require.Equal(t, int64(writers*each), n)
	require.Equal(t, n, maxID, "ids without a gap")
	brokenAt, err := f.db.VerifyAudit(f.ctx)
	require.NoError(t, err)
	require.Zero(t, brokenAt)
}

// rawSQL is a statement with ? parameters in the form rawConn's driver
// takes.
func rawSQL(query string) string {
	if onPostgres() {
		return pgRewrite(query)
	}
	return query
}

// rawConn opens the database file outside the store, as someone with
// access to the file would, without the append-only triggers.
func (f fixture) rawConn(t *testing.T) *sql.DB {
	t.Helper()
	driver, dsn, drop := "sqlite3", "file:"+(&url.URL{Path: f.cfg.Path}).EscapedPath()+"?_busy_timeout=5000", "DROP TRIGGER %s"
	if onPostgres() {
		driver, dsn, drop = "pgx", f.cfg.Path, "DROP TRIGGER %s ON audit_log"
	}
	raw, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { require.NoError(t, raw.Close()) })
	for _, trigger := range []string{"audit_log_no_update", "audit_log_no_delete"} {
		_, err = raw.ExecContext(f.ctx, fmt.Sprintf(drop, trigger))
		require.NoError(t, err)
	}
	return raw
}

func TestVerifyAuditFindsTheFirstBrokenEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(t *testing.T, f fixture, raw *sql.DB)
		want   int64
	}{
		{"intact", func(*testing.T, fixture, *sql.DB) {}, 0},
		{"a field edited", func(t *testing.T, f fixture, raw *sql.DB) {
			_, err := raw.ExecContext(f.ctx, `UPDATE audit_log SET result = 'denied' WHERE id = 3`)
			require.NoError(t, err)
		}, 3},
		{"the time edited", func(t *testing.T, f fixture, raw *sql.DB) {
			_, err := raw.ExecContext(f.ctx, `UPDATE audit_log SET at_ms = at_ms + 1 WHERE id = 2`)
			require.NoError(t, err)
		}, 2},
		{"the first entry's prev_hash edited", func(t *testing.T, f fixture, raw *sql.DB) {
			_, err := raw.ExecContext(f.ctx, `UPDATE audit_log SET prev_hash = 'x' WHERE id = 1`)
			require.NoError(t, err)
		}, 1},
		{"an entry edited and its hash recomputed", func(t *testing.T, f fixture, raw *sql.DB) {
			var r auditRow
			require.NoError(t, f.db.reader.GetContext(f.ctx, &r, `SELECT * FROM audit_log WHERE id = 3`))
			r.Object = "r999"
			_, err := raw.ExecContext(f.ctx, rawSQL(`UPDATE audit_log SET object = ?, hash = ? WHERE id = 3`), r.Object, auditHash(r))
			require.NoError(t, err)
		}, 4},
		{"an entry deleted", func(t *testing.T, f fixture, raw *sql.DB) {
			_, err := raw.ExecContext(f.ctx, `DELETE FROM audit_log WHERE id = 2`)
			require.NoError(t, err)
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			for i := 1; i <= 5; i++ {
				_, err := f.db.AppendAudit(f.ctx, testAudit(i))
				require.NoError(t, err)
			}
			tt.tamper(t, f, f.rawConn(t))

			brokenAt, err := f.db.VerifyAudit(f.ctx)
			require.NoError(t, err)
			require.Equal(t, tt.want, brokenAt)
		})
	}
}

// The unique index on prev_hash refuses a second successor of an entry.
func TestAuditChainCannotFork(t *testing.T) {
	t.Parallel()
	f := setup(t)
	first, err := f.db.AppendAudit(f.ctx, testAudit(1))
	require.NoError(t, err)
	_, err = f.db.AppendAudit(f.ctx, testAudit(2))
	require.NoError(t, err)

	err = f.exec(t, fmt.Sprintf(
		`INSERT INTO audit_log (at_ms, actor, action, result, prev_hash, hash) VALUES (1, 's1', 'x', 'ok', '%s', 'h-fork')`, first.Hash))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
	err = f.exec(t, `INSERT INTO audit_log (at_ms, actor, action, result, prev_hash, hash) VALUES (1, 's1', 'x', 'ok', '', 'h-second-root')`)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
}
