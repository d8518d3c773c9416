-- Two reasons a call is missed that used to be told apart only by the
-- call's id or interrupted_ms, with reason failed:
--   service_down: the dialplan's fallback took the call while the service
--     was not connected (imported from AstDB hotline_fallback or the
--     fallback's mailbox);
--   interrupted: the service lost track of the call (it died, or its
--     connection dropped) and found the citizen gone before an agent
--     answered.
-- Both are missed calls owed a callback like any other.
--
-- SQLite cannot change a CHECK constraint: calls is rebuilt by the
-- procedure of https://www.sqlite.org/lang_altertable.html#otheralter
-- (foreign keys off outside the transaction, new table, copy, drop,
-- rename, indexes, triggers and the view again, foreign_key_check), so it
-- runs outside goose's transaction in one of its own. Rows stored as
-- failed are given the reason they can be told to have.

-- +goose NO TRANSACTION

-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- The view that reads calls goes while the table is replaced (a rename
-- checks every view against the schema).
DROP VIEW report_call_facts;

CREATE TABLE calls_new (
    id                      TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    channel_id              TEXT    NOT NULL DEFAULT '',
    caller_raw              TEXT    NOT NULL DEFAULT '',
    caller_number           TEXT    NOT NULL DEFAULT '',
    dialed_number           TEXT    NOT NULL DEFAULT '',
    line                    TEXT    NOT NULL CHECK (line IN ('hotline', 'complaint')),
    state                   TEXT    NOT NULL CHECK (state IN ('ringing', 'answered', 'completed', 'missed')),
    missed_reason           TEXT    NOT NULL DEFAULT ''
        CHECK (missed_reason IN ('', 'no_answer', 'no_agent', 'abandoned', 'after_hours', 'failed', 'service_down', 'interrupted')),
    first_responsible_agent TEXT    REFERENCES agents (id),
    recording_name          TEXT    NOT NULL DEFAULT '',
    arrived_ms              INTEGER NOT NULL,
    answered_ms             INTEGER NOT NULL DEFAULT 0,
    ended_ms                INTEGER NOT NULL DEFAULT 0,
    updated_ms              INTEGER NOT NULL,
    voicemail_name          TEXT    NOT NULL DEFAULT '',
    recording_parts         TEXT    NOT NULL DEFAULT '',
    phase                   TEXT    NOT NULL DEFAULT ''
        CHECK (phase IN ('', 'greeting', 'queued', 'talking', 'survey', 'ending', 'ended')),
    bridge_id               TEXT    NOT NULL DEFAULT '',
    snoop_id                TEXT    NOT NULL DEFAULT '',
    interrupted_ms          INTEGER NOT NULL DEFAULT 0,
    -- an answered or completed call has its responsible agent (clause 3.1)
    CHECK (state NOT IN ('answered', 'completed') OR first_responsible_agent IS NOT NULL)
) STRICT;

INSERT INTO calls_new (id, channel_id, caller_raw, caller_number, dialed_number, line, state, missed_reason, first_responsible_agent, recording_name, arrived_ms, answered_ms, ended_ms, updated_ms, voicemail_name, recording_parts, phase, bridge_id, snoop_id, interrupted_ms)
SELECT id, channel_id, caller_raw, caller_number, dialed_number, line, state,
       CASE
           -- taken by the dialplan's fallback, imported from AstDB or the mailbox
           WHEN missed_reason = 'failed' AND (id LIKE 'fb-%' OR (id LIKE 'vm-%' AND voicemail_name <> '')) THEN 'service_down'
           -- found ended after the service lost track of it
           WHEN missed_reason = 'failed' AND interrupted_ms > 0 THEN 'interrupted'
           ELSE missed_reason
       END,
       first_responsible_agent, recording_name, arrived_ms, answered_ms, ended_ms, updated_ms,
       voicemail_name, recording_parts, phase, bridge_id, snoop_id, interrupted_ms
FROM calls;

-- Dropping calls drops its indexes and triggers; agent_days keeps its
-- counts (no trigger runs for a dropped table's rows).
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;

CREATE INDEX calls_by_arrived ON calls (arrived_ms, id);
CREATE INDEX calls_by_caller ON calls (caller_number, arrived_ms);
CREATE INDEX calls_by_agent ON calls (first_responsible_agent, arrived_ms);
CREATE INDEX calls_by_state ON calls (state, arrived_ms);
CREATE INDEX calls_by_agent_state ON calls (first_responsible_agent, state, arrived_ms);
CREATE INDEX calls_missed_by_reason ON calls (missed_reason, arrived_ms) WHERE state = 'missed';
CREATE INDEX calls_unfinished ON calls (arrived_ms)
    WHERE state IN ('ringing', 'answered') OR phase = 'ending';

-- +goose StatementBegin
CREATE TRIGGER calls_first_responsible_agent_is_final
BEFORE UPDATE OF first_responsible_agent ON calls
WHEN OLD.first_responsible_agent IS NOT NULL
 AND NEW.first_responsible_agent IS NOT OLD.first_responsible_agent
BEGIN
    SELECT RAISE(ABORT, 'calls.first_responsible_agent is already set and cannot change');
END;
-- +goose StatementEnd

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

CREATE VIEW report_call_facts AS
SELECT id, first_responsible_agent AS agent_id, arrived_ms AS at_ms,
       1 AS answered,
       (answered_ms > 0 AND ended_ms > 0) AS talked,
       CASE WHEN answered_ms > 0 AND ended_ms > 0 THEN max(ended_ms - answered_ms, 0) ELSE 0 END AS talk_ms
FROM calls
WHERE first_responsible_agent IS NOT NULL AND state IN ('answered', 'completed');

-- Every reference to calls still finds its row: the insert fails, and
-- the migration with it, if one does not.
CREATE TEMP TABLE calls_rebuild_check (broken INTEGER NOT NULL CHECK (broken = 0));
INSERT INTO calls_rebuild_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE calls_rebuild_check;

COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- The view that reads calls goes while the table is replaced (a rename
-- checks every view against the schema).
DROP VIEW report_call_facts;

-- The table exactly as 00016 left it.
CREATE TABLE calls_new (
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
    updated_ms              INTEGER NOT NULL, voicemail_name TEXT NOT NULL DEFAULT '', recording_parts TEXT NOT NULL DEFAULT '', phase TEXT NOT NULL DEFAULT ''
    CHECK (phase IN ('', 'greeting', 'queued', 'talking', 'survey', 'ending', 'ended')), bridge_id TEXT NOT NULL DEFAULT '', snoop_id TEXT NOT NULL DEFAULT '', interrupted_ms INTEGER NOT NULL DEFAULT 0,
    -- an answered or completed call has its responsible agent (clause 3.1)
    CHECK (state NOT IN ('answered', 'completed') OR first_responsible_agent IS NOT NULL)
) STRICT;

INSERT INTO calls_new (id, channel_id, caller_raw, caller_number, dialed_number, line, state, missed_reason, first_responsible_agent, recording_name, arrived_ms, answered_ms, ended_ms, updated_ms, voicemail_name, recording_parts, phase, bridge_id, snoop_id, interrupted_ms)
SELECT id, channel_id, caller_raw, caller_number, dialed_number, line, state,
       CASE WHEN missed_reason IN ('service_down', 'interrupted') THEN 'failed' ELSE missed_reason END,
       first_responsible_agent, recording_name, arrived_ms, answered_ms, ended_ms, updated_ms,
       voicemail_name, recording_parts, phase, bridge_id, snoop_id, interrupted_ms
FROM calls;

-- Dropping calls drops its indexes and triggers; agent_days keeps its
-- counts (no trigger runs for a dropped table's rows).
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;

CREATE INDEX calls_by_arrived ON calls (arrived_ms, id);
CREATE INDEX calls_by_caller ON calls (caller_number, arrived_ms);
CREATE INDEX calls_by_agent ON calls (first_responsible_agent, arrived_ms);
CREATE INDEX calls_by_state ON calls (state, arrived_ms);
CREATE INDEX calls_by_agent_state ON calls (first_responsible_agent, state, arrived_ms);
CREATE INDEX calls_missed_by_reason ON calls (missed_reason, arrived_ms) WHERE state = 'missed';
CREATE INDEX calls_unfinished ON calls (arrived_ms)
    WHERE state IN ('ringing', 'answered') OR phase = 'ending';

-- +goose StatementBegin
CREATE TRIGGER calls_first_responsible_agent_is_final
BEFORE UPDATE OF first_responsible_agent ON calls
WHEN OLD.first_responsible_agent IS NOT NULL
 AND NEW.first_responsible_agent IS NOT OLD.first_responsible_agent
BEGIN
    SELECT RAISE(ABORT, 'calls.first_responsible_agent is already set and cannot change');
END;
-- +goose StatementEnd

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

CREATE VIEW report_call_facts AS
SELECT id, first_responsible_agent AS agent_id, arrived_ms AS at_ms,
       1 AS answered,
       (answered_ms > 0 AND ended_ms > 0) AS talked,
       CASE WHEN answered_ms > 0 AND ended_ms > 0 THEN max(ended_ms - answered_ms, 0) ELSE 0 END AS talk_ms
FROM calls
WHERE first_responsible_agent IS NOT NULL AND state IN ('answered', 'completed');

-- Every reference to calls still finds its row: the insert fails, and
-- the migration with it, if one does not.
CREATE TEMP TABLE calls_rebuild_check (broken INTEGER NOT NULL CHECK (broken = 0));
INSERT INTO calls_rebuild_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE calls_rebuild_check;

COMMIT;
PRAGMA foreign_keys = ON;
