-- The console: supervisors monitoring calls in progress (7.1.3), and
-- agents asking for a promise's deadline to move (6.2).

-- +goose Up

-- call_monitors: one supervisor listening to, whispering into or barging
-- into one call on their own softphone; on the call's timeline.
CREATE TABLE call_monitors (
    id            INTEGER NOT NULL PRIMARY KEY,
    call_id       TEXT    NOT NULL REFERENCES calls (id),
    supervisor_id TEXT    NOT NULL REFERENCES agents (id),
    agent_id      TEXT    NOT NULL DEFAULT '',
    mode          TEXT    NOT NULL CHECK (mode IN ('listen', 'whisper', 'barge')),
    requested_ms  INTEGER NOT NULL,
    connected_ms  INTEGER NOT NULL DEFAULT 0,
    ended_ms      INTEGER NOT NULL DEFAULT 0,
    end_reason    TEXT    NOT NULL DEFAULT ''
        CHECK (end_reason IN ('', 'not_answered', 'supervisor_hangup', 'call_ended', 'failed', 'service_stopped', 'stopped')),
    CHECK ((ended_ms = 0) = (end_reason = ''))
) STRICT;

CREATE INDEX call_monitors_by_call ON call_monitors (call_id, requested_ms);

-- promise_extension_requests: the owner asks for a later deadline with a
-- reason; a supervisor grants it (the extension itself is a
-- promise_extensions row) or refuses it, with a reason.
CREATE TABLE promise_extension_requests (
    id            INTEGER NOT NULL PRIMARY KEY,
    promise_id    INTEGER NOT NULL REFERENCES promises (id),
    requested_by  TEXT    NOT NULL,
    deadline_ms   INTEGER NOT NULL,
    reason        TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    requested_ms  INTEGER NOT NULL,
    decision      TEXT    NOT NULL DEFAULT '' CHECK (decision IN ('', 'granted', 'refused')),
    decided_by    TEXT    NOT NULL DEFAULT '',
    decided_ms    INTEGER NOT NULL DEFAULT 0,
    decide_reason TEXT    NOT NULL DEFAULT ''
) STRICT;

-- One undecided request per promise at a time.
CREATE UNIQUE INDEX promise_extension_requests_open ON promise_extension_requests (promise_id) WHERE decision = '';

-- +goose Down
DROP TABLE promise_extension_requests;
DROP TABLE call_monitors;
