package aritest

import (
	"encoding/binary"
	"net/http"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHotlineCall walks trace 04: citizen in, bridge, record, agent
// originated and answering, talk, stop recording, download, agent hangs up.
func TestHotlineCall(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{AnswerAfter: 50 * time.Millisecond, HangupAfter: 300 * time.Millisecond})

	citizen := f.placeCall(InboundCall{Caller: "13800138000"})
	cl := f.client
	ch := cl.Channel().Get(ari.NewKey(ari.ChannelKey, citizen))
	require.NoError(t, ch.Answer())
	f.waitEvent("ChannelStateChange", channelEvent(citizen))

	br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, "call4-bridge"), "mixing", "call4")
	require.NoError(t, err)
	require.NoError(t, br.AddChannel(citizen))
	entered := f.waitEvent("ChannelEnteredBridge", channelEvent(citizen))
	assert.Equal(t, "simple_bridge", entered["bridge"].(map[string]any)["technology"])

	rec, err := br.Record("call4", &ari.RecordingOptions{Format: "wav", Exists: "fail"})
	require.NoError(t, err)
	f.waitEvent("RecordingStarted", nil)

	agent, err := cl.Channel().Originate(nil, ari.OriginateRequest{
		Endpoint: "PJSIP/1001", Timeout: 20, CallerID: "12345", App: "hotline",
		AppArgs: "agent,call4,1001", ChannelID: "call4-a1001", Originator: citizen,
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"Dial", "ChannelStateChange", "Dial", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart"},
		f.typesUntil("StasisStart"))
	require.NoError(t, br.AddChannel(agent.ID()))
	f.waitEvent("ChannelEnteredBridge", channelEvent("call4-a1001"))

	data, err := br.Data()
	require.NoError(t, err)
	assert.Equal(t, "softmix", data.Technology)
	assert.ElementsMatch(t, []string{citizen, "call4-a1001"}, data.ChannelIDs)

	f.waitEvent("ChannelHangupRequest", channelEvent("call4-a1001"))
	require.NoError(t, rec.Stop())
	finished := f.waitEvent("RecordingFinished", nil)
	assert.EqualValues(t, 0, finished["recording"].(map[string]any)["duration"])

	resp, wav := f.rawGet("/ari/recordings/stored/call4/file")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "audio/wav", resp.Header.Get("Content-Type"))
	require.Greater(t, len(wav), 44)
	assert.Equal(t, "RIFF", string(wav[:4]))
	assert.EqualValues(t, 8000, binary.LittleEndian.Uint32(wav[24:]))
}
