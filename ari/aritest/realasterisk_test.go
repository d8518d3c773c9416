package aritest

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file follow what a real Asterisk 20.20.1 did in traces
// 13, 15 and 16 and in the notes of DESIGN.md ("Measured on a real
// Asterisk").

// TestEventsArriveOncePerSubscription follows trace 13: an app that
// watches an agent's endpoint and originates a channel to it gets each of
// the channel's own events twice, back to back; StasisStart once; and the
// endpoint's subscription announces the new channel first, once.
func TestEventsArriveOncePerSubscription(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{AnswerAfter: 20 * time.Millisecond})
	require.NoError(t, f.client.Application().Subscribe(ari.NewKey(ari.ApplicationKey, "hotline"), "endpoint:PJSIP/1001"))
	f.originate("PJSIP/1001", "call13-a001-1001", 20)
	got := f.typesUntil("StasisStart")
	assert.Equal(t, []string{
		"EndpointStateChange", "ChannelCreated", "ChannelDialplan", "ChannelConnectedLine", "ChannelCallerId",
		"Dial", "Dial", "ChannelStateChange", "ChannelStateChange", "Dial", "Dial",
		"ChannelStateChange", "ChannelStateChange", "Dial", "Dial", "ChannelVarset", "ChannelVarset", "StasisStart",
	}, got)

	// Without the endpoint subscription, once each.
	f.srv.SetEndpoint("PJSIP/1002", Behavior{AnswerAfter: 20 * time.Millisecond})
	f.originate("PJSIP/1002", "call13-a002-1002", 20)
	assert.Equal(t, []string{"Dial", "ChannelStateChange", "Dial", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart"},
		f.typesUntil("StasisStart"))
}

// TestBridgeRecorderQuitsWithoutAudio follows trace 13: a prompt played to
// the only party's channel holds it out of the bridge; a few seconds later
// the bridge recording ends by itself (RecordingFinished, done, as long as
// the audio lasted) and a later stop gets 404. A prompt played to the
// bridge keeps it going (trace 16).
func TestBridgeRecorderQuitsWithoutAudio(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{
		RecorderIdleTimeout: 300 * time.Millisecond,
		SoundDurations:      map[string]time.Duration{"sound:hotline/survey": 5 * time.Second},
	})
	br, err := f.client.Bridge().Create(ari.NewKey(ari.BridgeKey, "call13-bridge"), "mixing", "call13")
	require.NoError(t, err)
	id := f.answeredCall("13800138000")
	require.NoError(t, br.AddChannel(id))
	start := time.Now()
	rec, err := br.Record("call13", &ari.RecordingOptions{Format: "wav", Exists: "fail"})
	require.NoError(t, err)

	// The survey on the bridge: the recorder hears it.
	_, err = br.Play("call13-p1", "sound:hotline/survey")
	require.NoError(t, err)
	f.letTimePass(500 * time.Millisecond)
	_, err = rec.Data()
	require.NoError(t, err, "still recording while the bridge plays")
	require.NoError(t, f.client.Playback().Stop(ari.NewKey(ari.PlaybackKey, "call13-p1")))

	// The survey on the citizen's channel: the bridge goes quiet.
	_, err = f.client.Channel().Play(ari.NewKey(ari.ChannelKey, id), "call13-p2", "sound:hotline/survey")
	require.NoError(t, err)
	quiet := time.Since(start)
	finished := f.waitEvent("RecordingFinished", nil)["recording"].(map[string]any)
	assert.Equal(t, "done", finished["state"])
	assert.GreaterOrEqual(t, time.Since(start)-quiet, 300*time.Millisecond, "it waits for the idle timeout")
	assertStatus(t, rec.Stop(), http.StatusNotFound)
	info, _ := f.srv.Channel(id)
	assert.Equal(t, "call13-bridge", info.Bridge, "the citizen is still in the bridge")
	resp, body := f.rawGet("/ari/recordings/stored/call13/file")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	length := time.Duration(len(parseWAV(t, body).samples)) * time.Second / 8000
	assert.InDelta(t, quiet.Seconds(), length.Seconds(), 0.1, "the file ends where the audio did")
}

// TestSnoopRecordingLastsTheWholeCall follows trace 15: a spy-both snoop
// of the citizen's channel, recorded, keeps recording through a prompt on
// the citizen's channel and ends when the citizen hangs up: the citizen's
// StasisEnd, then RecordingFinished, then the snoop's StasisEnd, with no
// ChannelHangupRequest or ChannelDestroyed for the snoop.
func TestSnoopRecordingLastsTheWholeCall(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{
		RecorderIdleTimeout: 100 * time.Millisecond,
		SoundDurations:      map[string]time.Duration{"sound:hotline/survey": 400 * time.Millisecond},
	})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{AnswerAfter: 10 * time.Millisecond})
	br, err := f.client.Bridge().Create(ari.NewKey(ari.BridgeKey, "call15-bridge"), "mixing", "call15")
	require.NoError(t, err)
	id := f.answeredCall("13800138000")
	start := time.Now()
	require.NoError(t, br.AddChannel(id))
	snoop, err := f.client.Channel().Snoop(ari.NewKey(ari.ChannelKey, id), "call15-s001",
		&ari.SnoopOptions{App: "hotline", AppArgs: "snoop,call15", Spy: ari.DirectionBoth})
	require.NoError(t, err)
	f.waitEvent("StasisStart", channelEvent("call15-s001"))
	_, err = snoop.Record("call15", &ari.RecordingOptions{Format: "wav", Exists: "fail"})
	require.NoError(t, err)
	f.originate("PJSIP/1001", "call15-a001-1001", 20)
	f.waitEvent("StasisStart", channelEvent("call15-a001-1001"))
	require.NoError(t, br.AddChannel("call15-a001-1001"))
	f.letTimePass(150 * time.Millisecond)
	require.NoError(t, f.client.Channel().Hangup(ari.NewKey(ari.ChannelKey, "call15-a001-1001"), "normal"))
	_, err = f.client.Channel().Play(ari.NewKey(ari.ChannelKey, id), "call15-p1", "sound:hotline/survey")
	require.NoError(t, err)
	f.waitEvent("PlaybackFinished", nil)

	require.NoError(t, f.srv.Hangup(id))
	length := time.Since(start)
	var order []string
	for len(order) == 0 || order[len(order)-1] != "StasisEnd call15-s001" {
		e, err := f.events.Next(f.ctx)
		require.NoError(t, err)
		m := decodeMap(t, e.Body)
		who := ""
		if ch, ok := m["channel"].(map[string]any); ok {
			who = ch["id"].(string)
		}
		if rec, ok := m["recording"].(map[string]any); ok {
			who = rec["name"].(string)
		}
		if e.Model != "ChannelVarset" {
			order = append(order, e.Model+" "+who)
		}
	}
	assert.Equal(t, []string{"ChannelHangupRequest " + id, "ChannelLeftBridge " + id, "StasisEnd " + id,
		"RecordingFinished call15", "StasisEnd call15-s001"}, order)
	resp, body := f.rawGet("/ari/recordings/stored/call15/file")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	wav := parseWAV(t, body)
	got := time.Duration(len(wav.samples)) * time.Second / 8000
	assert.InDelta(t, length.Seconds(), got.Seconds(), 0.1, "the whole call, survey included")
	assert.Greater(t, rms(wav.samples[len(wav.samples)-400:]), 1000.0, "the citizen is heard to the end")
}

// TestChannelIDsThatArePrefixesAreRefused: Asterisk 20 compares only the
// first len(id) characters of live channel ids.
func TestChannelIDsThatArePrefixesAreRefused(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/100", Behavior{NoAnswer: true})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{NoAnswer: true})
	f.originate("PJSIP/1001", "call1-a1001", 20)
	_, err := f.client.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/100", App: "hotline", ChannelID: "call1-a100"})
	assertStatus(t, err, http.StatusConflict)
	id := f.placeCall(InboundCall{Caller: "13800138000"})
	resp, body := rawDo(t, f.ctx, http.MethodPost, f.srv.ARIURL()+"/channels/"+id+"/snoop/call1-a1",
		strings.NewReader(`{"app":"hotline","spy":"both"}`))
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "%s", body)
	f.originate("PJSIP/100", "call1-a1001-2", 20) // the live id is a prefix of this one: fine
}

// TestSoundsIndexedByLanguageFolder: sounds/hotline/greeting.wav is the
// sound "greeting" in language "hotline"; GET /sounds/hotline/greeting
// matches no route.
func TestSoundsIndexedByLanguageFolder(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{
		Sounds:         []string{"sound:hotline/greeting", "sound:hotline/survey"},
		SoundDurations: map[string]time.Duration{"sound:hotline/apology": time.Second},
		MissingSounds:  []string{"sound:hotline/survey"},
	})
	resp, body := f.rawGet("/ari/sounds")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `[
		{"id":"apology","formats":[{"language":"hotline","format":"wav"}]},
		{"id":"beep","formats":[{"language":"en","format":"wav"}]},
		{"id":"greeting","formats":[{"language":"hotline","format":"wav"}]},
		{"id":"hello-world","formats":[{"language":"en","format":"wav"}]}]`, string(body))
	resp, body = f.rawGet("/ari/sounds?lang=hotline")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 2, strings.Count(string(body), `"id"`))

	resp, body = f.rawGet("/ari/sounds/greeting")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"id":"greeting","formats":[{"language":"hotline","format":"wav"}]}`, string(body))
	resp, body = f.rawGet("/ari/sounds/hotline/greeting")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Resource not found"}`, string(body))
	resp, body = f.rawGet("/ari/sounds/survey")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Sound not found"}`, string(body))
}

// TestStasisFailedRunsTheFallback: with no websocket for the application
// the call runs the dialplan's fallback of configs/asterisk/extensions.conf:
// apology, beep, voice message into mailbox hotline@hotline, as
// app_voicemail stores it.
func TestStasisFailedRunsTheFallback(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{SoundDurations: map[string]time.Duration{FallbackPrompt: 50 * time.Millisecond, "sound:beep": 10 * time.Millisecond}})
	// Hangs up after 1.3 s: 1.24 s of message.
	id, err := f.srv.PlaceCall(InboundCall{Caller: "13800138000", App: "nobody", HangupAfter: 1300 * time.Millisecond})
	require.True(t, errors.Is(err, ErrStasisFailed), "%v", err)
	require.NotEmpty(t, id)
	// Presses # after 1.2 s: the message ends and the dialplan hangs up.
	_, err = f.srv.PlaceCall(InboundCall{Caller: "13900139000", App: "nobody", DTMF: "#", DTMFGap: 1200 * time.Millisecond})
	require.ErrorIs(t, err, ErrStasisFailed)
	// Hangs up during the apology: no message.
	_, err = f.srv.PlaceCall(InboundCall{Caller: "13700137000", App: "nobody", HangupAfter: 30 * time.Millisecond})
	require.ErrorIs(t, err, ErrStasisFailed)

	require.Eventually(t, func() bool { return len(f.srv.Channels()) == 0 }, testTimeout, 10*time.Millisecond)
	msgs := f.srv.VoiceMessages()
	require.Len(t, msgs, 2)
	byCaller := map[string]VoiceMessage{}
	for _, m := range msgs {
		byCaller[m.CallerID] = m
		assert.Equal(t, FallbackMailbox, m.Mailbox)
		assert.Contains(t, m.Path, "hotline/hotline/INBOX/msg000")
		txt, err := os.ReadFile(strings.TrimSuffix(m.Path, ".wav") + ".txt")
		require.NoError(t, err)
		assert.Contains(t, string(txt), "[message]\norigmailbox=hotline\n")
		assert.Contains(t, string(txt), "\nduration=1\n")
	}
	assert.InDelta(t, 1.24, byCaller[`"13800138000" <13800138000>`].Duration.Seconds(), 0.1)
	assert.InDelta(t, 1.14, byCaller[`"13900139000" <13900139000>`].Duration.Seconds(), 0.1)

	status, body := f.sim("POST", "/sim/calls", `{"caller":"13600136000","app":"nobody","hangup_after":"10ms"}`)
	assert.Equal(t, http.StatusCreated, status)
	assert.Contains(t, body, `"stasis":"FAILED"`)
	status, body = f.sim("GET", "/sim/voicemail", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, 2, strings.Count(body, `"mailbox":"hotline@hotline"`))
}

// TestEndRecordingFault: Asterisk may end a live recording on its own; the
// fault does so, and a stop afterwards is 404.
func TestEndRecordingFault(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.answeredCall("13800138000")
	rec, err := f.client.Channel().Record(ari.NewKey(ari.ChannelKey, id), "early", &ari.RecordingOptions{Format: "wav"})
	require.NoError(t, err)
	f.waitEvent("RecordingStarted", nil)
	status, _ := f.sim("POST", "/sim/faults", `{"kind":"end_recording","name":"early"}`)
	require.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, "done", f.waitEvent("RecordingFinished", nil)["recording"].(map[string]any)["state"])
	assertStatus(t, rec.Stop(), http.StatusNotFound)
	assert.Contains(t, f.srv.StoredRecordings(), "early")
	status, _ = f.sim("POST", "/sim/faults", `{"kind":"end_recording","name":"early"}`)
	assert.Equal(t, http.StatusNotFound, status)
}

// TestVoiceMessagesNumberedAfterTheInbox: as app_voicemail, a message
// takes the number after the highest in the inbox, also when the inbox
// holds messages of an earlier run, and skips a number taken meanwhile.
func TestVoiceMessagesNumberedAfterTheInbox(t *testing.T) {
	t.Parallel()
	vmDir := t.TempDir()
	inbox := filepath.Join(vmDir, "hotline", "hotline", "INBOX")
	require.NoError(t, os.MkdirAll(inbox, 0o755))
	for _, name := range []string{"msg0002.txt", "msg0003.txt", "msg0003.wav"} {
		require.NoError(t, os.WriteFile(filepath.Join(inbox, name), nil, 0o644))
	}
	f := setup(t, Options{VoicemailDir: vmDir,
		SoundDurations: map[string]time.Duration{FallbackPrompt: 10 * time.Millisecond, "sound:beep": 10 * time.Millisecond}})
	leave := func(caller string) {
		t.Helper()
		id, err := f.srv.PlaceCall(InboundCall{Caller: caller, App: "nobody", HangupAfter: 1200 * time.Millisecond})
		require.ErrorIs(t, err, ErrStasisFailed)
		require.Eventually(t, func() bool { _, up := f.srv.Channel(id); return !up }, testTimeout, 10*time.Millisecond)
	}
	leave("13800138000")
	require.FileExists(t, filepath.Join(inbox, "msg0004.txt"))
	require.FileExists(t, filepath.Join(inbox, "msg0004.wav"))
	require.NoError(t, os.WriteFile(filepath.Join(inbox, "msg0005.txt"), nil, 0o644)) // another writer
	leave("13900139000")
	txt, err := os.ReadFile(filepath.Join(inbox, "msg0006.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(txt), "<13900139000>")
}
