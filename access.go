package hotline

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Who may do what: the one table of the service. Every API route names the
// Action it performs; package web checks the actor against this table
// before the handler runs (and loads the Matter first for the rules that
// depend on it), and refuses with one vocabulary, always audited.
//
// A rule is a Scope per role: Never; Responsible (only a matter the actor
// is responsible for: their own call, task, promise, violation or status);
// Party (also one they took part in: on a leg, referred to, recorded it);
// Any. An actor with several roles gets the widest scope of them. Some
// actions carry one further condition on the matter (Permission.Also).

// Action is one thing a staff member does through the API, also the action
// of its audit row.
type Action string

// Actions, grouped by what they act on.
const (
	ActSessionRead Action = "session.read" // who is logged in; logging out

	ActCallList   Action = "call.list"
	ActCallRead   Action = "call.read"
	ActCallNumber Action = "call.number" // a citizen's full number (personal data)
	ActCallRefer  Action = "call.refer"
	ActCallReview Action = "call.review"
	// ActCallMonitor is a supervisor listening to, whispering into or
	// barging into a call in progress (7.1.3).
	ActCallMonitor Action = "call.monitor"
	// ActCallExport is the call log as CSV with citizens' whole numbers
	// (personal data): one audited read.
	ActCallExport Action = "call.export"
	ActReviewList Action = "review.list"

	ActAgentList   Action = "agent.list"
	ActAgentPause  Action = "agent.pause"
	ActAgentResume Action = "agent.resume"
	// ActDeskRead is an agent's own page (status, tasks, promises, calls);
	// supervisors open any agent's.
	ActDeskRead Action = "desk.read"
	// ActWallRead is the supervisors' wall: the line, agents, citizens
	// waiting, what is due and overdue, today's counts.
	ActWallRead Action = "wall.read"
	// ActEventsRead is the console's live stream: each actor hears only of
	// changes to what it may read.
	ActEventsRead Action = "events.read"

	ActCallbackList        Action = "callback.list"
	ActCallbackRead        Action = "callback.read"
	ActCallbackDial        Action = "callback.dial"
	ActCallbackAcknowledge Action = "callback.acknowledge"
	ActCallbackClose       Action = "callback.close"

	ActViolationList    Action = "violation.list"
	ActViolationDispose Action = "violation.dispose"

	ActPromiseList      Action = "promise.list"
	ActPromiseRead      Action = "promise.read"
	ActPromiseCreate    Action = "promise.create"
	ActPromiseExtend    Action = "promise.extend"
	ActPromiseFulfil    Action = "promise.fulfil"
	ActPromiseReplyCall Action = "promise.reply_call"
	ActPromiseClose     Action = "promise.close"
	// ActPromiseRequestExtension is the owner asking a supervisor to move
	// the deadline; only a supervisor's extend moves it.
	ActPromiseRequestExtension Action = "promise.request_extension"

	ActRecordingListen   Action = "recording.listen"
	ActRecordingDownload Action = "recording.download"
	ActRecordingHold     Action = "recording.hold"

	// Assessment reports (7.3) and complaints against staff (7.1.2).
	ActReportRead      Action = "report.read"
	ActComplaintCreate Action = "complaint.create"
	ActComplaintList   Action = "complaint.list"

	ActAuditRead   Action = "audit.read"
	ActAuditVerify Action = "audit.verify"
	ActMetricsRead Action = "metrics.read"
	ActProfileRead Action = "profile.read"

	// Accounts and tokens (hotline user …).
	ActUserManage Action = "user.manage"
)

// Scope is how far an action reaches for one role, narrowest first.
type Scope int

const (
	Never       Scope = iota // not at all
	Responsible              // only matters the actor is responsible for
	Party                    // also matters the actor took part in
	Any                      // every matter
)

func (s Scope) String() string {
	return [...]string{"never", "own (responsible)", "own (responsible or took part)", "any"}[s]
}

// Permission is one row of the table: the scope of each role, and an
// optional further condition on the matter ("" when it holds, else why not).
type Permission struct {
	Agent, Supervisor, Admin Scope
	Also                     func(a Actor, m Matter) string
}

// permissions is the table. A route whose action has no row here cannot be
// registered (web's route test walks every route against it).
var permissions = map[Action]Permission{
	ActSessionRead: {Agent: Any, Supervisor: Any, Admin: Any},

	ActCallList:    {Agent: Party, Supervisor: Any},
	ActCallRead:    {Agent: Party, Supervisor: Any},
	ActCallNumber:  {Agent: Responsible, Supervisor: Any},
	ActCallRefer:   {Agent: Party, Supervisor: Any},
	ActCallReview:  {Supervisor: Any},
	ActCallMonitor: {Supervisor: Any},
	ActCallExport:  {Supervisor: Any},
	ActReviewList:  {Agent: Responsible, Supervisor: Any},

	ActAgentList:   {Agent: Any, Supervisor: Any, Admin: Any},
	ActAgentPause:  {Agent: Responsible, Supervisor: Any},
	ActAgentResume: {Agent: Responsible, Supervisor: Any},
	ActDeskRead:    {Agent: Responsible, Supervisor: Any},
	ActWallRead:    {Supervisor: Any},
	ActEventsRead:  {Agent: Any, Supervisor: Any, Admin: Any},

	ActCallbackList:        {Agent: Responsible, Supervisor: Any},
	ActCallbackRead:        {Agent: Responsible, Supervisor: Any},
	ActCallbackDial:        {Agent: Responsible, Supervisor: Any},
	ActCallbackAcknowledge: {Supervisor: Any},
	ActCallbackClose:       {Agent: Responsible, Supervisor: Any, Also: closeNeedsReachedCitizen},

	ActViolationList:    {Agent: Responsible, Supervisor: Any},
	ActViolationDispose: {Supervisor: Any, Also: notAgainstOneself},

	ActPromiseList:             {Agent: Party, Supervisor: Any},
	ActPromiseRead:             {Agent: Party, Supervisor: Any},
	ActPromiseCreate:           {Agent: Party, Supervisor: Any},
	ActPromiseExtend:           {Supervisor: Any},
	ActPromiseFulfil:           {Agent: Responsible, Supervisor: Any},
	ActPromiseReplyCall:        {Agent: Responsible, Supervisor: Any},
	ActPromiseClose:            {Supervisor: Any},
	ActPromiseRequestExtension: {Agent: Responsible, Supervisor: Any},

	ActRecordingListen:   {Agent: Party, Supervisor: Any},
	ActRecordingDownload: {Agent: Party, Supervisor: Any},
	ActRecordingHold:     {Supervisor: Any},

	// An agent reads its own report row and the complaints against it;
	// supervisors assess everyone and record complaints.
	ActReportRead:      {Agent: Responsible, Supervisor: Any},
	ActComplaintCreate: {Supervisor: Any},
	ActComplaintList:   {Agent: Responsible, Supervisor: Any},

	ActAuditRead:   {Supervisor: Any, Admin: Any},
	ActAuditVerify: {Supervisor: Any, Admin: Any},
	ActMetricsRead: {Agent: Any, Supervisor: Any, Admin: Any},
	// Profiles (/debug/pprof) cost CPU while they run and show the code's
	// inner workings: an admin's, besides the metrics addresses.
	ActProfileRead: {Admin: Any},

	ActUserManage: {Admin: Any},
}

// closeNeedsReachedCitizen: an agent closes a callback task only once an
// attempt reached the citizen (6.1: no callback is skipped); a supervisor
// may close any, with a reason.
func closeNeedsReachedCitizen(a Actor, m Matter) string {
	if a.Has(RoleSupervisor) || m.CitizenReached {
		return ""
	}
	return "an agent may close a callback task only after an attempt reached the citizen; a supervisor may close it with a reason"
}

// notAgainstOneself: nobody decides on a violation recorded against
// themselves (7.1.4–7.1.6).
func notAgainstOneself(a Actor, m Matter) string {
	if m.Responsible == a.ID {
		return "nobody may dispose of a violation recorded against themselves"
	}
	return ""
}

// Actions lists every action of the table, sorted.
func Actions() []Action {
	out := make([]Action, 0, len(permissions))
	for act := range permissions {
		out = append(out, act)
	}
	slices.Sort(out)
	return out
}

// PermissionOf returns the row of act; false when the table has none.
func PermissionOf(act Action) (Permission, bool) {
	p, ok := permissions[act]
	return p, ok
}

// ScopeOf is the widest scope act has for any of a's roles; Never for an
// action not in the table.
func ScopeOf(a Actor, act Action) Scope {
	p, ok := permissions[act]
	if !ok {
		return Never
	}
	best := Never
	for _, r := range a.Roles {
		var s Scope
		switch r {
		case RoleAgent:
			s = p.Agent
		case RoleSupervisor:
			s = p.Supervisor
		case RoleAdmin:
			s = p.Admin
		}
		best = max(best, s)
	}
	return best
}

// Matter is what an action acts on, as far as the rules care: who is
// responsible for it and who took part. A call's responsible agent is its
// first-responsible agent and its parties the agents on its legs; a task's
// and a promise's responsible agent is its owner; an agent's status belongs
// to that agent; a violation to the agent it is recorded against.
type Matter struct {
	Kind        string // call, callback, promise, recording, agent, violation, review
	ID          string
	Responsible string
	Parties     []string
	// CitizenReached: an attempt of this callback task bridged the citizen.
	CitizenReached bool
}

// String names the matter for audit rows and messages: "callback:17".
func (m Matter) String() string {
	if m.Kind == "" {
		return m.ID
	}
	return m.Kind + ":" + m.ID
}

// Involves reports whether agentID is responsible for m or took part in it.
func (m Matter) Involves(agentID string) bool {
	return agentID != "" && (m.Responsible == agentID || slices.Contains(m.Parties, agentID))
}

// Agents lists the responsible agent and the parties of m, each once.
func (m Matter) Agents() []string {
	var out []string
	for _, id := range append([]string{m.Responsible}, m.Parties...) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Allowed reports whether a may perform act on some matter at all: the
// gate in front of a route.
func Allowed(a Actor, act Action) bool { return ScopeOf(a, act) > Never }

// Authorize decides whether a may perform act on m: nil, or a Forbidden
// error saying why not.
func Authorize(a Actor, act Action, m Matter) error {
	const op = "hotline.Authorize"
	scope := ScopeOf(a, act)
	ok := false
	switch scope {
	case Any:
		ok = true
	case Party:
		ok = m.Involves(a.ID)
	case Responsible:
		ok = a.ID != "" && m.Responsible == a.ID
	}
	if !ok {
		if scope == Never {
			return Errorf(KindForbidden, op, "%s may not %s", a.describe(), act)
		}
		return Errorf(KindForbidden, op, "%s may %s only %s matters, and %s is not one of them", a.describe(), act, ownWord(scope), m)
	}
	if p := permissions[act]; p.Also != nil {
		if why := p.Also(a, m); why != "" {
			return Errorf(KindForbidden, op, "%s", why)
		}
	}
	return nil
}

func ownWord(s Scope) string {
	if s == Party {
		return "their own or shared"
	}
	return "their own"
}

// SeesFullNumber reports whether a may see the citizen's whole number on m:
// a supervisor, or the matter's responsible agent. Everyone else sees
// MaskNumber's form.
func SeesFullNumber(a Actor, m Matter) bool { return Authorize(a, ActCallNumber, m) == nil }

// Role says what a staff member may do: agents answer, supervisors audit,
// admins manage accounts. A staff member may hold several roles.
type Role string

const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleSupervisor || r == RoleAdmin }

// ParseRoles reads a comma-separated list of roles ("supervisor,admin"),
// sorted, each once.
func ParseRoles(s string) ([]Role, error) {
	var out []Role
	for part := range strings.SplitSeq(s, ",") {
		r := Role(strings.TrimSpace(part))
		if !r.Valid() {
			return nil, Errorf(KindInvalid, "hotline.ParseRoles", "role %q must be agent, supervisor or admin", r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out, nil
}

// JoinRoles writes roles as ParseRoles reads them.
func JoinRoles(roles []Role) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// AuthMethod says how an actor proved who they are.
type AuthMethod string

const (
	AuthSession AuthMethod = "session" // the console's session cookie
	AuthToken   AuthMethod = "token"   // a bearer token of another system
	AuthCLI     AuthMethod = "cli"     // the operator on the server (hotline user …)
	AuthSystem  AuthMethod = "system"  // the service itself (dialer, escalation)
)

// Actor is who performs a request: the logged-in staff member, with the
// client address it came from and how it logged in.
type Actor struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Roles   []Role     `json:"roles"`
	Address string     `json:"-"`
	Method  AuthMethod `json:"method"`
}

// Has reports whether a holds role r.
func (a Actor) Has(r Role) bool { return slices.Contains(a.Roles, r) }

// RoleText is the roles as an audit row records them: "supervisor,admin".
func (a Actor) RoleText() string { return JoinRoles(a.Roles) }

func (a Actor) describe() string {
	if a.ID == "" {
		return "an anonymous client"
	}
	if len(a.Roles) == 0 {
		return fmt.Sprintf("%q (no role)", a.ID)
	}
	return fmt.Sprintf("%s %q", a.RoleText(), a.ID)
}

type actorKey struct{}

// NewContextWithActor returns ctx carrying a.
func NewContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor of ctx; false when there is none.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Audit outcomes: the one vocabulary of the audit log's result column.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied" // refused by the access rules or the login check
)

// Outcome is the audit result of an action that ended with err: "ok",
// "denied" for Forbidden and Unauthorized, else "failed: <kind>".
func Outcome(err error) string {
	switch KindOf(err) {
	case "":
		return OutcomeOK
	case KindForbidden, KindUnauthorized:
		return OutcomeDenied
	}
	return "failed: " + string(KindOf(err))
}
