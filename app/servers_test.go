package app

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	cari "github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari"
	"hotline/ari/aritest"
	"hotline/store"
)

// twoServers is testConfig with two fake Asterisk servers: a (agents 1001
// and 1002, trunk trunk-a) and b (agent 2001, trunk trunk-b). Each fake
// knows only its own trunk, so a callback dialed through the wrong server
// fails.
func twoServerConfig(t *testing.T, a, b *aritest.Server) Config {
	cfg := testConfig(t, a.ARIURL())
	cfg.Servers = []ServerConfig{
		{Name: "a", ARI: ari.Config{URL: a.ARIURL()}, Trunk: "PJSIP/%s@trunk-a"},
		{Name: "b", ARI: ari.Config{URL: b.ARIURL()}, Trunk: "PJSIP/%s@trunk-b"},
	}
	cfg.Agents = []AgentConfig{
		{ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001", Server: "a"},
		{ID: "1002", Name: "王芳", Endpoint: "PJSIP/1002", Server: "a"},
		{ID: "2001", Name: "李娜", Endpoint: "PJSIP/2001", Server: "b"},
	}
	a.SetTrunkDefault("trunk-a", aritest.Behavior{AnswerAfter: 30 * time.Millisecond})
	b.SetTrunkDefault("trunk-b", aritest.Behavior{AnswerAfter: 30 * time.Millisecond})
	return cfg
}

// twoFakes starts the two fakes of twoServerConfig: 1001 and 2001 answer
// and talk for talk, 1002 is offline.
func twoFakes(t *testing.T, talk time.Duration) (a, b *aritest.Server, cfg Config) {
	opts := aritest.Options{DefaultSoundDuration: 20 * time.Millisecond}
	a, b = aritest.NewTest(t, opts), aritest.NewTest(t, opts)
	a.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: talk})
	a.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	b.SetEndpoint("PJSIP/2001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: talk})
	return a, b, twoServerConfig(t, a, b)
}

// startDrivingBoth starts one instance on cfg and waits until it drives
// both servers.
func startDrivingBoth(t *testing.T, cfg Config) *runBundle {
	t.Helper()
	b := startService(t, cfg)
	for _, s := range b.svc.Servers {
		require.Eventually(t, s.Lease().Held, 10*time.Second, 10*time.Millisecond)
		require.NoError(t, s.ARI.WaitConnected(withDeadline(t, 10*time.Second)))
	}
	return b
}

// answeredCalls waits until n calls are answered, and returns them.
func answeredCalls(t *testing.T, db *store.DB, n int) []hotline.Call {
	t.Helper()
	var list []hotline.Call
	require.Eventually(t, func() bool {
		var err error
		list, err = db.ListCalls(context.Background(), store.CallFilter{State: hotline.CallAnswered})
		return err == nil && len(list) == n
	}, 10*time.Second, 20*time.Millisecond, "%d calls answered", n)
	return list
}

// callOf waits for the call of the citizen's channel to reach a final
// state. Two fakes number their channels alike: the caller tells them apart.
func callOf(t *testing.T, db *store.DB, channel, caller string) hotline.Call {
	t.Helper()
	var got hotline.Call
	require.Eventually(t, func() bool {
		list, err := db.ListCalls(context.Background(), store.CallFilter{Limit: 100})
		if err != nil {
			return false
		}
		for _, c := range list {
			if c.ChannelID == channel && c.CallerNumber == caller && !c.EndedAt.IsZero() {
				got, err = db.GetCall(context.Background(), c.ID)
				return err == nil
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond, "call of channel %s ended", channel)
	return got
}

func TestEachServerRingsItsOwnAgentsAndCallbacksGoThroughTheAgentsServer(t *testing.T) {
	t.Parallel()
	fa, fb, cfg := twoFakes(t, 300*time.Millisecond)
	b := startService(t, cfg)
	require.Len(t, b.svc.Servers, 2)
	for _, s := range b.svc.Servers {
		require.Eventually(t, s.Lease().Held, 10*time.Second, 10*time.Millisecond, "one instance alone drives both servers")
		require.NoError(t, s.ARI.WaitConnected(withDeadline(t, 10*time.Second)))
	}
	require.NotEqual(t, b.svc.Servers[0].Config.Lease, b.svc.Servers[1].Config.Lease)
	status, body := readyzOf(t, b)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "active", body.Role)

	// Each server's call is answered by its own agent.
	chA, err := fa.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	chB, err := fb.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
	require.NoError(t, err)
	require.Equal(t, "1001", callOf(t, b.svc.DB, chA, "13800138000").FirstResponsibleAgent)
	require.Equal(t, "2001", callOf(t, b.svc.DB, chB, "13900139000").FirstResponsibleAgent)

	// With server a's agents away, its call is missed: server b's free
	// agent is never rung for it.
	status, _ = b.postJSON(t, b.base+"/api/v1/agents/1001/pause", `{"reason":"培训"}`)
	require.Equal(t, http.StatusOK, status)
	a2001, _ := b.svc.Servers[1].Roster.Get("2001")
	require.Equal(t, hotline.AgentAvailable, a2001.State)
	missedCh, err := fa.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	missed := callOf(t, b.svc.DB, missedCh, "13800138000")
	require.Equal(t, hotline.CallMissed, missed.State)
	for _, l := range missed.Legs {
		require.NotEqual(t, "2001", l.AgentID, "an agent of server b rang for server a's call")
	}

	// The citizen's callback belongs to 1001, who answered them: it waits
	// for 1001 (2001 on the other server does not take it) and then goes
	// out through server a's trunk.
	var list struct{ Callbacks []hotline.CallbackTask }
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/callbacks?state=pending", &list)
		return len(list.Callbacks) == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "1001", list.Callbacks[0].AgentID)
	// Long enough a talk for a callback that counts (callbacks.min_talk).
	fa.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 2 * time.Second})
	status, _ = b.postJSON(t, b.base+"/api/v1/agents/1001/resume", `{}`)
	require.Equal(t, http.StatusOK, status)
	var task hotline.CallbackTask
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/callbacks/"+strconv.FormatInt(list.Callbacks[0].ID, 10), &task)
		return task.State == hotline.CallbackConnected
	}, 15*time.Second, 20*time.Millisecond)
	require.Len(t, task.AttemptLog, 1, "dialed once")
	require.Equal(t, "1001", task.AttemptLog[0].AgentID)
	requireArchived(t, b, task.AttemptLog[0].RecordingName)
	requireArchived(t, b, callOf(t, b.svc.DB, chB, "13900139000").RecordingName)

	// The console lists every server's agents.
	var agents struct{ Agents []hotline.Agent }
	require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/agents", &agents))
	require.Len(t, agents.Agents, 3)
}

// startTwoInstances starts two instances on cfg together, on a schema
// made once (two instances migrating one new database at the same moment
// is another matter).
func startTwoInstances(t *testing.T, cfg Config) []*runBundle {
	t.Helper()
	db, err := store.Open(context.Background(), cfg.Store, nil)
	require.NoError(t, err)
	_, err = db.Migrate(context.Background())
	require.NoError(t, err)
	require.NoError(t, db.Close())
	var wg sync.WaitGroup
	inst := make([]*runBundle, 2)
	for i := range inst {
		wg.Go(func() { inst[i] = startService(t, cfg) })
	}
	wg.Wait()
	return inst
}

func TestTwoInstancesShareTwoServersAndOneTakesOverTheOthers(t *testing.T) {
	t.Parallel()
	fa, fb, cfg := twoFakes(t, 100*time.Millisecond)
	// A busy instance leaves a free server alone for two renewals: long
	// enough for the other instance to start.
	cfg.Lease.Renew, cfg.Lease.TTL = time.Second, 3*time.Second

	// Started together: each takes one server, since a busy instance
	// leaves a free server to an idle one.
	inst := startTwoInstances(t, cfg)
	holds := func(b *runBundle) (n int) {
		for _, s := range b.svc.Servers {
			if s.Lease().Held() {
				n++
			}
		}
		return n
	}
	require.Eventually(t, func() bool { return holds(inst[0]) == 1 && holds(inst[1]) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the servers are spread over the instances")
	for _, b := range inst {
		require.Eventually(t, func() bool {
			_, body := readyzOf(t, b)
			return body.Role == "active" && regexp.MustCompile(`^drives [ab]; [ab]: instance .* holds the lease`).MatchString(body.Detail)
		}, 5*time.Second, 20*time.Millisecond, "/readyz says which server each drives and who drives the other")
	}
	ownerOf := func(server int) *runBundle {
		for _, b := range inst {
			if b.svc.Servers[server].Lease().Held() {
				return b
			}
		}
		return nil
	}
	bOwner := ownerOf(1)
	other := inst[0]
	if other == bOwner {
		other = inst[1]
	}
	chB, err := fb.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
	require.NoError(t, err)
	require.Equal(t, "2001", callOf(t, other.svc.DB, chB, "13900139000").FirstResponsibleAgent, "either instance reads the shared call log")

	// The instance that drives b stops: the other takes b over and drives both.
	start := time.Now()
	require.NoError(t, bOwner.stop())
	require.Eventually(t, func() bool { return holds(other) == 2 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, other.svc.Servers[1].ARI.WaitConnected(withDeadline(t, 10*time.Second)))
	took := time.Since(start)
	t.Logf("server b taken over %s after its instance stopped", took.Round(time.Millisecond))
	require.Less(t, took, 10*time.Second)
	chB2, err := fb.PlaceCall(aritest.InboundCall{Caller: "13900139001", Dialed: "12345"})
	require.NoError(t, err)
	require.Equal(t, hotline.CallCompleted, callOf(t, other.svc.DB, chB2, "13900139001").State)
	chA, err := fa.PlaceCall(aritest.InboundCall{Caller: "13800138001", Dialed: "12345"})
	require.NoError(t, err)
	require.Equal(t, "1001", callOf(t, other.svc.DB, chA, "13800138001").FirstResponsibleAgent)
}

func TestAServersReconnectionLeavesTheOtherServersCallsAlone(t *testing.T) {
	t.Parallel()
	fa, fb, cfg := twoFakes(t, 6*time.Second)
	b := startDrivingBoth(t, cfg)
	ctx := context.Background()
	ch, err := fa.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	var talking hotline.Call
	require.Eventually(t, func() bool {
		list, err := b.svc.DB.ListCalls(ctx, store.CallFilter{State: hotline.CallAnswered})
		if err != nil || len(list) != 1 {
			return false
		}
		talking, err = b.svc.DB.GetCall(ctx, list[0].ID)
		return err == nil && talking.Phase == hotline.PhaseTalking
	}, 10*time.Second, 20*time.Millisecond, "the call on a is answered and talking")
	// What a's call is, in the database and in a's Asterisk, while b
	// reconnects: its row and legs, its bridge with the citizen and the
	// agent, its recording going on.
	bridges, recordings := fa.Bridges(), fa.LiveRecordings()
	require.True(t, slices.ContainsFunc(bridges, func(br aritest.BridgeInfo) bool {
		return slices.Contains(br.Channels, ch) && len(br.Channels) == 2
	}), "the citizen and the agent are bridged: %+v", bridges)
	require.Equal(t, []string{talking.RecordingName}, recordings)

	// Server b's connection drops and comes back: it reconciles with its
	// Asterisk, where a's call does not exist. A second pass waits for the
	// reconnection's own and must find nothing of b's to repair either.
	fb.DropWebsockets()
	require.Eventually(t, func() bool { return b.svc.Servers[1].ARI.Ready() == nil }, 10*time.Second, 10*time.Millisecond)
	repaired, err := b.svc.Servers[1].Calls.Reconcile(ctx)
	require.NoError(t, err)
	require.Empty(t, repaired, "b has nothing to repair: a's call is not b's")

	after, err := b.svc.DB.GetCall(ctx, talking.ID)
	require.NoError(t, err)
	require.Equal(t, talking, after, "a's call row and legs are untouched")
	require.Equal(t, bridges, fa.Bridges(), "a's bridges are untouched")
	require.Equal(t, recordings, fa.LiveRecordings(), "a's recording goes on")
	require.True(t, slices.ContainsFunc(fa.Channels(), func(c aritest.ChannelInfo) bool { return c.ID == ch }), "the citizen is still on the line")

	c := callOf(t, b.svc.DB, ch, "13800138000")
	require.Equal(t, hotline.CallCompleted, c.State, "a's call ends as it would have")
	require.Equal(t, "1001", c.FirstResponsibleAgent)
	require.Regexp(t, `^ca_`, c.ID, "a's calls are named after it")
	requireArchived(t, b, c.RecordingName)
}

// An instance that died while supervisors listened in left their
// monitorings open (rows, bridges). Each server's reconciliation ends
// those of its own calls, and only those: the other server's stay until
// that server reconciles.
func TestEachServersReconciliationEndsTheMonitoringsADeadInstanceLeftOfItsCalls(t *testing.T) {
	t.Parallel()
	fa, fb, cfg := twoFakes(t, time.Minute)
	b := startDrivingBoth(t, cfg)
	_, err := fa.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	_, err = fb.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
	require.NoError(t, err)
	ctx := context.Background()
	both := answeredCalls(t, b.svc.DB, 2)
	onA, onB := both[0], both[1]
	if onA.CallerNumber != "13800138000" {
		onA, onB = onB, onA
	}

	// What the dead instance left: a monitoring of each call on record
	// (agent 1002 listening in), and on server a the bridge of one.
	left := map[string]int64{}
	for _, c := range []hotline.Call{onA, onB} {
		id, err := b.svc.DB.StartMonitor(ctx, hotline.MonitorSession{CallID: c.ID, SupervisorID: "1002", AgentID: c.FirstResponsibleAgent,
			Mode: hotline.MonitorListen, RequestedAt: time.Now()})
		require.NoError(t, err)
		left[c.ID] = id
	}
	const deadBridge = "mx00000007-brg"
	_, err = b.svc.Servers[0].ARI.ARI().Bridge().Create(cari.NewKey(cari.BridgeKey, deadBridge), "mixing", deadBridge)
	require.NoError(t, err)
	monitoring := func(callID string) hotline.MonitorSession {
		list, err := b.svc.DB.CallMonitors(ctx, callID)
		require.NoError(t, err)
		require.Len(t, list, 1)
		return list[0]
	}
	hasBridge := func(f *aritest.Server, id string) bool {
		return slices.ContainsFunc(f.Bridges(), func(br aritest.BridgeInfo) bool { return br.ID == id })
	}
	require.True(t, hasBridge(fa, deadBridge))

	// Server a reconnects and reconciles: a's monitoring ends, b's stays.
	fa.DropWebsockets()
	require.Eventually(t, func() bool { return !monitoring(onA.ID).EndedAt.IsZero() }, 10*time.Second, 10*time.Millisecond,
		"server a's reconciliation ends the monitoring of its call")
	require.Equal(t, hotline.MonitorServiceStopping, monitoring(onA.ID).EndReason)
	require.Eventually(t, func() bool { return !hasBridge(fa, deadBridge) }, 5*time.Second, 10*time.Millisecond, "its bridge is removed")
	require.True(t, monitoring(onB.ID).EndedAt.IsZero(), "server b's monitoring is not server a's to end")

	// Server b reconnects: its own is ended too.
	fb.DropWebsockets()
	require.Eventually(t, func() bool { return !monitoring(onB.ID).EndedAt.IsZero() }, 10*time.Second, 10*time.Millisecond,
		"server b's reconciliation ends the monitoring of its call")
	require.Equal(t, left[onB.ID], monitoring(onB.ID).ID)
	answered, err := b.svc.DB.ListCalls(ctx, store.CallFilter{State: hotline.CallAnswered})
	require.NoError(t, err)
	require.Len(t, answered, 2, "the calls themselves go on")
}

// A referral to an agent whose phone is on another server is refused,
// saying why and what to do instead; one to an agent of the call's own
// server is the call's business as with one server.
func TestAReferralToAnotherServersAgentIsRefusedSayingWhy(t *testing.T) {
	t.Parallel()
	fa, _, cfg := twoFakes(t, time.Minute)
	b := startDrivingBoth(t, cfg)
	_, err := fa.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	id := answeredCalls(t, b.svc.DB, 1)[0].ID
	agent := b.tokenFor(t, "1001", hotline.RoleAgent)

	status, body := postJSONAs(t, b.base+"/api/v1/calls/"+id+"/referrals", agent, `{"to_agent": "2001"}`)
	require.Equal(t, http.StatusConflict, status, "%v", body)
	require.Contains(t, body["error"], "2001's phone is on Asterisk server b and call "+id+" is on server a", "%v", body)
	require.Contains(t, body["error"], "refer to one of its agents or to a department", "%v", body)

	// 1002 is a's: the referral is a's own business (refused here only
	// because 1002 is offline).
	_, body = postJSONAs(t, b.base+"/api/v1/calls/"+id+"/referrals", agent, `{"to_agent": "1002"}`)
	require.Equal(t, "agent 1002 is not available", body["error"])
}
