package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	var c Config
	c.SetDefaults()
	require.Equal(t, Config{Path: "data/hotline.db", BusyTimeout: 5 * time.Second, CacheMiB: 32}, c)
	require.NoError(t, c.Validate())
}

func TestConfigFromYAML(t *testing.T) {
	t.Parallel()
	var c Config
	require.NoError(t, yaml.Unmarshal([]byte("path: /var/lib/hotline/hotline.db\nbusy_timeout: 2s\ncache_mib: 256\n"), &c))
	c.SetDefaults()
	require.Equal(t, Config{Path: "/var/lib/hotline/hotline.db", BusyTimeout: 2 * time.Second, CacheMiB: 256}, c)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  Config
		wantErr string // "" for valid
	}{
		{"valid", Config{Path: "x.db", BusyTimeout: time.Second, CacheMiB: 1}, ""},
		{"empty path", Config{Path: "", BusyTimeout: time.Second, CacheMiB: 1}, "store.path: must not be empty"},
		{"in-memory", Config{Path: ":memory:", BusyTimeout: time.Second, CacheMiB: 1}, "store.path:"},
		{"URI", Config{Path: "file:x.db?mode=ro", BusyTimeout: time.Second, CacheMiB: 1}, "store.path:"},
		{"no busy timeout", Config{Path: "x.db", CacheMiB: 1}, "store.busy_timeout:"},
		{"negative busy timeout", Config{Path: "x.db", BusyTimeout: -time.Second, CacheMiB: 1}, "store.busy_timeout:"},
		{"no cache", Config{Path: "x.db", BusyTimeout: time.Second}, "store.cache_mib:"},
		{"a cache beyond 64 GiB", Config{Path: "x.db", BusyTimeout: time.Second, CacheMiB: 64<<10 + 1}, "store.cache_mib:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.config.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
