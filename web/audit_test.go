package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/web"
)

type auditFunc func(context.Context) (int64, error)

func (f auditFunc) VerifyAudit(ctx context.Context) (int64, error) { return f(ctx) }

func (f auditFunc) ListAudit(context.Context, web.AuditFilter) ([]hotline.AuditEntry, error) {
	return []hotline.AuditEntry{{ID: 1, Actor: "1001", Role: "agent", Action: "callback.close", Result: "ok", Detail: "市民 13800138000 已办结"}}, nil
}

func TestAuditVerifyReportsTheFirstBrokenEntry(t *testing.T) {
	t.Parallel()
	var broken atomic.Int64
	s, err := web.New(web.Config{}, testDeps(web.Deps{Audit: auditFunc(func(context.Context) (int64, error) { return broken.Load(), nil })}), nil)
	require.NoError(t, err)
	srv := serveAs(t, s.Handler(), "sup")
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
