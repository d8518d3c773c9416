package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"hotline/callback"
	"hotline/lease"
)

// LeaseCommand runs `hotline lease status|reset -config FILE`: status
// prints who holds the lease of each configured Asterisk server and the
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
	if what != "status" && what != "reset" {
		return fmt.Errorf("lease: unknown command %q (status or reset)", what)
	}
	// One lease per Asterisk server.
	for _, sc := range cfg.ServerList() {
		lc := cfg.Lease
		lc.Name = sc.Lease
		if err := leaseCommand(ctx, what, lc, rdb, out); err != nil {
			return err
		}
	}
	return nil
}

func leaseCommand(ctx context.Context, what string, cfg lease.Config, rdb redis.UniversalClient, out io.Writer) error {
	if what == "status" {
		h, held, database, err := lease.Read(ctx, cfg, rdb)
		if err != nil {
			return fmt.Errorf("lease %s: %w", cfg.Name, err)
		}
		if !held {
			fmt.Fprintf(out, "lease %s: nobody holds it; database %s\n", cfg.Name, orNone(database))
			return nil
		}
		fmt.Fprintf(out, "lease %s: held by %s (%s) since %s with token %d; database %s\n", cfg.Name, h.Instance, h.Addr,
			h.Since.Format("2006-01-02 15:04:05"), h.Token, orNone(database))
		return nil
	}
	if err := lease.Forget(ctx, cfg, rdb); err != nil {
		return fmt.Errorf("lease %s: %w", cfg.Name, err)
	}
	fmt.Fprintf(out, "lease %s: forgotten; the next instance to start takes it with its database\n", cfg.Name)
	return nil
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
