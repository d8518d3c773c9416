package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// testCall is a ringing hotline call from number.
func testCall(id, number string, arrived time.Time) hotline.Call {
	return hotline.Call{
		ID:           id,
		ChannelID:    "chan-" + id,
		CallerRaw:    "+86" + number,
		CallerNumber: number,
		DialedNumber: "12345",
		Line:         hotline.LineHotline,
		State:        hotline.CallRinging,
		ArrivedAt:    arrived,
	}
}

// answered is c answered by agent at.
func answered(t *testing.T, c hotline.Call, agent string, at time.Time) hotline.Call {
	t.Helper()
	require.NoError(t, c.Answer(agent, at))
	return c
}

func callIDs(calls []hotline.Call) []string {
	ids := make([]string, 0, len(calls))
	for _, c := range calls {
		ids = append(ids, c.ID)
	}
	return ids
}

// seedAgents stores available agents with the given ids.
func (f fixture) seedAgents(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		require.NoError(t, f.db.UpsertAgent(f.ctx, testAgent(id)))
	}
}

func TestCallLifeRoundTrips(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")

	call := testCall("c1", "13900000001", t0)
	require.NoError(t, f.db.CreateCall(f.ctx, call))
	got, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, call, got, "ringing, no legs")

	// Two agents are rung; a2 answers first.
	legs := []hotline.CallLeg{
		{CallID: "c1", AgentID: "a1", ChannelID: "c1-aa1", Outcome: hotline.LegRinging, RungAt: t0.Add(time.Second)},
		{CallID: "c1", AgentID: "a2", ChannelID: "c1-aa2", Outcome: hotline.LegRinging, RungAt: t0.Add(2 * time.Second)},
	}
	for i := range legs {
		legs[i].ID, err = f.db.AddLeg(f.ctx, legs[i])
		require.NoError(t, err)
		require.Positive(t, legs[i].ID)
	}
	require.NotEqual(t, legs[0].ID, legs[1].ID)

	answerAt := t0.Add(8 * time.Second)
	legs[1].Outcome, legs[1].AnsweredAt = hotline.LegAnswered, answerAt
	legs[0].Outcome, legs[0].Cause, legs[0].EndedAt = hotline.LegCancelled, 16, answerAt
	for _, l := range legs {
		require.NoError(t, f.db.UpdateLeg(f.ctx, l))
	}
	call = answered(t, call, "a2", answerAt)
	call.RecordingName = "rec-c1"
	require.NoError(t, f.db.UpdateCall(f.ctx, call))

	// The citizen hangs up.
	endAt := t0.Add(5 * time.Minute)
	call.End(endAt, "")
	legs[1].Outcome, legs[1].EndedAt = hotline.LegCompleted, endAt
	require.NoError(t, f.db.UpdateLeg(f.ctx, legs[1]))
	require.NoError(t, f.db.UpdateCall(f.ctx, call))

	got, err = f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	want := call
	want.Legs = legs
	require.Equal(t, want, got)
	require.Equal(t, hotline.CallCompleted, got.State)
}

func TestMissedCallRoundTrips(t *testing.T) {
	t.Parallel()
	f := setup(t)
	call := testCall("c1", "13900000001", t0)
	call.Line = hotline.LineComplaint
	require.NoError(t, f.db.CreateCall(f.ctx, call))

	call.End(t0.Add(40*time.Second), hotline.MissedAbandoned)
	require.NoError(t, f.db.UpdateCall(f.ctx, call))

	got, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, call, got)
	require.Equal(t, hotline.CallMissed, got.State)
	require.Equal(t, hotline.MissedAbandoned, got.MissedReason)
}

func TestCreateCallRefuses(t *testing.T) {
	t.Parallel()
	badLine := testCall("c2", "1", t0)
	badLine.Line = "fax"
	unknownAgent := answered(t, testCall("c2", "1", t0), "nobody", t0)
	answeredWithoutAgent := testCall("c2", "1", t0)
	answeredWithoutAgent.State = hotline.CallAnswered

	tests := []struct {
		name     string
		call     hotline.Call
		wantKind hotline.ErrorKind
	}{
		{"same id twice", testCall("c1", "1", t0), hotline.KindConflict},
		{"no id", testCall("", "1", t0), hotline.KindInvalid},
		{"no arrival time", testCall("c2", "1", time.Time{}), hotline.KindInvalid},
		{"unknown line", badLine, hotline.KindInvalid},
		{"unknown agent", unknownAgent, hotline.KindInvalid},
		{"answered without an agent", answeredWithoutAgent, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "1", t0)))

			err := f.db.CreateCall(f.ctx, tt.call)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "store.CreateCall")
			counts, err := f.db.CallCounts(f.ctx, time.Time{})
			require.NoError(t, err)
			require.Equal(t, 1, counts.Total, "nothing stored")
		})
	}
}

// Clause 3.1: once stored, the first-responsible agent never changes.
func TestFirstResponsibleAgentIsFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		agentTo string
	}{
		{"another agent", "a2"},
		{"cleared", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2")
			call := testCall("c1", "13900000001", t0)
			require.NoError(t, f.db.CreateCall(f.ctx, call))
			call = answered(t, call, "a1", t0.Add(time.Second))
			require.NoError(t, f.db.UpdateCall(f.ctx, call))

			// The same agent again is fine: every state change carries it.
			call.RecordingName = "rec-c1"
			require.NoError(t, f.db.UpdateCall(f.ctx, call))

			overwrite := call
			overwrite.FirstResponsibleAgent = tt.agentTo
			overwrite.State = hotline.CallRinging
			err := f.db.UpdateCall(f.ctx, overwrite)
			require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "first responsible agent is a1")

			// A statement outside UpdateCall is refused by the schema.
			_, err = f.db.writer.ExecContext(f.ctx,
				`UPDATE calls SET first_responsible_agent = ? WHERE id = 'c1'`, nullString(tt.agentTo))
			require.Equal(t, hotline.KindConflict, hotline.KindOf(wrapErr("test", "call", err)), "%v", err)

			got, err := f.db.GetCall(f.ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, call, got, "unchanged")
		})
	}
}

func TestUpdateCallNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t)
	err := f.db.UpdateCall(f.ctx, testCall("nope", "1", t0))
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	require.ErrorContains(t, err, `store.UpdateCall: call "nope" not found`)
}

func TestNotFoundKinds(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "13900000001", t0)))

	tests := []struct {
		name string
		run  func() error
	}{
		{"GetCall", func() error { _, err := f.db.GetCall(f.ctx, "nope"); return err }},
		{"UpdateLeg", func() error {
			return f.db.UpdateLeg(f.ctx, hotline.CallLeg{ID: 999, Outcome: hotline.LegBusy})
		}},
		{"LastCallByNumber of another number", func() error {
			_, err := f.db.LastCallByNumber(f.ctx, "13900000002", time.Time{})
			return err
		}},
		{"LastCallByNumber before since", func() error {
			_, err := f.db.LastCallByNumber(f.ctx, "13900000001", t0.Add(time.Millisecond))
			return err
		}},
		{"GetAgent", func() error { _, err := f.db.GetAgent(f.ctx, "nope"); return err }},
		{"SetAgentState", func() error {
			return f.db.SetAgentState(f.ctx, "nope", hotline.AgentOffline, "", t0)
		}},
		{"UpdateReferral", func() error {
			return f.db.UpdateReferral(f.ctx, hotline.Referral{ID: 999, Outcome: hotline.ReferralAnswered})
		}},
		{"ResponsibleAgent of a number without a matter", func() error {
			_, err := f.db.ResponsibleAgent(f.ctx, "13900000001", time.Time{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.run()
			require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
			require.False(t, hotline.IsRetryable(err))
		})
	}
}

func TestAddLegRefuses(t *testing.T) {
	t.Parallel()
	leg := func(callID, agentID, channelID string) hotline.CallLeg {
		return hotline.CallLeg{CallID: callID, AgentID: agentID, ChannelID: channelID, Outcome: hotline.LegRinging, RungAt: t0}
	}
	badOutcome := leg("c1", "a1", "ch2")
	badOutcome.Outcome = "exploded"

	tests := []struct {
		name     string
		leg      hotline.CallLeg
		wantKind hotline.ErrorKind
	}{
		{"channel already used", leg("c1", "a1", "ch1"), hotline.KindConflict},
		{"unknown call", leg("nope", "a1", "ch2"), hotline.KindInvalid},
		{"unknown agent", leg("c1", "nobody", "ch2"), hotline.KindInvalid},
		{"no channel", leg("c1", "a1", ""), hotline.KindInvalid},
		{"unknown outcome", badOutcome, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1")
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "1", t0)))
			_, err := f.db.AddLeg(f.ctx, leg("c1", "a1", "ch1"))
			require.NoError(t, err)

			_, err = f.db.AddLeg(f.ctx, tt.leg)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			got, err := f.db.GetCall(f.ctx, "c1")
			require.NoError(t, err)
			require.Len(t, got.Legs, 1, "nothing stored")
		})
	}
}

func TestListCallsFilters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	// c1..c6 arrive a minute apart; c1, c3 answered by a1, c4 by a2.
	seed := []hotline.Call{
		answered(t, testCall("c1", "13900000001", t0), "a1", t0.Add(5*time.Second)),
		testCall("c2", "13900000002", t0.Add(1*time.Minute)),
		answered(t, testCall("c3", "13900000001", t0.Add(2*time.Minute)), "a1", t0.Add(2*time.Minute+time.Second)),
		answered(t, testCall("c4", "13900000003", t0.Add(3*time.Minute)), "a2", t0.Add(3*time.Minute+time.Second)),
		testCall("c5", "13900000001", t0.Add(4*time.Minute)),
		testCall("c6", "", t0.Add(5*time.Minute)),
	}
	seed[0].End(t0.Add(90*time.Second), "")
	seed[1].End(t0.Add(70*time.Second), hotline.MissedNoAnswer)
	for _, c := range seed {
		require.NoError(t, f.db.CreateCall(f.ctx, c))
	}

	tests := []struct {
		name     string
		filter   CallFilter
		wantIDs  []string
		wantKind hotline.ErrorKind
	}{
		{"everything, newest first", CallFilter{}, []string{"c6", "c5", "c4", "c3", "c2", "c1"}, ""},
		{"since is inclusive", CallFilter{Since: t0.Add(4 * time.Minute)}, []string{"c6", "c5"}, ""},
		{"until is exclusive", CallFilter{Until: t0.Add(2 * time.Minute)}, []string{"c2", "c1"}, ""},
		{"window", CallFilter{Since: t0.Add(time.Minute), Until: t0.Add(4 * time.Minute)}, []string{"c4", "c3", "c2"}, ""},
		{"state", CallFilter{State: hotline.CallAnswered}, []string{"c4", "c3"}, ""},
		{"agent", CallFilter{AgentID: "a1"}, []string{"c3", "c1"}, ""},
		{"caller number", CallFilter{CallerNumber: "13900000001"}, []string{"c5", "c3", "c1"}, ""},
		{"combined", CallFilter{CallerNumber: "13900000001", State: hotline.CallRinging}, []string{"c5"}, ""},
		{"uncallable number", CallFilter{Uncallable: true}, []string{"c6"}, ""},
		{"no match", CallFilter{AgentID: "nobody"}, []string{}, ""},
		{"limit", CallFilter{Limit: 2}, []string{"c6", "c5"}, ""},
		{"offset", CallFilter{Limit: 2, Offset: 2}, []string{"c4", "c3"}, ""},
		{"offset past the end", CallFilter{Offset: 10}, []string{}, ""},
		{"negative limit", CallFilter{Limit: -1}, nil, hotline.KindInvalid},
		{"limit over the maximum", CallFilter{Limit: MaxListLimit + 1}, nil, hotline.KindInvalid},
		{"negative offset", CallFilter{Offset: -1}, nil, hotline.KindInvalid},
		{"until before since", CallFilter{Since: t0.Add(time.Minute), Until: t0}, nil, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, err := f.db.ListCalls(f.ctx, tt.filter)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantIDs, callIDs(calls))
		})
	}

	// Rows come back whole.
	calls, err := f.db.ListCalls(f.ctx, CallFilter{Until: t0.Add(time.Second)})
	require.NoError(t, err)
	require.Equal(t, []hotline.Call{seed[0]}, calls)
}

func TestListCallsDefaultLimit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := range DefaultListLimit + 1 {
		require.NoError(t, f.db.CreateCall(f.ctx, testCall(fmt.Sprintf("c%03d", i), "1", t0.Add(time.Duration(i)*time.Second))))
	}
	calls, err := f.db.ListCalls(f.ctx, CallFilter{})
	require.NoError(t, err)
	require.Len(t, calls, DefaultListLimit)
	require.Equal(t, fmt.Sprintf("c%03d", DefaultListLimit), calls[0].ID)
}

func TestCallCounts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	missed := func(id string, arrived time.Time, reason hotline.MissedReason) hotline.Call {
		c := testCall(id, "1", arrived)
		c.End(arrived.Add(time.Minute), reason)
		return c
	}
	completed := answered(t, testCall("done", "1", t0.Add(time.Hour)), "a1", t0.Add(time.Hour))
	completed.End(t0.Add(2*time.Hour), "")
	for _, c := range []hotline.Call{
		missed("old", t0.Add(-time.Hour), hotline.MissedNoAnswer), // before the period
		missed("m1", t0, hotline.MissedNoAnswer),
		missed("m2", t0.Add(time.Minute), hotline.MissedNoAnswer),
		missed("m3", t0.Add(2*time.Minute), hotline.MissedAfterHours),
		missed("m4", t0.Add(3*time.Minute), hotline.MissedServiceDown), // the fallback took it
		missed("m5", t0.Add(4*time.Minute), hotline.MissedInterrupted), // the service lost track of it
		completed,
		answered(t, testCall("talking", "1", t0.Add(3*time.Hour)), "a1", t0.Add(3*time.Hour)),
		testCall("ringing", "1", t0.Add(4*time.Hour)),
	} {
		require.NoError(t, f.db.CreateCall(f.ctx, c))
	}

	got, err := f.db.CallCounts(f.ctx, t0)
	require.NoError(t, err)
	require.Equal(t, CallCounts{
		Total:      8,
		Answered:   2,
		Missed:     5, // service_down and interrupted are missed calls too
		InProgress: 2,
		MissedByReason: map[hotline.MissedReason]int{
			hotline.MissedNoAnswer:    2,
			hotline.MissedAfterHours:  1,
			hotline.MissedServiceDown: 1,
			hotline.MissedInterrupted: 1,
		},
	}, got)

	all, err := f.db.CallCounts(f.ctx, time.Time{})
	require.NoError(t, err)
	require.Equal(t, 9, all.Total)
	require.Equal(t, 3, all.MissedByReason[hotline.MissedNoAnswer])
}

func TestLastCallByNumber(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	earlier := answered(t, testCall("c1", "13900000001", t0), "a1", t0.Add(time.Second))
	latest := testCall("c2", "13900000001", t0.Add(time.Hour))
	for _, c := range []hotline.Call{earlier, latest, testCall("c3", "13900000002", t0.Add(2*time.Hour))} {
		require.NoError(t, f.db.CreateCall(f.ctx, c))
	}

	tests := []struct {
		name     string
		number   string
		since    time.Time
		want     hotline.Call
		wantKind hotline.ErrorKind
	}{
		{"the newest", "13900000001", time.Time{}, latest, ""},
		{"since is inclusive", "13900000001", t0.Add(time.Hour), latest, ""},
		{"none since", "13900000001", t0.Add(time.Hour + time.Millisecond), hotline.Call{}, hotline.KindNotFound},
		{"no number", "", time.Time{}, hotline.Call{}, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.LastCallByNumber(f.ctx, tt.number, tt.since)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// An after-hours call keeps the name of the citizen's voicemail through
// every statement that reads or writes calls.
func TestVoicemailNameRoundTrips(t *testing.T) {
	t.Parallel()
	afterHours := func(voicemail string) hotline.Call {
		c := testCall("c1", "13900000001", t0)
		c.End(t0.Add(30*time.Second), hotline.MissedAfterHours)
		c.VoicemailName = voicemail
		return c
	}
	tests := []struct {
		name    string
		created hotline.Call
		updated hotline.Call // stored by UpdateCall after CreateCall
	}{
		{"set on create", afterHours("vm-c1"), afterHours("vm-c1")},
		{"set on update", afterHours(""), afterHours("vm-c1")},
		{"replaced on update", afterHours("vm-c1"), afterHours("vm-c1-again")},
		{"none", afterHours(""), afterHours("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			require.NoError(t, f.db.CreateCall(f.ctx, tt.created))
			got, err := f.db.GetCall(f.ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, tt.created, got)

			require.NoError(t, f.db.UpdateCall(f.ctx, tt.updated))
			got, err = f.db.GetCall(f.ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, tt.updated, got)

			listed, err := f.db.ListCalls(f.ctx, CallFilter{})
			require.NoError(t, err)
			require.Equal(t, []hotline.Call{tt.updated}, listed)
			last, err := f.db.LastCallByNumber(f.ctx, "13900000001", time.Time{})
			require.NoError(t, err)
			require.Equal(t, tt.updated, last)
		})
	}
}

func TestAgentCallStats(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2", "a3")
	require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "13900000001", t0.Add(-2*time.Hour))))
	legs := []struct {
		agent   string
		outcome hotline.LegOutcome
		rung    time.Time
	}{
		{"a3", hotline.LegBusy, t0.Add(-time.Hour)}, // before the period
		{"a1", hotline.LegAnswered, t0},             // since is inclusive
		{"a1", hotline.LegCompleted, t0.Add(time.Minute)},
		{"a1", hotline.LegBusy, t0.Add(2 * time.Minute)},
		{"a1", hotline.LegNoAnswer, t0.Add(3 * time.Minute)},
		{"a1", hotline.LegNoAnswer, t0.Add(4 * time.Minute)},
		{"a1", hotline.LegLost, t0.Add(5 * time.Minute)},
		{"a2", hotline.LegBusy, t0.Add(time.Minute)},
		{"a2", hotline.LegBusy, t0.Add(2 * time.Minute)},
		{"a2", hotline.LegCancelled, t0.Add(3 * time.Minute)},
		{"a2", hotline.LegFailed, t0.Add(6 * time.Minute)},
		{"a2", hotline.LegRinging, t0.Add(7 * time.Minute)},
	}
	for i, l := range legs {
		_, err := f.db.AddLeg(f.ctx, hotline.CallLeg{
			CallID: "c1", AgentID: l.agent, ChannelID: fmt.Sprintf("c1-leg%d", i), Outcome: l.outcome, RungAt: l.rung,
		})
		require.NoError(t, err)
	}

	tests := []struct {
		name  string
		since time.Time
		want  map[string]AgentStats
	}{
		{"since t0", t0, map[string]AgentStats{
			"a1": {Answered: 2, Declined: 1, NotAnswered: 2, LastCallAt: t0.Add(5 * time.Minute)},
			"a2": {Declined: 2, LastCallAt: t0.Add(7 * time.Minute)},
		}},
		{"every leg", time.Time{}, map[string]AgentStats{
			"a1": {Answered: 2, Declined: 1, NotAnswered: 2, LastCallAt: t0.Add(5 * time.Minute)},
			"a2": {Declined: 2, LastCallAt: t0.Add(7 * time.Minute)},
			"a3": {Declined: 1, LastCallAt: t0.Add(-time.Hour)},
		}},
		{"the last minutes", t0.Add(5 * time.Minute), map[string]AgentStats{
			"a1": {LastCallAt: t0.Add(5 * time.Minute)},
			"a2": {LastCallAt: t0.Add(7 * time.Minute)},
		}},
		{"no leg since", t0.Add(time.Hour), map[string]AgentStats{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.AgentCallStats(f.ctx, tt.since)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// callLogWorld seeds calls of every outcome on both lines, some rated, some
// reviewed, with ties in arrival time, and returns them with the ids of the
// rated and reviewed ones.
func callLogWorld(t *testing.T, f fixture) (calls []hotline.Call, rated, reviewed map[string]bool) {
	t.Helper()
	f.seedAgents(t, "a1", "a2", "s1")
	rated, reviewed = map[string]bool{}, map[string]bool{}
	reasons := []hotline.MissedReason{hotline.MissedNoAnswer, hotline.MissedNoAgent, hotline.MissedAbandoned,
		hotline.MissedAfterHours, hotline.MissedFailed}
	for i := range 60 {
		arrived := t0.Add(time.Duration(i/2) * time.Minute) // two calls a minute: ties
		c := testCall(fmt.Sprintf("c%02d", i), fmt.Sprintf("1390000000%d", i%4), arrived)
		if i%5 == 0 {
			c.Line = hotline.LineComplaint
		}
		if i%7 == 0 {
			c.CallerNumber = "" // withheld
		}
		switch i % 4 {
		case 0, 1: // answered, most completed
			c = answered(t, c, []string{"a1", "a2"}[i%3%2], arrived.Add(5*time.Second))
			if i%8 != 1 {
				c.End(arrived.Add(time.Minute), "")
			}
		case 2:
			c.End(arrived.Add(30*time.Second), reasons[i/4%len(reasons)])
		}
		require.NoError(t, f.db.CreateCall(f.ctx, c))
		if c.State == hotline.CallCompleted && i%3 == 0 {
			require.NoError(t, f.db.SaveRating(f.ctx, hotline.Rating{CallID: c.ID, AgentID: c.FirstResponsibleAgent,
				Score: hotline.Satisfaction(i % 6), RatedAt: c.EndedAt}))
			rated[c.ID] = i%6 != 0 // 0 is "not rated"
		}
		if c.FirstResponsibleAgent != "" && i%5 == 1 {
			_, err := f.db.AddReview(f.ctx, hotline.Review{CallID: c.ID, SupervisorID: "s1", Score: 80})
			require.NoError(t, err)
			reviewed[c.ID] = true
		}
		calls = append(calls, c)
	}
	// The log's order: newest first, then by id, descending.
	slices.SortFunc(calls, func(a, b hotline.Call) int {
		if c := b.ArrivedAt.Compare(a.ArrivedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return calls, rated, reviewed
}

// Every filter of the call log selects what its definition says, alone and
// combined, and paging by cursor walks the same list without a gap or a
// repeat, ties in arrival time included.
func TestListCallsFiltersOfTheCallLog(t *testing.T) {
	t.Parallel()
	f := setup(t)
	calls, rated, reviewed := callLogWorld(t, f)
	yes, no := true, false
	tests := []struct {
		name   string
		filter CallFilter
		match  func(hotline.Call) bool
	}{
		{"outcome answered", CallFilter{Outcome: hotline.OutcomeAnswered}, hotline.OutcomeAnswered.Matches},
		{"outcome missed", CallFilter{Outcome: hotline.OutcomeMissed}, hotline.OutcomeMissed.Matches},
		{"outcome in progress", CallFilter{Outcome: hotline.OutcomeInProgress}, hotline.OutcomeInProgress.Matches},
		{"outcome abandoned", CallFilter{Outcome: hotline.CallOutcome(hotline.MissedAbandoned)},
			func(c hotline.Call) bool { return c.MissedReason == hotline.MissedAbandoned }},
		{"state and outcome agree", CallFilter{State: hotline.CallAnswered, Outcome: hotline.OutcomeInProgress},
			func(c hotline.Call) bool { return c.State == hotline.CallAnswered }},
		{"state and outcome disagree", CallFilter{State: hotline.CallRinging, Outcome: hotline.OutcomeMissed},
			func(hotline.Call) bool { return false }},
		{"complaint line", CallFilter{Line: hotline.LineComplaint},
			func(c hotline.Call) bool { return c.Line == hotline.LineComplaint }},
		{"rated", CallFilter{Rated: &yes}, func(c hotline.Call) bool { return rated[c.ID] }},
		{"not rated", CallFilter{Rated: &no}, func(c hotline.Call) bool { return !rated[c.ID] }},
		{"reviewed", CallFilter{Reviewed: &yes}, func(c hotline.Call) bool { return reviewed[c.ID] }},
		{"not reviewed", CallFilter{Reviewed: &no}, func(c hotline.Call) bool { return !reviewed[c.ID] }},
		{"agent and state", CallFilter{AgentID: "a1", State: hotline.CallCompleted},
			func(c hotline.Call) bool { return c.FirstResponsibleAgent == "a1" && c.State == hotline.CallCompleted }},
		{"agent and a missed state: none", CallFilter{AgentID: "a1", State: hotline.CallMissed},
			func(hotline.Call) bool { return false }},
		{"number and state", CallFilter{CallerNumber: "13900000002", State: hotline.CallMissed},
			func(c hotline.Call) bool { return c.CallerNumber == "13900000002" && c.State == hotline.CallMissed }},
		{"number and agent", CallFilter{CallerNumber: "13900000001", AgentID: "a2"},
			func(c hotline.Call) bool { return c.CallerNumber == "13900000001" && c.FirstResponsibleAgent == "a2" }},
		{"agent, line, rated and a window", CallFilter{AgentID: "a2", Line: hotline.LineHotline, Rated: &yes,
			Since: t0.Add(5 * time.Minute), Until: t0.Add(25 * time.Minute)},
			func(c hotline.Call) bool {
				return c.FirstResponsibleAgent == "a2" && c.Line == hotline.LineHotline && rated[c.ID] &&
					!c.ArrivedAt.Before(t0.Add(5*time.Minute)) && c.ArrivedAt.Before(t0.Add(25*time.Minute))
			}},
		{"uncallable and missed", CallFilter{Uncallable: true, Outcome: hotline.OutcomeMissed},
			func(c hotline.Call) bool { return c.CallerNumber == "" && c.State == hotline.CallMissed }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := []string{}
			for _, c := range calls {
				if tt.match(c) {
					want = append(want, c.ID)
				}
			}
			all, err := f.db.ListCalls(f.ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, want, callIDs(all))

			// Pages of 3 by cursor give the same list.
			paged := []string{}
			page := tt.filter
			page.Limit = 3
			for range len(calls) {
				got, err := f.db.ListCalls(f.ctx, page)
				require.NoError(t, err)
				paged = append(paged, callIDs(got)...)
				if len(got) < page.Limit {
					break
				}
				page.After = hotline.CursorAfter(got[len(got)-1])
			}
			require.Equal(t, want, paged)
		})
	}
	_, err := f.db.ListCalls(f.ctx, CallFilter{Outcome: "lost"})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
}

// Each filter reads calls through the index ListCalls names for it and
// never walks the whole table to find a few rows.
func TestListCallsChoosesItsIndex(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	f := setup(t)
	log := &PlanLog{}
	db := f.db.WithPlans(log)
	yes := true
	tests := []struct {
		filter CallFilter
		step   string // a step of the plan
	}{
		{CallFilter{}, "SCAN calls USING INDEX calls_by_arrived"},
		{CallFilter{Since: t0, Until: t0.Add(time.Hour)}, "SEARCH calls USING INDEX calls_by_arrived (arrived_ms>? AND arrived_ms<?)"},
		{CallFilter{AgentID: "a1", Since: t0, Until: t0.Add(time.Hour)},
			"SEARCH calls USING INDEX calls_by_agent (first_responsible_agent=? AND arrived_ms>? AND arrived_ms<?)"},
		{CallFilter{AgentID: "a1", State: hotline.CallMissed},
			"SEARCH calls USING INDEX calls_by_agent_state (first_responsible_agent=? AND state=?)"},
		{CallFilter{AgentID: "a1", CallerNumber: "13900000001"},
			"SEARCH calls USING INDEX calls_by_caller (caller_number=?)"},
		{CallFilter{State: hotline.CallMissed, CallerNumber: "13900000001"},
			"SEARCH calls USING INDEX calls_by_caller (caller_number=?)"},
		{CallFilter{Outcome: hotline.OutcomeInProgress}, "SEARCH calls USING INDEX calls_by_state (state=?)"},
		{CallFilter{Outcome: hotline.CallOutcome(hotline.MissedFailed)},
			"SEARCH calls USING INDEX calls_missed_by_reason (missed_reason=?)"},
		{CallFilter{Uncallable: true}, "SEARCH calls USING INDEX calls_by_caller (caller_number=?)"},
		{CallFilter{Party: "a1", Since: t0, Until: t0.Add(time.Hour)},
			"SEARCH call_legs USING INDEX call_legs_by_agent (agent_id=? AND rung_ms>? AND rung_ms<?)"},
		{CallFilter{Party: "a1", AgentID: "a2"}, "SEARCH call_legs USING INDEX call_legs_by_call (call_id=?)"},
		{CallFilter{Reviewed: &yes, After: hotline.CallCursor{ArrivedAt: t0, ID: "c1"}},
			"SEARCH calls USING INDEX calls_by_arrived ((arrived_ms,id)<(?,?))"},
	}
	for _, tt := range tests {
		_, err := db.ListCalls(f.ctx, tt.filter)
		require.NoError(t, err)
		var steps []string
		for _, p := range log.Take() {
			steps = append(steps, p.Plan...)
		}
		require.Contains(t, steps, tt.step, "%+v", tt.filter)
	}
}

// TestUnfinishedCalls: the calls reconciliation must look at are the ones
// in progress and the ones whose end is stored but not finished; the
// phase, bridge and snoop round-trip.
func TestUnfinishedCalls(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")

	talking := answered(t, f.createCall(t, testCall("talking", "13900000001", t0)), "a1", t0.Add(time.Second))
	talking.Phase, talking.BridgeID, talking.SnoopID = hotline.PhaseTalking, "talking-bridge", "talking-s002"
	require.NoError(t, f.db.UpdateCall(f.ctx, talking))
	leg := f.addLeg(t, hotline.CallLeg{CallID: "talking", AgentID: "a1", ChannelID: "talking-a001-a1", Outcome: hotline.LegAnswered,
		RungAt: t0, AnsweredAt: t0.Add(time.Second)})
	talking.Legs = []hotline.CallLeg{leg}

	ending := testCall("ending", "13900000002", t0.Add(time.Minute))
	ending.End(t0.Add(2*time.Minute), hotline.MissedAbandoned)
	ending.Phase = hotline.PhaseEnding
	require.NoError(t, f.db.CreateCall(f.ctx, ending))

	ended := testCall("ended", "13900000003", t0.Add(3*time.Minute))
	ended.End(t0.Add(4*time.Minute), hotline.MissedNoAnswer)
	ended.Phase, ended.InterruptedAt = hotline.PhaseEnded, t0.Add(5*time.Minute)
	require.NoError(t, f.db.CreateCall(f.ctx, ended))

	got, err := f.db.UnfinishedCalls(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []hotline.Call{talking, ending}, got, "oldest first; the ended call is not there")

	back, err := f.db.GetCall(f.ctx, "ended")
	require.NoError(t, err)
	require.Equal(t, ended, back, "phase and interruption round-trip")
}

// TestSaveCallWritesOneStepTogether: the call's state, a leg and an
// agent's state are stored by one SaveCall; when any of them cannot be
// stored (an unknown agent), none is, and the call's conflict rule holds
// as in UpdateCall.
func TestSaveCallWritesOneStepTogether(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1")
	call := f.createCall(t, testCall("c1", "13900000001", t0))
	call.Phase, call.BridgeID = hotline.PhaseQueued, "c1-bridge" // a change of the call's progress alone
	require.NoError(t, f.db.SaveCall(f.ctx, &call, nil, nil))
	stored, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, call, stored)
	leg := f.addLeg(t, hotline.CallLeg{CallID: "c1", AgentID: "a1", ChannelID: "c1-a001", Outcome: hotline.LegRinging, RungAt: t0})

	call = answered(t, call, "a1", t0.Add(time.Second))
	leg.Outcome, leg.AnsweredAt = hotline.LegAnswered, t0.Add(time.Second)
	onCall := hotline.AgentStateChange{AgentID: "a1", State: hotline.AgentOnCall, Reason: "ignored", At: t0.Add(time.Second)}
	require.NoError(t, f.db.SaveCall(f.ctx, &call, []hotline.CallLeg{leg}, []hotline.AgentStateChange{onCall}))
	got, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, "a1", got.FirstResponsibleAgent)
	require.Equal(t, hotline.CallAnswered, got.State)
	require.Equal(t, []hotline.CallLeg{leg}, got.Legs)
	a, err := f.db.GetAgent(f.ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, hotline.AgentOnCall, a.State)
	require.Empty(t, a.PauseReason, "a reason is kept only for a pause")

	ended := leg
	ended.Outcome, ended.EndedAt = hotline.LegCompleted, t0.Add(time.Minute)
	err = f.db.SaveCall(f.ctx, nil, []hotline.CallLeg{ended},
		[]hotline.AgentStateChange{{AgentID: "a1", State: hotline.AgentWrapUp, At: t0.Add(time.Minute)}, {AgentID: "nobody", State: hotline.AgentWrapUp, At: t0}})
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	got, err = f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, []hotline.CallLeg{leg}, got.Legs, "nothing of a failed step is stored")
	a, err = f.db.GetAgent(f.ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, hotline.AgentOnCall, a.State)

	other := call
	other.FirstResponsibleAgent = "a2"
	err = f.db.SaveCall(f.ctx, &other, nil, nil)
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
	call.Phase = hotline.PhaseSurvey
	require.NoError(t, f.db.SaveCall(f.ctx, &call, nil, nil), "the progress of an answered call")
	got, err = f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, hotline.PhaseSurvey, got.Phase)
	require.Equal(t, "a1", got.FirstResponsibleAgent)
	err = f.db.SaveCall(f.ctx, nil, nil, []hotline.AgentStateChange{{AgentID: "a1", State: "dancing"}})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
}

// addLeg stores l and returns it with its id.
func (f fixture) addLeg(t *testing.T, l hotline.CallLeg) hotline.CallLeg {
	t.Helper()
	id, err := f.db.AddLeg(f.ctx, l)
	require.NoError(t, err)
	l.ID = id
	return l
}

// createCall stores c and returns it.
func (f fixture) createCall(t *testing.T, c hotline.Call) hotline.Call {
	t.Helper()
	require.NoError(t, f.db.CreateCall(f.ctx, c))
	return c
}
