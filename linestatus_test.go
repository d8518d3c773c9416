package hotline_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
)

// The wall says whether the line is open, which rule decided the day, and
// until when.
func TestCalendarStatus(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{
		Closed:       []string{"2026-12-24"},
		Open:         []string{"2026-12-26"},
		SpecialHours: map[string][]string{"2026-12-31": {"08:30-11:30"}},
	})
	cases := []struct {
		when   string
		open   bool
		reason string
		until  string
	}{
		{"2026-11-30 09:00 Mon", true, "工作日", "2026-11-30 11:30 Mon"},
		{"2026-11-30 12:00 Mon", false, "工作日，非接听时段", "2026-11-30 13:00 Mon"},
		{"2026-11-28 10:00 Sat", false, "周末/非工作日", "2026-11-30 08:30 Mon"},
		{"2026-10-01 10:00 Thu", false, "法定节假日", "2026-10-08 08:30 Thu"},
		{"2026-09-20 10:00 Sun", true, "调休上班", "2026-09-20 11:30 Sun"},
		{"2026-12-24 10:00 Thu", false, "本地休息日", "2026-12-25 08:30 Fri"},
		{"2026-12-26 10:00 Sat", true, "本地上班日", "2026-12-26 11:30 Sat"},
		{"2026-12-31 14:00 Thu", false, "特殊工作时间", "2027-01-04 08:30 Mon"},
	}
	for _, tc := range cases {
		st := cal.Status(at(t, tc.when))
		require.Equal(t, tc.open, st.Open, tc.when)
		require.Equal(t, tc.reason, st.Reason, tc.when)
		requireWall(t, tc.until, st.Until, tc.when)
	}
}
