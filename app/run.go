package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"hotline"
	"hotline/ari"
	"hotline/auth"
	"hotline/callback"
	"hotline/lease"
	"hotline/recording"
	"hotline/store"
	"hotline/web"
)

// Options are what Run needs beyond the config file. Zero values are fine
// for production; tests and the demo set what they control.
type Options struct {
	// ConfigPath is read when Config is nil.
	ConfigPath string
	Config     *Config
	// Logger defaults to one built from the log section, on LogOutput.
	Logger    *slog.Logger
	LogOutput io.Writer // default os.Stderr
	// Registry defaults to a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	Now      func() time.Time
	// Started, when set, is called once every component is up.
	Started func(*Service)
}

// Service is the running service, handed to Options.Started.
type Service struct {
	Config    Config
	HTTPAddr  string
	DB        *store.DB
	Roster    *hotline.Roster
	ARI       *ari.Client
	Calls     *ari.Calls
	Calendar  *hotline.Calendar
	Callbacks *callback.Service
	Redis     redis.UniversalClient
	Registry  *prometheus.Registry
	Auth      *auth.Service
	Lease     *lease.Keeper
	// Servers are every configured Asterisk server's parts; ARI, Calls,
	// Roster and Lease above are the first's.
	Servers []*Server
}

// Run starts the service and blocks until ctx ends, then stops every part
// in reverse order. A start-up failure returns one error that says what is
// wrong (bad config, database, Redis, ARI credentials).
func Run(ctx context.Context, opts Options) error {
	cfg, err := resolveConfig(opts)
	if err != nil {
		return err
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(cfg.Log, opts.LogOutput)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}

	db, err := store.Open(ctx, cfg.Store, log, store.WithRegistry(reg))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	roster, err := loadAgents(ctx, db, cfg.Agents, now)
	if err != nil {
		return err
	}

	rdb, closeRedis, err := callback.OpenRedis(ctx, cfg.Redis, log)
	if err != nil {
		return err
	}
	defer closeRedis()

	calendar, err := hotline.NewCalendar(cfg.Calendar)
	if err != nil {
		return err
	}
	// The assessment report counts days of the calendar's zone; a new zone
	// recounts them (logged).
	if _, err := db.SetReportZone(ctx, calendar.Location()); err != nil {
		return err
	}
	if last := calendar.HolidayDataLastYear(); last != 0 && now().Year() > last {
		log.Warn("the national holiday data ends before this year; only the weekly hours and local overrides apply", "last_year", last)
	}
	events := web.NewEvents()
	servers, err := buildServers(ctx, cfg, roster, serverDeps{cfg: cfg, db: db, calls: liveCallStore{CallStore: db, events: events},
		calendar: calendar, log: log, now: now, reg: reg, multi: len(cfg.ServerList()) > 1})
	if err != nil {
		return err
	}
	first := servers[0]
	fl := newFleet(servers, cfg.Dialer.AgentWait, now, log)
	// Only an instance that drives a server (holds its lease, and no other
	// client took its application) claims and fires deadline work, and
	// only the work its servers' agents can take.
	engines := callback.Common{Redis: rdb, Calendar: calendar, Notifier: fl, Log: log, Now: now, Registry: reg, Active: fl.anyActive}
	callbacks, err := callback.New(cfg.Callbacks, callback.Deps{
		Store: liveTaskStore{Store: db, events: events}, Common: engines, Agents: fl, Probe: fl, Inbound: fl, Dialer: fl,
	})
	if err != nil {
		return err
	}
	for _, s := range servers {
		s.Calls.Callbacks = callbacks
		s.Calls.Supervisors = fl
	}
	// Retention, playback and reviews read the shared archive folder.
	recDeps := recording.Deps{DB: db, ARI: recording.ARI{URL: first.Config.ARI.URL, Username: first.Config.ARI.Username,
		Password: first.Config.ARI.Password}, Server: first.Name, OrUnnamed: true, Now: now, Logger: log, Registerer: reg}
	retention, err := recording.NewRetention(cfg.Recordings, recDeps)
	if err != nil {
		return err
	}
	player, err := recording.NewPlayer(cfg.Recordings, recDeps)
	if err != nil {
		return err
	}
	reviews, err := recording.NewReviews(recDeps)
	if err != nil {
		return err
	}
	// Voice messages of each server's dialplan fallback, when its folder is given.
	for _, s := range servers {
		if s.Config.VoicemailDir == "" {
			continue
		}
		rc := cfg.Recordings
		rc.VoicemailDir = s.Config.VoicemailDir
		if s.voice, err = recording.NewVoiceMessages(rc, s.recDeps, s.Archiver, callbacks); err != nil {
			return err
		}
	}
	promises, err := callback.NewPromiseWatch(cfg.Promises, callback.PromiseDeps{Store: livePromiseStore{PromiseStore: db, events: events}, Common: engines})
	if err != nil {
		return err
	}

	authSvc, err := auth.New(cfg.Auth, auth.Deps{DB: db, Now: now, Log: log, Registry: reg})
	if err != nil {
		return err
	}
	audit := auditor{db: db, log: log, now: now}
	promiseDsk := promiseDesk{db: db, watch: promises, cal: calendar, policy: cfg.Promises.PromisePolicy, dialer: fl, now: now, log: log,
		audit: audit}
	httpSrv, err := web.New(cfg.HTTP, web.Deps{
		Promises:   promiseDsk,
		Extensions: extensionDesk{db: db, promises: promiseDsk},
		Auth:       authAdapter{authSvc},
		Auditor:    audit,
		Checks: []web.Check{
			{Name: "ari", ActiveOnly: true, Fn: fl.ready},
			{Name: "database", Fn: db.Ping},
			// Losing Redis delays deadlines but loses none and stops no call
			// (the SQL poll takes over): degraded, still ready.
			{Name: "redis", Degrades: true, Fn: redisCheck(rdb, callbacks, promises)},
		},
		Calls:      callReader{db},
		Agents:     fl,
		Control:    fl,
		Referrer:   fl,
		Callbacks:  callbackDesk{db: db, queue: callbacks, now: now, log: log},
		Violations: violationDesk{db: db, now: now},
		Recordings: player,
		Reviews:    reviews,
		Audit:      auditReader{db},
		Holds:      holdDesk{db: db},
		Events:     events,
		CallDetail: callDetail{db},
		Monitor:    fl,
		Forward:    forwarder{fleet: fl, db: db},
		Line:       calendar,
		Counts:     callCounter{db},
		Reports:    reportDesk{db: db, now: now},
		Complaints: complaintDesk{db},
		Zone:       calendar.Location(),
		Now:        now,
		Gatherer:   reg,
		Role:       fl.role,
	}, log)
	if err != nil {
		return err
	}
	if err := httpSrv.Start(); err != nil {
		return err
	}
	// What an instance that drives at least one server runs besides the
	// servers' own parts; claims in SQL share the work among instances.
	shared := &sharedParts{ctx: ctx, parts: activeParts{
		start: []func(context.Context){callbacks.Start, promises.Start, retention.Start},
		stop:  []func(){callbacks.Stop, promises.Stop, retention.Stop},
	}}
	for _, s := range servers {
		s.parts = serverParts(s, shared, db, events, log)
		// Calls the dialplan's fallback took while no instance drove this
		// server, on record in its AstDB, become missed calls.
		fb := &ari.FallbackImport{Client: s.ARI, Store: db, Queue: callbacks, VoicemailImported: s.Config.VoicemailDir != "",
			Interval: cfg.Recordings.PollInterval, Log: log.With("component", "ari.fallback", "server", s.Name), Now: now}
		// A voice message left in the fallback is its call's: the entry's
		// import attaches it, the mailbox's pass leaves it alone.
		if vm, ok := s.voice.(*recording.VoiceMessages); ok {
			fb.Voice, vm.Claims = vm, fb.Claims
		}
		s.parts.start = append(s.parts.start, fb.Start)
		s.parts.stop = append([]func(){fb.Stop}, s.parts.stop...)
	}
	// The leases, and what runs under them, outlive the stop signal: the
	// drain keeps calls and callbacks going on them, fenced, until
	// Lease().Stop hands them back.
	advertise := cfg.HTTP.Advertise
	if advertise == "" {
		advertise = httpSrv.Addr()
	}
	if err := startLeases(context.WithoutCancel(ctx), cfg, servers, rdb, db, advertise, log, now, reg); err != nil {
		_ = httpSrv.Stop(context.WithoutCancel(ctx))
		return err
	}
	log.Info("hotline started", "http", httpSrv.Addr(), "servers", serverNames(servers), "database", cfg.Store.Path)

	if opts.Started != nil {
		opts.Started(&Service{Config: cfg, HTTPAddr: httpSrv.Addr(), DB: db, Roster: first.Roster, ARI: first.ARI, Calls: first.Calls,
			Calendar: calendar, Callbacks: callbacks, Redis: rdb, Registry: reg, Auth: authSvc, Lease: first.Lease(), Servers: servers})
	}
	runErr := waitRefused(ctx, servers)
	if runErr == nil {
		drain(ctx, fl, cfg.Calls.DrainTimeout, log)
	}

	log.Info("hotline stopping")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = httpSrv.Stop(stopCtx)
	for _, s := range servers {
		s.Lease().Stop() // a holder stops its parts and hands the lease back
	}
	return runErr
}

// waitDialer waits until d's callback and reply calls have ended or ctx
// ends, and reports whether they ended.
func waitDialer(ctx context.Context, d *ari.Dialer) bool {
	done := make(chan struct{})
	go func() {
		d.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// deadlineOf is ctx's deadline (drain's always has one).
func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// activeParts are the components only the lease holder runs, switched on
// and off with the lease (lease.Switch). They start on the lease's
// context, which carries its fence, so every write they make is refused
// once another instance holds the lease.
type activeParts struct {
	start []func(context.Context)
	stop  []func()
	mu    sync.Mutex
	on    bool
}

func (p *activeParts) Activate(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, start := range p.start {
		start(ctx)
	}
	p.on = true
}

func (p *activeParts) Deactivate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on {
		return
	}
	for _, stop := range p.stop {
		stop()
	}
	p.on = false
}

// syncRoster takes the agents' pauses from the database before this
// instance takes over: while it waited, the holder (or a supervisor
// through this standby's API) paused and resumed agents. As at start, a
// pause and offline stay, the rest are available until their calls are
// adopted and their phones' presence is read again.
func syncRoster(ctx context.Context, db *store.DB, roster *hotline.Roster, log *slog.Logger) {
	list, err := db.ListAgents(ctx)
	if err != nil {
		log.Warn("agents' states not read before taking over; the roster is the one of this instance's start", "err", err)
		return
	}
	for _, a := range list {
		cur, ok := roster.Get(a.ID)
		if !ok {
			continue
		}
		want, reason := hotline.AgentAvailable, ""
		if a.State == hotline.AgentPaused || a.State == hotline.AgentOffline {
			want, reason = a.State, a.PauseReason
		}
		if cur.State != want || cur.PauseReason != reason {
			roster.SetState(a.ID, want, reason)
		}
	}
}

// roleOf is /readyz's view of the lease.
func roleOf(k *lease.Keeper) web.Role {
	if k == nil {
		return web.Role{Role: string(lease.Standby), Detail: "starting"}
	}
	st := k.Status()
	if st.Role == lease.Active {
		return web.Role{Role: string(st.Role)}
	}
	detail := st.Why
	if st.Holder.Instance != "" {
		detail = fmt.Sprintf("instance %s (%s) holds the lease %s since %s", st.Holder.Instance, st.Holder.Addr, st.Lease,
			st.Holder.Since.Format(time.RFC3339))
	}
	return web.Role{Role: string(st.Role), Detail: detail}
}

// noService stands for a background service that is not configured.
type noService struct{}

func (noService) Start(context.Context) {}
func (noService) Stop()                 {}

func resolveConfig(opts Options) (Config, error) {
	if opts.Config != nil {
		cfg := *opts.Config
		cfg.SetDefaults()
		if err := cfg.Validate(); err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		return cfg, nil
	}
	if opts.ConfigPath == "" {
		return Config{}, fmt.Errorf("config: no file given (use -config FILE)")
	}
	return LoadConfig(opts.ConfigPath)
}

// loadAgents writes the configured agents to the store and builds the
// roster from what the store holds. A pause survives a restart; a call
// does not, so on_call and wrap_up become available. Whether each phone is
// registered is learnt from Asterisk once connected.
func loadAgents(ctx context.Context, db *store.DB, agents []AgentConfig, now func() time.Time) (*hotline.Roster, error) {
	for _, a := range agents {
		ag := a.agent()
		ag.StateSince = now()
		if existing, err := db.GetAgent(ctx, a.ID); err == nil {
			if existing.State == hotline.AgentPaused || existing.State == hotline.AgentOffline {
				ag.State, ag.PauseReason, ag.StateSince = existing.State, existing.PauseReason, existing.StateSince
			}
		}
		if err := db.UpsertAgent(ctx, ag); err != nil {
			return nil, fmt.Errorf("agent %s: %w", a.ID, err)
		}
	}
	list, err := db.ListAgents(ctx)
	if err != nil {
		return nil, err
	}
	return hotline.NewRoster(now, list), nil
}

// NewLogger builds the service logger from the log section.
func NewLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	hopts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, hopts))
	}
	return slog.New(slog.NewJSONHandler(w, hopts))
}

// callReader adapts the store to the web package's reader.
type callReader struct{ db *store.DB }

func (r callReader) ListCalls(ctx context.Context, f web.CallFilter) ([]hotline.Call, error) {
	return r.db.ListCalls(ctx, store.CallFilter{State: f.State, Outcome: f.Outcome, Line: f.Line, AgentID: f.Agent, Party: f.Party,
		CallerNumber: f.Number, Uncallable: f.Uncallable, Rated: f.Rated, Reviewed: f.Reviewed,
		Since: f.Since, Until: f.Until, After: f.After, Limit: f.Limit})
}

func (r callReader) GetCall(ctx context.Context, id string) (hotline.Call, error) {
	return r.db.GetCall(ctx, id)
}

// callDetail adapts the store to what a call's page reads.
type callDetail struct{ db *store.DB }

func (d callDetail) CallRecordings(ctx context.Context, callID string) ([]web.CallRecording, error) {
	recs, err := d.db.CallRecordings(ctx, callID)
	out := make([]web.CallRecording, len(recs))
	for i, r := range recs {
		out[i] = web.CallRecording{Recording: r.Recording, LegalHold: r.LegalHold, DeletedAt: r.DeletedAt}
	}
	return out, err
}

func (d callDetail) CallReviews(ctx context.Context, callID string) ([]hotline.Review, error) {
	return d.db.ListReviews(ctx, store.ReviewFilter{CallID: callID, Limit: 100})
}

func (d callDetail) CallMonitors(ctx context.Context, callID string) ([]hotline.MonitorSession, error) {
	return d.db.CallMonitors(ctx, callID)
}

// callCounter adapts the store's call counts to the wall's.
type callCounter struct{ db *store.DB }

func (c callCounter) CountCalls(ctx context.Context, since time.Time) (web.DayCounts, error) {
	n, err := c.db.CallCounts(ctx, since)
	return web.DayCounts{Total: n.Total, Answered: n.Answered, Missed: n.Missed, Abandoned: n.MissedByReason[hotline.MissedAbandoned],
		InProgress: n.InProgress}, err
}

// degradable is an engine that reports when it runs on the SQL poll.
type degradable interface{ Degraded() bool }

// redisCheck is the readiness check of Redis: it fails while Redis does not
// answer, and while an engine still works from the SQL poll (its index is
// rebuilt once Redis answers again).
func redisCheck(rdb redis.UniversalClient, engines ...degradable) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis does not answer: deadlines come from the slow SQL poll: %w", err)
		}
		for _, e := range engines {
			if e.Degraded() {
				return errors.New("redis answers again; the deadline index is being rebuilt from SQLite")
			}
		}
		return nil
	}
}

// authAdapter adapts auth.Service to the web package's Authenticator.
type authAdapter struct{ svc *auth.Service }

func (a authAdapter) Login(ctx context.Context, user, password, address string) (string, hotline.Actor, time.Time, error) {
	s, err := a.svc.Login(ctx, user, password, address)
	return s.Secret, s.Actor, s.ExpiresAt, err
}

func (a authAdapter) Logout(ctx context.Context, secret string, actor hotline.Actor) error {
	return a.svc.Logout(ctx, secret, actor)
}

func (a authAdapter) SessionActor(ctx context.Context, secret, address string) (hotline.Actor, time.Time, error) {
	return a.svc.SessionActor(ctx, secret, address)
}

func (a authAdapter) TokenActor(ctx context.Context, secret, address string) (hotline.Actor, error) {
	return a.svc.TokenActor(ctx, secret, address)
}

// auditReader adapts the store to the web package's audit reader.
type auditReader struct{ db *store.DB }

func (r auditReader) VerifyAudit(ctx context.Context) (int64, error) { return r.db.VerifyAudit(ctx) }

func (r auditReader) ListAudit(ctx context.Context, f web.AuditFilter) ([]hotline.AuditEntry, error) {
	return r.db.ListAudit(ctx, store.AuditFilter{Actor: f.Actor, Action: f.Action, Object: f.Object, Since: f.Since, Limit: f.Limit, Offset: f.Offset})
}

// drain lets the calls in progress finish, up to timeout, while new calls
// go to the dialplan's fallback and no new callback is claimed here (other
// instances take them); callback and reply calls in progress finish too,
// and the recordings they made are archived. Then the service stops (a
// second SIGTERM or SIGINT ends the process at once: cmd/hotline). Calls
// still going at the timeout are left live in Asterisk, not hung up: the
// next holder of the lease (a standby, or this service restarted) adopts
// them.
func drain(ctx context.Context, fl *fleet, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	fl.draining.Store(true)
	start := time.Now()
	var wg sync.WaitGroup
	for _, s := range fl.list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n := s.Calls.Active(); n > 0 {
				log.Info("draining: new calls go to the dialplan's fallback; waiting for the calls in progress", "server", s.Name, "calls", n, "timeout", timeout)
			}
			if left := s.Calls.Drain(ctx); left > 0 {
				s.Calls.LeaveLive()
				log.Warn("drain timeout: calls still in progress are left live in Asterisk for the next holder to adopt",
					"server", s.Name, "calls", left)
			}
			if !waitDialer(ctx, s.Dialer) {
				log.Warn("drain timeout: callback calls still in progress are ended", "server", s.Name)
			}
			// What the calls just recorded is archived now, not left
			// pending until another instance takes the server.
			if lctx, ok := s.activeCtx(); ok {
				fctx, cancel := context.WithDeadline(lctx, deadlineOf(ctx))
				defer cancel()
				if _, err := s.Archiver.Flush(fctx); err != nil {
					log.Warn("draining: recordings not archived; the next driver of the server archives them", "server", s.Name, "err", err)
				}
			}
		}()
	}
	wg.Wait()
	log.Info("drained", "took", time.Since(start).Round(time.Millisecond))
}
