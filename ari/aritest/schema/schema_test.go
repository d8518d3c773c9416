package schema_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline/ari/aritest/schema"
)

const apiDocsDir = "../testdata/ari-api-docs"

type fixture struct {
	schema *schema.Schema
}

func setup(t *testing.T) fixture {
	t.Helper()
	s, err := schema.Load(apiDocsDir)
	require.NoError(t, err)
	return fixture{schema: s}
}

// A StasisStart exactly as Asterisk 20.20.1 sent it (trace 02).
const stasisStart = `{"type": "StasisStart", "timestamp": "2026-11-27T05:28:07.661+0000", "args": ["inbound"], "channel": {"id": "1795757287.0", "name": "PJSIP/citizen-00000000", "state": "Ring", "protocol_id": "b56462a8e2bd3912", "caller": {"name": "13800138000", "number": "13800138000"}, "connected": {"name": "", "number": ""}, "accountcode": "", "dialplan": {"context": "hotline-citizens", "exten": "12345", "priority": 2, "app_name": "Stasis", "app_data": "hotline,inbound"}, "creationtime": "2026-11-27T05:28:07.660+0000", "language": "en"}, "asterisk_id": "02:fc:00:00:00:01", "application": "hotline"}`

// mutate returns doc with change applied to its decoded form.
func mutate(t *testing.T, doc string, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &m))
	change(m)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// requireViolations checks that err lists exactly want, as "path: problem".
func requireViolations(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		require.NoError(t, err)
		return
	}
	var vs schema.Violations
	require.ErrorAs(t, err, &vs)
	got := make([]string, len(vs))
	for i, v := range vs {
		got[i] = v.Error()
	}
	require.Equal(t, want, got)
}

func TestValidateEvent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name   string
		change func(m map[string]any)
		want   []string
	}{
		{name: "as recorded", change: func(map[string]any) {}},
		{
			name:   "optional property absent",
			change: func(m map[string]any) { delete(m, "asterisk_id") },
		},
		{
			name:   "property the event does not define",
			change: func(m map[string]any) { m["tech_cause"] = 16 },
			want:   []string{"StasisStart.tech_cause: not defined in StasisStart"},
		},
		{
			name:   "nested property the model does not define",
			change: func(m map[string]any) { obj(obj(m, "channel"), "caller")["tag"] = "x" },
			want:   []string{"StasisStart.channel.caller.tag: not defined in CallerID"},
		},
		{
			name:   "required property inherited from Event missing",
			change: func(m map[string]any) { delete(m, "timestamp") },
			want:   []string{"StasisStart.timestamp: required property is missing"},
		},
		{
			name:   "required own property missing",
			change: func(m map[string]any) { delete(m, "channel") },
			want:   []string{"StasisStart.channel: required property is missing"},
		},
		{
			name:   "required nested property missing",
			change: func(m map[string]any) { delete(obj(m, "channel"), "protocol_id") },
			want:   []string{"StasisStart.channel.protocol_id: required property is missing"},
		},
		{
			name:   "number where a string belongs",
			change: func(m map[string]any) { obj(obj(m, "channel"), "caller")["number"] = 13800138000 },
			want:   []string{"StasisStart.channel.caller.number: want string, got number"},
		},
		{
			name:   "null where a string belongs",
			change: func(m map[string]any) { obj(m, "channel")["name"] = nil },
			want:   []string{"StasisStart.channel.name: want string, got null"},
		},
		{
			name:   "long that is not integral",
			change: func(m map[string]any) { obj(obj(m, "channel"), "dialplan")["priority"] = 2.5 },
			want:   []string{"StasisStart.channel.dialplan.priority: want long, got number 2.5"},
		},
		{
			name:   "Date in RFC 3339 instead of ari.DateFormat",
			change: func(m map[string]any) { m["timestamp"] = "2026-11-27T05:28:07.661Z" },
			want:   []string{`StasisStart.timestamp: want Date in the form 2006-01-02T15:04:05.000-0700, got "2026-11-27T05:28:07.661Z"`},
		},
		{
			name:   "Date as a number",
			change: func(m map[string]any) { obj(m, "channel")["creationtime"] = 1795757287 },
			want:   []string{"StasisStart.channel.creationtime: want Date, got number"},
		},
		{
			name:   "value outside allowableValues",
			change: func(m map[string]any) { obj(m, "channel")["state"] = "Talking" },
			want:   []string{`StasisStart.channel.state: want one of ["Down" "Rsrved" "OffHook" "Dialing" "Ring" "Ringing" "Up" "Busy" "Dialing Offhook" "Pre-ring" "Unknown"], got "Talking"`},
		},
		{
			name:   "list element of the wrong type",
			change: func(m map[string]any) { m["args"] = []any{"agent", 1001} },
			want:   []string{"StasisStart.args[1]: want string, got number"},
		},
		{
			name:   "object where a list belongs",
			change: func(m map[string]any) { m["args"] = map[string]any{} },
			want:   []string{"StasisStart.args: want List[string], got object"},
		},
		{
			name:   "array where an object property belongs",
			change: func(m map[string]any) { obj(m, "channel")["channelvars"] = []any{} },
			want:   []string{"StasisStart.channel.channelvars: want object, got array"},
		},
		{
			name:   "string where a model belongs",
			change: func(m map[string]any) { m["replace_channel"] = "1795757287.0" },
			want:   []string{"StasisStart.replace_channel: want Channel, got string"},
		},
		{
			name: "every violation is reported, sorted by property",
			change: func(m map[string]any) {
				delete(m, "application")
				obj(m, "channel")["language"] = true
				m["zone"] = "x"
			},
			want: []string{
				"StasisStart.application: required property is missing",
				"StasisStart.channel.language: want string, got boolean",
				"StasisStart.zone: not defined in StasisStart",
			},
		},
		{
			name:   "unknown event type",
			change: func(m map[string]any) { m["type"] = "ChannelRinging" },
			want:   []string{`event.type: "ChannelRinging" is not an event type`},
		},
		{
			name:   "abstract Event is not an event type",
			change: func(m map[string]any) { m["type"] = "Event" },
			want:   []string{`event.type: "Event" is not an event type`},
		},
		{
			name:   "a Message that is not an Event",
			change: func(m map[string]any) { m["type"] = "MissingParams" },
			want:   []string{`event.type: "MissingParams" is not an event type`},
		},
		{
			name:   "no type",
			change: func(m map[string]any) { delete(m, "type") },
			want:   []string{"event.type: required property is missing"},
		},
		{
			name:   "type not a string",
			change: func(m map[string]any) { m["type"] = 7 },
			want:   []string{"event.type: want string, got number"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireViolations(t, f.schema.ValidateEvent(mutate(t, stasisStart, tt.change)), tt.want...)
		})
	}
}

func TestValidateEventScalarTypes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const hangup = `{"type":"ChannelHangupRequest","timestamp":"2026-11-27T05:28:09.112+0000","application":"hotline","channel":%s,"cause":%s,"soft":%s}`
	var channel map[string]any
	require.NoError(t, json.Unmarshal([]byte(stasisStart), &channel))
	channelJSON, err := json.Marshal(channel["channel"])
	require.NoError(t, err)
	tests := []struct {
		name, cause, soft string
		want              []string
	}{
		{name: "int and boolean", cause: "32", soft: "true"},
		{name: "int written as a float", cause: "32.0", soft: "true", want: []string{"ChannelHangupRequest.cause: want int, got number 32.0"}},
		{name: "int beyond 32 bits", cause: "4294967296", soft: "true", want: []string{"ChannelHangupRequest.cause: want int, got number 4294967296"}},
		{name: "int as a string", cause: `"32"`, soft: "true", want: []string{"ChannelHangupRequest.cause: want int, got string"}},
		{name: "boolean as a string", cause: "32", soft: `"true"`, want: []string{"ChannelHangupRequest.soft: want boolean, got string"}},
		{name: "boolean as a number", cause: "32", soft: "1", want: []string{"ChannelHangupRequest.soft: want boolean, got number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(fmt.Sprintf(hangup, channelJSON, tt.cause, tt.soft))
			requireViolations(t, f.schema.ValidateEvent(body), tt.want...)
		})
	}
}

func TestValidateEventRejectsMalformedJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := map[string]string{
		"":                 "event: invalid JSON: EOF",
		`{"type":`:         "event: invalid JSON: unexpected EOF",
		stasisStart + `{}`: "event: invalid JSON: data after the value",
	}
	for body, want := range tests {
		requireViolations(t, f.schema.ValidateEvent([]byte(body)), want)
	}
	requireViolations(t, f.schema.ValidateEvent([]byte(`["StasisStart"]`)), "event: want object, got array")
}

func TestValidateModel(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var recorded map[string]any
	require.NoError(t, json.Unmarshal([]byte(stasisStart), &recorded))
	channel, err := json.Marshal(recorded["channel"])
	require.NoError(t, err)
	tests := []struct {
		name, model, body string
		want              []string
	}{
		{name: "channel", model: "Channel", body: string(channel)},
		{name: "list of channels", model: "List[Channel]", body: "[" + string(channel) + "," + string(channel) + "]"},
		{name: "empty list", model: "List[Channel]", body: "[]"},
		{
			name:  "list elements are validated one by one",
			model: "List[Channel]",
			body:  "[" + string(channel) + `,{"id":"x"}]`,
			want: []string{
				"List[Channel][1].accountcode: required property is missing",
				"List[Channel][1].caller: required property is missing",
				"List[Channel][1].connected: required property is missing",
				"List[Channel][1].creationtime: required property is missing",
				"List[Channel][1].dialplan: required property is missing",
				"List[Channel][1].language: required property is missing",
				"List[Channel][1].name: required property is missing",
				"List[Channel][1].protocol_id: required property is missing",
				"List[Channel][1].state: required property is missing",
			},
		},
		{name: "object where a list belongs", model: "List[Channel]", body: string(channel), want: []string{"List[Channel]: want List[Channel], got object"}},
		{name: "playback", model: "Playback", body: `{"id":"call2-greeting","media_uri":"sound:hello-world","target_uri":"channel:1795757287.0","language":"en","state":"queued"}`},
		{
			name:  "playback state outside allowableValues",
			model: "Playback", body: `{"id":"p","media_uri":"sound:x","target_uri":"channel:1","state":"stopped"}`,
			want: []string{`Playback.state: want one of ["queued" "playing" "continuing" "done" "failed"], got "stopped"`},
		},
		{name: "live recording with int duration", model: "LiveRecording", body: `{"name":"call4","format":"wav","target_uri":"bridge:call4-bridge","state":"done","duration":5}`},
		{
			name:  "live recording with fractional duration",
			model: "LiveRecording", body: `{"name":"call4","format":"wav","target_uri":"bridge:call4-bridge","state":"done","duration":5.36}`,
			want: []string{"LiveRecording.duration: want int, got number 5.36"},
		},
		{name: "double takes any number", model: "ConfigInfo", body: `{"name":"","default_language":"en","max_load":0.5,"setid":{"user":"","group":""}}`},
		{name: "double takes an integer", model: "ConfigInfo", body: `{"name":"","default_language":"en","max_load":2,"setid":{"user":"","group":""}}`},
		{
			name:  "double as a string",
			model: "ConfigInfo", body: `{"name":"","default_language":"en","max_load":"0.5","setid":{"user":"","group":""}}`,
			want: []string{"ConfigInfo.max_load: want double, got string"},
		},
		{name: "object takes any object", model: "Variables", body: `{"variables":{"A":"1","B":{"nested":[1]}}}`},
		{name: "object as null", model: "Variables", body: `{"variables":null}`, want: []string{"Variables.variables: want object, got null"}},
		{name: "polymorphic base picks the subtype by discriminator", model: "Message", body: stasisStart},
		{
			name:  "polymorphic base validates as the subtype",
			model: "Event", body: `{"type":"StasisStart","application":"hotline","timestamp":"2026-11-27T05:28:07.661+0000"}`,
			want: []string{"Event.args: required property is missing", "Event.channel: required property is missing"},
		},
		{
			name:  "discriminator naming a model outside the hierarchy",
			model: "Event", body: `{"type":"Channel","application":"hotline","timestamp":"2026-11-27T05:28:07.661+0000"}`,
			want: []string{`Event: type "Channel" is not Event or one of its subtypes`},
		},
		{
			name:  "discriminator naming a sibling type",
			model: "StasisEnd", body: stasisStart,
			want: []string{`StasisEnd: type "StasisStart" is not StasisEnd or one of its subtypes`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireViolations(t, f.schema.ValidateModel(tt.model, []byte(tt.body)), tt.want...)
		})
	}
}

func TestValidateModelUnknownType(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, model := range []string{"Chanel", "List[Chanel]", "void"} {
		err := f.schema.ValidateModel(model, []byte(`{}`))
		require.ErrorContains(t, err, "unknown type", model)
	}
}

func TestValidateResponse(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const (
		asteriskInfo  = `{"build": {"os": "Linux", "kernel": "6.18.44-fc-v669", "machine": "x86_64", "options": "OPTIONAL_API", "date": "2026-11-27 04:36:45 UTC", "user": "root"}, "system": {"version": "20.20.1", "entity_id": "02:fc:00:00:00:01"}, "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}}, "status": {"startup_time": "2026-11-27T05:27:53.648+0000", "last_reload_time": "2026-11-27T05:27:53.648+0000"}}`
		trunkEndpoint = `{"technology":"PJSIP","resource":"13800138000@trunk","channel_ids":[]}`
	)
	tests := []struct {
		name, method, path string
		status             int
		body               string
		want               []string
	}{
		{name: "model body", method: "GET", path: "/ari/asterisk/info", status: 200, body: asteriskInfo},
		{name: "without the /ari prefix", method: "GET", path: "/asterisk/info", status: 200, body: asteriskInfo},
		{name: "with a query", method: "GET", path: "/ari/asterisk/info?only=build", status: 200, body: asteriskInfo},
		{name: "lower-case method", method: "get", path: "/ari/asterisk/info", status: 200, body: asteriskInfo},
		{
			name: "model body that breaks the model", method: "GET", path: "/ari/asterisk/info", status: 200,
			body: `{"system":{"version":"20.20.1"}}`,
			want: []string{"AsteriskInfo.system.entity_id: required property is missing"},
		},
		{name: "endpoint resource with @", method: "GET", path: "/ari/endpoints/PJSIP/13800138000@trunk", status: 200, body: trunkEndpoint},
		{name: "list body", method: "GET", path: "/ari/channels", status: 200, body: `[]`},
		{name: "list body as object", method: "GET", path: "/ari/channels", status: 200, body: `{}`, want: []string{"List[Channel]: want List[Channel], got object"}},
		{name: "void with no body", method: "DELETE", path: "/ari/channels/1795757287.0", status: 204},
		{name: "void 202", method: "PUT", path: "/ari/endpoints/PJSIP/1001/sendMessage", status: 202},
		{
			name: "void with a body", method: "POST", path: "/ari/channels/1795757287.0/answer", status: 204, body: `{}`,
			want: []string{"POST /ari/channels/1795757287.0/answer 204: want an empty body, got 2 bytes"},
		},
		{name: "binary is not JSON", method: "GET", path: "/ari/recordings/stored/call4/file", status: 200, body: "RIFF\x00\x00WAVEfmt "},
		{name: "websocket upgrade", method: "GET", path: "/ari/events", status: 101},
		{
			name: "101 on an operation that does not upgrade", method: "GET", path: "/ari/channels", status: 101,
			want: []string{"GET /ari/channels 101: not a websocket upgrade operation"},
		},
		{name: "message envelope", method: "GET", path: "/ari/channels/gone", status: 404, body: `{"message": "Channel not found"}`},
		{name: "error envelope", method: "POST", path: "/ari/channels", status: 500, body: `{"error": "Allocation failed"}`},
		{name: "status the operation does not declare", method: "GET", path: "/ari/asterisk/info", status: 401, body: `{"message": "Authentication required"}`},
		{name: "error with another key", method: "GET", path: "/ari/channels/gone", status: 404, body: `{"msg": "Channel not found"}`, want: []string{`error 404.msg: want "message" or "error"`}},
		{name: "error message not a string", method: "GET", path: "/ari/channels/gone", status: 404, body: `{"message": 404}`, want: []string{"error 404.message: want string, got number"}},
		{
			name: "error with both envelopes", method: "POST", path: "/ari/channels", status: 500, body: `{"message": "a", "error": "b"}`,
			want: []string{`error 500: want exactly one of "message" or "error", got 2 properties`},
		},
		{name: "error as a JSON string", method: "GET", path: "/ari/channels/gone", status: 404, body: `"Channel not found"`, want: []string{"error 404: want object, got string"}},
		{name: "error without a body", method: "GET", path: "/ari/channels/gone", status: 404, want: []string{"error 404: invalid JSON: EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := f.schema.ValidateResponse(tt.method, tt.path, tt.status, []byte(tt.body))
			requireViolations(t, err, tt.want...)
		})
	}
}

func TestValidateResponseUnknownRoute(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct{ name, method, path string }{
		{name: "no such resource", method: "GET", path: "/ari/no/such/resource"},
		{name: "method the route does not have", method: "PATCH", path: "/ari/channels/1795757287.0"},
		{name: "parameter spanning two segments", method: "POST", path: "/ari/channels/a/b/answer"},
		{name: "empty parameter", method: "POST", path: "/ari/channels//answer"},
		{name: "trailing segment", method: "GET", path: "/ari/asterisk/info/extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := f.schema.ValidateResponse(tt.method, tt.path, 200, []byte(`{}`))
			require.ErrorIs(t, err, schema.ErrUnknownRoute)
		})
	}
}

func TestEventTypes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	types := f.schema.EventTypes()
	require.Len(t, types, 45, "Asterisk 22 defines 45 event types")
	require.IsIncreasing(t, types)
	for _, want := range []string{"StasisStart", "StasisEnd", "Dial", "ChannelDestroyed", "ChannelHangupRequest", "ApplicationReplaced", "ContactStatusChange", "RESTResponse", "CallClaimed"} {
		require.Contains(t, types, want)
	}
	for _, abstract := range []string{"Message", "Event", "MissingParams", "Channel"} {
		require.NotContains(t, types, abstract)
	}
	types[0] = "changed"
	require.NotEqual(t, "changed", f.schema.EventTypes()[0], "EventTypes must return a copy")
}

// writeDocs writes API declarations to a fresh directory for Load.
func writeDocs(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	return dir
}

func TestLoadRejectsBrokenSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{name: "no declarations", files: map[string]string{"README": "x"}, want: "no *.json API declarations"},
		{name: "malformed JSON", files: map[string]string{"a.json": `{"models":`}, want: "parse"},
		{
			name:  "unknown property type",
			files: map[string]string{"a.json": `{"models":{"Event":{"id":"Event","properties":{"x":{"type":"Chanel"}}}}}`},
			want:  `Event.x: unknown type "Chanel"`,
		},
		{
			name:  "unknown response class",
			files: map[string]string{"a.json": `{"apis":[{"path":"/x","operations":[{"httpMethod":"GET","responseClass":"Thing"}]}],"models":{"Event":{"id":"Event","properties":{}}}}`},
			want:  `unknown type "Thing"`,
		},
		{
			name:  "unknown subtype",
			files: map[string]string{"a.json": `{"models":{"Event":{"id":"Event","subTypes":["Gone"],"properties":{}}}}`},
			want:  `unknown subtype "Gone"`,
		},
		{
			name:  "model defined twice",
			files: map[string]string{"a.json": `{"models":{"Event":{"id":"Event","properties":{}}}}`, "b.json": `{"models":{"Event":{"id":"Event","properties":{}}}}`},
			want:  `model "Event" defined twice`,
		},
		{
			name:  "range allowableValues",
			files: map[string]string{"a.json": `{"models":{"Event":{"id":"Event","properties":{"n":{"type":"int","allowableValues":{"valueType":"RANGE","min":0,"max":9}}}}}}`},
			want:  `allowableValues of type "RANGE" are not supported`,
		},
		{
			name:  "inheritance cycle",
			files: map[string]string{"a.json": `{"models":{"Event":{"id":"Event","properties":{}},"A":{"id":"A","extends":"B","properties":{}},"B":{"id":"B","extends":"A","properties":{}}}}`},
			want:  "inherits from itself",
		},
		{name: "no Event model", files: map[string]string{"a.json": `{"models":{}}`}, want: "no Event model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := schema.Load(writeDocs(t, tt.files))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	t.Parallel()
	_, err := schema.Load(filepath.Join(t.TempDir(), "absent"))
	require.ErrorContains(t, err, "no *.json API declarations")
}

// A schema written with "extends" on the child (the other Swagger 1.2
// spelling) and a literal route beside a parameter route.
const extendsDocs = `{
  "basePath": "http://localhost:8088/api",
  "apis": [
    {"path": "/things/special", "operations": [{"httpMethod": "POST", "responseClass": "void"}]},
    {"path": "/things/{thingId}", "operations": [{"httpMethod": "POST", "responseClass": "Thing"}]}
  ],
  "models": {
    "Event": {"id": "Event", "discriminator": "type", "properties": {"type": {"type": "string", "required": true}}},
    "ThingHappened": {"id": "ThingHappened", "extends": "Event", "properties": {"thing": {"type": "Thing", "required": true}}},
    "Thing": {"id": "Thing", "properties": {"id": {"type": "string", "required": true}}}
  }
}`

func TestLoadExtendsAndLiteralRoutes(t *testing.T) {
	t.Parallel()
	s, err := schema.Load(writeDocs(t, map[string]string{"things.json": extendsDocs}))
	require.NoError(t, err)
	require.Equal(t, []string{"ThingHappened"}, s.EventTypes())
	require.NoError(t, s.ValidateEvent([]byte(`{"type":"ThingHappened","thing":{"id":"t1"}}`)))
	requireViolations(t, s.ValidateEvent([]byte(`{"type":"ThingHappened"}`)), "ThingHappened.thing: required property is missing")

	require.NoError(t, s.ValidateResponse("POST", "/api/things/special", 204, nil), "the literal route wins over {thingId}")
	require.NoError(t, s.ValidateResponse("POST", "/things/t1", 200, []byte(`{"id":"t1"}`)))
	requireViolations(t, s.ValidateResponse("POST", "/api/things/t1", 204, nil), "Thing: invalid JSON: EOF")
	err = s.ValidateResponse("POST", "/ari/things/t1", 200, []byte(`{"id":"t1"}`))
	require.True(t, errors.Is(err, schema.ErrUnknownRoute), "the prefix comes from basePath, not a fixed /ari: %v", err)
}
