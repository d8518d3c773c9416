package aritest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"hotline/ari/aritest/schema"
)

// testTimeout bounds every wait in this package's tests.
const testTimeout = 10 * time.Second

func contextWithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), testTimeout)
}

// fixture is a fake Asterisk with the real v5.3.1 native client connected
// as app "hotline", and a watcher of everything the fake emits.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	srv    *Server
	client ari.Client
	events *Watcher
}

// setup starts a fake (every body it emits checked against the ARI
// schema) and connects the native client.
func setup(t *testing.T, opts Options) *fixture {
	t.Helper()
	ctx, cancel := contextWithTimeout()
	t.Cleanup(cancel)
	opts.OnEmit = checkEmitted(t, opts.OnEmit)
	srv := NewTest(t, opts)
	events := srv.Watch()
	t.Cleanup(events.Close)
	f := &fixture{t: t, ctx: ctx, srv: srv, events: events}
	f.client = f.connect("hotline")
	return f
}

// connect attaches a native client for app and waits until the fake has
// its websocket. v5.3.1's Client.Close races with its own reconnect loop
// (fails -race), so clients are left to retry quietly until the process ends.
func (f *fixture) connect(app string) ari.Client {
	f.t.Helper()
	cl, err := native.Connect(&native.Options{
		Application:  app,
		URL:          f.srv.ARIURL(),
		WebsocketURL: f.srv.WebsocketURL(),
		Username:     "hotline",
		Password:     "hotline",
	})
	require.NoError(f.t, err)
	require.NoError(f.t, f.srv.WaitRegistered(f.ctx, app))
	return cl
}

// waitEvent waits for the next event of type typ that match accepts.
func (f *fixture) waitEvent(typ string, match func(map[string]any) bool) map[string]any {
	f.t.Helper()
	e, err := f.events.WaitFor(f.ctx, func(e Emitted) bool {
		if e.Model != typ {
			return false
		}
		return match == nil || match(decodeMap(f.t, e.Body))
	})
	require.NoError(f.t, err, "waiting for %s", typ)
	return decodeMap(f.t, e.Body)
}

// nextTypes reads the next n events and returns their types.
func (f *fixture) nextTypes(n int) []string {
	f.t.Helper()
	out := make([]string, 0, n)
	for range n {
		e, err := f.events.Next(f.ctx)
		require.NoError(f.t, err, "after %v", out)
		out = append(out, e.Model)
	}
	return out
}

// typesUntil reads events up to and including the first of type last.
func (f *fixture) typesUntil(last string) []string {
	f.t.Helper()
	var out []string
	for {
		e, err := f.events.Next(f.ctx)
		require.NoError(f.t, err, "after %v", out)
		out = append(out, e.Model)
		if e.Model == last {
			return out
		}
	}
}

// channelEvent matches events about one channel (or Dial peer).
func channelEvent(id string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		for _, k := range []string{"channel", "peer"} {
			if c, isMap := m[k].(map[string]any); isMap && c["id"] == id {
				return true
			}
		}
		return false
	}
}

func decodeMap(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return m
}

// placeCall brings a citizen call into the app and waits for its StasisStart.
func (f *fixture) placeCall(in InboundCall) string {
	f.t.Helper()
	id, err := f.srv.PlaceCall(in)
	require.NoError(f.t, err)
	f.waitEvent("StasisStart", channelEvent(id))
	return id
}

// rawGet performs an authenticated GET against the fake.
func (f *fixture) rawGet(path string) (*http.Response, []byte) {
	f.t.Helper()
	return rawDo(f.t, f.ctx, http.MethodGet, f.srv.URL()+path, nil)
}

func rawDo(t testing.TB, ctx context.Context, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	require.NoError(t, err)
	req.SetBasicAuth("hotline", "hotline")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// ariSchema is Asterisk 22's ARI description, loaded once.
var ariSchema = sync.OnceValues(func() (*schema.Schema, error) { return schema.Load("testdata/ari-api-docs") })

// emittedTypes lists every event type the fake can emit. checkEmitted
// rejects any other, and TestEveryEventTypeConforms produces each one.
var emittedTypes = []string{
	"ApplicationReplaced", "BridgeDestroyed", "ChannelConnectedLine", "ChannelCreated", "ChannelDestroyed", "ChannelDialplan",
	"ChannelDtmfReceived", "ChannelEnteredBridge", "ChannelHangupRequest", "ChannelLeftBridge",
	"ChannelStateChange", "ChannelVarset", "ContactStatusChange", "Dial", "EndpointStateChange",
	"PeerStatusChange", "PlaybackContinuing", "PlaybackFinished", "PlaybackStarted",
	"RecordingFailed", "RecordingFinished", "RecordingStarted", "StasisEnd", "StasisStart",
	// SendUndecodable
	"ApplicationRegistered", "ApplicationUnregistered", "ChannelCallerId", "ChannelToneDetected", "ChannelTransfer",
}

// checkEmitted fails the test for any event or response body the ARI
// schema does not allow; next, when set, sees every Emitted too.
func checkEmitted(t *testing.T, next func(Emitted)) func(Emitted) {
	sch, err := ariSchema()
	require.NoError(t, err)
	return func(e Emitted) {
		switch {
		case e.Injected:
		case e.Kind == KindEvent:
			if !slices.Contains(emittedTypes, e.Model) {
				t.Errorf("event type %s is missing from emittedTypes", e.Model)
			}
			if err := sch.ValidateEvent(e.Body); err != nil {
				t.Errorf("event breaks the ARI schema: %v\n%s", err, e.Body)
			}
		case e.Kind == KindResponse:
			err := sch.ValidateResponse(e.Method, e.Path, e.Status, e.Body)
			if errors.Is(err, schema.ErrUnknownRoute) && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed) {
				err = nil // the fake's answer to a route ARI does not have
			}
			if err != nil {
				t.Errorf("response breaks the ARI schema: %s %s %d: %v\n%s", e.Method, e.Path, e.Status, err, e.Body)
			}
			if e.Status >= 200 && e.Status < 300 && len(e.Body) > 0 && e.Model != "" {
				if err := sch.ValidateModel(e.Model, e.Body); err != nil {
					t.Errorf("response is not the %s it claims: %v", e.Model, err)
				}
			}
		}
		if next != nil {
			next(e)
		}
	}
}

// assertStatus checks the HTTP status behind a native client error, which
// v5.3.1 sometimes wraps out of native.CodeFromError's reach.
func assertStatus(t *testing.T, err error, status int) {
	t.Helper()
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("Non-2XX response: %d", status))
}
