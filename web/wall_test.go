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

type lineFunc func(time.Time) hotline.LineStatus

func (f lineFunc) Status(t time.Time) hotline.LineStatus { return f(t) }

type countFunc func(context.Context, time.Time) (web.DayCounts, error)

func (f countFunc) CountCalls(ctx context.Context, since time.Time) (web.DayCounts, error) {
	return f(ctx, since)
}

// listedCallbacks is a callback desk whose lists are chosen by the filter.
type listedCallbacks struct {
	fixedCallbacks
	list func(web.CallbackFilter) []hotline.CallbackTask
}

func (l listedCallbacks) ListCallbacks(_ context.Context, f web.CallbackFilter) ([]hotline.CallbackTask, error) {
	return l.list(f), nil
}

// The wall: the line and why, today's counts from the start of the day in
// the calendar's zone, citizens waiting and calls in progress, callbacks
// open (earliest deadline first), overdue and unreachable, overdue
// promises; numbers masked; supervisors only.
func TestWall(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	now := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai
	since := make(chan time.Time, 1)
	deps := testDeps(web.Deps{
		Now:  func() time.Time { return now },
		Zone: shanghai,
		Line: lineFunc(func(t time.Time) hotline.LineStatus {
			return hotline.LineStatus{Open: true, Reason: "工作日", Until: t.Add(90 * time.Minute)}
		}),
		Counts: countFunc(func(_ context.Context, t time.Time) (web.DayCounts, error) {
			since <- t
			return web.DayCounts{Total: 9, Answered: 6, Missed: 3, Abandoned: 2}, nil
		}),
		Agents: agentList{{ID: "1001", Name: "张伟", State: hotline.AgentOnCall}, {ID: "1002", Name: "王芳", State: hotline.AgentAvailable}},
		Calls: callReaderFunc{
			list: func(_ context.Context, f web.CallFilter) ([]hotline.Call, error) {
				switch f.State {
				case hotline.CallRinging:
					return []hotline.Call{{ID: "w1", CallerNumber: "13800138000", State: hotline.CallRinging, ArrivedAt: now.Add(-time.Minute)}}, nil
				case hotline.CallAnswered:
					return []hotline.Call{{ID: "t1", CallerNumber: "13900139000", State: hotline.CallAnswered, FirstResponsibleAgent: "1001",
						ArrivedAt: now.Add(-3 * time.Minute), AnsweredAt: now.Add(-2 * time.Minute)}}, nil
				}
				t.Errorf("the wall lists calls by state, not %q", f.State)
				return nil, nil
			},
			get: func(context.Context, string) (hotline.Call, error) { return hotline.Call{}, nil },
		},
		Callbacks: listedCallbacks{list: func(f web.CallbackFilter) []hotline.CallbackTask {
			switch f.State {
			case hotline.CallbackOverdue:
				return []hotline.CallbackTask{{ID: 1, State: hotline.CallbackPending, Deadline: now.Add(-time.Hour)}}
			case hotline.CallbackOpen:
				return []hotline.CallbackTask{{ID: 2, Number: "13700137000", State: hotline.CallbackPending, Deadline: now.Add(time.Hour)},
					{ID: 1, Number: "13600136000", State: hotline.CallbackPending, Deadline: now.Add(-time.Hour)}}
			case hotline.CallbackUnreachable:
				return []hotline.CallbackTask{{ID: 3, State: hotline.CallbackUnreachable}}
			}
			return nil
		}},
		Promises: fixedPromises{hotline.Promise{ID: 5, Number: "13500135000", State: hotline.PromiseEscalated, Deadline: now.Add(-time.Hour)}},
	})
	s, err := web.New(web.Config{}, deps, nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")

	status, body, _ := send(t, http.MethodGet, srv.URL+"/api/v1/wall", "sup", "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, time.Date(2026, 11, 30, 0, 0, 0, 0, shanghai), (<-since).In(shanghai), "today starts at midnight in the calendar's zone")
	require.Equal(t, map[string]any{"open": true, "reason": "工作日", "until": "2026-11-30T03:30:00Z"}, body["line"])
	require.Equal(t, map[string]any{"total": 9.0, "answered": 6.0, "missed": 3.0, "abandoned": 2.0, "in_progress": 0.0}, body["today"])
	require.Len(t, body["agents"], 2)
	waiting := body["waiting"].([]any)
	require.Len(t, waiting, 1)
	require.Equal(t, "138****8000", waiting[0].(map[string]any)["caller_number"], "numbers masked")
	require.Equal(t, "t1", body["talking"].([]any)[0].(map[string]any)["id"])
	due := body["callbacks_due"].([]any)
	require.Equal(t, 1.0, due[0].(map[string]any)["id"], "the earliest deadline first")
	require.Equal(t, true, due[0].(map[string]any)["overdue"])
	require.Equal(t, "136****6000", due[0].(map[string]any)["number"])
	require.Equal(t, 2.0, body["callbacks_open"])
	require.Equal(t, 1.0, body["callbacks_overdue"])
	require.Equal(t, 1.0, body["unreachable"])
	require.Equal(t, 3.0, body["unreachable_tasks"].([]any)[0].(map[string]any)["id"])
	require.Equal(t, 1.0, body["promises_overdue"])
	require.Equal(t, "135****5000", body["overdue_promises"].([]any)[0].(map[string]any)["number"])

	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/wall", "a1001", "")
	require.Equal(t, http.StatusForbidden, status, "agents do not see the wall")
}
