-- The call log's filters (agent with a state, a missed reason) read their
-- own indexes; store.ListCalls names the index each filter reads through.

-- +goose Up

-- One agent's calls in one state (e.g. missed: none, found at once instead
-- of walking all of the agent's calls).
CREATE INDEX calls_by_agent_state ON calls (first_responsible_agent, state, arrived_ms);

-- Missed calls by reason, newest first; only missed calls are in it.
CREATE INDEX calls_missed_by_reason ON calls (missed_reason, arrived_ms) WHERE state = 'missed';

-- +goose Down
DROP INDEX calls_missed_by_reason;
DROP INDEX calls_by_agent_state;
