package app

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hotline/ari"
	"hotline/ari/aritest"
)

// CallBenchOptions shape `hotline bench calls`.
type CallBenchOptions struct {
	// Rate places calls open-loop at this many a second (each on its own
	// schedule, whether earlier ones got through or not); Concurrency
	// instead keeps this many calls up. One of them; default Rate 250.
	Rate        float64
	Concurrency int
	// For is how long calls are placed. Default 30s.
	For time.Duration
	// AnswerAfter is how long an agent's phone rings before it answers,
	// Talk how long the agent talks before hanging up; the citizen hangs
	// up as the agent leaves. Defaults 1s and 3s.
	AnswerAfter, Talk time.Duration
	// Prompt is how long each prompt plays in the fake (greeting,
	// recording notice…). Default 50ms: the measure is the service, not
	// the prompts' texts.
	Prompt time.Duration
	// Agents is how many agents (phones) there are. Default: enough for
	// the load with a 1 s wrap-up.
	Agents int
	// Record records every call as the service does by default.
	Record bool
	// SkipBaseline runs the service alone; SkipService the baseline alone.
	SkipBaseline, SkipService bool
	// Port is the first of three loopback ports (fake Asterisk, the
	// application's HTTP, spare); 0 picks free ones.
	Port int
	// Dir holds the processes' data and logs; "" is a temporary folder
	// removed afterwards.
	Dir string
	// RedisURL is the service's Redis; "" takes $REDIS_URL, else the
	// service's embedded one.
	RedisURL string
	// Store is the service's database (store.path): "" is a SQLite file
	// in Dir; a postgres:// URL measures the service on PostgreSQL.
	Store string
	// CPUProfile, when set, is where the service process writes its CPU
	// profile of the whole run.
	CPUProfile string
	// SimCPUProfile, when set, is where the fake Asterisk writes its CPU
	// profile of the service's run: the fake must not be what bounds it.
	SimCPUProfile string
	// JSONPath, when set, gets the result as JSON.
	JSONPath string
	// Exe is the hotline binary run as sim, serve and bench bare-ari;
	// default this program.
	Exe string
	// Out gets the Markdown table, Progress a line a second.
	Out, Progress io.Writer
}

// Targets of DESIGN.md for the call path.
const (
	benchCallsTarget       = 250.0 // complete calls per second on 2 cores against the fake
	benchBridgeP99Target   = 20.0  // ms, agent answer → bridged at 1,000 concurrent calls
	benchCPURatioTarget    = 1.5   // service CPU per call ÷ the bare app's
	benchHeapPerCallTarget = 100.0 // KB of heap per concurrent call
	benchConnsTarget       = 1.0   // new ARI connections per 1,000 requests
)

// Latency is a distribution in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func latencyOf(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	slices.Sort(ms)
	at := func(q float64) float64 { return ms[min(len(ms)-1, int(q*float64(len(ms))))] }
	return Latency{N: len(ms), P50: at(0.50), P99: at(0.99), Max: ms[len(ms)-1]}
}

// CallRun is what one application (the service or the bare ARI app) did
// under the load.
type CallRun struct {
	App          string  `json:"app"`
	Placed       int     `json:"placed"`
	PlacedPerSec float64 `json:"placed_per_second"`
	Completed    int     `json:"completed"`
	// Refused are the calls the application sent to the dialplan's
	// fallback (admission control: it could not serve more); not errors,
	// and not completed.
	Refused        int     `json:"refused_to_fallback"`
	CallsPerSecond float64 `json:"calls_per_second"`
	// PeakConcurrent is the most calls up at once that the memory was
	// sampled at.
	PeakConcurrent int `json:"peak_concurrent_calls"`
	// Latencies from the fake's timestamps (StasisStart, originate,
	// answer, bridged, agent hangup) and the application's own log line
	// "call ended", written once the call's record is final.
	StasisToOriginate Latency `json:"stasis_to_originate"`
	AnswerToBridge    Latency `json:"answer_to_bridge"`
	HangupToFinal     Latency `json:"hangup_to_final"`
	// CPU of the application process (utime+stime of /proc/PID/stat)
	// from the first call placed until the last ended, per completed call.
	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUPerCallMS   float64 `json:"cpu_per_call_ms"`
	HeapPerCallKB  float64 `json:"heap_per_concurrent_call_kb"`
	RSSPerCallKB   float64 `json:"rss_per_concurrent_call_kb"`
	RequestsPerCal float64 `json:"ari_requests_per_call"`
	EventsPerCall  float64 `json:"ari_events_per_call"`
	// ConnsPer1000 is the new TCP connections the application opened for
	// ARI REST requests per 1,000 requests.
	ConnsPer1000 float64 `json:"new_connections_per_1000_requests"`
	// ConnsPer1000All counts the whole run, the pool's growth included.
	ConnsPer1000All float64 `json:"new_connections_per_1000_requests_whole_run"`
	// DroppedEvents: events the fake sent that the application did not
	// receive (read, decoded or not).
	DroppedEvents int64 `json:"dropped_events"`
	// Errors by kind: calls that could not be placed, calls that ended
	// unbridged or were still up after the drain, ARI answers ≥ 400, and
	// error lines in the application's log.
	Errors      map[string]int64 `json:"errors"`
	ErrorsTotal int64            `json:"errors_total"`
	// NotFound counts ARI answers 404: requests on a channel the far end
	// had hung up a moment before (not errors).
	NotFound int64 `json:"ari_not_found_answers"`
	// ChannelGone counts ARI answers 400 "Channel not found" to adding a
	// channel to a bridge: the channel hung up between the application's
	// decision and Asterisk's handling, the same race as NotFound (ARI
	// names it 400 there). Not errors; other 400s are.
	ChannelGone int64 `json:"ari_bridge_channel_gone_answers"`
	// FirstErrors are a few of the application's error log lines.
	FirstErrors []string `json:"first_errors,omitempty"`
}

// CallBench is what `hotline bench calls` measured.
type CallBench struct {
	Machine string `json:"machine"`
	Load    string `json:"load"`
	// The figures the issue names, for the service, and its ratios to the
	// bare ARI app's in the same run.
	CallsPerSecond         float64  `json:"calls_per_second"`
	P99AnswerToBridgeMS    float64  `json:"p99_answer_to_bridge_ms"`
	CPUPerCallMS           float64  `json:"cpu_per_call_ms"`
	BaselineCPUPerCallMS   float64  `json:"baseline_cpu_per_call_ms"`
	CPURatioToBaseline     float64  `json:"cpu_ratio_to_baseline"`
	P99BridgeRatioBaseline float64  `json:"p99_answer_to_bridge_ratio_to_baseline"`
	DroppedEvents          int64    `json:"dropped_events"`
	Errors                 int64    `json:"errors"`
	Service                *CallRun `json:"service,omitempty"`
	Baseline               *CallRun `json:"baseline,omitempty"`
}

func (o *CallBenchOptions) setDefaults() {
	if o.Rate == 0 && o.Concurrency == 0 {
		o.Rate = 250
	}
	if o.For == 0 {
		o.For = 30 * time.Second
	}
	if o.AnswerAfter == 0 {
		o.AnswerAfter = time.Second
	}
	if o.Talk == 0 {
		o.Talk = 3 * time.Second
	}
	if o.Prompt == 0 {
		o.Prompt = 50 * time.Millisecond
	}
	if o.Agents == 0 {
		// An agent is busy for a call and a 1 s wrap-up; half as many
		// again for the ones whose wrap-up has not ended yet.
		busy := o.callLength() + benchWrapUp
		if o.Concurrency > 0 {
			o.Agents = int(math.Ceil(float64(o.Concurrency)*busy.Seconds()/o.callLength().Seconds()*1.5)) + 10
		} else {
			o.Agents = int(math.Ceil(o.Rate*busy.Seconds()*1.5)) + 10
		}
	}
	if o.RedisURL == "" {
		o.RedisURL = os.Getenv("REDIS_URL")
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// benchWrapUp is the agents' wrap-up in the service's config.
const benchWrapUp = time.Second

// callLength is how long a call lasts when nothing waits: two prompts, the
// agent's ring and talk.
func (o *CallBenchOptions) callLength() time.Duration { return 2*o.Prompt + o.AnswerAfter + o.Talk }

func (o *CallBenchOptions) validate() error {
	switch {
	case o.Rate > 0 && o.Concurrency > 0:
		return errors.New("bench calls: give -rate or -concurrency, not both")
	case o.Rate < 0 || o.Rate > 5000:
		return fmt.Errorf("bench calls: -rate %v must be from 0 to 5000", o.Rate)
	case o.Concurrency < 0 || o.Concurrency > 20000:
		return fmt.Errorf("bench calls: -concurrency %d must be from 0 to 20000", o.Concurrency)
	case o.For < time.Second:
		return fmt.Errorf("bench calls: -for %v must be at least 1s", o.For)
	case o.Agents < 1 || o.Agents > 99999:
		return fmt.Errorf("bench calls: -agents %d must be from 1 to 99999", o.Agents)
	case o.SkipBaseline && o.SkipService:
		return errors.New("bench calls: nothing to run")
	}
	return nil
}

// BenchCalls runs the fake Asterisk (`hotline sim`) and the service
// (`hotline serve`) as separate processes on loopback, places calls at
// opts.Rate or keeps opts.Concurrency up, and measures the service; then
// the same against the bare ARI application (`hotline bench bare-ari`)
// and a fresh fake. It prints a Markdown table to opts.Out.
func BenchCalls(ctx context.Context, opts CallBenchOptions) (CallBench, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return CallBench{}, err
	}
	res := CallBench{Machine: machine(), Load: opts.describe()}
	if opts.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return res, fmt.Errorf("bench calls: %w", err)
		}
		opts.Exe = exe
	}
	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hotline-bench-calls-")
		if err != nil {
			return res, fmt.Errorf("bench calls: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if !opts.SkipService {
		run, err := benchCallRun(ctx, opts, filepath.Join(dir, "service"), "service")
		if err != nil {
			return res, err
		}
		res.Service = &run
	}
	if !opts.SkipBaseline {
		run, err := benchCallRun(ctx, opts, filepath.Join(dir, "baseline"), "bare ARI app")
		if err != nil {
			return res, err
		}
		res.Baseline = &run
	}
	head := res.Service
	if head == nil {
		head = res.Baseline
	}
	res.CallsPerSecond = head.CallsPerSecond
	res.P99AnswerToBridgeMS = head.AnswerToBridge.P99
	res.CPUPerCallMS = head.CPUPerCallMS
	res.DroppedEvents = head.DroppedEvents
	res.Errors = head.ErrorsTotal
	if res.Baseline != nil {
		res.BaselineCPUPerCallMS = res.Baseline.CPUPerCallMS
		if res.Service != nil {
			res.CPURatioToBaseline = ratio(res.Service.CPUPerCallMS, res.Baseline.CPUPerCallMS)
			res.P99BridgeRatioBaseline = ratio(res.Service.AnswerToBridge.P99, res.Baseline.AnswerToBridge.P99)
		}
	}
	writeCallTable(opts.Out, res)
	if opts.JSONPath != "" {
		data, _ := json.MarshalIndent(res, "", "  ") // plain fields always marshal
		if err := os.WriteFile(opts.JSONPath, append(data, '\n'), 0o644); err != nil {
			return res, fmt.Errorf("bench calls: %w", err)
		}
	}
	return res, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (o *CallBenchOptions) describe() string {
	load := fmt.Sprintf("%.0f calls/s open-loop", o.Rate)
	if o.Concurrency > 0 {
		load = fmt.Sprintf("%d calls kept up", o.Concurrency)
	}
	rec := "recorded"
	if !o.Record {
		rec = "not recorded"
	}
	return fmt.Sprintf("%s for %s; agents answer after %s and talk %s; prompts %s each; %d agents; calls %s",
		load, o.For, o.AnswerAfter, o.Talk, o.Prompt, o.Agents, rec)
}

// benchCallRun runs one application against a fresh fake under the load.
func benchCallRun(ctx context.Context, opts CallBenchOptions, dir, app string) (CallRun, error) {
	run := CallRun{App: app, Errors: map[string]int64{}}
	progress := func(format string, args ...any) {
		fmt.Fprintf(opts.Progress, "%s  %s: "+format+"\n", append([]any{time.Now().Format("15:04:05"), app}, args...)...)
	}
	if err := os.MkdirAll(filepath.Join(dir, "prompts"), 0o750); err != nil {
		return run, fmt.Errorf("bench calls: %w", err)
	}
	ports, err := benchPorts(opts.Port, app)
	if err != nil {
		return run, err
	}
	simAddr, appAddr := ports[0], ports[1]

	// Every prompt plays opts.Prompt long in the fake.
	var tsv strings.Builder
	for sound := range ari.PromptLengths() {
		fmt.Fprintf(&tsv, "%s\t%.3f\n", sound, opts.Prompt.Seconds())
	}
	if err := os.WriteFile(filepath.Join(dir, "prompts", "durations.tsv"), []byte(tsv.String()), 0o644); err != nil {
		return run, fmt.Errorf("bench calls: %w", err)
	}
	progress("starting the fake Asterisk on %s", simAddr)
	simArgs := []string{"sim", "-ari", simAddr, "-rate", "0", "-data", filepath.Join(dir, "sim"), "-prompts", filepath.Join(dir, "prompts")}
	if opts.SimCPUProfile != "" && app == "service" {
		simArgs = append(simArgs, "-cpuprofile", opts.SimCPUProfile)
	}
	sim, err := startProcess(ctx, opts.Exe, filepath.Join(dir, "sim.log"), nil, simArgs...)
	if err != nil {
		return run, err
	}
	defer sim.stop()
	fake := &simClient{base: "http://" + simAddr, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}}, proc: sim,
		retried: func(err error) { progress("the fake did not give its figures (%v); asking again", err) }}
	if err := waitUntil(ctx, 30*time.Second, sim, func() error { _, err := fake.timingsOnce(ctx); return err }); err != nil {
		return run, fmt.Errorf("bench calls: the fake Asterisk did not come up: %w (log %s)", err, sim.logPath)
	}
	agents := make([]string, opts.Agents)
	for i := range agents {
		agents[i] = fmt.Sprintf("PJSIP/b%05d", i+1)
		behavior := fmt.Sprintf(`{"answer_after":%q,"hangup_after":%q}`, opts.AnswerAfter, opts.Talk)
		if err := fake.do(ctx, http.MethodPut, "/sim/endpoints/"+agents[i], behavior, http.StatusOK); err != nil {
			return run, fmt.Errorf("bench calls: set up agent phones: %w", err)
		}
	}

	var proc *process
	appURL := "http://" + appAddr
	ariURL := "http://" + simAddr + "/ari"
	if app == "service" {
		cfgPath := filepath.Join(dir, "hotline.yaml")
		if err := os.WriteFile(cfgPath, []byte(benchServiceConfig(opts, dir, appAddr, ariURL, agents)), 0o600); err != nil {
			return run, fmt.Errorf("bench calls: %w", err)
		}
		args := []string{"serve", "-config", cfgPath}
		if opts.CPUProfile != "" {
			args = append(args, "-cpuprofile", opts.CPUProfile)
		}
		progress("starting hotline serve on %s with %d agents", appAddr, len(agents))
		// The fake's password, whatever the environment says.
		proc, err = startProcess(ctx, opts.Exe, filepath.Join(dir, "app.log"), []string{"HOTLINE_ARI_PASSWORD=hotline"}, args...)
	} else {
		progress("starting the bare ARI application with %d agents", len(agents))
		proc, err = startProcess(ctx, opts.Exe, filepath.Join(dir, "app.log"), nil,
			"bench", "bare-ari", "-ari", ariURL, "-metrics", appAddr, "-agents", strconv.Itoa(len(agents)))
	}
	if err != nil {
		return run, err
	}
	defer proc.stop()
	connected := func() error {
		m, err := scrape(ctx, appURL+"/metrics")
		if err != nil {
			return err
		}
		if m.sum("hotline_ari_connected", "") != 1 {
			return errors.New("ARI not connected yet")
		}
		return nil
	}
	if err := waitUntil(ctx, 60*time.Second, proc, connected); err != nil {
		return run, fmt.Errorf("bench calls: %s did not connect to the fake: %w (log %s)", app, err, proc.logPath)
	}
	// Let start-up work (presence, reconciliation) settle before the idle
	// figures are taken.
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return run, ctx.Err()
	}
	idle, err := scrape(ctx, appURL+"/metrics")
	if err != nil {
		return run, err
	}
	before, err := fake.timings(ctx)
	if err != nil {
		return run, err
	}
	cpu0, err := processCPU(proc.cmd.Process.Pid)
	if err != nil {
		return run, err
	}

	// The load.
	progress("placing calls: %s", opts.describe())
	gen := &generator{opts: opts, fake: fake, sem: make(chan struct{}, 2048), reqCtx: ctx}
	var ended []aritest.CallTiming
	var mu sync.Mutex
	var endedN atomic.Int64 // len(ended), for the generator
	peak := memSample{}
	loadCtx, stopLoad := context.WithCancel(ctx)
	genDone := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(genDone)
		gen.run(loadCtx, &endedN)
	}()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	lastProgress := time.Now()
	drainBy := time.Time{}
	var last aritest.CallTimings
	// New connections are counted at steady state: from the middle of the
	// load to its end, once the connection pool has grown to the load.
	type connSnap struct {
		taken           bool
		opened, request float64
	}
	var mid, loadEnd connSnap
	snap := func(t aritest.CallTimings) connSnap {
		m, err := scrape(ctx, appURL+"/metrics")
		if err != nil {
			return connSnap{}
		}
		return connSnap{true, m.sum("hotline_ari_http_connections_opened_total", ""), float64(t.Requests)}
	}
	for {
		select {
		case <-ctx.Done():
			stopLoad()
			return run, ctx.Err()
		case <-poll.C:
		}
		t, err := fake.timings(ctx)
		if err != nil {
			stopLoad()
			return run, err
		}
		last = t
		mu.Lock()
		ended = append(ended, t.Ended...)
		n := len(ended)
		mu.Unlock()
		endedN.Store(int64(n))
		if time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			if drainBy.IsZero() && t.Active > peak.active {
				if m, err := scrape(ctx, appURL+"/metrics"); err == nil {
					peak = memSample{active: t.Active, heap: m.sum("go_memstats_heap_alloc_bytes", ""), rss: m.sum("process_resident_memory_bytes", "")}
				}
			}
			cpu, _ := processCPU(proc.cmd.Process.Pid)
			progress("%3.0fs  placed %d  ended %d  up %d  place errors %d  cpu %.1fs", time.Since(start).Seconds(),
				gen.placed.Load(), n, t.Active, gen.failed.Load(), cpu-cpu0)
		}
		if !mid.taken && time.Since(start) >= opts.For/2 {
			mid = snap(t)
		}
		if drainBy.IsZero() && time.Since(start) >= opts.For {
			loadEnd = snap(t)
			stopLoad()
			<-genDone
			drainBy = time.Now().Add(opts.callLength() + 30*time.Second)
			progress("stopped placing calls; waiting for %d calls to end", t.Active)
		}
		if !drainBy.IsZero() && ((t.Active == 0 && gen.inflight.Load() == 0) || time.Now().After(drainBy)) {
			break
		}
	}
	stopLoad()
	end := time.Now()
	// Let the last events and log lines arrive.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return run, ctx.Err()
	}
	// Error lines are counted before the process is stopped: its shutdown
	// is not part of the load.
	run.Errors["error_log_lines"], run.FirstErrors = proc.errorLines()
	cpu1, err := processCPU(proc.cmd.Process.Pid)
	if err != nil {
		return run, err
	}
	after, err := fake.timings(ctx)
	if err != nil {
		return run, err
	}
	ended = append(ended, after.Ended...)
	final, err := caughtUp(ctx, appURL+"/metrics", after.Events)
	if err != nil {
		return run, err
	}
	proc.stop()

	// Figures.
	run.Placed = int(gen.placed.Load())
	run.PlacedPerSec = float64(run.Placed) / opts.For.Seconds()
	run.PeakConcurrent = peak.active
	finals := proc.callsEnded()
	shift := opts.callLength()
	var toOriginate, toBridge, toFinal []float64
	inWindow := 0
	for _, c := range ended {
		if !c.FirstOriginate.IsZero() {
			toOriginate = append(toOriginate, ms(c.FirstOriginate.Sub(c.Stasis)))
		}
		if c.Fallback {
			run.Refused++
			continue
		}
		if c.Bridged.IsZero() || c.AgentHangup.IsZero() {
			run.Errors["calls_not_bridged"]++
			continue
		}
		run.Completed++
		toBridge = append(toBridge, ms(c.Bridged.Sub(c.AgentAnswered)))
		if at, ok := finals[c.Channel]; ok {
			toFinal = append(toFinal, ms(at.Sub(c.AgentHangup)))
		} else {
			run.Errors["calls_without_final_record"]++
		}
		// Throughput: calls that ended within the load's window, shifted
		// by a call's length.
		if e := c.Ended.Sub(start); e >= shift && e < opts.For+shift {
			inWindow++
		}
	}
	run.CallsPerSecond = float64(inWindow) / opts.For.Seconds()
	run.StasisToOriginate = latencyOf(toOriginate)
	run.AnswerToBridge = latencyOf(toBridge)
	run.HangupToFinal = latencyOf(toFinal)
	run.CPUSeconds = cpu1 - cpu0
	if run.Completed > 0 {
		n := float64(run.Completed)
		run.CPUPerCallMS = run.CPUSeconds * 1000 / n
		run.RequestsPerCal = float64(after.Requests-before.Requests) / n
		run.EventsPerCall = float64(after.Events-before.Events) / n
	}
	if peak.active > 0 {
		run.HeapPerCallKB = (peak.heap - idle.sum("go_memstats_heap_alloc_bytes", "")) / float64(peak.active) / 1024
		run.RSSPerCallKB = (peak.rss - idle.sum("process_resident_memory_bytes", "")) / float64(peak.active) / 1024
	}
	if reqs := loadEnd.request - mid.request; mid.taken && loadEnd.taken && reqs > 0 {
		run.ConnsPer1000 = (loadEnd.opened - mid.opened) * 1000 / reqs
	}
	if reqs := after.Requests - before.Requests; reqs > 0 {
		opened := final.sum("hotline_ari_http_connections_opened_total", "") - idle.sum("hotline_ari_http_connections_opened_total", "")
		run.ConnsPer1000All = opened * 1000 / float64(reqs)
	}
	// Both counts run from the start of the fresh fake and the
	// application's only connection to it, so no idle figure is taken off:
	// an event sent before an idle snapshot and received after it would be
	// counted as dropped.
	run.DroppedEvents = int64(after.EventsLost) + max(0, int64(after.Events)-int64(eventsReceived(final)))
	// A dropped websocket loses what was on its way; the events sent on the
	// next one could hide the loss in the counts above.
	run.Errors["ari_websocket_dropped"] = int64(final.sum("hotline_ari_connections_dropped_total", "") -
		idle.sum("hotline_ari_connections_dropped_total", ""))
	run.Errors["place_failed"] = gen.failed.Load()
	run.Errors["calls_still_up"] = int64(last.Active)
	// ARI answers that are not 2xx, by method and code. 404 for a channel
	// that hung up meanwhile is a race every ARI application has, not a
	// failure: it is listed apart and not counted as an error.
	gone := func(m metricSet) float64 { return m.sum("hotline_ari_bridge_channel_gone_total", "") }
	run.ChannelGone = int64(gone(final) - gone(idle))
	for _, sm := range final {
		if sm.name != "hotline_ari_http_requests_total" || strings.Contains(sm.labels, `code="2`) {
			continue
		}
		n := int64(sm.value - idle.sumWhere(sm.name, func(l string) bool { return l == sm.labels }))
		if n == 0 {
			continue
		}
		method, code := labelValue(sm.labels, "method"), labelValue(sm.labels, "code")
		if code == "404" {
			run.NotFound += n
			continue
		}
		if method == http.MethodPost && code == "400" {
			n -= run.ChannelGone // counted apart, above
		}
		run.Errors["ari_"+method+"_"+code] += n
	}
	for _, n := range run.Errors {
		run.ErrorsTotal += n
	}
	progress("done: %d placed, %d completed, %.1f calls/s, CPU %.2f ms a call (%s to %s)", run.Placed, run.Completed,
		run.CallsPerSecond, run.CPUPerCallMS, start.Format("15:04:05"), end.Format("15:04:05"))
	return run, nil
}

type memSample struct {
	active    int
	heap, rss float64
}

// benchPorts returns the fake's and the application's loopback addresses:
// base and base+1 for the service, base+2 and base+3 for the baseline, or
// free ports when base is 0.
func benchPorts(base int, app string) ([2]string, error) {
	if base > 0 {
		if app != "service" {
			base += 2
		}
		return [2]string{fmt.Sprintf("127.0.0.1:%d", base), fmt.Sprintf("127.0.0.1:%d", base+1)}, nil
	}
	var out [2]string
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return out, fmt.Errorf("bench calls: free port: %w", err)
		}
		out[i] = ln.Addr().String()
		ln.Close()
	}
	return out, nil
}

// benchServiceConfig is the service's config for the run: the line open
// around the clock, every agent on its own phone, a 1 s wrap-up, Redis
// keys of its own.
func benchServiceConfig(opts CallBenchOptions, dir, listen, ariURL string, agents []string) string {
	prefix := fmt.Sprintf("hotline-bench-%d", time.Now().UnixNano())
	var b strings.Builder
	fmt.Fprintf(&b, `log: {level: info, format: json}
http: {listen: %q}
ari: {url: %q, username: hotline, password: hotline, application: hotline}
calls:
  hotline_numbers: ["12345"]
  complaint_numbers: ["12340"]
  wrap_up: %s
  record: %t
  survey_timeout: 2s
calendar:
  use_national_holidays: false
  hours: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
store: {path: %q}
recordings: {archive_dir: %q}
callbacks: {key_prefix: %q}
promises: {key_prefix: %q}
lease: {key_prefix: %q}
`, listen, ariURL, benchWrapUp, opts.Record, cmp.Or(opts.Store, filepath.Join(dir, "hotline.db")), filepath.Join(dir, "recordings"),
		prefix+":callbacks", prefix+":promises", prefix+":lease")
	if opts.RedisURL != "" {
		fmt.Fprintf(&b, "redis: {url: %q}\n", opts.RedisURL)
	}
	b.WriteString("agents:\n")
	for i, a := range agents {
		id := strings.TrimPrefix(a, "PJSIP/")
		fmt.Fprintf(&b, "  - {id: %q, name: \"Agent %d\", endpoint: %q}\n", id, i+1, a)
	}
	return b.String()
}

// generator places the calls: open-loop at opts.Rate, each call on its
// own schedule, or opts.Concurrency calls kept up.
type generator struct {
	opts     CallBenchOptions
	fake     *simClient
	reqCtx   context.Context // of the POSTs: placing stops with run's, calls being placed still complete
	sem      chan struct{}   // bounds requests in flight to the fake
	placed   atomic.Int64
	failed   atomic.Int64
	inflight atomic.Int64
}

func (g *generator) run(ctx context.Context, ended *atomic.Int64) {
	var wg sync.WaitGroup
	defer wg.Wait()
	place := func() {
		g.sem <- struct{}{}
		g.inflight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-g.sem; g.inflight.Add(-1) }()
			g.placeCall(g.reqCtx)
		}()
	}
	start := time.Now()
	if g.opts.Concurrency > 0 {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// Up: placed and not seen ended, and the posts in flight.
			up := g.placed.Load() + g.inflight.Load() - ended.Load()
			for n := int64(g.opts.Concurrency) - up; n > 0; n-- {
				place()
			}
		}
	}
	for i := 0; ; i++ {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / g.opts.Rate))
		if at.Sub(start) >= g.opts.For {
			return
		}
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		} else if ctx.Err() != nil {
			return
		}
		place()
	}
}

func (g *generator) placeCall(ctx context.Context) {
	// A random caller: no repeat callers, so no sticky routing hits.
	caller := fmt.Sprintf("13%09d", mathrand.IntN(1_000_000_000))
	// The citizen hangs up as the agent leaves, and at the latest long
	// after the call should have ended.
	body := fmt.Sprintf(`{"caller":%q,"dialed":"12345","hangup_when_alone":"0s","hangup_after":%q}`,
		caller, g.opts.callLength()+time.Minute)
	if err := g.fake.do(ctx, http.MethodPost, "/sim/calls", body, http.StatusCreated); err != nil {
		if ctx.Err() == nil {
			g.failed.Add(1)
		}
		return
	}
	g.placed.Add(1)
}

// simClient talks to the fake's /sim routes.
type simClient struct {
	base string
	hc   *http.Client
	proc *process // the fake's
	next uint64   // ?since= of the next timings read
	// retried, when set, hears of each failed read of the timings that
	// is tried again.
	retried func(err error)
}

func (s *simClient) do(ctx context.Context, method, path, body string, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if bytes.Contains(data, []byte(`"stasis":"FAILED"`)) {
		return fmt.Errorf("%s %s: no application connected; the call went to the fallback", method, path)
	}
	return nil
}

// benchPatience is how long the bench asks again a process that does not
// answer (the fake for its figures, the application for its metrics)
// before it gives up: on a busy machine one answer can take tens of
// seconds, each try being bounded by the client's timeout.
const benchPatience = 3 * time.Minute

// timings reads the calls ended since the last read and the fake's counts,
// asking again for up to benchPatience.
func (s *simClient) timings(ctx context.Context) (aritest.CallTimings, error) {
	var t aritest.CallTimings
	err := waitUntil(ctx, benchPatience, s.proc, func() error {
		var err error
		if t, err = s.timingsOnce(ctx); err != nil && s.retried != nil {
			s.retried(err)
		}
		return err
	})
	return t, err
}

// timingsOnce reads the fake's figures once. The fake keeps the ended calls
// until a read names the next one (?since=), so an answer the client gave
// up on is sent again on the next read, not lost.
func (s *simClient) timingsOnce(ctx context.Context) (aritest.CallTimings, error) {
	var t aritest.CallTimings
	url := s.base + "/sim/timings?since=" + strconv.FormatUint(s.next, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return t, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return t, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return t, fmt.Errorf("GET /sim/timings: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return t, fmt.Errorf("GET /sim/timings: %w", err)
	}
	s.next = t.Next
	return t, nil
}

// eventsReceived is every ARI event the application read off its websocket:
// handed on, dropped as undecodable or as a second copy.
func eventsReceived(m metricSet) float64 {
	return m.sum("hotline_ari_events_received_total", "") + m.sum("hotline_ari_events_duplicate_total", "") +
		m.sum("hotline_ari_events_undecodable_total", "")
}

// caughtUp scrapes the application's metrics until it has received the
// sent events the fake counted as written, or its count stops moving for
// 5 s: an event written to the websocket is still on its way to the
// application until it reads it, so comparing the counts at once (as an
// earlier version did, and before reading the fake's count at that) calls
// those dropped. Events keep coming (callbacks dial after the load), so
// the application's count may pass sent.
func caughtUp(ctx context.Context, url string, sent uint64) (metricSet, error) {
	var m metricSet
	var last float64
	moved := time.Now()
	deadline := time.Now().Add(benchPatience)
	for {
		got, err := scrape(ctx, url)
		switch {
		case err == nil:
			m = got
			if n := eventsReceived(m); n >= float64(sent) {
				return m, nil
			} else if n != last {
				last, moved = n, time.Now()
			}
			if time.Since(moved) > 5*time.Second {
				return m, nil // nothing more is coming: the rest was dropped
			}
		case time.Now().After(deadline):
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// process is a child process (the fake, the service or the baseline)
// whose output goes to a log file and is read for "call ended" lines and
// errors.
type process struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	once    sync.Once

	mu       sync.Mutex
	ended    map[string]time.Time // channel → time of the "call ended" line
	errors   int64
	firstErr []string
}

func startProcess(ctx context.Context, exe, logPath string, env []string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench calls: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	dieWithParent(cmd)
	cmd.Stdout = logFile
	pipe, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bench calls: %w", err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bench calls: start %s %s: %w", exe, args[0], err)
	}
	p := &process{cmd: cmd, logPath: logPath, exited: make(chan struct{}), ended: map[string]time.Time{}}
	go func() {
		defer close(p.exited)
		defer logFile.Close()
		p.read(pipe, logFile)
		_ = cmd.Wait()
	}()
	context.AfterFunc(ctx, p.stop)
	return p, nil
}

// read copies the process's log to its file and notes "call ended" lines
// and errors of JSON logs.
func (p *process) read(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = w.Write(append(line, '\n'))
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var rec struct {
			Time    time.Time `json:"time"`
			Level   string    `json:"level"`
			Msg     string    `json:"msg"`
			Channel string    `json:"channel"`
		}
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		p.mu.Lock()
		switch {
		case rec.Msg == "call ended" && rec.Channel != "":
			p.ended[rec.Channel] = rec.Time
		case rec.Level == "ERROR":
			p.errors++
			if len(p.firstErr) < 5 {
				p.firstErr = append(p.firstErr, string(line))
			}
		}
		p.mu.Unlock()
	}
}

func (p *process) callsEnded() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended
}

func (p *process) errorLines() (int64, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errors, slices.Clone(p.firstErr)
}

// stop asks the process to end (SIGTERM) and kills it after 20 s.
func (p *process) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitUntil retries check every 100 ms until it passes, the process
// exits, or timeout.
func waitUntil(ctx context.Context, timeout time.Duration, p *process, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("the process exited: %w", err)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's times.
const clockTicks = 100

// processCPU is the user and system CPU seconds process pid has used.
func processCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench calls: CPU time: %w", err)
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench calls: unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("bench calls: unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench calls: unexpected /proc/%d/stat", pid)
	}
	return (utime + stime) / clockTicks, nil
}

// metricSet is a scraped Prometheus text page: one entry per sample.
type metricSet []metricSample

type metricSample struct {
	name, labels string
	value        float64
}

// scrapeClient reads metrics; a process too busy to answer in 30 s is
// asked again (caughtUp) or its sample skipped.
var scrapeClient = &http.Client{Timeout: 30 * time.Second}

func scrape(ctx context.Context, url string) (metricSet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var out metricSet
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name, labels := line[:sp], ""
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name, labels = name[:i], name[i:]
		}
		out = append(out, metricSample{name: name, labels: labels, value: v})
	}
	return out, sc.Err()
}

// labelValue reads label name from a sample's {…} labels.
func labelValue(labels, name string) string {
	_, rest, ok := strings.Cut(labels, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// sum adds the samples of name whose labels contain match.
func (m metricSet) sum(name, match string) float64 {
	return m.sumWhere(name, func(labels string) bool { return strings.Contains(labels, match) })
}

func (m metricSet) sumWhere(name string, keep func(labels string) bool) float64 {
	var total float64
	for _, s := range m {
		if s.name == name && keep(s.labels) {
			total += s.value
		}
	}
	return total
}

func writeCallTable(w io.Writer, r CallBench) {
	holds := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	fmt.Fprintf(w, "Calls through the fake Asterisk: %s (%s)\n\n", r.Load, r.Machine)
	fmt.Fprintln(w, "| measure | service | bare ARI app | service ÷ bare | target | holds |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	s, b := r.Service, r.Baseline
	if s == nil {
		s = &CallRun{}
	}
	if b == nil {
		b = &CallRun{}
	}
	row := func(name, format string, sv, bv float64, target string, ok *bool) {
		rt := ""
		if bv != 0 && sv != 0 {
			rt = fmt.Sprintf("%.2f", sv/bv)
		}
		h := ""
		if ok != nil {
			h = holds(*ok)
		}
		fmt.Fprintf(w, "| %s | "+format+" | "+format+" | %s | %s | %s |\n", name, sv, bv, rt, target, h)
	}
	yes := func(ok bool) *bool { return &ok }
	row("calls placed per second", "%.1f", s.PlacedPerSec, b.PlacedPerSec, "", nil)
	row("calls completed per second", "%.1f", s.CallsPerSecond, b.CallsPerSecond, fmt.Sprintf("≥ %.0f", benchCallsTarget),
		yes(s.CallsPerSecond >= benchCallsTarget))
	row("calls sent to the dialplan's fallback (admission control)", "%.0f", float64(s.Refused), float64(b.Refused), "", nil)
	row("peak concurrent calls", "%.0f", float64(s.PeakConcurrent), float64(b.PeakConcurrent), "", nil)
	for _, l := range []struct {
		name   string
		sv, bv Latency
		target string
		ok     *bool
	}{
		{"StasisStart → first agent originated (incl. 2 prompts)", s.StasisToOriginate, b.StasisToOriginate, "", nil},
		{"agent answer → both in the bridge", s.AnswerToBridge, b.AnswerToBridge, fmt.Sprintf("p99 < %.0f ms", benchBridgeP99Target),
			yes(s.AnswerToBridge.N > 0 && s.AnswerToBridge.P99 < benchBridgeP99Target)},
		{"hangup → call record final", s.HangupToFinal, b.HangupToFinal, "", nil},
	} {
		fmt.Fprintf(w, "| %s, ms p50 / p99 / max | %.1f / %.1f / %.1f | %.1f / %.1f / %.1f | %s | %s | %s |\n", l.name,
			l.sv.P50, l.sv.P99, l.sv.Max, l.bv.P50, l.bv.P99, l.bv.Max, ratioText(l.sv.P99, l.bv.P99), l.target, holdsText(l.ok, holds))
	}
	row("CPU per call, ms", "%.2f", s.CPUPerCallMS, b.CPUPerCallMS, fmt.Sprintf("≤ %.1f× bare", benchCPURatioTarget),
		yes(s.CPUPerCallMS > 0 && b.CPUPerCallMS > 0 && s.CPUPerCallMS <= benchCPURatioTarget*b.CPUPerCallMS))
	row("heap per concurrent call, KB", "%.1f", s.HeapPerCallKB, b.HeapPerCallKB, fmt.Sprintf("< %.0f KB", benchHeapPerCallTarget),
		yes(s.PeakConcurrent > 0 && s.HeapPerCallKB < benchHeapPerCallTarget))
	row("RSS per concurrent call, KB", "%.1f", s.RSSPerCallKB, b.RSSPerCallKB, "", nil)
	row("ARI requests per call", "%.1f", s.RequestsPerCal, b.RequestsPerCal, "", nil)
	row("ARI events per call", "%.1f", s.EventsPerCall, b.EventsPerCall, "", nil)
	row("new ARI connections per 1,000 requests, whole run", "%.2f", s.ConnsPer1000All, b.ConnsPer1000All, "", nil)
	row("new ARI connections per 1,000 requests, steady state (2nd half)", "%.2f", s.ConnsPer1000, b.ConnsPer1000, fmt.Sprintf("≤ %.0f", benchConnsTarget),
		yes(s.ConnsPer1000 <= benchConnsTarget))
	row("events dropped", "%.0f", float64(s.DroppedEvents), float64(b.DroppedEvents), "0", yes(s.DroppedEvents == 0))
	row("errors", "%.0f", float64(s.ErrorsTotal), float64(b.ErrorsTotal), "0", yes(s.ErrorsTotal == 0))
	for _, run := range []*CallRun{r.Service, r.Baseline} {
		if run == nil || run.ErrorsTotal == 0 {
			continue
		}
		var kinds []string
		for k, n := range run.Errors {
			if n > 0 {
				kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
			}
		}
		slices.Sort(kinds)
		fmt.Fprintf(w, "\n%s errors: %s\n", run.App, strings.Join(kinds, ", "))
	}
	if s.NotFound+b.NotFound > 0 {
		fmt.Fprintf(w, "\nARI 404 answers (a request on a channel that had just hung up; not errors): service %d, bare ARI app %d\n",
			s.NotFound, b.NotFound)
	}
	if s.ChannelGone+b.ChannelGone > 0 {
		fmt.Fprintf(w, "\nARI 400 \"Channel not found\" answers to adding a channel that had just hung up to a bridge (the same race; not errors): service %d, bare ARI app %d\n",
			s.ChannelGone, b.ChannelGone)
	}
	fmt.Fprintln(w, "\nLatencies come from the fake's clock (StasisStart, originate, answer, bridged, agent hangup) and the"+
		" application's \"call ended\" log line, written once the call's record is final; CPU from /proc/PID/stat of the"+
		" application process from the first call placed to the last ended; heap and RSS from its /metrics at the peak of"+
		" concurrent calls, less the idle figures.")
}

func ratioText(a, b float64) string {
	if a == 0 || b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", a/b)
}

func holdsText(ok *bool, holds func(bool) string) string {
	if ok == nil {
		return ""
	}
	return holds(*ok)
}
