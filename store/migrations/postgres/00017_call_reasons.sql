-- Missed reasons service_down and interrupted; PostgreSQL form of
-- ../00017_call_reasons.sql (here the constraint is dropped and added
-- again; the table stays).

-- +goose Up
ALTER TABLE calls DROP CONSTRAINT calls_missed_reason_check;
UPDATE calls SET missed_reason = CASE
        WHEN id LIKE 'fb-%' OR (id LIKE 'vm-%' AND voicemail_name <> '') THEN 'service_down'
        ELSE 'interrupted'
    END
WHERE missed_reason = 'failed'
  AND (id LIKE 'fb-%' OR (id LIKE 'vm-%' AND voicemail_name <> '') OR interrupted_ms > 0);
ALTER TABLE calls ADD CONSTRAINT calls_missed_reason_check
    CHECK (missed_reason IN ('', 'no_answer', 'no_agent', 'abandoned', 'after_hours', 'failed', 'service_down', 'interrupted'));

-- +goose Down
ALTER TABLE calls DROP CONSTRAINT calls_missed_reason_check;
UPDATE calls SET missed_reason = 'failed' WHERE missed_reason IN ('service_down', 'interrupted');
ALTER TABLE calls ADD CONSTRAINT calls_missed_reason_check
    CHECK (missed_reason IN ('', 'no_answer', 'no_agent', 'abandoned', 'after_hours', 'failed'));
