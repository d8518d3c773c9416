package aritest

import (
	"net/http"
	"slices"
)

func (s *Server) getInfo(q *request) reply {
	started := s.startedAt.Format(dateFormat)
	all := map[string]any{
		"build": map[string]string{
			"os": "Linux", "kernel": "6.1.0", "machine": "x86_64", "options": "OPTIONAL_API",
			"date": s.startedAt.UTC().Format("2006-01-02 15:04:05 UTC"), "user": "root",
		},
		"system": map[string]string{"version": asteriskVersion, "entity_id": s.entityID},
		"config": map[string]any{
			"name": "", "default_language": "en",
			"setid": map[string]string{"user": "", "group": ""},
		},
		"status": map[string]string{"startup_time": started, "last_reload_time": started},
	}
	// Asterisk's ?only=build,system picks sections.
	if only := q.list("only"); len(only) > 0 {
		for k := range all {
			if !slices.Contains(only, k) {
				delete(all, k)
			}
		}
	}
	return ok("AsteriskInfo", all)
}

func (s *Server) getPing(*request) reply {
	return ok("AsteriskPing", map[string]string{
		"asterisk_id": s.entityID, "ping": "pong", "timestamp": s.now().Format(dateFormat),
	})
}

func (s *Server) listApplications(*request) reply {
	out := []applicationJSON{}
	for _, a := range s.registeredApps() {
		out = append(out, a.json())
	}
	return ok("List[Application]", out)
}

func (s *Server) appFor(q *request) (*app, *ariError) {
	a, found := s.apps[q.param("app")]
	if !found || (a.conn == nil && !a.subscribed()) {
		return nil, errMsg(http.StatusNotFound, "Application not found")
	}
	return a, nil
}

func (s *Server) getApplication(q *request) reply {
	a, err := s.appFor(q)
	if err != nil {
		return err.reply()
	}
	return ok("Application", a.json())
}

func (s *Server) subscribeApplication(q *request) reply {
	a, err := s.appFor(q)
	if err != nil {
		return err.reply()
	}
	sources := q.list("eventSource")
	if len(sources) == 0 {
		return errMsg(http.StatusBadRequest, "Missing parameter eventSource").reply()
	}
	for _, src := range sources {
		if err := s.subscribe(a, src); err != nil {
			return err.reply()
		}
	}
	return ok("Application", a.json())
}

func (s *Server) unsubscribeApplication(q *request) reply {
	a, err := s.appFor(q)
	if err != nil {
		return err.reply()
	}
	sources := q.list("eventSource")
	if len(sources) == 0 {
		return errMsg(http.StatusBadRequest, "Missing parameter eventSource").reply()
	}
	for _, src := range sources {
		if err := s.unsubscribe(a, src); err != nil {
			return err.reply()
		}
	}
	return ok("Application", a.json())
}
