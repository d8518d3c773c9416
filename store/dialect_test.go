package store

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every SQLite migration has its PostgreSQL twin of the same version and
// name, so a database of either kind is at the same version after Migrate.
func TestBothDialectsHaveTheSameMigrations(t *testing.T) {
	t.Parallel()
	names := func(d dialect) []string {
		_, folder := d.goose()
		files, err := fs.Glob(migrationFiles, folder+"/*.sql")
		require.NoError(t, err)
		var out []string
		for _, f := range files {
			out = append(out, path.Base(f))
		}
		return out
	}
	sqlite, postgres := names(sqliteDialect), names(postgresDialect)
	require.NotEmpty(t, sqlite)
	require.Equal(t, sqlite, postgres, "store/migrations/postgres must have a twin of each file of store/migrations")
}

func TestPostgresRewrite(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"placeholders", `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{"numbered placeholders", `SELECT ?2, ?1, ?`, `SELECT $2, $1, $3`},
		{"quoted question marks stay", `SELECT '?', "?" FROM t WHERE a = ?`, `SELECT '?', "?" FROM t WHERE a = $1`},
		{"planner hints go", `SELECT a FROM t INDEXED BY t_by_a WHERE a = ?`, `SELECT a FROM t WHERE a = $1`},
		{"not indexed goes", `UPDATE t NOT INDEXED SET a = 1`, `UPDATE t SET a = 1`},
		{"scalar min and max", `SELECT max(a, min(b, ?)), max(id) FROM t`, `SELECT greatest(a, least(b, $1)), max(id) FROM t`},
		{"id list", `DELETE FROM t WHERE id IN (SELECT value FROM json_each(?))`,
			`DELETE FROM t WHERE id IN (SELECT value::bigint FROM json_array_elements_text($1::json) AS value)`},
		{"upsert sums name the table", `INSERT INTO d (k, n) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = n + excluded.n`,
			`INSERT INTO d (k, n) VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = d.n + excluded.n`},
		{"whole statement", auditSizeSQL, pgStatements[auditSizeSQL]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, strings.TrimSpace(pgRewrite(tt.in)))
		})
	}
}
