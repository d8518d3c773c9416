// Package web serves the HTTP side of the service: the JSON API under
// /api/v1/, the console under /, /metrics, /healthz and /readyz.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline"
)

// Config is the HTTP listener and its hardening.
type Config struct {
	// Listen is the address of the API, console and metrics. Default
	// "127.0.0.1:8080"; use ":8080" to listen on every interface.
	Listen string `yaml:"listen"`
	// Advertise is the address (host:port) the other instances reach this
	// one's API at: a request acting on a live call is passed on to the
	// instance driving the call's Asterisk server. Default: the address
	// listened on; an instance listening on every interface (":8080") must
	// set it when there are several.
	Advertise string `yaml:"advertise"`
	// ReadyTimeout bounds each readiness check. Default 2s.
	ReadyTimeout time.Duration `yaml:"ready_timeout"`
	// AllowedHosts are the host names (or addresses) requests may name in
	// their Host header; others are refused, so a page on another site
	// cannot reach the API through DNS rebinding. Default: the host of
	// Listen, localhost, 127.0.0.1 and ::1. List the name staff type in
	// their browser (e.g. hotline.example.gov.cn) when serving beyond
	// loopback.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies
	// whose X-Forwarded-For and X-Forwarded-Proto are believed; the client
	// address is then the last address in X-Forwarded-For that is not a
	// trusted proxy. Default none: the connection's address is the client's.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ReadTimeout bounds reading a whole request, WriteTimeout writing a
	// whole answer (recording audio excepted: it streams for as long as it
	// takes), IdleTimeout a kept-alive connection waiting for its next
	// request. Defaults 30s, 60s, 120s.
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	IdleTimeout  time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds the request line and headers. Default 16384.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// TLSCertFile and TLSKeyFile, both set, serve HTTPS (the session cookie
	// is then Secure). Default unset: plain HTTP, for loopback or behind a
	// TLS-terminating proxy.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// MetricsListen, when set, is an address of its own that serves only
	// /metrics and /debug/pprof/, without credentials (e.g. "127.0.0.1:9464" for a local
	// Prometheus). Default unset.
	MetricsListen string `yaml:"metrics_listen"`
	// MetricsOpenTo are the client addresses or CIDR ranges that may read
	// /metrics and /debug/pprof/ on Listen without credentials; everyone
	// else needs a token (an admin's for the profiles).
	// Default loopback only: 127.0.0.0/8 and ::1.
	MetricsOpenTo []string `yaml:"metrics_open_to"`
	// EventsKeepalive is how often a console's live stream sends a
	// keepalive and checks that its login still holds (a logged-out or
	// disabled user's stream ends then). Default 15s.
	EventsKeepalive time.Duration `yaml:"events_keepalive"`
	// EventsRetry is how long a browser waits before it reconnects a
	// dropped live stream. Default 3s.
	EventsRetry time.Duration `yaml:"events_retry"`
	// FailureLimit is how many failing requests (4xx) one actor or client
	// address may make in a minute before it must wait (429). Default 60.
	FailureLimit int `yaml:"failure_limit"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 2 * time.Second
	}
	if c.AllowedHosts == nil {
		c.AllowedHosts = []string{"localhost", "127.0.0.1", "::1"}
		if host, _, err := net.SplitHostPort(c.Listen); err == nil && host != "" && !slices.Contains(c.AllowedHosts, host) {
			c.AllowedHosts = append(c.AllowedHosts, host)
		}
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 60 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 16 << 10
	}
	if c.MetricsOpenTo == nil {
		c.MetricsOpenTo = []string{"127.0.0.0/8", "::1"}
	}
	if c.FailureLimit == 0 {
		c.FailureLimit = 60
	}
	if c.EventsKeepalive == 0 {
		c.EventsKeepalive = 15 * time.Second
	}
	if c.EventsRetry == 0 {
		c.EventsRetry = 3 * time.Second
	}
}

// Validate reports the first bad field, named by its YAML key under "http.".
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("http.listen: %q: %w", c.Listen, err)
	}
	if c.Advertise != "" {
		// Others connect to it: a port alone, or every interface, names no one.
		if host, _, err := net.SplitHostPort(c.Advertise); err != nil || host == "" || net.ParseIP(host).IsUnspecified() {
			return fmt.Errorf("http.advertise: %q must be host:port of this instance as the others reach it, e.g. 10.0.0.21:8080", c.Advertise)
		}
	}
	if c.ReadyTimeout <= 0 {
		return fmt.Errorf("http.ready_timeout: must be positive")
	}
	if len(c.AllowedHosts) == 0 {
		return fmt.Errorf("http.allowed_hosts: list at least one host name")
	}
	for i, h := range c.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/ ") {
			return fmt.Errorf("http.allowed_hosts[%d]: %q is not a host name", i, h)
		}
	}
	if _, err := parseNets(c.TrustedProxies); err != nil {
		return fmt.Errorf("http.trusted_proxies: %w", err)
	}
	if _, err := parseNets(c.MetricsOpenTo); err != nil {
		return fmt.Errorf("http.metrics_open_to: %w", err)
	}
	switch {
	case c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0:
		return fmt.Errorf("http.read_timeout, write_timeout and idle_timeout: must be positive")
	case c.MaxHeaderBytes < 4096:
		return fmt.Errorf("http.max_header_bytes: %d must be at least 4096", c.MaxHeaderBytes)
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return fmt.Errorf("http.tls_cert_file and http.tls_key_file: set both or neither")
	case c.FailureLimit < 1:
		return fmt.Errorf("http.failure_limit: must be at least 1")
	case c.EventsKeepalive < time.Second || c.EventsKeepalive > 5*time.Minute:
		return fmt.Errorf("http.events_keepalive: %s must be from 1s to 5m", c.EventsKeepalive)
	case c.EventsRetry < 100*time.Millisecond || c.EventsRetry > time.Minute:
		return fmt.Errorf("http.events_retry: %s must be from 100ms to 1m", c.EventsRetry)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("http.metrics_listen: %q: %w", c.MetricsListen, err)
		}
	}
	return nil
}

// Check is one readiness dependency: nil means it is fine.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// Degrades: the service works on without it, slower or with less, so
	// its failure is reported as degraded (in the body, with its error)
	// while /readyz stays 200.
	Degrades bool
	// ActiveOnly: only the instance that drives Asterisk needs it (the ARI
	// connection); a standby skips it (Deps.Role).
	ActiveOnly bool
}

// Role says which part an instance plays among the instances that share an
// Asterisk server (lease.Keeper): "active" drives Asterisk and runs the
// work; "standby" waits to take over and meanwhile serves the API and the
// console, so /readyz answers it 200 with the role in the body: a load
// balancer keeps sending staff to it. Detail says why it waits and who
// holds the lease.
type Role struct {
	Role   string `json:"role"`
	Detail string `json:"detail,omitempty"`
}

// CallReader is what the API reads calls from.
type CallReader interface {
	ListCalls(ctx context.Context, f CallFilter) ([]hotline.Call, error)
	GetCall(ctx context.Context, id string) (hotline.Call, error)
}

// CallFilter selects calls for listing, newest first; zero fields select
// everything. The API passes only a known State, Outcome and Line, a Limit
// from 1 to 1000, and Until after Since when both are set.
type CallFilter struct {
	State   hotline.CallState
	Outcome hotline.CallOutcome
	Line    hotline.Line
	Agent   string // the first-responsible agent
	Number  string // the caller's number, normalised
	// Uncallable selects calls whose number cannot be called back (withheld
	// or invalid): missed ones are the supervisor's to review, since no
	// callback task can exist for them.
	Uncallable bool
	// Party selects calls this agent was responsible for or rung on: set
	// for an actor who may list only their own.
	Party    string
	Rated    *bool // true: rated by the citizen; false: not rated
	Reviewed *bool // true: reviewed by a supervisor; false: not reviewed
	Since    time.Time
	Until    time.Time          // arrived before
	After    hotline.CallCursor // the page after this call
	Limit    int
}

// AgentLister lists agents with their live states.
type AgentLister interface {
	List() []hotline.Agent
}

// AgentControl changes an agent's state on request: pause with a reason, resume.
type AgentControl interface {
	SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string) (hotline.Agent, error)
}

// Referrer refers a call in progress to another agent or to a department (clauses 5.1.2, 5.2.2).
type Referrer interface {
	Refer(ctx context.Context, callID, fromAgent, toAgent, toDepartment string) (hotline.Referral, error)
}

// CallbackDesk is the callback queue as the API uses it (6.1).
type CallbackDesk interface {
	ListCallbacks(ctx context.Context, f CallbackFilter) ([]hotline.CallbackTask, error)
	// GetCallback returns the task with its CallIDs and AttemptLog.
	GetCallback(ctx context.Context, id int64) (hotline.CallbackTask, error)
	// DialNow makes a pending task due at once.
	DialNow(ctx context.Context, id int64) error
	// Acknowledge is a supervisor acknowledging an unreachable or
	// invalid_number task.
	Acknowledge(ctx context.Context, id int64, note string) (hotline.CallbackTask, error)
	// Close closes a task with a reason.
	Close(ctx context.Context, id int64, reason string) (hotline.CallbackTask, error)
}

// CallbackFilter selects callback tasks for listing; an empty State or
// AgentID and a false Overdue select everything. The API passes only a
// known State, a Limit from 1 to 1000 and an Offset of 0 or more.
type CallbackFilter struct {
	State         hotline.CallbackState // a stored state or a group: hotline.CallbackStateNames
	AgentID       string
	Overdue       bool // only open tasks past their deadline, by the desk's clock
	Limit, Offset int
}

// ViolationDesk is the violations ledger (7.1.4–7.1.6).
type ViolationDesk interface {
	ListViolations(ctx context.Context, f ViolationFilter) ([]hotline.Violation, error)
	GetViolation(ctx context.Context, id int64) (hotline.Violation, error)
	Dispose(ctx context.Context, id int64, d hotline.Disposition, reason string) (hotline.Violation, error)
}

// ViolationFilter selects violations for listing; an empty AgentID or Kind
// and a false Undisposed select everything. The API passes only a known
// Kind, a Limit from 1 to 1000 and an Offset of 0 or more.
type ViolationFilter struct {
	AgentID       string
	Kind          hotline.ViolationKind
	Undisposed    bool // only those without a disposition yet
	Limit, Offset int
}

// PromiseDesk is the promised-reply ledger (6.2). A promise is owned by
// the call's first-responsible agent, whoever records it; the desk keeps
// the original deadline on record and bounds deadlines and extensions.
type PromiseDesk interface {
	CreatePromise(ctx context.Context, in PromiseInput) (hotline.Promise, error)
	ListPromises(ctx context.Context, f PromiseFilter) ([]hotline.Promise, error)
	// GetPromise returns the promise with its Extensions and RemindersSent.
	GetPromise(ctx context.Context, id int64) (hotline.Promise, error)
	ExtendPromise(ctx context.Context, id int64, deadline time.Time, reason string) (hotline.Promise, error)
	FulfilPromise(ctx context.Context, id int64, note string) (hotline.Promise, error) // fulfilment by a note with evidence
	ReplyCall(ctx context.Context, id int64) error                                     // dial the citizen for the reply; fulfilled when connected
	ClosePromise(ctx context.Context, id int64, reason string) (hotline.Promise, error)
}

// PromiseInput is a promise to record. Exactly one of Deadline,
// DueInWorkingDays and DueInWorkingHours is set: the desk turns the
// latter two into a deadline by the working-time calendar. The API passes
// CallID and Summary non-empty and trimmed, a Deadline later than
// Deps.Now, 1 to 60 working days or 1 to 480 working hours; the desk holds
// it to its own bound (promises.max_working_days). Who records it is the
// actor of ctx.
type PromiseInput struct {
	CallID, Summary, Department         string
	Deadline                            time.Time
	DueInWorkingDays, DueInWorkingHours int
}

// PromiseFilter selects promises for listing; an empty State, AgentID or
// Number and a false Overdue select everything. The API passes only a
// known State, a Limit from 1 to 1000 and an Offset of 0 or more.
type PromiseFilter struct {
	State         hotline.PromiseState // a stored state or a group: hotline.PromiseStateNames
	AgentID       string
	Number        string
	Overdue       bool // only unfinished promises at or past their deadline, by the desk's clock
	Limit, Offset int
}

// Deps are the parts of the service the HTTP side reads and drives. A nil
// one makes its routes answer 503 with a message saying what is missing
// (a nil Auth: every route that needs a login).
type Deps struct {
	Auth    Authenticator // who a request is
	Auditor Auditor       // the hash-chained audit log, written
	Checks  []Check
	// Role, when set, says whether this instance is the active one or a
	// standby (/readyz); nil: the only instance, always active.
	Role       func() Role
	Calls      CallReader
	Agents     AgentLister
	Control    AgentControl    // pause and resume
	Referrer   Referrer        // call referrals
	Callbacks  CallbackDesk    // the callback queue
	Violations ViolationDesk   // the violations ledger
	Promises   PromiseDesk     // the promised-reply ledger
	Recordings RecordingPlayer // archived audio (recording.Player)
	Reviews    ReviewDesk      // supervisors' reviews (recording.Reviews)
	Audit      AuditReader     // the audit log, read and verified
	Holds      LegalHolder     // legal holds on recordings
	Events     *Events         // the console's live streams
	CallDetail CallDetail      // a call's recordings, reviews and monitorings, for its page
	Monitor    Monitorer       // supervisors listening, whispering, barging in
	Forward    Forwarder       // which instance drives a live call's server; nil: this one
	Extensions ExtensionDesk   // owners asking for a later deadline
	Line       LineStatus      // whether the line is open, and why (the calendar)
	Counts     CallCounter     // today's calls for the wall
	Reports    ReportDesk      // the assessment reports
	Complaints ComplaintDesk   // complaints against staff
	Gatherer   prometheus.Gatherer
	// Zone is the working-time calendar's time zone: the days of a report
	// period and of the call log's from and to, and "today" on the wall,
	// are its days. Nil means time.Local.
	Zone *time.Location
	// Now is the clock answers are computed with (a callback task's or a
	// promise's "overdue", whether a deadline is in the future); nil means
	// time.Now.
	Now func() time.Time
}

// Server is the HTTP server.
type Server struct {
	cfg        Config
	deps       Deps
	log        *slog.Logger
	srv        *http.Server
	ln         net.Listener
	done       chan error
	metricsSrv *http.Server
	metricsLn  net.Listener
	metricsEnd chan error
	proxies    []*net.IPNet
	metricsNet []*net.IPNet
	failures   *hotline.Limiter
	routes     []route
}

//go:embed assets
var assets embed.FS

// New builds the server; Start listens.
func New(cfg Config, deps Deps, log *slog.Logger) (*Server, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Zone == nil {
		deps.Zone = time.Local
	}
	s := &Server{cfg: cfg, deps: deps, log: log.With("component", "web")}
	s.proxies, _ = parseNets(cfg.TrustedProxies)
	s.metricsNet, _ = parseNets(cfg.MetricsOpenTo)
	s.failures = hotline.NewLimiter(deps.Now, cfg.FailureLimit, time.Minute, 10*time.Second, 5*time.Minute)
	s.routes = s.routeTable()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	if deps.Events != nil {
		s.srv.RegisterOnShutdown(deps.Events.Close) // live streams end, so shutdown does not wait on them
	}
	return s, nil
}

// Handler returns every route, behind the Host check and the security
// headers; each route behind its gate (gate.go).
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.harden)
	api := chi.NewRouter()
	// State-changing requests from another site's pages are refused: the
	// API takes bodies of any content type, and the console's session is a
	// cookie.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindForbidden, "web", "cross-origin request refused"))
	}))
	api.Use(csrf.Handler)
	api.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindNotFound, "web", "no such API route: %s %s", r.Method, r.URL.Path))
	})
	for _, rt := range s.routes {
		target := chi.Router(r)
		pattern := rt.pattern
		if p, ok := strings.CutPrefix(rt.pattern, apiPrefix); ok {
			target, pattern = api, p
		}
		target.Method(rt.method, pattern, s.gate(rt))
	}
	r.Mount(apiPrefix, api)
	return r
}

// apiPrefix is where the JSON API lives.
const apiPrefix = "/api/v1"

// needs returns h, or when its dependency is missing a handler that says so.
func (s *Server) needs(present bool, what string, h http.HandlerFunc) http.HandlerFunc {
	if present {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) { writeError(w, r, s.log, notConfigured(what)) }
}

// Start listens on cfg.Listen (and cfg.MetricsListen) and serves in the
// background, over TLS when a certificate is configured.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", s.cfg.Listen, err)
	}
	if s.cfg.MetricsListen != "" && s.deps.Gatherer != nil {
		mln, err := net.Listen("tcp", s.cfg.MetricsListen)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("http.metrics_listen %s: %w", s.cfg.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /debug/pprof/", profiles)
		s.metricsLn, s.metricsEnd = mln, make(chan error, 1)
		s.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.cfg.ReadTimeout,
			WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout, MaxHeaderBytes: s.cfg.MaxHeaderBytes}
		go func() { s.metricsEnd <- s.metricsSrv.Serve(mln) }()
		s.log.Info("metrics listening", "addr", mln.Addr().String())
	}
	s.ln = ln
	s.done = make(chan error, 1)
	tls := s.cfg.TLSCertFile != ""
	go func() {
		if tls {
			s.done <- s.srv.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
			return
		}
		s.done <- s.srv.Serve(ln)
	}()
	s.log.Info("HTTP listening", "addr", ln.Addr().String(), "tls", tls, "allowed_hosts", s.cfg.AllowedHosts)
	if host, _, _ := net.SplitHostPort(s.cfg.Listen); host == "" || host == "0.0.0.0" || host == "::" {
		s.log.Warn("listening on every interface: browsers reach the API only under the names in http.allowed_hosts; list the one staff use",
			"allowed_hosts", s.cfg.AllowedHosts)
	}
	return nil
}

// Addr is the address actually listened on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// MetricsAddr is the address of the metrics listener, "" when there is none.
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}

// Stop shuts down gracefully within ctx.
func (s *Server) Stop(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	if s.metricsSrv != nil {
		_ = s.metricsSrv.Shutdown(ctx)
		<-s.metricsEnd
	}
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	type result struct {
		Name     string `json:"name"`
		OK       bool   `json:"ok"`
		Degraded bool   `json:"degraded,omitempty"`
		Error    string `json:"error,omitempty"`
	}
	out := struct {
		Ready    bool     `json:"ready"`
		Role     string   `json:"role,omitempty"`
		Standby  string   `json:"standby,omitempty"`  // why a standby waits
		Detail   string   `json:"detail,omitempty"`   // an active instance's servers, with several
		Degraded []string `json:"degraded,omitempty"` // the checks failing that do not stop the service
		Checks   []result `json:"checks"`
	}{Ready: true}
	standby := false
	if s.deps.Role != nil {
		role := s.deps.Role()
		out.Role = role.Role
		if standby = role.Role != "active"; standby {
			out.Standby = role.Detail
		} else {
			out.Detail = role.Detail
		}
	}
	for _, c := range s.deps.Checks {
		if standby && c.ActiveOnly {
			continue
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
		err := c.Fn(ctx)
		cancel()
		res := result{Name: c.Name, OK: err == nil}
		switch {
		case err == nil:
		case c.Degrades:
			res.Error, res.Degraded = err.Error(), true
			out.Degraded = append(out.Degraded, c.Name)
		default:
			res.Error = err.Error()
			out.Ready = false
		}
		out.Checks = append(out.Checks, res)
	}
	status := http.StatusOK
	if !out.Ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

// listCalls: GET /api/v1/calls?from=2026-03-01&to=2026-03-31&agent=1001&line=hotline&outcome=missed
// &number=13800138000&rated=true&reviewed=false&uncallable=true&state=completed&limit=100&cursor=…&numbers=full
// → {"calls": [call…], "next_cursor": "…"}. from and to are days of the
// calendar's zone (to included); since and until are RFC 3339 times (until
// excluded). next_cursor is set when the page is full: ?cursor= with it
// lists the next page. An agent lists only calls it was responsible for or
// rung on; numbers are masked unless ?numbers=full (see personal.go).
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	const op = "web.listCalls"
	f, err := s.callFilter(op, r.URL.Query())
	full, ferr := wantFullNumbers(op, r)
	if err == nil {
		err = ferr
	}
	if err == nil {
		f.Party, err = s.ownFilter(r, hotline.ActCallList, "")
	}
	var calls []hotline.Call
	if err == nil {
		calls, err = s.deps.Calls.ListCalls(r.Context(), f)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	view := s.numbers(r, full)
	out := make([]callJSON, len(calls))
	for i, c := range calls {
		out[i] = newCallJSON(c, view)
	}
	view.audit()
	answer := map[string]any{"calls": out}
	if len(calls) == f.Limit {
		answer["next_cursor"] = hotline.CursorAfter(calls[len(calls)-1]).String()
	}
	writeJSON(w, http.StatusOK, answer)
}

// getCall: GET /api/v1/calls/{id}[?numbers=full] → the call with its legs,
// referrals and rating.
func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	c, full, err := s.requestedCall("web.getCall", r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	view := s.numbers(r, full)
	out := newCallJSON(c, view)
	view.audit()
	writeJSON(w, http.StatusOK, out)
}

// requestedCall reads the call a /calls/{id} route names and whether the
// request asks for numbers whole (?numbers=full, the only query allowed).
func (s *Server) requestedCall(op string, r *http.Request) (hotline.Call, bool, error) {
	if err := checkQuery(op, r.URL.Query(), "numbers"); err != nil {
		return hotline.Call{}, false, err
	}
	full, err := wantFullNumbers(op, r)
	if err != nil {
		return hotline.Call{}, false, err
	}
	c, err := s.deps.Calls.GetCall(r.Context(), chi.URLParam(r, "id"))
	return c, full, err
}

// callJSON is a call as the API shows it: the domain fields, the caller's
// number as the viewer may see it, and its durations in seconds, rounded
// to 0.1 s (0 while not yet known).
type callJSON struct {
	hotline.Call
	Wait float64 `json:"wait_seconds"`
	Talk float64 `json:"talk_seconds"`
}

func newCallJSON(c hotline.Call, view *numberView) callJSON {
	m := CallMatter(c)
	c.CallerNumber = view.show(m, c.CallerNumber)
	c.CallerRaw = view.show(m, c.CallerRaw)
	return callJSON{Call: c, Wait: roundTenth(c.WaitSeconds()), Talk: roundTenth(c.TalkSeconds())}
}

func roundTenth(sec float64) float64 { return math.Round(sec*10) / 10 }

func (s *Server) listAgents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"agents": s.deps.Agents.List()})
}
