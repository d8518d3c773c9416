package aritest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ariError is an ARI error response. Most carry {"message": …}; originate
// allocation failures carry {"error": …}.
type ariError struct {
	status int
	body   any
}

func errMsg(status int, msg string) *ariError {
	return &ariError{status: status, body: messageJSON{Message: msg}}
}

func (e *ariError) reply() reply { return reply{status: e.status, body: e.body} }

// reply is what an ARI handler answers. after, when set, runs under s.mu
// once the response has been written and flushed: Asterisk sends a dial's
// first events after the originate response, for example.
type reply struct {
	status int
	body   any    // JSON-encoded; nil means an empty body
	raw    []byte // sent as is with header's Content-Type
	model  string // schema model of body, for Emitted
	header map[string]string
	after  func()
}

func ok(model string, body any) reply { return reply{status: http.StatusOK, body: body, model: model} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// request is one ARI call: path parameters, then parameters from the JSON
// body, then from the query string.
type request struct {
	r     *http.Request
	path  map[string]string
	body  map[string]json.RawMessage
	query url.Values
}

func (q *request) param(name string) string { return q.path[name] }

// str returns a parameter as a string; numbers and booleans in the body
// come back as their JSON text.
func (q *request) str(name string) string {
	if raw, ok := q.body[name]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if t := string(bytes.TrimSpace(raw)); t != "null" {
			return t
		}
		return ""
	}
	return q.query.Get(name)
}

// int returns a whole-number parameter, def when absent or malformed.
func (q *request) int(name string, def int) int {
	v := strings.TrimSpace(q.str(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

// list returns a parameter that may repeat: a JSON array, or a
// comma-separated string as Asterisk accepts for allowMultiple parameters.
func (q *request) list(name string) []string {
	var items []string
	if raw, ok := q.body[name]; ok {
		if json.Unmarshal(raw, &items) != nil {
			items = strings.Split(q.str(name), ",")
		}
	} else {
		for _, v := range q.query[name] {
			items = append(items, strings.Split(v, ",")...)
		}
	}
	out := items[:0]
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// vars returns an object parameter such as "variables" as strings.
func (q *request) vars(name string) map[string]string {
	raw, ok := q.body[name]
	if !ok {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, isStr := v.(string); isStr {
			out[k] = s
		} else {
			out[k] = string(marshal(v))
		}
	}
	return out
}

// ServeHTTP serves ARI under /ari and the simulator under /sim.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeRaw(w, http.StatusServiceUnavailable, "application/json", marshal(messageJSON{"Server is shutting down"}))
		return
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()

	switch {
	case strings.HasPrefix(r.URL.Path, "/sim/"):
		s.sim.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/ari/"):
		s.serveARI(w, r)
	default:
		s.writeReply(w, r, errMsg(http.StatusNotFound, "Resource not found").reply())
	}
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		// Asterisk also takes ?api_key=user:pass.
		user, pass, ok = strings.Cut(r.URL.Query().Get("api_key"), ":")
	}
	return ok && user == s.opts.Username && pass == s.opts.Password
}

func (s *Server) serveARI(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		rep := errMsg(http.StatusUnauthorized, "Authentication required").reply()
		rep.header = map[string]string{"WWW-Authenticate": `Basic realm="Asterisk REST Interface"`}
		s.writeReply(w, r, rep)
		return
	}
	if f := s.faultFor(r); f != nil {
		if f.delay > 0 && !s.wait(r, f.delay) {
			return
		}
		if f.status != 0 {
			s.writeReply(w, r, errMsg(f.status, http.StatusText(f.status)).reply())
			return
		}
	}
	if r.URL.Path == "/ari/events" {
		s.serveEvents(w, r)
		return
	}
	h, params, allowed := matchRoute(r.Method, strings.TrimPrefix(r.URL.Path, "/ari"))
	if h == nil {
		if allowed {
			s.writeReply(w, r, errMsg(http.StatusMethodNotAllowed, "Invalid method").reply())
		} else {
			s.writeReply(w, r, errMsg(http.StatusNotFound, "Resource not found").reply())
		}
		return
	}
	q := &request{r: r, path: params, query: r.URL.Query()}
	if body, err := io.ReadAll(r.Body); err != nil {
		return // the client went away
	} else if len(bytes.TrimSpace(body)) > 0 {
		if json.Unmarshal(body, &q.body) != nil {
			s.writeReply(w, r, errMsg(http.StatusBadRequest, "Error parsing request body").reply())
			return
		}
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.load.requests.Add(1)
	rep := h(s, q)
	s.mu.Unlock()

	s.writeReply(w, r, rep)
	if rep.after != nil {
		s.mu.Lock()
		if !s.closed {
			rep.after()
		}
		s.mu.Unlock()
	}
}

// wait holds a delayed request, giving up when the client leaves or the
// server closes.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// writeReply writes rep with Asterisk's headers, spelled as Asterisk spells
// them, and reports it to OnEmit.
func (s *Server) writeReply(w http.ResponseWriter, r *http.Request, rep reply) {
	h := w.Header()
	h["Server"] = []string{serverHeader}
	h["Cache-Control"] = []string{"no-cache, no-store"}
	var body []byte
	switch {
	case rep.raw != nil:
		body = rep.raw
	case rep.body != nil:
		body = marshal(rep.body)
		h["Content-type"] = []string{"application/json"}
	}
	for k, v := range rep.header {
		h[k] = []string{v}
	}
	if _, set := h["Content-Type"]; !set {
		h["Content-Type"] = nil // no sniffed second Content-Type next to Content-type
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(rep.status)
	if _, err := w.Write(body); err == nil {
		if f, isFlusher := w.(http.Flusher); isFlusher {
			f.Flush()
		}
	}
	if s.opts.OnEmit != nil && strings.HasPrefix(r.URL.Path, "/ari/") {
		model := rep.model
		if rep.status >= 300 || rep.raw != nil {
			model = ""
		}
		s.opts.OnEmit(Emitted{Kind: KindResponse, Method: r.Method, Path: r.URL.Path, Status: rep.status, Model: model, Body: body})
	}
}

// writeRaw writes a body with Asterisk's headers and the given type.
func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h["Server"] = []string{serverHeader}
	h["Cache-Control"] = []string{"no-cache, no-store"}
	h["Content-type"] = []string{contentType}
	h["Content-Type"] = nil
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that went away is not our problem
}
