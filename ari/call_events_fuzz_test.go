package ari_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
	"hotline/store"
)

// FuzzCallEvents: any event frame, its ids pointing at a live call's
// citizen, agent leg, snoop, bridge and recording ($CITIZEN, $AGENT,
// $SNOOP, $CALL), is dispatched as the websocket reader does and reaches
// the call's own handlers (its goroutine) or the flow's inbox: nothing
// panics, and a call that leaves the flow has its end stored (phase
// ended), never a row left stuck. Frames FuzzEventFrame only decodes run
// here through the call handling itself. Seed corpus in testdata/fuzz.
func FuzzCallEvents(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ChannelDtmfReceived","digit":"5","channel":{"id":"$CITIZEN"}}`,
		`{"type":"ChannelDestroyed","channel":{"id":"$AGENT"},"cause":17}`,
		`{"type":"StasisEnd","channel":{"id":"$CITIZEN"}}`,
		`{"type":"ChannelDestroyed","channel":{"id":"$CITIZEN"},"cause_txt":"vanished while ARI was disconnected"}`,
		`{"type":"StasisStart","args":["inbound"],"channel":{"id":"$CITIZEN"}}`,
		`{"type":"StasisStart","args":["inbound"],"channel":{"id":"9.9","caller":{"number":"13900139000"},"dialplan":{"exten":"12345"}}}`,
		`{"type":"StasisStart","channel":{"id":"$AGENT"}}`,
		`{"type":"StasisStart","args":["inbound"],"channel":{"id":"8.8"}}`, // no caller, no dialplan: once a nil dereference
		`{"type":"RecordingFinished","recording":{"name":"$CALL","duration":3}}`,
		`{"type":"RecordingFailed","recording":{"name":"$CALL","state":"failed"}}`,
		`{"type":"PlaybackFinished","playback":{"id":"$CALL-p001","target_uri":"channel:$CITIZEN"}}`,
		`{"type":"ChannelLeftBridge","bridge":{"id":"$CALL-bridge"},"channel":{"id":"$AGENT"}}`,
		`{"type":"ChannelHangupRequest","channel":{"id":"$SNOOP"}}`,
		`{"type":"ChannelDestroyed","channel":{"id":"$SNOOP"}}`,
		`{"type":"StasisStart","args":["callback","1","2"],"channel":{"id":"cb1-2-agent"}}`,
		`{"type":"EndpointStateChange","endpoint":{"technology":"PJSIP","resource":"1001","state":"offline"}}`,
		`{"type":"ChannelStateChange","channel":{"id":"$AGENT","state":"Ringing"}}`,
	} {
		f.Add([]byte(seed))
	}
	b := setupCalls(f, hari.CallConfig{SurveyTimeout: 50 * time.Millisecond},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 10 * time.Millisecond}})
	var cur hotline.Call // the call the frames point at
	f.Fuzz(func(t *testing.T, frame []byte) {
		ctx := context.Background()
		if cur.ID != "" && !b.calls.InProgress(cur.ID) {
			got, err := b.db.GetCall(ctx, cur.ID)
			if err != nil || got.Phase != hotline.PhaseEnded || got.State == hotline.CallRinging || got.State == hotline.CallAnswered {
				t.Fatalf("call %s left the flow without a stored end: %+v, %v", cur.ID, got, err)
			}
			cur = hotline.Call{}
		}
		if cur.ID == "" {
			b.roster.SetState("1001", hotline.AgentAvailable, "")
			citizen, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
			if err != nil {
				t.Fatal(err)
			}
			// Frames make calls of their own (StasisStart): look for this one
			// by its channel, not as the newest.
			require.Eventually(t, func() bool {
				calls, err := b.db.ListCalls(ctx, store.CallFilter{Limit: 50})
				for _, c := range calls {
					if err == nil && c.ChannelID == citizen {
						cur, err = b.db.GetCall(ctx, c.ID)
						return err == nil && (cur.Phase == hotline.PhaseTalking && cur.SnoopID != "" || !cur.Phase.Live())
					}
				}
				return false
			}, 10*time.Second, 5*time.Millisecond, "the call of %s talking", citizen)
		}
		e, err := ari.DecodeEvent([]byte(strings.NewReplacer("$CITIZEN", cur.ChannelID, "$AGENT", agentLeg(cur),
			"$SNOOP", cur.SnoopID, "$CALL", cur.ID).Replace(string(frame))))
		if err != nil || e == nil {
			return
		}
		b.cli.Dispatcher().Dispatch(e)
	})
}
