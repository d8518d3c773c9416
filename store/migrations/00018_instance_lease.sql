-- One instance at a time drives an Asterisk server: it holds that server's
-- lease in Redis, whose fencing token only grows. The database keeps the
-- newest token each lease has shown it, and refuses the writes the lease
-- guards (made under store.WithFence) from an older holder: an instance
-- that lost its lease and has not noticed yet changes nothing.
--
-- The database also gets an identity, so a lease can name the database its
-- holders write to, and an instance started on another database (its own
-- SQLite file) refuses to take over instead of splitting the call log.

-- +goose Up

-- database_identity: one row, made once when this schema is created.
CREATE TABLE database_identity (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    id TEXT NOT NULL CHECK (length(id) = 32),
    created_ms INTEGER NOT NULL CHECK (created_ms > 0)
) STRICT;

INSERT INTO database_identity (only_row, id, created_ms)
VALUES (1, lower(hex(randomblob(16))), CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- lease_fences: per lease (e.g. "hotline@10.0.0.5:8088"), the newest
-- fencing token a holder raised and who that holder is.
CREATE TABLE lease_fences (
    lease TEXT PRIMARY KEY CHECK (length(lease) BETWEEN 1 AND 200),
    token INTEGER NOT NULL CHECK (token > 0),
    holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
    raised_ms INTEGER NOT NULL CHECK (raised_ms > 0)
) STRICT;

-- A fence never goes back: a token lower than the stored one is refused.
-- +goose StatementBegin
CREATE TRIGGER lease_fences_only_rise BEFORE UPDATE OF token ON lease_fences
WHEN NEW.token < OLD.token
BEGIN
    SELECT RAISE(ABORT, 'lease fence: a token never goes back');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER lease_fences_only_rise;
DROP TABLE lease_fences;
DROP TABLE database_identity;
