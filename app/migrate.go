package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"

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
	fmt.Fprintf(out, "database %s is up to date\n", cfg.Store.Path)
	for _, s := range status {
		fmt.Fprintf(out, "  %v\n", s)
	}
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
