package aritest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{NoAnswer: true})
	f.srv.SetEndpoint("PJSIP/1003", Behavior{Offline: true})
	f.srv.SetTrunkDefault("trunk", Behavior{NotFound: true})
	f.srv.SetEndpoint("PJSIP/13800138000@trunk", Behavior{})
	leg := f.originate("PJSIP/1001", "ringing-leg", 20).ID()
	eps := f.client.Endpoint()

	list, err := eps.List(nil)
	require.NoError(t, err)
	var names []string
	for _, k := range list {
		names = append(names, k.ID)
	}
	assert.Equal(t, []string{"PJSIP/1001", "PJSIP/1003", "PJSIP/trunk"}, names)

	data, err := eps.Data(ari.NewEndpointKey("PJSIP", "1001"))
	require.NoError(t, err)
	assert.Equal(t, "online", data.State)
	resp, body := f.rawGet("/ari/endpoints/PJSIP/1001")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"technology":"PJSIP","resource":"1001","state":"online","channel_ids":["`+leg+`"]}`, string(body))
	resp, body = f.rawGet("/ari/endpoints/PJSIP/1003")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"technology":"PJSIP","resource":"1003","state":"offline","channel_ids":[]}`, string(body))

	resp, body = f.rawGet("/ari/endpoints/PJSIP/9999")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Endpoint not found"}`, string(body))
	resp, _ = f.rawGet("/ari/endpoints/SIP")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	tech, err := eps.ListByTech("PJSIP", nil)
	require.NoError(t, err)
	assert.Len(t, tech, 3)

	infos := f.srv.Endpoints()
	require.Len(t, infos, 4)
	assert.Equal(t, "PJSIP/13800138000@trunk", infos[3].Name)
	assert.Equal(t, []string{leg}, infos[0].Channels)
}

// TestSendMessage follows trace 08.
func TestSendMessage(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{})
	f.srv.SetEndpoint("PJSIP/1003", Behavior{Offline: true})
	msgs := f.client.TextMessage()

	require.NoError(t, msgs.Send("sip:hotline@127.0.0.1", "PJSIP", "1001", "工单 T-43：市民反映路灯不亮，请尽快处理。", nil))
	resp, body := rawDo(t, f.ctx, http.MethodPut, f.srv.URL()+"/ari/endpoints/PJSIP/1001/sendMessage?body=ticket+T-44",
		strings.NewReader(`{"variables":{"X-Ticket":"T-44"}}`))
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	assert.Empty(t, body)
	require.NoError(t, msgs.SendByURI("sip:hotline@127.0.0.1", "pjsip:1001", "by uri", nil))

	for _, to := range []struct{ tech, res string }{{"PJSIP", "1003"}, {"PJSIP", "9999"}} {
		err := msgs.Send("sip:hotline@127.0.0.1", to.tech, to.res, "x", nil)
		assertStatus(t, err, http.StatusNotFound)
	}
	resp, body = rawDo(t, f.ctx, http.MethodPut, f.srv.URL()+"/ari/endpoints/PJSIP/9999/sendMessage?body=x", strings.NewReader(`{}`))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Endpoint not found"}`, string(body))

	got := f.srv.Messages()
	require.Len(t, got, 3)
	assert.Equal(t, "PJSIP/1001", got[0].To)
	assert.Equal(t, "sip:hotline@127.0.0.1", got[0].From)
	assert.Equal(t, "工单 T-43：市民反映路灯不亮，请尽快处理。", got[0].Body)
	assert.Equal(t, map[string]string{"X-Ticket": "T-44"}, got[1].Variables)
	assert.Empty(t, got[1].From)
	assert.Equal(t, "by uri", got[2].Body)
	assert.False(t, got[0].At.IsZero())
}

// TestEndpointStateEvents follows trace 09: a subscribed app hears phones
// crash, register and un-register.
func TestEndpointStateEvents(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{})
	f.srv.SetEndpoint("PJSIP/1002", Behavior{})
	require.NoError(t, f.client.Application().Subscribe(ari.NewKey(ari.ApplicationKey, "hotline"), "endpoint:PJSIP/1001"))

	type step struct {
		name   string
		do     func()
		states []string // "Type status"
	}
	contact := func(m map[string]any) string { return m["contact_info"].(map[string]any)["contact_status"].(string) }
	steps := []step{
		{"crash", func() { f.srv.SetEndpoint("PJSIP/1001", Behavior{Unreachable: true}) },
			[]string{"EndpointStateChange offline", "PeerStatusChange Unreachable", "ContactStatusChange Unreachable"}},
		{"register after a crash", func() { require.NoError(t, f.srv.SetOnline("PJSIP/1001", true)) },
			[]string{"ContactStatusChange NonQualified", "ContactStatusChange Removed", "EndpointStateChange online", "PeerStatusChange Reachable", "ContactStatusChange Reachable"}},
		{"un-register", func() { require.NoError(t, f.srv.SetOnline("PJSIP/1001", false)) },
			[]string{"EndpointStateChange offline", "PeerStatusChange Unreachable", "ContactStatusChange Removed"}},
		{"register", func() { f.srv.SetEndpoint("PJSIP/1001", Behavior{}) },
			[]string{"ContactStatusChange NonQualified", "EndpointStateChange online", "PeerStatusChange Reachable", "ContactStatusChange Reachable"}},
	}
	for _, st := range steps {
		// 1002 changes too, but the app is not subscribed to it.
		require.NoError(t, f.srv.SetOnline("PJSIP/1002", false))
		require.NoError(t, f.srv.SetOnline("PJSIP/1002", true))
		st.do()
		var got []string
		for range st.states {
			e, err := f.events.Next(f.ctx)
			require.NoError(t, err)
			m := decodeMap(t, e.Body)
			assert.Equal(t, "1001", m["endpoint"].(map[string]any)["resource"], st.name)
			switch e.Model {
			case "EndpointStateChange":
				got = append(got, e.Model+" "+m["endpoint"].(map[string]any)["state"].(string))
			case "PeerStatusChange":
				got = append(got, e.Model+" "+m["peer"].(map[string]any)["peer_status"].(string))
			case "ContactStatusChange":
				got = append(got, e.Model+" "+contact(m))
			}
		}
		assert.Equal(t, st.states, got, st.name)
	}

	// A crashed phone cannot be called.
	f.srv.SetEndpoint("PJSIP/1001", Behavior{Unreachable: true})
	_, err := f.client.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/1001", App: "hotline"})
	assertStatus(t, err, http.StatusInternalServerError)
	require.ErrorIs(t, f.srv.SetOnline("PJSIP/7777", true), errNotFound)

	// Subscribing to the whole technology hears every endpoint.
	require.NoError(t, f.client.Application().Subscribe(ari.NewKey(ari.ApplicationKey, "hotline"), "endpoint:PJSIP"))
	require.NoError(t, f.srv.SetOnline("PJSIP/1002", false))
	changed := f.waitEvent("EndpointStateChange", func(m map[string]any) bool {
		return m["endpoint"].(map[string]any)["resource"] == "1002"
	})
	assert.Equal(t, "offline", changed["endpoint"].(map[string]any)["state"])
}

// TestTrunkNumbers follows trace 10: numbers on a trunk take their own
// behaviour, else the trunk's default.
func TestTrunkNumbers(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetTrunkDefault("PJSIP/trunk", Behavior{NotFound: true})
	f.srv.SetEndpoint("PJSIP/13800138000@trunk", Behavior{})
	f.srv.SetEndpoint("PJSIP/13900139000@trunk", Behavior{Offline: true})

	cb := f.originate("PJSIP/13800138000@trunk", "cb1-13800138000", 30).ID()
	start := f.waitEvent("StasisStart", channelEvent(cb))
	ch := start["channel"].(map[string]any)
	assert.Regexp(t, `^PJSIP/trunk-[0-9a-f]{8}$`, ch["name"])
	assert.Equal(t, "from-trunk", ch["dialplan"].(map[string]any)["context"])
	assert.Equal(t, map[string]any{"name": "", "number": "12345"}, ch["caller"])
	info, _ := f.srv.Channel(cb)
	assert.Equal(t, "PJSIP/13800138000@trunk", info.Endpoint)
	assert.True(t, info.Originated)

	f.originate("PJSIP/13600136000@trunk", "cb3", 30)
	destroyed := f.waitEvent("ChannelDestroyed", channelEvent("cb3"))
	assert.Equal(t, 1.0, destroyed["cause"])

	_, err := f.client.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/13900139000@trunk", App: "hotline"})
	assertStatus(t, err, http.StatusInternalServerError)
	require.NoError(t, f.srv.SetOnline("PJSIP/13900139000@trunk", true))
	f.originate("PJSIP/13900139000@trunk", "cb2", 30)
	f.waitEvent("StasisStart", channelEvent("cb2"))
}
