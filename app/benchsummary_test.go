package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBenchSummaryWritesTheHeadlineTableIntoTheReadme(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, v any) string {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o644))
		return path
	}
	calls := write("calls.json", CallBench{CPURatioToBaseline: 1.4,
		Service:  &CallRun{PlacedPerSec: 250, CallsPerSecond: 249.5, CPUPerCallMS: 3.5, HeapPerCallKB: 20, AnswerToBridge: Latency{P99: 30}},
		Baseline: &CallRun{CallsPerSecond: 250, CPUPerCallMS: 2.5}})
	deadlines := write("deadlines.json", DeadlineBench{OpenEach: 1_000_000, ClaimsPerSecond: 61_000, EscalationsPerSecond: 20_000,
		Rebuild1MSeconds: 4})
	store := write("store.json", BenchStoreResult{Calls: 10_000_000, Queries: []QueryResult{
		{Name: "call log: caller", P50Ms: 1, P99Ms: 12}, {Name: "7.3 report: a year", P50Ms: 9, P99Ms: 61}}})

	var table strings.Builder
	require.NoError(t, BenchSummary(&table, BenchSummaryOptions{Calls: calls, Deadlines: deadlines, Store: store, Title: "Run now."}))
	got := table.String()
	for _, row := range []string{
		"| calls (250 calls/s offered) | calls completed per second | 249.5 | bare ARI app 250.0 | ≥ 250 | **no** |",
		"| calls | CPU per call | 3.50 ms | 2.50 ms (×1.40) | ≤ 1.5× bare | yes |",
		"| calls | p99 agent answer → both in the bridge | 30.0 ms | 0.0 ms | < 20 ms | **no** |",
		"| deadlines (1M open of each) | due callback tasks claimed | 61000 /s",
		"| deadlines | overdue promises escalated with their violation | 20000 /s (0 per CPU second) | | ≥ 50,000 /s | **no** |",
		"| deadlines | rebuild of the Redis index, for 1M rows | 4.00 s | | < 10 s | yes |",
		"| store (10,000,000 calls) | slowest console query's p99 (7.3 report: a year) | 61.0 ms | p50 9.0 ms | < 50 ms (on 10M) | **no** |",
		"| store | query plans reading all of calls or call_legs | 0 of 2 queries | | none | yes |",
	} {
		require.Contains(t, got, row)
	}
	require.True(t, strings.HasPrefix(got, "Run now.\n\n| benchmark |"))

	readme := filepath.Join(dir, "README.md")
	require.NoError(t, os.WriteFile(readme, []byte("# x\n\n"+SummaryBegin+"\nold table\n"+SummaryEnd+"\n\nrest\n"), 0o644))
	require.NoError(t, ReplaceSummary(readme, got))
	require.NoError(t, ReplaceSummary(readme, got), "the markers stay for the next run")
	data, err := os.ReadFile(readme)
	require.NoError(t, err)
	require.Equal(t, "# x\n\n"+SummaryBegin+"\n\n"+strings.TrimSpace(got)+"\n\n"+SummaryEnd+"\n\nrest\n", string(data))

	require.ErrorContains(t, ReplaceSummary(calls, got), "has no")
}
