package hotline_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestFirstAnswerStands(t *testing.T) {
	t.Parallel()
	arrived := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	c := hotline.Call{ID: "c1", State: hotline.CallRinging, ArrivedAt: arrived}
	require.NoError(t, c.Answer("1002", arrived.Add(7*time.Second)))
	err := c.Answer("1001", arrived.Add(7*time.Second))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err))
	require.Equal(t, "1002", c.FirstResponsibleAgent)
	c.End(arrived.Add(67*time.Second), hotline.MissedAbandoned)
	require.Equal(t, hotline.CallCompleted, c.State)
	require.Empty(t, c.MissedReason, "an answered call is never missed")
	require.Equal(t, 7.0, c.WaitSeconds())
	require.Equal(t, 60.0, c.TalkSeconds())
}

func TestUnansweredCallIsMissedWithReason(t *testing.T) {
	t.Parallel()
	arrived := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	c := hotline.Call{ID: "c1", State: hotline.CallRinging, ArrivedAt: arrived}
	c.End(arrived.Add(7*time.Second), hotline.MissedAbandoned)
	c.End(arrived.Add(9*time.Second), hotline.MissedNoAnswer) // a second end changes nothing
	require.Equal(t, hotline.CallMissed, c.State)
	require.Equal(t, hotline.MissedAbandoned, c.MissedReason)
	require.Equal(t, 7.0, c.WaitSeconds())
	require.Zero(t, c.TalkSeconds())
}

func TestErrorKindsAndMessages(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection refused")
	err := fmt.Errorf("start: %w", &hotline.Error{Kind: hotline.KindUnavailable, Op: "ari.connect", Message: "Asterisk unreachable", Err: cause, Retryable: true})
	require.Equal(t, hotline.KindUnavailable, hotline.KindOf(err))
	require.True(t, hotline.IsRetryable(err))
	require.ErrorIs(t, err, cause)
	require.Equal(t, "start: ari.connect: Asterisk unreachable: connection refused", err.Error())
	require.Equal(t, "Asterisk unreachable", hotline.MessageOf(err))

	require.Equal(t, hotline.KindInternal, hotline.KindOf(errors.New("boom")))
	require.Equal(t, "internal error", hotline.MessageOf(errors.New("secret detail")))
	require.False(t, hotline.IsRetryable(hotline.Errorf(hotline.KindInvalid, "op", "bad")))
	require.Empty(t, hotline.KindOf(nil))
	require.Nil(t, hotline.WrapError(hotline.KindInternal, "op", nil))
}

func TestUnixMilliRoundTrip(t *testing.T) {
	t.Parallel()
	require.Zero(t, hotline.UnixMilli(time.Time{}))
	require.True(t, hotline.FromUnixMilli(0).IsZero())
	at := time.Date(2026, 11, 27, 8, 30, 0, 123_000_000, time.FixedZone("CST", 8*3600))
	require.True(t, at.Equal(hotline.FromUnixMilli(hotline.UnixMilli(at))))
	require.Equal(t, time.UTC, hotline.FromUnixMilli(hotline.UnixMilli(at)).Location())
}
