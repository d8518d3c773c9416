-- Staff accounts, login sessions and API tokens: who may use the API, and
-- with which roles. users is the one source of roles for access decisions;
-- an agent's account is linked to the roster entry (agents) with the same id.
--
-- Secrets are never stored: a session or token row keeps the lower-case hex
-- SHA-256 of its random secret, a user row a bcrypt hash of the password.

-- +goose Up

-- users: a staff account. roles is a JSON array of 'agent', 'supervisor',
-- 'admin' (at least one); password_hash '' means no password is set yet, so
-- nobody can log in as that user. disabled_ms > 0: disabled at that time;
-- its sessions and tokens stop working at once (the lookups read it).
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name          TEXT    NOT NULL CHECK (name <> ''),
    roles         TEXT    NOT NULL CHECK (json_valid(roles) AND json_type(roles) = 'array'
                                          AND json_array_length(roles) > 0),
    password_hash TEXT    NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    disabled_ms   INTEGER NOT NULL DEFAULT 0
) STRICT;

-- sessions: a console login. It ends at expires_ms (absolute) or when
-- last_seen_ms is older than the configured idle time, whichever is first.
CREATE TABLE sessions (
    token_hash   TEXT    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id      TEXT    NOT NULL REFERENCES users (id),
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    address      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_by_user ON sessions (user_id);
-- Expired sessions are deleted by expiry time.
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);

-- api_tokens: bearer tokens of other systems, each named per user; a
-- revoked token keeps its row (revoked_ms > 0), so its name can be reused.
CREATE TABLE api_tokens (
    id           INTEGER NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL CHECK (name <> ''),
    token_hash   TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    revoked_ms   INTEGER NOT NULL DEFAULT 0,
    last_used_ms INTEGER NOT NULL DEFAULT 0,
    CHECK (expires_ms > created_ms)
) STRICT;

-- One live token of a name per user.
CREATE UNIQUE INDEX api_tokens_one_live_name ON api_tokens (user_id, name) WHERE revoked_ms = 0;

-- +goose Down
DROP INDEX api_tokens_one_live_name;
DROP TABLE api_tokens;
DROP INDEX sessions_by_expiry;
DROP INDEX sessions_by_user;
DROP TABLE sessions;
DROP TABLE users;
