package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mattn/go-sqlite3"

	"hotline"
)

// wrapErr turns a database error into a domain error of op about subject
// (e.g. `call "c1"`), so callers decide by kind, not by driver codes:
//   - no row: not found;
//   - a unique key or a rule of the schema (trigger) refuses it: conflict;
//   - a foreign key, CHECK or NOT NULL constraint refuses it: invalid input,
//     and so does a trigger standing in for a CHECK that SQLite cannot add to
//     an existing table (its message starts as a CHECK's does);
//   - the file is locked by another writer, or ctx ran out: unavailable,
//     which is retryable.
//
// PostgreSQL's codes map to the same kinds (classifyPostgres).
//
// Errors that already carry a kind pass through unchanged.
func wrapErr(op, subject string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return hotline.Errorf(hotline.KindNotFound, op, "%s not found", subject)
	}
	var domainErr *hotline.Error
	if errors.As(err, &domainErr) {
		return err
	}
	return hotline.WrapError(kindOf(err), op, fmt.Errorf("%s: %w", subject, err))
}

func kindOf(err error) hotline.ErrorKind {
	if errors.Is(err, context.DeadlineExceeded) {
		return hotline.KindUnavailable
	}
	if kind, ok := classifyPostgres(err); ok {
		return kind
	}
	var sqliteErr sqlite3.Error
	if !errors.As(err, &sqliteErr) {
		return hotline.KindInternal
	}
	switch sqliteErr.Code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return hotline.KindUnavailable
	case sqlite3.ErrConstraint:
		switch sqliteErr.ExtendedCode {
		case sqlite3.ErrConstraintTrigger:
			if strings.HasPrefix(sqliteErr.Error(), checkFailed) {
				return hotline.KindInvalid
			}
			return hotline.KindConflict
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return hotline.KindConflict
		default:
			return hotline.KindInvalid
		}
	}
	return hotline.KindInternal
}

// checkFailed begins the message of a failed CHECK constraint, and of a
// trigger that enforces one (e.g. referrals_outcome_on_insert).
const checkFailed = "CHECK constraint failed"

// expectOneRow turns an UPDATE that matched no row into NotFound.
func expectOneRow(op, subject string, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, subject, err)
	}
	if n == 0 {
		return hotline.Errorf(hotline.KindNotFound, op, "%s not found", subject)
	}
	return nil
}
