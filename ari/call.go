package ari

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"hotline"
)

// call is one inbound call's state, owned by its goroutine: every event,
// timer and API request for the call is handled there, one at a time, so
// "the first agent leg to answer wins" needs no lock.
type call struct {
	session
	s        *Calls
	cmds     chan func()   // API requests (referrals), run on the call goroutine
	ended    chan struct{} // closed once the call's goroutine is done: no command runs any more
	timeouts chan string   // leg ids whose ring time is up
	rec      hotline.Call
	citizen  string
	bridge   string
	role     hotline.Role // who answers this line
	// The call's phase is rec.Phase (hotline.CallPhase): stored with the
	// call, so that another process can take it over after a crash.
	// waiting: the citizen is on the line and no agent has answered yet
	// (greeting, queued), read by Calls.Waiting from other goroutines.
	waiting atomic.Bool

	mu    sync.Mutex // guards legs, and a leg's gone and bridged, for readers off the call's goroutine (reconcile, monitoring)
	legs  map[string]*leg
	tried map[string]bool // agents rung this round
	// done are the agents this call never rings again: they declined, or
	// were rung RingsPerAgent times (no agent is rung over and over).
	done  map[string]bool
	rings map[string]int // rings per agent on this call
	seq   int            // numbers the channel ids the call makes

	// Writes of the step in progress, stored together in one transaction
	// with the call's next persist, or on their own before the call waits
	// (flush): one transaction a step instead of one a row.
	pendLegs   []*leg
	pendAgents []hotline.AgentStateChange

	recorder *recorder // nil when the call is not recorded
	// Resources the call holds in Asterisk; its bridge is rec.BridgeID
	// once made.
	moh     bool
	maxWait *time.Timer // runs from the start of the hold
	retry   *time.Timer // next ringing round
	// left: the service stopped while the call went on and left it to
	// Asterisk (Calls.LeaveLive); the goroutine ends without touching it.
	left bool
}

// leftLive reports whether the call is left to Asterisk as it is: the
// service is stopping after its drain timeout (Calls.LeaveLive). Then
// nothing more is asked of Asterisk nor written: the call stays as
// stored (phase, legs, recording), the citizen and agent stay connected,
// the recording goes on, and the next process to connect adopts the call
// (reconciliation).
func (c *call) leftLive() bool {
	if !c.left && c.s.leaveLive.Load() && c.s.runCtx.Err() != nil {
		c.left = true
		c.s.log.Info("service stopping: call left live in Asterisk for the next process to take over",
			"call", c.rec.ID, "phase", c.rec.Phase, "agent", c.rec.FirstResponsibleAgent)
	}
	return c.left
}

// nextID names a channel the call makes: the call id, '-', a kind letter
// ('a' agent leg, 'r' referral leg, 's' snoop) and a three-digit number.
// Asterisk 20 refuses an id that is a prefix of a live channel's id, so the
// ids of one call are all distinct up to their fixed-width part; an agent
// leg adds "-" and the agent id after it, for people reading Asterisk's
// logs.
func (c *call) nextID(kind byte) string {
	c.seq++
	return fmt.Sprintf("%s-%c%03d", c.rec.ID, kind, c.seq)
}

// finished reports whether the call's end is decided: nothing but the
// steps of its end runs any more.
func (c *call) finished() bool { return !c.rec.Phase.Live() }

type leg struct {
	rec      hotline.CallLeg
	saved    hotline.CallLeg // rec as last stored: an unchanged leg is not written again
	timer    *time.Timer
	gone     bool
	answered bool
	bridged  bool
	referral *hotline.Referral // set when the leg rings a referral target
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

func key(kind, id string) *ari.Key { return ari.NewKey(kind, id) }

func (c *call) run(ctx context.Context) {
	defer c.cleanup()
	c.persist(ctx, true)
	defer c.maxWait.Stop()
	defer c.retry.Stop()

	// A citizen who hung up before the call got to them (it is behind on
	// its events, or they left meanwhile: 404) abandoned it.
	if c.leftStasis(c.citizen) {
		c.gone = true
		c.finish(ctx, hotline.MissedAbandoned)
		return
	}
	if err := c.s.cli.ARI().Channel().Answer(key(ari.ChannelKey, c.citizen)); err != nil {
		if httpStatus(err) == 404 {
			c.gone = true
			c.finish(ctx, hotline.MissedAbandoned)
			return
		}
		c.s.log.Error("answer failed", "call", c.rec.ID, "err", err)
		c.finish(ctx, hotline.MissedFailed)
		return
	}
	if c.rec.Line == hotline.LineHotline && c.s.hours != nil && !c.s.hours.IsOpen(c.rec.ArrivedAt) {
		c.afterHours(ctx)
		return
	}
	if err := c.setup(); err != nil {
		if bridgeChannelGone(err) { // the citizen hung up meanwhile
			c.gone = true
			c.finish(ctx, hotline.MissedAbandoned)
			return
		}
		c.s.log.Error("call setup failed", "call", c.rec.ID, "err", err)
		c.finish(ctx, hotline.MissedFailed)
		return
	}
	greeting := c.s.cfg.Prompts.Greeting
	if c.rec.Line == hotline.LineComplaint {
		greeting = c.s.cfg.Prompts.Complaint
	}
	if c.play(ctx, ari.BridgeKey, c.bridge, greeting) && c.rec.Line == hotline.LineHotline {
		c.play(ctx, ari.BridgeKey, c.bridge, c.s.cfg.Prompts.RecordingNotice)
	}
	if c.gone {
		c.finish(ctx, hotline.MissedAbandoned)
		return
	}
	// The hold starts: max_wait counts from here, not from the arrival, so
	// the prompts do not eat into the time agents have to answer.
	c.queue(ctx)
}

// queue puts the citizen on hold and rings agents until one answers.
func (c *call) queue(ctx context.Context) {
	if c.leftLive() {
		return
	}
	c.setPhase(hotline.PhaseQueued)
	c.persist(ctx, false)
	c.maxWait.Reset(c.s.cfg.MaxWait)
	c.startMOH()
	c.startRinging(ctx)
	c.loop(ctx)
}

func (c *call) loop(ctx context.Context) {
	for !c.finished() && !c.left {
		if held := c.takeHeld(); len(held) > 0 {
			c.handleAll(ctx, held)
			continue
		}
		c.flush(ctx)
		select {
		case <-ctx.Done():
			c.finish(context.WithoutCancel(ctx), hotline.MissedFailed)
		case <-c.mb.Ready():
			c.handleAll(ctx, c.mb.Take())
		case cmd := <-c.cmds:
			cmd()
		case id := <-c.timeouts:
			// The leg's ChannelDestroyed finishes it (channelGone) and rings
			// the next agent.
			if l := c.legs[id]; l != nil && !l.gone && !l.answered {
				l.rec.Outcome = hotline.LegNoAnswer
				c.hangup(id)
			}
		case <-c.retry.C:
			c.ringNext(ctx)
		case <-c.maxWait.C:
			if c.rec.FirstResponsibleAgent == "" {
				c.missed(ctx, hotline.MissedNoAnswer)
			}
		}
	}
}

func (c *call) handleAll(ctx context.Context, events []ari.Event) {
	for i, e := range events {
		if c.finished() {
			return
		}
		start := time.Now()
		c.upcoming = events[i+1:]
		c.handle(ctx, e)
		c.upcoming = nil
		c.s.m.observeHandling(e, start)
		if len(c.held) > 0 { // a prompt played meanwhile: keep the order
			c.held = append(c.held, events[i+1:]...)
			return
		}
	}
}

// setup puts the citizen in a bridge of their own, where agents join
// them, and records the citizen's side of the call from now to the hangup:
// prompts, agents, referrals and the survey (see recorder).
func (c *call) setup() error {
	cl := c.s.cli.ARI()
	// Routed first: reconciliation destroys an empty bridge nobody owns.
	c.s.cli.Dispatcher().Route(ari.BridgeKey, c.bridge, c.mb)
	if _, err := cl.Bridge().Create(key(ari.BridgeKey, c.bridge), "mixing", c.rec.ID); err != nil {
		return fmt.Errorf("create bridge %s: %w", c.bridge, err)
	}
	c.rec.BridgeID = c.bridge
	c.persist(context.Background(), false)
	if err := c.s.cli.AddToBridge(c.bridge, c.citizen); err != nil {
		return fmt.Errorf("add citizen to bridge: %w", err)
	}
	if *c.s.cfg.Record {
		r := &recorder{cli: c.s.cli, mb: c.mb, target: c.citizen, name: c.rec.ID, newID: c.nextID}
		c.recorder = r
		if err := r.start(); err != nil {
			// The citizen is not turned away for it; supervisors see a
			// call without a recording, operators this error.
			c.s.m.recordingsFailed.Inc()
			c.s.log.Error("call not recorded", "call", c.rec.ID, "err", err)
			return nil
		}
		c.rec.RecordingName = r.name
		c.rec.SnoopID = r.snoop
		c.persist(context.Background(), false)
	}
	return nil
}

// recordingEndedEarly handles Asterisk ending the call's recording while
// the call goes on: the finished part goes to the archive with the call,
// and the recording continues in a new part.
func (c *call) recordingEndedEarly(ctx context.Context) {
	r := c.recorder
	ended := r.parts[len(r.parts)-1]
	c.archiveRecordings(ctx)
	if c.gone {
		return // the citizen hung up: that is the end, not an early one
	}
	c.s.m.recordingsEndedEarly.Inc()
	err := r.record()
	if err != nil {
		c.s.log.Error("call recording ended early and could not go on", "call", c.rec.ID, "part", ended, "err", err)
	} else {
		c.s.log.Warn("call recording ended early; it goes on in a new part", "call", c.rec.ID, "part", ended, "next", r.live)
	}
	if len(r.parts) > 1 {
		c.rec.RecordingParts = append([]string{}, r.parts...)
	}
	c.rec.SnoopID = r.snoop
	c.persist(ctx, false)
}

// afterHours tells the caller the line is closed and that they will be
// called back, takes an optional voice message, and records the call as
// missed so the callback queue picks it up.
func (c *call) afterHours(ctx context.Context) {
	if c.play(ctx, ari.ChannelKey, c.citizen, c.s.cfg.Prompts.AfterHours) && c.s.cfg.VoicemailMax > 0 {
		name := c.rec.ID + "-vm"
		c.s.cli.Dispatcher().Route(ari.LiveRecordingKey, name, c.mb)
		_, err := c.s.cli.ARI().Channel().Record(key(ari.ChannelKey, c.citizen), name, &ari.RecordingOptions{
			Format: "wav", MaxDuration: c.s.cfg.VoicemailMax, Beep: true, Terminate: "#", Exists: "overwrite"})
		if err != nil {
			c.s.log.Warn("voice message recording failed", "call", c.rec.ID, "err", err)
		} else {
			c.rec.VoicemailName = name
			c.await(ctx, c.s.cfg.VoicemailMax+c.s.cfg.PromptTimeout, func(e ari.Event) bool {
				f, ok := e.(*ari.RecordingFinished)
				return ok && f.Recording.Name == name
			})
		}
		c.s.cli.Dispatcher().Unroute(ari.LiveRecordingKey, name)
	}
	c.finish(ctx, hotline.MissedAfterHours)
}

// missed ends a call nobody took: the citizen, if still there, hears the
// apology and the promise of a callback first (6.1).
func (c *call) missed(ctx context.Context, reason hotline.MissedReason) {
	c.cancelRinging()
	c.stopMOH()
	c.play(ctx, ari.ChannelKey, c.citizen, c.s.cfg.Prompts.Apology)
	c.finish(ctx, reason)
}

// play plays prompt to a channel or bridge and waits until it finishes, the
// prompt timeout passes, or the citizen hangs up. It reports whether the
// citizen is still there.
func (c *call) play(ctx context.Context, kind, id string, prompt Prompt) bool {
	if c.gone {
		return false
	}
	c.flush(ctx)
	if _, err := c.session.play(ctx, kind, id, prompt, c.s.cfg.PromptTimeout); err != nil {
		c.promptFailed(kind, prompt, err)
	}
	return !c.gone
}

func (c *call) promptFailed(kind string, prompt Prompt, err error) {
	if httpStatus(err) == 404 && kind == ari.ChannelKey {
		c.gone = true
	}
	c.s.log.Warn("prompt failed", "call", c.rec.ID, "sound", prompt.Sound, "err", err)
}

func (c *call) startMOH() {
	if err := c.s.cli.ARI().Channel().MOH(key(ari.ChannelKey, c.citizen), c.s.cfg.MOHClass); err != nil {
		c.s.log.Debug("music on hold", "call", c.rec.ID, "err", err)
		return
	}
	c.moh = true
}

func (c *call) stopMOH() {
	if !c.moh || c.gone {
		return
	}
	c.moh = false
	if err := c.s.cli.ARI().Channel().StopMOH(key(ari.ChannelKey, c.citizen)); err != nil {
		c.s.log.Debug("stop music on hold", "call", c.rec.ID, "err", err)
	}
}

// startRinging rings the citizen's responsible agent alone first when they
// have an open matter (sticky routing, 4.1.1), then follows the strategy.
func (c *call) startRinging(ctx context.Context) {
	if *c.s.cfg.Sticky && c.rec.Line == hotline.LineHotline && c.rec.CallerNumber != "" {
		since := c.s.now().Add(-time.Duration(c.s.cfg.StickyDays) * 24 * time.Hour)
		agentID, err := c.s.store.ResponsibleAgent(ctx, c.rec.CallerNumber, since)
		switch {
		case err == nil:
			if a, ok := c.s.roster.ReserveAgent(agentID, c.rec.ID); ok {
				c.tried[a.ID] = true
				if c.ring(ctx, a, c.s.cfg.StickyRing, nil) {
					return
				}
			}
		case hotline.KindOf(err) != hotline.KindNotFound:
			c.s.log.Warn("sticky routing lookup failed", "call", c.rec.ID, "err", err)
		}
	}
	c.ringNext(ctx)
}

// ringNext rings the next agents by the strategy. When everyone has been
// tried, a new round starts after a pause, until the maximum wait ends the
// call. An agent who declined, or was rung RingsPerAgent times, is not
// rung again for this call; when nobody else is on duty, the call is
// missed at once.
func (c *call) ringNext(ctx context.Context) {
	for c.rec.FirstResponsibleAgent == "" && !c.finished() {
		exclude := maps.Clone(c.tried)
		maps.Copy(exclude, c.done)
		agents := c.s.roster.Reserve(c.rec.ID, c.role, c.s.cfg.Strategy, exclude, nil)
		if len(agents) == 0 {
			if c.ringingLegs() > 0 {
				return // wait for the legs ringing now
			}
			if !c.s.onDuty(c.role, c.done) {
				reason := hotline.MissedNoAgent
				if len(c.tried) > 0 || len(c.legs) > 0 {
					reason = hotline.MissedNoAnswer
				}
				c.missed(ctx, reason)
				return
			}
			clear(c.tried) // agents are busy or all tried: next round soon
			c.retry.Reset(c.s.roundPause())
			return
		}
		rang := false
		for _, a := range agents {
			c.tried[a.ID] = true
			rang = c.ring(ctx, a, c.s.cfg.RingTimeout, nil) || rang
		}
		if rang {
			return
		}
	}
}

// ring originates a leg to agent, for a referral when ref is set, and
// reports whether it is ringing.
func (c *call) ring(ctx context.Context, agent hotline.Agent, timeout time.Duration, ref *hotline.Referral) bool {
	kindLetter := byte('a')
	if ref != nil {
		kindLetter = 'r'
	}
	id := c.nextID(kindLetter) + "-" + agent.ID
	c.rings[agent.ID]++
	l := &leg{referral: ref, rec: hotline.CallLeg{CallID: c.rec.ID, AgentID: agent.ID, ChannelID: id, Outcome: hotline.LegRinging, RungAt: c.s.now()}}
	c.mu.Lock()
	c.legs[id] = l
	c.mu.Unlock()
	c.s.cli.Dispatcher().Route(ari.ChannelKey, id, c.mb)
	kind := "agent"
	if ref != nil {
		kind = "referral"
	}
	_, err := c.s.cli.ARI().Channel().Originate(nil, ari.OriginateRequest{
		Endpoint: agent.Endpoint, Timeout: int(math.Ceil(timeout.Seconds())) + 1,
		CallerID: c.rec.CallerRaw, App: c.s.cli.Application(), AppArgs: kind + "," + c.rec.ID + "," + agent.ID,
		ChannelID: id, Originator: c.citizen,
	})
	if err != nil {
		// Asterisk answers 500 "Allocation failed" when the phone is not
		// registered: the agent is offline, whatever the roster thought.
		c.s.log.Warn("could not ring agent", "call", c.rec.ID, "agent", agent.ID, "err", err)
		c.saveLeg(ctx, l, true)
		c.legEnded(l, hotline.LegFailed)
		c.s.cli.Dispatcher().Unroute(ari.ChannelKey, id)
		if httpStatus(err) == 500 {
			c.setAgentState(agent.ID, hotline.AgentOffline)
		}
		c.saveLeg(ctx, l, false)
		return false
	}
	c.saveLeg(ctx, l, true)
	l.timer = time.AfterFunc(timeout, func() {
		select {
		case c.timeouts <- id:
		default: // the call loop drains; a full buffer means it has ended
		}
	})
	return true
}

func (c *call) ringingLegs() int {
	n := 0
	for _, l := range c.legs {
		if !l.gone && !l.answered {
			n++
		}
	}
	return n
}

func (c *call) bridgedAgents() int {
	n := 0
	for _, l := range c.legs {
		if l.bridged && !l.gone {
			n++
		}
	}
	return n
}

func (c *call) handle(ctx context.Context, e ari.Event) {
	if c.recorder != nil {
		switch c.recorder.handle(e) {
		case recorderEndedEarly:
			c.recordingEndedEarly(ctx)
			return
		case recorderNoted:
			return
		}
	}
	switch ev := e.(type) {
	case *ari.StasisStart:
		if l := c.legs[ev.Channel.ID]; l != nil && !l.gone {
			c.legAnswered(ctx, l)
		}
	case *ari.StasisEnd:
		c.channelGone(ctx, ev.Channel.ID, 0)
	case *ari.ChannelDestroyed:
		if ev.Channel.ID == c.citizen && ev.CauseTxt == causeVanished && !c.gone {
			c.gone = true
			c.rec.InterruptedAt = c.s.now()
			c.finish(ctx, hotline.MissedInterrupted)
			return
		}
		c.channelGone(ctx, ev.Channel.ID, ev.Cause)
	}
}

func (c *call) legAnswered(ctx context.Context, l *leg) {
	l.answered = true
	l.rec.AnsweredAt = c.s.now()
	if l.timer != nil {
		l.timer.Stop()
	}
	switch {
	case c.finished() || c.gone:
		l.rec.Outcome = hotline.LegCancelled
		c.hangup(l.rec.ChannelID)
	case l.referral != nil:
		if c.joinBridge(ctx, l) {
			c.endReferral(ctx, l.referral, hotline.ReferralAnswered)
		}
	case c.rec.FirstResponsibleAgent != "":
		// Answered a moment after another agent: the first answer wins.
		l.rec.Outcome = hotline.LegLost
		c.hangup(l.rec.ChannelID)
	default:
		c.connect(ctx, l)
	}
}

// connect makes l the winner: the first agent to answer becomes the call's
// first-responsible agent (3.1) and joins the citizen's bridge; everyone
// else still ringing is cancelled.
func (c *call) connect(ctx context.Context, l *leg) {
	if !c.joinBridge(ctx, l) {
		return
	}
	c.setPhase(hotline.PhaseTalking)
	c.maxWait.Stop()
	c.retry.Stop()
	if err := c.rec.Answer(l.rec.AgentID, l.rec.AnsweredAt); err != nil {
		c.s.log.Error("answer call", "call", c.rec.ID, "err", err)
	}
	c.persist(ctx, false)
	if q := c.s.Callbacks; q != nil && c.rec.CallerNumber != "" {
		if err := q.Answered(context.WithoutCancel(ctx), c.rec.CallerNumber, c.rec.ID); err != nil {
			c.s.log.Error("close callbacks of a citizen who got through", "call", c.rec.ID, "err", err)
		}
	}
	for id, o := range c.legs {
		if o != l && !o.gone && !o.answered && o.referral == nil {
			o.rec.Outcome = hotline.LegCancelled
			c.hangup(id)
		}
	}
}

// joinBridge puts an answered leg in the citizen's bridge and reports
// whether it is there. A leg that hung up before we got to its answer
// never talked with the citizen: it is not the call's agent, and its
// StasisEnd rings on. When that StasisEnd is already here (the call is
// behind on its events) no request is made; otherwise Asterisk answers
// 400 "Channel not found" for a leg that left meanwhile, and the citizen
// hears the hold music again until the next agent answers.
func (c *call) joinBridge(ctx context.Context, l *leg) bool {
	if c.leftStasis(l.rec.ChannelID) {
		c.s.log.Info("answered agent leg hung up before it was bridged; ringing on", "call", c.rec.ID, "agent", l.rec.AgentID,
			"channel", l.rec.ChannelID)
		l.rec.Outcome = hotline.LegFailed
		return false
	}
	start := time.Now()
	c.stopMOH()
	if err := c.s.cli.AddToBridge(c.bridge, l.rec.ChannelID); err != nil {
		l.rec.Outcome = hotline.LegFailed
		if bridgeChannelGone(err) {
			c.s.log.Info("answered agent leg hung up before it was bridged; ringing on", "call", c.rec.ID, "agent", l.rec.AgentID,
				"channel", l.rec.ChannelID, "err", err)
		} else {
			c.s.log.Warn("answered agent leg could not be bridged; ringing on", "call", c.rec.ID, "agent", l.rec.AgentID,
				"channel", l.rec.ChannelID, "err", err)
			c.hangup(l.rec.ChannelID)
		}
		if c.bridgedAgents() == 0 {
			c.startMOH()
		}
		return false
	}
	c.s.m.answerBridge.Observe(time.Since(start).Seconds())
	c.mu.Lock() // monitoring reads which leg talks from other goroutines
	l.bridged = true
	c.mu.Unlock()
	l.rec.Outcome = hotline.LegAnswered
	c.setAgentState(l.rec.AgentID, hotline.AgentOnCall)
	c.saveLeg(ctx, l, false)
	return true
}

func (c *call) channelGone(ctx context.Context, id string, cause int) {
	if id == c.citizen {
		if !c.gone {
			c.gone = true
			c.finish(ctx, hotline.MissedAbandoned)
		}
		return
	}
	l := c.legs[id]
	if l == nil || l.gone {
		return
	}
	if cause != 0 {
		l.rec.Cause = cause
	}
	c.s.cli.Dispatcher().Unroute(ari.ChannelKey, id)
	switch {
	case l.bridged:
		c.legEnded(l, hotline.LegCompleted)
		c.startWrapUp(ctx, l.rec.AgentID)
		c.saveLeg(ctx, l, false)
		c.agentLeft(ctx)
		return
	case l.rec.Outcome == hotline.LegRinging:
		c.legEnded(l, legOutcomeForCause(cause))
		c.ringRefused(ctx, l)
	case l.rec.Outcome == hotline.LegNoAnswer: // our own ring timer ended it
		c.legEnded(l, l.rec.Outcome)
		c.ringRefused(ctx, l)
	default:
		c.legEnded(l, l.rec.Outcome)
	}
	c.saveLeg(ctx, l, false)
	if l.referral != nil {
		// The target did not take it: the citizen stays with the referring
		// agent, and the target owes a handover (5.2.2).
		c.endReferral(ctx, l.referral, hotline.ReferralHandover)
		if c.bridgedAgents() == 0 {
			c.agentLeft(ctx)
		}
		return
	}
	if c.rec.FirstResponsibleAgent == "" && !c.finished() {
		c.ringNext(ctx)
	}
}

// ringRefused handles an agent who was available and declined the ring or
// let it ring out: the roster only rings available agents, so every such
// leg is a refusal (7.1.5). A decline ends the agent's part in this call;
// so does the last ring RingsPerAgent allows. The refusal is recorded as a
// violation, and refusals in a row pause the agent (Calls.refused).
func (c *call) ringRefused(ctx context.Context, l *leg) {
	agent := l.rec.AgentID
	kind := hotline.ViolationRingNotAnswered
	switch l.rec.Outcome {
	case hotline.LegBusy:
		kind = hotline.ViolationRingDeclined
		c.done[agent] = true
	case hotline.LegNoAnswer:
		if c.rings[agent] >= c.s.cfg.RingsPerAgent {
			c.done[agent] = true
		}
	default:
		return
	}
	c.s.refused(ctx, hotline.Violation{Kind: kind, AgentID: agent, CallID: c.rec.ID, At: c.s.now(),
		Detail: fmt.Sprintf("来电 %s（%s）振铃 %s 未接听", c.rec.ID, hotline.MaskNumber(c.rec.CallerRaw), l.rec.ChannelID)})
}

func (c *call) addViolation(ctx context.Context, v hotline.Violation) { c.s.addViolation(ctx, v) }

// legEnded marks l over with outcome and frees its agent's reservation.
func (c *call) legEnded(l *leg, outcome hotline.LegOutcome) {
	c.mu.Lock()
	l.gone = true
	c.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
	}
	l.rec.Outcome = outcome
	if l.rec.EndedAt.IsZero() {
		l.rec.EndedAt = c.s.now()
	}
	c.s.roster.Release(l.rec.AgentID, c.rec.ID)
}

// agentLeft runs when an agent leaves the bridge. While another agent or a
// ringing referral target remains, the call goes on; otherwise the citizen,
// if still there, is asked to rate the service (7.2) and the call ends.
func (c *call) agentLeft(ctx context.Context) {
	if c.bridgedAgents() > 0 || c.finished() {
		return
	}
	for _, l := range c.legs {
		if l.referral != nil && !l.gone && !l.answered {
			c.startMOH() // wait for the referral target
			return
		}
	}
	if c.rec.Line == hotline.LineHotline && !c.gone {
		c.setPhase(hotline.PhaseSurvey)
		c.persist(ctx, false)
		c.survey(ctx)
	}
	c.finish(ctx, "")
}

// survey asks the citizen to rate the service by a digit from 1 (非常满意)
// to 5 (非常不满意). A wrong digit gets one retry; no digit in time or a
// hang-up leaves the call "not rated" (score 0).
func (c *call) survey(ctx context.Context) {
	score := 0
	prompt := c.s.cfg.Prompts.Survey
	for range 2 {
		digit, ok := c.collectDigit(ctx, prompt)
		if !ok {
			break
		}
		if n, err := strconv.Atoi(digit); err == nil && hotline.Satisfaction(n).Valid() {
			score = n
			break
		}
		prompt = c.s.cfg.Prompts.SurveyInvalid
	}
	if c.leftLive() {
		return // not asked to the end: the next process asks again
	}
	rating := hotline.Rating{CallID: c.rec.ID, AgentID: c.rec.FirstResponsibleAgent, Score: hotline.Satisfaction(score), RatedAt: c.s.now()}
	c.rec.Rating = &rating
	if err := c.s.store.SaveRating(context.WithoutCancel(ctx), rating); err != nil {
		c.s.m.storeErrors.Inc()
		c.s.log.Error("store rating", "call", c.rec.ID, "err", err)
	}
	c.s.m.ratings.WithLabelValues(strconv.Itoa(score)).Inc()
	if score > 0 {
		c.play(ctx, ari.ChannelKey, c.citizen, c.s.cfg.Prompts.SurveyThanks)
	}
}

// collectDigit plays prompt and returns the first digit the citizen
// presses, during the prompt or within the survey timeout after it.
func (c *call) collectDigit(ctx context.Context, prompt Prompt) (string, bool) {
	c.flush(ctx)
	pbID, err := c.startPlayback(ari.ChannelKey, c.citizen, prompt)
	if err != nil {
		c.promptFailed(ari.ChannelKey, prompt, err)
	}
	defer func() {
		if pbID != "" {
			c.s.cli.Dispatcher().Unroute(ari.PlaybackKey, pbID)
		}
	}()
	isDigit := func(e ari.Event) (string, bool) {
		d, ok := e.(*ari.ChannelDtmfReceived)
		if !ok || d.Channel.ID != c.citizen {
			return "", false
		}
		return d.Digit, true
	}
	if pbID != "" {
		e := c.await(ctx, c.s.cfg.PromptTimeout, func(e ari.Event) bool {
			_, digit := isDigit(e)
			f, done := e.(*ari.PlaybackFinished)
			return digit || (done && f.Playback.ID == pbID)
		})
		if d, ok := isDigit(e); ok {
			_ = c.s.cli.ARI().Playback().Stop(key(ari.PlaybackKey, pbID)) // barge-in
			return d, true
		}
		if c.gone {
			return "", false
		}
	}
	e := c.await(ctx, c.s.cfg.SurveyTimeout, func(e ari.Event) bool { _, ok := isDigit(e); return ok })
	return isDigit(e)
}

// refer runs on the call goroutine for Calls.Refer.
func (c *call) refer(ctx context.Context, fromAgent, toAgent, toDepartment string) (hotline.Referral, error) {
	const op = "ari.Refer"
	if c.finished() || c.gone {
		return hotline.Referral{}, hotline.Errorf(hotline.KindConflict, op, "call %s has ended", c.rec.ID)
	}
	inBridge := map[string]bool{}
	for _, l := range c.legs {
		if l.bridged && !l.gone {
			inBridge[l.rec.AgentID] = true
		}
	}
	if !inBridge[fromAgent] {
		return hotline.Referral{}, hotline.Errorf(hotline.KindConflict, op, "agent %q is not talking with the citizen on call %s", fromAgent, c.rec.ID)
	}
	var target hotline.Agent
	switch {
	case toAgent != "":
		if inBridge[toAgent] {
			return hotline.Referral{}, hotline.Errorf(hotline.KindInvalid, op, "agent %s is already on call %s", toAgent, c.rec.ID)
		}
		if _, known := c.s.roster.Get(toAgent); !known {
			return hotline.Referral{}, hotline.Errorf(hotline.KindNotFound, op, "agent %q not found", toAgent)
		}
		a, ok := c.s.roster.ReserveAgent(toAgent, c.rec.ID)
		if !ok {
			return hotline.Referral{}, hotline.Errorf(hotline.KindConflict, op, "agent %s is not available", toAgent)
		}
		target = a
	default:
		picked := c.s.roster.Reserve(c.rec.ID, hotline.RoleAgent, hotline.LeastRecent, inBridge, hotline.InDepartment(toDepartment))
		if len(picked) == 0 {
			return hotline.Referral{}, hotline.Errorf(hotline.KindConflict, op, "no agent of department %q is available", toDepartment)
		}
		target = picked[0]
	}
	// A call that keeps coming back to agents who passed it on is being
	// shirked (推诿): count the referrals that returned it to an agent who
	// had referred it away, this one included.
	var earlier []*hotline.Referral
	for _, l := range c.legs {
		if l.referral != nil {
			earlier = append(earlier, l.referral)
		}
	}
	sort.Slice(earlier, func(i, j int) bool { return earlier[i].RequestedAt.Before(earlier[j].RequestedAt) })
	returns, passedOn := 0, map[string]bool{}
	for _, r := range earlier {
		if passedOn[r.ToAgent] {
			returns++
		}
		passedOn[r.FromAgent] = true
	}
	passedOn[fromAgent] = true
	if passedOn[target.ID] {
		returns++
	}
	if returns > c.s.cfg.ReferralLoopLimit {
		c.addViolation(ctx, hotline.Violation{Kind: hotline.ViolationReferralLoop, AgentID: fromAgent, CallID: c.rec.ID, At: c.s.now(),
			Detail: fmt.Sprintf("来电 %s 第 %d 次转回已转出的坐席 %s", c.rec.ID, returns, target.ID)})
	}
	ref := &hotline.Referral{CallID: c.rec.ID, FromAgent: fromAgent, ToAgent: target.ID, ToDepartment: toDepartment,
		Outcome: hotline.ReferralRinging, RequestedAt: c.s.now()}
	id, err := c.s.store.AddReferral(context.WithoutCancel(ctx), *ref)
	if err != nil {
		c.s.roster.Release(target.ID, c.rec.ID)
		return hotline.Referral{}, err
	}
	ref.ID = id
	if !c.ring(ctx, target, c.s.cfg.RingTimeout, ref) {
		c.endReferral(ctx, ref, hotline.ReferralHandover)
	}
	c.s.log.Info("call referred", "call", c.rec.ID, "from", fromAgent, "to", target.ID, "department", toDepartment)
	return *ref, nil
}

// cancelRinging hangs up every leg still ringing.
func (c *call) cancelRinging() {
	for id, l := range c.legs {
		if !l.gone && !l.answered {
			if l.referral != nil {
				c.endReferral(context.Background(), l.referral, hotline.ReferralCancelled)
			}
			c.legEnded(l, hotline.LegCancelled)
			c.hangup(id)
		}
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

// finish ends the call once: the end is decided and stored first (final
// state and times, phase ending), then endSteps release and hand on the
// rest. reason applies only when no agent answered.
func (c *call) finish(ctx context.Context, reason hotline.MissedReason) {
	c.endAt(ctx, c.s.now(), reason)
}

// endAt ends the call as at at; see finish.
func (c *call) endAt(ctx context.Context, at time.Time, reason hotline.MissedReason) {
	if c.finished() || c.leftLive() {
		return
	}
	c.maxWait.Stop()
	c.retry.Stop()
	c.rec.End(at, reason)
	c.setPhase(hotline.PhaseEnding)
	c.endLegs(ctx)
	c.persist(ctx, false)
	c.endSteps(ctx)
}

// endSteps finish a call whose end is stored (phase ending), one job
// each. Every step may run again without harm (a hangup or delete of
// what is gone answers 404, the archive and the callback queue take a
// call once), so reconciliation runs them again for a call whose process
// died in the middle. The phase turns ended last.
func (c *call) endSteps(ctx context.Context) {
	if !c.gone {
		c.hangup(c.citizen)
	}
	c.stopRecording()
	c.deleteBridge()
	c.archiveRecordings(ctx)
	if c.rec.VoicemailName != "" {
		c.s.recordingStopped(ctx, c.rec.VoicemailName, c.rec.ID)
	}
	c.handOver(ctx)
	c.setPhase(hotline.PhaseEnded)
	c.persist(ctx, false)
	c.report()
}

// endLegs cancels the legs still ringing, hangs up the agents still
// talking (they go to wrap-up), and stores every leg and referral.
func (c *call) endLegs(ctx context.Context) {
	c.cancelRinging()
	for id, l := range c.legs {
		switch {
		case l.gone:
		case l.bridged:
			c.legEnded(l, hotline.LegCompleted)
			c.startWrapUp(ctx, l.rec.AgentID)
			c.hangup(id)
		default: // answered too late and already hung up: free the agent now
			c.legEnded(l, l.rec.Outcome)
		}
	}
	for _, l := range c.legs {
		c.saveLeg(ctx, l, false)
		if l.referral != nil {
			if l.referral.EndedAt.IsZero() {
				l.referral.EndedAt = c.s.now()
			}
			c.saveReferral(ctx, l.referral)
		}
	}
}

// stopRecording ends the recording with the call. The citizen's hangup
// ends the snoop on their channel and its recording (trace 15): then there
// is nothing to stop, and two requests would only be answered 404.
func (c *call) stopRecording() {
	if c.recorder == nil {
		return
	}
	if c.gone {
		c.recorder.stopped = true
		return
	}
	if err := c.recorder.stop(); err != nil {
		c.s.log.Warn("stop call recording", "call", c.rec.ID, "err", err)
	}
}

func (c *call) deleteBridge() {
	if c.rec.BridgeID == "" {
		return
	}
	if err := c.s.cli.ARI().Bridge().Delete(key(ari.BridgeKey, c.rec.BridgeID)); err != nil && httpStatus(err) != 404 {
		c.s.log.Debug("delete bridge", "call", c.rec.ID, "err", err)
	}
}

// archiveRecordings hands the parts of the call's recording not handed
// yet to the archive with the call.
func (c *call) archiveRecordings(ctx context.Context) {
	if r := c.recorder; r != nil {
		for _, p := range r.parts[r.archived:] {
			c.s.recordingStopped(ctx, p, c.rec.ID)
		}
		r.archived = len(r.parts)
	}
}

// handOver passes a missed call to the callback queue (6.1).
func (c *call) handOver(ctx context.Context) {
	final := c.final()
	if q := c.s.Callbacks; q != nil && final.State == hotline.CallMissed {
		offeredTo := ""
		if len(final.Legs) > 0 {
			offeredTo = final.Legs[0].AgentID
		}
		// A callback is owed (6.1); the queue keeps uncallable numbers on record too.
		if err := q.MissedCall(context.WithoutCancel(ctx), final, offeredTo); err != nil {
			c.s.log.Error("hand missed call to the callback queue", "call", c.rec.ID, "err", err)
		}
	}
}

// final is the call's record with its legs and referrals.
func (c *call) final() hotline.Call {
	final := c.rec
	for _, l := range c.legs {
		final.Legs = append(final.Legs, l.rec)
		if l.referral != nil {
			final.Referrals = append(final.Referrals, *l.referral)
		}
	}
	sort.Slice(final.Legs, func(i, j int) bool { return final.Legs[i].RungAt.Before(final.Legs[j].RungAt) })
	return final
}

// report tells OnEnd, the metrics and the log of the ended call.
func (c *call) report() {
	if c.s.OnEnd != nil {
		c.s.OnEnd(c.final())
	}
	c.s.m.calls.WithLabelValues(string(c.rec.Line), string(c.rec.State), string(c.rec.MissedReason)).Inc()
	c.s.log.Info("call ended", "call", c.rec.ID, "channel", c.citizen, "line", c.rec.Line, "caller", hotline.MaskNumber(c.rec.CallerNumber), "state", c.rec.State,
		"reason", c.rec.MissedReason, "agent", c.rec.FirstResponsibleAgent, "wait_s", c.rec.WaitSeconds(), "talk_s", c.rec.TalkSeconds())
}

func (c *call) hangup(id string) {
	err := c.s.cli.ARI().Channel().Hangup(key(ari.ChannelKey, id), "normal")
	if err != nil && httpStatus(err) != 404 {
		c.s.log.Debug("hangup", "channel", id, "err", err)
	}
}

// persist stores the call's record: created the first time, then
// updated together with the writes of the step (see flush).
func (c *call) persist(ctx context.Context, create bool) {
	ctx = context.WithoutCancel(ctx)
	if create {
		if err := c.s.store.CreateCall(ctx, c.rec); err != nil {
			c.s.m.storeErrors.Inc()
			c.s.log.Error("store call", "call", c.rec.ID, "err", err)
		}
		return
	}
	rec := c.rec
	c.save(ctx, &rec)
}

// flush stores the writes of the step that no persist took along: before
// the call waits for Asterisk, so what happened is on disk meanwhile.
func (c *call) flush(ctx context.Context) {
	if len(c.pendLegs) > 0 || len(c.pendAgents) > 0 {
		c.save(context.WithoutCancel(ctx), nil)
	}
}

// save stores rec (nil: the call's row is unchanged) with the pending
// legs and agent states, in one transaction. A failed write is logged and
// counted, not retried, as every write of the call flow.
func (c *call) save(ctx context.Context, rec *hotline.Call) {
	pend, agents := c.pendLegs, c.pendAgents
	c.pendLegs, c.pendAgents = nil, nil
	legs := make([]hotline.CallLeg, len(pend))
	for i, l := range pend {
		legs[i] = l.rec
	}
	if err := c.s.store.SaveCall(ctx, rec, legs, agents); err != nil {
		c.s.m.storeErrors.Inc()
		c.s.log.Error("store call", "call", c.rec.ID, "legs", len(legs), "agent_states", len(agents), "err", err)
		return
	}
	for i, l := range pend {
		l.saved = legs[i]
	}
}

// saveLeg stores a new leg at once (its id is needed), and queues a
// changed leg for the step's transaction (persist, flush).
func (c *call) saveLeg(ctx context.Context, l *leg, create bool) {
	if create {
		id, err := c.s.store.AddLeg(context.WithoutCancel(ctx), l.rec)
		if err != nil {
			c.s.m.storeErrors.Inc()
			c.s.log.Error("store call leg", "call", c.rec.ID, "channel", l.rec.ChannelID, "err", err)
			return
		}
		l.rec.ID = id
		l.saved = l.rec
		return
	}
	if l.rec.ID == 0 || l.rec == l.saved {
		return
	}
	for _, p := range c.pendLegs {
		if p == l {
			return
		}
	}
	c.pendLegs = append(c.pendLegs, l)
}

// setAgentState changes an agent's state in the roster at once and
// queues its write for the step's transaction.
func (c *call) setAgentState(id string, state hotline.AgentState) {
	if _, ok := c.s.roster.SetState(id, state, ""); !ok {
		return
	}
	c.pendAgents = append(c.pendAgents, hotline.AgentStateChange{AgentID: id, State: state, At: c.s.now()})
}

// startWrapUp is Calls.startWrapUp with the agent's state written in the
// step's transaction.
func (c *call) startWrapUp(ctx context.Context, agentID string) {
	c.setAgentState(agentID, hotline.AgentWrapUp)
	c.s.wrapUpTimer(ctx, agentID)
}

// endReferral records how a referral turned out. An answered referral
// keeps running (no end time) until the call ends.
func (c *call) endReferral(ctx context.Context, r *hotline.Referral, outcome hotline.ReferralOutcome) {
	r.Outcome = outcome
	if outcome != hotline.ReferralAnswered {
		r.EndedAt = c.s.now()
	}
	c.s.m.referrals.WithLabelValues(string(outcome)).Inc()
	c.saveReferral(ctx, r)
}

func (c *call) saveReferral(ctx context.Context, r *hotline.Referral) {
	if r.ID == 0 {
		return
	}
	if err := c.s.store.UpdateReferral(context.WithoutCancel(ctx), *r); err != nil {
		c.s.m.storeErrors.Inc()
		c.s.log.Error("store referral", "call", c.rec.ID, "referral", r.ID, "err", err)
	}
}

// cleanup removes the call's routes and forgets it.
func (c *call) cleanup() {
	if !c.left { // a call left live is left as stored
		c.flush(context.Background())
	}
	d := c.s.cli.Dispatcher()
	d.Unroute(ari.ChannelKey, c.citizen)
	d.Unroute(ari.BridgeKey, c.bridge)
	if c.recorder != nil {
		c.recorder.cleanup()
	}
	for id := range c.legs {
		d.Unroute(ari.ChannelKey, id)
	}
	c.mb.Close()
	c.setWaiting(false)
	c.s.mu.Lock()
	delete(c.s.active, c.rec.ID)
	close(c.s.idle) // Drain waits for calls to end
	c.s.idle = make(chan struct{})
	c.s.mu.Unlock()
	close(c.ended) // a referral queued meanwhile is answered
	c.s.m.active.Dec()
}
