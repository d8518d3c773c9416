-- The recordings archive (clause 7.1.3): archive retries and the retention
-- deletion time.
--
-- Rows written before this version keep attempts 0, next_attempt_ms 0 (due
-- at once when pending), last_error '' and deleted_ms 0.

-- +goose Up

-- recordings.attempts: failed archive attempts so far; after the configured
-- number the recording is marked failed (its row stays).
ALTER TABLE recordings ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- recordings.next_attempt_ms: when the archiver next tries a pending
-- recording; 0 = at once.
ALTER TABLE recordings ADD COLUMN next_attempt_ms INTEGER NOT NULL DEFAULT 0;
-- recordings.last_error: why the last archive attempt failed; '' when none.
ALTER TABLE recordings ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
-- recordings.deleted_ms: when retention removed the audio; 0 = not removed.
ALTER TABLE recordings ADD COLUMN deleted_ms INTEGER NOT NULL DEFAULT 0;

-- The archiver reads pending recordings by due time.
CREATE INDEX recordings_to_archive ON recordings (next_attempt_ms) WHERE state = 'pending';

-- +goose Down
DROP INDEX recordings_to_archive;
ALTER TABLE recordings DROP COLUMN deleted_ms;
ALTER TABLE recordings DROP COLUMN last_error;
ALTER TABLE recordings DROP COLUMN next_attempt_ms;
ALTER TABLE recordings DROP COLUMN attempts;
