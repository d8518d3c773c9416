package ari

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"hotline"
)

// Live monitoring (7.1.3): a supervisor listens to a call in progress on
// their own softphone, whispers to the agent alone, or barges in. Each is
// a snoop channel on the call (trace 12: the snoop enters the application
// and is up at once) bridged with a channel originated to the supervisor:
//
//	listen   snoop on the citizen's channel, spy both, whisper none
//	whisper  snoop on the agent's channel, spy both, whisper out (into what the agent hears)
//	barge    snoop on the citizen's channel, spy both, whisper both (the citizen and,
//	         through the citizen's channel into the call's bridge, the agent hear it)
//
// The monitoring ends when either side hangs up: the supervisor (their
// channel leaves the application), or the monitored side (Asterisk hangs
// the snoop up when its channel goes). Then the other channel is hung up
// and the bridge removed.

// MonitorStore records monitorings for the call's timeline (*store.DB).
type MonitorStore interface {
	StartMonitor(ctx context.Context, m hotline.MonitorSession) (int64, error)
	ConnectMonitor(ctx context.Context, id int64, at time.Time) error
	EndMonitor(ctx context.Context, id int64, at time.Time, reason hotline.MonitorEnd) error
	// OpenMonitors are the monitorings not ended, of every server.
	OpenMonitors(ctx context.Context) ([]hotline.MonitorSession, error)
}

// Monitors runs the monitorings of calls in progress.
type Monitors struct {
	calls  *Calls
	store  MonitorStore
	log    *slog.Logger
	ring   time.Duration // how long the supervisor's phone rings
	seq    atomic.Uint64
	mu     sync.Mutex
	active map[int64]*monitoring
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// starting is held (read) from a monitoring's row until it is among
	// active, so reconciliation never takes a starting one for a dead
	// process's.
	starting sync.RWMutex
	// OnChange, when set before Start, hears of each monitoring's start,
	// connection and end (the console's live wall).
	OnChange func(hotline.MonitorSession)
}

// NewMonitors returns the monitorings of calls' calls; the supervisor's
// phone rings for at most ring. Start before use.
// Reconciliation of calls (on every connection) then also ends the
// monitorings a stopped or dead process left of calls' server.
func NewMonitors(calls *Calls, store MonitorStore, ring time.Duration) *Monitors {
	m := &Monitors{calls: calls, store: store, log: calls.log.With("component", "monitor"), ring: ring, active: map[int64]*monitoring{}}
	calls.monitors.Store(m)
	return m
}

// Start makes Monitor usable until Stop.
func (m *Monitors) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctx, m.cancel = context.WithCancel(ctx)
}

// Stop hangs up every monitoring and waits for them to end.
func (m *Monitors) Stop() {
	m.mu.Lock()
	cancel := m.cancel
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	m.wg.Wait()
}

// monitoring is one supervisor on one call, owned by its goroutine.
type monitoring struct {
	m       *Monitors
	rec     hotline.MonitorSession
	mb      *Mailbox
	snoop   string
	phone   string // the supervisor's channel
	bridge  string
	target  string // the channel snooped on
	spy     string
	whisper string
	stop    chan struct{} // closed to end it from the console
	once    sync.Once
	mu      sync.Mutex // guards rec for Active
}

// Monitor rings supervisor's softphone and, once answered, connects it to
// call callID in mode. It returns when the phone is ringing; the session
// goes on in the background. NotFound when the call is not in progress,
// Conflict when the mode needs an agent and none is on the call, or the
// supervisor has no softphone on the roster.
func (m *Monitors) Monitor(ctx context.Context, callID, supervisorID string, mode hotline.MonitorMode) (hotline.MonitorSession, error) {
	const op = "ari.Monitor"
	if !mode.Valid() {
		return hotline.MonitorSession{}, hotline.Errorf(hotline.KindInvalid, op, "mode %q must be listen, whisper or barge", mode)
	}
	m.mu.Lock()
	runCtx := m.ctx
	m.mu.Unlock()
	if runCtx == nil || runCtx.Err() != nil {
		return hotline.MonitorSession{}, hotline.Errorf(hotline.KindUnavailable, op, "monitoring is not running")
	}
	sup, ok := m.calls.roster.Get(supervisorID)
	if !ok {
		return hotline.MonitorSession{}, hotline.Errorf(hotline.KindConflict, op,
			"%s has no softphone on the roster (agents:): monitoring calls the supervisor's own phone", supervisorID)
	}
	target, err := m.calls.monitorTarget(callID)
	if err != nil {
		return hotline.MonitorSession{}, err
	}
	if target.agentID == supervisorID {
		return hotline.MonitorSession{}, hotline.Errorf(hotline.KindConflict, op, "%s is on call %s: nobody monitors their own call", supervisorID, callID)
	}
	// Fixed-width ids: Asterisk refuses an id that is a prefix of a live one.
	base := fmt.Sprintf("m%s%08d", m.calls.tag, m.seq.Add(1)%100000000)
	mon := &monitoring{m: m, mb: NewMailbox(), stop: make(chan struct{}), snoop: base + "-snp", phone: base + "-sup", bridge: base + "-brg",
		target: target.citizen, spy: "both", whisper: "none",
		rec: hotline.MonitorSession{CallID: callID, SupervisorID: supervisorID, AgentID: target.agentID, Mode: mode,
			RequestedAt: m.calls.now()}}
	switch mode {
	case hotline.MonitorWhisper:
		mon.target, mon.whisper = target.agentChannel, "out"
	case hotline.MonitorBarge:
		mon.whisper = "both"
	}
	m.starting.RLock()
	defer m.starting.RUnlock()
	if mon.rec.ID, err = m.store.StartMonitor(ctx, mon.rec); err != nil {
		return hotline.MonitorSession{}, err
	}
	disp := m.calls.cli.Dispatcher()
	disp.Route(ari.ChannelKey, mon.snoop, mon.mb)
	disp.Route(ari.ChannelKey, mon.phone, mon.mb)
	if err := mon.dial(sup); err != nil {
		mon.end(context.WithoutCancel(ctx), hotline.MonitorFailed)
		return hotline.MonitorSession{}, hotline.WrapError(hotline.KindUnavailable, op, err)
	}
	m.mu.Lock()
	m.active[mon.rec.ID] = mon
	m.mu.Unlock()
	m.changed(mon.rec)
	m.log.Info("monitoring started", "call", callID, "supervisor", supervisorID, "mode", mode, "monitoring", mon.rec.ID)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		mon.run(runCtx)
		m.mu.Lock()
		delete(m.active, mon.rec.ID)
		m.mu.Unlock()
	}()
	return mon.rec, nil
}

// Active lists the monitorings going on now, oldest first.
func (m *Monitors) Active() []hotline.MonitorSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]hotline.MonitorSession, 0, len(m.active))
	for _, mon := range m.active {
		mon.mu.Lock()
		out = append(out, mon.rec)
		mon.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b hotline.MonitorSession) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// End ends monitoring id from the console: both channels are hung up.
// NotFound when it is not going on.
func (m *Monitors) End(id int64) error {
	m.mu.Lock()
	mon := m.active[id]
	m.mu.Unlock()
	if mon == nil {
		return hotline.Errorf(hotline.KindNotFound, "ari.Monitors.End", "monitoring %d is not going on", id)
	}
	mon.once.Do(func() { close(mon.stop) })
	return nil
}

func (m *Monitors) changed(rec hotline.MonitorSession) {
	if m.OnChange != nil {
		m.OnChange(rec)
	}
}

// dial snoops on the target and rings the supervisor's phone.
func (mon *monitoring) dial(sup hotline.Agent) error {
	cl := mon.m.calls.cli.ARI()
	app := mon.m.calls.cli.Application()
	_, err := cl.Channel().Snoop(key(ari.ChannelKey, mon.target), mon.snoop, &ari.SnoopOptions{
		App: app, AppArgs: "monitor," + mon.rec.CallID, Spy: ari.Direction(mon.spy), Whisper: ari.Direction(mon.whisper)})
	if err != nil {
		return fmt.Errorf("snoop on %s: %w", mon.target, err)
	}
	_, err = cl.Channel().Originate(nil, ari.OriginateRequest{
		Endpoint: sup.Endpoint, Timeout: int(mon.m.ring.Seconds()), App: app,
		AppArgs:   "monitor-phone," + mon.rec.CallID,
		CallerID:  fmt.Sprintf("\"%s %s\" <%s>", mon.rec.Mode.Title(), mon.rec.CallID, mon.rec.CallID),
		ChannelID: mon.phone, Originator: mon.target,
	})
	if err != nil {
		return fmt.Errorf("ring %s: %w", sup.Endpoint, err)
	}
	return nil
}

// run bridges the phone and the snoop once the phone answers, and ends
// the monitoring when either leaves.
func (mon *monitoring) run(ctx context.Context) {
	answered := false
	for {
		select {
		case <-ctx.Done():
			mon.end(context.WithoutCancel(ctx), hotline.MonitorServiceStopping)
			return
		case <-mon.stop:
			mon.end(ctx, hotline.MonitorStopped)
			return
		case <-mon.mb.Ready():
		}
		for _, e := range mon.mb.Take() {
			switch ev := e.(type) {
			case *ari.StasisStart:
				if ev.Channel.ID != mon.phone {
					continue // the snoop entering the application
				}
				answered = true
				if err := mon.connect(ctx); err != nil {
					mon.m.log.Warn("monitoring failed to connect", "monitoring", mon.rec.ID, "err", err)
					mon.end(context.WithoutCancel(ctx), hotline.MonitorFailed)
					return
				}
			case *ari.StasisEnd:
				mon.end(context.WithoutCancel(ctx), mon.endReason(ev.Channel.ID, answered))
				return
			case *ari.ChannelDestroyed:
				mon.end(context.WithoutCancel(ctx), mon.endReason(ev.Channel.ID, answered))
				return
			}
		}
	}
}

func (mon *monitoring) endReason(channel string, answered bool) hotline.MonitorEnd {
	switch {
	case channel == mon.snoop:
		return hotline.MonitorCallEnded
	case answered:
		return hotline.MonitorSupervisorLeft
	}
	return hotline.MonitorNotAnswered
}

func (mon *monitoring) connect(ctx context.Context) error {
	cl := mon.m.calls.cli.ARI()
	if _, err := cl.Bridge().Create(key(ari.BridgeKey, mon.bridge), "mixing", mon.bridge); err != nil {
		return fmt.Errorf("create bridge: %w", err)
	}
	if err := mon.m.calls.cli.AddToBridge(mon.bridge, mon.snoop); err != nil {
		return fmt.Errorf("add snoop: %w", err)
	}
	if err := mon.m.calls.cli.AddToBridge(mon.bridge, mon.phone); err != nil {
		return fmt.Errorf("add supervisor: %w", err)
	}
	mon.mu.Lock()
	mon.rec.ConnectedAt = mon.m.calls.now()
	mon.mu.Unlock()
	if err := mon.m.store.ConnectMonitor(ctx, mon.rec.ID, mon.rec.ConnectedAt); err != nil {
		mon.m.log.Error("monitoring connection not stored", "monitoring", mon.rec.ID, "err", err)
	}
	mon.m.changed(mon.rec)
	return nil
}

// end hangs up what is left, removes the bridge and records why.
func (mon *monitoring) end(ctx context.Context, reason hotline.MonitorEnd) {
	cl := mon.m.calls.cli.ARI()
	for _, id := range []string{mon.phone, mon.snoop} {
		if err := cl.Channel().Hangup(key(ari.ChannelKey, id), "normal"); err != nil && httpStatus(err) != 404 {
			mon.m.log.Warn("monitoring channel not hung up", "monitoring", mon.rec.ID, "channel", id, "err", err)
		}
	}
	if err := cl.Bridge().Delete(key(ari.BridgeKey, mon.bridge)); err != nil && httpStatus(err) != 404 {
		mon.m.log.Warn("monitoring bridge not removed", "monitoring", mon.rec.ID, "err", err)
	}
	disp := mon.m.calls.cli.Dispatcher()
	disp.Unroute(ari.ChannelKey, mon.snoop)
	disp.Unroute(ari.ChannelKey, mon.phone)
	mon.mu.Lock()
	mon.rec.EndedAt, mon.rec.EndReason = mon.m.calls.now(), reason
	mon.mu.Unlock()
	if err := mon.m.store.EndMonitor(ctx, mon.rec.ID, mon.rec.EndedAt, reason); err != nil {
		mon.m.log.Error("monitoring end not stored", "monitoring", mon.rec.ID, "err", err)
	}
	mon.m.changed(mon.rec)
	mon.m.log.Info("monitoring ended", "call", mon.rec.CallID, "supervisor", mon.rec.SupervisorID, "reason", reason, "monitoring", mon.rec.ID)
}

// monitorTarget is what a monitoring needs of a call in progress.
type monitorTarget struct {
	citizen, agentChannel, agentID string
}

// monitorTarget reads the citizen's channel and the channel of the agent
// talking with them (under the call's lock: a busy call goroutine, e.g.
// playing a prompt, does not hold the supervisor up).
func (s *Calls) monitorTarget(callID string) (monitorTarget, error) {
	const op = "ari.Monitor"
	s.mu.Lock()
	c := s.active[callID]
	s.mu.Unlock()
	if c == nil {
		return monitorTarget{}, hotline.Errorf(hotline.KindNotFound, op, "call %q is not in progress", callID)
	}
	t := monitorTarget{citizen: c.citizen}
	c.mu.Lock()
	for id, l := range c.legs {
		if l.bridged && !l.gone {
			t.agentChannel, t.agentID = id, l.rec.AgentID
		}
	}
	c.mu.Unlock()
	if t.agentChannel == "" {
		return t, hotline.Errorf(hotline.KindConflict, op, "no agent is talking on call %s now: monitor once an agent answers", callID)
	}
	return t, nil
}

// monitorChannelID matches the snoop and supervisor channels monitorings
// make (Monitor), and monitorBridgeID their bridges.
var (
	monitorChannelID = regexp.MustCompile(`^m[0-9a-z]*[0-9]{8}-(snp|sup)$`)
	monitorBridgeID  = regexp.MustCompile(`^m[0-9a-z]*[0-9]{8}-brg$`)
)

// reconcile ends what monitorings a process that stopped or died left of
// this server (monitorings are not adopted: the supervisor asks again):
// their channels nobody here routes are hung up (the supervisor's phone
// would go on listening), and their rows of this server's calls that this
// process does not run are ended as stopped with the service. Their
// bridges go with ownsBridge's answer in the bridge pass.
func (m *Monitors) reconcile(ctx context.Context, chans []ariChannel, repaired func(string)) error {
	m.starting.Lock()
	defer m.starting.Unlock()
	disp := m.calls.cli.Dispatcher()
	for _, ch := range chans {
		if monitorChannelID.MatchString(ch.ID) && !disp.Routed(ari.ChannelKey, ch.ID) {
			if err := m.calls.cli.ARI().Channel().Hangup(key(ari.ChannelKey, ch.ID), "normal"); err == nil || httpStatus(err) == 404 {
				repaired(repairMonitorChannel)
			}
		}
	}
	open, err := m.store.OpenMonitors(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	running := make(map[int64]bool, len(m.active))
	for id := range m.active {
		running[id] = true
	}
	m.mu.Unlock()
	for _, rec := range open {
		if running[rec.ID] || !m.calls.owns(rec.CallID) {
			continue // going on here, or another server's
		}
		if err := m.store.EndMonitor(ctx, rec.ID, m.calls.now(), hotline.MonitorServiceStopping); err != nil {
			return err
		}
		repaired(repairMonitor)
		m.changed(hotline.MonitorSession{ID: rec.ID, CallID: rec.CallID, SupervisorID: rec.SupervisorID, AgentID: rec.AgentID,
			Mode: rec.Mode, RequestedAt: rec.RequestedAt, ConnectedAt: rec.ConnectedAt, EndedAt: m.calls.now(),
			EndReason: hotline.MonitorServiceStopping})
		m.log.Warn("monitoring left open by a stopped instance ended", "monitoring", rec.ID, "call", rec.CallID, "supervisor", rec.SupervisorID)
	}
	return nil
}

// ownsBridge reports whether bridge id is a monitoring's running here.
func (m *Monitors) ownsBridge(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mon := range m.active {
		if mon.bridge == id {
			return true
		}
	}
	return false
}
