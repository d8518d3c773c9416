package hotline

import (
	"strings"
	"time"
	"unicode/utf8"
)

// User is a staff account: the one source of who may log in and with which
// roles. An agent's account is linked to the roster entry (Agent) with the
// same id, so "its own calls, tasks, promises and status" are that
// roster entry's.
type User struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Roles      []Role    `json:"roles"`
	Disabled   bool      `json:"disabled"`
	CreatedAt  time.Time `json:"created_at"`
	DisabledAt time.Time `json:"disabled_at,omitzero"`
}

// MaxUserID and MaxUserName bound an account's id and name, in characters.
const (
	MaxUserID   = 64
	MaxUserName = 64
)

// Validate checks the fields a stored account must have.
func (u User) Validate() error {
	const op = "hotline.User.Validate"
	switch {
	case strings.TrimSpace(u.ID) == "" || u.ID != strings.TrimSpace(u.ID):
		return Errorf(KindInvalid, op, "user id %q must be non-empty, without surrounding spaces", u.ID)
	case utf8.RuneCountInString(u.ID) > MaxUserID:
		return Errorf(KindInvalid, op, "user id is longer than %d characters", MaxUserID)
	case strings.ContainsAny(u.ID, " \t\r\n/?#"):
		return Errorf(KindInvalid, op, "user id %q must not contain spaces, '/', '?' or '#'", u.ID)
	case strings.TrimSpace(u.Name) == "":
		return Errorf(KindInvalid, op, "user %q: a name is required", u.ID)
	case utf8.RuneCountInString(u.Name) > MaxUserName:
		return Errorf(KindInvalid, op, "user %q: the name is longer than %d characters", u.ID, MaxUserName)
	case len(u.Roles) == 0:
		return Errorf(KindInvalid, op, "user %q: at least one role is required (agent, supervisor, admin)", u.ID)
	}
	for _, r := range u.Roles {
		if !r.Valid() {
			return Errorf(KindInvalid, op, "user %q: role %q must be agent, supervisor or admin", u.ID, r)
		}
	}
	return nil
}

// Has reports whether u holds role r.
func (u User) Has(r Role) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Actor is u acting from address, logged in by method.
func (u User) Actor(address string, method AuthMethod) Actor {
	return Actor{ID: u.ID, Name: u.Name, Roles: u.Roles, Address: address, Method: method}
}

// APIToken is a bearer token another system uses to act as a user. Only
// the SHA-256 of its secret is stored; the secret is shown once.
type APIToken struct {
	ID         int64     `json:"id"`
	UserID     string    `json:"user_id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}
