package aritest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// AstDB, Asterisk's key-value store (astdb.sqlite3), as the dialplan's
// fallback uses it and ARI reads it: GET /asterisk/variable evaluates a
// dialplan function, so DB_KEYS(family), DB(family/key) and
// DB_DELETE(family/key) list, read and delete entries; POST sets a global
// variable, or with DB(family/key) an entry. It lives on disk in Asterisk: a Restart keeps it.
//
// The fallback of configs/asterisk/extensions.conf writes one entry per
// call it takes, in family FallbackFamily under the channel's uniqueid:
// "<caller number>|<epoch seconds>|<voicemail file>", the last empty until
// a message is left (VM_MESSAGEFILE: the message's path without .wav).
const FallbackFamily = "hotline_fallback"

// recordFallback writes the fallback's entry for c. Callers hold s.mu.
func (s *Server) recordFallback(c *channel, voicemail string) {
	if s.astdb == nil {
		s.astdb = make(map[string]string)
	}
	s.astdb[FallbackFamily+"/"+c.id] = fmt.Sprintf("%s|%d|%s", c.caller.Number, c.created.Unix(), voicemail)
}

// AstDB returns a copy of every entry, by "family/key".
func (s *Server) AstDB() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.astdb))
	for k, v := range s.astdb {
		out[k] = v
	}
	return out
}

func (s *Server) getGlobalVar(q *request) reply {
	name := q.str("variable")
	if name == "" {
		return errMsg(http.StatusBadRequest, "Missing variable parameter.").reply()
	}
	fn, arg, isFn := strings.Cut(strings.TrimSuffix(name, ")"), "(")
	if !isFn || !strings.HasSuffix(name, ")") {
		return ok("Variable", map[string]string{"value": s.globals[name]})
	}
	switch fn {
	case "DB_KEYS":
		// The keys directly under a family, sorted, comma-separated.
		prefix := strings.Trim(arg, "/") + "/"
		var keys []string
		for k := range s.astdb {
			if rest, under := strings.CutPrefix(k, prefix); under && !strings.Contains(rest, "/") {
				keys = append(keys, rest)
			}
		}
		slices.Sort(keys)
		return ok("Variable", map[string]string{"value": strings.Join(keys, ",")})
	case "DB":
		return ok("Variable", map[string]string{"value": s.astdb[strings.Trim(arg, "/")]})
	case "DB_DELETE":
		// Reads the value and deletes it; an unknown key reads "".
		k := strings.Trim(arg, "/")
		v := s.astdb[k]
		delete(s.astdb, k)
		return ok("Variable", map[string]string{"value": v})
	case "DB_EXISTS":
		if _, found := s.astdb[strings.Trim(arg, "/")]; found {
			return ok("Variable", map[string]string{"value": "1"})
		}
		return ok("Variable", map[string]string{"value": "0"})
	}
	// Asterisk evaluates any function; the fake knows only these.
	return errMsg(http.StatusBadRequest, fmt.Sprintf("Unable to read provided function %q", fn)).reply()
}

func (s *Server) setGlobalVar(q *request) reply {
	name := q.str("variable")
	if name == "" {
		return errMsg(http.StatusBadRequest, "Missing variable parameter.").reply()
	}
	if arg, isDB := strings.CutPrefix(name, "DB("); isDB && strings.HasSuffix(arg, ")") {
		// Writing DB(family/key) sets an AstDB entry, as Set(DB(...)=...) does.
		if s.astdb == nil {
			s.astdb = make(map[string]string)
		}
		s.astdb[strings.Trim(strings.TrimSuffix(arg, ")"), "/")] = q.str("value")
		return noContent()
	}
	if s.globals == nil {
		s.globals = make(map[string]string)
	}
	s.globals[name] = q.str("value")
	return noContent()
}
