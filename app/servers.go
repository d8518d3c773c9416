package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline"
	"hotline/ari"
	"hotline/callback"
	"hotline/lease"
	"hotline/recording"
	"hotline/store"
	"hotline/web"
)

// Server is one Asterisk server's side of a running service: its ARI
// connection, calls, roster (its agents only), callback dialer and lease.
// Every instance builds one per configured server; only the instance that
// holds a server's lease connects to it and runs its calls.
type Server struct {
	Name      string
	Config    ServerConfig
	Roster    *hotline.Roster
	ARI       *ari.Client
	Calls     *ari.Calls
	Dialer    *ari.Dialer
	Messenger *ari.Messenger
	Monitors  *ari.Monitors
	Archiver  *recording.Archiver

	staffing *ari.StaffingCheck
	parts    activeParts
	recDeps  recording.Deps
	// voice imports the voice messages of the server's dialplan fallback.
	voice interface {
		Start(context.Context)
		Stop()
	}

	mu  sync.Mutex
	ctx context.Context // the lease's (fenced) context while held

	// keeper is read while the other servers' keepers start (they ask
	// whether this server is driven here), hence atomic.
	keeper atomic.Pointer[lease.Keeper]
}

// Lease is the server's lease keeper, nil until it has started.
func (s *Server) Lease() *lease.Keeper { return s.keeper.Load() }

// Active reports whether this instance drives the server now: it holds
// the lease and no other client took the application.
func (s *Server) Active() bool {
	k := s.Lease()
	return k != nil && k.Held() && !s.ARI.Replaced()
}

// activeCtx is the lease's context while this instance drives the server.
func (s *Server) activeCtx() (context.Context, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil || !s.Active() {
		return nil, false
	}
	return s.ctx, true
}

// Activate and Deactivate are the lease's switch: the server's parts run
// on the lease's context, which carries its fence.
func (s *Server) Activate(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	s.parts.Activate(ctx)
}

func (s *Server) Deactivate() {
	s.parts.Deactivate()
	s.mu.Lock()
	s.ctx = nil
	s.mu.Unlock()
}

// serverDeps is what every server's parts share.
type serverDeps struct {
	cfg      Config
	db       *store.DB
	calls    ari.CallStore
	calendar *hotline.Calendar
	log      *slog.Logger
	now      func() time.Time
	reg      prometheus.Registerer
	multi    bool // several servers: their metrics carry a server label
}

// newServer builds server sc's parts (not started) with the agents of
// list that belong to it.
func newServer(sc ServerConfig, first bool, agents []hotline.Agent, d serverDeps) (*Server, error) {
	log, reg := d.log, d.reg
	if d.multi {
		log = log.With("server", sc.Name)
		if reg != nil {
			reg = prometheus.WrapRegistererWith(prometheus.Labels{"server": sc.Name}, reg)
		}
	}
	s := &Server{Name: sc.Name, Config: sc, Roster: hotline.NewRoster(d.now, agents), voice: noService{}}
	var err error
	if s.ARI, err = ari.New(sc.ARI, log, reg); err != nil {
		return nil, fmt.Errorf("server %s: %w", sc.Name, err)
	}
	if s.Calls, err = ari.NewCalls(s.ARI, d.calls, s.Roster, d.calendar, d.cfg.Calls, log, d.now, reg); err != nil {
		return nil, err
	}
	if d.multi {
		s.Calls.Server = sc.Name
	}
	s.staffing = ari.NewStaffingCheck(s.Roster, d.calendar, 0, log, d.now, reg)
	dcfg := d.cfg.Dialer
	dcfg.Trunk = sc.Trunk
	if s.Dialer, err = ari.NewDialer(s.Calls, dcfg, d.cfg.Callbacks.CallbackPolicy, d.calendar, reg); err != nil {
		return nil, err
	}
	s.Messenger = ari.NewMessenger(s.ARI, s.Roster, sc.ARI.MessageFrom, reg)
	// A supervisor's phone rings for monitoring as long as an agent's for a call.
	s.Monitors = ari.NewMonitors(s.Calls, d.db, d.cfg.Calls.RingTimeout)
	// The archive folder is shared; each server's archiver downloads and
	// claims its own recordings (the first's also those of no server,
	// made before servers had names).
	recDeps := recording.Deps{DB: d.db, ARI: recording.ARI{URL: sc.ARI.URL, Username: sc.ARI.Username, Password: sc.ARI.Password},
		Server: sc.Name, OrUnnamed: first, Now: d.now, Logger: log, Registerer: reg}
	s.recDeps = recDeps
	if s.Archiver, err = recording.NewArchiver(d.cfg.Recordings, recDeps); err != nil {
		return nil, err
	}
	s.Calls.Recordings = s.Archiver
	return s, nil
}

// fleet is the instance's view of every server: it routes what the shared
// parts (callback rounds, promise rounds, the API) ask of Asterisk to the
// server concerned, and only to servers this instance drives.
type fleet struct {
	list    []*Server
	byAgent map[string]*Server
	wait    time.Duration // how long a task no driven server can dial waits
	now     func() time.Time
	log     *slog.Logger
	// draining: the instance is stopping (drain); it claims no more
	// callbacks or deadlines, and lets the other instances take them.
	draining atomic.Bool
}

func newFleet(list []*Server, agentWait time.Duration, now func() time.Time, log *slog.Logger) *fleet {
	f := &fleet{list: list, byAgent: map[string]*Server{}, wait: agentWait, now: now, log: log}
	for _, s := range list {
		for _, a := range s.Roster.List() {
			f.byAgent[a.ID] = s
		}
	}
	return f
}

// anyActive reports whether this instance drives at least one server: it
// then runs the shared rounds (callbacks, promises).
func (f *fleet) anyActive() bool {
	return !f.draining.Load() && slices.ContainsFunc(f.list, (*Server).Active)
}

// order is the servers to try for agent's work: the agent's own server
// first, then the others; only those this instance drives.
func (f *fleet) order(agentID string) []*Server {
	out := make([]*Server, 0, len(f.list))
	if s := f.byAgent[agentID]; s != nil && s.Active() {
		out = append(out, s)
	}
	for _, s := range f.list {
		if s.Active() && s != f.byAgent[agentID] {
			out = append(out, s)
		}
	}
	return out
}

// Free is how many agents of the driven servers could start a callback
// (callback.Agents).
func (f *fleet) Free() int {
	if f.draining.Load() {
		return 0
	}
	n := 0
	for _, s := range f.list {
		if s.Active() {
			n += s.Dialer.Free()
		}
	}
	return n
}

// Takes reports whether a driven server's free agent would make task's
// call now (callback.Agents): an instance claims only tasks it can dial.
func (f *fleet) Takes(task hotline.CallbackTask) (bool, time.Duration) {
	wait := f.wait
	if f.draining.Load() {
		return false, wait
	}
	for _, s := range f.order(task.AgentID) {
		ok, w := s.Dialer.Takes(task)
		if ok {
			return true, 0
		}
		wait = min(wait, w)
	}
	return false, wait
}

// Dial dials a claimed task through the server of the agent who takes it:
// the responsible agent's own server first (callback.Dialer).
func (f *fleet) Dial(_ context.Context, task hotline.CallbackTask, l *callback.Lease) {
	for _, s := range f.order(task.AgentID) {
		if ok, _ := s.Dialer.Takes(task); !ok {
			continue
		}
		if ctx, ok := s.activeCtx(); ok {
			s.Dialer.Dial(ctx, task, l)
			return
		}
	}
	// The driving server was lost since the claim: the task waits for a
	// driven server's agent.
	if err := l.Release(context.Background(), f.now().Add(f.wait)); err != nil {
		f.log.Warn("release callback task", "task", task.ID, "err", err)
	}
}

// ReplyCall makes a promised reply call through the owner's server when
// this instance drives it, else through another driven server (whose
// agents may help near the deadline).
// The call runs on the server's lease context, not the request's: it
// outlives the request, and a stop (or the lease's loss) cancels it.
func (f *fleet) ReplyCall(ctx context.Context, p hotline.Promise, l ari.CallbackLease) {
	for _, s := range f.order(p.AgentID) {
		if active, ok := s.activeCtx(); ok {
			s.Dialer.ReplyCall(active, p, l)
			return
		}
	}
	_ = l.Release(ctx, f.now().Add(f.wait))
}

// AttemptLive asks the attempt's agent's server (callback.Probe).
func (f *fleet) AttemptLive(ctx context.Context, a hotline.CallbackAttempt) (bool, error) {
	s := f.byAgent[a.AgentID]
	if s == nil {
		s = f.list[0]
	}
	if !s.Active() {
		return false, hotline.Errorf(hotline.KindUnavailable, "app.AttemptLive", "server %s is driven by another instance", s.Name)
	}
	return s.Dialer.AttemptLive(ctx, a)
}

// Waiting is how many citizens wait for an agent on the driven servers
// (callback.Inbound).
func (f *fleet) Waiting() int {
	n := 0
	for _, s := range f.list {
		if s.Active() {
			n += s.Calls.Waiting()
		}
	}
	return n
}

// NotifyAgent pushes text to the agent's softphone through its server.
func (f *fleet) NotifyAgent(ctx context.Context, agentID, text string) error {
	s := f.byAgent[agentID]
	if s == nil {
		return hotline.Errorf(hotline.KindNotFound, "app.NotifyAgent", "agent %q not found", agentID)
	}
	return s.Messenger.NotifyAgent(ctx, agentID, text)
}

// NotifySupervisors pushes text to the supervisors of every server; it
// fails only when nobody could be reached.
func (f *fleet) NotifySupervisors(ctx context.Context, text string) error {
	var errs []error
	for _, s := range f.list {
		err := s.Messenger.NotifySupervisors(ctx, text)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// List is every agent with its state as this instance knows it (web).
func (f *fleet) List() []hotline.Agent {
	var out []hotline.Agent
	for _, s := range f.list {
		out = append(out, s.Roster.List()...)
	}
	slices.SortFunc(out, func(a, b hotline.Agent) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// SetAgentState pauses or resumes an agent on its server (web).
func (f *fleet) SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string) (hotline.Agent, error) {
	s := f.byAgent[id]
	if s == nil {
		return hotline.Agent{}, hotline.Errorf(hotline.KindNotFound, "app.SetAgentState", "agent %q not found", id)
	}
	return s.Calls.SetAgentState(ctx, id, state, reason)
}

// callServer is the server with call id in progress here, else the first.
func (f *fleet) callServer(id string) *Server {
	for _, s := range f.list {
		if s.Calls.InProgress(id) {
			return s
		}
	}
	return f.list[0]
}

// Refer refers a call on the server it is in progress on (web). An agent
// whose phone is on another server cannot join the call's bridge: that
// is refused, saying why and what to do instead.
func (f *fleet) Refer(ctx context.Context, callID, fromAgent, toAgent, toDepartment string) (hotline.Referral, error) {
	s := f.callServer(callID)
	if to := f.byAgent[toAgent]; to != nil && to != s && s.Calls.InProgress(callID) {
		return hotline.Referral{}, hotline.Errorf(hotline.KindConflict, "app.Refer",
			"%s's phone is on Asterisk server %s and call %s is on server %s: a referral stays on the call's server; refer to one of its agents or to a department, or make a promise for %s to call the citizen back",
			toAgent, to.Name, callID, s.Name, toAgent)
	}
	return s.Calls.Refer(ctx, callID, fromAgent, toAgent, toDepartment)
}

// CallDriver says which instance drives call id's server (web.Forwarder):
// "" when this one does or the id names no server, else the lease
// holder's address as Redis has it now.
func (f *fleet) CallDriver(ctx context.Context, callID string) (string, error) {
	return driverOf(ctx, f.serverOfCall(callID), "call "+callID)
}

// AgentDriver is CallDriver for the server agent id's phone is on: that
// instance rings the agent, so it alone can pause or resume them.
func (f *fleet) AgentDriver(ctx context.Context, agentID string) (string, error) {
	return driverOf(ctx, f.byAgent[agentID], "agent "+agentID)
}

// driverOf is the address of the instance driving s ("" when this one
// does, or s is nil); what names the request's subject in errors.
func driverOf(ctx context.Context, s *Server, what string) (string, error) {
	const op = "app.driverOf"
	if s == nil || s.Active() {
		return "", nil
	}
	k := s.Lease()
	if k == nil {
		return "", nil
	}
	h, held, mine, err := k.Current(ctx)
	switch {
	case err != nil:
		return "", hotline.WrapError(hotline.KindUnavailable, op, err)
	case !held:
		e := hotline.Errorf(hotline.KindUnavailable, op, "Asterisk server %s of %s has no driving instance now; an instance takes it over within the lease's time", s.Name, what)
		e.RetryAfter = k.TTL()
		return "", e
	case mine:
		// This instance holds the lease but does not drive the server yet
		// (starting, or another client took the application): answered here.
		return "", nil
	}
	return h.Addr, nil
}

// forwarder is the fleet's web.Forwarder: it finds a monitoring's call in
// the database.
type forwarder struct {
	*fleet
	db *store.DB
}

func (f forwarder) MonitorCall(ctx context.Context, id int64) (string, error) {
	return f.db.MonitorCall(ctx, id)
}

// serverOfCall is the server call id was made on: with one server that
// one; with several, the one its id names (ari.Calls' ids start with
// "c<server>_"), the longest such name; nil when none does.
func (f *fleet) serverOfCall(callID string) *Server {
	if len(f.list) == 1 {
		return f.list[0]
	}
	var out *Server
	for _, s := range f.list {
		if strings.HasPrefix(callID, "c"+s.Name+"_") && (out == nil || len(s.Name) > len(out.Name)) {
			out = s
		}
	}
	return out
}

// Monitor starts monitoring a call through the server it is on (web).
func (f *fleet) Monitor(ctx context.Context, callID, supervisorID string, mode hotline.MonitorMode) (hotline.MonitorSession, error) {
	return f.callServer(callID).Monitors.Monitor(ctx, callID, supervisorID, mode)
}

// Active lists the monitorings going on through every server (web).
func (f *fleet) Active() []hotline.MonitorSession {
	var out []hotline.MonitorSession
	for _, s := range f.list {
		out = append(out, s.Monitors.Active()...)
	}
	slices.SortFunc(out, func(a, b hotline.MonitorSession) int { return int(a.ID - b.ID) })
	return out
}

// End ends monitoring id on whichever server runs it (web).
func (f *fleet) End(id int64) error {
	var err error
	for _, s := range f.list {
		if err = s.Monitors.End(id); hotline.KindOf(err) != hotline.KindNotFound {
			return err
		}
	}
	return err
}

// ready is the ARI readiness check: every server this instance drives is
// connected.
func (f *fleet) ready(context.Context) error {
	var errs []error
	for _, s := range f.list {
		if k := s.Lease(); k != nil && k.Held() {
			if err := s.ARI.Ready(); err != nil {
				errs = append(errs, fmt.Errorf("server %s: %w", s.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// role is /readyz's view of the leases: active while this instance drives
// at least one server, with which ones and who drives the others.
func (f *fleet) role() web.Role {
	if len(f.list) == 1 {
		return roleOf(f.list[0].Lease())
	}
	var held, others []string
	for _, s := range f.list {
		k := s.Lease()
		if k == nil {
			others = append(others, s.Name+": starting")
			continue
		}
		if k.Held() {
			held = append(held, s.Name)
			continue
		}
		others = append(others, s.Name+": "+roleOf(k).Detail)
	}
	r := web.Role{Role: string(lease.Standby)}
	if len(held) > 0 {
		r.Role = string(lease.Active)
	}
	var parts []string
	if len(held) > 0 {
		parts = append(parts, "drives "+strings.Join(held, ", "))
	}
	parts = append(parts, others...)
	r.Detail = strings.Join(parts, "; ")
	return r
}

// sharedParts are the jobs every instance that drives at least one server
// runs (the callback and promise rounds, retention, voice messages): their
// claims are decided in SQL, so several instances share the work. They
// start with the instance's first lease and stop with its last.
type sharedParts struct {
	parts activeParts
	ctx   context.Context // the instance's, without a lease's fence
	mu    sync.Mutex
	held  int
}

func (p *sharedParts) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held++
	if p.held == 1 {
		p.parts.Activate(p.ctx)
	}
}

func (p *sharedParts) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held--
	if p.held == 0 {
		p.parts.Deactivate()
	}
}

// buildServers builds every configured server's parts, each with the
// agents of roster that belong to it (an agent the config no longer names
// stays with the first server).
func buildServers(ctx context.Context, cfg Config, roster *hotline.Roster, d serverDeps) ([]*Server, error) {
	list := cfg.ServerList()
	serverOf := map[string]string{}
	for _, a := range cfg.Agents {
		serverOf[a.ID] = a.Server
	}
	out := make([]*Server, 0, len(list))
	for i, sc := range list {
		var agents []hotline.Agent
		for _, a := range roster.List() {
			if name, ok := serverOf[a.ID]; name == sc.Name || (!ok && i == 0) {
				agents = append(agents, a)
			}
		}
		s, err := newServer(sc, i == 0, agents, d)
		if err != nil {
			return nil, err
		}
		if err := s.ARI.Check(ctx); err != nil {
			if hotline.KindOf(err) == hotline.KindUnauthorized {
				return nil, err // retrying cannot fix a wrong password
			}
			d.log.Warn("Asterisk not reachable yet; connecting in the background", "server", sc.Name, "err", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// serverParts is what a server's lease holder runs: the ARI connection
// (which reconciles before it takes a new call), the calls, monitoring,
// the staffing check, the archive of its recordings and the import of its
// fallback's voice messages, plus the shared
// rounds while it is the instance's first lease.
func serverParts(s *Server, shared *sharedParts, db *store.DB, events *web.Events, log *slog.Logger) activeParts {
	s.Monitors.OnChange = func(m hotline.MonitorSession) {
		events.Publish(web.Event{Topic: web.TopicMonitor, Agents: []string{m.SupervisorID}})
		events.Publish(web.Event{Topic: web.TopicCalls, Agents: []string{m.SupervisorID, m.AgentID}})
	}
	return activeParts{
		start: []func(context.Context){func(ctx context.Context) { syncRoster(ctx, db, s.Roster, log) }, s.Calls.Start, s.Monitors.Start,
			s.ARI.Start, s.staffing.Start, s.Archiver.Start, s.voice.Start, func(context.Context) { shared.hold() }},
		stop: []func(){s.Monitors.Stop, s.ARI.Stop, s.staffing.Stop, shared.release, s.Dialer.Wait, s.voice.Stop, s.Archiver.Stop, s.Calls.Stop},
	}
}

// startLeases starts one lease keeper per server, one after the other's
// first try, so an instance that took a server leaves the next free one
// to an idle instance (lease.Deps.Busy).
func startLeases(ctx context.Context, cfg Config, servers []*Server, rdb redis.UniversalClient, db *store.DB, addr string,
	log *slog.Logger, now func() time.Time, reg prometheus.Registerer) error {
	for _, s := range servers {
		lc := cfg.Lease
		lc.Name = s.Config.Lease
		busy := func() int {
			n := 0
			for _, o := range servers {
				if k := o.Lease(); o != s && k != nil && k.Held() {
					n++
				}
			}
			return n
		}
		k, err := lease.New(lc, lease.Deps{Redis: rdb, Fences: db, Switch: s, Addr: addr, Log: log, Now: now, Registry: reg, Busy: busy})
		if err != nil {
			for _, o := range servers {
				if k := o.Lease(); k != nil {
					k.Stop()
				}
			}
			return fmt.Errorf("server %s: %w", s.Name, err)
		}
		s.keeper.Store(k)
		k.Start(ctx)
		select {
		case <-k.Tried():
		case <-ctx.Done():
		}
	}
	return nil
}

// waitRefused blocks until ctx ends or a keeper gives up for good (this
// instance is on another database than the leases'), and returns why.
func waitRefused(ctx context.Context, servers []*Server) error {
	refused := make(chan error, len(servers))
	stop := make(chan struct{})
	defer close(stop)
	for _, s := range servers {
		go func(k *lease.Keeper) {
			select {
			case <-k.Refused():
				refused <- k.Err()
			case <-stop:
			}
		}(s.Lease())
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-refused:
		return err
	}
}

func serverNames(servers []*Server) string {
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = s.Name + "=" + s.Config.ARI.URL + " (lease " + s.Config.Lease + ")"
	}
	return strings.Join(names, ", ")
}
