package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"hotline/callback"
	"hotline/lease"
)

// LeaseCommand runs `hotline lease status|reset -config FILE`: status
// prints who holds the lease of the configured Asterisk server and the
// database it names; reset forgets both in Redis, for an operator who
// replaced the database on purpose, with every instance stopped (an
// instance on another database than the lease's refuses to start).
func LeaseCommand(ctx context.Context, what, cfgPath string, out io.Writer) error {
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	rdb, closeRedis, err := callback.OpenRedis(ctx, cfg.Redis, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer closeRedis()
	switch what {
	case "status":
		h, held, database, err := lease.Read(ctx, cfg.Lease, rdb)
		if err != nil {
			return fmt.Errorf("lease %s: %w", cfg.Lease.Name, err)
		}
		if !held {
			fmt.Fprintf(out, "lease %s: nobody holds it; database %s\n", cfg.Lease.Name, orNone(database))
			return nil
		}
		fmt.Fprintf(out, "lease %s: held by %s (%s) since %s with token %d; database %s\n", cfg.Lease.Name, h.Instance, h.Addr,
			h.Since.Format("2006-01-02 15:04:05"), h.Token, orNone(database))
		return nil
	case "reset":
		if err := lease.Forget(ctx, cfg.Lease, rdb); err != nil {
			return fmt.Errorf("lease %s: %w", cfg.Lease.Name, err)
		}
		fmt.Fprintf(out, "lease %s: forgotten; the next instance to start takes it with its database\n", cfg.Lease.Name)
		return nil
	}
	return fmt.Errorf("lease: unknown command %q (status or reset)", what)
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

// forgetLease forgets cfg's lease in Redis (the demo, which is its only
// instance).
func forgetLease(ctx context.Context, cfg Config) error {
	cfg.SetDefaults()
	rdb, closeRedis, err := callback.OpenRedis(ctx, cfg.Redis, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer closeRedis()
	return lease.Forget(ctx, cfg.Lease, rdb)
}
