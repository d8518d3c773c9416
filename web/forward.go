package web

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// A request that acts on a live call (a referral, starting to monitor) or
// on an agent's phone (pausing, resuming: the driving instance rings it)
// can only be carried out by the instance that drives that Asterisk
// server. Any other instance passes it on to that one, with the caller's
// credentials untouched, so the driving instance authenticates, checks
// and audits the same user itself. The target is only ever the lease
// holder named in Redis, never anything the client sends.

// Forwarder says which instance drives the Asterisk server of a call or
// of an agent's phone.
type Forwarder interface {
	// CallDriver returns "" when this instance drives call id's server
	// (or the id names none), else the HTTP address (host:port) of the
	// instance that does; KindUnavailable with a RetryAfter when no
	// instance does.
	CallDriver(ctx context.Context, callID string) (addr string, err error)
	// AgentDriver is CallDriver for the server agent id's phone is on.
	AgentDriver(ctx context.Context, agentID string) (addr string, err error)
	// MonitorCall is the call monitoring id listens to.
	MonitorCall(ctx context.Context, id int64) (string, error)
}

// forwardTarget is what a request acts on: a live call or an agent's
// phone; zero: nothing this instance cannot serve itself.
type forwardTarget struct{ call, agent string }

func (t forwardTarget) String() string {
	if t.agent != "" {
		return "agent " + t.agent
	}
	return "call " + t.call
}

// liveCall is the call a request's path names (/calls/{id}/…).
func liveCall(r *http.Request) (forwardTarget, error) {
	return forwardTarget{call: chi.URLParam(r, "id")}, nil
}

// agentPhone is the agent a request's path names (/agents/{id}/…).
func agentPhone(r *http.Request) (forwardTarget, error) {
	return forwardTarget{agent: chi.URLParam(r, "id")}, nil
}

// monitoredCall is the call of the monitoring a request's path names
// (/monitors/{id}/…); "" when there is no such monitoring, which this
// instance answers.
func (s *Server) monitoredCall(r *http.Request) (forwardTarget, error) {
	id, err := pathID("web.forward", r, "monitoring")
	if err != nil {
		return forwardTarget{}, nil // answered here: 400
	}
	callID, err := s.deps.Forward.MonitorCall(r.Context(), id)
	if hotline.KindOf(err) == hotline.KindNotFound {
		return forwardTarget{}, nil
	}
	return forwardTarget{call: callID}, err
}

// forwardedHeader marks a request one instance passed on to another: it
// is never passed on again.
const forwardedHeader = "X-Hotline-Forwarded"

// forwardRetry is what a client is told to wait while a server has no
// driving instance: about a lease's takeover.
const forwardRetry = 5 * time.Second

// forwardCall passes r on to the instance driving the server of the call
// or agent it acts on and reports whether it did (or answered why it
// could not); false: this instance handles r.
func (s *Server) forwardCall(w http.ResponseWriter, r *http.Request, targetOf func(*http.Request) (forwardTarget, error)) bool {
	const op = "web.forward"
	if s.deps.Forward == nil {
		return false
	}
	target, err := targetOf(r)
	if err == nil && target == (forwardTarget{}) {
		return false
	}
	var addr string
	switch {
	case err != nil:
	case target.agent != "":
		addr, err = s.deps.Forward.AgentDriver(r.Context(), target.agent)
	default:
		addr, err = s.deps.Forward.CallDriver(r.Context(), target.call)
	}
	if err == nil && addr == "" {
		return false
	}
	if err == nil && r.Header.Get(forwardedHeader) != "" {
		e := hotline.Errorf(hotline.KindUnavailable, op, "%s's Asterisk server is being taken over by another instance; try again shortly", target)
		e.RetryAfter = forwardRetry
		err = e
	}
	if err == nil {
		if host, _, splitErr := net.SplitHostPort(addr); splitErr != nil || host == "" || net.ParseIP(host).IsUnspecified() {
			err = hotline.Errorf(hotline.KindUnavailable, op,
				"%s's Asterisk server is driven by the instance at %q, which advertises no address others can reach (http.advertise)", target, addr)
		}
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return true
	}
	driver := &url.URL{Scheme: "http", Host: addr}
	if s.cfg.TLSCertFile != "" {
		driver.Scheme = "https"
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(driver)
			// The Host the client named, which the driving instance's
			// allowed hosts accept as ours do; the client's address in
			// X-Forwarded-For (believed there when this instance is in its
			// http.trusted_proxies).
			pr.Out.Host = pr.In.Host
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
			pr.Out.Header.Set(forwardedHeader, "1")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			e := hotline.Errorf(hotline.KindUnavailable, op, "the instance driving %s's Asterisk server (%s) could not be reached: %v", target, addr, err)
			e.RetryAfter = forwardRetry
			writeError(w, r, s.log, e)
		},
	}
	s.log.Debug("request forwarded", "path", r.URL.Path, "to", addr)
	proxy.ServeHTTP(w, r)
	return true
}
