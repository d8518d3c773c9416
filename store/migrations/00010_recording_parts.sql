-- A call's recording in parts (clause 7.1.3): when Asterisk ends a call's
-- recording while the call goes on, the service goes on recording in a new
-- part, and the call lists its parts in order.
--
-- Rows written before this version keep recording_parts '' (one whole
-- recording, recording_name).

-- +goose Up

-- calls.recording_parts: the names of the recording's parts, in order,
-- separated by commas (recording names hold no comma); '' when the
-- recording is whole.
ALTER TABLE calls ADD COLUMN recording_parts TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE calls DROP COLUMN recording_parts;
