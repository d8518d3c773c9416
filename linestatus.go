package hotline

import "time"

// LineStatus is whether the line is staffed at a moment and why, as the
// supervisors' wall shows it (clause 4.1.4).
type LineStatus struct {
	Open bool `json:"open"`
	// Reason is the calendar rule that decided the day, in Chinese:
	// 工作日, 法定节假日, 调休上班, 本地休息日, 本地上班日, 特殊工作时间, 周末/非工作日.
	Reason string `json:"reason"`
	// Until is when this changes: the end of the open period, or the next
	// opening (zero when the calendar never opens again).
	Until time.Time `json:"until,omitzero"`
}

// Status says whether the line is open at t, which rule of the calendar
// decided the day, and until when.
func (c *Calendar) Status(t time.Time) LineStatus {
	t = t.In(c.loc)
	day := dateOf(t)
	st := LineStatus{Reason: c.dayRule(day)}
	for _, p := range c.Periods(t) {
		if !t.Before(p.Start) && t.Before(p.End) {
			st.Open, st.Until = true, p.End
			return st
		}
	}
	if len(c.hoursOn(day)) > 0 && st.Reason == "工作日" {
		st.Reason = "工作日，非接听时段"
	}
	st.Until = c.NextOpen(t)
	return st
}

// dayRule names the rule of hoursOn's precedence that gives day its hours.
func (c *Calendar) dayRule(day civilDate) string {
	if hours, ok := c.overrides[day]; ok {
		switch {
		case hours == nil:
			return "本地休息日"
		case len(hours) > 0 && sameSpans(hours, c.makeup):
			return "本地上班日"
		}
		return "特殊工作时间"
	}
	if makeup, ok := c.national[day]; ok {
		if makeup {
			return "调休上班"
		}
		return "法定节假日"
	}
	if len(c.week[day.weekday()]) == 0 {
		return "周末/非工作日"
	}
	return "工作日"
}

func sameSpans(a, b []span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
