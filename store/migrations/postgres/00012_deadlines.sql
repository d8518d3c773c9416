-- One deadline engine for callback tasks and promises, PostgreSQL form of
-- ../00012_deadlines.sql.

-- +goose Up

ALTER TABLE callback_tasks ADD COLUMN agent_misses BIGINT NOT NULL DEFAULT 0 CHECK (agent_misses >= 0);

CREATE TABLE callback_reminders (
    task_id BIGINT NOT NULL REFERENCES callback_tasks (id),
    lead_ms BIGINT NOT NULL CHECK (lead_ms > 0),
    sent_ms BIGINT NOT NULL CHECK (sent_ms > 0),
    PRIMARY KEY (task_id, lead_ms)
);

DROP INDEX callback_tasks_open_dues;
CREATE INDEX callback_tasks_open_dues
    ON callback_tasks (id, state, next_attempt_ms, lease_until_ms, deadline_ms, escalated_ms)
    WHERE state IN ('pending', 'dialing');

UPDATE promises SET state = CASE WHEN escalated_ms > 0 THEN 'escalated' ELSE 'open' END WHERE state = 'overdue';

CREATE TRIGGER promises_overdue_is_not_stored_insert
BEFORE INSERT ON promises FOR EACH ROW
WHEN (NEW.state = 'overdue')
EXECUTE FUNCTION hotline_refuse('CHECK constraint failed: promises.state: overdue is a view (unfinished past the deadline), not a stored state');

CREATE TRIGGER promises_overdue_is_not_stored_update
BEFORE UPDATE OF state ON promises FOR EACH ROW
WHEN (NEW.state = 'overdue')
EXECUTE FUNCTION hotline_refuse('CHECK constraint failed: promises.state: overdue is a view (unfinished past the deadline), not a stored state');

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
DROP TRIGGER promises_overdue_is_not_stored_update ON promises;
DROP TRIGGER promises_overdue_is_not_stored_insert ON promises;
DROP INDEX callback_tasks_open_dues;
CREATE INDEX callback_tasks_open_dues
    ON callback_tasks (id, state, next_attempt_ms, lease_until_ms) WHERE state IN ('pending', 'dialing');
DROP TABLE callback_reminders;
ALTER TABLE callback_tasks DROP COLUMN agent_misses;
