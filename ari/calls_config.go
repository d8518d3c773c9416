package ari

import (
	"fmt"
	"time"
)

// CallConfig shapes how inbound calls are handled.
type CallConfig struct {
	// RingTimeout is how long one agent's phone rings before the next agent
	// is tried. Default 15s.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// MaxWait is how long a citizen waits for an agent before the call is
	// missed (reason no_answer) and queued for a callback. Default 60s.
	MaxWait time.Duration `yaml:"max_wait"`
	// WrapUp is how long an agent stays in wrap-up after a call before being
	// rung again. Default 10s.
	WrapUp time.Duration `yaml:"wrap_up"`
	// Record says whether every call's bridge is recorded (clause 7.1.3
	// requires it; switch off only for load tests). Default true.
	Record *bool `yaml:"record"`
	// MOHClass is the music-on-hold class played while agents ring; "" is
	// Asterisk's default class.
	MOHClass string `yaml:"moh_class"`
}

// SetDefaults fills unset fields.
func (c *CallConfig) SetDefaults() {
	if c.RingTimeout == 0 {
		c.RingTimeout = 15 * time.Second
	}
	if c.MaxWait == 0 {
		c.MaxWait = 60 * time.Second
	}
	if c.WrapUp == 0 {
		c.WrapUp = 10 * time.Second
	}
	if c.Record == nil {
		on := true
		c.Record = &on
	}
}

// Validate reports the first bad field, named by its YAML key under "calls.".
func (c CallConfig) Validate() error {
	switch {
	case c.RingTimeout < 100*time.Millisecond:
		return fmt.Errorf("calls.ring_timeout: %s is shorter than 100ms", c.RingTimeout)
	case c.MaxWait < c.RingTimeout:
		return fmt.Errorf("calls.max_wait: %s must not be shorter than calls.ring_timeout (%s)", c.MaxWait, c.RingTimeout)
	case c.WrapUp < 0:
		return fmt.Errorf("calls.wrap_up: must not be negative")
	}
	return nil
}
