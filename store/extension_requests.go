package store

import (
	"context"
	"fmt"
	"time"

	"hotline"
)

type extensionRequestRow struct {
	ID           int64  `db:"id"`
	PromiseID    int64  `db:"promise_id"`
	RequestedBy  string `db:"requested_by"`
	DeadlineMs   int64  `db:"deadline_ms"`
	Reason       string `db:"reason"`
	RequestedMs  int64  `db:"requested_ms"`
	Decision     string `db:"decision"`
	DecidedBy    string `db:"decided_by"`
	DecidedMs    int64  `db:"decided_ms"`
	DecideReason string `db:"decide_reason"`
}

func (r extensionRequestRow) request() hotline.ExtensionRequest {
	return hotline.ExtensionRequest{ID: r.ID, PromiseID: r.PromiseID, RequestedBy: r.RequestedBy, Deadline: hotline.FromUnixMilli(r.DeadlineMs),
		Reason: r.Reason, RequestedAt: hotline.FromUnixMilli(r.RequestedMs), Decision: r.Decision, DecidedBy: r.DecidedBy,
		DecidedAt: hotline.FromUnixMilli(r.DecidedMs), DecideReason: r.DecideReason}
}

const extensionRequestColumns = `id, promise_id, requested_by, deadline_ms, reason, requested_ms, decision, decided_by, decided_ms, decide_reason`

// requestExtensionSQL inserts a promise_extension_requests row for an
// unfinished promise (the vocabulary's group); none when the promise is
// finished.
var requestExtensionSQL = `
INSERT INTO promise_extension_requests (promise_id, requested_by, deadline_ms, reason, requested_ms)
SELECT id, ?, ?, ?, ? FROM promises WHERE id = ? AND ` + promiseUnfinishedSQL + `
RETURNING ` + extensionRequestColumns

// RequestExtension records that by asks for promise id's deadline to
// become deadline, for reason. Conflict when the promise is finished or
// already has an undecided request; NotFound when there is no such promise.
func (db *DB) RequestExtension(ctx context.Context, id int64, by string, deadline time.Time, reason string, now time.Time) (hotline.ExtensionRequest, error) {
	const op = "store.RequestExtension"
	subject := fmt.Sprintf("extension request for promise %d", id)
	reason, err := checkText(op, subject, "the reason", reason)
	if err != nil {
		return hotline.ExtensionRequest{}, err
	}
	var row extensionRequestRow
	err = db.writer.GetContext(ctx, &row, requestExtensionSQL, by, hotline.UnixMilli(deadline), reason, hotline.UnixMilli(now), id)
	if err == nil {
		return row.request(), nil
	}
	if hotline.KindOf(wrapErr(op, subject, err)) == hotline.KindNotFound {
		if _, gerr := db.GetPromise(ctx, id); gerr != nil {
			return hotline.ExtensionRequest{}, gerr
		}
		return hotline.ExtensionRequest{}, hotline.Errorf(hotline.KindConflict, op, "promise %d is finished: its deadline no longer moves", id)
	}
	if hotline.KindOf(wrapErr(op, subject, err)) == hotline.KindConflict {
		return hotline.ExtensionRequest{}, hotline.Errorf(hotline.KindConflict, op, "promise %d already has a request waiting for a supervisor", id)
	}
	return hotline.ExtensionRequest{}, wrapErr(op, subject, err)
}

// GetExtensionRequest reads one request; NotFound when there is none.
func (db *DB) GetExtensionRequest(ctx context.Context, id int64) (hotline.ExtensionRequest, error) {
	const op = "store.GetExtensionRequest"
	var row extensionRequestRow
	// getExtensionRequestSQL reads one promise_extension_requests row.
	const getExtensionRequestSQL = `SELECT ` + extensionRequestColumns + ` FROM promise_extension_requests WHERE id = ?`
	if err := db.reader.GetContext(ctx, &row, getExtensionRequestSQL, id); err != nil {
		return hotline.ExtensionRequest{}, wrapErr(op, fmt.Sprintf("extension request %d", id), err)
	}
	return row.request(), nil
}

// ListExtensionRequests returns the requests, the undecided only when
// pending, oldest first (at most limit).
func (db *DB) ListExtensionRequests(ctx context.Context, pending bool, limit int) ([]hotline.ExtensionRequest, error) {
	const op = "store.ListExtensionRequests"
	// listExtensionRequestsSQL reads promise_extension_requests rows, the
	// undecided only when the first argument is 1.
	const listExtensionRequestsSQL = `SELECT ` + extensionRequestColumns + ` FROM promise_extension_requests
WHERE (?1 = 0 OR decision = '') ORDER BY requested_ms, id LIMIT ?2`
	var rows []extensionRequestRow
	if err := db.reader.SelectContext(ctx, &rows, listExtensionRequestsSQL, pending, limit); err != nil {
		return nil, wrapErr(op, "extension requests", err)
	}
	out := make([]hotline.ExtensionRequest, len(rows))
	for i, r := range rows {
		out[i] = r.request()
	}
	return out, nil
}

// DecideExtensionRequest records a supervisor's decision (granted or
// refused) on an undecided request; Conflict when it was decided already.
// Granting moves no deadline by itself: the caller extends the promise first.
func (db *DB) DecideExtensionRequest(ctx context.Context, id int64, decision, by, reason string, now time.Time) (hotline.ExtensionRequest, error) {
	const op = "store.DecideExtensionRequest"
	subject := fmt.Sprintf("extension request %d", id)
	if decision != "granted" && decision != "refused" {
		return hotline.ExtensionRequest{}, hotline.Errorf(hotline.KindInvalid, op, "%s: decision %q must be granted or refused", subject, decision)
	}
	// decideExtensionRequestSQL decides one undecided promise_extension_requests row.
	const decideExtensionRequestSQL = `UPDATE promise_extension_requests SET decision = ?, decided_by = ?, decided_ms = ?, decide_reason = ?
WHERE id = ? AND decision = '' RETURNING ` + extensionRequestColumns
	var row extensionRequestRow
	err := db.writer.GetContext(ctx, &row, decideExtensionRequestSQL, decision, by, hotline.UnixMilli(now), reason, id)
	if err == nil {
		return row.request(), nil
	}
	if hotline.KindOf(wrapErr(op, subject, err)) == hotline.KindNotFound {
		if _, gerr := db.GetExtensionRequest(ctx, id); gerr != nil {
			return hotline.ExtensionRequest{}, gerr
		}
		return hotline.ExtensionRequest{}, hotline.Errorf(hotline.KindConflict, op, "%s was decided already", subject)
	}
	return hotline.ExtensionRequest{}, wrapErr(op, subject, err)
}
