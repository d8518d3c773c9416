package aritest

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	errClosed   = errors.New("aritest: server closed")
	errNotFound = errors.New("not found")
)

// channelFor finds the channel named by the {id} path parameter.
func (s *Server) channelFor(q *request) (*channel, *ariError) {
	c, ok := s.channels[q.param("id")]
	if !ok {
		return nil, errMsg(http.StatusNotFound, "Channel not found")
	}
	return c, nil
}

func (s *Server) listChannels(*request) reply {
	out := make([]channelJSON, 0, len(s.channels))
	for _, c := range s.sortedChannels() {
		out = append(out, c.json())
	}
	return ok("List[Channel]", out)
}

func (s *Server) getChannel(q *request) reply {
	c, err := s.channelFor(q)
	if err != nil {
		return err.reply()
	}
	return ok("Channel", c.json())
}

func (s *Server) postOriginate(q *request) reply { return s.originate(q, q.str("channelId")) }

func (s *Server) postOriginateWithID(q *request) reply { return s.originate(q, q.param("id")) }

// originate creates a channel to an endpoint, as POST /channels does: the
// channel is subscribed to the app at once, then dialed after the response
// (Dial, ringing, answer or failure per the endpoint's Behavior), and only
// enters Stasis when answered.
func (s *Server) originate(q *request, id string) reply {
	dial := q.str("endpoint")
	if dial == "" {
		return errMsg(http.StatusBadRequest, "Endpoint must be specified").reply()
	}
	tech, resource, found := strings.Cut(dial, "/")
	if !found || tech == "" || resource == "" {
		return errMsg(http.StatusBadRequest, "Invalid endpoint specified").reply()
	}
	appName := q.str("app")
	if appName == "" && q.str("extension") == "" {
		return errMsg(http.StatusBadRequest, "Application or extension must be specified").reply()
	}
	if s.idInUse(id) {
		return errMsg(http.StatusConflict, "Channel with given unique ID already exists").reply()
	}
	ep, behavior, reachable := s.resolveDial(dial)
	if !reachable {
		return reply{status: http.StatusInternalServerError, body: map[string]string{"error": "Allocation failed"}}
	}

	c := s.newChannel(id, kindOriginated)
	c.name = s.nextChannelName(ep.tech, ep.resource)
	c.state = stateDown
	c.protocolID = newUUID()
	c.caller = parseCallerID(q.str("callerId"))
	c.connected = callerJSON{Number: c.caller.Number}
	if orig, isChannel := s.channels[q.str("originator")]; isChannel {
		c.connected.Name = orig.caller.Name
	}
	c.dialplan = outgoingDialplan(ep.context)
	c.endpoint, c.owner, c.dialstring = dial, ep, resource
	ep.channels[c] = struct{}{}
	c.behavior = behavior
	c.rtp = ep.tech == "PJSIP"
	c.app = appName
	c.args = splitArgs(q.str("appArgs"))
	for k, v := range q.vars("variables") {
		c.vars[k] = v
	}
	if t := q.int("timeout", 30); t > 0 {
		c.timeout = time.Duration(t) * time.Second
	}
	s.timeOriginate(c, q.str("originator"))
	s.announceOnEndpoint(c, ep)
	if appName != "" {
		s.appNamed(appName).channels[c.id] = true
	}
	rep := ok("Channel", c.json())
	rep.after = func() { s.dial(c) }
	return rep
}

// announceOnEndpoint tells the apps watching ep that a channel was created
// on it, as Asterisk does before the originate's own subscription exists
// (trace 13): the endpoint's new channel list, then ChannelCreated,
// ChannelDialplan, ChannelConnectedLine and ChannelCallerId, each once.
// Callers hold s.mu.
func (s *Server) announceOnEndpoint(c *channel, ep *endpoint) {
	to := s.appsFor(nil, nil, ep)
	if len(to) == 0 {
		return
	}
	s.emit(event{typ: "EndpointStateChange", post: []field{{"endpoint", s.endpointJSON(ep)}}}, to)
	created := c.json()
	created.ProtocolID, created.Connected = "", callerJSON{}
	created.Caller = callerJSON{Number: ep.resource}
	created.Dialplan.AppName, created.Dialplan.AppData = "", ""
	s.emit(event{typ: "ChannelCreated", post: []field{{"channel", created}}}, to)
	dialing := c.json()
	dialing.Caller = created.Caller
	s.emit(event{typ: "ChannelDialplan", post: []field{
		{"dialplan_app", c.dialplan.AppName}, {"dialplan_app_data", c.dialplan.AppData}, {"channel", dialing}}}, to)
	s.emit(event{typ: "ChannelConnectedLine", post: []field{{"channel", dialing}}}, to)
	s.emit(event{typ: "ChannelCallerId", post: []field{
		{"caller_presentation", 0}, {"caller_presentation_txt", "Presentation Allowed, Not Screened"}, {"channel", c.json()}}}, to)
}

// dial plays out an originated channel's Behavior. Callers hold s.mu.
func (s *Server) dial(c *channel) {
	if c.gone {
		return
	}
	b := c.behavior
	s.emitDial(c, "")
	switch {
	case b.NotFound:
		s.hangupRequest(c, causeUnallocated, 404, false)
		s.emitDial(c, "NOANSWER")
		s.destroy(c, causeUnallocated, 404)
		return
	case b.Unreachable:
		s.hangupRequest(c, causeAbsent, 0, false)
		s.emitDial(c, "CHANUNAVAIL")
		s.destroy(c, causeAbsent, 0)
		return
	}
	s.setState(c, stateRinging)
	s.emitDial(c, "RINGING")
	if b.Busy {
		s.hangupRequest(c, causeBusy, 486, false)
		s.emitDial(c, "BUSY")
		s.destroy(c, causeBusy, 486)
		return
	}
	if c.timeout > 0 {
		// Ringing out the originate timeout ends with ChannelDestroyed
		// alone: no ChannelHangupRequest, no final Dial.
		s.channelTimer(c, c.timeout, func() { s.destroy(c, causeNoAnswer, 480) })
	}
	if !b.NoAnswer {
		s.channelTimer(c, b.AnswerAfter, func() { s.answerOriginated(c) })
	}
}

func (s *Server) answerOriginated(c *channel) {
	s.stopChannelTimers(c)
	s.answered(c, true)
	s.emitDial(c, "ANSWER")
	if c.app == "" {
		return
	}
	c.dialplan = c.stasisDialplan()
	s.setVar(c, "STASISSTATUS", "")
	s.timeLegAnswered(c)
	s.enterStasis(c)
}

// idInUse reports whether a channel id the app asks for is taken. Asterisk
// 20 compares only the first len(id) characters of each live channel's id,
// so an id that is a prefix of a live one is refused too (noted with traces
// 15 and 16): apps must use ids of fixed width or with a terminator.
// Callers hold s.mu.
func (s *Server) idInUse(id string) bool {
	if id == "" {
		return false
	}
	for live := range s.channels {
		if strings.HasPrefix(live, id) {
			return true
		}
	}
	return false
}

func splitArgs(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// parseCallerID reads `"Name" <number>`, `Name <number>` or a bare number.
func parseCallerID(s string) callerJSON {
	s = strings.TrimSpace(s)
	open, end := strings.IndexByte(s, '<'), strings.LastIndexByte(s, '>')
	if open < 0 || end < open {
		return callerJSON{Number: s}
	}
	name := strings.Trim(strings.TrimSpace(s[:open]), `"`)
	return callerJSON{Name: name, Number: strings.TrimSpace(s[open+1 : end])}
}

func newUUID() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (s *Server) deleteChannel(q *request) reply {
	c, err := s.channelFor(q)
	if err != nil {
		return err.reply()
	}
	cause := causeNormal
	if code := q.str("reason_code"); code != "" {
		n, convErr := strconv.Atoi(code)
		if convErr != nil {
			return errMsg(http.StatusBadRequest, "Invalid reason for hangup provided").reply()
		}
		cause = n
	} else if reason := q.str("reason"); reason != "" {
		n, known := hangupReasons[reason]
		if !known {
			return errMsg(http.StatusBadRequest, "Invalid reason for hangup provided").reply()
		}
		cause = n
	}
	s.hangup(c, true, cause)
	return noContent()
}

func (s *Server) answerChannel(q *request) reply {
	c, err := s.channelFor(q)
	if err != nil {
		return err.reply()
	}
	if c.state != stateUp {
		s.answered(c, false)
	}
	return noContent()
}

// channelNoop serves ring, moh, silence, mute and dtmf: Asterisk answers
// 204 and sends no event.
func (s *Server) channelNoop(q *request) reply {
	if _, err := s.channelFor(q); err != nil {
		return err.reply()
	}
	return noContent()
}

func (s *Server) getVariable(q *request) reply {
	c, found := s.channels[q.param("id")]
	if !found {
		return errMsg(http.StatusNotFound, "Provided channel was not found").reply()
	}
	name := q.str("variable")
	if name == "" {
		return errMsg(http.StatusBadRequest, "Variable name is required").reply()
	}
	v, known := s.lookupVariable(c, name)
	if !known {
		return errMsg(http.StatusNotFound, "Provided variable was not found").reply()
	}
	return ok("Variable", map[string]string{"value": v})
}

// lookupVariable reads channel variables and the few dialplan functions an
// app asks for.
func (s *Server) lookupVariable(c *channel, name string) (string, bool) {
	switch name {
	case "CALLERID(num)":
		return c.caller.Number, true
	case "CALLERID(name)":
		return c.caller.Name, true
	case "CONNECTEDLINE(num)":
		return c.connected.Number, true
	case "CONNECTEDLINE(name)":
		return c.connected.Name, true
	case "CHANNEL(name)":
		return c.name, true
	case "UNIQUEID", "CHANNEL(uniqueid)":
		return c.id, true
	case "PJSIP_HEADER(read,From)":
		if !c.rtp {
			return "", false
		}
		return fmt.Sprintf("%q <sip:%s@127.0.0.1>;tag=%016x", c.caller.Name, c.caller.Number, rand.Uint64()), true
	}
	v, found := c.vars[name]
	return v, found
}

func (s *Server) setVariable(q *request) reply {
	c, found := s.channels[q.param("id")]
	if !found {
		return errMsg(http.StatusNotFound, "Provided channel was not found").reply()
	}
	name := q.str("variable")
	if name == "" {
		return errMsg(http.StatusBadRequest, "Variable name is required").reply()
	}
	s.setVar(c, name, q.str("value"))
	return noContent()
}

// snoopChannel creates a snoop channel into an app; it is up at once and
// enters Stasis, and like an inbound channel never gets ChannelDestroyed.
func (s *Server) snoopChannel(q *request) reply {
	target, err := s.channelFor(q)
	if err != nil {
		return err.reply()
	}
	appName := q.str("app")
	if appName == "" {
		return errMsg(http.StatusBadRequest, "Missing parameter app").reply()
	}
	// Directions as Asterisk 20's res_ari checks them (resource_channels.c).
	spy, whisper := q.str("spy"), q.str("whisper")
	for _, d := range []struct{ name, value string }{{"spy", spy}, {"whisper", whisper}} {
		if !slices.Contains([]string{"", "none", "in", "out", "both"}, d.value) {
			return errMsg(http.StatusBadRequest, "Invalid direction specified for "+d.name).reply()
		}
	}
	if (spy == "" || spy == "none") && (whisper == "" || whisper == "none") {
		return errMsg(http.StatusBadRequest, "Direction must be specified for at least spy or whisper").reply()
	}
	id := q.param("sid")
	if id == "" {
		id = q.str("snoopId")
	}
	if s.idInUse(id) {
		// Asterisk fails to allocate the snoop channel ("Channel Unique ID
		// … already in use" in its log).
		return reply{status: http.StatusInternalServerError, body: map[string]string{"error": "Allocation failed"}}
	}
	c := s.newChannel(id, kindSnoop)
	c.name = fmt.Sprintf("Snoop/%s-%08x", target.id, s.seq.snoop)
	s.seq.snoop++
	c.state = stateUp
	c.answeredAt = s.now()
	c.dialplan = dialplanJSON{Context: "default", Exten: "s", Priority: 1}
	c.endpoint = "Snoop/" + target.id
	c.spy, c.whisper = cmp.Or(spy, "none"), cmp.Or(whisper, "none")
	c.app, c.args = appName, splitArgs(q.str("appArgs"))
	c.snoopOf = target
	target.snoops = append(target.snoops, c)
	s.appNamed(appName).channels[c.id] = true
	rep := ok("Channel", c.json())
	s.enterStasis(c)
	return rep
}
