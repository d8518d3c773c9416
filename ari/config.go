package ari

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config says how to reach Asterisk's REST interface.
type Config struct {
	// URL is the ARI base URL. Default "http://127.0.0.1:8088/ari".
	URL string `yaml:"url"`
	// WebsocketURL is the events URL; derived from URL when empty
	// ("ws://host:port/ari/events").
	WebsocketURL string `yaml:"websocket_url"`
	// Username of the ARI user (ari.conf). Default "hotline".
	Username string `yaml:"username"`
	// Password of the ARI user. Prefer the environment variable
	// HOTLINE_ARI_PASSWORD over writing it in the file.
	Password string `yaml:"password"`
	// Application is the Stasis application name the dialplan sends calls
	// to. Two service instances must not share one name on one Asterisk:
	// the second takes every event from the first. Default "hotline".
	Application string `yaml:"application"`
	// ConnectTimeout bounds one connection attempt (HTTP check and websocket
	// handshake). Default 5s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// RequestTimeout bounds every REST request. Default 10s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts. Defaults 200ms and 10s.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// MaxIdleConns is how many idle HTTP connections to Asterisk are kept
	// for reuse, and the most opened at once (more requests at a time wait
	// for a free one: one opened past the idle pool would be closed after
	// a single request). Asterisk refuses past 100 HTTP sessions, so keep it
	// under that. Default 64.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// MessageFrom is the sender of SIP MESSAGEs pushed to softphones.
	// Default "sip:hotline@localhost".
	MessageFrom string `yaml:"message_from"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.URL == "" {
		c.URL = "http://127.0.0.1:8088/ari"
	}
	if c.Username == "" {
		c.Username = "hotline"
	}
	if c.Application == "" {
		c.Application = "hotline"
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = 200 * time.Millisecond
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = 10 * time.Second
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = 64
	}
	if c.MessageFrom == "" {
		c.MessageFrom = "sip:hotline@localhost"
	}
	if c.WebsocketURL == "" {
		c.WebsocketURL = websocketURLFor(c.URL)
	}
}

func websocketURLFor(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/events"
	return u.String()
}

// Validate reports the first bad field, named by its YAML key under "ari.".
func (c Config) Validate() error {
	for _, f := range []struct{ key, val string }{{"url", c.URL}, {"websocket_url", c.WebsocketURL}} {
		u, err := url.Parse(f.val)
		if err != nil || u.Host == "" {
			return fmt.Errorf("ari.%s: %q is not an absolute URL", f.key, f.val)
		}
	}
	switch {
	case c.Username == "":
		return fmt.Errorf("ari.username: must not be empty")
	case c.Password == "":
		return fmt.Errorf("ari.password: must not be empty (set HOTLINE_ARI_PASSWORD)")
	case c.Application == "" || strings.ContainsAny(c.Application, ",/ "):
		return fmt.Errorf("ari.application: %q must be a plain name", c.Application)
	case c.ConnectTimeout <= 0:
		return fmt.Errorf("ari.connect_timeout: must be positive")
	case c.RequestTimeout <= 0:
		return fmt.Errorf("ari.request_timeout: must be positive")
	case c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin:
		return fmt.Errorf("ari.reconnect_min/reconnect_max: need 0 < min <= max")
	case c.MaxIdleConns < 1 || c.MaxIdleConns > 100:
		return fmt.Errorf("ari.max_idle_conns: %d must be between 1 and 100", c.MaxIdleConns)
	}
	return nil
}
