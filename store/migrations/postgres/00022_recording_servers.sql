-- Which server holds a recording's file, and the claim of the instance
-- archiving it: PostgreSQL form of ../00022_recording_servers.sql.

-- +goose Up
ALTER TABLE recordings ADD COLUMN server TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN claim_token TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN claim_until_ms BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE recordings DROP COLUMN claim_until_ms;
ALTER TABLE recordings DROP COLUMN claim_token;
ALTER TABLE recordings DROP COLUMN server;
