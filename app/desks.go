package app

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"hotline"
	"hotline/ari"
	"hotline/auth"
	"hotline/callback"
	"hotline/store"
	"hotline/web"
)

// The desks serve the API from the store. Who may call them is decided
// before, by the access table at the HTTP gate, which also audits each
// action's outcome; the desks take the actor from the context to record
// who did it (closed_by, approved_by, …).

// actorID is the id of the staff member acting in ctx.
func actorID(ctx context.Context) string {
	a, _ := hotline.ActorFromContext(ctx)
	return a.ID
}

// taskQueue keeps the callback service's Redis indexes in step with what
// the desk changes in SQLite (*callback.Service).
type taskQueue interface {
	DialNow(ctx context.Context, id int64, at time.Time) error
	Forget(ctx context.Context, ids ...int64) error
}

// callbackDesk serves the callback API from the store, keeping the Redis
// index in step.
type callbackDesk struct {
	db    *store.DB
	queue taskQueue
	now   func() time.Time
	log   *slog.Logger
}

func (d callbackDesk) ListCallbacks(ctx context.Context, f web.CallbackFilter) ([]hotline.CallbackTask, error) {
	tf := store.TaskFilter{State: f.State, AgentID: f.AgentID, Limit: f.Limit, Offset: f.Offset}
	if f.Overdue || f.State.ByDeadline() {
		tf.OverdueAt = d.now()
	}
	return d.db.ListTasks(ctx, tf)
}

func (d callbackDesk) GetCallback(ctx context.Context, id int64) (hotline.CallbackTask, error) {
	return d.db.GetTask(ctx, id)
}

// DialNow makes a pending task due at once; the callback service picks it
// up on its next round (SQLite first, then the index).
func (d callbackDesk) DialNow(ctx context.Context, id int64) error {
	now := d.now()
	if err := d.db.DueNow(ctx, id, now); err != nil {
		return err
	}
	if err := d.queue.DialNow(ctx, id, now); err != nil {
		d.log.Warn("dial now: index not updated; the SQL poll or the next reconcile will find the task", "task", id, "err", err)
	}
	return nil
}

// Acknowledge is a supervisor's: an unreachable or invalid-number task
// leaves the queue with a note.
func (d callbackDesk) Acknowledge(ctx context.Context, id int64, note string) (hotline.CallbackTask, error) {
	t, err := d.db.AcknowledgeTask(ctx, id, actorID(ctx), note, d.now())
	if err == nil {
		d.removeFromIndex(ctx, id)
	}
	return t, err
}

// Close ends a task with a reason (6.1: an agent only once an attempt
// reached the citizen, a supervisor any: the access table's rule).
func (d callbackDesk) Close(ctx context.Context, id int64, reason string) (hotline.CallbackTask, error) {
	t, err := d.db.CloseTask(ctx, id, actorID(ctx), reason, d.now())
	if err == nil {
		d.removeFromIndex(ctx, id)
	}
	return t, err
}

func (d callbackDesk) removeFromIndex(ctx context.Context, id int64) {
	if err := d.queue.Forget(ctx, id); err != nil {
		d.log.Warn("closed task stays in the index until the next reconcile", "task", id, "err", err)
	}
}

// violationDesk serves the violations ledger.
type violationDesk struct {
	db  *store.DB
	now func() time.Time
}

func (d violationDesk) ListViolations(ctx context.Context, f web.ViolationFilter) ([]hotline.Violation, error) {
	return d.db.ListViolations(ctx, store.ViolationFilter{AgentID: f.AgentID, Kind: f.Kind, Undisposed: f.Undisposed, Limit: f.Limit, Offset: f.Offset})
}

func (d violationDesk) GetViolation(ctx context.Context, id int64) (hotline.Violation, error) {
	return d.db.GetViolation(ctx, id)
}

func (d violationDesk) Dispose(ctx context.Context, id int64, disp hotline.Disposition, reason string) (hotline.Violation, error) {
	return d.db.DisposeViolation(ctx, id, disp, actorID(ctx), reason, d.now())
}

// systemActor is the service itself, in audit rows of what it does on its
// own (a reply call's outcome).
var systemActor = hotline.Actor{ID: "system", Method: hotline.AuthSystem}

// auditor writes the audit log for the HTTP gate.
type auditor struct {
	db  *store.DB
	log *slog.Logger
	now func() time.Time
}

func (a auditor) Audit(ctx context.Context, actor hotline.Actor, action, object, outcome, detail string) {
	auth.Audit(ctx, a.db, a.log, a.now, actor, action, object, outcome, detail)
}

// promiseCalendar is the working-time arithmetic promise deadlines need.
type promiseCalendar interface {
	AddWorking(t time.Time, d time.Duration) time.Time
	AddWorkingDays(t time.Time, n int) time.Time
}

// replyDialer makes reply calls (ari.Dialer).
type replyDialer interface {
	ReplyCall(ctx context.Context, p hotline.Promise, lease ari.CallbackLease)
}

// promiseDesk serves the promised-reply API (6.2): it sets deadlines by
// the working-time calendar within the policy's bounds, keeps the reminder
// index in step and makes reply calls.
type promiseDesk struct {
	db     *store.DB
	watch  *callback.PromiseWatch
	cal    promiseCalendar
	policy hotline.PromisePolicy
	dialer replyDialer
	now    func() time.Time
	log    *slog.Logger
	audit  auditor
}

func (d promiseDesk) CreatePromise(ctx context.Context, in web.PromiseInput) (hotline.Promise, error) {
	p, err := d.createPromiseOnly(ctx, in)
	if err != nil {
		return hotline.Promise{}, err
	}
	d.track(ctx, p)
	return p, nil
}

// createPromiseOnly stores the promise with its deadline on the calendar.
func (d promiseDesk) createPromiseOnly(ctx context.Context, in web.PromiseInput) (hotline.Promise, error) {
	now := d.now()
	deadline := in.Deadline
	switch {
	case in.DueInWorkingDays > 0:
		deadline = d.cal.AddWorkingDays(now, in.DueInWorkingDays)
	case in.DueInWorkingHours > 0:
		deadline = d.cal.AddWorking(now, time.Duration(in.DueInWorkingHours)*time.Hour)
	}
	if err := d.policy.CheckDeadline(deadline, now, d.cal); err != nil {
		return hotline.Promise{}, err
	}
	return d.db.CreatePromise(ctx, hotline.Promise{CallID: in.CallID, Summary: in.Summary, Department: in.Department,
		CreatedBy: actorID(ctx), Deadline: deadline, CreatedAt: now})
}

func (d promiseDesk) ListPromises(ctx context.Context, f web.PromiseFilter) ([]hotline.Promise, error) {
	pf := store.PromiseFilter{State: f.State, AgentID: f.AgentID, Number: f.Number, Limit: f.Limit, Offset: f.Offset}
	if f.Overdue || f.State.ByDeadline() {
		pf.OverdueAt = d.now()
	}
	return d.db.ListPromises(ctx, pf)
}

func (d promiseDesk) GetPromise(ctx context.Context, id int64) (hotline.Promise, error) {
	return d.db.GetPromise(ctx, id)
}

// ExtendPromise moves a deadline with the approval of the supervisor
// acting, at most promises.max_extension_working_days past the current
// one; the store keeps the original deadline.
func (d promiseDesk) ExtendPromise(ctx context.Context, id int64, deadline time.Time, reason string) (hotline.Promise, error) {
	current, err := d.db.GetPromise(ctx, id)
	if err != nil {
		return hotline.Promise{}, err
	}
	if err := d.policy.CheckExtension(current.Deadline, deadline, d.cal); err != nil {
		return hotline.Promise{}, err
	}
	p, err := d.db.ExtendPromise(ctx, id, deadline, actorID(ctx), reason, d.now())
	if err != nil {
		return hotline.Promise{}, err
	}
	d.track(ctx, p)
	return p, nil
}

func (d promiseDesk) FulfilPromise(ctx context.Context, id int64, note string) (hotline.Promise, error) {
	p, err := d.db.FulfilPromise(ctx, id, store.FulfilledByNote, note, actorID(ctx), d.now())
	if err != nil {
		return hotline.Promise{}, err
	}
	d.forget(ctx, id)
	return p, nil
}

// ReplyCall dials the citizen for the promised reply: the owner first, the
// reply greeting before the bridge, recorded. A connected call fulfils the
// promise with the recording as evidence.
func (d promiseDesk) ReplyCall(ctx context.Context, id int64) error {
	const op = "app.ReplyCall"
	p, err := d.db.GetPromise(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case p.State == hotline.PromiseFulfilled || p.State == hotline.PromiseClosed:
		return hotline.Errorf(hotline.KindConflict, op, "promise %d is %s", id, p.State)
	case p.Number == "":
		return hotline.Errorf(hotline.KindConflict, op, "promise %d has no callable number", id)
	}
	// The dialer runs the call on a context of its own that a stop cancels
	// (fleet.ReplyCall): the request's ends with its answer.
	d.dialer.ReplyCall(ctx, p, &replyLease{desk: d, promise: p})
	return nil
}

func (d promiseDesk) ClosePromise(ctx context.Context, id int64, reason string) (hotline.Promise, error) {
	p, err := d.db.ClosePromise(ctx, id, actorID(ctx), reason, d.now())
	if err != nil {
		return hotline.Promise{}, err
	}
	d.forget(ctx, id)
	return p, nil
}

func (d promiseDesk) track(ctx context.Context, p hotline.Promise) {
	if d.watch == nil {
		return
	}
	if err := d.watch.Track(ctx, p); err != nil {
		d.log.Warn("promise reminders not indexed; the next reconcile or the SQL poll will find them", "promise", p.ID, "err", err)
	}
}

func (d promiseDesk) forget(ctx context.Context, id int64) {
	if d.watch == nil {
		return
	}
	if err := d.watch.Forget(ctx, id); err != nil {
		d.log.Warn("finished promise stays in the index until the next reconcile", "promise", id, "err", err)
	}
}

func promiseObject(id int64) string { return "promise:" + strconv.FormatInt(id, 10) }

// replyLease is what the dialer sees of a reply call: the attempt lives in
// memory and in the log; a connected call fulfils the promise.
type replyLease struct {
	desk    promiseDesk
	promise hotline.Promise
}

func (l *replyLease) Start(_ context.Context, agentID string) (hotline.CallbackAttempt, error) {
	return hotline.CallbackAttempt{ID: l.desk.now().UnixMilli(), AgentID: agentID, StartedAt: l.desk.now()}, nil
}

func (l *replyLease) Update(context.Context, hotline.CallbackAttempt) error { return nil }

// HandOver is never asked of a reply call: it stays with the promise's owner.
func (l *replyLease) HandOver(context.Context, string) error { return nil }

func (l *replyLease) Extend(context.Context) error { return nil }

func (l *replyLease) Release(_ context.Context, next time.Time) error {
	l.desk.log.Warn("reply call not made: no agent could take it now; ask again", "promise", l.promise.ID, "owner", l.promise.AgentID)
	return nil
}

func (l *replyLease) Finish(ctx context.Context, a hotline.CallbackAttempt, outcome hotline.AttemptOutcome) error {
	d := l.desk
	// The reply call's outcome is the service's own record; whoever made the
	// call (the owner, or a colleague near the deadline) is its agent.
	d.audit.Audit(ctx, systemActor, "promise.reply_call", promiseObject(l.promise.ID), string(outcome), "agent "+a.AgentID+" "+a.RecordingName)
	if outcome != hotline.AttemptConnected {
		return nil
	}
	// The archive has usually recorded it already; without one, record it here.
	if err := d.db.AddRecording(ctx, hotline.Recording{Name: a.RecordingName, Format: "wav", StartedAt: a.AgentAnsweredAt, FinishedAt: a.EndedAt,
		Duration: a.EndedAt.Sub(a.BridgedAt).Seconds()}); err != nil && hotline.KindOf(err) != hotline.KindConflict {
		return err
	}
	if _, err := d.db.FulfilPromise(ctx, l.promise.ID, store.FulfilledByReplyCall, a.RecordingName, a.AgentID, d.now()); err != nil {
		return err
	}
	d.forget(ctx, l.promise.ID)
	return nil
}

// holdDesk puts recordings on legal hold; retention never deletes a held
// recording.
type holdDesk struct{ db *store.DB }

func (d holdDesk) SetLegalHold(ctx context.Context, name string, hold bool) error {
	return d.db.SetLegalHold(ctx, name, hold)
}

// extensionDesk keeps the owners' requests for a later deadline; granting
// one extends the promise through the promise desk (its bounds, the
// deadline index).
type extensionDesk struct {
	db       *store.DB
	promises promiseDesk
}

func (d extensionDesk) RequestExtension(ctx context.Context, promiseID int64, deadline time.Time, reason string) (hotline.ExtensionRequest, error) {
	p, err := d.db.GetPromise(ctx, promiseID)
	if err != nil {
		return hotline.ExtensionRequest{}, err
	}
	if err := d.promises.policy.CheckExtension(p.Deadline, deadline, d.promises.cal); err != nil {
		return hotline.ExtensionRequest{}, err
	}
	if !deadline.After(p.Deadline) {
		return hotline.ExtensionRequest{}, hotline.Errorf(hotline.KindInvalid, "app.RequestExtension",
			"the deadline asked for, %s, must be after the current one, %s", deadline, p.Deadline)
	}
	return d.db.RequestExtension(ctx, promiseID, actorID(ctx), deadline, reason, d.promises.now())
}

func (d extensionDesk) ListExtensionRequests(ctx context.Context, pending bool) ([]hotline.ExtensionRequest, error) {
	return d.db.ListExtensionRequests(ctx, pending, 500)
}

func (d extensionDesk) GetExtensionRequest(ctx context.Context, id int64) (hotline.ExtensionRequest, error) {
	return d.db.GetExtensionRequest(ctx, id)
}

func (d extensionDesk) DecideExtensionRequest(ctx context.Context, id int64, grant bool, reason string) (hotline.ExtensionRequest, error) {
	req, err := d.db.GetExtensionRequest(ctx, id)
	if err != nil {
		return hotline.ExtensionRequest{}, err
	}
	decision := "refused"
	if grant {
		if req.Decision != "" {
			return hotline.ExtensionRequest{}, hotline.Errorf(hotline.KindConflict, "app.DecideExtensionRequest", "extension request %d was decided already", id)
		}
		if _, err := d.promises.ExtendPromise(ctx, req.PromiseID, req.Deadline, reason); err != nil {
			return hotline.ExtensionRequest{}, err
		}
		decision = "granted"
	}
	return d.db.DecideExtensionRequest(ctx, id, decision, actorID(ctx), reason, d.promises.now())
}
