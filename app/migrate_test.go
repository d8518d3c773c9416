package app

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
	"hotline/store/storetest"
)

// `hotline migrate -from FILE -to URL` moves a SQLite database the service
// wrote into a new PostgreSQL database, says how many rows of each table
// it moved, and that the audit chain verifies there; a second run into
// the same database is refused.
func TestMigrateCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	from := filepath.Join(t.TempDir(), "hotline.db")
	require.ErrorContains(t, MigrateCopy(ctx, from, "data/other.db", &bytes.Buffer{}), "must be a postgres:// URL")
	base := storetest.PostgresURL()
	if base == "" {
		t.Skip("needs PostgreSQL: set " + storetest.EnvPostgres)
	}

	src, err := store.Open(ctx, store.Config{Path: from}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	_, err = src.Migrate(ctx)
	require.NoError(t, err)
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	require.NoError(t, src.UpsertAgent(ctx, hotline.Agent{ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001",
		Role: hotline.RoleAgent, State: hotline.AgentAvailable}))
	for i, id := range []string{"c1", "c2", "c3"} {
		c := hotline.Call{ID: id, CallerNumber: "1380013800" + string(rune('0'+i)), Line: hotline.LineHotline,
			State: hotline.CallRinging, ArrivedAt: now.Add(time.Duration(i) * time.Minute)}
		require.NoError(t, src.CreateCall(ctx, c))
	}
	for range 4 {
		_, err := src.AppendAudit(ctx, hotline.AuditEntry{Actor: "s01", Action: "recording.listen", Object: "c1", Result: "ok"})
		require.NoError(t, err)
	}
	require.NoError(t, src.Close())

	to := storetest.Schema(t, base)
	var out bytes.Buffer
	require.NoError(t, MigrateCopy(ctx, from, to, &out))
	t.Log(out.String())
	require.Regexp(t, `(?m)^  calls +3 rows → +3$`, out.String())
	require.Regexp(t, `(?m)^  agents +1 rows → +1$`, out.String())
	require.Regexp(t, `(?m)^  audit_log +4 rows → +4$`, out.String())
	require.Contains(t, out.String(), "audit chain: 4 entries, verified")
	require.NotContains(t, out.String(), "postgres://postgres:", "no password in the output")

	err = MigrateCopy(ctx, from, to, &bytes.Buffer{})
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
}
