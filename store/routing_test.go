package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// The number whose matters the routing tests look up.
const citizen = "13900000001"

// seedPromise stores a promise to number by agent in state, created at
// created; it belongs to call "origin", from another number, so that its
// call never answers the lookup itself.
func (f fixture) seedPromise(t *testing.T, number, agent string, state hotline.PromiseState, created time.Time) {
	t.Helper()
	_, err := f.db.writer.ExecContext(f.ctx, `
		INSERT INTO promises (call_id, number, agent_id, summary, state, deadline_ms, original_deadline_ms, created_ms)
		VALUES ('origin', ?, ?, 'reply about the pension', ?, ?, ?, ?)`,
		number, agent, state, created.Add(24*time.Hour).UnixMilli(), created.Add(24*time.Hour).UnixMilli(), created.UnixMilli())
	require.NoError(t, err)
}

// seedCallbackTask stores a callback task for number in state, assigned to
// agent ("" for none).
func (f fixture) seedCallbackTask(t *testing.T, number string, state hotline.CallbackState, agent string) {
	t.Helper()
	var lease any
	if state == hotline.CallbackDialing {
		lease = "lease-1"
	}
	_, err := f.db.writer.ExecContext(f.ctx, `
		INSERT INTO callback_tasks (number, state, agent_id, lease_token, first_missed_ms, deadline_ms, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		number, state, nullString(agent), lease, t0.UnixMilli(), t0.Add(time.Hour).UnixMilli(), t0.UnixMilli())
	require.NoError(t, err)
}

// seedCall stores a call from number that arrived at arrived, answered by
// agent, or missed when agent is "".
func (f fixture) seedCall(t *testing.T, id, number, agent string, arrived time.Time) {
	t.Helper()
	c := testCall(id, number, arrived)
	if agent != "" {
		c = answered(t, c, agent, arrived.Add(5*time.Second))
	}
	c.End(arrived.Add(time.Minute), hotline.MissedNoAnswer)
	// The columns of the first schema only: tests seed this world into
	// databases migrated to earlier versions too.
	_, err := f.db.writer.ExecContext(f.ctx, `INSERT INTO calls (id, channel_id, caller_raw, caller_number, line, state,
		missed_reason, first_responsible_agent, arrived_ms, answered_ms, ended_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ChannelID, c.CallerRaw, c.CallerNumber, c.Line, c.State, c.MissedReason, nullString(c.FirstResponsibleAgent),
		hotline.UnixMilli(c.ArrivedAt), hotline.UnixMilli(c.AnsweredAt), hotline.UnixMilli(c.EndedAt), hotline.UnixMilli(c.EndedAt))
	require.NoError(t, err)
}

// Sticky routing (clause 4.1.1): promise, then callback task, then the
// newest answered call since.
func TestResponsibleAgentPrecedence(t *testing.T) {
	t.Parallel()
	since := t0.Add(-24 * time.Hour)
	tests := []struct {
		name     string
		seed     func(t *testing.T, f fixture)
		number   string
		want     string
		wantKind hotline.ErrorKind
	}{
		{"promise beats callback and call", func(t *testing.T, f fixture) {
			f.seedPromise(t, citizen, "a1", hotline.PromiseOpen, t0)
			f.seedCallbackTask(t, citizen, hotline.CallbackPending, "a2")
			f.seedCall(t, "c1", citizen, "a3", t0.Add(time.Hour))
		}, citizen, "a1", ""},
		{"escalated promise", func(t *testing.T, f fixture) {
			f.seedPromise(t, citizen, "a1", hotline.PromiseEscalated, t0)
			f.seedCall(t, "c1", citizen, "a3", t0)
		}, citizen, "a1", ""},
		{"the newest of two open promises", func(t *testing.T, f fixture) {
			f.seedPromise(t, citizen, "a1", hotline.PromiseOpen, t0)
			f.seedPromise(t, citizen, "a2", hotline.PromiseOpen, t0.Add(time.Hour))
		}, citizen, "a2", ""},
		{"fulfilled and closed promises are no matter", func(t *testing.T, f fixture) {
			f.seedPromise(t, citizen, "a1", hotline.PromiseFulfilled, t0.Add(time.Hour))
			f.seedPromise(t, citizen, "a1", hotline.PromiseClosed, t0.Add(time.Hour))
			f.seedCallbackTask(t, citizen, hotline.CallbackPending, "a2")
		}, citizen, "a2", ""},
		{"callback beats call", func(t *testing.T, f fixture) {
			f.seedCallbackTask(t, citizen, hotline.CallbackDialing, "a2")
			f.seedCall(t, "c1", citizen, "a3", t0.Add(time.Hour))
		}, citizen, "a2", ""},
		{"callback without an agent", func(t *testing.T, f fixture) {
			f.seedCallbackTask(t, citizen, hotline.CallbackPending, "")
			f.seedCall(t, "c1", citizen, "a3", t0)
		}, citizen, "a3", ""},
		{"closed callbacks are no matter", func(t *testing.T, f fixture) {
			for _, state := range []hotline.CallbackState{hotline.CallbackConnected, hotline.CallbackResolved,
				hotline.CallbackUnreachable, hotline.CallbackInvalid, hotline.CallbackClosed} {
				f.seedCallbackTask(t, citizen, state, "a2")
			}
			f.seedCall(t, "c1", citizen, "a3", t0)
		}, citizen, "a3", ""},
		{"the newest answered call", func(t *testing.T, f fixture) {
			f.seedCall(t, "c1", citizen, "a3", t0)
			f.seedCall(t, "c2", citizen, "a4", t0.Add(time.Hour))
			f.seedCall(t, "c3", citizen, "", t0.Add(2*time.Hour)) // missed: no agent
		}, citizen, "a4", ""},
		{"since is inclusive", func(t *testing.T, f fixture) {
			f.seedCall(t, "c1", citizen, "a3", since)
		}, citizen, "a3", ""},
		{"a call before since is ignored", func(t *testing.T, f fixture) {
			f.seedCall(t, "c1", citizen, "a3", since.Add(-time.Millisecond))
		}, citizen, "", hotline.KindNotFound},
		{"only missed calls", func(t *testing.T, f fixture) {
			f.seedCall(t, "c1", citizen, "", t0)
		}, citizen, "", hotline.KindNotFound},
		{"only closed matters", func(t *testing.T, f fixture) {
			f.seedPromise(t, citizen, "a1", hotline.PromiseFulfilled, t0)
			f.seedCallbackTask(t, citizen, hotline.CallbackConnected, "a2")
			f.seedCall(t, "c1", citizen, "a3", since.Add(-time.Hour))
		}, citizen, "", hotline.KindNotFound},
		{"another citizen's matters", func(t *testing.T, f fixture) {
			f.seedPromise(t, "13900000002", "a1", hotline.PromiseOpen, t0)
			f.seedCallbackTask(t, "13900000002", hotline.CallbackPending, "a2")
			f.seedCall(t, "c1", "13900000002", "a3", t0)
		}, citizen, "", hotline.KindNotFound},
		{"no number", func(t *testing.T, f fixture) {
			f.seedCall(t, "c1", "", "a3", t0)
		}, "", "", hotline.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2", "a3", "a4")
			f.seedCall(t, "origin", "13900000099", "a1", t0.Add(-48*time.Hour))
			tt.seed(t, f)

			got, err := f.db.ResponsibleAgent(f.ctx, tt.number, since)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.ResponsibleAgent")
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// A call without a callable number has no matter: the answer comes without
// the database, so even a closed one gives NotFound.
func TestResponsibleAgentWithoutANumberReadsNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.NoError(t, f.db.Close())

	_, err := f.db.ResponsibleAgent(f.ctx, "", time.Time{})
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	_, err = f.db.ResponsibleAgent(f.ctx, citizen, time.Time{})
	require.Equal(t, hotline.KindInternal, hotline.KindOf(err), "a number is looked up: %v", err)
}
