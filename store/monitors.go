package store

import (
	"context"
	"fmt"
	"time"

	"hotline"
)

// startMonitorSQL inserts one call_monitors row, not yet connected.
const startMonitorSQL = `
INSERT INTO call_monitors (call_id, supervisor_id, agent_id, mode, requested_ms)
VALUES (?, ?, ?, ?, ?) RETURNING id`

// StartMonitor records a supervisor asking to monitor a call and returns
// its id. The call and the supervisor (on the roster) must exist.
func (db *DB) StartMonitor(ctx context.Context, m hotline.MonitorSession) (int64, error) {
	const op = "store.StartMonitor"
	subject := fmt.Sprintf("monitoring of call %q by %q", m.CallID, m.SupervisorID)
	if !m.Mode.Valid() {
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s: mode %q must be listen, whisper or barge", subject, m.Mode)
	}
	var id int64
	err := db.writer.GetContext(ctx, &id, startMonitorSQL, m.CallID, m.SupervisorID, m.AgentID, string(m.Mode), hotline.UnixMilli(m.RequestedAt))
	return id, wrapErr(op, subject, err)
}

// ConnectMonitor records that the supervisor's phone answered.
func (db *DB) ConnectMonitor(ctx context.Context, id int64, at time.Time) error {
	const op = "store.ConnectMonitor"
	// connectMonitorSQL sets call_monitors.connected_ms of an unended row.
	const connectMonitorSQL = `UPDATE call_monitors SET connected_ms = ? WHERE id = ? AND ended_ms = 0`
	res, err := db.writer.ExecContext(ctx, connectMonitorSQL, hotline.UnixMilli(at), id)
	if err != nil {
		return wrapErr(op, fmt.Sprintf("monitoring %d", id), err)
	}
	return expectOneRow(op, fmt.Sprintf("unended monitoring %d", id), res)
}

// EndMonitor records when and why a monitoring ended; ending it twice
// keeps the first.
func (db *DB) EndMonitor(ctx context.Context, id int64, at time.Time, reason hotline.MonitorEnd) error {
	const op = "store.EndMonitor"
	// endMonitorSQL sets call_monitors.ended_ms and end_reason of an unended row.
	const endMonitorSQL = `UPDATE call_monitors SET ended_ms = ?, end_reason = ? WHERE id = ? AND ended_ms = 0`
	_, err := db.writer.ExecContext(ctx, endMonitorSQL, hotline.UnixMilli(at), string(reason), id)
	return wrapErr(op, fmt.Sprintf("monitoring %d", id), err)
}

// openMonitorsSQL reads the call_monitors rows not ended, oldest first.
const openMonitorsSQL = `SELECT id, call_id, supervisor_id, agent_id, mode, requested_ms, connected_ms, ended_ms, end_reason
FROM call_monitors WHERE ended_ms = 0 ORDER BY id`

// OpenMonitors returns the monitorings not ended, oldest first: those
// going on, and those an instance that stopped or died left open.
func (db *DB) OpenMonitors(ctx context.Context) ([]hotline.MonitorSession, error) {
	const op = "store.OpenMonitors"
	var rows []monitorRow
	if err := db.reader.SelectContext(ctx, &rows, openMonitorsSQL); err != nil {
		return nil, wrapErr(op, "open monitorings", err)
	}
	return monitorsOf(rows), nil
}

type monitorRow struct {
	ID           int64  `db:"id"`
	CallID       string `db:"call_id"`
	SupervisorID string `db:"supervisor_id"`
	AgentID      string `db:"agent_id"`
	Mode         string `db:"mode"`
	RequestedMs  int64  `db:"requested_ms"`
	ConnectedMs  int64  `db:"connected_ms"`
	EndedMs      int64  `db:"ended_ms"`
	EndReason    string `db:"end_reason"`
}

// callMonitorsSQL reads the call_monitors rows of one call, oldest first.
const callMonitorsSQL = `SELECT id, call_id, supervisor_id, agent_id, mode, requested_ms, connected_ms, ended_ms, end_reason
FROM call_monitors WHERE call_id = ? ORDER BY requested_ms, id`

// CallMonitors returns the monitorings of a call, oldest first.
func (db *DB) CallMonitors(ctx context.Context, callID string) ([]hotline.MonitorSession, error) {
	const op = "store.CallMonitors"
	var rows []monitorRow
	if err := db.reader.SelectContext(ctx, &rows, callMonitorsSQL, callID); err != nil {
		return nil, wrapErr(op, fmt.Sprintf("monitorings of call %q", callID), err)
	}
	return monitorsOf(rows), nil
}

func monitorsOf(rows []monitorRow) []hotline.MonitorSession {
	out := make([]hotline.MonitorSession, len(rows))
	for i, r := range rows {
		out[i] = hotline.MonitorSession{ID: r.ID, CallID: r.CallID, SupervisorID: r.SupervisorID, AgentID: r.AgentID,
			Mode: hotline.MonitorMode(r.Mode), RequestedAt: hotline.FromUnixMilli(r.RequestedMs),
			ConnectedAt: hotline.FromUnixMilli(r.ConnectedMs), EndedAt: hotline.FromUnixMilli(r.EndedMs),
			EndReason: hotline.MonitorEnd(r.EndReason)}
	}
	return out
}

// MonitorCall returns the call monitoring id is of.
func (db *DB) MonitorCall(ctx context.Context, id int64) (string, error) {
	const op = "store.MonitorCall"
	// monitorCallSQL reads call_monitors.call_id of one row.
	const monitorCallSQL = `SELECT call_id FROM call_monitors WHERE id = ?`
	var callID string
	err := db.reader.GetContext(ctx, &callID, monitorCallSQL, id)
	return callID, wrapErr(op, fmt.Sprintf("monitoring %d", id), err)
}
