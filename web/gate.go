package web

import (
	"context"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline"
)

// Every route is registered here with the action it performs (a row of
// hotline's access table) and passes through one gate: who the request is
// (session cookie or bearer token), whether that actor may perform the
// action at all, and, when the route names a matter (a call, a task, a
// promise…), whether they may on that one. Refusals are audited, and so is
// the outcome of every route marked audit, after the handler validated the
// request: invalid input is answered 400 and never reaches the audit log.

// Authenticator says who a request is (package auth).
type Authenticator interface {
	Login(ctx context.Context, user, password, address string) (secret string, actor hotline.Actor, expires time.Time, err error)
	Logout(ctx context.Context, secret string, actor hotline.Actor) error
	SessionActor(ctx context.Context, secret, address string) (hotline.Actor, time.Time, error)
	TokenActor(ctx context.Context, secret, address string) (hotline.Actor, error)
}

// Auditor appends one row to the hash-chained audit log.
type Auditor interface {
	Audit(ctx context.Context, a hotline.Actor, action, object, outcome, detail string)
}

// route is one API or console route with its place in the access table.
type route struct {
	method, pattern string
	action          hotline.Action // what it does; "" for an open route
	open            bool           // no login needed
	metrics         bool           // open to http.metrics_open_to addresses; everyone else logs in
	audit           bool           // the gate writes the outcome to the audit log
	// forward names the live call or the agent's phone the route acts on:
	// the instance driving its Asterisk server serves it (forward.go); nil
	// for other routes.
	forward func(r *http.Request) (forwardTarget, error)
	page    bool // a console page: refusals are pages, no login goes to the login page
	// topic is what a successful request changed, told to the console's
	// live streams of the actor and of the matter's agents.
	topic Topic
	// matter loads what the route acts on, for the rules that depend on it;
	// nil when the action is the same for every matter or the handler
	// checks a matter it reads from the body.
	matter  func(r *http.Request) (hotline.Matter, error)
	handler http.HandlerFunc
}

// RouteInfo describes a route: for the route test and the README.
type RouteInfo struct {
	Method, Pattern string
	Action          hotline.Action
	Open            bool
	Page            bool // a console page (HTML), not an API answer
}

// Routes lists every route the server registers.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, rt := range s.routes {
		out[i] = RouteInfo{Method: rt.method, Pattern: rt.pattern, Action: rt.action, Open: rt.open, Page: rt.page}
	}
	return out
}

// routeTable is every route: method, path, action, and how it is checked.
func (s *Server) routeTable() []route {
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	d := s.deps
	const api = apiPrefix
	get, post, del := http.MethodGet, http.MethodPost, http.MethodDelete
	return []route{
		{method: get, pattern: "/healthz", open: true, handler: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		{method: get, pattern: "/readyz", open: true, handler: s.readyz},
		{method: get, pattern: "/metrics", action: hotline.ActMetricsRead, metrics: true,
			handler: s.needs(d.Gatherer != nil, "metrics", s.metrics)},
		{method: get, pattern: "/debug/pprof/*", action: hotline.ActProfileRead, metrics: true, handler: profiles},
		{method: get, pattern: "/*", open: true, handler: files.ServeHTTP},

		// The console's pages (pages.go).
		{method: get, pattern: "/", action: hotline.ActSessionRead, page: true, handler: s.home},
		{method: get, pattern: "/desk", action: hotline.ActDeskRead, page: true, handler: s.myDesk},
		{method: get, pattern: "/desk/{id}", action: hotline.ActDeskRead, page: true, matter: agentMatter, handler: s.deskPage},
		{method: get, pattern: "/wall", action: hotline.ActWallRead, page: true, handler: s.simplePage("wall", "监控大屏")},
		{method: get, pattern: "/calls", action: hotline.ActCallList, page: true, handler: s.simplePage("calls", "来电记录")},
		{method: get, pattern: "/calls/{id}", action: hotline.ActCallRead, page: true, matter: s.callMatter, handler: s.callPage},
		{method: get, pattern: "/promises", action: hotline.ActPromiseList, page: true, handler: s.simplePage("promises", "承诺台账")},
		{method: get, pattern: "/violations", action: hotline.ActViolationList, page: true, handler: s.simplePage("violations", "违规记录")},
		{method: get, pattern: "/reports", action: hotline.ActReportRead, page: true, handler: s.needs(d.Reports != nil, "the assessment reports", s.reportPage)},
		{method: get, pattern: "/audit", action: hotline.ActAuditRead, page: true, handler: s.simplePage("audit", "审计日志")},

		{method: post, pattern: api + "/session", open: true, handler: s.needs(d.Auth != nil, "logging in", s.login)},
		{method: get, pattern: api + "/session", action: hotline.ActSessionRead, handler: s.whoAmI},
		{method: get, pattern: api + "/events", action: hotline.ActEventsRead, handler: s.needs(d.Events != nil, "the live stream", s.events)},
		{method: get, pattern: api + "/wall", action: hotline.ActWallRead, handler: s.wall},
		{method: del, pattern: api + "/session", action: hotline.ActSessionRead, handler: s.logout},

		{method: get, pattern: api + "/calls", action: hotline.ActCallList, handler: s.needs(d.Calls != nil, "the call log", s.listCalls)},
		{method: get, pattern: api + "/calls/{id}", action: hotline.ActCallRead, matter: s.callMatter, handler: s.getCall},
		{method: post, pattern: api + "/monitors/{id}/end", action: hotline.ActCallMonitor, audit: true, forward: s.monitoredCall, topic: TopicMonitor,
			handler: s.needs(d.Monitor != nil, "monitoring calls", s.endMonitor)},
		{method: get, pattern: api + "/calls/export", action: hotline.ActCallExport, audit: true,
			handler: s.needs(d.Calls != nil, "the call log", s.exportCalls)},
		{method: get, pattern: api + "/calls/{id}/timeline", action: hotline.ActCallRead, matter: s.callMatter, handler: s.callTimeline},
		{method: post, pattern: api + "/calls/{id}/monitor", action: hotline.ActCallMonitor, audit: true, forward: liveCall, topic: TopicMonitor, matter: s.callMatter,
			handler: s.needs(d.Monitor != nil, "monitoring calls", s.monitorCall)},
		{method: post, pattern: api + "/calls/{id}/referrals", action: hotline.ActCallRefer, audit: true, forward: liveCall, topic: TopicCalls, matter: s.callMatter,
			handler: s.needs(d.Referrer != nil, "referring calls", s.referCall)},
		{method: post, pattern: api + "/calls/{id}/reviews", action: hotline.ActCallReview, audit: true, topic: TopicCalls,
			handler: s.needs(d.Reviews != nil, "reviewing calls", s.addReview)},
		{method: get, pattern: api + "/reviews", action: hotline.ActReviewList, handler: s.needs(d.Reviews != nil, "the reviews", s.listReviews)},

		{method: get, pattern: api + "/agents", action: hotline.ActAgentList, handler: s.needs(d.Agents != nil, "the agent list", s.listAgents)},
		{method: post, pattern: api + "/agents/{id}/pause", action: hotline.ActAgentPause, audit: true, forward: agentPhone, topic: TopicAgents, matter: agentMatter,
			handler: s.needs(d.Control != nil, "pausing agents", s.pauseAgent)},
		{method: post, pattern: api + "/agents/{id}/resume", action: hotline.ActAgentResume, audit: true, forward: agentPhone, topic: TopicAgents, matter: agentMatter,
			handler: s.needs(d.Control != nil, "resuming agents", s.resumeAgent)},

		{method: get, pattern: api + "/callbacks", action: hotline.ActCallbackList, handler: s.needs(d.Callbacks != nil, "the callback queue", s.listCallbacks)},
		{method: get, pattern: api + "/callbacks/{id}", action: hotline.ActCallbackRead, matter: s.callbackMatter, handler: s.getCallback},
		{method: post, pattern: api + "/callbacks/{id}/dial", action: hotline.ActCallbackDial, audit: true, topic: TopicCallbacks, matter: s.callbackMatter, handler: s.dialCallback},
		{method: post, pattern: api + "/callbacks/{id}/acknowledge", action: hotline.ActCallbackAcknowledge, audit: true, topic: TopicCallbacks, matter: s.callbackMatter,
			handler: s.acknowledgeCallback},
		{method: post, pattern: api + "/callbacks/{id}/close", action: hotline.ActCallbackClose, audit: true, topic: TopicCallbacks, matter: s.callbackMatter, handler: s.closeCallback},

		{method: get, pattern: api + "/violations", action: hotline.ActViolationList, handler: s.needs(d.Violations != nil, "the violations ledger", s.listViolations)},
		{method: post, pattern: api + "/violations/{id}/disposition", action: hotline.ActViolationDispose, audit: true, topic: TopicViolations, matter: s.violationMatter,
			handler: s.disposeViolation},

		{method: get, pattern: api + "/promises", action: hotline.ActPromiseList, handler: s.needs(d.Promises != nil, "the promise ledger", s.listPromises)},
		{method: post, pattern: api + "/promises", action: hotline.ActPromiseCreate, audit: true, topic: TopicPromises,
			handler: s.needs(d.Promises != nil && d.Calls != nil, "recording promises", s.createPromise)},
		{method: get, pattern: api + "/promises/{id}", action: hotline.ActPromiseRead, matter: s.promiseMatter, handler: s.getPromise},
		{method: post, pattern: api + "/promises/{id}/extend", action: hotline.ActPromiseExtend, audit: true, topic: TopicPromises, matter: s.promiseMatter, handler: s.extendPromise},
		{method: post, pattern: api + "/promises/{id}/fulfil", action: hotline.ActPromiseFulfil, audit: true, topic: TopicPromises, matter: s.promiseMatter, handler: s.fulfilPromise},
		{method: post, pattern: api + "/promises/{id}/reply-call", action: hotline.ActPromiseReplyCall, audit: true, topic: TopicPromises, matter: s.promiseMatter, handler: s.replyCall},
		{method: post, pattern: api + "/promises/{id}/extension-requests", action: hotline.ActPromiseRequestExtension, audit: true, topic: TopicPromises,
			matter: s.promiseMatter, handler: s.needs(d.Extensions != nil, "extension requests", s.requestExtension)},
		{method: get, pattern: api + "/extension-requests", action: hotline.ActPromiseExtend,
			handler: s.needs(d.Extensions != nil, "extension requests", s.listExtensionRequests)},
		{method: post, pattern: api + "/extension-requests/{id}/decision", action: hotline.ActPromiseExtend, audit: true, topic: TopicPromises,
			matter: s.extensionMatter, handler: s.decideExtension},
		{method: post, pattern: api + "/promises/{id}/close", action: hotline.ActPromiseClose, audit: true, topic: TopicPromises, matter: s.promiseMatter, handler: s.closePromise},

		// The player audits every listen, download and refusal itself, with
		// the integrity check's result.
		{method: get, pattern: api + "/recordings/{name}/audio", action: hotline.ActRecordingListen,
			handler: s.needs(d.Recordings != nil, "recording playback", s.recordingAudio)},
		{method: post, pattern: api + "/recordings/{name}/hold", action: hotline.ActRecordingHold, audit: true, topic: TopicCalls,
			handler: s.needs(d.Holds != nil, "legal holds", s.setLegalHold)},

		{method: get, pattern: api + "/reports/agents", action: hotline.ActReportRead,
			handler: s.needs(d.Reports != nil, "the assessment reports", s.agentReports)},
		{method: post, pattern: api + "/complaints", action: hotline.ActComplaintCreate, audit: true,
			handler: s.needs(d.Complaints != nil, "recording complaints", s.addComplaint)},
		{method: get, pattern: api + "/complaints", action: hotline.ActComplaintList,
			handler: s.needs(d.Complaints != nil, "the complaints", s.listComplaints)},

		{method: get, pattern: api + "/audit", action: hotline.ActAuditRead, handler: s.needs(d.Audit != nil, "the audit log", s.listAudit)},
		{method: get, pattern: api + "/audit/verify", action: hotline.ActAuditVerify, handler: s.needs(d.Audit != nil, "audit verification", s.verifyAudit)},
	}
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// removedIdentityFields name the acting staff member in old clients'
// requests; the actor is now the logged-in user, so they are refused by
// name (400) rather than ignored.
var removedIdentityFields = []string{"by", "approved_by", "from_agent"}

// gate runs rt's handler for an actor allowed to perform rt's action.
func (s *Server) gate(rt route) http.Handler {
	fail := func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, s.log, err) }
	if rt.page {
		fail = s.pageError
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.open {
			rt.handler(w, r)
			return
		}
		addr := ClientAddress(r)
		if rt.metrics && inNets(s.metricsNet, addr) {
			rt.handler(w, r)
			return
		}
		actor, authErr := s.authenticate(r, addr)
		key := "addr:" + addr
		if authErr == nil {
			key = "actor:" + actor.ID
		}
		if wait := s.failures.Wait(key); wait > 0 {
			fail(w, r, hotline.RateLimited("web", wait, "too many failing requests; try again in %s", wait.Round(time.Second)))
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if rec.status >= 400 && rec.status < 500 && rec.status != http.StatusTooManyRequests {
				s.failures.Fail(key)
			}
		}()
		if authErr != nil {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
			fail(rec, r, authErr)
			return
		}
		for _, name := range removedIdentityFields {
			if r.URL.Query().Has(name) {
				fail(rec, r, hotline.Errorf(hotline.KindInvalid, "web", "query parameter %q is no longer accepted: the actor is the logged-in user", name))
				return
			}
		}
		note := &auditNote{}
		r = r.WithContext(context.WithValue(hotline.NewContextWithActor(r.Context(), actor), auditNoteKey{}, note))
		if !hotline.Allowed(actor, rt.action) {
			fail(rec, r, s.refuse(r, rt.action, r.URL.Path, hotline.Authorize(actor, rt.action, hotline.Matter{})))
			return
		}
		var m hotline.Matter
		if rt.matter != nil {
			var err error
			m, err = rt.matter(r)
			if err == nil {
				note.object = m.String()
				err = s.authorize(r, rt.action, m)
			}
			if err != nil {
				fail(rec, r, err)
				return
			}
		}
		// A forwarded request is audited by the instance that serves it.
		if rt.forward != nil && s.forwardCall(rec, r, rt.forward) {
			return
		}
		rt.handler(rec, r)
		if rt.audit {
			s.auditOutcome(r, rt.action, note, rec.status)
		}
		if rt.topic != "" && rec.status < 300 {
			s.deps.Events.Publish(Event{Topic: rt.topic, Agents: append(m.Agents(), actor.ID)})
		}
	})
}

// authenticate reads the bearer token or the session cookie.
func (s *Server) authenticate(r *http.Request, addr string) (hotline.Actor, error) {
	const op = "web.authenticate"
	if s.deps.Auth == nil {
		return hotline.Actor{}, notConfigured("logging in")
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return hotline.Actor{}, hotline.Errorf(hotline.KindUnauthorized, op, "the Authorization header must be: Bearer <token>")
		}
		return s.deps.Auth.TokenActor(r.Context(), strings.TrimSpace(secret), addr)
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		a, _, err := s.deps.Auth.SessionActor(r.Context(), c.Value, addr)
		return a, err
	}
	return hotline.Actor{}, hotline.Errorf(hotline.KindUnauthorized, op, "log in first (POST /api/v1/session) or send Authorization: Bearer <token>")
}

// authorize checks the actor of r against the access table for act on m;
// a refusal is audited and returned as a Forbidden error.
func (s *Server) authorize(r *http.Request, act hotline.Action, m hotline.Matter) error {
	a, _ := hotline.ActorFromContext(r.Context())
	if err := hotline.Authorize(a, act, m); err != nil {
		return s.refuse(r, act, m.String(), err)
	}
	return nil
}

// refuse audits a refusal of act on object and returns err.
func (s *Server) refuse(r *http.Request, act hotline.Action, object string, err error) error {
	a, _ := hotline.ActorFromContext(r.Context())
	if note, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		note.refused = true
	}
	s.log.Info("request refused", "actor", a.ID, "action", act, "object", object, "address", a.Address)
	s.auditf(r, act, object, hotline.OutcomeDenied, hotline.MessageOf(err))
	return err
}

// auditf writes one audit row for the actor of r.
func (s *Server) auditf(r *http.Request, act hotline.Action, object, outcome, detail string) {
	if s.deps.Auditor == nil {
		return
	}
	a, _ := hotline.ActorFromContext(r.Context())
	s.deps.Auditor.Audit(r.Context(), a, string(act), object, outcome, detail)
}

// auditNote is what a handler tells the gate about its outcome: the object
// acted on, a detail (a reason, a note), and the error it answered.
type auditNote struct {
	object, detail string
	err            error
	refused        bool // audited already as a refusal
}

type auditNoteKey struct{}

// noteAudit sets the object (when not "") and detail of r's audit row.
func noteAudit(r *http.Request, object, detail string) {
	if note, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		if object != "" {
			note.object = object
		}
		note.detail = detail
	}
}

// auditOutcome writes the outcome of an audited route: "ok", or "failed:
// <kind>". Invalid input (400, 413) is not audited: nothing happened, and a
// flood of bad requests must not grow the log.
func (s *Server) auditOutcome(r *http.Request, act hotline.Action, note *auditNote, status int) {
	if note.refused || status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge {
		return
	}
	outcome := hotline.OutcomeOK
	if status >= 400 {
		outcome = hotline.Outcome(note.err)
		if note.err == nil {
			outcome = "failed: status " + strconv.Itoa(status)
		}
	}
	object := note.object
	if object == "" {
		object = r.URL.Path
	}
	s.auditf(r, act, object, outcome, note.detail)
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the audio
// route lifts the write timeout).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Matters of the routes that name one in their path.

func agentMatter(r *http.Request) (hotline.Matter, error) {
	id := chi.URLParam(r, "id")
	return hotline.Matter{Kind: "agent", ID: id, Responsible: id}, nil
}

// CallMatter is what the rules see of a call: its first-responsible agent
// is responsible; the agents on its legs and referred to took part.
func CallMatter(c hotline.Call) hotline.Matter {
	m := hotline.Matter{Kind: "call", ID: c.ID, Responsible: c.FirstResponsibleAgent}
	for _, l := range c.Legs {
		m.Parties = append(m.Parties, l.AgentID)
	}
	for _, f := range c.Referrals {
		if f.ToAgent != "" {
			m.Parties = append(m.Parties, f.ToAgent)
		}
	}
	return m
}

func (s *Server) callMatter(r *http.Request) (hotline.Matter, error) {
	if s.deps.Calls == nil {
		return hotline.Matter{}, notConfigured("the call log")
	}
	c, err := s.deps.Calls.GetCall(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return hotline.Matter{}, err
	}
	return CallMatter(c), nil
}

// CallbackMatter is what the rules see of a callback task: its agent is
// responsible; CitizenReached when an attempt bridged the citizen.
func CallbackMatter(t hotline.CallbackTask) hotline.Matter {
	m := hotline.Matter{Kind: "callback", ID: strconv.FormatInt(t.ID, 10), Responsible: t.AgentID}
	for _, a := range t.AttemptLog {
		if !a.BridgedAt.IsZero() {
			m.CitizenReached = true
		}
		if a.AgentID != "" {
			m.Parties = append(m.Parties, a.AgentID)
		}
	}
	return m
}

func (s *Server) callbackMatter(r *http.Request) (hotline.Matter, error) {
	if s.deps.Callbacks == nil {
		return hotline.Matter{}, notConfigured("the callback queue")
	}
	id, err := pathID("web.callbackMatter", r, "callback task")
	if err != nil {
		return hotline.Matter{}, err
	}
	t, err := s.deps.Callbacks.GetCallback(r.Context(), id)
	if err != nil {
		return hotline.Matter{}, err
	}
	return CallbackMatter(t), nil
}

// PromiseMatter is what the rules see of a promise: its owner is
// responsible; who recorded it took part.
func PromiseMatter(p hotline.Promise) hotline.Matter {
	return hotline.Matter{Kind: "promise", ID: strconv.FormatInt(p.ID, 10), Responsible: p.AgentID, Parties: []string{p.CreatedBy}}
}

func (s *Server) promiseMatter(r *http.Request) (hotline.Matter, error) {
	if s.deps.Promises == nil {
		return hotline.Matter{}, notConfigured("the promise ledger")
	}
	id, err := pathID("web.promiseMatter", r, "promise")
	if err != nil {
		return hotline.Matter{}, err
	}
	p, err := s.deps.Promises.GetPromise(r.Context(), id)
	if err != nil {
		return hotline.Matter{}, err
	}
	return PromiseMatter(p), nil
}

func (s *Server) violationMatter(r *http.Request) (hotline.Matter, error) {
	if s.deps.Violations == nil {
		return hotline.Matter{}, notConfigured("the violations ledger")
	}
	id, err := pathID("web.violationMatter", r, "violation")
	if err != nil {
		return hotline.Matter{}, err
	}
	v, err := s.deps.Violations.GetViolation(r.Context(), id)
	if err != nil {
		return hotline.Matter{}, err
	}
	return hotline.Matter{Kind: "violation", ID: strconv.FormatInt(v.ID, 10), Responsible: v.AgentID}, nil
}

// ownFilter returns the agent a list must be limited to: "" when the
// actor may list every agent's, else the actor's own id. Asking for
// another agent's list is refused (audited).
func (s *Server) ownFilter(r *http.Request, act hotline.Action, asked string) (string, error) {
	a, _ := hotline.ActorFromContext(r.Context())
	if hotline.ScopeOf(a, act) == hotline.Any {
		return asked, nil
	}
	if asked != "" && asked != a.ID {
		return "", s.authorize(r, act, hotline.Matter{Kind: "agent", ID: asked, Responsible: asked})
	}
	return a.ID, nil
}
