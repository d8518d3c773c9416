package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"hotline"
)

// agentRow is an agents row as the statements read and write it.
type agentRow struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	Endpoint     string `db:"endpoint"`
	Department   string `db:"department"`
	Skills       string `db:"skills"` // JSON array of strings
	Role         string `db:"role"`
	State        string `db:"state"`
	PauseReason  string `db:"pause_reason"`
	StateSinceMs int64  `db:"state_since_ms"`
}

func agentToRow(a hotline.Agent) agentRow {
	skills := a.Skills
	if skills == nil {
		skills = []string{}
	}
	skillsJSON, _ := json.Marshal(skills) // a []string always marshals
	return agentRow{
		ID:           a.ID,
		Name:         a.Name,
		Endpoint:     a.Endpoint,
		Department:   a.Department,
		Skills:       string(skillsJSON),
		Role:         string(a.Role),
		State:        string(a.State),
		PauseReason:  a.PauseReason,
		StateSinceMs: hotline.UnixMilli(a.StateSince),
	}
}

func (r agentRow) agent() (hotline.Agent, error) {
	var skills []string
	if err := json.Unmarshal([]byte(r.Skills), &skills); err != nil {
		return hotline.Agent{}, fmt.Errorf("agent %q: skills %q: %w", r.ID, r.Skills, err)
	}
	if len(skills) == 0 {
		skills = nil // "[]" reads back as it was written: no skills
	}
	return hotline.Agent{
		ID:          r.ID,
		Name:        r.Name,
		Endpoint:    r.Endpoint,
		Department:  r.Department,
		Skills:      skills,
		Role:        hotline.Role(r.Role),
		State:       hotline.AgentState(r.State),
		PauseReason: r.PauseReason,
		StateSince:  hotline.FromUnixMilli(r.StateSinceMs),
	}, nil
}

// upsertAgentSQL writes every field of one agents row, inserting it or
// updating the row with the same id; created_ms keeps its first value.
const upsertAgentSQL = `
INSERT INTO agents (id, name, endpoint, department, skills, role, state, pause_reason,
                    state_since_ms, created_ms, updated_ms)
VALUES (:id, :name, :endpoint, :department, :skills, :role, :state, :pause_reason,
        :state_since_ms, :now_ms, :now_ms)
ON CONFLICT (id) DO UPDATE SET
    name           = excluded.name,
    endpoint       = excluded.endpoint,
    department     = excluded.department,
    skills         = excluded.skills,
    role           = excluded.role,
    state          = excluded.state,
    pause_reason   = excluded.pause_reason,
    state_since_ms = excluded.state_since_ms,
    updated_ms     = excluded.updated_ms`

// UpsertAgent stores a, replacing the agent with the same id. Another agent
// already on the same endpoint is a conflict.
func (db *DB) UpsertAgent(ctx context.Context, a hotline.Agent) error {
	const op = "store.UpsertAgent"
	if err := a.Validate(); err != nil {
		return err
	}
	_, err := db.writer.NamedExecContext(ctx, upsertAgentSQL, struct {
		agentRow
		NowMs int64 `db:"now_ms"`
	}{agentToRow(a), db.nowMs()})
	return wrapErr(op, fmt.Sprintf("agent %q", a.ID), err)
}

const agentColumns = `id, name, endpoint, department, skills, role, state, pause_reason, state_since_ms`

// getAgentSQL reads one agents row by id.
const getAgentSQL = `SELECT ` + agentColumns + ` FROM agents WHERE id = ?`

// GetAgent returns the agent with id; NotFound when there is none.
func (db *DB) GetAgent(ctx context.Context, id string) (hotline.Agent, error) {
	const op = "store.GetAgent"
	var row agentRow
	if err := db.reader.GetContext(ctx, &row, getAgentSQL, id); err != nil {
		return hotline.Agent{}, wrapErr(op, fmt.Sprintf("agent %q", id), err)
	}
	a, err := row.agent()
	return a, wrapErr(op, fmt.Sprintf("agent %q", id), err)
}

// listAgentsSQL reads every agents row, ordered by id.
const listAgentsSQL = `SELECT ` + agentColumns + ` FROM agents ORDER BY id`

// ListAgents returns every agent, ordered by id.
func (db *DB) ListAgents(ctx context.Context) ([]hotline.Agent, error) {
	const op = "store.ListAgents"
	var rows []agentRow
	if err := db.reader.SelectContext(ctx, &rows, listAgentsSQL); err != nil {
		return nil, wrapErr(op, "agents", err)
	}
	agents := make([]hotline.Agent, 0, len(rows))
	for _, row := range rows {
		a, err := row.agent()
		if err != nil {
			return nil, wrapErr(op, "agents", err)
		}
		agents = append(agents, a)
	}
	return agents, nil
}

// setAgentStateSQL writes state, pause_reason, state_since_ms and updated_ms
// of one agents row.
const setAgentStateSQL = `
UPDATE agents
SET state = ?, pause_reason = ?, state_since_ms = ?, updated_ms = ?
WHERE id = ?`

// SetAgentState records that agent id entered state at the given time. The
// reason is kept only for a pause, as the roster does; NotFound when there
// is no such agent.
func (db *DB) SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string, at time.Time) error {
	const op = "store.SetAgentState"
	if !state.Valid() {
		return hotline.Errorf(hotline.KindInvalid, op, "agent %q: unknown state %q", id, state)
	}
	if state != hotline.AgentPaused {
		reason = ""
	}
	res, err := db.writer.ExecContext(ctx, setAgentStateSQL, state, reason, hotline.UnixMilli(at), db.nowMs(), id)
	if err != nil {
		return wrapErr(op, fmt.Sprintf("agent %q", id), err)
	}
	return expectOneRow(op, fmt.Sprintf("agent %q", id), res)
}
