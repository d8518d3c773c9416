-- One deadline engine for callback tasks (6.1) and promises (6.2): the same
-- statements find what is due, mark reminders sent and escalate, on either
-- table (store/deadlines.go).
--
-- Callback reminders are marked in SQL as promise reminders are, so they go
-- out once across instances and restarts, and still go out while Redis is
-- down. The indexes the engine reads have the same shape on both tables.
-- A promise's "overdue" is a view (unfinished past its deadline), never a
-- stored state: rows that hold it are put right and the schema refuses it.
--
-- Rows written before this version keep agent_misses 0.

-- +goose Up

-- callback_tasks.agent_misses: dials in a row the task's responsible agent
-- left unanswered; at callbacks.agent_tries the task goes to another agent.
ALTER TABLE callback_tasks ADD COLUMN agent_misses INTEGER NOT NULL DEFAULT 0 CHECK (agent_misses >= 0);

-- callback_reminders: the reminders already sent before a task's deadline,
-- one per lead time; the primary key makes a reminder fire once.
CREATE TABLE callback_reminders (
    task_id INTEGER NOT NULL REFERENCES callback_tasks (id),
    lead_ms INTEGER NOT NULL CHECK (lead_ms > 0),
    sent_ms INTEGER NOT NULL CHECK (sent_ms > 0),
    PRIMARY KEY (task_id, lead_ms)
) STRICT;

-- Rebuilding the Redis indexes pages through open tasks by id, reading only
-- this index: it now covers the deadline and the escalation too.
DROP INDEX callback_tasks_open_dues;
CREATE INDEX callback_tasks_open_dues
    ON callback_tasks (id, state, next_attempt_ms, lease_until_ms, deadline_ms, escalated_ms)
    WHERE state IN ('pending', 'dialing');

-- No promise row holds 'overdue' (nothing wrote it); should one, it is what
-- its escalation says.
UPDATE promises SET state = CASE WHEN escalated_ms > 0 THEN 'escalated' ELSE 'open' END WHERE state = 'overdue';

-- +goose StatementBegin
CREATE TRIGGER promises_overdue_is_not_stored_insert
BEFORE INSERT ON promises
WHEN NEW.state = 'overdue'
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: promises.state: overdue is a view (unfinished past the deadline), not a stored state');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_overdue_is_not_stored_update
BEFORE UPDATE OF state ON promises
WHEN NEW.state = 'overdue'
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: promises.state: overdue is a view (unfinished past the deadline), not a stored state');
END;
-- +goose StatementEnd

-- Unfinished promises are open or escalated. The escalation and the SQL poll
-- read those not escalated yet by deadline, as callback_tasks_to_escalate
-- does for tasks; the rebuild pages through all of them by id.
DROP INDEX promises_unfinished_by_deadline;
DROP INDEX promises_unfinished_deadlines;
DROP INDEX promises_unfinished_dues;
CREATE INDEX promises_to_escalate
    ON promises (deadline_ms) WHERE state IN ('open', 'escalated') AND escalated_ms = 0;
CREATE INDEX promises_unfinished_dues
    ON promises (id, state, deadline_ms, escalated_ms) WHERE state IN ('open', 'escalated');

-- +goose Down
DROP INDEX promises_unfinished_dues;
DROP INDEX promises_to_escalate;
CREATE INDEX promises_unfinished_dues
    ON promises (id, state, deadline_ms) WHERE state IN ('open', 'overdue', 'escalated');
CREATE INDEX promises_unfinished_deadlines
    ON promises (deadline_ms) WHERE state IN ('open', 'overdue', 'escalated');
CREATE INDEX promises_unfinished_by_deadline
    ON promises (deadline_ms) WHERE state IN ('open', 'overdue');
DROP TRIGGER promises_overdue_is_not_stored_update;
DROP TRIGGER promises_overdue_is_not_stored_insert;
DROP INDEX callback_tasks_open_dues;
CREATE INDEX callback_tasks_open_dues
    ON callback_tasks (id, state, next_attempt_ms, lease_until_ms) WHERE state IN ('pending', 'dialing');
DROP TABLE callback_reminders;
ALTER TABLE callback_tasks DROP COLUMN agent_misses;
