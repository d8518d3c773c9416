-- Promised replies (clause 6.2): who recorded a promise, how it was
-- fulfilled, its escalation and close, every approved move of its deadline,
-- and the reminders already sent.
--
-- promises keeps its table: its CHECKs (state, summary) already say what the
-- domain needs, and violations references it, so a rebuild (drop and rename)
-- could not run inside the migration's transaction without breaking that
-- foreign key. The new columns bring their own column CHECKs; the rules that
-- span rows or columns are triggers.
--
-- Rows written before this version keep created_by, fulfilled_how,
-- fulfilled_by and evidence '' (never recorded; guessing would falsify them).

-- +goose Up

-- promises.created_by: the agent or supervisor who recorded the promise; the
-- owner (agent_id) is the call's first-responsible agent, whoever records it.
ALTER TABLE promises ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
-- promises.fulfilled_how: 'reply_call' (evidence names the reply call's
-- recording or call id) or 'note' (evidence is the note); '' until fulfilled.
ALTER TABLE promises ADD COLUMN fulfilled_how TEXT NOT NULL DEFAULT ''
    CHECK (fulfilled_how IN ('', 'reply_call', 'note'));
ALTER TABLE promises ADD COLUMN fulfilled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE promises ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
-- promises.escalated_ms: when the current deadline's escalation fired; 0 =
-- not escalated. An extension sets it back to 0 and keeps the time in its
-- promise_extensions row (escalated_ms), so every escalation stays on record.
ALTER TABLE promises ADD COLUMN escalated_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE promises ADD COLUMN closed_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE promises ADD COLUMN close_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE promises ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';

-- The supervisor's list in deadline order: all, by state, by owner.
CREATE INDEX promises_by_deadline ON promises (deadline_ms);
CREATE INDEX promises_by_state ON promises (state, deadline_ms);
CREATE INDEX promises_by_agent_deadline ON promises (agent_id, deadline_ms);
-- Unfinished promises (open, overdue, escalated) by deadline: the overdue
-- list and the SQL fallback of the reminder and escalation loops.
CREATE INDEX promises_unfinished_deadlines
    ON promises (deadline_ms) WHERE state IN ('open', 'overdue', 'escalated');
-- Rebuilding the Redis index pages through unfinished promises by id,
-- reading only this index (it covers the state the query repeats).
CREATE INDEX promises_unfinished_dues
    ON promises (id, state, deadline_ms) WHERE state IN ('open', 'overdue', 'escalated');

-- promise_extensions: every approved move of a deadline, oldest first. The
-- state the promise left (from_state) and the escalation the move lifted
-- (escalated_ms, 0 when none) are kept here, since the promise itself
-- becomes open again.
CREATE TABLE promise_extensions (
    id           INTEGER NOT NULL PRIMARY KEY,
    promise_id   INTEGER NOT NULL REFERENCES promises (id),
    from_ms      INTEGER NOT NULL,
    to_ms        INTEGER NOT NULL,
    approved_by  TEXT    NOT NULL REFERENCES agents (id),
    reason       TEXT    NOT NULL CHECK (reason <> ''),
    at_ms        INTEGER NOT NULL CHECK (at_ms > 0),
    from_state   TEXT    NOT NULL CHECK (from_state IN ('open', 'overdue', 'escalated')),
    escalated_ms INTEGER NOT NULL DEFAULT 0,
    -- a deadline only moves later
    CHECK (to_ms > from_ms)
) STRICT;

CREATE INDEX promise_extensions_by_promise ON promise_extensions (promise_id, id);

-- promise_reminders: the reminders already sent for a promise's current
-- deadline, one per lead time; the primary key makes a reminder fire once.
CREATE TABLE promise_reminders (
    promise_id INTEGER NOT NULL REFERENCES promises (id),
    lead_ms    INTEGER NOT NULL CHECK (lead_ms > 0),
    sent_ms    INTEGER NOT NULL CHECK (sent_ms > 0),
    PRIMARY KEY (promise_id, lead_ms)
) STRICT;

-- The owner, the call, who recorded it, when, and the original deadline
-- never change, whatever statement tries.
-- +goose StatementBegin
CREATE TRIGGER promises_record_is_final
BEFORE UPDATE OF call_id, agent_id, created_by, created_ms, original_deadline_ms ON promises
WHEN NEW.call_id IS NOT OLD.call_id OR NEW.agent_id IS NOT OLD.agent_id
  OR NEW.created_by IS NOT OLD.created_by OR NEW.created_ms IS NOT OLD.created_ms
  OR NEW.original_deadline_ms IS NOT OLD.original_deadline_ms
BEGIN
    SELECT RAISE(ABORT, 'promises: the owner, call, creator, creation time and original deadline are final');
END;
-- +goose StatementEnd

-- A deadline moves only with an approved extension recorded first.
-- +goose StatementBegin
CREATE TRIGGER promises_deadline_moves_by_extension
BEFORE UPDATE OF deadline_ms ON promises
WHEN NEW.deadline_ms IS NOT OLD.deadline_ms
 AND NOT EXISTS (SELECT 1 FROM promise_extensions
                 WHERE promise_id = NEW.id AND from_ms = OLD.deadline_ms AND to_ms = NEW.deadline_ms)
BEGIN
    SELECT RAISE(ABORT, 'promises.deadline_ms moves only with a supervisor''s extension recorded in promise_extensions');
END;
-- +goose StatementEnd

-- Only a supervisor approves an extension.
-- +goose StatementBegin
CREATE TRIGGER promise_extensions_by_supervisor
BEFORE INSERT ON promise_extensions
WHEN (SELECT role FROM agents WHERE id = NEW.approved_by) IS NOT 'supervisor'
BEGIN
    SELECT RAISE(ABORT, 'promise_extensions.approved_by must be a supervisor');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promise_extensions_no_update
BEFORE UPDATE ON promise_extensions
BEGIN
    SELECT RAISE(ABORT, 'promise_extensions is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promise_extensions_no_delete
BEFORE DELETE ON promise_extensions
BEGIN
    SELECT RAISE(ABORT, 'promise_extensions is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER promise_extensions_no_delete;
DROP TRIGGER promise_extensions_no_update;
DROP TRIGGER promise_extensions_by_supervisor;
DROP TRIGGER promises_deadline_moves_by_extension;
DROP TRIGGER promises_record_is_final;
DROP TABLE promise_reminders;
DROP TABLE promise_extensions;
DROP INDEX promises_unfinished_dues;
DROP INDEX promises_unfinished_deadlines;
DROP INDEX promises_by_agent_deadline;
DROP INDEX promises_by_state;
DROP INDEX promises_by_deadline;
ALTER TABLE promises DROP COLUMN closed_by;
ALTER TABLE promises DROP COLUMN close_reason;
ALTER TABLE promises DROP COLUMN closed_ms;
ALTER TABLE promises DROP COLUMN escalated_ms;
ALTER TABLE promises DROP COLUMN evidence;
ALTER TABLE promises DROP COLUMN fulfilled_by;
ALTER TABLE promises DROP COLUMN fulfilled_how;
ALTER TABLE promises DROP COLUMN created_by;
