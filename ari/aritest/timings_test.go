package aritest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// TestSimTimings follows one call as a load generator sees it: the agent
// leg originated for the citizen, answered, bridged with them, hung up by
// the agent's phone, and the citizen hanging up once alone in the bridge.
func TestSimTimings(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{AnswerAfter: 20 * time.Millisecond})

	status, body := f.sim("POST", "/sim/calls", `{"caller":"13800138000","hangup_when_alone":"0s","hangup_after":"1m"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var placed struct {
		ChannelID string `json:"channel_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &placed))
	citizen := placed.ChannelID
	f.waitEvent("StasisStart", channelEvent(citizen))

	status, body = f.sim("GET", "/sim/timings", "")
	require.Equal(t, http.StatusOK, status, body)
	var during CallTimings
	require.NoError(t, json.Unmarshal([]byte(body), &during))
	assert.Equal(t, 1, during.Active)
	assert.Empty(t, during.Ended)

	cl := f.client
	require.NoError(t, cl.Channel().Answer(ari.NewKey(ari.ChannelKey, citizen)))
	bridge := ari.NewKey(ari.BridgeKey, "b1")
	_, err := cl.Bridge().Create(bridge, "mixing", "b1")
	require.NoError(t, err)
	require.NoError(t, cl.Bridge().AddChannel(bridge, citizen))
	_, err = cl.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/1001", App: "hotline", ChannelID: "leg-1", Originator: citizen})
	require.NoError(t, err)
	f.waitEvent("StasisStart", channelEvent("leg-1"))
	require.NoError(t, cl.Bridge().AddChannel(bridge, "leg-1"))
	f.waitEvent("ChannelEnteredBridge", channelEvent("leg-1"))
	require.NoError(t, f.srv.Hangup("leg-1"))       // the agent's phone hangs up…
	f.waitEvent("StasisEnd", channelEvent(citizen)) // …and the citizen, alone, too

	got := f.srv.Timings()
	assert.Zero(t, got.Active)
	assert.Positive(t, got.Events)
	assert.GreaterOrEqual(t, got.Requests, uint64(5))
	require.Len(t, got.Ended, 1)
	c := got.Ended[0]
	assert.Equal(t, citizen, c.Channel)
	steps := []time.Time{c.Stasis, c.FirstOriginate, c.AgentAnswered, c.Bridged, c.AgentHangup, c.Ended}
	for i, at := range steps {
		require.False(t, at.IsZero(), "step %d not stamped: %+v", i, c)
		if i > 0 {
			assert.False(t, at.Before(steps[i-1]), "step %d before step %d: %+v", i, i-1, c)
		}
	}
	assert.Empty(t, f.srv.Timings().Ended, "each ended call is returned once")
}

// TestSimTimingsSince: a reader that names the next call it wants
// (?since=) gets again the calls of an answer it never read, and only
// those it has not acknowledged.
func TestSimTimingsSince(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	read := func(since string) CallTimings {
		t.Helper()
		status, body := f.sim("GET", "/sim/timings?since="+since, "")
		require.Equal(t, http.StatusOK, status, body)
		var got CallTimings
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		return got
	}
	placeAndEnd := func() string {
		t.Helper()
		status, body := f.sim("POST", "/sim/calls", `{"caller":"13800138000","hangup_after":"10ms"}`)
		require.Equal(t, http.StatusCreated, status, body)
		var placed struct {
			ChannelID string `json:"channel_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &placed))
		f.waitEvent("StasisEnd", channelEvent(placed.ChannelID))
		return placed.ChannelID
	}
	first, second := placeAndEnd(), placeAndEnd()

	lost := read("0") // an answer the reader gave up on
	require.Equal(t, []string{first, second}, endedChannels(lost))
	again := read("0")
	require.Equal(t, uint64(2), again.Next)
	require.Equal(t, []string{first, second}, endedChannels(again), "sent again")

	third := placeAndEnd()
	got := read(strconv.FormatUint(again.Next, 10))
	require.Equal(t, []string{third}, endedChannels(got), "only the calls after the acknowledged ones")
	require.Equal(t, uint64(3), got.Next)
	require.Empty(t, read("3").Ended)
	status, body := f.sim("GET", "/sim/timings?since=x", "")
	require.Equal(t, http.StatusBadRequest, status, body)
}

func endedChannels(t CallTimings) []string {
	out := make([]string, 0, len(t.Ended))
	for _, c := range t.Ended {
		out = append(out, c.Channel)
	}
	return out
}

// TestEventsCountedAsWritten: the fake counts an event sent once it is
// written to the websocket, so a reader that has read the last event
// finds the count equal to what it read; events still queued when a
// websocket is cut are counted lost, not sent.
func TestEventsCountedAsWritten(t *testing.T) {
	t.Parallel()
	srv := NewTest(t, Options{})
	ws := dialEvents(t, srv, "counted")
	id, err := srv.PlaceCall(InboundCall{Caller: "13800138000", App: "counted"})
	require.NoError(t, err)
	require.NoError(t, srv.Hangup(id))
	read := uint64(0)
	for {
		var frame map[string]any
		require.NoError(t, websocket.JSON.Receive(ws, &frame))
		read++
		if frame["type"] == "StasisEnd" {
			break
		}
	}
	got := srv.Timings()
	require.Equal(t, read, got.Events, "every event read, and no other, was counted sent")
	require.Zero(t, got.EventsLost)

	// A reader that never reads: the socket's buffers fill, the rest queues
	// in the fake, and cutting the websocket loses it.
	slow := dialEvents(t, srv, "slow")
	big := []byte(`{"type":"Padding","application":"slow","pad":"` + strings.Repeat("x", 64<<10) + `"}`)
	const sent = 400 // 26 MB: more than loopback's socket buffers hold
	for range sent {
		require.NoError(t, srv.SendRaw("slow", big))
	}
	srv.DropWebsockets()
	_ = slow.Close()
	after := srv.Timings()
	require.Positive(t, after.EventsLost)
	require.Equal(t, uint64(sent), after.Events-got.Events+after.EventsLost, "each event either written or lost")
}
