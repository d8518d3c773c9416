package aritest

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

func TestFailRoute(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000"})
	key := ari.NewKey(ari.ChannelKey, id)

	f.srv.FailRoute("POST", "/ari/channels/*/answer", http.StatusServiceUnavailable, 2)
	for range 2 {
		assert.Equal(t, http.StatusServiceUnavailable, native.CodeFromError(f.client.Channel().Answer(key)))
	}
	info, _ := f.srv.Channel(id)
	assert.Equal(t, "Ring", info.State, "a failed request changes nothing")
	require.NoError(t, f.client.Channel().Answer(key), "the third goes through")

	f.srv.FailRoute("", "/channels", http.StatusInternalServerError, 0)
	for range 3 {
		resp, body := f.rawGet("/ari/channels")
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		assert.JSONEq(t, `{"message":"Internal Server Error"}`, string(body))
	}
	f.srv.ClearFaults()
	resp, _ := f.rawGet("/ari/channels")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestDelayRoute(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	const delay = 200 * time.Millisecond
	f.srv.DelayRoute("GET", "/ari/asterisk/*", delay)
	start := time.Now()
	_, err := f.client.Asterisk().Info(nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), delay)

	f.srv.ClearFaults()
	start = time.Now()
	_, err = f.client.Asterisk().Info(nil)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), delay)
}

// TestDropWebsockets: the native client dials again, and calls reach it.
func TestDropWebsockets(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	sub := f.client.Bus().Subscribe(nil, ari.Events.StasisStart)
	defer sub.Cancel()

	f.srv.DropWebsockets()
	assert.False(t, f.srv.Registered("hotline"))
	require.NoError(t, f.srv.WaitRegistered(f.ctx, "hotline"))

	id, err := f.srv.PlaceCall(InboundCall{Caller: "13800138000"})
	require.NoError(t, err)
	select {
	case e := <-sub.Events():
		assert.Equal(t, id, e.(*ari.StasisStart).Channel.ID)
	case <-f.ctx.Done():
		t.Fatal("no StasisStart after the reconnect")
	}
}

// TestRefuseConnections: while refusing, every connection fails; then the
// native client gets back on its own.
func TestRefuseConnections(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.RefuseConnections(300 * time.Millisecond)
	assert.False(t, f.srv.Registered("hotline"))

	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, f.srv.ARIURL()+"/asterisk/ping", nil)
	require.NoError(t, err)
	req.SetBasicAuth("hotline", "hotline")
	resp, err := fresh.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "a refused connection is no HTTP answer")

	require.NoError(t, f.srv.WaitRegistered(f.ctx, "hotline"))
	_, err = f.client.Asterisk().Info(nil)
	require.NoError(t, err)
}

// bare is a fake with no native client attached, for raw websockets that
// get events v5.3.1 would choke on.
func bare(t *testing.T) (*Server, *Watcher) {
	t.Helper()
	srv := NewTest(t, Options{OnEmit: checkEmitted(t, nil)})
	w := srv.Watch()
	t.Cleanup(w.Close)
	return srv, w
}

// TestSendUndecodable checks, on a raw websocket, that each event is valid
// ARI (checkEmitted) that v5.3.1 cannot decode.
func TestSendUndecodable(t *testing.T) {
	t.Parallel()
	srv, _ := bare(t)
	ws := dialEvents(t, srv, "raw")

	for _, typ := range []string{"ChannelTransfer", "ChannelToneDetected", "ApplicationRegistered", "ApplicationUnregistered"} {
		require.NoError(t, srv.SendUndecodable(typ))
		frame := readFrame(t, ws)
		assert.Equal(t, typ, decodeMap(t, frame)["type"])
		_, err := ari.DecodeEvent(frame)
		require.ErrorContains(t, err, "unhandled type", typ)
	}

	require.NoError(t, srv.SendUndecodable("ChannelCallerId"))
	e, err := ari.DecodeEvent(readFrame(t, ws))
	require.NoError(t, err, "v5.3.1 does decode ChannelCallerId")
	assert.Equal(t, "ChannelCallerId", e.GetType())

	require.ErrorContains(t, srv.SendUndecodable("Nonsense"), "unsupported event type")
	require.NoError(t, ws.Close())
	// Nothing signals the server noticing a client's close: poll.
	require.Eventually(t, func() bool { return !srv.Registered("raw") }, testTimeout, 5*time.Millisecond)
	require.ErrorContains(t, srv.SendUndecodable("ChannelTransfer"), "no application has a websocket")
}

func TestSendRaw(t *testing.T) {
	t.Parallel()
	srv, watch := bare(t)
	ws := dialEvents(t, srv, "raw")
	raw := []byte(`{"type":"Whatever","odd":true}`)
	require.NoError(t, srv.SendRaw("raw", raw))
	assert.Equal(t, raw, readFrame(t, ws))
	ctx, cancel := contextWithTimeout()
	defer cancel()
	e, err := watch.Next(ctx)
	require.NoError(t, err)
	assert.True(t, e.Injected)
	assert.Equal(t, "Whatever", e.Model)
	require.ErrorContains(t, srv.SendRaw("nobody", raw), "no websocket")
}

// TestRestart: the client reconnects to an Asterisk that forgot every call
// but kept its configuration and its stored recordings.
func TestRestart(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{Busy: true})
	id := f.answeredCall("13800138000")
	br, err := f.client.Bridge().Create(ari.NewKey(ari.BridgeKey, "b1"), "mixing", "")
	require.NoError(t, err)
	require.NoError(t, br.AddChannel(id))
	_, err = br.Record("kept", &ari.RecordingOptions{Format: "wav"})
	require.NoError(t, err)
	require.NoError(t, f.client.LiveRecording().Stop(ari.NewKey(ari.LiveRecordingKey, "kept")))
	_, err = br.Record("lost", &ari.RecordingOptions{Format: "wav"})
	require.NoError(t, err)
	_, err = f.client.Channel().Play(ari.NewKey(ari.ChannelKey, id), "pb", "tone:ring")
	require.NoError(t, err)
	f.waitEvent("PlaybackStarted", nil)

	f.srv.Restart()
	assert.False(t, f.srv.Registered("hotline"))
	require.NoError(t, f.srv.WaitRegistered(f.ctx, "hotline"))

	chans, err := f.client.Channel().List(nil)
	require.NoError(t, err)
	assert.Empty(t, chans)
	bridges, err := f.client.Bridge().List(nil)
	require.NoError(t, err)
	assert.Empty(t, bridges)
	resp, _ := f.rawGet("/ari/recordings/live/lost")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = f.rawGet("/ari/playbacks/pb")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Empty(t, f.srv.Playbacks())
	assert.Equal(t, []string{"kept"}, f.srv.StoredRecordings())
	assert.Len(t, f.srv.Endpoints(), 1)
	info, err := f.client.Asterisk().Info(nil)
	require.NoError(t, err)
	assert.Equal(t, f.srv.EntityID(), info.SystemInfo.EntityID)

	f.placeCall(InboundCall{Caller: "13900139000"})
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv, err := Start(Options{})
	require.NoError(t, err)
	dir := srv.RecordingsDir()
	srv.SetEndpoint("PJSIP/1002", Behavior{NoAnswer: true})
	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close(), "closing twice is fine")
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "the temp recordings dir is removed")
	_, err = srv.PlaceCall(InboundCall{Caller: "1"})
	require.ErrorIs(t, err, errClosed)
	_, err = http.Get(srv.URL())
	require.Error(t, err)
}

func readFrame(t *testing.T, ws *websocket.Conn) []byte {
	t.Helper()
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(testTimeout)))
	var frame []byte
	require.NoError(t, websocket.Message.Receive(ws, &frame))
	return frame
}
