package hotline_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

var (
	agent1001 = hotline.Actor{ID: "1001", Roles: []hotline.Role{hotline.RoleAgent}}
	agent1002 = hotline.Actor{ID: "1002", Roles: []hotline.Role{hotline.RoleAgent}}
	sup2001   = hotline.Actor{ID: "2001", Roles: []hotline.Role{hotline.RoleSupervisor}}
	admin9001 = hotline.Actor{ID: "9001", Roles: []hotline.Role{hotline.RoleAdmin}}
	adminSup  = hotline.Actor{ID: "9002", Roles: []hotline.Role{hotline.RoleAdmin, hotline.RoleSupervisor}}
	nobody    = hotline.Actor{}
)

func TestAccessTable(t *testing.T) {
	t.Parallel()
	call := hotline.Matter{Kind: "call", ID: "c1", Responsible: "1001", Parties: []string{"1002"}} // 1002 was rung
	task := hotline.Matter{Kind: "callback", ID: "7", Responsible: "1001"}
	reached := task
	reached.CitizenReached = true
	against1001 := hotline.Matter{Kind: "violation", ID: "3", Responsible: "1001"}
	against2001 := hotline.Matter{Kind: "violation", ID: "4", Responsible: "2001"}
	recording := hotline.Matter{Kind: "recording", ID: "c1", Parties: []string{"1001", "1002"}}
	self1001 := hotline.Matter{Kind: "agent", ID: "1001", Responsible: "1001"}
	cases := []struct {
		name  string
		actor hotline.Actor
		act   hotline.Action
		m     hotline.Matter
		ok    bool
	}{
		{"an agent reads its call", agent1001, hotline.ActCallRead, call, true},
		{"an agent rung on a call reads it", agent1002, hotline.ActCallRead, call, true},
		{"an agent reads another's call", hotline.Actor{ID: "1003", Roles: []hotline.Role{hotline.RoleAgent}}, hotline.ActCallRead, call, false},
		{"the responsible agent sees the full number", agent1001, hotline.ActCallNumber, call, true},
		{"an agent only rung does not", agent1002, hotline.ActCallNumber, call, false},
		{"a supervisor does", sup2001, hotline.ActCallNumber, call, true},
		{"an admin does not", admin9001, hotline.ActCallNumber, call, false},
		{"an agent pauses itself", agent1001, hotline.ActAgentPause, self1001, true},
		{"an agent pauses another", agent1002, hotline.ActAgentPause, self1001, false},
		{"a supervisor pauses anyone", sup2001, hotline.ActAgentPause, self1001, true},
		{"an admin pauses nobody", admin9001, hotline.ActAgentPause, self1001, false},
		{"an agent closes its task only after the citizen was reached", agent1001, hotline.ActCallbackClose, task, false},
		{"…then it may", agent1001, hotline.ActCallbackClose, reached, true},
		{"an agent closes another's reached task", agent1002, hotline.ActCallbackClose, reached, false},
		{"a supervisor closes any task", sup2001, hotline.ActCallbackClose, task, true},
		{"only a supervisor acknowledges", agent1001, hotline.ActCallbackAcknowledge, task, false},
		{"a supervisor disposes of another's violation", sup2001, hotline.ActViolationDispose, against1001, true},
		{"nobody disposes of one against themselves", sup2001, hotline.ActViolationDispose, against2001, false},
		{"an agent disposes of nothing", agent1001, hotline.ActViolationDispose, against1001, false},
		{"an agent on the call hears its recording", agent1002, hotline.ActRecordingListen, recording, true},
		{"an agent not on it does not", hotline.Actor{ID: "1003", Roles: []hotline.Role{hotline.RoleAgent}}, hotline.ActRecordingListen, recording, false},
		{"an admin does not listen", admin9001, hotline.ActRecordingListen, recording, false},
		{"unless also a supervisor", adminSup, hotline.ActRecordingListen, recording, true},
		{"only supervisors extend promises", agent1001, hotline.ActPromiseExtend, hotline.Matter{Kind: "promise", ID: "1", Responsible: "1001"}, false},
		{"only admins manage accounts", sup2001, hotline.ActUserManage, hotline.Matter{}, false},
		{"admins do", admin9001, hotline.ActUserManage, hotline.Matter{}, true},
		{"no roles, no access", nobody, hotline.ActAgentList, hotline.Matter{}, false},
		{"an unknown action is never allowed", sup2001, hotline.Action("call.delete"), call, false},
	}
	for _, tc := range cases {
		err := hotline.Authorize(tc.actor, tc.act, tc.m)
		if tc.ok {
			require.NoError(t, err, tc.name)
			continue
		}
		require.Equal(t, hotline.KindForbidden, hotline.KindOf(err), tc.name)
		require.Equal(t, hotline.OutcomeDenied, hotline.Outcome(err), "one vocabulary for refusals")
	}
	require.True(t, hotline.SeesFullNumber(agent1001, call))
	require.False(t, hotline.SeesFullNumber(agent1002, call))
	require.Equal(t, hotline.Party, hotline.ScopeOf(agent1001, hotline.ActCallList))
	require.Equal(t, hotline.Any, hotline.ScopeOf(adminSup, hotline.ActAuditRead))
}

// Every action of the table says something for each role, and each has a
// scope a route can use.
func TestEveryActionHasARow(t *testing.T) {
	t.Parallel()
	require.NotEmpty(t, hotline.Actions())
	for _, act := range hotline.Actions() {
		p, ok := hotline.PermissionOf(act)
		require.True(t, ok)
		require.True(t, p.Agent > hotline.Never || p.Supervisor > hotline.Never || p.Admin > hotline.Never, "%s is allowed to nobody", act)
	}
}

func TestActorTravelsInTheContext(t *testing.T) {
	t.Parallel()
	_, ok := hotline.ActorFromContext(context.Background())
	require.False(t, ok)
	ctx := hotline.NewContextWithActor(context.Background(), sup2001)
	a, ok := hotline.ActorFromContext(ctx)
	require.True(t, ok)
	require.Equal(t, sup2001, a)
	require.Equal(t, "admin,supervisor", adminSup.RoleText())
}

func TestParseRoles(t *testing.T) {
	t.Parallel()
	roles, err := hotline.ParseRoles("supervisor, admin,supervisor")
	require.NoError(t, err)
	require.Equal(t, []hotline.Role{hotline.RoleAdmin, hotline.RoleSupervisor}, roles)
	_, err = hotline.ParseRoles("root")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
}

type workingDays struct{}

// AddWorkingDays counts every day: the bounds' arithmetic is the calendar's.
func (workingDays) AddWorkingDays(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// A promise's deadline is bounded, and so is each extension.
func TestPromiseBounds(t *testing.T) {
	t.Parallel()
	p := hotline.PromisePolicy{}
	p.SetDefaults()
	require.NoError(t, p.Validate())
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	require.NoError(t, p.CheckDeadline(now.AddDate(0, 0, 30), now, workingDays{}))
	err := p.CheckDeadline(now.AddDate(3, 0, 0), now, workingDays{})
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err))
	require.ErrorContains(t, err, "more than 30 working days")
	require.NoError(t, p.CheckExtension(now, now.AddDate(0, 0, 10), workingDays{}))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(p.CheckExtension(now, now.AddDate(0, 0, 11), workingDays{})))
	p.MaxWorkingDays = 0
	require.Error(t, p.Validate())
}

func TestMaskNumbersIn(t *testing.T) {
	t.Parallel()
	require.Equal(t, "回访 138****8000 超时；任务 #12", hotline.MaskNumbersIn("回访 13800138000 超时；任务 #12"))
	require.Equal(t, "call c1-a1001", hotline.MaskNumbersIn("call c1-a1001"))
}
