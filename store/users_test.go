package store

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func hashOf(c byte) string { return strings.Repeat(string(c), 64) }

func TestUsersAreStoredListedAndDisabled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u, err := f.db.AddUser(f.ctx, hotline.User{ID: "2001", Name: "赵督察", Roles: []hotline.Role{hotline.RoleAdmin, hotline.RoleSupervisor}}, "$2a$hash")
	require.NoError(t, err)
	require.Equal(t, hotline.User{ID: "2001", Name: "赵督察", Roles: []hotline.Role{hotline.RoleAdmin, hotline.RoleSupervisor}, CreatedAt: t0}, u)

	_, err = f.db.AddUser(f.ctx, hotline.User{ID: "2001", Name: "x", Roles: []hotline.Role{hotline.RoleAgent}}, "")
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
	_, err = f.db.AddUser(f.ctx, hotline.User{ID: "3001", Name: "x"}, "")
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "a role is required: %v", err)

	_, hash, err := f.db.UserCredentials(f.ctx, "2001")
	require.NoError(t, err)
	require.Equal(t, "$2a$hash", hash)
	require.NoError(t, f.db.SetPassword(f.ctx, "2001", "$2a$new"))
	_, hash, err = f.db.UserCredentials(f.ctx, "2001")
	require.NoError(t, err)
	require.Equal(t, "$2a$new", hash)
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.db.SetPassword(f.ctx, "nobody", "x")))

	require.NoError(t, f.db.SetUserDisabled(f.ctx, "2001", true, at(time.Minute)))
	list, err := f.db.ListUsers(f.ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, list[0].Disabled)
	require.Equal(t, at(time.Minute), list[0].DisabledAt)
	require.NoError(t, f.db.SetUserDisabled(f.ctx, "2001", false, at(2*time.Minute)))
	u, err = f.db.GetUser(f.ctx, "2001")
	require.NoError(t, err)
	require.False(t, u.Disabled)
}

// A session lives until its absolute expiry or its idle limit, whichever
// comes first; disabling its user or changing the password ends it at once.
func TestSessions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.db.AddUser(f.ctx, hotline.User{ID: "1001", Name: "张伟", Roles: []hotline.Role{hotline.RoleAgent}}, "h")
	require.NoError(t, err)
	idle := 10 * time.Minute
	touch := time.Minute
	start := at(0)
	require.NoError(t, f.db.AddSession(f.ctx, hashOf('a'), "1001", "10.0.0.7", start, start.Add(time.Hour), start.Add(-idle)))
	lookup := func(h string, now time.Time) error {
		_, _, err := f.db.SessionUser(f.ctx, h, now, now.Add(-idle), now.Add(-touch))
		return err
	}
	cases := []struct {
		name string
		now  time.Duration
		want hotline.ErrorKind
	}{
		{"fresh", time.Minute, ""},
		{"used again within the idle time", 9 * time.Minute, ""},
		{"the use moved the idle limit", 18 * time.Minute, ""},
		{"idle too long", 29 * time.Minute, hotline.KindUnauthorized},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, hotline.KindOf(lookup(hashOf('a'), at(tc.now))), tc.name)
	}
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(lookup(hashOf('z'), at(time.Minute))), "unknown secret")

	// Absolute expiry holds even for a session in use.
	require.NoError(t, f.db.AddSession(f.ctx, hashOf('b'), "1001", "", at(0), at(30*time.Minute), at(-idle)))
	for m := 5; m < 30; m += 5 {
		require.NoError(t, lookup(hashOf('b'), at(time.Duration(m)*time.Minute)))
	}
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(lookup(hashOf('b'), at(30*time.Minute))))

	require.NoError(t, f.db.AddSession(f.ctx, hashOf('c'), "1001", "", at(time.Hour), at(2*time.Hour), at(time.Hour-idle)))
	require.NoError(t, f.db.AddSession(f.ctx, hashOf('d'), "1001", "", at(time.Hour), at(2*time.Hour), at(time.Hour-idle)))
	require.NoError(t, lookup(hashOf('c'), at(time.Hour+time.Minute)))
	require.NoError(t, f.db.DeleteSession(f.ctx, hashOf('c')))
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(lookup(hashOf('c'), at(time.Hour+time.Minute))), "logged out")
	require.NoError(t, f.db.SetUserDisabled(f.ctx, "1001", true, at(time.Hour+2*time.Minute)))
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(lookup(hashOf('d'), at(time.Hour+2*time.Minute))), "user disabled")
}

func TestTokens(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.db.AddUser(f.ctx, hotline.User{ID: "2001", Name: "赵督察", Roles: []hotline.Role{hotline.RoleSupervisor}}, "h")
	require.NoError(t, err)
	tok, err := f.db.AddToken(f.ctx, hotline.APIToken{UserID: "2001", Name: "grafana", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, hashOf('a'))
	require.NoError(t, err)
	require.NotZero(t, tok.ID)
	_, err = f.db.AddToken(f.ctx, hotline.APIToken{UserID: "2001", Name: "grafana", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, hashOf('b'))
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "one live token per name: %v", err)
	_, err = f.db.AddToken(f.ctx, hotline.APIToken{UserID: "nobody", Name: "x", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, hashOf('c'))
	require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)

	u, err := f.db.TokenUser(f.ctx, hashOf('a'), at(time.Minute), at(0))
	require.NoError(t, err)
	require.Equal(t, "2001", u.ID)
	list, err := f.db.ListTokens(f.ctx, "2001")
	require.NoError(t, err)
	require.Equal(t, at(time.Minute), list[0].LastUsedAt)
	_, err = f.db.TokenUser(f.ctx, hashOf('a'), at(time.Hour), at(0))
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "expired")

	require.NoError(t, f.db.SetUserDisabled(f.ctx, "2001", true, at(2*time.Minute)))
	_, err = f.db.TokenUser(f.ctx, hashOf('a'), at(3*time.Minute), at(0))
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "user disabled")
	require.NoError(t, f.db.SetUserDisabled(f.ctx, "2001", false, at(4*time.Minute)))

	require.NoError(t, f.db.RevokeToken(f.ctx, "2001", "grafana", at(5*time.Minute)))
	_, err = f.db.TokenUser(f.ctx, hashOf('a'), at(6*time.Minute), at(0))
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "revoked")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(f.db.RevokeToken(f.ctx, "2001", "grafana", at(7*time.Minute))))
	_, err = f.db.AddToken(f.ctx, hotline.APIToken{UserID: "2001", Name: "grafana", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, hashOf('d'))
	require.NoError(t, err, "a revoked token's name can be used again")
}

func TestListCallsOfAParty(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2")
	for _, id := range []string{"c1", "c2", "c3"} {
		require.NoError(t, f.db.CreateCall(f.ctx, testCall(id, "139", t0)))
	}
	require.NoError(t, f.exec(t,
		`INSERT INTO call_legs (call_id, agent_id, channel_id, outcome, rung_ms) VALUES ('c2', 'a1', 'l1', 'busy', 1)`,
		`UPDATE calls SET state = 'answered', first_responsible_agent = 'a1' WHERE id = 'c1'`,
		`UPDATE calls SET state = 'answered', first_responsible_agent = 'a2' WHERE id = 'c3'`))
	calls, err := f.db.ListCalls(f.ctx, CallFilter{Party: "a1"})
	require.NoError(t, err)
	var ids []string
	for _, c := range calls {
		ids = append(ids, c.ID)
	}
	require.ElementsMatch(t, []string{"c1", "c2"}, ids, "responsible for c1, rung for c2, not on c3")
}
