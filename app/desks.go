package app

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"hotline"
	"hotline/callback"
	"hotline/store"
	"hotline/web"
)

// staffDirectory says who a staff member is; the roster implements it.
type staffDirectory interface {
	Get(id string) (hotline.Agent, bool)
}

// callbackDesk serves the callback API from the store, keeping the Redis
// index in step, and enforces who may close what. Every close,
// acknowledgement and disposition is written to the audit log.
type callbackDesk struct {
	db    *store.DB
	index *callback.Index
	staff staffDirectory
	now   func() time.Time
	log   *slog.Logger
}

func (d callbackDesk) ListCallbacks(ctx context.Context, f web.CallbackFilter) ([]hotline.CallbackTask, error) {
	tf := store.TaskFilter{State: f.State, AgentID: f.AgentID, Limit: f.Limit, Offset: f.Offset}
	if f.Overdue {
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
	if err := d.index.Add(ctx, id, now); err != nil {
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
	if err := d.index.Remove(ctx, id); err != nil {
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
