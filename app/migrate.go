package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"hotline/recording"
	"hotline/store"
)

// Migrate brings the database named in the config file up to date and
// prints the applied versions.
func Migrate(ctx context.Context, cfgPath string, out io.Writer) error {
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Store, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "database %s is up to date\n", db.Where())
	for _, s := range status {
		fmt.Fprintf(out, "  %v\n", s)
	}
	return nil
}

// MigrateCopy moves the rows of the SQLite database at from into the new
// PostgreSQL database at to (a postgres:// URL), bringing both to the
// binary's schema first, and prints the rows of each table in both and the
// audit chain's check. A target that holds rows already is refused.
func MigrateCopy(ctx context.Context, from, to string, out io.Writer) error {
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		return fmt.Errorf("migrate: -to must be a postgres:// URL, not %q", to)
	}
	if strings.HasPrefix(from, "postgres://") || strings.HasPrefix(from, "postgresql://") {
		return fmt.Errorf("migrate: -from must be a SQLite file")
	}
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("migrate: -from %s: %w", from, err)
	}
	quiet := slog.New(slog.DiscardHandler)
	src, err := store.Open(ctx, store.Config{Path: from}, quiet)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.Open(ctx, store.Config{Path: to}, quiet)
	if err != nil {
		return err
	}
	defer dst.Close()
	report, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "copied %s into %s\n", from, dst.Where())
	store.PrintCopyReport(out, report)
	return nil
}

// VerifyAudit checks the hash chain of the audit log in the database named
// in the config file; an altered or removed entry is an error naming it.
func VerifyAudit(ctx context.Context, cfgPath string, out io.Writer) error {
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Store, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = recording.VerifyAudit(ctx, db, out)
	return err
}
