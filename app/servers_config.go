package app

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"hotline/ari"
)

// ServerConfig is one Asterisk server of the "servers" list. Each server
// is driven by one instance at a time, through its own lease; its agents
// (agents[i].server) ring only for its calls and dial callbacks through
// its trunk.
//
//	servers:
//	  - name: east
//	    ari: {url: http://10.0.0.1:8088/ari}
//	    trunk: PJSIP/%s@trunk-east
type ServerConfig struct {
	// Name identifies the server in agents' server key, the logs, the
	// metrics' server label and its calls' ids: 1 to 20 letters and
	// digits. Its ARI password may come from HOTLINE_ARI_PASSWORD_<NAME>
	// (upper case), or the file HOTLINE_ARI_PASSWORD_<NAME>_FILE names.
	Name string `yaml:"name"`
	// ARI is how to reach the server; every key left out is the top-level
	// ari section's (websocket_url only when url is left out too).
	ARI ari.Config `yaml:"ari"`
	// Trunk is the dial string of an outside number through this server;
	// default dialer.trunk.
	Trunk string `yaml:"trunk"`
	// Lease names the server's lease; default ari.application@host:port of
	// its ari.url. Instances that drive the same server must agree on it.
	Lease string `yaml:"lease"`
	// VoicemailDir is the mailbox of this server's dialplan fallback (as
	// recordings.voicemail_dir, which is the first server's default): the
	// instance that drives the server imports its voice messages.
	VoicemailDir string `yaml:"voicemail_dir"`
}

// DefaultServerName is the name of the one server a config without a
// "servers" list has: its "ari" section.
const DefaultServerName = "default"

// serverNameRE: a server's name starts its calls' ids (ari.Calls.Server),
// where "-" and "_" have meanings of their own.
var serverNameRE = regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`)

// serverPasswordEnv is the variable that holds server name's ARI password.
func serverPasswordEnv(name string) string {
	return EnvARIPassword + "_" + strings.ToUpper(name)
}

// ServerList is the Asterisk servers the service drives: the "servers"
// list, or the "ari" section as the one server "default".
func (c Config) ServerList() []ServerConfig {
	if len(c.Servers) > 0 {
		return c.Servers
	}
	return []ServerConfig{{Name: DefaultServerName, ARI: c.ARI, Trunk: c.Dialer.Trunk, Lease: c.Lease.Name, VoicemailDir: c.Recordings.VoicemailDir}}
}

// setServerDefaults fills each server's unset keys from the top-level ari
// and dialer sections; agents without a server belong to the first.
// Called by SetDefaults before the top-level sections get their defaults,
// so a server inherits only what the file says.
func (c *Config) setServerDefaults() {
	// A copy of a config shares its lists: fill copies of them.
	c.Servers, c.Agents = slices.Clone(c.Servers), slices.Clone(c.Agents)
	for i := range c.Servers {
		s := &c.Servers[i]
		inheritARI(&s.ARI, c.ARI)
		s.ARI.SetDefaults()
		if s.Trunk == "" {
			s.Trunk = c.Dialer.Trunk
		}
		if s.Trunk == "" {
			d := ari.DialerConfig{}
			d.SetDefaults()
			s.Trunk = d.Trunk
		}
		if s.Lease == "" {
			s.Lease = defaultLeaseName(s.ARI)
		}
	}
	first := DefaultServerName
	if len(c.Servers) > 0 {
		first = c.Servers[0].Name
		if c.Servers[0].VoicemailDir == "" {
			c.Servers[0].VoicemailDir = c.Recordings.VoicemailDir
		}
		if c.Lease.Name == "" {
			c.Lease.Name = c.Servers[0].Lease
		}
	}
	for i := range c.Agents {
		if c.Agents[i].Server == "" {
			c.Agents[i].Server = first
		}
	}
}

// inheritARI fills dst's unset keys from base.
func inheritARI(dst *ari.Config, base ari.Config) {
	if dst.URL == "" {
		dst.URL = base.URL
		if dst.WebsocketURL == "" {
			dst.WebsocketURL = base.WebsocketURL
		}
	}
	for _, f := range []struct {
		dst  *string
		base string
	}{
		{&dst.Username, base.Username}, {&dst.Password, base.Password}, {&dst.Application, base.Application},
		{&dst.MessageFrom, base.MessageFrom},
	} {
		if *f.dst == "" {
			*f.dst = f.base
		}
	}
	if dst.ConnectTimeout == 0 {
		dst.ConnectTimeout = base.ConnectTimeout
	}
	if dst.RequestTimeout == 0 {
		dst.RequestTimeout = base.RequestTimeout
	}
	if dst.ReconnectMin == 0 {
		dst.ReconnectMin = base.ReconnectMin
	}
	if dst.ReconnectMax == 0 {
		dst.ReconnectMax = base.ReconnectMax
	}
	if dst.MaxIdleConns == 0 {
		dst.MaxIdleConns = base.MaxIdleConns
	}
}

// validateServers checks the servers list and every agent's server; the
// error names the key.
func (c Config) validateServers() error {
	names := map[string]bool{}
	leases, mailboxes := map[string]string{}, map[string]string{}
	for i, s := range c.Servers {
		key := fmt.Sprintf("servers[%d]", i)
		switch {
		case !serverNameRE.MatchString(s.Name):
			return fmt.Errorf("%s.name: %q must be 1 to 20 letters and digits", key, s.Name)
		case names[s.Name]:
			return fmt.Errorf("%s.name: %q is used twice", key, s.Name)
		}
		names[s.Name] = true
		if err := s.ARI.Validate(); err != nil {
			msg := strings.Replace(err.Error(), "ari.", key+".ari.", 1)
			msg = strings.Replace(msg, "(set HOTLINE_ARI_PASSWORD)", "(set "+serverPasswordEnv(s.Name)+" or HOTLINE_ARI_PASSWORD)", 1)
			return fmt.Errorf("%s", msg)
		}
		d := ari.DialerConfig{Trunk: s.Trunk}
		d.SetDefaults()
		if err := d.Validate(); err != nil {
			return fmt.Errorf("%s.trunk: %s", key, strings.TrimPrefix(err.Error(), "dialer.trunk: "))
		}
		if other, ok := leases[s.Lease]; ok {
			return fmt.Errorf("%s.lease: %q is also server %s's: two servers need two leases (same ari.url and application twice?)", key, s.Lease, other)
		}
		leases[s.Lease] = s.Name
		if other, ok := mailboxes[s.VoicemailDir]; ok && s.VoicemailDir != "" {
			return fmt.Errorf("%s.voicemail_dir: %q is also server %s's", key, s.VoicemailDir, other)
		}
		mailboxes[s.VoicemailDir] = s.Name
	}
	if len(c.Servers) > 0 && c.Lease.Name != c.Servers[0].Lease {
		return fmt.Errorf("lease.name: with a servers list each server names its lease (servers[i].lease); leave lease.name out")
	}
	known := []string{DefaultServerName}
	if len(c.Servers) > 0 {
		known = known[:0]
		for _, s := range c.Servers {
			known = append(known, s.Name)
		}
	}
	for i, a := range c.Agents {
		found := false
		for _, k := range known {
			found = found || a.Server == k
		}
		if !found {
			return fmt.Errorf("agents[%d].server: %q is not a configured server (%s)", i, a.Server, strings.Join(known, ", "))
		}
	}
	return nil
}
