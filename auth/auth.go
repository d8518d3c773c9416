// Package auth says who a request is: staff passwords (bcrypt from
// golang.org/x/crypto), console sessions and API tokens (random secrets of
// which only the SHA-256 is stored), the failed-login back-off, and the
// account commands. What an authenticated actor may then do is the access
// table of package hotline. Accounts, sessions and tokens live in the store;
// every login, account and token change is audited there.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"hotline"
	"hotline/store"
)

// Config is the "auth" section: sessions and the failed-login limit.
type Config struct {
	// SessionIdle ends a console session not used for this long. Default 30m.
	SessionIdle time.Duration `yaml:"session_idle"`
	// SessionMax ends every session this long after login, however busy.
	// Default 12h.
	SessionMax time.Duration `yaml:"session_max"`
	// LoginMaxFailures failed logins of one account within LoginWindow
	// start the back-off for that account. Default 5.
	LoginMaxFailures int `yaml:"login_max_failures"`
	// LoginMaxFailuresPerAddress does the same for one client address,
	// whatever accounts it tries. Default 20.
	LoginMaxFailuresPerAddress int `yaml:"login_max_failures_per_address"`
	// LoginWindow is how long a failed login counts. Default 15m.
	LoginWindow time.Duration `yaml:"login_window"`
	// LoginBackoff is the first wait once the limit is reached; it doubles
	// with each further failure, up to LoginBackoffMax. Defaults 30s, 15m.
	LoginBackoff    time.Duration `yaml:"login_backoff"`
	LoginBackoffMax time.Duration `yaml:"login_backoff_max"`
	// BcryptCost is the work factor of new password hashes (4–31). Default
	// 12; a stored hash keeps the cost it was made with.
	BcryptCost int `yaml:"bcrypt_cost"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.SessionIdle == 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionMax == 0 {
		c.SessionMax = 12 * time.Hour
	}
	if c.LoginMaxFailures == 0 {
		c.LoginMaxFailures = 5
	}
	if c.LoginMaxFailuresPerAddress == 0 {
		c.LoginMaxFailuresPerAddress = 20
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = 15 * time.Minute
	}
	if c.LoginBackoff == 0 {
		c.LoginBackoff = 30 * time.Second
	}
	if c.LoginBackoffMax == 0 {
		c.LoginBackoffMax = 15 * time.Minute
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = 12
	}
}

// Validate reports the first bad field, named by its YAML key under "auth.".
func (c Config) Validate() error {
	switch {
	case c.SessionIdle < time.Second:
		return fmt.Errorf("auth.session_idle: %s must be at least 1s", c.SessionIdle)
	case c.SessionMax < c.SessionIdle:
		return fmt.Errorf("auth.session_max: %s must be at least auth.session_idle (%s)", c.SessionMax, c.SessionIdle)
	case c.LoginMaxFailures < 1:
		return fmt.Errorf("auth.login_max_failures: must be at least 1")
	case c.LoginMaxFailuresPerAddress < c.LoginMaxFailures:
		return fmt.Errorf("auth.login_max_failures_per_address: must be at least auth.login_max_failures")
	case c.LoginWindow <= 0 || c.LoginBackoff <= 0:
		return fmt.Errorf("auth.login_window and auth.login_backoff: must be positive")
	case c.LoginBackoffMax < c.LoginBackoff:
		return fmt.Errorf("auth.login_backoff_max: must be at least auth.login_backoff")
	case c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost:
		return fmt.Errorf("auth.bcrypt_cost: %d must be from %d to %d", c.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return nil
}

// Deps are what the service needs besides its config.
type Deps struct {
	DB       *store.DB
	Now      func() time.Time
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Service authenticates requests and manages accounts.
type Service struct {
	cfg       Config
	db        *store.DB
	now       func() time.Time
	log       *slog.Logger
	accounts  *hotline.Limiter
	addresses *hotline.Limiter
	dummyHash []byte // compared against when the account cannot log in, so the timing is the same
	logins    *prometheus.CounterVec
}

// New builds the service.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil {
		return nil, errors.New("auth: New needs a database")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(randomSecret()), cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s := &Service{cfg: cfg, db: deps.DB, now: deps.Now, log: deps.Log.With("component", "auth"), dummyHash: dummy,
		accounts:  hotline.NewLimiter(deps.Now, cfg.LoginMaxFailures, cfg.LoginWindow, cfg.LoginBackoff, cfg.LoginBackoffMax),
		addresses: hotline.NewLimiter(deps.Now, cfg.LoginMaxFailuresPerAddress, cfg.LoginWindow, cfg.LoginBackoff, cfg.LoginBackoffMax),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_logins_total",
			Help: "Console login attempts, by result: ok, failed (wrong user or password), limited (refused by the back-off)."}, []string{"result"}),
	}
	for _, r := range []string{"ok", "failed", "limited"} {
		s.logins.WithLabelValues(r)
	}
	if deps.Registry != nil {
		if err := deps.Registry.Register(s.logins); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return s, nil
}

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "hotline_session"

// tokenPrefix marks API tokens, so a leaked one is recognisable.
const tokenPrefix = "hlt_"

// randomSecret is 32 random bytes, URL-safe base64.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how session and token secrets are stored: SHA-256, hex.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Password rules: bcrypt reads at most 72 bytes.
const (
	minPasswordChars = 10
	maxPasswordBytes = 72
)

// CheckPassword says what is wrong with a new password, nil when nothing.
func CheckPassword(pw string) error {
	const op = "auth.CheckPassword"
	switch {
	case utf8.RuneCountInString(pw) < minPasswordChars:
		return hotline.Errorf(hotline.KindInvalid, op, "the password must have at least %d characters", minPasswordChars)
	case len(pw) > maxPasswordBytes:
		return hotline.Errorf(hotline.KindInvalid, op, "the password must be at most %d bytes (bcrypt's limit)", maxPasswordBytes)
	case strings.TrimSpace(pw) != pw:
		return hotline.Errorf(hotline.KindInvalid, op, "the password must not start or end with white space")
	}
	return nil
}

func (s *Service) hashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cfg.BcryptCost)
	if err != nil {
		return "", hotline.WrapError(hotline.KindInternal, "auth.hashPassword", err)
	}
	return string(h), nil
}

// Session is a console login: Secret goes into the cookie and nowhere else.
type Session struct {
	Secret    string
	Actor     hotline.Actor
	ExpiresAt time.Time
}

// errLogin is the one answer to a wrong user or a wrong password.
func errLogin() error {
	return hotline.Errorf(hotline.KindUnauthorized, "auth.Login", "wrong user or password")
}

// loginKeyMax caps the account key the limiter keeps for what a client typed.
const loginKeyMax = hotline.MaxUserID

// Login checks userID's password from address and starts a session. A wrong
// user and a wrong password get the same answer after the same bcrypt work;
// too many failures of one account or one address get RateLimited with the
// wait. Success and failure are logged, counted and audited.
func (s *Service) Login(ctx context.Context, userID, password, address string) (Session, error) {
	const op = "auth.Login"
	accountKey := userID
	if utf8.RuneCountInString(accountKey) > loginKeyMax {
		accountKey = string([]rune(accountKey)[:loginKeyMax])
	}
	if wait := max(s.accounts.Wait(accountKey), s.addresses.Wait(address)); wait > 0 {
		s.logins.WithLabelValues("limited").Inc()
		s.log.Warn("login refused: too many failed attempts", "user", accountKey, "address", address, "retry_after", wait)
		return Session{}, hotline.RateLimited(op, wait, "too many failed logins; try again in %s", wait.Round(time.Second))
	}
	u, hash, err := s.db.UserCredentials(ctx, userID)
	known := err == nil
	if err != nil && hotline.KindOf(err) != hotline.KindNotFound {
		return Session{}, err
	}
	canLogIn := known && hash != "" && !u.Disabled
	compareWith := s.dummyHash
	if canLogIn {
		compareWith = []byte(hash)
	}
	match := bcrypt.CompareHashAndPassword(compareWith, []byte(password)) == nil && canLogIn
	if !match {
		s.accounts.Fail(accountKey)
		s.addresses.Fail(address)
		s.logins.WithLabelValues("failed").Inc()
		actor := "unknown"
		if known {
			actor = u.ID // what a client typed is not logged unless it is an account
		}
		s.log.Warn("login failed", "user", actor, "address", address)
		s.audit(ctx, hotline.Actor{ID: actor, Address: address, Method: hotline.AuthSession}, "session.login", "user:"+actor, hotline.OutcomeDenied, "wrong user or password")
		return Session{}, errLogin()
	}
	s.accounts.Reset(accountKey)
	s.addresses.Reset(address)
	now := s.now()
	sess := Session{Secret: randomSecret(), Actor: u.Actor(address, hotline.AuthSession), ExpiresAt: now.Add(s.cfg.SessionMax)}
	if err := s.db.AddSession(ctx, hashSecret(sess.Secret), u.ID, address, now, sess.ExpiresAt, now.Add(-s.cfg.SessionIdle)); err != nil {
		return Session{}, err
	}
	s.logins.WithLabelValues("ok").Inc()
	s.log.Info("login", "user", u.ID, "roles", sess.Actor.RoleText(), "address", address)
	s.audit(ctx, sess.Actor, "session.login", "user:"+u.ID, hotline.OutcomeOK, "")
	return sess, nil
}

// Logout ends the session of secret; audited for actor.
func (s *Service) Logout(ctx context.Context, secret string, actor hotline.Actor) error {
	err := s.db.DeleteSession(ctx, hashSecret(secret))
	s.audit(ctx, actor, "session.logout", "user:"+actor.ID, hotline.Outcome(err), "")
	return err
}

// SessionActor returns who holds the session secret, from address;
// Unauthorized when it has ended (idle, expired, logged out, user disabled).
func (s *Service) SessionActor(ctx context.Context, secret, address string) (hotline.Actor, time.Time, error) {
	now := s.now()
	// Seen more than a tenth of the idle time ago: the session's last use moves.
	u, expires, err := s.db.SessionUser(ctx, hashSecret(secret), now, now.Add(-s.cfg.SessionIdle), now.Add(-s.cfg.SessionIdle/10))
	if err != nil {
		return hotline.Actor{}, time.Time{}, err
	}
	return u.Actor(address, hotline.AuthSession), expires, nil
}

// TokenActor returns who holds the API token secret, from address;
// Unauthorized when it is unknown, revoked or expired, or its user disabled.
func (s *Service) TokenActor(ctx context.Context, secret, address string) (hotline.Actor, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return hotline.Actor{}, hotline.Errorf(hotline.KindUnauthorized, "auth.TokenActor", "not a hotline API token")
	}
	now := s.now()
	u, err := s.db.TokenUser(ctx, hashSecret(secret), now, now.Add(-time.Minute))
	if err != nil {
		return hotline.Actor{}, err
	}
	return u.Actor(address, hotline.AuthToken), nil
}

// audit appends to the audit log; a failure is logged, never hidden.
func (s *Service) audit(ctx context.Context, a hotline.Actor, action, object, outcome, detail string) {
	Audit(ctx, s.db, s.log, s.now, a, action, object, outcome, detail)
}

// Audit appends one row for actor a to the hash-chained audit log: actor,
// roles, address, action, target, outcome, detail (the store caps each). A
// failure is logged, never hidden.
func Audit(ctx context.Context, db *store.DB, log *slog.Logger, now func() time.Time, a hotline.Actor, action, object, outcome, detail string) {
	actor := a.ID
	if actor == "" {
		actor = "anonymous"
	}
	role := a.RoleText()
	if role == "" && a.Method != "" && a.Method != hotline.AuthSession && a.Method != hotline.AuthToken {
		role = string(a.Method) // cli, system
	}
	_, err := db.AppendAudit(context.WithoutCancel(ctx), hotline.AuditEntry{At: now(), Actor: actor, Role: role, Action: action,
		Object: object, Client: a.Address, Result: outcome, Detail: detail})
	if err != nil {
		log.Error("audit log write failed", "actor", actor, "action", action, "object", object, "err", err)
	}
}
