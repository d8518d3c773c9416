package aritest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sim calls a /sim route without credentials, as the demo does.
func (f *fixture) sim(method, path, body string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.ctx, method, f.srv.URL()+path, strings.NewReader(body))
	require.NoError(f.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp.StatusCode, string(b)
}

func TestSimCalls(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})

	status, body := f.sim("POST", "/sim/calls", `{"caller":"13800138000","dialed":"12366","hangup_after":"5s"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var placed struct {
		ChannelID string `json:"channel_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &placed))
	start := f.waitEvent("StasisStart", channelEvent(placed.ChannelID))
	assert.Equal(t, "12366", start["channel"].(map[string]any)["dialplan"].(map[string]any)["exten"])

	status, body = f.sim("GET", "/sim/channels", "")
	require.Equal(t, http.StatusOK, status)
	var chans []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &chans))
	require.Len(t, chans, 1)
	assert.Equal(t, placed.ChannelID, chans[0]["id"])
	assert.Equal(t, "13800138000", chans[0]["caller"])
	assert.Equal(t, "Ring", chans[0]["state"])

	status, body = f.sim("POST", "/sim/channels/"+placed.ChannelID+"/dtmf", `{"digits":"1"}`)
	assert.Equal(t, http.StatusConflict, status, "not answered yet")
	assert.Contains(t, body, "not Up")
	require.NoError(t, f.client.Channel().Answer(ari.NewKey(ari.ChannelKey, placed.ChannelID)))
	status, _ = f.sim("POST", "/sim/channels/"+placed.ChannelID+"/dtmf", `{"digits":"7#"}`)
	assert.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, "7", f.waitEvent("ChannelDtmfReceived", nil)["digit"])

	status, _ = f.sim("POST", "/sim/channels/"+placed.ChannelID+"/hangup", "")
	assert.Equal(t, http.StatusNoContent, status)
	f.waitEvent("StasisEnd", channelEvent(placed.ChannelID))
	status, body = f.sim("GET", "/sim/calls", "")
	require.Equal(t, http.StatusOK, status)
	var calls []PlacedCall
	require.NoError(t, json.Unmarshal([]byte(body), &calls))
	require.Len(t, calls, 1, "every call placed, ended ones too")
	assert.Equal(t, placed.ChannelID, calls[0].ChannelID)
	assert.Equal(t, OutcomeStasis, calls[0].Outcome)
	assert.Equal(t, "13800138000", calls[0].Caller)
	assert.Equal(t, "12366", calls[0].Dialed)
	assert.NotNil(t, calls[0].EndedAt)

	status, body = f.sim("GET", "/sim/bridges", "")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `[]`, body)
	status, body = f.sim("GET", "/sim/playbacks", "")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `[]`, body)

	bad := []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"no caller", "POST", "/sim/calls", `{}`, 400, "caller is required"},
		{"malformed", "POST", "/sim/calls", `{"caller":`, 400, "body:"},
		{"unknown field", "POST", "/sim/calls", `{"caller":"1","callr":"2"}`, 400, "unknown field"},
		{"bad duration", "POST", "/sim/calls", `{"caller":"1","hangup_after":"soon"}`, 400, "invalid duration"},
		{"bad dtmf", "POST", "/sim/calls", `{"caller":"1","dtmf":"x"}`, 400, "not a DTMF digit"},
		{"unknown channel dtmf", "POST", "/sim/channels/nope/dtmf", `{"digits":"1"}`, 404, "not found"},
		{"no digits", "POST", "/sim/channels/nope/dtmf", `{}`, 400, "digits is required"},
		{"unknown channel hangup", "POST", "/sim/channels/nope/hangup", ``, 404, "not found"},
		{"unknown route", "GET", "/sim/nothing", ``, 404, "no such simulator route"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.sim(tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, status)
			var e struct {
				Error string `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Contains(t, e.Error, tt.message)
		})
	}
}

func TestSimEndpoints(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	require.NoError(t, f.client.Application().Subscribe(ari.NewKey(ari.ApplicationKey, "hotline"), "endpoint:PJSIP"))

	status, body := f.sim("PUT", "/sim/endpoints/PJSIP/1001", `{"answer_after":"10ms","hangup_after":"1m","dtmf":"5"}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"name":"PJSIP/1001","online":true,"channel_ids":[],"behavior":{"offline":false,"answer_after":"10ms",
		"no_answer":false,"busy":false,"unreachable":false,"not_found":false,"hangup_after":"1m0s","dtmf":"5","dtmf_gap":""}}`, body)
	status, _ = f.sim("PUT", "/sim/endpoints/PJSIP/13800138000@trunk", `{"busy":true}`)
	assert.Equal(t, http.StatusOK, status)
	status, _ = f.sim("PUT", "/sim/trunks/trunk", `{"not_found":true}`)
	assert.Equal(t, http.StatusNoContent, status)

	status, _ = f.sim("POST", "/sim/endpoints/PJSIP/1001/offline", "")
	assert.Equal(t, http.StatusNoContent, status)
	f.waitEvent("EndpointStateChange", nil)
	status, _ = f.sim("POST", "/sim/endpoints/PJSIP/1001/online", "")
	assert.Equal(t, http.StatusNoContent, status)
	f.waitEvent("EndpointStateChange", func(m map[string]any) bool { return m["endpoint"].(map[string]any)["state"] == "online" })

	status, body = f.sim("GET", "/sim/endpoints", "")
	require.Equal(t, http.StatusOK, status)
	var eps []struct {
		Name     string `json:"name"`
		Online   bool   `json:"online"`
		Behavior struct {
			Busy     bool `json:"busy"`
			NotFound bool `json:"not_found"`
		} `json:"behavior"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &eps))
	require.Len(t, eps, 3)
	assert.Equal(t, "PJSIP/1001", eps[0].Name)
	assert.True(t, eps[0].Online)
	assert.Equal(t, "PJSIP/trunk", eps[1].Name)
	assert.True(t, eps[1].Behavior.NotFound)
	assert.Equal(t, "PJSIP/13800138000@trunk", eps[2].Name)
	assert.True(t, eps[2].Behavior.Busy)

	bad := []struct {
		name, method, path, body string
		status                   int
	}{
		{"no resource", "PUT", "/sim/endpoints/PJSIP", `{}`, 400},
		{"unknown field", "PUT", "/sim/endpoints/PJSIP/1002", `{"answer":"1s"}`, 400},
		{"negative duration", "PUT", "/sim/endpoints/PJSIP/1002", `{"answer_after":"-1s"}`, 400},
		{"duration as number", "PUT", "/sim/endpoints/PJSIP/1002", `{"answer_after":5}`, 400},
		{"unknown endpoint", "POST", "/sim/endpoints/PJSIP/7777/online", ``, 404},
		{"neither online nor offline", "POST", "/sim/endpoints/PJSIP/1001/sideways", ``, 400},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.sim(tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, status, body)
			assert.Contains(t, body, `"error"`)
		})
	}
}

func TestSimMessagesAndRecordings(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{})
	require.NoError(t, f.client.TextMessage().Send("sip:hotline@127.0.0.1", "PJSIP", "1001", "回电任务 cb-7", nil))

	status, body := f.sim("GET", "/sim/messages", "")
	require.Equal(t, http.StatusOK, status)
	var msgs []Message
	require.NoError(t, json.Unmarshal([]byte(body), &msgs))
	require.Len(t, msgs, 1)
	assert.Equal(t, "回电任务 cb-7", msgs[0].Body)
	assert.Equal(t, "PJSIP/1001", msgs[0].To)

	id := f.answeredCall("13800138000")
	_, err := f.client.Channel().Record(ari.NewKey(ari.ChannelKey, id), "memo", &ari.RecordingOptions{Format: "wav"})
	require.NoError(t, err)
	require.NoError(t, f.client.LiveRecording().Stop(ari.NewKey(ari.LiveRecordingKey, "memo")))
	status, body = f.sim("GET", "/sim/recordings", "")
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `["memo"]`, body)
}

func TestSimFaults(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})

	status, _ := f.sim("POST", "/sim/faults", `{"kind":"fail_route","method":"GET","pattern":"/ari/bridges","status":503,"times":1}`)
	require.Equal(t, http.StatusNoContent, status)
	resp, _ := f.rawGet("/ari/bridges")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp, _ = f.rawGet("/ari/bridges")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	status, _ = f.sim("POST", "/sim/faults", `{"kind":"delay_route","pattern":"/ari/bridges","duration":"100ms"}`)
	require.Equal(t, http.StatusNoContent, status)
	start := time.Now()
	f.rawGet("/ari/bridges")
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	status, _ = f.sim("POST", "/sim/faults", `{"kind":"clear"}`)
	require.Equal(t, http.StatusNoContent, status)

	status, _ = f.sim("POST", "/sim/faults", `{"kind":"drop_websockets"}`)
	require.Equal(t, http.StatusNoContent, status)
	require.NoError(t, f.srv.WaitRegistered(f.ctx, "hotline"))

	f.placeCall(InboundCall{Caller: "13800138000"})
	status, _ = f.sim("POST", "/sim/faults", `{"kind":"restart"}`)
	require.Equal(t, http.StatusNoContent, status)
	assert.Empty(t, f.srv.Channels())
	require.NoError(t, f.srv.WaitRegistered(f.ctx, "hotline"))

	status, _ = f.sim("POST", "/sim/faults", `{"kind":"refuse_connections","duration":"50ms"}`)
	require.Equal(t, http.StatusNoContent, status)
	require.NoError(t, f.srv.WaitRegistered(f.ctx, "hotline"))

	bad := []string{
		`{"kind":"explode"}`,
		`{"kind":"fail_route","pattern":"/ari/x"}`,
		`{"kind":"fail_route","pattern":"[","status":500}`,
		`{"kind":"delay_route","pattern":"/ari/x"}`,
		`{"kind":"refuse_connections"}`,
		`{"kind":"undecodable","event_type":"Nonsense"}`,
	}
	for _, body := range bad {
		status, got := f.sim("POST", "/sim/faults", body)
		assert.Equal(t, http.StatusBadRequest, status, body)
		assert.Contains(t, got, `"error"`)
	}
}

// Calls that find no application run the fallback; GET /sim/calls says so,
// with the voice message they left.
func TestSimListsFallbackCalls(t *testing.T) {
	t.Parallel()
	srv := NewTest(t, Options{DefaultSoundDuration: 10 * time.Millisecond, VoicemailMax: 1500 * time.Millisecond})
	id, err := srv.PlaceCall(InboundCall{Caller: "13900139000"})
	require.ErrorIs(t, err, ErrStasisFailed)
	require.Eventually(t, func() bool {
		calls := srv.PlacedCalls()
		return len(calls) == 1 && calls[0].EndedAt != nil
	}, 10*time.Second, 10*time.Millisecond, "the mailbox's maximum ends the call")
	got := srv.PlacedCalls()[0]
	assert.Equal(t, id, got.ChannelID)
	assert.Equal(t, OutcomeFallback, got.Outcome)
	assert.FileExists(t, got.Voicemail)
}
