package store

import (
	"fmt"
	"strings"
	"time"
)

// Config says where the database lives and how long a write waits for a
// lock held by another process.
type Config struct {
	// Path is the database: a postgres:// (or postgresql://) URL for
	// PostgreSQL, e.g. "postgres://hotline@db.example:5432/hotline", with
	// pgx's parameters (sslmode, search_path, …); anything else is the
	// SQLite database file, whose folder is created when missing. A
	// relative path is relative to the working directory. Default
	// "data/hotline.db".
	Path string `yaml:"path"`
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection (e.g. `hotline migrate` run beside the service) before it
	// fails as unavailable (PostgreSQL: lock_timeout). Default 5s.
	BusyTimeout time.Duration `yaml:"busy_timeout"`
	// CacheMiB is the page cache of each SQLite connection (the writer and
	// every reader), in MiB: pages beyond it are read from the operating
	// system's file cache. Default 32; millions of calls write faster
	// with more. PostgreSQL's cache is the server's (shared_buffers).
	CacheMiB int `yaml:"cache_mib"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Path == "" {
		c.Path = "data/hotline.db"
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.CacheMiB == 0 {
		c.CacheMiB = 32
	}
}

// Validate reports the first bad field, named by its YAML key under "store.".
func (c Config) Validate() error {
	if dialectOf(c.Path) == postgresDialect {
		if err := validatePostgresURL(c.Path); err != nil {
			return err
		}
	}
	switch {
	case strings.TrimSpace(c.Path) == "":
		return fmt.Errorf("store.path: must not be empty")
	// The writer and the readers are separate connections: they must share
	// one file, which an in-memory database or a URI with its own mode would
	// break.
	case strings.HasPrefix(c.Path, ":memory:") || strings.HasPrefix(c.Path, "file:"):
		return fmt.Errorf("store.path: %q must be a file path, not an in-memory database or a URI", c.Path)
	case c.BusyTimeout < time.Millisecond:
		return fmt.Errorf("store.busy_timeout: %s must be at least 1ms", c.BusyTimeout)
	case c.CacheMiB < 1 || c.CacheMiB > 64<<10:
		return fmt.Errorf("store.cache_mib: %d must be from 1 to 65536", c.CacheMiB)
	}
	return nil
}
