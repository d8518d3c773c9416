package ari_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
	"hotline/store"
)

// callBundle runs the call flow against a fake Asterisk with a real SQLite
// store.
type callBundle struct {
	fake   *aritest.Server
	db     *store.DB
	roster *hotline.Roster
	calls  *hari.Calls
	cli    *hari.Client
	reg    *prometheus.Registry
	ended  chan hotline.Call
}

type agentSpec struct {
	id         string
	behavior   aritest.Behavior
	state      hotline.AgentState
	role       hotline.Role
	department string
}

// flowOptions shape a call-flow test beyond the call config.
type flowOptions struct {
	hours hari.Hours       // nil: always open
	now   func() time.Time // nil: time.Now
	fake  aritest.Options  // the fake Asterisk's; sounds play 20 ms unless set
	// supervisors has agent-paused messages pushed to supervisors' phones.
	supervisors bool
	queue       *missedQueue // the callback queue; nil: none
	// wrapStore, when set, wraps the store the call flow writes to.
	wrapStore func(hari.CallStore) hari.CallStore
}

func setupCalls(t testing.TB, cfg hari.CallConfig, agents ...agentSpec) *callBundle {
	t.Helper()
	return setupFlow(t, cfg, flowOptions{}, agents...)
}

func setupFlow(t testing.TB, cfg hari.CallConfig, opts flowOptions, agents ...agentSpec) *callBundle {
	t.Helper()
	if opts.now == nil {
		opts.now = time.Now
	}
	ctx := context.Background()
	if opts.fake.DefaultSoundDuration == 0 {
		opts.fake.DefaultSoundDuration = 20 * time.Millisecond
	}
	fake := aritest.NewTest(t, opts.fake)
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "hotline.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Migrate(ctx)
	require.NoError(t, err)

	var list []hotline.Agent
	for _, a := range agents {
		state := a.state
		if state == "" {
			state = hotline.AgentAvailable
		}
		role := a.role
		if role == "" {
			role = hotline.RoleAgent
		}
		ag := hotline.Agent{ID: a.id, Name: "agent " + a.id, Endpoint: "PJSIP/" + a.id, Role: role, State: state, Department: a.department}
		require.NoError(t, db.UpsertAgent(ctx, ag))
		list = append(list, ag)
		fake.SetEndpoint(ag.Endpoint, a.behavior)
	}
	roster := hotline.NewRoster(opts.now, list)
	reg := prometheus.NewRegistry()
	cli, err := hari.New(fastConfig(fake.ARIURL()), nil, reg)
	require.NoError(t, err)
	cfg = withFlowDefaults(cfg)
	var callStore hari.CallStore = db
	if opts.wrapStore != nil {
		callStore = opts.wrapStore(db)
	}
	calls, err := hari.NewCalls(cli, callStore, roster, opts.hours, cfg, nil, opts.now, reg)
	require.NoError(t, err)
	b := &callBundle{fake: fake, db: db, roster: roster, calls: calls, cli: cli, reg: reg, ended: make(chan hotline.Call, 16)}
	calls.OnEnd = func(c hotline.Call) { b.ended <- c }
	if opts.supervisors {
		calls.Supervisors = hari.NewMessenger(cli, roster, "sip:hotline@127.0.0.1", nil)
	}
	if opts.queue != nil {
		calls.Callbacks = opts.queue
	}
	calls.Start(ctx)
	cli.Start(ctx)
	t.Cleanup(func() { cli.Stop(); calls.Stop() })
	require.NoError(t, cli.WaitConnected(withTimeout(t, 5*time.Second)))
	require.NoError(t, fake.WaitRegistered(withTimeout(t, 5*time.Second), "hotline"))
	return b
}

// withFlowDefaults fills in the test timings cfg leaves out.
func withFlowDefaults(cfg hari.CallConfig) hari.CallConfig {
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = 2 * time.Second
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 5 * time.Second
	}
	if cfg.WrapUp == 0 {
		cfg.WrapUp = time.Hour // keep agents out of the way unless a test wants them back
	}
	if cfg.SurveyTimeout == 0 {
		cfg.SurveyTimeout = 200 * time.Millisecond
	}
	if cfg.PromptTimeout == 0 {
		cfg.PromptTimeout = 2 * time.Second
	}
	return cfg
}

func withTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (b *callBundle) waitEnded(t *testing.T) hotline.Call {
	t.Helper()
	select {
	case c := <-b.ended:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("call did not end")
		return hotline.Call{}
	}
}

// stored reads the call as the store has it, legs included.
func (b *callBundle) stored(t *testing.T, id string) hotline.Call {
	t.Helper()
	c, err := b.db.GetCall(context.Background(), id)
	require.NoError(t, err)
	return c
}

func legOutcomes(c hotline.Call) map[string]hotline.LegOutcome {
	out := map[string]hotline.LegOutcome{}
	for _, l := range c.Legs {
		out[l.AgentID] = l.Outcome
	}
	return out
}

func TestCallAnsweredByTheOnlyAgent(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 50 * time.Millisecond, HangupAfter: 300 * time.Millisecond}})
	chID, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)

	ended := b.waitEnded(t)
	got := b.stored(t, ended.ID)
	require.Equal(t, hotline.CallCompleted, got.State)
	require.Equal(t, "1001", got.FirstResponsibleAgent)
	require.Equal(t, chID, got.ChannelID)
	require.Equal(t, "13800138000", got.CallerNumber)
	require.Equal(t, "12345", got.DialedNumber)
	require.False(t, got.AnsweredAt.IsZero())
	require.False(t, got.EndedAt.IsZero())
	require.GreaterOrEqual(t, got.TalkSeconds(), 0.2)
	require.Equal(t, map[string]hotline.LegOutcome{"1001": hotline.LegCompleted}, legOutcomes(got))
	require.Equal(t, got.ID, got.RecordingName)
	require.Eventually(t, func() bool { return contains(b.fake.StoredRecordings(), got.RecordingName) }, 5*time.Second, 10*time.Millisecond,
		"the bridge recording is stopped and stored")
	a, _ := b.roster.Get("1001")
	require.Equal(t, hotline.AgentWrapUp, a.State)
	require.Empty(t, b.fake.Channels(), "no channel left behind")

	// The time spent on each event is observed by type: the citizen's
	// StasisStart (no call yet) and the agent leg's (in the call).
	require.Eventually(t, func() bool {
		families, err := b.reg.Gather()
		require.NoError(t, err)
		return histogramCount(families, "hotline_ari_event_handling_seconds", "StasisStart") >= 2 &&
			histogramCount(families, "hotline_ari_event_handling_seconds", "StasisEnd") >= 1
	}, 5*time.Second, 10*time.Millisecond)
}

func TestCallMissedOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		agents     []agentSpec
		call       aritest.InboundCall
		wantReason hotline.MissedReason
		wantLegs   map[string]hotline.LegOutcome // each agent's legs end so, or cancelled at the end
		minWait    time.Duration
		maxRings   int // legs per agent at most; 0: any
		cfg        hari.CallConfig
	}{
		{
			name:       "nobody answers within the maximum wait",
			agents:     []agentSpec{{id: "1001", behavior: aritest.Behavior{NoAnswer: true}}, {id: "1002", behavior: aritest.Behavior{NoAnswer: true}}},
			wantReason: hotline.MissedNoAnswer,
			wantLegs:   map[string]hotline.LegOutcome{"1001": hotline.LegNoAnswer, "1002": hotline.LegNoAnswer},
			minWait:    3 * time.Second,
			cfg:        hari.CallConfig{RingTimeout: 300 * time.Millisecond, MaxWait: 3 * time.Second, RingsPerAgent: 10, AutopauseAfter: -1},
		},
		{
			name:       "an agent who lets it ring out is rung twice at most; nobody else is on duty",
			agents:     []agentSpec{{id: "1001", behavior: aritest.Behavior{NoAnswer: true}}},
			wantReason: hotline.MissedNoAnswer,
			wantLegs:   map[string]hotline.LegOutcome{"1001": hotline.LegNoAnswer},
			maxRings:   2,
			minWait:    600 * time.Millisecond,
		},
		{
			name: "no agent on duty",
			agents: []agentSpec{{id: "1001", state: hotline.AgentPaused},
				{id: "1002", state: hotline.AgentOffline, behavior: aritest.Behavior{Offline: true}}},
			wantReason: hotline.MissedNoAgent,
			wantLegs:   map[string]hotline.LegOutcome{},
		},
		{
			name:       "citizen hangs up while agents ring",
			agents:     []agentSpec{{id: "1001", behavior: aritest.Behavior{NoAnswer: true}}},
			call:       aritest.InboundCall{HangupAfter: 700 * time.Millisecond},
			wantReason: hotline.MissedAbandoned,
			wantLegs:   map[string]hotline.LegOutcome{"1001": hotline.LegCancelled},
			minWait:    700 * time.Millisecond,
			cfg:        hari.CallConfig{RingTimeout: 2 * time.Second, MaxWait: 5 * time.Second},
		},
		{
			name:       "an agent who declines is not rung again; nobody else is on duty",
			agents:     []agentSpec{{id: "1001", behavior: aritest.Behavior{Busy: true}}},
			wantReason: hotline.MissedNoAnswer,
			wantLegs:   map[string]hotline.LegOutcome{"1001": hotline.LegBusy},
			maxRings:   1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			if cfg.RingTimeout == 0 {
				cfg = hari.CallConfig{RingTimeout: 300 * time.Millisecond, MaxWait: 3 * time.Second}
			}
			b := setupCalls(t, cfg, tc.agents...)
			call := tc.call
			call.Caller, call.Dialed = "13900000001", "12345"
			_, err := b.fake.PlaceCall(call)
			require.NoError(t, err)
			ended := b.waitEnded(t)
			got := b.stored(t, ended.ID)
			require.Equal(t, hotline.CallMissed, got.State)
			require.Equal(t, tc.wantReason, got.MissedReason)
			require.Empty(t, got.FirstResponsibleAgent)
			seen := map[string]bool{}
			for _, l := range got.Legs {
				want, ok := tc.wantLegs[l.AgentID]
				t.Logf("leg %s %s rung %s ended %s", l.ChannelID, l.Outcome, l.RungAt.Format("05.000"), l.EndedAt.Format("05.000"))
				require.True(t, ok, "agent %s must not be rung", l.AgentID)
				if l.Outcome == want {
					seen[l.AgentID] = true
					continue
				}
				require.Equal(t, hotline.LegCancelled, l.Outcome, "leg %s", l.ChannelID)
				require.False(t, l.EndedAt.Before(got.EndedAt.Add(-time.Second)), "only the legs ringing at the end are cancelled")
			}
			for agent := range tc.wantLegs {
				require.True(t, seen[agent], "agent %s has a leg that ended %s", agent, tc.wantLegs[agent])
			}
			if tc.maxRings > 0 {
				for agent, n := range ringsPerAgent(got) {
					require.LessOrEqual(t, n, tc.maxRings, "agent %s rung %d times", agent, n)
				}
			}
			// The service stamps the arrival when StasisStart reaches it, a few
			// milliseconds after the fake placed the call (and started the
			// citizen's hang-up timer).
			require.GreaterOrEqual(t, got.WaitSeconds(), (tc.minWait - 50*time.Millisecond).Seconds())
			require.Eventually(t, func() bool { return len(b.fake.Channels()) == 0 }, 5*time.Second, 10*time.Millisecond)
		})
	}
}

func TestOfflineAgentIsMarkedAndNextAgentRung(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{},
		agentSpec{id: "1001", behavior: aritest.Behavior{Offline: true}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 30 * time.Millisecond, HangupAfter: 100 * time.Millisecond}})
	// Presence sync at connect already saw 1001 unregistered.
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1001"); return a.State == hotline.AgentOffline }, 5*time.Second, 10*time.Millisecond)
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, "1002", got.FirstResponsibleAgent)
	require.Equal(t, map[string]hotline.LegOutcome{"1002": hotline.LegCompleted}, legOutcomes(got), "an offline agent is never rung")

	// A stale roster (the phone died without Asterisk telling us yet): the
	// originate fails with 500 Allocation failed, the agent is marked
	// offline and the next agent is rung.
	b.roster.SetState("1001", hotline.AgentAvailable, "")
	b.roster.SetState("1002", hotline.AgentAvailable, "")
	_, err = b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138001", Dialed: "12345"})
	require.NoError(t, err)
	got = b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, "1002", got.FirstResponsibleAgent)
	require.Equal(t, map[string]hotline.LegOutcome{"1001": hotline.LegFailed, "1002": hotline.LegCompleted}, legOutcomes(got))
	stored, err := b.db.GetAgent(context.Background(), "1001")
	require.NoError(t, err)
	require.Equal(t, hotline.AgentOffline, stored.State)
}

func TestSoftphoneRegistrationChangesPresence(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: time.Second}})
	require.NoError(t, b.fake.SetOnline("PJSIP/1001", false))
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1001"); return a.State == hotline.AgentOffline }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, b.fake.SetOnline("PJSIP/1001", true))
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1001"); return a.State == hotline.AgentAvailable }, 5*time.Second, 10*time.Millisecond)
}

func TestCallsSurviveWebsocketDrop(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 30 * time.Millisecond}})
	chID, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1001"); return a.State == hotline.AgentOnCall }, 5*time.Second, 10*time.Millisecond)
	// The citizen hangs up while we are disconnected: the StasisEnd is lost,
	// and the reconciliation after reconnecting must still end the call.
	b.fake.RefuseConnections(300 * time.Millisecond)
	b.fake.DropWebsockets()
	require.NoError(t, b.fake.Hangup(chID))
	got := b.stored(t, b.waitEnded(t).ID)
	require.Equal(t, hotline.CallCompleted, got.State)
	require.Equal(t, "1001", got.FirstResponsibleAgent)
	require.Eventually(t, func() bool { return len(b.fake.Channels()) == 0 }, 5*time.Second, 10*time.Millisecond)
}

// ringsPerAgent counts each agent's legs on a call.
func ringsPerAgent(c hotline.Call) map[string]int {
	out := map[string]int{}
	for _, l := range c.Legs {
		out[l.AgentID]++
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsBytes(b []byte, s string) bool { return strings.Contains(string(b), s) }

// channelOfPlayback reads the channel id out of a playback event's target_uri.
func channelOfPlayback(body []byte) string {
	var e struct {
		Playback struct {
			TargetURI string `json:"target_uri"`
		} `json:"playback"`
	}
	_ = json.Unmarshal(body, &e)
	return strings.TrimPrefix(e.Playback.TargetURI, "channel:")
}

// playedOn reports whether sound was played on target (a channel or bridge id).
func playedOn(fake *aritest.Server, target, sound string) bool {
	for _, p := range fake.Playbacks() {
		if p.Media == sound && strings.HasSuffix(p.Target, ":"+target) {
			return true
		}
	}
	return false
}

func (b *callBundle) bridgeOf(callID string) string { return callID + "-bridge" }

// waitAnswered waits until agent is on a call and returns that call's id.
func waitAnswered(t *testing.T, b *callBundle, agent string) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		for _, ch := range b.fake.Channels() {
			if len(ch.Args) == 3 && ch.Args[0] == "agent" && ch.Args[2] == agent && ch.Bridge != "" {
				id = ch.Args[1]
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	return id
}

// legChannel is the channel of agent's leg on callID.
func (b *callBundle) legChannel(t *testing.T, callID, agent string) string {
	t.Helper()
	for _, ch := range b.fake.Channels() {
		if len(ch.Args) == 3 && ch.Args[1] == callID && ch.Args[2] == agent {
			return ch.ID
		}
	}
	t.Fatalf("no leg of %s on %s", agent, callID)
	return ""
}
