-- The assessment report (clauses 7.1.4, 7.3) and complaints (7.1.2).
--
-- A yearly report must not read a year of calls: agent_hours keeps, per
-- staff member and hour, the sums the report adds up, and triggers keep it
-- in step with every write to calls, call_legs, ratings, callback_tasks and
-- promises, in the same transaction, whatever statement writes them. What
-- each row contributes is defined once, by the report_*_facts views: a
-- trigger subtracts a row's facts before it changes and adds them after.
-- The report reads whole hours from agent_hours and, for a period edge that
-- is not on a whole hour (a zone such as +05:30), the views themselves.
-- Hours are UTC (unix ms / 3600000), so one table serves every zone.
--
-- What each figure means is written in the domain (hotline.AgentReport and
-- hotline.AgentReportFigures); the views are its SQL form.

-- +goose Up

CREATE TABLE agent_hours (
    hour              INTEGER NOT NULL, -- unix ms / 3600000 of the time the fact is filed under
    agent_id          TEXT    NOT NULL,
    offered           INTEGER NOT NULL DEFAULT 0,
    missed            INTEGER NOT NULL DEFAULT 0,
    answered_rings    INTEGER NOT NULL DEFAULT 0,
    ring_ms           INTEGER NOT NULL DEFAULT 0,
    answered          INTEGER NOT NULL DEFAULT 0,
    talked            INTEGER NOT NULL DEFAULT 0,
    talk_ms           INTEGER NOT NULL DEFAULT 0,
    rated_1           INTEGER NOT NULL DEFAULT 0,
    rated_2           INTEGER NOT NULL DEFAULT 0,
    rated_3           INTEGER NOT NULL DEFAULT 0,
    rated_4           INTEGER NOT NULL DEFAULT 0,
    rated_5           INTEGER NOT NULL DEFAULT 0,
    -- callback tasks and promises that have ended; the open ones past their
    -- deadline depend on the time of the report and are read from their
    -- tables
    callbacks_due     INTEGER NOT NULL DEFAULT 0,
    callbacks_on_time INTEGER NOT NULL DEFAULT 0,
    promises_due      INTEGER NOT NULL DEFAULT 0,
    promises_kept     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, agent_id)
) STRICT, WITHOUT ROWID;

-- Calls, by arrival, for their first-responsible agent: answered (in
-- progress or completed); talked and talk_ms once ended.
CREATE VIEW report_call_facts AS
SELECT id, first_responsible_agent AS agent_id, arrived_ms AS at_ms,
       1 AS answered,
       (answered_ms > 0 AND ended_ms > 0) AS talked,
       CASE WHEN answered_ms > 0 AND ended_ms > 0 THEN max(ended_ms - answered_ms, 0) ELSE 0 END AS talk_ms
FROM calls
WHERE first_responsible_agent IS NOT NULL AND state IN ('answered', 'completed');

-- Rings, by the time they started, for the agent rung: offered; missed when
-- they rang out or were declined; answered_rings and ring_ms (ring to
-- answer) when the agent answered and the leg connected.
CREATE VIEW report_leg_facts AS
SELECT id, agent_id, rung_ms AS at_ms,
       1 AS offered,
       outcome IN ('no_answer', 'busy') AS missed,
       (outcome IN ('answered', 'completed') AND answered_ms > 0) AS answered_rings,
       CASE WHEN outcome IN ('answered', 'completed') AND answered_ms > 0 THEN max(answered_ms - rung_ms, 0) ELSE 0 END AS ring_ms
FROM call_legs;

-- Ratings given (1..5), by when, for the agent rated.
CREATE VIEW report_rating_facts AS
SELECT call_id, agent_id, rated_ms AS at_ms,
       score = 1 AS rated_1, score = 2 AS rated_2, score = 3 AS rated_3, score = 4 AS rated_4, score = 5 AS rated_5
FROM ratings
WHERE score BETWEEN 1 AND 5;

-- Ended callback tasks, by deadline, for their agent: due when connected,
-- resolved or unreachable, or closed after the deadline (a task closed by
-- a supervisor by its deadline, and an invalid number, are no one's);
-- on time when connected or resolved by the deadline.
CREATE VIEW report_callback_facts AS
SELECT id, agent_id, deadline_ms AS at_ms,
       1 AS callbacks_due,
       (state IN ('connected', 'resolved') AND closed_ms <= deadline_ms) AS callbacks_on_time
FROM callback_tasks
WHERE agent_id IS NOT NULL
  AND (state IN ('connected', 'resolved', 'unreachable') OR (state = 'closed' AND closed_ms > deadline_ms));

-- Ended promises, by deadline, for their owner: due when fulfilled, or
-- closed after the deadline; kept when fulfilled by the deadline.
CREATE VIEW report_promise_facts AS
SELECT id, agent_id, deadline_ms AS at_ms,
       1 AS promises_due,
       (state = 'fulfilled' AND fulfilled_ms <= deadline_ms) AS promises_kept
FROM promises
WHERE state = 'fulfilled' OR (state = 'closed' AND closed_ms > deadline_ms);

-- calls → agent_hours through report_call_facts.
-- +goose StatementBegin
CREATE TRIGGER calls_report_insert AFTER INSERT ON calls
BEGIN
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT at_ms / 3600000, agent_id, answered, talked, talk_ms FROM report_call_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER calls_report_update_out BEFORE UPDATE OF state, first_responsible_agent, arrived_ms, answered_ms, ended_ms ON calls
WHEN (OLD.state, OLD.first_responsible_agent, OLD.arrived_ms, OLD.answered_ms, OLD.ended_ms) IS NOT (NEW.state, NEW.first_responsible_agent, NEW.arrived_ms, NEW.answered_ms, NEW.ended_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT at_ms / 3600000, agent_id, -answered, -talked, -talk_ms FROM report_call_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER calls_report_update_in AFTER UPDATE OF state, first_responsible_agent, arrived_ms, answered_ms, ended_ms ON calls
WHEN (OLD.state, OLD.first_responsible_agent, OLD.arrived_ms, OLD.answered_ms, OLD.ended_ms) IS NOT (NEW.state, NEW.first_responsible_agent, NEW.arrived_ms, NEW.answered_ms, NEW.ended_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT at_ms / 3600000, agent_id, answered, talked, talk_ms FROM report_call_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER calls_report_delete BEFORE DELETE ON calls
BEGIN
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT at_ms / 3600000, agent_id, -answered, -talked, -talk_ms FROM report_call_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- call_legs → agent_hours through report_leg_facts.
-- +goose StatementBegin
CREATE TRIGGER call_legs_report_insert AFTER INSERT ON call_legs
BEGIN
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT at_ms / 3600000, agent_id, offered, missed, answered_rings, ring_ms FROM report_leg_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER call_legs_report_update_out BEFORE UPDATE OF agent_id, outcome, rung_ms, answered_ms ON call_legs
WHEN (OLD.agent_id, OLD.outcome, OLD.rung_ms, OLD.answered_ms) IS NOT (NEW.agent_id, NEW.outcome, NEW.rung_ms, NEW.answered_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT at_ms / 3600000, agent_id, -offered, -missed, -answered_rings, -ring_ms FROM report_leg_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER call_legs_report_update_in AFTER UPDATE OF agent_id, outcome, rung_ms, answered_ms ON call_legs
WHEN (OLD.agent_id, OLD.outcome, OLD.rung_ms, OLD.answered_ms) IS NOT (NEW.agent_id, NEW.outcome, NEW.rung_ms, NEW.answered_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT at_ms / 3600000, agent_id, offered, missed, answered_rings, ring_ms FROM report_leg_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER call_legs_report_delete BEFORE DELETE ON call_legs
BEGIN
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT at_ms / 3600000, agent_id, -offered, -missed, -answered_rings, -ring_ms FROM report_leg_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- ratings → agent_hours through report_rating_facts.
-- +goose StatementBegin
CREATE TRIGGER ratings_report_insert AFTER INSERT ON ratings
BEGIN
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT at_ms / 3600000, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5 FROM report_rating_facts WHERE call_id = NEW.call_id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ratings_report_update_out BEFORE UPDATE OF agent_id, score, rated_ms ON ratings
WHEN (OLD.agent_id, OLD.score, OLD.rated_ms) IS NOT (NEW.agent_id, NEW.score, NEW.rated_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT at_ms / 3600000, agent_id, -rated_1, -rated_2, -rated_3, -rated_4, -rated_5 FROM report_rating_facts WHERE call_id = OLD.call_id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ratings_report_update_in AFTER UPDATE OF agent_id, score, rated_ms ON ratings
WHEN (OLD.agent_id, OLD.score, OLD.rated_ms) IS NOT (NEW.agent_id, NEW.score, NEW.rated_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT at_ms / 3600000, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5 FROM report_rating_facts WHERE call_id = NEW.call_id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ratings_report_delete BEFORE DELETE ON ratings
BEGIN
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT at_ms / 3600000, agent_id, -rated_1, -rated_2, -rated_3, -rated_4, -rated_5 FROM report_rating_facts WHERE call_id = OLD.call_id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- callback_tasks → agent_hours through report_callback_facts.
-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_insert AFTER INSERT ON callback_tasks
BEGIN
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT at_ms / 3600000, agent_id, callbacks_due, callbacks_on_time FROM report_callback_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_update_out BEFORE UPDATE OF agent_id, state, deadline_ms, closed_ms ON callback_tasks
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT at_ms / 3600000, agent_id, -callbacks_due, -callbacks_on_time FROM report_callback_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_update_in AFTER UPDATE OF agent_id, state, deadline_ms, closed_ms ON callback_tasks
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT at_ms / 3600000, agent_id, callbacks_due, callbacks_on_time FROM report_callback_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_delete BEFORE DELETE ON callback_tasks
BEGIN
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT at_ms / 3600000, agent_id, -callbacks_due, -callbacks_on_time FROM report_callback_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- promises → agent_hours through report_promise_facts.
-- +goose StatementBegin
CREATE TRIGGER promises_report_insert AFTER INSERT ON promises
BEGIN
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT at_ms / 3600000, agent_id, promises_due, promises_kept FROM report_promise_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_report_update_out BEFORE UPDATE OF agent_id, state, deadline_ms, fulfilled_ms, closed_ms ON promises
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.fulfilled_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.fulfilled_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT at_ms / 3600000, agent_id, -promises_due, -promises_kept FROM report_promise_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_report_update_in AFTER UPDATE OF agent_id, state, deadline_ms, fulfilled_ms, closed_ms ON promises
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.fulfilled_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.fulfilled_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT at_ms / 3600000, agent_id, promises_due, promises_kept FROM report_promise_facts WHERE id = NEW.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_report_delete BEFORE DELETE ON promises
BEGIN
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT at_ms / 3600000, agent_id, -promises_due, -promises_kept FROM report_promise_facts WHERE id = OLD.id
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- The rows already stored.
INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
SELECT at_ms / 3600000, agent_id, sum(answered), sum(talked), sum(talk_ms) FROM report_call_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (hour, agent_id) DO UPDATE SET
    answered = answered + excluded.answered,
    talked = talked + excluded.talked,
    talk_ms = talk_ms + excluded.talk_ms;

INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
SELECT at_ms / 3600000, agent_id, sum(offered), sum(missed), sum(answered_rings), sum(ring_ms) FROM report_leg_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (hour, agent_id) DO UPDATE SET
    offered = offered + excluded.offered,
    missed = missed + excluded.missed,
    answered_rings = answered_rings + excluded.answered_rings,
    ring_ms = ring_ms + excluded.ring_ms;

INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
SELECT at_ms / 3600000, agent_id, sum(rated_1), sum(rated_2), sum(rated_3), sum(rated_4), sum(rated_5) FROM report_rating_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (hour, agent_id) DO UPDATE SET
    rated_1 = rated_1 + excluded.rated_1,
    rated_2 = rated_2 + excluded.rated_2,
    rated_3 = rated_3 + excluded.rated_3,
    rated_4 = rated_4 + excluded.rated_4,
    rated_5 = rated_5 + excluded.rated_5;

INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
SELECT at_ms / 3600000, agent_id, sum(callbacks_due), sum(callbacks_on_time) FROM report_callback_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (hour, agent_id) DO UPDATE SET
    callbacks_due = callbacks_due + excluded.callbacks_due,
    callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;

INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
SELECT at_ms / 3600000, agent_id, sum(promises_due), sum(promises_kept) FROM report_promise_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (hour, agent_id) DO UPDATE SET
    promises_due = promises_due + excluded.promises_due,
    promises_kept = promises_kept + excluded.promises_kept;

-- The edges of a period not on a whole hour read the facts views by time.
CREATE INDEX ratings_by_rated ON ratings (rated_ms);

-- The report's other figures, read by time for every agent at once from
-- covering indexes: confirmed violations, reviews, complaints.
CREATE INDEX violations_confirmed_by_at ON violations (at_ms, agent_id) WHERE disposition = 'confirmed';
CREATE INDEX reviews_by_created ON reviews (created_ms, agent_id, score, flags);

-- complaints: a citizen's complaint against a staff member (7.1.2),
-- recorded by a supervisor; call_id is the call that brought it (the
-- complaint line), about_call_id the call complained about, either NULL.
CREATE TABLE complaints (
    id            INTEGER NOT NULL PRIMARY KEY,
    agent_id      TEXT    NOT NULL REFERENCES agents (id),
    call_id       TEXT    REFERENCES calls (id),
    about_call_id TEXT    REFERENCES calls (id),
    summary       TEXT    NOT NULL CHECK (summary <> ''),
    recorded_by   TEXT    NOT NULL REFERENCES agents (id),
    recorded_ms   INTEGER NOT NULL CHECK (recorded_ms > 0)
) STRICT;

-- The report counts them by time for every agent; the list reads them by
-- agent, newest first.
CREATE INDEX complaints_by_recorded ON complaints (recorded_ms, agent_id);
CREATE INDEX complaints_by_agent ON complaints (agent_id, recorded_ms);

-- +goose Down
DROP TABLE complaints;
DROP INDEX reviews_by_created;
DROP INDEX violations_confirmed_by_at;
DROP INDEX ratings_by_rated;
DROP TRIGGER promises_report_delete;
DROP TRIGGER promises_report_update_in;
DROP TRIGGER promises_report_update_out;
DROP TRIGGER promises_report_insert;
DROP TRIGGER callback_tasks_report_delete;
DROP TRIGGER callback_tasks_report_update_in;
DROP TRIGGER callback_tasks_report_update_out;
DROP TRIGGER callback_tasks_report_insert;
DROP TRIGGER ratings_report_delete;
DROP TRIGGER ratings_report_update_in;
DROP TRIGGER ratings_report_update_out;
DROP TRIGGER ratings_report_insert;
DROP TRIGGER call_legs_report_delete;
DROP TRIGGER call_legs_report_update_in;
DROP TRIGGER call_legs_report_update_out;
DROP TRIGGER call_legs_report_insert;
DROP TRIGGER calls_report_delete;
DROP TRIGGER calls_report_update_in;
DROP TRIGGER calls_report_update_out;
DROP TRIGGER calls_report_insert;
DROP VIEW report_promise_facts;
DROP VIEW report_callback_facts;
DROP VIEW report_rating_facts;
DROP VIEW report_leg_facts;
DROP VIEW report_call_facts;
DROP TABLE agent_hours;
