package aritest

import (
	"bytes"
	"encoding/json"
	"time"
)

// dateFormat is ari.DateFormat: what Asterisk writes for timestamps and
// creation times.
const dateFormat = "2006-01-02T15:04:05.000-0700"

// The JSON shapes below follow the field order Asterisk 20 writes, and
// carry only fields the Asterisk 22 schema allows.

type callerJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	State        string       `json:"state"`
	ProtocolID   string       `json:"protocol_id"`
	Caller       callerJSON   `json:"caller"`
	Connected    callerJSON   `json:"connected"`
	Accountcode  string       `json:"accountcode"`
	Dialplan     dialplanJSON `json:"dialplan"`
	Creationtime string       `json:"creationtime"`
	Language     string       `json:"language"`
}

type bridgeJSON struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	Creationtime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

type playbackJSON struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language"`
	State        string `json:"state"`
}

type liveRecordingJSON struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
	Duration  *int   `json:"duration,omitempty"`
}

type storedRecordingJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

type endpointJSON struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"`
	ChannelIDs []string `json:"channel_ids"`
}

type applicationJSON struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

type contactInfoJSON struct {
	URI           string `json:"uri"`
	ContactStatus string `json:"contact_status"`
	AOR           string `json:"aor"`
	RoundtripUsec string `json:"roundtrip_usec"`
}

type messageJSON struct {
	Message string `json:"message"`
}

// field is one key of an event, in the order it is written.
type field struct {
	key string
	val any
}

// event is an ARI event before it is addressed to an application.
// Asterisk writes some keys (variable/value, cause/soft) before "type";
// pre holds those, post the keys after "timestamp".
type event struct {
	typ  string
	pre  []field
	post []field
}

// encode writes the event up to, not including, its "application" key.
func (e event) encode(ts time.Time, entityID string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range e.pre {
		writeField(&b, f)
		b.WriteByte(',')
	}
	writeField(&b, field{"type", e.typ})
	b.WriteByte(',')
	writeField(&b, field{"timestamp", ts.Format(dateFormat)})
	for _, f := range e.post {
		b.WriteByte(',')
		writeField(&b, f)
	}
	b.WriteByte(',')
	writeField(&b, field{"asterisk_id", entityID})
	return b.Bytes()
}

// addressed completes an encoded event for one application.
func addressed(prefix []byte, app string) []byte {
	out := make([]byte, 0, len(prefix)+len(app)+20)
	out = append(out, prefix...)
	out = append(out, `,"application":`...)
	out = append(out, marshal(app)...)
	return append(out, '}')
}

func writeField(b *bytes.Buffer, f field) {
	b.Write(marshal(f.key))
	b.WriteByte(':')
	b.Write(marshal(f.val))
}

// marshal encodes v as compact JSON without HTML escaping, as Asterisk does.
// Every value passed here is a plain struct, map, slice or scalar, so
// encoding cannot fail.
func marshal(v any) []byte {
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("aritest: encode " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}
