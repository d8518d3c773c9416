package aritest

import (
	"encoding/binary"
	"math"
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

// wavInfo reads what a test needs from a WAV file.
type wavInfo struct {
	rate, channels, bits int
	samples              []int16
}

func parseWAV(t *testing.T, b []byte) wavInfo {
	t.Helper()
	require.GreaterOrEqual(t, len(b), 44)
	require.Equal(t, "RIFF", string(b[0:4]))
	require.Equal(t, "WAVE", string(b[8:12]))
	require.Equal(t, "data", string(b[36:40]))
	require.EqualValues(t, len(b)-44, binary.LittleEndian.Uint32(b[40:]))
	w := wavInfo{
		channels: int(binary.LittleEndian.Uint16(b[22:])),
		rate:     int(binary.LittleEndian.Uint32(b[24:])),
		bits:     int(binary.LittleEndian.Uint16(b[34:])),
	}
	for i := 44; i+1 < len(b); i += 2 {
		w.samples = append(w.samples, int16(binary.LittleEndian.Uint16(b[i:])))
	}
	return w
}

// rms is the loudness of samples[from:to].
func rms(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// TestBridgeRecording follows traces 04 and 16: the recording is a real
// WAV file, as long as it ran, audible while a party was in the bridge; it
// ends by itself when the last party leaves, and a later stop finds
// nothing.
func TestBridgeRecording(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	br, err := f.client.Bridge().Create(ari.NewKey(ari.BridgeKey, "call4-bridge"), "mixing", "call4")
	require.NoError(t, err)
	id := f.answeredCall("13800138000")
	require.NoError(t, br.AddChannel(id))
	f.waitEvent("ChannelEnteredBridge", nil)

	start := time.Now()
	rec, err := br.Record("call4", &ari.RecordingOptions{Format: "wav", Exists: "fail"})
	require.NoError(t, err)
	started := f.waitEvent("RecordingStarted", nil)
	assert.Equal(t, map[string]any{"name": "call4", "format": "wav", "state": "recording", "target_uri": "bridge:call4-bridge"}, started["recording"])
	live, err := rec.Data()
	require.NoError(t, err)
	assert.Equal(t, "recording", live.State)
	assert.Equal(t, "call4", f.srv.Bridges()[0].Recording)

	f.letTimePass(300 * time.Millisecond)
	require.NoError(t, br.RemoveChannel(id))
	recorded := time.Since(start)
	f.waitEvent("ChannelLeftBridge", nil)
	finished := f.waitEvent("RecordingFinished", nil)["recording"].(map[string]any)
	assert.Equal(t, "done", finished["state"])
	assert.EqualValues(t, int(recorded/time.Second), finished["duration"])
	assertStatus(t, rec.Stop(), http.StatusNotFound)

	stored, err := f.client.StoredRecording().Data(ari.NewKey(ari.StoredRecordingKey, "call4"))
	require.NoError(t, err)
	assert.Equal(t, "wav", stored.Format)
	assert.Equal(t, []string{"call4"}, f.srv.StoredRecordings())

	resp, body := f.rawGet("/ari/recordings/stored/call4/file")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "audio/wav", resp.Header.Get("Content-Type"))
	wav := parseWAV(t, body)
	assert.Equal(t, 8000, wav.rate)
	assert.Equal(t, 1, wav.channels)
	assert.Equal(t, 16, wav.bits)
	length := time.Duration(len(wav.samples)) * time.Second / 8000
	assert.InDelta(t, recorded.Seconds(), length.Seconds(), 0.05, "as long as it recorded")
	assert.GreaterOrEqual(t, length, 300*time.Millisecond)
	assert.Greater(t, rms(wav.samples[:800]), 1000.0, "the first 100 ms: the citizen's tone")
	assert.Greater(t, rms(wav.samples[len(wav.samples)-800:]), 1000.0, "the last 100 ms: the citizen's tone still")
}

// letTimePass lets a recording run for d: its length and content over
// time are what is under test, so this waits on the clock itself.
func (f *fixture) letTimePass(d time.Duration) {
	f.t.Helper()
	select {
	case <-time.After(d):
	case <-f.ctx.Done():
		f.t.Fatal("test context ended")
	}
}

// TestRecordingErrors follows trace 11.
func TestRecordingErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "call4.wav"), wavBytes(t, 100*time.Millisecond), 0o644))
	f := setup(t, Options{RecordingsDir: dir})
	assert.Equal(t, []string{"call4"}, f.srv.StoredRecordings(), "recordings left in the directory are stored ones")
	id := f.answeredCall("13800138000")
	br, err := f.client.Bridge().Create(ari.NewKey(ari.BridgeKey, "call11-bridge"), "mixing", "call11")
	require.NoError(t, err)
	require.NoError(t, br.AddChannel(id))
	f.waitEvent("ChannelEnteredBridge", nil)

	_, err = br.Record("call11-live", &ari.RecordingOptions{Format: "wav"})
	require.NoError(t, err)
	record := func(body string) (int, string) {
		resp, b := rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/bridges/call11-bridge/record", strings.NewReader(body))
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, body string
		status     int
		message    string
	}{
		{"stored name", `{"name":"call4","format":"wav","ifExists":"fail"}`, 409, "Recording 'call4' already exists and can not be overwritten"},
		{"live name", `{"name":"call11-live","format":"wav","ifExists":"overwrite"}`, 409, "Recording 'call11-live' already exists and can not be overwritten"},
		{"unknown format", `{"name":"call11-badfmt","format":"mp3x"}`, 422, "specified format is unknown on this system"},
		{"no name", `{"format":"wav"}`, 400, "Missing parameter name"},
		{"path in name", `{"name":"../x","format":"wav"}`, 400, "Recording name must be a plain file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := record(tt.body)
			assert.Equal(t, tt.status, status)
			assert.JSONEq(t, `{"message":"`+tt.message+`"}`, body)
		})
	}
	notFound := []struct{ method, path string }{
		{http.MethodPost, "/ari/recordings/live/no-such-recording/stop"},
		{http.MethodGet, "/ari/recordings/live/no-such-recording"},
		{http.MethodDelete, "/ari/recordings/live/no-such-recording"},
		{http.MethodGet, "/ari/recordings/stored/no-such-recording"},
		{http.MethodGet, "/ari/recordings/stored/no-such-recording/file"},
		{http.MethodDelete, "/ari/recordings/stored/no-such-recording"},
	}
	for _, tt := range notFound {
		resp, body := rawDo(t, f.ctx, tt.method, f.srv.URL()+tt.path, nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, tt.path)
		assert.JSONEq(t, `{"message":"Recording not found"}`, string(body), tt.path)
	}

	// Overwriting a stored recording is allowed when asked for.
	status, _ := record(`{"name":"call4","format":"wav","ifExists":"overwrite"}`)
	assert.Equal(t, http.StatusCreated, status)

	// Cancelling throws the audio away.
	require.NoError(t, f.client.LiveRecording().Scrap(ari.NewKey(ari.LiveRecordingKey, "call11-live")))
	canceled := f.waitEvent("RecordingFinished", func(m map[string]any) bool {
		return m["recording"].(map[string]any)["name"] == "call11-live"
	})
	assert.Equal(t, "canceled", canceled["recording"].(map[string]any)["state"])
	assert.NotContains(t, f.srv.StoredRecordings(), "call11-live")

	// The bridge going away finishes its recording.
	require.NoError(t, br.Delete())
	f.waitEvent("RecordingFinished", func(m map[string]any) bool {
		return m["recording"].(map[string]any)["name"] == "call4"
	})
	assert.Equal(t, []string{"call4"}, f.srv.StoredRecordings())
	recordings, err := f.client.StoredRecording().List(nil)
	require.NoError(t, err)
	require.Len(t, recordings, 1)

	copied, err := f.client.StoredRecording().Copy(ari.NewKey(ari.StoredRecordingKey, "call4"), "call4-copy")
	require.NoError(t, err)
	assert.Equal(t, "call4-copy", copied.ID())
	require.NoError(t, f.client.StoredRecording().Delete(ari.NewKey(ari.StoredRecordingKey, "call4")))
	assert.Equal(t, []string{"call4-copy"}, f.srv.StoredRecordings())
	assert.NoFileExists(t, filepath.Join(dir, "call4.wav"))
}

func wavBytes(t *testing.T, d time.Duration) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.wav")
	require.NoError(t, writeWAV(path, d, []segment{{tones: []int{0}}}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// TestChannelRecordingAndReplay records a channel, then plays the stored
// recording back for its own length.
func TestChannelRecordingAndReplay(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.answeredCall("13800138000")
	key := ari.NewKey(ari.ChannelKey, id)
	rec, err := f.client.Channel().Record(key, "voicemail", &ari.RecordingOptions{Format: "wav", MaxDuration: time.Second})
	require.NoError(t, err)
	f.waitEvent("RecordingStarted", nil)
	finished := f.waitEvent("RecordingFinished", nil)["recording"].(map[string]any)
	assert.EqualValues(t, 1, finished["duration"], "maxDurationSeconds stops it")
	assertStatus(t, rec.Stop(), http.StatusNotFound)

	start := time.Now()
	_, err = f.client.Channel().Play(key, "replay", "recording:voicemail")
	require.NoError(t, err)
	f.waitEvent("PlaybackFinished", nil)
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
}
