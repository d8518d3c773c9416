package app

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"hotline"
	"hotline/callback"
	"hotline/store"
)

// DeadlineBenchOptions shape `hotline bench deadlines`.
type DeadlineBenchOptions struct {
	// N is how many open callback tasks and how many unfinished promises
	// the database and the Redis index hold. Default 1,000,000.
	N int
	// Fire is how many of each become due and are fired, the others
	// staying open around them. Default min(N, 100,000).
	Fire int
	// RedisURL is the Redis to measure on; "" takes $REDIS_URL, and without
	// it an embedded Redis (slow, and redis-benchmark cannot run).
	RedisURL string
	// Dir holds the SQLite file; "" is a temporary folder removed after.
	Dir string
	// JSONPath, when set, gets the result as JSON.
	JSONPath string
	// CPUProfile, when set, gets a CPU profile of each firing phase:
	// CPUProfile + ".claims" and CPUProfile + ".escalations" (go tool pprof).
	CPUProfile string
	// Out gets the Markdown table, Progress a line now and then.
	Out, Progress io.Writer
}

// DeadlineBench is what `hotline bench deadlines` measured.
type DeadlineBench struct {
	Machine string `json:"machine"`
	Redis   string `json:"redis"`
	// OpenEach is how many open tasks and how many unfinished promises
	// there were; Fired how many of each were due and fired.
	OpenEach int `json:"open_each"`
	Fired    int `json:"fired_each"`
	// SeedSeconds: writing both to SQLite.
	SeedSeconds float64 `json:"seed_seconds"`
	// The rebuild of each index from SQLite into an empty Redis (as after
	// Redis came back empty), and the time projected for 1M rows.
	RebuildTasksSeconds    float64 `json:"rebuild_tasks_seconds"`
	RebuildPromisesSeconds float64 `json:"rebuild_promises_seconds"`
	Rebuild1MSeconds       float64 `json:"rebuild_1m_rows_seconds"`
	// Firing: due callback tasks claimed in SQL and handed to the dialer,
	// overdue promises escalated with their violation, per second, one
	// kind at a time; PopPerSecond is the Redis pop alone.
	ClaimsPerSecond      float64 `json:"claims_per_second"`
	EscalationsPerSecond float64 `json:"escalations_per_second"`
	PopPerSecond         float64 `json:"pop_per_second"`
	// The same per CPU second this process spent firing (the engine, its
	// SQLite and its Redis client; Redis's own CPU not included): what one
	// core of its own would fire, whatever else runs on the machine.
	ClaimsPerCPUSecond      float64 `json:"claims_per_cpu_second"`
	EscalationsPerCPUSecond float64 `json:"escalations_per_cpu_second"`
	// Items per second inside the store's write transactions alone (the
	// claims' and the escalations' statements, from the call to the
	// commit, hotline_store_write_seconds): what the single writer
	// reaches with these statements.
	ClaimsPerWriteSecond      float64 `json:"claims_per_store_write_second"`
	EscalationsPerWriteSecond float64 `json:"escalations_per_store_write_second"`
	// RedisBenchmark is redis-benchmark on the same Redis, requests per
	// second by command; RedisBenchmarkNote says why it did not run.
	RedisBenchmark     map[string]float64 `json:"redis_benchmark_rps,omitempty"`
	RedisBenchmarkNote string             `json:"redis_benchmark_note,omitempty"`
}

// Targets of DESIGN.md.
const (
	benchFireTarget    = 50_000.0 // due items fired per second with 1M open
	benchRebuildTarget = 10.0     // seconds to rebuild the index from 1M rows
)

// BenchDeadlines measures the deadline engine: n open callback tasks and n
// unfinished promises in SQLite and the Redis index; the rebuild of each
// index from SQLite into an empty Redis; the firing of the due ones (task
// claims and promise escalations); the Redis pop alone; and, when it is
// installed and a real Redis is used, redis-benchmark ZADD and
// ZRANGEBYSCORE on the same Redis. It prints a Markdown table to
// opts.Out.
func BenchDeadlines(ctx context.Context, opts DeadlineBenchOptions) (DeadlineBench, error) {
	if opts.N == 0 {
		opts.N = 1_000_000
	}
	if opts.Fire == 0 {
		opts.Fire = min(opts.N, 100_000)
	}
	if opts.RedisURL == "" {
		opts.RedisURL = os.Getenv("REDIS_URL")
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	switch {
	case opts.N < 1:
		return DeadlineBench{}, fmt.Errorf("bench deadlines: -n %d must be positive", opts.N)
	case opts.Fire < 1 || opts.Fire > opts.N:
		return DeadlineBench{}, fmt.Errorf("bench deadlines: -fire %d must be from 1 to -n (%d)", opts.Fire, opts.N)
	}
	res := DeadlineBench{Machine: machine(), OpenEach: opts.N, Fired: opts.Fire}
	progress := func(format string, args ...any) {
		fmt.Fprintf(opts.Progress, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}

	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hotline-bench-")
		if err != nil {
			return res, fmt.Errorf("bench deadlines: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	quiet := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "bench.db")}, quiet, store.WithRegistry(reg))
	if err != nil {
		return res, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return res, err
	}
	// Row i of each kind is due at start + i seconds: at start + Fire
	// seconds the first Fire of each are due, the others later.
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	progress("writing %d open callback tasks and %d unfinished promises to SQLite", opts.N, opts.N)
	t0 := time.Now()
	if err := db.SeedBenchMatters(ctx, opts.N, start, time.Second); err != nil {
		return res, err
	}
	res.SeedSeconds = time.Since(t0).Seconds()

	rdb, closeRedis, err := callback.OpenRedis(ctx, callback.RedisConfig{URL: opts.RedisURL}, quiet)
	if err != nil {
		return res, err
	}
	defer closeRedis()
	res.Redis = redisVersion(ctx, rdb, opts.RedisURL)

	var clock atomic.Int64
	clock.Store(start.UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	cal, err := hotline.NewCalendar(alwaysOpen())
	if err != nil {
		return res, err
	}
	common := callback.Common{Redis: rdb, Calendar: cal, Notifier: callback.NotifierFuncs{}, Log: quiet, Now: now, Registry: reg}
	prefix := fmt.Sprintf("hotline-bench:%d", time.Now().UnixNano())
	// No periodic rebuild in the way: the clock jumps Fire seconds ahead.
	engine := callback.EngineConfig{BatchSize: 1000, Tick: 10 * time.Millisecond, PollInterval: time.Second, ReconcileInterval: 10 * 365 * 24 * time.Hour}
	var dialed atomic.Int64
	engine.KeyPrefix = prefix + ":callbacks"
	tasks, err := callback.New(callback.Config{EngineConfig: engine, Lease: time.Hour}, callback.Deps{Store: db, Common: common,
		Dialer: callback.DialerFunc(func(context.Context, hotline.CallbackTask, *callback.Lease) { dialed.Add(1) })})
	if err != nil {
		return res, err
	}
	engine.KeyPrefix = prefix + ":promises"
	promises, err := callback.NewPromiseWatch(callback.PromiseConfig{EngineConfig: engine,
		PromisePolicy: hotline.PromisePolicy{ReminderLeads: []time.Duration{}}}, callback.PromiseDeps{Store: db, Common: common})
	if err != nil {
		return res, err
	}
	defer func() {
		_ = tasks.DropIndex(context.WithoutCancel(ctx))
		_ = promises.DropIndex(context.WithoutCancel(ctx))
	}()

	// The rebuild from SQLite into an empty index.
	for _, r := range []struct {
		what    string
		rebuild func(context.Context) error
		seconds *float64
	}{{"callback tasks", tasks.Reconcile, &res.RebuildTasksSeconds}, {"promises", promises.Reconcile, &res.RebuildPromisesSeconds}} {
		progress("rebuilding the index of %d %s from SQLite", opts.N, r.what)
		t0 := time.Now()
		if err := r.rebuild(ctx); err != nil {
			return res, fmt.Errorf("bench deadlines: rebuild the %s index: %w", r.what, err)
		}
		*r.seconds = time.Since(t0).Seconds()
	}
	res.Rebuild1MSeconds = max(res.RebuildTasksSeconds, res.RebuildPromisesSeconds) * 1e6 / float64(opts.N)

	// Firing: the first Fire of each kind fall due; each engine runs its
	// rounds (back to back while a batch is full) until it fired them all.
	clock.Store(start.Add(time.Duration(opts.Fire) * time.Second).UnixMilli())
	escalated := func() int64 { return int64(kindValue(reg, "hotline_deadline_escalations_total", "promise")) }
	for _, f := range []struct {
		what string
		run  interface {
			Start(context.Context)
			Stop()
		}
		fired            func() int64
		rate, cpu, write *float64
		profile, tx      string // the transaction's kind in hotline_store_write_seconds
	}{{"callback tasks claimed", tasks, dialed.Load, &res.ClaimsPerSecond, &res.ClaimsPerCPUSecond, &res.ClaimsPerWriteSecond, "claims", "tx ClaimTasks"},
		{"promises escalated", promises, escalated, &res.EscalationsPerSecond, &res.EscalationsPerCPUSecond, &res.EscalationsPerWriteSecond,
			"escalations", "tx Escalate"}} {
		progress("firing %d due %s", opts.Fire, f.what)
		stopProfile, err := startCPUProfile(opts.CPUProfile, f.profile)
		if err != nil {
			return res, err
		}
		t0, cpu0, write0 := time.Now(), ownCPU(), writeSeconds(reg, f.tx)
		f.run.Start(ctx)
		err = waitFired(ctx, f.fired, int64(opts.Fire), func(n int64) { progress("  %d %s", n, f.what) })
		took, cpu, write := time.Since(t0), ownCPU()-cpu0, writeSeconds(reg, f.tx)-write0
		f.run.Stop()
		err = errors.Join(err, stopProfile())
		if err != nil {
			return res, fmt.Errorf("bench deadlines: %s: %w", f.what, err)
		}
		*f.rate = float64(opts.Fire) / took.Seconds()
		if cpu > 0 {
			*f.cpu = float64(opts.Fire) / cpu.Seconds()
		}
		if write > 0 {
			*f.write = float64(opts.Fire) / write
		}
	}

	// Redis alone: the same pop over a set of N due ids, and redis-benchmark.
	if res.PopPerSecond, err = benchPop(ctx, rdb, prefix, opts.N, now()); err != nil {
		return res, err
	}
	res.RedisBenchmark, res.RedisBenchmarkNote = redisBenchmark(ctx, rdb, opts.RedisURL, prefix, opts.N)

	writeDeadlineTable(opts.Out, res)
	if opts.JSONPath != "" {
		data, _ := json.MarshalIndent(res, "", "  ") // plain fields always marshal
		if err := os.WriteFile(opts.JSONPath, append(data, '\n'), 0o644); err != nil {
			return res, fmt.Errorf("bench deadlines: %w", err)
		}
	}
	return res, nil
}

// startCPUProfile starts a CPU profile to path + "." + phase (path alone
// when phase is ""); the function it returns stops it and closes the file.
// No path: nothing.
func startCPUProfile(path, phase string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	if phase != "" {
		path += "." + phase
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: -cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("bench: -cpuprofile: %w", err), f.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// ownCPU is the CPU time this process has used, user and system; 0 when
// it cannot be read.
func ownCPU() time.Duration {
	sec, err := processCPU(os.Getpid())
	if err != nil {
		return 0
	}
	return time.Duration(sec * float64(time.Second))
}

// writeSeconds is the time the store spent in writes of kind so far
// (the sum of hotline_store_write_seconds).
func writeSeconds(reg prometheus.Gatherer, kind string) float64 {
	return seriesOfKind(reg, "hotline_store_write_seconds", kind).GetHistogram().GetSampleSum()
}

// alwaysOpen is a calendar open around the clock: the bench measures the
// engine, not the calendar.
func alwaysOpen() hotline.CalendarConfig {
	off := false
	hours := map[string][]string{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		hours[d] = []string{"00:00-24:00"}
	}
	return hotline.CalendarConfig{Hours: hours, UseNationalHolidays: &off}
}

// waitFired waits until fired() reaches want, reporting progress every
// second; it gives up when nothing more fires for 30 s.
func waitFired(ctx context.Context, fired func() int64, want int64, report func(int64)) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, lastAt, reported := int64(-1), time.Now(), time.Now()
	for {
		n := fired()
		if n >= want {
			return nil
		}
		if n != last {
			last, lastAt = n, time.Now()
		}
		if time.Since(lastAt) > 30*time.Second {
			return fmt.Errorf("stuck at %d of %d", n, want)
		}
		if time.Since(reported) >= time.Second {
			report(n)
			reported = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// kindValue reads the value of the counter or gauge name of reg with the
// label kind; 0 when there is none.
func kindValue(reg prometheus.Gatherer, name, kind string) float64 {
	m := seriesOfKind(reg, name, kind)
	return m.GetCounter().GetValue() + m.GetGauge().GetValue()
}

// seriesOfKind is the series of name in reg with the label kind; nil
// (whose values read as zero) when there is none.
func seriesOfKind(reg prometheus.Gatherer, name, kind string) *dto.Metric {
	families, err := reg.Gather()
	if err != nil {
		return nil
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m
				}
			}
		}
	}
	return nil
}

// benchPop fills an index with n ids due before now and pops them all, a
// thousand at a time, as the engine does: the Redis side alone.
func benchPop(ctx context.Context, rdb redis.UniversalClient, prefix string, n int, now time.Time) (float64, error) {
	x := callback.NewIndex(rdb, prefix+":pop", "bench")
	defer func() { _ = x.Drop(context.WithoutCancel(ctx)) }()
	page := make([]callback.Entry, 0, 10_000)
	for i := 1; i <= n; i++ {
		page = append(page, callback.Entry{ID: int64(i), Due: now.Add(-time.Duration(i) * time.Millisecond)})
		if len(page) == cap(page) || i == n {
			if err := x.AddEarlier(ctx, page); err != nil {
				return 0, err
			}
			page = page[:0]
		}
	}
	if err := x.MarkBuilt(ctx, now); err != nil {
		return 0, err
	}
	t0 := time.Now()
	popped := 0
	for popped < n {
		ids, err := x.PopDue(ctx, now, 1000)
		if err != nil {
			return 0, err
		}
		if len(ids) == 0 {
			break
		}
		popped += len(ids)
	}
	return float64(popped) / time.Since(t0).Seconds(), nil
}

// redisBenchmark runs redis-benchmark ZADD, and ZRANGEBYSCORE of a
// thousand members over a set of n, on the Redis at url. It needs the
// program and a real Redis; otherwise the note says why it did not run.
func redisBenchmark(ctx context.Context, rdb redis.UniversalClient, url, prefix string, n int) (map[string]float64, string) {
	program, err := exec.LookPath("redis-benchmark")
	switch {
	case err != nil:
		return nil, "redis-benchmark is not installed (Debian package redis-tools): not run"
	case url == "":
		return nil, "an embedded Redis: redis-benchmark not run (set REDIS_URL or -redis)"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, "redis-benchmark not run: " + err.Error()
	}
	host, port, _ := strings.Cut(opts.Addr, ":")
	base := []string{"-h", host, "-p", port, "--dbnum", strconv.Itoa(opts.DB), "-q", "--csv"}
	if opts.Password != "" {
		base = append(base, "-a", opts.Password, "--no-auth-warning")
	}
	// The range is read from a set as large as the index.
	key := "{" + prefix + ":rb}:set"
	defer rdb.Del(context.WithoutCancel(ctx), key)
	members := make([]redis.Z, 0, 10_000)
	for i := 1; i <= n; i++ {
		members = append(members, redis.Z{Score: float64(i), Member: i})
		if len(members) == cap(members) || i == n {
			if err := rdb.ZAdd(ctx, key, members...).Err(); err != nil {
				return nil, "redis-benchmark not run: " + err.Error()
			}
			members = members[:0]
		}
	}
	out := map[string]float64{}
	for _, run := range []struct {
		name string
		args []string
	}{
		{"ZADD", []string{"-n", "200000", "-t", "zadd"}},
		{"ZRANGEBYSCORE LIMIT 0 1000", []string{"-n", "20000", "ZRANGEBYSCORE", key, "-inf", "+inf", "LIMIT", "0", "1000"}},
	} {
		cmd := exec.CommandContext(ctx, program, append(slices.Clone(base), run.args...)...)
		data, err := cmd.Output()
		if err != nil {
			return out, fmt.Sprintf("redis-benchmark %s failed: %v", run.name, err)
		}
		rps, err := benchmarkRPS(data)
		if err != nil {
			return out, fmt.Sprintf("redis-benchmark %s: %v", run.name, err)
		}
		out[run.name] = rps
	}
	return out, ""
}

// benchmarkRPS reads the requests per second from redis-benchmark --csv:
// a header line, then "test","rps",….
func benchmarkRPS(data []byte) (float64, error) {
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil || len(rows) < 2 || len(rows[1]) < 2 {
		return 0, fmt.Errorf("unexpected output %q", data)
	}
	return strconv.ParseFloat(rows[len(rows)-1][1], 64)
}

// redisVersion describes the Redis measured on.
func redisVersion(ctx context.Context, rdb redis.UniversalClient, url string) string {
	if url == "" {
		return "embedded (miniredis, in-process)"
	}
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return "redis (version unknown)"
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return "redis " + v
		}
	}
	return "redis"
}

// machine describes this computer: CPU model and count, OS, Go.
func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func writeDeadlineTable(w io.Writer, r DeadlineBench) {
	holds := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	n := humanCount(r.OpenEach)
	fmt.Fprintf(w, "Deadline engine, %s open callback tasks and %s unfinished promises (%s; %s)\n\n", n, n, r.Machine, r.Redis)
	fmt.Fprintln(w, "| measure | result | target | holds |")
	fmt.Fprintln(w, "|---|---|---|---|")
	fmt.Fprintf(w, "| write both to SQLite | %.1f s | | |\n", r.SeedSeconds)
	fmt.Fprintf(w, "| rebuild the index from SQLite into an empty Redis: %s tasks | %.2f s | | |\n", n, r.RebuildTasksSeconds)
	fmt.Fprintf(w, "| rebuild the index from SQLite into an empty Redis: %s promises | %.2f s | | |\n", n, r.RebuildPromisesSeconds)
	fmt.Fprintf(w, "| rebuild, the slower kind, for 1M rows | %.2f s | < %.0f s | %s |\n", r.Rebuild1MSeconds, benchRebuildTarget,
		holds(r.Rebuild1MSeconds < benchRebuildTarget))
	fmt.Fprintf(w, "| due tasks claimed in SQL and handed to the dialer (%s due, %s open) | %.0f /s | ≥ %.0f /s | %s |\n",
		humanCount(r.Fired), n, r.ClaimsPerSecond, benchFireTarget, holds(r.ClaimsPerSecond >= benchFireTarget))
	fmt.Fprintf(w, "| overdue promises escalated with their violation (%s due, %s open) | %.0f /s | ≥ %.0f /s | %s |\n",
		humanCount(r.Fired), n, r.EscalationsPerSecond, benchFireTarget, holds(r.EscalationsPerSecond >= benchFireTarget))
	fmt.Fprintf(w, "| the same per CPU second of this process: claims, escalations | %.0f /s, %.0f /s | | |\n",
		r.ClaimsPerCPUSecond, r.EscalationsPerCPUSecond)
	fmt.Fprintf(w, "| inside the store's write transactions alone: claims, escalations | %.0f /s, %.0f /s | | |\n",
		r.ClaimsPerWriteSecond, r.EscalationsPerWriteSecond)
	fmt.Fprintf(w, "| baseline: due ids popped from the Redis index alone (1000 a pop) | %.0f /s | | |\n", r.PopPerSecond)
	for _, name := range []string{"ZADD", "ZRANGEBYSCORE LIMIT 0 1000"} {
		if rps, ok := r.RedisBenchmark[name]; ok {
			fmt.Fprintf(w, "| baseline: redis-benchmark %s | %.0f requests/s | | |\n", name, rps)
		}
	}
	if r.RedisBenchmarkNote != "" {
		fmt.Fprintf(w, "\n%s\n", r.RedisBenchmarkNote)
	}
}

// humanCount writes 1000000 as 1M and 100000 as 100k.
func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
