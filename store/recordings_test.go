package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestAddRecording(t *testing.T) {
	t.Parallel()
	f := setup(t)
	at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	require.NoError(t, f.db.AddRecording(f.ctx, hotline.Recording{Name: "rp9-1", StartedAt: at, FinishedAt: at.Add(time.Minute), Duration: 60}))
	var row struct {
		State    string `db:"state"`
		Format   string `db:"format"`
		Duration int64  `db:"duration_ms"`
	}
	require.NoError(t, f.db.reader.GetContext(f.ctx, &row, `SELECT state, format, duration_ms FROM recordings WHERE name = 'rp9-1'`))
	require.Equal(t, "pending", row.State)
	require.Equal(t, "wav", row.Format)
	require.Equal(t, int64(60000), row.Duration)

	err := f.db.AddRecording(f.ctx, hotline.Recording{Name: "rp9-1", StartedAt: at})
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(f.db.AddRecording(f.ctx, hotline.Recording{StartedAt: at})))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(f.db.AddRecording(f.ctx, hotline.Recording{Name: "x"})))
	err = f.db.AddRecording(f.ctx, hotline.Recording{Name: "c-missing", CallID: "no-such-call", StartedAt: at})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "the call must exist")
}

func TestUnknownRecordings(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.NoError(t, f.db.RecordingFinished(f.ctx, "known", "", "wav", t0))
	got, err := f.db.UnknownRecordings(f.ctx, []string{"orphan-b", "known", "orphan-a"})
	require.NoError(t, err)
	require.Equal(t, []string{"orphan-a", "orphan-b"}, got)
	got, err = f.db.UnknownRecordings(f.ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}
