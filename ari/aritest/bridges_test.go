package aritest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answeredCall places a citizen call and answers it.
func (f *fixture) answeredCall(caller string) string {
	f.t.Helper()
	id := f.placeCall(InboundCall{Caller: caller})
	require.NoError(f.t, f.client.Channel().Answer(ari.NewKey(ari.ChannelKey, id)))
	f.waitEvent("ChannelStateChange", channelEvent(id))
	return id
}

// varsets summarises ChannelVarset and ChannelConnectedLine events as
// "channel VARIABLE=value" and "channel connected=number".
func varsets(t *testing.T, events []Emitted) []string {
	var out []string
	for _, e := range events {
		m := decodeMap(t, e.Body)
		ch := m["channel"].(map[string]any)
		switch e.Model {
		case "ChannelVarset":
			value := m["value"].(string)
			if m["variable"] == "BRIDGEPVTCALLID" && value != "" {
				value = "<callid>"
			}
			out = append(out, ch["id"].(string)+" "+m["variable"].(string)+"="+value)
		case "ChannelConnectedLine":
			out = append(out, ch["id"].(string)+" connected="+ch["connected"].(map[string]any)["number"].(string))
		}
	}
	return out
}

// TestBridgeTwoParties follows trace 06: two parties bridged directly see
// each other in BRIDGEPEER, BRIDGEPVTCALLID and the connected line.
func TestBridgeTwoParties(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	a := f.answeredCall("13800138000")
	b := f.answeredCall("13900139000")
	br, err := f.client.Bridge().Create(ari.NewKey(ari.BridgeKey, "call6-bridge"), "mixing", "call6")
	require.NoError(t, err)

	require.NoError(t, br.AddChannel(a))
	assert.Equal(t, "ChannelEnteredBridge", f.nextTypes(1)[0])
	require.NoError(t, br.AddChannel(b))
	var events []Emitted
	for len(events) < 15 {
		e, err := f.events.Next(f.ctx)
		require.NoError(t, err)
		events = append(events, e)
	}
	assert.Equal(t, "ChannelEnteredBridge", events[0].Model)
	entered := decodeMap(t, events[0].Body)["bridge"].(map[string]any)
	assert.Equal(t, "simple_bridge", entered["technology"], "the technology from before the join")
	round := []string{b + " BRIDGEPEER=PJSIP/citizen-00000000", b + " BRIDGEPVTCALLID=<callid>", a + " BRIDGEPEER=PJSIP/citizen-00000001", a + " BRIDGEPVTCALLID=<callid>"}
	want := append(append(append(append(append([]string{}, round...), round...), b+" connected=13800138000"), round...), a+" connected=13900139000")
	assert.Equal(t, want, varsets(t, events[1:]))

	data, err := br.Data()
	require.NoError(t, err)
	assert.Equal(t, "native_rtp", data.Technology)

	require.NoError(t, f.srv.Hangup(b))
	types := f.typesUntil("StasisEnd")
	assert.Equal(t, []string{"ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset",
		"ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset", // RTP stats and their BRIDGED copies
		"ChannelHangupRequest", "ChannelVarset", "ChannelVarset", "ChannelLeftBridge", "StasisEnd"}, types)
	info := f.srv.Bridges()
	require.Len(t, info, 1)
	assert.Equal(t, []string{a}, info[0].Channels)
}

func TestBridgeLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.answeredCall("13800138000")
	bridges := f.client.Bridge()

	br, err := bridges.Create(ari.NewKey(ari.BridgeKey, "call11-bridge"), "mixing", "call11")
	require.NoError(t, err)
	resp, body := rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/bridges/call11-bridge", strings.NewReader(`{"type":"mixing"}`))
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Bridge with id 'call11-bridge' already exists"}`, string(body))

	resp, body = rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/bridges", strings.NewReader(`{"type":"holding","name":"lobby"}`))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	holding := decodeMap(t, body)
	assert.Equal(t, "holding", holding["bridge_type"])
	assert.NotEmpty(t, holding["id"])

	// Trace 11: adding a channel that has just hung up is refused as for
	// one that never was (400, not 404).
	gone := f.answeredCall("13800138001")
	require.NoError(t, f.srv.Hangup(gone))
	f.waitEvent("StasisEnd", channelEvent(gone))

	errs := []struct {
		name, path, body string
		status           int
		message          string
	}{
		{"unknown channel", "/ari/bridges/call11-bridge/addChannel", `{"channel":"no-such-channel"}`, 400, "Channel not found"},
		{"channel that hung up", "/ari/bridges/call11-bridge/addChannel", `{"channel":"` + gone + `"}`, 400, "Channel not found"},
		{"unknown bridge", "/ari/bridges/no-such-bridge/addChannel", `{"channel":"` + id + `"}`, 404, "Bridge not found"},
		{"remove a channel not in it", "/ari/bridges/call11-bridge/removeChannel", `{"channel":"` + id + `"}`, 422, "Channel not in this bridge"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+tt.path, strings.NewReader(tt.body))
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.JSONEq(t, `{"message":"`+tt.message+`"}`, string(body))
		})
	}

	require.NoError(t, br.AddChannel(id))
	assert.Equal(t, []string{"ChannelEnteredBridge"}, f.nextTypes(1))
	require.NoError(t, br.AddChannel(id), "adding it again moves it out and in")
	assert.Equal(t, []string{"ChannelLeftBridge", "ChannelEnteredBridge"}, f.nextTypes(2))
	require.NoError(t, br.RemoveChannel(id))
	assert.Equal(t, []string{"ChannelLeftBridge"}, f.nextTypes(1))
	require.NoError(t, br.AddChannel(id))
	assert.Equal(t, []string{"ChannelEnteredBridge"}, f.nextTypes(1))
	require.NoError(t, br.MOH(""))
	require.NoError(t, br.StopMOH())

	list, err := bridges.List(nil)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	app, err := f.client.Application().Data(ari.NewKey(ari.ApplicationKey, "hotline"))
	require.NoError(t, err)
	assert.Equal(t, []string{"call11-bridge"}, app.BridgeIDs, "joining a channel subscribes its app")

	require.NoError(t, br.Delete())
	assert.Equal(t, []string{"ChannelLeftBridge", "BridgeDestroyed"}, f.nextTypes(2))
	assertStatus(t, br.Delete(), http.StatusNotFound)
	_, err = br.Data()
	assertStatus(t, err, http.StatusNotFound)
	info, _ := f.srv.Channel(id)
	assert.Empty(t, info.Bridge)

	// A channel not yet in Stasis cannot join.
	f.srv.SetEndpoint("PJSIP/1002", Behavior{NoAnswer: true})
	ringing := f.originate("PJSIP/1002", "ringing-leg", 20)
	other, err := bridges.Create(ari.NewKey(ari.BridgeKey, "other"), "mixing", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnprocessableEntity, native.CodeFromError(other.AddChannel(ringing.ID())))
}
