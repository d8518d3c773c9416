package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline/web"
)

// getPage fetches a console page as the test actor as, without following
// redirects: status, Location and body.
func getPage(t *testing.T, url, as string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("X-Test-As", as)
	resp, err := noRedirects.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// Pages pass the same gate as the API: without a login, to the login page
// and back; a page one may not open is a page saying so (403); each
// actor's navigation lists only what it may open; its home is its first
// page (a supervisor's the wall, an agent's its desk).
func TestPages(t *testing.T) {
	t.Parallel()
	s, err := web.New(web.Config{}, testDeps(web.Deps{Agents: agentList{{ID: "1001", Name: "张伟"}, {ID: "1002", Name: "王芳"}}}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")

	status, loc, _ := getPage(t, srv.URL+"/wall?x=1", "anonymous")
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/login.html?next=%2Fwall%3Fx%3D1", loc)

	status, _, body := getPage(t, srv.URL+"/wall", "a1001")
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "无权访问（403）")
	require.Contains(t, body, "may not wall.read")
	require.NotContains(t, body, "坐席状态")

	status, _, body = getPage(t, srv.URL+"/wall", "sup")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `<script src="/wall.js"></script>`)
	require.Contains(t, body, `data-me="s01"`)
	require.Contains(t, body, `href="/audit"`, "supervisors see the audit log in the navigation")
	require.NotContains(t, body, `href="/desk"`, "a supervisor not on the roster has no desk")

	status, _, body = getPage(t, srv.URL+"/desk/1001", "a1001")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `data-id="1001"`)
	require.Contains(t, body, `href="/desk"`)
	require.NotContains(t, body, `href="/wall"`, "agents do not see the wall in the navigation")
	require.NotContains(t, body, `href="/audit"`)

	status, _, body = getPage(t, srv.URL+"/desk/1002", "a1001")
	require.Equal(t, http.StatusForbidden, status, "another agent's desk")
	require.Contains(t, body, "无权访问")
	status, _, _ = getPage(t, srv.URL+"/desk/1002", "sup")
	require.Equal(t, http.StatusOK, status, "supervisors open any desk")
	status, _, body = getPage(t, srv.URL+"/desk/9999", "sup")
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, body, "未找到")

	for who, want := range map[string]string{"sup": "/wall", "a1001": "/desk", "adm": "/audit"} {
		status, loc, _ = getPage(t, srv.URL+"/", who)
		require.Equal(t, http.StatusSeeOther, status, who)
		require.Equal(t, want, loc, who)
	}
	status, loc, _ = getPage(t, srv.URL+"/desk", "a1002")
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/desk/1002", loc)

	// The names in pages are escaped: a name is text, never markup.
	_, _, body = getPage(t, srv.URL+"/wall", "xss")
	require.False(t, strings.Contains(body, "<script>alert(1)</script>"))
	require.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
}
