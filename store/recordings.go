package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"hotline"
)

// addRecordingSQL inserts one recordings row: a recording the service made
// and must keep track of (the archive fills in size, hash and state later).
const addRecordingSQL = `
INSERT INTO recordings (name, call_id, state, format, duration_ms, started_ms, finished_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)`

// AddRecording records a recording by name. The call id is optional
// (callbacks and reply calls have no calls row); a name already recorded is
// a Conflict.
func (db *DB) AddRecording(ctx context.Context, r hotline.Recording) error {
	const op = "store.AddRecording"
	subject := fmt.Sprintf("recording %q", r.Name)
	switch {
	case strings.TrimSpace(r.Name) == "":
		return hotline.Errorf(hotline.KindInvalid, op, "a recording needs a name")
	case r.StartedAt.IsZero():
		return hotline.Errorf(hotline.KindInvalid, op, "%s: start time is required", subject)
	}
	state := r.State
	if state == "" {
		state = hotline.RecordingPending
	}
	format := r.Format
	if format == "" {
		format = "wav"
	}
	callID := sql.NullString{String: r.CallID, Valid: r.CallID != ""}
	_, err := db.writer.ExecContext(ctx, addRecordingSQL, r.Name, callID, string(state), format,
		int64(r.Duration*1000), hotline.UnixMilli(r.StartedAt), hotline.UnixMilli(r.FinishedAt))
	return wrapErr(op, subject, err)
}
