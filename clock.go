package hotline

import "time"

// Clock is injected wherever a rule needs the time, so tests control it.
type Clock func() time.Time

// UnixMilli converts t to the storage form: UTC unix milliseconds, 0 for the
// zero time (meaning "not yet").
func UnixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromUnixMilli is the inverse of UnixMilli: 0 is the zero time.
func FromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
