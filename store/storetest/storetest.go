// Package storetest gives tests a database of their own: a SQLite file in
// the test's temporary folder, or, when HOTLINE_TEST_POSTGRES names a
// PostgreSQL database (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), a schema of its
// own in that database, dropped when the test ends.
package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvPostgres is the variable that points the store's tests at PostgreSQL.
const EnvPostgres = "HOTLINE_TEST_POSTGRES"

// PostgresURL is the PostgreSQL database the tests use, "" for SQLite.
func PostgresURL() string { return os.Getenv(EnvPostgres) }

// Path is a store.path for one test: a SQLite file in a fresh folder, or a
// postgres URL whose search_path is a new schema.
func Path(t testing.TB) string {
	t.Helper()
	if base := PostgresURL(); base != "" {
		return Schema(t, base)
	}
	return filepath.Join(t.TempDir(), "data", "hotline.db")
}

// Schema creates an empty schema in the PostgreSQL database at base and
// returns base with search_path set to it; the schema is dropped with
// everything in it when the test ends.
func Schema(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema %s in %s: %v", schema, u.Redacted(), err)
	}
	t.Cleanup(func() {
		// t.Context is done by now: the drop gets its own.
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
