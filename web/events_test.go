package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

// stream is one console tab's live stream, read message by message.
type stream struct {
	t      *testing.T
	resp   *http.Response
	events chan [2]string // event name, data
}

func openStream(t *testing.T, url, as string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("X-Test-As", as)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	s := &stream{t: t, resp: resp, events: make(chan [2]string, 16)}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if name != "" {
					s.events <- [2]string{name, data}
				}
				name, data = "", ""
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next waits for the next message; ok is false when the stream ended.
func (s *stream) next() (name, data string, ok bool) {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev[0], ev[1], ok
	case <-time.After(10 * time.Second):
		s.t.Fatal("no message on the live stream within 10s")
	}
	return "", "", false
}

// Each actor hears only of changes to what it may read: an agent of its
// own tasks and of every agent's state, a supervisor of everything, an
// admin of no callback task.
func TestLiveStreamHearsWhatTheActorMayRead(t *testing.T) {
	t.Parallel()
	events := web.NewEvents()
	s, err := web.New(web.Config{}, testDeps(web.Deps{Events: events}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")

	streams := map[string]*stream{}
	for _, who := range []string{"a1001", "a1002", "sup", "adm"} {
		streams[who] = openStream(t, srv.URL, who)
		name, _, ok := streams[who].next()
		require.True(t, ok)
		require.Equal(t, "hello", name, "the first message tells the page to read everything")
	}
	require.Equal(t, map[string]int{"1001": 1, "1002": 1, "s01": 1, "9001": 1}, events.Streams())

	events.Publish(web.Event{Topic: web.TopicCallbacks, Agents: []string{"1002"}})
	events.Publish(web.Event{Topic: web.TopicAgents, Agents: []string{"1002"}})
	// 1001 hears only of the agents change: the task of 1002 was not told.
	for who, want := range map[string][]string{
		"a1001": {"agents"},
		"a1002": {"agents", "callbacks"},
		"sup":   {"agents", "callbacks"},
		"adm":   {"agents"},
	} {
		var got []string
		for len(got) < len(want) { // the two publishes arrive as one message or two
			name, data, ok := streams[who].next()
			require.True(t, ok)
			require.Equal(t, "change", name)
			var msg struct{ Topics []string }
			require.NoError(t, json.Unmarshal([]byte(data), &msg))
			got = append(got, msg.Topics...)
		}
		slices.Sort(got)
		require.Equal(t, want, got, who)
	}

	events.Close()
	for who, st := range streams {
		_, _, ok := st.next()
		require.False(t, ok, "%s: the stream ends when the server stops", who)
	}
}

// What staff do through the API is told by the gate: pausing agent 1001
// reaches the streams of 1001 and of supervisors at once.
func TestLiveStreamHearsActionsThroughTheAPI(t *testing.T) {
	t.Parallel()
	events := web.NewEvents()
	s, err := web.New(web.Config{}, testDeps(web.Deps{Events: events,
		Control: agentControlFunc(func(context.Context, string, hotline.AgentState, string) (hotline.Agent, error) {
			return hotline.Agent{ID: "1001", State: hotline.AgentPaused}, nil
		})}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	agent := openStream(t, srv.URL, "a1001")
	_, _, _ = agent.next()
	status, body, _ := send(t, http.MethodPost, srv.URL+"/api/v1/agents/1001/pause", "a1001", `{"reason":"午休"}`)
	require.Equal(t, http.StatusOK, status, body)
	name, data, ok := agent.next()
	require.True(t, ok)
	require.Equal(t, "change", name)
	require.Equal(t, `{"topics":["agents"]}`, data)
}

// switchAuth is the fake authenticator until off is set: then every login
// fails, as for a user disabled or logged out.
type switchAuth struct {
	fakeAuth
	off *atomic.Bool
}

func (a switchAuth) TokenActor(ctx context.Context, secret, address string) (hotline.Actor, error) {
	if a.off.Load() {
		return hotline.Actor{}, hotline.Errorf(hotline.KindUnauthorized, "fake", "disabled")
	}
	return a.fakeAuth.TokenActor(ctx, secret, address)
}

// A stream checks at each keepalive that its login still holds: a
// disabled user's stream ends, and the reconnect is refused.
func TestLiveStreamEndsWhenTheLoginNoLongerHolds(t *testing.T) {
	t.Parallel()
	off := &atomic.Bool{}
	s, err := web.New(web.Config{EventsKeepalive: time.Second}, testDeps(web.Deps{Events: web.NewEvents(), Auth: switchAuth{off: off}}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	st := openStream(t, srv.URL, "a1001")
	_, _, _ = st.next()
	off.Store(true)
	_, _, ok := st.next()
	require.False(t, ok, "the stream ends at the next keepalive")
	status, _, _ := send(t, http.MethodGet, srv.URL+"/api/v1/events", "a1001", "")
	require.Equal(t, http.StatusUnauthorized, status)
}
