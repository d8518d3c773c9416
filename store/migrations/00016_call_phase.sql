-- A call's phase and what it holds in Asterisk, stored as the call goes,
-- so that after a crash the next process can take a live call over or end
-- it properly (reconciliation with Asterisk); and the mark of a call whose
-- end the service did not see.
--
-- Rows written before this version keep phase '': reconciliation treats a
-- ringing or answered one as a call in progress whose phase is unknown.

-- +goose Up

-- calls.phase: greeting, queued, talking, survey (the citizen is served),
-- ending (the end is stored, Asterisk's resources are being released and
-- the record handed on), ended.
ALTER TABLE calls ADD COLUMN phase TEXT NOT NULL DEFAULT ''
    CHECK (phase IN ('', 'greeting', 'queued', 'talking', 'survey', 'ending', 'ended'));
-- calls.bridge_id, calls.snoop_id: the call's bridge and the snoop channel
-- that records it; '' when none.
ALTER TABLE calls ADD COLUMN bridge_id TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN snoop_id TEXT NOT NULL DEFAULT '';
-- calls.interrupted_ms: when the service found the call's channels gone
-- after it lost track of them; 0 when it saw the call end.
ALTER TABLE calls ADD COLUMN interrupted_ms INTEGER NOT NULL DEFAULT 0;

-- The calls reconciliation looks at: in progress, or with an end to finish.
CREATE INDEX calls_unfinished ON calls (arrived_ms)
    WHERE state IN ('ringing', 'answered') OR phase = 'ending';

-- +goose Down
DROP INDEX calls_unfinished;
ALTER TABLE calls DROP COLUMN interrupted_ms;
ALTER TABLE calls DROP COLUMN snoop_id;
ALTER TABLE calls DROP COLUMN bridge_id;
ALTER TABLE calls DROP COLUMN phase;
