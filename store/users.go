package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Staff accounts, sessions and API tokens (migration 00007). The store
// keeps hashes only: a bcrypt hash of each password (made by package auth)
// and the SHA-256 of each session and token secret.

// userRow is a users row as the statements read and write it.
type userRow struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	Roles        string `db:"roles"` // JSON array
	PasswordHash string `db:"password_hash"`
	CreatedMs    int64  `db:"created_ms"`
	DisabledMs   int64  `db:"disabled_ms"`
}

func (r userRow) user() (hotline.User, error) {
	var roles []hotline.Role
	if err := json.Unmarshal([]byte(r.Roles), &roles); err != nil {
		return hotline.User{}, fmt.Errorf("user %q: roles %q: %w", r.ID, r.Roles, err)
	}
	return hotline.User{ID: r.ID, Name: r.Name, Roles: roles, Disabled: r.DisabledMs > 0,
		CreatedAt: hotline.FromUnixMilli(r.CreatedMs), DisabledAt: hotline.FromUnixMilli(r.DisabledMs)}, nil
}

const userColumns = `id, name, roles, password_hash, created_ms, disabled_ms`

// addUserSQL inserts one users row.
const addUserSQL = `
INSERT INTO users (id, name, roles, password_hash, created_ms, updated_ms)
VALUES (?, ?, ?, ?, ?, ?)`

// AddUser stores a new account with its password hash (Conflict when the
// id exists).
func (db *DB) AddUser(ctx context.Context, u hotline.User, passwordHash string) (hotline.User, error) {
	const op = "store.AddUser"
	if err := u.Validate(); err != nil {
		return hotline.User{}, err
	}
	roles, err := json.Marshal(u.Roles)
	if err != nil {
		return hotline.User{}, wrapErr(op, fmt.Sprintf("user %q", u.ID), err)
	}
	now := db.nowMs()
	if _, err := db.writer.ExecContext(ctx, addUserSQL, u.ID, u.Name, string(roles), passwordHash, now, now); err != nil {
		return hotline.User{}, wrapErr(op, fmt.Sprintf("user %q", u.ID), err)
	}
	return db.GetUser(ctx, u.ID)
}

// getUserSQL reads one users row by id.
const getUserSQL = `SELECT ` + userColumns + ` FROM users WHERE id = ?`

// GetUser returns the account id; NotFound when there is none.
func (db *DB) GetUser(ctx context.Context, id string) (hotline.User, error) {
	u, _, err := db.UserCredentials(ctx, id)
	return u, err
}

// UserCredentials returns the account id with its password hash ("" when
// none is set); NotFound when there is none.
func (db *DB) UserCredentials(ctx context.Context, id string) (hotline.User, string, error) {
	const op = "store.UserCredentials"
	var row userRow
	if err := db.reader.GetContext(ctx, &row, getUserSQL, id); err != nil {
		return hotline.User{}, "", wrapErr(op, fmt.Sprintf("user %q", id), err)
	}
	u, err := row.user()
	return u, row.PasswordHash, wrapErr(op, fmt.Sprintf("user %q", id), err)
}

// listUsersSQL reads every users row, ordered by id.
const listUsersSQL = `SELECT ` + userColumns + ` FROM users ORDER BY id`

// ListUsers returns every account, ordered by id.
func (db *DB) ListUsers(ctx context.Context) ([]hotline.User, error) {
	const op = "store.ListUsers"
	var rows []userRow
	if err := db.reader.SelectContext(ctx, &rows, listUsersSQL); err != nil {
		return nil, wrapErr(op, "users", err)
	}
	out := make([]hotline.User, 0, len(rows))
	for _, r := range rows {
		u, err := r.user()
		if err != nil {
			return nil, wrapErr(op, "users", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// setPasswordSQL writes password_hash and updated_ms of one users row.
const setPasswordSQL = `UPDATE users SET password_hash = ?, updated_ms = ? WHERE id = ?`

// deleteUserSessionsSQL deletes every sessions row of one user.
const deleteUserSessionsSQL = `DELETE FROM sessions WHERE user_id = ?`

// SetPassword replaces the password hash of user id and ends its sessions,
// in one transaction; NotFound when there is no such user.
func (db *DB) SetPassword(ctx context.Context, id, passwordHash string) error {
	const op = "store.SetPassword"
	return wrapErr(op, fmt.Sprintf("user %q", id), db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, setPasswordSQL, passwordHash, db.nowMs(), id)
		if err != nil {
			return err
		}
		if err := expectOneRow(op, fmt.Sprintf("user %q", id), res); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, deleteUserSessionsSQL, id)
		return err
	}))
}

// setDisabledSQL writes disabled_ms and updated_ms of one users row.
const setDisabledSQL = `UPDATE users SET disabled_ms = ?, updated_ms = ? WHERE id = ?`

// SetUserDisabled disables user id at now (ending its sessions in the same
// transaction; its tokens stop working since every lookup reads
// disabled_ms), or enables it again when disabled is false.
func (db *DB) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	const op = "store.SetUserDisabled"
	at := int64(0)
	if disabled {
		at = max(hotline.UnixMilli(now), 1)
	}
	return wrapErr(op, fmt.Sprintf("user %q", id), db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, setDisabledSQL, at, db.nowMs(), id)
		if err != nil {
			return err
		}
		if err := expectOneRow(op, fmt.Sprintf("user %q", id), res); err != nil {
			return err
		}
		if disabled {
			_, err = tx.ExecContext(ctx, deleteUserSessionsSQL, id)
		}
		return err
	}))
}

// addSessionSQL inserts one sessions row.
const addSessionSQL = `
INSERT INTO sessions (token_hash, user_id, created_ms, last_seen_ms, expires_ms, address)
VALUES (?, ?, ?, ?, ?, ?)`

// deleteExpiredSessionsSQL deletes the sessions rows past their absolute
// expiry (sessions_by_expiry) or idle longer than allowed.
const deleteExpiredSessionsSQL = `DELETE FROM sessions WHERE expires_ms <= ?1 OR last_seen_ms <= ?2`

// AddSession stores a session of user userID, keyed by the SHA-256 of its
// secret, started at now and ending at expires at the latest; sessions
// already expired (absolute, or idle since idleBefore) are deleted first.
func (db *DB) AddSession(ctx context.Context, tokenHash, userID, address string, now, expires, idleBefore time.Time) error {
	const op = "store.AddSession"
	return wrapErr(op, fmt.Sprintf("session of user %q", userID), db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteExpiredSessionsSQL, hotline.UnixMilli(now), hotline.UnixMilli(idleBefore)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, addSessionSQL, tokenHash, userID, hotline.UnixMilli(now), hotline.UnixMilli(now),
			hotline.UnixMilli(expires), address)
		return err
	}))
}

// sessionUserSQL reads the enabled users row of one live session (not past
// expires_ms, seen after the idle limit) and the session's last_seen_ms.
const sessionUserSQL = `
SELECT u.id, u.name, u.roles, u.password_hash, u.created_ms, u.disabled_ms, s.last_seen_ms, s.expires_ms
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = ? AND s.expires_ms > ? AND s.last_seen_ms > ? AND u.disabled_ms = 0`

// touchSessionSQL writes last_seen_ms of one sessions row.
const touchSessionSQL = `UPDATE sessions SET last_seen_ms = ? WHERE token_hash = ?`

// SessionUser returns the user of the live session whose secret hashes to
// tokenHash at now: not past its absolute expiry, seen after idleBefore,
// its user enabled; Unauthorized otherwise. The session's last-seen time
// moves to now when it is older than touchAfter, so a busy console does not
// write on every request.
func (db *DB) SessionUser(ctx context.Context, tokenHash string, now, idleBefore, touchAfter time.Time) (hotline.User, time.Time, error) {
	const op = "store.SessionUser"
	var row struct {
		userRow
		LastSeenMs int64 `db:"last_seen_ms"`
		ExpiresMs  int64 `db:"expires_ms"`
	}
	err := db.reader.GetContext(ctx, &row, sessionUserSQL, tokenHash, hotline.UnixMilli(now), hotline.UnixMilli(idleBefore))
	if errors.Is(err, sql.ErrNoRows) {
		return hotline.User{}, time.Time{}, hotline.Errorf(hotline.KindUnauthorized, op, "the session has ended or does not exist; log in again")
	}
	if err != nil {
		return hotline.User{}, time.Time{}, wrapErr(op, "session", err)
	}
	u, err := row.user()
	if err != nil {
		return hotline.User{}, time.Time{}, wrapErr(op, "session", err)
	}
	if row.LastSeenMs < hotline.UnixMilli(touchAfter) {
		if _, err := db.writer.ExecContext(ctx, touchSessionSQL, hotline.UnixMilli(now), tokenHash); err != nil {
			return hotline.User{}, time.Time{}, wrapErr(op, "session", err)
		}
	}
	return u, hotline.FromUnixMilli(row.ExpiresMs), nil
}

// deleteSessionSQL deletes one sessions row.
const deleteSessionSQL = `DELETE FROM sessions WHERE token_hash = ?`

// DeleteSession ends the session whose secret hashes to tokenHash; ending
// one that does not exist is no error.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.writer.ExecContext(ctx, deleteSessionSQL, tokenHash)
	return wrapErr("store.DeleteSession", "session", err)
}

// addTokenSQL inserts one api_tokens row.
const addTokenSQL = `
INSERT INTO api_tokens (user_id, name, token_hash, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?) RETURNING id`

// AddToken stores a token of t.UserID named t.Name, keyed by the SHA-256 of
// its secret; Conflict when the user has a live token of that name,
// Invalid when there is no such user.
func (db *DB) AddToken(ctx context.Context, t hotline.APIToken, tokenHash string) (hotline.APIToken, error) {
	const op = "store.AddToken"
	subject := fmt.Sprintf("token %q of user %q", t.Name, t.UserID)
	if err := db.writer.GetContext(ctx, &t.ID, addTokenSQL, t.UserID, t.Name, tokenHash,
		hotline.UnixMilli(t.CreatedAt), hotline.UnixMilli(t.ExpiresAt)); err != nil {
		return hotline.APIToken{}, wrapErr(op, subject, err)
	}
	return t, nil
}

// tokenUserSQL reads the enabled users row of one live token (not revoked,
// not expired) with the token's id and last use.
const tokenUserSQL = `
SELECT u.id, u.name, u.roles, u.password_hash, u.created_ms, u.disabled_ms, t.id AS token_id, t.last_used_ms
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = ? AND t.revoked_ms = 0 AND t.expires_ms > ? AND u.disabled_ms = 0`

// touchTokenSQL writes last_used_ms of one api_tokens row.
const touchTokenSQL = `UPDATE api_tokens SET last_used_ms = ? WHERE id = ?`

// TokenUser returns the user of the live token whose secret hashes to
// tokenHash at now; Unauthorized when it is unknown, revoked, expired or
// its user disabled. Its last use moves to now when older than touchAfter.
func (db *DB) TokenUser(ctx context.Context, tokenHash string, now, touchAfter time.Time) (hotline.User, error) {
	const op = "store.TokenUser"
	var row struct {
		userRow
		TokenID    int64 `db:"token_id"`
		LastUsedMs int64 `db:"last_used_ms"`
	}
	err := db.reader.GetContext(ctx, &row, tokenUserSQL, tokenHash, hotline.UnixMilli(now))
	if errors.Is(err, sql.ErrNoRows) {
		return hotline.User{}, hotline.Errorf(hotline.KindUnauthorized, op, "the token is unknown, revoked or expired, or its user is disabled")
	}
	if err != nil {
		return hotline.User{}, wrapErr(op, "token", err)
	}
	if row.LastUsedMs < hotline.UnixMilli(touchAfter) {
		if _, err := db.writer.ExecContext(ctx, touchTokenSQL, hotline.UnixMilli(now), row.TokenID); err != nil {
			return hotline.User{}, wrapErr(op, "token", err)
		}
	}
	u, err := row.user()
	return u, wrapErr(op, "token", err)
}

// revokeTokenSQL revokes the live api_tokens row of one user and name.
const revokeTokenSQL = `UPDATE api_tokens SET revoked_ms = ? WHERE user_id = ? AND name = ? AND revoked_ms = 0`

// RevokeToken revokes the live token name of user userID at now; NotFound
// when there is none.
func (db *DB) RevokeToken(ctx context.Context, userID, name string, now time.Time) error {
	const op = "store.RevokeToken"
	subject := fmt.Sprintf("live token %q of user %q", name, userID)
	res, err := db.writer.ExecContext(ctx, revokeTokenSQL, max(hotline.UnixMilli(now), 1), userID, name)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	return expectOneRow(op, subject, res)
}

// listTokensSQL reads the api_tokens rows of one user, newest first.
const listTokensSQL = `
SELECT id, user_id, name, created_ms, expires_ms, revoked_ms, last_used_ms FROM api_tokens
WHERE user_id = ? ORDER BY id DESC`

// ListTokens returns the tokens of user userID, newest first, revoked ones
// included; never their secrets, which are not stored.
func (db *DB) ListTokens(ctx context.Context, userID string) ([]hotline.APIToken, error) {
	const op = "store.ListTokens"
	var rows []struct {
		ID         int64  `db:"id"`
		UserID     string `db:"user_id"`
		Name       string `db:"name"`
		CreatedMs  int64  `db:"created_ms"`
		ExpiresMs  int64  `db:"expires_ms"`
		RevokedMs  int64  `db:"revoked_ms"`
		LastUsedMs int64  `db:"last_used_ms"`
	}
	if err := db.reader.SelectContext(ctx, &rows, listTokensSQL, userID); err != nil {
		return nil, wrapErr(op, fmt.Sprintf("tokens of user %q", userID), err)
	}
	out := make([]hotline.APIToken, 0, len(rows))
	for _, r := range rows {
		out = append(out, hotline.APIToken{ID: r.ID, UserID: r.UserID, Name: r.Name, CreatedAt: hotline.FromUnixMilli(r.CreatedMs),
			ExpiresAt: hotline.FromUnixMilli(r.ExpiresMs), RevokedAt: hotline.FromUnixMilli(r.RevokedMs), LastUsedAt: hotline.FromUnixMilli(r.LastUsedMs)})
	}
	return out, nil
}
