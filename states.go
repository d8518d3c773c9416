package hotline

import (
	"slices"
	"time"
)

// The state vocabulary of each kind of matter. A state is either stored
// (the row's state column holds it) or a named group of stored states that
// lists and pages ask for; a group is never stored. The store writes its
// SQL IN lists from these, the API accepts exactly these names in ?state=,
// and the console asks with them, so "open", "unfinished" and "overdue"
// mean one thing everywhere.

// vocabulary is one kind's stored states and named groups.
type vocabulary[S ~string] struct {
	stored []S
	groups map[S][]S // group name → the stored states it selects
	// overdue is the group that selects its members only past their
	// deadline, at the time the question is asked.
	overdue S
}

func (v vocabulary[S]) isStored(s S) bool { return slices.Contains(v.stored, s) }

// selects returns the stored states s selects: itself when stored, the
// members of a group, nil for an unknown name.
func (v vocabulary[S]) selects(s S) []S {
	if v.isStored(s) {
		return []S{s}
	}
	return slices.Clone(v.groups[s])
}

// names lists every name a filter accepts: the stored states, then the
// groups in a fixed order.
func (v vocabulary[S]) names(groupOrder ...S) []S {
	return append(slices.Clone(v.stored), groupOrder...)
}

// Callback task groups (never stored).
const (
	// CallbackOpen: the task still needs a call (pending or dialing).
	CallbackOpen CallbackState = "open"
	// CallbackUnfinished: someone still owes the task something: it is open,
	// or unreachable / invalid_number and waiting for a supervisor.
	CallbackUnfinished CallbackState = "unfinished"
	// CallbackOverdue: open past its deadline.
	CallbackOverdue CallbackState = "overdue"
)

var callbackWords = vocabulary[CallbackState]{
	stored: []CallbackState{CallbackPending, CallbackDialing, CallbackConnected, CallbackResolved,
		CallbackUnreachable, CallbackInvalid, CallbackClosed},
	groups: map[CallbackState][]CallbackState{
		CallbackOpen:       {CallbackPending, CallbackDialing},
		CallbackUnfinished: {CallbackPending, CallbackDialing, CallbackUnreachable, CallbackInvalid},
		CallbackOverdue:    {CallbackPending, CallbackDialing},
	},
	overdue: CallbackOverdue,
}

// CallbackStateNames lists what ?state= accepts for callback tasks: the
// stored states, then the groups open, unfinished and overdue.
func CallbackStateNames() []CallbackState {
	return callbackWords.names(CallbackOpen, CallbackUnfinished, CallbackOverdue)
}

// Stored reports whether s is a state a task row holds (not a group).
func (s CallbackState) Stored() bool { return callbackWords.isStored(s) }

// Valid reports whether s is a stored state or a group.
func (s CallbackState) Valid() bool { return s.Selects() != nil }

// Selects returns the stored states the filter s selects; nil for an
// unknown name. CallbackOverdue further needs the deadline passed (Matches).
func (s CallbackState) Selects() []CallbackState { return callbackWords.selects(s) }

// ByDeadline reports whether the filter s also needs the deadline passed.
func (s CallbackState) ByDeadline() bool { return s == callbackWords.overdue }

// Open reports whether a task in state s still needs a call.
func (s CallbackState) Open() bool { return slices.Contains(callbackWords.groups[CallbackOpen], s) }

// Unfinished reports whether a task in state s still needs someone: a call,
// or a supervisor's acknowledgement.
func (s CallbackState) Unfinished() bool {
	return slices.Contains(callbackWords.groups[CallbackUnfinished], s)
}

// Open reports whether the task still needs a call.
func (t CallbackTask) Open() bool { return t.State.Open() }

// Unfinished reports whether the task still needs someone.
func (t CallbackTask) Unfinished() bool { return t.State.Unfinished() }

// Overdue reports whether the task is open past its deadline at now.
func (t CallbackTask) Overdue(now time.Time) bool { return t.Open() && !now.Before(t.Deadline) }

// Matches reports whether the task is selected by the filter f at now.
func (t CallbackTask) Matches(f CallbackState, now time.Time) bool {
	if f.ByDeadline() {
		return t.Overdue(now)
	}
	return slices.Contains(f.Selects(), t.State)
}

// Promise groups (never stored).
const (
	// PromiseUnfinished: the reply is still owed (open or escalated).
	PromiseUnfinished PromiseState = "unfinished"
	// PromiseOverdue: unfinished past its deadline, escalated or not yet.
	// Earlier versions declared it as a stored state but never wrote it;
	// the schema now refuses it (migration 00012).
	PromiseOverdue PromiseState = "overdue"
)

var promiseWords = vocabulary[PromiseState]{
	stored: []PromiseState{PromiseOpen, PromiseEscalated, PromiseFulfilled, PromiseClosed},
	groups: map[PromiseState][]PromiseState{
		PromiseUnfinished: {PromiseOpen, PromiseEscalated},
		PromiseOverdue:    {PromiseOpen, PromiseEscalated},
	},
	overdue: PromiseOverdue,
}

// PromiseStateNames lists what ?state= accepts for promises: the stored
// states, then the groups unfinished and overdue.
func PromiseStateNames() []PromiseState { return promiseWords.names(PromiseUnfinished, PromiseOverdue) }

// Stored reports whether s is a state a promise row holds (not a group).
func (s PromiseState) Stored() bool { return promiseWords.isStored(s) }

// Valid reports whether s is a stored state or a group.
func (s PromiseState) Valid() bool { return s.Selects() != nil }

// Selects returns the stored states the filter s selects; nil for an
// unknown name. PromiseOverdue further needs the deadline passed (Matches).
func (s PromiseState) Selects() []PromiseState { return promiseWords.selects(s) }

// ByDeadline reports whether the filter s also needs the deadline passed.
func (s PromiseState) ByDeadline() bool { return s == promiseWords.overdue }

// Unfinished reports whether a promise in state s still owes its reply.
func (s PromiseState) Unfinished() bool {
	return slices.Contains(promiseWords.groups[PromiseUnfinished], s)
}

// Unfinished reports whether the promise still owes its reply.
func (p Promise) Unfinished() bool { return p.State.Unfinished() }

// Overdue reports whether the promise is unfinished past its deadline at now.
func (p Promise) Overdue(now time.Time) bool {
	return p.Unfinished() && !p.Deadline.IsZero() && !now.Before(p.Deadline)
}

// Matches reports whether the promise is selected by the filter f at now.
func (p Promise) Matches(f PromiseState, now time.Time) bool {
	if f.ByDeadline() {
		return p.Overdue(now)
	}
	return slices.Contains(f.Selects(), p.State)
}
