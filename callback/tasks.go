package callback

import (
	"context"
	"fmt"
	"time"

	"hotline"
)

// tasks is the callback task kind of matter (6.1) for the engine: a task
// is watched while it is open (pending or dialing), its agent is reminded
// DueSoonLead before its deadline (the supervisors while it has none), and
// at the deadline the supervisors and the agent are told and a
// callback_overdue violation recorded against the agent.
type tasks struct {
	loader[hotline.CallbackTask]
	e *engine
}

// loader reads the matters of one kind by id.
type loader[T any] struct {
	get  func(ctx context.Context, ids []int64) ([]T, error)
	wrap func(T) matter
}

func (l loader[T]) load(ctx context.Context, ids []int64) ([]matter, error) {
	vs, err := l.get(ctx, ids)
	if err != nil {
		return nil, err
	}
	ms := make([]matter, len(vs))
	for i, v := range vs {
		ms[i] = l.wrap(v)
	}
	return ms, nil
}

func taskMatter(t hotline.CallbackTask) matter {
	return matter{id: t.ID, deadline: t.Deadline, watched: t.Open(), escalated: !t.EscalatedAt.IsZero(),
		agent: t.AgentID, number: t.Number, v: t}
}

func (k tasks) reminder(m matter, _ time.Duration, _ time.Time) notice {
	t := m.v.(hotline.CallbackTask)
	if t.AgentID == "" {
		return notice{text: fmt.Sprintf("回访任务 #%d 尚无责任人：%s，须在 %s 前回电并致歉，请指派坐席。", t.ID, k.missedPart(t, false), k.e.when(t.Deadline))}
	}
	return notice{agent: t.AgentID, text: fmt.Sprintf("回访任务 #%d：%s，请在 %s 前回电并致歉。", t.ID, k.missedPart(t, false), k.e.when(t.Deadline))}
}

func (k tasks) overdueDetail(m matter) string {
	t := m.v.(hotline.CallbackTask)
	return fmt.Sprintf("回访任务 #%d：%s，回电期限 %s 已过，已尝试%d次。", t.ID, k.missedPart(t, true), k.e.when(t.Deadline), t.Attempts)
}

func (k tasks) overdue(m matter) []notice {
	t := m.v.(hotline.CallbackTask)
	who := "尚无责任人"
	if t.AgentID != "" {
		who = "责任人 " + t.AgentID
	}
	out := []notice{{text: fmt.Sprintf("回访超时 #%d：%s，回电期限 %s 已过，仍未回访成功（已尝试%d次），%s，请督办。",
		t.ID, k.missedPart(t, false), k.e.when(t.Deadline), t.Attempts, who)}}
	if t.AgentID != "" {
		out = append(out, notice{agent: t.AgentID, text: fmt.Sprintf("回访任务 #%d 已超时：%s，回电期限 %s 已过，已报督察，请立即回电并致歉。",
			t.ID, k.missedPart(t, false), k.e.when(t.Deadline))})
	}
	return out
}

// createdText is the push to the responsible agent of a new task.
func (k tasks) createdText(t hotline.CallbackTask) string {
	return fmt.Sprintf("新回访任务 #%d：%s，请在 %s 前回电并致歉。", t.ID, k.missedPart(t, false), k.e.when(t.Deadline))
}

// missedPart is "13800138000 于 11月27日 16:50 来电未接（共2次）"; masked
// for the ledger, whose readers are not all entitled to the number.
func (k tasks) missedPart(t hotline.CallbackTask, masked bool) string {
	number := t.Number
	if masked {
		number = hotline.MaskNumber(number)
	}
	return fmt.Sprintf("%s 于 %s 来电未接（共%d次）", number, k.e.when(t.FirstMissed), t.MissedCount)
}

// handOverDetail is the violation text of a task its responsible agent
// left unanswered and that passed to another agent.
func (k tasks) handOverDetail(t hotline.CallbackTask, to string) string {
	return fmt.Sprintf("回访任务 #%d（市民 %s）：责任坐席 %s 连续%d次未接听回访，已转交坐席 %s。",
		t.ID, hotline.MaskNumber(t.Number), t.AgentID, t.AgentMisses, to)
}
