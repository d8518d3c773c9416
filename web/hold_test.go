package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline/web"
)

type holdFunc func(ctx context.Context, name string, hold bool) error

func (f holdFunc) SetLegalHold(ctx context.Context, name string, hold bool) error {
	return f(ctx, name, hold)
}

func TestLegalHoldRoute(t *testing.T) {
	t.Parallel()
	type call struct {
		name, by string
		hold     bool
	}
	calls := make(chan call, 4)
	s, err := web.New(web.Config{}, testDeps(web.Deps{Holds: holdFunc(func(ctx context.Context, name string, hold bool) error {
		calls <- call{name, actorID(ctx), hold}
		return nil
	})}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
	t.Cleanup(srv.Close)
	post := func(as, body string) int {
		status, _, _ := send(t, http.MethodPost, srv.URL+"/api/v1/recordings/c1/hold", as, body)
		return status
	}
	require.Equal(t, http.StatusOK, post("sup", `{"hold":true}`))
	require.Equal(t, call{"c1", "s01", true}, <-calls)
	require.Equal(t, http.StatusForbidden, post("a1001", `{"hold":true}`), "only supervisors")
	require.Equal(t, http.StatusBadRequest, post("sup", `{}`), "hold is required")
	require.Equal(t, http.StatusBadRequest, post("sup", `{"by":"s01","hold":true}`), "by is refused by name")
	require.Equal(t, http.StatusBadRequest, post("sup", `{"hold":"yes"}`))
	require.Equal(t, http.StatusBadRequest, post("sup", `{"hold":"yes"}`))
	status, _, _ := send(t, http.MethodPost, srv.URL+"/api/v1/recordings/..%2Fetc/hold", "sup", `{"hold":true}`)
	require.Equal(t, http.StatusBadRequest, status, "a bad name is refused")
}
