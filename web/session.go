package web

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"hotline"
)

// sessionCookie carries the console's session secret: HttpOnly, so page
// scripts never see it; SameSite=Lax; Secure whenever the client came over
// TLS.
const sessionCookie = "hotline_session"

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// sessionJSON is who is logged in.
type sessionJSON struct {
	User      hotline.Actor `json:"user"`
	ExpiresAt time.Time     `json:"expires_at,omitzero"`
}

// login: POST /api/v1/session {"user": "1001", "password": "…"} → 200
// {"user": {...}, "expires_at"} and the session cookie. A wrong user and a
// wrong password get the same 401; too many failures 429 with Retry-After.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	const op = "web.login"
	var req loginRequest
	err := decodeJSON(w, r, &req)
	user := strings.TrimSpace(req.User)
	switch {
	case err != nil:
	case user == "" || utf8.RuneCountInString(user) > hotline.MaxUserID:
		err = hotline.Errorf(hotline.KindInvalid, op, "user is required: the staff id, at most %d characters", hotline.MaxUserID)
	case req.Password == "" || len(req.Password) > 256:
		err = hotline.Errorf(hotline.KindInvalid, op, "password is required, at most 256 bytes")
	}
	var secret string
	var actor hotline.Actor
	var expires time.Time
	if err == nil {
		secret, actor, expires, err = s.deps.Auth.Login(r.Context(), user, req.Password, ClientAddress(r))
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: expires, HttpOnly: true,
		Secure: secureRequest(r), SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusOK, sessionJSON{User: actor, ExpiresAt: expires})
}

// whoAmI: GET /api/v1/session → who is logged in (session or token).
func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	a, _ := hotline.ActorFromContext(r.Context())
	out := sessionJSON{User: a}
	if c, err := r.Cookie(sessionCookie); err == nil && a.Method == hotline.AuthSession {
		if _, expires, err := s.deps.Auth.SessionActor(r.Context(), c.Value, a.Address); err == nil {
			out.ExpiresAt = expires
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// logout: DELETE /api/v1/session → 204; the session ends and the cookie
// is cleared.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	a, _ := hotline.ActorFromContext(r.Context())
	if c, err := r.Cookie(sessionCookie); err == nil && a.Method == hotline.AuthSession {
		if err := s.deps.Auth.Logout(r.Context(), c.Value, a); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: secureRequest(r), SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}
