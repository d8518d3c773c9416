-- The recordings archive, PostgreSQL form of ../00006_recording_archive.sql.

-- +goose Up
ALTER TABLE recordings ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN next_attempt_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN deleted_ms BIGINT NOT NULL DEFAULT 0;

CREATE INDEX recordings_to_archive ON recordings (next_attempt_ms) WHERE state = 'pending';

-- +goose Down
DROP INDEX recordings_to_archive;
ALTER TABLE recordings DROP COLUMN deleted_ms;
ALTER TABLE recordings DROP COLUMN last_error;
ALTER TABLE recordings DROP COLUMN next_attempt_ms;
ALTER TABLE recordings DROP COLUMN attempts;
