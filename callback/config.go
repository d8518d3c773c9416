package callback

import (
	"fmt"
	"strings"
	"time"

	"hotline"
)

// EngineConfig is how a deadline engine runs: the part of the "callbacks"
// and "promises" sections they share (inline in each).
type EngineConfig struct {
	// KeyPrefix starts every Redis key of the engine, so several
	// deployments (or tests) can share one Redis; the callbacks' and the
	// promises' must differ. The keys are "{<prefix>}:deadline:due",
	// "…:inflight" and "…:built" (the deadline index), and for callbacks
	// "{<prefix>}:work:due", "…:inflight" and "…:built" (the dial queue):
	// the braces keep them in one Redis Cluster slot, as the Lua scripts
	// need. Default "hotline:callbacks" and "hotline:promises".
	KeyPrefix string `yaml:"key_prefix"`
	// Tick is how often due work is looked for while Redis answers; a round
	// that found a full batch runs again at once. Default 1s.
	Tick time.Duration `yaml:"tick"`
	// ReconcileInterval is how often the Redis index is rebuilt from
	// SQLite (it also is at start, at once when the index was lost, and
	// when Redis answers again). Default 5m.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// PollInterval is how often SQLite is asked for due work while Redis
	// is down (the slow SQL poll). Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize bounds how many index entries one round takes, and is the
	// page size of the SQL poll. Default 200.
	BatchSize int `yaml:"batch_size"`
}

// Defaults of the configs.
const (
	DefaultKeyPrefix        = "hotline:callbacks"
	DefaultPromiseKeyPrefix = "hotline:promises"
	maxBatchSize            = 1000
)

func (c *EngineConfig) setDefaults(prefix string) {
	if c.KeyPrefix == "" {
		c.KeyPrefix = prefix
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
}

// validate reports the first bad field, named by its YAML key under section.
func (c EngineConfig) validate(section string) error {
	switch {
	case c.KeyPrefix == "":
		return fmt.Errorf("%s.key_prefix: must not be empty", section)
	case strings.ContainsAny(c.KeyPrefix, "{} \t\r\n"):
		return fmt.Errorf("%s.key_prefix: %q must not contain braces or white space", section, c.KeyPrefix)
	case c.Tick < 10*time.Millisecond:
		return fmt.Errorf("%s.tick: %s is shorter than 10ms", section, c.Tick)
	case c.ReconcileInterval < time.Second:
		return fmt.Errorf("%s.reconcile_interval: %s is shorter than 1s", section, c.ReconcileInterval)
	case c.PollInterval < c.Tick:
		return fmt.Errorf("%s.poll_interval: %s must not be shorter than %s.tick (%s)", section, c.PollInterval, section, c.Tick)
	case c.BatchSize < 1 || c.BatchSize > maxBatchSize:
		return fmt.Errorf("%s.batch_size: %d must be from 1 to %d", section, c.BatchSize, maxBatchSize)
	}
	return nil
}

// Config is the "callbacks" section of the service config: the callback
// rules of clause 6.1 (hotline.CallbackPolicy, inline) and how this package
// runs them (EngineConfig, inline).
//
//	callbacks:
//	  sla: 30m                 # hotline.CallbackPolicy
//	  max_attempts: 3
//	  retry_backoff: 10m
//	  min_talk: 10s
//	  any_agent_within: 10m
//	  agent_tries: 2
//	  due_soon_lead: 10m
//	  responsible_days: 7
//	  key_prefix: hotline:callbacks   # EngineConfig
//	  lease: 2m
//	  tick: 1s
//	  reconcile_interval: 5m
//	  poll_interval: 30s
//	  batch_size: 200
type Config struct {
	hotline.CallbackPolicy `yaml:",inline"`
	EngineConfig           `yaml:",inline"`

	// Lease is how long a claim on a task lasts before another instance may
	// take the task over; a dialer extends it during a long call. A task
	// whose dialer died mid-dial is settled once its lease has run out.
	// Default 2m.
	Lease time.Duration `yaml:"lease"`
	// DueSoonLead: when this much working time is left before a task's
	// deadline, its responsible agent (the supervisors, while it has none)
	// is reminded once. Default 10m.
	DueSoonLead time.Duration `yaml:"due_soon_lead"`
	// ResponsibleDays is how far back an answered call from the same
	// number makes its agent responsible for a new missed call (the same
	// rule as sticky routing). Default 7.
	ResponsibleDays int `yaml:"responsible_days"`
}

// SetDefaults fills unset fields, the policy's included.
func (c *Config) SetDefaults() {
	c.CallbackPolicy.SetDefaults()
	c.setDefaults(DefaultKeyPrefix)
	if c.Lease == 0 {
		c.Lease = 2 * time.Minute
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
	if err := c.validate("callbacks"); err != nil {
		return err
	}
	switch {
	case c.Lease < time.Second:
		return fmt.Errorf("callbacks.lease: %s is shorter than 1s", c.Lease)
	case c.Tick >= c.Lease:
		return fmt.Errorf("callbacks.tick: %s must be shorter than callbacks.lease (%s)", c.Tick, c.Lease)
	case c.DueSoonLead < 0:
		return fmt.Errorf("callbacks.due_soon_lead: must not be negative")
	case c.ResponsibleDays < 0:
		return fmt.Errorf("callbacks.responsible_days: must not be negative")
	}
	return nil
}

// leads are the reminder lead times of a task's deadline.
func (c Config) leads() []time.Duration { return []time.Duration{c.DueSoonLead} }

// PromiseConfig is the "promises" section of the service config: the
// promised-reply rules of clause 6.2 (hotline.PromisePolicy, inline) and
// how PromiseWatch runs them (EngineConfig, inline).
//
//	promises:
//	  reminder_leads: [1h, 10m]  # hotline.PromisePolicy
//	  key_prefix: hotline:promises
//	  tick: 1s
//	  reconcile_interval: 5m
//	  poll_interval: 30s
//	  batch_size: 200
type PromiseConfig struct {
	hotline.PromisePolicy `yaml:",inline"`
	EngineConfig          `yaml:",inline"`
}

// MaxReminderLeads is how many reminder lead times a promise may have.
const MaxReminderLeads = 7

// SetDefaults fills unset fields, the policy's included.
func (c *PromiseConfig) SetDefaults() {
	c.PromisePolicy.SetDefaults()
	c.setDefaults(DefaultPromiseKeyPrefix)
}

// Validate reports the first bad field, named by its YAML key under "promises.".
func (c PromiseConfig) Validate() error {
	if err := c.PromisePolicy.Validate(); err != nil {
		return err
	}
	if len(c.ReminderLeads) > MaxReminderLeads {
		return fmt.Errorf("promises.reminder_leads: %d lead times, at most %d", len(c.ReminderLeads), MaxReminderLeads)
	}
	return c.validate("promises")
}
