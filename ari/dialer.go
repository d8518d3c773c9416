package ari

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"hotline"
)

// DialerConfig says how callbacks reach citizens.
type DialerConfig struct {
	// Trunk is the dial string of an outside number; %s stands for the
	// number. Default "PJSIP/%s@trunk".
	Trunk string `yaml:"trunk"`
	// CallerID is the number the citizen sees: the published hotline, so a
	// citizen who misses the callback can call back the number they know.
	// Default "12345".
	CallerID string `yaml:"caller_id"`
	// AgentRing is how long the agent's phone rings. Default 20s.
	AgentRing time.Duration `yaml:"agent_ring"`
	// CitizenRing is how long the citizen's phone rings. Default 30s.
	CitizenRing time.Duration `yaml:"citizen_ring"`
	// AgentWait is how long a task waits when no agent can make the call
	// now. Default 1m.
	AgentWait time.Duration `yaml:"agent_wait"`
	// RefusalMemory is how long the dialer remembers an agent's callback
	// dials left unanswered in a row: while they number
	// callbacks.agent_tries or more, the agent is offered no callback and
	// their tasks go to other agents. Answering one clears them. Default
	// 10m.
	RefusalMemory time.Duration `yaml:"refusal_memory"`
	// MaxCall is the longest a callback or reply call may last, ringing
	// included: then it is hung up and settled like one that ended.
	// Default 2h.
	MaxCall time.Duration `yaml:"max_call"`
}

// SetDefaults fills unset fields.
func (c *DialerConfig) SetDefaults() {
	if c.Trunk == "" {
		c.Trunk = "PJSIP/%s@trunk"
	}
	if c.CallerID == "" {
		c.CallerID = "12345"
	}
	if c.AgentRing == 0 {
		c.AgentRing = 20 * time.Second
	}
	if c.CitizenRing == 0 {
		c.CitizenRing = 30 * time.Second
	}
	if c.AgentWait == 0 {
		c.AgentWait = time.Minute
	}
	if c.RefusalMemory == 0 {
		c.RefusalMemory = 10 * time.Minute
	}
	if c.MaxCall == 0 {
		c.MaxCall = 2 * time.Hour
	}
}

// Validate reports the first bad field, named by its YAML key under "dialer.".
func (c DialerConfig) Validate() error {
	switch {
	case strings.Count(c.Trunk, "%s") != 1 || !strings.Contains(c.Trunk, "/"):
		return fmt.Errorf("dialer.trunk: %q must look like PJSIP/%%s@trunk, with one %%s for the number", c.Trunk)
	case c.CallerID == "":
		return fmt.Errorf("dialer.caller_id: must not be empty")
	case c.AgentRing < 100*time.Millisecond:
		return fmt.Errorf("dialer.agent_ring: %s is shorter than 100ms", c.AgentRing)
	case c.CitizenRing < 100*time.Millisecond:
		return fmt.Errorf("dialer.citizen_ring: %s is shorter than 100ms", c.CitizenRing)
	case c.AgentWait <= 0:
		return fmt.Errorf("dialer.agent_wait: must be positive")
	case c.RefusalMemory < 0:
		return fmt.Errorf("dialer.refusal_memory: must not be negative")
	case c.MaxCall < c.AgentRing+c.CitizenRing:
		return fmt.Errorf("dialer.max_call: %s is shorter than the two rings", c.MaxCall)
	}
	return nil
}

// CallbackLease is a claimed callback task as the dialer sees it: every
// change goes through the lease, so a dialer that lost its claim (another
// instance took the task after the lease ran out) can change nothing.
type CallbackLease interface {
	// HandOver passes the task to agentID, who becomes responsible, before
	// they dial it: its responsible agent would not take it.
	HandOver(ctx context.Context, agentID string) error
	// Start records a new attempt by agentID.
	Start(ctx context.Context, agentID string) (hotline.CallbackAttempt, error)
	// Update records the attempt's progress (answer times, recording).
	Update(ctx context.Context, a hotline.CallbackAttempt) error
	// Finish ends the attempt with outcome and applies the callback rules.
	Finish(ctx context.Context, a hotline.CallbackAttempt, outcome hotline.AttemptOutcome) error
	// Release gives the task back without an attempt, due again at next.
	Release(ctx context.Context, next time.Time) error
	// Extend keeps the claim while a long call goes on.
	Extend(ctx context.Context) error
}

// Dialer makes callback calls (6.1): it rings the task's agent first, tells
// them what the call is, dials the citizen with the hotline's caller ID,
// plays the apology to the citizen and only then bridges the two, recording
// the whole call. Each attempt runs in its own goroutine.
type Dialer struct {
	calls  *Calls
	cli    *Client
	cfg    DialerConfig
	policy hotline.CallbackPolicy
	cal    hotline.WorkingTime
	log    *slog.Logger
	now    func() time.Time
	// LeaseRefresh is how often a call in progress extends its claim.
	LeaseRefresh time.Duration

	attempts *prometheus.CounterVec
	wg       sync.WaitGroup

	mu       sync.Mutex
	refusals map[string]refusals // agent id → callback dials left unanswered in a row
}

// refusals are an agent's callback dials left unanswered in a row, and when
// the last one was.
type refusals struct {
	count int
	last  time.Time
}

// NewDialer builds the dialer on the call flow's client, roster and store.
func NewDialer(calls *Calls, cfg DialerConfig, policy hotline.CallbackPolicy, cal hotline.WorkingTime, reg prometheus.Registerer) (*Dialer, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	policy.SetDefaults()
	d := &Dialer{calls: calls, cli: calls.cli, cfg: cfg, policy: policy, cal: cal, log: calls.log.With("component", "dialer"), now: calls.now,
		LeaseRefresh: 30 * time.Second, refusals: map[string]refusals{},
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_callback_dials_total", Help: "Callback attempts made by this dialer, by outcome."}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(d.attempts)
	}
	return d, nil
}

// Dial makes one attempt on a claimed callback task in the background: the
// citizen hears the apology before being bridged (6.1).
func (d *Dialer) Dial(ctx context.Context, task hotline.CallbackTask, lease CallbackLease) {
	prompts := d.calls.cfg.Prompts
	d.start(ctx, dialJob{key: taskKey(task.ID), idBase: "cb" + strconv.FormatInt(task.ID, 10), task: task,
		greeting: prompts.CallbackApology, whisper: prompts.CallbackWhisper, passable: true}, lease)
}

// ReplyCall calls a citizen back with a promised reply (6.2) in the
// background: the promise's owner first, then the citizen, who hears the
// reply greeting before being bridged; recorded like a callback. The lease
// records the attempt and decides what a connected call fulfils.
func (d *Dialer) ReplyCall(ctx context.Context, p hotline.Promise, lease CallbackLease) {
	prompts := d.calls.cfg.Prompts
	task := hotline.CallbackTask{ID: p.ID, Number: p.Number, AgentID: p.AgentID, Deadline: p.Deadline}
	d.start(ctx, dialJob{key: "reply-" + strconv.FormatInt(p.ID, 10), idBase: "rp" + strconv.FormatInt(p.ID, 10), task: task,
		greeting: prompts.ReplyGreeting, whisper: prompts.ReplyWhisper}, lease)
}

// dialJob is one outbound conversation: who to call, how agents are
// reserved for it, and what the two parties hear first.
type dialJob struct {
	key      string // roster reservation key
	idBase   string // channel, bridge and recording names start with it
	task     hotline.CallbackTask
	greeting Prompt // to the citizen, before the bridge
	whisper  Prompt // to the agent, before the citizen is dialed
	// passable: a callback task, which goes to another agent when its
	// responsible agent will not take it. A reply call stays with the
	// promise's owner (or a colleague near the deadline).
	passable bool
}

// start runs the attempt on ctx, bounded by MaxCall: the caller's ctx
// must be one that stopping the service cancels (the lease's), so a stop
// never waits on a call without end; the attempt is then settled as one
// that ended (lease.Finish).
func (d *Dialer) start(ctx context.Context, job dialJob, lease CallbackLease) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ctx, cancel := context.WithTimeout(ctx, d.cfg.MaxCall)
		defer cancel()
		d.dial(ctx, job, lease)
	}()
}

// Wait blocks until every attempt in progress has ended.
func (d *Dialer) Wait() { d.wg.Wait() }

func (d *Dialer) dial(ctx context.Context, job dialJob, lease CallbackLease) {
	task := job.task
	if err := d.cli.Ready(); err != nil {
		// Nothing can be dialed without Asterisk; that is not the citizen's attempt.
		if err := lease.Release(ctx, d.now().Add(min(d.cfg.AgentWait, 10*time.Second))); err != nil {
			d.log.Warn("release callback task", "task", task.ID, "err", err)
		}
		return
	}
	agent, handover, ok := d.pickAgent(job)
	if !ok {
		if err := lease.Release(ctx, d.now().Add(d.cfg.AgentWait)); err != nil {
			d.log.Warn("release callback task", "task", task.ID, "err", err)
		}
		return
	}
	if handover {
		if err := lease.HandOver(ctx, agent.ID); err != nil {
			d.calls.roster.Release(agent.ID, job.key)
			d.log.Warn("hand over callback task", "task", task.ID, "to", agent.ID, "err", err)
			if err := lease.Release(ctx, d.now()); err != nil {
				d.log.Warn("release callback task", "task", task.ID, "err", err)
			}
			return
		}
	}
	rec, err := lease.Start(ctx, agent.ID)
	if err != nil {
		d.calls.roster.Release(agent.ID, job.key)
		d.log.Warn("start callback attempt", "task", task.ID, "err", err)
		return
	}
	a := &attempt{d: d, job: job, task: task, lease: lease, agent: agent, rec: rec}
	a.idBase = job.idBase + "-" + strconv.FormatInt(rec.ID, 10)
	a.session = session{cli: d.cli, mb: NewMailbox(), idBase: a.idBase}
	outcome := a.run(ctx)
	a.rec.EndedAt = d.now()
	d.attempts.WithLabelValues(string(outcome)).Inc()
	switch {
	case a.refused:
		d.noteRefusal(agent.ID)
		a.rec.Cause = a.agentCause
	case !a.rec.AgentAnsweredAt.IsZero():
		d.noteAnswer(agent.ID)
	}
	if err := lease.Finish(context.WithoutCancel(ctx), a.rec, outcome); err != nil {
		d.log.Warn("finish callback attempt", "task", task.ID, "attempt", rec.ID, "err", err)
	}
	d.log.Info("outbound attempt ended", "job", job.idBase, "attempt", rec.ID, "agent", agent.ID, "number", hotline.MaskNumber(task.Number),
		"outcome", outcome, "greeting_finished", a.rec.ApologyFinishedAt, "bridged", a.rec.BridgedAt)
}

// taskKey is how callback attempts reserve agents in the roster, apart
// from inbound call ids.
func taskKey(id int64) string { return "callback-" + strconv.FormatInt(id, 10) }

// plan says who may make the call of job now: own, its responsible agent,
// unless passed over; others, any other free agent. A callback task is
// handed over (handover: the one who dials becomes responsible) when its
// responsible agent left callbacks.agent_tries of its dials unanswered, or
// as many callback dials in a row of any task (counted here, for
// refusal_memory). A task with no responsible agent, or whose deadline is
// near (callbacks.any_agent_within), may go to any free agent, who helps
// without becoming responsible. Agents refusing callbacks are offered none.
func (d *Dialer) plan(job dialJob) (own string, others, handover bool, refusing map[string]bool) {
	task := job.task
	if job.passable {
		refusing = d.refusing()
	}
	switch {
	case task.AgentID == "":
		return "", true, false, refusing
	case job.passable && d.policy.HandsOver(task, d.refusalsOf(task.AgentID)):
		return "", true, true, refusing
	}
	return task.AgentID, d.policy.AnyAgentMay(task, d.now(), d.cal), false, refusing
}

// pickAgent reserves who makes the call of job now (plan): its responsible
// agent when free, else another free agent when the task is handed over or
// may go to anyone; false when nobody may now.
func (d *Dialer) pickAgent(job dialJob) (agent hotline.Agent, handover, ok bool) {
	own, others, handover, refusing := d.plan(job)
	if own != "" {
		if a, ok := d.calls.roster.ReserveAgent(own, job.key); ok {
			return a, false, true
		}
	}
	if !others {
		return hotline.Agent{}, false, false // wait for the responsible agent
	}
	exclude := maps.Clone(refusing)
	if exclude == nil {
		exclude = map[string]bool{}
	}
	if handover {
		exclude[job.task.AgentID] = true
	}
	// Someone who has not just left a callback unanswered, if anyone.
	wary := maps.Clone(exclude)
	if job.passable {
		maps.Copy(wary, d.refusedLately())
	}
	for _, ex := range []map[string]bool{wary, exclude} {
		if picked := d.calls.roster.Reserve(job.key, hotline.RoleAgent, hotline.LeastRecent, ex, nil); len(picked) > 0 {
			return picked[0], handover, true
		}
	}
	return hotline.Agent{}, false, false
}

// Free is how many agents could start a callback now: available, not
// reserved, and not refusing callbacks (callback.Agents).
func (d *Dialer) Free() int {
	refusing := d.refusing()
	n := 0
	for _, a := range d.calls.roster.Free(hotline.RoleAgent) {
		if !refusing[a.ID] {
			n++
		}
	}
	return n
}

// Takes reports whether a free agent would make task's call now, as
// pickAgent would choose, without reserving anyone (callback.Agents); when
// not, the task is worth asking about again after agent_wait.
func (d *Dialer) Takes(task hotline.CallbackTask) (bool, time.Duration) {
	job := dialJob{task: task, passable: true}
	own, others, handover, refusing := d.plan(job)
	for _, a := range d.calls.roster.Free(hotline.RoleAgent) {
		switch {
		case a.ID == own:
			return true, 0
		case others && !refusing[a.ID] && !(handover && a.ID == task.AgentID):
			return true, 0
		}
	}
	return false, d.cfg.AgentWait
}

// refusalsOf is how many callback dials in a row agent left unanswered
// within refusal_memory.
func (d *Dialer) refusalsOf(agent string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.refusals[agent]
	if d.now().Sub(r.last) > d.cfg.RefusalMemory {
		return 0
	}
	return r.count
}

// refusedLately returns the agents who left their last callback dial
// unanswered within refusal_memory.
func (d *Dialer) refusedLately() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]bool{}
	for id, r := range d.refusals {
		if r.count > 0 && d.now().Sub(r.last) <= d.cfg.RefusalMemory {
			out[id] = true
		}
	}
	return out
}

// refusing returns the agents offered no callback now: they left
// callbacks.agent_tries dials in a row unanswered within refusal_memory.
func (d *Dialer) refusing() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]bool{}
	now := d.now()
	for id, r := range d.refusals {
		switch {
		case now.Sub(r.last) > d.cfg.RefusalMemory:
			delete(d.refusals, id)
		case r.count >= d.policy.AgentTries:
			out[id] = true
		}
	}
	return out
}

func (d *Dialer) noteRefusal(agent string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.refusals[agent]
	if d.now().Sub(r.last) > d.cfg.RefusalMemory {
		r.count = 0
	}
	r.count++
	r.last = d.now()
	d.refusals[agent] = r
	if r.count == d.policy.AgentTries {
		d.log.Warn("agent left callbacks unanswered: their tasks go to other agents for a while",
			"agent", agent, "in_a_row", r.count, "for", d.cfg.RefusalMemory)
	}
}

func (d *Dialer) noteAnswer(agent string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.refusals, agent)
}

// AttemptLive reports whether Asterisk still has a channel of attempt a,
// which a dialer left mid-dial when its process died (callback.Probe). The
// channel ids are the attempt's own: cb<task>-<attempt>-agent and
// -citizen.
func (d *Dialer) AttemptLive(_ context.Context, a hotline.CallbackAttempt) (bool, error) {
	if err := d.cli.Ready(); err != nil {
		return false, err
	}
	base := "cb" + strconv.FormatInt(a.TaskID, 10) + "-" + strconv.FormatInt(a.ID, 10)
	for _, leg := range []string{"-agent", "-citizen"} {
		_, err := d.cli.ARI().Channel().Get(key(ari.ChannelKey, base+leg)).Data()
		switch {
		case err == nil:
			return true, nil
		case httpStatus(err) != 404:
			return false, fmt.Errorf("ask Asterisk for channel %s: %w", base+leg, err)
		}
	}
	return false, nil
}

// attempt is one callback dial, owned by its goroutine.
type attempt struct {
	session
	refused    bool // the agent's phone rang and was declined or not answered
	agentCause int  // the Q.850 cause of the agent's leg when it refused
	d          *Dialer
	job        dialJob
	task       hotline.CallbackTask
	lease      CallbackLease
	agent      hotline.Agent
	rec        hotline.CallbackAttempt
	idBase     string
	agentCh    string
	citCh      string
	bridge     string
}

func (a *attempt) run(ctx context.Context) hotline.AttemptOutcome {
	defer a.cleanup()
	a.agentCh, a.citCh, a.bridge = a.idBase+"-agent", a.idBase+"-citizen", a.idBase+"-bridge"

	// 1. The agent first: a callback never leaves a citizen waiting for staff.
	if !a.originate(a.agentCh, a.agent.Endpoint, a.task.Number, "callback-agent", a.d.cfg.AgentRing) {
		a.d.calls.roster.Release(a.agent.ID, a.job.key)
		return hotline.AttemptAgentNoAnswer
	}
	if cause, answered := a.waitAnswer(ctx, a.agentCh, a.d.cfg.AgentRing); !answered {
		a.hangup(a.agentCh)
		a.d.calls.roster.Release(a.agent.ID, a.job.key)
		// A ring cut short by a stop is not the agent's refusal.
		a.refused, a.agentCause = ctx.Err() == nil, cause
		return hotline.AttemptAgentNoAnswer
	}
	a.rec.AgentAnsweredAt = a.d.now()
	a.d.calls.setAgentState(ctx, a.agent.ID, hotline.AgentOnCall)
	defer a.d.calls.startWrapUp(context.WithoutCancel(ctx), a.agent.ID)
	a.isGone = leavesStasis(a.agentCh)
	// The agent may have hung up again before we got to the answer: the
	// leg's StasisEnd is here already, or Asterisk refuses to bridge it.
	if a.leftStasis(a.agentCh) {
		return hotline.AttemptAgentNoAnswer
	}
	if err := a.setupBridge(); err != nil {
		if bridgeChannelGone(err) {
			return hotline.AttemptAgentNoAnswer
		}
		a.d.log.Error("callback bridge", "task", a.task.ID, "err", err)
		a.hangup(a.agentCh)
		return hotline.AttemptFailed
	}
	a.update(ctx)
	if _, err := a.play(ctx, ari.ChannelKey, a.agentCh, a.job.whisper, a.d.calls.cfg.PromptTimeout); err != nil {
		a.d.log.Warn("callback whisper", "task", a.task.ID, "err", err)
	}
	if a.gone {
		return hotline.AttemptAgentNoAnswer
	}

	// 2. The citizen, with the hotline's number as caller ID.
	if !a.originate(a.citCh, fmt.Sprintf(a.d.cfg.Trunk, a.task.Number), a.d.cfg.CallerID, "callback", a.d.cfg.CitizenRing) {
		a.hangup(a.agentCh)
		return hotline.AttemptUnreachable
	}
	cause, answered := a.waitAnswer(ctx, a.citCh, a.d.cfg.CitizenRing)
	if !answered {
		a.hangup(a.citCh)
		a.hangup(a.agentCh)
		if a.gone { // the agent gave up first
			return hotline.AttemptFailed
		}
		a.rec.Cause = cause
		return outcomeForCitizenCause(cause)
	}
	a.rec.CitizenAnsweredAt = a.d.now()
	a.update(ctx)

	// 3. The apology (or reply greeting), then the bridge: the attempt's
	// timestamps prove the order.
	citizenGone := leavesStasis(a.citCh)
	agentGone := a.isGone
	a.isGone = func(e ari.Event) bool { return citizenGone(e) || agentGone(e) }
	finished, err := a.play(ctx, ari.ChannelKey, a.citCh, a.job.greeting, a.d.calls.cfg.PromptTimeout)
	switch {
	case httpStatus(err) == 404:
		a.gone = true // the citizen hung up before the apology could start
	case err != nil:
		a.d.log.Error("callback apology could not be played", "task", a.task.ID, "err", err)
	case finished:
		a.rec.ApologyFinishedAt = a.d.now()
	}
	if a.gone || a.leftStasis(a.citCh) {
		a.hangup(a.citCh)
		a.hangup(a.agentCh)
		return hotline.AttemptTooShort
	}
	if err := a.d.cli.AddToBridge(a.bridge, a.citCh); err != nil {
		a.hangup(a.citCh)
		a.hangup(a.agentCh)
		if bridgeChannelGone(err) {
			return hotline.AttemptTooShort // the citizen left just before the bridge
		}
		a.d.log.Error("callback: bridge citizen", "task", a.task.ID, "err", err)
		return hotline.AttemptFailed
	}
	a.rec.BridgedAt = a.d.now()
	a.update(ctx)

	// 4. The talk, until either side hangs up.
	for !a.gone && ctx.Err() == nil {
		a.await(ctx, a.d.LeaseRefresh, func(ari.Event) bool { return false })
		if !a.gone {
			if err := a.lease.Extend(ctx); err != nil {
				a.d.log.Warn("callback lease", "task", a.task.ID, "err", err)
			}
		}
	}
	talk := a.d.now().Sub(a.rec.BridgedAt)
	a.hangup(a.citCh)
	a.hangup(a.agentCh)
	if talk >= a.d.policy.MinTalk {
		return hotline.AttemptConnected
	}
	return hotline.AttemptTooShort
}

// originate places a leg routed to this attempt and reports success.
func (a *attempt) originate(id, endpoint, callerID, kind string, ring time.Duration) bool {
	a.d.cli.Dispatcher().Route(ari.ChannelKey, id, a.mb)
	_, err := a.d.cli.ARI().Channel().Originate(nil, ari.OriginateRequest{
		Endpoint: endpoint, Timeout: int(math.Ceil(ring.Seconds())), CallerID: callerID,
		App: a.d.cli.Application(), AppArgs: kind + "," + strconv.FormatInt(a.task.ID, 10) + "," + strconv.FormatInt(a.rec.ID, 10),
		ChannelID: id,
	})
	if err != nil {
		shown := endpoint // a citizen's number dialed through the trunk is masked
		if kind != "callback-agent" {
			shown = fmt.Sprintf(a.d.cfg.Trunk, hotline.MaskNumber(a.task.Number))
		}
		a.d.log.Warn("callback originate failed", "task", a.task.ID, "endpoint", shown, "err", err)
		if httpStatus(err) == 500 && kind == "callback-agent" {
			a.d.calls.setAgentState(context.Background(), a.agent.ID, hotline.AgentOffline)
		}
		return false
	}
	return true
}

// waitAnswer waits for channel id to enter the application (answered) or
// be destroyed, and returns the cause of a failure.
func (a *attempt) waitAnswer(ctx context.Context, id string, ring time.Duration) (int, bool) {
	e := a.await(ctx, ring+2*time.Second, func(e ari.Event) bool {
		switch ev := e.(type) {
		case *ari.StasisStart:
			return ev.Channel.ID == id
		case *ari.ChannelDestroyed:
			return ev.Channel.ID == id
		}
		return false
	})
	switch ev := e.(type) {
	case *ari.StasisStart:
		return 0, true
	case *ari.ChannelDestroyed:
		return ev.Cause, false
	}
	return 19, false // rang out without word from Asterisk
}

func (a *attempt) setupBridge() error {
	cl := a.d.cli.ARI()
	// Routed first: reconciliation destroys an empty bridge nobody owns.
	a.d.cli.Dispatcher().Route(ari.BridgeKey, a.bridge, a.mb)
	if _, err := cl.Bridge().Create(key(ari.BridgeKey, a.bridge), "mixing", a.idBase); err != nil {
		return err
	}
	if err := a.d.cli.AddToBridge(a.bridge, a.agentCh); err != nil {
		return err
	}
	if *a.d.calls.cfg.Record {
		a.d.cli.Dispatcher().Route(ari.LiveRecordingKey, a.idBase, a.mb)
		if _, err := cl.Bridge().Record(key(ari.BridgeKey, a.bridge), a.idBase, &ari.RecordingOptions{Format: "wav", Exists: "fail"}); err != nil {
			return err
		}
		a.rec.RecordingName = a.idBase
	}
	return nil
}

func (a *attempt) update(ctx context.Context) {
	if err := a.lease.Update(context.WithoutCancel(ctx), a.rec); err != nil {
		a.d.log.Warn("record callback progress", "task", a.task.ID, "err", err)
	}
}

func (a *attempt) hangup(id string) {
	if err := a.d.cli.ARI().Channel().Hangup(key(ari.ChannelKey, id), "normal"); err != nil && httpStatus(err) != 404 {
		a.d.log.Debug("callback hangup", "channel", id, "err", err)
	}
}

func (a *attempt) cleanup() {
	cl := a.d.cli.ARI()
	if a.rec.RecordingName != "" {
		if err := cl.LiveRecording().Stop(key(ari.LiveRecordingKey, a.rec.RecordingName)); err != nil && httpStatus(err) != 404 {
			a.d.log.Warn("stop callback recording", "task", a.task.ID, "err", err)
		}
		a.d.calls.recordingStopped(context.Background(), a.rec.RecordingName, "")
	}
	if err := cl.Bridge().Delete(key(ari.BridgeKey, a.bridge)); err != nil && httpStatus(err) != 404 {
		a.d.log.Debug("delete callback bridge", "task", a.task.ID, "err", err)
	}
	disp := a.d.cli.Dispatcher()
	for _, r := range []struct{ kind, id string }{{ari.ChannelKey, a.agentCh}, {ari.ChannelKey, a.citCh}, {ari.BridgeKey, a.bridge}, {ari.LiveRecordingKey, a.idBase}} {
		disp.Unroute(r.kind, r.id)
	}
	a.mb.Close()
}

// outcomeForCitizenCause maps the citizen leg's Q.850 cause (ARI traces,
// scenario 10: 17 busy, 19 no answer, 1 no such number).
func outcomeForCitizenCause(cause int) hotline.AttemptOutcome {
	switch cause {
	case 17:
		return hotline.AttemptBusy
	case 19, 16, 18:
		return hotline.AttemptNoAnswer
	case 1:
		return hotline.AttemptInvalidNumber
	default:
		return hotline.AttemptUnreachable
	}
}
