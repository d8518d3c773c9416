package recording

import (
	"context"
	"errors"

	"hotline"
	"hotline/store"
)

// Reviews is the supervisors' review desk (clause 7.1.4). Who may review
// is the access table's to decide; the HTTP gate audits each review.
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

// AddReview stores r by supervisor r.SupervisorID (the access table let
// them review); see store.DB.AddReview for the rules of the fields. The
// agent reviewed must have been on the call: responsible for it, rung on
// it, or referred to (Invalid otherwise; empty means the responsible one).
func (d *Reviews) AddReview(ctx context.Context, r hotline.Review) (hotline.Review, error) {
	const op = "recording.AddReview"
	if r.AgentID != "" {
		c, err := d.db.GetCall(ctx, r.CallID)
		if err != nil {
			return hotline.Review{}, err
		}
		if !tookPartInCall(c, r.AgentID) {
			return hotline.Review{}, hotline.Errorf(hotline.KindInvalid, op, "agent %q was not on call %q: review an agent who answered, was rung or was referred to", r.AgentID, r.CallID)
		}
	}
	return d.db.AddReview(ctx, r)
}

func tookPartInCall(c hotline.Call, agent string) bool {
	if c.FirstResponsibleAgent == agent {
		return true
	}
	for _, l := range c.Legs {
		if l.AgentID == agent {
			return true
		}
	}
	for _, f := range c.Referrals {
		if f.ToAgent == agent || f.FromAgent == agent {
			return true
		}
	}
	return false
}

// ListReviews returns the reviews of agentID ("" for every agent), newest
// first, at most 1000.
func (d *Reviews) ListReviews(ctx context.Context, agentID string) ([]hotline.Review, error) {
	return d.db.ListReviews(ctx, store.ReviewFilter{AgentID: agentID, Limit: 1000})
}
