package lease

import (
	"fmt"
	"strings"
	"time"
)

// Config is the "lease" section of the service config: which instance
// drives an Asterisk server.
//
//	lease:
//	  name: hotline@127.0.0.1:8088  # default: ari.application@host:port of ari.url
//	  key_prefix: hotline:lease
//	  ttl: 4s
//	  renew: 1s
type Config struct {
	// Name is what the lease is for: one Asterisk server driven under one
	// application name. Every instance pointed at the same server must use
	// the same name; the default, built from ari.application and the host
	// and port of ari.url, is when they share ari.url.
	Name string `yaml:"name"`
	// KeyPrefix starts the lease's Redis keys: "{<prefix>:<name>}:holder",
	// "…:token" and "…:database" (the braces keep them in one Redis
	// Cluster slot, as the Lua scripts need). Default "hotline:lease".
	KeyPrefix string `yaml:"key_prefix"`
	// TTL is how long the lease lasts in Redis unless renewed: after a
	// holder dies, a standby takes over once TTL has passed (plus at most
	// Renew, and Renew again to let a holder cut off from Redis notice).
	// Default 4s.
	TTL time.Duration `yaml:"ttl"`
	// Renew is how often the holder renews the lease and a standby tries
	// to take it. At most a third of TTL. Default 1s.
	Renew time.Duration `yaml:"renew"`
}

// Defaults.
const (
	DefaultKeyPrefix = "hotline:lease"
	maxNameLen       = 200
)

// SetDefaults fills unset fields but Name, which the service builds from
// its ARI settings.
func (c *Config) SetDefaults() {
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.TTL == 0 {
		c.TTL = 4 * time.Second
	}
	if c.Renew == 0 {
		c.Renew = time.Second
	}
}

// Validate reports the first bad field, named by its YAML key under "lease.".
func (c Config) Validate() error {
	for _, f := range []struct{ key, value string }{{"name", c.Name}, {"key_prefix", c.KeyPrefix}} {
		switch {
		case f.value == "":
			return fmt.Errorf("lease.%s: must not be empty", f.key)
		case len(f.value) > maxNameLen:
			return fmt.Errorf("lease.%s: longer than %d bytes", f.key, maxNameLen)
		case strings.ContainsAny(f.value, "{} \t\r\n"):
			return fmt.Errorf("lease.%s: %q must not contain braces or white space", f.key, f.value)
		}
	}
	switch {
	case c.Renew < 10*time.Millisecond:
		return fmt.Errorf("lease.renew: %s is shorter than 10ms", c.Renew)
	case c.TTL < 3*c.Renew:
		return fmt.Errorf("lease.ttl: %s must be at least three times lease.renew (%s), so a holder renews before it runs out", c.TTL, c.Renew)
	case c.TTL > time.Minute:
		return fmt.Errorf("lease.ttl: %s is longer than 1m: a standby would wait that long after a crash", c.TTL)
	}
	return nil
}
