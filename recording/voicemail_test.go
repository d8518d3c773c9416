package recording

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
)

// missedCallsFunc adapts a function to MissedCalls.
type missedCallsFunc func(ctx context.Context, call hotline.Call, offeredTo string) error

func (f missedCallsFunc) MissedCall(ctx context.Context, call hotline.Call, offeredTo string) error {
	return f(ctx, call, offeredTo)
}

// TestVoiceMessagesFromTheFallbackBecomeMissedCalls: with the service away,
// the fake runs the dialplan's fallback of configs/asterisk/extensions.conf
// and app_voicemail keeps the message; the import makes it a missed call
// with the message archived and linked, a callback task through the queue
// (here the store's, as the callback service does), and empties the inbox.
// A pass that fails half-way is repeated without doubling anything.
func TestVoiceMessagesFromTheFallbackBecomeMissedCalls(t *testing.T) {
	t.Parallel()
	f := setup(t)
	spool := t.TempDir()
	ast := aritest.NewTest(t, aritest.Options{VoicemailDir: spool,
		SoundDurations: map[string]time.Duration{aritest.FallbackPrompt: 10 * time.Millisecond, "sound:beep": time.Millisecond}})
	_, err := ast.PlaceCall(aritest.InboundCall{Caller: "13800138000", CallerName: "张三", HangupAfter: 1200 * time.Millisecond})
	require.ErrorIs(t, err, aritest.ErrStasisFailed)
	_, err = ast.PlaceCall(aritest.InboundCall{Caller: "anonymous", HangupAfter: 1200 * time.Millisecond})
	require.ErrorIs(t, err, aritest.ErrStasisFailed)
	require.Eventually(t, func() bool { return len(ast.VoiceMessages()) == 2 }, 10*time.Second, 10*time.Millisecond)

	cfg := f.cfg
	cfg.VoicemailDir = filepath.Join(spool, "hotline", "hotline")
	var (
		mu     sync.Mutex
		queued []hotline.Call
		fail   = true
	)
	queue := missedCallsFunc(func(ctx context.Context, call hotline.Call, _ string) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("redis down")
		}
		queued = append(queued, call)
		if call.CallerNumber == "" {
			return nil // uncallable: the callback service only counts it
		}
		_, _, err := f.db.AddMissedCall(ctx, store.MissedCall{CallID: call.ID, Number: call.CallerNumber,
			MissedAt: call.EndedAt, Deadline: call.EndedAt.Add(time.Hour)})
		return err
	})
	deps := f.deps
	deps.ARI = ARI{URL: ast.ARIURL(), Username: "hotline", Password: "hotline"}
	archiver, err := NewArchiver(cfg, deps)
	require.NoError(t, err)
	deps.Registerer = nil
	v, err := NewVoiceMessages(cfg, deps, archiver, queue)
	require.NoError(t, err)

	n, err := v.runOnce(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the queue failed: nothing is done")
	require.Len(t, ast.VoiceMessages(), 2, "the messages stay in the mailbox")

	mu.Lock()
	fail = false
	mu.Unlock()
	n, err = v.runOnce(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Empty(t, ast.VoiceMessages(), "imported messages leave the mailbox")
	n, err = v.runOnce(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	require.Len(t, queued, 2)
	byNumber := map[string]hotline.Call{}
	for _, c := range queued {
		byNumber[c.CallerRaw] = c
	}
	call, err := f.db.GetCall(f.ctx, byNumber["13800138000"].ID)
	require.NoError(t, err)
	require.Equal(t, hotline.CallMissed, call.State)
	require.Equal(t, hotline.MissedServiceDown, call.MissedReason)
	require.Equal(t, "13800138000", call.CallerNumber)
	require.Equal(t, call.ID, call.VoicemailName)
	rec, err := f.db.GetRecording(f.ctx, call.VoicemailName)
	require.NoError(t, err)
	require.Equal(t, hotline.RecordingArchived, rec.State)
	require.Equal(t, call.ID, rec.CallID)
	require.InDelta(t, 1.2, rec.Duration, 0.15)
	require.Len(t, rec.SHA256, 64)
	_, err = os.Stat(filepath.Join(cfg.ArchiveDir, rec.Name+".wav"))
	require.NoError(t, err)

	// The message reaches the callback task, and its agent may hear it.
	tasks, err := f.db.ListTasks(f.ctx, store.TaskFilter{})
	require.NoError(t, err)
	require.Len(t, tasks, 1, "the withheld number gets none")
	task, err := f.db.GetTask(f.ctx, tasks[0].ID)
	require.NoError(t, err)
	require.Equal(t, []string{call.VoicemailName}, task.VoiceMessages)
	f.seedStaff(t, "a1", hotline.RoleAgent)
	parties, err := f.player(t).RecordingParties(f.ctx, call.VoicemailName)
	require.NoError(t, err)
	require.Empty(t, parties, "nobody before the task is theirs")
	f.exec(t, `UPDATE callback_tasks SET agent_id = 'a1' WHERE id = ?`, task.ID)
	parties, err = f.player(t).RecordingParties(f.ctx, call.VoicemailName)
	require.NoError(t, err)
	require.Equal(t, []string{"a1"}, parties, "the task's agent may hear the citizen's message")
	ok, err := f.db.TookPart(f.ctx, call.VoicemailName, "a1")
	require.NoError(t, err)
	require.True(t, ok)

	anon, err := f.db.GetCall(f.ctx, byNumber["anonymous"].ID)
	require.NoError(t, err)
	require.Empty(t, anon.CallerNumber, "kept on record, uncallable")
	require.Equal(t, anon.ID, anon.VoicemailName)
}

// exec runs a statement on the test database behind the store's back.
func (f fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: f.dbPath}).EscapedPath()+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.ExecContext(f.ctx, query, args...)
	require.NoError(t, err)
}

// TestVoiceMessageWhoseIDIsTakenStays: a message is never dropped for a
// call that holds another one.
func TestVoiceMessageWhoseIDIsTakenStays(t *testing.T) {
	t.Parallel()
	f := setup(t)
	box := t.TempDir()
	inbox := filepath.Join(box, "INBOX")
	require.NoError(t, os.MkdirAll(inbox, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(inbox, "msg0000.txt"),
		[]byte("[message]\nmsg_id=1796297633-0\ncallerid=\"x\" <13800138000>\norigtime=1796297633\nduration=3\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(inbox, "msg0000.wav"), wavFile(3*time.Second), 0o644))
	require.NoError(t, f.db.CreateCall(f.ctx, hotline.Call{ID: "vm-1796297633-0", CallerRaw: "13900139000", Line: hotline.LineHotline,
		State: hotline.CallMissed, ArrivedAt: t0, VoicemailName: "vm-1796297633-0"}))
	cfg := f.cfg
	cfg.VoicemailDir = box
	archiver, err := NewArchiver(cfg, Deps{DB: f.db, ARI: ARI{URL: "http://127.0.0.1:1/ari"}, Now: f.clock.Now})
	require.NoError(t, err)
	v, err := NewVoiceMessages(cfg, Deps{DB: f.db, Now: f.clock.Now}, archiver,
		missedCallsFunc(func(context.Context, hotline.Call, string) error { t.Error("nothing may be queued"); return nil }))
	require.NoError(t, err)
	n, err := v.runOnce(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = os.Stat(filepath.Join(inbox, "msg0000.wav"))
	require.NoError(t, err, "the message stays in the mailbox")
}

// Two Asterisk servers number their messages alike (the time and a
// counter of their own): the same msg_id in both mailboxes is two
// messages, and both become missed calls, the second server's named after
// it.
func TestTwoServersMessagesWithTheSameIDAreBothImported(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var queued []string
	queue := missedCallsFunc(func(_ context.Context, call hotline.Call, _ string) error {
		queued = append(queued, call.ID+" "+call.CallerRaw)
		return nil
	})
	for i, server := range []string{"east", "west"} {
		box := t.TempDir()
		inbox := filepath.Join(box, "INBOX")
		require.NoError(t, os.MkdirAll(inbox, 0o755))
		caller := fmt.Sprintf("1380013800%d", i)
		require.NoError(t, os.WriteFile(filepath.Join(inbox, "msg0000.txt"),
			[]byte("[message]\nmsg_id=1796297633-0\ncallerid=\"x\" <"+caller+">\norigtime=1796297633\nduration=3\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(inbox, "msg0000.wav"), wavFile(3*time.Second), 0o644))
		cfg := f.cfg
		cfg.VoicemailDir = box
		deps := Deps{DB: f.db, ARI: ARI{URL: "http://127.0.0.1:1/ari"}, Server: server, OrUnnamed: i == 0, Now: f.clock.Now}
		archiver, err := NewArchiver(cfg, deps)
		require.NoError(t, err)
		v, err := NewVoiceMessages(cfg, deps, archiver, queue)
		require.NoError(t, err)
		n, err := v.runOnce(f.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "server %s's message imported", server)
		_, err = os.Stat(filepath.Join(inbox, "msg0000.wav"))
		require.ErrorIs(t, err, os.ErrNotExist, "server %s's message left its mailbox", server)
	}
	require.Equal(t, []string{"vm-1796297633-0 13800138000", "vm-west-1796297633-0 13800138001"}, queued)
	for _, name := range []string{"vm-1796297633-0", "vm-west-1796297633-0"} {
		rec, err := f.db.GetRecording(f.ctx, name)
		require.NoError(t, err)
		require.Equal(t, name, rec.CallID)
	}
}

// wavFile is a silent 8 kHz 16-bit mono WAV of length d.
func wavFile(d time.Duration) []byte {
	n := int(d.Seconds() * 16000)
	b := make([]byte, 44+n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	return b
}
