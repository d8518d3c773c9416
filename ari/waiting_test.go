package ari_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	hari "hotline/ari"
	"hotline/ari/aritest"
)

// The callback dialer asks Waiting before each round: citizens on the line
// with no agent yet come first.
func TestWaitingCountsCitizensOnTheLineWithNoAgentYet(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{}, agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 400 * time.Millisecond, HangupAfter: 300 * time.Millisecond}})
	require.Zero(t, b.calls.Waiting())
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.calls.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond, "greeted, then on hold")
	// The agent answers: nobody waits any more, although the call goes on.
	require.Eventually(t, func() bool { return b.calls.Waiting() == 0 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, b.calls.Active())
	b.waitEnded(t)
	require.Zero(t, b.calls.Waiting())
}
