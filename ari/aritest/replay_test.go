package aritest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"

	"hotline/ari/aritest"
	"hotline/ari/aritest/schema"
)

// The replays below play the application's side of every recorded
// Asterisk 20.20.1 session in testdata/ari-traces against the fake: the same
// websockets, the same REST requests at the same points, the phones doing
// what the trace's notes say (delays shrunk). They then require the same
// responses and, per socket and per object (channel, bridge, playback,
// recording, endpoint), the same events in the same order, compared as JSON
// after the normalisation described at normaliseStream and maskValue.

const (
	traceDir   = "testdata/ari-traces"
	eventsPath = "/ari/events" // the event websocket
	ariUser    = "hotline"
	ariPass    = "hotline"
	// tracedEntityID is the traced Asterisk's entity id: the fake uses it so
	// that asterisk_id and entity_id compare as they are.
	tracedEntityID = "02:fc:00:00:00:01"
	// turnTimeout bounds the wait for the events the trace has before a step.
	turnTimeout = 5 * time.Second
	// sound plays this long instead of hello-world's 1.42 s.
	soundLength = 50 * time.Millisecond
	// answerDelay stands for the phones' 1–2 s until they answer.
	answerDelay = 50 * time.Millisecond
)

// noAnswerTimeout replaces the traced originate timeout of 5 s in the
// no-answer cases.
const noAnswerTimeout = time.Second

// shrunkTimeouts maps an originate timeout in the trace to the one sent.
var shrunkTimeouts = map[string]string{"5": strconv.Itoa(int(noAnswerTimeout / time.Second))}

// scenario is one trace and what the phones do while it plays.
type scenario struct {
	trace   string
	options aritest.Options // sounds; the harness sets the rest
	stored  []string        // stored recordings left by earlier calls
	setup   func(r *replay) // the phones before the trace starts
	// notes maps the start of a note to what happens outside ARI at that
	// point: a phone dials, answers, crashes… Every key must match a note.
	notes map[string]func(r *replay)
}

var scenarios = []scenario{
	{
		trace: "01-ws-connect.jsonl",
		setup: func(r *replay) { r.srv.SetEndpoint("PJSIP/1001", aritest.Behavior{Offline: true}) },
		notes: map[string]func(r *replay){
			"3 s after the websocket connected: 0 events received": func(r *replay) { r.requireNoEvents() },
			"first websocket is still open after being replaced":   func(r *replay) { r.requireSocketOpen(1) },
			"app closes its websocket 2":                           func(r *replay) { r.closeSocket(2) },
			"app closes its websocket 1":                           func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace:   "02-inbound-answer-play-hangup.jsonl",
		options: aritest.Options{SoundDurations: map[string]time.Duration{"hello-world": soundLength}},
		notes: map[string]func(r *replay){
			"citizen phone (caller id 13800138000) dials 12345": func(r *replay) {
				r.placeCall(aritest.InboundCall{Caller: "13800138000"})
			},
			"app closes its websocket": func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "03-inbound-citizen-hangs-up.jsonl",
		notes: map[string]func(r *replay){
			// Hangs up 6 s after the answer in the trace; here 300 ms after
			// entering Stasis, well after the app's answer and MOH.
			"citizen phone dials 12345; it will hang up": func(r *replay) {
				r.placeCall(aritest.InboundCall{Caller: "13800138000", HangupAfter: 300 * time.Millisecond})
			},
			"app closes its websocket": func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "04-originate-agent-answer-bridge-record.jsonl",
		notes: map[string]func(r *replay){
			// Answers 2 s after the INVITE and hangs up 9 s after answering
			// in the trace; the app's steps in between take milliseconds.
			"setup: agent phone 1001 registered": func(r *replay) {
				// 2 s: the app's steps until the recording stops must come
				// first even on a loaded machine.
				r.srv.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: answerDelay, HangupAfter: 2 * time.Second})
			},
			"citizen phone dials 12345": func(r *replay) { r.placeCall(aritest.InboundCall{Caller: "13800138000"}) },
			"downloaded file:":          func(r *replay) { r.requireDownloadedWAV() },
			"app closes its websocket":  func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "05-originate-failures.jsonl",
		notes: map[string]func(r *replay){
			"setup: agent phones 1001 (rejects every call with 486 Busy Here)": func(r *replay) {
				r.srv.SetEndpoint("PJSIP/1001", aritest.Behavior{Busy: true})
				r.srv.SetEndpoint("PJSIP/1002", aritest.Behavior{NoAnswer: true})
				r.srv.SetEndpoint("PJSIP/1003", aritest.Behavior{Offline: true})
			},
			"(b) ChannelDestroyed 5.0 s after the originate request": func(r *replay) {
				r.requireDestroyedAfterTimeout("call5-noanswer-a1002", noAnswerTimeout)
			},
			"app closes its websocket": func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "06-ringall-race.jsonl",
		notes: map[string]func(r *replay){
			// Both answered within one millisecond in the trace and 1002's
			// StasisStart came first; here 1002 answers a little earlier so
			// that the app hangs up 1001, as traced.
			"setup: agent phones 1001 and 1002 registered; both answer": func(r *replay) {
				r.srv.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 2 * answerDelay})
				r.srv.SetEndpoint("PJSIP/1002", aritest.Behavior{AnswerAfter: answerDelay})
			},
			"citizen phone dials 12345": func(r *replay) { r.placeCall(aritest.InboundCall{Caller: "13800138000"}) },
			"app closes its websocket":  func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "07-dtmf.jsonl",
		notes: map[string]func(r *replay){
			// 2, 5, # 0.8 s apart and a hangup 7 s after the answer in the
			// trace: here 100 ms apart, and the hangup well after the digits.
			"citizen phone dials 12345; 2 s after the answer it sends": func(r *replay) {
				r.placeCall(aritest.InboundCall{Caller: "13800138000", DTMF: "25#", DTMFGap: 100 * time.Millisecond, HangupAfter: 700 * time.Millisecond})
			},
			"app closes its websocket": func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "08-send-message.jsonl",
		notes: map[string]func(r *replay){
			"setup: agent phone 1001 registered":                   func(r *replay) { r.srv.SetEndpoint("PJSIP/1001", aritest.Behavior{}) },
			"agent phone 1001 received SIP MESSAGE":                func(r *replay) { r.requireMessage() },
			"agent phone 1001 is stopped gracefully (un-REGISTER)": func(r *replay) { r.setOnline("PJSIP/1001", false) },
			"app closes its websocket":                             func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "09-endpoint-state.jsonl",
		notes: map[string]func(r *replay){
			"setup: agent phone 1001 registered": func(r *replay) { r.srv.SetEndpoint("PJSIP/1001", aritest.Behavior{}) },
			// A crash is found by qualify: the contact turns Unreachable
			// instead of being removed as by a clean un-register.
			"(a) agent phone 1001 crashes": func(r *replay) {
				r.srv.SetEndpoint("PJSIP/1001", aritest.Behavior{Unreachable: true})
			},
			"(b) agent phone 1001 starts again": func(r *replay) { r.setOnline("PJSIP/1001", true) },
			"(c) agent phone 1001 is stopped":   func(r *replay) { r.setOnline("PJSIP/1001", false) },
			"(d) agent phone 1001 starts again": func(r *replay) { r.setOnline("PJSIP/1001", true) },
			"app closes its websocket":          func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace:   "10-callback-trunk.jsonl",
		options: aritest.Options{SoundDurations: map[string]time.Duration{"hello-world": soundLength}},
		notes: map[string]func(r *replay){
			"setup: PSTN trunk listener": func(r *replay) {
				r.srv.SetTrunkDefault("trunk", aritest.Behavior{NotFound: true})
				r.srv.SetEndpoint("PJSIP/13800138000@trunk", aritest.Behavior{AnswerAfter: answerDelay})
				r.srv.SetEndpoint("PJSIP/13900139000@trunk", aritest.Behavior{Busy: true})
				r.srv.SetEndpoint("PJSIP/13700137000@trunk", aritest.Behavior{NoAnswer: true})
			},
			"app closes its websocket": func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "11-errors.jsonl",
		options: aritest.Options{
			SoundDurations: map[string]time.Duration{"hello-world": soundLength},
			MissingSounds:  []string{"no-such-sound-file"},
		},
		stored: []string{"call4"}, // recorded in trace 04
		notes: map[string]func(r *replay){
			"citizen phone dials 12345 (a live channel": func(r *replay) { r.placeCall(aritest.InboundCall{Caller: "13800138000"}) },
			"wrong password on REST":                    func(r *replay) { r.nextAuth = url.UserPassword(ariUser, "wrong") },
			"no Authorization header on REST":           func(r *replay) { r.nextAuth = url.User("") },
			"unknown user on REST":                      func(r *replay) { r.nextAuth = url.UserPassword("nobody", ariPass) },
			"websocket upgrade with a wrong password":   func(r *replay) { r.nextAuth = url.UserPassword(ariUser, "wrong") },
			"app closes its websocket":                  func(r *replay) { r.closeSocket(1) },
		},
	},
	{
		trace: "12-snoop-and-variables.jsonl",
		notes: map[string]func(r *replay){
			"citizen phone dials 12345": func(r *replay) { r.placeCall(aritest.InboundCall{Caller: "13800138000"}) },
			"app closes its websocket":  func(r *replay) { r.closeSocket(1) },
		},
	},
}

func TestReplayAsterisk20Traces(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(traceDir, "*.jsonl"))
	require.NoError(t, err)
	var covered []string
	for _, sc := range scenarios {
		covered = append(covered, filepath.Join(traceDir, sc.trace))
	}
	require.ElementsMatch(t, files, covered, "every trace has a replay")

	for _, sc := range scenarios {
		t.Run(strings.TrimSuffix(sc.trace, ".jsonl"), func(t *testing.T) {
			t.Parallel()
			r := setup(t, sc)
			r.run()
		})
	}
}

// traceRecord is one line of a trace (testdata/ari-traces/README.md).
type traceRecord struct {
	line    int
	Dir     string            `json:"dir"`
	WS      string            `json:"ws"`
	Text    string            `json:"text"`
	Event   json.RawMessage   `json:"event"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Body    json.RawMessage   `json:"body"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
}

func (rec traceRecord) String() string {
	switch rec.Dir {
	case "request":
		return fmt.Sprintf("line %d: %s %s", rec.line, rec.Method, rec.Path)
	case "note":
		return fmt.Sprintf("line %d: note %q", rec.line, rec.Text)
	}
	return fmt.Sprintf("line %d: %s", rec.line, rec.Dir)
}

func readTrace(t *testing.T, name string) []traceRecord {
	t.Helper()
	fh, err := os.Open(filepath.Join(traceDir, name))
	require.NoError(t, err)
	defer fh.Close()
	var records []traceRecord
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		rec := traceRecord{line: line}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "%s line %d", name, line)
		records = append(records, rec)
	}
	require.NoError(t, sc.Err())
	return records
}

// wireEvent is one websocket frame: recorded in the trace, or received
// from the fake.
type wireEvent struct {
	socket int // 1-based, in the order the trace opened its sockets
	body   []byte
	at     time.Time // when it was received; zero for recorded ones
}

// inbox collects what the fake's websockets deliver.
type inbox struct {
	mu      sync.Mutex
	events  []wireEvent
	changed chan struct{} // closed and replaced on every arrival
}

func newInbox() *inbox { return &inbox{changed: make(chan struct{})} }

func (in *inbox) add(e wireEvent) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.events = append(in.events, e)
	close(in.changed)
	in.changed = make(chan struct{})
}

func (in *inbox) snapshot() ([]wireEvent, <-chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.events), in.changed
}

type eventSocket struct {
	conn *websocket.Conn
	done chan struct{} // closed when the reader stops
}

// emitLog keeps what the schema says about everything the fake sent, and
// counts it, so that the check is known to have seen every frame and body.
type emitLog struct {
	mu         sync.Mutex
	violations []string
	events     int
	responses  int           // to REST requests, websocket upgrades aside
	changed    chan struct{} // closed and replaced on every response
}

func newEmitLog() *emitLog { return &emitLog{changed: make(chan struct{})} }

func (l *emitLog) add(e aritest.Emitted, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case e.Kind == aritest.KindEvent:
		l.events++
	case e.Path != eventsPath:
		l.responses++
		close(l.changed)
		l.changed = make(chan struct{})
	}
	if err != nil {
		l.violations = append(l.violations, fmt.Sprintf("%s %s %s %d %s: %v", e.Kind, e.Model, e.Method, e.Status, e.Path, err))
	}
}

func (l *emitLog) counts() (events, responses int, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events, l.responses, l.changed
}

// awaitResponses waits until n responses have been reported: the fake
// reports a response after writing it, so the client may read it first.
func (l *emitLog) awaitResponses(n int) (events, responses int) {
	deadline := time.NewTimer(turnTimeout)
	defer deadline.Stop()
	for {
		events, responses, changed := l.counts()
		if responses >= n {
			return events, responses
		}
		select {
		case <-changed:
		case <-deadline.C:
			return events, responses
		}
	}
}

func (l *emitLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.violations)
}

type sentRequest struct {
	at   time.Time
	body string
}

// replay plays one trace against a fresh fake.
type replay struct {
	t        *testing.T
	sc       scenario
	srv      *aritest.Server
	records  []traceRecord
	pos      int               // index of the record being played
	ids      map[string]string // trace id → fake id, for ids Asterisk assigns
	sockets  []*eventSocket
	inbox    *inbox
	expected []wireEvent // recorded events up to pos
	// nextAuth replaces the credentials of the next request only; a user
	// with an empty name means no Authorization header at all.
	nextAuth     *url.Userinfo
	sent         []sentRequest
	restRequests int // sent, websocket upgrades aside
	lastDownload []byte
	messagesSeen int // messages the phone's notes reported so far
	emitted      *emitLog
	notesUsed    map[string]bool
}

func setup(t *testing.T, sc scenario) *replay {
	t.Helper()
	apiSchema, err := schema.Load("testdata/ari-api-docs")
	require.NoError(t, err)
	log := newEmitLog()
	opts := sc.options
	opts.EntityID = tracedEntityID
	opts.RecordingsDir = t.TempDir()
	for _, name := range sc.stored {
		require.NoError(t, os.WriteFile(filepath.Join(opts.RecordingsDir, name+".wav"), emptyWAV(), 0o600))
	}
	opts.DefaultSoundDuration = soundLength
	opts.OnEmit = func(e aritest.Emitted) { log.add(e, validateEmitted(apiSchema, e)) }
	r := &replay{
		t:         t,
		sc:        sc,
		records:   readTrace(t, sc.trace),
		ids:       map[string]string{},
		inbox:     newInbox(),
		emitted:   log,
		notesUsed: map[string]bool{},
	}
	r.srv = aritest.NewTest(t, opts)
	t.Cleanup(func() {
		for _, s := range r.sockets {
			_ = s.conn.Close() // already closed when the trace ran to its end
			<-s.done
		}
	})
	return r
}

// validateEmitted checks one thing the fake sent against the Asterisk 22
// schema.
func validateEmitted(s *schema.Schema, e aritest.Emitted) error {
	switch e.Kind {
	case aritest.KindEvent:
		if err := s.ValidateEvent(e.Body); err != nil {
			return err
		}
		return s.ValidateModel(e.Model, e.Body)
	case aritest.KindResponse:
		err := s.ValidateResponse(e.Method, e.Path, e.Status, e.Body)
		if errors.Is(err, schema.ErrUnknownRoute) && e.Status == http.StatusNotFound {
			// Trace 11 asks for a path ARI does not have on purpose; its
			// 404 body is compared with the trace's instead.
			return nil
		}
		return err
	}
	return fmt.Errorf("unknown kind %q", e.Kind)
}

func (r *replay) run() {
	if r.sc.setup != nil {
		r.sc.setup(r)
	}
	for r.pos = 0; r.pos < len(r.records); r.pos++ {
		rec := r.records[r.pos]
		switch rec.Dir {
		case "event":
			r.expected = append(r.expected, wireEvent{socket: r.socketOf(rec), body: rec.Event})
		case "note":
			r.note(rec)
		case "request":
			r.request(rec, r.responseTo(r.pos))
		case "response":
			// Compared with its request: requests and responses alternate,
			// with events and notes in between.
		}
	}
	for key := range r.sc.notes {
		require.True(r.t, r.notesUsed[key], "no note in %s starts with %q", r.sc.trace, key)
	}
	r.awaitTurn("the end of the trace")
	require.Empty(r.t, r.srv.Channels(), "every channel is gone at the end of the trace")

	received, _ := r.inbox.snapshot()
	require.Equal(r.t, r.streams(r.expected, true), r.streams(received, false), "events per socket and object")
	events, responses := r.emitted.awaitResponses(r.restRequests)
	require.Equal(r.t, len(received), events, "the schema saw every event the websockets got")
	require.Equal(r.t, r.restRequests, responses, "the schema saw every REST response")
	require.Empty(r.t, r.emitted.list(), "what the fake sent must fit the Asterisk 22 schema")
}

// responseTo finds the response to the request at index i: the next
// response in the trace.
func (r *replay) responseTo(i int) traceRecord {
	for _, rec := range r.records[i+1:] {
		switch rec.Dir {
		case "response":
			return rec
		case "request":
			require.Fail(r.t, "a request without its response", "%s", r.records[i])
		}
	}
	require.Fail(r.t, "a request without its response", "%s", r.records[i])
	return traceRecord{}
}

// socketOf is the socket a recorded event arrived on: the one the trace
// names, else the latest one opened.
func (r *replay) socketOf(rec traceRecord) int {
	if rec.WS != "" {
		n, err := strconv.Atoi(rec.WS)
		require.NoError(r.t, err)
		return n
	}
	return len(r.sockets)
}

func (r *replay) note(rec traceRecord) {
	var matched []string
	for key := range r.sc.notes {
		if strings.HasPrefix(rec.Text, key) {
			matched = append(matched, key)
		}
	}
	require.LessOrEqual(r.t, len(matched), 1, "%s matches several actions: %q", rec, matched)
	if len(matched) == 0 {
		return // a note about something the fake does not model (SIP lines, phone logs)
	}
	r.notesUsed[matched[0]] = true
	r.awaitTurn(rec.String())
	r.sc.notes[matched[0]](r)
}

// placeCall brings a citizen's call in and maps the id Asterisk gave the
// traced call (the next inbound StasisStart) to the fake's.
func (r *replay) placeCall(call aritest.InboundCall) {
	id, err := r.srv.PlaceCall(call)
	require.NoError(r.t, err)
	args := call.Args
	if args == nil {
		args = []string{"inbound"} // the fake's default, as the dialplan's Stasis(hotline,inbound)
	}
	for _, rec := range r.records[r.pos:] {
		if rec.Dir != "event" {
			continue
		}
		var e struct {
			Type    string   `json:"type"`
			Args    []string `json:"args"`
			Channel struct {
				ID string `json:"id"`
			} `json:"channel"`
		}
		require.NoError(r.t, json.Unmarshal(rec.Event, &e))
		if e.Type == "StasisStart" && slices.Equal(e.Args, args) {
			r.ids[e.Channel.ID] = id
			return
		}
	}
	require.Fail(r.t, "the trace has no StasisStart for the call", "%s", r.records[r.pos])
}

func (r *replay) setOnline(name string, online bool) {
	require.NoError(r.t, r.srv.SetOnline(name, online))
}

// emptyWAV is a stored recording with no audio: 8 kHz mono 16-bit, as
// Asterisk records.
func emptyWAV() []byte {
	header := struct {
		Riff      [4]byte
		Size      uint32
		Wave, Fmt [4]byte
		FmtSize   uint32
		Format    uint16
		Channels  uint16
		Rate      uint32
		ByteRate  uint32
		Align     uint16
		Bits      uint16
		Data      [4]byte
		DataSize  uint32
	}{
		Riff: [4]byte{'R', 'I', 'F', 'F'}, Size: 36, Wave: [4]byte{'W', 'A', 'V', 'E'}, Fmt: [4]byte{'f', 'm', 't', ' '},
		FmtSize: 16, Format: 1, Channels: 1, Rate: 8000, ByteRate: 16000, Align: 2, Bits: 16,
		Data: [4]byte{'d', 'a', 't', 'a'},
	}
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, header) // a fixed-size struct into memory cannot fail
	return b.Bytes()
}

// mapIDs rewrites the ids Asterisk assigned in the trace to the fake's.
func (r *replay) mapIDs(s string) string {
	keys := slices.Collect(maps.Keys(r.ids))
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, r.ids[k])
	}
	return s
}

func (r *replay) openSocket(req traceRecord) {
	cfg, err := websocket.NewConfig(r.srv.WebsocketURL()+"?"+r.query(req), "http://localhost/")
	require.NoError(r.t, err)
	cfg.Header.Set("Authorization", basicAuth(url.UserPassword(ariUser, ariPass)))
	cfg.Dialer = &net.Dialer{Timeout: turnTimeout}
	conn, err := websocket.DialConfig(cfg)
	require.NoError(r.t, err, "%s", req)
	// The fake registers the application just after the upgrade, as
	// Asterisk does; the trace gave it 500 ms before the next step.
	ctx, cancel := context.WithTimeout(context.Background(), turnTimeout)
	defer cancel()
	require.NoError(r.t, r.srv.WaitRegistered(ctx, req.Query["app"]))
	s := &eventSocket{conn: conn, done: make(chan struct{})}
	r.sockets = append(r.sockets, s)
	n := len(r.sockets)
	go func() {
		defer close(s.done)
		for {
			var frame []byte
			if websocket.Message.Receive(conn, &frame) != nil {
				return
			}
			r.inbox.add(wireEvent{socket: n, body: frame, at: time.Now()})
		}
	}()
}

func (r *replay) closeSocket(n int) {
	require.LessOrEqual(r.t, n, len(r.sockets))
	s := r.sockets[n-1]
	require.NoError(r.t, s.conn.Close())
	<-s.done
}

func (r *replay) requireSocketOpen(n int) {
	select {
	case <-r.sockets[n-1].done:
		require.Fail(r.t, "the fake closed a replaced websocket", "socket %d", n)
	default:
	}
}

func (r *replay) requireNoEvents() {
	received, _ := r.inbox.snapshot()
	require.Empty(r.t, received, "Asterisk sends nothing when a websocket connects")
}

func basicAuth(u *url.Userinfo) string {
	pass, _ := u.Password()
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(u.Username(), pass)
	return req.Header.Get("Authorization")
}

// query encodes a request's query as the Go client does: url.Values
// encoding, except a channel variable's name, which it writes unescaped.
func (r *replay) query(req traceRecord) string {
	if v, ok := req.Query["variable"]; ok && len(req.Query) == 1 && req.Method == http.MethodGet {
		return "variable=" + v
	}
	vals := url.Values{}
	for k, v := range req.Query {
		vals.Set(k, r.mapIDs(v))
	}
	return vals.Encode()
}

// body is the request body as sent: none, the raw text of a malformed one,
// or compact JSON in the recorded key order.
func (r *replay) body(req traceRecord) []byte {
	if len(req.Body) == 0 || string(req.Body) == "null" {
		return nil
	}
	var raw string
	if json.Unmarshal(req.Body, &raw) == nil {
		return []byte(raw)
	}
	var b bytes.Buffer
	require.NoError(r.t, json.Compact(&b, req.Body))
	out := r.mapIDs(b.String())
	for from, to := range shrunkTimeouts {
		out = strings.Replace(out, `"timeout":`+from+",", `"timeout":`+to+",", 1)
	}
	return []byte(out)
}

func (r *replay) request(req, want traceRecord) {
	if req.Path == eventsPath && want.Status == http.StatusSwitchingProtocols {
		r.openSocket(req)
		return
	}
	r.awaitTurn(req.String())
	target := r.srv.URL() + r.mapIDs(req.Path)
	if q := r.query(req); q != "" {
		target += "?" + q
	}
	body := r.body(req)
	httpReq, err := http.NewRequest(req.Method, target, bytes.NewReader(body))
	require.NoError(r.t, err)
	if body == nil {
		httpReq.Body = nil
	}
	httpReq.Header.Set("Content-Type", "application/json")
	auth := url.UserPassword(ariUser, ariPass)
	if r.nextAuth != nil {
		auth, r.nextAuth = r.nextAuth, nil
	}
	if auth.Username() != "" {
		httpReq.Header.Set("Authorization", basicAuth(auth))
	}
	if req.Path == eventsPath {
		// An upgrade Asterisk refuses: sent by hand, since the websocket
		// client reports only that the status was not 101.
		httpReq.Header.Set("Connection", "Upgrade")
		httpReq.Header.Set("Upgrade", "websocket")
		httpReq.Header.Set("Sec-WebSocket-Version", "13")
		httpReq.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		httpReq.Header.Set("Origin", "http://localhost/")
	}
	r.sent = append(r.sent, sentRequest{at: time.Now(), body: string(body)})
	if req.Path != eventsPath {
		r.restRequests++
	}
	res, err := httpClient.Do(httpReq)
	require.NoError(r.t, err, "%s", req)
	got, err := io.ReadAll(res.Body)
	require.NoError(r.t, err)
	require.NoError(r.t, res.Body.Close())
	r.compareResponse(req, want, res, got)
}

var httpClient = &http.Client{Timeout: turnTimeout}

// importantHeaders are compared on every response (by value; Go's client
// does not show how a header name was spelled).
var importantHeaders = []string{"Content-Type", "Location", "WWW-Authenticate"}

func (r *replay) compareResponse(req, want traceRecord, res *http.Response, got []byte) {
	require.Equal(r.t, want.Status, res.StatusCode, "%s: status; body %s", req, got)
	for _, h := range importantHeaders {
		var wantValues []string
		for k, v := range want.Headers {
			if strings.EqualFold(k, h) {
				wantValues = append(wantValues, r.mapIDs(v))
			}
		}
		require.Equal(r.t, wantValues, res.Header.Values(h), "%s: header %s", req, h)
	}

	var text string
	isText := json.Unmarshal(want.Body, &text) == nil
	switch {
	case string(want.Body) == "null":
		require.Empty(r.t, got, "%s: body", req)
	case isText && strings.HasPrefix(text, "<audio/"):
		require.True(r.t, bytes.HasPrefix(got, []byte("RIFF")) && len(got) > 44 && string(got[8:12]) == "WAVE", "%s: a WAV file", req)
		r.lastDownload = got
	case isText:
		require.Equal(r.t, text, string(got), "%s: body", req)
	default:
		require.Equal(r.t, r.normaliseDoc(r.mapIDs(string(want.Body))), r.normaliseDoc(string(got)), "%s: body", req)
	}
}

// awaitTurn waits until the fake has sent, on each socket and for each
// object, at least the events the trace has before the current step.
func (r *replay) awaitTurn(step string) {
	want := r.streams(r.expected, true)
	deadline := time.NewTimer(turnTimeout)
	defer deadline.Stop()
	for {
		received, changed := r.inbox.snapshot()
		got := r.streams(received, false)
		if covers(got, want) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			require.Equal(r.t, want, got, "before %s: the events the trace has so far did not all arrive", step)
			require.Fail(r.t, "events missing", "before %s", step)
		}
	}
}

func covers(got, want map[string][]string) bool {
	for key, events := range want {
		if len(got[key]) < len(events) {
			return false
		}
	}
	return true
}

// requireDownloadedWAV checks the last downloaded recording against the
// format the note gives.
func (r *replay) requireDownloadedWAV() {
	m := regexp.MustCompile(`RIFF/WAVE (\d+) Hz, (\d+) channel\(s\), (\d+)-bit`).FindStringSubmatch(r.records[r.pos].Text)
	require.NotNil(r.t, m, "note format")
	require.NotNil(r.t, r.lastDownload, "nothing was downloaded")
	wav := r.lastDownload
	le := binary.LittleEndian
	require.Equal(r.t, m[1], strconv.Itoa(int(le.Uint32(wav[24:28]))), "sample rate")
	require.Equal(r.t, m[2], strconv.Itoa(int(le.Uint16(wav[22:24]))), "channels")
	require.Equal(r.t, m[3], strconv.Itoa(int(le.Uint16(wav[34:36]))), "bits per sample")
}

// requireDestroyedAfterTimeout checks that an unanswered originate ended at
// its timeout, not before.
func (r *replay) requireDestroyedAfterTimeout(channelID string, timeout time.Duration) {
	var sentAt time.Time
	for _, s := range r.sent {
		if strings.Contains(s.body, `"channelId":"`+channelID+`"`) {
			sentAt = s.at
		}
	}
	require.False(r.t, sentAt.IsZero(), "no originate for %s", channelID)
	received, _ := r.inbox.snapshot()
	for _, e := range received {
		var ev struct {
			Type    string `json:"type"`
			Channel struct {
				ID string `json:"id"`
			} `json:"channel"`
		}
		require.NoError(r.t, json.Unmarshal(e.body, &ev))
		if ev.Type == "ChannelDestroyed" && ev.Channel.ID == channelID {
			require.GreaterOrEqual(r.t, e.at.Sub(sentAt), timeout, "ChannelDestroyed before the originate timeout")
			return
		}
	}
	require.Fail(r.t, "no ChannelDestroyed", "%s", channelID)
}

// requireMessage checks the SIP MESSAGE the note says the phone received
// against what the fake delivered last.
func (r *replay) requireMessage() {
	m := regexp.MustCompile(`from=(\S+) to=\S+ content_type=\S+ body="(.*)"$`).FindStringSubmatch(r.records[r.pos].Text)
	require.NotNil(r.t, m, "note format")
	r.messagesSeen++
	msgs := r.srv.Messages()
	require.Len(r.t, msgs, r.messagesSeen, "one message per accepted sendMessage")
	last := msgs[len(msgs)-1]
	require.Equal(r.t, "PJSIP/1001", last.To, "To")
	from := m[1]
	if strings.HasPrefix(from, "sip:(null)@") {
		from = "" // the app sent no from, which Asterisk writes as sip:(null)@host; the fake keeps the app's parameters
	}
	require.Equal(r.t, from, last.From, "From")
	require.Equal(r.t, m[2], last.Body, "body")
}

// streams groups events by socket and by the object they are about, each
// rendered on one line after normalisation. Recorded events first get the
// fake's ids.
func (r *replay) streams(events []wireEvent, recorded bool) map[string][]string {
	grouped := map[string][]map[string]any{}
	for _, e := range events {
		body := string(e.body)
		if recorded {
			body = r.mapIDs(body)
		}
		doc, ok := decodeJSON(r.t, body).(map[string]any)
		require.True(r.t, ok, "an event is a JSON object: %s", body)
		key := fmt.Sprintf("socket %d, %s", e.socket, streamKey(doc))
		grouped[key] = append(grouped[key], doc)
	}
	out := make(map[string][]string, len(grouped))
	for key, docs := range grouped {
		for _, doc := range normaliseStream(docs) {
			out[key] = append(out[key], fmt.Sprintf("%v %s", doc["type"], render(maskValue(doc))))
		}
	}
	return out
}

// streamKey names the object an event is about; the order of events is
// compared per object.
func streamKey(doc map[string]any) string {
	if peer, ok := doc["peer"].(map[string]any); ok && doc["type"] == "Dial" {
		return fmt.Sprintf("channel %v", peer["id"])
	}
	for _, k := range []struct{ field, id, label string }{
		{"channel", "id", "channel"},
		{"playback", "id", "playback"},
		{"recording", "name", "recording"},
		{"bridge", "id", "bridge"},
	} {
		if obj, ok := doc[k.field].(map[string]any); ok {
			return fmt.Sprintf("%s %v", k.label, obj[k.id])
		}
	}
	if ep, ok := doc["endpoint"].(map[string]any); ok {
		return fmt.Sprintf("endpoint %v/%v", ep["technology"], ep["resource"])
	}
	return "application"
}

// normaliseStream takes out, from one object's events, the one order
// Asterisk itself does not keep: Dial RINGING and ChannelStateChange
// Ringing come either way round (trace README, surprise 4). The state
// change goes first, and the Dial's peer then says Ringing.
func normaliseStream(docs []map[string]any) []map[string]any {
	for i := 0; i+1 < len(docs); i++ {
		dial, change := docs[i], docs[i+1]
		changed, _ := change["channel"].(map[string]any)
		if dial["type"] == "Dial" && dial["dialstatus"] == "RINGING" && change["type"] == "ChannelStateChange" && changed["state"] == "Ringing" {
			docs[i], docs[i+1] = change, dial
			if peer, ok := dial["peer"].(map[string]any); ok {
				peer["state"] = "Ringing"
			}
		}
	}
	return docs
}

// volatileKeys hold values that differ from run to run, or follow the
// shrunk delays: their presence is compared, their value is not.
var volatileKeys = map[string]bool{
	// clocks
	"timestamp": true, "creationtime": true, "startup_time": true, "last_reload_time": true,
	// the SIP Call-ID
	"protocol_id": true,
	// the machine Asterisk was built on
	"build": true,
	// recording lengths
	"duration": true, "talking_duration": true, "silence_duration": true,
	// how long the phone held a DTMF key (180 ms for baresip)
	"duration_ms": true,
	// the phone's contact address and qualify round trip
	"uri": true, "roundtrip_usec": true,
}

var (
	// channelCounter is the sequence number Asterisk appends to channel
	// names, "PJSIP/1001-00000003": it counts across the traced scenarios.
	channelCounter = regexp.MustCompile(`(\b[A-Za-z]+/[^\s,;"]+?)-[0-9a-f]{8}\b`)
	// sipTag is the random From tag of a phone's SIP dialog.
	sipTag = regexp.MustCompile(`;tag=[^;>\s"]+`)
)

const masked = "<masked>"

// maskValue replaces volatile values.
func maskValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, val := range v {
			if volatileKeys[k] {
				out[k] = masked
				continue
			}
			out[k] = maskValue(val)
		}
		if name, _ := v["variable"].(string); v["type"] == "ChannelVarset" && (strings.HasPrefix(name, "RTPAUDIOQOS") || name == "BRIDGEPVTCALLID") {
			out["value"] = masked // RTCP statistics; the peer's SIP Call-ID
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = maskValue(item)
		}
		return out
	case string:
		return sipTag.ReplaceAllString(channelCounter.ReplaceAllString(v, "$1-########"), ";tag=<tag>")
	}
	return v
}

// normaliseDoc renders a response body for comparison.
func (r *replay) normaliseDoc(body string) string {
	return render(maskValue(decodeJSON(r.t, body)))
}

func decodeJSON(t *testing.T, body string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "JSON: %s", body)
	return v
}

// render writes v as compact JSON with sorted keys, unescaped.
func render(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // decoded JSON always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
