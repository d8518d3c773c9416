package hotline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestLimiterBacksOffAfterMaxFailures(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	l := hotline.NewLimiter(func() time.Time { return now }, 3, 15*time.Minute, time.Second, 8*time.Second)
	require.Zero(t, l.Fail("1001"))
	require.Zero(t, l.Fail("1001"))
	require.Equal(t, time.Second, l.Fail("1001"), "the third failure imposes the base wait")
	require.Equal(t, time.Second, l.Wait("1001"))
	require.Zero(t, l.Wait("1002"), "keys are apart")
	now = now.Add(time.Second)
	require.Zero(t, l.Wait("1001"), "the wait has passed")
	require.Equal(t, 2*time.Second, l.Fail("1001"), "each further failure doubles it")
	require.Equal(t, 4*time.Second, l.Fail("1001"))
	require.Equal(t, 8*time.Second, l.Fail("1001"))
	require.Equal(t, 8*time.Second, l.Fail("1001"), "at most MaxWait")
	now = now.Add(3 * time.Second)
	require.Equal(t, 5*time.Second, l.Wait("1001"))
	l.Reset("1001")
	require.Zero(t, l.Wait("1001"))

	// Failures older than the window are forgotten.
	l.Fail("x")
	l.Fail("x")
	now = now.Add(15 * time.Minute)
	require.Zero(t, l.Fail("x"), "a fresh count")
}
