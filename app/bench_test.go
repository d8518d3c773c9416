package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A small run of `hotline bench deadlines` measures every stage, fires
// every due item, and writes the table and the JSON.
func TestBenchDeadlinesSmall(t *testing.T) {
	t.Parallel()
	var out, progress bytes.Buffer
	jsonPath := filepath.Join(t.TempDir(), "deadlines.json")
	res, err := BenchDeadlines(t.Context(), DeadlineBenchOptions{N: 3000, Fire: 1000, Dir: t.TempDir(), JSONPath: jsonPath,
		Out: &out, Progress: &progress})
	require.NoError(t, err, "progress:\n%s", progress.String())
	require.Equal(t, 3000, res.OpenEach)
	require.Equal(t, 1000, res.Fired)
	for name, v := range map[string]float64{"rebuild tasks": res.RebuildTasksSeconds, "rebuild promises": res.RebuildPromisesSeconds,
		"claims": res.ClaimsPerSecond, "escalations": res.EscalationsPerSecond, "pop": res.PopPerSecond} {
		require.Positive(t, v, name)
	}
	table := out.String()
	for _, want := range []string{"| measure | result | target | holds |", "rebuild, the slower kind, for 1M rows",
		"due tasks claimed in SQL", "overdue promises escalated", "due ids popped from the Redis index alone"} {
		require.Contains(t, table, want)
	}
	if os.Getenv("REDIS_URL") == "" {
		require.Contains(t, res.RedisBenchmarkNote, "redis-benchmark")
	}
	data, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	var fromJSON DeadlineBench
	require.NoError(t, json.Unmarshal(data, &fromJSON))
	require.Equal(t, res.ClaimsPerSecond, fromJSON.ClaimsPerSecond)

	_, err = BenchDeadlines(t.Context(), DeadlineBenchOptions{N: 10, Fire: 11})
	require.ErrorContains(t, err, "-fire 11 must be from 1 to -n (10)")
}
