package hotline_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func FuzzCalendarAddWorking(f *testing.F) {
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(f, err)
	f.Add(int64(0), int64(0))
	f.Add(int64(time.Date(2026, 9, 30, 8, 50, 0, 0, time.UTC).Sub(fuzzEpoch)), int64(30*time.Minute))
	f.Add(int64(-1), int64(-1))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add(int64(math.MinInt64), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, offset, working int64) {
		// Bounded to what deadlines need: a century of instants, up to a
		// year of working time either side of zero.
		from := fuzzEpoch.Add(time.Duration(offset % int64(100*365*24*time.Hour)))
		d := time.Duration(working % int64(2000*time.Hour))
		got := cal.AddWorking(from, d)
		require.False(t, got.Before(from), "AddWorking(%s, %s) = %s", from, d, got)
		require.Equal(t, max(d, 0), cal.WorkingBetween(from, got), "AddWorking(%s, %s) = %s", from, d, got)
		require.True(t, cal.IsOpen(got) || atPeriodEnd(cal, got), "AddWorking(%s, %s) = %s is closed time", from, d, got)
	})
}

var fuzzEpoch = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)

func FuzzCalendarHours(f *testing.F) {
	for _, seed := range []string{"08:30-11:30", "13:00-12:00", "00:00-24:00", "24:00-24:00", "08:30 - 11:30", "-", "", "+8:30-11:30", "０8:30-11:30", "08:30-11:30-12:00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, period string) {
		cfg := hotline.CalendarConfig{Hours: map[string][]string{"mon": {period}}}
		cfg.SetDefaults()
		if err := cfg.Validate(); err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "calendar.hours.mon[0]: "), "the error names the key: %s", err)
			return
		}
		cal, err := hotline.NewCalendar(cfg)
		require.NoError(t, err)
		monday := at(t, "2026-11-30 00:00 Mon")
		periods := cal.Periods(monday)
		require.Len(t, periods, 1)
		require.True(t, periods[0].Start.Before(periods[0].End))
		require.False(t, periods[0].Start.Before(monday))
		require.False(t, periods[0].End.After(monday.AddDate(0, 0, 1)))
	})
}
