package auth

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"hotline"
)

// Account and token changes (hotline user …). Each is audited with the
// actor who made it (the operator on the server for the CLI).

// MaxTokenTTL bounds a token's lifetime; maxTokenName its name in characters.
const (
	MaxTokenTTL  = 2 * 365 * 24 * time.Hour
	maxTokenName = 64
)

// AddUser creates account u with password. An agent's account must match
// a roster entry with the same id (agents: in the config), which is how
// "its own calls, tasks and status" are found.
func (s *Service) AddUser(ctx context.Context, by hotline.Actor, u hotline.User, password string) (hotline.User, error) {
	const op = "auth.AddUser"
	err := u.Validate()
	if err == nil && u.Has(hotline.RoleAgent) {
		if _, gerr := s.db.GetAgent(ctx, u.ID); hotline.KindOf(gerr) == hotline.KindNotFound {
			err = hotline.Errorf(hotline.KindInvalid, op, "user %q has the agent role but no roster entry with that id: add it under agents: in the config first", u.ID)
		} else if gerr != nil {
			err = gerr
		}
	}
	var hash string
	if err == nil {
		hash, err = s.hashPassword(password)
	}
	if err != nil {
		return hotline.User{}, err // invalid input is refused before anything is stored or audited
	}
	out, err := s.db.AddUser(ctx, u, hash)
	s.audit(ctx, by, "user.add", "user:"+u.ID, hotline.Outcome(err), "roles "+hotline.JoinRoles(u.Roles))
	return out, err
}

// SetPassword replaces user id's password and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, by hotline.Actor, id, password string) error {
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	err = s.db.SetPassword(ctx, id, hash)
	s.audit(ctx, by, "user.passwd", "user:"+id, hotline.Outcome(err), "")
	return err
}

// SetDisabled disables user id (its sessions and tokens stop working at
// once) or enables it again.
func (s *Service) SetDisabled(ctx context.Context, by hotline.Actor, id string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	err := s.db.SetUserDisabled(ctx, id, disabled, s.now())
	s.audit(ctx, by, action, "user:"+id, hotline.Outcome(err), "")
	return err
}

// ListUsers returns every account.
func (s *Service) ListUsers(ctx context.Context) ([]hotline.User, error) { return s.db.ListUsers(ctx) }

// ListTokens returns the tokens of user id, never their secrets.
func (s *Service) ListTokens(ctx context.Context, id string) ([]hotline.APIToken, error) {
	return s.db.ListTokens(ctx, id)
}

// CreateToken makes an API token named name for user userID, valid for
// ttl, and returns its secret: shown once, only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, by hotline.Actor, userID, name string, ttl time.Duration) (string, hotline.APIToken, error) {
	const op = "auth.CreateToken"
	name = strings.TrimSpace(name)
	switch {
	case name == "" || utf8.RuneCountInString(name) > maxTokenName:
		return "", hotline.APIToken{}, hotline.Errorf(hotline.KindInvalid, op, "a token name of 1 to %d characters is required, e.g. grafana", maxTokenName)
	case ttl <= 0 || ttl > MaxTokenTTL:
		return "", hotline.APIToken{}, hotline.Errorf(hotline.KindInvalid, op, "a token lives from 1s to %d days, not %s", int(MaxTokenTTL.Hours()/24), ttl)
	}
	if _, err := s.db.GetUser(ctx, userID); err != nil {
		return "", hotline.APIToken{}, err
	}
	secret := tokenPrefix + randomSecret()
	now := s.now()
	t, err := s.db.AddToken(ctx, hotline.APIToken{UserID: userID, Name: name, CreatedAt: now, ExpiresAt: now.Add(ttl)}, hashSecret(secret))
	s.audit(ctx, by, "token.create", "user:"+userID, hotline.Outcome(err), "token "+name+" expires "+now.Add(ttl).Format(time.RFC3339))
	if err != nil {
		return "", hotline.APIToken{}, err
	}
	return secret, t, nil
}

// RevokeToken revokes user userID's live token name.
func (s *Service) RevokeToken(ctx context.Context, by hotline.Actor, userID, name string) error {
	err := s.db.RevokeToken(ctx, userID, name, s.now())
	s.audit(ctx, by, "token.revoke", "user:"+userID, hotline.Outcome(err), "token "+name)
	return err
}
