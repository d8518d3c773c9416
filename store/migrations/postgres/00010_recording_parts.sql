-- A call's recording in parts, PostgreSQL form of ../00010_recording_parts.sql.

-- +goose Up
ALTER TABLE calls ADD COLUMN recording_parts TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE calls DROP COLUMN recording_parts;
