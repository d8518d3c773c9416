package ari

import (
	"testing"

	"github.com/CyCoreSystems/ari/v5"
)

// FuzzEventFrame: any websocket frame, decoded and dispatched as readEvents
// does, to a call's routes and the fallback, never panics. The seed corpus is in testdata/fuzz.
func FuzzEventFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"StasisStart","application":"hotline","args":["inbound"],"channel":{"id":"1.1","caller":{"number":"13800138000"},"dialplan":{"exten":"12345"}}}`,
		`{"type":"ChannelDestroyed","channel":{"id":"c1-a001-1001"},"cause":17}`,
		`{"type":"RecordingFinished","recording":{"name":"c1","duration":3}}`,
		`{"type":"PlaybackFinished","playback":{"id":"c1-p1","target_uri":"channel:1.1"}}`,
		`{"type":"ChannelTransfer"}`, `{"type":5}`, `null`, `[]`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newMetrics(nil)
		d := newDispatcher(m)
		fallback, routed := NewMailbox(), NewMailbox()
		d.SetFallback(fallback)
		d.Route(ari.ChannelKey, "c1-a001-1001", routed)
		d.Route(ari.LiveRecordingKey, "c1", routed)
		_ = peekType(data)
		if typ, ok := frameType(data); ok && unhandledEvents[typ] {
			return
		}
		e, err := ari.DecodeEvent(data)
		if err != nil || e == nil {
			return
		}
		d.Dispatch(e)
		for _, got := range append(fallback.Take(), routed.Take()...) {
			_ = channelOf(got)
			_ = got.Keys()
		}
	})
}
