package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline/web"
)

type auditFunc func(context.Context) (int64, error)

func (f auditFunc) VerifyAudit(ctx context.Context) (int64, error) { return f(ctx) }

func TestAuditVerifyReportsTheFirstBrokenEntry(t *testing.T) {
	t.Parallel()
	var broken atomic.Int64
	s, err := web.New(web.Config{}, web.Deps{Audit: auditFunc(func(context.Context) (int64, error) { return broken.Load(), nil })}, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	get := func() map[string]any {
		resp, err := http.Get(srv.URL + "/api/v1/audit/verify")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out
	}
	require.Equal(t, map[string]any{"intact": true}, get())
	broken.Store(17)
	require.Equal(t, map[string]any{"intact": false, "broken_at": 17.0}, get())
}
