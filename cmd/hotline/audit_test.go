package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
)

// Editing an audit row in the database makes `hotline audit verify` fail
// at that row.
func TestAuditVerifyFindsTheEditedRow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "h.db")
	cfg := filepath.Join(dir, "hotline.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("ari:\n  password: x\nstore:\n  path: "+dbPath+"\n"), 0o600))

	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: dbPath}, nil)
	require.NoError(t, err)
	_, err = db.Migrate(ctx)
	require.NoError(t, err)
	for i, action := range []string{"recording.listen", "callback.close", "violation.confirmed"} {
		_, err := db.AppendAudit(ctx, hotline.AuditEntry{At: time.Date(2026, 11, 27, 1, i, 0, 0, time.UTC), Actor: "s01", Action: action, Object: "x", Result: "ok"})
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"audit", "verify", "-config", cfg}, &stdout, &stderr), stderr.String())
	require.Equal(t, "audit log intact\n", stdout.String())

	raw, err := sql.Open("sqlite3", dbPath)
	require.NoError(t, err)
	_, err = raw.Exec(`DROP TRIGGER audit_log_no_update`)
	require.NoError(t, err)
	_, err = raw.Exec(`UPDATE audit_log SET result = 'refused' WHERE id = 2`)
	require.NoError(t, err)
	require.NoError(t, raw.Close())

	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 1, run([]string{"audit", "verify", "-config", cfg}, &stdout, &stderr))
	require.Equal(t, "audit log broken at entry 2\n", stdout.String())
	require.True(t, strings.HasPrefix(stderr.String(), "hotline: "), stderr.String())
	require.Contains(t, stderr.String(), "entry 2")

	require.Equal(t, 2, run([]string{"audit"}, &stdout, &stderr), "audit without verify is a usage error")
}
