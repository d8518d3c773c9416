package aritest

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Behavior is how the phone behind an endpoint (or a number behind a
// trunk) answers calls the app originates to it. The zero value answers at
// once and stays on the line.
type Behavior struct {
	Offline     bool          // not registered: originate → 500 Allocation failed
	AnswerAfter time.Duration // ring this long, then answer
	NoAnswer    bool          // ring until the originate timeout (cause 19)
	Busy        bool          // decline: cause 17, tech_cause 486
	// Unreachable: a number behind a trunk fails with cause 20 (subscriber
	// absent). A phone endpoint has crashed instead: qualify finds its
	// contact Unreachable, it goes offline and originates fail with 500
	// Allocation failed (trace 09).
	Unreachable bool
	NotFound    bool // the number does not exist: cause 1, tech_cause 404
	// HangupAfter: once answered, hang up (remote BYE) after this, or after
	// the last DTMF digit if that comes later; 0 = never.
	HangupAfter time.Duration
	DTMF        string        // digits pressed in order once answered
	DTMFGap     time.Duration // before each digit; default 200ms
}

// endpoint is a configured PJSIP endpoint: an agent's softphone or a trunk.
type endpoint struct {
	tech, resource string
	trunk          bool   // its Behavior is that of the numbers dialed through it
	context        string // where its originated channels sit while dialed
	behavior       Behavior
	contact        string
	staleContact   bool // the phone crashed: its old contact lingers until it registers again
	channels       map[*channel]struct{}
}

func (e *endpoint) name() string { return e.tech + "/" + e.resource }

func (e *endpoint) online() bool {
	return !e.behavior.Offline && (e.trunk || !e.behavior.Unreachable)
}

func (e *endpoint) state() string {
	if e.online() {
		return "online"
	}
	return "offline"
}

func (s *Server) endpointJSON(e *endpoint) endpointJSON {
	chans := make([]*channel, 0, len(e.channels))
	for c := range e.channels {
		chans = append(chans, c)
	}
	slices.SortFunc(chans, func(a, b *channel) int { return cmp.Compare(a.order, b.order) })
	ids := make([]string, len(chans))
	for i, c := range chans {
		ids[i] = c.id
	}
	return endpointJSON{Technology: e.tech, Resource: e.resource, State: e.state(), ChannelIDs: ids}
}

// splitEndpoint reads "PJSIP/1001" or "PJSIP/13800138000@trunk".
func splitEndpoint(name string) (tech, resource, trunk string, err error) {
	tech, resource, found := strings.Cut(name, "/")
	if !found || tech == "" || resource == "" {
		return "", "", "", fmt.Errorf("aritest: endpoint %q must look like TECH/resource", name)
	}
	resource, trunk, _ = strings.Cut(resource, "@")
	if resource == "" {
		return "", "", "", fmt.Errorf("aritest: endpoint %q has no resource", name)
	}
	return tech, resource, trunk, nil
}

// SetEndpoint creates or updates an endpoint ("PJSIP/1001") or a number
// dialed through a trunk ("PJSIP/13800138000@trunk"; the trunk is created
// online when missing). Switching an endpoint between online and offline
// emits what Asterisk does when a phone registers or un-registers.
func (s *Server) SetEndpoint(name string, b Behavior) {
	tech, resource, trunk, err := splitEndpoint(name)
	if err != nil {
		s.log.Error("aritest: set endpoint", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if trunk != "" {
		s.ensureEndpoint(tech, trunk, true)
		s.dialRules[tech+"/"+resource+"@"+trunk] = b
		return
	}
	s.setEndpointBehavior(s.ensureEndpoint(tech, resource, false), b)
}

// SetTrunkDefault sets how numbers dialed through a trunk ("trunk" or
// "PJSIP/trunk") behave when they have no SetEndpoint entry of their own.
func (s *Server) SetTrunkDefault(trunk string, b Behavior) {
	tech, resource := "PJSIP", trunk
	if t, r, found := strings.Cut(trunk, "/"); found {
		tech, resource = t, r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setEndpointBehavior(s.ensureEndpoint(tech, resource, true), b)
}

// SetOnline registers (true) or gracefully un-registers (false) an
// endpoint's phone; registering also ends an Unreachable crash.
func (s *Server) SetOnline(name string, online bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, isRule := s.dialRules[name]; isRule {
		b.Offline = !online
		s.dialRules[name] = b
		return nil
	}
	e, found := s.endpoints[name]
	if !found {
		return fmt.Errorf("aritest: set online: endpoint %q %w", name, errNotFound)
	}
	b := e.behavior
	b.Offline = !online
	if online && !e.trunk {
		b.Unreachable = false
	}
	s.setEndpointBehavior(e, b)
	return nil
}

func (s *Server) ensureEndpoint(tech, resource string, trunk bool) *endpoint {
	name := tech + "/" + resource
	e, found := s.endpoints[name]
	if !found {
		e = &endpoint{tech: tech, resource: resource, trunk: trunk, context: "hotline-agents", channels: make(map[*channel]struct{})}
		if trunk {
			e.context = "from-trunk"
		}
		e.contact = newContact(resource)
		s.endpoints[name] = e
	}
	return e
}

func newContact(resource string) string {
	return fmt.Sprintf("sip:%s-0x%012x@127.0.0.1:5102", resource, rand.Uint64()>>16)
}

func (s *Server) setEndpointBehavior(e *endpoint, b Behavior) {
	was := e.online()
	e.behavior = b
	switch {
	case was && !e.online() && !b.Offline:
		s.endpointWentOffline(e, "Unreachable")
		e.staleContact = true
	case was && !e.online():
		s.endpointWentOffline(e, "Removed")
	case !was && e.online():
		s.endpointCameOnline(e)
	}
}

// endpointCameOnline is a phone registering: the new contact (and the
// removal of a crashed phone's old one), then the endpoint, peer and
// contact becoming reachable (trace 09).
func (s *Server) endpointCameOnline(e *endpoint) {
	to := s.appsFor(nil, nil, e)
	old := e.contact
	e.contact = newContact(e.resource)
	offline := endpointJSON{Technology: e.tech, Resource: e.resource, State: "offline", ChannelIDs: s.endpointJSON(e).ChannelIDs}
	s.emit(s.contactEvent(offline, e.contact, e, "NonQualified", "0"), to)
	if e.staleContact {
		s.emit(s.contactEvent(offline, old, e, "Removed", "0"), to)
		e.staleContact = false
	}
	now := s.endpointJSON(e)
	s.emit(event{typ: "EndpointStateChange", post: []field{{"endpoint", now}}}, to)
	s.emit(event{typ: "PeerStatusChange", post: []field{{"endpoint", now}, {"peer", map[string]string{"peer_status": "Reachable"}}}}, to)
	s.emit(s.contactEvent(now, e.contact, e, "Reachable", fmt.Sprint(500+rand.IntN(500))), to)
}

// endpointWentOffline is a phone un-registering (its contact Removed) or
// found dead by qualify (its contact Unreachable).
func (s *Server) endpointWentOffline(e *endpoint, contactStatus string) {
	to := s.appsFor(nil, nil, e)
	now := s.endpointJSON(e)
	s.emit(event{typ: "EndpointStateChange", post: []field{{"endpoint", now}}}, to)
	s.emit(event{typ: "PeerStatusChange", post: []field{{"endpoint", now}, {"peer", map[string]string{"peer_status": "Unreachable"}}}}, to)
	s.emit(s.contactEvent(now, e.contact, e, contactStatus, "0"), to)
}

func (s *Server) contactEvent(ep endpointJSON, contact string, e *endpoint, status, rtt string) event {
	return event{typ: "ContactStatusChange", post: []field{
		{"endpoint", ep},
		{"contact_info", contactInfoJSON{URI: contact, ContactStatus: status, AOR: e.resource, RoundtripUsec: rtt}},
	}}
}

// resolveDial finds the endpoint that would carry a dial string and how the
// far end behaves. reachable is false where Asterisk fails the originate
// with "Allocation failed": unknown or offline endpoint, offline number.
func (s *Server) resolveDial(dial string) (ep *endpoint, b Behavior, reachable bool) {
	tech, resource, trunk, err := splitEndpoint(dial)
	if err != nil {
		return nil, Behavior{}, false
	}
	if trunk == "" {
		ep = s.endpoints[tech+"/"+resource]
		if ep == nil {
			return nil, Behavior{}, false
		}
		return ep, ep.behavior, ep.online()
	}
	ep = s.endpoints[tech+"/"+trunk]
	if ep == nil || !ep.online() {
		return nil, Behavior{}, false
	}
	b, hasRule := s.dialRules[dial]
	if !hasRule {
		b = ep.behavior
	}
	return ep, b, !b.Offline
}

func (s *Server) endpointSourceExists(id string) bool {
	if _, found := s.endpoints[id]; found || id == "PJSIP" {
		return true
	}
	for _, e := range s.endpoints {
		if e.tech == id {
			return true
		}
	}
	return false
}

func (s *Server) sortedEndpoints(tech string) []*endpoint {
	out := make([]*endpoint, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		if tech == "" || e.tech == tech {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name() < out[j].name() })
	return out
}

func (s *Server) listEndpoints(*request) reply {
	out := []endpointJSON{}
	for _, e := range s.sortedEndpoints("") {
		out = append(out, s.endpointJSON(e))
	}
	return ok("List[Endpoint]", out)
}

func (s *Server) listTechEndpoints(q *request) reply {
	eps := s.sortedEndpoints(q.param("tech"))
	if len(eps) == 0 {
		return errMsg(http.StatusNotFound, "Endpoints not found").reply()
	}
	out := make([]endpointJSON, 0, len(eps))
	for _, e := range eps {
		out = append(out, s.endpointJSON(e))
	}
	return ok("List[Endpoint]", out)
}

func (s *Server) getEndpoint(q *request) reply {
	e, found := s.endpoints[q.param("tech")+"/"+q.param("res")]
	if !found {
		return errMsg(http.StatusNotFound, "Endpoint not found").reply()
	}
	return ok("Endpoint", s.endpointJSON(e))
}

// Message is one text message the app pushed with sendMessage.
type Message struct {
	To        string            `json:"to"`
	From      string            `json:"from"`
	Body      string            `json:"body"`
	Variables map[string]string `json:"variables,omitempty"`
	At        time.Time         `json:"at"`
}

func (s *Server) sendMessage(q *request) reply {
	return s.deliver(q, q.param("tech")+"/"+q.param("res"))
}

// sendMessageTo serves PUT /endpoints/sendMessage?to=URI, where the URI is
// "pjsip:1001", "pjsip:1001@host" or "PJSIP/1001".
func (s *Server) sendMessageTo(q *request) reply {
	to := q.str("to")
	if to == "" {
		return errMsg(http.StatusBadRequest, "Missing parameter to").reply()
	}
	if scheme, rest, isURI := strings.Cut(to, ":"); isURI && !strings.Contains(scheme, "/") {
		rest, _, _ = strings.Cut(rest, "@")
		to = strings.ToUpper(scheme) + "/" + rest
	}
	return s.deliver(q, to)
}

// deliver accepts a message for an online endpoint: 202 and an empty body,
// 404 when the endpoint is unknown or has no contact.
func (s *Server) deliver(q *request, to string) reply {
	if _, _, reachable := s.resolveDial(to); !reachable {
		return errMsg(http.StatusNotFound, "Endpoint not found").reply()
	}
	s.messages = append(s.messages, Message{
		To:        to,
		From:      q.str("from"),
		Body:      q.str("body"),
		Variables: q.vars("variables"),
		At:        s.now(),
	})
	return reply{status: http.StatusAccepted}
}

// Messages lists every message accepted by sendMessage, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Message{}, s.messages...)
	for i := range out {
		out[i].Variables = maps.Clone(out[i].Variables)
	}
	return out
}

// EndpointInfo is a snapshot of one endpoint.
type EndpointInfo struct {
	Name     string // "PJSIP/1001"
	Online   bool
	Behavior Behavior
	Channels []string
}

// Endpoints snapshots the configured endpoints and trunk numbers, by name.
func (s *Server) Endpoints() []EndpointInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []EndpointInfo{}
	for _, e := range s.sortedEndpoints("") {
		out = append(out, EndpointInfo{Name: e.name(), Online: e.online(), Behavior: e.behavior, Channels: s.endpointJSON(e).ChannelIDs})
	}
	for _, name := range slices.Sorted(maps.Keys(s.dialRules)) {
		b := s.dialRules[name]
		out = append(out, EndpointInfo{Name: name, Online: !b.Offline, Behavior: b, Channels: []string{}})
	}
	return out
}
