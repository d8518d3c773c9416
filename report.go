package hotline

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// AgentReport is one staff member's assessment figures for a period
// (clauses 7.1.4 and 7.3). Each figure is defined once: the field's comment
// here, and in Chinese for the console and the CSV in AgentReportFigures,
// whose order is the order of the JSON keys and CSV columns.
//
// Every fact counts in the period that holds the time it is filed under:
// a call by its arrival, a ring by the time it started, a rating by the time
// it was given, a callback task or promise by its (current) deadline, a
// violation by when it occurred, a review or complaint by when it was
// recorded. Periods are whole days of the calendar's zone (ReportPeriod).
type AgentReport struct {
	Agent string // staff id
	Name  string

	// Offered counts the rings: agent legs rung for the agent, first rings
	// and referrals alike; a call rung again in a later round counts again.
	Offered int
	// Answered counts the calls the agent answered first, as their
	// first-responsible agent (clause 3.1), in progress or completed. Each
	// answered call has exactly one, so the sum over staff equals the call
	// log's answered calls of the period.
	Answered int
	// Missed counts the rings the agent did not take: legs that rang until
	// the timeout (no_answer) or were declined or busy (busy). Rings
	// cancelled because another agent answered first or the citizen hung
	// up, and rings Asterisk could not place (failed), are not the agent's.
	Missed int
	// AnsweredRings counts the rings the agent answered and that connected
	// (first answers and referrals taken); RingTime is their total time
	// from ringing to answer. AvgAnswerSeconds divides the two.
	AnsweredRings int
	RingTime      time.Duration
	// TalkedCalls counts the answered calls that have ended; TalkTime is
	// their total from the agent's answer to the end of the call (the call
	// log's talk time, the satisfaction survey included).
	TalkedCalls int
	TalkTime    time.Duration
	// CallbacksDue counts the agent's callback tasks (clause 6.1) due in
	// the period: ended as connected, resolved (the citizen called in and
	// was answered) or unreachable; closed by a supervisor after the
	// deadline; or still open with the deadline passed. Tasks with an
	// invalid number, tasks a supervisor closed by their deadline, and tasks
	// no agent was assigned to count for no one. CallbacksOnTime counts
	// those connected or resolved at or before their deadline.
	CallbacksDue    int
	CallbacksOnTime int
	// PromisesDue counts the agent's promised replies (clause 6.2) due in
	// the period, by their deadline as extended with a supervisor's
	// approval: fulfilled; closed by a supervisor after the deadline; or
	// unfinished with the deadline passed. PromisesKept counts those
	// fulfilled at or before their deadline.
	PromisesDue  int
	PromisesKept int
	// Ratings counts the citizens' survey answers given in the period for
	// calls of the agent, by level: Ratings[0] is 非常满意 (key 1) …
	// Ratings[4] 非常不满意 (key 5). Calls the citizen did not rate count
	// nowhere.
	Ratings [5]int
	// Complaints counts the complaints recorded against the agent.
	Complaints int
	// ViolationsConfirmed counts the violations recorded against the agent
	// (callback or promise overdue, ring declined or not answered,
	// referral loop) that a supervisor confirmed.
	ViolationsConfirmed int
	// Reviews counts the supervisors' reviews of the agent's calls;
	// ReviewFindings those that flag at least one problem (推诿, 拒绝,
	// 拖延, 态度); ReviewScoreSum adds their scores (0–100).
	Reviews        int
	ReviewFindings int
	ReviewScoreSum int
}

// Add adds o's counts to r, for a total row; Agent and Name stay.
func (r *AgentReport) Add(o AgentReport) {
	r.Offered += o.Offered
	r.Answered += o.Answered
	r.Missed += o.Missed
	r.AnsweredRings += o.AnsweredRings
	r.RingTime += o.RingTime
	r.TalkedCalls += o.TalkedCalls
	r.TalkTime += o.TalkTime
	r.CallbacksDue += o.CallbacksDue
	r.CallbacksOnTime += o.CallbacksOnTime
	r.PromisesDue += o.PromisesDue
	r.PromisesKept += o.PromisesKept
	for i := range r.Ratings {
		r.Ratings[i] += o.Ratings[i]
	}
	r.Complaints += o.Complaints
	r.ViolationsConfirmed += o.ViolationsConfirmed
	r.Reviews += o.Reviews
	r.ReviewFindings += o.ReviewFindings
	r.ReviewScoreSum += o.ReviewScoreSum
}

// IsZero reports whether r counts nothing at all.
func (r AgentReport) IsZero() bool {
	r.Agent, r.Name = "", ""
	return r == AgentReport{}
}

// Rated is the number of ratings given.
func (r AgentReport) Rated() int {
	n := 0
	for _, c := range r.Ratings {
		n += c
	}
	return n
}

// ratio is num/den, and false when den is 0 (the figure is undefined).
func ratio(num, den float64) (float64, bool) {
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

// AvgAnswerSeconds is RingTime / AnsweredRings in seconds; false when the
// agent answered no ring.
func (r AgentReport) AvgAnswerSeconds() (float64, bool) {
	return ratio(r.RingTime.Seconds(), float64(r.AnsweredRings))
}

// AvgTalkSeconds is TalkTime / TalkedCalls in seconds; false when no
// answered call has ended.
func (r AgentReport) AvgTalkSeconds() (float64, bool) {
	return ratio(r.TalkTime.Seconds(), float64(r.TalkedCalls))
}

// CallbacksOnTimePct is CallbacksOnTime / CallbacksDue in percent; false
// when no callback was due.
func (r AgentReport) CallbacksOnTimePct() (float64, bool) {
	return ratio(100*float64(r.CallbacksOnTime), float64(r.CallbacksDue))
}

// PromisesKeptPct is PromisesKept / PromisesDue in percent; false when no
// promise was due.
func (r AgentReport) PromisesKeptPct() (float64, bool) {
	return ratio(100*float64(r.PromisesKept), float64(r.PromisesDue))
}

// AvgRating is the mean of the ratings' keys, 1 (非常满意) to 5 (非常不满意):
// lower is better. False when nobody rated.
func (r AgentReport) AvgRating() (float64, bool) {
	sum := 0
	for i, c := range r.Ratings {
		sum += (i + 1) * c
	}
	return ratio(float64(sum), float64(r.Rated()))
}

// AvgReviewScore is the mean review score (0–100); false without reviews.
func (r AgentReport) AvgReviewScore() (float64, bool) {
	return ratio(float64(r.ReviewScoreSum), float64(r.Reviews))
}

// ReportFigure is one column of the assessment report: its key (JSON and
// CSV), its Chinese title and definition (console, CSV header, API), and
// how it is read from an AgentReport.
type ReportFigure struct {
	Key        string `json:"key"`
	Title      string `json:"title"`
	Definition string `json:"definition"`
	Unit       string `json:"unit,omitempty"` // 秒, %, or "" for counts
	Decimals   int    `json:"decimals"`       // digits shown after the point
	value      func(AgentReport) (float64, bool)
}

// Value is the figure for r, rounded to Decimals; false when it is
// undefined (an average or a rate of nothing).
func (f ReportFigure) Value(r AgentReport) (float64, bool) {
	v, ok := f.value(r)
	if !ok {
		return 0, false
	}
	scale := math.Pow10(f.Decimals)
	return math.Round(v*scale) / scale, true
}

// Format is the figure for r as text with Decimals digits, "" when it is
// undefined.
func (f ReportFigure) Format(r AgentReport) string {
	v, ok := f.Value(r)
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'f', f.Decimals, 64)
}

func count(n func(AgentReport) int) func(AgentReport) (float64, bool) {
	return func(r AgentReport) (float64, bool) { return float64(n(r)), true }
}

func ratingCount(level Satisfaction) func(AgentReport) (float64, bool) {
	return count(func(r AgentReport) int { return r.Ratings[level-1] })
}

// AgentReportFigures are the report's columns, in order. The definitions
// restate the field comments of AgentReport for the people who read the
// report.
var AgentReportFigures = []ReportFigure{
	{Key: "offered", Title: "振铃次数", value: count(func(r AgentReport) int { return r.Offered }),
		Definition: "期间内向该坐席振铃的次数（按振铃开始时间计）：首次分配和转接都算，同一来电下一轮再次振铃另计一次。"},
	{Key: "answered", Title: "首问接听", value: count(func(r AgentReport) int { return r.Answered }),
		Definition: "该坐席作为首问责任人（第一个接听者）接听的来电数（按来电到达时间计），含通话中的；各坐席之和等于通话记录中期间内已接听的来电数。"},
	{Key: "missed", Title: "未接振铃", value: count(func(r AgentReport) int { return r.Missed }),
		Definition: "向该坐席振铃而未接听的次数：响铃超时未接，或拒接、占线。因其他坐席先接听或市民挂机而取消的振铃、系统未能呼出的振铃不计。"},
	{Key: "avg_answer_seconds", Title: "平均应答时长", Unit: "秒", Decimals: 1, value: AgentReport.AvgAnswerSeconds,
		Definition: "该坐席接通的振铃（首问接听和接受转接）从开始振铃到接听的平均秒数。"},
	{Key: "talk_seconds", Title: "通话总时长", Unit: "秒", value: func(r AgentReport) (float64, bool) { return r.TalkTime.Seconds(), true },
		Definition: "该坐席首问接听且已结束的来电，从接听到来电结束的总秒数（与通话记录的通话时长一致，含满意度调查）。"},
	{Key: "avg_talk_seconds", Title: "平均通话时长", Unit: "秒", Decimals: 1, value: AgentReport.AvgTalkSeconds,
		Definition: "通话总时长除以其中已结束的首问接听来电数。"},
	{Key: "callbacks_due", Title: "应回拨任务", value: count(func(r AgentReport) int { return r.CallbacksDue }),
		Definition: "截止时间在期间内、由该坐席负责的未接来电回拨任务：已接通的、市民再次来电已接听的、多次无法接通而结束的、截止时间过后由督察关闭的，以及截止时间已过仍未完成的。号码无效的、督察在截止时间前关闭的和尚未分配坐席的任务不计。"},
	{Key: "callbacks_on_time", Title: "按时回拨", value: count(func(r AgentReport) int { return r.CallbacksOnTime }),
		Definition: "应回拨任务中在截止时间前接通，或市民再次来电被接听的。"},
	{Key: "callbacks_on_time_pct", Title: "按时回拨率", Unit: "%", Decimals: 1, value: AgentReport.CallbacksOnTimePct,
		Definition: "按时回拨除以应回拨任务；没有应回拨任务时为空。"},
	{Key: "promises_due", Title: "应兑现承诺", value: count(func(r AgentReport) int { return r.PromisesDue }),
		Definition: "截止时间（含督察批准的延期）在期间内、由该坐席负责的答复承诺：已兑现的、截止时间过后由督察关闭的，以及截止时间已过仍未兑现的。督察在截止时间前关闭的不计。"},
	{Key: "promises_kept", Title: "按时兑现", value: count(func(r AgentReport) int { return r.PromisesKept }),
		Definition: "应兑现承诺中在截止时间前兑现的。"},
	{Key: "promises_kept_pct", Title: "承诺兑现率", Unit: "%", Decimals: 1, value: AgentReport.PromisesKeptPct,
		Definition: "按时兑现除以应兑现承诺；没有应兑现承诺时为空。"},
	{Key: "rated", Title: "评价数", value: count(AgentReport.Rated),
		Definition: "期间内市民对该坐席来电给出的满意度评价数（按评价时间计），未评价的不计。"},
	{Key: "very_satisfied", Title: VerySatisfied.String(), value: ratingCount(VerySatisfied),
		Definition: "评价为“非常满意”（按键1）的次数。"},
	{Key: "satisfied", Title: Satisfied.String(), value: ratingCount(Satisfied),
		Definition: "评价为“满意”（按键2）的次数。"},
	{Key: "fairly_satisfied", Title: FairlySatisfied.String(), value: ratingCount(FairlySatisfied),
		Definition: "评价为“基本满意”（按键3）的次数。"},
	{Key: "dissatisfied", Title: Dissatisfied.String(), value: ratingCount(Dissatisfied),
		Definition: "评价为“不满意”（按键4）的次数。"},
	{Key: "very_dissatisfied", Title: VeryDissatisfied.String(), value: ratingCount(VeryDissatisfied),
		Definition: "评价为“非常不满意”（按键5）的次数。"},
	{Key: "avg_rating", Title: "平均评价", Decimals: 2, value: AgentReport.AvgRating,
		Definition: "评价按键的平均值，1 为非常满意、5 为非常不满意，越低越好；无评价时为空。"},
	{Key: "complaints", Title: "投诉", value: count(func(r AgentReport) int { return r.Complaints }),
		Definition: "期间内登记的针对该坐席的投诉数（按登记时间计）。"},
	{Key: "violations_confirmed", Title: "确认违规", value: count(func(r AgentReport) int { return r.ViolationsConfirmed }),
		Definition: "期间内发生、经督察确认的违规记录数（回拨超时、承诺超时、拒接、振铃未接、转接推诿）；未处理和已驳回的不计。"},
	{Key: "reviews", Title: "督察评审", value: count(func(r AgentReport) int { return r.Reviews }),
		Definition: "期间内督察对该坐席来电所作的评审数（按评审时间计）。"},
	{Key: "review_findings", Title: "评审发现问题", value: count(func(r AgentReport) int { return r.ReviewFindings }),
		Definition: "督察评审中至少标记一项问题（推诿、拒绝、拖延、态度）的评审数。"},
	{Key: "avg_review_score", Title: "平均评审分", Decimals: 1, value: AgentReport.AvgReviewScore,
		Definition: "督察评审分（0–100）的平均值；无评审时为空。"},
}

// MarshalJSON writes the report as {"agent", "name", then every figure of
// AgentReportFigures by its key}, in that order; an undefined figure is
// null.
func (r AgentReport) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"agent":`)
	agent, err := json.Marshal(r.Agent)
	if err != nil {
		return nil, err
	}
	b.Write(agent)
	b.WriteString(`,"name":`)
	name, err := json.Marshal(r.Name)
	if err != nil {
		return nil, err
	}
	b.Write(name)
	for _, f := range AgentReportFigures {
		b.WriteString(`,"` + f.Key + `":`)
		if v := f.Format(r); v != "" {
			b.WriteString(v)
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
