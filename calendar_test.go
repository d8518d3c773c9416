package hotline_test

import (
	"bytes"
	"math"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"hotline"
)

// wall is how tests write and compare instants: Shanghai wall time with the
// weekday, so every table row says which day it means.
const wall = "2006-01-02 15:04 Mon"

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at parses a Shanghai wall time written "2006-01-02 15:04"; the weekday is
// optional and checked.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	layout := wall
	if len(s) == len("2006-01-02 15:04") {
		layout = "2006-01-02 15:04"
	}
	v, err := time.ParseInLocation(layout, s, shanghai)
	require.NoError(t, err)
	return v
}

func requireWall(t *testing.T, want string, got time.Time, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want, got.Format(wall), msgAndArgs...)
	require.Equal(t, "Asia/Shanghai", got.Location().String(), "results are in the calendar's location")
}

func newCalendar(t *testing.T, cfg hotline.CalendarConfig) *hotline.Calendar {
	t.Helper()
	c, err := hotline.NewCalendar(cfg)
	require.NoError(t, err)
	return c
}

func TestCalendarAddWorking(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{})
	cases := []struct {
		name string
		from string
		d    time.Duration
		want string
	}{
		{"friday afternoon runs into monday", "2026-11-27 16:50 Fri", 30 * time.Minute, "2026-11-30 08:50 Mon"},
		{"lunch break skipped", "2026-11-30 11:20 Mon", 20 * time.Minute, "2026-11-30 13:10 Mon"},
		{"before opening counts from opening", "2026-11-30 07:00 Mon", 10 * time.Minute, "2026-11-30 08:40 Mon"},
		{"after closing counts from next morning", "2026-11-30 18:00 Mon", 10 * time.Minute, "2026-12-01 08:40 Tue"},
		{"sunday counts from monday", "2026-11-29 10:00 Sun", time.Hour, "2026-11-30 09:30 Mon"},
		{"ending exactly at closing stays at closing", "2026-11-30 11:00 Mon", 30 * time.Minute, "2026-11-30 11:30 Mon"},
		{"zero while open is now", "2026-11-30 09:15 Mon", 0, "2026-11-30 09:15 Mon"},
		{"zero while closed is the next opening", "2026-11-28 09:15 Sat", 0, "2026-11-30 08:30 Mon"},
		{"negative counts as zero", "2026-11-30 12:00 Mon", -time.Hour, "2026-11-30 13:00 Mon"},
		{"one working week", "2026-11-02 08:30 Mon", 5 * 7 * time.Hour, "2026-11-06 17:00 Fri"},
		{"one working week and a minute", "2026-11-02 08:30 Mon", 5*7*time.Hour + time.Minute, "2026-11-09 08:31 Mon"},
		// National Day 2026: Oct 1 (Thu) – Oct 7 (Wed) off; Sun Sep 20 and Sat Oct 10 are make-up workdays.
		{"last workday before national day runs past the holiday", "2026-09-30 16:50 Wed", 30 * time.Minute, "2026-10-08 08:50 Thu"},
		{"friday after national day runs into the make-up saturday", "2026-10-09 16:50 Fri", 30 * time.Minute, "2026-10-10 08:50 Sat"},
		{"make-up sunday before national day is worked", "2026-09-19 10:00 Sat", time.Hour, "2026-09-20 09:30 Sun"},
		{"mid-autumn weekend skipped", "2026-09-24 16:50 Thu", 30 * time.Minute, "2026-09-28 08:50 Mon"},
		// Spring Festival 2026: Sat Feb 14 worked, Feb 15 – Feb 23 off.
		{"into the make-up saturday before spring festival", "2026-02-13 16:50 Fri", 30 * time.Minute, "2026-02-14 08:50 Sat"},
		{"across spring festival", "2026-02-14 16:50 Sat", 30 * time.Minute, "2026-02-24 08:50 Tue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireWall(t, tc.want, cal.AddWorking(at(t, tc.from), tc.d))
		})
	}
	requireWall(t, "2026-11-30 08:45 Mon", cal.AddWorking(time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC), 15*time.Minute),
		"a time given in UTC is read as the same instant")
}

func TestCalendarOpenAndNextOpen(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{})
	cases := []struct {
		name     string
		when     string
		open     bool
		nextOpen string
	}{
		{"workday morning", "2026-11-30 09:00 Mon", true, "2026-11-30 09:00 Mon"},
		{"opening instant is open", "2026-11-30 08:30 Mon", true, "2026-11-30 08:30 Mon"},
		{"closing instant is closed", "2026-11-30 17:00 Mon", false, "2026-12-01 08:30 Tue"},
		{"evening call", "2026-11-30 18:00 Mon", false, "2026-12-01 08:30 Tue"},
		{"lunch break", "2026-11-30 12:00 Mon", false, "2026-11-30 13:00 Mon"},
		{"friday evening", "2026-11-27 18:00 Fri", false, "2026-11-30 08:30 Mon"},
		{"saturday", "2026-11-28 10:00 Sat", false, "2026-11-30 08:30 Mon"},
		{"national day", "2026-10-01 10:00 Thu", false, "2026-10-08 08:30 Thu"},
		{"new year's day", "2026-01-01 10:00 Thu", false, "2026-01-04 08:30 Sun"},
		{"make-up sunday after new year", "2026-01-04 10:00 Sun", true, "2026-01-04 10:00 Sun"},
		{"make-up sunday before national day", "2026-09-20 10:00 Sun", true, "2026-09-20 10:00 Sun"},
		{"make-up saturday after national day", "2026-10-10 16:59 Sat", true, "2026-10-10 16:59 Sat"},
		{"dragon boat friday", "2026-06-19 10:00 Fri", false, "2026-06-22 08:30 Mon"},
		{"past the holiday data the weekly hours apply", "2028-10-02 10:00 Mon", true, "2028-10-02 10:00 Mon"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			when := at(t, tc.when)
			require.Equal(t, tc.open, cal.IsOpen(when))
			requireWall(t, tc.nextOpen, cal.NextOpen(when))
		})
	}
}

func TestCalendarHolidayDataYears(t *testing.T) {
	t.Parallel()
	require.Equal(t, 2027, newCalendar(t, hotline.CalendarConfig{}).HolidayDataLastYear(),
		"lunar-go v1.4.7 carries the holidays through 2027")
	off := false
	require.Zero(t, newCalendar(t, hotline.CalendarConfig{UseNationalHolidays: &off}).HolidayDataLastYear())
}

func TestCalendarPeriods(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{})
	cases := []struct {
		name string
		day  time.Time
		want []string
	}{
		{"workday", at(t, "2026-11-30 00:00"), []string{"2026-11-30 08:30 Mon", "2026-11-30 11:30 Mon", "2026-11-30 13:00 Mon", "2026-11-30 17:00 Mon"}},
		{"make-up saturday has workday hours", at(t, "2026-10-10 23:59"), []string{"2026-10-10 08:30 Sat", "2026-10-10 11:30 Sat", "2026-10-10 13:00 Sat", "2026-10-10 17:00 Sat"}},
		{"holiday", at(t, "2026-10-02 12:00"), nil},
		{"the date is taken in the calendar's zone", time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC), // Monday 04:00 in Shanghai
			[]string{"2026-11-30 08:30 Mon", "2026-11-30 11:30 Mon", "2026-11-30 13:00 Mon", "2026-11-30 17:00 Mon"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range cal.Periods(tc.day) {
				got = append(got, p.Start.Format(wall), p.End.Format(wall))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCalendarLocalOverridesWin(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{
		Closed:       []string{"2026-12-24", "2026-10-10"},
		Open:         []string{"2026-12-26", "2026-10-05"},
		SpecialHours: map[string][]string{"2026-12-31": {"08:30-11:30"}, "2026-10-03": {"09:00-12:00"}},
	})
	cases := []struct {
		name     string
		when     string
		open     bool
		nextOpen string
	}{
		{"closed thursday", "2026-12-24 10:00 Thu", false, "2026-12-25 08:30 Fri"},
		{"closed make-up saturday", "2026-10-10 10:00 Sat", false, "2026-10-12 08:30 Mon"},
		{"open saturday keeps workday hours", "2026-12-26 08:00 Sat", false, "2026-12-26 08:30 Sat"},
		{"open saturday afternoon", "2026-12-26 16:00 Sat", true, "2026-12-26 16:00 Sat"},
		{"open during national day", "2026-10-05 09:00 Mon", true, "2026-10-05 09:00 Mon"},
		{"special half day morning", "2026-12-31 11:00 Thu", true, "2026-12-31 11:00 Thu"},
		{"special half day afternoon is closed, then new year 2027", "2026-12-31 14:00 Thu", false, "2027-01-04 08:30 Mon"},
		{"special hours during national day", "2026-10-03 11:59 Sat", true, "2026-10-03 11:59 Sat"},
		{"national day around the overrides stays closed", "2026-10-04 10:00 Sun", false, "2026-10-05 08:30 Mon"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			when := at(t, tc.when)
			require.Equal(t, tc.open, cal.IsOpen(when))
			requireWall(t, tc.nextOpen, cal.NextOpen(when))
		})
	}
}

func TestCalendarWithoutNationalHolidays(t *testing.T) {
	t.Parallel()
	off := false
	cal := newCalendar(t, hotline.CalendarConfig{UseNationalHolidays: &off})
	require.True(t, cal.IsOpen(at(t, "2026-10-01 10:00")), "a Thursday is a workday without the national data")
	require.False(t, cal.IsOpen(at(t, "2026-10-10 10:00")), "a Saturday is closed without the national data")
}

func TestCalendarAroundTheClock(t *testing.T) {
	t.Parallel()
	day := []string{"00:00-24:00"}
	cal := newCalendar(t, hotline.CalendarConfig{
		Hours:               map[string][]string{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day},
		UseNationalHolidays: new(bool),
	})
	from := at(t, "2026-11-27 22:15 Fri")
	requireWall(t, "2026-11-29 10:15 Sun", cal.AddWorking(from, 36*time.Hour))
	require.Equal(t, 36*time.Hour, cal.WorkingBetween(from, from.Add(36*time.Hour)))
	require.True(t, cal.IsOpen(at(t, "2026-11-28 00:00")))
}

func TestCalendarWorkingBetween(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{})
	cases := []struct {
		name string
		a, b string
		want time.Duration
	}{
		{"over the weekend", "2026-11-27 16:50 Fri", "2026-11-30 08:50 Mon", 30 * time.Minute},
		{"a whole workday", "2026-11-30 07:00 Mon", "2026-11-30 19:00 Mon", 7 * time.Hour},
		{"inside the lunch break", "2026-11-30 11:40 Mon", "2026-11-30 12:50 Mon", 0},
		{"across national day", "2026-09-30 08:00 Wed", "2026-10-09 00:00 Fri", 14 * time.Hour},
		{"b before a", "2026-11-30 10:00 Mon", "2026-11-30 09:00 Mon", 0},
		{"b equal to a", "2026-11-30 10:00 Mon", "2026-11-30 10:00 Mon", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, cal.WorkingBetween(at(t, tc.a), at(t, tc.b)))
		})
	}
	require.Equal(t, time.Duration(math.MaxInt64), cal.WorkingBetween(time.Time{}, at(t, "2026-11-30 10:00")),
		"two thousand years of working time do not fit a Duration")
}

func TestCalendarAddWorkingDays(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{})
	cases := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"two days from friday is tuesday", "2026-11-27 10:00 Fri", 2, "2026-12-01 10:00 Tue"},
		{"after closing clamps to closing", "2026-11-27 18:00 Fri", 2, "2026-12-01 17:00 Tue"},
		{"before opening clamps to opening", "2026-11-30 08:00 Mon", 1, "2026-12-01 08:30 Tue"},
		{"lunch break clamps to the end of the morning", "2026-11-30 12:00 Mon", 1, "2026-12-01 11:30 Tue"},
		{"from a saturday the whole of the n-th workday counts", "2026-11-28 10:00 Sat", 2, "2026-12-01 17:00 Tue"},
		{"over national day", "2026-09-30 10:00 Wed", 1, "2026-10-08 10:00 Thu"},
		{"onto the make-up saturday", "2026-09-30 10:00 Wed", 3, "2026-10-10 10:00 Sat"},
		{"from a holiday", "2026-10-01 10:00 Thu", 1, "2026-10-08 17:00 Thu"},
		{"over spring festival", "2026-02-13 15:00 Fri", 2, "2026-02-24 15:00 Tue"},
		{"zero days is the next opening", "2026-11-28 10:00 Sat", 0, "2026-11-30 08:30 Mon"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireWall(t, tc.want, cal.AddWorkingDays(at(t, tc.from), tc.n))
		})
	}
}

// closedDays lists every date from first up to (not including) end.
func closedDays(t *testing.T, first, end string) []string {
	var days []string
	for d := at(t, first+" 00:00"); d.Before(at(t, end+" 00:00")); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("2006-01-02"))
	}
	return days
}

func TestCalendarSearchesThroughALongClosure(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{Closed: closedDays(t, "2026-12-01", "2027-03-01")})
	from := at(t, "2026-11-30 16:50 Mon")
	requireWall(t, "2027-03-01 08:50 Mon", cal.AddWorking(from, 30*time.Minute))
	requireWall(t, "2027-03-01 16:50 Mon", cal.AddWorkingDays(from, 1))
	require.Equal(t, 30*time.Minute, cal.WorkingBetween(from, at(t, "2027-03-01 08:50")))
}

func TestCalendarGivesUpAfterAYearClosed(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{Closed: closedDays(t, "2026-11-30", "2028-01-01")})
	from := at(t, "2026-11-30 09:00 Mon")
	require.False(t, cal.IsOpen(from))
	require.True(t, cal.NextOpen(from).IsZero(), "a line closed for over a year is treated as never opening")
	require.True(t, cal.AddWorking(from, time.Minute).IsZero())
	require.True(t, cal.AddWorkingDays(from, 1).IsZero())
	require.Zero(t, cal.WorkingBetween(from, at(t, "2028-01-03 10:00")))
	requireWall(t, "2026-11-27 17:00 Fri", cal.AddWorking(at(t, "2026-11-27 16:00"), time.Hour),
		"time up to the closure still counts")
}

func TestCalendarConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		edit    func(c *hotline.CalendarConfig)
		wantErr string
	}{
		{"unknown time zone", func(c *hotline.CalendarConfig) { c.TimeZone = "Mars/Base" },
			`calendar.time_zone: unknown time zone Mars/Base`},
		{"host-dependent time zone", func(c *hotline.CalendarConfig) { c.TimeZone = "Local" },
			`calendar.time_zone: "Local" depends on the host; name a zone such as Asia/Shanghai`},
		{"unknown weekday", func(c *hotline.CalendarConfig) { c.Hours["monday"] = []string{"08:30-11:30"} },
			`calendar.hours.monday: unknown weekday; use mon, tue, wed, thu, fri, sat or sun`},
		{"period ends before it starts", func(c *hotline.CalendarConfig) { c.Hours["mon"] = []string{"08:30-11:30", "13:00-12:00"} },
			`calendar.hours.mon[1]: "13:00-12:00" ends before it starts`},
		{"empty period", func(c *hotline.CalendarConfig) { c.Hours["tue"] = []string{"09:00-09:00"} },
			`calendar.hours.tue[0]: "09:00-09:00" is empty`},
		{"no dash", func(c *hotline.CalendarConfig) { c.Hours["wed"] = []string{"09:00"} },
			`calendar.hours.wed[0]: "09:00" must be written HH:MM-HH:MM`},
		{"hour out of range", func(c *hotline.CalendarConfig) { c.Hours["thu"] = []string{"25:00-26:00"} },
			`calendar.hours.thu[0]: "25:00-26:00": bad time "25:00", want HH:MM from 00:00 to 24:00`},
		{"minute out of range", func(c *hotline.CalendarConfig) { c.Hours["fri"] = []string{"08:00-08:60"} },
			`calendar.hours.fri[0]: "08:00-08:60": bad time "08:60", want HH:MM from 00:00 to 24:00`},
		{"past midnight", func(c *hotline.CalendarConfig) { c.Hours["sat"] = []string{"20:00-24:01"} },
			`calendar.hours.sat[0]: "20:00-24:01": bad time "24:01", want HH:MM from 00:00 to 24:00`},
		{"single-digit hour", func(c *hotline.CalendarConfig) { c.Hours["sun"] = []string{"8:30-11:30"} },
			`calendar.hours.sun[0]: "8:30-11:30": bad time "8:30", want HH:MM from 00:00 to 24:00`},
		{"signed number", func(c *hotline.CalendarConfig) { c.Hours["mon"] = []string{"+8:30-11:30"} },
			`calendar.hours.mon[0]: "+8:30-11:30": bad time "+8:30", want HH:MM from 00:00 to 24:00`},
		{"overlapping periods", func(c *hotline.CalendarConfig) { c.Hours["mon"] = []string{"13:00-17:00", "08:30-13:30"} },
			`calendar.hours.mon[0]: "13:00-17:00" overlaps "08:30-13:30"`},
		{"no open hours", func(c *hotline.CalendarConfig) { c.Hours = map[string][]string{"sat": {}} },
			`calendar.hours: no weekday has open hours`},
		{"unknown make-up weekday", func(c *hotline.CalendarConfig) { c.MakeupWeekday = "monday" },
			`calendar.makeup_weekday: "monday" is not a weekday; use mon, tue, wed, thu, fri, sat or sun`},
		{"make-up weekday without hours", func(c *hotline.CalendarConfig) { c.MakeupWeekday = "sat" },
			`calendar.makeup_weekday: sat has no hours in calendar.hours`},
		{"bad closed date", func(c *hotline.CalendarConfig) { c.Closed = []string{"2026-12-24", "2026-13-01"} },
			`calendar.closed[1]: "2026-13-01" is not a date written YYYY-MM-DD`},
		{"closed date without zero padding", func(c *hotline.CalendarConfig) { c.Closed = []string{"2026-2-3"} },
			`calendar.closed[0]: "2026-2-3" is not a date written YYYY-MM-DD`},
		{"open date that does not exist", func(c *hotline.CalendarConfig) { c.Open = []string{"2026-02-30"} },
			`calendar.open[0]: "2026-02-30" is not a date written YYYY-MM-DD`},
		{"date listed twice", func(c *hotline.CalendarConfig) { c.Closed = []string{"2026-12-24", "2026-12-24"} },
			`calendar.closed[1]: 2026-12-24 is already listed at calendar.closed[0]`},
		{"date both closed and open", func(c *hotline.CalendarConfig) {
			c.Closed = []string{"2026-12-24"}
			c.Open = []string{"2026-12-24"}
		}, `calendar.open[0]: 2026-12-24 is already listed at calendar.closed[0]`},
		{"special hours on a closed date", func(c *hotline.CalendarConfig) {
			c.Closed = []string{"2026-12-31"}
			c.SpecialHours = map[string][]string{"2026-12-31": {"08:30-11:30"}}
		}, `calendar.special_hours.2026-12-31: 2026-12-31 is already listed at calendar.closed[0]`},
		{"special hours without periods", func(c *hotline.CalendarConfig) { c.SpecialHours = map[string][]string{"2026-12-31": {}} },
			`calendar.special_hours.2026-12-31: no periods; list the date under calendar.closed to close it`},
		{"bad special period", func(c *hotline.CalendarConfig) { c.SpecialHours = map[string][]string{"2026-12-31": {"11:30-08:30"}} },
			`calendar.special_hours.2026-12-31[0]: "11:30-08:30" ends before it starts`},
		{"bad special date", func(c *hotline.CalendarConfig) { c.SpecialHours = map[string][]string{"31.12.2026": {"08:30-11:30"}} },
			`calendar.special_hours.31.12.2026: "31.12.2026" is not a date written YYYY-MM-DD`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cfg hotline.CalendarConfig
			cfg.SetDefaults()
			tc.edit(&cfg)
			require.EqualError(t, cfg.Validate(), tc.wantErr)
			_, err := hotline.NewCalendar(cfg)
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
			require.Equal(t, tc.wantErr, hotline.MessageOf(err))
		})
	}
}

func TestCalendarConfigDefaults(t *testing.T) {
	t.Parallel()
	var empty hotline.CalendarConfig
	require.EqualError(t, empty.Validate(), "calendar.time_zone: is empty; name a zone such as Asia/Shanghai",
		"Validate checks the config as given; SetDefaults comes first")

	var cfg hotline.CalendarConfig
	cfg.SetDefaults()
	require.NoError(t, cfg.Validate())
	require.Equal(t, "Asia/Shanghai", cfg.TimeZone)
	require.True(t, *cfg.UseNationalHolidays)
	require.Equal(t, "mon", cfg.MakeupWeekday)
	workday := []string{"08:30-11:30", "13:00-17:00"}
	require.Equal(t, map[string][]string{"mon": workday, "tue": workday, "wed": workday, "thu": workday, "fri": workday}, cfg.Hours)

	off := false
	set := hotline.CalendarConfig{TimeZone: "UTC", Hours: map[string][]string{"sat": {"09:00-12:00"}}, UseNationalHolidays: &off, MakeupWeekday: "sat"}
	set.SetDefaults()
	require.Equal(t, hotline.CalendarConfig{TimeZone: "UTC", Hours: map[string][]string{"sat": {"09:00-12:00"}}, UseNationalHolidays: &off, MakeupWeekday: "sat"}, set,
		"set fields are kept")
}

func TestCalendarConfigFromYAML(t *testing.T) {
	t.Parallel()
	type file struct {
		Calendar hotline.CalendarConfig `yaml:"calendar"`
	}
	decode := func(doc string) (hotline.CalendarConfig, error) {
		var f file
		dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.KnownFields(true)
		err := dec.Decode(&f)
		return f.Calendar, err
	}
	cfg, err := decode(`
calendar:
  time_zone: Asia/Shanghai
  hours:
    mon: ["08:30-11:30", "13:00-17:00"]
    tue: ["08:30-11:30", "13:00-17:00"]
    wed: ["08:30-11:30", "13:00-17:00"]
    thu: ["08:30-11:30", "13:00-17:00"]
    fri: ["08:30-11:30", "13:00-16:00"]
  use_national_holidays: true
  makeup_weekday: mon
  closed: [2026-12-24]
  open: [2026-12-26]
  special_hours:
    2026-12-31: ["08:30-11:30"]
`)
	require.NoError(t, err)
	require.Equal(t, []string{"2026-12-24"}, cfg.Closed, "unquoted dates arrive as written")
	require.Equal(t, map[string][]string{"2026-12-31": {"08:30-11:30"}}, cfg.SpecialHours)
	cal := newCalendar(t, cfg)
	require.False(t, cal.IsOpen(at(t, "2026-12-24 10:00")))
	require.True(t, cal.IsOpen(at(t, "2026-12-26 16:30")), "the open Saturday has Monday's hours")
	require.False(t, cal.IsOpen(at(t, "2026-12-25 16:30")), "Friday closes at 16:00")
	require.False(t, cal.IsOpen(at(t, "2026-12-31 14:00")))

	_, err = decode("calendar:\n  holidays: true\n")
	require.ErrorContains(t, err, "field holidays not found")
}

// daylightSavingSunday has periods inside the hour Berlin skips on
// 2026-03-29 (02:00 becomes 03:00) and repeats on 2026-10-25.
var daylightSavingSunday = []string{"01:00-02:05", "02:10-02:50", "02:55-03:00", "03:15-04:00", "23:00-24:00"}

func TestCalendarDaylightSavingGap(t *testing.T) {
	t.Parallel()
	off := false
	cal := newCalendar(t, hotline.CalendarConfig{
		TimeZone:            "Europe/Berlin",
		Hours:               map[string][]string{"sun": daylightSavingSunday},
		UseNationalHolidays: &off,
		MakeupWeekday:       "sun",
	})
	var got []string
	for _, p := range cal.Periods(time.Date(2026, 3, 29, 12, 0, 0, 0, cal.Location())) {
		got = append(got, p.Start.Format("15:04 MST")+"-"+p.End.Format("15:04 MST"))
	}
	// Wall times in the gap resolve an hour later: 02:05 is 03:05 CEST, so
	// "03:15-04:00" is cut to start where "02:10-02:50" ends, and
	// "02:55-03:00" (03:55-03:00) is gone.
	require.Equal(t, []string{"01:00 CET-03:05 CEST", "03:10 CEST-03:50 CEST", "03:50 CEST-04:00 CEST", "23:00 CEST-00:00 CEST"}, got)
}

// propertyCalendars are the calendars the properties are checked on, each
// with the windows random instants are drawn from.
func propertyCalendars(t *testing.T) []struct {
	name    string
	cal     *hotline.Calendar
	windows [][2]time.Time
} {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	off := false
	return []struct {
		name    string
		cal     *hotline.Calendar
		windows [][2]time.Time
	}{
		{"default", newCalendar(t, hotline.CalendarConfig{}),
			[][2]time.Time{{at(t, "2025-06-01 00:00"), at(t, "2028-06-01 00:00")}}},
		{"overrides", newCalendar(t, hotline.CalendarConfig{
			Closed:       []string{"2026-12-24", "2026-10-10"},
			Open:         []string{"2026-12-26", "2026-10-05"},
			SpecialHours: map[string][]string{"2026-12-31": {"08:30-11:30"}, "2026-10-03": {"09:00-12:00", "12:00-12:30"}},
		}), [][2]time.Time{{at(t, "2026-09-01 00:00"), at(t, "2027-01-31 00:00")}}},
		// Periods inside the daylight-saving gap and fold: Berlin moves from
		// 02:00 to 03:00 on 2026-03-29 and from 03:00 back to 02:00 on 2026-10-25.
		{"daylight saving", newCalendar(t, hotline.CalendarConfig{
			TimeZone: "Europe/Berlin",
			Hours: map[string][]string{
				"sun": daylightSavingSunday,
				"sat": {"00:00-24:00"},
				"wed": {"09:00-12:00"},
			},
			UseNationalHolidays: &off,
			MakeupWeekday:       "wed",
		}), [][2]time.Time{
			{time.Date(2026, 3, 20, 0, 0, 0, 0, berlin), time.Date(2026, 4, 5, 0, 0, 0, 0, berlin)},
			{time.Date(2026, 10, 17, 0, 0, 0, 0, berlin), time.Date(2026, 11, 1, 0, 0, 0, 0, berlin)},
		}},
	}
}

func randomInstant(rng *rand.Rand, windows [][2]time.Time) time.Time {
	w := windows[rng.Intn(len(windows))]
	return w[0].Add(time.Duration(rng.Int63n(int64(w[1].Sub(w[0])))))
}

// randomWorking spreads durations from nanoseconds to 500 working hours
// (about three months).
func randomWorking(rng *rand.Rand) time.Duration {
	return time.Duration(rng.Int63n(1 + int64(500*time.Hour)>>rng.Intn(40)))
}

// atPeriodEnd reports whether r ends one of the periods of its date or of
// the day before (a period ending 24:00 ends at the next midnight).
func atPeriodEnd(cal *hotline.Calendar, r time.Time) bool {
	for _, day := range []time.Time{r, r.AddDate(0, 0, -1)} {
		for _, p := range cal.Periods(day) {
			if p.End.Equal(r) {
				return true
			}
		}
	}
	return false
}

func TestCalendarProperties(t *testing.T) {
	t.Parallel()
	for i, pc := range propertyCalendars(t) {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			cal := pc.cal
			rng := rand.New(rand.NewSource(int64(20261001 + i)))
			for range 2000 {
				from := randomInstant(rng, pc.windows)
				d := randomWorking(rng)
				got := cal.AddWorking(from, d)
				require.Same(t, cal.Location(), got.Location())
				require.False(t, got.Before(from), "AddWorking(%s, %s) = %s", from, d, got)
				require.Equal(t, d, cal.WorkingBetween(from, got), "AddWorking(%s, %s) = %s", from, d, got)
				require.True(t, cal.IsOpen(got) || atPeriodEnd(cal, got), "AddWorking(%s, %s) = %s is closed time", from, d, got)
				more := d + randomWorking(rng)
				require.False(t, cal.AddWorking(from, more).Before(got), "AddWorking(%s, …) not monotonic in d: %s then %s", from, d, more)

				next := cal.NextOpen(from)
				require.True(t, cal.IsOpen(next), "NextOpen(%s) = %s is closed", from, next)
				require.False(t, next.Before(from))
				require.Zero(t, cal.WorkingBetween(from, next), "NextOpen(%s) = %s skips open time", from, next)
				require.Equal(t, next, cal.AddWorking(from, 0))

				mid := from.Add(time.Duration(rng.Int63n(int64(60 * 24 * time.Hour))))
				end := mid.Add(time.Duration(rng.Int63n(int64(60 * 24 * time.Hour))))
				require.Equal(t, cal.WorkingBetween(from, end), cal.WorkingBetween(from, mid)+cal.WorkingBetween(mid, end))
			}
		})
	}
}

func TestCalendarAddWorkingDaysProperties(t *testing.T) {
	t.Parallel()
	for i, pc := range propertyCalendars(t) {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			cal := pc.cal
			rng := rand.New(rand.NewSource(int64(20260217 + i)))
			for range 1000 {
				from := randomInstant(rng, pc.windows)
				n := 1 + rng.Intn(10)
				due := cal.AddWorkingDays(from, n)
				dueDay := due
				if !cal.IsOpen(due) && !slices.ContainsFunc(cal.Periods(due), func(p hotline.Period) bool { return p.End.Equal(due) }) {
					dueDay = due.Add(-time.Nanosecond) // the end of a period closing at 24:00
				}
				periods := cal.Periods(dueDay)
				require.NotEmpty(t, periods, "AddWorkingDays(%s, %d) = %s is not a workday", from, n, due)
				require.False(t, due.Before(periods[0].Start) || due.After(periods[len(periods)-1].End),
					"AddWorkingDays(%s, %d) = %s is outside the day's hours", from, n, due)
				workdays := 0
				for day := from.In(cal.Location()).AddDate(0, 0, 1); day.Format("2006-01-02") < dueDay.Format("2006-01-02"); day = day.AddDate(0, 0, 1) {
					if len(cal.Periods(day)) > 0 {
						workdays++
					}
				}
				require.Equal(t, n-1, workdays, "AddWorkingDays(%s, %d) = %s", from, n, due)

				later := from.Add(time.Duration(rng.Int63n(int64(5 * 24 * time.Hour))))
				require.False(t, cal.AddWorkingDays(later, n).Before(due), "AddWorkingDays(%s, %d) = %s, but from %s it is earlier", from, n, due, later)
			}
		})
	}
}

// countOpenMinutes is AddWorking done the slow way, stepping through whole
// minutes with IsOpen.
func countOpenMinutes(cal *hotline.Calendar, t time.Time, minutes int) time.Time {
	for !cal.IsOpen(t) {
		t = t.Add(time.Minute)
	}
	for minutes > 0 {
		if cal.IsOpen(t) {
			minutes--
		}
		t = t.Add(time.Minute)
	}
	return t
}

func TestCalendarAddWorkingMatchesCountingMinutes(t *testing.T) {
	t.Parallel()
	for i, pc := range propertyCalendars(t) {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewSource(int64(20260501 + i)))
			for range 200 {
				from := randomInstant(rng, pc.windows).Truncate(time.Minute)
				minutes := rng.Intn(8 * 60)
				want := countOpenMinutes(pc.cal, from, minutes)
				require.True(t, want.Equal(pc.cal.AddWorking(from, time.Duration(minutes)*time.Minute)),
					"AddWorking(%s, %dm) should be %s", from, minutes, want)
			}
		})
	}
}

// BenchmarkCalendarAddWorking adds three months of working time (65 days of
// 7 hours) across the 2026 National Day holiday.
func BenchmarkCalendarAddWorking(b *testing.B) {
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(b, err)
	from := time.Date(2026, 9, 1, 16, 50, 0, 0, cal.Location())
	for b.Loop() {
		cal.AddWorking(from, 65*7*time.Hour)
	}
}

func TestCalendarSubWorking(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{})
	cases := []struct {
		name string
		to   string
		d    time.Duration
		want string
	}{
		{"inside a period", "2026-11-30 10:00 Mon", 30 * time.Minute, "2026-11-30 09:30 Mon"},
		{"over the lunch break", "2026-11-30 13:10 Mon", 30 * time.Minute, "2026-11-30 11:10 Mon"},
		{"from the start of a period", "2026-11-30 13:00 Mon", 10 * time.Minute, "2026-11-30 11:20 Mon"},
		{"from the end of a period", "2026-11-30 17:00 Mon", 10 * time.Minute, "2026-11-30 16:50 Mon"},
		{"back to a period start", "2026-11-30 09:00 Mon", 30 * time.Minute, "2026-11-30 08:30 Mon"},
		{"over the night", "2026-12-01 09:00 Tue", time.Hour, "2026-11-30 16:30 Mon"},
		{"over the weekend", "2026-11-30 08:40 Mon", time.Hour, "2026-11-27 16:10 Fri"},
		{"a whole workday", "2026-12-01 08:30 Tue", 7 * time.Hour, "2026-11-30 08:30 Mon"},
		{"from closed time", "2026-11-29 12:00 Sun", 10 * time.Minute, "2026-11-27 16:50 Fri"},
		{"zero from closed time", "2026-11-28 10:00 Sat", 0, "2026-11-27 17:00 Fri"},
		{"zero in the lunch break", "2026-11-30 12:00 Mon", 0, "2026-11-30 11:30 Mon"},
		{"zero from open time", "2026-11-30 10:00 Mon", 0, "2026-11-30 10:00 Mon"},
		{"zero at a period start", "2026-11-30 13:00 Mon", 0, "2026-11-30 13:00 Mon"},
		{"negative counts as zero", "2026-11-30 10:00 Mon", -5 * time.Minute, "2026-11-30 10:00 Mon"},
		// National Day 2026: October 1 to 7 closed.
		{"over national day", "2026-10-08 09:00 Thu", time.Hour, "2026-09-30 16:30 Wed"},
		// 2026-10-10 is a Saturday made a workday (调休).
		{"back into a make-up Saturday", "2026-10-12 08:40 Mon", time.Hour, "2026-10-10 16:10 Sat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			to := at(t, tc.to)
			got := cal.SubWorking(to, tc.d)
			requireWall(t, tc.want, got)
			require.Equal(t, max(tc.d, 0), cal.WorkingBetween(got, to))
		})
	}
}

func TestCalendarSubWorkingGivesUpAfterAYearClosed(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, hotline.CalendarConfig{Closed: closedDays(t, "2027-01-01", "2028-02-01")})
	require.True(t, cal.SubWorking(at(t, "2028-02-10 10:00"), 7*24*time.Hour).IsZero(),
		"a week of working time cannot be found before more than a year closed")
	requireWall(t, "2026-12-31 16:50 Thu", cal.SubWorking(at(t, "2027-06-01 10:00"), 10*time.Minute),
		"less than a year closed is searched through")
}

// TestCalendarSubWorkingProperties: for t in open hours or at the end of a
// period, SubWorking(t, d) is the latest open instant with exactly d of
// working time up to t, and AddWorking undoes it.
func TestCalendarSubWorkingProperties(t *testing.T) {
	t.Parallel()
	for i, pc := range propertyCalendars(t) {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			cal := pc.cal
			rng := rand.New(rand.NewSource(int64(20261130 + i)))
			for range 2000 {
				to := cal.NextOpen(randomInstant(rng, pc.windows))
				if periods := cal.Periods(to); rng.Intn(3) == 0 && len(periods) > 0 {
					to = periods[rng.Intn(len(periods))].End // at the end of a period
				}
				d := randomWorking(rng)
				got := cal.SubWorking(to, d)
				require.Same(t, cal.Location(), got.Location())
				require.False(t, got.After(to), "SubWorking(%s, %s) = %s", to, d, got)
				require.Equal(t, d, cal.WorkingBetween(got, to), "SubWorking(%s, %s) = %s", to, d, got)
				if d == 0 {
					require.True(t, got.Equal(to), "SubWorking(%s, 0) = %s", to, got)
					continue
				}
				require.True(t, cal.IsOpen(got), "SubWorking(%s, %s) = %s is closed time", to, d, got)
				require.Less(t, cal.WorkingBetween(got.Add(time.Nanosecond), to), d, "SubWorking(%s, %s) = %s is not the latest", to, d, got)
				// AddWorking goes back to t, or to the end of the period
				// before when t starts a period: the same working time.
				back := cal.AddWorking(got, d)
				require.False(t, back.After(to), "AddWorking(SubWorking(%s, %s)) = %s", to, d, back)
				require.Zero(t, cal.WorkingBetween(back, to), "AddWorking(SubWorking(%s, %s)) = %s", to, d, back)
				more := d + randomWorking(rng)
				require.False(t, cal.SubWorking(to, more).After(got), "SubWorking(%s, …) not monotonic in d: %s then %s", to, d, more)
			}
		})
	}
}

// BenchmarkCalendarSubWorking goes back three months of working time (65
// days of 7 hours) across the 2026 National Day holiday.
func BenchmarkCalendarSubWorking(b *testing.B) {
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(b, err)
	to := time.Date(2026, 12, 1, 9, 0, 0, 0, cal.Location())
	for b.Loop() {
		cal.SubWorking(to, 65*7*time.Hour)
	}
}
