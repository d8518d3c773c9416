package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The headline table of the benchmarks: the figures DESIGN.md sets
// targets for, from the JSON results of `hotline bench calls`, `bench
// deadlines` and `bench store`, each beside its target and whether it
// holds. scripts/bench.sh writes it into README.md between the markers.

// Markers around the headline table in README.md.
const (
	SummaryBegin = "<!-- bench-summary:begin (scripts/bench.sh writes what follows) -->"
	SummaryEnd   = "<!-- bench-summary:end -->"
)

// BenchSummaryOptions name the results to summarise; an empty path leaves
// its rows out.
type BenchSummaryOptions struct {
	Calls, Deadlines, Store string // JSON files
	Title                   string // a line above the table: when and where it was measured
}

// BenchSummary writes the headline table of the results opts names.
func BenchSummary(w io.Writer, opts BenchSummaryOptions) error {
	var calls CallBench
	var deadlines DeadlineBench
	var st BenchStoreResult
	for _, f := range []struct {
		path string
		into any
	}{{opts.Calls, &calls}, {opts.Deadlines, &deadlines}, {opts.Store, &st}} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("bench summary: %w", err)
		}
		if err := json.Unmarshal(data, f.into); err != nil {
			return fmt.Errorf("bench summary: %s: %w", f.path, err)
		}
	}
	holds := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	if opts.Title != "" {
		fmt.Fprintf(w, "%s\n\n", opts.Title)
	}
	fmt.Fprintln(w, "| benchmark | measure | result | baseline in the same run | target | holds |")
	fmt.Fprintln(w, "|---|---|---:|---|---|:-:|")
	if opts.Calls != "" {
		s, b := calls.Service, calls.Baseline
		if s == nil {
			s = &CallRun{}
		}
		if b == nil {
			b = &CallRun{}
		}
		load := fmt.Sprintf("%.0f calls/s offered", s.PlacedPerSec)
		fmt.Fprintf(w, "| calls (%s) | calls completed per second | %.1f | bare ARI app %.1f | ≥ 250 | %s |\n",
			load, s.CallsPerSecond, b.CallsPerSecond, holds(s.CallsPerSecond >= 250))
		fmt.Fprintf(w, "| calls | CPU per call | %.2f ms | %.2f ms (×%.2f) | ≤ 1.5× bare | %s |\n",
			s.CPUPerCallMS, b.CPUPerCallMS, calls.CPURatioToBaseline, holds(calls.CPURatioToBaseline > 0 && calls.CPURatioToBaseline <= 1.5))
		fmt.Fprintf(w, "| calls | p99 agent answer → both in the bridge | %.1f ms | %.1f ms | < 20 ms | %s |\n",
			s.AnswerToBridge.P99, b.AnswerToBridge.P99, holds(s.AnswerToBridge.P99 < 20))
		fmt.Fprintf(w, "| calls | heap per concurrent call | %.1f KB | %.1f KB | < 100 KB | %s |\n",
			s.HeapPerCallKB, b.HeapPerCallKB, holds(s.HeapPerCallKB < 100))
		fmt.Fprintf(w, "| calls | new ARI connections per 1,000 requests, steady state | %.2f | %.2f | ≤ 1 | %s |\n",
			s.ConnsPer1000, b.ConnsPer1000, holds(s.ConnsPer1000 <= 1))
		fmt.Fprintf(w, "| calls | events dropped / errors | %d / %d | %d / %d | 0 | %s |\n",
			s.DroppedEvents, s.ErrorsTotal, b.DroppedEvents, b.ErrorsTotal, holds(s.DroppedEvents == 0 && s.ErrorsTotal == 0))
	}
	if opts.Deadlines != "" {
		d := deadlines
		n := humanCount(d.OpenEach)
		base := fmt.Sprintf("Redis pop alone %.0f /s", d.PopPerSecond)
		if rps, ok := d.RedisBenchmark["ZADD"]; ok {
			base += fmt.Sprintf("; redis-benchmark ZADD %.0f /s", rps)
		}
		fmt.Fprintf(w, "| deadlines (%s open of each) | due callback tasks claimed | %.0f /s (%.0f per CPU second) | %s | ≥ 50,000 /s | %s |\n",
			n, d.ClaimsPerSecond, d.ClaimsPerCPUSecond, base, holds(d.ClaimsPerSecond >= benchFireTarget))
		fmt.Fprintf(w, "| deadlines | overdue promises escalated with their violation | %.0f /s (%.0f per CPU second) | | ≥ 50,000 /s | %s |\n",
			d.EscalationsPerSecond, d.EscalationsPerCPUSecond, holds(d.EscalationsPerSecond >= benchFireTarget))
		projected := ""
		if d.OpenEach != 1_000_000 {
			projected = " (projected from " + n + ")"
		}
		fmt.Fprintf(w, "| deadlines | rebuild of the Redis index, for 1M rows%s | %.2f s | | < 10 s | %s |\n",
			projected, d.Rebuild1MSeconds, holds(d.Rebuild1MSeconds < benchRebuildTarget))
	}
	if opts.Store != "" {
		worst := QueryResult{}
		scans := 0
		for _, q := range st.Queries {
			if q.P99Ms >= worst.P99Ms {
				worst = q
			}
			scans += len(q.FullScans)
		}
		calls := thousands(st.Calls)
		fmt.Fprintf(w, "| store (%s calls) | slowest console query's p99 (%s) | %.1f ms | p50 %.1f ms | < 50 ms (on 10M) | %s |\n",
			calls, worst.Name, worst.P99Ms, worst.P50Ms, holds(worst.P99Ms < ms(benchTargetP99)))
		fmt.Fprintf(w, "| store | query plans reading all of calls or call_legs | %d of %d queries | | none | %s |\n",
			scans, len(st.Queries), holds(scans == 0))
		if st.Generated {
			fmt.Fprintf(w, "| store | call rows written: as the service does / generated in bulk | %s / %s calls/s | | | |\n",
				thousands(int(st.ServiceCallsPerSecond)), thousands(int(st.InsertCallsPerSecond)))
		}
	}
	return nil
}

// ReplaceSummary puts table between the markers of the file at path.
func ReplaceSummary(path, table string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("bench summary: %w", err)
	}
	begin := bytes.Index(data, []byte(SummaryBegin))
	end := bytes.Index(data, []byte(SummaryEnd))
	if begin < 0 || end < begin {
		return errors.New("bench summary: " + path + " has no " + SummaryBegin + " … " + SummaryEnd)
	}
	var out bytes.Buffer
	out.Write(data[:begin+len(SummaryBegin)])
	out.WriteString("\n\n" + strings.TrimSpace(table) + "\n\n")
	out.Write(data[end:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}
