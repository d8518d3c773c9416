-- A call's phase and what it holds in Asterisk, and the mark of a call
-- whose end the service did not see; PostgreSQL form of ../00016_call_phase.sql.

-- +goose Up
ALTER TABLE calls ADD COLUMN phase TEXT NOT NULL DEFAULT ''
    CHECK (phase IN ('', 'greeting', 'queued', 'talking', 'survey', 'ending', 'ended'));
ALTER TABLE calls ADD COLUMN bridge_id TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN snoop_id TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN interrupted_ms BIGINT NOT NULL DEFAULT 0;

CREATE INDEX calls_unfinished ON calls (arrived_ms)
    WHERE state IN ('ringing', 'answered') OR phase = 'ending';

-- +goose Down
DROP INDEX calls_unfinished;
ALTER TABLE calls DROP COLUMN interrupted_ms;
ALTER TABLE calls DROP COLUMN snoop_id;
ALTER TABLE calls DROP COLUMN bridge_id;
ALTER TABLE calls DROP COLUMN phase;
