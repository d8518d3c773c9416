package ari_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
)

// inFallback reports whether the fake's dialplan fallback took channel:
// it notes every call it takes in AstDB, for import as a missed call owed
// a callback.
func inFallback(fake *aritest.Server, channel string) bool {
	for k := range fake.AstDB() {
		if strings.HasSuffix(k, "/"+channel) {
			return true
		}
	}
	return false
}

// TestAdmissionSendsCallsPastABoundToTheFallback: at max_calls calls in
// progress, or max_waiting citizens without an agent, a new citizen goes to
// the dialplan's fallback at once (noted there for a callback) instead of
// joining calls the service cannot serve; the call in progress goes on,
// and once it ends new calls are taken again.
func TestAdmissionSendsCallsPastABoundToTheFallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason string
		cfg    hari.CallConfig
	}{
		{"max_calls", hari.CallConfig{MaxCalls: 1}},
		{"max_waiting", hari.CallConfig{MaxWaiting: 1}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			tc.cfg.MaxWait = 30 * time.Second
			tc.cfg.RingTimeout = 30 * time.Second
			b := setupCalls(t, tc.cfg, agentSpec{id: "1001", behavior: aritest.Behavior{NoAnswer: true}})
			first, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
			require.NoError(t, err)
			b.waitStored(t, func(c hotline.Call) bool { return c.Phase == hotline.PhaseQueued })
			require.Equal(t, 1, b.calls.Waiting())
			require.Equal(t, tc.reason, b.calls.Admit())

			second, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
			require.NoError(t, err)
			require.Eventually(t, func() bool { return inFallback(b.fake, second) }, 5*time.Second, time.Millisecond,
				"the second citizen runs the fallback: %v", b.fake.AstDB())
			require.Equal(t, 1.0, b.labelled("hotline_calls_refused_total", "reason", tc.reason))
			require.Equal(t, 1, b.calls.Active(), "the first call goes on")
			require.False(t, inFallback(b.fake, first))

			require.NoError(t, b.fake.Hangup(first))
			ended := b.waitEnded(t)
			require.Equal(t, first, ended.ChannelID)
			require.Equal(t, hotline.MissedAbandoned, ended.MissedReason)
			require.Eventually(t, func() bool { return b.calls.Active() == 0 && b.calls.Waiting() == 0 }, 5*time.Second, time.Millisecond)
			require.Empty(t, b.calls.Admit(), "below the bounds again")
			third, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13700137000", Dialed: "12345"})
			require.NoError(t, err)
			require.Eventually(t, func() bool { return b.calls.Active() == 1 }, 5*time.Second, time.Millisecond, "the third call is taken")
			require.False(t, inFallback(b.fake, third))
		})
	}
}

// TestAdmissionRefusesCallsWhileTheServiceIsBehind: once a call's events
// wait longer than max_lag for its handler, new citizens go to the
// fallback for a second of the service's clock, then are taken again.
// max_lag is one nanosecond here, so every event a call takes counts as
// late and the test needs no slow machine.
func TestAdmissionRefusesCallsWhileTheServiceIsBehind(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	base := time.Now()
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) } // moves only when told
	b := setupFlow(t, hari.CallConfig{MaxLag: time.Nanosecond}, flowOptions{now: now},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 50 * time.Millisecond}})
	require.Empty(t, b.calls.Admit())
	first, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.calls.Admit() == "max_lag" }, 5*time.Second, time.Millisecond,
		"the call took an event that waited longer than max_lag")
	second, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return inFallback(b.fake, second) }, 5*time.Second, time.Millisecond)

	ended := b.waitEnded(t)
	require.Equal(t, first, ended.ChannelID)
	require.Equal(t, hotline.CallCompleted, ended.State, "the call taken is served")
	require.Equal(t, "1001", ended.FirstResponsibleAgent)
	require.Eventually(t, func() bool { return b.calls.Active() == 0 }, 5*time.Second, time.Millisecond)
	require.Equal(t, "max_lag", b.calls.Admit(), "the service's clock has not moved")
	offset.Store(int64(2 * time.Second))
	require.Empty(t, b.calls.Admit(), "a second without a late event: calls are taken again")
	require.Positive(t, testutil.CollectAndCount(b.reg, "hotline_call_event_lag_seconds"))
}

// gatedStore holds the call flow's first AddLeg until released, so a test
// can let Asterisk move on while the service is busy.
type gatedStore struct {
	hari.CallStore
	once    sync.Once
	entered chan string // the held leg's channel
	release chan struct{}
}

func (g *gatedStore) AddLeg(ctx context.Context, l hotline.CallLeg) (int64, error) {
	g.once.Do(func() {
		g.entered <- l.ChannelID
		<-g.release
	})
	return g.CallStore.AddLeg(ctx, l)
}

// TestAgentWhoLeftBeforeBeingBridgedIsNotTheCallsAgent: an agent answers
// and hangs up before the service, busy, gets to the answer. The leg's
// StasisEnd is then already in the call's mailbox: no request to bridge it
// is made (Asterisk would refuse it with 400), the leg ends failed, the
// agent does not become first-responsible, and the citizen is connected
// to the next agent who answers: no call is left half-bridged.
func TestAgentWhoLeftBeforeBeingBridgedIsNotTheCallsAgent(t *testing.T) {
	t.Parallel()
	gate := &gatedStore{entered: make(chan string, 1), release: make(chan struct{})}
	b := setupFlow(t, hari.CallConfig{Strategy: hotline.RingAll}, flowOptions{wrapStore: func(s hari.CallStore) hari.CallStore {
		gate.CallStore = s
		return gate
	}},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: time.Millisecond, HangupAfter: time.Millisecond}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 300 * time.Millisecond, HangupAfter: 300 * time.Millisecond}},
	)
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	var leg string
	select {
	case leg = <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no agent rung")
	}
	require.Eventually(t, func() bool { _, alive := b.fake.Channel(leg); return !alive }, 5*time.Second, time.Millisecond,
		"the first agent answered and hung up")
	require.Eventually(t, func() bool {
		families, err := b.reg.Gather()
		return err == nil && counterWithLabel(families, "hotline_ari_events_received_total", "StasisEnd") >= 1
	}, 5*time.Second, time.Millisecond, "the leg's StasisEnd waits in the call's mailbox")
	close(gate.release)

	ended := b.waitEnded(t)
	require.Equal(t, hotline.CallCompleted, ended.State)
	var first, second hotline.CallLeg
	for _, l := range ended.Legs {
		if l.ChannelID == leg {
			first = l
		} else {
			second = l
		}
	}
	require.Equal(t, hotline.LegFailed, first.Outcome, "never talked with the citizen")
	require.Equal(t, second.AgentID, ended.FirstResponsibleAgent)
	require.Equal(t, hotline.LegCompleted, second.Outcome)
	require.NotEqual(t, first.AgentID, ended.FirstResponsibleAgent)
	stored := b.stored(t, ended.ID)
	require.Equal(t, legOutcomes(ended), legOutcomes(stored))
	families, err := b.reg.Gather()
	require.NoError(t, err)
	require.Zero(t, counterWithLabel(families, "hotline_ari_http_requests_total", "400"), "no request bound to fail")
	require.Zero(t, counterValue(t, b.reg, "hotline_ari_bridge_channel_gone_total"))
}

// TestAgentWhoLeftWhileBeingBridged: the agent's phone hangs up after the
// service decided to bridge the leg (it stopped the hold music) and before
// Asterisk handles the request (held here by the fake). Asterisk answers
// 400 "Channel not found": the service counts it as that race, not an
// error, ends the leg failed and rings on.
func TestAgentWhoLeftWhileBeingBridged(t *testing.T) {
	t.Parallel()
	holdStopped := make(chan struct{}, 1)
	onEmit := func(e aritest.Emitted) {
		if e.Kind == aritest.KindResponse && e.Method == http.MethodDelete && strings.HasSuffix(e.Path, "/moh") {
			select {
			case holdStopped <- struct{}{}:
			default:
			}
		}
	}
	b := setupFlow(t, hari.CallConfig{Strategy: hotline.RingAll, MaxWait: 20 * time.Second}, flowOptions{fake: aritest.Options{OnEmit: onEmit}},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: time.Millisecond}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 500 * time.Millisecond, HangupAfter: 3 * time.Second}},
	)
	b.fake.DelayRoute("POST", "/bridges/*/addChannel", 2*time.Second)
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	select {
	case <-holdStopped:
	case <-time.After(20 * time.Second):
		t.Fatal("no agent answered")
	}
	var leg string
	for _, c := range b.fake.Channels() {
		if strings.HasSuffix(c.ID, "-1001") {
			leg = c.ID
		}
	}
	require.NotEmpty(t, leg)
	require.NoError(t, b.fake.Hangup(leg)) // while the request to bridge it waits
	b.fake.ClearFaults()

	ended := b.waitEnded(t)
	require.Equal(t, hotline.CallCompleted, ended.State, "%+v", ended.Legs)
	require.Equal(t, "1002", ended.FirstResponsibleAgent)
	for _, l := range ended.Legs {
		if l.ChannelID == leg {
			require.Equal(t, hotline.LegFailed, l.Outcome, "never talked with the citizen")
		}
	}
	families, err := b.reg.Gather()
	require.NoError(t, err)
	require.Equal(t, 1.0, counterWithLabel(families, "hotline_ari_http_requests_total", "400"))
	require.Equal(t, 1.0, counterValue(t, b.reg, "hotline_ari_bridge_channel_gone_total"), "the 400 is the race, told apart")
}

// TestAdmissionSeesACallStuckInAWrite: a call whose handler is stuck (here
// in a database write) takes no events, so no late event is ever taken;
// admission control looks into the calls' mailboxes and sees the events
// waiting there, and refuses new calls until the call catches up.
func TestAdmissionSeesACallStuckInAWrite(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	base := time.Now()
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	gate := &gatedStore{entered: make(chan string, 1), release: make(chan struct{})}
	b := setupFlow(t, hari.CallConfig{MaxLag: time.Millisecond}, flowOptions{now: now, wrapStore: func(s hari.CallStore) hari.CallStore {
		gate.CallStore = s
		return gate
	}}, agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: time.Millisecond, HangupAfter: 50 * time.Millisecond}})
	first, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no agent rung")
	}
	released := false
	defer func() {
		if !released {
			close(gate.release)
		}
	}()
	require.Eventually(t, func() bool {
		offset.Add(int64(2 * time.Second)) // past any earlier late event's second, and due for a look
		return b.calls.Admit() == "max_lag"
	}, 5*time.Second, 5*time.Millisecond, "the agent's events wait for the stuck call")
	second, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return inFallback(b.fake, second) }, 5*time.Second, time.Millisecond)

	close(gate.release)
	released = true
	ended := b.waitEnded(t)
	require.Equal(t, first, ended.ChannelID)
	require.Equal(t, hotline.CallCompleted, ended.State, "the stuck call is served once it catches up")
}
