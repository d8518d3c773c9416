package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"hotline"
)

// referralRow is a referrals row as the statements read and write it.
type referralRow struct {
	ID           int64          `db:"id"`
	CallID       string         `db:"call_id"`
	FromAgent    string         `db:"from_agent"`
	ToAgent      sql.NullString `db:"to_agent"` // NULL until an agent is chosen
	ToDepartment string         `db:"to_department"`
	RequestedMs  int64          `db:"requested_ms"`
	Outcome      string         `db:"outcome"`
	EndedMs      int64          `db:"ended_ms"`
}

func referralToRow(r hotline.Referral) referralRow {
	return referralRow{
		ID:           r.ID,
		CallID:       r.CallID,
		FromAgent:    r.FromAgent,
		ToAgent:      nullString(r.ToAgent),
		ToDepartment: r.ToDepartment,
		RequestedMs:  hotline.UnixMilli(r.RequestedAt),
		Outcome:      string(r.Outcome),
		EndedMs:      hotline.UnixMilli(r.EndedAt),
	}
}

func (r referralRow) referral() hotline.Referral {
	return hotline.Referral{
		ID:           r.ID,
		CallID:       r.CallID,
		FromAgent:    r.FromAgent,
		ToAgent:      r.ToAgent.String,
		ToDepartment: r.ToDepartment,
		Outcome:      hotline.ReferralOutcome(r.Outcome),
		RequestedAt:  hotline.FromUnixMilli(r.RequestedMs),
		EndedAt:      hotline.FromUnixMilli(r.EndedMs),
	}
}

// validReferralOutcome reports whether o is one of hotline's referral
// outcomes; the triggers of migration 00002 enforce the same list.
func validReferralOutcome(o hotline.ReferralOutcome) bool {
	switch o {
	case hotline.ReferralRinging, hotline.ReferralAnswered, hotline.ReferralHandover, hotline.ReferralCancelled:
		return true
	}
	return false
}

// addReferralSQL inserts one referrals row and reads the id the database
// picked.
const addReferralSQL = `
INSERT INTO referrals (call_id, from_agent, to_agent, to_department, requested_ms, outcome, ended_ms)
VALUES (:call_id, :from_agent, :to_agent, :to_department, :requested_ms, :outcome, :ended_ms)
RETURNING id`

// AddReferral stores a new link in the referral chain of an existing call
// and returns its id; r.ID is ignored. An empty outcome is stored as
// ringing, the state of a referral just requested. The call and the agents
// must exist (Invalid otherwise); the call's first-responsible agent is not
// touched.
func (db *DB) AddReferral(ctx context.Context, r hotline.Referral) (int64, error) {
	const op = "store.AddReferral"
	if r.Outcome == "" {
		r.Outcome = hotline.ReferralRinging
	}
	subject := fmt.Sprintf("referral of call %q from %q", r.CallID, r.FromAgent)
	switch {
	case strings.TrimSpace(r.CallID) == "":
		return 0, hotline.Errorf(hotline.KindInvalid, op, "referral: call id is required")
	case strings.TrimSpace(r.FromAgent) == "":
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: the referring agent is required", subject)
	case r.ToAgent == "" && strings.TrimSpace(r.ToDepartment) == "":
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: a target agent or department is required", subject)
	case r.RequestedAt.IsZero():
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: request time is required", subject)
	case !validReferralOutcome(r.Outcome):
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: unknown outcome %q", subject, r.Outcome)
	}
	var id int64
	if err := db.writer.NamedGetContext(ctx, &id, addReferralSQL, referralToRow(r)); err != nil {
		return 0, wrapErr(op, subject, err)
	}
	return id, nil
}

// updateReferralSQL writes outcome, to_agent and ended_ms of one referrals
// row; a NULL to_agent keeps the stored one. The call, the referring agent,
// the department and the request time of a referral never change.
const updateReferralSQL = `
UPDATE referrals
SET outcome = :outcome, to_agent = coalesce(:to_agent, to_agent), ended_ms = :ended_ms
WHERE id = :id`

// UpdateReferral stores the referral's outcome, chosen agent and end time.
// An empty ToAgent keeps the agent already stored (the agent chosen for a
// department is set once); NotFound when r.ID is unknown.
func (db *DB) UpdateReferral(ctx context.Context, r hotline.Referral) error {
	const op = "store.UpdateReferral"
	subject := fmt.Sprintf("referral %d", r.ID)
	if !validReferralOutcome(r.Outcome) {
		return hotline.Errorf(hotline.KindInvalid, op, "%s: unknown outcome %q", subject, r.Outcome)
	}
	res, err := db.writer.NamedExecContext(ctx, updateReferralSQL, referralToRow(r))
	if err != nil {
		return wrapErr(op, subject, err)
	}
	return expectOneRow(op, subject, res)
}

// callReferralsSQL reads the referrals rows of one call, in the order they
// were requested.
const callReferralsSQL = `
SELECT id, call_id, from_agent, to_agent, to_department, requested_ms, outcome, ended_ms
FROM referrals WHERE call_id = ? ORDER BY requested_ms, id`

// ListReferrals returns the referral chain of call callID, in the order the
// referrals were requested; empty when there is none or no such call.
func (db *DB) ListReferrals(ctx context.Context, callID string) ([]hotline.Referral, error) {
	const op = "store.ListReferrals"
	var rows []referralRow
	if err := db.reader.SelectContext(ctx, &rows, callReferralsSQL, callID); err != nil {
		return nil, wrapErr(op, fmt.Sprintf("referrals of call %q", callID), err)
	}
	referrals := make([]hotline.Referral, 0, len(rows))
	for _, r := range rows {
		referrals = append(referrals, r.referral())
	}
	return referrals, nil
}
