package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// seedPromiseWorld stores agents a1 and a2, supervisor s1, call c1 from
// number1 answered by a1 at t0+5s, call c2 from number2 answered by a2, and
// call missed from number1 that nobody answered.
func (f fixture) seedPromiseWorld(t *testing.T) {
	t.Helper()
	f.seedAgents(t, "a1", "a2")
	supervisor := testAgent("s1")
	supervisor.Role = hotline.RoleSupervisor
	require.NoError(t, f.db.UpsertAgent(f.ctx, supervisor))
	f.seedCall(t, "c1", number1, "a1", t0)
	f.seedCall(t, "c2", number2, "a2", t0)
	f.seedCall(t, "missed", number1, "", t0)
}

// promiseOn is a promise on call recorded by by at t0+1m, due at t0+deadline.
func promiseOn(call, by string, deadline time.Duration) hotline.Promise {
	return hotline.Promise{
		CallID:    call,
		CreatedBy: by,
		Summary:   "reply about the pension transfer",
		CreatedAt: at(time.Minute),
		Deadline:  at(deadline),
	}
}

// newPromise stores a promise on call c1 recorded by a1, due at
// t0+deadline, and returns its id.
func (f fixture) newPromise(t *testing.T, deadline time.Duration) int64 {
	t.Helper()
	p, err := f.db.CreatePromise(f.ctx, promiseOn("c1", "a1", deadline))
	require.NoError(t, err)
	return p.ID
}

// setPromiseState puts promise id in state through the store's statements:
// escalated at its deadline, fulfilled by a1's note at t0+2m, closed by s1
// at t0+3m.
func (f fixture) setPromiseState(t *testing.T, id int64, state hotline.PromiseState) {
	t.Helper()
	var err error
	switch state {
	case hotline.PromiseOpen:
	case hotline.PromiseEscalated:
		p, gerr := f.db.GetPromise(f.ctx, id)
		require.NoError(t, gerr)
		var done []Escalated
		done, err = f.db.Escalate(f.ctx, Promises, p.Deadline, []Escalation{{ID: id, Detail: "no reply in time"}})
		require.True(t, err == nil && done[0].Won, "escalate promise %d: %v", id, err)
	case hotline.PromiseFulfilled:
		_, err = f.db.FulfilPromise(f.ctx, id, FulfilledByNote, "told the citizen by SMS", "a1", at(2*time.Minute))
	case hotline.PromiseClosed:
		_, err = f.db.ClosePromise(f.ctx, id, "s1", "withdrawn by the citizen", at(3*time.Minute))
	}
	require.NoError(t, err)
}

func TestCreatePromise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   hotline.Promise
		want hotline.Promise // ID and CreatedAt filled in by the test
	}{
		{"recorded by the owner", promiseOn("c1", "a1", time.Hour),
			hotline.Promise{CallID: "c1", Number: number1, AgentID: "a1", CreatedBy: "a1"}},
		{"recorded by another agent who claims it", func() hotline.Promise {
			p := promiseOn("c1", "a2", time.Hour)
			p.AgentID = "a2"
			return p
		}(), hotline.Promise{CallID: "c1", Number: number1, AgentID: "a1", CreatedBy: "a2"}},
		{"recorded by a supervisor", promiseOn("c2", "s1", time.Hour),
			hotline.Promise{CallID: "c2", Number: number2, AgentID: "a2", CreatedBy: "s1"}},
		{"another number to reply to, a department, text trimmed", func() hotline.Promise {
			p := promiseOn("c1", "a1", time.Hour)
			p.Number, p.Department, p.Summary = "13900000077", " tax ", "  "+strings.Repeat("养", MaxPromiseText)+"\n"
			return p
		}(), hotline.Promise{CallID: "c1", Number: "13900000077", AgentID: "a1", CreatedBy: "a1", Department: "tax",
			Summary: strings.Repeat("养", MaxPromiseText)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedPromiseWorld(t)

			got, err := f.db.CreatePromise(f.ctx, tt.in)
			require.NoError(t, err)
			want := tt.want
			want.ID = got.ID
			if want.Summary == "" {
				want.Summary = tt.in.Summary
			}
			want.State = hotline.PromiseOpen
			want.CreatedAt, want.Deadline, want.OriginalDeadline = at(time.Minute), at(time.Hour), at(time.Hour)
			require.Equal(t, want, got)

			again, err := f.db.GetPromise(f.ctx, got.ID)
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}

	t.Run("made now by the DB's clock when CreatedAt is zero", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		f.seedPromiseWorld(t)
		in := promiseOn("c1", "a1", time.Hour)
		in.CreatedAt = time.Time{}
		got, err := f.db.CreatePromise(f.ctx, in)
		require.NoError(t, err)
		require.Equal(t, t0, got.CreatedAt)
	})
}

func TestCreatePromiseRefuses(t *testing.T) {
	t.Parallel()
	with := func(change func(*hotline.Promise)) hotline.Promise {
		p := promiseOn("c1", "a1", time.Hour)
		change(&p)
		return p
	}
	tests := []struct {
		name     string
		in       hotline.Promise
		wantKind hotline.ErrorKind
		wantMsg  string
	}{
		{"a call nobody answered", with(func(p *hotline.Promise) { p.CallID = "missed" }), hotline.KindInvalid, "never answered"},
		{"no such call", with(func(p *hotline.Promise) { p.CallID = "nope" }), hotline.KindNotFound, "not found"},
		{"no call id", with(func(p *hotline.Promise) { p.CallID = " " }), hotline.KindInvalid, "call id is required"},
		{"no summary", with(func(p *hotline.Promise) { p.Summary = " \t" }), hotline.KindInvalid, "summary is required"},
		{"summary too long", with(func(p *hotline.Promise) { p.Summary = strings.Repeat("x", MaxPromiseText+1) }),
			hotline.KindInvalid, "more than 2000"},
		{"deadline at the making", with(func(p *hotline.Promise) { p.Deadline = p.CreatedAt }), hotline.KindInvalid, "must be after"},
		{"deadline before the making", with(func(p *hotline.Promise) { p.Deadline = t0 }), hotline.KindInvalid, "must be after"},
		{"no deadline", with(func(p *hotline.Promise) { p.Deadline = time.Time{} }), hotline.KindInvalid, "must be after"},
		{"nobody recorded it", with(func(p *hotline.Promise) { p.CreatedBy = "" }), hotline.KindInvalid, "who records it"},
		{"recorded fulfilled", with(func(p *hotline.Promise) { p.State = hotline.PromiseFulfilled }), hotline.KindInvalid, "recorded open"},
		{"recorded with evidence", with(func(p *hotline.Promise) { p.Evidence = "done" }), hotline.KindInvalid, "no fulfilment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedPromiseWorld(t)

			_, err := f.db.CreatePromise(f.ctx, tt.in)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "store.CreatePromise")
			require.ErrorContains(t, err, dbMessageOr(tt.wantMsg))
			var n int
			require.NoError(t, f.db.reader.GetContext(f.ctx, &n, `SELECT count(*) FROM promises`))
			require.Zero(t, n, "nothing stored")
		})
	}
}

func TestGetPromiseNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.db.GetPromise(f.ctx, 42)
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	require.ErrorContains(t, err, "store.GetPromise: promise 42 not found")
}

func TestListPromisesFilters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedPromiseWorld(t)
	// Deadlines 3h (open), 1h (escalated), 2h (fulfilled) on c1 (a1,
	// number1); 4h (open) on c2 (a2, number2); 30m (closed) on c1.
	var ids []int64
	for _, s := range []struct {
		call     string
		deadline time.Duration
		state    hotline.PromiseState
	}{
		{"c1", 3 * time.Hour, hotline.PromiseOpen},
		{"c1", time.Hour, hotline.PromiseEscalated},
		{"c1", 2 * time.Hour, hotline.PromiseFulfilled},
		{"c2", 4 * time.Hour, hotline.PromiseOpen},
		{"c1", 30 * time.Minute, hotline.PromiseClosed},
	} {
		p, err := f.db.CreatePromise(f.ctx, promiseOn(s.call, "s1", s.deadline))
		require.NoError(t, err)
		f.setPromiseState(t, p.ID, s.state)
		ids = append(ids, p.ID)
	}

	tests := []struct {
		name     string
		filter   PromiseFilter
		want     []int64
		wantKind hotline.ErrorKind
	}{
		{"all in deadline order", PromiseFilter{}, []int64{ids[4], ids[1], ids[2], ids[0], ids[3]}, ""},
		{"open", PromiseFilter{State: hotline.PromiseOpen}, []int64{ids[0], ids[3]}, ""},
		{"escalated", PromiseFilter{State: hotline.PromiseEscalated}, []int64{ids[1]}, ""},
		{"of an agent", PromiseFilter{AgentID: "a2"}, []int64{ids[3]}, ""},
		{"to a number", PromiseFilter{Number: number1}, []int64{ids[4], ids[1], ids[2], ids[0]}, ""},
		{"overdue at 3h: unfinished only, the deadline itself included", PromiseFilter{OverdueAt: at(3 * time.Hour)},
			[]int64{ids[1], ids[0]}, ""},
		{"overdue at 2h", PromiseFilter{OverdueAt: at(2 * time.Hour)}, []int64{ids[1]}, ""},
		{"state overdue: the same", PromiseFilter{State: hotline.PromiseOverdue, OverdueAt: at(3 * time.Hour)}, []int64{ids[1], ids[0]}, ""},
		{"state overdue needs the time", PromiseFilter{State: hotline.PromiseOverdue}, nil, hotline.KindInvalid},
		{"unfinished", PromiseFilter{State: hotline.PromiseUnfinished}, []int64{ids[1], ids[0], ids[3]}, ""},
		{"unfinished of an agent", PromiseFilter{State: hotline.PromiseUnfinished, AgentID: "a1"}, []int64{ids[1], ids[0]}, ""},
		{"overdue and fulfilled: none", PromiseFilter{State: hotline.PromiseFulfilled, OverdueAt: at(5 * time.Hour)}, []int64{}, ""},
		{"agent and state", PromiseFilter{AgentID: "a1", State: hotline.PromiseOpen}, []int64{ids[0]}, ""},
		{"a page", PromiseFilter{Limit: 2, Offset: 1}, []int64{ids[1], ids[2]}, ""},
		{"nothing", PromiseFilter{AgentID: "nobody"}, []int64{}, ""},
		{"unknown state", PromiseFilter{State: "lost"}, nil, hotline.KindInvalid},
		{"limit too large", PromiseFilter{Limit: MaxListLimit + 1}, nil, hotline.KindInvalid},
		{"negative offset", PromiseFilter{Offset: -1}, nil, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.ListPromises(f.ctx, tt.filter)
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			gotIDs := []int64{}
			for _, p := range got {
				gotIDs = append(gotIDs, p.ID)
				require.Empty(t, p.Extensions, "lists leave the history to GetPromise")
			}
			require.Equal(t, tt.want, gotIDs)
		})
	}
}

func TestExtendPromise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		seed       hotline.PromiseState // the promise, due at t0+1h, is put in this state
		remind     bool                 // a reminder was sent before the extension
		approvedBy string
		reason     string
		to         time.Duration
		now        time.Duration
		wantKind   hotline.ErrorKind
		wantMsg    string
		wantFrom   hotline.PromiseState // the state the extension row records
	}{
		{"open, by a supervisor", hotline.PromiseOpen, true, "s1", "waiting for the tax office", 3 * time.Hour, 30 * time.Minute, "", "", hotline.PromiseOpen},
		{"escalated becomes open", hotline.PromiseEscalated, true, "s1", "waiting for the tax office", 3 * time.Hour, 2 * time.Hour, "", "", hotline.PromiseEscalated},
		// Who may approve is the access table's (hotline.Authorize); the store
		// records an approver who is on the roster.
		{"without an approver", hotline.PromiseOpen, false, "", "need more time", 3 * time.Hour, 30 * time.Minute,
			hotline.KindInvalid, "who approved the new deadline is required", ""},
		{"by a stranger", hotline.PromiseOpen, false, "mallory", "need more time", 3 * time.Hour, 30 * time.Minute,
			hotline.KindInvalid, "FOREIGN KEY", ""},
		{"without a reason", hotline.PromiseOpen, false, "s1", " ", 3 * time.Hour, 30 * time.Minute, hotline.KindInvalid, "reason", ""},
		{"to an earlier deadline", hotline.PromiseOpen, false, "s1", "oops", 50 * time.Minute, 30 * time.Minute,
			hotline.KindInvalid, "after the current one", ""},
		{"to the same deadline", hotline.PromiseOpen, false, "s1", "oops", time.Hour, 30 * time.Minute,
			hotline.KindInvalid, "after the current one", ""},
		{"to a deadline already past", hotline.PromiseEscalated, false, "s1", "oops", 2 * time.Hour, 3 * time.Hour,
			hotline.KindInvalid, "after the approval", ""},
		{"fulfilled", hotline.PromiseFulfilled, false, "s1", "more", 3 * time.Hour, 30 * time.Minute, hotline.KindConflict, "is fulfilled", ""},
		{"closed", hotline.PromiseClosed, false, "s1", "more", 3 * time.Hour, 30 * time.Minute, hotline.KindConflict, "is closed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedPromiseWorld(t)
			id := f.newPromise(t, time.Hour)
			if tt.remind {
				ok, err := f.db.MarkRemindersSent(f.ctx, Promises, []Reminder{{ID: id, Lead: 10 * time.Minute}}, at(50*time.Minute))
				require.NoError(t, err)
				require.Equal(t, []bool{true}, ok)
			}
			f.setPromiseState(t, id, tt.seed)
			before, err := f.db.GetPromise(f.ctx, id)
			require.NoError(t, err)

			got, err := f.db.ExtendPromise(f.ctx, id, at(tt.to), tt.approvedBy, tt.reason, at(tt.now))
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.ExtendPromise")
				require.ErrorContains(t, err, dbMessageOr(tt.wantMsg))
				after, err := f.db.GetPromise(f.ctx, id)
				require.NoError(t, err)
				require.Equal(t, before, after, "unchanged")
				return
			}
			require.NoError(t, err)
			want := before
			want.State, want.Deadline, want.EscalatedAt, want.RemindersSent = hotline.PromiseOpen, at(tt.to), time.Time{}, nil
			want.Extensions = []hotline.PromiseExtension{{
				From: at(time.Hour), To: at(tt.to), ApprovedBy: "s1", Reason: tt.reason, At: at(tt.now),
				FromState: before.State, EscalatedAt: before.EscalatedAt,
			}}
			require.Equal(t, want, got)
			require.Equal(t, at(time.Hour), got.OriginalDeadline, "the original deadline stays")

			var history struct {
				FromState   string `db:"from_state"`
				EscalatedMs int64  `db:"escalated_ms"`
			}
			require.NoError(t, f.db.reader.GetContext(f.ctx, &history,
				`SELECT from_state, escalated_ms FROM promise_extensions WHERE promise_id = ?`, id))
			require.Equal(t, string(tt.wantFrom), history.FromState)
			require.Equal(t, hotline.UnixMilli(before.EscalatedAt), history.EscalatedMs, "the lifted escalation is kept")

			// A second extension appends; the first stays as it was.
			got, err = f.db.ExtendPromise(f.ctx, id, at(tt.to+time.Hour), "s1", "still waiting", at(tt.now+time.Minute))
			require.NoError(t, err)
			require.Len(t, got.Extensions, 2)
			require.Equal(t, want.Extensions[0], got.Extensions[0])
			require.Equal(t, at(tt.to), got.Extensions[1].From)
			require.Equal(t, at(time.Hour), got.OriginalDeadline)
		})
	}

	t.Run("no such promise", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		f.seedPromiseWorld(t)
		_, err := f.db.ExtendPromise(f.ctx, 42, at(time.Hour), "s1", "r", t0)
		require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	})
}

// An extension makes the reminders of the new deadline fire again, and a
// promise escalated, extended and overdue again escalates again with a
// second violation.
func TestExtendedPromiseRemindsAndEscalatesAgain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedPromiseWorld(t)
	id := f.newPromise(t, time.Hour)

	mark := func(now time.Duration) bool {
		t.Helper()
		ok, err := f.db.MarkRemindersSent(f.ctx, Promises, []Reminder{{ID: id, Lead: 10 * time.Minute}}, at(now))
		require.NoError(t, err)
		return ok[0]
	}
	escalate := func(now time.Duration, detail string) Escalated {
		t.Helper()
		done, err := f.db.Escalate(f.ctx, Promises, at(now), []Escalation{{ID: id, Detail: detail}})
		require.NoError(t, err)
		return done[0]
	}
	require.True(t, mark(50*time.Minute))
	require.False(t, mark(51*time.Minute))
	require.True(t, escalate(time.Hour, "first").Won)

	_, err := f.db.ExtendPromise(f.ctx, id, at(3*time.Hour), "s1", "waiting for the tax office", at(2*time.Hour))
	require.NoError(t, err)
	require.True(t, mark(170*time.Minute), "the reminder of the new deadline")
	second := escalate(3*time.Hour, "second")
	require.True(t, second.Won)
	require.Equal(t, "second", second.Violation.Detail)

	violations, err := f.db.ListViolations(f.ctx, ViolationFilter{Kind: hotline.ViolationPromiseOverdue})
	require.NoError(t, err)
	require.Len(t, violations, 2, "both escalations stay on record")
}

func TestFulfilPromise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		seed     hotline.PromiseState
		how      string
		evidence string
		by       string
		wantKind hotline.ErrorKind
		wantMsg  string
	}{
		{"by the owner with a note", hotline.PromiseOpen, FulfilledByNote, "told the citizen the office's answer", "a1", "", ""},
		{"by a supervisor with the reply call's id", hotline.PromiseOpen, FulfilledByReplyCall, "c2", "s1", "", ""},
		{"with the reply call's recording", hotline.PromiseOpen, FulfilledByReplyCall, "rec-reply", "a1", "", ""},
		{"escalated", hotline.PromiseEscalated, FulfilledByNote, "late, but answered", "a1", "", ""},
		{"a note without text", hotline.PromiseOpen, FulfilledByNote, "  ", "a1", hotline.KindInvalid, "the note is required"},
		{"a reply call without evidence", hotline.PromiseOpen, FulfilledByReplyCall, "", "a1", hotline.KindInvalid, "recording name or call id is required"},
		{"a reply call that does not exist", hotline.PromiseOpen, FulfilledByReplyCall, "nope", "a1", hotline.KindInvalid, "neither a recording nor a call"},
		{"an unknown way", hotline.PromiseOpen, "email", "sent", "a1", hotline.KindInvalid, "must be reply_call or note"},
		{"nobody", hotline.PromiseOpen, FulfilledByNote, "done", "", hotline.KindInvalid, "who fulfils it"},
		// A colleague's reply call near the deadline fulfils the promise: the
		// recording is the evidence (who may fulfil by a note is the access
		// table's to decide, before the store).
		{"by a colleague's reply call", hotline.PromiseOpen, FulfilledByReplyCall, "rec-reply", "a2", "", ""},
		{"fulfilled already", hotline.PromiseFulfilled, FulfilledByNote, "again", "a1", hotline.KindConflict, "already fulfilled"},
		{"closed", hotline.PromiseClosed, FulfilledByNote, "done", "a1", hotline.KindConflict, "already closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedPromiseWorld(t)
			require.NoError(t, f.exec(t,
				`INSERT INTO recordings (name, call_id, state, format, started_ms) VALUES ('rec-reply', NULL, 'pending', 'wav', 1)`))
			id := f.newPromise(t, time.Hour)
			f.setPromiseState(t, id, tt.seed)
			before, err := f.db.GetPromise(f.ctx, id)
			require.NoError(t, err)

			got, err := f.db.FulfilPromise(f.ctx, id, tt.how, tt.evidence, tt.by, at(4*time.Hour))
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.FulfilPromise")
				require.ErrorContains(t, err, dbMessageOr(tt.wantMsg))
				after, err := f.db.GetPromise(f.ctx, id)
				require.NoError(t, err)
				require.Equal(t, before, after, "unchanged")
				return
			}
			require.NoError(t, err)
			want := before
			want.State, want.FulfilledAt, want.FulfilledHow, want.Evidence = hotline.PromiseFulfilled, at(4*time.Hour), tt.how, strings.TrimSpace(tt.evidence)
			want.FulfilledBy = tt.by
			require.Equal(t, want, got)
			var by string
			require.NoError(t, f.db.reader.GetContext(f.ctx, &by, `SELECT fulfilled_by FROM promises WHERE id = ?`, id))
			require.Equal(t, tt.by, by)
		})
	}
}

func TestClosePromise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		seed     hotline.PromiseState
		by       string
		reason   string
		wantKind hotline.ErrorKind
		wantMsg  string
	}{
		{"open", hotline.PromiseOpen, "s1", "withdrawn by the citizen", "", ""},
		{"escalated", hotline.PromiseEscalated, "s1", "withdrawn by the citizen", "", ""},
		{"fulfilled", hotline.PromiseFulfilled, "s1", "archived", "", ""},
		{"closed already", hotline.PromiseClosed, "s1", "again", hotline.KindConflict, "already closed"},
		{"without a reason", hotline.PromiseOpen, "s1", "", hotline.KindInvalid, "reason to close it is required"},
		{"by nobody", hotline.PromiseOpen, "", "withdrawn", hotline.KindInvalid, "who closes it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedPromiseWorld(t)
			id := f.newPromise(t, time.Hour)
			f.setPromiseState(t, id, tt.seed)
			before, err := f.db.GetPromise(f.ctx, id)
			require.NoError(t, err)

			got, err := f.db.ClosePromise(f.ctx, id, tt.by, tt.reason, at(5*time.Hour))
			if tt.wantKind != "" {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.ClosePromise")
				require.ErrorContains(t, err, dbMessageOr(tt.wantMsg))
				after, err := f.db.GetPromise(f.ctx, id)
				require.NoError(t, err)
				require.Equal(t, before, after, "unchanged")
				return
			}
			require.NoError(t, err)
			want := before
			want.State, want.ClosedAt, want.ClosedBy, want.CloseReason = hotline.PromiseClosed, at(5*time.Hour), tt.by, strings.TrimSpace(tt.reason)
			require.Equal(t, want, got, "a fulfilled promise keeps its fulfilment")
			var closer struct {
				By     string `db:"closed_by"`
				Reason string `db:"close_reason"`
			}
			require.NoError(t, f.db.reader.GetContext(f.ctx, &closer, `SELECT closed_by, close_reason FROM promises WHERE id = ?`, id))
			require.Equal(t, tt.by, closer.By)
			require.Equal(t, tt.reason, closer.Reason)
		})
	}

	t.Run("no such promise", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		f.seedPromiseWorld(t)
		_, err := f.db.ClosePromise(f.ctx, 42, "s1", "r", t0)
		require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%v", err)
	})
}

// The schema itself keeps a promise's record: the owner, call, creator and
// original deadline are final, the deadline moves only with an extension
// recorded first, an extension needs a supervisor, and the extensions are
// append-only.
func TestPromiseRecordIsKeptBySchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statement string
		wantKind  hotline.ErrorKind // "" when allowed
		wantMsg   string
	}{
		{"move the original deadline", `UPDATE promises SET original_deadline_ms = original_deadline_ms + 1`, hotline.KindConflict, "final"},
		{"change the owner", `UPDATE promises SET agent_id = 'a2'`, hotline.KindConflict, "final"},
		{"change the creator", `UPDATE promises SET created_by = 's1'`, hotline.KindConflict, "final"},
		{"move the deadline without an extension", `UPDATE promises SET deadline_ms = deadline_ms + 1`, hotline.KindConflict, "promise_extensions"},
		{"an extension approved by someone not on the roster", `INSERT INTO promise_extensions (promise_id, from_ms, to_ms, approved_by, reason, at_ms, from_state)
			SELECT id, deadline_ms, deadline_ms + 1, 'mallory', 'r', 1, 'open' FROM promises`, hotline.KindInvalid, "FOREIGN KEY"},
		{"an extension to an earlier deadline", `INSERT INTO promise_extensions (promise_id, from_ms, to_ms, approved_by, reason, at_ms, from_state)
			SELECT id, deadline_ms, deadline_ms - 1, 's1', 'r', 1, 'open' FROM promises`, hotline.KindInvalid, "CHECK"},
		{"an extension without a reason", `INSERT INTO promise_extensions (promise_id, from_ms, to_ms, approved_by, reason, at_ms, from_state)
			SELECT id, deadline_ms, deadline_ms + 1, 's1', '', 1, 'open' FROM promises`, hotline.KindInvalid, "CHECK"},
		{"rewrite an extension", `UPDATE promise_extensions SET reason = 'other'`, hotline.KindConflict, "append-only"},
		{"delete an extension", `DELETE FROM promise_extensions`, hotline.KindConflict, "append-only"},
		{"an unknown way to fulfil", `UPDATE promises SET fulfilled_how = 'email'`, hotline.KindInvalid, "CHECK"},
		{"a reminder without a lead", `INSERT INTO promise_reminders (promise_id, lead_ms, sent_ms) SELECT id, 0, 1 FROM promises`, hotline.KindInvalid, "CHECK"},
		{"a second mark of one lead", `INSERT INTO promise_reminders (promise_id, lead_ms, sent_ms) SELECT id, 600000, 1 FROM promises`, hotline.KindConflict, "UNIQUE"},
		{"the summary may change", `UPDATE promises SET summary = 'reply about the pension'`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedPromiseWorld(t)
			id := f.newPromise(t, time.Hour)
			_, err := f.db.ExtendPromise(f.ctx, id, at(2*time.Hour), "s1", "waiting", at(30*time.Minute))
			require.NoError(t, err)
			_, err = f.db.MarkRemindersSent(f.ctx, Promises, []Reminder{{ID: id, Lead: 10 * time.Minute}}, at(110*time.Minute))
			require.NoError(t, err)

			err = f.exec(t, tt.statement)
			if tt.wantKind == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, dbMessageOr(tt.wantMsg))
		})
	}
}

// Sticky routing reads the promise's owner while it is unfinished.
func TestResponsibleAgentFollowsPromises(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedPromiseWorld(t)
	f.seedAgents(t, "a3")
	f.seedCall(t, "later", number1, "a3", at(time.Hour)) // a newer call answered by another agent
	p, err := f.db.CreatePromise(f.ctx, promiseOn("c1", "a2", 2*time.Hour))
	require.NoError(t, err)

	responsible := func() string {
		t.Helper()
		agent, err := f.db.ResponsibleAgent(f.ctx, number1, t0)
		require.NoError(t, err)
		return agent
	}
	require.Equal(t, "a1", responsible(), "the owner, not the recorder or the newer call's agent")
	_, err = f.db.Escalate(f.ctx, Promises, at(2*time.Hour), []Escalation{{ID: p.ID, Detail: "late"}})
	require.NoError(t, err)
	require.Equal(t, "a1", responsible(), "escalated is still unfinished")
	_, err = f.db.FulfilPromise(f.ctx, p.ID, FulfilledByNote, "answered", "a1", at(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, "a3", responsible(), "a fulfilled promise is no open matter")
}

// A database in service at version 4 keeps its promises through 00005 and
// ends with the same schema as a new one; 00005 also goes down to exactly
// the version-4 schema and up again.
func TestMigrate00005KeepsExistingPromises(t *testing.T) {
	t.Parallel()
	f := setupUnmigrated(t)
	_, err := f.db.migrations.UpTo(f.ctx, 4)
	require.NoError(t, err)
	atVersion4 := setupUnmigrated(t)
	_, err = atVersion4.db.migrations.UpTo(atVersion4.ctx, 4)
	require.NoError(t, err)

	// Rows as a version-4 database may hold them: raw SQL, since the store's
	// statements name columns version 4 does not have.
	ms := func(d time.Duration) int64 { return at(d).UnixMilli() }
	require.NoError(t, f.exec(t,
		`INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms) VALUES ('a1', 'A1', 'PJSIP/a1', 'agent', 'available', 1, 1)`,
		`INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms) VALUES ('s1', 'S1', 'PJSIP/s1', 'supervisor', 'available', 1, 1)`,
		`INSERT INTO calls (id, caller_number, line, state, first_responsible_agent, arrived_ms, answered_ms, ended_ms, updated_ms)
			VALUES ('c1', '`+number1+`', 'hotline', 'completed', 'a1', 1, 2, 3, 3)`,
		fmt.Sprintf(`INSERT INTO promises (id, call_id, number, agent_id, summary, department, state, deadline_ms, original_deadline_ms, created_ms)
			VALUES (1, 'c1', '%s', 'a1', 'reply about the pension', 'social-security', 'open', %d, %d, %d)`, number1, ms(time.Hour), ms(time.Hour), ms(0)),
		fmt.Sprintf(`INSERT INTO promises (id, call_id, number, agent_id, summary, state, deadline_ms, original_deadline_ms, created_ms, fulfilled_ms)
			VALUES (2, 'c1', '%s', 'a1', 'reply about the tax', 'fulfilled', %d, %d, %d, %d)`, number1, ms(2*time.Hour), ms(time.Hour), ms(0), ms(90*time.Minute)),
		fmt.Sprintf(`INSERT INTO violations (kind, agent_id, call_id, promise_id, at_ms) VALUES ('promise_overdue', 'a1', 'c1', 2, %d)`, ms(time.Hour)),
	))

	applied, err := f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{5, 6, 7, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 22}, applied)

	open := hotline.Promise{
		ID: 1, CallID: "c1", Number: number1, AgentID: "a1", Summary: "reply about the pension", Department: "social-security",
		State: hotline.PromiseOpen, Deadline: at(time.Hour), OriginalDeadline: at(time.Hour), CreatedAt: at(0),
	}
	got, err := f.db.GetPromise(f.ctx, 1)
	require.NoError(t, err)
	require.Equal(t, open, got, "no creator, fulfilment, escalation or history was recorded")
	got, err = f.db.GetPromise(f.ctx, 2)
	require.NoError(t, err)
	require.Equal(t, hotline.Promise{
		ID: 2, CallID: "c1", Number: number1, AgentID: "a1", Summary: "reply about the tax",
		State: hotline.PromiseFulfilled, Deadline: at(2 * time.Hour), OriginalDeadline: at(time.Hour), CreatedAt: at(0),
		FulfilledAt: at(90 * time.Minute),
	}, got, "a deadline moved before 00005 keeps both")

	// The migrated rows take the new statements.
	_, err = f.db.ExtendPromise(f.ctx, 1, at(3*time.Hour), "s1", "waiting for the office", at(30*time.Minute))
	require.NoError(t, err)
	ok, err := f.db.MarkRemindersSent(f.ctx, Promises, []Reminder{{ID: 1, Lead: 10 * time.Minute}}, at(170*time.Minute))
	require.NoError(t, err)
	require.Equal(t, []bool{true}, ok)

	fresh := setup(t)
	require.Equal(t, fresh.schemaSQL(t), f.schemaSQL(t), "the same schema as a new database")

	// Down to 4: exactly the version-4 schema, the promises kept.
	down, err := f.db.migrations.DownTo(f.ctx, 4)
	require.NoError(t, err)
	require.Len(t, down, 14)
	require.Equal(t, atVersion4.schemaSQL(t), f.schemaSQL(t), "the schema of a database made at version 4")
	var promises int
	require.NoError(t, f.db.reader.GetContext(f.ctx, &promises, `SELECT count(*) FROM promises`))
	require.Equal(t, 2, promises)

	applied, err = f.db.Migrate(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{5, 6, 7, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 22}, applied)
	require.Equal(t, fresh.schemaSQL(t), f.schemaSQL(t))
	got, err = f.db.GetPromise(f.ctx, 1)
	require.NoError(t, err)
	require.Equal(t, at(3*time.Hour), got.Deadline, "the moved deadline stays; its history went down with 00005")
	require.Equal(t, at(time.Hour), got.OriginalDeadline)
}
