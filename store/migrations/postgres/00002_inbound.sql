-- Inbound calls: the after-hours voicemail, referral outcomes, and the
-- indexes of the per-agent ring statistics (PostgreSQL form of
-- ../00002_inbound.sql). The outcome check is a trigger here too, so the
-- error is the same as SQLite's.

-- +goose Up

ALTER TABLE calls ADD COLUMN voicemail_name TEXT NOT NULL DEFAULT '';

UPDATE referrals SET outcome = 'ringing' WHERE outcome = '' AND ended_ms = 0;

CREATE TRIGGER referrals_outcome_on_insert
BEFORE INSERT ON referrals FOR EACH ROW
WHEN (NEW.outcome NOT IN ('ringing', 'answered', 'handover', 'cancelled'))
EXECUTE FUNCTION hotline_refuse('CHECK constraint failed: referrals.outcome must be ringing, answered, handover or cancelled');

CREATE TRIGGER referrals_outcome_on_update
BEFORE UPDATE OF outcome ON referrals FOR EACH ROW
WHEN (NEW.outcome NOT IN ('ringing', 'answered', 'handover', 'cancelled'))
EXECUTE FUNCTION hotline_refuse('CHECK constraint failed: referrals.outcome must be ringing, answered, handover or cancelled');

CREATE INDEX call_legs_by_rung ON call_legs (rung_ms, agent_id, outcome);

-- +goose Down
DROP INDEX call_legs_by_rung;
DROP TRIGGER referrals_outcome_on_update ON referrals;
DROP TRIGGER referrals_outcome_on_insert ON referrals;
ALTER TABLE calls DROP COLUMN voicemail_name;
