package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// addRecordingSQL inserts one recordings row: a recording the service made
// and must keep track of (the archive fills in size, hash and state later).
const addRecordingSQL = `
INSERT INTO recordings (name, call_id, state, format, duration_ms, started_ms, finished_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)`

// AddRecording records a recording by name. The call id is optional
// (callbacks and reply calls have no calls row); a name already recorded is
// a Conflict.
func (db *DB) AddRecording(ctx context.Context, r hotline.Recording) error {
	const op = "store.AddRecording"
	subject := fmt.Sprintf("recording %q", r.Name)
	switch {
	case strings.TrimSpace(r.Name) == "":
		return hotline.Errorf(hotline.KindInvalid, op, "a recording needs a name")
	case r.StartedAt.IsZero():
		return hotline.Errorf(hotline.KindInvalid, op, "%s: start time is required", subject)
	}
	state := r.State
	if state == "" {
		state = hotline.RecordingPending
	}
	format := r.Format
	if format == "" {
		format = "wav"
	}
	callID := sql.NullString{String: r.CallID, Valid: r.CallID != ""}
	_, err := db.writer.ExecContext(ctx, addRecordingSQL, r.Name, callID, string(state), format,
		int64(r.Duration*1000), hotline.UnixMilli(r.StartedAt), hotline.UnixMilli(r.FinishedAt))
	return wrapErr(op, subject, err)
}

// recordingFinishedSQL records that Asterisk server finished a recording: a
// new row is pending; a live row becomes pending; a row in any later state
// keeps its state (a repeated event changes nothing it should not). A call
// id and a server are kept once known. The existing row's columns are named
// with their table, which PostgreSQL needs beside excluded's.
const recordingFinishedSQL = `
INSERT INTO recordings (name, call_id, state, format, started_ms, finished_ms, server)
VALUES (:name, :call_id, 'pending', :format, :at, :at, :server)
ON CONFLICT (name) DO UPDATE SET
    state       = CASE WHEN recordings.state = 'live' THEN 'pending' ELSE recordings.state END,
    finished_ms = CASE WHEN recordings.finished_ms = 0 THEN excluded.finished_ms ELSE recordings.finished_ms END,
    call_id     = coalesce(recordings.call_id, excluded.call_id),
    server      = CASE WHEN recordings.server = '' THEN excluded.server ELSE recordings.server END`

// RecordingFinished records a finished recording of Asterisk server
// (its name in the config; "" when unnamed) as pending, or turns its live
// row pending; see recordingFinishedSQL. The call id is optional; a call id
// with no calls row is invalid input (the caller may retry without it, so
// the metadata is never lost).
func (db *DB) RecordingFinished(ctx context.Context, server, name, callID, format string, at time.Time) error {
	const op = "store.RecordingFinished"
	subject := fmt.Sprintf("recording %q", name)
	if strings.TrimSpace(name) == "" || at.IsZero() {
		return hotline.Errorf(hotline.KindInvalid, op, "%s: name and time are required", subject)
	}
	if format == "" {
		format = "wav"
	}
	// Prepared once: every recorded call writes it.
	stmt, err := db.namedWrite(ctx, recordingFinishedSQL)
	if err == nil {
		_, err = db.execPrepared(ctx, stmt, map[string]any{"name": name, "call_id": sql.NullString{String: callID, Valid: callID != ""},
			"format": format, "at": hotline.UnixMilli(at), "server": server})
	}
	return wrapErr(op, subject, err)
}

// ArchivedRecording is a recording as the archive keeps it: the domain
// fields plus the archive's bookkeeping.
type ArchivedRecording struct {
	hotline.Recording
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LegalHold   bool      `json:"legal_hold"`
	DeletedAt   time.Time `json:"deleted_at,omitzero"`
}

type recordingRow struct {
	Name          string         `db:"name"`
	CallID        sql.NullString `db:"call_id"`
	State         string         `db:"state"`
	Format        string         `db:"format"`
	SizeBytes     int64          `db:"size_bytes"`
	DurationMs    int64          `db:"duration_ms"`
	SHA256        string         `db:"sha256"`
	StartedMs     int64          `db:"started_ms"`
	FinishedMs    int64          `db:"finished_ms"`
	ArchivedMs    int64          `db:"archived_ms"`
	LegalHold     int64          `db:"legal_hold"`
	Attempts      int            `db:"attempts"`
	NextAttemptMs int64          `db:"next_attempt_ms"`
	LastError     string         `db:"last_error"`
	DeletedMs     int64          `db:"deleted_ms"`
}

const recordingColumns = `name, call_id, state, format, size_bytes, duration_ms, sha256, started_ms,
finished_ms, archived_ms, legal_hold, attempts, next_attempt_ms, last_error, deleted_ms`

func (r recordingRow) recording() ArchivedRecording {
	return ArchivedRecording{
		Recording: hotline.Recording{
			Name: r.Name, CallID: r.CallID.String, State: hotline.RecordingState(r.State), Format: r.Format,
			SizeBytes: r.SizeBytes, Duration: float64(r.DurationMs) / 1000, SHA256: r.SHA256,
			StartedAt: hotline.FromUnixMilli(r.StartedMs), FinishedAt: hotline.FromUnixMilli(r.FinishedMs),
			ArchivedAt: hotline.FromUnixMilli(r.ArchivedMs),
		},
		Attempts: r.Attempts, NextAttempt: hotline.FromUnixMilli(r.NextAttemptMs), LastError: r.LastError,
		LegalHold: r.LegalHold == 1, DeletedAt: hotline.FromUnixMilli(r.DeletedMs),
	}
}

func recordingsOf(rows []recordingRow) []ArchivedRecording {
	out := make([]ArchivedRecording, len(rows))
	for i, r := range rows {
		out[i] = r.recording()
	}
	return out
}

// getRecordingSQL reads one recordings row.
const getRecordingSQL = `SELECT ` + recordingColumns + ` FROM recordings WHERE name = ?`

// GetRecording returns the recording called name; NotFound when none.
func (db *DB) GetRecording(ctx context.Context, name string) (ArchivedRecording, error) {
	const op = "store.GetRecording"
	var row recordingRow
	if err := db.reader.GetContext(ctx, &row, getRecordingSQL, name); err != nil {
		return ArchivedRecording{}, wrapErr(op, fmt.Sprintf("recording %q", name), err)
	}
	return row.recording(), nil
}

// claimRecordingsSQL claims up to a limit of pending recordings of one
// server (or also of no server) due for an archive attempt and not claimed
// by another archiver now, oldest due first, and returns them: it sets
// claim_token and claim_until_ms. The outer test again: on PostgreSQL a
// row another archiver claimed meanwhile is re-read, and left to it.
const claimRecordingsSQL = `
UPDATE recordings SET claim_token = :token, claim_until_ms = :until
WHERE name IN (
    SELECT name FROM recordings
    WHERE state = 'pending' AND next_attempt_ms <= :now AND claim_until_ms <= :now
      AND (server = :server OR (:or_unnamed AND server = ''))
    ORDER BY next_attempt_ms, name LIMIT :limit)
  AND state = 'pending' AND claim_until_ms <= :now
RETURNING ` + recordingColumns

// ClaimDueRecordings claims up to limit pending recordings of Asterisk
// server whose next archive attempt is at or before now, with token until
// until, so that two archivers (instances) never copy one recording at the
// same time; orUnnamed also claims those recorded before servers had names.
// Only the claim's token marks a claimed recording archived; a claim that
// runs out (its archiver died) lets another archiver claim it. An archiver
// claims all it will archive in one pass at once: one transaction for
// them all.
func (db *DB) ClaimDueRecordings(ctx context.Context, server string, orUnnamed bool, token string, now, until time.Time, limit int) ([]ArchivedRecording, error) {
	const op = "store.ClaimDueRecordings"
	if token == "" || !until.After(now) {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "a claim needs a token and an end after now")
	}
	var rows []recordingRow
	stmt, err := db.namedWrite(ctx, claimRecordingsSQL)
	if err == nil {
		arg := map[string]any{"token": token, "until": hotline.UnixMilli(until), "now": hotline.UnixMilli(now),
			"server": server, "or_unnamed": orUnnamed, "limit": limit}
		err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
			return tx.NamedStmtContext(ctx, stmt).SelectContext(ctx, &rows, arg)
		})
	}
	if err != nil {
		return nil, wrapErr(op, "pending recordings of server "+server, err)
	}
	out := recordingsOf(rows)
	slices.SortFunc(out, func(a, b ArchivedRecording) int {
		return cmp.Or(a.NextAttempt.Compare(b.NextAttempt), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// releaseRecordingClaimsSQL ends the claims on the pending recordings of
// one server (or also of no server): it clears claim_token and
// claim_until_ms.
const releaseRecordingClaimsSQL = `
UPDATE recordings SET claim_token = '', claim_until_ms = 0
WHERE state = 'pending' AND claim_token <> '' AND (server = ? OR (? AND server = ''))`

// ReleaseRecordingClaims ends every claim on server's pending recordings
// (orUnnamed: also those of no server) and reports how many. Only the
// instance that drives a server archives its recordings: when one takes
// a server over, the claims it finds are its predecessor's, which died
// or lost the server and whose writes are fenced off, so it need not wait
// for them to run out.
func (db *DB) ReleaseRecordingClaims(ctx context.Context, server string, orUnnamed bool) (int64, error) {
	const op = "store.ReleaseRecordingClaims"
	res, err := db.writer.ExecContext(ctx, releaseRecordingClaimsSQL, server, orUnnamed)
	if err != nil {
		return 0, wrapErr(op, "claims on the recordings of server "+server, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// markArchivedSQL stores what the archive learned of a pending recording
// its claim holds (any, for token ”).
const markArchivedSQL = `
UPDATE recordings SET state = 'archived', format = :format, size_bytes = :size_bytes, duration_ms = :duration_ms,
    sha256 = :sha256, archived_ms = :archived_ms, last_error = '', claim_token = '', claim_until_ms = 0
WHERE name = :name AND state = 'pending' AND (:token = '' OR claim_token = :token)`

// markArchivedArg is markArchivedSQL's parameters for r archived by the
// claim of token.
func markArchivedArg(r hotline.Recording, token string) map[string]any {
	return map[string]any{"format": r.Format, "size_bytes": r.SizeBytes, "duration_ms": int64(r.Duration * 1000),
		"sha256": r.SHA256, "archived_ms": hotline.UnixMilli(r.ArchivedAt), "name": r.Name, "token": token}
}

// MarkRecordingArchived records a pending recording as archived with its
// size, duration, format and SHA-256, by the archive attempt that claimed
// it with token ("" when it was not claimed: tests, imports); NotFound
// when no pending recording has that name and claim (another archiver's
// claim took over, and it archives it).
func (db *DB) MarkRecordingArchived(ctx context.Context, r hotline.Recording, token string) error {
	const op = "store.MarkRecordingArchived"
	subject := fmt.Sprintf("pending recording %q", r.Name)
	stmt, err := db.namedWrite(ctx, markArchivedSQL)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	res, err := db.execPrepared(ctx, stmt, markArchivedArg(r, token))
	if err != nil {
		return wrapErr(op, subject, err)
	}
	return expectOneRow(op, subject, res)
}

// markArchiveFailedSQL counts one failed attempt and ends its claim; the
// state becomes failed when giveUp is set, else the recording stays
// pending until next.
const markArchiveFailedSQL = `
UPDATE recordings SET attempts = attempts + 1, last_error = :reason, next_attempt_ms = :next,
    claim_token = '', claim_until_ms = 0, state = CASE WHEN :give_up THEN 'failed' ELSE state END
WHERE name = :name AND state = 'pending'`

// markArchiveFailedArg is markArchiveFailedSQL's parameters.
func markArchiveFailedArg(name, reason string, next time.Time, giveUp bool) map[string]any {
	return map[string]any{"reason": reason, "next": hotline.UnixMilli(next), "give_up": giveUp, "name": name}
}

// MarkRecordingAttemptFailed counts a failed archive attempt with its
// reason: the recording is tried again at next, or marked failed when
// giveUp. The row always stays.
func (db *DB) MarkRecordingAttemptFailed(ctx context.Context, name, reason string, next time.Time, giveUp bool) error {
	const op = "store.MarkRecordingAttemptFailed"
	subject := fmt.Sprintf("pending recording %q", name)
	stmt, err := db.namedWrite(ctx, markArchiveFailedSQL)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	res, err := db.execPrepared(ctx, stmt, markArchiveFailedArg(name, reason, next, giveUp))
	if err != nil {
		return wrapErr(op, subject, err)
	}
	return expectOneRow(op, subject, res)
}

// releaseRecordingClaimSQL ends one pending recording's claim held by a
// token, leaving it due as it was.
const releaseRecordingClaimSQL = `
UPDATE recordings SET claim_token = '', claim_until_ms = 0
WHERE name = :name AND state = 'pending' AND claim_token = :token`

// ArchiveAttempt is how the archive attempt on one claimed recording
// ended, for FinishArchiveAttempts: archived (Recording with its format,
// size, duration, SHA-256 and time), failed (Failure set), or not made
// (NotTried: the pass ran out of its claim's time first).
type ArchiveAttempt struct {
	Recording hotline.Recording
	// Failure is why the attempt failed; the recording is tried again at
	// Next, or marked failed when GiveUp.
	Failure string
	Next    time.Time
	GiveUp  bool
	// NotTried ends the claim alone: the recording is due as it was.
	NotTried bool
}

// FinishArchiveAttempts stores the ends of one pass's attempts on the
// recordings it claimed with token, in one transaction: the archived ones
// as MarkRecordingArchived, the failed ones as MarkRecordingAttemptFailed,
// and the claims of those not tried ended. It returns the names of the
// archived ones whose claim another archiver took over meanwhile (that one
// archives them; none is marked by this pass). A failed transaction stores
// none of it (retrying helps when the database is back).
func (db *DB) FinishArchiveAttempts(ctx context.Context, token string, attempts []ArchiveAttempt) (lost []string, err error) {
	const op = "store.FinishArchiveAttempts"
	if token == "" {
		return nil, hotline.Errorf(hotline.KindInvalid, op, "the claim's token is required")
	}
	if len(attempts) == 0 {
		return nil, nil
	}
	stmts := map[string]*sqlx.NamedStmt{}
	for _, q := range []string{markArchivedSQL, markArchiveFailedSQL, releaseRecordingClaimSQL} {
		if stmts[q], err = db.namedWrite(ctx, q); err != nil {
			return nil, wrapErr(op, "archive attempts", err)
		}
	}
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		lost = lost[:0]
		for _, a := range attempts {
			q, arg := markArchivedSQL, markArchivedArg(a.Recording, token)
			switch {
			case a.NotTried:
				q, arg = releaseRecordingClaimSQL, map[string]any{"name": a.Recording.Name, "token": token}
			case a.Failure != "":
				q, arg = markArchiveFailedSQL, markArchiveFailedArg(a.Recording.Name, a.Failure, a.Next, a.GiveUp)
			}
			res, err := tx.NamedStmtContext(ctx, stmts[q]).ExecContext(ctx, arg)
			if err != nil {
				return fmt.Errorf("recording %q: %w", a.Recording.Name, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 && q == markArchivedSQL {
				lost = append(lost, a.Recording.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr(op, fmt.Sprintf("%d archive attempts", len(attempts)), err)
	}
	return lost, nil
}

// SetLegalHold puts a recording on legal hold (retention skips it) or
// lifts the hold.
func (db *DB) SetLegalHold(ctx context.Context, name string, hold bool) error {
	const op = "store.SetLegalHold"
	subject := fmt.Sprintf("recording %q", name)
	res, err := db.writer.ExecContext(ctx, `UPDATE recordings SET legal_hold = ? WHERE name = ?`, hold, name)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	return expectOneRow(op, subject, res)
}

// expiredRecordingsSQL reads archived recordings finished before a time
// that nothing holds: not on legal hold, and their call has no open case,
// i.e. no undisposed violation and no unfinished promise (a promised reply
// or complaint still being worked). Reviews hold nothing: a review is done
// when it is written.
var expiredRecordingsSQL = `SELECT ` + recordingColumns + ` FROM recordings r
WHERE r.state = 'archived' AND r.legal_hold = 0
  AND (CASE WHEN r.finished_ms > 0 THEN r.finished_ms ELSE r.started_ms END) < ?
  AND NOT EXISTS (SELECT 1 FROM violations v WHERE r.call_id IS NOT NULL AND v.call_id = r.call_id AND v.disposition = '')
  AND NOT EXISTS (SELECT 1 FROM promises p WHERE r.call_id IS NOT NULL AND p.call_id = r.call_id
                  AND p.` + promiseUnfinishedSQL + `)
ORDER BY r.started_ms, r.name LIMIT ?`

// ExpiredRecordings returns up to limit archived recordings finished
// before cutoff that retention may delete; see expiredRecordingsSQL.
func (db *DB) ExpiredRecordings(ctx context.Context, cutoff time.Time, limit int) ([]ArchivedRecording, error) {
	const op = "store.ExpiredRecordings"
	var rows []recordingRow
	if err := db.reader.SelectContext(ctx, &rows, expiredRecordingsSQL, hotline.UnixMilli(cutoff), limit); err != nil {
		return nil, wrapErr(op, "expired recordings", err)
	}
	return recordingsOf(rows), nil
}

// MarkRecordingDeleted records that retention removed an archived
// recording's audio; the row and its hash stay.
func (db *DB) MarkRecordingDeleted(ctx context.Context, name string, at time.Time) error {
	const op = "store.MarkRecordingDeleted"
	subject := fmt.Sprintf("archived recording %q", name)
	res, err := db.writer.ExecContext(ctx,
		`UPDATE recordings SET state = 'deleted', deleted_ms = ? WHERE name = ? AND state = 'archived'`,
		hotline.UnixMilli(at), name)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	return expectOneRow(op, subject, res)
}

// tookPartSQL says whether an agent took part in what a recording holds:
// a leg of its call, its call's first-responsible agent, the receiving end
// of a referral of its call, the agent of the callback attempt or reply
// call recorded under that name, the owner of the promise the reply call
// fulfilled, or the agent of the callback task of its call (a citizen's
// voice message is for whoever calls them back).
const tookPartSQL = `
SELECT EXISTS (SELECT 1 FROM recordings r JOIN call_legs l ON l.call_id = r.call_id
               WHERE r.name = ?1 AND l.agent_id = ?2)
    OR EXISTS (SELECT 1 FROM recordings r JOIN calls c ON c.id = r.call_id
               WHERE r.name = ?1 AND c.first_responsible_agent = ?2)
    OR EXISTS (SELECT 1 FROM recordings r JOIN referrals f ON f.call_id = r.call_id
               WHERE r.name = ?1 AND f.to_agent = ?2)
    OR EXISTS (SELECT 1 FROM callback_attempts a WHERE a.recording_name = ?1 AND a.agent_id = ?2)
    OR EXISTS (SELECT 1 FROM promises p WHERE p.fulfilled_how = 'reply_call' AND p.evidence = ?1
               AND (p.agent_id = ?2 OR p.fulfilled_by = ?2))
    OR EXISTS (SELECT 1 FROM recordings r JOIN callback_task_calls tc ON tc.call_id = r.call_id
               JOIN callback_tasks t ON t.id = tc.task_id
               WHERE r.name = ?1 AND t.agent_id = ?2)`

// TookPart reports whether agent took part in the recording called name
// (see tookPartSQL); false for an unknown recording.
func (db *DB) TookPart(ctx context.Context, name, agent string) (bool, error) {
	const op = "store.TookPart"
	var ok bool
	if err := db.reader.GetContext(ctx, &ok, tookPartSQL, name, agent); err != nil {
		return false, wrapErr(op, fmt.Sprintf("recording %q", name), err)
	}
	return ok, nil
}

// recordingPartiesSQL reads the agents who took part in what a recording
// holds, as tookPartSQL decides it, each once.
const recordingPartiesSQL = `
SELECT l.agent_id FROM recordings r JOIN call_legs l ON l.call_id = r.call_id WHERE r.name = ?1
UNION SELECT c.first_responsible_agent FROM recordings r JOIN calls c ON c.id = r.call_id
      WHERE r.name = ?1 AND c.first_responsible_agent IS NOT NULL
UNION SELECT f.to_agent FROM recordings r JOIN referrals f ON f.call_id = r.call_id WHERE r.name = ?1 AND f.to_agent IS NOT NULL
UNION SELECT a.agent_id FROM callback_attempts a WHERE a.recording_name = ?1 AND a.agent_id IS NOT NULL
UNION SELECT p.agent_id FROM promises p WHERE p.fulfilled_how = 'reply_call' AND p.evidence = ?1
UNION SELECT p.fulfilled_by FROM promises p WHERE p.fulfilled_how = 'reply_call' AND p.evidence = ?1 AND p.fulfilled_by <> ''
UNION SELECT t.agent_id FROM recordings r JOIN callback_task_calls tc ON tc.call_id = r.call_id
      JOIN callback_tasks t ON t.id = tc.task_id WHERE r.name = ?1 AND t.agent_id IS NOT NULL
ORDER BY 1`

// RecordingParties returns the agents who took part in the recording
// called name (see tookPartSQL), sorted; NotFound when there is no such
// recording.
func (db *DB) RecordingParties(ctx context.Context, name string) ([]string, error) {
	const op = "store.RecordingParties"
	if _, err := db.GetRecording(ctx, name); err != nil {
		return nil, err
	}
	parties := []string{}
	if err := db.reader.SelectContext(ctx, &parties, recordingPartiesSQL, name); err != nil {
		return nil, wrapErr(op, fmt.Sprintf("recording %q", name), err)
	}
	return parties, nil
}

// callRecordingsSQL reads the recordings rows of one call, oldest first.
const callRecordingsSQL = `SELECT ` + recordingColumns + ` FROM recordings WHERE call_id = ? ORDER BY started_ms, name`

// CallRecordings returns the recordings of a call (whole-call recording,
// voice message), oldest first, with their archive state and legal hold.
func (db *DB) CallRecordings(ctx context.Context, callID string) ([]ArchivedRecording, error) {
	const op = "store.CallRecordings"
	var rows []recordingRow
	if err := db.reader.SelectContext(ctx, &rows, callRecordingsSQL, callID); err != nil {
		return nil, wrapErr(op, fmt.Sprintf("recordings of call %q", callID), err)
	}
	return recordingsOf(rows), nil
}

// knownRecordingsSQL reads which of some recording names (the %s stands
// for one placeholder per name) have a recordings row.
const knownRecordingsSQL = `SELECT name FROM recordings WHERE name IN (%s)`

// UnknownRecordings returns the names, of those given, that have no
// recordings row, in order: files Asterisk keeps that the archive never
// heard of (their process died before it handed them on).
func (db *DB) UnknownRecordings(ctx context.Context, names []string) ([]string, error) {
	const op = "store.UnknownRecordings"
	const chunk = 500 // SQLite allows 32766 parameters; keep each statement small
	known := map[string]bool{}
	for start := 0; start < len(names); start += chunk {
		part := names[start:min(start+chunk, len(names))]
		args := make([]any, len(part))
		for i, n := range part {
			args[i] = n
		}
		var found []string
		q := fmt.Sprintf(knownRecordingsSQL, strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", "))
		if err := db.reader.SelectContext(ctx, &found, q, args...); err != nil {
			return nil, wrapErr(op, "recordings", err)
		}
		for _, n := range found {
			known[n] = true
		}
	}
	var out []string
	for _, n := range names {
		if !known[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
