package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"
)

// The schema ships inside the binary, so a deployed service can always bring
// its database up to the version it expects.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// newMigrationProvider builds a goose provider over the embedded migrations
// of dialect d on conn. On SQLite that is the writer's single connection,
// so migrations queue behind the service's own writes instead of racing
// them.
func newMigrationProvider(conn *sql.DB, d dialect, logger *slog.Logger) (*goose.Provider, error) {
	gooseDialect, folder := d.goose()
	files, err := fs.Sub(migrationFiles, folder)
	if err != nil {
		return nil, fmt.Errorf("store: embedded migrations: %w", err)
	}
	provider, err := goose.NewProvider(gooseDialect, conn, files,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger),
		// Migrations may arrive out of number order (00019 after 00022
		// was applied): apply a missing one all the same.
		goose.WithAllowOutofOrder(true),
	)
	if err != nil {
		return nil, fmt.Errorf("store: embedded migrations: %w", err)
	}
	return provider, nil
}

// Migration is one schema version shipped with the binary.
type Migration struct {
	Version   int64     // from the file name, e.g. 1
	Source    string    // the file name, e.g. "00001_initial.sql"
	Applied   bool      // whether the database has it
	AppliedAt time.Time // when it was applied; zero while pending
}

// String reads as one line of `hotline migrate` output.
func (m Migration) String() string {
	if !m.Applied {
		return m.Source + " pending"
	}
	return m.Source + " applied " + m.AppliedAt.UTC().Format(time.RFC3339)
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the versions it applied, oldest first; none when the database is
// already current.
func (db *DB) Migrate(ctx context.Context) ([]int64, error) {
	if db.dialect == postgresDialect {
		// Several instances start on one new database at once: each would
		// apply the same first migration, and all but one fail. They take
		// turns instead; the later ones find the schema current.
		unlock, err := db.lockMigrations(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: migrate %s: %w", db.path, err)
		}
		defer unlock()
	}
	results, err := db.migrations.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate %s: %w", db.path, err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	version, err := db.migrations.GetDBVersion(ctx)
	if err != nil {
		return applied, fmt.Errorf("store: migrate %s: read the version: %w", db.path, err)
	}
	db.logger.Info("database schema is current", "path", db.path, "version", version, "applied", applied)
	return applied, nil
}

// MigrationStatus lists every migration shipped with the binary, oldest
// first, and whether the database has it.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	statuses, err := db.migrations.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status of %s: %w", db.path, err)
	}
	out := make([]Migration, 0, len(statuses))
	for _, s := range statuses {
		out = append(out, Migration{
			Version:   s.Source.Version,
			Source:    filepath.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// migrationLockWait bounds how long Migrate waits for another instance's
// migrations (a fresh schema takes a second or two).
const migrationLockWait = 2 * time.Minute

// lockMigrations takes PostgreSQL's advisory lock of the schema's
// migrations on a connection of its own (goose's Up runs on the
// migrations' one) and returns what releases it. The lock belongs to a
// transaction, so it is released however that connection ends.
func (db *DB) lockMigrations(ctx context.Context) (func(), error) {
	tx, err := db.writer.DB.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lock the migrations: %w", err)
	}
	// Writes nothing: waits as long as migrations may take, not the
	// writer's lock_timeout.
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = `+fmt.Sprint(migrationLockWait.Milliseconds())); err != nil {
		return nil, errors.Join(fmt.Errorf("lock the migrations: %w", err), tx.Rollback())
	}
	// Takes the advisory lock named after the schema (a database may hold
	// several hotline schemas), held until the transaction ends; reads and
	// writes nothing.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('hotline.migrate.' || coalesce(current_schema(), '')))`); err != nil {
		return nil, errors.Join(fmt.Errorf("lock the migrations: wait for another instance's: %w", err), tx.Rollback())
	}
	return func() {
		if err := tx.Rollback(); err != nil {
			db.logger.Warn("migration lock not released; it goes with its connection", "err", err)
		}
	}, nil
}
