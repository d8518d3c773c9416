package hotline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func agent(id string, state hotline.AgentState) hotline.Agent {
	return hotline.Agent{ID: id, Name: id, Endpoint: "PJSIP/" + id, Role: hotline.RoleAgent, State: state}
}

func TestRosterReserveSkipsUnringableAgents(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cases := []struct {
		name    string
		agents  []hotline.Agent
		exclude map[string]bool
		want    string // "" = nobody
	}{
		{"only available agent", []hotline.Agent{agent("1001", hotline.AgentAvailable)}, nil, "1001"},
		{"on call, wrap-up, paused, offline never rung", []hotline.Agent{
			agent("1001", hotline.AgentOnCall), agent("1002", hotline.AgentWrapUp),
			agent("1003", hotline.AgentPaused), agent("1004", hotline.AgentOffline)}, nil, ""},
		{"excluded agent skipped", []hotline.Agent{agent("1001", hotline.AgentAvailable), agent("1002", hotline.AgentAvailable)},
			map[string]bool{"1001": true}, "1002"},
		{"supervisor not rung for hotline", []hotline.Agent{{ID: "s1", Name: "s", Endpoint: "PJSIP/s1", Role: hotline.RoleSupervisor, State: hotline.AgentAvailable}}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := hotline.NewRoster(clock, tc.agents)
			got, ok := r.Reserve("call1", hotline.RoleAgent, tc.exclude)
			require.Equal(t, tc.want != "", ok)
			require.Equal(t, tc.want, got.ID)
		})
	}
}

func TestRosterNeverRingsOneAgentForTwoCalls(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{agent("1001", hotline.AgentAvailable)})
	a, ok := r.Reserve("call1", hotline.RoleAgent, nil)
	require.True(t, ok)
	_, ok = r.Reserve("call2", hotline.RoleAgent, nil)
	require.False(t, ok, "agent ringing for call1 must not be rung for call2")
	r.Release(a.ID, "call2") // another call's release does not free it
	_, ok = r.Reserve("call2", hotline.RoleAgent, nil)
	require.False(t, ok)
	r.Release(a.ID, "call1")
	_, ok = r.Reserve("call2", hotline.RoleAgent, nil)
	require.True(t, ok)
}

func TestRosterPrefersLeastRecentlyCalled(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{
		agent("1001", hotline.AgentAvailable), agent("1002", hotline.AgentAvailable)})
	a, _ := r.Reserve("c1", hotline.RoleAgent, nil)
	require.Equal(t, "1001", a.ID)
	r.SetState("1001", hotline.AgentOnCall, "")
	now = now.Add(time.Minute)
	r.SetState("1001", hotline.AgentAvailable, "")
	b, _ := r.Reserve("c2", hotline.RoleAgent, nil)
	require.Equal(t, "1002", b.ID, "1002 has never had a call, so it goes first")
	require.Equal(t, map[hotline.AgentState]int{hotline.AgentAvailable: 2}, r.Counts(hotline.RoleAgent))
}
