package aritest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
