-- The assessment report (clauses 7.1.4, 7.3) and complaints (7.1.2).
--
-- A yearly report must not read a year of calls. What each row of calls,
-- call_legs, ratings, callback_tasks, promises and violations contributes
-- to the report is defined by the report_*_facts views; triggers add the
-- same facts, computed on NEW and OLD, to agent_days (per staff member and
-- day) in the same transaction as the write, whatever statement makes it.
-- (The triggers repeat the views' expressions instead of reading the
-- views: a view inside a trigger made every write statement twice as slow
-- to prepare. A test keeps the table equal to the views.)
--
-- Days are those of the working-time calendar's zone at its standard
-- offset (report_zone; the service sets it from calendar.time_zone and
-- rebuilds agent_days when it changes): a report reads whole days from
-- agent_days and, where a day of the period does not start on a bucket's
-- start (daylight saving time), the hour in between from the views.
--
-- What each figure means is written in the domain (hotline.AgentReport and
-- hotline.AgentReportFigures); the views are its SQL form.

-- +goose Up

-- report_zone: the zone agent_days counts days in, and its standard offset
-- from UTC; one row. Asia/Shanghai until the service says otherwise.
CREATE TABLE report_zone (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    name      TEXT    NOT NULL CHECK (name <> ''),
    offset_ms INTEGER NOT NULL CHECK (offset_ms BETWEEN -86400000 AND 86400000)
) STRICT;

INSERT INTO report_zone (id, name, offset_ms) VALUES (1, 'Asia/Shanghai', 28800000);

CREATE TABLE agent_days (
    agent_id             TEXT    NOT NULL,
    day                  INTEGER NOT NULL, -- (unix ms + report_zone.offset_ms) / 86400000
    answered             INTEGER NOT NULL DEFAULT 0,
    talked               INTEGER NOT NULL DEFAULT 0,
    talk_ms              INTEGER NOT NULL DEFAULT 0,
    offered              INTEGER NOT NULL DEFAULT 0,
    missed               INTEGER NOT NULL DEFAULT 0,
    answered_rings       INTEGER NOT NULL DEFAULT 0,
    ring_ms              INTEGER NOT NULL DEFAULT 0,
    rated_1              INTEGER NOT NULL DEFAULT 0,
    rated_2              INTEGER NOT NULL DEFAULT 0,
    rated_3              INTEGER NOT NULL DEFAULT 0,
    rated_4              INTEGER NOT NULL DEFAULT 0,
    rated_5              INTEGER NOT NULL DEFAULT 0,
    callbacks_due        INTEGER NOT NULL DEFAULT 0,
    callbacks_on_time    INTEGER NOT NULL DEFAULT 0,
    promises_due         INTEGER NOT NULL DEFAULT 0,
    promises_kept        INTEGER NOT NULL DEFAULT 0,
    violations_confirmed INTEGER NOT NULL DEFAULT 0,
    reviews              INTEGER NOT NULL DEFAULT 0,
    review_findings      INTEGER NOT NULL DEFAULT 0,
    review_score         INTEGER NOT NULL DEFAULT 0,
    complaints           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, day)
) STRICT, WITHOUT ROWID;

-- complaints: a citizen's complaint against a staff member (7.1.2),
-- recorded by a supervisor (recorded_by: the logged-in user's id, who need
-- not be on the roster); call_id is the call that brought it (the
-- complaint line), about_call_id the call complained about, either NULL.
CREATE TABLE complaints (
    id            INTEGER NOT NULL PRIMARY KEY,
    agent_id      TEXT    NOT NULL REFERENCES agents (id),
    call_id       TEXT    REFERENCES calls (id),
    about_call_id TEXT    REFERENCES calls (id),
    summary       TEXT    NOT NULL CHECK (summary <> ''),
    recorded_by   TEXT    NOT NULL CHECK (recorded_by <> ''),
    recorded_ms   INTEGER NOT NULL CHECK (recorded_ms > 0)
) STRICT;

-- The complaints against one agent, newest first.
CREATE INDEX complaints_by_agent ON complaints (agent_id, recorded_ms);

-- Callback tasks and promises count here once they have ended; the open
-- ones past their deadline depend on the time of the report and are read
-- from their tables.
--
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
--     or closed after the deadline; kept when fulfilled by the deadline;
--   violations a supervisor confirmed, by when they occurred;
--   reviews, by when they were written, for the agent reviewed: reviews,
--     review_findings (at least one flag) and review_score (the sum);
--   complaints, by when they were recorded, for the agent complained about.
CREATE VIEW report_call_facts AS
SELECT id, first_responsible_agent AS agent_id, arrived_ms AS at_ms,
       1 AS answered,
       (answered_ms > 0 AND ended_ms > 0) AS talked,
       CASE WHEN answered_ms > 0 AND ended_ms > 0 THEN max(ended_ms - answered_ms, 0) ELSE 0 END AS talk_ms
FROM calls
WHERE first_responsible_agent IS NOT NULL AND state IN ('answered', 'completed');

CREATE VIEW report_leg_facts AS
SELECT id, agent_id, rung_ms AS at_ms,
       1 AS offered,
       outcome IN ('no_answer', 'busy') AS missed,
       (outcome IN ('answered', 'completed') AND answered_ms > 0) AS answered_rings,
       CASE WHEN outcome IN ('answered', 'completed') AND answered_ms > 0 THEN max(answered_ms - rung_ms, 0) ELSE 0 END AS ring_ms
FROM call_legs
WHERE TRUE;

CREATE VIEW report_rating_facts AS
SELECT call_id, agent_id, rated_ms AS at_ms,
       score = 1 AS rated_1,
       score = 2 AS rated_2,
       score = 3 AS rated_3,
       score = 4 AS rated_4,
       score = 5 AS rated_5
FROM ratings
WHERE score BETWEEN 1 AND 5;

CREATE VIEW report_callback_facts AS
SELECT id, agent_id, deadline_ms AS at_ms,
       1 AS callbacks_due,
       (state IN ('connected', 'resolved') AND closed_ms <= deadline_ms) AS callbacks_on_time
FROM callback_tasks
WHERE agent_id IS NOT NULL AND (state IN ('connected', 'resolved', 'unreachable') OR (state = 'closed' AND closed_ms > deadline_ms));

CREATE VIEW report_promise_facts AS
SELECT id, agent_id, deadline_ms AS at_ms,
       1 AS promises_due,
       (state = 'fulfilled' AND fulfilled_ms <= deadline_ms) AS promises_kept
FROM promises
WHERE state = 'fulfilled' OR (state = 'closed' AND closed_ms > deadline_ms);

CREATE VIEW report_violation_facts AS
SELECT id, agent_id, at_ms,
       1 AS violations_confirmed
FROM violations
WHERE disposition = 'confirmed';

CREATE VIEW report_review_facts AS
SELECT id, agent_id, created_ms AS at_ms,
       1 AS reviews,
       (flags <> '[]') AS review_findings,
       score AS review_score
FROM reviews
WHERE TRUE;

CREATE VIEW report_complaint_facts AS
SELECT id, agent_id, recorded_ms AS at_ms,
       1 AS complaints
FROM complaints
WHERE TRUE;

-- calls: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER calls_report_insert AFTER INSERT ON calls
BEGIN
    INSERT INTO agent_days (day, agent_id, answered, talked, talk_ms)
    SELECT (NEW.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.first_responsible_agent, 1, (NEW.answered_ms > 0 AND NEW.ended_ms > 0), CASE WHEN NEW.answered_ms > 0 AND NEW.ended_ms > 0 THEN max(NEW.ended_ms - NEW.answered_ms, 0) ELSE 0 END
    WHERE NEW.first_responsible_agent IS NOT NULL AND NEW.state IN ('answered', 'completed')
    ON CONFLICT (agent_id, day) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER calls_report_update AFTER UPDATE OF state, first_responsible_agent, arrived_ms, answered_ms, ended_ms ON calls
WHEN (OLD.state, OLD.first_responsible_agent, OLD.arrived_ms, OLD.answered_ms, OLD.ended_ms) IS NOT (NEW.state, NEW.first_responsible_agent, NEW.arrived_ms, NEW.answered_ms, NEW.ended_ms)
BEGIN
    INSERT INTO agent_days (day, agent_id, answered, talked, talk_ms)
    SELECT (NEW.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.first_responsible_agent, 0, ((NEW.answered_ms > 0 AND NEW.ended_ms > 0)) - ((OLD.answered_ms > 0 AND OLD.ended_ms > 0)), (CASE WHEN NEW.answered_ms > 0 AND NEW.ended_ms > 0 THEN max(NEW.ended_ms - NEW.answered_ms, 0) ELSE 0 END) - (CASE WHEN OLD.answered_ms > 0 AND OLD.ended_ms > 0 THEN max(OLD.ended_ms - OLD.answered_ms, 0) ELSE 0 END)
    WHERE (OLD.first_responsible_agent IS NOT NULL AND OLD.state IN ('answered', 'completed')) AND (NEW.first_responsible_agent IS NOT NULL AND NEW.state IN ('answered', 'completed')) AND (OLD.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.first_responsible_agent = NEW.first_responsible_agent
    ON CONFLICT (agent_id, day) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
    INSERT INTO agent_days (day, agent_id, answered, talked, talk_ms)
    SELECT (OLD.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.first_responsible_agent, -(1), -((OLD.answered_ms > 0 AND OLD.ended_ms > 0)), -(CASE WHEN OLD.answered_ms > 0 AND OLD.ended_ms > 0 THEN max(OLD.ended_ms - OLD.answered_ms, 0) ELSE 0 END)
    WHERE (OLD.first_responsible_agent IS NOT NULL AND OLD.state IN ('answered', 'completed')) AND NOT ((OLD.first_responsible_agent IS NOT NULL AND OLD.state IN ('answered', 'completed')) AND (NEW.first_responsible_agent IS NOT NULL AND NEW.state IN ('answered', 'completed')) AND (OLD.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.first_responsible_agent = NEW.first_responsible_agent)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
    INSERT INTO agent_days (day, agent_id, answered, talked, talk_ms)
    SELECT (NEW.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.first_responsible_agent, 1, (NEW.answered_ms > 0 AND NEW.ended_ms > 0), CASE WHEN NEW.answered_ms > 0 AND NEW.ended_ms > 0 THEN max(NEW.ended_ms - NEW.answered_ms, 0) ELSE 0 END
    WHERE (NEW.first_responsible_agent IS NOT NULL AND NEW.state IN ('answered', 'completed')) AND NOT ((OLD.first_responsible_agent IS NOT NULL AND OLD.state IN ('answered', 'completed')) AND (NEW.first_responsible_agent IS NOT NULL AND NEW.state IN ('answered', 'completed')) AND (OLD.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.first_responsible_agent = NEW.first_responsible_agent)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER calls_report_delete AFTER DELETE ON calls
BEGIN
    INSERT INTO agent_days (day, agent_id, answered, talked, talk_ms)
    SELECT (OLD.arrived_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.first_responsible_agent, -(1), -((OLD.answered_ms > 0 AND OLD.ended_ms > 0)), -(CASE WHEN OLD.answered_ms > 0 AND OLD.ended_ms > 0 THEN max(OLD.ended_ms - OLD.answered_ms, 0) ELSE 0 END)
    WHERE OLD.first_responsible_agent IS NOT NULL AND OLD.state IN ('answered', 'completed')
    ON CONFLICT (agent_id, day) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- call_legs: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER call_legs_report_insert AFTER INSERT ON call_legs
BEGIN
    INSERT INTO agent_days (day, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT (NEW.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, NEW.outcome IN ('no_answer', 'busy'), (NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0), CASE WHEN NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0 THEN max(NEW.answered_ms - NEW.rung_ms, 0) ELSE 0 END
    WHERE TRUE
    ON CONFLICT (agent_id, day) DO UPDATE SET
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
    INSERT INTO agent_days (day, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT (NEW.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 0, (NEW.outcome IN ('no_answer', 'busy')) - (OLD.outcome IN ('no_answer', 'busy')), ((NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0)) - ((OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0)), (CASE WHEN NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0 THEN max(NEW.answered_ms - NEW.rung_ms, 0) ELSE 0 END) - (CASE WHEN OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0 THEN max(OLD.answered_ms - OLD.rung_ms, 0) ELSE 0 END)
    WHERE (TRUE) AND (TRUE) AND (OLD.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id
    ON CONFLICT (agent_id, day) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
    INSERT INTO agent_days (day, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT (OLD.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -(OLD.outcome IN ('no_answer', 'busy')), -((OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0)), -(CASE WHEN OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0 THEN max(OLD.answered_ms - OLD.rung_ms, 0) ELSE 0 END)
    WHERE (TRUE) AND NOT ((TRUE) AND (TRUE) AND (OLD.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
    INSERT INTO agent_days (day, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT (NEW.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, NEW.outcome IN ('no_answer', 'busy'), (NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0), CASE WHEN NEW.outcome IN ('answered', 'completed') AND NEW.answered_ms > 0 THEN max(NEW.answered_ms - NEW.rung_ms, 0) ELSE 0 END
    WHERE (TRUE) AND NOT ((TRUE) AND (TRUE) AND (OLD.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER call_legs_report_delete AFTER DELETE ON call_legs
BEGIN
    INSERT INTO agent_days (day, agent_id, offered, missed, answered_rings, ring_ms)
    SELECT (OLD.rung_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -(OLD.outcome IN ('no_answer', 'busy')), -((OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0)), -(CASE WHEN OLD.outcome IN ('answered', 'completed') AND OLD.answered_ms > 0 THEN max(OLD.answered_ms - OLD.rung_ms, 0) ELSE 0 END)
    WHERE TRUE
    ON CONFLICT (agent_id, day) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- ratings: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER ratings_report_insert AFTER INSERT ON ratings
BEGIN
    INSERT INTO agent_days (day, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT (NEW.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, NEW.score = 1, NEW.score = 2, NEW.score = 3, NEW.score = 4, NEW.score = 5
    WHERE NEW.score BETWEEN 1 AND 5
    ON CONFLICT (agent_id, day) DO UPDATE SET
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
    INSERT INTO agent_days (day, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT (NEW.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, (NEW.score = 1) - (OLD.score = 1), (NEW.score = 2) - (OLD.score = 2), (NEW.score = 3) - (OLD.score = 3), (NEW.score = 4) - (OLD.score = 4), (NEW.score = 5) - (OLD.score = 5)
    WHERE (OLD.score BETWEEN 1 AND 5) AND (NEW.score BETWEEN 1 AND 5) AND (OLD.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id
    ON CONFLICT (agent_id, day) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
    INSERT INTO agent_days (day, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT (OLD.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5)
    WHERE (OLD.score BETWEEN 1 AND 5) AND NOT ((OLD.score BETWEEN 1 AND 5) AND (NEW.score BETWEEN 1 AND 5) AND (OLD.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
    INSERT INTO agent_days (day, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT (NEW.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, NEW.score = 1, NEW.score = 2, NEW.score = 3, NEW.score = 4, NEW.score = 5
    WHERE (NEW.score BETWEEN 1 AND 5) AND NOT ((OLD.score BETWEEN 1 AND 5) AND (NEW.score BETWEEN 1 AND 5) AND (OLD.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
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
    INSERT INTO agent_days (day, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    SELECT (OLD.rated_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5)
    WHERE OLD.score BETWEEN 1 AND 5
    ON CONFLICT (agent_id, day) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- callback_tasks: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_insert AFTER INSERT ON callback_tasks
BEGIN
    INSERT INTO agent_days (day, agent_id, callbacks_due, callbacks_on_time)
    SELECT (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, (NEW.state IN ('connected', 'resolved') AND NEW.closed_ms <= NEW.deadline_ms)
    WHERE NEW.agent_id IS NOT NULL AND (NEW.state IN ('connected', 'resolved', 'unreachable') OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms))
    ON CONFLICT (agent_id, day) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_update AFTER UPDATE OF agent_id, state, deadline_ms, closed_ms ON callback_tasks
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_days (day, agent_id, callbacks_due, callbacks_on_time)
    SELECT (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 0, ((NEW.state IN ('connected', 'resolved') AND NEW.closed_ms <= NEW.deadline_ms)) - ((OLD.state IN ('connected', 'resolved') AND OLD.closed_ms <= OLD.deadline_ms))
    WHERE (OLD.agent_id IS NOT NULL AND (OLD.state IN ('connected', 'resolved', 'unreachable') OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms))) AND (NEW.agent_id IS NOT NULL AND (NEW.state IN ('connected', 'resolved', 'unreachable') OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms))) AND (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id
    ON CONFLICT (agent_id, day) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
    INSERT INTO agent_days (day, agent_id, callbacks_due, callbacks_on_time)
    SELECT (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -((OLD.state IN ('connected', 'resolved') AND OLD.closed_ms <= OLD.deadline_ms))
    WHERE (OLD.agent_id IS NOT NULL AND (OLD.state IN ('connected', 'resolved', 'unreachable') OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms))) AND NOT ((OLD.agent_id IS NOT NULL AND (OLD.state IN ('connected', 'resolved', 'unreachable') OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms))) AND (NEW.agent_id IS NOT NULL AND (NEW.state IN ('connected', 'resolved', 'unreachable') OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms))) AND (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
    INSERT INTO agent_days (day, agent_id, callbacks_due, callbacks_on_time)
    SELECT (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, (NEW.state IN ('connected', 'resolved') AND NEW.closed_ms <= NEW.deadline_ms)
    WHERE (NEW.agent_id IS NOT NULL AND (NEW.state IN ('connected', 'resolved', 'unreachable') OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms))) AND NOT ((OLD.agent_id IS NOT NULL AND (OLD.state IN ('connected', 'resolved', 'unreachable') OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms))) AND (NEW.agent_id IS NOT NULL AND (NEW.state IN ('connected', 'resolved', 'unreachable') OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms))) AND (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER callback_tasks_report_delete AFTER DELETE ON callback_tasks
BEGIN
    INSERT INTO agent_days (day, agent_id, callbacks_due, callbacks_on_time)
    SELECT (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -((OLD.state IN ('connected', 'resolved') AND OLD.closed_ms <= OLD.deadline_ms))
    WHERE OLD.agent_id IS NOT NULL AND (OLD.state IN ('connected', 'resolved', 'unreachable') OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms))
    ON CONFLICT (agent_id, day) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- promises: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER promises_report_insert AFTER INSERT ON promises
BEGIN
    INSERT INTO agent_days (day, agent_id, promises_due, promises_kept)
    SELECT (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, (NEW.state = 'fulfilled' AND NEW.fulfilled_ms <= NEW.deadline_ms)
    WHERE NEW.state = 'fulfilled' OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_report_update AFTER UPDATE OF agent_id, state, deadline_ms, fulfilled_ms, closed_ms ON promises
WHEN (OLD.agent_id, OLD.state, OLD.deadline_ms, OLD.fulfilled_ms, OLD.closed_ms) IS NOT (NEW.agent_id, NEW.state, NEW.deadline_ms, NEW.fulfilled_ms, NEW.closed_ms)
BEGIN
    INSERT INTO agent_days (day, agent_id, promises_due, promises_kept)
    SELECT (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 0, ((NEW.state = 'fulfilled' AND NEW.fulfilled_ms <= NEW.deadline_ms)) - ((OLD.state = 'fulfilled' AND OLD.fulfilled_ms <= OLD.deadline_ms))
    WHERE (OLD.state = 'fulfilled' OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms)) AND (NEW.state = 'fulfilled' OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms)) AND (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id
    ON CONFLICT (agent_id, day) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
    INSERT INTO agent_days (day, agent_id, promises_due, promises_kept)
    SELECT (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -((OLD.state = 'fulfilled' AND OLD.fulfilled_ms <= OLD.deadline_ms))
    WHERE (OLD.state = 'fulfilled' OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms)) AND NOT ((OLD.state = 'fulfilled' OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms)) AND (NEW.state = 'fulfilled' OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms)) AND (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
    INSERT INTO agent_days (day, agent_id, promises_due, promises_kept)
    SELECT (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, (NEW.state = 'fulfilled' AND NEW.fulfilled_ms <= NEW.deadline_ms)
    WHERE (NEW.state = 'fulfilled' OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms)) AND NOT ((OLD.state = 'fulfilled' OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms)) AND (NEW.state = 'fulfilled' OR (NEW.state = 'closed' AND NEW.closed_ms > NEW.deadline_ms)) AND (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER promises_report_delete AFTER DELETE ON promises
BEGIN
    INSERT INTO agent_days (day, agent_id, promises_due, promises_kept)
    SELECT (OLD.deadline_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -((OLD.state = 'fulfilled' AND OLD.fulfilled_ms <= OLD.deadline_ms))
    WHERE OLD.state = 'fulfilled' OR (OLD.state = 'closed' AND OLD.closed_ms > OLD.deadline_ms)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- violations: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER violations_report_insert AFTER INSERT ON violations
BEGIN
    INSERT INTO agent_days (day, agent_id, violations_confirmed)
    SELECT (NEW.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1
    WHERE NEW.disposition = 'confirmed'
    ON CONFLICT (agent_id, day) DO UPDATE SET
        violations_confirmed = violations_confirmed + excluded.violations_confirmed;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER violations_report_update AFTER UPDATE OF agent_id, at_ms, disposition ON violations
WHEN (OLD.agent_id, OLD.at_ms, OLD.disposition) IS NOT (NEW.agent_id, NEW.at_ms, NEW.disposition)
BEGIN
    INSERT INTO agent_days (day, agent_id, violations_confirmed)
    SELECT (NEW.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 0
    WHERE (OLD.disposition = 'confirmed') AND (NEW.disposition = 'confirmed') AND (OLD.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id
    ON CONFLICT (agent_id, day) DO UPDATE SET
        violations_confirmed = violations_confirmed + excluded.violations_confirmed;
    INSERT INTO agent_days (day, agent_id, violations_confirmed)
    SELECT (OLD.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1)
    WHERE (OLD.disposition = 'confirmed') AND NOT ((OLD.disposition = 'confirmed') AND (NEW.disposition = 'confirmed') AND (OLD.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        violations_confirmed = violations_confirmed + excluded.violations_confirmed;
    INSERT INTO agent_days (day, agent_id, violations_confirmed)
    SELECT (NEW.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1
    WHERE (NEW.disposition = 'confirmed') AND NOT ((OLD.disposition = 'confirmed') AND (NEW.disposition = 'confirmed') AND (OLD.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        violations_confirmed = violations_confirmed + excluded.violations_confirmed;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER violations_report_delete AFTER DELETE ON violations
BEGIN
    INSERT INTO agent_days (day, agent_id, violations_confirmed)
    SELECT (OLD.at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1)
    WHERE OLD.disposition = 'confirmed'
    ON CONFLICT (agent_id, day) DO UPDATE SET
        violations_confirmed = violations_confirmed + excluded.violations_confirmed;
END;
-- +goose StatementEnd

-- reviews: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER reviews_report_insert AFTER INSERT ON reviews
BEGIN
    INSERT INTO agent_days (day, agent_id, reviews, review_findings, review_score)
    SELECT (NEW.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, (NEW.flags <> '[]'), NEW.score
    WHERE TRUE
    ON CONFLICT (agent_id, day) DO UPDATE SET
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER reviews_report_update AFTER UPDATE OF agent_id, created_ms, score, flags ON reviews
WHEN (OLD.agent_id, OLD.created_ms, OLD.score, OLD.flags) IS NOT (NEW.agent_id, NEW.created_ms, NEW.score, NEW.flags)
BEGIN
    INSERT INTO agent_days (day, agent_id, reviews, review_findings, review_score)
    SELECT (NEW.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 0, ((NEW.flags <> '[]')) - ((OLD.flags <> '[]')), (NEW.score) - (OLD.score)
    WHERE (TRUE) AND (TRUE) AND (OLD.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id
    ON CONFLICT (agent_id, day) DO UPDATE SET
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score;
    INSERT INTO agent_days (day, agent_id, reviews, review_findings, review_score)
    SELECT (OLD.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -((OLD.flags <> '[]')), -(OLD.score)
    WHERE (TRUE) AND NOT ((TRUE) AND (TRUE) AND (OLD.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score;
    INSERT INTO agent_days (day, agent_id, reviews, review_findings, review_score)
    SELECT (NEW.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1, (NEW.flags <> '[]'), NEW.score
    WHERE (TRUE) AND NOT ((TRUE) AND (TRUE) AND (OLD.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER reviews_report_delete AFTER DELETE ON reviews
BEGIN
    INSERT INTO agent_days (day, agent_id, reviews, review_findings, review_score)
    SELECT (OLD.created_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1), -((OLD.flags <> '[]')), -(OLD.score)
    WHERE TRUE
    ON CONFLICT (agent_id, day) DO UPDATE SET
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score;
END;
-- +goose StatementEnd

-- complaints: its rows' facts as inserted, before and after an update, and as
-- deleted.
-- +goose StatementBegin
CREATE TRIGGER complaints_report_insert AFTER INSERT ON complaints
BEGIN
    INSERT INTO agent_days (day, agent_id, complaints)
    SELECT (NEW.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1
    WHERE TRUE
    ON CONFLICT (agent_id, day) DO UPDATE SET
        complaints = complaints + excluded.complaints;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER complaints_report_update AFTER UPDATE OF agent_id, recorded_ms ON complaints
WHEN (OLD.agent_id, OLD.recorded_ms) IS NOT (NEW.agent_id, NEW.recorded_ms)
BEGIN
    INSERT INTO agent_days (day, agent_id, complaints)
    SELECT (NEW.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 0
    WHERE (TRUE) AND (TRUE) AND (OLD.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id
    ON CONFLICT (agent_id, day) DO UPDATE SET
        complaints = complaints + excluded.complaints;
    INSERT INTO agent_days (day, agent_id, complaints)
    SELECT (OLD.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1)
    WHERE (TRUE) AND NOT ((TRUE) AND (TRUE) AND (OLD.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        complaints = complaints + excluded.complaints;
    INSERT INTO agent_days (day, agent_id, complaints)
    SELECT (NEW.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000, NEW.agent_id, 1
    WHERE (TRUE) AND NOT ((TRUE) AND (TRUE) AND (OLD.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000 = (NEW.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000 AND OLD.agent_id = NEW.agent_id)
    ON CONFLICT (agent_id, day) DO UPDATE SET
        complaints = complaints + excluded.complaints;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER complaints_report_delete AFTER DELETE ON complaints
BEGIN
    INSERT INTO agent_days (day, agent_id, complaints)
    SELECT (OLD.recorded_ms + (SELECT offset_ms FROM report_zone)) / 86400000, OLD.agent_id, -(1)
    WHERE TRUE
    ON CONFLICT (agent_id, day) DO UPDATE SET
        complaints = complaints + excluded.complaints;
END;
-- +goose StatementEnd

-- The rows already stored.
INSERT INTO agent_days (day, agent_id, answered, talked, talk_ms)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(answered), sum(talked), sum(talk_ms) FROM report_call_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    answered = answered + excluded.answered,
    talked = talked + excluded.talked,
    talk_ms = talk_ms + excluded.talk_ms;

INSERT INTO agent_days (day, agent_id, offered, missed, answered_rings, ring_ms)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(offered), sum(missed), sum(answered_rings), sum(ring_ms) FROM report_leg_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    offered = offered + excluded.offered,
    missed = missed + excluded.missed,
    answered_rings = answered_rings + excluded.answered_rings,
    ring_ms = ring_ms + excluded.ring_ms;

INSERT INTO agent_days (day, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(rated_1), sum(rated_2), sum(rated_3), sum(rated_4), sum(rated_5) FROM report_rating_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    rated_1 = rated_1 + excluded.rated_1,
    rated_2 = rated_2 + excluded.rated_2,
    rated_3 = rated_3 + excluded.rated_3,
    rated_4 = rated_4 + excluded.rated_4,
    rated_5 = rated_5 + excluded.rated_5;

INSERT INTO agent_days (day, agent_id, callbacks_due, callbacks_on_time)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(callbacks_due), sum(callbacks_on_time) FROM report_callback_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    callbacks_due = callbacks_due + excluded.callbacks_due,
    callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;

INSERT INTO agent_days (day, agent_id, promises_due, promises_kept)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(promises_due), sum(promises_kept) FROM report_promise_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    promises_due = promises_due + excluded.promises_due,
    promises_kept = promises_kept + excluded.promises_kept;

INSERT INTO agent_days (day, agent_id, violations_confirmed)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(violations_confirmed) FROM report_violation_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    violations_confirmed = violations_confirmed + excluded.violations_confirmed;

INSERT INTO agent_days (day, agent_id, reviews, review_findings, review_score)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(reviews), sum(review_findings), sum(review_score) FROM report_review_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    reviews = reviews + excluded.reviews,
    review_findings = review_findings + excluded.review_findings,
    review_score = review_score + excluded.review_score;

INSERT INTO agent_days (day, agent_id, complaints)
SELECT (at_ms + (SELECT offset_ms FROM report_zone)) / 86400000, agent_id, sum(complaints) FROM report_complaint_facts WHERE TRUE GROUP BY 1, 2
ON CONFLICT (agent_id, day) DO UPDATE SET
    complaints = complaints + excluded.complaints;

-- The edges of a period that are not whole days of agent_days read the
-- facts views by time.
CREATE INDEX ratings_by_rated ON ratings (rated_ms);
CREATE INDEX violations_confirmed_by_at ON violations (at_ms, agent_id) WHERE disposition = 'confirmed';
CREATE INDEX reviews_by_created ON reviews (created_ms);
CREATE INDEX complaints_by_recorded ON complaints (recorded_ms);

-- +goose Down
DROP INDEX complaints_by_recorded;
DROP INDEX reviews_by_created;
DROP INDEX violations_confirmed_by_at;
DROP INDEX ratings_by_rated;
DROP TRIGGER complaints_report_insert;
DROP TRIGGER complaints_report_update;
DROP TRIGGER complaints_report_delete;
DROP TRIGGER reviews_report_insert;
DROP TRIGGER reviews_report_update;
DROP TRIGGER reviews_report_delete;
DROP TRIGGER violations_report_insert;
DROP TRIGGER violations_report_update;
DROP TRIGGER violations_report_delete;
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
DROP VIEW report_complaint_facts;
DROP VIEW report_review_facts;
DROP VIEW report_violation_facts;
DROP VIEW report_promise_facts;
DROP VIEW report_callback_facts;
DROP VIEW report_rating_facts;
DROP VIEW report_leg_facts;
DROP VIEW report_call_facts;
DROP TABLE complaints;
DROP TABLE agent_days;
DROP TABLE report_zone;
