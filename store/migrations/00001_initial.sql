-- The first schema of the hotline.
--
-- Conventions, kept by every later migration:
--   * times are UTC unix milliseconds in INTEGER columns named *_ms; 0 means
--     "not yet" (never NULL), so new time columns can be added with DEFAULT 0;
--   * optional text is '' except where NULL must mean "none": optional
--     references (a foreign key cannot point at '') and lease_token (a NULL
--     token matches no fencing check);
--   * enumerations are checked here, in step with the domain types of package
--     hotline; lists without a domain type yet are left open;
--   * tables are STRICT so a wrong type is an error, not a silent conversion.

-- +goose Up

-- agents: staff who answer (agent) or audit (supervisor).
CREATE TABLE agents (
    id             TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name           TEXT    NOT NULL CHECK (name <> ''),
    endpoint       TEXT    NOT NULL UNIQUE CHECK (instr(endpoint, '/') > 0),
    department     TEXT    NOT NULL DEFAULT '',
    skills         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(skills) AND json_type(skills) = 'array'),
    role           TEXT    NOT NULL CHECK (role IN ('agent', 'supervisor')),
    state          TEXT    NOT NULL CHECK (state IN ('available', 'on_call', 'wrap_up', 'paused', 'offline')),
    pause_reason   TEXT    NOT NULL DEFAULT '',
    state_since_ms INTEGER NOT NULL DEFAULT 0,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL
) STRICT;

-- calls: one citizen call from arrival to hangup.
CREATE TABLE calls (
    id                      TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    channel_id              TEXT    NOT NULL DEFAULT '',
    caller_raw              TEXT    NOT NULL DEFAULT '',
    caller_number           TEXT    NOT NULL DEFAULT '',
    dialed_number           TEXT    NOT NULL DEFAULT '',
    line                    TEXT    NOT NULL CHECK (line IN ('hotline', 'complaint')),
    state                   TEXT    NOT NULL CHECK (state IN ('ringing', 'answered', 'completed', 'missed')),
    missed_reason           TEXT    NOT NULL DEFAULT ''
        CHECK (missed_reason IN ('', 'no_answer', 'no_agent', 'abandoned', 'after_hours', 'failed')),
    first_responsible_agent TEXT    REFERENCES agents (id),
    recording_name          TEXT    NOT NULL DEFAULT '',
    arrived_ms              INTEGER NOT NULL,
    answered_ms             INTEGER NOT NULL DEFAULT 0,
    ended_ms                INTEGER NOT NULL DEFAULT 0,
    updated_ms              INTEGER NOT NULL,
    -- an answered or completed call has its responsible agent (clause 3.1)
    CHECK (state NOT IN ('answered', 'completed') OR first_responsible_agent IS NOT NULL)
) STRICT;

-- The call log, newest first.
CREATE INDEX calls_by_arrived ON calls (arrived_ms, id);
-- Repeat callers and sticky routing.
CREATE INDEX calls_by_caller ON calls (caller_number, arrived_ms);
-- Per-agent lists and reports.
CREATE INDEX calls_by_agent ON calls (first_responsible_agent, arrived_ms);
-- Calls in a state (e.g. the ones still in progress).
CREATE INDEX calls_by_state ON calls (state, arrived_ms);

-- The first-responsible agent never changes once set (clause 3.1), whatever
-- statement tries.
-- +goose StatementBegin
CREATE TRIGGER calls_first_responsible_agent_is_final
BEFORE UPDATE OF first_responsible_agent ON calls
WHEN OLD.first_responsible_agent IS NOT NULL
 AND NEW.first_responsible_agent IS NOT OLD.first_responsible_agent
BEGIN
    SELECT RAISE(ABORT, 'calls.first_responsible_agent is already set and cannot change');
END;
-- +goose StatementEnd

-- call_legs: each agent rung for a call.
CREATE TABLE call_legs (
    id          INTEGER NOT NULL PRIMARY KEY,
    call_id     TEXT    NOT NULL REFERENCES calls (id),
    agent_id    TEXT    NOT NULL REFERENCES agents (id),
    channel_id  TEXT    NOT NULL UNIQUE CHECK (channel_id <> ''),
    outcome     TEXT    NOT NULL CHECK (outcome IN ('ringing', 'answered', 'lost', 'cancelled',
                                                    'no_answer', 'busy', 'failed', 'completed')),
    cause       INTEGER NOT NULL DEFAULT 0,
    rung_ms     INTEGER NOT NULL,
    answered_ms INTEGER NOT NULL DEFAULT 0,
    ended_ms    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX call_legs_by_call ON call_legs (call_id);
-- Per-agent reports: calls offered, declined, missed.
CREATE INDEX call_legs_by_agent ON call_legs (agent_id, rung_ms);

-- referrals: the chain of a call's transfers (clauses 5.1.2, 5.2.2); the
-- call's first-responsible agent stays as it was.
CREATE TABLE referrals (
    id            INTEGER NOT NULL PRIMARY KEY,
    call_id       TEXT    NOT NULL REFERENCES calls (id),
    from_agent    TEXT    NOT NULL REFERENCES agents (id),
    to_agent      TEXT    REFERENCES agents (id),
    to_department TEXT    NOT NULL DEFAULT '',
    requested_ms  INTEGER NOT NULL,
    outcome       TEXT    NOT NULL DEFAULT '',
    ended_ms      INTEGER NOT NULL DEFAULT 0,
    CHECK (to_agent IS NOT NULL OR to_department <> '')
) STRICT;

CREATE INDEX referrals_by_call ON referrals (call_id, requested_ms);

-- callback_tasks: the duty to call a missed citizen back (clause 6.1).
-- A dialer claims a task by setting lease_token; every later change carries
-- the token (fencing), so NULL, which matches nothing, means "no lease".
CREATE TABLE callback_tasks (
    id              INTEGER NOT NULL PRIMARY KEY,
    number          TEXT    NOT NULL CHECK (number <> ''),
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'dialing', 'connected', 'resolved',
                                                      'unreachable', 'invalid_number', 'closed')),
    agent_id        TEXT    REFERENCES agents (id),
    missed_count    INTEGER NOT NULL DEFAULT 1 CHECK (missed_count >= 0),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    first_missed_ms INTEGER NOT NULL,
    deadline_ms     INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    lease_token     TEXT,
    lease_until_ms  INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL,
    closed_ms       INTEGER NOT NULL DEFAULT 0,
    close_reason    TEXT    NOT NULL DEFAULT '',
    CHECK (state <> 'dialing' OR lease_token IS NOT NULL)
) STRICT;

-- At most one open task per citizen: a new miss merges into it.
CREATE UNIQUE INDEX callback_tasks_one_open_per_number
    ON callback_tasks (number) WHERE state IN ('pending', 'dialing');
-- The slow SQL poll and the Redis re-index read open tasks by due time.
CREATE INDEX callback_tasks_open_by_next_attempt
    ON callback_tasks (next_attempt_ms) WHERE state IN ('pending', 'dialing');
CREATE INDEX callback_tasks_by_agent ON callback_tasks (agent_id, created_ms);

-- callback_task_calls: every missed call behind a task. A call belongs to at
-- most one task, so recording the same miss twice is refused.
CREATE TABLE callback_task_calls (
    call_id TEXT    NOT NULL PRIMARY KEY REFERENCES calls (id),
    task_id INTEGER NOT NULL REFERENCES callback_tasks (id)
) STRICT;

CREATE INDEX callback_task_calls_by_task ON callback_task_calls (task_id);

-- callback_attempts: each dial of a task; ended_ms = 0 while it is active.
CREATE TABLE callback_attempts (
    id         INTEGER NOT NULL PRIMARY KEY,
    task_id    INTEGER NOT NULL REFERENCES callback_tasks (id),
    agent_id   TEXT    REFERENCES agents (id),
    started_ms INTEGER NOT NULL,
    ended_ms   INTEGER NOT NULL DEFAULT 0,
    outcome    TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Never two active dials to one citizen.
CREATE UNIQUE INDEX callback_attempts_one_active_per_task
    ON callback_attempts (task_id) WHERE ended_ms = 0;
CREATE INDEX callback_attempts_by_task ON callback_attempts (task_id, started_ms);

-- promises: replies promised by a deadline (clause 6.2).
CREATE TABLE promises (
    id                   INTEGER NOT NULL PRIMARY KEY,
    call_id              TEXT    NOT NULL REFERENCES calls (id),
    number               TEXT    NOT NULL DEFAULT '',
    agent_id             TEXT    NOT NULL REFERENCES agents (id),
    summary              TEXT    NOT NULL CHECK (summary <> ''),
    department           TEXT    NOT NULL DEFAULT '',
    state                TEXT    NOT NULL CHECK (state IN ('open', 'fulfilled', 'overdue', 'escalated', 'closed')),
    deadline_ms          INTEGER NOT NULL,
    original_deadline_ms INTEGER NOT NULL,
    created_ms           INTEGER NOT NULL,
    fulfilled_ms         INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Reminders and escalation read unfinished promises by deadline.
CREATE INDEX promises_unfinished_by_deadline
    ON promises (deadline_ms) WHERE state IN ('open', 'overdue');
CREATE INDEX promises_by_agent ON promises (agent_id, state);
-- A repeat caller with an open matter rings its responsible agent first.
CREATE INDEX promises_by_number ON promises (number, state);
CREATE INDEX promises_by_call ON promises (call_id);

-- recordings: the audio of a consultation (clause 7.1.3). call_id is NULL for
-- a recording not of an inbound call (a callback); a later migration links
-- those to their attempt.
CREATE TABLE recordings (
    name        TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
    call_id     TEXT    REFERENCES calls (id),
    state       TEXT    NOT NULL CHECK (state IN ('live', 'pending', 'archived', 'failed', 'deleted')),
    format      TEXT    NOT NULL,
    size_bytes  INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    sha256      TEXT    NOT NULL DEFAULT '',
    started_ms  INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL DEFAULT 0,
    archived_ms INTEGER NOT NULL DEFAULT 0,
    legal_hold  INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1))
) STRICT;

CREATE INDEX recordings_by_call ON recordings (call_id);
-- The archiver and retention read recordings by state and age.
CREATE INDEX recordings_by_state ON recordings (state, started_ms);

-- ratings: the citizen's survey answer (clause 7.2), 1..5, 0 = not rated.
CREATE TABLE ratings (
    call_id  TEXT    NOT NULL PRIMARY KEY REFERENCES calls (id),
    agent_id TEXT    NOT NULL REFERENCES agents (id),
    score    INTEGER NOT NULL CHECK (score BETWEEN 0 AND 5),
    rated_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX ratings_by_agent ON ratings (agent_id, rated_ms);

-- reviews: a supervisor's assessment of a call (clause 7.1.4).
CREATE TABLE reviews (
    id            INTEGER NOT NULL PRIMARY KEY,
    call_id       TEXT    NOT NULL REFERENCES calls (id),
    agent_id      TEXT    NOT NULL REFERENCES agents (id),
    supervisor_id TEXT    NOT NULL REFERENCES agents (id),
    score         INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    flags         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(flags) AND json_type(flags) = 'array'),
    comment       TEXT    NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL
) STRICT;

CREATE INDEX reviews_by_call ON reviews (call_id);
CREATE INDEX reviews_by_agent ON reviews (agent_id, created_ms);

-- audit_log: the tamper-evident access log; each entry carries the hash of
-- the previous one. AUTOINCREMENT so an id is never reused, even after the
-- last row is gone.
CREATE TABLE audit_log (
    id        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at_ms     INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    object    TEXT    NOT NULL DEFAULT '',
    client    TEXT    NOT NULL DEFAULT '',
    result    TEXT    NOT NULL,
    detail    TEXT    NOT NULL DEFAULT '',
    prev_hash TEXT    NOT NULL DEFAULT '',
    hash      TEXT    NOT NULL UNIQUE CHECK (hash <> '')
) STRICT;

CREATE INDEX audit_log_by_at ON audit_log (at_ms);
CREATE INDEX audit_log_by_actor ON audit_log (actor, at_ms);
CREATE INDEX audit_log_by_object ON audit_log (object, at_ms);

-- The log is append-only: the hash chain shows tampering, these refuse it.
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update
BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete
BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE reviews;
DROP TABLE ratings;
DROP TABLE recordings;
DROP TABLE promises;
DROP TABLE callback_attempts;
DROP TABLE callback_task_calls;
DROP TABLE callback_tasks;
DROP TABLE referrals;
DROP TABLE call_legs;
DROP TABLE calls;
DROP TABLE agents;
