package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
)

// The store benchmark at a small size: every query runs with a plan that
// reads no whole table, the JSON and the Markdown table are written, the
// generated report adds up to the call log, and a second run reuses the
// file.
func TestBenchStoreSmall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	opts := BenchStoreOptions{Calls: 3000, PerDay: 1000, Runs: 3, ServiceCalls: 20, CacheMiB: 8,
		Path: filepath.Join(dir, "bench.db"), JSONPath: filepath.Join(dir, "bench.json")}
	var out bytes.Buffer
	opts.Out = &out
	res, err := BenchStore(ctx, opts)
	require.NoError(t, err, out.String())

	require.Equal(t, 3000, res.Calls)
	require.Equal(t, 3, res.Days)
	require.Greater(t, res.InsertCallsPerSecond, 0.0)
	require.Greater(t, res.ServiceCallsPerSecond, 0.0)
	require.Len(t, res.Queries, 12)
	for _, q := range res.Queries {
		require.NotEmpty(t, q.Plan, q.Name)
		require.Empty(t, q.FullScans, q.Name)
		require.Equal(t, 3, q.Runs)
		searched := false
		for _, step := range q.Plan {
			searched = searched || strings.HasPrefix(step, "SEARCH")
		}
		require.True(t, searched, "%s reads through an index: %q", q.Name, q.Plan)
	}
	require.Contains(t, out.String(), "| query | p50 ms | p99 ms | max ms | rows | p99 < 50 ms | full scan |")
	require.Contains(t, out.String(), "| 7.3 report: a year |")
	raw, err := os.ReadFile(opts.JSONPath)
	require.NoError(t, err)
	var fromJSON BenchStoreResult
	require.NoError(t, json.Unmarshal(raw, &fromJSON))
	require.Equal(t, res.Queries[0].Name, fromJSON.Queries[0].Name)

	// The generated data: the report's answered calls add up to the call
	// log's, and every kind of fact is there.
	db, err := store.Open(ctx, store.Config{Path: opts.Path}, nil)
	require.NoError(t, err)
	defer db.Close()
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows, err := db.AgentReports(ctx, store.ReportFilter{From: since, End: since.AddDate(1, 0, 0)})
	require.NoError(t, err)
	var total hotline.AgentReport
	for _, r := range rows {
		total.Add(r)
	}
	counts, err := db.CallCounts(ctx, since)
	require.NoError(t, err)
	require.Equal(t, counts.Answered, total.Answered)
	require.Equal(t, 3000+opts.ServiceCalls, counts.Total)
	for _, n := range []int{total.Offered, total.Missed, total.Rated(), total.CallbacksDue, total.CallbacksOnTime,
		total.PromisesDue, total.ViolationsConfirmed, total.Reviews} {
		require.Positive(t, n, "%+v", total)
	}

	// An existing file is refused, unless reused.
	_, err = BenchStore(ctx, opts)
	require.ErrorContains(t, err, "exists")
	// A reused file is queried over what it holds, whatever -calls says
	// (a generation stopped early holds fewer).
	opts.Reuse, opts.JSONPath, opts.Out, opts.Calls = true, "", nil, 10_000
	again, err := BenchStore(ctx, opts)
	require.NoError(t, err)
	require.False(t, again.Generated)
	require.Len(t, again.Queries, 12)
	require.Equal(t, 3000+opts.ServiceCalls, again.Calls)
	require.Equal(t, 3, again.Days)
}
