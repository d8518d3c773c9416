package ari

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/websocket"

	"hotline"
)

// Client is the service's connection to Asterisk. It uses the ari/v5 native
// client for REST calls but owns the events websocket itself, because the
// library's own listener blocks forever when Asterisk is down, panics on
// event types it cannot decode, drops events when a subscriber falls 100
// behind and never says when it reconnected.
//
// Client is a start/stop service: Start runs connection attempts with
// backoff until Stop; runOnce is one connection's whole life.
type Client struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	http *http.Client
	rest *native.Client
	disp *Dispatcher

	mu          sync.Mutex
	connected   bool
	replaced    bool
	lastErr     error
	entityID    string
	connectedCh chan struct{} // closed while connected; replaced on disconnect
	downSince   time.Time     // when an established connection dropped; zero while connected or never connected
	onConnect   []func(ctx context.Context)
	onConnected []func()

	cancel context.CancelFunc
	done   chan struct{}
}

// New builds a Client; it does not connect until Start.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Client, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := newMetrics(reg)
	hc := newHTTPClient(cfg, m)
	rest, err := newNativeClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg: cfg, log: log.With("component", "ari"), m: m, http: hc, rest: rest,
		disp: newDispatcher(m), connectedCh: make(chan struct{}),
	}, nil
}

// ARI returns the library client for REST calls. Never call Subscribe on
// its handles: events arrive only through Dispatcher.
func (c *Client) ARI() ari.Client { return c.rest }

// Dispatcher routes incoming events to calls.
func (c *Client) Dispatcher() *Dispatcher { return c.disp }

// Application is the Stasis application name.
func (c *Client) Application() string { return c.cfg.Application }

// OnConnect registers fn to run after every successful (re)connection, in
// its own goroutine: events sent while we were disconnected are lost, so
// whoever keeps state about Asterisk must re-read it here.
func (c *Client) OnConnect(fn func(ctx context.Context)) {
	c.mu.Lock()
	c.onConnect = append(c.onConnect, fn)
	c.mu.Unlock()
}

// OnConnected registers fn to run on every (re)connection before any
// event of the new connection is dispatched, in the connection loop: it
// must return at once (Calls uses it to hold new calls until it has
// reconciled).
func (c *Client) OnConnected(fn func()) {
	c.mu.Lock()
	c.onConnected = append(c.onConnected, fn)
	c.mu.Unlock()
}

// Ready returns nil while events flow to us, and otherwise why not.
func (c *Client) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.replaced:
		return fmt.Errorf("ARI application %q was taken over by another client (ApplicationReplaced); Asterisk sends us no events", c.cfg.Application)
	case c.connected:
		return nil
	case c.lastErr != nil:
		return fmt.Errorf("ARI not connected: %w", c.lastErr)
	default:
		return errors.New("ARI not connected yet")
	}
}

// WaitConnected blocks until the websocket is connected or ctx ends.
func (c *Client) WaitConnected(ctx context.Context) error {
	for {
		c.mu.Lock()
		ch, ok := c.connectedCh, c.connected
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Start runs the connection loop in the background until Stop.
func (c *Client) Start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
}

// Stop closes the connection and waits for the loop to end.
func (c *Client) Stop() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.done
	c.http.CloseIdleConnections()
}

// run connects again at once after a connection drops, and backs off only
// while connecting fails: every moment disconnected is calls that never
// reach the service (Asterisk sends them to the dialplan's fallback). A
// connection that drops before ReconnectMin counts as a failure, so a
// server that accepts and drops at once is not hammered.
func (c *Client) run(ctx context.Context) {
	backoff := c.cfg.ReconnectMin
	var lastLogged string
	again := false
	for ctx.Err() == nil {
		connectedAt, err := c.runOnce(ctx, again)
		if ctx.Err() != nil {
			return
		}
		again = !connectedAt.IsZero() && time.Since(connectedAt) >= c.cfg.ReconnectMin
		if again {
			backoff, lastLogged = c.cfg.ReconnectMin, ""
			c.m.reconnects.Inc()
			continue
		}
		// One line per distinct failure, not one per attempt.
		if msg := err.Error(); msg != lastLogged {
			c.log.Error("ARI connection failed; retrying", "err", err, "retry_in", backoff)
			lastLogged = msg
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, c.cfg.ReconnectMax)
	}
}

// runOnce connects, reads events until the connection ends and reports
// when it connected (zero when it did not) and why it ended.
func (c *Client) runOnce(ctx context.Context, again bool) (time.Time, error) {
	ws, err := c.connect(ctx, again)
	if err != nil {
		c.setDisconnected(err)
		return time.Time{}, err
	}
	connectedAt := time.Now()
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()
	defer ws.Close()

	c.setConnected()
	c.log.Info("ARI connected", "url", c.cfg.URL, "application", c.cfg.Application, "asterisk_id", c.EntityID())
	connCtx, cancelHooks := context.WithCancel(ctx)
	defer cancelHooks()
	c.mu.Lock()
	hooks := append([]func(context.Context){}, c.onConnect...)
	first := append([]func(){}, c.onConnected...)
	c.mu.Unlock()
	for _, fn := range first {
		fn()
	}
	for _, fn := range hooks {
		go fn(connCtx)
	}

	err = c.readEvents(ws)
	c.setDisconnected(err)
	if ctx.Err() == nil {
		c.log.Warn("ARI websocket closed; reconnecting", "err", err)
	}
	return connectedAt, err
}

// connect checks credentials over REST first, since a failed websocket
// upgrade does not say why, then opens the websocket. Both are bounded by
// ConnectTimeout.
//
// Right after a connection dropped, the websocket is dialed first: the
// credentials were good a moment ago, and the REST round trip would
// lengthen the gap in which calls go to the dialplan's fallback. Should
// that dial fail, the REST check says why.
func (c *Client) connect(ctx context.Context, again bool) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	if again {
		if ws, err := c.dialEvents(ctx); err == nil {
			return ws, nil
		}
	}
	info, err := c.asteriskInfo(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entityID = info.SystemInfo.EntityID
	c.mu.Unlock()
	return c.dialEvents(ctx)
}

// dialEvents opens the events websocket.
func (c *Client) dialEvents(ctx context.Context) (*websocket.Conn, error) {

	q := url.Values{"app": {c.cfg.Application}}
	wsCfg, err := websocket.NewConfig(c.cfg.WebsocketURL+"?"+q.Encode(), "http://localhost/")
	if err != nil {
		c.m.connects.WithLabelValues("error").Inc()
		return nil, hotline.WrapError(hotline.KindInvalid, "ari.connect", err)
	}
	wsCfg.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.cfg.Username+":"+c.cfg.Password)))
	wsCfg.Dialer = &net.Dialer{Timeout: c.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	ws, err := wsCfg.DialContext(ctx)
	if err != nil {
		c.m.connects.WithLabelValues("unreachable").Inc()
		return nil, &hotline.Error{Kind: hotline.KindUnavailable, Op: "ari.connect", Retryable: true,
			Message: "events websocket " + c.cfg.WebsocketURL, Err: err}
	}
	c.m.connects.WithLabelValues("ok").Inc()
	return ws, nil
}

func (c *Client) asteriskInfo(ctx context.Context) (*ari.AsteriskInfo, error) {
	const op = "ari.connect"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL+"/asterisk/info", nil)
	if err != nil {
		c.m.connects.WithLabelValues("error").Inc()
		return nil, hotline.WrapError(hotline.KindInvalid, op, err)
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	resp, err := c.http.Do(req)
	if err != nil {
		c.m.connects.WithLabelValues("unreachable").Inc()
		return nil, &hotline.Error{Kind: hotline.KindUnavailable, Op: op, Retryable: true,
			Message: "Asterisk unreachable at " + c.cfg.URL, Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		c.m.connects.WithLabelValues("unauthorized").Inc()
		// Retrying helps only once someone fixes the password, so keep
		// trying, but say plainly what is wrong.
		return nil, &hotline.Error{Kind: hotline.KindUnauthorized, Op: op, Retryable: true,
			Message: fmt.Sprintf("Asterisk rejected ARI user %q at %s: wrong username or password", c.cfg.Username, c.cfg.URL)}
	case resp.StatusCode != http.StatusOK:
		c.m.connects.WithLabelValues("error").Inc()
		return nil, &hotline.Error{Kind: hotline.KindUnavailable, Op: op, Retryable: true,
			Message: "GET /asterisk/info", Err: &statusError{resp.StatusCode, string(body)}}
	}
	var info ari.AsteriskInfo
	if err := json.Unmarshal(body, &info); err != nil {
		c.m.connects.WithLabelValues("error").Inc()
		return nil, &hotline.Error{Kind: hotline.KindUnavailable, Op: op, Retryable: true,
			Message: "GET /asterisk/info returned no valid JSON; is " + c.cfg.URL + " an Asterisk ARI URL?", Err: err}
	}
	return &info, nil
}

// readEvents decodes every frame and dispatches it. Frames the library
// cannot decode are counted and dropped: handing them on is what crashes a
// plain ari/v5 client. So are repeats (see recentFrames).
func (c *Client) readEvents(ws *websocket.Conn) error {
	var recent recentFrames
	for {
		var data []byte
		if err := websocket.Message.Receive(ws, &data); err != nil {
			return err
		}
		if recent.seen(data) {
			c.m.duplicates.WithLabelValues(peekType(data)).Inc()
			continue
		}
		if typ, ok := frameType(data); ok && unhandledEvents[typ] {
			c.m.events.WithLabelValues(typ).Inc()
			continue
		}
		e, err := ari.DecodeEvent(data)
		if err != nil || e == nil {
			typ := peekType(data)
			c.m.undecodable.WithLabelValues(typ).Inc()
			c.log.Warn("dropped ARI event the client library cannot decode", "type", typ, "err", err)
			continue
		}
		if e.GetType() == ari.Events.ApplicationReplaced {
			c.m.events.WithLabelValues(e.GetType()).Inc()
			c.setReplaced()
			continue
		}
		c.disp.Dispatch(e)
		// Counted once in its mailbox: whoever sees the count can count on
		// the event being there.
		c.m.events.WithLabelValues(e.GetType()).Inc()
	}
}

// recentFrames remembers the last frames of one websocket. Asterisk sends
// an event once per subscription that covers its object: the events of an
// agent's leg come twice, once for the channel the originate subscribed
// and once for the agent's endpoint, which presence watches (trace 13).
// The copies are byte for byte the same, timestamp included, and arrive
// back to back; a frame equal to one of the last few is that copy.
type recentFrames struct {
	sums [16]uint64
	next int
}

func (r *recentFrames) seen(data []byte) bool {
	sum := maphash.Bytes(frameSeed, data)
	for _, s := range r.sums {
		if s == sum {
			return true
		}
	}
	r.sums[r.next] = sum
	r.next = (r.next + 1) % len(r.sums)
	return false
}

var frameSeed = maphash.MakeSeed()

// unhandledEvents are the event types no part of the service acts on:
// they are counted as received and not decoded. Decoding is most of the
// cost of an event, and more than half of a call's events are of these
// types (channel state and variables, dialplan steps, bridge membership,
// playbacks and recordings starting).
var unhandledEvents = map[string]bool{
	"ChannelVarset": true, "ChannelStateChange": true, "ChannelDialplan": true, "ChannelConnectedLine": true,
	"ChannelHangupRequest": true, "Dial": true, "ChannelEnteredBridge": true,
	"ChannelLeftBridge": true, "BridgeCreated": true, "BridgeDestroyed": true, "BridgeMerged": true,
	"BridgeAttendedTransfer": true, "BridgeBlindTransfer": true, "PlaybackStarted": true, "PlaybackContinuing": true,
	"RecordingStarted": true, "ChannelTalkingStarted": true, "ChannelTalkingFinished": true, "ChannelHold": true,
	"ChannelUnhold": true,
}

// frameType reads the "type" of an event frame without decoding it: the
// value of the first key "type" (a key, since a quote inside a string is
// escaped and a key is followed by a colon). ok is false when there is
// none or it is not a plain string; the frame is then decoded.
func frameType(data []byte) (typ string, ok bool) {
	const keyTok = `"type"`
	for rest := data; ; {
		i := bytes.Index(rest, []byte(keyTok))
		if i < 0 {
			return "", false
		}
		rest = rest[i+len(keyTok):]
		j := skipSpace(rest, 0)
		if j >= len(rest) || rest[j] != ':' {
			continue
		}
		j = skipSpace(rest, j+1)
		if j >= len(rest) || rest[j] != '"' {
			return "", false
		}
		end := bytes.IndexByte(rest[j+1:], '"')
		if end < 0 || end > 64 || bytes.IndexByte(rest[j+1:j+1+end], '\\') >= 0 {
			return "", false
		}
		return string(rest[j+1 : j+1+end]), true
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func peekType(data []byte) string {
	var m struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &m) != nil || m.Type == "" {
		return "invalid"
	}
	if len(m.Type) > 64 {
		return "invalid"
	}
	return m.Type
}

// EntityID is Asterisk's id as last seen (its asterisk_id in events).
func (c *Client) EntityID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entityID
}

func (c *Client) setConnected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected, c.replaced, c.lastErr = true, false, nil
	if !c.downSince.IsZero() {
		c.m.disconnected.Add(time.Since(c.downSince).Seconds())
		c.downSince = time.Time{}
	}
	close(c.connectedCh)
	c.m.connected.Set(1)
	c.m.replaced.Set(0)
}

func (c *Client) setDisconnected(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.connected {
		c.connectedCh = make(chan struct{})
		c.downSince = time.Now()
	}
	c.connected, c.lastErr = false, err
	c.m.connected.Set(0)
}

func (c *Client) setReplaced() {
	c.mu.Lock()
	c.replaced = true
	c.mu.Unlock()
	c.m.replaced.Set(1)
	c.m.connected.Set(0)
	c.log.Error("another ARI client connected with our application name and took every event from us; the service is not ready until it is gone. Give each instance its own application name.",
		"application", c.cfg.Application)
}

// getJSON reads one ARI resource (path under the ARI URL) into v, bounded
// by ConnectTimeout. Reconciliation reads whole lists this way: the
// library reads them one object per request.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL+path, nil)
	if err != nil {
		return hotline.WrapError(hotline.KindInvalid, "ari.get", err)
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	resp, err := c.http.Do(req)
	if err != nil {
		return &hotline.Error{Kind: hotline.KindUnavailable, Op: "ari.get", Retryable: true, Message: "GET " + path, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &hotline.Error{Kind: hotline.KindUnavailable, Op: "ari.get", Retryable: true, Message: "GET " + path, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode, string(body)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &hotline.Error{Kind: hotline.KindUnavailable, Op: "ari.get", Message: "GET " + path + ": not the JSON expected", Err: err}
	}
	return nil
}

// AddToBridge puts a channel in a bridge. It is the library's AddChannel,
// with Asterisk's answer kept: a 400 may say the channel is gone (see
// bridgeChannelGone) or the request is wrong, and only the body tells.
func (c *Client) AddToBridge(bridgeID, channelID string) error {
	path := "/bridges/" + url.PathEscape(bridgeID) + "/addChannel?channel=" + url.QueryEscape(channelID)
	req, err := http.NewRequest(http.MethodPost, c.cfg.URL+path, nil)
	if err != nil {
		return hotline.WrapError(hotline.KindInvalid, "ari.addChannel", err)
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	resp, err := c.http.Do(req)
	if err != nil {
		return &hotline.Error{Kind: hotline.KindUnavailable, Op: "ari.addChannel", Retryable: true, Message: "POST " + path, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	err = &statusError{resp.StatusCode, string(body)}
	if bridgeChannelGone(err) {
		c.m.channelGone.Inc()
	}
	return err
}

// bridgeChannelGone reports whether err is Asterisk refusing to add a
// channel to a bridge because the channel no longer exists: it hung up
// between our decision and Asterisk's handling of the request. ARI answers
// 400 "Channel not found" for that (bridges.json, trace 11), where the
// channel's own resources answer 404; a 400 saying anything else is a
// request of ours that is wrong, and stays an error.
func bridgeChannelGone(err error) bool {
	var se *statusError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		return false
	}
	var body struct {
		Message string `json:"message"`
	}
	return json.Unmarshal([]byte(se.Body), &body) == nil && body.Message == "Channel not found"
}

// Check makes one bounded request to Asterisk and reports whether it answers
// and accepts our credentials; Run uses it to fail fast on a wrong password.
func (c *Client) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	_, err := c.asteriskInfo(ctx)
	return err
}
