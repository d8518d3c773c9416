package aritest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (f *fixture) originate(endpoint, id string, timeout int) *ari.ChannelHandle {
	f.t.Helper()
	h, err := f.client.Channel().Originate(nil, ari.OriginateRequest{
		Endpoint: endpoint, Timeout: timeout, CallerID: "12345", App: "hotline",
		AppArgs: "agent,call1", ChannelID: id,
	})
	require.NoError(f.t, err)
	return h
}

// TestOriginateOutcomes follows traces 05 and 10: what each far end does
// to an originated channel, event by event.
func TestOriginateOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		behavior Behavior
		timeout  int
		events   []string
		hangup   map[string]any // ChannelHangupRequest fields
		destroy  map[string]any // ChannelDestroyed fields
		dials    []string
	}{
		{
			name: "answers", endpoint: "PJSIP/1001", behavior: Behavior{AnswerAfter: 20 * time.Millisecond},
			events: []string{"Dial", "ChannelStateChange", "Dial", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart"},
			dials:  []string{"", "RINGING", "ANSWER"},
		},
		{
			name: "busy", endpoint: "PJSIP/1001", behavior: Behavior{Busy: true},
			events:  []string{"Dial", "ChannelStateChange", "Dial", "ChannelHangupRequest", "Dial", "ChannelDestroyed"},
			hangup:  map[string]any{"cause": 17.0, "tech_cause": 486.0},
			destroy: map[string]any{"cause": 17.0, "cause_txt": "User busy", "tech_cause": 486.0},
			dials:   []string{"", "RINGING", "BUSY"},
		},
		{
			name: "number not found", endpoint: "PJSIP/13600136000@trunk", behavior: Behavior{NotFound: true},
			events:  []string{"Dial", "ChannelHangupRequest", "Dial", "ChannelDestroyed"},
			hangup:  map[string]any{"cause": 1.0, "tech_cause": 404.0},
			destroy: map[string]any{"cause": 1.0, "cause_txt": "Unallocated (unassigned) number", "tech_cause": 404.0},
			dials:   []string{"", "NOANSWER"},
		},
		{
			name: "number unreachable", endpoint: "PJSIP/13500135000@trunk", behavior: Behavior{Unreachable: true},
			events:  []string{"Dial", "ChannelHangupRequest", "Dial", "ChannelDestroyed"},
			hangup:  map[string]any{"cause": 20.0},
			destroy: map[string]any{"cause": 20.0, "cause_txt": "Subscriber absent"},
			dials:   []string{"", "CHANUNAVAIL"},
		},
		{
			name: "no answer", endpoint: "PJSIP/1002", behavior: Behavior{NoAnswer: true}, timeout: 1,
			events:  []string{"Dial", "ChannelStateChange", "Dial", "ChannelDestroyed"},
			destroy: map[string]any{"cause": 19.0, "cause_txt": "User alerting, no answer", "tech_cause": 480.0},
			dials:   []string{"", "RINGING"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, Options{})
			f.srv.SetEndpoint(tt.endpoint, tt.behavior)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 20
			}
			start := time.Now()
			h := f.originate(tt.endpoint, "leg-1", timeout)
			assert.Equal(t, "leg-1", h.ID())

			var types, dials []string
			for len(types) < len(tt.events) {
				e, err := f.events.Next(f.ctx)
				require.NoError(t, err, "after %v", types)
				types = append(types, e.Model)
				m := decodeMap(t, e.Body)
				switch e.Model {
				case "Dial":
					dials = append(dials, m["dialstatus"].(string))
					assert.Equal(t, strings.SplitN(tt.endpoint, "/", 2)[1], m["dialstring"])
				case "ChannelHangupRequest":
					for k, v := range tt.hangup {
						assert.Equal(t, v, m[k], k)
					}
					assert.NotContains(t, m, "soft")
				case "ChannelDestroyed":
					for k, v := range tt.destroy {
						assert.Equal(t, v, m[k], k)
					}
				case "StasisStart":
					assert.Equal(t, []any{"agent", "call1"}, m["args"])
				}
			}
			assert.Equal(t, tt.events, types)
			assert.Equal(t, tt.dials, dials)
			if tt.timeout > 0 {
				assert.GreaterOrEqual(t, time.Since(start), time.Duration(tt.timeout)*time.Second)
			}
		})
	}
}

func TestOriginateErrors(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1003", Behavior{Offline: true})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{NoAnswer: true})
	f.originate("PJSIP/1001", "taken", 20)

	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"no endpoint", `{"app":"hotline"}`, 400, `{"message":"Endpoint must be specified"}`},
		{"no technology", `{"endpoint":"1001","app":"hotline"}`, 400, `{"message":"Invalid endpoint specified"}`},
		{"no app", `{"endpoint":"PJSIP/1001"}`, 400, `{"message":"Application or extension must be specified"}`},
		{"malformed", `{"endpoint": "PJSIP/1001", "app": `, 400, `{"message":"Error parsing request body"}`},
		{"offline", `{"endpoint":"PJSIP/1003","app":"hotline"}`, 500, `{"error":"Allocation failed"}`},
		{"unknown endpoint", `{"endpoint":"PJSIP/9999","app":"hotline"}`, 500, `{"error":"Allocation failed"}`},
		{"unknown trunk", `{"endpoint":"PJSIP/13800138000@nowhere","app":"hotline"}`, 500, `{"error":"Allocation failed"}`},
		{"id taken", `{"endpoint":"PJSIP/1001","app":"hotline","channelId":"taken"}`, 409, `{"message":"Channel with given unique ID already exists"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/channels", strings.NewReader(tt.body))
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.JSONEq(t, tt.want, string(body))
		})
	}

	t.Run("native client", func(t *testing.T) {
		_, err := f.client.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/1003", App: "hotline"})
		require.Error(t, err)
		assert.Equal(t, 500, native.CodeFromError(err))
	})
	assert.Len(t, f.srv.Channels(), 1, "failed originates leave no channel")
}

func TestCancelRingingLeg(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1002", Behavior{NoAnswer: true})
	h := f.originate("PJSIP/1002", "cancel-a1002", 20)
	f.waitEvent("Dial", func(m map[string]any) bool { return m["dialstatus"] == "RINGING" })

	data, err := h.Data()
	require.NoError(t, err)
	assert.Equal(t, "Ringing", data.State)
	require.NoError(t, h.Hangup())

	assert.Equal(t, []string{"ChannelHangupRequest", "Dial", "ChannelDestroyed"}, f.nextTypes(3))
	_, err = h.Data()
	assertStatus(t, err, http.StatusNotFound)
}

// TestHangups follows traces 02, 03 and 04: who hangs up decides the cause
// fields, and only originated channels get ChannelDestroyed.
func TestHangups(t *testing.T) {
	t.Parallel()
	rtp := []string{"ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset", "ChannelVarset"}
	tests := []struct {
		name       string
		originated bool
		byApp      bool
		reason     string
		tail       []string
		cause      float64 // ChannelDestroyed cause, when there is one
	}{
		{name: "app hangs up a citizen", byApp: true, tail: []string{"ChannelHangupRequest", "StasisEnd"}},
		{name: "citizen hangs up", tail: []string{"ChannelHangupRequest", "StasisEnd"}},
		{name: "app hangs up an agent", originated: true, byApp: true, tail: []string{"ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelDestroyed"}, cause: 16},
		{name: "app hangs up busy", originated: true, byApp: true, reason: "busy", tail: []string{"ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelDestroyed"}, cause: 17},
		{name: "agent hangs up", originated: true, tail: []string{"ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelDestroyed"}, cause: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, Options{})
			var id string
			if tt.originated {
				f.srv.SetEndpoint("PJSIP/1001", Behavior{})
				id = f.originate("PJSIP/1001", "agent-leg", 20).ID()
				f.waitEvent("StasisStart", channelEvent(id))
			} else {
				id = f.placeCall(InboundCall{Caller: "13800138000"})
				require.NoError(t, f.client.Channel().Answer(ari.NewKey(ari.ChannelKey, id)))
				f.waitEvent("ChannelStateChange", channelEvent(id))
			}
			key := ari.NewKey(ari.ChannelKey, id)
			if tt.byApp {
				require.NoError(t, f.client.Channel().Hangup(key, tt.reason))
			} else {
				require.NoError(t, f.srv.Hangup(id))
			}
			_, err := f.client.Channel().Data(key)
			assertStatus(t, err, http.StatusNotFound)

			// A second call's StasisStart marks the end of what the hangup sent.
			_, err = f.srv.PlaceCall(InboundCall{Caller: "13900139000"})
			require.NoError(t, err)
			var types []string
			for {
				e, err := f.events.Next(f.ctx)
				require.NoError(t, err)
				if e.Model == "StasisStart" {
					break
				}
				types = append(types, e.Model)
				m := decodeMap(t, e.Body)
				switch e.Model {
				case "ChannelHangupRequest":
					if tt.byApp {
						assert.Equal(t, 32.0, m["cause"])
						assert.Equal(t, true, m["soft"])
					} else {
						assert.NotContains(t, m, "cause")
						assert.NotContains(t, m, "soft")
					}
				case "ChannelDestroyed":
					assert.Equal(t, tt.cause, m["cause"])
				case "ChannelVarset":
					if m["variable"] == "STASISSTATUS" {
						assert.Equal(t, "SUCCESS", m["value"])
					}
				}
			}
			assert.Equal(t, append(rtp, tt.tail...), types)
		})
	}
}

func TestHangupReasons(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000"})
	resp, body := rawDo(t, f.ctx, http.MethodDelete, f.srv.URL()+"/ari/channels/"+id+"?reason=whatever", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Invalid reason for hangup provided"}`, string(body))

	resp, _ = rawDo(t, f.ctx, http.MethodDelete, f.srv.URL()+"/ari/channels/"+id+"?reason_code=21", nil)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, body = rawDo(t, f.ctx, http.MethodDelete, f.srv.URL()+"/ari/channels/"+id, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Channel not found"}`, string(body))
}

// TestInboundCall checks the citizen's channel as the app first sees it
// (trace 02) and the call script: DTMF after the answer, hangup.
func TestInboundCall(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id, err := f.srv.PlaceCall(InboundCall{
		Caller: "13800138000", Dialed: "12399", Args: []string{"inbound", "complaint"},
		DTMF: "25#", DTMFGap: 10 * time.Millisecond, HangupAfter: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	start := f.waitEvent("StasisStart", channelEvent(id))
	assert.Equal(t, []any{"inbound", "complaint"}, start["args"])
	ch := start["channel"].(map[string]any)
	assert.Equal(t, "Ring", ch["state"])
	assert.Regexp(t, `^PJSIP/citizen-[0-9a-f]{8}$`, ch["name"])
	assert.Regexp(t, `^\d+\.\d+$`, ch["id"])
	assert.Equal(t, map[string]any{"name": "13800138000", "number": "13800138000"}, ch["caller"])
	assert.Equal(t, map[string]any{"context": "hotline-citizens", "exten": "12399", "priority": 2.0, "app_name": "Stasis", "app_data": "hotline,inbound,complaint"}, ch["dialplan"])
	_, err = time.Parse(dateFormat, ch["creationtime"].(string))
	require.NoError(t, err)
	_, err = time.Parse(dateFormat, start["timestamp"].(string))
	require.NoError(t, err)
	assert.Equal(t, f.srv.EntityID(), start["asterisk_id"])
	assert.Equal(t, "hotline", start["application"])

	info, found := f.srv.Channel(id)
	require.True(t, found)
	assert.False(t, info.Originated)
	assert.Equal(t, "PJSIP/citizen", info.Endpoint)

	require.NoError(t, f.client.Channel().Answer(ari.NewKey(ari.ChannelKey, id)))
	var digits []string
	for range 3 {
		e := f.waitEvent("ChannelDtmfReceived", channelEvent(id))
		digits = append(digits, e["digit"].(string))
		assert.Equal(t, 100.0, e["duration_ms"])
	}
	assert.Equal(t, []string{"2", "5", "#"}, digits)
	f.waitEvent("StasisEnd", channelEvent(id))
	_, found = f.srv.Channel(id)
	assert.False(t, found)
}

func TestPlaceCallNeedsTheApp(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	_, err := f.srv.PlaceCall(InboundCall{Caller: "13800138000", App: "nobody"})
	require.ErrorContains(t, err, `application "nobody" has no websocket connected`)
	_, err = f.srv.PlaceCall(InboundCall{Caller: "13800138000", DTMF: "x"})
	require.ErrorContains(t, err, "not a DTMF digit")
}

func TestSendDTMF(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	f.srv.SetEndpoint("PJSIP/1001", Behavior{DTMF: "1", DTMFGap: time.Millisecond})
	agent := f.originate("PJSIP/1001", "agent", 20).ID()
	f.waitEvent("ChannelDtmfReceived", channelEvent(agent))

	id := f.placeCall(InboundCall{Caller: "13800138000"})
	require.ErrorContains(t, f.srv.SendDTMF(id, "1"), "not Up")
	require.NoError(t, f.client.Channel().Answer(ari.NewKey(ari.ChannelKey, id)))
	require.NoError(t, f.srv.SendDTMF(id, "9*"))
	assert.Equal(t, "9", f.waitEvent("ChannelDtmfReceived", channelEvent(id))["digit"])
	assert.Equal(t, "*", f.waitEvent("ChannelDtmfReceived", channelEvent(id))["digit"])
	require.ErrorIs(t, f.srv.SendDTMF("nope", "1"), errNotFound)
	require.ErrorIs(t, f.srv.Hangup("nope"), errNotFound)

	// DTMF the app sends to a channel is accepted without an event.
	require.NoError(t, f.client.Channel().SendDTMF(ari.NewKey(ari.ChannelKey, id), "12", nil))
}

// keypad lists, for the next n things the far end of a channel does, each
// digit it presses and "/" for its hangup request, after which it stops.
func (f *fixture) keypad(id string, n int) string {
	f.t.Helper()
	var out strings.Builder
	for range n {
		e, err := f.events.WaitFor(f.ctx, func(e Emitted) bool {
			return (e.Model == "ChannelDtmfReceived" || e.Model == "ChannelHangupRequest") &&
				channelEvent(id)(decodeMap(f.t, e.Body))
		})
		require.NoError(f.t, err, "after %q", out.String())
		if e.Model == "ChannelHangupRequest" {
			out.WriteString("/")
			break
		}
		out.WriteString(decodeMap(f.t, e.Body)["digit"].(string))
	}
	return out.String()
}

// allDigits is every DTMF digit, as many as fit a short test.
const allDigits = "0123456789*#ABCD"

// TestDTMFOrder: a scripted far end presses its digits in the order given
// however short the gap, and hangs up only after the last one, even when
// the hangup falls due with it.
func TestDTMFOrder(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	const gap = time.Microsecond
	f.srv.SetEndpoint("PJSIP/1001", Behavior{
		DTMF: allDigits, DTMFGap: gap, HangupAfter: time.Duration(len(allDigits)) * gap,
	})
	agent := f.originate("PJSIP/1001", "agent", 20).ID()
	assert.Equal(t, allDigits+"/", f.keypad(agent, len(allDigits)+1))

	id := f.placeCall(InboundCall{Caller: "13800138000", DTMF: allDigits, DTMFGap: gap})
	require.NoError(t, f.client.Channel().Answer(ari.NewKey(ari.ChannelKey, id)))
	assert.Equal(t, allDigits, f.keypad(id, len(allDigits)))
}

// TestSendDTMFAfterScriptedDigits: digits sent while scripted ones are
// still to come are pressed after them.
func TestSendDTMFAfterScriptedDigits(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000", DTMF: "12", DTMFGap: 100 * time.Millisecond})
	require.NoError(t, f.client.Channel().Answer(ari.NewKey(ari.ChannelKey, id)))
	require.NoError(t, f.srv.SendDTMF(id, "9*"))
	assert.Equal(t, "129*", f.keypad(id, 4))

	// With nothing scripted left, SendDTMF presses at once: the event is
	// out before it returns.
	require.NoError(t, f.srv.SendDTMF(id, "#"))
	expired, cancel := context.WithCancel(f.ctx)
	cancel()
	e, err := f.events.Next(expired)
	require.NoError(t, err)
	assert.Equal(t, "ChannelDtmfReceived", e.Model)
	assert.Equal(t, "#", decodeMap(t, e.Body)["digit"])
}

// TestVariables follows trace 12.
func TestVariables(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000"})
	ch := f.client.Channel()
	key := ari.NewKey(ari.ChannelKey, id)

	v, err := ch.GetVariable(key, "CALLERID(num)")
	require.NoError(t, err)
	assert.Equal(t, "13800138000", v)
	from, err := ch.GetVariable(key, "PJSIP_HEADER(read,From)")
	require.NoError(t, err)
	assert.Regexp(t, `^"13800138000" <sip:13800138000@127\.0\.0\.1>;tag=[0-9a-f]+$`, from)

	_, err = ch.GetVariable(key, "HOTLINE_TICKET")
	assert.Equal(t, http.StatusNotFound, native.CodeFromError(err))
	resp, body := f.rawGet("/ari/channels/" + id + "/variable?variable=HOTLINE_TICKET")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Provided variable was not found"}`, string(body))

	require.NoError(t, ch.SetVariable(key, "HOTLINE_TICKET", "T-42"))
	set := f.waitEvent("ChannelVarset", channelEvent(id))
	assert.Equal(t, "HOTLINE_TICKET", set["variable"])
	assert.Equal(t, "T-42", set["value"])
	v, err = ch.GetVariable(key, "HOTLINE_TICKET")
	require.NoError(t, err)
	assert.Equal(t, "T-42", v)
	info, _ := f.srv.Channel(id)
	assert.Equal(t, "T-42", info.Variables["HOTLINE_TICKET"])

	resp, body = f.rawGet("/ari/channels/no-such-channel/variable?variable=CALLERID(num)")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Provided channel was not found"}`, string(body))
}

// TestSnoop follows trace 12: a snoop channel enters Stasis and, like an
// inbound channel, never gets ChannelDestroyed.
func TestSnoop(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000"})
	snoop, err := f.client.Channel().Snoop(ari.NewKey(ari.ChannelKey, id), "call12-snoop",
		&ari.SnoopOptions{App: "hotline", AppArgs: "snoop,call12", Spy: ari.DirectionBoth})
	require.NoError(t, err)
	start := f.waitEvent("StasisStart", channelEvent("call12-snoop"))
	assert.Equal(t, []any{"snoop", "call12"}, start["args"])
	assert.Equal(t, "Snoop/"+id+"-00000000", start["channel"].(map[string]any)["name"])

	require.NoError(t, snoop.Hangup())
	_, err = f.srv.PlaceCall(InboundCall{Caller: "13900139000"})
	require.NoError(t, err)
	assert.Equal(t, []string{"ChannelHangupRequest", "StasisEnd", "StasisStart"}, f.typesUntil("StasisStart"))
}

// A snoop's directions are checked as Asterisk 20 checks them, and kept
// for tests to see what was asked (monitoring whispers with out or both).
func TestSnoopDirections(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000"})
	key := ari.NewKey(ari.ChannelKey, id)
	_, err := f.client.Channel().Snoop(key, "s1", &ari.SnoopOptions{App: "hotline", Spy: ari.DirectionBoth, Whisper: ari.DirectionOut})
	require.NoError(t, err)
	info, ok := f.srv.Channel("s1")
	require.True(t, ok)
	assert.Equal(t, "both", info.Spy)
	assert.Equal(t, "out", info.Whisper)
	for _, tc := range []struct {
		spy, whisper ari.Direction
		message      string
	}{
		{"", "", "Direction must be specified for at least spy or whisper"},
		{"none", "none", "Direction must be specified for at least spy or whisper"},
		{"sideways", "", "Invalid direction specified for spy"},
		{"both", "loud", "Invalid direction specified for whisper"},
	} {
		body := fmt.Sprintf(`{"app":"hotline","spy":%q,"whisper":%q}`, tc.spy, tc.whisper)
		resp, raw := rawDo(t, f.ctx, http.MethodPost, f.srv.URL()+"/ari/channels/"+id+"/snoop", strings.NewReader(body))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, tc.message)
		assert.JSONEq(t, fmt.Sprintf(`{"message":%q}`, tc.message), string(raw))
	}
}

func TestChannelNoops(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{})
	id := f.placeCall(InboundCall{Caller: "13800138000"})
	ch := f.client.Channel()
	key := ari.NewKey(ari.ChannelKey, id)
	require.NoError(t, ch.Ring(key))
	require.NoError(t, ch.StopRing(key))
	require.NoError(t, ch.MOH(key, ""))
	require.NoError(t, ch.StopMOH(key))
	require.NoError(t, ch.Silence(key))
	require.NoError(t, ch.StopSilence(key))
	require.NoError(t, ch.Mute(key, ari.DirectionIn))
	require.NoError(t, ch.Unmute(key, ari.DirectionIn))
	assert.Equal(t, http.StatusNotFound, native.CodeFromError(ch.MOH(ari.NewKey(ari.ChannelKey, "nope"), "")))

	list, err := ch.List(nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, id, list[0].ID)
}
