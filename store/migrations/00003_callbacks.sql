-- Callbacks (clause 6.1), violations (7.1.4–7.1.6) and the audit chain.
--
-- callback_attempts gains the timestamps that prove the apology finished
-- before agent and citizen were bridged, and a CHECK on its outcome. Nothing
-- wrote the table before this version, so it is rebuilt the SQLite way
-- (new table, copy, drop, indexes again) rather than checked by triggers.
-- No table references callback_attempts and it has no triggers, so the old
-- table is renamed out of the way first: the new one is then created under
-- its own name and sqlite_schema keeps the statement as written here.

-- +goose Up

-- callback_tasks.escalated_ms: when the overdue task was escalated to the
-- supervisors; 0 = not yet. Set once (MarkEscalated), so an escalation fires
-- once across service instances.
ALTER TABLE callback_tasks ADD COLUMN escalated_ms INTEGER NOT NULL DEFAULT 0;
-- callback_tasks.closed_by: who closed or acknowledged the task; '' when the
-- dialer or an inbound call closed it.
ALTER TABLE callback_tasks ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';

-- The supervisor's task list, in deadline order: all tasks, by state, by agent.
CREATE INDEX callback_tasks_by_deadline ON callback_tasks (deadline_ms);
CREATE INDEX callback_tasks_by_state ON callback_tasks (state, deadline_ms);
CREATE INDEX callback_tasks_by_agent_deadline ON callback_tasks (agent_id, deadline_ms);
-- Escalation reads open tasks past their deadline not yet escalated; a task
-- leaves this index when it is escalated or closed.
CREATE INDEX callback_tasks_to_escalate
    ON callback_tasks (deadline_ms) WHERE state IN ('pending', 'dialing') AND escalated_ms = 0;
-- Rebuilding the Redis index pages through open tasks by id, reading only
-- this index (it covers the due time of both open states).
CREATE INDEX callback_tasks_open_dues
    ON callback_tasks (id, state, next_attempt_ms, lease_until_ms) WHERE state IN ('pending', 'dialing');

-- callback_attempts, rebuilt: ended_ms = 0 while the attempt is active, and an
-- active attempt has no outcome yet. An ended attempt written before this
-- version may have outcome '' (none was recorded; guessing one would falsify
-- it); the store always writes one. The timestamps are kept as they come,
-- even out of the standard's order: a bridge before the apology is a fact to
-- report, not a row to refuse.
ALTER TABLE callback_attempts RENAME TO callback_attempts_v2;

CREATE TABLE callback_attempts (
    id                  INTEGER NOT NULL PRIMARY KEY,
    task_id             INTEGER NOT NULL REFERENCES callback_tasks (id),
    agent_id            TEXT    REFERENCES agents (id),
    recording_name      TEXT    NOT NULL DEFAULT '',
    started_ms          INTEGER NOT NULL,
    agent_answered_ms   INTEGER NOT NULL DEFAULT 0,
    citizen_answered_ms INTEGER NOT NULL DEFAULT 0,
    apology_finished_ms INTEGER NOT NULL DEFAULT 0,
    bridged_ms          INTEGER NOT NULL DEFAULT 0,
    ended_ms            INTEGER NOT NULL DEFAULT 0,
    outcome             TEXT    NOT NULL DEFAULT ''
        CHECK (outcome IN ('', 'connected', 'too_short', 'citizen_no_answer', 'busy',
                           'unreachable', 'invalid_number', 'agent_no_answer', 'failed')),
    cause               INTEGER NOT NULL DEFAULT 0,
    CHECK (ended_ms <> 0 OR outcome = '')
) STRICT;

INSERT INTO callback_attempts (id, task_id, agent_id, started_ms, ended_ms, outcome)
SELECT id, task_id, agent_id, started_ms, ended_ms, outcome FROM callback_attempts_v2;

-- Drops the old table's indexes with it.
DROP TABLE callback_attempts_v2;

-- Never two active dials to one citizen.
CREATE UNIQUE INDEX callback_attempts_one_active_per_task
    ON callback_attempts (task_id) WHERE ended_ms = 0;
CREATE INDEX callback_attempts_by_task ON callback_attempts (task_id, started_ms);

-- violations: breaches of the standard recorded against an agent (7.1.5).
-- The occurrence is final; only the supervisor's disposition changes, and
-- every change of it is kept in violation_dispositions.
CREATE TABLE violations (
    id             INTEGER NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('callback_overdue', 'promise_overdue', 'ring_declined',
                                                    'ring_not_answered', 'referral_loop')),
    agent_id       TEXT    NOT NULL REFERENCES agents (id),
    call_id        TEXT    REFERENCES calls (id),
    task_id        INTEGER REFERENCES callback_tasks (id),
    promise_id     INTEGER REFERENCES promises (id),
    at_ms          INTEGER NOT NULL CHECK (at_ms > 0),
    detail         TEXT    NOT NULL DEFAULT '',
    disposition    TEXT    NOT NULL DEFAULT '' CHECK (disposition IN ('', 'confirmed', 'dismissed')),
    disposed_by    TEXT    NOT NULL DEFAULT '',
    disposed_ms    INTEGER NOT NULL DEFAULT 0,
    dispose_reason TEXT    NOT NULL DEFAULT '',
    -- an open violation carries no decision; a decided one says who and when
    CHECK (disposition <> '' OR (disposed_by = '' AND disposed_ms = 0 AND dispose_reason = '')),
    CHECK (disposition = '' OR (disposed_by <> '' AND disposed_ms > 0)),
    -- dismissing needs a reason
    CHECK (disposition <> 'dismissed' OR dispose_reason <> '')
) STRICT;

-- Lists: newest first, all or by agent, by disposition (the undecided ones)
-- or by kind.
CREATE INDEX violations_by_at ON violations (at_ms);
CREATE INDEX violations_by_agent ON violations (agent_id, at_ms);
CREATE INDEX violations_by_disposition ON violations (disposition, at_ms);
CREATE INDEX violations_by_kind ON violations (kind, at_ms);

-- violation_dispositions: every disposition given to a violation, oldest
-- first; written by the trigger below, so no statement can change a
-- disposition without leaving its trace.
CREATE TABLE violation_dispositions (
    id               INTEGER NOT NULL PRIMARY KEY,
    violation_id     INTEGER NOT NULL REFERENCES violations (id),
    from_disposition TEXT    NOT NULL CHECK (from_disposition IN ('', 'confirmed', 'dismissed')),
    disposition      TEXT    NOT NULL CHECK (disposition IN ('', 'confirmed', 'dismissed')),
    disposed_by      TEXT    NOT NULL,
    disposed_ms      INTEGER NOT NULL,
    reason           TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX violation_dispositions_by_violation ON violation_dispositions (violation_id, id);

-- +goose StatementBegin
CREATE TRIGGER violations_record_disposition
AFTER UPDATE OF disposition, disposed_by, disposed_ms, dispose_reason ON violations
BEGIN
    INSERT INTO violation_dispositions (violation_id, from_disposition, disposition, disposed_by, disposed_ms, reason)
    VALUES (NEW.id, OLD.disposition, NEW.disposition, NEW.disposed_by, NEW.disposed_ms, NEW.dispose_reason);
END;
-- +goose StatementEnd

-- The occurrence itself never changes, whatever statement tries.
-- +goose StatementBegin
CREATE TRIGGER violations_occurrence_is_final
BEFORE UPDATE OF kind, agent_id, call_id, task_id, promise_id, at_ms, detail ON violations
WHEN NEW.kind IS NOT OLD.kind OR NEW.agent_id IS NOT OLD.agent_id OR NEW.call_id IS NOT OLD.call_id
  OR NEW.task_id IS NOT OLD.task_id OR NEW.promise_id IS NOT OLD.promise_id
  OR NEW.at_ms IS NOT OLD.at_ms OR NEW.detail IS NOT OLD.detail
BEGIN
    SELECT RAISE(ABORT, 'violations: the recorded occurrence is final; only its disposition changes');
END;
-- +goose StatementEnd

-- A violation is never deleted: dismissing it is the way to set it aside.
-- +goose StatementBegin
CREATE TRIGGER violations_no_delete
BEFORE DELETE ON violations
BEGIN
    SELECT RAISE(ABORT, 'violations are kept: dismiss one instead of deleting it');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER violation_dispositions_no_update
BEFORE UPDATE ON violation_dispositions
BEGIN
    SELECT RAISE(ABORT, 'violation_dispositions is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER violation_dispositions_no_delete
BEFORE DELETE ON violation_dispositions
BEGIN
    SELECT RAISE(ABORT, 'violation_dispositions is append-only');
END;
-- +goose StatementEnd

-- The audit chain never forks: each entry has at most one successor, and only
-- the first entry has prev_hash ''.
CREATE UNIQUE INDEX audit_log_one_successor ON audit_log (prev_hash);

-- +goose Down
DROP INDEX audit_log_one_successor;

DROP TRIGGER violation_dispositions_no_delete;
DROP TRIGGER violation_dispositions_no_update;
DROP TRIGGER violations_no_delete;
DROP TRIGGER violations_occurrence_is_final;
DROP TRIGGER violations_record_disposition;
DROP TABLE violation_dispositions;
DROP TABLE violations;

-- callback_attempts back to its first form: the new columns go.
ALTER TABLE callback_attempts RENAME TO callback_attempts_v3;

CREATE TABLE callback_attempts (
    id         INTEGER NOT NULL PRIMARY KEY,
    task_id    INTEGER NOT NULL REFERENCES callback_tasks (id),
    agent_id   TEXT    REFERENCES agents (id),
    started_ms INTEGER NOT NULL,
    ended_ms   INTEGER NOT NULL DEFAULT 0,
    outcome    TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO callback_attempts (id, task_id, agent_id, started_ms, ended_ms, outcome)
SELECT id, task_id, agent_id, started_ms, ended_ms, outcome FROM callback_attempts_v3;

DROP TABLE callback_attempts_v3;

CREATE UNIQUE INDEX callback_attempts_one_active_per_task
    ON callback_attempts (task_id) WHERE ended_ms = 0;
CREATE INDEX callback_attempts_by_task ON callback_attempts (task_id, started_ms);

DROP INDEX callback_tasks_open_dues;
DROP INDEX callback_tasks_to_escalate;
DROP INDEX callback_tasks_by_agent_deadline;
DROP INDEX callback_tasks_by_state;
DROP INDEX callback_tasks_by_deadline;
ALTER TABLE callback_tasks DROP COLUMN closed_by;
ALTER TABLE callback_tasks DROP COLUMN escalated_ms;
