// Package app wires the service together: it reads the config file, opens
// every dependency and runs the components (Run), and runs the demo (Demo).
// It is the only package that imports all the others; cmd/hotline stays a
// thin shell around it so tests can call Run directly.
package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"hotline"
	"hotline/ari"
	"hotline/auth"
	"hotline/callback"
	"hotline/lease"
	"hotline/recording"
	"hotline/store"
	"hotline/web"
)

// Config is the whole service configuration: one section per component,
// each with its own defaults and validation. See
// configs/hotline.example.yaml for every key with its default.
type Config struct {
	Log        LogConfig              `yaml:"log"`
	HTTP       web.Config             `yaml:"http"`
	Auth       auth.Config            `yaml:"auth"`
	ARI        ari.Config             `yaml:"ari"`
	Calls      ari.CallConfig         `yaml:"calls"`
	Calendar   hotline.CalendarConfig `yaml:"calendar"`
	Callbacks  callback.Config        `yaml:"callbacks"`
	Dialer     ari.DialerConfig       `yaml:"dialer"`
	Promises   callback.PromiseConfig `yaml:"promises"`
	Recordings recording.Config       `yaml:"recordings"`
	Store      store.Config           `yaml:"store"`
	Redis      callback.RedisConfig   `yaml:"redis"`
	Lease      lease.Config           `yaml:"lease"`
	// Servers lists the Asterisk servers; without it the ari section is
	// the one server, named "default". With it, the ari section holds
	// what the servers share (each leaves out what it does not change).
	Servers []ServerConfig `yaml:"servers"`
	Agents  []AgentConfig  `yaml:"agents"`
}

// LogConfig selects the log output.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json (for log shippers) or text. Default json.
	Format string `yaml:"format"`
}

// AgentConfig declares a staff member; the store keeps their live state.
type AgentConfig struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Endpoint   string   `yaml:"endpoint"` // e.g. PJSIP/1001
	Department string   `yaml:"department"`
	Skills     []string `yaml:"skills"`
	Role       string   `yaml:"role"` // agent (default) or supervisor
	// Server is the Asterisk server the endpoint is registered on (a name
	// in servers); default the first server.
	Server string `yaml:"server"`
}

// Environment variables that override the file, so secrets stay out of it.
// Each may instead name a file holding the secret: the same name with
// _FILE (HOTLINE_ARI_PASSWORD_FILE=/run/credentials/hotline/ari), read
// once at start, surrounding white space trimmed.
const (
	EnvARIPassword = "HOTLINE_ARI_PASSWORD"
	EnvRedisURL    = "HOTLINE_REDIS_URL"
)

// secretFromEnv returns the secret of env (or of the file env_FILE names),
// "" when neither is set. The error names the variable and the file, never
// the secret.
func secretFromEnv(env string) (string, error) {
	v, file := os.Getenv(env), os.Getenv(env+"_FILE")
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("%s and %s_FILE are both set: use one", env, env)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", env, err)
		}
		secret := strings.TrimSpace(string(data))
		if secret == "" {
			return "", fmt.Errorf("%s_FILE: %s is empty", env, file)
		}
		return secret, nil
	}
	return v, nil
}

// SetDefaults fills every unset field of every section.
func (c *Config) SetDefaults() {
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	c.setServerDefaults()
	c.HTTP.SetDefaults()
	c.Auth.SetDefaults()
	c.ARI.SetDefaults()
	c.Calls.SetDefaults()
	c.Calendar.SetDefaults()
	c.Callbacks.SetDefaults()
	c.Dialer.SetDefaults()
	c.Promises.SetDefaults()
	c.Recordings.SetDefaults()
	c.Store.SetDefaults()
	c.Redis.SetDefaults()
	c.Lease.SetDefaults()
	if c.Lease.Name == "" {
		c.Lease.Name = defaultLeaseName(c.ARI)
	}
	for i := range c.Agents {
		if c.Agents[i].Role == "" {
			c.Agents[i].Role = string(hotline.RoleAgent)
		}
	}
}

// defaultLeaseName names the lease after the Asterisk server and the
// application: "hotline@127.0.0.1:8088". Instances that share ari.url and
// ari.application share it.
func defaultLeaseName(c ari.Config) string {
	host := c.URL
	if u, err := url.Parse(c.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	return c.Application + "@" + host
}

// Validate checks every section; the error names the key.
func (c Config) Validate() error {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q must be debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		return fmt.Errorf("log.format: %q must be json or text", c.Log.Format)
	}
	sections := []interface{ Validate() error }{c.HTTP, c.Auth, c.Calls, c.Calendar, c.Callbacks, c.Dialer, c.Promises, c.Recordings, c.Store, c.Redis, c.Lease}
	if len(c.Servers) == 0 {
		// With a servers list the ari section only holds what they share.
		sections = append(sections, c.ARI)
	}
	for _, v := range sections {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	if err := c.validateServers(); err != nil {
		return err
	}
	ids, endpoints := map[string]bool{}, map[string]AgentConfig{}
	for i, a := range c.Agents {
		if err := a.agent().Validate(); err != nil {
			return fmt.Errorf("agents[%d]: %s", i, hotline.MessageOf(err))
		}
		if ids[a.ID] {
			return fmt.Errorf("agents[%d].id: %q is used twice", i, a.ID)
		}
		ids[a.ID] = true
		other, ok := endpoints[a.Endpoint]
		switch {
		case ok && other.Server != a.Server:
			// Each PBX has its own 1001, but agents are known by their
			// endpoint alone (the database keeps it unique).
			return fmt.Errorf("agents[%d].endpoint: %q is also agent %s's, on server %s: an endpoint names one phone across all servers; "+
				"give the phones on server %s endpoint names of their own on that Asterisk (e.g. PJSIP/%s-%s)",
				i, a.Endpoint, other.ID, other.Server, a.Server, a.Server, strings.TrimPrefix(a.Endpoint, "PJSIP/"))
		case ok:
			return fmt.Errorf("agents[%d].endpoint: %q is also agent %s's", i, a.Endpoint, other.ID)
		}
		endpoints[a.Endpoint] = a
	}
	return nil
}

func (a AgentConfig) agent() hotline.Agent {
	return hotline.Agent{ID: a.ID, Name: a.Name, Endpoint: a.Endpoint, Department: a.Department,
		Skills: a.Skills, Role: hotline.Role(a.Role), State: hotline.AgentAvailable}
}

// LoadConfig reads the YAML file at path, applies the environment
// overrides and defaults, and validates. Unknown keys, bad durations and bad
// numbers are errors that name the key and the line.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig is LoadConfig for bytes already read.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, cleanYAMLError(err)
	}
	lines := keyLines(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return Config{}, explainTypeError(te, lines)
		}
		return Config{}, cleanYAMLError(err)
	}
	for _, sec := range []struct {
		env string
		dst *string
	}{{EnvARIPassword, &cfg.ARI.Password}, {EnvRedisURL, &cfg.Redis.URL}} {
		v, err := secretFromEnv(sec.env)
		if err != nil {
			return Config{}, err
		}
		if v != "" {
			*sec.dst = v
		}
	}
	for i := range cfg.Servers {
		v, err := secretFromEnv(serverPasswordEnv(cfg.Servers[i].Name))
		if err != nil {
			return Config{}, err
		}
		if v != "" {
			cfg.Servers[i].ARI.Password = v
		}
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, withLine(err, lines)
	}
	return cfg, nil
}

// keyPaths maps dotted key paths ("ari.connect_timeout", "agents[0].id")
// to their line, and lines back to the path written there.
type keyPaths struct {
	byPath map[string]int
	byLine map[int]string
}

func keyLines(root *yaml.Node) keyPaths {
	kp := keyPaths{byPath: map[string]int{}, byLine: map[int]string{}}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				kp.byPath[p] = k.Line
				kp.byLine[k.Line] = p
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := path + "[" + strconv.Itoa(i) + "]"
				kp.byPath[p] = c.Line
				if _, ok := kp.byLine[c.Line]; !ok {
					kp.byLine[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return kp
}

var (
	lineMsg      = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type`)
	cannotDecode = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
)

func explainTypeError(te *yaml.TypeError, kp keyPaths) error {
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		m := lineMsg.FindStringSubmatch(e)
		if m == nil {
			msgs = append(msgs, e)
			continue
		}
		line, _ := strconv.Atoi(m[1])
		key := kp.byLine[line]
		msg := m[2]
		if u := unknownField.FindStringSubmatch(msg); u != nil {
			msg = fmt.Sprintf("unknown key %q", key)
		} else if c := cannotDecode.FindStringSubmatch(msg); c != nil {
			want := c[3]
			switch {
			case want == "time.Duration":
				want = "a duration such as 5s, 500ms or 1m30s"
			case strings.HasPrefix(want, "int") || strings.HasPrefix(want, "uint"):
				want = "a whole number"
			case want == "bool":
				want = "true or false"
			case strings.HasPrefix(want, "[]"):
				want = "a list"
			case strings.HasPrefix(want, "app.") || strings.Contains(want, "Config"):
				want = "a section of keys"
			}
			msg = fmt.Sprintf("key %q: %q is not %s", key, c[2], want)
		} else if key != "" {
			msg = fmt.Sprintf("key %q: %s", key, msg)
		}
		msgs = append(msgs, fmt.Sprintf("line %d: %s", line, msg))
	}
	return errors.New(strings.Join(msgs, "; "))
}

func cleanYAMLError(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// withLine prefixes a validation error "key.path: …" with the key's line
// when the key is written in the file.
func withLine(err error, kp keyPaths) error {
	msg := err.Error()
	key, _, ok := strings.Cut(msg, ":")
	if !ok {
		return err
	}
	for k := key; k != ""; {
		if line, found := kp.byPath[k]; found {
			return fmt.Errorf("line %d: %w", line, err)
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return err
}
