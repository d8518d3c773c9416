package aritest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a fake Asterisk. The zero value is usable.
type Options struct {
	Addr               string // listen address, default "127.0.0.1:0"
	Username, Password string // default "hotline", "hotline"
	EntityID           string // default "52:54:00:12:34:56"
	RecordingsDir      string // default a temp dir removed on Close
	// SoundDurations is how long each sound plays; key "sound:hello-world"
	// or "hello-world".
	SoundDurations       map[string]time.Duration
	DefaultSoundDuration time.Duration // default 1s
	MissingSounds        []string      // sounds that do not exist: playback fails at once
	// Sounds are installed sound files as they are played
	// ("sound:hotline/greeting" is sounds/hotline/greeting.wav); GET
	// /sounds lists them with SoundDurations' and two core sounds.
	Sounds []string
	// VoicemailDir is where the dialplan's fallback leaves voice messages,
	// as app_voicemail does under /var/spool/asterisk/voicemail; default
	// the folder "voicemail" in RecordingsDir (which lists only .wav files
	// of its own). VoicemailMax bounds a message (default 60s, voicemail.conf's
	// maxsecs).
	VoicemailDir string
	VoicemailMax time.Duration
	// RecorderIdleTimeout is how long a bridge recording goes on while its
	// bridge carries no audio before it ends by itself; default 4s, as
	// Asterisk 20 did (trace 13).
	RecorderIdleTimeout time.Duration
	Logger              *slog.Logger // default discard
	// OnEmit, when set, sees every event and REST response body the fake
	// sends (for schema checks). It runs synchronously, possibly from
	// several goroutines at once, events under the server's lock: it must
	// not call back into the Server.
	OnEmit func(e Emitted)
	// Now stamps events and bodies (timestamp, creationtime); default
	// time.Now. Timers and fault durations always run on the wall clock.
	Now func() time.Time
}

// Emitted is one thing the fake sent: an event to one application, or a
// REST response.
type Emitted struct {
	Kind         string // "event" | "response"
	Method, Path string // responses: the request
	Status       int    // responses: the HTTP status
	Model        string // events: the event type; responses: the schema model of the body, "" for errors and empty bodies
	Body         []byte // shared with the websocket writer: read it, do not modify it
	App          string // events: the application it was sent to
	// Injected marks events handed in through SendRaw: they are whatever
	// the caller wrote, not something the fake produced.
	Injected bool
}

// Event kinds of Emitted.
const (
	KindEvent    = "event"
	KindResponse = "response"
)

const (
	asteriskVersion = "20.20.1"
	serverHeader    = "Asterisk/" + asteriskVersion
	defaultEntityID = "52:54:00:12:34:56"
	defaultUser     = "hotline"
)

// Server is a fake Asterisk speaking ARI over HTTP and WebSocket. All its
// methods are safe for concurrent use.
type Server struct {
	opts     Options
	now      func() time.Time
	log      *slog.Logger
	entityID string
	recDir   string
	ownDir   bool
	missing  map[string]bool
	sim      *http.ServeMux

	ln        *gateListener
	http      *http.Server
	serveDone chan struct{}
	inflight  sync.WaitGroup

	mu         sync.Mutex // guards everything below
	closed     bool
	startedAt  time.Time
	timers     map[*time.Timer]struct{}
	seq        counters
	channels   map[string]*channel
	bridges    map[string]*bridge
	playbacks  map[string]*playback // active ones, by id
	history    []*PlaybackInfo      // every playback ever started
	live       map[string]*liveRecording
	stored     map[string]string // stored recording name → format
	endpoints  map[string]*endpoint
	dialRules  map[string]Behavior // full dial strings such as "PJSIP/13800138000@trunk"
	apps       map[string]*app
	conns      map[*wsConn]struct{}
	connsMoved chan struct{} // closed and replaced whenever a websocket comes or goes
	watchers   map[*Watcher]struct{}
	messages   []Message
	placed     []*PlacedCall     // every call PlaceCall brought in
	astdb      map[string]string // AstDB, "family/key" → value (astdb.go)
	globals    map[string]string // global variables
	faults     []*routeFault
	httpConns  map[net.Conn]struct{}
	// Load measurements (timings.go): calls in Stasis by citizen channel.
	timings map[string]*CallTiming
	// load is what GET /sim/timings reads: kept out of mu so that a load
	// generator gets its answer at once however busy the fake is.
	load loadCounters
}

// counters hands out the numbers Asterisk puts into ids and names.
type counters struct {
	uniqueID  uint64 // "1795757287.N"
	chanName  uint64 // "PJSIP/1001-0000000N"
	snoop     uint64
	recorder  uint64
	voicemail uint64 // msg_id of voice messages
	// nextMsg is the number the next voice message file takes; -1 until
	// the inbox was read once (see nextMessageNumber).
	nextMsg int
	tone    int
	order   uint64 // creation order, for stable listings
}

// Start listens on opts.Addr and serves ARI under /ari and the simulator
// control routes under /sim.
func Start(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		s.removeOwnDir()
		return nil, fmt.Errorf("aritest: listen on %s: %w", addr, err)
	}
	s.ln = &gateListener{Listener: inner}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState:         s.trackConn,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() {
		defer close(s.serveDone)
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("aritest: serve", "err", err)
		}
	}()
	s.log.Info("fake asterisk listening", "url", s.URL(), "recordings", s.recDir)
	return s, nil
}

// NewTest starts a fake Asterisk for a test and closes it when the test ends.
func NewTest(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("aritest: start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("aritest: close: %v", err)
		}
	})
	return s
}

func newServer(opts Options) (*Server, error) {
	if opts.Username == "" {
		opts.Username = defaultUser
	}
	if opts.Password == "" {
		opts.Password = defaultUser
	}
	if opts.DefaultSoundDuration <= 0 {
		opts.DefaultSoundDuration = time.Second
	}
	s := &Server{
		opts:       opts,
		now:        opts.Now,
		log:        opts.Logger,
		entityID:   opts.EntityID,
		recDir:     opts.RecordingsDir,
		missing:    make(map[string]bool, len(opts.MissingSounds)),
		serveDone:  make(chan struct{}),
		timers:     make(map[*time.Timer]struct{}),
		channels:   make(map[string]*channel),
		bridges:    make(map[string]*bridge),
		playbacks:  make(map[string]*playback),
		live:       make(map[string]*liveRecording),
		stored:     make(map[string]string),
		endpoints:  make(map[string]*endpoint),
		dialRules:  make(map[string]Behavior),
		apps:       make(map[string]*app),
		conns:      make(map[*wsConn]struct{}),
		connsMoved: make(chan struct{}),
		watchers:   make(map[*Watcher]struct{}),
		httpConns:  make(map[net.Conn]struct{}),
		seq:        counters{nextMsg: -1},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.entityID == "" {
		s.entityID = defaultEntityID
	}
	for _, m := range opts.MissingSounds {
		s.missing[strings.TrimPrefix(m, "sound:")] = true
	}
	if s.recDir == "" {
		dir, err := os.MkdirTemp("", "aritest-recordings-")
		if err != nil {
			return nil, fmt.Errorf("aritest: recordings dir: %w", err)
		}
		s.recDir, s.ownDir = dir, true
	} else if err := os.MkdirAll(s.recDir, 0o755); err != nil {
		return nil, fmt.Errorf("aritest: recordings dir: %w", err)
	}
	if err := s.loadStored(); err != nil {
		s.removeOwnDir()
		return nil, err
	}
	s.startedAt = s.now()
	s.sim = s.simRoutes()
	return s, nil
}

// loadStored picks up recordings left in RecordingsDir by an earlier run.
func (s *Server) loadStored() error {
	entries, err := os.ReadDir(s.recDir)
	if err != nil {
		return fmt.Errorf("aritest: read recordings dir: %w", err)
	}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".wav"); ok && e.Type().IsRegular() {
			s.stored[name] = "wav"
		}
	}
	return nil
}

func (s *Server) removeOwnDir() {
	if s.ownDir {
		if err := os.RemoveAll(s.recDir); err != nil {
			s.log.Warn("aritest: remove recordings dir", "err", err)
		}
	}
}

// URL is the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// ARIURL is the ARI root for native.Options.URL.
func (s *Server) ARIURL() string { return s.URL() + "/ari" }

// WebsocketURL is the event websocket for native.Options.WebsocketURL.
func (s *Server) WebsocketURL() string { return "ws://" + s.ln.Addr().String() + "/ari/events" }

// EntityID is what /asterisk/info reports and every event carries as asterisk_id.
func (s *Server) EntityID() string { return s.entityID }

// RecordingsDir is where stored recordings live as NAME.wav.
func (s *Server) RecordingsDir() string { return s.recDir }

// Handler serves ARI and /sim, for embedding in another server.
func (s *Server) Handler() http.Handler { return s }

// Close stops every timer, drops every websocket, stops the listener and
// waits for in-flight requests. It is safe to call twice.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stopAllTimers()
	conns := s.connList()
	for w := range s.watchers {
		w.close()
	}
	s.mu.Unlock()

	dropAll(conns)
	var err error
	if s.http != nil {
		err = s.http.Close()
		<-s.serveDone
	}
	s.inflight.Wait()
	s.removeOwnDir()
	if err != nil {
		return fmt.Errorf("aritest: close: %w", err)
	}
	return nil
}

// after runs fn under s.mu once d has passed, unless the server closes or
// the timer is stopped first. Callers hold s.mu.
func (s *Server) after(d time.Duration, fn func()) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		if _, live := s.timers[t]; !live {
			return // stopped after it fired, before it got the lock
		}
		delete(s.timers, t)
		fn()
	})
	s.timers[t] = struct{}{}
	return t
}

// cancel stops a timer made by after. Callers hold s.mu.
func (s *Server) cancel(t *time.Timer) {
	if t == nil {
		return
	}
	t.Stop()
	delete(s.timers, t)
}

func (s *Server) stopAllTimers() {
	for t := range s.timers {
		t.Stop()
	}
	clear(s.timers)
}

// connKey finds a request's connection in its context.
type connKey struct{}

func connOf(r *http.Request) net.Conn {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	return c
}

func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.httpConns[c] = struct{}{}
	case http.StateHijacked, http.StateClosed:
		delete(s.httpConns, c)
	}
}

// gateListener accepts and at once closes connections while refusing, the
// way a client sees an Asterisk that is down or restarting.
type gateListener struct {
	net.Listener
	mu          sync.Mutex
	refuseUntil time.Time
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		refusing := time.Now().Before(l.refuseUntil)
		l.mu.Unlock()
		if !refusing {
			return c, nil
		}
		_ = c.Close() // refused on purpose; nothing to report
	}
}

func (l *gateListener) refuse(d time.Duration) {
	l.mu.Lock()
	l.refuseUntil = time.Now().Add(d)
	l.mu.Unlock()
}

func (l *gateListener) clear() {
	l.mu.Lock()
	l.refuseUntil = time.Time{}
	l.mu.Unlock()
}

// recordingPath is where a stored recording's audio lives.
func (s *Server) recordingPath(name string) string {
	return filepath.Join(s.recDir, name+".wav")
}
