package recording

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	ctx    context.Context
	dbPath string
	db     *store.DB
	clock  *clock
	cfg    Config
	deps   Deps
}

func setup(t testing.TB) fixture {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	clk := &clock{now: t0}
	path := filepath.Join(dir, "hotline.db")
	db, err := store.Open(ctx, store.Config{Path: path}, nil, store.WithClock(clk.Now))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	_, err = db.Migrate(ctx)
	require.NoError(t, err)
	cfg := Config{ArchiveDir: filepath.Join(dir, "archive")}
	return fixture{ctx: ctx, dbPath: path, db: db, clock: clk, cfg: cfg,
		deps: Deps{DB: db, Now: clk.Now, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()}}
}

// seedCall stores agents and a completed call answered by agent, with a
// leg for each agent in legs.
func (f fixture) seedCall(t *testing.T, id, agent string, legs ...string) {
	t.Helper()
	for _, a := range append([]string{agent}, legs...) {
		f.seedStaff(t, a, hotline.RoleAgent)
	}
	c := hotline.Call{ID: id, CallerNumber: "13900000001", DialedNumber: "12345", Line: hotline.LineHotline,
		State: hotline.CallRinging, ArrivedAt: t0}
	require.NoError(t, f.db.CreateCall(f.ctx, c))
	require.NoError(t, c.Answer(agent, t0.Add(time.Second)))
	require.NoError(t, f.db.UpdateCall(f.ctx, c))
	for i, a := range legs {
		_, err := f.db.AddLeg(f.ctx, hotline.CallLeg{CallID: id, AgentID: a, ChannelID: fmt.Sprintf("%s-a%d", id, i),
			Outcome: hotline.LegRinging, RungAt: t0})
		require.NoError(t, err)
	}
}

func (f fixture) seedStaff(t *testing.T, id string, role hotline.Role) {
	t.Helper()
	if _, err := f.db.GetAgent(f.ctx, id); err == nil {
		return
	}
	require.NoError(t, f.db.UpsertAgent(f.ctx, hotline.Agent{ID: id, Name: id, Endpoint: "PJSIP/" + id,
		Role: role, State: hotline.AgentOffline}))
}

// fakeAsterisk starts the fake and records a bridge under name, stopped at once.
func fakeAsterisk(t *testing.T, names ...string) *aritest.Server {
	t.Helper()
	ast := aritest.NewTest(t, aritest.Options{})
	for _, name := range names {
		ariPost(t, ast, "/bridges/br-"+name, `{"type":"mixing"}`)
		ariPost(t, ast, "/bridges/br-"+name+"/record", `{"name":"`+name+`","format":"wav"}`)
		ariPost(t, ast, "/recordings/live/"+name+"/stop", ``)
	}
	return ast
}

func ariPost(t *testing.T, ast *aritest.Server, path, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ast.ARIURL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("hotline", "hotline")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "POST %s", path)
}

func (f fixture) archiver(t *testing.T, ast *aritest.Server) *Archiver {
	t.Helper()
	deps := f.deps
	deps.ARI = ARI{URL: ast.ARIURL(), Username: "hotline", Password: "hotline"}
	a, err := NewArchiver(f.cfg, deps)
	require.NoError(t, err)
	return a
}

func TestValidName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"c1", true},
		{"cb12-3", true},
		{"rp9-4", true},
		{"1795757287.12_x-Y", true},
		{strings.Repeat("a", 128), true},
		{"", false},
		{strings.Repeat("a", 129), false},
		{"../etc/passwd", false},
		{"..", false},
		{".hidden", false},
		{"a/b", false},
		{`a\b`, false},
		{"a b", false},
		{"a%2Fb", false},
		{"名字", false},
		{"a\x00b", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			t.Parallel()
			err := ValidName(tt.name)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
		})
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	var c Config
	c.SetDefaults()
	require.True(t, *c.DeleteFromAsterisk)
	require.Equal(t, DefaultRetention, c.Retention)
	require.Equal(t, "data/recordings", c.ArchiveDir)
	c.ArchiveDir = ""
	require.ErrorContains(t, c.Validate(), "recordings.archive_dir")
	c.ArchiveDir = "x"
	require.NoError(t, c.Validate())
	c.Retention = time.Hour
	require.ErrorContains(t, c.Validate(), "recordings.retention")

	quick := Config{PollInterval: 50 * time.Millisecond}
	quick.SetDefaults()
	require.Equal(t, 50*time.Millisecond, quick.BatchWait, "no longer than a poll")
	quick.BatchWait = time.Second
	require.ErrorContains(t, quick.Validate(), "recordings.batch_wait")
}

func TestFinishedRefusesBadNames(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.archiver(t, fakeAsterisk(t))
	err := a.Finished(f.ctx, "../etc/passwd", "", t0)
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
}

func TestArchiveFetchesHashesAndDeletesAsteriskCopy(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedCall(t, "c1", "a1")
	ast := fakeAsterisk(t, "c1")
	original, err := os.ReadFile(filepath.Join(ast.RecordingsDir(), "c1.wav"))
	require.NoError(t, err)
	want := sha256.Sum256(original)

	a := f.archiver(t, ast)
	require.NoError(t, a.Finished(f.ctx, "c1", "c1", t0.Add(time.Minute)))
	rec, err := f.db.GetRecording(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingPending, rec.State)

	n, err := a.runOnce(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	rec, err = f.db.GetRecording(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingArchived, rec.State)
	require.Equal(t, hex.EncodeToString(want[:]), rec.SHA256)
	require.Equal(t, int64(len(original)), rec.SizeBytes)
	require.Equal(t, "wav", rec.Format)
	require.Equal(t, "c1", rec.CallID)
	require.Equal(t, t0, rec.ArchivedAt)
	archived, err := os.ReadFile(filepath.Join(f.cfg.ArchiveDir, "c1.wav"))
	require.NoError(t, err)
	require.Equal(t, original, archived)
	require.NotContains(t, ast.StoredRecordings(), "c1", "Asterisk's copy is removed")
	require.Equal(t, 1.0, testutil.ToFloat64(a.archived))
}

func TestArchiveRetriesAfterFailedDownloads(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ast := fakeAsterisk(t, "cb12-3")
	ast.FailRoute(http.MethodGet, "/ari/recordings/stored/*/file", http.StatusInternalServerError, 2)
	a := f.archiver(t, ast)
	require.NoError(t, a.Finished(f.ctx, "cb12-3", "", t0))

	for attempt := 1; attempt <= 2; attempt++ {
		n, err := a.runOnce(f.ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		rec, err := f.db.GetRecording(f.ctx, "cb12-3")
		require.NoError(t, err)
		require.Equal(t, hotline.RecordingPending, rec.State, "metadata kept, still pending")
		require.Equal(t, attempt, rec.Attempts)
		require.Contains(t, rec.LastError, "500")
		// Not due before its backoff.
		n, err = a.runOnce(f.ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		f.clock.Add(time.Hour)
	}
	n, err := a.runOnce(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rec, err := f.db.GetRecording(f.ctx, "cb12-3")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingArchived, rec.State)
	require.Equal(t, 2.0, testutil.ToFloat64(a.failures))
}

func TestArchiveMarksFailedAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ast := fakeAsterisk(t)
	f.cfg.MaxAttempts = 2
	a := f.archiver(t, ast)
	require.NoError(t, a.Finished(f.ctx, "gone", "", t0)) // Asterisk has no such file
	for range 2 {
		_, err := a.runOnce(f.ctx)
		require.NoError(t, err)
		f.clock.Add(time.Hour)
	}
	rec, err := f.db.GetRecording(f.ctx, "gone")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingFailed, rec.State)
	require.Equal(t, 2, rec.Attempts)
}

func TestArchiveFromSpoolFolder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ast := fakeAsterisk(t, "rp9-4")
	f.cfg.SpoolDir = ast.RecordingsDir()
	a := f.archiver(t, ast)
	require.NoError(t, a.Finished(f.ctx, "rp9-4", "", t0))
	n, err := a.runOnce(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rec, err := f.db.GetRecording(f.ctx, "rp9-4")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingArchived, rec.State)
	require.GreaterOrEqual(t, rec.Duration, 0.0)
}

// A pass begins a recording only while its download would end inside the
// pass's claim; the rest are handed back, due as before, to the next pass.
func TestArchivePassBeginsOnlyWhatItsClaimCovers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ast := fakeAsterisk(t, "p1", "p2", "p3")
	// Each look at the clock finds 30 s gone: the first download is begun
	// at once, after it the claim (fetch_timeout 2m and a minute) has too
	// little left for another.
	f.deps.Now = func() time.Time { f.clock.Add(30 * time.Second); return f.clock.Now() }
	a := f.archiver(t, ast)
	for _, n := range []string{"p1", "p2", "p3"} {
		require.NoError(t, a.Finished(f.ctx, n, "", t0))
	}
	n, claimed, err := a.pass(f.ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{1, 3}, [2]int{n, claimed})
	for name, want := range map[string]hotline.RecordingState{"p1": hotline.RecordingArchived,
		"p2": hotline.RecordingPending, "p3": hotline.RecordingPending} {
		rec, err := f.db.GetRecording(f.ctx, name)
		require.NoError(t, err)
		require.Equal(t, [2]any{want, 0}, [2]any{rec.State, rec.Attempts}, name)
	}
	require.Zero(t, testutil.ToFloat64(a.failures), "not begun is not failed")
	n, claimed, err = a.pass(f.ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{1, 2}, [2]int{n, claimed}, "handed back: claimed again at once")
}

// The loop waits batch_wait only for recordings still to finish: while a
// pass finds a full batch the next follows at once, so the archive keeps
// up at any rate.
func TestArchiveLoopTakesFullBatchesOneAfterAnother(t *testing.T) {
	t.Parallel()
	f := setup(t)
	names := []string{"b1", "b2", "b3", "b4", "b5"}
	ast := fakeAsterisk(t, names...)
	f.cfg.Batch, f.cfg.PollInterval, f.cfg.BatchWait = 2, time.Hour, time.Hour
	a := f.archiver(t, ast)
	for _, n := range names {
		require.NoError(t, a.Finished(f.ctx, n, "", t0))
	}
	a.Start(f.ctx)
	defer a.Stop()
	require.Eventually(t, func() bool { return testutil.ToFloat64(a.archived) == 5 }, 10*time.Second, 10*time.Millisecond)
}

// archived stores an archived recording of call with the given audio.
func (f fixture) archived(t *testing.T, name, call string, audio []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(f.cfg.ArchiveDir, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(f.cfg.ArchiveDir, name+".wav"), audio, 0o640))
	require.NoError(t, f.db.RecordingFinished(f.ctx, "", name, call, "wav", t0))
	sum := sha256.Sum256(audio)
	require.NoError(t, f.db.MarkRecordingArchived(f.ctx, hotline.Recording{Name: name, Format: "wav",
		SizeBytes: int64(len(audio)), SHA256: hex.EncodeToString(sum[:]), ArchivedAt: t0}, ""))
}

func (f fixture) player(t *testing.T) *Player {
	t.Helper()
	p, err := NewPlayer(f.cfg, f.deps)
	require.NoError(t, err)
	return p
}

func (f fixture) listen(t *testing.T, p *Player, name, viewer, rng string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	req := httptest.NewRequestWithContext(f.ctx, http.MethodGet, "/api/v1/recordings/"+name+"/audio", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	role := hotline.RoleAgent
	if strings.HasPrefix(viewer, "s") {
		role = hotline.RoleSupervisor
	}
	req = req.WithContext(hotline.NewContextWithActor(req.Context(),
		hotline.Actor{ID: viewer, Roles: []hotline.Role{role}, Address: "192.0.2.7", Method: hotline.AuthSession}))
	w := httptest.NewRecorder()
	return w, p.ServeAudio(w, req, name, false)
}

// mayHear is what web asks before serving: the access table over the
// recording's parties.
func (f fixture) mayHear(t *testing.T, p *Player, name, viewer string) error {
	t.Helper()
	parties, err := p.RecordingParties(f.ctx, name)
	if err != nil {
		return err
	}
	role := hotline.RoleAgent
	if strings.HasPrefix(viewer, "s") {
		role = hotline.RoleSupervisor
	}
	return hotline.Authorize(hotline.Actor{ID: viewer, Roles: []hotline.Role{role}}, hotline.ActRecordingListen,
		hotline.Matter{Kind: "recording", ID: name, Parties: parties})
}

func (f fixture) audit(t *testing.T) []hotline.AuditEntry {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: f.dbPath}).EscapedPath()+"?mode=ro")
	require.NoError(t, err)
	defer raw.Close()
	rows, err := raw.QueryContext(f.ctx, `SELECT actor, action, object, client, result FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []hotline.AuditEntry
	for rows.Next() {
		var e hotline.AuditEntry
		require.NoError(t, rows.Scan(&e.Actor, &e.Action, &e.Object, &e.Client, &e.Result))
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

var audio = bytes.Repeat([]byte("0123456789"), 100)

func TestRangeReturnsPartialContent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedCall(t, "c1", "a1")
	f.archived(t, "c1", "c1", audio)
	w, err := f.listen(t, f.player(t), "c1", "a1", "bytes=100-149")
	require.NoError(t, err)
	require.Equal(t, http.StatusPartialContent, w.Code)
	require.Equal(t, audio[100:150], w.Body.Bytes())
	require.Equal(t, "audio/wav", w.Header().Get("Content-Type"))
	require.Equal(t, "bytes 100-149/1000", w.Header().Get("Content-Range"))
	require.Empty(t, w.Header().Get(IntegrityHeader))
	require.Equal(t, []hotline.AuditEntry{{Actor: "a1", Action: ActionListen, Object: "recording:c1", Client: "192.0.2.7", Result: ResultOK}},
		f.audit(t))
}

func TestAccess(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedCall(t, "c1", "a1", "a2") // a2 was rung too
	f.seedCall(t, "c2", "a3")
	f.seedStaff(t, "s1", hotline.RoleSupervisor)
	f.archived(t, "c1", "c1", audio)
	p := f.player(t)

	parties, err := p.RecordingParties(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "a2"}, parties)
	for _, viewer := range []string{"a1", "a2", "s1"} {
		require.NoError(t, f.mayHear(t, p, "c1", viewer), viewer)
		w, err := f.listen(t, p, "c1", viewer, "")
		require.NoError(t, err, viewer)
		require.Equal(t, http.StatusOK, w.Code)
		require.Equal(t, audio, w.Body.Bytes())
	}
	require.Equal(t, hotline.KindForbidden, hotline.KindOf(f.mayHear(t, p, "c1", "a3")))
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.mayHear(t, p, "nope", "s1")))
	// A bad name is refused before anything is looked up or audited.
	_, err = f.listen(t, p, "../etc/passwd", "s1", "")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
	_, err = p.RecordingParties(f.ctx, strings.Repeat("x", 700_000))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))

	entries := f.audit(t)
	require.Len(t, entries, 3)
	require.Equal(t, hotline.AuditEntry{Actor: "a2", Action: ActionListen, Object: "recording:c1", Client: "192.0.2.7", Result: ResultOK}, entries[1])
	brokenAt, err := f.db.VerifyAudit(f.ctx)
	require.NoError(t, err)
	require.Zero(t, brokenAt)
}

func TestCallbackAgentMayHearTheAttempt(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedStaff(t, "a1", hotline.RoleAgent)
	f.seedStaff(t, "a2", hotline.RoleAgent)
	f.archived(t, "cb12-3", "", audio)
	p := f.player(t)
	require.Equal(t, hotline.KindForbidden, hotline.KindOf(f.mayHear(t, p, "cb12-3", "a1")))
	// a callback attempt of a1 recorded under that name
	raw, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: f.dbPath}).EscapedPath()+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.ExecContext(f.ctx, `INSERT INTO callback_tasks (id, number, state, first_missed_ms, deadline_ms, created_ms) VALUES (12, '139', 'resolved', 1, 2, 1)`)
	require.NoError(t, err)
	_, err = raw.ExecContext(f.ctx, `INSERT INTO callback_attempts (task_id, agent_id, recording_name, started_ms, ended_ms, outcome) VALUES (12, 'a1', 'cb12-3', 1, 2, 'connected')`)
	require.NoError(t, err)
	require.NoError(t, f.mayHear(t, p, "cb12-3", "a1"))
	require.Equal(t, hotline.KindForbidden, hotline.KindOf(f.mayHear(t, p, "cb12-3", "a2")))
}

func TestChangedAudioIsServedWithWarningAndAudited(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedStaff(t, "s1", hotline.RoleSupervisor)
	f.archived(t, "c9", "", audio)
	changed := bytes.Clone(audio)
	changed[500] = 'X'
	require.NoError(t, os.WriteFile(filepath.Join(f.cfg.ArchiveDir, "c9.wav"), changed, 0o640))

	w, err := f.listen(t, f.player(t), "c9", "s1", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "MISMATCH", w.Header().Get(IntegrityHeader))
	require.Equal(t, changed, w.Body.Bytes())
	entries := f.audit(t)
	require.Len(t, entries, 2)
	require.Equal(t, ActionTamper, entries[0].Action)
	require.Equal(t, ResultMismatch, entries[0].Result)
	require.Equal(t, "recording:c9", entries[0].Object)
	require.Equal(t, ActionListen, entries[1].Action)
}

func TestRetentionDeletesOldAudioKeepsMetadataSkipsHeld(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedCall(t, "c1", "a1")
	f.seedCall(t, "c2", "a1")
	f.seedCall(t, "c3", "a1")
	f.archived(t, "old", "c1", audio)
	f.archived(t, "held", "c2", audio)
	f.archived(t, "open-case", "c3", audio)
	require.NoError(t, f.db.SetLegalHold(f.ctx, "held", true))
	raw, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: f.dbPath}).EscapedPath()+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.ExecContext(f.ctx, `INSERT INTO violations (kind, agent_id, call_id, at_ms) VALUES ('referral_loop', 'a1', 'c3', 1)`)
	require.NoError(t, err)

	f.cfg.Retention = 24 * time.Hour
	j, err := NewRetention(f.cfg, f.deps)
	require.NoError(t, err)
	n, err := j.runOnce(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is old yet")

	f.clock.Add(25 * time.Hour)
	f.archived(t, "orphan", "", audio) // no call: nothing can hold it
	n, err = j.runOnce(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "old and orphan")

	rec, err := f.db.GetRecording(f.ctx, "old")
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingDeleted, rec.State)
	require.NotEmpty(t, rec.SHA256, "metadata kept")
	require.Equal(t, f.clock.Now(), rec.DeletedAt)
	require.NoFileExists(t, filepath.Join(f.cfg.ArchiveDir, "old.wav"))
	for _, kept := range []string{"held", "open-case"} {
		rec, err := f.db.GetRecording(f.ctx, kept)
		require.NoError(t, err)
		require.Equal(t, hotline.RecordingArchived, rec.State, kept)
		require.FileExists(t, filepath.Join(f.cfg.ArchiveDir, kept+".wav"))
	}
	entries := f.audit(t)
	require.Len(t, entries, 2)
	require.Equal(t, ActionDelete, entries[0].Action)
	require.Equal(t, "system:retention", entries[0].Actor)
}

func TestVerifyAuditFailsAtTheEditedRow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := range 3 {
		_, err := f.db.AppendAudit(f.ctx, hotline.AuditEntry{Actor: "s1", Action: ActionListen, Object: fmt.Sprintf("recording:c%d", i), Result: ResultOK})
		require.NoError(t, err)
	}
	var out bytes.Buffer
	brokenAt, err := VerifyAudit(f.ctx, f.db, &out)
	require.NoError(t, err)
	require.Zero(t, brokenAt)
	require.Equal(t, "audit log intact\n", out.String())

	raw, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: f.dbPath}).EscapedPath()+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.ExecContext(f.ctx, `DROP TRIGGER audit_log_no_update`)
	require.NoError(t, err)
	_, err = raw.ExecContext(f.ctx, `UPDATE audit_log SET actor = 'a9' WHERE id = 2`)
	require.NoError(t, err)

	out.Reset()
	brokenAt, err = VerifyAudit(f.ctx, f.db, &out)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.Equal(t, int64(2), brokenAt)
	require.Equal(t, "audit log broken at entry 2\n", out.String())
}

func TestReviews(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedCall(t, "c1", "a1")
	f.seedStaff(t, "s1", hotline.RoleSupervisor)
	d, err := NewReviews(f.deps)
	require.NoError(t, err)
	_, err = d.AddReview(f.ctx, hotline.Review{CallID: "c1", AgentID: "a2", SupervisorID: "s1", Score: 90})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "a2 was not on the call")
	require.ErrorContains(t, err, "was not on call")
	r, err := d.AddReview(f.ctx, hotline.Review{CallID: "c1", SupervisorID: "s1", Score: 55, Flags: []string{"拖延", "态度"}, Comment: "slow"})
	require.NoError(t, err)
	require.Equal(t, "a1", r.AgentID)
	_, err = d.AddReview(f.ctx, hotline.Review{CallID: "c1", SupervisorID: "s1", Score: 101})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
	_, err = d.AddReview(f.ctx, hotline.Review{CallID: "c1", SupervisorID: "s1", Score: 50, Flags: []string{"rude"}})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
	list, err := d.ListReviews(f.ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, []hotline.Review{r}, list)
	list, err = d.ListReviews(f.ctx, "a2")
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestTwoInstancesArchiveEachRecordingOnceIntoTheSharedFolder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("c%02d", i))
	}
	ast := fakeAsterisk(t, names...)
	// Two instances, each with its own archiver of the same server on the
	// same database and archive folder.
	one := f.archiver(t, ast)
	f.deps.Registerer = prometheus.NewRegistry()
	two := f.archiver(t, ast)
	for _, n := range names {
		require.NoError(t, one.Finished(f.ctx, n, "", t0))
	}
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, a := range []*Archiver{one, two} {
		wg.Go(func() {
			for {
				n, err := a.runOnce(f.ctx)
				assert.NoError(t, err)
				if n == 0 {
					return
				}
				counts[i] += n
			}
		})
	}
	wg.Wait()
	require.Equal(t, len(names), counts[0]+counts[1], "each recording archived exactly once, by one of them")
	require.Zero(t, testutil.ToFloat64(one.failures)+testutil.ToFloat64(two.failures), "neither found a recording the other took")
	for _, n := range names {
		rec, err := f.db.GetRecording(f.ctx, n)
		require.NoError(t, err)
		require.Equal(t, hotline.RecordingArchived, rec.State)
		data, err := os.ReadFile(filepath.Join(f.cfg.ArchiveDir, n+".wav"))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		require.Equal(t, hex.EncodeToString(sum[:]), rec.SHA256)
	}
	left, err := filepath.Glob(filepath.Join(f.cfg.ArchiveDir, ".*.part"))
	require.NoError(t, err)
	require.Empty(t, left, "no temporary file is left")

	// Another server's archiver takes none of them, nor the unnamed ones.
	other := f.deps
	other.Server, other.Registerer = "west", prometheus.NewRegistry()
	other.ARI = ARI{URL: ast.ARIURL(), Username: "hotline", Password: "hotline"}
	west, err := NewArchiver(f.cfg, other)
	require.NoError(t, err)
	require.NoError(t, f.db.RecordingFinished(f.ctx, "", "unnamed", "", "wav", t0))
	n, err := west.runOnce(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}
