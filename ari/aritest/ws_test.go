package aritest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// clients is how many clients connect at once in the tests below: the
// more there are, the likelier a late registration shows.
const clients = 16

// dialOnly opens a raw event websocket for app and returns as soon as the
// handshake does, without waiting on the server: what a client that
// starts talking REST right after the upgrade sees.
func dialOnly(t testing.TB, srv *Server, app string) *websocket.Conn {
	t.Helper()
	cfg, err := websocket.NewConfig(srv.WebsocketURL()+"?app="+app, "http://localhost/")
	require.NoError(t, err)
	cfg.Header.Set("Authorization", "Basic aG90bGluZTpob3RsaW5l")
	ws, err := websocket.DialConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// TestRegisteredOnceUpgraded: as on Asterisk, the application exists as
// soon as the client's handshake returns: a call placed at once reaches
// it, instead of failing with "application has no websocket connected".
func TestRegisteredOnceUpgraded(t *testing.T) {
	t.Parallel()
	srv, _ := bare(t)
	srv.SetEndpoint("PJSIP/1001", Behavior{NoAnswer: true})

	for i := range clients {
		app := fmt.Sprintf("early-%d", i)
		t.Run(app, func(t *testing.T) {
			t.Parallel()
			// Each subtest's own deadline: parallel subtests may wait long
			// for a slot on a loaded machine.
			ctx, cancel := contextWithTimeout()
			defer cancel()
			ws := dialOnly(t, srv, app)

			// A call placed now finds the app's websocket.
			id, err := srv.PlaceCall(InboundCall{Caller: "13800138000", App: app})
			require.NoError(t, err)
			start := decodeMap(t, readFrame(t, ws))
			require.Equal(t, "StasisStart", start["type"])
			assert.Equal(t, id, start["channel"].(map[string]any)["id"])
			require.NoError(t, srv.WaitRegistered(ctx, app))
		})
	}
}

// TestOriginateRightAfterUpgrade: an originate sent right after the
// handshake has its first events (Dial, ringing) on the socket.
func TestOriginateRightAfterUpgrade(t *testing.T) {
	t.Parallel()
	srv, _ := bare(t)
	srv.SetEndpoint("PJSIP/1001", Behavior{NoAnswer: true})

	for i := range clients {
		app := fmt.Sprintf("dialer-%d", i)
		t.Run(app, func(t *testing.T) {
			t.Parallel()
			// Each subtest's own deadline: parallel subtests may wait long
			// for a slot on a loaded machine.
			ctx, cancel := contextWithTimeout()
			defer cancel()
			ws := dialOnly(t, srv, app)
			resp, body := rawDo(t, ctx, http.MethodPost,
				srv.ARIURL()+"/channels?endpoint=PJSIP/1001&app="+app+"&channelId="+app+"-agent", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			var got []string
			for len(got) < 3 {
				e := decodeMap(t, readFrame(t, ws))
				got = append(got, fmt.Sprintf("%s %v", e["type"], e["dialstatus"]))
			}
			assert.Equal(t, []string{"Dial ", "ChannelStateChange <nil>", "Dial RINGING"}, got)
		})
	}
}

// TestApplicationsRightAfterUpgrade: GET /applications/{app} right after
// the handshake answers 200, not 404 "Application not found".
func TestApplicationsRightAfterUpgrade(t *testing.T) {
	t.Parallel()
	srv, _ := bare(t)

	for i := range clients {
		app := fmt.Sprintf("listed-%d", i)
		t.Run(app, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := contextWithTimeout()
			defer cancel()
			dialOnly(t, srv, app)
			resp, body := rawDo(t, ctx, http.MethodGet, srv.ARIURL()+"/applications/"+app, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			assert.Equal(t, app, decodeMap(t, body)["name"])
		})
	}
}

// TestReplacedOnceUpgraded: a second websocket for an app takes its events
// as soon as its handshake returns, and the first has been told.
func TestReplacedOnceUpgraded(t *testing.T) {
	t.Parallel()
	srv, _ := bare(t)
	first := dialEvents(t, srv, "swap")
	second := dialOnly(t, srv, "swap")

	id, err := srv.PlaceCall(InboundCall{Caller: "13800138000", App: "swap"})
	require.NoError(t, err)
	start := decodeMap(t, readFrame(t, second))
	assert.Equal(t, "StasisStart", start["type"])
	assert.Equal(t, id, start["channel"].(map[string]any)["id"])

	replaced := decodeMap(t, readFrame(t, first))
	assert.Equal(t, "ApplicationReplaced", replaced["type"])
	assert.Equal(t, "swap", replaced["application"])
}

// TestUpgradeRefusedLeavesNoApp: an upgrade the websocket library refuses
// (two subprotocols offered, none chosen: 400) registers nothing.
func TestUpgradeRefusedLeavesNoApp(t *testing.T) {
	t.Parallel()
	srv, _ := bare(t)
	ctx, cancel := contextWithTimeout()
	defer cancel()
	status, _ := rawExchange(t, srv, "GET /ari/events?app=refused HTTP/1.1\r\n"+
		"Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Protocol: one, two\r\n"+
		"Authorization: Basic aG90bGluZTpob3RsaW5l\r\n\r\n")
	assert.True(t, strings.HasPrefix(status, "400 "), status)
	assert.False(t, srv.Registered("refused"))
	resp, _ := rawDo(t, ctx, http.MethodGet, srv.ARIURL()+"/applications/refused", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A later client for the app is served as usual.
	ws := dialOnly(t, srv, "refused")
	_, err := srv.PlaceCall(InboundCall{Caller: "13800138000", App: "refused"})
	require.NoError(t, err)
	assert.Equal(t, "StasisStart", decodeMap(t, readFrame(t, ws))["type"])
}
