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
			got := r.Reserve("call1", hotline.RoleAgent, hotline.LeastRecent, tc.exclude, nil)
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, tc.want, got[0].ID)
		})
	}
}

func TestRosterNeverRingsOneAgentForTwoCalls(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{agent("1001", hotline.AgentAvailable)})
	a := r.Reserve("call1", hotline.RoleAgent, hotline.RingAll, nil, nil)
	require.Len(t, a, 1)
	require.Empty(t, r.Reserve("call2", hotline.RoleAgent, hotline.RingAll, nil, nil), "agent ringing for call1 must not be rung for call2")
	_, ok := r.ReserveAgent("1001", "call2")
	require.False(t, ok)
	r.Release(a[0].ID, "call2") // another call's release does not free it
	require.Empty(t, r.Reserve("call2", hotline.RoleAgent, hotline.LeastRecent, nil, nil))
	r.Release(a[0].ID, "call1")
	_, ok = r.ReserveAgent("1001", "call2")
	require.True(t, ok)
}

func TestRosterPrefersLeastRecentlyCalled(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{
		agent("1001", hotline.AgentAvailable), agent("1002", hotline.AgentAvailable)})
	a := r.Reserve("c1", hotline.RoleAgent, hotline.LeastRecent, nil, nil)
	require.Equal(t, "1001", a[0].ID)
	r.SetState("1001", hotline.AgentOnCall, "")
	now = now.Add(time.Minute)
	r.SetState("1001", hotline.AgentAvailable, "")
	b := r.Reserve("c2", hotline.RoleAgent, hotline.LeastRecent, nil, nil)
	require.Equal(t, "1002", b[0].ID, "1002 has never had a call, so it goes first")
	require.Equal(t, map[hotline.AgentState]int{hotline.AgentAvailable: 2}, r.Counts(hotline.RoleAgent))
}

func TestRosterStrategies(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	three := func() []hotline.Agent {
		return []hotline.Agent{agent("1001", hotline.AgentAvailable), agent("1002", hotline.AgentAvailable), agent("1003", hotline.AgentAvailable)}
	}
	ids := func(as []hotline.Agent) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}

	r := hotline.NewRoster(clock, three())
	require.Equal(t, []string{"1001", "1002", "1003"}, ids(r.Reserve("c1", hotline.RoleAgent, hotline.RingAll, nil, nil)))

	r = hotline.NewRoster(clock, three())
	var order []string
	for range 4 {
		got := r.Reserve("c", hotline.RoleAgent, hotline.RoundRobin, nil, nil)
		require.Len(t, got, 1)
		order = append(order, got[0].ID)
		r.Release(got[0].ID, "c")
	}
	require.Equal(t, []string{"1001", "1002", "1003", "1001"}, order, "round robin remembers where it stopped")

	r = hotline.NewRoster(clock, []hotline.Agent{
		{ID: "a", Name: "a", Endpoint: "PJSIP/a", Role: hotline.RoleAgent, State: hotline.AgentAvailable, Department: "社保"},
		{ID: "b", Name: "b", Endpoint: "PJSIP/b", Role: hotline.RoleAgent, State: hotline.AgentAvailable, Department: "户籍"},
	})
	require.Equal(t, []string{"b"}, ids(r.Reserve("c", hotline.RoleAgent, hotline.RingAll, nil, hotline.InDepartment("户籍"))))
	require.True(t, hotline.RingAll.Valid())
	require.False(t, hotline.Strategy("random").Valid())
}

func TestRosterLeastRecentMovesOnAfterAnUnansweredOffer(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{agent("1001", hotline.AgentAvailable), agent("1002", hotline.AgentAvailable)})
	first := r.Reserve("c1", hotline.RoleAgent, hotline.LeastRecent, nil, nil)
	require.Equal(t, "1001", first[0].ID)
	now = now.Add(time.Second)
	r.Release("1001", "c1") // 1001 declined
	next := r.Reserve("c2", hotline.RoleAgent, hotline.LeastRecent, nil, nil)
	require.Equal(t, "1002", next[0].ID, "the agent who just declined is not offered the next call first")
}

func TestRosterFreeListsWhoCouldBeRungNow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{
		agent("1003", hotline.AgentAvailable), agent("1001", hotline.AgentAvailable), agent("1002", hotline.AgentOnCall),
		agent("1004", hotline.AgentPaused), agent("1005", hotline.AgentAvailable),
		{ID: "s1", Name: "s", Endpoint: "PJSIP/s1", Role: hotline.RoleSupervisor, State: hotline.AgentAvailable},
	})
	ids := func() []string {
		var out []string
		for _, a := range r.Free(hotline.RoleAgent) {
			out = append(out, a.ID)
		}
		return out
	}
	require.Equal(t, []string{"1001", "1003", "1005"}, ids())
	_, ok := r.ReserveAgent("1003", "call1")
	require.True(t, ok)
	require.Equal(t, []string{"1001", "1005"}, ids(), "a reserved agent is not free")
	require.Equal(t, []string{"1001", "1005"}, ids(), "looking reserves nothing")
	r.Release("1003", "call1")
	require.Equal(t, []string{"1001", "1003", "1005"}, ids())
}

func TestRosterCountsRefusalsInARow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := hotline.NewRoster(func() time.Time { return now }, []hotline.Agent{agent("1001", hotline.AgentAvailable)})
	cases := []struct {
		step string
		do   func() int
		want int
	}{
		{"first refusal", func() int { return r.Refused("1001") }, 1},
		{"second in a row", func() int { return r.Refused("1001") }, 2},
		{"an answer ends the streak", func() int { r.SetState("1001", hotline.AgentOnCall, ""); return r.Refused("1001") }, 1},
		{"wrap-up does not", func() int { r.SetState("1001", hotline.AgentWrapUp, ""); return r.Refused("1001") }, 2},
		{"a pause does", func() int { r.SetState("1001", hotline.AgentPaused, "x"); return r.Refused("1001") }, 1},
		{"unknown agent", func() int { return r.Refused("nobody") }, 0},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, tc.do(), tc.step)
	}
}
