package app

import (
	"context"
	"log/slog"
	"strconv"
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

// complaintDesk records complaints against staff (7.1.2): supervisors
// only, every attempt audited.
type complaintDesk struct {
	db    *store.DB
	staff staffDirectory
	now   func() time.Time
	log   *slog.Logger
}

func (d complaintDesk) AddComplaint(ctx context.Context, c hotline.Complaint) (hotline.Complaint, error) {
	const op = "app.AddComplaint"
	object := "agent:" + c.AgentID
	if who, ok := d.staff.Get(c.RecordedBy); !ok || who.Role != hotline.RoleSupervisor {
		err := hotline.Errorf(hotline.KindForbidden, op, "only a supervisor may record a complaint")
		writeAudit(ctx, d.db, d.log, d.now, c.RecordedBy, "complaint.add", object, "refused", err.Error())
		return hotline.Complaint{}, err
	}
	saved, err := d.db.AddComplaint(ctx, c)
	if err == nil {
		object += " complaint:" + strconv.FormatInt(saved.ID, 10)
	}
	writeAudit(ctx, d.db, d.log, d.now, c.RecordedBy, "complaint.add", object, result(err), "")
	return saved, err
}

func (d complaintDesk) ListComplaints(ctx context.Context, f web.ComplaintFilter) ([]hotline.Complaint, error) {
	return d.db.ListComplaints(ctx, store.ComplaintFilter{AgentID: f.AgentID, Limit: f.Limit, Offset: f.Offset})
}
