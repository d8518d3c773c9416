package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// testAgent is a valid available agent with endpoint PJSIP/<id>.
func testAgent(id string) hotline.Agent {
	return hotline.Agent{
		ID:         id,
		Name:       "Agent " + id,
		Endpoint:   "PJSIP/" + id,
		Department: "social-security",
		Skills:     []string{"pension", "medical-insurance"},
		Role:       hotline.RoleAgent,
		State:      hotline.AgentAvailable,
		StateSince: t0,
	}
}

func TestUpsertAgentRoundTrips(t *testing.T) {
	t.Parallel()
	supervisor := testAgent("s1")
	supervisor.Role = hotline.RoleSupervisor
	supervisor.Skills = nil
	paused := testAgent("a2")
	paused.State, paused.PauseReason = hotline.AgentPaused, "training"

	tests := []struct {
		name  string
		agent hotline.Agent
	}{
		{"agent with skills", testAgent("a1")},
		{"supervisor without skills", supervisor},
		{"paused with a reason", paused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			require.NoError(t, f.db.UpsertAgent(f.ctx, tt.agent))
			got, err := f.db.GetAgent(f.ctx, tt.agent.ID)
			require.NoError(t, err)
			require.Equal(t, tt.agent, got)
		})
	}
}

func TestUpsertAgentReplacesAndKeepsCreationTime(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := testAgent("a1")
	require.NoError(t, f.db.UpsertAgent(f.ctx, a))

	f.clock.Advance(time.Hour)
	a.Name, a.Endpoint, a.Skills = "Renamed", "PJSIP/2001", []string{"housing"}
	require.NoError(t, f.db.UpsertAgent(f.ctx, a))

	got, err := f.db.GetAgent(f.ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, a, got)
	var stamps struct {
		Created int64 `db:"created_ms"`
		Updated int64 `db:"updated_ms"`
	}
	require.NoError(t, f.db.reader.GetContext(f.ctx, &stamps, `SELECT created_ms, updated_ms FROM agents WHERE id = 'a1'`))
	require.Equal(t, t0.UnixMilli(), stamps.Created)
	require.Equal(t, t0.Add(time.Hour).UnixMilli(), stamps.Updated)
}

func TestUpsertAgentRefuses(t *testing.T) {
	t.Parallel()
	noName := testAgent("a2")
	noName.Name = ""
	badState := testAgent("a2")
	badState.State = "lunch"
	sameEndpoint := testAgent("a2")
	sameEndpoint.Endpoint = "PJSIP/a1"

	tests := []struct {
		name     string
		agent    hotline.Agent
		wantKind hotline.ErrorKind
	}{
		{"no name", noName, hotline.KindInvalid},
		{"unknown state", badState, hotline.KindInvalid},
		{"endpoint of another agent", sameEndpoint, hotline.KindConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			require.NoError(t, f.db.UpsertAgent(f.ctx, testAgent("a1")))

			err := f.db.UpsertAgent(f.ctx, tt.agent)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			_, err = f.db.GetAgent(f.ctx, "a2")
			require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "nothing stored")
		})
	}
}

func TestListAgentsOrdersByID(t *testing.T) {
	t.Parallel()
	f := setup(t)
	empty, err := f.db.ListAgents(f.ctx)
	require.NoError(t, err)
	require.Empty(t, empty)

	for _, id := range []string{"c", "a", "b"} {
		require.NoError(t, f.db.UpsertAgent(f.ctx, testAgent(id)))
	}
	agents, err := f.db.ListAgents(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []hotline.Agent{testAgent("a"), testAgent("b"), testAgent("c")}, agents)
}

func TestSetAgentState(t *testing.T) {
	t.Parallel()
	at := t0.Add(90 * time.Minute)
	tests := []struct {
		name       string
		id         string
		state      hotline.AgentState
		reason     string
		wantKind   hotline.ErrorKind // "" for success
		wantReason string
	}{
		{"pause keeps the reason", "a1", hotline.AgentPaused, "meeting", "", "meeting"},
		{"other states drop the reason", "a1", hotline.AgentOnCall, "meeting", "", ""},
		{"unknown agent", "nobody", hotline.AgentPaused, "", hotline.KindNotFound, ""},
		{"unknown state", "a1", "lunch", "", hotline.KindInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			seed := testAgent("a1")
			seed.State, seed.PauseReason = hotline.AgentPaused, "earlier"
			require.NoError(t, f.db.UpsertAgent(f.ctx, seed))

			err := f.db.SetAgentState(f.ctx, tt.id, tt.state, tt.reason, at)
			got, getErr := f.db.GetAgent(f.ctx, "a1")
			require.NoError(t, getErr)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.Equal(t, seed, got, "unchanged")
				return
			}
			require.NoError(t, err)
			want := seed
			want.State, want.PauseReason, want.StateSince = tt.state, tt.wantReason, at
			require.Equal(t, want, got)
		})
	}
}

func TestGetAgentNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.db.GetAgent(f.ctx, "nobody")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err))
	require.ErrorContains(t, err, `store.GetAgent: agent "nobody" not found`)
}
