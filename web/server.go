// Package web serves the HTTP side of the service: the JSON API under
// /api/v1/, the console under /, /metrics, /healthz and /readyz.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline"
)

// Config is the HTTP listener.
type Config struct {
	// Listen is the address of the API, console and metrics. Default
	// "127.0.0.1:8080"; use ":8080" to listen on every interface.
	Listen string `yaml:"listen"`
	// ReadyTimeout bounds each readiness check. Default 2s.
	ReadyTimeout time.Duration `yaml:"ready_timeout"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 2 * time.Second
	}
}

// Validate reports the first bad field, named by its YAML key under "http.".
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("http.listen: %q: %w", c.Listen, err)
	}
	if c.ReadyTimeout <= 0 {
		return fmt.Errorf("http.ready_timeout: must be positive")
	}
	return nil
}

// Check is one readiness dependency: nil means it is fine.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
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
	Rated      *bool // true: rated by the citizen; false: not rated
	Reviewed   *bool // true: reviewed by a supervisor; false: not reviewed
	Since      time.Time
	Until      time.Time          // arrived before
	After      hotline.CallCursor // the page after this call
	Limit      int
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
	Acknowledge(ctx context.Context, id int64, by, note string) (hotline.CallbackTask, error)
	// Close closes a task with a reason. The desk enforces who may: an
	// agent only after an attempt; a supervisor always, audited.
	Close(ctx context.Context, id int64, by, reason string) (hotline.CallbackTask, error)
}

// CallbackFilter selects callback tasks for listing; an empty State or
// AgentID and a false Overdue select everything. The API passes only a
// known State, a Limit from 1 to 1000 and an Offset of 0 or more.
type CallbackFilter struct {
	State         hotline.CallbackState
	AgentID       string
	Overdue       bool // only open tasks past their deadline, by the desk's clock
	Limit, Offset int
}

// ViolationDesk is the violations ledger (7.1.4–7.1.6).
type ViolationDesk interface {
	ListViolations(ctx context.Context, f ViolationFilter) ([]hotline.Violation, error)
	Dispose(ctx context.Context, id int64, d hotline.Disposition, by, reason string) (hotline.Violation, error)
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
// the call's first-responsible agent, whoever records it; the desk
// enforces who may extend (a supervisor) and close it, and keeps the
// original deadline on record.
type PromiseDesk interface {
	CreatePromise(ctx context.Context, in PromiseInput) (hotline.Promise, error)
	ListPromises(ctx context.Context, f PromiseFilter) ([]hotline.Promise, error)
	// GetPromise returns the promise with its Extensions and RemindersSent.
	GetPromise(ctx context.Context, id int64) (hotline.Promise, error)
	ExtendPromise(ctx context.Context, id int64, deadline time.Time, approvedBy, reason string) (hotline.Promise, error)
	FulfilPromise(ctx context.Context, id int64, note, by string) (hotline.Promise, error) // fulfilment by a note with evidence
	ReplyCall(ctx context.Context, id int64, by string) error                              // dial the citizen for the reply; fulfilled when connected
	ClosePromise(ctx context.Context, id int64, by, reason string) (hotline.Promise, error)
}

// PromiseInput is a promise to record. Exactly one of Deadline,
// DueInWorkingDays and DueInWorkingHours is set: the desk turns the
// latter two into a deadline by the working-time calendar. The API passes
// CallID, Summary and By non-empty and trimmed, a Deadline later than
// Deps.Now, 1 to 60 working days or 1 to 480 working hours.
type PromiseInput struct {
	CallID, Summary, Department, By     string
	Deadline                            time.Time
	DueInWorkingDays, DueInWorkingHours int
}

// PromiseFilter selects promises for listing; an empty State, AgentID or
// Number and a false Overdue select everything. The API passes only a
// known State, a Limit from 1 to 1000 and an Offset of 0 or more.
type PromiseFilter struct {
	State         hotline.PromiseState
	AgentID       string
	Number        string
	Overdue       bool // only unfinished promises at or past their deadline, by the desk's clock
	Limit, Offset int
}

// Deps are the parts of the service the HTTP side reads and drives. A nil
// one makes its routes answer 503 with a message saying what is missing.
type Deps struct {
	Checks     []Check
	Calls      CallReader
	Agents     AgentLister
	Control    AgentControl    // pause and resume
	Referrer   Referrer        // call referrals
	Callbacks  CallbackDesk    // the callback queue
	Violations ViolationDesk   // the violations ledger
	Promises   PromiseDesk     // the promised-reply ledger
	Recordings RecordingPlayer // archived audio (recording.Player)
	Reviews    ReviewDesk      // supervisors' reviews (recording.Reviews)
	Audit      AuditVerifier   // the audit log's hash chain
	Holds      LegalHolder     // legal holds on recordings
	Reports    ReportDesk      // the assessment reports
	Complaints ComplaintDesk   // complaints against staff
	Gatherer   prometheus.Gatherer
	// Zone is the working-time calendar's time zone: the days of a report
	// period and of the call log's from and to are its days. Nil means
	// time.Local.
	Zone *time.Location
	// Now is the clock answers are computed with (a callback task's or a
	// promise's "overdue", whether a deadline is in the future); nil means
	// time.Now.
	Now func() time.Time
}

// Server is the HTTP server.
type Server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	done chan error
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
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Handler returns every route.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", s.readyz)
	if s.deps.Gatherer != nil {
		r.Handle("/metrics", promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{}))
	}
	r.Route("/api/v1", func(r chi.Router) {
		// State-changing requests from another site's pages are refused:
		// the API takes bodies of any content type.
		csrf := http.NewCrossOriginProtection()
		csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, s.log, hotline.Errorf(hotline.KindForbidden, "web", "cross-origin request refused"))
		}))
		r.Use(csrf.Handler)
		r.Get("/calls", s.needs(s.deps.Calls != nil, "the call log", s.listCalls))
		r.Get("/calls/{id}", s.needs(s.deps.Calls != nil, "the call log", s.getCall))
		r.Post("/calls/{id}/referrals", s.needs(s.deps.Referrer != nil, "referring calls", s.referCall))
		r.Get("/agents", s.needs(s.deps.Agents != nil, "the agent list", s.listAgents))
		r.Post("/agents/{id}/pause", s.needs(s.deps.Control != nil, "pausing agents", s.pauseAgent))
		r.Post("/agents/{id}/resume", s.needs(s.deps.Control != nil, "resuming agents", s.resumeAgent))
		r.Get("/callbacks", s.needs(s.deps.Callbacks != nil, "the callback queue", s.listCallbacks))
		r.Get("/callbacks/{id}", s.needs(s.deps.Callbacks != nil, "the callback queue", s.getCallback))
		r.Post("/callbacks/{id}/dial", s.needs(s.deps.Callbacks != nil, "dialing callbacks now", s.dialCallback))
		r.Post("/callbacks/{id}/acknowledge", s.needs(s.deps.Callbacks != nil, "acknowledging callbacks", s.acknowledgeCallback))
		r.Post("/callbacks/{id}/close", s.needs(s.deps.Callbacks != nil, "closing callbacks", s.closeCallback))
		r.Get("/violations", s.needs(s.deps.Violations != nil, "the violations ledger", s.listViolations))
		r.Post("/violations/{id}/disposition", s.needs(s.deps.Violations != nil, "disposing violations", s.disposeViolation))
		r.Get("/promises", s.needs(s.deps.Promises != nil, "the promise ledger", s.listPromises))
		r.Post("/promises", s.needs(s.deps.Promises != nil, "recording promises", s.createPromise))
		r.Get("/promises/{id}", s.needs(s.deps.Promises != nil, "the promise ledger", s.getPromise))
		r.Post("/promises/{id}/extend", s.needs(s.deps.Promises != nil, "extending promises", s.extendPromise))
		r.Post("/promises/{id}/fulfil", s.needs(s.deps.Promises != nil, "fulfilling promises", s.fulfilPromise))
		r.Post("/promises/{id}/reply-call", s.needs(s.deps.Promises != nil, "reply calls", s.replyCall))
		r.Post("/promises/{id}/close", s.needs(s.deps.Promises != nil, "closing promises", s.closePromise))
		r.Get("/recordings/{name}/audio", s.needs(s.deps.Recordings != nil, "recording playback", s.recordingAudio))
		r.Post("/calls/{id}/reviews", s.needs(s.deps.Reviews != nil, "reviewing calls", s.addReview))
		r.Get("/reviews", s.needs(s.deps.Reviews != nil, "the reviews", s.listReviews))
		r.Post("/recordings/{name}/hold", s.needs(s.deps.Holds != nil, "legal holds", s.setLegalHold))
		r.Get("/audit/verify", s.needs(s.deps.Audit != nil, "audit verification", s.verifyAudit))
		r.Get("/reports/agents", s.needs(s.deps.Reports != nil, "the assessment reports", s.agentReports))
		r.Post("/complaints", s.needs(s.deps.Complaints != nil, "recording complaints", s.addComplaint))
		r.Get("/complaints", s.needs(s.deps.Complaints != nil, "the complaints", s.listComplaints))
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, s.log, hotline.Errorf(hotline.KindNotFound, "web", "no such API route: %s %s", r.Method, r.URL.Path))
		})
	})
	static, _ := fs.Sub(assets, "assets")
	r.Handle("/*", http.FileServerFS(static))
	return r
}

// needs returns h, or when its dependency is missing a handler that says so.
func (s *Server) needs(present bool, what string, h http.HandlerFunc) http.HandlerFunc {
	if present {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) { writeError(w, r, s.log, notConfigured(what)) }
}

// Start listens on cfg.Listen and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(ln) }()
	s.log.Info("HTTP listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address actually listened on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stop shuts down gracefully within ctx.
func (s *Server) Stop(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	type result struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error,omitempty"`
	}
	out := struct {
		Ready  bool     `json:"ready"`
		Checks []result `json:"checks"`
	}{Ready: true}
	for _, c := range s.deps.Checks {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
		err := c.Fn(ctx)
		cancel()
		res := result{Name: c.Name, OK: err == nil}
		if err != nil {
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
// &number=13800138000&rated=true&reviewed=false&uncallable=true&state=completed&limit=100&cursor=…
// → {"calls": [call…], "next_cursor": "…"}. from and to are days of the
// calendar's zone (to included); since and until are RFC 3339 times (until
// excluded). next_cursor is set when the page is full: ?cursor= with it
// lists the next page.
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	f, err := s.callFilter("web.listCalls", r.URL.Query())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	calls, err := s.deps.Calls.ListCalls(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]callJSON, len(calls))
	for i, c := range calls {
		out[i] = newCallJSON(c)
	}
	answer := map[string]any{"calls": out}
	if len(calls) == f.Limit {
		answer["next_cursor"] = hotline.CursorAfter(calls[len(calls)-1]).String()
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	c, err := s.deps.Calls.GetCall(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newCallJSON(c))
}

// callJSON is a call as the API shows it: the domain fields plus its
// durations in seconds, rounded to 0.1 s (0 while not yet known).
type callJSON struct {
	hotline.Call
	Wait float64 `json:"wait_seconds"`
	Talk float64 `json:"talk_seconds"`
}

func newCallJSON(c hotline.Call) callJSON {
	return callJSON{Call: c, Wait: roundTenth(c.WaitSeconds()), Talk: roundTenth(c.TalkSeconds())}
}

func roundTenth(sec float64) float64 { return math.Round(sec*10) / 10 }

func (s *Server) listAgents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"agents": s.deps.Agents.List()})
}
