package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// testViolation is an open violation of kind against agent at t0+when.
func testViolation(kind hotline.ViolationKind, agent string, when time.Duration) hotline.Violation {
	return hotline.Violation{Kind: kind, AgentID: agent, At: at(when), Detail: string(kind) + " of " + agent}
}

func TestAddViolationRoundTrips(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	f.seedCall(t, "c1", number1, "a1", t0)
	taskID := f.newTask(t, "c2", number2)
	f.seedCall(t, "origin", "13900000099", "a1", t0.Add(-48*time.Hour))
	f.seedPromise(t, number1, "a1", hotline.PromiseEscalated, t0)

	tests := []struct {
		name string
		v    hotline.Violation
	}{
		{"about a callback task", hotline.Violation{Kind: hotline.ViolationCallbackOverdue, AgentID: "a1", TaskID: taskID,
			At: at(time.Hour), Detail: "deadline 09:30 passed"}},
		{"about a call", hotline.Violation{Kind: hotline.ViolationRingDeclined, AgentID: "a1", CallID: "c1", At: at(2 * time.Hour)}},
		{"about a promise", hotline.Violation{Kind: hotline.ViolationPromiseOverdue, AgentID: "a1", PromiseID: 1, At: at(3 * time.Hour)}},
		{"about nothing in particular", hotline.Violation{Kind: hotline.ViolationReferralLoop, AgentID: "a1", At: at(4 * time.Hour)}},
	}
	for _, tt := range tests {
		id, err := f.db.AddViolation(f.ctx, tt.v)
		require.NoError(t, err, tt.name)
		tt.v.ID = id
		got, err := f.db.ListViolations(f.ctx, ViolationFilter{Limit: 1})
		require.NoError(t, err)
		require.Equal(t, []hotline.Violation{tt.v}, got, "%s: the newest", tt.name)
	}
}

func TestAddViolationRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	with := func(change func(v *hotline.Violation)) hotline.Violation {
		v := testViolation(hotline.ViolationRingDeclined, "a1", 0)
		change(&v)
		return v
	}
	tests := []struct {
		name string
		v    hotline.Violation
	}{
		{"unknown kind", with(func(v *hotline.Violation) { v.Kind = "late_lunch" })},
		{"no agent", with(func(v *hotline.Violation) { v.AgentID = "" })},
		{"no time", with(func(v *hotline.Violation) { v.At = time.Time{} })},
		{"already disposed", with(func(v *hotline.Violation) {
			v.Disposition, v.DisposedBy, v.DisposedAt = hotline.DispositionConfirmed, "s1", t0
		})},
		{"unknown agent", with(func(v *hotline.Violation) { v.AgentID = "nobody" })},
		{"unknown call", with(func(v *hotline.Violation) { v.CallID = "nope" })},
		{"unknown task", with(func(v *hotline.Violation) { v.TaskID = 999 })},
		{"unknown promise", with(func(v *hotline.Violation) { v.PromiseID = 999 })},
	}
	for _, tt := range tests {
		_, err := f.db.AddViolation(f.ctx, tt.v)
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%s: %v", tt.name, err)
		require.ErrorContains(t, err, "store.AddViolation", tt.name)
	}
	got, err := f.db.ListViolations(f.ctx, ViolationFilter{})
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestListViolationsFilters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	var ids []int64
	for _, v := range []hotline.Violation{
		testViolation(hotline.ViolationRingDeclined, "a1", time.Minute),      // 0
		testViolation(hotline.ViolationCallbackOverdue, "a1", 2*time.Minute), // 1, confirmed
		testViolation(hotline.ViolationRingDeclined, "a2", 3*time.Minute),    // 2, dismissed
		testViolation(hotline.ViolationRingNotAnswered, "a2", 4*time.Minute), // 3
	} {
		id, err := f.db.AddViolation(f.ctx, v)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	_, err := f.db.DisposeViolation(f.ctx, ids[1], hotline.DispositionConfirmed, "s1", "", at(time.Hour))
	require.NoError(t, err)
	_, err = f.db.DisposeViolation(f.ctx, ids[2], hotline.DispositionDismissed, "s1", "the phone was broken", at(time.Hour))
	require.NoError(t, err)

	tests := []struct {
		name     string
		filter   ViolationFilter
		want     []int64
		wantKind hotline.ErrorKind
	}{
		{"all, newest first", ViolationFilter{}, []int64{ids[3], ids[2], ids[1], ids[0]}, ""},
		{"of an agent", ViolationFilter{AgentID: "a1"}, []int64{ids[1], ids[0]}, ""},
		{"of a kind", ViolationFilter{Kind: hotline.ViolationRingDeclined}, []int64{ids[2], ids[0]}, ""},
		{"undisposed", ViolationFilter{Undisposed: true}, []int64{ids[3], ids[0]}, ""},
		{"undisposed of an agent and kind", ViolationFilter{AgentID: "a2", Kind: hotline.ViolationRingDeclined, Undisposed: true}, []int64{}, ""},
		{"a page", ViolationFilter{Limit: 2, Offset: 1}, []int64{ids[2], ids[1]}, ""},
		{"limit too large", ViolationFilter{Limit: MaxListLimit + 1}, nil, hotline.KindInvalid},
		{"negative offset", ViolationFilter{Offset: -1}, nil, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.ListViolations(f.ctx, tt.filter)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			gotIDs := []int64{}
			for _, v := range got {
				gotIDs = append(gotIDs, v.ID)
			}
			require.Equal(t, tt.want, gotIDs)
		})
	}
}

// A violation keeps its occurrence and every decision on it.
func TestDisposeViolationKeepsHistory(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	original := testViolation(hotline.ViolationRingDeclined, "a1", time.Minute)
	id, err := f.db.AddViolation(f.ctx, original)
	require.NoError(t, err)
	original.ID = id

	history, err := f.db.DispositionHistory(f.ctx, id)
	require.NoError(t, err)
	require.Empty(t, history, "open: no decision yet")

	// Confirmed by s1, then dismissed by s2 on appeal, then confirmed again.
	steps := []struct {
		d      hotline.Disposition
		by     string
		reason string
		at     time.Time
	}{
		{hotline.DispositionConfirmed, "s1", "", at(time.Hour)},
		{hotline.DispositionDismissed, "s2", "headset fault, ticket 42", at(2 * time.Hour)},
		{hotline.DispositionConfirmed, "s1", "the fault was fixed before", at(3 * time.Hour)},
	}
	from := hotline.DispositionOpen
	var want []DispositionChange
	for _, s := range steps {
		got, err := f.db.DisposeViolation(f.ctx, id, s.d, s.by, s.reason, s.at)
		require.NoError(t, err)
		current := original
		current.Disposition, current.DisposedBy, current.DisposedAt, current.DisposeReason = s.d, s.by, s.at, s.reason
		require.Equal(t, current, got, "the occurrence is unchanged; the current decision replaces the last")

		want = append(want, DispositionChange{ViolationID: id, From: from, To: s.d, By: s.by, At: s.at, Reason: s.reason})
		from = s.d
	}
	history, err = f.db.DispositionHistory(f.ctx, id)
	require.NoError(t, err)
	require.Len(t, history, len(want))
	for i := range history {
		require.Positive(t, history[i].ID)
		want[i].ID = history[i].ID
	}
	require.Equal(t, want, history)

	listed, err := f.db.ListViolations(f.ctx, ViolationFilter{})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, original.Kind, listed[0].Kind)
	require.Equal(t, original.AgentID, listed[0].AgentID)
	require.Equal(t, original.At, listed[0].At)
}

func TestDisposeViolationRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	id, err := f.db.AddViolation(f.ctx, testViolation(hotline.ViolationRingDeclined, "a1", 0))
	require.NoError(t, err)

	tests := []struct {
		name     string
		id       int64
		d        hotline.Disposition
		by       string
		reason   string
		wantKind hotline.ErrorKind
	}{
		{"dismissed without a reason", id, hotline.DispositionDismissed, "s1", " ", hotline.KindInvalid},
		{"back to open", id, hotline.DispositionOpen, "s1", "reopened", hotline.KindInvalid},
		{"unknown disposition", id, "forgiven", "s1", "", hotline.KindInvalid},
		{"without who", id, hotline.DispositionConfirmed, "", "", hotline.KindInvalid},
		{"no such violation", 999, hotline.DispositionConfirmed, "s1", "", hotline.KindNotFound},
	}
	for _, tt := range tests {
		_, err := f.db.DisposeViolation(f.ctx, tt.id, tt.d, tt.by, tt.reason, at(time.Hour))
		require.Equal(t, tt.wantKind, hotline.KindOf(err), "%s: %v", tt.name, err)
		require.ErrorContains(t, err, "store.DisposeViolation", tt.name)
	}
	history, err := f.db.DispositionHistory(f.ctx, id)
	require.NoError(t, err)
	require.Empty(t, history)
	_, err = f.db.DispositionHistory(f.ctx, 999)
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
}

// Whatever statement tries, the occurrence and the history stay as
// recorded, and a disposition cannot change without leaving its trace.
func TestViolationSchemaKeepsTheRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statement string
		wantKind  hotline.ErrorKind // "" when allowed
	}{
		{"change the kind", `UPDATE violations SET kind = 'referral_loop' WHERE id = 1`, hotline.KindConflict},
		{"change the agent", `UPDATE violations SET agent_id = 'a2' WHERE id = 1`, hotline.KindConflict},
		{"change the time", `UPDATE violations SET at_ms = 1 WHERE id = 1`, hotline.KindConflict},
		{"change the detail", `UPDATE violations SET detail = 'nothing happened' WHERE id = 1`, hotline.KindConflict},
		{"link a call afterwards", `UPDATE violations SET call_id = 'c1' WHERE id = 1`, hotline.KindConflict},
		{"set a column to itself", `UPDATE violations SET kind = kind WHERE id = 1`, ""},
		{"delete", `DELETE FROM violations WHERE id = 1`, hotline.KindConflict},
		{"edit the history", `UPDATE violation_dispositions SET reason = 'x'`, hotline.KindConflict},
		{"delete the history", `DELETE FROM violation_dispositions`, hotline.KindConflict},
		{"unknown kind", `INSERT INTO violations (kind, agent_id, at_ms) VALUES ('late_lunch', 'a1', 1)`, hotline.KindInvalid},
		{"no time", `INSERT INTO violations (kind, agent_id, at_ms) VALUES ('ring_declined', 'a1', 0)`, hotline.KindInvalid},
		{"dismissed without a reason", `UPDATE violations SET disposition = 'dismissed', disposed_by = 's1', disposed_ms = 5 WHERE id = 1`, hotline.KindInvalid},
		{"decided by nobody", `UPDATE violations SET disposition = 'confirmed', disposed_ms = 5 WHERE id = 1`, hotline.KindInvalid},
		{"an open one with a decider", `UPDATE violations SET disposed_by = 's1' WHERE id = 1`, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2")
			f.seedCall(t, "c1", number1, "a1", t0)
			_, err := f.db.AddViolation(f.ctx, testViolation(hotline.ViolationRingDeclined, "a1", 0))
			require.NoError(t, err)
			_, err = f.db.DisposeViolation(f.ctx, 1, hotline.DispositionConfirmed, "s1", "", at(time.Hour))
			require.NoError(t, err)
			// Back to open through raw SQL: allowed, and recorded.
			require.NoError(t, f.exec(t, `UPDATE violations SET disposition = '', disposed_by = '', disposed_ms = 0 WHERE id = 1`))
			history, err := f.db.DispositionHistory(f.ctx, 1)
			require.NoError(t, err)
			require.Len(t, history, 2, "a raw update leaves its trace too")
			require.Equal(t, hotline.DispositionOpen, history[1].To)

			err = f.exec(t, tt.statement)
			if tt.wantKind == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
		})
	}
}
