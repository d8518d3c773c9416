package app

import (
	"context"
	"time"

	"hotline"
	"hotline/store"
	"hotline/web"
)

// reportDesk serves the assessment reports (7.3) from the store, as of
// the service's clock.
type reportDesk struct {
	db  *store.DB
	now func() time.Time
}

func (d reportDesk) AgentReports(ctx context.Context, p hotline.ReportPeriod, agentID string) ([]hotline.AgentReport, error) {
	return d.db.AgentReports(ctx, store.ReportFilter{From: p.From, End: p.End, Now: d.now(), AgentID: agentID})
}

// complaintDesk records complaints against staff (7.1.2) in the store; the
// HTTP gate decides who may and audits it.
type complaintDesk struct{ db *store.DB }

func (d complaintDesk) AddComplaint(ctx context.Context, c hotline.Complaint) (hotline.Complaint, error) {
	return d.db.AddComplaint(ctx, c)
}

func (d complaintDesk) ListComplaints(ctx context.Context, f web.ComplaintFilter) ([]hotline.Complaint, error) {
	return d.db.ListComplaints(ctx, store.ComplaintFilter{AgentID: f.AgentID, Limit: f.Limit, Offset: f.Offset})
}
