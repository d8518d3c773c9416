package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
)

type fakePlayer struct{ name, viewer string }

func (p *fakePlayer) ServeAudio(w http.ResponseWriter, r *http.Request, name, viewer string, _ bool) error {
	p.name, p.viewer = name, viewer
	if viewer != "s1" {
		return hotline.Errorf(hotline.KindForbidden, "test", "no")
	}
	http.ServeContent(w, r, "", hotline.FromUnixMilli(0), strings.NewReader("0123456789"))
	return nil
}

type fakeReviews struct{ added []hotline.Review }

func (d *fakeReviews) AddReview(_ context.Context, r hotline.Review) (hotline.Review, error) {
	r.ID = int64(len(d.added) + 1)
	d.added = append(d.added, r)
	return r, nil
}

func (d *fakeReviews) ListReviews(_ context.Context, agent string) ([]hotline.Review, error) {
	var out []hotline.Review
	for _, r := range d.added {
		if agent == "" || r.AgentID == agent {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestRecordingAudioRoute(t *testing.T) {
	t.Parallel()
	p := &fakePlayer{}
	srv, err := New(Config{}, Deps{Recordings: p}, nil)
	require.NoError(t, err)
	h := srv.Handler()

	req := httptest.NewRequest(http.MethodGet, "/api/v1/recordings/c1/audio?by=s1", nil)
	req.Header.Set("Range", "bytes=2-4")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusPartialContent, w.Code)
	require.Equal(t, "234", w.Body.String())
	require.Equal(t, "c1", p.name)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/recordings/c1/audio?by=a2", nil))
	require.Equal(t, http.StatusForbidden, w.Code)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/recordings/c1/audio?who=a2", nil))
	require.Equal(t, http.StatusBadRequest, w.Code)
}

func TestReviewRoutes(t *testing.T) {
	t.Parallel()
	d := &fakeReviews{}
	srv, err := New(Config{}, Deps{Reviews: d}, nil)
	require.NoError(t, err)
	h := srv.Handler()

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/calls/c1/reviews",
		strings.NewReader(`{"by":"s1","agent_id":"a1","score":70,"flags":["拖延"],"comment":"late"}`)))
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Equal(t, []hotline.Review{{ID: 1, CallID: "c1", AgentID: "a1", SupervisorID: "s1", Score: 70, Flags: []string{"拖延"}, Comment: "late"}}, d.added)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/calls/c1/reviews", strings.NewReader(`{"by":"s1"}`)))
	require.Equal(t, http.StatusBadRequest, w.Code)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/reviews?agent=a1", nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"score":70`)
	require.Contains(t, w.Body.String(), `"拖延"`)

	srv, err = New(Config{}, Deps{}, nil)
	require.NoError(t, err)
	w = httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/reviews", nil))
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
}
