package ari_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
)

// clientBundle is a client connected to a fresh fake Asterisk.
type clientBundle struct {
	fake *aritest.Server
	cli  *hari.Client
	reg  *prometheus.Registry
	// fallback receives events no call claimed (new StasisStarts).
	fallback *hari.Mailbox
	connects chan struct{}
}

func fastConfig(url string) hari.Config {
	return hari.Config{URL: url, Username: "hotline", Password: "hotline", Application: "hotline",
		ConnectTimeout: 2 * time.Second, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}
}

func setupClient(t *testing.T) *clientBundle {
	t.Helper()
	fake := aritest.NewTest(t, aritest.Options{})
	b := newClient(t, fastConfig(fake.ARIURL()))
	b.fake = fake
	b.cli.Start(context.Background())
	t.Cleanup(b.cli.Stop)
	waitConnected(t, b)
	require.NoError(t, fake.WaitRegistered(withTimeout(t, 5*time.Second), "hotline"))
	return b
}

func newClient(t *testing.T, cfg hari.Config) *clientBundle {
	t.Helper()
	reg := prometheus.NewRegistry()
	cli, err := hari.New(cfg, nil, reg)
	require.NoError(t, err)
	b := &clientBundle{cli: cli, reg: reg, fallback: hari.NewMailbox(), connects: make(chan struct{}, 16)}
	cli.Dispatcher().SetFallback(b.fallback)
	cli.OnConnect(func(context.Context) { b.connects <- struct{}{} })
	return b
}

func waitConnected(t *testing.T, b *clientBundle) {
	t.Helper()
	select {
	case <-b.connects:
	case <-time.After(10 * time.Second):
		t.Fatal("client did not connect")
	}
	require.NoError(t, b.cli.Ready())
}

// nextEvent waits for an event of type typ in the fallback mailbox.
func nextEvent(t *testing.T, mb *hari.Mailbox, typ string) ari.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		for _, e := range mb.Take() {
			if e.GetType() == typ {
				return e
			}
		}
		select {
		case <-mb.Ready():
		case <-deadline:
			t.Fatalf("no %s event arrived", typ)
		}
	}
}

func TestUndecodableEventsAreDroppedAndCounted(t *testing.T) {
	t.Parallel()
	b := setupClient(t)
	// ChannelTransfer and ApplicationRegistered (Asterisk 20/22) are beyond
	// ari/v5 v5.3.1's decoder; ChannelCallerId is within it.
	require.NoError(t, b.fake.SendUndecodable("ChannelTransfer"))
	require.NoError(t, b.fake.SendRaw("hotline", []byte(`{"type":"ApplicationRegistered","application":"hotline","timestamp":"2026-11-27T05:28:25.653+0000","asterisk_id":"`+b.fake.EntityID()+`"}`)))
	require.NoError(t, b.fake.SendUndecodable("ChannelCallerId"))
	// The connection survives: the next call still arrives, on the same socket.
	id, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	start := nextEvent(t, b.fallback, "StasisStart").(*ari.StasisStart)
	require.Equal(t, id, start.Channel.ID)
	require.Equal(t, []string{"inbound"}, start.Args)
	undecodable, err := b.reg.Gather()
	require.NoError(t, err)
	require.Equal(t, 2.0, sumCounter(undecodable, "hotline_ari_events_undecodable_total"))
	require.Equal(t, 1.0, counterWithLabel(undecodable, "hotline_ari_events_received_total", "ChannelCallerId"))
	require.Equal(t, 1.0, sumCounter(undecodable, "hotline_ari_connect_attempts_total"), "no reconnect was needed")
	require.NoError(t, b.cli.Ready())
}

func TestReconnectsAfterWebsocketDrop(t *testing.T) {
	t.Parallel()
	b := setupClient(t)
	for range 3 {
		b.fake.DropWebsockets()
		waitConnected(t, b) // the OnConnect hooks run again after every reconnect
	}
	id, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	require.Equal(t, id, nextEvent(t, b.fallback, "StasisStart").(*ari.StasisStart).Channel.ID)
}

func TestBecomesReadyWhenAsteriskAppearsLate(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	b := newClient(t, fastConfig("http://"+addr+"/ari"))
	err = b.cli.Check(context.Background())
	require.Equal(t, hotline.KindUnavailable, hotline.KindOf(err))
	require.Contains(t, err.Error(), "Asterisk unreachable at http://"+addr)
	b.cli.Start(context.Background())
	t.Cleanup(b.cli.Stop)
	require.Error(t, b.cli.Ready())

	b.fake = aritest.NewTest(t, aritest.Options{Addr: addr})
	waitConnected(t, b)
}

func TestWrongPasswordIsOneClearError(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{})
	cfg := fastConfig(fake.ARIURL())
	cfg.Password = "wrong"
	b := newClient(t, cfg)
	err := b.cli.Check(context.Background())
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err))
	require.Equal(t, `ari.connect: Asterisk rejected ARI user "hotline" at `+fake.ARIURL()+`: wrong username or password`, err.Error())
}

func TestApplicationReplacedMakesServiceNotReady(t *testing.T) {
	t.Parallel()
	b := setupClient(t)
	other := newClient(t, fastConfig(b.fake.ARIURL()))
	other.cli.Start(context.Background())
	t.Cleanup(other.cli.Stop)
	waitConnected(t, other)
	require.Eventually(t, func() bool { return b.cli.Ready() != nil }, 5*time.Second, 10*time.Millisecond)
	require.ErrorContains(t, b.cli.Ready(), "ApplicationReplaced")
	require.Equal(t, 1.0, gaugeValue(t, b.reg, "hotline_ari_application_replaced"))
}

func TestRESTConnectionsAreReused(t *testing.T) {
	t.Parallel()
	b := setupClient(t)
	before := counterValue(t, b.reg, "hotline_ari_http_connections_opened_total")
	cl := b.cli.ARI()
	for i := range 300 {
		key := ari.NewKey(ari.BridgeKey, "reuse-"+itoa(i))
		// Bridge create is one of the responses the library never reads.
		_, err := cl.Bridge().Create(key, "mixing", "reuse")
		require.NoError(t, err)
		require.NoError(t, cl.Bridge().Delete(key))
		_, err = cl.Asterisk().Info(nil)
		require.NoError(t, err)
	}
	opened := counterValue(t, b.reg, "hotline_ari_http_connections_opened_total") - before
	require.LessOrEqual(t, opened, 2.0, "900 sequential requests must reuse connections (opened %v)", opened)
}
