package aritest

import (
	"net/http"
	"strings"
)

// Sounds: GET /sounds/{soundId} answers every sound as installed (wav, en)
// except those in Options.MissingSounds, which answer 404 "Sound not found"
// as Asterisk does. A sound in a subfolder ("hotline/greeting") arrives
// with its slash decoded, so the two-segment form is served too.
func init() {
	routes = append(routes, buildRoutes([]struct {
		method, pattern string
		h               handler
	}{
		{"GET", "/sounds/{id}", (*Server).getSound},
		{"GET", "/sounds/{dir}/{id}", (*Server).getSound},
	})...)
}

func (s *Server) getSound(q *request) reply {
	id := q.param("id")
	if dir := q.param("dir"); dir != "" {
		id = dir + "/" + id
	}
	id = strings.TrimPrefix(id, "sound:")
	if s.missing[id] {
		return errMsg(http.StatusNotFound, "Sound not found").reply()
	}
	return ok("Sound", map[string]any{
		"id":      id,
		"formats": []map[string]string{{"language": "en", "format": "wav"}},
	})
}
