package recording

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline"
	"hotline/store"
)

// MissedCalls takes a missed call for a callback (the callback service).
type MissedCalls interface {
	MissedCall(ctx context.Context, call hotline.Call, offeredTo string) error
}

// VoiceMessages imports the messages citizens leave in the dialplan's
// fallback. When the service is not connected to Asterisk (stopped,
// restarting, its websocket down), Stasis() fails and the dialplan of
// configs/asterisk/extensions.conf plays the apology and runs
// VoiceMail(hotline@hotline): app_voicemail stores the message as
// INBOX/msgNNNN.wav with msgNNNN.txt beside it in the mailbox's folder
// (Config.VoicemailDir). Each message becomes, in steps that can be
// repeated after a crash:
//
//   - a missed call (reason service_down: the service could not take it) from
//     the caller id of the message, at its time, with the message as its
//     voice message;
//   - that message archived like every recording (SHA-256, playable,
//     audited, retention), linked to the call;
//   - a callback task, or the citizen's open one, through the callback
//     service (6.1);
//
// and then leaves the mailbox. Messages without a callable number are
// imported too; the callback service counts them as uncallable.
//
// A message whose fallback call is on record in Asterisk (AstDB, read by
// ari.FallbackImport) belongs to that call: one citizen call, one row.
// The fallback's import attaches it (Attach), and the mailbox's pass
// leaves it alone (Claims).
type VoiceMessages struct {
	cfg      Config
	deps     Deps
	archiver *Archiver
	queue    MissedCalls
	log      *slog.Logger
	imported prometheus.Counter
	failures prometheus.Counter
	// Claims, when set, names the messages (their file names without
	// .wav, as msg0003) that fallback calls on record will take, and
	// reports busy while a fallback call may still be leaving one; an
	// error or busy skips the pass (the messages wait: none is lost).
	Claims func(ctx context.Context) (claimed map[string]bool, busy bool, err error)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewVoiceMessages imports into archiver's archive and queue; it registers
// hotline_voice_messages_imported_total and
// hotline_voice_messages_import_failures_total. cfg.VoicemailDir must be set.
func NewVoiceMessages(cfg Config, deps Deps, archiver *Archiver, queue MissedCalls) (*VoiceMessages, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.VoicemailDir == "" {
		return nil, errors.New("recording: NewVoiceMessages needs recordings.voicemail_dir")
	}
	if deps.DB == nil || archiver == nil || queue == nil {
		return nil, errors.New("recording: NewVoiceMessages needs a database, the archiver and the callback queue")
	}
	deps.setDefaults()
	v := &VoiceMessages{
		cfg: cfg, deps: deps, archiver: archiver, queue: queue, log: deps.Logger.With("component", "recording.voicemail"),
		imported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_voice_messages_imported_total", Help: "Voice messages left in the dialplan's fallback and imported as missed calls."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_voice_messages_import_failures_total", Help: "Failed attempts to import a voice message (retried on the next pass)."}),
	}
	if deps.Registerer != nil {
		for _, c := range []prometheus.Collector{v.imported, v.failures} {
			if err := deps.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("recording: register metrics: %w", err)
			}
		}
	}
	return v, nil
}

// Start imports now and then every PollInterval until Stop.
func (v *VoiceMessages) Start(ctx context.Context) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cancel != nil {
		return
	}
	ctx, v.cancel = context.WithCancel(ctx)
	v.done = make(chan struct{})
	go func() {
		defer close(v.done)
		t := time.NewTicker(v.cfg.PollInterval)
		defer t.Stop()
		for {
			if _, err := v.runOnce(ctx); err != nil && ctx.Err() == nil {
				v.log.Error("voice message import pass failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the loop and waits for the pass in progress.
func (v *VoiceMessages) Stop() {
	v.mu.Lock()
	cancel, done := v.cancel, v.done
	v.cancel = nil
	v.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// runOnce imports every message in the inbox, oldest first, and returns
// how many. A message that fails stays for the next pass.
func (v *VoiceMessages) runOnce(ctx context.Context) (int, error) {
	infos, err := filepath.Glob(filepath.Join(v.cfg.VoicemailDir, "INBOX", "msg*.txt"))
	if err != nil {
		return 0, err
	}
	sort.Strings(infos)
	var claimed map[string]bool
	if v.Claims != nil && len(infos) > 0 {
		var busy bool
		claimed, busy, err = v.Claims(ctx)
		switch {
		case err != nil:
			return 0, fmt.Errorf("which voice messages fallback calls take: %w", err)
		case busy:
			return 0, nil // a fallback call is still on the line; its message may be among these
		}
	}
	n := 0
	for _, info := range infos {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if claimed[strings.TrimSuffix(filepath.Base(info), ".txt")] {
			continue // its fallback call's import attaches it
		}
		if err := v.importOne(ctx, info); err != nil {
			v.failures.Inc()
			v.log.Warn("voice message not imported; will retry", "file", info, "err", err)
			continue
		}
		v.imported.Inc()
		n++
	}
	return n, nil
}

// voiceMessage is what app_voicemail's msgNNNN.txt says of a message.
type voiceMessage struct {
	id       string // msg_id: "<origtime>-<hex>", unique per message
	caller   string // the number of callerid
	at       time.Time
	duration time.Duration
}

func (v *VoiceMessages) importOne(ctx context.Context, infoPath string) error {
	msg, err := readVoiceMessage(infoPath)
	if err != nil {
		return err
	}
	name := "vm-" + msg.id
	if v.deps.Server != "" && !v.deps.OrUnnamed {
		// Each Asterisk numbers its messages alike (the time and a counter
		// of its own): another server's name says which mailbox it is
		// from. The first server's keep the name they always had.
		name = "vm-" + v.deps.Server + "-" + msg.id
	}
	call := hotline.Call{
		ID: name, CallerRaw: msg.caller, CallerNumber: hotline.NormalizeNumber(msg.caller).Number,
		Line: hotline.LineHotline, State: hotline.CallMissed, MissedReason: hotline.MissedServiceDown,
		ArrivedAt: msg.at, EndedAt: msg.at.Add(msg.duration), VoicemailName: name,
	}
	if err := v.keep(ctx, infoPath, msg, call); err != nil {
		return err
	}
	if err := v.queue.MissedCall(ctx, call, ""); err != nil {
		return err
	}
	if err := v.release(infoPath); err != nil {
		return err
	}
	v.log.Info("voice message imported as a missed call", "call", name, "caller", hotline.MaskNumber(call.CallerNumber),
		"at", msg.at, "seconds", msg.duration.Seconds())
	return nil
}

// Attach makes the voice message the fallback left in the mailbox as
// file (its name without .wav, as VM_MESSAGEFILE ends: msg0003) the voice
// message of call, a fallback call on record in AstDB: the call is stored
// with it (or found stored) and the message archived as its recording;
// the mailbox then lets go of it. It returns the call as stored. A
// message no longer there (attached before a crash) or not the
// citizen's (the mailbox numbers messages again once they are gone)
// leaves call without one. The caller owes the callback and clears the
// AstDB entry.
func (v *VoiceMessages) Attach(ctx context.Context, call hotline.Call, file string) (hotline.Call, error) {
	db := v.deps.DB
	switch had, err := db.GetCall(ctx, call.ID); {
	case err == nil:
		if had.VoicemailName != "" {
			return had, nil // attached before a crash: its files are gone or going
		}
	case hotline.KindOf(err) != hotline.KindNotFound:
		return call, err
	}
	info := filepath.Join(v.cfg.VoicemailDir, "INBOX", filepath.Base(file)+".txt")
	msg, err := readVoiceMessage(info)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return call, db.CreateCall(ctx, call)
	case err != nil:
		return call, err
	case msg.at.Before(call.ArrivedAt) || (msg.caller != call.CallerRaw && call.CallerRaw != ""):
		v.log.Warn("voice message in the mailbox is not the fallback call's; imported on its own", "file", info, "call", call.ID)
		return call, db.CreateCall(ctx, call)
	}
	call.VoicemailName = "vm-" + msg.id
	call.EndedAt = msg.at.Add(msg.duration)
	if err := v.keep(ctx, info, msg, call); err != nil {
		return call, err
	}
	if err := v.release(info); err != nil {
		return call, err
	}
	v.imported.Inc()
	v.log.Info("voice message attached to its fallback call", "call", call.ID, "voice_message", call.VoicemailName,
		"seconds", msg.duration.Seconds())
	return call, nil
}

// keep stores call (or finds it stored from a pass cut short) and
// archives the message of infoPath as its recording call.VoicemailName.
// Each step is a no-op the second time.
func (v *VoiceMessages) keep(ctx context.Context, infoPath string, msg voiceMessage, call hotline.Call) error {
	audio := strings.TrimSuffix(infoPath, ".txt") + ".wav"
	name := call.VoicemailName
	if err := ValidName(name); err != nil {
		return fmt.Errorf("%s: msg_id %q: %w", infoPath, msg.id, err)
	}
	db := v.deps.DB
	switch err := db.CreateCall(ctx, call); {
	case hotline.KindOf(err) == hotline.KindConflict:
		// Imported before a crash, or another message with the same id:
		// only the first goes on; the other stays in the inbox, reported.
		had, gerr := db.GetCall(ctx, call.ID)
		if gerr != nil {
			return gerr
		}
		if !had.ArrivedAt.Equal(call.ArrivedAt) || had.CallerRaw != call.CallerRaw || had.VoicemailName != name {
			return fmt.Errorf("voice message %s: call %s already holds another message", infoPath, call.ID)
		}
	case err != nil:
		return fmt.Errorf("call of voice message %s: %w", name, err)
	}
	rec, err := db.GetRecording(ctx, name)
	switch {
	case hotline.KindOf(err) == hotline.KindNotFound:
		rec = store.ArchivedRecording{Recording: hotline.Recording{Name: name, CallID: call.ID, State: hotline.RecordingPending,
			Format: "wav", Duration: msg.duration.Seconds(), StartedAt: msg.at, FinishedAt: call.EndedAt}}
		if err := db.AddRecording(ctx, rec.Recording); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if rec.State == hotline.RecordingPending {
		f, err := os.Open(audio)
		if err != nil {
			return err
		}
		err = v.archiver.keep(ctx, rec, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("archive voice message %s: %w", name, err)
		}
	}
	return nil
}

// release lets the mailbox go of an imported message: the .txt last, so
// a crash in between leaves it to be found again.
func (v *VoiceMessages) release(infoPath string) error {
	audio := strings.TrimSuffix(infoPath, ".txt") + ".wav"
	if err := os.Remove(audio); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Remove(infoPath)
}

// readVoiceMessage reads msgNNNN.txt: "key=value" lines under [message].
func readVoiceMessage(path string) (voiceMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return voiceMessage{}, err
	}
	defer f.Close()
	var m voiceMessage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "msg_id":
			m.id = val
		case "callerid":
			// "Name" <number>, or a bare number, or "Unknown".
			if open, end := strings.LastIndexByte(val, '<'), strings.LastIndexByte(val, '>'); open >= 0 && end > open {
				val = val[open+1 : end]
			}
			m.caller = strings.TrimSpace(val)
		case "origtime":
			sec, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return voiceMessage{}, fmt.Errorf("%s: origtime %q: %w", path, val, err)
			}
			m.at = time.Unix(sec, 0)
		case "duration":
			sec, err := strconv.Atoi(val)
			if err != nil {
				return voiceMessage{}, fmt.Errorf("%s: duration %q: %w", path, val, err)
			}
			m.duration = time.Duration(sec) * time.Second
		}
	}
	if err := sc.Err(); err != nil {
		return voiceMessage{}, err
	}
	if m.id == "" || m.at.IsZero() {
		return voiceMessage{}, fmt.Errorf("%s: not a voice message (no msg_id or origtime)", path)
	}
	return m, nil
}
