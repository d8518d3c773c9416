package aritest

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSounds(t *testing.T) {
	t.Parallel()
	// NewTest, not setup: a sound in a subfolder reaches the fake as two
	// path segments, which the one-segment /sounds/{soundId} of the schema
	// check does not describe.
	srv := NewTest(t, Options{MissingSounds: []string{"sound:hotline/survey", "beep"}})
	get := func(path string) (*http.Response, []byte) {
		return rawDo(t, context.Background(), http.MethodGet, srv.URL()+path, nil)
	}

	resp, body := get("/ari/sounds/hotline%2Fgreeting")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"id":"hotline/greeting","formats":[{"language":"en","format":"wav"}]}`, string(body))
	resp, body = get("/ari/sounds/hello-world")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"id":"hello-world","formats":[{"language":"en","format":"wav"}]}`, string(body))

	resp, body = get("/ari/sounds/hotline%2Fsurvey")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"message":"Sound not found"}`, string(body))
	resp, _ = get("/ari/sounds/beep")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
