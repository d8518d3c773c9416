package ari

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"hotline"
)

type hoursFunc func(time.Time) bool

func (f hoursFunc) IsOpen(t time.Time) bool { return f(t) }

func TestStaffingGapOnlyWhenOpenAndNobodyOnDuty(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	roster := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{
		{ID: "1001", Name: "a", Endpoint: "PJSIP/1001", Role: hotline.RoleAgent, State: hotline.AgentPaused},
		{ID: "1002", Name: "b", Endpoint: "PJSIP/1002", Role: hotline.RoleAgent, State: hotline.AgentOffline},
	})
	open := true
	c := NewStaffingCheck(roster, hoursFunc(func(time.Time) bool { return open }), time.Minute, nil, func() time.Time { return now }, nil)
	cases := []struct {
		name    string
		open    bool
		set     hotline.AgentState
		wantGap bool
	}{
		{"open, one paused and one offline", true, "", true},
		{"closed: no gap", false, "", false},
		{"open, one agent on a call counts as on duty", true, hotline.AgentOnCall, false},
		{"open, agent back to paused", true, hotline.AgentPaused, true},
	}
	for _, tc := range cases {
		open = tc.open
		if tc.set != "" {
			roster.SetState("1001", tc.set, "lunch")
		}
		require.Equal(t, tc.wantGap, c.runOnce(context.Background()), tc.name)
		require.Equal(t, boolFloat(tc.wantGap), testutil.ToFloat64(c.gap), tc.name)
		require.Equal(t, boolFloat(tc.open), testutil.ToFloat64(c.open), tc.name)
	}
	require.Equal(t, 1.0, testutil.ToFloat64(c.agents.WithLabelValues("offline")))
}
