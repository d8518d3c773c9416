package app

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
)

// answeredCall places a call from caller that 1001 answers and waits until
// it is stored completed.
func answeredCall(t *testing.T, b *runBundle, fake *aritest.Server, caller string) hotline.Call {
	t.Helper()
	_, err := fake.PlaceCall(aritest.InboundCall{Caller: caller, Dialed: "12345"})
	require.NoError(t, err)
	var calls []hotline.Call
	require.Eventually(t, func() bool {
		calls, err = b.svc.DB.ListCalls(context.Background(), store.CallFilter{State: hotline.CallCompleted})
		return err == nil && len(calls) == 1
	}, 10*time.Second, 20*time.Millisecond)
	return calls[0]
}

func TestPromiseIsRecordedExtendedAndFulfilledByAReplyCall(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 400 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	fake.SetTrunkDefault("trunk", aritest.Behavior{AnswerAfter: 30 * time.Millisecond})
	cfg := testConfig(t, fake.ARIURL())
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "s01", Name: "督察", Endpoint: "PJSIP/2001", Role: "supervisor"})
	fake.SetEndpoint("PJSIP/2001", aritest.Behavior{Offline: true})
	b := startService(t, cfg)
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))

	calls := []hotline.Call{answeredCall(t, b, fake, "13800138000")}

	// The agent promises a reply within 2 working days.
	agent := b.tokenFor(t, "1001", hotline.RoleAgent)
	status, body := postJSONAs(t, b.base+"/api/v1/promises", agent,
		`{"call_id":"`+calls[0].ID+`","summary":"社保转移进度","due_in_working_days":2}`)
	require.Equal(t, http.StatusCreated, status, body)
	id := strconv.FormatInt(int64(body["id"].(float64)), 10)
	require.Equal(t, "1001", body["agent_id"], "owned by the call's first-responsible agent")
	require.Equal(t, "138****8000", body["number"], "masked in answers")

	// Only a supervisor may move the deadline; the original stays on record.
	later := time.Now().Add(5 * 24 * time.Hour).UTC().Format(time.RFC3339)
	status, body = postJSONAs(t, b.base+"/api/v1/promises/"+id+"/extend", agent, `{"deadline":"`+later+`","reason":"材料未齐"}`)
	require.Equal(t, http.StatusForbidden, status, body)
	status, body = b.postJSON(t, b.base+"/api/v1/promises/"+id+"/extend", `{"deadline":"`+later+`","reason":"材料未齐"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.NotEqual(t, body["deadline"], body["original_deadline"])

	// The reply call: owner first, reply greeting, bridge, recording as evidence.
	status, body = postJSONAs(t, b.base+"/api/v1/promises/"+id+"/reply-call", agent, `{}`)
	require.Equal(t, http.StatusAccepted, status, body)
	var p hotline.Promise
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/promises/"+id, &p)
		return p.State == hotline.PromiseFulfilled
	}, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, "reply_call", p.FulfilledHow)
	require.NotEmpty(t, p.Evidence)
	requireArchived(t, b, p.Evidence)
	broken, err := b.svc.DB.VerifyAudit(context.Background())
	require.NoError(t, err)
	require.Zero(t, broken)
}

// ?state=overdue lists the unfinished promises past their deadline,
// escalated or not (it listed nothing while "overdue" was taken for a
// stored state nothing wrote), and ?state=unfinished every promise still
// owed; the console asks with these names.
func TestPromiseStateFiltersMeanWhatTheySay(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	b := startService(t, testConfig(t, fake.ARIURL()))
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))
	calls := []hotline.Call{answeredCall(t, b, fake, "13800138000")}

	agent := b.tokenFor(t, "1001", hotline.RoleAgent)
	create := func(deadline time.Time) float64 {
		status, body := postJSONAs(t, b.base+"/api/v1/promises", agent, `{"call_id":"`+calls[0].ID+`","summary":"社保转移进度","deadline":"`+
			deadline.UTC().Format(time.RFC3339Nano)+`"}`)
		require.Equal(t, http.StatusCreated, status, body)
		return body["id"].(float64)
	}
	soon := create(time.Now().Add(300 * time.Millisecond))
	later := create(time.Now().Add(24 * time.Hour))
	ids := func(query string) []float64 {
		var list struct{ Promises []map[string]any }
		require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/promises?"+query, &list), query)
		out := []float64{}
		for _, p := range list.Promises {
			out = append(out, p["id"].(float64))
		}
		return out
	}
	require.Empty(t, ids("state=overdue"))
	require.Eventually(t, func() bool { return len(ids("state=overdue")) == 1 }, 5*time.Second, 20*time.Millisecond)
	require.Equal(t, []float64{soon}, ids("state=overdue"))
	require.Equal(t, []float64{soon}, ids("overdue=true"), "the flag and the state agree")
	require.Equal(t, []float64{soon, later}, ids("state=unfinished"))
}

// A stop does not wait on a reply call whose parties talk on past the
// drain timeout: the call runs on the lease's context, which the stop
// cancels; it is hung up and settled like one that ended (its outcome
// audited; a connected call fulfils the promise, any other leaves the
// reply owed).
func TestStopEndsAReplyCallInProgressAndSettlesIt(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	fake.SetTrunkDefault("trunk", aritest.Behavior{AnswerAfter: 30 * time.Millisecond}) // the citizen never hangs up
	cfg := testConfig(t, fake.ARIURL())
	cfg.Calls.DrainTimeout = time.Second
	b := startService(t, cfg)
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))
	call := answeredCall(t, b, fake, "13800138000")

	agent := b.tokenFor(t, "1001", hotline.RoleAgent)
	status, body := postJSONAs(t, b.base+"/api/v1/promises", agent, `{"call_id":"`+call.ID+`","summary":"社保转移进度","due_in_working_days":2}`)
	require.Equal(t, http.StatusCreated, status, body)
	id := int64(body["id"].(float64))
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond}) // the agent talks on too
	status, body = postJSONAs(t, b.base+"/api/v1/promises/"+strconv.FormatInt(id, 10)+"/reply-call", agent, `{}`)
	require.Equal(t, http.StatusAccepted, status, body)
	replyBridged := func() bool {
		for _, br := range fake.Bridges() {
			if strings.HasPrefix(br.ID, "rp") && len(br.Channels) == 2 {
				return true
			}
		}
		return false
	}
	require.Eventually(t, replyBridged, 15*time.Second, 20*time.Millisecond, "the agent and the citizen talk")

	stopped := make(chan error, 1)
	go func() { stopped <- b.stop() }()
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the stop waits on the reply call")
	}
	require.False(t, replyBridged(), "the reply call was hung up")

	db, err := store.Open(context.Background(), cfg.Store, nil)
	require.NoError(t, err)
	defer db.Close()
	entries, err := db.ListAudit(context.Background(), store.AuditFilter{Action: "promise.reply_call"})
	require.NoError(t, err)
	var settled []hotline.AuditEntry
	for _, e := range entries {
		if e.Actor == systemActor.ID { // the service's record of the call, not the request's
			settled = append(settled, e)
		}
	}
	require.Len(t, settled, 1, "the attempt is settled: its outcome is on record")
	p, err := db.GetPromise(context.Background(), id)
	require.NoError(t, err)
	if settled[0].Result == string(hotline.AttemptConnected) {
		require.Equal(t, hotline.PromiseFulfilled, p.State)
	} else {
		require.Equal(t, hotline.PromiseOpen, p.State, "the reply is still owed: %s", settled[0].Result)
	}
}
