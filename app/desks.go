package app

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"hotline"
	"hotline/ari"
	"hotline/callback"
	"hotline/recording"
	"hotline/store"
	"hotline/web"
)

// staffDirectory says who a staff member is; the roster implements it.
type staffDirectory interface {
	Get(id string) (hotline.Agent, bool)
}

// taskQueue keeps the callback service's Redis indexes in step with what
// the desk changes in SQLite (*callback.Service).
type taskQueue interface {
	DialNow(ctx context.Context, id int64, at time.Time) error
	Forget(ctx context.Context, ids ...int64) error
}

// callbackDesk serves the callback API from the store, keeping the Redis
// index in step, and enforces who may close what. Every close,
// acknowledgement and disposition is written to the audit log.
type callbackDesk struct {
	db    *store.DB
	queue taskQueue
	staff staffDirectory
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
func (d callbackDesk) Acknowledge(ctx context.Context, id int64, by, note string) (hotline.CallbackTask, error) {
	const op = "app.Acknowledge"
	if err := d.requireRole(op, by, hotline.RoleSupervisor, "acknowledge an unreachable callback"); err != nil {
		d.audit(ctx, by, "callback.acknowledge", id, "refused", err.Error())
		return hotline.CallbackTask{}, err
	}
	t, err := d.db.AcknowledgeTask(ctx, id, by, note, d.now())
	d.audit(ctx, by, "callback.acknowledge", id, result(err), note)
	if err == nil {
		d.removeFromIndex(ctx, id)
	}
	return t, err
}

// Close ends a task with a reason. A supervisor may close any open task;
// an agent only one that was attempted (6.1: no callback is skipped).
func (d callbackDesk) Close(ctx context.Context, id int64, by, reason string) (hotline.CallbackTask, error) {
	const op = "app.CloseCallback"
	who, ok := d.staff.Get(by)
	if !ok {
		return hotline.CallbackTask{}, hotline.Errorf(hotline.KindForbidden, op, "%q is not a staff member", by)
	}
	if who.Role != hotline.RoleSupervisor {
		t, err := d.db.GetTask(ctx, id)
		if err != nil {
			return hotline.CallbackTask{}, err
		}
		if len(t.AttemptLog) == 0 {
			err := hotline.Errorf(hotline.KindForbidden, op, "an agent may not close callback task %d that was never attempted; a supervisor may, with a reason", id)
			d.audit(ctx, by, "callback.close", id, "refused", err.Error())
			return hotline.CallbackTask{}, err
		}
	}
	t, err := d.db.CloseTask(ctx, id, by, reason, d.now())
	d.audit(ctx, by, "callback.close", id, result(err), reason)
	if err == nil {
		d.removeFromIndex(ctx, id)
	}
	return t, err
}

func (d callbackDesk) requireRole(op, by string, role hotline.Role, what string) error {
	who, ok := d.staff.Get(by)
	if !ok {
		return hotline.Errorf(hotline.KindForbidden, op, "%q is not a staff member", by)
	}
	if who.Role != role {
		return hotline.Errorf(hotline.KindForbidden, op, "only a %s may %s", role, what)
	}
	return nil
}

func (d callbackDesk) removeFromIndex(ctx context.Context, id int64) {
	if err := d.queue.Forget(ctx, id); err != nil {
		d.log.Warn("closed task stays in the index until the next reconcile", "task", id, "err", err)
	}
}

func (d callbackDesk) audit(ctx context.Context, actor, action string, id int64, res, detail string) {
	writeAudit(ctx, d.db, d.log, d.now, actor, action, "callback:"+strconv.FormatInt(id, 10), res, detail)
}

// violationDesk serves the violations ledger; only supervisors dispose.
type violationDesk struct {
	db    *store.DB
	staff staffDirectory
	now   func() time.Time
	log   *slog.Logger
}

func (d violationDesk) ListViolations(ctx context.Context, f web.ViolationFilter) ([]hotline.Violation, error) {
	return d.db.ListViolations(ctx, store.ViolationFilter{AgentID: f.AgentID, Kind: f.Kind, Undisposed: f.Undisposed, Limit: f.Limit, Offset: f.Offset})
}

func (d violationDesk) Dispose(ctx context.Context, id int64, disp hotline.Disposition, by, reason string) (hotline.Violation, error) {
	const op = "app.DisposeViolation"
	object := "violation:" + strconv.FormatInt(id, 10)
	if who, ok := d.staff.Get(by); !ok || who.Role != hotline.RoleSupervisor {
		err := hotline.Errorf(hotline.KindForbidden, op, "only a supervisor may dispose of a violation")
		writeAudit(ctx, d.db, d.log, d.now, by, "violation.dispose", object, "refused", err.Error())
		return hotline.Violation{}, err
	}
	v, err := d.db.DisposeViolation(ctx, id, disp, by, reason, d.now())
	writeAudit(ctx, d.db, d.log, d.now, by, "violation."+string(disp), object, result(err), reason)
	return v, err
}

func result(err error) string {
	if err != nil {
		return "failed: " + string(hotline.KindOf(err))
	}
	return "ok"
}

// writeAudit appends to the tamper-evident audit log; a failure is logged,
// never hidden.
func writeAudit(ctx context.Context, db *store.DB, log *slog.Logger, now func() time.Time, actor, action, object, res, detail string) {
	_, err := db.AppendAudit(context.WithoutCancel(ctx), hotline.AuditEntry{At: now(), Actor: actor, Action: action, Object: object, Result: res, Detail: detail})
	if err != nil {
		log.Error("audit log write failed", "actor", actor, "action", action, "object", object, "err", err)
	}
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
// the working-time calendar, keeps the reminder index in step, makes reply
// calls and audits every extension, fulfilment and close.
type promiseDesk struct {
	db     *store.DB
	watch  *callback.PromiseWatch
	cal    promiseCalendar
	dialer replyDialer
	staff  staffDirectory
	now    func() time.Time
	log    *slog.Logger
}

func (d promiseDesk) CreatePromise(ctx context.Context, in web.PromiseInput) (hotline.Promise, error) {
	p, err := d.createPromiseOnly(ctx, in)
	if err != nil {
		return hotline.Promise{}, err
	}
	d.track(ctx, p)
	writeAudit(ctx, d.db, d.log, d.now, in.By, "promise.create", promiseObject(p.ID), "ok", p.Summary)
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
	return d.db.CreatePromise(ctx, hotline.Promise{CallID: in.CallID, Summary: in.Summary, Department: in.Department,
		CreatedBy: in.By, Deadline: deadline, CreatedAt: now})
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

// ExtendPromise moves a deadline; the store refuses it without a
// supervisor's approval and keeps the original deadline.
func (d promiseDesk) ExtendPromise(ctx context.Context, id int64, deadline time.Time, approvedBy, reason string) (hotline.Promise, error) {
	p, err := d.db.ExtendPromise(ctx, id, deadline, approvedBy, reason, d.now())
	writeAudit(ctx, d.db, d.log, d.now, approvedBy, "promise.extend", promiseObject(id), result(err), reason)
	if err != nil {
		return hotline.Promise{}, err
	}
	d.track(ctx, p)
	return p, nil
}

func (d promiseDesk) FulfilPromise(ctx context.Context, id int64, note, by string) (hotline.Promise, error) {
	p, err := d.db.FulfilPromise(ctx, id, store.FulfilledByNote, note, by, d.now())
	writeAudit(ctx, d.db, d.log, d.now, by, "promise.fulfil", promiseObject(id), result(err), note)
	if err != nil {
		return hotline.Promise{}, err
	}
	d.forget(ctx, id)
	return p, nil
}

// ReplyCall dials the citizen for the promised reply: the owner first, the
// reply greeting before the bridge, recorded. A connected call fulfils the
// promise with the recording as evidence.
func (d promiseDesk) ReplyCall(ctx context.Context, id int64, by string) error {
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
	if who, ok := d.staff.Get(by); !ok || (who.ID != p.AgentID && who.Role != hotline.RoleSupervisor) {
		return hotline.Errorf(hotline.KindForbidden, op, "only the owner %s or a supervisor may make the reply call of promise %d", p.AgentID, id)
	}
	writeAudit(ctx, d.db, d.log, d.now, by, "promise.reply_call", promiseObject(id), "dialing", "")
	d.dialer.ReplyCall(context.WithoutCancel(ctx), p, &replyLease{desk: d, promise: p})
	return nil
}

func (d promiseDesk) ClosePromise(ctx context.Context, id int64, by, reason string) (hotline.Promise, error) {
	p, err := d.db.ClosePromise(ctx, id, by, reason, d.now())
	writeAudit(ctx, d.db, d.log, d.now, by, "promise.close", promiseObject(id), result(err), reason)
	if err != nil {
		return hotline.Promise{}, err
	}
	d.forget(ctx, id)
	return p, nil
}

func (d promiseDesk) track(ctx context.Context, p hotline.Promise) {
	if err := d.watch.Track(ctx, p); err != nil {
		d.log.Warn("promise reminders not indexed; the next reconcile or the SQL poll will find them", "promise", p.ID, "err", err)
	}
}

func (d promiseDesk) forget(ctx context.Context, id int64) {
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
	writeAudit(ctx, d.db, d.log, d.now, a.AgentID, "promise.reply_call", promiseObject(l.promise.ID), string(outcome), a.RecordingName)
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

// holdDesk lets supervisors put recordings on legal hold; retention never
// deletes a held recording. Every change is audited.
type holdDesk struct {
	db    *store.DB
	staff staffDirectory
	now   func() time.Time
	log   *slog.Logger
}

func (d holdDesk) SetLegalHold(ctx context.Context, name, by string, hold bool) error {
	const op = "app.SetLegalHold"
	object := "recording:" + name
	action := "recording.hold"
	if !hold {
		action = "recording.release"
	}
	if who, ok := d.staff.Get(by); !ok || who.Role != hotline.RoleSupervisor {
		err := hotline.Errorf(hotline.KindForbidden, op, "only a supervisor may change a legal hold")
		writeAudit(ctx, d.db, d.log, d.now, by, action, object, "refused", err.Error())
		return err
	}
	if err := recording.ValidName(name); err != nil {
		return hotline.WrapError(hotline.KindInvalid, op, err)
	}
	err := d.db.SetLegalHold(ctx, name, hold)
	writeAudit(ctx, d.db, d.log, d.now, by, action, object, result(err), "")
	return err
}
