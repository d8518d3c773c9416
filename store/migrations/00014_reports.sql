-- The assessment report (clauses 7.1.4, 7.3) and complaints (7.1.2).
--
-- A yearly report must not read a year of calls: agent_hours keeps, per
-- staff member and hour, the sums the report adds up, and triggers keep it
-- in step with every write to calls, call_legs, ratings, callback_tasks and
-- promises, in the same transaction, whatever statement writes them. What
-- each row contributes is defined by the report_*_facts views; the triggers
-- compute the same expressions on NEW and OLD (a view inside a trigger
-- made every write statement twice as slow to prepare), subtracting a
-- row's old facts and adding its new ones, and a test keeps agent_hours
-- equal to the views.
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

-- The facts each row contributes, filed under a staff member and a time:
--   calls, by arrival, for the first-responsible agent: answered (in
--     progress or completed); talked and talk_ms once ended;
--   call_legs, by the time the ring started, for the agent rung: offered;
--     missed when it rang out or was declined; answered_rings and ring_ms
--     (ring to answer) when the agent answered and the leg connected;
--   ratings given (1..5), by when, for the agent rated;
--   callback_tasks that ended, by deadline, for their agent: due when
--     connected, resolved or unreachable, or closed after the deadline (a
--     task closed by a supervisor by its deadline, and an invalid number,
--     are no one's); on time when connected or resolved by the deadline;
--   promises that ended, by deadline, for their owner: due when fulfilled,
--     or closed after the deadline; kept when fulfilled by the deadline.
CREATE VIEW report_call_facts AS
SELECT id, first_responsible_agent AS agent_id, arrived_ms AS at_ms,
       1 AS answered,
       (answered_ms > 0 AND ended_ms > 0) AS talked,
       CASE WHEN answered_ms > 0 AND ended_ms > 0 THEN max(ended_ms - answered_ms, 0) ELSE 0 END AS talk_ms
FROM calls
WHERE first_responsible_agent IS NOT NULL AND state IN ('answered', 'completed');

CREATE VIEW report_leg_facts AS
SELECT id, agent_id AS agent_id, rung_ms AS at_ms,
       1 AS offered,
       outcome IN ('no_answer', 'busy') AS missed,
       (outcome IN ('answered', 'completed') AND answered_ms > 0) AS answered_rings,
       CASE WHEN outcome IN ('answered', 'completed') AND answered_ms > 0 THEN max(answered_ms - rung_ms, 0) ELSE 0 END AS ring_ms
FROM call_legs
WHERE TRUE;

CREATE VIEW report_rating_facts AS
SELECT call_id, agent_id AS agent_id, rated_ms AS at_ms,
       score = 1 AS rated_1,
       score = 2 AS rated_2,
       score = 3 AS rated_3,
       score = 4 AS rated_4,
       score = 5 AS rated_5
FROM ratings
WHERE score BETWEEN 1 AND 5;

CREATE VIEW report_callback_facts AS
SELECT id, agent_id AS agent_id, deadline_ms AS at_ms,
       1 AS callbacks_due,
       (state IN ('connected', 'resolved') AND closed_ms <= deadline_ms) AS callbacks_on_time
FROM callback_tasks
WHERE agent_id IS NOT NULL AND (state IN ('connected', 'resolved', 'unreachable') OR (state = 'closed' AND closed_ms > deadline_ms));

CREATE VIEW report_promise_facts AS
SELECT id, agent_id AS agent_id, deadline_ms AS at_ms,
       1 AS promises_due,
       (state = 'fulfilled' AND fulfilled_ms <= deadline_ms) AS promises_kept
FROM promises
WHERE state = 'fulfilled' OR (state = 'closed' AND closed_ms > deadline_ms);

-- calls: the facts of report_call_facts, of the row as inserted, before and after
-- an update, and as deleted.
-- +goose StatementBegin
CREATE TRIGGER calls_report_insert AFTER INSERT ON calls
BEGIN
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT NEW.arrived_ms / 3600000, NEW.first_responsible_agent, 1, (NEW.answered_ms > 0 AND NEW.ended_ms > 0), CASE WHEN NEW.answered_ms > 0 AND NEW.ended_ms > 0 THEN max(NEW.ended_ms - NEW.answered_ms, 0) ELSE 0 END
    WHERE NEW.first_responsible_agent IS NOT NULL AND NEW.state IN ('answered', 'completed')
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER calls_report_update AFTER UPDATE OF state, first_responsible_agent, arrived_ms, answered_ms, ended_ms ON calls
WHEN (OLD.state, OLD.first_responsible_agent, OLD.arrived_ms, OLD.answered_ms, OLD.ended_ms) IS NOT (NEW.state, NEW.first_responsible_agent, NEW.arrived_ms, NEW.answered_ms, NEW.ended_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT OLD.arrived_ms / 3600000, OLD.first_responsible_agent, -1, -((OLD.answered_ms > 0 AND OLD.ended_ms > 0)), -(CASE WHEN OLD.answered_ms > 0 AND OLD.ended_ms > 0 THEN max(OLD.ended_ms - OLD.answered_ms, 0) ELSE 0 END)
    WHERE OLD.first_responsible_agent IS NOT NULL AND OLD.state IN ('answered', 'completed')
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT NEW.arrived_ms / 3600000, NEW.first_responsible_agent, 1, (NEW.answered_ms > 0 AND NEW.ended_ms > 0), CASE WHEN NEW.answered_ms > 0 AND NEW.ended_ms > 0 THEN max(NEW.ended_ms - NEW.answered_ms, 0) ELSE 0 END
    WHERE NEW.first_responsible_agent IS NOT NULL AND NEW.state IN ('answered', 'completed')
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER calls_report_delete AFTER DELETE ON calls
BEGIN
    INSERT INTO agent_hours (hour, agent_id, answered, talked, talk_ms)
    SELECT OLD.arrived_ms / 3600000, OLD.first_responsible_agent, -1, -((OLD.answered_ms > 0 AND OLD.ended_ms > 0)), -(CASE WHEN OLD.answered_ms > 0 AND OLD.ended_ms > 0 THEN max(OLD.ended_ms - OLD.answered_ms, 0) ELSE 0 END)
    WHERE OLD.first_responsible_agent IS NOT NULL AND OLD.state IN ('answered', 'completed')
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- call_legs: the facts of report_leg_facts, of the row as inserted, before and after
-- an update, and as deleted.
-- +goose StatementBegin
CREATE TRIGGER call_legs_report_insert AFTER INSERT ON call_legs
BEGIN
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT NEW.rung_ms / 3600000, NEW.agent_id, 1, NEW.outcome IN ('no_answer', 'busy'), (NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0), CASE WHEN NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0 THEN max(NEW.answered_ms - NEW.rung_ms, 0) ELSE 0 END
    WHERE TRUE
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER call_legs_report_update AFTER UPDATE OF agent_id, outcome, rung_ms, answered_ms ON call_legs
WHEN (OLD.agent_id, OLD.outcome, OLD.rung_ms, OLD.answered_ms) IS NOT (NEW.agent_id, NEW.outcome, NEW.rung_ms, NEW.answered_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT OLD.rung_ms / 3600000, OLD.agent_id, -1, -(OLD.outcome IN ('no_answer', 'busy')), -((OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0)), -(CASE WHEN OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0 THEN max(OLD.answered_ms - OLD.rung_ms, 0) ELSE 0 END)
    WHERE TRUE
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT NEW.rung_ms / 3600000, NEW.agent_id, 1, NEW.outcome IN ('no_answer', 'busy'), (NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0), CASE WHEN NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0 THEN max(NEW.answered_ms - NEW.rung_ms, 0) ELSE 0 END
    WHERE TRUE
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER call_legs_report_delete AFTER DELETE ON call_legs
BEGIN
    INSERT INTO agent_hours (hour, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT OLD.rung_ms / 3600000, OLD.agent_id, -1, -(OLD.outcome IN ('no_answer', 'busy')), -((OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0)), -(CASE WHEN OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0 THEN max(OLD.answered_ms - OLD.rung_ms, 0) ELSE 0 END)
    WHERE TRUE
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- ratings: the facts of report_rating_facts, of the row as inserted, before and after
-- an update, and as deleted.
-- +goose StatementBegin
CREATE TRIGGER ratings_report_insert AFTER INSERT ON ratings
BEGIN
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT NEW.rated_ms / 3600000, NEW.agent_id, NEW.score = 1, NEW.score = 2, NEW.score = 3, NEW.score = 4, NEW.score = 5
    WHERE NEW.score BETWEEN 1 AND 5
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ratings_report_update AFTER UPDATE OF agent_id, score, rated_ms ON ratings
WHEN (OLD.agent_id, OLD.score, OLD.rated_ms) IS NOT (NEW.agent_id, NEW.score, NEW.rated_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT OLD.rated_ms / 3600000, OLD.agent_id, -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5)
    WHERE OLD.score BETWEEN 1 AND 5
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT NEW.rated_ms / 3600000, NEW.agent_id, NEW.score = 1, NEW.score = 2, NEW.score = 3, NEW.score = 4, NEW.score = 5
    WHERE NEW.score BETWEEN 1 AND 5
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ratings_report_delete AFTER DELETE ON ratings
BEGIN
    INSERT INTO agent_hours (hour, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT OLD.rated_ms / 3600000, OLD.agent_id, -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5)
    WHERE OLD.score BETWEEN 1 AND 5
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- callback_tasks: the facts of report_callback_facts, of the row as inserted, before and after
-- an update, and as deleted.
-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_insert AFTER INSERT ON callback_tasks
BEGIN
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT NEW.deadline_ms / 3600000, NEW.agent_id, 1, (NEW.state IN ('connected', 'resolved') AND NEW.closed_ms <= NEW.deadline_ms)
    WHERE NEW.agent_id IS NOT NULL AND (NEW.state IN ('connected', 'resolved', 'unreachable') OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms))
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_update AFTER UPDATE OF agent_id, state, deadline_ms, closed_ms ON callback_tasks
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT OLD.deadline_ms / 3600000, OLD.agent_id, -1, -((OLD.state IN ('connected', 'resolved') AND OLD.closed_ms <= OLD.deadline_ms))
    WHERE OLD.agent_id IS NOT NULL AND (OLD.state IN ('connected', 'resolved', 'unreachable') OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms))
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT NEW.deadline_ms / 3600000, NEW.agent_id, 1, (NEW.state IN ('connected', 'resolved') AND NEW.closed_ms <= NEW.deadline_ms)
    WHERE NEW.agent_id IS NOT NULL AND (NEW.state IN ('connected', 'resolved', 'unreachable') OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms))
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_delete AFTER DELETE ON callback_tasks
BEGIN
    INSERT INTO agent_hours (hour, agent_id, callbacks_due, callbacks_on_time)
    SELECT OLD.deadline_ms / 3600000, OLD.agent_id, -1, -((OLD.state IN ('connected', 'resolved') AND OLD.closed_ms <= OLD.deadline_ms))
    WHERE OLD.agent_id IS NOT NULL AND (OLD.state IN ('connected', 'resolved', 'unreachable') OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms))
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- promises: the facts of report_promise_facts, of the row as inserted, before and after
-- an update, and as deleted.
-- +goose StatementBegin
CREATE TRIGGER promises_report_insert AFTER INSERT ON promises
BEGIN
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT NEW.deadline_ms / 3600000, NEW.agent_id, 1, (NEW.state = 'fulfilled' AND NEW.fulfilled_ms <= NEW.deadline_ms)
    WHERE NEW.state = 'fulfilled' OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms)
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_report_update AFTER UPDATE OF agent_id, state, deadline_ms, fulfilled_ms, closed_ms ON promises
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.fulfilled_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.fulfilled_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT OLD.deadline_ms / 3600000, OLD.agent_id, -1, -((OLD.state = 'fulfilled' AND OLD.fulfilled_ms <= OLD.deadline_ms))
    WHERE OLD.state = 'fulfilled' OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms)
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT NEW.deadline_ms / 3600000, NEW.agent_id, 1, (NEW.state = 'fulfilled' AND NEW.fulfilled_ms <= NEW.deadline_ms)
    WHERE NEW.state = 'fulfilled' OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms)
    ON CONFLICT (hour, agent_id) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_report_delete AFTER DELETE ON promises
BEGIN
    INSERT INTO agent_hours (hour, agent_id, promises_due, promises_kept)
    SELECT OLD.deadline_ms / 3600000, OLD.agent_id, -1, -((OLD.state = 'fulfilled' AND OLD.fulfilled_ms <= OLD.deadline_ms))
    WHERE OLD.state = 'fulfilled' OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms)
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
DROP TRIGGER promises_report_insert;
DROP TRIGGER promises_report_update;
DROP TRIGGER promises_report_delete;
DROP TRIGGER callback_tasks_report_insert;
DROP TRIGGER callback_tasks_report_update;
DROP TRIGGER callback_tasks_report_delete;
DROP TRIGGER ratings_report_insert;
DROP TRIGGER ratings_report_update;
DROP TRIGGER ratings_report_delete;
DROP TRIGGER call_legs_report_insert;
DROP TRIGGER call_legs_report_update;
DROP TRIGGER call_legs_report_delete;
DROP TRIGGER calls_report_insert;
DROP TRIGGER calls_report_update;
DROP TRIGGER calls_report_delete;

DROP VIEW report_promise_facts;
DROP VIEW report_callback_facts;
DROP VIEW report_rating_facts;
DROP VIEW report_leg_facts;
DROP VIEW report_call_facts;
DROP TABLE agent_hours;
