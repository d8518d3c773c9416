package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// The audit log is a hash chain: each entry stores the hash of the one
// before it (prev_hash, "" for the first) and its own hash over prev_hash
// and all its fields. Changing, inserting or removing an entry in the middle
// breaks the chain at that entry or the next; triggers refuse UPDATE and
// DELETE, and the unique index audit_log_one_successor refuses a fork. (Only
// removing entries from the end cannot show in the chain itself: compare
// the newest hash with one kept elsewhere for that.)

// auditHashVersions start the hashed bytes, so the encodings can be told
// apart: v1 rows (before roles, migration 00008) hash no role; v2 rows also
// hash role, after actor. Every new row is v2; old rows keep verifying as v1.
const (
	auditHashV1 = "hotline-audit-v1"
	auditHashV2 = "hotline-audit-v2"
)

// Caps of the stored audit fields, in characters: a request can never grow
// the log by more than a few KiB, whatever it sends. A longer value is cut
// and ends with auditCutMark.
const (
	maxAuditShort  = 128  // actor, role, action, client, result
	maxAuditObject = 256  // object
	maxAuditDetail = 1000 // detail
	auditCutMark   = "…[cut]"
)

// capText cuts s to at most n characters, marking the cut.
func capText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-utf8.RuneCountInString(auditCutMark)]) + auditCutMark
}

// auditRow is an audit_log row as the statements read and write it.
type auditRow struct {
	ID       int64  `db:"id"`
	AtMs     int64  `db:"at_ms"`
	Actor    string `db:"actor"`
	Role     string `db:"role"`
	Version  int    `db:"version"`
	Action   string `db:"action"`
	Object   string `db:"object"`
	Client   string `db:"client"`
	Result   string `db:"result"`
	Detail   string `db:"detail"`
	PrevHash string `db:"prev_hash"`
	Hash     string `db:"hash"`
}

func (r auditRow) entry() hotline.AuditEntry {
	return hotline.AuditEntry{
		ID:       r.ID,
		At:       hotline.FromUnixMilli(r.AtMs),
		Actor:    r.Actor,
		Role:     r.Role,
		Action:   r.Action,
		Object:   r.Object,
		Client:   r.Client,
		Result:   r.Result,
		Detail:   r.Detail,
		PrevHash: r.PrevHash,
		Hash:     r.Hash,
	}
}

// auditHash returns the hash of r as stored in audit_log.hash: the lower-case
// hex SHA-256 of these fields, in this order, each written as a netstring
// (the length of its bytes in decimal, ':', the bytes, ','):
//
//	v2: "hotline-audit-v2", prev_hash, id, at_ms, actor, role, action, object, client, result, detail
//	v1: "hotline-audit-v1", prev_hash, id, at_ms, actor, action, object, client, result, detail
//
// id and at_ms are written in decimal (at_ms: UTC unix milliseconds), the
// text fields as their stored bytes. So "1:a," never reads like any other
// split of the same bytes, and the hash is reproducible with a shell:
// printf '16:hotline-audit-v2,0:,1:1,...' | sha256sum. A row of an unknown
// version hashes to "", which never matches.
func auditHash(r auditRow) string {
	var fields []string
	switch r.Version {
	case 1:
		fields = []string{auditHashV1, r.PrevHash, strconv.FormatInt(r.ID, 10), strconv.FormatInt(r.AtMs, 10),
			r.Actor, r.Action, r.Object, r.Client, r.Result, r.Detail}
	case 2:
		fields = []string{auditHashV2, r.PrevHash, strconv.FormatInt(r.ID, 10), strconv.FormatInt(r.AtMs, 10),
			r.Actor, r.Role, r.Action, r.Object, r.Client, r.Result, r.Detail}
	default:
		return ""
	}
	h := sha256.New()
	for _, field := range fields {
		// Writes to a hash.Hash never fail.
		_, _ = h.Write([]byte(strconv.Itoa(len(field)) + ":" + field + ","))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lastAuditHashSQL reads hash of the audit_log row with the largest id.
const lastAuditHashSQL = `SELECT hash FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)`

// nextAuditIDSQL reads the id AUTOINCREMENT gives the next audit_log row:
// one more than the largest id ever used (sqlite_sequence), 1 at first.
const nextAuditIDSQL = `
SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0) + 1`

// appendAuditSQL inserts one audit_log row with its id given, since the id
// is part of the hash.
const appendAuditSQL = `
INSERT INTO audit_log (id, at_ms, actor, role, version, action, object, client, result, detail, prev_hash, hash)
VALUES (:id, :at_ms, :actor, :role, :version, :action, :object, :client, :result, :detail, :prev_hash, :hash)`

// AppendAudit adds e at the end of the audit log and returns it as stored:
// with its id, the time cut to milliseconds (the stored precision; the
// store's clock when e.At is zero), prev_hash and hash; e's own ID, PrevHash
// and Hash are ignored. Actor, action and result are required. The read of
// the last entry and the insert run in one transaction on the writer, which
// takes the write lock first, so the chain never forks, even across service
// instances.
func (db *DB) AppendAudit(ctx context.Context, e hotline.AuditEntry) (hotline.AuditEntry, error) {
	const op = "store.AppendAudit"
	subject := fmt.Sprintf("audit entry %s by %q", e.Action, e.Actor)
	switch {
	case strings.TrimSpace(e.Actor) == "":
		return hotline.AuditEntry{}, hotline.Errorf(hotline.KindInvalid, op, "audit entry: the actor is required")
	case strings.TrimSpace(e.Action) == "":
		return hotline.AuditEntry{}, hotline.Errorf(hotline.KindInvalid, op, "audit entry by %q: the action is required", e.Actor)
	case strings.TrimSpace(e.Result) == "":
		return hotline.AuditEntry{}, hotline.Errorf(hotline.KindInvalid, op, "%s: the result is required", subject)
	}
	at := e.At
	if at.IsZero() {
		at = db.now()
	}
	row := auditRow{
		AtMs:    at.UnixMilli(),
		Version: 2,
		Actor:   capText(e.Actor, maxAuditShort),
		Role:    capText(e.Role, maxAuditShort),
		Action:  capText(e.Action, maxAuditShort),
		Object:  capText(e.Object, maxAuditObject),
		Client:  capText(e.Client, maxAuditShort),
		Result:  capText(e.Result, maxAuditShort),
		Detail:  capText(e.Detail, maxAuditDetail),
	}
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.lockAuditLog(ctx, tx); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &row.PrevHash, lastAuditHashSQL)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := tx.GetContext(ctx, &row.ID, nextAuditIDSQL); err != nil {
			return err
		}
		row.Hash = auditHash(row)
		_, err = tx.NamedExecContext(ctx, appendAuditSQL, row)
		return err
	})
	if err != nil {
		return hotline.AuditEntry{}, wrapErr(op, subject, err)
	}
	return row.entry(), nil
}

// auditChainSQL reads every audit_log row, oldest first.
const auditChainSQL = `
SELECT ` + auditColumns + ` FROM audit_log ORDER BY id`

const auditColumns = `id, at_ms, actor, role, version, action, object, client, result, detail, prev_hash, hash`

// VerifyAudit walks the audit log from its first entry and returns 0 when
// the chain is intact, else the id of the first entry whose prev_hash is not
// the hash of the entry before it, or whose hash is not the hash of its own
// fields. It reads one snapshot, row by row.
func (db *DB) VerifyAudit(ctx context.Context) (brokenAt int64, err error) {
	const op = "store.VerifyAudit"
	err = db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		rows, err := tx.QueryxContext(ctx, auditChainSQL)
		if err != nil {
			return err
		}
		defer rows.Close()
		prev := ""
		for rows.Next() {
			var r auditRow
			if err := rows.StructScan(&r); err != nil {
				return err
			}
			if r.PrevHash != prev || r.Hash != auditHash(r) {
				brokenAt = r.ID
				return nil
			}
			prev = r.Hash
		}
		return rows.Err()
	})
	if err != nil {
		return 0, wrapErr(op, "audit log", err)
	}
	return brokenAt, nil
}

// AuditFilter selects audit entries for ListAudit; zero fields select
// everything.
type AuditFilter struct {
	Actor  string    // by this actor
	Action string    // of this action
	Object string    // on this object, e.g. "recording:c1-rec"
	Since  time.Time // at or after
	Limit  int       // at most this many; 0 means DefaultListLimit, at most MaxListLimit
	Offset int       // skipping this many of the newest
}

// listAuditSQL reads audit_log rows, newest first; ListAudit fills in the
// WHERE conditions (audit_log_by_actor, audit_log_by_object, audit_log_by_at).
const listAuditSQL = `SELECT ` + auditColumns + ` FROM audit_log WHERE %s
ORDER BY id DESC LIMIT ? OFFSET ?`

// ListAudit returns the audit entries f selects, newest first.
func (db *DB) ListAudit(ctx context.Context, f AuditFilter) ([]hotline.AuditEntry, error) {
	const op = "store.ListAudit"
	limit, err := pageLimit(op, f.Limit, f.Offset)
	if err != nil {
		return nil, err
	}
	conds := []string{"TRUE"}
	var args []any
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"action", f.Action}, {"object", f.Object}} {
		if c.v != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "at_ms >= ?"), append(args, hotline.UnixMilli(f.Since))
	}
	return selectPage(ctx, db, op, "audit log", listAuditSQL, conds, args, limit, f.Offset, auditRow.entry)
}

// auditSizeSQL reads the number of audit_log rows and the bytes of their
// text fields.
const auditSizeSQL = `
SELECT count(*), coalesce(sum(length(CAST(actor || role || action || object || client || result || detail AS BLOB))), 0)
FROM audit_log`

// AuditSize returns how many entries the audit log holds and the bytes of
// their text fields: what a flood of requests would grow.
func (db *DB) AuditSize(ctx context.Context) (entries, textBytes int64, err error) {
	const op = "store.AuditSize"
	if err := db.reader.QueryRowContext(ctx, auditSizeSQL).Scan(&entries, &textBytes); err != nil {
		return 0, 0, wrapErr(op, "audit log", err)
	}
	return entries, textBytes, nil
}
