package hotline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func TestCallbackStateVocabulary(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	cases := []struct {
		state                  hotline.CallbackState
		deadline               time.Time
		open, unfinished, late bool
	}{
		{hotline.CallbackPending, past, true, true, true},
		{hotline.CallbackDialing, future, true, true, false},
		{hotline.CallbackUnreachable, past, false, true, false},
		{hotline.CallbackInvalid, past, false, true, false},
		{hotline.CallbackConnected, past, false, false, false},
		{hotline.CallbackResolved, past, false, false, false},
		{hotline.CallbackClosed, past, false, false, false},
	}
	for _, tc := range cases {
		task := hotline.CallbackTask{State: tc.state, Deadline: tc.deadline}
		require.True(t, tc.state.Stored(), tc.state)
		require.Equal(t, tc.open, task.Open(), tc.state)
		require.Equal(t, tc.unfinished, task.Unfinished(), tc.state)
		require.Equal(t, tc.late, task.Overdue(now), tc.state)
		require.Equal(t, tc.open, task.Matches(hotline.CallbackOpen, now), tc.state)
		require.Equal(t, tc.unfinished, task.Matches(hotline.CallbackUnfinished, now), tc.state)
		require.Equal(t, tc.late, task.Matches(hotline.CallbackOverdue, now), tc.state)
		require.True(t, task.Matches(tc.state, now), "a stored state selects itself")
	}
	for _, group := range []hotline.CallbackState{hotline.CallbackOpen, hotline.CallbackUnfinished, hotline.CallbackOverdue} {
		require.False(t, group.Stored(), group)
		require.True(t, group.Valid(), group)
	}
	require.True(t, hotline.CallbackOverdue.ByDeadline())
	require.False(t, hotline.CallbackOpen.ByDeadline())
	require.False(t, hotline.CallbackState("lost").Valid())
	require.Nil(t, hotline.CallbackState("lost").Selects())
	require.Len(t, hotline.CallbackStateNames(), 10)
}

func TestPromiseStateVocabulary(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	cases := []struct {
		state            hotline.PromiseState
		deadline         time.Time
		unfinished, late bool
	}{
		{hotline.PromiseOpen, future, true, false},
		{hotline.PromiseOpen, past, true, true},
		{hotline.PromiseOpen, now, true, true},
		{hotline.PromiseEscalated, past, true, true},
		{hotline.PromiseFulfilled, past, false, false},
		{hotline.PromiseClosed, past, false, false},
	}
	for _, tc := range cases {
		p := hotline.Promise{State: tc.state, Deadline: tc.deadline}
		require.True(t, tc.state.Stored(), tc.state)
		require.Equal(t, tc.unfinished, p.Unfinished(), tc.state)
		require.Equal(t, tc.late, p.Overdue(now), "%s due %s", tc.state, tc.deadline)
		require.Equal(t, tc.unfinished, p.Matches(hotline.PromiseUnfinished, now), tc.state)
		require.Equal(t, tc.late, p.Matches(hotline.PromiseOverdue, now), tc.state)
	}
	require.False(t, hotline.PromiseOverdue.Stored(), "overdue is a group: a promise row never holds it")
	require.True(t, hotline.PromiseOverdue.Valid())
	require.True(t, hotline.PromiseOverdue.ByDeadline())
	require.Equal(t, []hotline.PromiseState{hotline.PromiseOpen, hotline.PromiseEscalated}, hotline.PromiseUnfinished.Selects())
	require.Equal(t, []hotline.PromiseState{hotline.PromiseOpen, hotline.PromiseEscalated, hotline.PromiseFulfilled,
		hotline.PromiseClosed, hotline.PromiseUnfinished, hotline.PromiseOverdue}, hotline.PromiseStateNames())
}
