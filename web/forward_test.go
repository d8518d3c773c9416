package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// forwarderFunc adapts a function to web.Forwarder; monitoring 5 is of
// call c1, others do not exist.
type forwarderFunc func(ctx context.Context, callID string) (string, error)

func (f forwarderFunc) CallDriver(ctx context.Context, callID string) (string, error) {
	return f(ctx, callID)
}

// AgentDriver asks f about "agent <id>".
func (f forwarderFunc) AgentDriver(ctx context.Context, agentID string) (string, error) {
	return f(ctx, "agent "+agentID)
}

func (forwarderFunc) MonitorCall(_ context.Context, id int64) (string, error) {
	if id == 5 {
		return "c1", nil
	}
	return "", hotline.Errorf(hotline.KindNotFound, "fake", "monitoring %d not found", id)
}

// A request acting on a live call this instance does not drive goes, with
// its credentials and body, to the instance that does, which alone audits
// it; one already passed on, or one for a server nobody drives, is
// answered 503 with Retry-After.
func TestCallActionsArePassedOnToTheDrivingInstance(t *testing.T) {
	t.Parallel()
	type seen struct{ method, path, host, auth, marked, body string }
	got := make(chan seen, 4)
	holder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Hotline-Forwarded"), string(body)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"served_by":"holder"}`)
	}))
	t.Cleanup(holder.Close)
	holderAddr := strings.TrimPrefix(holder.URL, "http://")

	audit := &auditRecorder{}
	d := allDeps(audit)
	d.Referrer = referrerFunc(func(context.Context, string, string, string, string) (hotline.Referral, error) {
		t.Error("a call driven elsewhere must not be referred here")
		return hotline.Referral{}, nil
	})
	var orphaned atomic.Bool // no instance drives c1's server
	d.Forward = forwarderFunc(func(_ context.Context, callID string) (string, error) {
		switch {
		case callID == "agent 1001":
			return holderAddr, nil
		case callID != "c1":
			return "", nil
		case orphaned.Load():
			e := hotline.Errorf(hotline.KindUnavailable, "fake", "Asterisk server b of call %s has no driving instance now", callID)
			e.RetryAfter = 3 * time.Second
			return "", e
		}
		return holderAddr, nil
	})
	s, err := web.New(web.Config{}, d, nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "a1001")

	status, body, _ := send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/referrals", "a1001", `{"to_agent": "1002"}`)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	require.Equal(t, "holder", body["served_by"])
	require.Equal(t, seen{http.MethodPost, "/api/v1/calls/c1/referrals", strings.TrimPrefix(srv.URL, "http://"), "Bearer a1001", "1", `{"to_agent": "1002"}`}, <-got)
	require.Empty(t, audit.all(), "the instance that serves it audits it")

	status, body, _ = send(t, http.MethodPost, srv.URL+"/api/v1/monitors/5/end", "sup", `{}`)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	require.Equal(t, "/api/v1/monitors/5/end", (<-got).path)

	// An agent pausing itself: the instance that rings its phone does it.
	status, body, _ = send(t, http.MethodPost, srv.URL+"/api/v1/agents/1001/pause", "a1001", `{"reason":"午休"}`)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	require.Equal(t, seen{http.MethodPost, "/api/v1/agents/1001/pause", strings.TrimPrefix(srv.URL, "http://"), "Bearer a1001", "1", `{"reason":"午休"}`}, <-got)
	status, _, _ = send(t, http.MethodPost, srv.URL+"/api/v1/agents/1001/resume", "a1001", `{}`)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "/api/v1/agents/1001/resume", (<-got).path)
	require.Empty(t, audit.all(), "the instance that serves them audits them")

	// Refused here first: the access table is checked before passing on.
	status, _, _ = send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/monitor", "a1001", `{"mode":"listen"}`)
	require.Equal(t, http.StatusForbidden, status)

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/calls/c1/referrals", strings.NewReader(`{"to_agent": "1002"}`))
	require.NoError(t, err)
	req.Header.Set("X-Test-As", "a1001")
	req.Header.Set("X-Hotline-Forwarded", "1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "passed on once only: %s", raw)
	require.Contains(t, string(raw), "being taken over")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))

	orphaned.Store(true)
	status, body, header := send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/referrals", "a1001", `{"to_agent": "1002"}`)
	require.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	require.Contains(t, body["error"], "no driving instance")
	require.Equal(t, "3", header.Get("Retry-After"))
	require.Len(t, got, 0, "nothing more reached the holder")
}

func TestAdvertiseMustNameAReachableHost(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{":8080", "0.0.0.0:8080", "[::]:8080", "10.0.0.21"} {
		_, err := web.New(web.Config{Advertise: bad}, testDeps(web.Deps{}), nil)
		require.ErrorContains(t, err, "http.advertise", bad)
	}
	_, err := web.New(web.Config{Advertise: "10.0.0.21:8080"}, testDeps(web.Deps{}), nil)
	require.NoError(t, err)
}
