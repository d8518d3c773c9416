-- Several Asterisk servers and several instances: which server holds a
-- recording's file, and the claim of the instance archiving it.
--
-- Rows written before this version keep server '' (the first configured
-- server's archiver takes them), claim_token '' and claim_until_ms 0
-- (unclaimed).

-- +goose Up

-- recordings.server: the name of the Asterisk server that recorded it (its
-- archiver downloads it from there); '' = written before servers had names.
ALTER TABLE recordings ADD COLUMN server TEXT NOT NULL DEFAULT '';
-- recordings.claim_token: the archive attempt that claimed a pending
-- recording; only it may mark the recording archived.
ALTER TABLE recordings ADD COLUMN claim_token TEXT NOT NULL DEFAULT '';
-- recordings.claim_until_ms: until when the claim holds; another archiver
-- may claim the recording after it (the claimer died).
ALTER TABLE recordings ADD COLUMN claim_until_ms INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE recordings DROP COLUMN claim_until_ms;
ALTER TABLE recordings DROP COLUMN claim_token;
ALTER TABLE recordings DROP COLUMN server;
