package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"hotline"
)

// LineStatus says whether the line is staffed and why (the calendar).
type LineStatus interface {
	Status(t time.Time) hotline.LineStatus
}

// CallCounter counts the calls that arrived since a moment, for the wall's
// figures of the day.
type CallCounter interface {
	CountCalls(ctx context.Context, since time.Time) (DayCounts, error)
}

// DayCounts are the calls of one day as the wall shows them.
type DayCounts struct {
	Total      int `json:"total"`
	Answered   int `json:"answered"`  // an agent took the call (in progress or completed)
	Missed     int `json:"missed"`    // ended without an agent, every reason
	Abandoned  int `json:"abandoned"` // of the missed: the citizen hung up while waiting
	InProgress int `json:"in_progress"`
}

// wallList bounds each list on the wall; the counts beside them say when
// there are more.
const wallList = 50

// wallJSON is the supervisors' wall in one answer.
type wallJSON struct {
	Now             time.Time                `json:"now"`
	Line            *hotline.LineStatus      `json:"line,omitempty"`
	Today           *DayCounts               `json:"today,omitempty"`
	Agents          []hotline.Agent          `json:"agents"`
	Waiting         []callJSON               `json:"waiting"` // citizens waiting for an agent now, longest first
	Talking         []callJSON               `json:"talking"` // calls with an agent now
	CallbacksOpen   int                      `json:"callbacks_open"`
	CallbacksDue    []callbackJSON           `json:"callbacks_due"` // open tasks, the earliest deadline first
	CallbacksOver   int                      `json:"callbacks_overdue"`
	Unreachable     int                      `json:"unreachable"` // tasks whose citizen could not be reached, waiting for a supervisor
	UnreachableList []callbackJSON           `json:"unreachable_tasks"`
	PromisesOver    int                      `json:"promises_overdue"`
	PromisesOverdue []promiseJSON            `json:"overdue_promises"`
	Monitors        []hotline.MonitorSession `json:"monitors"` // supervisors monitoring calls now
}

// wall: GET /api/v1/wall → the line, agents, citizens waiting and calls in
// progress, callbacks due and overdue, unreachable citizens, overdue
// promises and today's counts, numbers masked. Each part the server was
// started without is left out.
func (s *Server) wall(w http.ResponseWriter, r *http.Request) {
	const op = "web.wall"
	if err := checkQuery(op, r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ctx := r.Context()
	now := s.deps.Now()
	out := wallJSON{Now: now, Agents: []hotline.Agent{}, Waiting: []callJSON{}, Talking: []callJSON{},
		CallbacksDue: []callbackJSON{}, PromisesOverdue: []promiseJSON{}, Monitors: []hotline.MonitorSession{}}
	if s.deps.Monitor != nil {
		out.Monitors = s.deps.Monitor.Active()
	}
	view := s.numbers(r, false)
	if s.deps.Line != nil {
		st := s.deps.Line.Status(now)
		out.Line = &st
	}
	if s.deps.Counts != nil {
		y, m, d := now.In(s.deps.Zone).Date()
		counts, err := s.deps.Counts.CountCalls(ctx, time.Date(y, m, d, 0, 0, 0, 0, s.deps.Zone))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out.Today = &counts
	}
	if s.deps.Agents != nil {
		out.Agents = s.deps.Agents.List()
	}
	if s.deps.Calls != nil {
		for state, dst := range map[hotline.CallState]*[]callJSON{hotline.CallRinging: &out.Waiting, hotline.CallAnswered: &out.Talking} {
			calls, err := s.deps.Calls.ListCalls(ctx, CallFilter{State: state, Limit: wallList})
			if err != nil {
				writeError(w, r, s.log, err)
				return
			}
			for _, c := range calls {
				*dst = append(*dst, newCallJSON(c, view))
			}
		}
	}
	if s.deps.Callbacks != nil {
		var err error
		if out.CallbacksDue, out.CallbacksOpen, err = s.wallTasks(ctx, view, hotline.CallbackOpen); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if out.UnreachableList, out.Unreachable, err = s.wallTasks(ctx, view, hotline.CallbackUnreachable, hotline.CallbackInvalid); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		over, err := s.deps.Callbacks.ListCallbacks(ctx, CallbackFilter{State: hotline.CallbackOverdue, Limit: maxListLimit})
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out.CallbacksOver = len(over)
	}
	if s.deps.Promises != nil {
		ps, err := s.deps.Promises.ListPromises(ctx, PromiseFilter{State: hotline.PromiseOverdue, Limit: maxListLimit})
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out.PromisesOver = len(ps)
		for _, p := range ps[:min(len(ps), wallList)] {
			out.PromisesOverdue = append(out.PromisesOverdue, s.newPromiseJSON(p, view))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// wallTasks lists the tasks in states (stored states or groups of the
// vocabulary), the earliest deadline first (at most wallList), and counts
// them (at most maxListLimit per state).
func (s *Server) wallTasks(ctx context.Context, view *numberView, states ...hotline.CallbackState) ([]callbackJSON, int, error) {
	var all []hotline.CallbackTask
	for _, st := range states {
		ts, err := s.deps.Callbacks.ListCallbacks(ctx, CallbackFilter{State: st, Limit: maxListLimit})
		if err != nil {
			return nil, 0, err
		}
		all = append(all, ts...)
	}
	sortTasksByDeadline(all)
	out := make([]callbackJSON, 0, min(len(all), wallList))
	for _, t := range all[:min(len(all), wallList)] {
		out = append(out, s.newCallbackJSON(t, view))
	}
	return out, len(all), nil
}

func sortTasksByDeadline(ts []hotline.CallbackTask) {
	slices.SortFunc(ts, func(a, b hotline.CallbackTask) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.ID, b.ID))
	})
}
