package callback

import (
	"fmt"
	"strings"
	"time"

	"hotline"
)

// Config is the "callbacks" section of the service config: the callback
// rules of clause 6.1 (hotline.CallbackPolicy, inline) and how this package
// runs them.
//
//	callbacks:
//	  sla: 30m                 # hotline.CallbackPolicy
//	  max_attempts: 3
//	  retry_backoff: 10m
//	  min_talk: 10s
//	  any_agent_within: 10m
//	  key_prefix: hotline:callbacks
//	  lease: 2m
//	  tick: 1s
//	  reconcile_interval: 5m
//	  poll_interval: 30s
//	  batch_size: 200
//	  due_soon_lead: 10m
//	  responsible_days: 7
type Config struct {
	hotline.CallbackPolicy `yaml:",inline"`

	// KeyPrefix starts every Redis key of this package, so several
	// deployments (or tests) can share one Redis. The keys are
	// "{<prefix>}:due", "{<prefix>}:inflight", "{<prefix>}:built" and
	// "{<prefix>}:pushed:<task id>": the braces make a Redis Cluster keep
	// them in one slot, as the Lua scripts need. Default "hotline:callbacks".
	KeyPrefix string `yaml:"key_prefix"`
	// Lease is how long a claim on a task lasts before another instance may
	// take the task over; a dialer extends it during a long call. Default 2m.
	Lease time.Duration `yaml:"lease"`
	// Tick is how often due tasks are looked for while Redis answers.
	// Default 1s.
	Tick time.Duration `yaml:"tick"`
	// ReconcileInterval is how often the Redis index is rebuilt from
	// SQLite (it also is at start, and at once when the index was lost).
	// Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// PollInterval is how often SQLite is asked for due tasks while Redis
	// is down (the slow SQL poll). Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize bounds how many tasks one round claims, escalates or
	// reminds about, and is the page size of the SQL poll. Default 200.
	BatchSize int `yaml:"batch_size"`
	// DueSoonLead: when this much working time or less is left before a
	// task's deadline, its responsible agent is reminded once. Default 10m.
	DueSoonLead time.Duration `yaml:"due_soon_lead"`
	// ResponsibleDays is how far back an answered call from the same
	// number makes its agent responsible for a new missed call (the same
	// rule as sticky routing). Default 7.
	ResponsibleDays int `yaml:"responsible_days"`
}

// Defaults of Config.
const (
	DefaultKeyPrefix = "hotline:callbacks"
	maxBatchSize     = 1000
)

// SetDefaults fills unset fields, the policy's included.
func (c *Config) SetDefaults() {
	c.CallbackPolicy.SetDefaults()
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.Lease == 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = 5 * time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = 30 * time.Second
	}
	if c.BatchSize == 0 {
		c.BatchSize = 200
	}
	if c.DueSoonLead == 0 {
		c.DueSoonLead = 10 * time.Minute
	}
	if c.ResponsibleDays == 0 {
		c.ResponsibleDays = 7
	}
}

// Validate reports the first bad field, named by its YAML key under "callbacks.".
func (c Config) Validate() error {
	if err := c.CallbackPolicy.Validate(); err != nil {
		return err
	}
	switch {
	case c.KeyPrefix == "":
		return fmt.Errorf("callbacks.key_prefix: must not be empty")
	case strings.ContainsAny(c.KeyPrefix, "{} \t\r\n"):
		return fmt.Errorf("callbacks.key_prefix: %q must not contain braces or white space", c.KeyPrefix)
	case c.Lease < time.Second:
		return fmt.Errorf("callbacks.lease: %s is shorter than 1s", c.Lease)
	case c.Tick < 10*time.Millisecond:
		return fmt.Errorf("callbacks.tick: %s is shorter than 10ms", c.Tick)
	case c.Tick >= c.Lease:
		return fmt.Errorf("callbacks.tick: %s must be shorter than callbacks.lease (%s)", c.Tick, c.Lease)
	case c.ReconcileInterval < time.Second:
		return fmt.Errorf("callbacks.reconcile_interval: %s is shorter than 1s", c.ReconcileInterval)
	case c.PollInterval < c.Tick:
		return fmt.Errorf("callbacks.poll_interval: %s must not be shorter than callbacks.tick (%s)", c.PollInterval, c.Tick)
	case c.BatchSize < 1 || c.BatchSize > maxBatchSize:
		return fmt.Errorf("callbacks.batch_size: %d must be from 1 to %d", c.BatchSize, maxBatchSize)
	case c.DueSoonLead < 0:
		return fmt.Errorf("callbacks.due_soon_lead: must not be negative")
	case c.ResponsibleDays < 0:
		return fmt.Errorf("callbacks.responsible_days: must not be negative")
	}
	return nil
}
