package aritest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlayback follows traces 02, 10 and 11.
func TestPlayback(t *testing.T) {
	t.Parallel()
	sounds := Options{
		SoundDurations:       map[string]time.Duration{"sound:hello-world": 80 * time.Millisecond, "apology": 30 * time.Millisecond},
		DefaultSoundDuration: 20 * time.Millisecond,
		MissingSounds:        []string{"sound:no-such-sound-file"},
	}
	tests := []struct {
		name     string
		media    string
		events   []string
		final    string        // PlaybackFinished state
		atLeast  time.Duration // how long it must have played
		findable bool          // GET /playbacks/{id} while it plays
	}{
		{name: "sound", media: "sound:hello-world", events: []string{"PlaybackStarted", "PlaybackFinished"}, final: "done", atLeast: 80 * time.Millisecond, findable: true},
		{name: "bare sound name", media: "sound:apology", events: []string{"PlaybackStarted", "PlaybackFinished"}, final: "done", atLeast: 30 * time.Millisecond, findable: true},
		{name: "missing sound", media: "sound:no-such-sound-file", events: []string{"PlaybackStarted", "PlaybackFinished"}, final: "failed"},
		{name: "list", media: "sound:apology,digits:42", events: []string{"PlaybackStarted", "PlaybackContinuing", "PlaybackFinished"}, final: "done", atLeast: 50 * time.Millisecond, findable: true},
		{name: "missing recording", media: "recording:nothing", events: []string{"PlaybackStarted", "PlaybackFinished"}, final: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, sounds)
			id := f.answeredCall("13800138000")
			start := time.Now()
			resp, body := rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/channels/"+id+"/play/pb-1",
				strings.NewReader(`{"media":"`+tt.media+`"}`))
			require.Equal(t, http.StatusCreated, resp.StatusCode)
			assert.Equal(t, "/ari/playbacks/pb-1", resp.Header.Get("Location"))
			created := decodeMap(t, body)
			assert.Equal(t, "queued", created["state"])
			assert.Equal(t, "channel:"+id, created["target_uri"])
			assert.Equal(t, strings.Split(tt.media, ",")[0], created["media_uri"])

			var last map[string]any
			for i, want := range tt.events {
				e, err := f.events.Next(f.ctx)
				require.NoError(t, err)
				assert.Equal(t, want, e.Model)
				last = decodeMap(t, e.Body)["playback"].(map[string]any)
				if i == 0 && tt.findable {
					resp, _ := f.rawGet("/ari/playbacks/pb-1")
					assert.Equal(t, http.StatusOK, resp.StatusCode)
				}
			}
			assert.Equal(t, tt.final, last["state"])
			assert.GreaterOrEqual(t, time.Since(start), tt.atLeast)
			resp, body = f.rawGet("/ari/playbacks/pb-1")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			assert.JSONEq(t, `{"message":"Playback not found"}`, string(body))
			history := f.srv.Playbacks()
			require.Len(t, history, 1)
			assert.Equal(t, tt.final, history[0].State)
			assert.False(t, history[0].FinishedAt.IsZero())
		})
	}
}

// TestPlaybackNeverEnding: an unknown scheme starts and never finishes,
// and can no longer be looked up (trace 11); a tone plays until stopped.
func TestPlaybackNeverEnding(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.answeredCall("13800138000")
	ch := f.client.Channel()
	key := ari.NewKey(ari.ChannelKey, id)

	_, err := ch.Play(key, "badscheme", "nosuchscheme:hello-world")
	require.NoError(t, err)
	assert.Equal(t, "PlaybackStarted", f.nextTypes(1)[0])
	resp, _ := f.rawGet("/ari/playbacks/badscheme")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	tone, err := ch.Play(key, "tone", "tone:ring")
	require.NoError(t, err)
	assert.Equal(t, "PlaybackStarted", f.nextTypes(1)[0])
	data, err := tone.Data()
	require.NoError(t, err)
	assert.Equal(t, "playing", data.State)
	require.NoError(t, tone.Stop())
	finished := f.waitEvent("PlaybackFinished", nil)
	assert.Equal(t, "tone", finished["playback"].(map[string]any)["id"])
	assertStatus(t, tone.Stop(), http.StatusNotFound)

	// A playback still going when its channel hangs up ends with it; the
	// unknown scheme's does not.
	_, err = ch.Play(key, "long", "tone:busy")
	require.NoError(t, err)
	f.waitEvent("PlaybackStarted", nil)
	require.NoError(t, f.srv.Hangup(id))
	assert.Equal(t, []string{"ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset",
		"ChannelHangupRequest", "PlaybackFinished", "StasisEnd"}, f.typesUntil("StasisEnd"))
	states := map[string]string{}
	for _, p := range f.srv.Playbacks() {
		states[p.ID] = p.State
	}
	assert.Equal(t, map[string]string{"badscheme": "playing", "tone": "done", "long": "done"}, states)
}

func TestPlaybackOnBridge(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{DefaultSoundDuration: 10 * time.Millisecond})
	id := f.answeredCall("13800138000")
	br, err := f.client.Bridge().Create(ari.NewKey(ari.BridgeKey, "b1"), "mixing", "")
	require.NoError(t, err)
	require.NoError(t, br.AddChannel(id))
	f.waitEvent("ChannelEnteredBridge", nil)

	pb, err := br.Play("bridge-greeting", "sound:hello-world")
	require.NoError(t, err)
	assert.Equal(t, "bridge-greeting", pb.ID())
	started := f.waitEvent("PlaybackStarted", nil)
	assert.Equal(t, "bridge:b1", started["playback"].(map[string]any)["target_uri"])
	f.waitEvent("PlaybackFinished", nil)

	resp, body := rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/bridges/nope/play", strings.NewReader(`{"media":"sound:x"}`))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Bridge not found"}`, string(body))
	resp, body = rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/channels/"+id+"/play", strings.NewReader(`{}`))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Missing parameter media"}`, string(body))
}
