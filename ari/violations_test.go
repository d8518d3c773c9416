package ari_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
	"hotline/store"
)

func (b *callBundle) violations(t *testing.T, agent string) []hotline.Violation {
	t.Helper()
	vs, err := b.db.ListViolations(context.Background(), store.ViolationFilter{AgentID: agent})
	require.NoError(t, err)
	return vs
}

func TestRefusedRingsAreRecordedAsViolations(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{RingTimeout: 300 * time.Millisecond, MaxWait: 5 * time.Second},
		agentSpec{id: "1001", behavior: aritest.Behavior{Busy: true}},
		agentSpec{id: "1002", behavior: aritest.Behavior{NoAnswer: true}},
		agentSpec{id: "1003", behavior: aritest.Behavior{AnswerAfter: 100 * time.Millisecond, HangupAfter: 100 * time.Millisecond}})
	// Least-recent hunting among agents never called goes by id: 1001 declines, 1002 rings out, 1003 answers.
	_, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	got := b.stored(t, b.waitEnded(t).ID)

	declined := b.violations(t, "1001")
	require.NotEmpty(t, declined)
	require.Equal(t, hotline.ViolationRingDeclined, declined[0].Kind)
	require.Equal(t, got.ID, declined[0].CallID)
	notAnswered := b.violations(t, "1002")
	require.NotEmpty(t, notAnswered)
	require.Equal(t, hotline.ViolationRingNotAnswered, notAnswered[0].Kind)
	for _, v := range b.violations(t, "1003") {
		require.NotEqual(t, got.ID, v.CallID, "the agent who answered this call refused nothing on it")
	}
}

func TestReferralLoopIsRecorded(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{ReferralLoopLimit: 1},
		agentSpec{id: "1001", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond}},
		agentSpec{id: "1002", behavior: aritest.Behavior{AnswerAfter: 20 * time.Millisecond}})
	chID, err := b.fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	callID := waitAnswered(t, b, "1001")
	ctx := context.Background()

	// 1001 → 1002, 1001 leaves; 1002 → 1001 (the call comes back once: allowed).
	_, err = b.calls.Refer(ctx, callID, "1001", "1002", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1002"); return a.State == hotline.AgentOnCall }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, b.fake.Hangup(b.legChannel(t, callID, "1001")))
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1001"); return a.State == hotline.AgentWrapUp }, 5*time.Second, 10*time.Millisecond)
	b.roster.SetState("1001", hotline.AgentAvailable, "")
	_, err = b.calls.Refer(ctx, callID, "1002", "1001", "")
	require.NoError(t, err)
	require.Empty(t, b.violations(t, "1002"), "one return is within the limit")

	// 1001 passes it back to 1002, who had passed it away: a second return is a loop.
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1001"); return a.State == hotline.AgentOnCall }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, b.fake.Hangup(b.legChannel(t, callID, "1002")))
	require.Eventually(t, func() bool { a, _ := b.roster.Get("1002"); return a.State == hotline.AgentWrapUp }, 5*time.Second, 10*time.Millisecond)
	b.roster.SetState("1002", hotline.AgentAvailable, "")
	_, err = b.calls.Refer(ctx, callID, "1001", "1002", "")
	require.NoError(t, err)
	loops := b.violations(t, "1001")
	require.Len(t, loops, 1)
	require.Equal(t, hotline.ViolationReferralLoop, loops[0].Kind)
	require.Equal(t, callID, loops[0].CallID)
	require.NoError(t, b.fake.Hangup(chID))
	b.waitEnded(t)
}
