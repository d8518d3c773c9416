package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// CallDetail reads what a call's page shows beyond the call row.
type CallDetail interface {
	CallRecordings(ctx context.Context, callID string) ([]CallRecording, error)
	CallReviews(ctx context.Context, callID string) ([]hotline.Review, error)
	CallMonitors(ctx context.Context, callID string) ([]hotline.MonitorSession, error)
}

// CallRecording is a recording of a call with what the archive knows.
type CallRecording struct {
	hotline.Recording
	LegalHold bool      `json:"legal_hold"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

// Monitorer runs supervisors' monitorings of calls in progress (ari.Monitors).
type Monitorer interface {
	Monitor(ctx context.Context, callID, supervisorID string, mode hotline.MonitorMode) (hotline.MonitorSession, error)
	Active() []hotline.MonitorSession // going on now
	End(id int64) error               // ends one from the console
}

// timelineEvent is one moment of a call, described for people.
type timelineEvent struct {
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"` // arrived, rung, leg_ended, answered, referral, monitor, rating, ended
	Text  string    `json:"text"`
	Agent string    `json:"agent,omitempty"`
	Tone  string    `json:"tone,omitempty"` // good, bad, monitor: how the page colours it
}

// timelineJSON is GET /api/v1/calls/{id}/timeline.
type timelineJSON struct {
	Call       callJSON                 `json:"call"`
	Events     []timelineEvent          `json:"events"`
	Recordings []CallRecording          `json:"recordings"`
	Reviews    []hotline.Review         `json:"reviews"`
	Monitors   []hotline.MonitorSession `json:"monitors"`
}

// causeNames are the Q.850 causes Asterisk reports for agent legs (see
// DESIGN: busy 17, no answer 19, unallocated 1, cancelled 16).
var causeNames = map[int]string{1: "号码不存在", 16: "正常挂断", 17: "忙/拒接", 19: "无应答", 21: "拒绝", 31: "正常", 32: "系统挂断", 34: "无可用线路", 38: "网络故障"}

var legNames = map[hotline.LegOutcome]string{hotline.LegRinging: "振铃中", hotline.LegAnswered: "接听", hotline.LegLost: "抢接落后",
	hotline.LegCancelled: "已取消", hotline.LegNoAnswer: "无人接听", hotline.LegBusy: "拒接/忙", hotline.LegFailed: "呼叫失败",
	hotline.LegCompleted: "通话结束"}

var missedNames = map[hotline.MissedReason]string{hotline.MissedNoAnswer: "无人接听", hotline.MissedNoAgent: "无坐席",
	hotline.MissedAbandoned: "来电放弃", hotline.MissedAfterHours: "非工作时间", hotline.MissedFailed: "系统故障",
	hotline.MissedServiceDown: "服务中断（应急接听）", hotline.MissedInterrupted: "通话中断"}

var monitorEndNames = map[hotline.MonitorEnd]string{hotline.MonitorNotAnswered: "督察话机未接", hotline.MonitorSupervisorLeft: "督察挂断",
	hotline.MonitorCallEnded: "通话结束", hotline.MonitorFailed: "失败", hotline.MonitorServiceStopping: "服务停止",
	hotline.MonitorStopped: "在控制台结束"}

// callTimeline: GET /api/v1/calls/{id}/timeline → the call (numbers as the
// actor may see them), its moments in order (arrival, every agent rung
// and how each leg ended with its cause, the answer, referrals,
// monitorings, the survey, the end), its recordings with their legal
// hold, and the reviews the actor may read.
func (s *Server) callTimeline(w http.ResponseWriter, r *http.Request) {
	c, full, err := s.requestedCall("web.callTimeline", r)
	out := timelineJSON{Recordings: []CallRecording{}, Reviews: []hotline.Review{}, Monitors: []hotline.MonitorSession{}}
	if err == nil && s.deps.CallDetail != nil {
		out.Recordings, out.Reviews, out.Monitors, err = s.callDetail(r, c.ID)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	view := s.numbers(r, full)
	out.Call = newCallJSON(c, view)
	view.audit()
	out.Events = callEvents(c, out.Monitors)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) callDetail(r *http.Request, callID string) ([]CallRecording, []hotline.Review, []hotline.MonitorSession, error) {
	ctx := r.Context()
	recs, err := s.deps.CallDetail.CallRecordings(ctx, callID)
	if err != nil {
		return nil, nil, nil, err
	}
	reviews, err := s.deps.CallDetail.CallReviews(ctx, callID)
	if err != nil {
		return nil, nil, nil, err
	}
	a, _ := hotline.ActorFromContext(ctx)
	readable := []hotline.Review{}
	for _, rv := range reviews {
		if hotline.Authorize(a, hotline.ActReviewList, hotline.Matter{Kind: "review", ID: fmt.Sprint(rv.ID), Responsible: rv.AgentID}) == nil {
			readable = append(readable, rv)
		}
	}
	monitors, err := s.deps.CallDetail.CallMonitors(ctx, callID)
	if err != nil {
		return nil, nil, nil, err
	}
	if recs == nil {
		recs = []CallRecording{}
	}
	if monitors == nil {
		monitors = []hotline.MonitorSession{}
	}
	return recs, readable, monitors, nil
}

// callEvents lays out the moments of c in time order.
func callEvents(c hotline.Call, monitors []hotline.MonitorSession) []timelineEvent {
	line := map[hotline.Line]string{hotline.LineHotline: "热线", hotline.LineComplaint: "投诉线"}[c.Line]
	ev := []timelineEvent{{At: c.ArrivedAt, Kind: "arrived", Text: fmt.Sprintf("来电进入%s（拨打 %s）", line, c.DialedNumber)}}
	for _, l := range c.Legs {
		ev = append(ev, timelineEvent{At: l.RungAt, Kind: "rung", Agent: l.AgentID, Text: "振铃坐席 " + l.AgentID})
		if !l.AnsweredAt.IsZero() {
			ev = append(ev, timelineEvent{At: l.AnsweredAt, Kind: "leg_answered", Agent: l.AgentID, Text: "坐席 " + l.AgentID + " 接起", Tone: "good"})
		}
		if !l.EndedAt.IsZero() {
			text := fmt.Sprintf("坐席 %s 的呼叫结束：%s", l.AgentID, cmp.Or(legNames[l.Outcome], string(l.Outcome)))
			if l.Cause != 0 {
				text += fmt.Sprintf("（原因码 %d %s）", l.Cause, causeNames[l.Cause])
			}
			tone := ""
			if l.Outcome == hotline.LegBusy || l.Outcome == hotline.LegNoAnswer {
				tone = "bad"
			}
			ev = append(ev, timelineEvent{At: l.EndedAt, Kind: "leg_ended", Agent: l.AgentID, Text: text, Tone: tone})
		}
	}
	if c.FirstResponsibleAgent != "" && !c.AnsweredAt.IsZero() {
		ev = append(ev, timelineEvent{At: c.AnsweredAt, Kind: "answered", Agent: c.FirstResponsibleAgent,
			Text: "首问责任人：坐席 " + c.FirstResponsibleAgent, Tone: "good"})
	}
	for _, f := range c.Referrals {
		to := f.ToAgent
		if f.ToDepartment != "" {
			to = strings.TrimSpace(f.ToDepartment + " " + f.ToAgent)
		}
		ev = append(ev, timelineEvent{At: f.RequestedAt, Kind: "referral", Agent: f.FromAgent, Text: fmt.Sprintf("坐席 %s 转办至 %s", f.FromAgent, to)})
		if !f.EndedAt.IsZero() {
			ev = append(ev, timelineEvent{At: f.EndedAt, Kind: "referral_ended", Agent: f.ToAgent,
				Text: "转办结果：" + map[hotline.ReferralOutcome]string{hotline.ReferralAnswered: "已接转", hotline.ReferralHandover: "未接，已交办",
					hotline.ReferralCancelled: "已取消", hotline.ReferralRinging: "振铃中"}[f.Outcome]})
		}
	}
	for _, m := range monitors {
		ev = append(ev, timelineEvent{At: m.RequestedAt, Kind: "monitor", Agent: m.SupervisorID, Tone: "monitor",
			Text: fmt.Sprintf("督察 %s 发起%s（呼叫督察话机）", m.SupervisorID, m.Mode.Title())})
		if !m.ConnectedAt.IsZero() {
			ev = append(ev, timelineEvent{At: m.ConnectedAt, Kind: "monitor", Agent: m.SupervisorID, Tone: "monitor",
				Text: fmt.Sprintf("督察 %s 开始%s", m.SupervisorID, m.Mode.Title())})
		}
		if !m.EndedAt.IsZero() {
			ev = append(ev, timelineEvent{At: m.EndedAt, Kind: "monitor", Agent: m.SupervisorID, Tone: "monitor",
				Text: fmt.Sprintf("督察 %s 的%s结束：%s", m.SupervisorID, m.Mode.Title(), monitorEndNames[m.EndReason])})
		}
	}
	if c.Rating != nil && !c.Rating.RatedAt.IsZero() {
		text := "满意度评价：未评价"
		tone := ""
		if c.Rating.Score != 0 {
			text = "满意度评价：" + c.Rating.Score.String()
			if c.Rating.Score >= hotline.Dissatisfied {
				tone = "bad"
			}
		}
		ev = append(ev, timelineEvent{At: c.Rating.RatedAt, Kind: "rating", Agent: c.Rating.AgentID, Text: text, Tone: tone})
	}
	if !c.EndedAt.IsZero() {
		text := "通话结束"
		tone := ""
		if c.State == hotline.CallMissed {
			text, tone = "未接："+cmp.Or(missedNames[c.MissedReason], string(c.MissedReason))+"，转入回访", "bad"
		}
		ev = append(ev, timelineEvent{At: c.EndedAt, Kind: "ended", Text: text, Tone: tone})
	}
	slices.SortStableFunc(ev, func(a, b timelineEvent) int { return a.At.Compare(b.At) })
	return ev
}

type monitorRequest struct {
	Mode hotline.MonitorMode `json:"mode"`
}

// monitorCall: POST /api/v1/calls/{id}/monitor {"mode": "listen"|"whisper"|"barge"}
// → 202 and the monitoring: the supervisor's own softphone rings, and the
// monitoring begins when it is answered.
func (s *Server) monitorCall(w http.ResponseWriter, r *http.Request) {
	const op = "web.monitorCall"
	var req monitorRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if !req.Mode.Valid() {
		writeError(w, r, s.log, hotline.Errorf(hotline.KindInvalid, op, "mode %q must be listen, whisper or barge", req.Mode))
		return
	}
	a, _ := hotline.ActorFromContext(r.Context())
	noteAudit(r, "", string(req.Mode))
	m, err := s.deps.Monitor.Monitor(r.Context(), chi.URLParam(r, "id"), a.ID, req.Mode)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, m)
}

// endMonitor: POST /api/v1/monitors/{id}/end → 202: the monitoring ends
// (both of its channels are hung up); 404 when it is not going on.
func (s *Server) endMonitor(w http.ResponseWriter, r *http.Request) {
	const op = "web.endMonitor"
	id, err := pathID(op, r, "monitoring")
	if err == nil {
		noteAudit(r, fmt.Sprintf("monitor:%d", id), "")
		err = s.deps.Monitor.End(id)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "ending": true})
}
