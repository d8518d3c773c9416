package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hotline"
	"hotline/store"
)

// BenchStoreOptions shape `hotline bench store`.
type BenchStoreOptions struct {
	Calls  int // call rows to generate; default 100,000
	PerDay int // calls a day, which sets the span of days; default 9,000 (10M calls ≈ 3 years)
	// Path is the SQLite file. Default: one in a new temporary folder,
	// removed afterwards. An existing file is refused unless Reuse.
	Path  string
	Reuse bool // query an existing file made by an earlier run instead of generating
	// Runs is how many times each query runs with random arguments; default 200.
	Runs int
	// ServiceCalls are written after the generation through the service's
	// own statements, one call at a time; default 2,000.
	ServiceCalls int
	CacheMiB     int    // the writer's and readers' page cache; default 1024
	Seed         uint64 // default 1
	JSONPath     string // also write the result as JSON here
	CPUProfile   string // a CPU profile of the generation goes here (go tool pprof)
	Out          io.Writer
}

func (o *BenchStoreOptions) setDefaults() {
	if o.Calls == 0 {
		o.Calls = 100_000
	}
	if o.PerDay == 0 {
		o.PerDay = 9_000
	}
	if o.Runs == 0 {
		o.Runs = 200
	}
	if o.ServiceCalls == 0 {
		o.ServiceCalls = 2_000
	}
	if o.CacheMiB == 0 {
		o.CacheMiB = 1024
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}

func (o BenchStoreOptions) validate() error {
	switch {
	case o.Calls < 1000 || o.Calls > 100_000_000:
		return fmt.Errorf("bench store: -calls %d must be from 1,000 to 100,000,000", o.Calls)
	case o.PerDay < 100:
		return fmt.Errorf("bench store: -per-day %d must be at least 100", o.PerDay)
	case o.Runs < 1:
		return fmt.Errorf("bench store: -runs %d must be at least 1", o.Runs)
	case o.ServiceCalls < 1:
		return fmt.Errorf("bench store: -service-calls %d must be at least 1", o.ServiceCalls)
	}
	return nil
}

// BenchStoreResult is what `hotline bench store` measured.
type BenchStoreResult struct {
	Calls      int     `json:"calls"`
	Legs       int     `json:"legs"`
	Days       int     `json:"days"`
	DBBytes    int64   `json:"db_bytes"`
	Generated  bool    `json:"generated"` // false when an existing file was reused
	GenSeconds float64 `json:"generate_seconds"`
	// IndexSeconds is the part of GenSeconds spent at the end of the load
	// building the indexes again and counting agent_days.
	IndexSeconds float64 `json:"index_seconds"`
	// InsertCallsPerSecond: call rows (with their legs and rating, and the
	// tasks, promises, violations, reviews and complaints that go with
	// them) written by the store's bulk loader, 20,000 rows to a
	// transaction, the indexes built at the end included.
	InsertCallsPerSecond float64 `json:"insert_calls_per_second"`
	// ServiceCallsPerSecond: calls written as the service writes them, a
	// statement at a time (create, legs, answer, end, rating).
	ServiceCallsPerSecond float64       `json:"service_calls_per_second"`
	ServiceStatements     int           `json:"service_statements_per_call"`
	Queries               []QueryResult `json:"queries"`
	TargetP99Ms           float64       `json:"target_p99_ms"`
}

// QueryResult is one console query: its latency over Runs, the rows it
// returned on average, and its plan.
type QueryResult struct {
	Name      string   `json:"name"`
	Runs      int      `json:"runs"`
	P50Ms     float64  `json:"p50_ms"`
	P99Ms     float64  `json:"p99_ms"`
	MaxMs     float64  `json:"max_ms"`
	Rows      float64  `json:"rows"`
	Plan      []string `json:"plan"`       // the steps of every statement, "--" between statements
	FullScans []string `json:"full_scans"` // steps that read all of calls or call_legs
}

// benchTargetP99 is DESIGN.md's target for the call-log queries on 10M calls.
const benchTargetP99 = 50 * time.Millisecond

// BenchStore generates a call log in a fresh SQLite file, measures the
// insert rate and the console's queries, and writes a Markdown table to
// opts.Out. It fails when a query's plan reads all of calls or call_legs.
func BenchStore(ctx context.Context, opts BenchStoreOptions) (BenchStoreResult, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return BenchStoreResult{}, err
	}
	path := opts.Path
	if path == "" {
		dir, err := os.MkdirTemp("", "hotline-bench-store-")
		if err != nil {
			return BenchStoreResult{}, err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "bench.db")
	}
	_, statErr := os.Stat(path)
	exists := statErr == nil
	switch {
	case exists && !opts.Reuse:
		return BenchStoreResult{}, fmt.Errorf("bench store: %s exists; remove it, or pass -reuse to query it again", path)
	case !exists && opts.Reuse:
		return BenchStoreResult{}, fmt.Errorf("bench store: -reuse: %s does not exist", path)
	}

	w := newBenchWorld(opts)
	db, err := store.Open(ctx, store.Config{Path: path, CacheMiB: opts.CacheMiB}, nil, store.WithClock(w.clock))
	if err != nil {
		return BenchStoreResult{}, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return BenchStoreResult{}, err
	}

	if exists {
		// The file may hold fewer calls than -calls says (a generation
		// stopped early): query the span it holds.
		n, first, last, err := db.CallSpan(ctx)
		if err != nil {
			return BenchStoreResult{}, err
		}
		if n == 0 {
			return BenchStoreResult{}, fmt.Errorf("bench store: -reuse: %s holds no calls", path)
		}
		w.spanOf(first, last)
		opts.Calls = n
		fmt.Fprintf(opts.Out, "%s holds %d calls over %d days\n", path, n, w.days)
	}
	res := BenchStoreResult{Calls: opts.Calls, Days: w.days, TargetP99Ms: ms(benchTargetP99)}
	if !exists {
		fmt.Fprintf(opts.Out, "generating %d calls over %d days into %s …\n", opts.Calls, w.days, path)
		start := time.Now()
		stopProfile, err := startCPUProfile(opts.CPUProfile, "")
		if err != nil {
			return res, err
		}
		res.IndexSeconds, err = w.generate(ctx, db, opts.Out)
		if err = errors.Join(err, stopProfile()); err != nil {
			return res, err
		}
		res.Generated = true
		res.GenSeconds = time.Since(start).Seconds()
		res.InsertCallsPerSecond = float64(opts.Calls) / res.GenSeconds
		res.Legs = w.legs
		start = time.Now()
		statements, err := w.writeAsTheService(ctx, db, opts.ServiceCalls)
		if err != nil {
			return res, err
		}
		res.ServiceCallsPerSecond = float64(opts.ServiceCalls) / time.Since(start).Seconds()
		res.ServiceStatements = statements
	}
	if info, err := os.Stat(path); err == nil {
		res.DBBytes = info.Size()
	}

	for _, q := range w.queries(db) {
		fmt.Fprintf(opts.Out, "query %s …\n", q.name)
		r, err := runQuery(ctx, db, q, opts.Runs)
		if err != nil {
			return res, fmt.Errorf("bench store: %s: %w", q.name, err)
		}
		res.Queries = append(res.Queries, r)
	}

	res.Markdown(opts.Out)
	if opts.JSONPath != "" {
		raw, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return res, err
		}
		if err := os.WriteFile(opts.JSONPath, append(raw, '\n'), 0o644); err != nil {
			return res, fmt.Errorf("bench store: -json: %w", err)
		}
	}
	var scans []string
	for _, q := range res.Queries {
		for _, s := range q.FullScans {
			scans = append(scans, q.Name+": "+s)
		}
	}
	if len(scans) > 0 {
		return res, fmt.Errorf("bench store: a query reads a whole table:\n  %s", strings.Join(scans, "\n  "))
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchQuery is one console query; run makes one call with arguments
// drawn from rng and returns how many rows it read.
type benchQuery struct {
	name string
	run  func(ctx context.Context, db *store.DB, rng *rand.Rand) (int, error)
}

// runQuery runs q once with its plan recorded, then runs times timed.
func runQuery(ctx context.Context, db *store.DB, q benchQuery, runs int) (QueryResult, error) {
	r := QueryResult{Name: q.name, Runs: runs}
	rng := rand.New(rand.NewPCG(uint64(len(q.name)), 99))
	plans := &store.PlanLog{}
	if _, err := q.run(ctx, db.WithPlans(plans), rng); err != nil {
		return r, err
	}
	for i, s := range plans.Take() {
		if i > 0 {
			r.Plan = append(r.Plan, "--")
		}
		r.Plan = append(r.Plan, s.Plan...)
		r.FullScans = append(r.FullScans, s.FullScans()...)
	}
	took := make([]time.Duration, runs)
	rows := 0
	for i := range runs {
		start := time.Now()
		n, err := q.run(ctx, db, rng)
		took[i] = time.Since(start)
		if err != nil {
			return r, err
		}
		rows += n
	}
	slices.Sort(took)
	r.P50Ms = ms(took[(runs-1)/2])
	r.P99Ms = ms(took[int(math.Ceil(0.99*float64(runs)))-1])
	r.MaxMs = ms(took[runs-1])
	r.Rows = float64(rows) / float64(runs)
	return r, nil
}

// Markdown writes the result as a small report: a line on the data and
// the insert rates, a table of the queries, and each query's plan.
func (r BenchStoreResult) Markdown(w io.Writer) {
	fmt.Fprintf(w, "\n### Store: %s calls, %s legs, %d days, SQLite file %.1f MB\n\n", thousands(r.Calls), thousands(r.Legs),
		r.Days, float64(r.DBBytes)/(1<<20))
	if r.Generated {
		fmt.Fprintf(w, "- generated: **%s call rows/s** (with legs, rating and the tasks, promises, violations, reviews and complaints of the calls; the store's bulk loader: 20,000 rows a transaction, the indexes and agent_days built at the end, in %.0f of the %.0f s)\n",
			thousands(int(r.InsertCallsPerSecond)), r.IndexSeconds, r.GenSeconds)
		fmt.Fprintf(w, "- as the service writes them: **%s calls/s** (%d statements a call, each its own transaction)\n",
			thousands(int(r.ServiceCallsPerSecond)), r.ServiceStatements)
	}
	fmt.Fprintf(w, "\n| query | p50 ms | p99 ms | max ms | rows | p99 < %.0f ms | full scan |\n|---|---:|---:|---:|---:|:-:|:-:|\n", r.TargetP99Ms)
	for _, q := range r.Queries {
		ok, scan := "yes", "no"
		if q.P99Ms >= r.TargetP99Ms {
			ok = "**no**"
		}
		if len(q.FullScans) > 0 {
			scan = "**YES**"
		}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.2f | %.1f | %s | %s |\n", q.Name, q.P50Ms, q.P99Ms, q.MaxMs, q.Rows, ok, scan)
	}
	fmt.Fprintf(w, "\nQuery plans (EXPLAIN QUERY PLAN):\n\n")
	for _, q := range r.Queries {
		fmt.Fprintf(w, "- %s\n", q.Name)
		for _, step := range q.Plan {
			fmt.Fprintf(w, "    %s\n", step)
		}
	}
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// benchWorld generates the calls of a city hotline: agents answering in
// working hours, callers calling again, and the callback tasks, promises,
// ratings, violations, reviews and complaints that come with the calls.
type benchWorld struct {
	opts        BenchStoreOptions
	rng         *rand.Rand
	zone        *time.Location
	start, now  time.Time // the first day's midnight; the database's "now", just after the last call
	days        int
	agents      []string
	supervisors []string
	numbers     int // distinct callers
	legs        int
	openNumbers map[string]bool // numbers with an open callback task
}

func newBenchWorld(opts BenchStoreOptions) *benchWorld {
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		zone = time.FixedZone("CST", 8*3600)
	}
	days := max(1, (opts.Calls+opts.PerDay-1)/opts.PerDay)
	end := time.Date(2026, 6, 30, 0, 0, 0, 0, zone)
	w := &benchWorld{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, 7)), zone: zone,
		start: end.AddDate(0, 0, -days), days: days, numbers: max(1000, opts.Calls/5), openNumbers: map[string]bool{}}
	// The database's now: a quarter of an hour after the last call (the
	// last day may be partly filled).
	lastDay, last := end.AddDate(0, 0, -1), (opts.Calls-1)%opts.PerDay
	w.now = lastDay.Add(8*time.Hour + 30*time.Minute + time.Duration(last)*9*time.Hour/time.Duration(opts.PerDay) + 15*time.Minute)
	for i := range 30 {
		w.agents = append(w.agents, fmt.Sprint(1001+i))
	}
	w.supervisors = []string{"2001", "2002", "2003"}
	return w
}

// spanOf sets the days the queries draw from, and now, to what a file
// holds: from the day of its first call to a quarter of an hour after its
// last.
func (w *benchWorld) spanOf(first, last time.Time) {
	f := first.In(w.zone)
	w.start = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, w.zone)
	w.days = max(1, int(last.Sub(w.start)/(24*time.Hour))+1)
	w.now = last.Add(15 * time.Minute)
}

// clock is the database's clock: the time the benchmark stands at.
func (w *benchWorld) clock() time.Time { return w.now }

func (w *benchWorld) pick(list []string) string { return list[w.rng.IntN(len(list))] }

func (w *benchWorld) seconds(lo, hi int) time.Duration {
	return time.Duration(lo*1000+w.rng.IntN((hi-lo)*1000+1)) * time.Millisecond
}

// number is a caller: a few call often, most once or twice; 5% withhold.
func (w *benchWorld) number() (raw, normalised string) {
	if w.rng.IntN(20) == 0 {
		return "anonymous", ""
	}
	i := w.rng.IntN(w.numbers)
	if w.rng.IntN(3) == 0 {
		i = w.rng.IntN(max(1, w.numbers/100))
	}
	n := fmt.Sprintf("13%09d", i)
	return "+86" + n, n
}

// generate writes every day's calls through the store's bulk loader and
// returns how long its end took (building the indexes, counting
// agent_days).
func (w *benchWorld) generate(ctx context.Context, db *store.DB, progress io.Writer) (float64, error) {
	for _, id := range w.agents {
		if err := db.UpsertAgent(ctx, hotline.Agent{ID: id, Name: "坐席" + id, Endpoint: "PJSIP/" + id,
			Role: hotline.RoleAgent, State: hotline.AgentAvailable}); err != nil {
			return 0, err
		}
	}
	for _, id := range w.supervisors {
		if err := db.UpsertAgent(ctx, hotline.Agent{ID: id, Name: "督察" + id, Endpoint: "PJSIP/" + id,
			Role: hotline.RoleSupervisor, State: hotline.AgentAvailable}); err != nil {
			return 0, err
		}
	}
	loader, err := db.NewBulkLoader(ctx, 20_000)
	if err != nil {
		return 0, err
	}
	started, next := time.Now(), 0
	for i := range w.opts.Calls {
		day := i / w.opts.PerDay
		if err := w.call(loader, i, w.start.AddDate(0, 0, day)); err != nil {
			return 0, errors.Join(err, loader.Close())
		}
		if i >= next {
			fmt.Fprintf(progress, "  %s calls, %.0f calls/s\n", thousands(i), float64(i)/max(time.Since(started).Seconds(), 1e-3))
			next += max(w.opts.Calls/10, 1)
		}
		if err := ctx.Err(); err != nil {
			return 0, errors.Join(err, loader.Close())
		}
	}
	fmt.Fprintf(progress, "  %s calls written; building the indexes and counting agent_days …\n", thousands(w.opts.Calls))
	closing := time.Now()
	err = loader.Close()
	return time.Since(closing).Seconds(), err
}

// call makes call number i of a day and what follows from it.
func (w *benchWorld) call(l *store.Loader, i int, day time.Time) error {
	nth := i % w.opts.PerDay
	// Calls arrive through the working day, 08:30–17:30, in order; a few
	// after hours.
	arrived := day.Add(8*time.Hour + 30*time.Minute + time.Duration(nth)*9*time.Hour/time.Duration(w.opts.PerDay) + w.seconds(0, 5))
	afterHours := w.rng.IntN(40) == 0 && day.Add(24*time.Hour).Before(w.now)
	if afterHours {
		arrived = day.Add(19*time.Hour + w.seconds(0, 3*3600))
	}
	raw, number := w.number()
	c := hotline.Call{ID: fmt.Sprintf("c%010d", i), ChannelID: fmt.Sprintf("ch%010d", i), CallerRaw: raw, CallerNumber: number,
		DialedNumber: "12345", Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: arrived.UTC()}
	staff := w.agents
	if w.rng.IntN(12) == 0 {
		c.Line, c.DialedNumber, staff = hotline.LineComplaint, "12340", w.supervisors
	}
	recent := w.now.Sub(arrived) < 20*time.Minute // still going at "now"
	leg := func(agent string, outcome hotline.LegOutcome, rung time.Time) hotline.CallLeg {
		l := hotline.CallLeg{CallID: c.ID, AgentID: agent, ChannelID: fmt.Sprintf("%s-a%s-%d", c.ID, agent, len(c.Legs)),
			Outcome: outcome, RungAt: rung.UTC(), EndedAt: rung.Add(w.seconds(1, 20)).UTC()}
		switch outcome {
		case hotline.LegNoAnswer:
			l.Cause, l.EndedAt = 19, rung.Add(20*time.Second).UTC()
		case hotline.LegBusy:
			l.Cause = 17
		case hotline.LegRinging:
			l.EndedAt = time.Time{}
		}
		return l
	}
	var violations []hotline.Violation
	ring := func(agent string, outcome hotline.LegOutcome, rung time.Time) {
		c.Legs = append(c.Legs, leg(agent, outcome, rung))
		kind := hotline.ViolationRingNotAnswered
		switch outcome {
		case hotline.LegBusy:
			kind = hotline.ViolationRingDeclined
		case hotline.LegNoAnswer:
		default:
			return
		}
		violations = append(violations, hotline.Violation{Kind: kind, AgentID: agent, CallID: c.ID, At: rung.Add(20 * time.Second)})
	}

	r := w.rng.Float64()
	switch {
	case afterHours:
		c.End(arrived.Add(w.seconds(20, 60)), hotline.MissedAfterHours)
	case recent && r < 0.3: // ringing now
		ring(w.pick(staff), hotline.LegRinging, arrived.Add(3*time.Second))
	case r < 0.04: // nobody answered
		ring(w.pick(staff), hotline.LegNoAnswer, arrived.Add(3*time.Second))
		ring(w.pick(staff), []hotline.LegOutcome{hotline.LegNoAnswer, hotline.LegBusy}[w.rng.IntN(2)], arrived.Add(25*time.Second))
		c.End(arrived.Add(50*time.Second), hotline.MissedNoAnswer)
	case r < 0.09: // the citizen gave up
		ring(w.pick(staff), hotline.LegCancelled, arrived.Add(3*time.Second))
		c.End(arrived.Add(w.seconds(5, 40)), hotline.MissedAbandoned)
	case r < 0.11:
		c.End(arrived.Add(w.seconds(30, 90)), hotline.MissedNoAgent)
	default: // answered, sometimes after a first agent let it ring
		rung := arrived.Add(3 * time.Second)
		if x := w.rng.IntN(100); x < 15 {
			ring(w.pick(staff), []hotline.LegOutcome{hotline.LegNoAnswer, hotline.LegBusy}[x%2], rung)
			rung = rung.Add(22 * time.Second)
		}
		winner := w.pick(staff)
		answered := rung.Add(w.seconds(2, 20))
		c.Legs = append(c.Legs, leg(winner, hotline.LegAnswered, rung))
		won := &c.Legs[len(c.Legs)-1]
		won.AnsweredAt = answered.UTC()
		if w.rng.IntN(3) == 0 { // rung beside it and cancelled
			ring(w.pick(staff), hotline.LegCancelled, rung)
		}
		if err := c.Answer(winner, answered.UTC()); err != nil {
			return err
		}
		if !recent || r > 0.5 {
			c.End(answered.Add(w.seconds(30, 600)), "")
			won.Outcome, won.EndedAt = hotline.LegCompleted, c.EndedAt
			if w.rng.IntN(100) < 45 {
				c.Rating = &hotline.Rating{CallID: c.ID, AgentID: winner, Score: w.score(), RatedAt: c.EndedAt.Add(20 * time.Second)}
			}
		}
	}
	w.legs += len(c.Legs)
	if err := l.Call(c); err != nil {
		return err
	}
	for _, v := range violations {
		if err := l.Violation(w.disposed(v)); err != nil {
			return err
		}
	}
	if c.State == hotline.CallMissed && c.CallerNumber != "" {
		if err := w.callbackTask(l, c); err != nil {
			return err
		}
	}
	if c.FirstResponsibleAgent != "" && c.Line == hotline.LineHotline {
		return w.afterAnswer(l, c)
	}
	return nil
}

// score draws a rating: most citizens are satisfied; 0 is "did not rate".
func (w *benchWorld) score() hotline.Satisfaction {
	x := w.rng.IntN(100)
	for i, upTo := range []int{5, 52, 80, 92, 97, 100} {
		if x < upTo {
			return hotline.Satisfaction(i)
		}
	}
	return 0
}

// disposed gives a violation a supervisor's decision a day later: 20%
// confirmed, 10% dismissed, the rest undecided.
func (w *benchWorld) disposed(v hotline.Violation) hotline.Violation {
	switch x := w.rng.IntN(10); {
	case x < 2:
		v.Disposition = hotline.DispositionConfirmed
	case x < 3:
		v.Disposition, v.DisposeReason = hotline.DispositionDismissed, "线路故障"
	default:
		return v
	}
	v.DisposedBy, v.DisposedAt = w.pick(w.supervisors), v.At.Add(24*time.Hour)
	return v
}

// callbackTask is the task of a missed call: due 30 minutes later; open
// when the deadline is still ahead (one per number), else ended, mostly on
// time.
func (w *benchWorld) callbackTask(l *store.Loader, c hotline.Call) error {
	deadline := c.EndedAt.Add(30 * time.Minute)
	t := hotline.CallbackTask{Number: c.CallerNumber, AgentID: w.pick(w.agents), MissedCount: 1, FirstMissed: c.EndedAt,
		Deadline: deadline, CreatedAt: c.EndedAt, CallIDs: []string{c.ID}, State: hotline.CallbackPending}
	if w.now.Sub(c.EndedAt) < 2*time.Hour && !w.openNumbers[c.CallerNumber] {
		w.openNumbers[c.CallerNumber] = true
		t.NextAttempt = c.EndedAt
		_, err := l.Task(t)
		return err
	}
	late := w.rng.IntN(100) < 15
	t.ClosedAt = deadline.Add(-w.seconds(60, 25*60))
	if late {
		t.ClosedAt = deadline.Add(w.seconds(60, 3*3600))
	}
	switch x := w.rng.IntN(100); {
	case x < 70:
		t.State, t.Attempts = hotline.CallbackConnected, 1
	case x < 80:
		t.State, t.CloseReason = hotline.CallbackResolved, "citizen called in"
	case x < 90:
		t.State, t.Attempts = hotline.CallbackUnreachable, 3
	case x < 95:
		t.State, t.CloseReason, t.ClosedBy = hotline.CallbackClosed, "重复来电", w.pick(w.supervisors)
	default:
		t.State, t.Attempts = hotline.CallbackInvalid, 1
	}
	id, err := l.Task(t)
	if err != nil || !late {
		return err
	}
	return l.Violation(w.disposed(hotline.Violation{Kind: hotline.ViolationCallbackOverdue, AgentID: t.AgentID, TaskID: id, At: deadline}))
}

// afterAnswer adds what may follow an answered call: a promised reply (2%),
// a supervisor's review (1%), a complaint (0.2%).
func (w *benchWorld) afterAnswer(l *store.Loader, c hotline.Call) error {
	if w.rng.IntN(50) == 0 {
		deadline := c.ArrivedAt.Add(48 * time.Hour)
		p := hotline.Promise{CallID: c.ID, Number: c.CallerNumber, AgentID: c.FirstResponsibleAgent, CreatedBy: c.FirstResponsibleAgent,
			Summary: "答复办理进度", State: hotline.PromiseOpen, Deadline: deadline, OriginalDeadline: deadline, CreatedAt: c.ArrivedAt}
		switch x := w.rng.IntN(100); {
		case deadline.After(w.now) && x < 70:
		case deadline.After(w.now), x < 85:
			p.State, p.FulfilledHow, p.FulfilledBy = hotline.PromiseFulfilled, "note", p.AgentID
			p.FulfilledAt, p.Evidence = c.ArrivedAt.Add(w.seconds(3600, 40*3600)), "已电话答复"
		case x < 92:
			p.State, p.FulfilledHow, p.FulfilledBy = hotline.PromiseFulfilled, "note", p.AgentID
			p.FulfilledAt, p.Evidence = deadline.Add(w.seconds(600, 24*3600)), "已电话答复"
		case x < 96:
			p.State, p.ClosedAt, p.ClosedBy, p.CloseReason = hotline.PromiseClosed, deadline.Add(-time.Hour), w.pick(w.supervisors), "市民撤回"
		default:
			p.State, p.EscalatedAt = hotline.PromiseEscalated, deadline
		}
		if p.FulfilledAt.After(w.now) {
			p.FulfilledAt = w.now
		}
		if err := l.Promise(p); err != nil {
			return err
		}
	}
	if w.rng.IntN(100) == 0 {
		r := hotline.Review{CallID: c.ID, AgentID: c.FirstResponsibleAgent, SupervisorID: w.pick(w.supervisors),
			Score: 60 + w.rng.IntN(41), CreatedAt: c.ArrivedAt.Add(w.seconds(3600, 3*86400))}
		if w.rng.IntN(5) == 0 {
			r.Flags = []string{w.pick([]string{"推诿", "拒绝", "拖延", "态度"})}
		}
		if err := l.Review(r); err != nil {
			return err
		}
	}
	if w.rng.IntN(500) == 0 {
		return l.Complaint(hotline.Complaint{AgentID: c.FirstResponsibleAgent, AboutCallID: c.ID, Summary: "态度生硬",
			RecordedBy: w.pick(w.supervisors), RecordedAt: c.ArrivedAt.Add(24 * time.Hour)})
	}
	return nil
}

// writeAsTheService writes n answered, rated calls the way the service
// does, one statement at a time, just before the benchmark's now, and
// returns how many statements a call took.
func (w *benchWorld) writeAsTheService(ctx context.Context, db *store.DB, n int) (int, error) {
	const statements = 7 // create, leg, leg answered, call answered, leg completed, call ended, rating
	base := w.now.Add(-50 * time.Minute).UTC()
	for i := range n {
		at := base.Add(time.Duration(i) * time.Millisecond)
		raw, number := w.number()
		c := hotline.Call{ID: fmt.Sprintf("s%010d", i), ChannelID: fmt.Sprintf("sch%010d", i), CallerRaw: raw, CallerNumber: number,
			DialedNumber: "12345", Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: at}
		agent := w.pick(w.agents)
		if err := db.CreateCall(ctx, c); err != nil {
			return 0, err
		}
		l := hotline.CallLeg{CallID: c.ID, AgentID: agent, ChannelID: c.ID + "-a" + agent, Outcome: hotline.LegRinging, RungAt: at.Add(time.Second)}
		id, err := db.AddLeg(ctx, l)
		if err != nil {
			return 0, err
		}
		l.ID, l.Outcome, l.AnsweredAt = id, hotline.LegAnswered, at.Add(5*time.Second)
		if err := db.UpdateLeg(ctx, l); err != nil {
			return 0, err
		}
		if err := c.Answer(agent, l.AnsweredAt); err != nil {
			return 0, err
		}
		if err := db.UpdateCall(ctx, c); err != nil {
			return 0, err
		}
		c.End(at.Add(90*time.Second), "")
		l.Outcome, l.EndedAt = hotline.LegCompleted, c.EndedAt
		if err := db.UpdateLeg(ctx, l); err != nil {
			return 0, err
		}
		if err := db.UpdateCall(ctx, c); err != nil {
			return 0, err
		}
		if err := db.SaveRating(ctx, hotline.Rating{CallID: c.ID, AgentID: agent, Score: hotline.Satisfied, RatedAt: c.EndedAt}); err != nil {
			return 0, err
		}
	}
	return statements, nil
}

// month is the month of a random day of the span, [first day, next first day).
func (w *benchWorld) month(rng *rand.Rand) (time.Time, time.Time) {
	d := w.start.AddDate(0, 0, rng.IntN(w.days))
	first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, w.zone)
	return first, first.AddDate(0, 1, 0)
}

// queries are the console's queries, with arguments a supervisor would
// give: an agent and a month, an agent's own calls as it lists them, a
// caller, the slow pairs of the call log
// (state and agent, state and number, number and agent), a day's missed
// calls, the overdue callbacks, and the 7.3 report for a year, a month and
// one agent's year.
func (w *benchWorld) queries(db *store.DB) []benchQuery {
	states := []hotline.CallState{hotline.CallRinging, hotline.CallAnswered, hotline.CallCompleted, hotline.CallMissed}
	number := func(rng *rand.Rand) string {
		i := rng.IntN(w.numbers)
		if rng.IntN(3) == 0 {
			i = rng.IntN(max(1, w.numbers/100))
		}
		return fmt.Sprintf("13%09d", i)
	}
	agent := func(rng *rand.Rand) string { return w.agents[rng.IntN(len(w.agents))] }
	list := func(f func(rng *rand.Rand) store.CallFilter) func(context.Context, *store.DB, *rand.Rand) (int, error) {
		return func(ctx context.Context, db *store.DB, rng *rand.Rand) (int, error) {
			calls, err := db.ListCalls(ctx, f(rng))
			return len(calls), err
		}
	}
	report := func(period func(rng *rand.Rand) (time.Time, time.Time), one bool) func(context.Context, *store.DB, *rand.Rand) (int, error) {
		return func(ctx context.Context, db *store.DB, rng *rand.Rand) (int, error) {
			from, end := period(rng)
			f := store.ReportFilter{From: from, End: end}
			if one {
				f.AgentID = agent(rng)
			}
			rows, err := db.AgentReports(ctx, f)
			return len(rows), err
		}
	}
	year := func(rng *rand.Rand) (time.Time, time.Time) {
		d := w.start.AddDate(0, 0, rng.IntN(w.days))
		first := time.Date(d.Year(), 1, 1, 0, 0, 0, 0, w.zone)
		return first, first.AddDate(1, 0, 0)
	}
	return []benchQuery{
		{"call log: agent × month", list(func(rng *rand.Rand) store.CallFilter {
			from, until := w.month(rng)
			return store.CallFilter{AgentID: agent(rng), Since: from, Until: until}
		})},
		{"call log: an agent's own, a month", list(func(rng *rand.Rand) store.CallFilter {
			from, until := w.month(rng)
			return store.CallFilter{Party: agent(rng), Since: from, Until: until}
		})},
		{"call log: caller", list(func(rng *rand.Rand) store.CallFilter { return store.CallFilter{CallerNumber: number(rng)} })},
		{"call log: state + agent", list(func(rng *rand.Rand) store.CallFilter {
			return store.CallFilter{State: states[rng.IntN(len(states))], AgentID: agent(rng)}
		})},
		{"call log: state + caller", list(func(rng *rand.Rand) store.CallFilter {
			return store.CallFilter{State: states[rng.IntN(len(states))], CallerNumber: number(rng)}
		})},
		{"call log: caller + agent", list(func(rng *rand.Rand) store.CallFilter {
			return store.CallFilter{CallerNumber: number(rng), AgentID: agent(rng)}
		})},
		{"call log: a day's missed calls", list(func(rng *rand.Rand) store.CallFilter {
			d := w.start.AddDate(0, 0, rng.IntN(w.days))
			return store.CallFilter{Outcome: hotline.OutcomeMissed, Since: d, Until: d.AddDate(0, 0, 1)}
		})},
		{"call log: rated, a month, next page", func(ctx context.Context, db *store.DB, rng *rand.Rand) (int, error) {
			from, until := w.month(rng)
			yes := true
			f := store.CallFilter{Rated: &yes, Since: from, Until: until}
			first, err := db.ListCalls(ctx, f)
			if err != nil || len(first) == 0 {
				return 0, err
			}
			f.After = hotline.CursorAfter(first[len(first)-1])
			next, err := db.ListCalls(ctx, f)
			return len(next), err
		}},
		{"overdue callbacks", func(ctx context.Context, db *store.DB, _ *rand.Rand) (int, error) {
			tasks, err := db.ListTasks(ctx, store.TaskFilter{OverdueAt: w.now})
			return len(tasks), err
		}},
		{"7.3 report: a year", report(year, false)},
		{"7.3 report: a month", report(w.month, false)},
		{"7.3 report: one agent, a year", report(year, true)},
	}
}
