package hotline

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on hosts without a zoneinfo database

	"github.com/6tail/lunar-go/HolidayUtil"
)

// CalendarConfig is the `calendar:` section of the service config: when the
// hotline is staffed (clause 4.1.4). Callback deadlines (6.1) and promised
// replies (6.2) count only this working time.
//
//	calendar:
//	  time_zone: Asia/Shanghai
//	  hours:                      # weekdays left out are closed
//	    mon: ["08:30-11:30", "13:00-17:00"]
//	    tue: ["08:30-11:30", "13:00-17:00"]
//	    wed: ["08:30-11:30", "13:00-17:00"]
//	    thu: ["08:30-11:30", "13:00-17:00"]
//	    fri: ["08:30-11:30", "13:00-17:00"]
//	  use_national_holidays: true
//	  makeup_weekday: mon
//	  closed: ["2026-12-24"]
//	  open: ["2026-12-26"]
//	  special_hours:
//	    "2026-12-31": ["08:30-11:30"]
//
// Which hours a date has, first rule that applies: special_hours, closed,
// open, a national public holiday (closed), a national make-up workday
// (调休, open), otherwise the weekday's hours.
type CalendarConfig struct {
	// TimeZone is the IANA zone the hours and dates are written in.
	// Default Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
	// Hours lists each weekday's open periods, keyed mon, tue, wed, thu,
	// fri, sat, sun. A period is "HH:MM-HH:MM" in 24-hour wall time, open
	// from the first time up to (not including) the second; "24:00" may end
	// a period. A weekday left out or with an empty list is closed. Default
	// mon–fri 08:30-11:30 and 13:00-17:00.
	Hours map[string][]string `yaml:"hours"`
	// UseNationalHolidays closes the public holidays and opens the make-up
	// workdays (调休) published by the State Council, as compiled into
	// github.com/6tail/lunar-go. Years past that data follow the weekly
	// hours alone. Default true.
	UseNationalHolidays *bool `yaml:"use_national_holidays"`
	// MakeupWeekday names the weekday whose hours a national make-up workday
	// and a date under open are staffed with (a make-up Saturday is a full
	// workday). It must have hours. Default mon.
	MakeupWeekday string `yaml:"makeup_weekday"`
	// Closed lists local dates ("YYYY-MM-DD") the line is closed, whatever
	// their weekday or the national data say.
	Closed []string `yaml:"closed"`
	// Open lists local dates ("YYYY-MM-DD") the line is open with the hours
	// of makeup_weekday, whatever their weekday or the national data say.
	Open []string `yaml:"open"`
	// SpecialHours gives a date its own periods, written as in hours, e.g.
	// a half day before a holiday. A date may appear in only one of closed,
	// open and special_hours.
	SpecialHours map[string][]string `yaml:"special_hours"`
}

// weekdayKeys are the hours keys, indexed by time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

const dateLayout = "2006-01-02"

// SetDefaults fills unset fields.
func (c *CalendarConfig) SetDefaults() {
	if c.TimeZone == "" {
		c.TimeZone = "Asia/Shanghai"
	}
	if c.Hours == nil {
		c.Hours = make(map[string][]string, 5)
		for _, day := range weekdayKeys[time.Monday : time.Friday+1] {
			c.Hours[day] = []string{"08:30-11:30", "13:00-17:00"}
		}
	}
	if c.UseNationalHolidays == nil {
		on := true
		c.UseNationalHolidays = &on
	}
	if c.MakeupWeekday == "" {
		c.MakeupWeekday = weekdayKeys[time.Monday]
	}
}

// Validate reports the first bad field, named by its YAML key under "calendar.".
func (c CalendarConfig) Validate() error {
	_, err := c.rules()
	return err
}

// span is an open period as minutes after local midnight; end may be 1440.
type span struct{ start, end int }

// calendarRules is a valid config in the form the calendar looks things up.
type calendarRules struct {
	loc         *time.Location
	week        [7][]span // by time.Weekday
	makeup      []span
	overrides   map[civilDate][]span // a nil entry closes the date
	useNational bool
}

func (c CalendarConfig) rules() (calendarRules, error) {
	r := calendarRules{overrides: map[civilDate][]span{}}
	switch c.TimeZone {
	case "":
		return r, fmt.Errorf("calendar.time_zone: is empty; name a zone such as Asia/Shanghai")
	case "Local":
		return r, fmt.Errorf("calendar.time_zone: \"Local\" depends on the host; name a zone such as Asia/Shanghai")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return r, fmt.Errorf("calendar.time_zone: %w", err)
	}
	r.loc = loc

	for _, key := range slices.Sorted(maps.Keys(c.Hours)) {
		if !slices.Contains(weekdayKeys[:], key) {
			return r, fmt.Errorf("calendar.hours.%s: unknown weekday; use mon, tue, wed, thu, fri, sat or sun", key)
		}
	}
	anyHours := false
	for i := range weekdayKeys {
		day := (time.Monday + time.Weekday(i)) % 7 // report mon first, sun last
		key := weekdayKeys[day]
		if r.week[day], err = parsePeriods("calendar.hours."+key, c.Hours[key]); err != nil {
			return r, err
		}
		anyHours = anyHours || len(r.week[day]) > 0
	}
	if !anyHours {
		return r, fmt.Errorf("calendar.hours: no weekday has open hours")
	}

	makeupDay := slices.Index(weekdayKeys[:], c.MakeupWeekday)
	switch {
	case makeupDay < 0:
		return r, fmt.Errorf("calendar.makeup_weekday: %q is not a weekday; use mon, tue, wed, thu, fri, sat or sun", c.MakeupWeekday)
	case len(r.week[makeupDay]) == 0:
		return r, fmt.Errorf("calendar.makeup_weekday: %s has no hours in calendar.hours", c.MakeupWeekday)
	}
	r.makeup = r.week[makeupDay]
	r.useNational = c.UseNationalHolidays == nil || *c.UseNationalHolidays

	listedAt := map[civilDate]string{}
	addDate := func(key, value string, hours []span) error {
		day, err := time.Parse(dateLayout, value)
		if err != nil {
			return fmt.Errorf("%s: %q is not a date written YYYY-MM-DD", key, value)
		}
		date := dateOf(day)
		if other, dup := listedAt[date]; dup {
			return fmt.Errorf("%s: %s is already listed at %s", key, value, other)
		}
		listedAt[date] = key
		r.overrides[date] = hours
		return nil
	}
	for i, value := range c.Closed {
		if err := addDate(fmt.Sprintf("calendar.closed[%d]", i), value, nil); err != nil {
			return r, err
		}
	}
	for i, value := range c.Open {
		if err := addDate(fmt.Sprintf("calendar.open[%d]", i), value, r.makeup); err != nil {
			return r, err
		}
	}
	for _, value := range slices.Sorted(maps.Keys(c.SpecialHours)) {
		key := "calendar.special_hours." + value
		if len(c.SpecialHours[value]) == 0 {
			return r, fmt.Errorf("%s: no periods; list the date under calendar.closed to close it", key)
		}
		hours, err := parsePeriods(key, c.SpecialHours[value])
		if err != nil {
			return r, err
		}
		if err := addDate(key, value, hours); err != nil {
			return r, err
		}
	}
	return r, nil
}

// parsePeriods parses one day's periods and sorts them; key[i] names each
// period in errors.
func parsePeriods(key string, periods []string) ([]span, error) {
	spans := make([]span, len(periods))
	for i, p := range periods {
		s, err := parsePeriod(p)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		spans[i] = s
	}
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(spans[a].start, spans[b].start) })
	sorted := make([]span, len(spans))
	for i, at := range order {
		sorted[i] = spans[at]
		if i > 0 && sorted[i].start < sorted[i-1].end {
			return nil, fmt.Errorf("%s[%d]: %q overlaps %q", key, at, periods[at], periods[order[i-1]])
		}
	}
	return sorted, nil
}

// parsePeriod parses "HH:MM-HH:MM".
func parsePeriod(s string) (span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("%q must be written HH:MM-HH:MM", s)
	}
	start, err := parseClock(strings.TrimSpace(from))
	if err != nil {
		return span{}, fmt.Errorf("%q: %w", s, err)
	}
	end, err := parseClock(strings.TrimSpace(to))
	if err != nil {
		return span{}, fmt.Errorf("%q: %w", s, err)
	}
	switch {
	case end < start:
		return span{}, fmt.Errorf("%q ends before it starts", s)
	case end == start:
		return span{}, fmt.Errorf("%q is empty", s)
	}
	return span{start, end}, nil
}

// parseClock parses "HH:MM" from 00:00 to 24:00 into minutes after midnight.
func parseClock(s string) (int, error) {
	bad := fmt.Errorf("bad time %q, want HH:MM from 00:00 to 24:00", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m > 0) {
		return 0, bad
	}
	return h*60 + m, nil
}

// civilDate is a date on the calendar's wall, without a zone.
type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

func (d civilDate) next() civilDate {
	return dateOf(time.Date(d.year, d.month, d.day+1, 0, 0, 0, 0, time.UTC))
}

func (d civilDate) prev() civilDate {
	return dateOf(time.Date(d.year, d.month, d.day-1, 0, 0, 0, 0, time.UTC))
}

func (d civilDate) weekday() time.Weekday {
	return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, time.UTC).Weekday()
}

// at is the instant minute minutes after d's midnight on the wall of loc
// (1440 is the next midnight).
func (d civilDate) at(minute int, loc *time.Location) time.Time {
	return time.Date(d.year, d.month, d.day, 0, minute, 0, 0, loc)
}

// nationalTable maps every date in lunar-go's holiday data to true for a
// make-up workday (调休) and false for a public holiday, and gives the last
// year the data covers. The data is compiled into the library, so it is
// read once.
type nationalTable struct {
	days     map[civilDate]bool
	lastYear int
}

// firstHolidayDataYear is where lunar-go's data starts (2001-12-29).
const firstHolidayDataYear = 2001

var loadNationalTable = sync.OnceValues(func() (nationalTable, error) {
	table := nationalTable{days: map[civilDate]bool{}}
	for year := firstHolidayDataYear; ; year++ {
		list := HolidayUtil.GetHolidaysByYear(year)
		if list.Len() == 0 {
			return table, nil
		}
		table.lastYear = year
		for e := list.Front(); e != nil; e = e.Next() {
			h, ok := e.Value.(*HolidayUtil.Holiday)
			if !ok {
				return table, fmt.Errorf("holiday data for %d holds a %T", year, e.Value)
			}
			day, err := time.Parse(dateLayout, h.GetDay())
			if err != nil {
				return table, fmt.Errorf("holiday data for %d: %w", year, err)
			}
			table.days[dateOf(day)] = h.IsWork()
		}
	}
})

// maxClosedDays bounds every search for the next open period: a calendar
// closed this many days in a row is treated as closed for good, so a
// search can never run forever.
const maxClosedDays = 366

// Period is one stretch of open hours, from Start up to (not including) End,
// in the calendar's location.
type Period struct {
	Start time.Time
	End   time.Time
}

// Calendar answers when the hotline is staffed and does working-time
// arithmetic for deadlines. It is immutable and safe for concurrent use.
// Times may be in any location; results are in the calendar's location.
//
// A calendar that stays closed more than a year in a row (only possible
// with a long closed list) is treated as never opening again: searches past
// such a gap give up and return the zero Time.
type Calendar struct {
	calendarRules
	national         map[civilDate]bool // nil when national holidays are off
	nationalLastYear int
}

// NewCalendar builds a calendar from cfg, filling unset fields with their
// defaults. A config Validate refuses is a KindInvalid error with the same
// message.
func NewCalendar(cfg CalendarConfig) (*Calendar, error) {
	const op = "hotline.NewCalendar"
	cfg.SetDefaults()
	rules, err := cfg.rules()
	if err != nil {
		return nil, WrapError(KindInvalid, op, err)
	}
	c := &Calendar{calendarRules: rules}
	if rules.useNational {
		table, err := loadNationalTable()
		if err != nil {
			return nil, WrapError(KindInternal, op, err)
		}
		c.national, c.nationalLastYear = table.days, table.lastYear
	}
	return c, nil
}

// Location is the zone the hours are written in and results are given in.
func (c *Calendar) Location() *time.Location { return c.loc }

// HolidayDataLastYear is the last year the national holiday data covers, or
// 0 when national holidays are off. Later dates follow the weekly hours
// alone until the data (the lunar-go module) is updated.
func (c *Calendar) HolidayDataLastYear() int { return c.nationalLastYear }

// Periods returns the open periods of day's date in the calendar's
// location, in order; none when the line is closed that day.
func (c *Calendar) Periods(day time.Time) []Period {
	return c.appendPeriods(nil, dateOf(day.In(c.loc)))
}

// IsOpen reports whether the line is staffed at t.
func (c *Calendar) IsOpen(t time.Time) bool {
	t = t.In(c.loc)
	for _, p := range c.Periods(t) {
		if !t.Before(p.Start) && t.Before(p.End) {
			return true
		}
	}
	return false
}

// NextOpen returns t when the line is open at t, else the next instant it
// opens.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	t = t.In(c.loc)
	for p := range c.openPeriods(t) {
		return later(p.Start, t)
	}
	return time.Time{}
}

// AddWorking returns the instant d of working time after t: counting starts
// at NextOpen(t) and skips closed hours, so 30 working minutes after a
// Friday 16:50 (closing 17:00) is the next workday's 08:50. The result is
// open time or the end of a period (when d ends exactly there). A negative
// d counts as zero.
func (c *Calendar) AddWorking(t time.Time, d time.Duration) time.Time {
	t = t.In(c.loc)
	d = max(d, 0)
	for p := range c.openPeriods(t) {
		start := later(p.Start, t)
		left := p.End.Sub(start)
		if d <= left {
			return start.Add(d)
		}
		d -= left
	}
	return time.Time{}
}

// SubWorking returns the instant d of working time before t: the latest
// instant s with WorkingBetween(s, t) == d. Counting back starts at the
// latest instant at or before t that is open time or the end of a period,
// and skips closed hours, so 1 working hour before a Tuesday 09:00 (opening
// 08:30) is Monday 16:30 (closing 17:00). The result is open time, or the
// end of a period when d is zero and t is closed. A negative d counts as
// zero. Like AddWorking it gives up (the zero Time) past a year closed.
func (c *Calendar) SubWorking(t time.Time, d time.Duration) time.Time {
	t = t.In(c.loc)
	d = max(d, 0)
	for p := range c.openPeriodsBefore(t) {
		end := earlier(p.End, t)
		left := end.Sub(p.Start)
		if d <= left {
			return end.Add(-d)
		}
		d -= left
	}
	return time.Time{}
}

// WorkingBetween returns the working time from a to b, 0 when b is not
// after a. Like time.Time.Sub it saturates at the largest Duration (about
// 292 years, reached from the zero Time).
func (c *Calendar) WorkingBetween(a, b time.Time) time.Duration {
	a = a.In(c.loc)
	if !b.After(a) {
		return 0
	}
	var total time.Duration
	for p := range c.openPeriods(a) {
		if !p.Start.Before(b) {
			break
		}
		part := earlier(p.End, b).Sub(later(p.Start, a))
		if part > math.MaxInt64-total {
			return math.MaxInt64
		}
		total += part
	}
	return total
}

// AddWorkingDays returns the due time of "within n working days" from t.
// A workday is a date with open hours; the result lies on the n-th workday
// after t's date, counted from the next day, so 2 working days from a Friday
// is Tuesday when Monday and Tuesday are workdays. On that day it keeps t's
// wall-clock time, clamped into the hours: a time before the first period
// moves to its start, one in a break or after the last period to the end of
// the period before. When t's date has no hours (a weekend, a holiday), the
// result is the end of that workday's hours: counting starts on the next
// workday and the whole of it counts. n < 1 returns NextOpen(t).
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	t = t.In(c.loc)
	if n < 1 {
		return c.NextOpen(t)
	}
	day := dateOf(t)
	fromClosedDay := len(c.appendPeriods(nil, day)) == 0
	var periods []Period
	for closed := 0; closed <= maxClosedDays; {
		day = day.next()
		periods = c.appendPeriods(periods[:0], day)
		if len(periods) == 0 {
			closed++
			continue
		}
		closed = 0
		if n--; n > 0 {
			continue
		}
		if fromClosedDay {
			return periods[len(periods)-1].End
		}
		wall := time.Date(day.year, day.month, day.day, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), c.loc)
		return clampInto(periods, wall)
	}
	return time.Time{}
}

// clampInto moves at into periods (of at's date, in order): before the
// first it moves to its start, in a break or after the last to the end of
// the period before.
func clampInto(periods []Period, at time.Time) time.Time {
	if at.Before(periods[0].Start) {
		return periods[0].Start
	}
	end := periods[0].End
	for _, p := range periods {
		if at.Before(p.Start) {
			break
		}
		if at.Before(p.End) {
			return at
		}
		end = p.End
	}
	return end
}

// openPeriods yields, in order, the open periods that end after t (which
// is in c.loc), whole: the first may have begun before t. It stops after
// maxClosedDays days in a row without hours.
func (c *Calendar) openPeriods(t time.Time) iter.Seq[Period] {
	return func(yield func(Period) bool) {
		var periods []Period
		day := dateOf(t)
		for closed := 0; closed <= maxClosedDays; day = day.next() {
			periods = c.appendPeriods(periods[:0], day)
			if len(periods) == 0 {
				closed++
				continue
			}
			closed = 0
			for _, p := range periods {
				if p.End.After(t) && !yield(p) {
					return
				}
			}
		}
	}
}

// openPeriodsBefore yields, latest first, the open periods that begin at
// or before t (which is in c.loc), whole: the first may end after t. It stops
// after maxClosedDays days in a row without hours.
func (c *Calendar) openPeriodsBefore(t time.Time) iter.Seq[Period] {
	return func(yield func(Period) bool) {
		var periods []Period
		day := dateOf(t)
		for closed := 0; closed <= maxClosedDays; day = day.prev() {
			periods = c.appendPeriods(periods[:0], day)
			if len(periods) == 0 {
				closed++
				continue
			}
			closed = 0
			for i := len(periods) - 1; i >= 0; i-- {
				if p := periods[i]; !p.Start.After(t) && !yield(p) {
					return
				}
			}
		}
	}
}

// appendPeriods appends day's open periods to dst as instants.
func (c *Calendar) appendPeriods(dst []Period, day civilDate) []Period {
	for _, s := range c.hoursOn(day) {
		start, end := day.at(s.start, c.loc), day.at(s.end, c.loc)
		// Wall times inside a daylight-saving gap resolve past it, which can
		// push a start behind the previous end or an end before its start.
		if n := len(dst); n > 0 {
			start = later(start, dst[n-1].End)
		}
		if start.Before(end) {
			dst = append(dst, Period{Start: start, End: end})
		}
	}
	return dst
}

// hoursOn applies the precedence documented on CalendarConfig.
func (c *Calendar) hoursOn(day civilDate) []span {
	if hours, ok := c.overrides[day]; ok {
		return hours
	}
	if makeup, ok := c.national[day]; ok {
		if makeup {
			return c.makeup
		}
		return nil
	}
	return c.week[day.weekday()]
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
