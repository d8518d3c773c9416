package auth_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/auth"
	"hotline/store"
)

type bundle struct {
	ctx  context.Context
	db   *store.DB
	svc  *auth.Service
	reg  *prometheus.Registry
	mu   sync.Mutex
	now  time.Time
	root hotline.Actor
}

func (b *bundle) clock() time.Time { b.mu.Lock(); defer b.mu.Unlock(); return b.now }
func (b *bundle) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = b.now.Add(d)
}

const goodPassword = "correct-horse-battery"

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{ctx: context.Background(), now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), reg: prometheus.NewRegistry(),
		root: hotline.Actor{ID: "cli:root", Method: hotline.AuthCLI}}
	db, err := store.Open(b.ctx, store.Config{Path: filepath.Join(t.TempDir(), "h.db")}, nil, store.WithClock(b.clock))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Migrate(b.ctx)
	require.NoError(t, err)
	require.NoError(t, db.UpsertAgent(b.ctx, hotline.Agent{ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001", Role: hotline.RoleAgent, State: hotline.AgentAvailable}))
	b.db = db
	b.svc, err = auth.New(auth.Config{BcryptCost: 4, SessionIdle: 10 * time.Minute, SessionMax: time.Hour, LoginMaxFailures: 3,
		LoginMaxFailuresPerAddress: 5, LoginBackoff: time.Minute, LoginBackoffMax: 10 * time.Minute},
		auth.Deps{DB: db, Now: b.clock, Registry: b.reg})
	require.NoError(t, err)
	_, err = b.svc.AddUser(b.ctx, b.root, hotline.User{ID: "1001", Name: "张伟", Roles: []hotline.Role{hotline.RoleAgent}}, goodPassword)
	require.NoError(t, err)
	_, err = b.svc.AddUser(b.ctx, b.root, hotline.User{ID: "2001", Name: "赵督察", Roles: []hotline.Role{hotline.RoleSupervisor}}, goodPassword)
	require.NoError(t, err)
	return b
}

func TestAddUserRefusesBadInputBeforeStoringOrAuditing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before, _, err := b.db.AuditSize(b.ctx)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		u    hotline.User
		pw   string
		want string
	}{
		{"short password", hotline.User{ID: "2002", Name: "x", Roles: []hotline.Role{hotline.RoleSupervisor}}, "short", "at least 10"},
		{"password over bcrypt's limit", hotline.User{ID: "2002", Name: "x", Roles: []hotline.Role{hotline.RoleSupervisor}}, strings.Repeat("密", 25), "at most 72 bytes"},
		{"agent without a roster entry", hotline.User{ID: "1009", Name: "x", Roles: []hotline.Role{hotline.RoleAgent}}, goodPassword, "no roster entry"},
		{"no role", hotline.User{ID: "2002", Name: "x"}, goodPassword, "at least one role"},
	} {
		_, err := b.svc.AddUser(b.ctx, b.root, tc.u, tc.pw)
		require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), tc.name)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	after, _, err := b.db.AuditSize(b.ctx)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestLoginAndLogout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.svc.Login(b.ctx, "1001", goodPassword, "10.0.0.7")
	require.NoError(t, err)
	require.Len(t, s.Secret, 43)
	require.Equal(t, hotline.Actor{ID: "1001", Name: "张伟", Roles: []hotline.Role{hotline.RoleAgent}, Address: "10.0.0.7", Method: hotline.AuthSession}, s.Actor)
	a, _, err := b.svc.SessionActor(b.ctx, s.Secret, "10.0.0.8")
	require.NoError(t, err)
	require.Equal(t, "1001", a.ID)
	require.Equal(t, "10.0.0.8", a.Address)
	require.NoError(t, b.svc.Logout(b.ctx, s.Secret, a))
	_, _, err = b.svc.SessionActor(b.ctx, s.Secret, "10.0.0.8")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err))

	list, err := b.db.ListAudit(b.ctx, store.AuditFilter{Actor: "1001"})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "session.logout", list[0].Action)
	require.Equal(t, "session.login", list[1].Action)
	require.Equal(t, "agent", list[1].Role)
	require.Equal(t, "10.0.0.7", list[1].Client)
	require.Equal(t, 1.0, testutil.ToFloat64(b.svcMetric("ok")))
}

func (b *bundle) svcMetric(result string) prometheus.Collector {
	families, _ := b.reg.Gather()
	for _, f := range families {
		if f.GetName() != "hotline_logins_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})
}

// A wrong password and an unknown user get the same answer; after the
// account's limit the account is refused with a wait, even with the right
// password, until the wait has passed.
func TestFailedLoginsBackOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, errUnknown := b.svc.Login(b.ctx, "nobody", goodPassword, "10.0.0.7")
	_, errWrong := b.svc.Login(b.ctx, "1001", "wrong-password!", "10.0.0.7")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(errUnknown))
	require.Equal(t, hotline.MessageOf(errUnknown), hotline.MessageOf(errWrong))

	_, err := b.svc.Login(b.ctx, "1001", "wrong-password!", "10.0.0.7")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err))
	_, err = b.svc.Login(b.ctx, "1001", "wrong-password!", "10.0.0.7")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "the third failure is still answered")
	_, err = b.svc.Login(b.ctx, "1001", goodPassword, "10.0.0.9")
	require.Equal(t, hotline.KindRateLimited, hotline.KindOf(err), "the account waits, from any address")
	require.Equal(t, time.Minute, hotline.RetryAfterOf(err))
	_, err = b.svc.Login(b.ctx, "2001", goodPassword, "10.0.0.9")
	require.NoError(t, err, "other accounts are not held up")

	b.advance(time.Minute)
	_, err = b.svc.Login(b.ctx, "1001", goodPassword, "10.0.0.9")
	require.NoError(t, err, "after the wait the right password works")
	require.Equal(t, 1.0, testutil.ToFloat64(b.svcMetric("limited")))
	require.Equal(t, 4.0, testutil.ToFloat64(b.svcMetric("failed")))

	denied, err := b.db.ListAudit(b.ctx, store.AuditFilter{Action: "session.login"})
	require.NoError(t, err)
	var outcomes []string
	for _, e := range denied {
		outcomes = append(outcomes, e.Actor+" "+e.Result)
	}
	require.Equal(t, []string{"1001 ok", "2001 ok", "1001 denied", "1001 denied", "1001 denied", "unknown denied"}, outcomes)
}

// One address trying many accounts is limited too.
func TestFailedLoginsBackOffPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		_, err := b.svc.Login(b.ctx, "guess"+string(rune('a'+i)), "password-guess", "10.6.6.6")
		require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err))
	}
	_, err := b.svc.Login(b.ctx, "2001", goodPassword, "10.6.6.6")
	require.Equal(t, hotline.KindRateLimited, hotline.KindOf(err))
	_, err = b.svc.Login(b.ctx, "2001", goodPassword, "10.0.0.1")
	require.NoError(t, err)
}

func TestSessionsExpireIdleAndAbsolute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.svc.Login(b.ctx, "1001", goodPassword, "10.0.0.7")
	require.NoError(t, err)
	for range 6 { // used every 9 minutes: alive, until the hour is up
		b.advance(9 * time.Minute)
		_, _, err = b.svc.SessionActor(b.ctx, s.Secret, "")
		require.NoError(t, err)
	}
	b.advance(5*time.Minute + 59*time.Second)
	_, _, err = b.svc.SessionActor(b.ctx, s.Secret, "")
	require.NoError(t, err)
	b.advance(2 * time.Second)
	_, _, err = b.svc.SessionActor(b.ctx, s.Secret, "")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "a session ends an hour after login, however busy")

	s, err = b.svc.Login(b.ctx, "1001", goodPassword, "10.0.0.7")
	require.NoError(t, err)
	b.advance(10 * time.Minute)
	_, _, err = b.svc.SessionActor(b.ctx, s.Secret, "")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "idle for the idle time")
}

// Disabling a user stops its sessions and tokens at once; a revoked token
// stops; a password change ends sessions.
func TestDisabledUsersAndRevokedTokensStopAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.svc.Login(b.ctx, "2001", goodPassword, "10.0.0.7")
	require.NoError(t, err)
	secret, tok, err := b.svc.CreateToken(b.ctx, b.root, "2001", "grafana", 90*24*time.Hour)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, "hlt_"))
	require.Equal(t, b.clock().Add(90*24*time.Hour), tok.ExpiresAt)
	a, err := b.svc.TokenActor(b.ctx, secret, "10.0.0.8")
	require.NoError(t, err)
	require.Equal(t, hotline.AuthToken, a.Method)

	require.NoError(t, b.svc.SetDisabled(b.ctx, b.root, "2001", true))
	_, _, err = b.svc.SessionActor(b.ctx, s.Secret, "")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err))
	_, err = b.svc.TokenActor(b.ctx, secret, "")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err))
	_, err = b.svc.Login(b.ctx, "2001", goodPassword, "10.0.0.7")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "a disabled user cannot log in")

	require.NoError(t, b.svc.SetDisabled(b.ctx, b.root, "2001", false))
	_, err = b.svc.TokenActor(b.ctx, secret, "")
	require.NoError(t, err)
	require.NoError(t, b.svc.RevokeToken(b.ctx, b.root, "2001", "grafana"))
	_, err = b.svc.TokenActor(b.ctx, secret, "")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err))

	s, err = b.svc.Login(b.ctx, "2001", goodPassword, "10.0.0.7")
	require.NoError(t, err)
	require.NoError(t, b.svc.SetPassword(b.ctx, b.root, "2001", "another-good-password"))
	_, _, err = b.svc.SessionActor(b.ctx, s.Secret, "")
	require.Equal(t, hotline.KindUnauthorized, hotline.KindOf(err), "a new password ends the sessions")

	changes, err := b.db.ListAudit(b.ctx, store.AuditFilter{Actor: "cli:root"})
	require.NoError(t, err)
	var actions []string
	for _, e := range changes {
		actions = append(actions, e.Action+" "+e.Result)
	}
	require.Equal(t, []string{"user.passwd ok", "token.revoke ok", "user.enable ok", "user.disable ok", "token.create ok", "user.add ok", "user.add ok"}, actions)
	require.Equal(t, "cli", changes[0].Role)
}
