-- The call log's filters, PostgreSQL form of ../00015_call_log_indexes.sql.

-- +goose Up
CREATE INDEX calls_by_agent_state ON calls (first_responsible_agent, state, arrived_ms);
CREATE INDEX calls_missed_by_reason ON calls (missed_reason, arrived_ms) WHERE state = 'missed';

-- +goose Down
DROP INDEX calls_missed_by_reason;
DROP INDEX calls_by_agent_state;
