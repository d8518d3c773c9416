package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"hotline"
)

// FallbackFamily is the AstDB family where the dialplan's fallback
// (configs/asterisk/extensions.conf) writes every call it takes while no
// service is connected: key the channel's uniqueid, value
// "<caller number>|<epoch seconds>|<voice message path without .wav>".
const FallbackFamily = "hotline_fallback"

// FallbackCall is one entry of FallbackFamily.
type FallbackCall struct {
	Key       string // the caller's channel uniqueid
	Caller    string
	At        time.Time
	Voicemail string // "" when no message was left
}

// FallbackStore creates the missed call of a fallback entry.
type FallbackStore interface {
	CreateCall(ctx context.Context, call hotline.Call) error
}

// FallbackQueue owes the citizen a callback (the callback service).
type FallbackQueue interface {
	MissedCall(ctx context.Context, call hotline.Call, offeredTo string) error
}

// FallbackVoice stores a fallback call with the voice message the citizen
// left (recording.VoiceMessages.Attach): file is the message's name in
// the mailbox, as the entry gives it (VM_MESSAGEFILE); it returns the
// call as stored.
type FallbackVoice interface {
	Attach(ctx context.Context, call hotline.Call, file string) (hotline.Call, error)
}

// FallbackImport turns the fallback's AstDB entries into missed calls with
// callback tasks: on every (re)connection and every Interval while
// connected. Each entry is deleted (DB_DELETE) only after its call is
// committed, and a call's id is derived from the entry's key, so an entry
// imported twice (a crash between the two) makes one call. An entry whose
// channel still exists is a call in progress, left for a later pass. An
// entry naming a voice message makes one call that carries the message
// (Voice): one citizen call, one row, one callback task. Without Voice,
// when voice messages are imported from the mailbox on their own
// (VoicemailImported), such an entry is deleted without a call.
type FallbackImport struct {
	Client            *Client
	Store             FallbackStore
	Queue             FallbackQueue
	Voice             FallbackVoice // nil: voice messages are not read here
	VoicemailImported bool
	Interval          time.Duration // default 15s
	Log               *slog.Logger
	Now               func() time.Time

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}
}

// Start runs passes until Stop: at once, on every reconnection, and every
// Interval.
func (f *FallbackImport) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		return
	}
	if f.Interval <= 0 {
		f.Interval = 15 * time.Second
	}
	if f.Log == nil {
		f.Log = slog.New(slog.DiscardHandler)
	}
	if f.kick == nil {
		f.kick = make(chan struct{}, 1)
		f.Client.OnConnect(func(context.Context) {
			select {
			case f.kick <- struct{}{}:
			default:
			}
		})
	}
	ctx, f.cancel = context.WithCancel(ctx)
	f.done = make(chan struct{})
	go func() {
		defer close(f.done)
		t := time.NewTicker(f.Interval)
		defer t.Stop()
		for {
			if f.Client.Ready() == nil {
				if _, err := f.RunOnce(ctx); err != nil && ctx.Err() == nil {
					f.Log.Warn("fallback calls not imported; will retry", "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-f.kick:
			}
		}
	}()
}

// Stop ends the loop and waits for the pass in progress.
func (f *FallbackImport) Stop() {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.cancel = nil
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// RunOnce imports every entry whose call has ended and returns how many
// calls it made.
func (f *FallbackImport) RunOnce(ctx context.Context) (int, error) {
	vars := f.Client.ARI().Asterisk().Variables()
	keys, err := vars.Get(ari.NewKey(ari.VariableKey, "DB_KEYS("+FallbackFamily+")"))
	if err != nil {
		return 0, fmt.Errorf("read AstDB %s: %w", FallbackFamily, err)
	}
	n := 0
	for _, key := range strings.Split(keys, ",") {
		if key = strings.TrimSpace(key); key == "" || ctx.Err() != nil {
			continue
		}
		made, err := f.importOne(ctx, key)
		if err != nil {
			return n, err
		}
		if made {
			n++
		}
	}
	return n, ctx.Err()
}

func (f *FallbackImport) importOne(ctx context.Context, key string) (bool, error) {
	vars := f.Client.ARI().Asterisk().Variables()
	raw, err := vars.Get(ari.NewKey(ari.VariableKey, "DB("+FallbackFamily+"/"+key+")"))
	if err != nil {
		return false, fmt.Errorf("read AstDB %s/%s: %w", FallbackFamily, key, err)
	}
	if _, err := f.Client.ARI().Channel().Data(ari.NewKey(ari.ChannelKey, key)); err == nil {
		return false, nil // still on the line (the apology, a message)
	}
	fc, err := ParseFallbackCall(key, raw)
	if err != nil {
		// Not ours to understand; left for a person, said once a pass.
		f.Log.Warn("fallback entry not understood; left in AstDB", "key", key, "err", err)
		return false, nil
	}
	made := false
	call := hotline.Call{
		ID: "fb-" + key, ChannelID: key, CallerRaw: fc.Caller, CallerNumber: hotline.NormalizeNumber(fc.Caller).Number,
		Line: hotline.LineHotline, State: hotline.CallMissed, MissedReason: hotline.MissedServiceDown,
		ArrivedAt: fc.At, EndedAt: fc.At,
	}
	if fc.Voicemail == "" || f.Voice != nil || !f.VoicemailImported {
		var err error
		if fc.Voicemail != "" && f.Voice != nil {
			var stored hotline.Call
			if stored, err = f.Voice.Attach(ctx, call, fc.Voicemail); err == nil {
				call = stored
			}
		} else {
			err = f.Store.CreateCall(ctx, call)
		}
		switch {
		case hotline.KindOf(err) == hotline.KindConflict: // imported before a crash: the task step again
		case err != nil:
			return false, fmt.Errorf("call of fallback entry %s: %w", key, err)
		default:
			made = true
		}
		if err := f.Queue.MissedCall(ctx, call, ""); err != nil {
			return false, err
		}
		f.Log.Info("call taken by the fallback imported as a missed call", "call", call.ID,
			"caller", hotline.MaskNumber(call.CallerNumber), "at", fc.At, "voice_message", call.VoicemailName)
	}
	if _, err := vars.Get(ari.NewKey(ari.VariableKey, "DB_DELETE("+FallbackFamily+"/"+key+")")); err != nil {
		return made, fmt.Errorf("delete AstDB %s/%s: %w", FallbackFamily, key, err)
	}
	return made, nil
}

// Claims reads the fallback's entries for the mailbox's import
// (recording.VoiceMessages.Claims): the messages they name (file names
// without folder or .wav), which their calls take, and busy while an
// entry's caller is still on the line and may be leaving one.
func (f *FallbackImport) Claims(ctx context.Context) (map[string]bool, bool, error) {
	if err := f.Client.Ready(); err != nil {
		return nil, false, err
	}
	vars := f.Client.ARI().Asterisk().Variables()
	keys, err := vars.Get(ari.NewKey(ari.VariableKey, "DB_KEYS("+FallbackFamily+")"))
	if err != nil {
		return nil, false, fmt.Errorf("read AstDB %s: %w", FallbackFamily, err)
	}
	claimed, busy := map[string]bool{}, false
	for _, key := range strings.Split(keys, ",") {
		if key = strings.TrimSpace(key); key == "" || ctx.Err() != nil {
			continue
		}
		raw, err := vars.Get(ari.NewKey(ari.VariableKey, "DB("+FallbackFamily+"/"+key+")"))
		if err != nil {
			return nil, false, fmt.Errorf("read AstDB %s/%s: %w", FallbackFamily, key, err)
		}
		fc, err := ParseFallbackCall(key, raw)
		switch {
		case err != nil:
		case fc.Voicemail != "":
			claimed[path.Base(fc.Voicemail)] = true
		default:
			if _, err := f.Client.ARI().Channel().Data(ari.NewKey(ari.ChannelKey, key)); err == nil {
				busy = true
			}
		}
	}
	return claimed, busy, ctx.Err()
}

// ParseFallbackCall reads an entry's value "caller|epoch|voicemail".
func ParseFallbackCall(key, value string) (FallbackCall, error) {
	parts := strings.Split(value, "|")
	if len(parts) != 3 {
		return FallbackCall{}, errors.New("want caller|epoch|voicemail")
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || sec <= 0 {
		return FallbackCall{}, fmt.Errorf("epoch %q", parts[1])
	}
	return FallbackCall{Key: key, Caller: parts[0], At: time.Unix(sec, 0), Voicemail: parts[2]}, nil
}
