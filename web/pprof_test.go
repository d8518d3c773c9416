package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"hotline/web"
)

// The profiles are behind the metrics protection: a client outside
// http.metrics_open_to gets them only with an admin's token, one inside
// gets them without credentials, and http.metrics_listen serves them
// without credentials.
func TestProfilesAreProtectedLikeMetrics(t *testing.T) {
	t.Parallel()
	s, err := web.New(web.Config{MetricsOpenTo: []string{"127.0.0.0/8"}, MetricsListen: "127.0.0.1:0", Listen: "127.0.0.1:0"},
		testDeps(web.Deps{Gatherer: prometheus.NewRegistry()}), nil)
	require.NoError(t, err)
	h := s.Handler()
	get := func(remote, token, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Host, r.RemoteAddr = "127.0.0.1", remote
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const remote, local = "192.0.2.7:40000", "127.0.0.1:40000"

	cases := []struct {
		name, remote, token string
		status              int
	}{
		{"anonymous, remote", remote, "", http.StatusUnauthorized},
		{"a supervisor, remote", remote, "sup", http.StatusForbidden},
		{"an agent, remote", remote, "a1001", http.StatusForbidden},
		{"an admin, remote", remote, "adm", http.StatusOK},
		{"anonymous, loopback", local, "", http.StatusOK},
	}
	for _, tc := range cases {
		w := get(tc.remote, tc.token, "/debug/pprof/heap")
		require.Equal(t, tc.status, w.Code, tc.name)
		if tc.status == http.StatusOK {
			requireProfile(t, w.Body.Bytes())
		} else {
			require.NotContains(t, w.Body.String(), "heap", tc.name)
		}
	}
	// The index and a text profile, from loopback.
	w := get(local, "", "/debug/pprof/")
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "goroutine")
	w = get(local, "", "/debug/pprof/goroutine?debug=1")
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "goroutine profile: total")
	require.Equal(t, http.StatusNotFound, get(local, "", "/debug/pprof/nothing").Code)

	// The metrics listener: no credentials, from anywhere it listens.
	require.NoError(t, s.Start())
	t.Cleanup(func() { _ = s.Stop(t.Context()) })
	resp, err := http.Get("http://" + s.MetricsAddr() + "/debug/pprof/allocs")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	requireProfile(t, raw)
}

// requireProfile checks raw is a pprof profile: gzipped protocol buffers
// that name the sample types of a heap profile.
func requireProfile(t *testing.T, raw []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	require.NoError(t, err, "a profile is gzipped")
	data, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Contains(t, string(data), "inuse_space", "the heap profile's sample types")
}
