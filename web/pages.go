package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// The console's pages are Go templates rendered after the gate: a page a
// staff member may not open is refused (403, a page saying so), and without
// a login the browser goes to the login page and comes back. Each page is
// a frame (header, navigation for the actor's roles) and its own small
// script, which reads the API and listens to the live stream; no build
// step, nothing from another site (the CSP is default-src 'self').

//go:embed templates
var templates embed.FS

// pageTemplates is every page, each parsed with the layout.
var pageTemplates = func() map[string]*template.Template {
	funcs := template.FuncMap{"addf": func(a, b float64) float64 { return a + b }} // chart coordinates
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templates, "templates/layout.html"))
	out := map[string]*template.Template{}
	entries, _ := templates.ReadDir("templates")
	for _, e := range entries {
		name := e.Name()
		if name == "layout.html" {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(templates, "templates/"+name))
		out[strings.TrimSuffix(name, ".html")] = t
	}
	return out
}()

// navItem is one link of the navigation bar.
type navItem struct {
	Href, Label string
	Current     bool
}

// navigation is every page a staff member may open, in the bar's order,
// with the action that lets them.
var navigation = []navEntry{
	{"/desk", "我的工作台", "desk", hotline.ActDeskRead},
	{"/wall", "监控大屏", "wall", hotline.ActWallRead},
	{"/calls", "来电记录", "calls", hotline.ActCallList},
	{"/promises", "承诺台账", "promises", hotline.ActPromiseList},
	{"/violations", "违规记录", "violations", hotline.ActViolationList},
	{"/reports", "考核报表", "reports", hotline.ActReportRead},
	{"/audit", "审计日志", "audit", hotline.ActAuditRead},
}

type navEntry struct {
	href, label, page string
	act               hotline.Action
}

// page is what every template gets: who is logged in, the navigation, and
// what the page is about (ID: an agent's or a call's id).
type page struct {
	Name, Title string
	Actor       hotline.Actor
	RoleText    string
	Nav         []navItem
	ID          string
	Data        any
}

var roleNames = map[hotline.Role]string{hotline.RoleAgent: "坐席", hotline.RoleSupervisor: "督察", hotline.RoleAdmin: "管理员"}

// renderPage writes the template name for the actor of r.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, name, title, id string, data any) {
	a, _ := hotline.ActorFromContext(r.Context())
	p := page{Name: name, Title: title, Actor: a, ID: id, Data: data}
	var roles []string
	for _, role := range a.Roles {
		roles = append(roles, roleNames[role])
	}
	p.RoleText = strings.Join(roles, "、")
	for _, n := range s.navFor(a) {
		p.Nav = append(p.Nav, navItem{Href: n.href, Label: n.label, Current: n.page == name})
	}
	var buf bytes.Buffer
	if err := pageTemplates[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		writeError(w, r, s.log, hotline.WrapError(hotline.KindInternal, "web.renderPage", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// pageError answers a page request that failed at the gate or in its
// handler: without a login, to the login page and back; otherwise a page
// saying why, with the error's status.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	if status == http.StatusUnauthorized {
		http.Redirect(w, r, "/login.html?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if note, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		note.err = err
	}
	title := map[int]string{http.StatusForbidden: "无权访问", http.StatusNotFound: "未找到"}[status]
	if title == "" {
		title = "出错了"
	}
	var buf bytes.Buffer
	_ = pageTemplates["error"].ExecuteTemplate(&buf, "error.html", map[string]any{"Title": title, "Status": status, "Message": hotline.MessageOf(err)})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// navFor is the navigation of a: the pages it may open; "my desk" only for
// staff on the roster (who answer calls).
func (s *Server) navFor(a hotline.Actor) []navEntry {
	var out []navEntry
	for _, n := range navigation {
		if !hotline.Allowed(a, n.act) || n.page == "desk" && !s.onRoster(a.ID) {
			continue
		}
		out = append(out, n)
	}
	return out
}

func (s *Server) onRoster(id string) bool {
	if s.deps.Agents == nil {
		return false
	}
	return slices.ContainsFunc(s.deps.Agents.List(), func(ag hotline.Agent) bool { return ag.ID == id })
}

// home: GET / → the wall for supervisors, an agent's desk, else the first
// page of the actor's navigation.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	a, _ := hotline.ActorFromContext(r.Context())
	nav := s.navFor(a)
	if i := slices.IndexFunc(nav, func(n navEntry) bool { return n.page == "wall" }); i >= 0 {
		nav = nav[i:]
	}
	if len(nav) > 0 {
		http.Redirect(w, r, nav[0].href, http.StatusSeeOther)
		return
	}
	s.pageError(w, r, hotline.Errorf(hotline.KindForbidden, "web.home", "no console page is open to %s", a.ID))
}

// myDesk: GET /desk → the logged-in agent's own desk.
func (s *Server) myDesk(w http.ResponseWriter, r *http.Request) {
	a, _ := hotline.ActorFromContext(r.Context())
	http.Redirect(w, r, "/desk/"+url.PathEscape(a.ID), http.StatusSeeOther)
}

// deskPage: GET /desk/{id}: an agent's status, callback tasks, promises
// and recent calls, live.
func (s *Server) deskPage(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if s.deps.Agents != nil {
		if !s.onRoster(id) {
			s.pageError(w, r, hotline.Errorf(hotline.KindNotFound, "web.deskPage", "no agent %q on the roster", id))
			return
		}
	}
	s.renderPage(w, r, "desk", "坐席工作台", id, nil)
}

// simplePage renders a page that needs nothing but its script.
func (s *Server) simplePage(name, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.renderPage(w, r, name, title, "", nil) }
}

// callPage: GET /calls/{id}: the call's timeline, recording, reviews.
func (s *Server) callPage(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, r, "call", "来电详情", chi.URLParam(r, "id"), nil)
}
