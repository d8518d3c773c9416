package aritest

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Channel states as ARI names them.
const (
	stateDown    = "Down"
	stateRing    = "Ring"
	stateRinging = "Ringing"
	stateUp      = "Up"
)

type channelKind int

const (
	kindInbound    channelKind = iota // a citizen's call, sent to Stasis by the dialplan
	kindOriginated                    // POST /channels
	kindSnoop                         // POST /channels/{id}/snoop
)

type channel struct {
	order      uint64
	id         string
	name       string
	state      string
	protocolID string
	caller     callerJSON
	connected  callerJSON
	dialplan   dialplanJSON
	created    time.Time
	answeredAt time.Time

	kind       channelKind
	endpoint   string    // what was dialed or dialed from: "PJSIP/1001", "PJSIP/13800138000@trunk", "PJSIP/citizen"
	owner      *endpoint // the configured endpoint whose channel_ids list it, if any
	dialstring string    // Dial event's dialstring: "1001", "13800138000@trunk"
	behavior   Behavior
	timeout    time.Duration // originate timeout; 0 = none

	app      string
	args     []string
	inStasis bool
	gone     bool

	bridge    *bridge
	vars      map[string]string
	timers    []*time.Timer
	keypad    []keypress // digits the far end has still to press, in order
	pressing  bool       // a timer runs for keypad's first digit
	hangupDue bool       // the far end hangs up once keypad is empty
	playbacks []*playback
	snoops    []*channel
	snoopOf   *channel // for a snoop channel: the channel it spies on
	// spy and whisper are a snoop channel's directions (none, in, out, both).
	spy, whisper string
	recording    *liveRecording // a channel recording, if one is running
	voicemail    *voicemail     // a message being left in the dialplan's fallback
	placed       *PlacedCall    // a citizen's call from PlaceCall: its record
	rtp          bool           // a SIP channel: RTP statistics at hangup
	tone         int            // what it sounds like in recordings
	// originator is the citizen's channel an agent leg was originated for;
	// hangupWhenAlone, when set, hangs a citizen up that long after the
	// last other party left its bridge (timings.go).
	originator      string
	hangupWhenAlone *time.Duration
}

func (c *channel) json() channelJSON {
	return channelJSON{
		ID:           c.id,
		Name:         c.name,
		State:        c.state,
		ProtocolID:   c.protocolID,
		Caller:       c.caller,
		Connected:    c.connected,
		Dialplan:     c.dialplan,
		Creationtime: c.created.Format(dateFormat),
		Language:     "en",
	}
}

func (c *channel) stasisDialplan() dialplanJSON {
	d := c.dialplan
	d.AppName = "Stasis"
	d.AppData = strings.Join(append([]string{c.app}, c.args...), ",")
	return d
}

// outgoingDialplan is where an originated channel sits while it is dialed,
// and again once it has left Stasis.
func outgoingDialplan(context string) dialplanJSON {
	return dialplanJSON{Context: context, Exten: "s", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
}

// newChannel registers a channel with the next uniqueid-style defaults.
// Callers hold s.mu.
func (s *Server) newChannel(id string, kind channelKind) *channel {
	s.seq.uniqueID++
	s.seq.order++
	if id == "" {
		id = fmt.Sprintf("%d.%d", s.now().Unix(), s.seq.uniqueID-1)
	}
	s.seq.tone++
	c := &channel{
		order:   s.seq.order,
		id:      id,
		kind:    kind,
		created: s.now(),
		vars:    make(map[string]string),
		tone:    s.seq.tone,
	}
	s.channels[id] = c
	return c
}

func (s *Server) nextChannelName(tech, resource string) string {
	n := s.seq.chanName
	s.seq.chanName++
	return fmt.Sprintf("%s/%s-%08x", tech, resource, n)
}

// channelTimer runs fn after d unless the channel ends first. Callers hold s.mu.
func (s *Server) channelTimer(c *channel, d time.Duration, fn func()) {
	c.timers = append(c.timers, s.after(d, func() {
		if !c.gone {
			fn()
		}
	}))
}

// stopChannelTimers stops everything scheduled for c, the digits it has
// still to press included.
func (s *Server) stopChannelTimers(c *channel) {
	for _, t := range c.timers {
		s.cancel(t)
	}
	c.timers = nil
	c.keypad = nil
	c.pressing = false
	c.hangupDue = false
}

// channelApps lists the applications that hear about c, each once: what
// goes to the application itself rather than through a subscription
// (StasisStart, StasisEnd). Callers hold s.mu.
func (s *Server) channelApps(c *channel) []*app { return s.appsFor(c, nil, nil) }

// emitChannel sends an event of c's own topic, once per subscription that
// covers c (channelSubscribers).
func (s *Server) emitChannel(typ string, c *channel, pre []field, post ...field) {
	post = append(post, field{"channel", c.json()})
	s.emit(event{typ: typ, pre: pre, post: post}, s.channelSubscribers(c))
}

// emitStasis sends StasisStart or StasisEnd, which Asterisk addresses to
// the channel's application once, however many subscriptions cover it.
func (s *Server) emitStasis(typ string, c *channel, post ...field) {
	post = append([]field{}, post...)
	post = append(post, field{"channel", c.json()})
	s.emit(event{typ: typ, post: post}, s.channelApps(c))
}

func (s *Server) setState(c *channel, state string) {
	if c.state == state {
		return
	}
	c.state = state
	s.emitChannel("ChannelStateChange", c, nil)
}

func (s *Server) setVar(c *channel, name, value string) {
	c.vars[name] = value
	s.emitChannel("ChannelVarset", c, []field{{"variable", name}, {"value", value}})
}

func (s *Server) emitDial(c *channel, status string) {
	s.emit(event{typ: "Dial", post: []field{
		{"dialstatus", status}, {"forward", ""}, {"dialstring", c.dialstring}, {"peer", c.json()},
	}}, s.channelSubscribers(c))
}

// hangupRequest reports why a channel is being hung up. An app's DELETE is
// Asterisk's soft-hangup flag 32, a far end's BYE carries no cause at all.
func (s *Server) hangupRequest(c *channel, cause, techCause int, soft bool) {
	var pre []field
	if cause != 0 {
		pre = append(pre, field{"cause", cause})
	}
	if techCause != 0 {
		pre = append(pre, field{"tech_cause", techCause})
	}
	if soft {
		pre = append(pre, field{"soft", true})
	}
	s.emitChannel("ChannelHangupRequest", c, pre)
}

// destroy ends a channel with ChannelDestroyed, which only channels the app
// originated are subscribed to receive. Callers hold s.mu.
func (s *Server) destroy(c *channel, cause, techCause int) {
	post := []field{{"cause", cause}, {"cause_txt", causeText(cause)}}
	if techCause != 0 {
		post = append(post, field{"tech_cause", techCause})
	}
	s.emitChannel("ChannelDestroyed", c, nil, post...)
	s.removeChannel(c)
}

func (s *Server) removeChannel(c *channel) {
	c.gone = true
	if c.placed != nil {
		at := s.now()
		c.placed.EndedAt = &at
	}
	s.stopChannelTimers(c)
	delete(s.channels, c.id)
	if c.owner != nil {
		delete(c.owner.channels, c)
	}
	s.forgetChannel(c.id)
}

// enterStasis hands an answered or inbound channel to its application.
func (s *Server) enterStasis(c *channel) {
	c.dialplan = c.stasisDialplan()
	c.inStasis = true
	s.emitStasis("StasisStart", c, field{"args", c.args})
}

// hangup ends a channel. byApp is a DELETE from the application (cause is
// then the reason's cause); otherwise the far end hung up.
func (s *Server) hangup(c *channel, byApp bool, cause int) {
	if c.gone {
		return
	}
	s.timeHangup(c, byApp)
	if cause == 0 {
		cause = causeNormal
	}
	if c.kind == kindOriginated && !c.inStasis {
		// Still being dialed: the dial is cancelled.
		s.stopChannelTimers(c)
		if byApp {
			s.hangupRequest(c, softHangup, 0, true)
		} else {
			s.hangupRequest(c, cause, 0, false)
		}
		s.emitDial(c, "NOANSWER")
		s.destroy(c, cause, 0)
		return
	}
	s.stopChannelTimers(c)
	s.endVoicemail(c, false)
	if c.rtp && c.state == stateUp {
		s.rtpStats(c)
	}
	if byApp {
		s.hangupRequest(c, softHangup, 0, true)
	} else {
		s.hangupRequest(c, 0, 0, false)
	}
	for _, p := range slices.Clone(c.playbacks) {
		s.finishPlayback(p, "done")
	}
	if c.recording != nil {
		s.finishRecording(c.recording, "done")
	}
	if c.bridge != nil {
		s.leaveBridge(c, false)
	}
	if c.inStasis {
		c.inStasis = false
		s.emitStasis("StasisEnd", c)
	}
	for _, sn := range c.snoops {
		s.snoopTargetGone(sn)
	}
	c.snoops = nil
	if t := c.snoopOf; t != nil {
		t.snoops = slices.DeleteFunc(t.snoops, func(x *channel) bool { return x == c })
	}
	if c.kind == kindOriginated {
		s.setVar(c, "STASISSTATUS", "SUCCESS")
		c.dialplan = outgoingDialplan(c.dialplan.Context)
		s.destroy(c, cause, 0)
		return
	}
	// Channels that came in through the dialplan get no ChannelDestroyed:
	// StasisEnd is the app's last word about them.
	s.removeChannel(c)
}

// snoopTargetGone ends a snoop channel whose target hung up, as trace 15
// shows: its recording finishes (the file as long as the target's call),
// then its StasisEnd, with no ChannelHangupRequest and no ChannelDestroyed.
func (s *Server) snoopTargetGone(sn *channel) {
	if sn.gone {
		return
	}
	s.stopChannelTimers(sn)
	for _, p := range slices.Clone(sn.playbacks) {
		s.finishPlayback(p, "done")
	}
	if sn.recording != nil {
		s.finishRecording(sn.recording, "done")
	}
	if sn.bridge != nil {
		s.leaveBridge(sn, false)
	}
	if sn.inStasis {
		sn.inStasis = false
		s.emitStasis("StasisEnd", sn)
	}
	s.removeChannel(sn)
}

// rtpStats emits the RTCP summary variables Asterisk sets on a SIP channel
// as it hangs up; a directly bridged peer gets the …BRIDGED copies.
func (s *Server) rtpStats(c *channel) {
	var peer *channel
	if b := c.bridge; b != nil && b.native() {
		peer = b.other(c)
	}
	talk := s.now().Sub(c.answeredAt)
	packets := int(talk / (20 * time.Millisecond))
	ssrc, theirs := rand.Uint32(), rand.Uint32()
	stats := []field{
		{"RTPAUDIOQOS", fmt.Sprintf("ssrc=%d;themssrc=%d;lp=0;rxjitter=0.000000;rxcount=%d;txjitter=0.000000;txcount=%d;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000", ssrc, theirs, packets, packets)},
		{"RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
		{"RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
		{"RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
		{"RTPAUDIOQOSMES", "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
	}
	for _, st := range stats {
		s.setVar(c, st.key, st.val.(string))
		if peer != nil {
			s.setVar(peer, st.key+"BRIDGED", st.val.(string))
		}
	}
}

// softHangup is what ChannelHangupRequest reports as "cause" for an app's
// DELETE: Asterisk's AST_SOFTHANGUP_EXPLICIT flag, not a Q.850 cause.
const softHangup = 32

// Q.850 causes Asterisk reports, and the DELETE reasons that ask for them.
const (
	causeUnallocated = 1
	causeNormal      = 16
	causeBusy        = 17
	causeNoAnswer    = 19
	causeAbsent      = 20
)

var causeTexts = map[int]string{
	0:   "Unknown",
	1:   "Unallocated (unassigned) number",
	16:  "Normal Clearing",
	17:  "User busy",
	18:  "No user responding",
	19:  "User alerting, no answer",
	20:  "Subscriber absent",
	21:  "Call Rejected",
	26:  "Answered elsewhere",
	28:  "Invalid number format (incomplete number)",
	31:  "Normal, unspecified",
	34:  "Circuit/channel congestion",
	38:  "Network out of order",
	58:  "Bearer capability not presently available",
	127: "Interworking, unspecified",
}

func causeText(cause int) string {
	if t, ok := causeTexts[cause]; ok {
		return t
	}
	return "Unknown"
}

var hangupReasons = map[string]int{
	"normal":             16,
	"busy":               17,
	"congestion":         34,
	"no_answer":          19,
	"timeout":            18,
	"rejected":           21,
	"unallocated":        1,
	"normal_unspecified": 31,
	"number_incomplete":  28,
	"codec_mismatch":     58,
	"interworking":       127,
	"failure":            38,
	"answered_elsewhere": 26,
}

// ChannelInfo is a snapshot of one channel.
type ChannelInfo struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	State      string            `json:"state"`
	Endpoint   string            `json:"endpoint"` // "PJSIP/1001", "PJSIP/13800138000@trunk", "PJSIP/citizen", "Snoop/…"
	Caller     string            `json:"caller"`   // caller number
	Bridge     string            `json:"bridge,omitempty"`
	Args       []string          `json:"args"`
	Originated bool              `json:"originated"`
	CreatedAt  time.Time         `json:"created_at"`
	AnsweredAt time.Time         `json:"answered_at,omitzero"`
	Variables  map[string]string `json:"variables"`
	// Spy and Whisper are a snoop channel's directions: what it hears of
	// the snooped channel, and where what it is sent goes.
	Spy     string `json:"spy,omitempty"`
	Whisper string `json:"whisper,omitempty"`
}

func (c *channel) info() ChannelInfo {
	ci := ChannelInfo{
		ID: c.id, Name: c.name, State: c.state, Endpoint: c.endpoint, Caller: c.caller.Number,
		Args: slices.Clone(c.args), Originated: c.kind == kindOriginated,
		CreatedAt: c.created, AnsweredAt: c.answeredAt, Variables: maps.Clone(c.vars), Spy: c.spy, Whisper: c.whisper,
	}
	if c.bridge != nil {
		ci.Bridge = c.bridge.id
	}
	return ci
}

// Channels snapshots every live channel, oldest first.
func (s *Server) Channels() []ChannelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChannelInfo, 0, len(s.channels))
	for _, c := range s.sortedChannels() {
		out = append(out, c.info())
	}
	return out
}

// Channel snapshots one live channel.
func (s *Server) Channel(id string) (ChannelInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return ChannelInfo{}, false
	}
	return c.info(), true
}

func (s *Server) sortedChannels() []*channel {
	out := make([]*channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *channel) int { return cmp.Compare(a.order, b.order) })
	return out
}

// InboundCall is a citizen's call arriving through the dialplan into Stasis.
type InboundCall struct {
	Caller     string   // caller number, e.g. "13800138000"
	CallerName string   // default Caller, as the traced phones sent it
	Dialed     string   // default "12345"
	App        string   // default "hotline"
	Args       []string // default ["inbound"]
	// HangupAfter: the citizen hangs up this long after entering the app,
	// or after the last DTMF digit if that comes later; 0 = never.
	HangupAfter time.Duration
	// HangupWhenAlone, when set, hangs the citizen up this long after the
	// last other party (an agent) left the citizen's bridge, as a caller
	// who does not wait for the survey; nil = never.
	HangupWhenAlone *time.Duration
	DTMF            string        // pressed in order after the channel is answered
	DTMFGap         time.Duration // before each digit; default 200ms
}

// PlaceCall brings a citizen's call into Stasis: StasisStart with the
// channel ringing (state Ring), waiting for the app to answer. When no
// websocket is connected for the app, Stasis() fails as on Asterisk and the
// call runs the dialplan's fallback (apology, then a voice message; see
// fallback.go): PlaceCall then returns the channel id with an error that
// is ErrStasisFailed.
func (s *Server) PlaceCall(in InboundCall) (string, error) {
	if in.App == "" {
		in.App = "hotline"
	}
	if in.Args == nil {
		in.Args = []string{"inbound"}
	}
	if in.Dialed == "" {
		in.Dialed = "12345"
	}
	if in.CallerName == "" {
		in.CallerName = in.Caller
	}
	if err := validDTMF(in.DTMF); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errClosed
	}
	a := s.apps[in.App]
	c := s.newChannel("", kindInbound)
	c.name = s.nextChannelName("PJSIP", "citizen")
	c.state = stateRing
	c.protocolID = fmt.Sprintf("%016x", rand.Uint64())
	c.caller = callerJSON{Name: in.CallerName, Number: in.Caller}
	c.dialplan = dialplanJSON{Context: "hotline-citizens", Exten: in.Dialed, Priority: 2}
	c.endpoint = "PJSIP/citizen"
	c.app, c.args = in.App, slices.Clone(in.Args)
	c.rtp = true
	c.behavior = Behavior{HangupAfter: in.HangupAfter, DTMF: in.DTMF, DTMFGap: in.DTMFGap}
	if in.HangupAfter > 0 {
		s.channelTimer(c, in.HangupAfter, func() { s.scriptedHangup(c) })
	}
	if a == nil || a.conn == nil {
		c.app, c.args = "", nil
		s.recordPlaced(c, in.Dialed, OutcomeFallback)
		s.fallback(c)
		s.answered(c, false)
		return c.id, fmt.Errorf("%w: application %q has no websocket connected; the call ran the dialplan's fallback", ErrStasisFailed, in.App)
	}
	a.channels[c.id] = true
	s.recordPlaced(c, in.Dialed, OutcomeStasis)
	c.hangupWhenAlone = in.HangupWhenAlone
	s.timeStasis(c)
	s.enterStasis(c)
	return c.id, nil
}

// answered marks c Up and starts what its far end does once connected:
// pressing digits and, when scheduleHangup, hanging up (a citizen's
// HangupAfter already runs from StasisStart).
func (s *Server) answered(c *channel, scheduleHangup bool) {
	c.answeredAt = s.now()
	s.setState(c, stateUp)
	if scheduleHangup && c.behavior.HangupAfter > 0 {
		s.channelTimer(c, c.behavior.HangupAfter, func() { s.scriptedHangup(c) })
	}
	gap := c.behavior.DTMFGap
	if gap <= 0 {
		gap = 200 * time.Millisecond
	}
	s.press(c, c.behavior.DTMF, gap)
}

// keypress is one digit the far end will press, gap after the one before.
type keypress struct {
	digit string
	gap   time.Duration
}

// press queues digits for c's far end, gap apart and after any it has
// still to press. Each digit is scheduled only once the one before it is
// out, so they arrive in the order given however short the gap; digits
// with no gap go out at once. Callers hold s.mu.
func (s *Server) press(c *channel, digits string, gap time.Duration) {
	for _, d := range digits {
		c.keypad = append(c.keypad, keypress{digit: string(d), gap: gap})
	}
	if !c.pressing {
		s.pressNext(c)
	}
}

// pressNext sends the digits that are due and schedules the next one; with
// none left, a hangup that waited for them happens. Callers hold s.mu.
func (s *Server) pressNext(c *channel) {
	for len(c.keypad) > 0 && c.keypad[0].gap <= 0 {
		s.dtmf(c, c.keypad[0].digit)
		c.keypad = c.keypad[1:]
	}
	if len(c.keypad) == 0 {
		c.keypad, c.pressing = nil, false
		if c.hangupDue {
			s.hangup(c, false, causeNormal)
		}
		return
	}
	c.pressing = true
	s.channelTimer(c, c.keypad[0].gap, func() {
		s.dtmf(c, c.keypad[0].digit)
		c.keypad = c.keypad[1:]
		s.pressNext(c)
	})
}

// scriptedHangup is a scripted far end hanging up (HangupAfter): after
// the digits it has still to press, so that they come first.
func (s *Server) scriptedHangup(c *channel) {
	if c.pressing {
		c.hangupDue = true
		return
	}
	s.hangup(c, false, causeNormal)
}

func (s *Server) dtmf(c *channel, digit string) {
	s.emitChannel("ChannelDtmfReceived", c, nil, field{"digit", digit}, field{"duration_ms", 100})
	if digit == "#" && c.voicemail != nil {
		// # ends the message, then the dialplan hangs up; not from within
		// the keypad's own step.
		s.channelTimer(c, 0, func() { s.endVoicemail(c, true) })
	}
}

func validDTMF(digits string) error {
	for _, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			return fmt.Errorf("aritest: %q is not a DTMF digit", d)
		}
	}
	return nil
}

// SendDTMF makes the far end of an answered channel press digits: one
// ChannelDtmfReceived per digit, in order, at once or, while the channel
// still has scripted digits (Behavior.DTMF, InboundCall.DTMF) to press,
// right after the last of them.
func (s *Server) SendDTMF(channelID, digits string) error {
	if err := validDTMF(digits); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return fmt.Errorf("aritest: send dtmf: channel %q %w", channelID, errNotFound)
	}
	if c.state != stateUp {
		return fmt.Errorf("aritest: send dtmf: channel %q is %s, not Up", channelID, c.state)
	}
	s.press(c, digits, 0)
	return nil
}

// Hangup makes the far end of a channel hang up (a SIP BYE).
func (s *Server) Hangup(channelID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return fmt.Errorf("aritest: hangup: channel %q %w", channelID, errNotFound)
	}
	s.hangup(c, false, causeNormal)
	return nil
}
