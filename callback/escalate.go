package callback

import (
	"context"
	"fmt"
	"time"

	"hotline"
)

// escalate handles the open tasks past their deadline: each is marked
// escalated in SQL exactly once across instances (MarkEscalated), and the
// instance that marked it records a callback_overdue violation against the
// task's agent (a task nobody was made responsible for has no one to
// record it against: supervisors are told so) and tells the supervisors and
// the agent.
func (s *Service) escalate(ctx context.Context, st *runStats) {
	now := s.now()
	ids, err := s.store.OverdueTaskIDs(ctx, now, s.cfg.BatchSize)
	if err != nil {
		s.storeFailed(ctx, "list overdue tasks", err)
		return
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		won, err := s.store.MarkEscalated(ctx, id, now)
		if err != nil {
			s.storeFailed(ctx, "mark a task escalated", err, "task", id)
			continue
		}
		if !won {
			continue // another instance escalated it, or it closed meanwhile
		}
		st.escalated++
		s.m.escalations.Inc()
		task, err := s.store.GetTask(ctx, id)
		if err != nil {
			s.storeFailed(ctx, "read an escalated task", err, "task", id)
			s.notifySupervisors(ctx, id, fmt.Sprintf("回访任务 #%d 已超过回电期限，请在督办台查看。", id))
			continue
		}
		s.log.Warn("callback task overdue: escalated to the supervisors", "task", id, "number", task.Number,
			"agent", task.AgentID, "deadline", task.Deadline, "missed_count", task.MissedCount, "attempts", task.Attempts)
		if task.AgentID != "" {
			v := hotline.Violation{Kind: hotline.ViolationCallbackOverdue, AgentID: task.AgentID, TaskID: id, At: now,
				Detail: s.overdueDetail(task)}
			if len(task.CallIDs) > 0 {
				v.CallID = task.CallIDs[0]
			}
			if _, err := s.store.AddViolation(ctx, v); err != nil {
				s.storeFailed(ctx, "record the overdue violation", err, "task", id, "agent", task.AgentID)
			}
		}
		s.notifySupervisors(ctx, id, s.overdueSupervisorText(task))
		if task.AgentID != "" {
			s.notifyAgent(ctx, id, task.AgentID, s.overdueAgentText(task))
		}
	}
}

// remind sends each open task's due-soon reminder once, while the line is
// open and DueSoonLead or less of working time is left: to the responsible
// agent, or to the supervisors when the task has none yet. Which tasks were
// reminded is kept in Redis (a SETNX key per task that lives until a day
// after the deadline), so restarts and other instances do not repeat it;
// while Redis is down no reminder goes out, and they follow once it is
// back. A reminder whose sending failed is tried again next round.
func (s *Service) remind(ctx context.Context, st *runStats) {
	now := s.now()
	if s.degraded.Load() || !s.cal.IsOpen(now) {
		return
	}
	horizon := s.cal.AddWorking(now, s.cfg.DueSoonLead)
	if horizon.IsZero() {
		return
	}
	// Open tasks not escalated whose deadline is at or before the horizon;
	// those already past it are the escalation's.
	ids, err := s.store.OverdueTaskIDs(ctx, horizon, s.cfg.BatchSize)
	if err != nil {
		s.storeFailed(ctx, "list tasks due soon", err)
		return
	}
	ids, err = s.index.notPushed(ctx, ids)
	if err != nil {
		s.redisFailed(ctx, "read reminder marks", err)
		return
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		task, err := s.store.GetTask(ctx, id)
		if err != nil {
			s.storeFailed(ctx, "read a task due soon", err, "task", id)
			continue
		}
		if !task.Open() || !task.Deadline.After(now) {
			continue
		}
		first, err := s.index.markPushed(ctx, id, task.Deadline.Sub(now)+24*time.Hour)
		if err != nil {
			s.redisFailed(ctx, "mark a reminder", err)
			return
		}
		if !first {
			continue
		}
		if task.AgentID != "" {
			err = s.notifier.NotifyAgent(ctx, task.AgentID, s.dueSoonText(task))
		} else {
			err = s.notifier.NotifySupervisors(ctx, s.dueSoonUnassignedText(task))
		}
		if err != nil {
			s.m.notifyErrors.Inc()
			s.log.Warn("callback reminder not delivered; trying again next round", "task", id, "agent", task.AgentID, "err", err)
			if err := s.index.unmarkPushed(ctx, id); err != nil {
				s.redisFailed(ctx, "unmark a reminder", err)
			}
			continue
		}
		st.reminded++
		s.m.reminders.Inc()
		s.log.Info("callback deadline reminder sent", "task", id, "agent", task.AgentID, "deadline", task.Deadline)
	}
}

func (s *Service) notifySupervisors(ctx context.Context, id int64, text string) {
	if err := s.notifier.NotifySupervisors(ctx, text); err != nil {
		s.m.notifyErrors.Inc()
		s.log.Error("supervisors not told of an overdue callback", "task", id, "text", text, "err", err)
	}
}

func (s *Service) notifyAgent(ctx context.Context, id int64, agentID, text string) {
	if err := s.notifier.NotifyAgent(ctx, agentID, text); err != nil {
		s.m.notifyErrors.Inc()
		s.log.Warn("agent not told of an overdue callback", "task", id, "agent", agentID, "text", text, "err", err)
	}
}

// Texts. Times are written on the calendar's wall, e.g. "11月27日 16:50".

func (s *Service) when(t time.Time) string { return t.In(s.cal.Location()).Format("1月2日 15:04") }

// missedPart is "13800138000 于 11月27日 16:50 来电未接（共2次）".
func (s *Service) missedPart(t hotline.CallbackTask) string {
	return fmt.Sprintf("%s 于 %s 来电未接（共%d次）", t.Number, s.when(t.FirstMissed), t.MissedCount)
}

func (s *Service) createdText(t hotline.CallbackTask) string {
	return fmt.Sprintf("新回访任务 #%d：%s，请在 %s 前回电并致歉。", t.ID, s.missedPart(t), s.when(t.Deadline))
}

func (s *Service) dueSoonText(t hotline.CallbackTask) string {
	return fmt.Sprintf("回访任务 #%d：%s，请在 %s 前回电并致歉。", t.ID, s.missedPart(t), s.when(t.Deadline))
}

func (s *Service) dueSoonUnassignedText(t hotline.CallbackTask) string {
	return fmt.Sprintf("回访任务 #%d 尚无责任人：%s，须在 %s 前回电并致歉，请指派坐席。", t.ID, s.missedPart(t), s.when(t.Deadline))
}

func (s *Service) overdueSupervisorText(t hotline.CallbackTask) string {
	who := "尚无责任人"
	if t.AgentID != "" {
		who = "责任人 " + t.AgentID
	}
	return fmt.Sprintf("回访超时 #%d：%s，回电期限 %s 已过，仍未回访成功（已尝试%d次），%s，请督办。",
		t.ID, s.missedPart(t), s.when(t.Deadline), t.Attempts, who)
}

func (s *Service) overdueAgentText(t hotline.CallbackTask) string {
	return fmt.Sprintf("回访任务 #%d 已超时：%s，回电期限 %s 已过，已报督察，请立即回电并致歉。", t.ID, s.missedPart(t), s.when(t.Deadline))
}

func (s *Service) overdueDetail(t hotline.CallbackTask) string {
	return fmt.Sprintf("回访任务 #%d：%s，回电期限 %s 已过，已尝试%d次。", t.ID, s.missedPart(t), s.when(t.Deadline), t.Attempts)
}
