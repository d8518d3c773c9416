package ari

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"hotline"
)

// CallStore persists calls as they change, so a crash loses at most the
// last change, and answers the questions routing asks.
type CallStore interface {
	CreateCall(ctx context.Context, c hotline.Call) error
	UpdateCall(ctx context.Context, c hotline.Call) error
	AddLeg(ctx context.Context, l hotline.CallLeg) (int64, error)
	UpdateLeg(ctx context.Context, l hotline.CallLeg) error
	// SaveCall stores, in one transaction, the call's state (nil: not
	// changed), legs' outcomes and times and agents' states: the writes
	// of one step of a call.
	SaveCall(ctx context.Context, c *hotline.Call, legs []hotline.CallLeg, agents []hotline.AgentStateChange) error
	AddReferral(ctx context.Context, r hotline.Referral) (int64, error)
	UpdateReferral(ctx context.Context, r hotline.Referral) error
	SaveRating(ctx context.Context, r hotline.Rating) error
	SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string, at time.Time) error
	AddViolation(ctx context.Context, v hotline.Violation) (int64, error)
	// ResponsibleAgent is the first-responsible agent of the citizen's open
	// matter (open promise, open callback, or a call since since), or a
	// NotFound error.
	ResponsibleAgent(ctx context.Context, number string, since time.Time) (string, error)
	// UnfinishedCalls are the calls in progress or with an end not
	// finished (phase ending), legs included: reconciliation's work.
	UnfinishedCalls(ctx context.Context) ([]hotline.Call, error)
	GetCall(ctx context.Context, id string) (hotline.Call, error)
	// UnknownRecordings are the names, of those given, the archive has no
	// row for.
	UnknownRecordings(ctx context.Context, names []string) ([]string, error)
}

// CallbackQueue takes the calls nobody answered, and hears of citizens who
// got through, so their open callbacks close as resolved by the inbound call.
type CallbackQueue interface {
	MissedCall(ctx context.Context, call hotline.Call, offeredTo string) error
	Answered(ctx context.Context, number, callID string) error
}

// RecordingSink takes finished recordings for the archive; callID is ""
// for callbacks and reply calls, which have no call row.
type RecordingSink interface {
	Finished(ctx context.Context, name, callID string, at time.Time) error
}

// recordingStopped hands a stopped recording to the archive, if any.
func (s *Calls) recordingStopped(ctx context.Context, name, callID string) {
	if s.Recordings == nil || name == "" {
		return
	}
	if err := s.Recordings.Finished(context.WithoutCancel(ctx), name, callID, s.now()); err != nil {
		s.log.Error("recording not handed to the archive", "recording", name, "call", callID, "err", err)
	}
}

// Supervisors hears what needs a supervisor now: an agent paused after
// refusing rings (ARI sendMessage to their softphones, Messenger).
type Supervisors interface {
	NotifySupervisors(ctx context.Context, text string) error
}

// Hours says whether the hotline is staffed at a moment (the working-hours
// calendar); nil means always open.
type Hours interface {
	IsOpen(t time.Time) bool
}

// Calls runs every hotline call through ARI: it takes new channels from the
// dispatcher's fallback mailbox and gives each call its own goroutine and
// mailbox, so one slow call never holds up another.
type Calls struct {
	cli    *Client
	store  CallStore
	roster *hotline.Roster
	hours  Hours
	cfg    CallConfig
	log    *slog.Logger
	now    func() time.Time
	m      *callMetrics

	inbox *Mailbox
	seq   atomic.Uint64
	tag   string // distinguishes call ids of service instances

	// OnEnd, when set before Start, sees every call's final record, legs
	// and referrals included.
	OnEnd func(hotline.Call)
	// Callbacks, when set before Start, gets every missed call (6.1) and
	// hears of every citizen who got through, whose callbacks then close.
	Callbacks CallbackQueue
	// Recordings, when set before Start, hears of every recording stopped
	// (calls, callbacks, reply calls) so it is archived (7.1.3).
	Recordings RecordingSink
	// Supervisors, when set before Start, is told of every agent paused
	// for refusing rings.
	Supervisors Supervisors
	// Server, set before Start when the service drives several Asterisk
	// servers, is this one's name (letters and digits): call ids start
	// with "c<Server>_", and reconciliation adopts or closes only the
	// stored calls whose id does, leaving the other servers' alone.
	Server string
	// monitors, set by NewMonitors, are reconciled with the calls.
	monitors atomic.Pointer[Monitors]

	mu     sync.Mutex
	active map[string]*call
	wg     sync.WaitGroup
	runCtx context.Context // Start's: adopted calls run on it
	cancel context.CancelFunc
	done   chan struct{}

	// While a reconciliation runs after a connection (holding > 0), new
	// events wait in held: no call is taken before the store and Asterisk
	// agree, and events about adopted calls reach them once routed.
	holdMu      sync.Mutex
	holding     int
	held        []ari.Event
	reconcileMu sync.Mutex
	draining    atomic.Bool   // Drain: new calls go to the dialplan's fallback
	leaveLive   atomic.Bool   // LeaveLive: Stop leaves the calls in progress to Asterisk
	idle        chan struct{} // closed and replaced when a call ends (Drain waits on it)
	wrapMu      sync.Mutex
	wrapTimers  map[string]*time.Timer // agent → the timer ending their wrap-up
	nWaiting    atomic.Int64           // calls whose citizen waits for an agent (call.waiting)
	behindUntil atomic.Int64           // unix ns: until then new calls go to the fallback (MaxLag)
	lagScanned  atomic.Int64           // unix ns of the last look into every call's mailbox (behind)
	refusedLog  atomic.Int64           // unix ns of the last "calls refused" log line
	seenMu      sync.Mutex
	seen        map[string]time.Time // citizens' channel ids taken as calls (arrived)
	seenPruned  time.Time
}

type callMetrics struct {
	calls        *prometheus.CounterVec // line, state, reason
	active       prometheus.Gauge
	storeErrors  prometheus.Counter
	answerBridge prometheus.Histogram
	// handling is the time our handlers spent on each event a call or the
	// application's inbox took (its ARI requests and writes included).
	handling  *prometheus.HistogramVec // type
	ratings   *prometheus.CounterVec   // score
	referrals *prometheus.CounterVec   // outcome
	// recordingsEndedEarly counts call recordings Asterisk ended while the
	// call went on (each went on in a new part); recordingsFailed calls
	// that could not be recorded at all.
	recordingsEndedEarly prometheus.Counter
	recordingsFailed     prometheus.Counter
	autopaused           prometheus.Counter
	repaired             *prometheus.CounterVec // what
	// refused counts new calls sent to the dialplan's fallback by
	// admission control, by the bound that refused them.
	refused *prometheus.CounterVec // reason
	lag     prometheus.Histogram
}

// NewCalls wires the call flow to the client; Start begins taking calls.
func NewCalls(cli *Client, store CallStore, roster *hotline.Roster, hours Hours, cfg CallConfig, log *slog.Logger, now func() time.Time, reg prometheus.Registerer) (*Calls, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &callMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_total", Help: "Finished calls by line, final state and missed reason."}, []string{"line", "state", "reason"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_calls_active", Help: "Calls in progress."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_call_store_errors_total", Help: "Failed writes of call records."}),
		answerBridge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_agent_answer_to_bridged_seconds", Help: "From the agent leg's StasisStart to the agent in the citizen's bridge.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1}}),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hotline_ari_event_handling_seconds", Help: "Time the service's handler spent on an ARI event, by event type (the ARI requests and database writes it made included).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}, []string{"type"}),
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_survey_ratings_total", Help: "Satisfaction survey answers by score (0 = not rated)."}, []string{"score"}),
		referrals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_referrals_total", Help: "Ended referrals by outcome (answered, handover, cancelled)."}, []string{"outcome"}),
		recordingsEndedEarly: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_call_recordings_ended_early_total", Help: "Call recordings Asterisk ended while the call went on; each went on in a new part."}),
		recordingsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_call_recordings_failed_total", Help: "Calls whose recording could not be started."}),
		autopaused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_agents_autopaused_total", Help: "Agents paused for declining or not answering calls.autopause_after rings in a row."}),
		repaired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_reconcile_repaired_total",
			Help: "What reconciliation with Asterisk repaired: vanished, adopted, interrupted, end_resumed, arrival_recovered, bridge_destroyed, snoop_hungup, recording_archived."},
			[]string{"what"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_refused_total",
			Help: "New calls sent to the dialplan's fallback because the service was at a bound (max_calls, max_waiting, max_lag) or draining."},
			[]string{"reason"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_call_event_lag_seconds", Help: "How long the oldest of a call's queued events waited for the call's handler.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.active, m.storeErrors, m.answerBridge, m.handling, m.ratings, m.referrals,
			m.recordingsEndedEarly, m.recordingsFailed, m.autopaused, m.repaired, m.refused, m.lag)
	}
	s := &Calls{
		cli: cli, store: store, roster: roster, hours: hours, cfg: cfg, log: log.With("component", "calls"), now: now, m: m,
		inbox: NewMailbox(), active: make(map[string]*call), seen: make(map[string]time.Time),
		idle: make(chan struct{}), wrapTimers: make(map[string]*time.Timer),
		tag: strconv.FormatInt(now().UnixNano()%(36*36*36), 36),
	}
	cli.Dispatcher().SetFallback(s.inbox)
	cli.OnConnected(s.hold)
	cli.OnConnect(s.reconcileOnConnect)
	cli.OnConnect(s.syncPresence)
	return s, nil
}

// Start takes calls until Stop.
func (s *Calls) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.runCtx = ctx
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.inbox.Ready():
				s.runOnce(ctx)
			}
		}
	}()
}

// Stop stops taking calls and waits for calls in progress to end.
func (s *Calls) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.wg.Wait()
	s.stopWrapUps()
}

// Active is the number of calls in progress.
func (s *Calls) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// InProgress reports whether call id is in progress here: with several
// Asterisk servers, the service asks each server's calls which has it.
func (s *Calls) InProgress(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active[id] != nil
}

// runOnce handles every event that no call claimed: new channels entering
// the application, endpoint state changes, and leftovers of ended calls.
func (s *Calls) runOnce(ctx context.Context) {
	events := s.inbox.Take()
	if s.holdEvents(events) {
		return
	}
	for _, e := range events {
		s.handleInbox(ctx, e)
	}
}

// handleInbox handles one event no call claimed.
func (s *Calls) handleInbox(ctx context.Context, e ari.Event) {
	defer s.m.observeHandling(e, time.Now())
	switch ev := e.(type) {
	case *ari.EndpointStateChange:
		s.endpointState(ctx, ev.Endpoint.Technology+"/"+ev.Endpoint.Resource, ev.Endpoint.State)
	case *ari.StasisStart:
		if len(ev.Args) > 0 && ev.Args[0] == "inbound" {
			// A call took the channel already: this is the StasisStart
			// reconciliation recovered, arriving after all.
			switch {
			case ev.Channel.ID == "":
				s.log.Warn("StasisStart without a channel id ignored")
				return
			case s.arrived(ev.Channel.ID):
				return
			}
			if reason := s.admit(); reason != "" {
				s.refuse(ev.Channel.ID, reason)
				return
			}
			s.startCall(ctx, ev)
			return
		}
		// An agent leg whose call is gone, or a channel we do not know:
		// nobody will ever talk on it.
		s.log.Warn("hanging up channel that belongs to no call", "channel", ev.Channel.ID, "args", ev.Args)
		go func(id string) {
			_ = s.cli.ARI().Channel().Hangup(ari.NewKey(ari.ChannelKey, id), "normal")
		}(ev.Channel.ID)
	}
}

// admit says why a new call cannot be taken now ("" when it can): the
// service is draining, or at one of the bounds of admission control
// (CallConfig.MaxCalls, MaxWaiting, MaxLag).
func (s *Calls) admit() string {
	switch {
	case s.draining.Load():
		return "draining"
	case s.cfg.MaxCalls > 0 && s.Active() >= s.cfg.MaxCalls:
		return "max_calls"
	case s.cfg.MaxWaiting > 0 && s.Waiting() >= s.cfg.MaxWaiting:
		return "max_waiting"
	case s.cfg.MaxLag > 0 && s.behind():
		return "max_lag"
	}
	return ""
}

// lagScanEvery is how often admission control looks into every call's
// mailbox for events waiting: a call stuck in a slow write takes no
// events, so only a look from outside sees it fall behind.
const lagScanEvery = 100 * time.Millisecond

// behind reports whether the service is behind (MaxLag): an event waited
// too long in the last second, or waits now.
func (s *Calls) behind() bool {
	now := s.now()
	if now.UnixNano() < s.behindUntil.Load() {
		return true
	}
	last := s.lagScanned.Load()
	if now.UnixNano()-last < int64(lagScanEvery) || !s.lagScanned.CompareAndSwap(last, now.UnixNano()) {
		return false
	}
	wall := time.Now()
	s.mu.Lock()
	var oldest time.Duration
	for _, c := range s.active {
		oldest = max(oldest, c.mb.Age(wall))
	}
	s.mu.Unlock()
	if oldest > s.cfg.MaxLag {
		s.behindUntil.Store(now.Add(time.Second).UnixNano())
		return true
	}
	return false
}

// noteLag hears how long the oldest event a call took waited in its
// mailbox: past MaxLag, the service takes no new call for a second.
func (s *Calls) noteLag(d time.Duration) {
	s.m.lag.Observe(d.Seconds())
	if s.cfg.MaxLag > 0 && d > s.cfg.MaxLag {
		s.behindUntil.Store(s.now().Add(time.Second).UnixNano())
	}
}

// refuse sends a new citizen to the dialplan's fallback for reason (see
// admit), and says so in the log at most once every 10 seconds: under
// overload a line per call would add to it.
func (s *Calls) refuse(channelID, reason string) {
	s.m.refused.WithLabelValues(reason).Inc()
	now := s.now().UnixNano()
	last := s.refusedLog.Load()
	if now-last >= int64(10*time.Second) && s.refusedLog.CompareAndSwap(last, now) {
		s.log.Warn("new calls go to the dialplan's fallback (hotline_calls_refused_total counts them)", "reason", reason,
			"active", s.Active(), "waiting", s.Waiting())
	}
	go s.toFallback(channelID, reason)
}

// observeHandling records the time since start spent on e.
func (m *callMetrics) observeHandling(e ari.Event, start time.Time) {
	m.handling.WithLabelValues(e.GetType()).Observe(time.Since(start).Seconds())
}

func (s *Calls) newCallID() string {
	return "c" + s.idServer() + strconv.FormatInt(s.now().UnixMilli(), 36) + s.tag + strconv.FormatUint(s.seq.Add(1), 36)
}

// idServer is what starts a call id after its "c" with several servers:
// the server's name and "_".
func (s *Calls) idServer() string {
	if s.Server == "" {
		return ""
	}
	return s.Server + "_"
}

// owns reports whether a stored call is this server's: with one server,
// every call; with several, those whose id names it (newCallID).
func (s *Calls) owns(callID string) bool {
	return s.Server == "" || strings.HasPrefix(callID, "c"+s.idServer())
}

func (s *Calls) startCall(ctx context.Context, start *ari.StasisStart) {
	ch := start.Channel
	// Asterisk always sends both; an event without them is still a
	// citizen to serve, with no number and on the hotline.
	var caller, exten string
	if ch.Caller != nil {
		caller = ch.Caller.Number
	}
	if ch.Dialplan != nil {
		exten = ch.Dialplan.Exten
	}
	line := s.cfg.lineFor(exten)
	id := s.newCallID()
	c := s.newCall(hotline.Call{
		ID: id, ChannelID: ch.ID, CallerRaw: caller,
		CallerNumber: hotline.NormalizeNumber(caller).Number,
		DialedNumber: exten, Line: line, State: hotline.CallRinging, ArrivedAt: s.now(),
		Phase: hotline.PhaseGreeting,
	})
	c.bridge = c.rec.ID + "-bridge"
	c.setWaiting(true)
	s.cli.Dispatcher().Route(ari.ChannelKey, ch.ID, c.mb)
	s.track(c)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.run(ctx)
	}()
}

// newCall is the state of the call rec, with no legs yet.
func (s *Calls) newCall(rec hotline.Call) *call {
	c := &call{
		s:        s,
		cmds:     make(chan func(), 4),
		ended:    make(chan struct{}),
		timeouts: make(chan string, 64),
		citizen:  rec.ChannelID,
		role:     hotline.RoleAgent,
		legs:     make(map[string]*leg),
		tried:    make(map[string]bool),
		done:     make(map[string]bool),
		rings:    make(map[string]int),
		rec:      rec,
		maxWait:  stoppedTimer(),
		retry:    stoppedTimer(),
	}
	if rec.Line == hotline.LineComplaint {
		c.role = hotline.RoleSupervisor
	}
	mb := NewMailbox()
	mb.lag = s.noteLag
	c.session = session{cli: s.cli, mb: mb, idBase: c.rec.ID, isGone: leavesStasis(c.citizen)}
	return c
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// track counts c among the calls in progress.
func (s *Calls) track(c *call) {
	s.mu.Lock()
	s.active[c.rec.ID] = c
	s.mu.Unlock()
	s.m.active.Inc()
}

// Refer rings another agent, or an available agent of a department, into a
// call in progress (5.1.2, 5.2.2). The first-responsible agent stays as it
// is; when the target does not answer, the citizen stays with the referring
// agent and the referral is recorded as a handover owed by the target.
func (s *Calls) Refer(ctx context.Context, callID, fromAgent, toAgent, toDepartment string) (hotline.Referral, error) {
	const op = "ari.Refer"
	if (toAgent == "") == (toDepartment == "") {
		return hotline.Referral{}, hotline.Errorf(hotline.KindInvalid, op, "give exactly one of to_agent and to_department")
	}
	s.mu.Lock()
	c := s.active[callID]
	s.mu.Unlock()
	if c == nil {
		return hotline.Referral{}, hotline.Errorf(hotline.KindNotFound, op, "call %q is not in progress", callID)
	}
	type result struct {
		ref hotline.Referral
		err error
	}
	reply := make(chan result, 1)
	cmd := func() {
		ref, err := c.refer(ctx, fromAgent, toAgent, toDepartment)
		reply <- result{ref, err}
	}
	callEnded := hotline.Errorf(hotline.KindConflict, op, "call %s has ended", callID)
	select {
	case c.cmds <- cmd:
	case <-c.ended:
		return hotline.Referral{}, callEnded
	case <-ctx.Done():
		return hotline.Referral{}, hotline.WrapError(hotline.KindUnavailable, op, ctx.Err())
	}
	// A request queued just as the call ends is never run: answer it.
	select {
	case r := <-reply:
		return r.ref, r.err
	case <-c.ended:
		select {
		case r := <-reply:
			return r.ref, r.err
		default:
			return hotline.Referral{}, callEnded
		}
	case <-ctx.Done():
		return hotline.Referral{}, hotline.WrapError(hotline.KindUnavailable, op, ctx.Err())
	}
}

// SetAgentState pauses (with a reason) or resumes an agent on request. An
// agent on a call finishes it first; an agent whose softphone is not
// registered cannot be made available.
func (s *Calls) SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string) (hotline.Agent, error) {
	const op = "ari.SetAgentState"
	a, ok := s.roster.Get(id)
	switch {
	case !ok:
		return hotline.Agent{}, hotline.Errorf(hotline.KindNotFound, op, "agent %q not found", id)
	case state != hotline.AgentPaused && state != hotline.AgentAvailable:
		return hotline.Agent{}, hotline.Errorf(hotline.KindInvalid, op, "an agent can only be paused or made available on request, not %q", state)
	case state == hotline.AgentPaused && reason == "":
		return hotline.Agent{}, hotline.Errorf(hotline.KindInvalid, op, "a pause needs a reason")
	case a.State == hotline.AgentOnCall:
		return hotline.Agent{}, hotline.Errorf(hotline.KindConflict, op, "agent %s is on a call; change the state after it ends", id)
	case state == hotline.AgentAvailable && a.State == hotline.AgentOffline:
		return hotline.Agent{}, hotline.Errorf(hotline.KindConflict, op, "agent %s's softphone %s is not registered", id, a.Endpoint)
	}
	if err := s.store.SetAgentState(ctx, id, state, reason, s.now()); err != nil {
		return hotline.Agent{}, err
	}
	a, _ = s.roster.SetState(id, state, reason)
	s.log.Info("agent state changed on request", "agent", id, "state", state, "reason", reason)
	return a, nil
}

// onDuty reports whether anyone of role but the agents in except is on
// duty: available, on a call or in wrap-up. Paused and offline staff do not
// staff the line.
func (s *Calls) onDuty(role hotline.Role, except map[string]bool) bool {
	for _, a := range s.roster.List() {
		if a.Role != role || except[a.ID] {
			continue
		}
		switch a.State {
		case hotline.AgentAvailable, hotline.AgentOnCall, hotline.AgentWrapUp:
			return true
		}
	}
	return false
}

// refused records an available agent's refused ring as the violation v
// (7.1.5). calls.autopause_after refusals in a row pause the agent with a
// reason, said in the same violation, and supervisors are told: a phone
// nobody answers stops taking citizens' rings.
func (s *Calls) refused(ctx context.Context, v hotline.Violation) {
	n := s.roster.Refused(v.AgentID)
	pause := s.cfg.AutopauseAfter > 0 && n >= s.cfg.AutopauseAfter
	if pause {
		v.Detail += fmt.Sprintf("；连续 %d 次拒接或未接，已自动暂停接听", n)
	}
	s.addViolation(ctx, v)
	if !pause {
		return
	}
	reason := fmt.Sprintf("连续 %d 次拒接或未接来电，自动暂停", n)
	a, ok := s.roster.SetState(v.AgentID, hotline.AgentPaused, reason)
	if !ok {
		return
	}
	s.m.autopaused.Inc()
	if err := s.store.SetAgentState(context.WithoutCancel(ctx), a.ID, hotline.AgentPaused, reason, s.now()); err != nil {
		s.m.storeErrors.Inc()
		s.log.Error("store agent state", "agent", a.ID, "state", hotline.AgentPaused, "err", err)
	}
	s.log.Warn("agent paused after refusing rings in a row", "agent", a.ID, "refusals", n, "last_call", v.CallID)
	if s.Supervisors == nil {
		return
	}
	text := fmt.Sprintf("【坐席自动暂停】坐席 %s（%s）连续 %d 次拒接或未接来电，已暂停接听。最近一次：来电 %s。请核实后在控制台恢复。",
		a.ID, a.Name, n, v.CallID)
	go func() {
		if err := s.Supervisors.NotifySupervisors(context.WithoutCancel(ctx), text); err != nil {
			s.log.Warn("tell supervisors of an agent paused", "agent", a.ID, "err", err)
		}
	}()
}

func (s *Calls) addViolation(ctx context.Context, v hotline.Violation) {
	if _, err := s.store.AddViolation(context.WithoutCancel(ctx), v); err != nil {
		s.m.storeErrors.Inc()
		s.log.Error("store violation", "call", v.CallID, "kind", v.Kind, "agent", v.AgentID, "err", err)
	}
}

// roundPause is the pause between ringing rounds, so an agent who declines
// at once is not rung again in a tight loop.
func (s *Calls) roundPause() time.Duration { return min(s.cfg.RingTimeout, time.Second) }

func (s *Calls) setAgentState(ctx context.Context, id string, state hotline.AgentState) {
	if _, ok := s.roster.SetState(id, state, ""); !ok {
		return
	}
	if err := s.store.SetAgentState(context.WithoutCancel(ctx), id, state, "", s.now()); err != nil {
		s.m.storeErrors.Inc()
		s.log.Error("store agent state", "agent", id, "state", state, "err", err)
	}
}

// startWrapUp keeps the agent from being rung for the wrap-up time, then
// makes them available unless their state changed meanwhile.
//
// One timer per agent: a new wrap-up replaces the last one's, which would
// end it early. The timer makes the agent available only if they are
// still in wrap-up (a pause set meanwhile stays), and Stop stops every
// timer, so none changes an agent after the service stopped.
func (s *Calls) startWrapUp(ctx context.Context, agentID string) {
	s.setAgentState(ctx, agentID, hotline.AgentWrapUp)
	s.wrapUpTimer(ctx, agentID)
}

// wrapUpTimer starts (or restarts) the timer that ends the agent's wrap-up.
func (s *Calls) wrapUpTimer(ctx context.Context, agentID string) {
	s.wrapMu.Lock()
	defer s.wrapMu.Unlock()
	if t := s.wrapTimers[agentID]; t != nil {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(s.cfg.WrapUp, func() {
		s.wrapMu.Lock()
		if s.wrapTimers[agentID] != t {
			s.wrapMu.Unlock()
			return // replaced or stopped
		}
		delete(s.wrapTimers, agentID)
		s.wrapMu.Unlock()
		if _, ok := s.roster.SetStateIf(agentID, hotline.AgentWrapUp, hotline.AgentAvailable); ok {
			if err := s.store.SetAgentState(context.WithoutCancel(ctx), agentID, hotline.AgentAvailable, "", s.now()); err != nil {
				s.m.storeErrors.Inc()
				s.log.Error("store agent state", "agent", agentID, "state", hotline.AgentAvailable, "err", err)
			}
		}
	})
	s.wrapTimers[agentID] = t
}

// stopWrapUps stops every wrap-up timer.
func (s *Calls) stopWrapUps() {
	s.wrapMu.Lock()
	defer s.wrapMu.Unlock()
	for id, t := range s.wrapTimers {
		t.Stop()
		delete(s.wrapTimers, id)
	}
}
