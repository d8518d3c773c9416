package ari

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"hotline"
)

// CallStore persists calls as they change, so a crash loses at most the
// last change.
type CallStore interface {
	CreateCall(ctx context.Context, c hotline.Call) error
	UpdateCall(ctx context.Context, c hotline.Call) error
	AddLeg(ctx context.Context, l hotline.CallLeg) (int64, error)
	UpdateLeg(ctx context.Context, l hotline.CallLeg) error
	SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string, at time.Time) error
}

// Calls runs every hotline call through ARI: it takes new channels from the
// dispatcher's fallback mailbox and gives each call its own goroutine and
// mailbox, so one slow call never holds up another.
type Calls struct {
	cli    *Client
	store  CallStore
	roster *hotline.Roster
	cfg    CallConfig
	log    *slog.Logger
	now    func() time.Time
	m      *callMetrics

	inbox *Mailbox
	seq   atomic.Uint64
	tag   string // distinguishes call ids of service instances

	// OnEnd, when set before Start, sees every call's final record (tests,
	// the demo's summary).
	OnEnd func(hotline.Call)

	mu     sync.Mutex
	active map[string]*call
	wg     sync.WaitGroup
	cancel context.CancelFunc
	done   chan struct{}
}

type callMetrics struct {
	calls        *prometheus.CounterVec // state, reason
	active       prometheus.Gauge
	storeErrors  prometheus.Counter
	answerBridge prometheus.Histogram
}

// NewCalls wires the call flow to the client; Start begins taking calls.
func NewCalls(cli *Client, store CallStore, roster *hotline.Roster, cfg CallConfig, log *slog.Logger, now func() time.Time, reg prometheus.Registerer) (*Calls, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &callMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_total", Help: "Finished hotline calls by final state and missed reason."}, []string{"state", "reason"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_calls_active", Help: "Calls in progress."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_call_store_errors_total", Help: "Failed writes of call records."}),
		answerBridge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_agent_answer_to_bridged_seconds", Help: "From the agent leg's StasisStart to the agent in the citizen's bridge.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1}}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.active, m.storeErrors, m.answerBridge)
	}
	s := &Calls{
		cli: cli, store: store, roster: roster, cfg: cfg, log: log.With("component", "calls"), now: now, m: m,
		inbox: NewMailbox(), active: make(map[string]*call),
		tag: strconv.FormatInt(now().UnixNano()%(36*36*36), 36),
	}
	cli.Dispatcher().SetFallback(s.inbox)
	cli.OnConnect(s.reconcile)
	cli.OnConnect(s.syncPresence)
	return s, nil
}

// Start takes calls until Stop.
func (s *Calls) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
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
}

// Active is the number of calls in progress.
func (s *Calls) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// runOnce handles every event that no call claimed: new channels entering
// the application, and leftovers of calls that already ended.
func (s *Calls) runOnce(ctx context.Context) {
	for _, e := range s.inbox.Take() {
		if ep, ok := e.(*ari.EndpointStateChange); ok {
			s.endpointState(ctx, ep.Endpoint.Technology+"/"+ep.Endpoint.Resource, ep.Endpoint.State)
			continue
		}
		start, ok := e.(*ari.StasisStart)
		if !ok {
			continue // late events of finished calls
		}
		kind := ""
		if len(start.Args) > 0 {
			kind = start.Args[0]
		}
		switch kind {
		case "inbound":
			s.startCall(ctx, start)
		default:
			// An agent leg whose call is gone, or a channel we do not know:
			// nobody will ever talk on it.
			s.log.Warn("hanging up channel that belongs to no call", "channel", start.Channel.ID, "args", start.Args)
			go func(id string) {
				_ = s.cli.ARI().Channel().Hangup(ari.NewKey(ari.ChannelKey, id), "normal")
			}(start.Channel.ID)
		}
	}
}

func (s *Calls) newCallID() string {
	return "c" + strconv.FormatInt(s.now().UnixMilli(), 36) + s.tag + strconv.FormatUint(s.seq.Add(1), 36)
}

func (s *Calls) startCall(ctx context.Context, start *ari.StasisStart) {
	ch := start.Channel
	c := &call{
		s:       s,
		mb:      NewMailbox(),
		citizen: ch.ID,
		legs:    make(map[string]*leg),
		tried:   make(map[string]bool),
		rec: hotline.Call{
			ID: s.newCallID(), ChannelID: ch.ID, CallerRaw: ch.Caller.Number, CallerNumber: hotline.NormalizeNumber(ch.Caller.Number).Number,
			DialedNumber: ch.Dialplan.Exten, Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: s.now(),
		},
	}
	c.bridge = c.rec.ID + "-bridge"
	s.cli.Dispatcher().Route(ari.ChannelKey, ch.ID, c.mb)
	s.mu.Lock()
	s.active[c.rec.ID] = c
	s.mu.Unlock()
	s.m.active.Inc()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.run(ctx)
	}()
}

// reconcile runs after every reconnection: events lost while the websocket
// was down would leave calls waiting forever, so each call checks that its
// channels still exist and treats a vanished one as hung up.
func (s *Calls) reconcile(ctx context.Context) {
	s.mu.Lock()
	calls := make([]*call, 0, len(s.active))
	for _, c := range s.active {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		for _, id := range c.channelIDs() {
			if ctx.Err() != nil {
				return
			}
			_, err := s.cli.ARI().Channel().Data(ari.NewKey(ari.ChannelKey, id))
			if httpStatus(err) == 404 {
				c.mb.Put(&ari.ChannelDestroyed{EventData: ari.EventData{Type: ari.Events.ChannelDestroyed},
					Channel: ari.ChannelData{ID: id}, CauseTxt: "vanished while ARI was disconnected"})
			}
		}
	}
}

// call is one inbound call's state, owned by its goroutine.
type call struct {
	s       *Calls
	mb      *Mailbox
	rec     hotline.Call
	citizen string
	bridge  string

	mu     sync.Mutex // guards legs for channelIDs (reconcile)
	legs   map[string]*leg
	tried  map[string]bool
	winner *leg

	citizenGone bool
	recording   bool
	finished    bool
	maxWait     *time.Timer
	retry       *time.Timer // next ringing round
}

type leg struct {
	rec      hotline.CallLeg
	timer    *time.Timer
	gone     bool
	answered bool
}

func (c *call) channelIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := []string{c.citizen}
	for id, l := range c.legs {
		if !l.gone {
			ids = append(ids, id)
		}
	}
	return ids
}

func (c *call) key(kind, id string) *ari.Key { return ari.NewKey(kind, id) }

func (c *call) run(ctx context.Context) {
	defer c.cleanup()
	c.persist(ctx, true)
	if err := c.setup(); err != nil {
		c.s.log.Error("call setup failed", "call", c.rec.ID, "err", err)
		c.finish(ctx, hotline.MissedFailed)
		return
	}
	c.maxWait = time.NewTimer(c.s.cfg.MaxWait)
	defer c.maxWait.Stop()
	c.retry = time.NewTimer(time.Hour)
	c.retry.Stop()
	defer c.retry.Stop()
	legTimeouts := make(chan string, 16)
	c.ringNext(ctx, legTimeouts)
	for !c.finished {
		select {
		case <-ctx.Done():
			c.finish(context.WithoutCancel(ctx), hotline.MissedFailed)
		case <-c.mb.Ready():
			for _, e := range c.mb.Take() {
				c.handle(ctx, e, legTimeouts)
				if c.finished {
					break
				}
			}
		case id := <-legTimeouts:
			if l := c.legs[id]; l != nil && !l.gone && !l.answered {
				l.rec.Outcome = hotline.LegNoAnswer
				c.hangup(id)
			}
		case <-c.retry.C:
			c.ringNext(ctx, legTimeouts)
		case <-c.maxWait.C:
			if c.winner == nil {
				c.finish(ctx, hotline.MissedNoAnswer)
			}
		}
	}
}

// setup answers the citizen and puts them in a recorded bridge of their own
// with music while agents ring.
func (c *call) setup() error {
	cl := c.s.cli.ARI()
	if err := cl.Channel().Answer(c.key(ari.ChannelKey, c.citizen)); err != nil {
		return fmt.Errorf("answer %s: %w", c.citizen, err)
	}
	if _, err := cl.Bridge().Create(c.key(ari.BridgeKey, c.bridge), "mixing", c.rec.ID); err != nil {
		return fmt.Errorf("create bridge %s: %w", c.bridge, err)
	}
	c.s.cli.Dispatcher().Route(ari.BridgeKey, c.bridge, c.mb)
	if err := cl.Bridge().AddChannel(c.key(ari.BridgeKey, c.bridge), c.citizen); err != nil {
		return fmt.Errorf("add citizen to bridge: %w", err)
	}
	if *c.s.cfg.Record {
		name := c.rec.ID
		c.s.cli.Dispatcher().Route(ari.LiveRecordingKey, name, c.mb)
		if _, err := cl.Bridge().Record(c.key(ari.BridgeKey, c.bridge), name, &ari.RecordingOptions{Format: "wav", Exists: "fail"}); err != nil {
			return fmt.Errorf("record bridge: %w", err)
		}
		c.recording = true
		c.rec.RecordingName = name
	}
	if err := cl.Channel().MOH(c.key(ari.ChannelKey, c.citizen), c.s.cfg.MOHClass); err != nil {
		c.s.log.Warn("music on hold failed", "call", c.rec.ID, "err", err)
	}
	return nil
}

// ringNext rings the next available agent, least recently called first.
// When everyone has been tried, a new round starts after a pause, until the
// maximum wait ends the call; when nobody is on duty at all, the call is
// missed at once (no_agent).
func (c *call) ringNext(ctx context.Context, timeouts chan<- string) {
	for c.winner == nil && !c.finished {
		agent, ok := c.s.roster.Reserve(c.rec.ID, hotline.RoleAgent, c.tried)
		if !ok {
			if c.ringingLegs() > 0 {
				return // wait for the legs ringing now
			}
			if !c.s.staffed() {
				reason := hotline.MissedNoAgent
				if len(c.tried) > 0 {
					reason = hotline.MissedNoAnswer
				}
				c.finish(ctx, reason)
				return
			}
			// Agents are busy or have all been tried: next round soon.
			clear(c.tried)
			c.retry.Reset(c.s.roundPause())
			return
		}
		c.tried[agent.ID] = true
		if c.ring(ctx, agent, timeouts) {
			return
		}
	}
}

// ring originates a leg to agent and reports whether it is ringing.
func (c *call) ring(ctx context.Context, agent hotline.Agent, timeouts chan<- string) bool {
	id := c.rec.ID + "-a" + agent.ID
	if c.legs[id] != nil {
		id += "-" + strconv.Itoa(len(c.legs)) // a later round rings the same agent again
	}
	l := &leg{rec: hotline.CallLeg{CallID: c.rec.ID, AgentID: agent.ID, ChannelID: id, Outcome: hotline.LegRinging, RungAt: c.s.now()}}
	c.mu.Lock()
	c.legs[id] = l
	c.mu.Unlock()
	c.s.cli.Dispatcher().Route(ari.ChannelKey, id, c.mb)
	_, err := c.s.cli.ARI().Channel().Originate(nil, ari.OriginateRequest{
		Endpoint: agent.Endpoint, Timeout: int(math.Ceil(c.s.cfg.RingTimeout.Seconds())) + 1,
		CallerID: c.rec.CallerNumber, App: c.s.cli.Application(), AppArgs: "agent," + c.rec.ID + "," + agent.ID,
		ChannelID: id, Originator: c.citizen,
	})
	if err != nil {
		// Asterisk answers 500 "Allocation failed" when the phone is not
		// registered: the agent is offline, whatever the roster thought.
		c.mu.Lock()
		l.gone = true
		c.mu.Unlock()
		l.rec.Outcome, l.rec.EndedAt = hotline.LegFailed, c.s.now()
		c.s.cli.Dispatcher().Unroute(ari.ChannelKey, id)
		c.s.roster.Release(agent.ID, c.rec.ID)
		if httpStatus(err) == 500 {
			c.setAgentState(ctx, agent.ID, hotline.AgentOffline)
		}
		c.s.log.Warn("could not ring agent", "call", c.rec.ID, "agent", agent.ID, "err", err)
		c.saveLeg(ctx, l, true)
		return false
	}
	c.saveLeg(ctx, l, true)
	l.timer = time.AfterFunc(c.s.cfg.RingTimeout, func() {
		select {
		case timeouts <- id:
		default: // the call loop drains; a full buffer means it has ended
		}
	})
	return true
}

// staffed reports whether any agent is on duty: available, on a call or in
// wrap-up. Paused and offline agents do not staff the line.
func (s *Calls) staffed() bool {
	n := s.roster.Counts(hotline.RoleAgent)
	return n[hotline.AgentAvailable]+n[hotline.AgentOnCall]+n[hotline.AgentWrapUp] > 0
}

// roundPause is the pause between ringing rounds, so an agent who declines
// at once is not rung again in a tight loop.
func (s *Calls) roundPause() time.Duration { return min(s.cfg.RingTimeout, time.Second) }

func (c *call) ringingLegs() int {
	n := 0
	for _, l := range c.legs {
		if !l.gone && !l.answered {
			n++
		}
	}
	return n
}

func (c *call) handle(ctx context.Context, e ari.Event, timeouts chan<- string) {
	switch ev := e.(type) {
	case *ari.StasisStart:
		l := c.legs[ev.Channel.ID]
		if l == nil {
			return
		}
		l.answered = true
		l.rec.AnsweredAt = c.s.now()
		if l.timer != nil {
			l.timer.Stop()
		}
		if c.winner != nil || c.finished {
			// Answered a moment after another agent: first answer wins.
			l.rec.Outcome = hotline.LegLost
			c.hangup(ev.Channel.ID)
			return
		}
		c.connect(ctx, l)
	case *ari.StasisEnd:
		c.channelGone(ctx, ev.Channel.ID, 0, timeouts)
	case *ari.ChannelDestroyed:
		c.channelGone(ctx, ev.Channel.ID, ev.Cause, timeouts)
	}
}

// connect makes l the winner: the first agent to answer becomes the call's
// first-responsible agent and joins the citizen's bridge.
func (c *call) connect(ctx context.Context, l *leg) {
	start := time.Now()
	c.winner = l
	c.maxWait.Stop()
	cl := c.s.cli.ARI()
	if err := cl.Channel().StopMOH(c.key(ari.ChannelKey, c.citizen)); err != nil {
		c.s.log.Debug("stop music on hold", "call", c.rec.ID, "err", err)
	}
	if err := cl.Bridge().AddChannel(c.key(ari.BridgeKey, c.bridge), l.rec.ChannelID); err != nil {
		c.s.log.Error("could not bridge agent", "call", c.rec.ID, "agent", l.rec.AgentID, "err", err)
	}
	c.s.m.answerBridge.Observe(time.Since(start).Seconds())
	_ = c.rec.Answer(l.rec.AgentID, l.rec.AnsweredAt)
	l.rec.Outcome = hotline.LegAnswered
	c.setAgentState(ctx, l.rec.AgentID, hotline.AgentOnCall)
	c.saveLeg(ctx, l, false)
	c.persist(ctx, false)
	// Everyone else still ringing is cancelled.
	for id, o := range c.legs {
		if o != l && !o.gone && !o.answered {
			o.rec.Outcome = hotline.LegCancelled
			c.hangup(id)
		}
	}
}

func (c *call) channelGone(ctx context.Context, id string, cause int, timeouts chan<- string) {
	if id == c.citizen {
		if c.citizenGone {
			return
		}
		c.citizenGone = true
		c.finish(ctx, hotline.MissedAbandoned)
		return
	}
	l := c.legs[id]
	if l == nil || l.gone {
		return
	}
	c.mu.Lock()
	l.gone = true
	c.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
	}
	c.s.cli.Dispatcher().Unroute(ari.ChannelKey, id)
	l.rec.EndedAt = c.s.now()
	if cause != 0 {
		l.rec.Cause = cause
	}
	switch {
	case l == c.winner:
		l.rec.Outcome = hotline.LegCompleted
		c.saveLeg(ctx, l, false)
		c.finish(ctx, "") // the agent hung up: the consultation is over
		return
	case l.rec.Outcome == hotline.LegRinging:
		l.rec.Outcome = legOutcomeForCause(cause)
	}
	c.saveLeg(ctx, l, false)
	c.s.roster.Release(l.rec.AgentID, c.rec.ID)
	if c.winner == nil && !c.finished {
		c.ringNext(ctx, timeouts)
	}
}

// legOutcomeForCause maps the Q.850 cause of ChannelDestroyed (see the ARI
// traces: 17 busy/declined, 19 no answer, 20 unreachable, 1 no such number).
func legOutcomeForCause(cause int) hotline.LegOutcome {
	switch cause {
	case 17, 21:
		return hotline.LegBusy
	case 19, 16:
		return hotline.LegNoAnswer
	default:
		return hotline.LegFailed
	}
}

// finish ends the call once: hangs up what is left, stops the recording,
// frees the agent and stores the final state. reason applies only when no
// agent answered.
func (c *call) finish(ctx context.Context, reason hotline.MissedReason) {
	if c.finished {
		return
	}
	c.finished = true
	if reason == hotline.MissedAbandoned && c.winner != nil {
		reason = ""
	}
	c.rec.End(c.s.now(), reason)
	for id, l := range c.legs {
		if l.timer != nil {
			l.timer.Stop()
		}
		if !l.gone {
			if l.rec.Outcome == hotline.LegRinging {
				l.rec.Outcome = hotline.LegCancelled
			}
			if l != c.winner {
				l.rec.EndedAt = c.s.now()
				c.s.roster.Release(l.rec.AgentID, c.rec.ID)
			}
			c.hangup(id)
		}
	}
	if c.winner != nil {
		w := c.winner
		if w.rec.EndedAt.IsZero() {
			w.rec.EndedAt = c.s.now()
		}
		w.rec.Outcome = hotline.LegCompleted
		c.startWrapUp(ctx, w.rec.AgentID)
	}
	for _, l := range c.legs {
		c.saveLeg(ctx, l, false)
	}
	if !c.citizenGone {
		c.hangup(c.citizen)
	}
	cl := c.s.cli.ARI()
	if c.recording {
		if err := cl.LiveRecording().Stop(c.key(ari.LiveRecordingKey, c.rec.RecordingName)); err != nil {
			c.s.log.Warn("stop recording", "call", c.rec.ID, "err", err)
		}
	}
	if err := cl.Bridge().Delete(c.key(ari.BridgeKey, c.bridge)); err != nil && httpStatus(err) != 404 {
		c.s.log.Debug("delete bridge", "call", c.rec.ID, "err", err)
	}
	c.persist(ctx, false)
	if c.s.OnEnd != nil {
		final := c.rec
		for _, l := range c.legs {
			final.Legs = append(final.Legs, l.rec)
		}
		sort.Slice(final.Legs, func(i, j int) bool { return final.Legs[i].RungAt.Before(final.Legs[j].RungAt) })
		c.s.OnEnd(final)
	}
	c.s.m.calls.WithLabelValues(string(c.rec.State), string(c.rec.MissedReason)).Inc()
	c.s.log.Info("call ended", "call", c.rec.ID, "caller", c.rec.CallerNumber, "state", c.rec.State,
		"reason", c.rec.MissedReason, "agent", c.rec.FirstResponsibleAgent, "wait_s", c.rec.WaitSeconds(), "talk_s", c.rec.TalkSeconds())
}

func (c *call) startWrapUp(ctx context.Context, agentID string) {
	c.setAgentState(ctx, agentID, hotline.AgentWrapUp)
	s := c.s
	time.AfterFunc(s.cfg.WrapUp, func() {
		if a, ok := s.roster.Get(agentID); ok && a.State == hotline.AgentWrapUp {
			c.setAgentState(context.WithoutCancel(ctx), agentID, hotline.AgentAvailable)
		}
	})
}

func (c *call) setAgentState(ctx context.Context, id string, state hotline.AgentState) {
	if _, ok := c.s.roster.SetState(id, state, ""); !ok {
		return
	}
	if err := c.s.store.SetAgentState(context.WithoutCancel(ctx), id, state, "", c.s.now()); err != nil {
		c.s.m.storeErrors.Inc()
		c.s.log.Error("store agent state", "agent", id, "state", state, "err", err)
	}
}

func (c *call) hangup(id string) {
	err := c.s.cli.ARI().Channel().Hangup(c.key(ari.ChannelKey, id), "normal")
	if err != nil && httpStatus(err) != 404 {
		c.s.log.Debug("hangup", "channel", id, "err", err)
	}
}

func (c *call) persist(ctx context.Context, create bool) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if create {
		err = c.s.store.CreateCall(ctx, c.rec)
	} else {
		err = c.s.store.UpdateCall(ctx, c.rec)
	}
	if err != nil {
		c.s.m.storeErrors.Inc()
		c.s.log.Error("store call", "call", c.rec.ID, "err", err)
	}
}

func (c *call) saveLeg(ctx context.Context, l *leg, create bool) {
	ctx = context.WithoutCancel(ctx)
	if create {
		id, err := c.s.store.AddLeg(ctx, l.rec)
		if err == nil {
			l.rec.ID = id
			return
		}
		c.s.m.storeErrors.Inc()
		c.s.log.Error("store call leg", "call", c.rec.ID, "channel", l.rec.ChannelID, "err", err)
		return
	}
	if l.rec.ID == 0 {
		return
	}
	if err := c.s.store.UpdateLeg(ctx, l.rec); err != nil {
		c.s.m.storeErrors.Inc()
		c.s.log.Error("store call leg", "call", c.rec.ID, "channel", l.rec.ChannelID, "err", err)
	}
}

// cleanup removes the call's routes and forgets it.
func (c *call) cleanup() {
	d := c.s.cli.Dispatcher()
	d.Unroute(ari.ChannelKey, c.citizen)
	d.Unroute(ari.BridgeKey, c.bridge)
	if c.rec.RecordingName != "" {
		d.Unroute(ari.LiveRecordingKey, c.rec.RecordingName)
	}
	for id := range c.legs {
		d.Unroute(ari.ChannelKey, id)
	}
	c.mb.Close()
	c.s.mu.Lock()
	delete(c.s.active, c.rec.ID)
	c.s.mu.Unlock()
	c.s.m.active.Dec()
}
