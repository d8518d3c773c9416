-- Inbound calls: the after-hours voicemail, referral outcomes, and the
-- indexes of the per-agent ring statistics.
--
-- SQLite cannot add a CHECK constraint to an existing table without
-- rebuilding it (and every index and trigger on it), so referrals.outcome is
-- checked by triggers instead. Their message is the one a CHECK constraint
-- gives, "CHECK constraint failed: ...", and the store reports it as invalid
-- input like any other CHECK.

-- +goose Up

-- calls.voicemail_name: the citizen's message left after hours; '' when none.
ALTER TABLE calls ADD COLUMN voicemail_name TEXT NOT NULL DEFAULT '';

-- Rows written before this migration with the column's default '' and not
-- yet ended were ringing; ended ones keep '' (their outcome was never
-- recorded, and guessing one would falsify the chain).
UPDATE referrals SET outcome = 'ringing' WHERE outcome = '' AND ended_ms = 0;

-- referrals.outcome must be a hotline.ReferralOutcome on every insert and on
-- every update that sets it.
-- +goose StatementBegin
CREATE TRIGGER referrals_outcome_on_insert
BEFORE INSERT ON referrals
WHEN NEW.outcome NOT IN ('ringing', 'answered', 'handover', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: referrals.outcome must be ringing, answered, handover or cancelled');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER referrals_outcome_on_update
BEFORE UPDATE OF outcome ON referrals
WHEN NEW.outcome NOT IN ('ringing', 'answered', 'handover', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: referrals.outcome must be ringing, answered, handover or cancelled');
END;
-- +goose StatementEnd

-- Ring statistics of every agent over a period (answered, declined, not
-- answered): the legs rung since a time, without reading the table.
CREATE INDEX call_legs_by_rung ON call_legs (rung_ms, agent_id, outcome);

-- +goose Down
DROP INDEX call_legs_by_rung;
DROP TRIGGER referrals_outcome_on_update;
DROP TRIGGER referrals_outcome_on_insert;
ALTER TABLE calls DROP COLUMN voicemail_name;
