package hotline_test

import (
	"fmt"
	"time"

	"hotline"
)

// A call missed at 16:50 on the last workday before National Day 2026
// (Oct 1–7 off) must be called back within 30 working minutes.
func ExampleCalendar_AddWorking() {
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{}) // the defaults: Mon–Fri 08:30-11:30 and 13:00-17:00 in Asia/Shanghai, national holidays
	if err != nil {
		fmt.Println(err)
		return
	}
	missed := time.Date(2026, 9, 30, 16, 50, 0, 0, cal.Location())
	fmt.Println(cal.AddWorking(missed, 30*time.Minute).Format("2006-01-02 15:04 Mon"))
	// Output: 2026-10-08 08:50 Thu
}

// A reply promised on a Friday morning "within 2 working days".
func ExampleCalendar_AddWorkingDays() {
	cal, err := hotline.NewCalendar(hotline.CalendarConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	promised := time.Date(2026, 11, 27, 10, 0, 0, 0, cal.Location())
	fmt.Println(cal.AddWorkingDays(promised, 2).Format("2006-01-02 15:04 Mon"))
	// Output: 2026-12-01 10:00 Tue
}
