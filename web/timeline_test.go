package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

type callDetailFuncs struct {
	recs     []web.CallRecording
	reviews  []hotline.Review
	monitors []hotline.MonitorSession
}

func (d callDetailFuncs) CallRecordings(context.Context, string) ([]web.CallRecording, error) {
	return d.recs, nil
}
func (d callDetailFuncs) CallReviews(context.Context, string) ([]hotline.Review, error) {
	return d.reviews, nil
}
func (d callDetailFuncs) CallMonitors(context.Context, string) ([]hotline.MonitorSession, error) {
	return d.monitors, nil
}

// A call's timeline lays out its moments in order, each leg with how it
// ended and its cause; reviews are shown to whom may read them.
func TestCallTimeline(t *testing.T) {
	t.Parallel()
	at := func(s int) time.Time { return arrived.Add(time.Duration(s) * time.Second) }
	call := hotline.Call{ID: "c1", CallerNumber: "13800138000", DialedNumber: "12345", Line: hotline.LineHotline, State: hotline.CallCompleted,
		FirstResponsibleAgent: "1001", ArrivedAt: at(0), AnsweredAt: at(12), EndedAt: at(90),
		Legs: []hotline.CallLeg{
			{AgentID: "1002", Outcome: hotline.LegBusy, Cause: 17, RungAt: at(5), EndedAt: at(6)},
			{AgentID: "1001", Outcome: hotline.LegCompleted, Cause: 16, RungAt: at(7), AnsweredAt: at(12), EndedAt: at(80)},
		},
		Referrals: []hotline.Referral{{FromAgent: "1001", ToDepartment: "不动产登记", ToAgent: "1003", Outcome: hotline.ReferralHandover,
			RequestedAt: at(40), EndedAt: at(55)}},
		Rating: &hotline.Rating{AgentID: "1001", Score: hotline.Dissatisfied, RatedAt: at(88)}}
	s, err := web.New(web.Config{}, testDeps(web.Deps{
		Calls: callReaderFunc{get: func(context.Context, string) (hotline.Call, error) { return call, nil }},
		CallDetail: callDetailFuncs{
			recs: []web.CallRecording{{Recording: hotline.Recording{Name: "c1", CallID: "c1", State: hotline.RecordingArchived}, LegalHold: true}},
			reviews: []hotline.Review{{ID: 1, CallID: "c1", AgentID: "1001", SupervisorID: "s01", Score: 70, Flags: []string{"拖延"}},
				{ID: 2, CallID: "c1", AgentID: "1002", SupervisorID: "s01", Score: 40, Flags: []string{"拒绝"}}},
			monitors: []hotline.MonitorSession{{SupervisorID: "s01", Mode: hotline.MonitorBarge, RequestedAt: at(30), ConnectedAt: at(33),
				EndedAt: at(60), EndReason: hotline.MonitorSupervisorLeft}},
		},
	}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")

	status, body, _ := send(t, http.MethodGet, srv.URL+"/api/v1/calls/c1/timeline", "sup", "")
	require.Equal(t, http.StatusOK, status, body)
	var texts []string
	for _, e := range body["events"].([]any) {
		texts = append(texts, e.(map[string]any)["text"].(string))
	}
	require.Equal(t, []string{
		"来电进入热线（拨打 12345）",
		"振铃坐席 1002",
		"坐席 1002 的呼叫结束：拒接/忙（原因码 17 忙/拒接）",
		"振铃坐席 1001",
		"坐席 1001 接起",
		"首问责任人：坐席 1001",
		"督察 s01 发起强插（呼叫督察话机）",
		"督察 s01 开始强插",
		"坐席 1001 转办至 不动产登记 1003",
		"转办结果：未接，已交办",
		"督察 s01 的强插结束：督察挂断",
		"坐席 1001 的呼叫结束：通话结束（原因码 16 正常挂断）",
		"满意度评价：不满意",
		"通话结束",
	}, texts)
	require.Equal(t, "138****8000", body["call"].(map[string]any)["caller_number"])
	require.Equal(t, true, body["recordings"].([]any)[0].(map[string]any)["legal_hold"])
	require.Len(t, body["reviews"], 2, "a supervisor reads every review")

	status, body, _ = send(t, http.MethodGet, srv.URL+"/api/v1/calls/c1/timeline", "a1002", "")
	require.Equal(t, http.StatusOK, status, "1002 was rung on the call")
	reviews := body["reviews"].([]any)
	require.Len(t, reviews, 1, "an agent reads only the reviews of itself")
	require.Equal(t, "1002", reviews[0].(map[string]any)["agent_id"])
}
