package ari_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
	"hotline/store"
)

// A supervisor listens, whispers or barges on their own softphone: a snoop
// on the right channel with the right directions, bridged with the
// supervisor's phone once it answers; either side hanging up ends it
// cleanly (nothing left in Asterisk) and the monitoring is on record.
func TestMonitoring(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		mode           hotline.MonitorMode
		supervisor     aritest.Behavior
		citizenHangs   bool // the citizen hangs up while the supervisor listens
		endInConsole   bool // a supervisor ends it from the console
		wantSnoopAgent bool // snoop on the agent's channel (else the citizen's)
		wantWhisper    string
		wantEnd        hotline.MonitorEnd
	}{
		{"listen until the supervisor hangs up", hotline.MonitorListen,
			aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 300 * time.Millisecond}, false, false, false, "none", hotline.MonitorSupervisorLeft},
		{"whisper to the agent until the citizen hangs up", hotline.MonitorWhisper,
			aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, true, false, true, "out", hotline.MonitorCallEnded},
		{"barge in until the citizen hangs up", hotline.MonitorBarge,
			aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, true, false, false, "both", hotline.MonitorCallEnded},
		{"listen until ended in the console", hotline.MonitorListen,
			aritest.Behavior{AnswerAfter: 20 * time.Millisecond}, false, true, false, "none", hotline.MonitorStopped},
		{"the supervisor's phone does not answer", hotline.MonitorListen,
			aritest.Behavior{NoAnswer: true}, false, false, false, "none", hotline.MonitorNotAnswered},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupCalls(t, hari.CallConfig{},
				agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: time.Minute}},
				agentSpec{id: "2001", role: hotline.RoleSupervisor, behavior: tc.supervisor})
			changes := make(chan hotline.MonitorSession, 8)
			mon := hari.NewMonitors(b.calls, b.db, time.Second)
			mon.OnChange = func(m hotline.MonitorSession) { changes <- m }
			ctx := context.Background()
			mon.Start(ctx)
			t.Cleanup(mon.Stop)

			citizen, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
			require.NoError(t, err)
			var started hotline.MonitorSession
			require.Eventually(t, func() bool { // until agent 1001 talks with the citizen
				calls, err := b.db.ListCalls(ctx, store.CallFilter{Limit: 1})
				if err != nil || len(calls) == 0 {
					return false
				}
				started, err = mon.Monitor(ctx, calls[0].ID, "2001", tc.mode)
				return err == nil
			}, 5*time.Second, 20*time.Millisecond)
			require.Equal(t, "1001", started.AgentID)
			require.Equal(t, started.ID, (<-changes).ID, "the start is told")

			snoop := findMonitorSnoop(t, b.fake)
			require.Equal(t, "both", snoop.Spy)
			require.Equal(t, tc.wantWhisper, snoop.Whisper)
			require.Equal(t, []string{"monitor", started.CallID}, snoop.Args)
			target := citizen
			if tc.wantSnoopAgent {
				target = findChannel(t, b.fake, "PJSIP/1001").ID
			}
			require.Equal(t, "Snoop/"+target, snoop.Endpoint)

			if tc.wantEnd != hotline.MonitorNotAnswered {
				connected := <-changes
				require.False(t, connected.ConnectedAt.IsZero(), "the supervisor's phone answered")
				phone := findChannel(t, b.fake, "PJSIP/2001")
				var bridged bool
				for _, br := range b.fake.Bridges() {
					bridged = bridged || slices.Contains(br.Channels, phone.ID) && slices.Contains(br.Channels, snoop.ID)
				}
				require.True(t, bridged, "the supervisor's phone and the snoop share a bridge")
				require.Equal(t, []int64{started.ID}, monitorIDs(mon.Active()), "going on")
				if tc.citizenHangs {
					require.NoError(t, b.fake.Hangup(citizen))
				}
				if tc.endInConsole {
					require.NoError(t, mon.End(started.ID))
				}
			}
			ended := <-changes
			require.Equal(t, tc.wantEnd, ended.EndReason)
			require.Eventually(t, func() bool { return len(mon.Active()) == 0 }, 5*time.Second, 10*time.Millisecond)
			require.Equal(t, hotline.KindNotFound, hotline.KindOf(mon.End(started.ID)), "an ended monitoring ends no more")

			stored, err := b.db.CallMonitors(ctx, started.CallID)
			require.NoError(t, err)
			require.Len(t, stored, 1)
			require.Equal(t, tc.mode, stored[0].Mode)
			require.Equal(t, "2001", stored[0].SupervisorID)
			require.Equal(t, tc.wantEnd, stored[0].EndReason)
			require.Equal(t, tc.wantEnd != hotline.MonitorNotAnswered, !stored[0].ConnectedAt.IsZero())
			for _, ch := range b.fake.Channels() {
				require.False(t, ch.ID == snoop.ID || ch.Endpoint == "PJSIP/2001", "%s left behind", ch.Endpoint)
			}
			for _, br := range b.fake.Bridges() {
				require.False(t, strings.HasSuffix(br.ID, "-brg"), "the monitoring bridge %s is removed", br.ID)
			}
		})
	}
}

// Monitoring needs an agent on the call and a softphone of the supervisor.
func TestMonitoringRefusals(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: aritest.Behavior{NoAnswer: true}})
	mon := hari.NewMonitors(b.calls, b.db, time.Second)
	ctx := context.Background()
	mon.Start(ctx)
	t.Cleanup(mon.Stop)
	_, err := mon.Monitor(ctx, "no-such-call", "1001", hotline.MonitorListen)
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err))
	_, err = b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	var callID string
	require.Eventually(t, func() bool {
		calls, err := b.db.ListCalls(ctx, store.CallFilter{Limit: 1})
		if err == nil && len(calls) == 1 {
			callID = calls[0].ID
		}
		return callID != ""
	}, 5*time.Second, 20*time.Millisecond)
	_, err = mon.Monitor(ctx, callID, "9999", hotline.MonitorListen)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.Contains(t, hotline.MessageOf(err), "no softphone")
	_, err = mon.Monitor(ctx, callID, "1001", hotline.MonitorBarge)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.Contains(t, hotline.MessageOf(err), "no agent is talking")
	_, err = mon.Monitor(ctx, callID, "1001", "spy")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
}

func findChannel(t *testing.T, fake *aritest.Server, endpointPrefix string) aritest.ChannelInfo {
	t.Helper()
	for _, ch := range fake.Channels() {
		if strings.HasPrefix(ch.Endpoint, endpointPrefix) {
			return ch
		}
	}
	t.Fatalf("no channel of %s", endpointPrefix)
	return aritest.ChannelInfo{}
}

// findMonitorSnoop finds the monitoring's snoop (the call's own recording
// snoops on the citizen too).
func findMonitorSnoop(t *testing.T, fake *aritest.Server) aritest.ChannelInfo {
	t.Helper()
	for _, ch := range fake.Channels() {
		if strings.HasPrefix(ch.Endpoint, "Snoop/") && len(ch.Args) > 0 && ch.Args[0] == "monitor" {
			return ch
		}
	}
	t.Fatal("no monitoring snoop")
	return aritest.ChannelInfo{}
}

func monitorIDs(list []hotline.MonitorSession) []int64 {
	var out []int64
	for _, m := range list {
		out = append(out, m.ID)
	}
	return out
}
