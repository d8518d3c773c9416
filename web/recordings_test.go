package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

type fakePlayer struct {
	mu      sync.Mutex
	parties []string
	name    string
	viewer  string
}

func (p *fakePlayer) RecordingParties(_ context.Context, name string) ([]string, error) {
	if name != "c1" {
		return nil, hotline.Errorf(hotline.KindNotFound, "test", "recording %q not found", name)
	}
	return p.parties, nil
}

func (p *fakePlayer) ServeAudio(w http.ResponseWriter, r *http.Request, name string, _ bool) error {
	p.mu.Lock()
	p.name, p.viewer = name, actorID(r.Context())
	p.mu.Unlock()
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
	p := &fakePlayer{parties: []string{"1001"}}
	audit := &auditRecorder{}
	s, err := web.New(web.Config{}, testDeps(web.Deps{Recordings: p, Auditor: audit}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/recordings/c1/audio", nil)
	require.NoError(t, err)
	req.Header.Set("Range", "bytes=2-4")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, "234", string(body))
	require.Equal(t, "c1", p.name)
	require.Equal(t, "s01", p.viewer)

	status, _, _ := send(t, http.MethodGet, srv.URL+"/api/v1/recordings/c1/audio", "a1001", "")
	require.Equal(t, http.StatusOK, status, "an agent on the call")
	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/recordings/c1/audio?download=true", "a1002", "")
	require.Equal(t, http.StatusForbidden, status, "an agent who took no part")
	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/recordings/c1/audio", "adm", "")
	require.Equal(t, http.StatusForbidden, status, "an admin does not listen")
	require.Equal(t, []string{"1002 agent recording.download recording:c1 denied", "9001 admin recording.listen /api/v1/recordings/c1/audio denied"}, audit.all())

	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/recordings/c1/audio?by=a2", "sup", "")
	require.Equal(t, http.StatusBadRequest, status, "by is refused by name")
	status, body2, _ := send(t, http.MethodGet, srv.URL+"/api/v1/recordings/"+strings.Repeat("x", 4000)+"/audio", "sup", "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body2["error"], "1 to 128 characters")
	require.Len(t, audit.all(), 2, "invalid requests are not audited")
}

func TestReviewRoutes(t *testing.T) {
	t.Parallel()
	d := &fakeReviews{}
	s, err := web.New(web.Config{}, testDeps(web.Deps{Reviews: d}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")

	status, body, _ := send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/reviews", "sup", `{"agent_id":"a1","score":70,"flags":["拖延"],"comment":"late"}`)
	require.Equal(t, http.StatusCreated, status, body)
	require.Equal(t, []hotline.Review{{ID: 1, CallID: "c1", AgentID: "a1", SupervisorID: "s01", Score: 70, Flags: []string{"拖延"}, Comment: "late"}}, d.added)
	status, _, _ = send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/reviews", "sup", `{}`)
	require.Equal(t, http.StatusBadRequest, status, "score is required")
	status, body, _ = send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/reviews", "sup", `{"by":"s1","score":1}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body["error"], `field "by" is no longer accepted`)
	status, _, _ = send(t, http.MethodPost, srv.URL+"/api/v1/calls/c1/reviews", "a1001", `{"score":1}`)
	require.Equal(t, http.StatusForbidden, status, "agents do not review")

	status, body, _ = send(t, http.MethodGet, srv.URL+"/api/v1/reviews?agent=a1", "sup", "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["reviews"], 1)
	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/reviews?agent=a1", "a1001", "")
	require.Equal(t, http.StatusForbidden, status, "an agent reads only its own reviews")
	status, body, _ = send(t, http.MethodGet, srv.URL+"/api/v1/reviews", "a1001", "")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, body["reviews"], "its own: none")

	s, err = web.New(web.Config{}, testDeps(web.Deps{}), nil)
	require.NoError(t, err)
	srv = serveAs(t, s.Handler(), "sup")
	status, _, _ = send(t, http.MethodGet, srv.URL+"/api/v1/reviews", "sup", "")
	require.Equal(t, http.StatusServiceUnavailable, status)
}
