package aritest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryEventTypeConforms drives the fake through every event type it
// can emit (emittedTypes, which checkEmitted holds every other test to) and
// validates each against the ARI schema. It uses raw REST and a raw
// websocket: some of these events would make v5.3.1 panic.
func TestEveryEventTypeConforms(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	srv := NewTest(t, Options{
		OnEmit: checkEmitted(t, func(e Emitted) {
			if e.Kind == KindEvent {
				mu.Lock()
				seen[e.Model]++
				mu.Unlock()
			}
		}),
		DefaultSoundDuration: time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	events := srv.Watch()
	defer events.Close()
	await := func(typ string) {
		t.Helper()
		_, err := events.WaitFor(ctx, func(e Emitted) bool { return e.Model == typ })
		require.NoError(t, err, "waiting for %s", typ)
	}
	call := func(method, path, body string, status int) {
		t.Helper()
		resp, got := rawDo(t, ctx, method, srv.ARIURL()+path, strings.NewReader(body))
		require.Equal(t, status, resp.StatusCode, "%s %s: %s", method, path, got)
	}
	first := dialEvents(t, srv, "hotline")

	srv.SetEndpoint("PJSIP/1001", Behavior{DTMF: "1", DTMFGap: time.Millisecond})
	call("POST", "/applications/hotline/subscription", `{"eventSource":"endpoint:PJSIP/1001"}`, http.StatusOK)
	citizen, err := srv.PlaceCall(InboundCall{Caller: "13800138000"})
	require.NoError(t, err)
	call("POST", "/channels/"+citizen+"/answer", "", http.StatusNoContent)
	call("POST", "/bridges/b1", `{"type":"mixing"}`, http.StatusOK)
	call("POST", "/bridges/b1/addChannel", `{"channel":"`+citizen+`"}`, http.StatusNoContent)
	call("POST", "/bridges/b1/record", `{"name":"conf","format":"wav"}`, http.StatusCreated)
	call("POST", "/channels", `{"endpoint":"PJSIP/1001","app":"hotline","channelId":"agent"}`, http.StatusOK)
	await("StasisStart")
	await("ChannelDtmfReceived")
	call("POST", "/bridges/b1/addChannel", `{"channel":"agent"}`, http.StatusNoContent)
	call("POST", "/recordings/live/conf/stop", "", http.StatusNoContent)
	await("ChannelConnectedLine")

	call("POST", "/channels/"+citizen+"/play/p1", `{"media":["sound:a","sound:b"]}`, http.StatusCreated)
	await("PlaybackFinished")

	// A recording that cannot be written fails.
	require.NoError(t, os.Mkdir(filepath.Join(srv.RecordingsDir(), "fails.wav"), 0o755))
	call("POST", "/bridges/b1/record", `{"name":"fails","format":"wav"}`, http.StatusCreated)
	call("POST", "/recordings/live/fails/stop", "", http.StatusNoContent)

	call("DELETE", "/channels/agent", "", http.StatusNoContent)
	call("DELETE", "/bridges/b1", "", http.StatusNoContent)
	require.NoError(t, srv.SetOnline("PJSIP/1001", false))

	dialEvents(t, srv, "hotline") // replaces the first socket
	for decodeMap(t, readFrame(t, first))["type"] != "ApplicationReplaced" {
		// skip the call's events, still queued on the first socket
	}
	for _, typ := range []string{"ChannelTransfer", "ChannelToneDetected", "ApplicationRegistered", "ApplicationUnregistered", "ChannelCallerId"} {
		require.NoError(t, srv.SendUndecodable(typ))
	}

	mu.Lock()
	defer mu.Unlock()
	var missing []string
	for _, typ := range emittedTypes {
		if seen[typ] == 0 {
			missing = append(missing, typ)
		}
	}
	assert.Empty(t, missing, "event types never produced")
	assert.Len(t, seen, len(emittedTypes), "seen: %v", seen)
}
