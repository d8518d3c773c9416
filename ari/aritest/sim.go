package aritest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// simRoutes drives the fake from outside: the demo, and scenarios
// scripted over HTTP. They take and give JSON, need no credentials, and
// answer bad input with 400 {"error": "..."}. doc.go lists them.

func (s *Server) simRoutes() *http.ServeMux {
	m := http.NewServeMux()
	simHandler := func(fn func(*Server, *http.Request) (int, any, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			status, body, err := fn(s, r)
			if err != nil {
				writeSim(w, simStatus(err), simError{strings.TrimPrefix(err.Error(), "aritest: ")})
				return
			}
			writeSim(w, status, body)
		}
	}
	m.HandleFunc("POST /sim/calls", simHandler((*Server).simPlaceCall))
	m.HandleFunc("GET /sim/calls", simHandler((*Server).simPlacedCalls))
	m.HandleFunc("GET /sim/channels", simHandler((*Server).simChannels))
	m.HandleFunc("POST /sim/channels/{id}/dtmf", simHandler((*Server).simDTMF))
	m.HandleFunc("POST /sim/channels/{id}/hangup", simHandler((*Server).simHangup))
	m.HandleFunc("GET /sim/bridges", simHandler((*Server).simBridges))
	m.HandleFunc("GET /sim/playbacks", simHandler((*Server).simPlaybacks))
	m.HandleFunc("GET /sim/endpoints", simHandler((*Server).simEndpoints))
	m.HandleFunc("PUT /sim/endpoints/{name...}", simHandler((*Server).simSetEndpoint))
	m.HandleFunc("POST /sim/endpoints/{name...}", simHandler((*Server).simSetOnline))
	m.HandleFunc("PUT /sim/trunks/{name...}", simHandler((*Server).simSetTrunk))
	m.HandleFunc("GET /sim/messages", simHandler((*Server).simMessages))
	m.HandleFunc("GET /sim/recordings", simHandler((*Server).simRecordings))
	m.HandleFunc("GET /sim/voicemail", simHandler((*Server).simVoicemail))
	m.HandleFunc("POST /sim/faults", simHandler((*Server).simFault))
	m.HandleFunc("GET /sim/timings", simHandler((*Server).simTimings))
	m.HandleFunc("/sim/", func(w http.ResponseWriter, r *http.Request) {
		writeSim(w, http.StatusNotFound, simError{"no such simulator route: " + r.Method + " " + r.URL.Path})
	})
	return m
}

type simError struct {
	Error string `json:"error"`
}

// errBadInput marks simulator errors that are the caller's fault.
var errBadInput = errors.New("bad input")

// simStatus maps an error to 400 for bad input, 404 for something that
// does not exist, and 409 for a request the fake's state refuses.
func simStatus(err error) int {
	switch {
	case errors.Is(err, errBadInput):
		return http.StatusBadRequest
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	default:
		return http.StatusConflict
	}
}

func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadInput, fmt.Sprintf(format, args...))
}

func writeSim(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(marshal(body), '\n')) // a client that went away is not our problem
}

// decodeSim reads a strict JSON body into v; an empty body leaves v as is.
func decodeSim(r *http.Request, v any) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return badInput("read body: %v", err)
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return nil
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badInput("body: %v", err)
	}
	return nil
}

// duration is a time.Duration written as a string such as "2s" or "1m30s".
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	if d == 0 {
		return []byte(`""`), nil
	}
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("durations are strings such as \"2s\": %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = duration(v)
	return nil
}

type simCall struct {
	Caller      string   `json:"caller"`
	CallerName  string   `json:"caller_name"`
	Dialed      string   `json:"dialed"`
	App         string   `json:"app"`
	Args        []string `json:"args"`
	HangupAfter duration `json:"hangup_after"`
	DTMF        string   `json:"dtmf"`
	DTMFGap     duration `json:"dtmf_gap"`
	// HangupWhenAlone is InboundCall.HangupWhenAlone; absent = never.
	HangupWhenAlone *duration `json:"hangup_when_alone"`
}

func (s *Server) simPlaceCall(r *http.Request) (int, any, error) {
	var c simCall
	if err := decodeSim(r, &c); err != nil {
		return 0, nil, err
	}
	if c.Caller == "" {
		return 0, nil, badInput("caller is required")
	}
	if err := validDTMF(c.DTMF); err != nil {
		return 0, nil, badInput("%v", err)
	}
	id, err := s.PlaceCall(InboundCall{
		Caller: c.Caller, CallerName: c.CallerName, Dialed: c.Dialed, App: c.App, Args: c.Args,
		HangupAfter: time.Duration(c.HangupAfter), DTMF: c.DTMF, DTMFGap: time.Duration(c.DTMFGap),
		HangupWhenAlone: (*time.Duration)(c.HangupWhenAlone),
	})
	if errors.Is(err, ErrStasisFailed) {
		// The app was not there: the call went to the dialplan's fallback.
		return http.StatusCreated, map[string]string{"channel_id": id, "stasis": "FAILED"}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]string{"channel_id": id}, nil
}

func (s *Server) simPlacedCalls(*http.Request) (int, any, error) {
	return http.StatusOK, s.PlacedCalls(), nil
}

func (s *Server) simChannels(*http.Request) (int, any, error) {
	return http.StatusOK, s.Channels(), nil
}

func (s *Server) simDTMF(r *http.Request) (int, any, error) {
	var body struct {
		Digits string `json:"digits"`
	}
	if err := decodeSim(r, &body); err != nil {
		return 0, nil, err
	}
	if body.Digits == "" {
		return 0, nil, badInput("digits is required")
	}
	if err := validDTMF(body.Digits); err != nil {
		return 0, nil, badInput("%v", err)
	}
	if err := s.SendDTMF(r.PathValue("id"), body.Digits); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) simHangup(r *http.Request) (int, any, error) {
	if err := s.Hangup(r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) simBridges(*http.Request) (int, any, error) {
	return http.StatusOK, s.Bridges(), nil
}

func (s *Server) simPlaybacks(*http.Request) (int, any, error) {
	return http.StatusOK, s.Playbacks(), nil
}

// simBehavior is Behavior on the wire, durations as strings.
type simBehavior struct {
	Offline     bool     `json:"offline"`
	AnswerAfter duration `json:"answer_after"`
	NoAnswer    bool     `json:"no_answer"`
	Busy        bool     `json:"busy"`
	Unreachable bool     `json:"unreachable"`
	NotFound    bool     `json:"not_found"`
	HangupAfter duration `json:"hangup_after"`
	DTMF        string   `json:"dtmf"`
	DTMFGap     duration `json:"dtmf_gap"`
}

func (b simBehavior) behavior() Behavior {
	return Behavior{
		Offline: b.Offline, AnswerAfter: time.Duration(b.AnswerAfter), NoAnswer: b.NoAnswer, Busy: b.Busy,
		Unreachable: b.Unreachable, NotFound: b.NotFound, HangupAfter: time.Duration(b.HangupAfter),
		DTMF: b.DTMF, DTMFGap: time.Duration(b.DTMFGap),
	}
}

func wireBehavior(b Behavior) simBehavior {
	return simBehavior{
		Offline: b.Offline, AnswerAfter: duration(b.AnswerAfter), NoAnswer: b.NoAnswer, Busy: b.Busy,
		Unreachable: b.Unreachable, NotFound: b.NotFound, HangupAfter: duration(b.HangupAfter),
		DTMF: b.DTMF, DTMFGap: duration(b.DTMFGap),
	}
}

type simEndpoint struct {
	Name     string      `json:"name"`
	Online   bool        `json:"online"`
	Behavior simBehavior `json:"behavior"`
	Channels []string    `json:"channel_ids"`
}

func (s *Server) simEndpoints(*http.Request) (int, any, error) {
	out := []simEndpoint{}
	for _, e := range s.Endpoints() {
		out = append(out, simEndpoint{Name: e.Name, Online: e.Online, Behavior: wireBehavior(e.Behavior), Channels: e.Channels})
	}
	return http.StatusOK, out, nil
}

func (s *Server) readBehavior(r *http.Request) (Behavior, error) {
	var b simBehavior
	if err := decodeSim(r, &b); err != nil {
		return Behavior{}, err
	}
	if err := validDTMF(b.DTMF); err != nil {
		return Behavior{}, badInput("%v", err)
	}
	return b.behavior(), nil
}

func (s *Server) simSetEndpoint(r *http.Request) (int, any, error) {
	name := r.PathValue("name")
	if _, _, _, err := splitEndpoint(name); err != nil {
		return 0, nil, badInput("%v", err)
	}
	b, err := s.readBehavior(r)
	if err != nil {
		return 0, nil, err
	}
	s.SetEndpoint(name, b)
	return http.StatusOK, simEndpoint{Name: name, Online: !b.Offline, Behavior: wireBehavior(b), Channels: []string{}}, nil
}

func (s *Server) simSetTrunk(r *http.Request) (int, any, error) {
	b, err := s.readBehavior(r)
	if err != nil {
		return 0, nil, err
	}
	s.SetTrunkDefault(r.PathValue("name"), b)
	return http.StatusNoContent, nil, nil
}

// simSetOnline serves POST /sim/endpoints/{name}/online and …/offline.
func (s *Server) simSetOnline(r *http.Request) (int, any, error) {
	rest := r.PathValue("name")
	name, online := strings.CutSuffix(rest, "/online")
	if !online {
		var offline bool
		if name, offline = strings.CutSuffix(rest, "/offline"); !offline {
			return 0, nil, badInput("POST /sim/endpoints/NAME/online or /offline")
		}
	}
	if err := s.SetOnline(name, online); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) simMessages(*http.Request) (int, any, error) {
	return http.StatusOK, s.Messages(), nil
}

func (s *Server) simRecordings(*http.Request) (int, any, error) {
	return http.StatusOK, s.StoredRecordings(), nil
}

func (s *Server) simVoicemail(*http.Request) (int, any, error) {
	return http.StatusOK, s.VoiceMessages(), nil
}

type simFault struct {
	Kind      string   `json:"kind"`
	Method    string   `json:"method"`
	Pattern   string   `json:"pattern"`
	Status    int      `json:"status"`
	Times     int      `json:"times"`
	Duration  duration `json:"duration"`
	EventType string   `json:"event_type"`
	Name      string   `json:"name"`
}

func (s *Server) simFault(r *http.Request) (int, any, error) {
	var f simFault
	if err := decodeSim(r, &f); err != nil {
		return 0, nil, err
	}
	switch f.Kind {
	case "drop_websockets":
		s.DropWebsockets()
	case "refuse_connections":
		if f.Duration <= 0 {
			return 0, nil, badInput("refuse_connections needs a duration such as \"2s\"")
		}
		s.refuseConnections(time.Duration(f.Duration), connOf(r))
	case "fail_route":
		if !validPattern(f.Pattern) || f.Status < 400 || f.Status > 599 {
			return 0, nil, badInput("fail_route needs a pattern such as \"/ari/channels/*/answer\" and a status between 400 and 599")
		}
		s.FailRoute(f.Method, f.Pattern, f.Status, f.Times)
	case "delay_route":
		if !validPattern(f.Pattern) || f.Duration <= 0 {
			return 0, nil, badInput("delay_route needs a pattern such as \"/ari/channels\" and a duration such as \"500ms\"")
		}
		s.DelayRoute(f.Method, f.Pattern, time.Duration(f.Duration))
	case "undecodable":
		if err := s.SendUndecodable(f.EventType); err != nil {
			return 0, nil, badInput("%v", err)
		}
	case "end_recording":
		if err := s.EndRecording(f.Name); err != nil {
			return 0, nil, err
		}
	case "restart":
		s.Restart()
	case "clear":
		s.ClearFaults()
	default:
		return 0, nil, badInput("unknown fault kind %q; want drop_websockets, refuse_connections, fail_route, delay_route, undecodable, end_recording, restart or clear", f.Kind)
	}
	return http.StatusNoContent, nil, nil
}
