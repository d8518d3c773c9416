package aritest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// survivorsTrace is Asterisk 20's answers to a fresh client after the
// service was killed mid-call (trace 14): what survives a dead application.
const survivorsTrace = "testdata/survivors/14-service-killed-mid-call.jsonl"

// tracedAnswers reads the trace's responses by request path.
func tracedAnswers(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	fh, err := os.Open(survivorsTrace)
	require.NoError(t, err)
	defer fh.Close()
	out := map[string]json.RawMessage{}
	var path string
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Dir    string          `json:"dir"`
			Path   string          `json:"path"`
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		switch rec.Dir {
		case "request":
			path = rec.Path
		case "response":
			require.Equal(t, http.StatusOK, rec.Status, path)
			out[path] = rec.Body
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// TestServiceKilledMidCall builds trace 14's situation: a citizen talking
// with agent 1005 in a recorded bridge, and two empty bridges of earlier
// crashed calls. The application's websocket then goes away without a word
// (SIGKILL). As on Asterisk, everything stays: channels, bridges, the live
// recording and the stored ones, and GET /applications/hotline still
// lists the application's channels and bridges while no websocket is
// connected. The fake's answers match the trace's, ids mapped; once a new
// websocket connects, events about the survivors reach it.
func TestServiceKilledMidCall(t *testing.T) {
	t.Parallel()
	want := tracedAnswers(t)
	dir := t.TempDir()
	for _, name := range []string{"cmx6o0v4aquz3", "cmx6o3r8rcfl1"} { // recorded by the earlier crashed calls
		require.NoError(t, writeWAV(filepath.Join(dir, name+".wav"), time.Second, nil))
	}
	srv := NewTest(t, Options{RecordingsDir: dir, OnEmit: checkEmitted(t, nil)})
	w := srv.Watch()
	t.Cleanup(w.Close)
	ctx, cancel := contextWithTimeout()
	defer cancel()
	for i := 1; i <= 7; i++ {
		srv.SetEndpoint("PJSIP/100"+string(rune('0'+i)), Behavior{AnswerAfter: 10 * time.Millisecond})
	}
	do := func(method, path string, body any) []byte {
		t.Helper()
		var b []byte
		if body != nil {
			var err error
			b, err = json.Marshal(body)
			require.NoError(t, err)
		}
		resp, got := rawDo(t, ctx, method, srv.ARIURL()+path, bytes.NewReader(b))
		require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, got)
		return got
	}
	waitFor := func(typ, id string) {
		t.Helper()
		_, err := w.WaitFor(ctx, func(e Emitted) bool {
			return e.Model == typ && bytes.Contains(e.Body, []byte(`"`+id+`"`))
		})
		require.NoError(t, err, "%s %s", typ, id)
	}

	// The service that is about to be killed.
	killed := dialOnly(t, srv, "hotline")
	require.NoError(t, srv.WaitRegistered(ctx, "hotline"))
	var eps []string
	for i := 1; i <= 7; i++ {
		eps = append(eps, "endpoint:PJSIP/100"+string(rune('0'+i)))
	}
	do(http.MethodPost, "/applications/hotline/subscription?eventSource="+strings.Join(eps, ","), nil)
	// Two earlier calls' bridges, left empty when their citizens hung up.
	for _, id := range []string{"cmx6o0v4aquz3", "cmx6o3r8rcfl1"} {
		citizen, err := srv.PlaceCall(InboundCall{Caller: "13800138010"})
		require.NoError(t, err)
		do(http.MethodPost, "/channels/"+citizen+"/answer", nil)
		do(http.MethodPost, "/bridges/"+id+"-bridge", map[string]string{"type": "mixing", "name": id})
		do(http.MethodPost, "/bridges/"+id+"-bridge/addChannel", map[string]string{"channel": citizen})
		require.NoError(t, srv.Hangup(citizen))
		waitFor("StasisEnd", citizen)
	}
	// The call in progress: citizen and agent in a recorded bridge.
	const call = "cmx6o5jhoqm51"
	citizen, err := srv.PlaceCall(InboundCall{Caller: "13800138010"})
	require.NoError(t, err)
	do(http.MethodPost, "/channels/"+citizen+"/answer", nil)
	do(http.MethodPost, "/bridges/"+call+"-bridge", map[string]string{"type": "mixing", "name": call})
	do(http.MethodPost, "/bridges/"+call+"-bridge/addChannel", map[string]string{"channel": citizen})
	do(http.MethodPost, "/channels", map[string]any{"endpoint": "PJSIP/1005", "app": "hotline",
		"appArgs": "agent," + call + ",1005", "channelId": call + "-a1005", "callerId": "13800138010", "timeout": 30})
	waitFor("StasisStart", call+"-a1005")
	do(http.MethodPost, "/bridges/"+call+"-bridge/addChannel", map[string]string{"channel": call + "-a1005"})
	do(http.MethodPost, "/bridges/"+call+"-bridge/record", map[string]any{"name": call, "format": "wav"})
	waitFor("RecordingStarted", call)

	// SIGKILL: the socket goes away; nothing is sent to Asterisk.
	require.NoError(t, killed.Close())
	waitUnregistered(ctx, t, srv, "hotline")

	ids := map[string]string{"1796248793.79": citizen}
	mapIDs := func(raw json.RawMessage) string {
		s := string(raw)
		for from, to := range ids {
			s = strings.ReplaceAll(s, from, to)
		}
		return s
	}
	decode := func(s string, v any) {
		t.Helper()
		require.NoError(t, json.Unmarshal([]byte(s), v), s)
	}

	// The application, with no websocket, still has its channels and bridges.
	var wantApp, gotApp applicationJSON
	decode(mapIDs(want["/ari/applications/hotline"]), &wantApp)
	decode(string(do(http.MethodGet, "/applications/hotline", nil)), &gotApp)
	assert.ElementsMatch(t, wantApp.ChannelIDs, gotApp.ChannelIDs, "channel_ids")
	assert.ElementsMatch(t, wantApp.BridgeIDs, gotApp.BridgeIDs, "bridge_ids")
	assert.ElementsMatch(t, wantApp.EndpointIDs, gotApp.EndpointIDs, "endpoint_ids")

	// The channels, up, still in Stasis with their dialplan's arguments.
	type chanView struct {
		ID, State, Context, AppData string
	}
	viewChannels := func(s string) []chanView {
		var chans []channelJSON
		decode(s, &chans)
		var out []chanView
		for _, c := range chans {
			out = append(out, chanView{c.ID, c.State, c.Dialplan.Context, c.Dialplan.AppData})
		}
		return out
	}
	wantChans := viewChannels(mapIDs(want["/ari/channels"]))
	gotChans := viewChannels(string(do(http.MethodGet, "/channels", nil)))
	require.Len(t, gotChans, len(wantChans))
	for i := range wantChans {
		assert.Equal(t, wantChans[i].ID, gotChans[i].ID)
		assert.Equal(t, wantChans[i].State, gotChans[i].State)
		// The fake's dialplan names its contexts apart from the traced ones;
		// the application and its arguments are the same.
		assert.Equal(t, wantChans[i].AppData, gotChans[i].AppData)
	}

	// The bridges: two empty, the call's with both parties and the recorder.
	type bridgeView struct {
		ID, Technology string
		Channels       []string
	}
	viewBridges := func(s string) []bridgeView {
		var bs []bridgeJSON
		decode(s, &bs)
		var out []bridgeView
		for _, b := range bs {
			out = append(out, bridgeView{b.ID, b.Technology, b.Channels})
		}
		slices.SortFunc(out, func(a, b bridgeView) int { return strings.Compare(a.ID, b.ID) })
		return out
	}
	assert.Equal(t, viewBridges(mapIDs(want["/ari/bridges"])), viewBridges(string(do(http.MethodGet, "/bridges", nil))))

	// The recording goes on, into the call's bridge.
	var wantLive, gotLive liveRecordingJSON
	decode(mapIDs(want["/ari/recordings/live/"+call]), &wantLive)
	decode(string(do(http.MethodGet, "/recordings/live/"+call, nil)), &gotLive)
	assert.Equal(t, wantLive, gotLive)

	// The earlier calls' files are stored. (Asterisk lists the live one's
	// file too, as it writes it from the start; the fake stores it when it
	// ends.)
	var stored []storedRecordingJSON
	decode(string(do(http.MethodGet, "/recordings/stored", nil)), &stored)
	for _, name := range []string{"cmx6o0v4aquz3", "cmx6o3r8rcfl1"} {
		assert.Contains(t, stored, storedRecordingJSON{Name: name, Format: "wav"})
	}

	// A new service connects: events about the survivors reach it.
	fresh := dialOnly(t, srv, "hotline")
	require.NoError(t, srv.WaitRegistered(ctx, "hotline"))
	require.NoError(t, srv.Hangup(call+"-a1005"))
	for {
		e := decodeMap(t, readFrame(t, fresh))
		if e["type"] == "StasisEnd" {
			assert.Equal(t, call+"-a1005", e["channel"].(map[string]any)["id"])
			break
		}
	}
	require.NoError(t, srv.Hangup(citizen))
	for {
		e := decodeMap(t, readFrame(t, fresh))
		if e["type"] == "RecordingFinished" {
			assert.Equal(t, call, e["recording"].(map[string]any)["name"])
			break
		}
	}
}

// waitUnregistered waits until no websocket serves app.
func waitUnregistered(ctx context.Context, t *testing.T, srv *Server, app string) {
	t.Helper()
	for srv.Registered(app) {
		srv.mu.Lock()
		moved := srv.connsMoved
		registered := srv.apps[app] != nil && srv.apps[app].conn != nil
		srv.mu.Unlock()
		if !registered {
			return
		}
		select {
		case <-moved:
		case <-ctx.Done():
			t.Fatalf("%s still registered", app)
		}
	}
}
