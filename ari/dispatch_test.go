package ari

import (
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestDispatcherRoutesEachEventOnceToItsMailbox(t *testing.T) {
	t.Parallel()
	d := newDispatcher(newMetrics(nil))
	call1, call2, fallback := NewMailbox(), NewMailbox(), NewMailbox()
	d.SetFallback(fallback)
	d.Route(ari.ChannelKey, "citizen1", call1)
	d.Route(ari.BridgeKey, "bridge1", call1)
	d.Route(ari.ChannelKey, "citizen2", call2)

	entered := &ari.ChannelEnteredBridge{EventData: ari.EventData{Type: "ChannelEnteredBridge"},
		Bridge: ari.BridgeData{ID: "bridge1"}, Channel: ari.ChannelData{ID: "citizen1"}}
	d.Dispatch(entered) // two keys, one mailbox: delivered once
	d.Dispatch(&ari.StasisEnd{EventData: ari.EventData{Type: "StasisEnd"}, Channel: ari.ChannelData{ID: "citizen2"}})
	d.Dispatch(&ari.StasisStart{EventData: ari.EventData{Type: "StasisStart"}, Channel: ari.ChannelData{ID: "new"}})

	require.Equal(t, []ari.Event{entered}, call1.Take())
	got2 := call2.Take()
	require.Len(t, got2, 1)
	require.Equal(t, "StasisEnd", got2[0].GetType())
	got := fallback.Take()
	require.Len(t, got, 1)
	require.Equal(t, "StasisStart", got[0].GetType())

	d.Unroute(ari.ChannelKey, "citizen2")
	d.Dispatch(&ari.StasisEnd{EventData: ari.EventData{Type: "StasisEnd"}, Channel: ari.ChannelData{ID: "citizen2"}})
	require.Empty(t, call2.Take())
	require.Len(t, fallback.Take(), 1)
}

func TestDispatcherCountsEventsWithNowhereToGo(t *testing.T) {
	t.Parallel()
	m := newMetrics(nil)
	d := newDispatcher(m)
	d.Dispatch(&ari.StasisEnd{EventData: ari.EventData{Type: "StasisEnd"}, Channel: ari.ChannelData{ID: "x"}})
	closed := NewMailbox()
	closed.Close()
	d.SetFallback(closed)
	d.Dispatch(&ari.StasisEnd{EventData: ari.EventData{Type: "StasisEnd"}, Channel: ari.ChannelData{ID: "x"}})
	require.Equal(t, 2.0, testutil.ToFloat64(m.unrouted))
}

func TestMailboxNeverBlocksAndKeepsOrder(t *testing.T) {
	t.Parallel()
	mb := NewMailbox()
	const n = 10_000 // far past the library bus's 100-event limit
	for i := range n {
		require.True(t, mb.Put(&ari.Dial{EventData: ari.EventData{Type: "Dial"}, Dialstatus: itoa(i)}))
	}
	<-mb.Ready()
	got := mb.Take()
	require.Len(t, got, n)
	for i, e := range got {
		require.Equal(t, itoa(i), e.(*ari.Dial).Dialstatus)
	}
}

// TestMailboxReportsHowLongItsOldestEventWaited: each Take with events
// reports the wait of the oldest one, which admission control reads as
// how far behind the call is; an empty Take reports nothing.
func TestMailboxReportsHowLongItsOldestEventWaited(t *testing.T) {
	t.Parallel()
	mb := NewMailbox()
	var lags []time.Duration
	mb.lag = func(d time.Duration) { lags = append(lags, d) }
	before := time.Now()
	mb.Put(&ari.Dial{EventData: ari.EventData{Type: "Dial"}})
	mb.Put(&ari.Dial{EventData: ari.EventData{Type: "Dial"}})
	require.Len(t, mb.Take(), 2)
	require.Len(t, lags, 1)
	require.GreaterOrEqual(t, lags[0], time.Duration(0))
	require.LessOrEqual(t, lags[0], time.Since(before))
	require.Empty(t, mb.Take())
	require.Len(t, lags, 1, "nothing taken, nothing reported")
}

// TestFrameTypeReadsTheEventTypeWithoutDecoding: the type of a frame is
// read from its first key "type", whatever the spacing, and a frame whose
// type cannot be read plainly is left to the full decoder.
func TestFrameTypeReadsTheEventTypeWithoutDecoding(t *testing.T) {
	t.Parallel()
	// frame → the type read; "" when the full decoder is left to it.
	for frame, want := range map[string]string{
		`{"type":"ChannelVarset","variable":"x"}`:                       "ChannelVarset",
		"{\n  \"channel\": {\"id\": \"1\"},\n  \"type\" :\t\"Dial\"\n}": "Dial",
		`{"value":"\"type\":\"Dial\"","type":"ChannelVarset"}`:          "ChannelVarset",
		`{"bridge":{"bridge_type":"mixing"},"type":"BridgeCreated"}`:    "BridgeCreated",
		`{"type":5}`: "", `{"type":"Dial\"x"}`: "", `{"type":`: "", `{"channel":{}}`: "", `null`: "",
	} {
		typ, ok := frameType([]byte(frame))
		require.Equal(t, want != "", ok, frame)
		require.Equal(t, want, typ, frame)
	}
}
