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
	require.NoError(t, f.db.AddRecording(f.ctx, hotline.Recording{Name: "known", StartedAt: t0}))
	got, err := f.db.UnknownRecordings(f.ctx, []string{"orphan-b", "known", "orphan-a"})
	require.NoError(t, err)
	require.Equal(t, []string{"orphan-a", "orphan-b"}, got)
	got, err = f.db.UnknownRecordings(f.ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestClaimDueRecordingsByServerOneArchiverAtATime(t *testing.T) {
	t.Parallel()
	f := setup(t)
	at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	require.NoError(t, f.db.RecordingFinished(f.ctx, "east", "e1", "", "wav", at))
	require.NoError(t, f.db.RecordingFinished(f.ctx, "west", "w1", "", "wav", at))
	require.NoError(t, f.db.RecordingFinished(f.ctx, "", "old", "", "wav", at.Add(-time.Hour)))
	names := func(rs []ArchivedRecording) (out []string) {
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	until := at.Add(time.Minute)

	got, err := f.db.ClaimDueRecordings(f.ctx, "east", true, "t1", at, until, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"e1", "old"}, names(got), "its own and the unnamed ones, due first, then by name")
	got, err = f.db.ClaimDueRecordings(f.ctx, "east", true, "t2", at, until, 10)
	require.NoError(t, err)
	require.Empty(t, got, "claimed: another archiver gets none of them")
	got, err = f.db.ClaimDueRecordings(f.ctx, "west", false, "t3", at, until, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"w1"}, names(got))

	// Only the claim marks it archived; once it runs out another may claim it.
	archived := hotline.Recording{Name: "e1", Format: "wav", SizeBytes: 1, SHA256: "ab", ArchivedAt: at}
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.db.MarkRecordingArchived(f.ctx, archived, "t2")))
	got, err = f.db.ClaimDueRecordings(f.ctx, "east", false, "t4", until, until.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"e1"}, names(got), "the claim ran out")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.db.MarkRecordingArchived(f.ctx, archived, "t1")), "the first claim lost it")
	require.NoError(t, f.db.MarkRecordingArchived(f.ctx, archived, "t4"))
	rec, err := f.db.GetRecording(f.ctx, "e1")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingArchived, rec.State)

	// A failed attempt ends the claim: due again at its next attempt.
	require.NoError(t, f.db.MarkRecordingAttemptFailed(f.ctx, "w1", "404", at, false))
	got, err = f.db.ClaimDueRecordings(f.ctx, "west", false, "t5", at, until, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"w1"}, names(got))
	_, err = f.db.ClaimDueRecordings(f.ctx, "west", false, "", at, until, 10)
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))

	// The instance that takes west over ends the claims of the one that
	// died on it at once, without waiting for them to run out; east's
	// (and the unnamed, first server's) are not west's to end.
	n, err := f.db.ReleaseRecordingClaims(f.ctx, "west", false)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	got, err = f.db.ClaimDueRecordings(f.ctx, "west", false, "t6", at, until, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"w1"}, names(got), "claimed again before t5's claim ran out")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.db.MarkRecordingArchived(f.ctx,
		hotline.Recording{Name: "w1", Format: "wav", SizeBytes: 1, SHA256: "ab", ArchivedAt: at}, "t5")), "the dead claim marks nothing")
	n, err = f.db.ReleaseRecordingClaims(f.ctx, "east", false)
	require.NoError(t, err)
	require.Zero(t, n, "old is claimed (t1) but of no server; e1 is archived")
	n, err = f.db.ReleaseRecordingClaims(f.ctx, "east", true)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the first server's archiver also releases the unnamed")
}

// One pass's attempts are stored together: the archived marked by its
// claim (one another claim took over is reported, not marked), the
// failed counted, and the claims of those not tried ended, due as before.
func TestFinishArchiveAttempts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	for _, n := range []string{"a1", "a2", "f1", "n1", "lost"} {
		require.NoError(t, f.db.RecordingFinished(f.ctx, "", n, "", "wav", at))
	}
	got, err := f.db.ClaimDueRecordings(f.ctx, "", false, "t1", at, at.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, got, 5, "claimed in one go")
	// The claim on "lost" ran out and another archiver holds it now.
	taken, err := f.db.ClaimDueRecordings(f.ctx, "", false, "t2", at.Add(time.Minute), at.Add(2*time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, taken, 5)
	_, err = f.db.FinishArchiveAttempts(f.ctx, "t2", []ArchiveAttempt{
		{Recording: hotline.Recording{Name: "a1"}, NotTried: true}, {Recording: hotline.Recording{Name: "a2"}, NotTried: true},
		{Recording: hotline.Recording{Name: "f1"}, NotTried: true}, {Recording: hotline.Recording{Name: "n1"}, NotTried: true}})
	require.NoError(t, err)
	_, err = f.db.ClaimDueRecordings(f.ctx, "", false, "t1", at.Add(time.Minute), at.Add(2*time.Minute), 4)
	require.NoError(t, err)

	archived := func(name string) hotline.Recording {
		return hotline.Recording{Name: name, Format: "ulaw", SizeBytes: 8058, Duration: 1.5, SHA256: "ab" + name, ArchivedAt: at}
	}
	lost, err := f.db.FinishArchiveAttempts(f.ctx, "t1", []ArchiveAttempt{
		{Recording: archived("a1")}, {Recording: archived("a2")}, {Recording: archived("lost")},
		{Recording: hotline.Recording{Name: "f1"}, Failure: "GET: 500", Next: at.Add(time.Hour)},
		{Recording: hotline.Recording{Name: "n1"}, NotTried: true},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"lost"}, lost, "t2 holds it")

	for _, n := range []string{"a1", "a2"} {
		rec, err := f.db.GetRecording(f.ctx, n)
		require.NoError(t, err)
		want := archived(n)
		want.State, want.StartedAt, want.FinishedAt = hotline.RecordingArchived, at, at
		require.Equal(t, want, rec.Recording)
	}
	rec, err := f.db.GetRecording(f.ctx, "lost")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingPending, rec.State)
	rec, err = f.db.GetRecording(f.ctx, "f1")
	require.NoError(t, err)
	require.Equal(t, [3]any{hotline.RecordingPending, 1, "GET: 500"}, [3]any{rec.State, rec.Attempts, rec.LastError})
	require.Equal(t, at.Add(time.Hour), rec.NextAttempt)
	rec, err = f.db.GetRecording(f.ctx, "n1")
	require.NoError(t, err)
	require.Zero(t, rec.Attempts, "not tried is no attempt")

	again, err := f.db.ClaimDueRecordings(f.ctx, "", false, "t3", at.Add(time.Minute), at.Add(2*time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, again, 1, "n1's claim ended; lost is t2's, f1 due later")
	require.Equal(t, "n1", again[0].Name)
	_, err = f.db.FinishArchiveAttempts(f.ctx, "", nil)
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
}
