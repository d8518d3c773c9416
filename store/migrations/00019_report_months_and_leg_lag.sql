-- The 7.3 report for a year read about 12,000 agent_days rows (33 staff ×
-- 365 days) and summed 21 columns of each: 7–12 ms at the median on 10M
-- calls, the slowest of the console's queries. agent_months holds the same
-- sums per staff member and calendar month of the report's zone, kept by
-- triggers on agent_days in the same transaction as the write that changed
-- the day, whatever statement makes it (the fact triggers' upserts, a
-- recount, a delete): a report reads whole months here and only the days
-- at its edges from agent_days, so a year is 12 rows a staff member.
--
-- A day number counts days since 1970-01-01 in the zone's standard offset
-- (agent_days.day), so the calendar date of day d is 1970-01-01 plus d
-- days, and its month is written yyyymm (202601).
--
-- An agent's own calls (the call log's calls an agent was responsible for
-- or rung on) are read through the agent's indexes, calls_by_agent and
-- call_legs_by_agent, newest first. A leg is found by when it rang, a call
-- listed by when it arrived: call_leg_lag keeps the smallest and largest
-- rung_ms - arrived_ms of any leg ever stored (triggers widen it; nothing
-- narrows it), so that the legs of the calls that arrived in a period are
-- those rung in the period moved by those bounds, and the walk through the
-- legs knows when no later leg can belong to a newer call.

-- +goose Up

CREATE TABLE agent_months (
    agent_id             TEXT    NOT NULL,
    month                INTEGER NOT NULL, -- yyyymm of the agent_days days it sums
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
    PRIMARY KEY (agent_id, month)
) STRICT, WITHOUT ROWID;

-- agent_days: each row's sums as inserted; the change an update makes to
-- the columns of one fact view (a trigger for each, so that a fact
-- trigger's upsert adds to its own few columns only); a row moved to
-- another day or staff member leaves its old month; and as deleted.
-- +goose StatementBegin
CREATE TRIGGER agent_days_months_insert AFTER INSERT ON agent_days
BEGIN
    INSERT INTO agent_months (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.answered, NEW.talked, NEW.talk_ms, NEW.offered, NEW.missed, NEW.answered_rings, NEW.ring_ms, NEW.rated_1, NEW.rated_2, NEW.rated_3, NEW.rated_4, NEW.rated_5, NEW.callbacks_due, NEW.callbacks_on_time, NEW.promises_due, NEW.promises_kept, NEW.violations_confirmed, NEW.reviews, NEW.review_findings, NEW.review_score, NEW.complaints)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms,
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms,
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5,
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time,
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept,
        violations_confirmed = violations_confirmed + excluded.violations_confirmed,
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score,
        complaints = complaints + excluded.complaints;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_calls AFTER UPDATE OF answered, talked, talk_ms ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, answered, talked, talk_ms)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.answered - OLD.answered, NEW.talked - OLD.talked, NEW.talk_ms - OLD.talk_ms)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_legs AFTER UPDATE OF offered, missed, answered_rings, ring_ms ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, offered, missed, answered_rings, ring_ms)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.offered - OLD.offered, NEW.missed - OLD.missed, NEW.answered_rings - OLD.answered_rings, NEW.ring_ms - OLD.ring_ms)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_ratings AFTER UPDATE OF rated_1, rated_2, rated_3, rated_4, rated_5 ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.rated_1 - OLD.rated_1, NEW.rated_2 - OLD.rated_2, NEW.rated_3 - OLD.rated_3, NEW.rated_4 - OLD.rated_4, NEW.rated_5 - OLD.rated_5)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_callbacks AFTER UPDATE OF callbacks_due, callbacks_on_time ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, callbacks_due, callbacks_on_time)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.callbacks_due - OLD.callbacks_due, NEW.callbacks_on_time - OLD.callbacks_on_time)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_promises AFTER UPDATE OF promises_due, promises_kept ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, promises_due, promises_kept)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.promises_due - OLD.promises_due, NEW.promises_kept - OLD.promises_kept)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_violations AFTER UPDATE OF violations_confirmed ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, violations_confirmed)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.violations_confirmed - OLD.violations_confirmed)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        violations_confirmed = violations_confirmed + excluded.violations_confirmed;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_reviews AFTER UPDATE OF reviews, review_findings, review_score ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, reviews, review_findings, review_score)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.reviews - OLD.reviews, NEW.review_findings - OLD.review_findings, NEW.review_score - OLD.review_score)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_complaints AFTER UPDATE OF complaints ON agent_days
WHEN (OLD.agent_id, OLD.day) IS (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, complaints)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.complaints - OLD.complaints)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        complaints = complaints + excluded.complaints;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_move AFTER UPDATE OF agent_id, day ON agent_days
WHEN (OLD.agent_id, OLD.day) IS NOT (NEW.agent_id, NEW.day)
BEGIN
    INSERT INTO agent_months (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
    VALUES (CAST(strftime('%Y%m', OLD.day * 86400, 'unixepoch') AS INTEGER), OLD.agent_id, -OLD.answered, -OLD.talked, -OLD.talk_ms, -OLD.offered, -OLD.missed, -OLD.answered_rings, -OLD.ring_ms, -OLD.rated_1, -OLD.rated_2, -OLD.rated_3, -OLD.rated_4, -OLD.rated_5, -OLD.callbacks_due, -OLD.callbacks_on_time, -OLD.promises_due, -OLD.promises_kept, -OLD.violations_confirmed, -OLD.reviews, -OLD.review_findings, -OLD.review_score, -OLD.complaints)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms,
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms,
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5,
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time,
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept,
        violations_confirmed = violations_confirmed + excluded.violations_confirmed,
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score,
        complaints = complaints + excluded.complaints;
    INSERT INTO agent_months (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.agent_id, NEW.answered, NEW.talked, NEW.talk_ms, NEW.offered, NEW.missed, NEW.answered_rings, NEW.ring_ms, NEW.rated_1, NEW.rated_2, NEW.rated_3, NEW.rated_4, NEW.rated_5, NEW.callbacks_due, NEW.callbacks_on_time, NEW.promises_due, NEW.promises_kept, NEW.violations_confirmed, NEW.reviews, NEW.review_findings, NEW.review_score, NEW.complaints)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms,
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms,
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5,
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time,
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept,
        violations_confirmed = violations_confirmed + excluded.violations_confirmed,
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score,
        complaints = complaints + excluded.complaints;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agent_days_months_delete AFTER DELETE ON agent_days
BEGIN
    INSERT INTO agent_months (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
    VALUES (CAST(strftime('%Y%m', OLD.day * 86400, 'unixepoch') AS INTEGER), OLD.agent_id, -OLD.answered, -OLD.talked, -OLD.talk_ms, -OLD.offered, -OLD.missed, -OLD.answered_rings, -OLD.ring_ms, -OLD.rated_1, -OLD.rated_2, -OLD.rated_3, -OLD.rated_4, -OLD.rated_5, -OLD.callbacks_due, -OLD.callbacks_on_time, -OLD.promises_due, -OLD.promises_kept, -OLD.violations_confirmed, -OLD.reviews, -OLD.review_findings, -OLD.review_score, -OLD.complaints)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        answered = answered + excluded.answered,
        talked = talked + excluded.talked,
        talk_ms = talk_ms + excluded.talk_ms,
        offered = offered + excluded.offered,
        missed = missed + excluded.missed,
        answered_rings = answered_rings + excluded.answered_rings,
        ring_ms = ring_ms + excluded.ring_ms,
        rated_1 = rated_1 + excluded.rated_1,
        rated_2 = rated_2 + excluded.rated_2,
        rated_3 = rated_3 + excluded.rated_3,
        rated_4 = rated_4 + excluded.rated_4,
        rated_5 = rated_5 + excluded.rated_5,
        callbacks_due = callbacks_due + excluded.callbacks_due,
        callbacks_on_time = callbacks_on_time + excluded.callbacks_on_time,
        promises_due = promises_due + excluded.promises_due,
        promises_kept = promises_kept + excluded.promises_kept,
        violations_confirmed = violations_confirmed + excluded.violations_confirmed,
        reviews = reviews + excluded.reviews,
        review_findings = review_findings + excluded.review_findings,
        review_score = review_score + excluded.review_score,
        complaints = complaints + excluded.complaints;
END;
-- +goose StatementEnd

-- The days already counted.
INSERT INTO agent_months (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
SELECT CAST(strftime('%Y%m', d.day * 86400, 'unixepoch') AS INTEGER), agent_id, sum(answered), sum(talked), sum(talk_ms), sum(offered), sum(missed), sum(answered_rings), sum(ring_ms), sum(rated_1), sum(rated_2), sum(rated_3), sum(rated_4), sum(rated_5), sum(callbacks_due), sum(callbacks_on_time), sum(promises_due), sum(promises_kept), sum(violations_confirmed), sum(reviews), sum(review_findings), sum(review_score), sum(complaints)
FROM agent_days AS d GROUP BY 1, 2;

-- call_leg_lag: one row; the bounds of rung_ms - calls.arrived_ms over
-- every call_legs row (0 and 0 while there is none).
CREATE TABLE call_leg_lag (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    min_ms INTEGER NOT NULL,
    max_ms INTEGER NOT NULL CHECK (max_ms >= min_ms)
) STRICT;

-- The legs already stored.
INSERT INTO call_leg_lag (id, min_ms, max_ms)
SELECT 1, coalesce(min(l.rung_ms - c.arrived_ms), 0), coalesce(max(l.rung_ms - c.arrived_ms), 0)
FROM call_legs AS l JOIN calls AS c ON c.id = l.call_id;

-- A leg inserted, or moved to another time or call, widens the bounds when
-- it falls outside them (a write only then).
-- +goose StatementBegin
CREATE TRIGGER call_legs_lag_insert AFTER INSERT ON call_legs
BEGIN
    UPDATE call_leg_lag SET min_ms = min(min_ms, lag), max_ms = max(max_ms, lag)
    FROM (SELECT NEW.rung_ms - arrived_ms AS lag FROM calls WHERE id = NEW.call_id)
    WHERE lag NOT BETWEEN min_ms AND max_ms;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER call_legs_lag_update AFTER UPDATE OF call_id, rung_ms ON call_legs
WHEN (OLD.call_id, OLD.rung_ms) IS NOT (NEW.call_id, NEW.rung_ms)
BEGIN
    UPDATE call_leg_lag SET min_ms = min(min_ms, lag), max_ms = max(max_ms, lag)
    FROM (SELECT NEW.rung_ms - arrived_ms AS lag FROM calls WHERE id = NEW.call_id)
    WHERE lag NOT BETWEEN min_ms AND max_ms;
END;
-- +goose StatementEnd

-- A call whose arrival moves widens them with each of its legs.
-- +goose StatementBegin
CREATE TRIGGER calls_lag_update AFTER UPDATE OF arrived_ms ON calls
WHEN OLD.arrived_ms IS NOT NEW.arrived_ms
BEGIN
    UPDATE call_leg_lag SET min_ms = min(min_ms, lo), max_ms = max(max_ms, hi)
    FROM (SELECT min(rung_ms) - NEW.arrived_ms AS lo, max(rung_ms) - NEW.arrived_ms AS hi FROM call_legs WHERE call_id = NEW.id)
    WHERE lo < min_ms OR hi > max_ms;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER calls_lag_update;
DROP TRIGGER call_legs_lag_update;
DROP TRIGGER call_legs_lag_insert;
DROP TABLE call_leg_lag;
DROP TRIGGER agent_days_months_delete;
DROP TRIGGER agent_days_months_move;
DROP TRIGGER agent_days_months_complaints;
DROP TRIGGER agent_days_months_reviews;
DROP TRIGGER agent_days_months_violations;
DROP TRIGGER agent_days_months_promises;
DROP TRIGGER agent_days_months_callbacks;
DROP TRIGGER agent_days_months_ratings;
DROP TRIGGER agent_days_months_legs;
DROP TRIGGER agent_days_months_calls;
DROP TRIGGER agent_days_months_insert;
DROP TABLE agent_months;
