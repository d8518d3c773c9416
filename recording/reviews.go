package recording

import (
	"context"
	"errors"

	"hotline"
	"hotline/store"
)

// Reviews is the supervisors' review desk (clause 7.1.4): only a
// supervisor may review a call; each review is audited (call.review).
type Reviews struct {
	db *store.DB
}

// NewReviews builds the review desk.
func NewReviews(deps Deps) (*Reviews, error) {
	if deps.DB == nil {
		return nil, errors.New("recording: NewReviews needs a database")
	}
	return &Reviews{db: deps.DB}, nil
}

// AddReview stores r after checking that r.SupervisorID is a supervisor
// (Forbidden otherwise); see store.DB.AddReview for the rules of the fields.
func (d *Reviews) AddReview(ctx context.Context, r hotline.Review) (hotline.Review, error) {
	const op = "recording.AddReview"
	staff, err := d.db.GetAgent(ctx, r.SupervisorID)
	if err != nil {
		if hotline.KindOf(err) == hotline.KindNotFound {
			return hotline.Review{}, hotline.Errorf(hotline.KindForbidden, op, "staff member %q is not known", r.SupervisorID)
		}
		return hotline.Review{}, err
	}
	if staff.Role != hotline.RoleSupervisor {
		return hotline.Review{}, hotline.Errorf(hotline.KindForbidden, op, "only a supervisor may review calls; %q is an agent", r.SupervisorID)
	}
	out, err := d.db.AddReview(ctx, r)
	if err != nil {
		return hotline.Review{}, err
	}
	_, err = d.db.AppendAudit(ctx, hotline.AuditEntry{Actor: r.SupervisorID, Action: "call.review",
		Object: "call:" + out.CallID, Result: ResultOK, Detail: "review " + itoa(out.ID)})
	return out, err
}

// ListReviews returns the reviews of agentID ("" for every agent), newest
// first, at most 1000.
func (d *Reviews) ListReviews(ctx context.Context, agentID string) ([]hotline.Review, error) {
	return d.db.ListReviews(ctx, store.ReviewFilter{AgentID: agentID, Limit: 1000})
}
