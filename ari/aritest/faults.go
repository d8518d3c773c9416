package aritest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

// routeFault fails or delays the ARI requests matching method and pattern.
type routeFault struct {
	method, pattern string
	status          int
	remaining       int // failures left; <= 0 fails until ClearFaults
	delay           time.Duration
}

func (f *routeFault) matches(r *http.Request) bool {
	if f.method != "" && f.method != "*" && !strings.EqualFold(f.method, r.Method) {
		return false
	}
	if m, _ := path.Match(f.pattern, r.URL.Path); m {
		return true
	}
	m, _ := path.Match("/ari"+f.pattern, r.URL.Path)
	return m
}

// faultFor returns what to do to r: the first matching delay and the first
// matching failure, or nil.
func (s *Server) faultFor(r *http.Request) *routeFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out *routeFault
	for i := 0; i < len(s.faults); i++ {
		f := s.faults[i]
		if !f.matches(r) {
			continue
		}
		if out == nil {
			out = &routeFault{}
		}
		if f.delay > 0 && out.delay == 0 {
			out.delay = f.delay
		}
		if f.status != 0 && out.status == 0 {
			out.status = f.status
			if f.remaining > 0 {
				f.remaining--
				if f.remaining == 0 {
					s.faults = append(s.faults[:i], s.faults[i+1:]...)
					i--
				}
			}
		}
	}
	return out
}

func validPattern(p string) bool {
	_, err := path.Match(p, "")
	return p != "" && err == nil
}

// FailRoute answers the next times requests matching method and pattern
// with status and {"message": "<status text>"}, without touching any
// state. pattern is matched with path.Match against the request path, with
// or without "/ari": "/ari/channels", "/channels/*/answer". Method "" or
// "*" matches any method; times <= 0 fails until ClearFaults.
func (s *Server) FailRoute(method, pattern string, status, times int) {
	s.addFault(&routeFault{method: method, pattern: pattern, status: status, remaining: times})
}

// DelayRoute holds requests matching method and pattern for d before
// serving them, until ClearFaults.
func (s *Server) DelayRoute(method, pattern string, d time.Duration) {
	s.addFault(&routeFault{method: method, pattern: pattern, delay: d})
}

func (s *Server) addFault(f *routeFault) {
	if !validPattern(f.pattern) {
		s.log.Error("aritest: bad route pattern; fault ignored", "pattern", f.pattern)
		return
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
}

// ClearFaults removes every route failure and delay and stops refusing
// connections.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
	s.ln.clear()
}

// DropWebsockets cuts every event websocket and returns once they are
// gone. Clients see their socket fail and must dial again; events
// meanwhile are lost, as with Asterisk.
func (s *Server) DropWebsockets() {
	s.mu.Lock()
	conns := s.connList()
	s.mu.Unlock()
	dropAll(conns)
}

func dropAll(conns []*wsConn) {
	for _, c := range conns {
		c.drop()
	}
	for _, c := range conns {
		<-c.finished
	}
}

// RefuseConnections makes the server look down for d: every open
// connection (HTTP keep-alive and websocket) is closed, and new TCP
// connections are accepted and closed at once, so clients get a connection
// reset or EOF rather than an HTTP status. State is kept; see Restart.
func (s *Server) RefuseConnections(d time.Duration) { s.refuseConnections(d, nil) }

// refuseConnections spares keep, the connection that asked for it over
// /sim, so that it gets its answer.
func (s *Server) refuseConnections(d time.Duration, keep net.Conn) {
	s.ln.refuse(d)
	s.mu.Lock()
	conns := s.connList()
	for c := range s.httpConns {
		if c != keep {
			_ = c.Close() // cutting it is the point
		}
	}
	s.mu.Unlock()
	dropAll(conns)
}

// Restart behaves like an Asterisk restart: websockets drop, and every
// channel, bridge, playback, live recording, application and subscription
// is forgotten, without any event. Endpoints, stored recordings, sent
// messages and the entity id stay.
func (s *Server) Restart() {
	s.mu.Lock()
	s.stopAllTimers()
	for _, c := range s.channels {
		c.gone = true
	}
	clear(s.channels)
	for _, e := range s.endpoints {
		clear(e.channels)
	}
	clear(s.bridges)
	clear(s.playbacks)
	clear(s.live)
	clear(s.apps)
	s.history = nil
	s.startedAt = s.now()
	conns := s.connList()
	s.mu.Unlock()
	dropAll(conns)
}

// EndRecording ends a live recording by itself, as Asterisk does when its
// recorder gives up (no audio, a full disk): RecordingFinished with state
// done and the audio so far stored, and a later stop gets 404.
func (s *Server) EndRecording(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.live[name]
	if !found {
		return fmt.Errorf("aritest: end recording: live recording %q %w", name, errNotFound)
	}
	s.finishRecording(r, "done")
	return nil
}

// SendUndecodable sends every application with a websocket an event that
// the Asterisk 22 schema allows but ari/v5 v5.3.1 cannot decode:
// "ChannelTransfer", "ChannelToneDetected", "ApplicationRegistered" or
// "ApplicationUnregistered". "ChannelCallerId" is accepted too; v5.3.1
// does decode that one.
func (s *Server) SendUndecodable(eventType string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	apps := s.registeredApps()
	if len(apps) == 0 {
		return fmt.Errorf("aritest: send %s: no application has a websocket", eventType)
	}
	for _, a := range apps {
		ch := s.someChannel(a)
		var e event
		switch eventType {
		case "ChannelTransfer":
			e = event{typ: eventType, post: []field{
				{"state", "channel_answered"},
				{"refer_to", map[string]any{"requested_destination": map[string]string{
					"protocol_id": ch.ProtocolID, "destination": "sip:1002@127.0.0.1",
				}}},
				{"referred_by", map[string]any{"source_channel": ch}},
			}}
		case "ChannelCallerId":
			e = event{typ: eventType, post: []field{
				{"caller_presentation", 0},
				{"caller_presentation_txt", "Presentation Allowed, Not Screened"},
				{"channel", ch},
			}}
		case "ChannelToneDetected":
			e = event{typ: eventType, post: []field{{"channel", ch}}}
		case "ApplicationRegistered", "ApplicationUnregistered":
			e = event{typ: eventType}
		default:
			return fmt.Errorf("aritest: send undecodable: unsupported event type %q", eventType)
		}
		s.emit(e, []*app{a})
	}
	return nil
}

// someChannel is a channel of a's to mention in an injected event, or a
// made-up one when a has none.
func (s *Server) someChannel(a *app) channelJSON {
	for _, c := range s.sortedChannels() {
		if a.channels[c.id] {
			return c.json()
		}
	}
	return channelJSON{
		ID: "1700000000.0", Name: "PJSIP/citizen-ffffffff", State: stateUp, ProtocolID: "0000000000000000",
		Dialplan:     dialplanJSON{Context: "hotline-citizens", Exten: "12345", Priority: 1},
		Creationtime: s.now().Format(dateFormat), Language: "en",
	}
}

// SendRaw writes event, as is, to the websocket of app.
func (s *Server) SendRaw(app string, event []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[app]
	if a == nil || a.conn == nil {
		return fmt.Errorf("aritest: send raw: application %q has no websocket", app)
	}
	var typ struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(event, &typ) // raw events may be anything; the type is informative only
	body := append([]byte(nil), event...)
	a.conn.send(body)
	s.record(Emitted{Kind: KindEvent, Model: typ.Type, Body: body, App: app, Injected: true})
	return nil
}
