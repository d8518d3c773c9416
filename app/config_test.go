package app

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestExampleConfigLoadsAndDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	data := readFile(t, "../configs/hotline.example.yaml")
	// The example leaves the password to HOTLINE_ARI_PASSWORD.
	withPassword := strings.Replace(string(data), `password: ""`, `password: "secret"`, 1)
	cfg, err := ParseConfig([]byte(withPassword))
	require.NoError(t, err)
	require.Len(t, cfg.Agents, 6)
	_, err = ParseConfig(data)
	require.ErrorContains(t, err, "ari.password")

	written := writtenKeys(t, data)
	for _, key := range yamlKeys(reflect.TypeOf(Config{}), "") {
		if strings.HasPrefix(key, "agents.") {
			key = strings.Replace(key, "agents.", "agents[0].", 1)
		}
		if strings.HasPrefix(key, "servers.") {
			continue // shown in hotline.servers.example.yaml
		}
		require.Contains(t, written, key, "configs/hotline.example.yaml must show key %s with its default", key)
	}
}

func TestServersExampleLoadsAndDocumentsEveryServerKey(t *testing.T) {
	t.Parallel()
	data := readFile(t, "../configs/hotline.servers.example.yaml")
	withPassword := strings.Replace(string(data), `password: ""`, `password: "secret"`, 1)
	_, err := ParseConfig(data)
	require.ErrorContains(t, err, "servers[0].ari.password", "the example leaves the passwords to the environment")
	_, err = ParseConfig([]byte(withPassword))
	require.ErrorContains(t, err, "servers[1].ari.password", "a server without a password of its own has the ari section's")

	written := writtenKeys(t, data)
	for _, key := range yamlKeys(reflect.TypeOf(Config{}), "") {
		if strings.HasPrefix(key, "servers.") {
			key = strings.Replace(key, "servers.", "servers[0].", 1)
			require.Contains(t, written, key, "configs/hotline.servers.example.yaml must show key %s", key)
		}
	}
}

// writtenKeys are the key paths a YAML file writes, with their lines.
func writtenKeys(t *testing.T, data []byte) map[string]int {
	t.Helper()
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &root))
	return keyLines(&root).byPath
}

func yamlKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			out = append(out, yamlKeys(f.Type, prefix)...)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		out = append(out, key)
		ft := f.Type
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) {
			out = append(out, yamlKeys(ft, key+".")...)
		}
	}
	return out
}

func TestParseConfigErrorsNameKeyAndLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top-level key", "ari:\n  password: x\nbogus: 1\n", []string{"line 3", `unknown key "bogus"`}},
		{"unknown nested key", "ari:\n  password: x\n  pasword: y\n", []string{"line 3", `unknown key "ari.pasword"`}},
		{"bad duration", "ari:\n  password: x\n  connect_timeout: 5 seconds\n", []string{"line 3", `"ari.connect_timeout"`, "duration"}},
		{"bad number", "ari:\n  password: x\n  max_idle_conns: many\n", []string{"line 3", `"ari.max_idle_conns"`, "whole number"}},
		{"number out of range", "ari:\n  password: x\n  max_idle_conns: 500\n", []string{"line 3", "ari.max_idle_conns", "between 1 and 100"}},
		{"bad bool", "ari:\n  password: x\ncalls:\n  record: maybe\n", []string{"line 4", `"calls.record"`, "true or false"}},
		{"ring longer than wait", "ari:\n  password: x\ncalls:\n  ring_timeout: 90s\n  max_wait: 30s\n", []string{"line 5", "calls.max_wait"}},
		{"bad log level", "log:\n  level: loud\nari:\n  password: x\n", []string{"line 2", "log.level"}},
		{"duplicate agent", "ari:\n  password: x\nagents:\n  - {id: a, name: A, endpoint: PJSIP/1}\n  - {id: a, name: B, endpoint: PJSIP/2}\n", []string{"line 5", "agents[1]", "twice"}},
		{"agent without endpoint", "ari:\n  password: x\nagents:\n  - id: a\n    name: A\n", []string{"line 4", "agents[0]", "endpoint"}},
		{"not yaml", "ari: [\n", []string{"line"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig([]byte(tc.yaml))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.NotContains(t, err.Error(), "\n", "one clear line")
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte("ari:\n  password: secret\n"))
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8088/ari", cfg.ARI.URL)
	require.Equal(t, "ws://127.0.0.1:8088/ari/events", cfg.ARI.WebsocketURL)
	require.Equal(t, 15*time.Second, cfg.Calls.RingTimeout)
	require.True(t, *cfg.Calls.Record)
	require.Equal(t, "data/hotline.db", cfg.Store.Path)
	require.Equal(t, "127.0.0.1:8080", cfg.HTTP.Listen)
}

func TestEnvOverridesFile(t *testing.T) { // not parallel: sets the environment
	t.Setenv(EnvARIPassword, "from-env")
	t.Setenv(EnvRedisURL, "redis://127.0.0.1:6390/2")
	cfg, err := ParseConfig([]byte("ari:\n  password: in-file\nredis:\n  url: redis://elsewhere:6379\n"))
	require.NoError(t, err)
	require.Equal(t, "from-env", cfg.ARI.Password)
	require.Equal(t, "redis://127.0.0.1:6390/2", cfg.Redis.URL)
}
