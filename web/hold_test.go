package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

type holdFunc func(ctx context.Context, name, by string, hold bool) error

func (f holdFunc) SetLegalHold(ctx context.Context, name, by string, hold bool) error {
	return f(ctx, name, by, hold)
}

func TestLegalHoldRoute(t *testing.T) {
	t.Parallel()
	type call struct {
		name, by string
		hold     bool
	}
	calls := make(chan call, 4)
	s, err := web.New(web.Config{}, web.Deps{Holds: holdFunc(func(_ context.Context, name, by string, hold bool) error {
		if by != "s01" {
			return hotline.Errorf(hotline.KindForbidden, "test", "only a supervisor may change a legal hold")
		}
		calls <- call{name, by, hold}
		return nil
	})}, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	post := func(body string) int {
		resp, err := http.Post(srv.URL+"/api/v1/recordings/c1/hold", "application/json", bytes.NewBufferString(body))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, post(`{"by":"s01","hold":true}`))
	require.Equal(t, call{"c1", "s01", true}, <-calls)
	require.Equal(t, http.StatusForbidden, post(`{"by":"1001","hold":true}`))
	require.Equal(t, http.StatusBadRequest, post(`{"by":"s01"}`), "hold is required")
	require.Equal(t, http.StatusBadRequest, post(`{"hold":false}`), "by is required")
	require.Equal(t, http.StatusBadRequest, post(`{"by":"s01","hold":"yes"}`))
}
