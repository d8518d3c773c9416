package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommandLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("ari:\n  password: x\n  bogus: 1\n"), 0o600))
	noRedis := filepath.Join(dir, "noredis.yaml")
	require.NoError(t, os.WriteFile(noRedis, []byte("log: {level: error}\nari:\n  url: http://127.0.0.1:1/ari\n  password: x\nredis:\n  url: redis://127.0.0.1:1/0\n  dial_timeout: 200ms\nstore:\n  path: "+filepath.Join(dir, "h.db")+"\n"), 0o600))
	migrate := filepath.Join(dir, "migrate.yaml")
	require.NoError(t, os.WriteFile(migrate, []byte("ari:\n  password: x\nstore:\n  path: "+filepath.Join(dir, "m.db")+"\n"), 0o600))

	cases := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		lastError string // the last line on stderr
	}{
		{"version", []string{"version"}, 0, "hotline dev", ""},
		{"no command", nil, 2, "", "  version                print the version"},
		{"unknown command", []string{"fly"}, 2, "", "  version                print the version"},
		{"bad config", []string{"serve", "-config", bad}, 1, "", `hotline: config ` + bad + `: line 3: unknown key "ari.bogus"`},
		{"missing config", []string{"serve", "-config", filepath.Join(dir, "none.yaml")}, 1, "", "no such file or directory"},
		{"unreachable redis", []string{"serve", "-config", noRedis}, 1, "", "hotline: redis at 127.0.0.1:1 does not answer"},
		{"migrate", []string{"migrate", "-config", migrate}, 0, "is up to date", ""},
		{"bench without what", []string{"bench"}, 2, "", "hotline bench calls"},
		{"bench calls, rate and concurrency", []string{"bench", "calls", "-rate", "5", "-concurrency", "5"}, 1, "", "give -rate or -concurrency, not both"},
		{"bench deadlines, bad size", []string{"bench", "deadlines", "-n", "5", "-fire", "9"}, 1, "", "-fire 9 must be from 1 to -n (5)"},
		{"bench deadlines, small", []string{"bench", "deadlines", "-n", "500", "-dir", dir}, 0, "| rebuild, the slower kind, for 1M rows |", ""},
		{"bench store too small", []string{"bench", "store", "-calls", "10"}, 1, "", "-calls 10 must be from 1,000"},
		{"bench store", []string{"bench", "store", "-calls", "1000", "-per-day", "500", "-runs", "1", "-service-calls", "5",
			"-cache-mib", "8", "-db", filepath.Join(dir, "bench-store.db")}, 0, "| 7.3 report: a year |", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			require.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			require.Contains(t, stdout.String(), tc.stdout)
			require.NotContains(t, stderr.String(), "goroutine ", "no stack traces")
			if tc.lastError != "" {
				lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
				require.Contains(t, lines[len(lines)-1], tc.lastError)
			}
		})
	}
}
