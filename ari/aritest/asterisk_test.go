package aritest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

func TestAsteriskInfo(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{EntityID: "02:fc:00:00:00:01"})

	info, err := f.client.Asterisk().Info(nil)
	require.NoError(t, err)
	assert.Equal(t, "02:fc:00:00:00:01", info.SystemInfo.EntityID)
	assert.Equal(t, "20.20.1", info.SystemInfo.Version)
	assert.Equal(t, "02:fc:00:00:00:01", f.srv.EntityID())

	resp, body := f.rawGet("/ari/asterisk/info?only=system")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"system":{"version":"20.20.1","entity_id":"02:fc:00:00:00:01"}}`, string(body))
}

// TestHeaderSpelling reads raw response headers: Asterisk writes
// "Content-type", which Go's client would canonicalise away.
func TestHeaderSpelling(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000"})

	tests := []struct {
		name, request string
		status        string
		want          []string
		absent        []string
	}{
		{
			name:    "json",
			request: "GET /ari/channels HTTP/1.1",
			status:  "200 OK",
			want:    []string{"Server: Asterisk/20.20.1", "Cache-Control: no-cache, no-store", "Content-type: application/json"},
			absent:  []string{"Content-Type:"},
		},
		{
			name:    "no content",
			request: "POST /ari/channels/" + id + "/answer HTTP/1.1",
			status:  "204 No Content",
			want:    []string{"Server: Asterisk/20.20.1", "Cache-Control: no-cache, no-store"},
			absent:  []string{"Content-type:", "Content-Type:"},
		},
		{
			name:    "play",
			request: "POST /ari/channels/" + id + "/play/hdr-greeting?media=sound:hello-world HTTP/1.1",
			status:  "201 Created",
			want:    []string{"Location: /ari/playbacks/hdr-greeting", "Content-type: application/json"},
		},
		{
			name:    "unauthorized",
			request: "GET /ari/asterisk/info HTTP/1.1",
			status:  "401 Unauthorized",
			want:    []string{`WWW-Authenticate: Basic realm="Asterisk REST Interface"`, "Content-type: application/json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := "Authorization: Basic aG90bGluZTpob3RsaW5l\r\n" // hotline:hotline
			if tt.name == "unauthorized" {
				auth = ""
			}
			status, headers := rawExchange(t, f.srv, tt.request+"\r\nHost: x\r\n"+auth+"Content-Length: 0\r\nConnection: close\r\n\r\n")
			assert.Equal(t, tt.status, status)
			for _, h := range tt.want {
				assert.Contains(t, headers, h)
			}
			for _, prefix := range tt.absent {
				for _, h := range headers {
					assert.False(t, strings.HasPrefix(h, prefix), "unexpected header %q", h)
				}
			}
		})
	}
}

// rawExchange sends a raw HTTP request and returns the status text and the
// header lines as written.
func rawExchange(t *testing.T, srv *Server, request string) (string, []string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(testTimeout)))
	_, err = conn.Write([]byte(request))
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	statusLine, err := r.ReadString('\n')
	require.NoError(t, err)
	var headers []string
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		headers = append(headers, line)
	}
	_, status, _ := strings.Cut(strings.TrimSpace(statusLine), " ")
	return status, headers
}

func TestAuthAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	base := f.srv.URL()

	tests := []struct {
		name, method, url, user, pass string
		status                        int
		body                          string
	}{
		{"wrong password", "GET", base + "/ari/asterisk/info", "hotline", "nope", 401, `{"message":"Authentication required"}`},
		{"unknown user", "GET", base + "/ari/asterisk/info", "mallory", "hotline", 401, `{"message":"Authentication required"}`},
		{"no credentials", "GET", base + "/ari/asterisk/info", "", "", 401, `{"message":"Authentication required"}`},
		{"api_key", "GET", base + "/ari/asterisk/ping?api_key=hotline:hotline", "", "", 200, ""},
		{"unknown route", "GET", base + "/ari/no/such/resource", "hotline", "hotline", 404, `{"message":"Resource not found"}`},
		{"wrong method", "PUT", base + "/ari/channels", "hotline", "hotline", 405, `{"message":"Invalid method"}`},
		{"websocket wrong password", "GET", base + "/ari/events?app=hotline", "hotline", "nope", 401, `{"message":"Authentication required"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(f.ctx, tt.method, tt.url, nil)
			require.NoError(t, err)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body := readAll(t, resp)
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.body != "" {
				assert.JSONEq(t, tt.body, body)
			}
		})
	}

	t.Run("websocket without app", func(t *testing.T) {
		resp, body := f.rawGet("/ari/events")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Equal(t, "text/html", resp.Header.Get("Content-Type"))
		assert.Contains(t, string(body), "HTTP request is missing param: [app]")
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestApplications(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{})
	apps := f.client.Application()
	key := ari.NewKey(ari.ApplicationKey, "hotline")

	list, err := apps.List(nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "hotline", list[0].ID)

	id := f.placeCall(InboundCall{Caller: "13800138000"})
	data, err := apps.Data(key)
	require.NoError(t, err)
	assert.Equal(t, []string{id}, data.ChannelIDs)
	assert.Empty(t, data.EndpointIDs)

	require.NoError(t, apps.Subscribe(key, "endpoint:PJSIP/1001"))
	data, err = apps.Data(key)
	require.NoError(t, err)
	assert.Equal(t, []string{"PJSIP/1001"}, data.EndpointIDs)
	require.NoError(t, apps.Unsubscribe(key, "endpoint:PJSIP/1001"))
	data, err = apps.Data(key)
	require.NoError(t, err)
	assert.Empty(t, data.EndpointIDs)

	errs := []struct {
		name, method, path string
		status             int
		message            string
	}{
		{"unknown app", "GET", "/ari/applications/nobody", 404, "Application not found"},
		{"source missing", "POST", "/ari/applications/hotline/subscription?eventSource=channel:nope", 422, "Event source does not exist"},
		{"bad scheme", "POST", "/ari/applications/hotline/subscription?eventSource=trunk:x", 400, "Invalid event source URI scheme 'trunk'"},
		{"not subscribed", "DELETE", "/ari/applications/hotline/subscription?eventSource=endpoint:PJSIP/1001", 409, "Application not subscribed to event source"},
		{"no source", "POST", "/ari/applications/hotline/subscription", 400, "Missing parameter eventSource"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawDo(t, f.ctx, tt.method, f.srv.URL()+tt.path, nil)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.JSONEq(t, fmt.Sprintf(`{"message":%q}`, tt.message), string(body))
		})
	}
}

// TestApplicationReplaced: a second websocket for the same app takes the
// events; the first gets ApplicationReplaced, then nothing, and stays open.
func TestApplicationReplaced(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	first := dialEvents(t, f.srv, "second-app")

	second, err := native.Connect(&native.Options{
		Application: "second-app", URL: f.srv.ARIURL(), WebsocketURL: f.srv.WebsocketURL(),
		Username: "hotline", Password: "hotline",
	})
	require.NoError(t, err)
	sub := second.Bus().Subscribe(nil, ari.Events.StasisStart)
	defer sub.Cancel()

	replaced := decodeMap(t, readFrame(t, first))
	assert.Equal(t, "ApplicationReplaced", replaced["type"])
	assert.Equal(t, "second-app", replaced["application"])

	id, err := f.srv.PlaceCall(InboundCall{Caller: "13800138000", App: "second-app"})
	require.NoError(t, err)
	select {
	case e := <-sub.Events():
		assert.Equal(t, id, e.(*ari.StasisStart).Channel.ID)
	case <-f.ctx.Done():
		t.Fatal("the second client got no StasisStart")
	}

	// The first socket is still open but hears nothing more.
	require.NoError(t, first.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	var frame string
	err = websocket.Message.Receive(first, &frame)
	var netErr net.Error
	require.ErrorAs(t, err, &netErr, "got %q", frame)
	assert.True(t, netErr.Timeout())
}

// dialEvents opens a raw event websocket for app.
func dialEvents(t testing.TB, srv *Server, app string) *websocket.Conn {
	t.Helper()
	cfg, err := websocket.NewConfig(srv.WebsocketURL()+"?app="+app, "http://localhost/")
	require.NoError(t, err)
	cfg.Header.Set("Authorization", "Basic aG90bGluZTpob3RsaW5l")
	ws, err := websocket.DialConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.Close() })
	ctx, cancel := contextWithTimeout()
	defer cancel()
	require.NoError(t, srv.WaitRegistered(ctx, app))
	return ws
}
