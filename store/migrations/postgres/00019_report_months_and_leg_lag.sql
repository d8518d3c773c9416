-- Monthly sums of agent_days and the bounds of a leg's lag behind its
-- call's arrival, PostgreSQL form of ../00019_report_months_and_leg_lag.sql:
-- trigger functions on agent_days add each change of a day to its month
-- (one for the columns of each fact view), one on call_legs and one on
-- calls widen call_leg_lag.

-- +goose Up

CREATE TABLE agent_months (
    agent_id             TEXT   NOT NULL,
    month                BIGINT NOT NULL, -- yyyymm of the agent_days days it sums
    answered             BIGINT NOT NULL DEFAULT 0,
    talked               BIGINT NOT NULL DEFAULT 0,
    talk_ms              BIGINT NOT NULL DEFAULT 0,
    offered              BIGINT NOT NULL DEFAULT 0,
    missed               BIGINT NOT NULL DEFAULT 0,
    answered_rings       BIGINT NOT NULL DEFAULT 0,
    ring_ms              BIGINT NOT NULL DEFAULT 0,
    rated_1              BIGINT NOT NULL DEFAULT 0,
    rated_2              BIGINT NOT NULL DEFAULT 0,
    rated_3              BIGINT NOT NULL DEFAULT 0,
    rated_4              BIGINT NOT NULL DEFAULT 0,
    rated_5              BIGINT NOT NULL DEFAULT 0,
    callbacks_due        BIGINT NOT NULL DEFAULT 0,
    callbacks_on_time    BIGINT NOT NULL DEFAULT 0,
    promises_due         BIGINT NOT NULL DEFAULT 0,
    promises_kept        BIGINT NOT NULL DEFAULT 0,
    violations_confirmed BIGINT NOT NULL DEFAULT 0,
    reviews              BIGINT NOT NULL DEFAULT 0,
    review_findings      BIGINT NOT NULL DEFAULT 0,
    review_score         BIGINT NOT NULL DEFAULT 0,
    complaints           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, month)
);

-- +goose StatementBegin
CREATE FUNCTION agent_days_months() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO agent_months AS m (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
        VALUES (to_char(DATE '1970-01-01' + OLD.day::int, 'YYYYMM')::bigint, OLD.agent_id, -OLD.answered, -OLD.talked, -OLD.talk_ms, -OLD.offered, -OLD.missed, -OLD.answered_rings, -OLD.ring_ms, -OLD.rated_1, -OLD.rated_2, -OLD.rated_3, -OLD.rated_4, -OLD.rated_5, -OLD.callbacks_due, -OLD.callbacks_on_time, -OLD.promises_due, -OLD.promises_kept, -OLD.violations_confirmed, -OLD.reviews, -OLD.review_findings, -OLD.review_score, -OLD.complaints)
        ON CONFLICT (agent_id, month) DO UPDATE SET
            answered = m.answered + excluded.answered,
            talked = m.talked + excluded.talked,
            talk_ms = m.talk_ms + excluded.talk_ms,
            offered = m.offered + excluded.offered,
            missed = m.missed + excluded.missed,
            answered_rings = m.answered_rings + excluded.answered_rings,
            ring_ms = m.ring_ms + excluded.ring_ms,
            rated_1 = m.rated_1 + excluded.rated_1,
            rated_2 = m.rated_2 + excluded.rated_2,
            rated_3 = m.rated_3 + excluded.rated_3,
            rated_4 = m.rated_4 + excluded.rated_4,
            rated_5 = m.rated_5 + excluded.rated_5,
            callbacks_due = m.callbacks_due + excluded.callbacks_due,
            callbacks_on_time = m.callbacks_on_time + excluded.callbacks_on_time,
            promises_due = m.promises_due + excluded.promises_due,
            promises_kept = m.promises_kept + excluded.promises_kept,
            violations_confirmed = m.violations_confirmed + excluded.violations_confirmed,
            reviews = m.reviews + excluded.reviews,
            review_findings = m.review_findings + excluded.review_findings,
            review_score = m.review_score + excluded.review_score,
            complaints = m.complaints + excluded.complaints;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO agent_months AS m (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
        VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.answered, NEW.talked, NEW.talk_ms, NEW.offered, NEW.missed, NEW.answered_rings, NEW.ring_ms, NEW.rated_1, NEW.rated_2, NEW.rated_3, NEW.rated_4, NEW.rated_5, NEW.callbacks_due, NEW.callbacks_on_time, NEW.promises_due, NEW.promises_kept, NEW.violations_confirmed, NEW.reviews, NEW.review_findings, NEW.review_score, NEW.complaints)
        ON CONFLICT (agent_id, month) DO UPDATE SET
            answered = m.answered + excluded.answered,
            talked = m.talked + excluded.talked,
            talk_ms = m.talk_ms + excluded.talk_ms,
            offered = m.offered + excluded.offered,
            missed = m.missed + excluded.missed,
            answered_rings = m.answered_rings + excluded.answered_rings,
            ring_ms = m.ring_ms + excluded.ring_ms,
            rated_1 = m.rated_1 + excluded.rated_1,
            rated_2 = m.rated_2 + excluded.rated_2,
            rated_3 = m.rated_3 + excluded.rated_3,
            rated_4 = m.rated_4 + excluded.rated_4,
            rated_5 = m.rated_5 + excluded.rated_5,
            callbacks_due = m.callbacks_due + excluded.callbacks_due,
            callbacks_on_time = m.callbacks_on_time + excluded.callbacks_on_time,
            promises_due = m.promises_due + excluded.promises_due,
            promises_kept = m.promises_kept + excluded.promises_kept,
            violations_confirmed = m.violations_confirmed + excluded.violations_confirmed,
            reviews = m.reviews + excluded.reviews,
            review_findings = m.review_findings + excluded.review_findings,
            review_score = m.review_score + excluded.review_score,
            complaints = m.complaints + excluded.complaints;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, answered, talked, talk_ms)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.answered - OLD.answered, NEW.talked - OLD.talked, NEW.talk_ms - OLD.talk_ms)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        answered = m.answered + excluded.answered,
        talked = m.talked + excluded.talked,
        talk_ms = m.talk_ms + excluded.talk_ms;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_legs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, offered, missed, answered_rings, ring_ms)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.offered - OLD.offered, NEW.missed - OLD.missed, NEW.answered_rings - OLD.answered_rings, NEW.ring_ms - OLD.ring_ms)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        offered = m.offered + excluded.offered,
        missed = m.missed + excluded.missed,
        answered_rings = m.answered_rings + excluded.answered_rings,
        ring_ms = m.ring_ms + excluded.ring_ms;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_ratings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, rated_1, rated_2, rated_3, rated_4, rated_5)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.rated_1 - OLD.rated_1, NEW.rated_2 - OLD.rated_2, NEW.rated_3 - OLD.rated_3, NEW.rated_4 - OLD.rated_4, NEW.rated_5 - OLD.rated_5)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        rated_1 = m.rated_1 + excluded.rated_1,
        rated_2 = m.rated_2 + excluded.rated_2,
        rated_3 = m.rated_3 + excluded.rated_3,
        rated_4 = m.rated_4 + excluded.rated_4,
        rated_5 = m.rated_5 + excluded.rated_5;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_callbacks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, callbacks_due, callbacks_on_time)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.callbacks_due - OLD.callbacks_due, NEW.callbacks_on_time - OLD.callbacks_on_time)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        callbacks_due = m.callbacks_due + excluded.callbacks_due,
        callbacks_on_time = m.callbacks_on_time + excluded.callbacks_on_time;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_promises() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, promises_due, promises_kept)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.promises_due - OLD.promises_due, NEW.promises_kept - OLD.promises_kept)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        promises_due = m.promises_due + excluded.promises_due,
        promises_kept = m.promises_kept + excluded.promises_kept;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_violations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, violations_confirmed)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.violations_confirmed - OLD.violations_confirmed)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        violations_confirmed = m.violations_confirmed + excluded.violations_confirmed;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_reviews() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, reviews, review_findings, review_score)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.reviews - OLD.reviews, NEW.review_findings - OLD.review_findings, NEW.review_score - OLD.review_score)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        reviews = m.reviews + excluded.reviews,
        review_findings = m.review_findings + excluded.review_findings,
        review_score = m.review_score + excluded.review_score;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_days_months_complaints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_months AS m (month, agent_id, complaints)
    VALUES (to_char(DATE '1970-01-01' + NEW.day::int, 'YYYYMM')::bigint, NEW.agent_id, NEW.complaints - OLD.complaints)
    ON CONFLICT (agent_id, month) DO UPDATE SET
        complaints = m.complaints + excluded.complaints;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER agent_days_months_insert AFTER INSERT ON agent_days FOR EACH ROW EXECUTE FUNCTION agent_days_months();
CREATE TRIGGER agent_days_months_calls AFTER UPDATE OF answered, talked, talk_ms ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_calls();
CREATE TRIGGER agent_days_months_legs AFTER UPDATE OF offered, missed, answered_rings, ring_ms ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_legs();
CREATE TRIGGER agent_days_months_ratings AFTER UPDATE OF rated_1, rated_2, rated_3, rated_4, rated_5 ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_ratings();
CREATE TRIGGER agent_days_months_callbacks AFTER UPDATE OF callbacks_due, callbacks_on_time ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_callbacks();
CREATE TRIGGER agent_days_months_promises AFTER UPDATE OF promises_due, promises_kept ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_promises();
CREATE TRIGGER agent_days_months_violations AFTER UPDATE OF violations_confirmed ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_violations();
CREATE TRIGGER agent_days_months_reviews AFTER UPDATE OF reviews, review_findings, review_score ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_reviews();
CREATE TRIGGER agent_days_months_complaints AFTER UPDATE OF complaints ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS NOT DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months_complaints();
CREATE TRIGGER agent_days_months_move AFTER UPDATE OF agent_id, day ON agent_days FOR EACH ROW
WHEN ((OLD.agent_id, OLD.day) IS DISTINCT FROM (NEW.agent_id, NEW.day))
EXECUTE FUNCTION agent_days_months();
CREATE TRIGGER agent_days_months_delete AFTER DELETE ON agent_days FOR EACH ROW EXECUTE FUNCTION agent_days_months();

-- The days already counted.
INSERT INTO agent_months (month, agent_id, answered, talked, talk_ms, offered, missed, answered_rings, ring_ms, rated_1, rated_2, rated_3, rated_4, rated_5, callbacks_due, callbacks_on_time, promises_due, promises_kept, violations_confirmed, reviews, review_findings, review_score, complaints)
SELECT to_char(DATE '1970-01-01' + d.day::int, 'YYYYMM')::bigint, agent_id, sum(answered), sum(talked), sum(talk_ms), sum(offered), sum(missed), sum(answered_rings), sum(ring_ms), sum(rated_1), sum(rated_2), sum(rated_3), sum(rated_4), sum(rated_5), sum(callbacks_due), sum(callbacks_on_time), sum(promises_due), sum(promises_kept), sum(violations_confirmed), sum(reviews), sum(review_findings), sum(review_score), sum(complaints)
FROM agent_days AS d GROUP BY 1, 2;

CREATE TABLE call_leg_lag (
    id     BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    min_ms BIGINT NOT NULL,
    max_ms BIGINT NOT NULL CHECK (max_ms >= min_ms)
);

INSERT INTO call_leg_lag (id, min_ms, max_ms)
SELECT 1, coalesce(min(l.rung_ms - c.arrived_ms), 0), coalesce(max(l.rung_ms - c.arrived_ms), 0)
FROM call_legs AS l JOIN calls AS c ON c.id = l.call_id;

-- +goose StatementBegin
CREATE FUNCTION call_legs_lag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_leg_lag SET min_ms = least(min_ms, lag), max_ms = greatest(max_ms, lag)
    FROM (SELECT NEW.rung_ms - arrived_ms AS lag FROM calls WHERE id = NEW.call_id) AS l
    WHERE lag NOT BETWEEN min_ms AND max_ms;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER call_legs_lag_insert AFTER INSERT ON call_legs FOR EACH ROW EXECUTE FUNCTION call_legs_lag();
CREATE TRIGGER call_legs_lag_update AFTER UPDATE OF call_id, rung_ms ON call_legs FOR EACH ROW
WHEN ((OLD.call_id, OLD.rung_ms) IS DISTINCT FROM (NEW.call_id, NEW.rung_ms))
EXECUTE FUNCTION call_legs_lag();

-- +goose StatementBegin
CREATE FUNCTION calls_lag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_leg_lag SET min_ms = least(min_ms, lo), max_ms = greatest(max_ms, hi)
    FROM (SELECT min(rung_ms) - NEW.arrived_ms AS lo, max(rung_ms) - NEW.arrived_ms AS hi FROM call_legs WHERE call_id = NEW.id) AS l
    WHERE lo < min_ms OR hi > max_ms;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER calls_lag_update AFTER UPDATE OF arrived_ms ON calls FOR EACH ROW
WHEN (OLD.arrived_ms IS DISTINCT FROM NEW.arrived_ms)
EXECUTE FUNCTION calls_lag();

-- +goose Down
DROP TRIGGER calls_lag_update ON calls;
DROP FUNCTION calls_lag();
DROP TRIGGER call_legs_lag_update ON call_legs;
DROP TRIGGER call_legs_lag_insert ON call_legs;
DROP FUNCTION call_legs_lag();
DROP TABLE call_leg_lag;
DROP TRIGGER agent_days_months_delete ON agent_days;
DROP TRIGGER agent_days_months_move ON agent_days;
DROP TRIGGER agent_days_months_complaints ON agent_days;
DROP FUNCTION agent_days_months_complaints();
DROP TRIGGER agent_days_months_reviews ON agent_days;
DROP FUNCTION agent_days_months_reviews();
DROP TRIGGER agent_days_months_violations ON agent_days;
DROP FUNCTION agent_days_months_violations();
DROP TRIGGER agent_days_months_promises ON agent_days;
DROP FUNCTION agent_days_months_promises();
DROP TRIGGER agent_days_months_callbacks ON agent_days;
DROP FUNCTION agent_days_months_callbacks();
DROP TRIGGER agent_days_months_ratings ON agent_days;
DROP FUNCTION agent_days_months_ratings();
DROP TRIGGER agent_days_months_legs ON agent_days;
DROP FUNCTION agent_days_months_legs();
DROP TRIGGER agent_days_months_calls ON agent_days;
DROP FUNCTION agent_days_months_calls();
DROP TRIGGER agent_days_months_insert ON agent_days;
DROP FUNCTION agent_days_months();
DROP TABLE agent_months;
