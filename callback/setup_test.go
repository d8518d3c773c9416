package callback

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/store"
)

// The real store is what the service is written against.
var _ Store = (*store.DB)(nil)

// shanghai is the calendar's zone; the test dates are plain workdays
// (Thursday 2026-11-26, Friday 2026-11-27, Monday 2026-11-30).
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, shanghai)
}

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testRedis is the Redis of one test: the server at REDIS_URL (CI) under
// a key prefix of the test's own, or an embedded miniredis of its own.
// Every client it makes can be cut off (Down) and reconnected (Up).
type testRedis struct {
	t      *testing.T
	url    string               // real server, or ""
	mini   *miniredis.Miniredis // embedded server, or nil
	prefix string
	down   atomic.Bool
	closed string // an address nothing listens on

	mu    sync.Mutex
	conns []net.Conn
}

func newTestRedis(t *testing.T) *testRedis {
	t.Helper()
	r := &testRedis{t: t, url: os.Getenv("REDIS_URL")}
	if r.url == "" {
		r.mini = miniredis.NewMiniRedis()
		require.NoError(t, r.mini.Start())
		t.Cleanup(r.mini.Close)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	r.prefix = "test:" + strings.NewReplacer(" ", "_", "{", "(", "}", ")").Replace(t.Name()) + ":" + hex.EncodeToString(b[:])
	if r.url != "" {
		t.Cleanup(func() {
			r.down.Store(false)
			r.deleteKeys(context.Background())
		})
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r.closed = l.Addr().String()
	require.NoError(t, l.Close())
	return r
}

// client is a new connection pool to the test's Redis: one per service
// instance, as separate processes would have. Retries are off so a
// failure shows at once.
func (r *testRedis) client() redis.UniversalClient {
	c := r.rawClient()
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (r *testRedis) rawClient() redis.UniversalClient {
	var opts *redis.Options
	if r.url != "" {
		var err error
		opts, err = redis.ParseURL(r.url)
		require.NoError(r.t, err)
	} else {
		opts = &redis.Options{Addr: r.mini.Addr()}
	}
	addr := opts.Addr
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DialTimeout = time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.PoolSize = 200 // never reaches the pool's dial-error breaker in a test
	opts.Dialer = func(ctx context.Context, network, _ string) (net.Conn, error) {
		to := addr
		if r.down.Load() {
			to = r.closed // a real server "stops": the client points at a closed port
		}
		c, err := (&net.Dialer{}).DialContext(ctx, network, to)
		if err == nil {
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
		}
		return c, err
	}
	return redis.NewClient(opts)
}

// Down stops Redis for every client: the embedded server is closed; a real
// one is left alone and the clients' connections are cut and redirected
// to a closed port.
func (r *testRedis) Down() {
	if r.mini != nil {
		r.mini.Close()
		return
	}
	r.down.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.conns = nil
}

// Up brings Redis back with its data.
func (r *testRedis) Up() {
	if r.mini != nil {
		require.NoError(r.t, r.mini.Restart())
		return
	}
	r.down.Store(false)
}

// Flush loses every key: FLUSHALL on the embedded server; on a real server
// shared with other tests and packages, the same for this test's keys
// (every one lives under its prefix).
func (r *testRedis) Flush(ctx context.Context) {
	if r.mini != nil {
		r.mini.FlushAll()
		return
	}
	r.deleteKeys(ctx)
}

func (r *testRedis) deleteKeys(ctx context.Context) {
	c := r.rawClient()
	defer c.Close()
	iter := c.Scan(ctx, 0, "{"+r.prefix+"}:*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	require.NoError(r.t, iter.Err())
	if len(keys) > 0 {
		require.NoError(r.t, c.Del(ctx, keys...).Err())
	}
}

// syncBuffer is a log sink tests read while services write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// dialLog counts the dials of each task, and how many of a task ran at once.
type dialLog struct {
	mu        sync.Mutex
	dials     map[int64]int
	active    map[int64]int
	maxActive int
	total     atomic.Int64
}

func newDialLog() *dialLog { return &dialLog{dials: map[int64]int{}, active: map[int64]int{}} }

func (d *dialLog) begin(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials[id]++
	d.active[id]++
	d.maxActive = max(d.maxActive, d.active[id])
	d.total.Add(1)
}

func (d *dialLog) end(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.active[id]--
}

func (d *dialLog) count(id int64) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials[id]
}

// notes records what the notifier was asked to say.
type notes struct {
	mu          sync.Mutex
	supervisors []string
	agents      []string // "agent: text"
}

func (n *notes) notifier() Notifier {
	return NotifierFuncs{
		Supervisors: func(_ context.Context, text string) error {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.supervisors = append(n.supervisors, text)
			return nil
		},
		Agent: func(_ context.Context, agentID, text string) error {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.agents = append(n.agents, agentID+": "+text)
			return nil
		},
	}
}

func (n *notes) snapshot() (supervisors, agents []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.supervisors...), append([]string(nil), n.agents...)
}

// bundle is one test's world: a real SQLite store in a temporary folder,
// a Redis, a calendar with the default hours, a clock the test moves, and
// a log to read.
type bundle struct {
	t      *testing.T
	ctx    context.Context
	path   string
	db     *store.DB
	clock  *testClock
	cal    *hotline.Calendar
	redis  *testRedis
	logs   *syncBuffer
	notes  *notes
	calls  atomic.Int64
	config Config
	// allowErrors: the test provokes failures, so error logs are expected.
	allowErrors bool
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{t: t, ctx: t.Context(), path: filepath.Join(t.TempDir(), "hotline.db"),
		clock: &testClock{now: at(11, 27, 10, 0)}, logs: &syncBuffer{}, notes: &notes{}}
	b.db = b.openStore()
	_, err := b.db.Migrate(b.ctx)
	require.NoError(t, err)
	b.cal, err = hotline.NewCalendar(hotline.CalendarConfig{})
	require.NoError(t, err)
	b.redis = newTestRedis(t)
	b.config = Config{EngineConfig: EngineConfig{KeyPrefix: b.redis.prefix}}
	t.Cleanup(func() {
		if b.allowErrors {
			return
		}
		for _, line := range strings.Split(b.logs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) && !b.expectedWarning(line) {
				t.Errorf("unexpected log: %s", line)
			}
		}
	})
	for _, id := range []string{"a1", "a2"} {
		require.NoError(t, b.db.UpsertAgent(b.ctx, hotline.Agent{ID: id, Name: "坐席 " + id, Endpoint: "PJSIP/" + id,
			Role: hotline.RoleAgent, State: hotline.AgentAvailable, StateSince: b.clock.Now()}))
	}
	return b
}

// expectedWarning: warnings the scenarios cause on purpose.
func (b *bundle) expectedWarning(line string) bool {
	for _, w := range []string{"missed call cannot be called back", "callback overdue: escalated", "callback index is gone"} {
		if strings.Contains(line, w) {
			return true
		}
	}
	return false
}

// openStore opens the test's database file once more, as another process
// would.
func (b *bundle) openStore() *store.DB {
	db, err := store.Open(b.ctx, store.Config{Path: b.path}, slog.New(slog.DiscardHandler), store.WithClock(b.clock.Now))
	require.NoError(b.t, err)
	b.t.Cleanup(func() { _ = db.Close() })
	return db
}

// instance is one service instance with its own database handle, Redis
// client and metrics, sharing the test's database file and Redis.
type instance struct {
	*Service
	reg *prometheus.Registry
}

func (b *bundle) service(dialer Dialer, configure ...func(*Config)) instance {
	b.t.Helper()
	return b.serviceWith(dialer, func(*Deps) {}, configure...)
}

// serviceWith is service with deps changed by with.
func (b *bundle) serviceWith(dialer Dialer, with func(*Deps), configure ...func(*Config)) instance {
	b.t.Helper()
	cfg := b.config
	for _, c := range configure {
		c(&cfg)
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := Deps{Store: b.openStore(), Dialer: dialer, Common: Common{Redis: b.redis.client(), Calendar: b.cal,
		Notifier: b.notes.notifier(), Log: log, Now: b.clock.Now, Registry: reg}}
	with(&deps)
	s, err := New(cfg, deps)
	require.NoError(b.t, err)
	return instance{Service: s, reg: reg}
}

// missedCall stores a call from number that nobody answered, ended at the
// clock's time, as the call flow does before it tells the service.
func (b *bundle) missedCall(number, raw string) hotline.Call {
	b.t.Helper()
	now := b.clock.Now()
	id := fmt.Sprintf("c%d", b.calls.Add(1))
	c := hotline.Call{ID: id, ChannelID: "chan-" + id, CallerRaw: raw, CallerNumber: number, DialedNumber: "12345",
		Line: hotline.LineHotline, State: hotline.CallMissed, MissedReason: hotline.MissedNoAnswer,
		ArrivedAt: now.Add(-30 * time.Second), EndedAt: now}
	require.NoError(b.t, b.db.CreateCall(b.ctx, c))
	return c
}

// miss stores a missed call from number and hands it to s.
func (b *bundle) miss(s instance, number, offeredTo string) {
	b.t.Helper()
	require.NoError(b.t, s.MissedCall(b.ctx, b.missedCall(number, "+86"+number), offeredTo))
}

func (b *bundle) task(id int64) hotline.CallbackTask {
	b.t.Helper()
	task, err := b.db.GetTask(b.ctx, id)
	require.NoError(b.t, err)
	return task
}

func (b *bundle) openTasks() []hotline.CallbackTask {
	b.t.Helper()
	var open []hotline.CallbackTask
	for _, st := range []hotline.CallbackState{hotline.CallbackPending, hotline.CallbackDialing} {
		tasks, err := b.db.ListTasks(b.ctx, store.TaskFilter{State: st, Limit: store.MaxListLimit})
		require.NoError(b.t, err)
		open = append(open, tasks...)
	}
	return open
}

func counter(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// finishing is a dialer that makes one attempt by agent and finishes it
// with outcome at once, counting dials.
func finishing(t *testing.T, log *dialLog, agent string, outcome func(id int64) hotline.AttemptOutcome) Dialer {
	return DialerFunc(func(ctx context.Context, task hotline.CallbackTask, lease *Lease) {
		log.begin(task.ID)
		defer log.end(task.ID)
		a, err := lease.Start(ctx, agent)
		if !assertNoError(t, err, "start attempt on task %d", task.ID) {
			return
		}
		assertNoError(t, lease.Finish(ctx, a, outcome(task.ID)), "finish attempt on task %d", task.ID)
	})
}

// assertNoError reports err without stopping the test: dialers may run on
// goroutines of their own.
func assertNoError(t *testing.T, err error, format string, args ...any) bool {
	if err != nil {
		t.Errorf("%s: %v", fmt.Sprintf(format, args...), err)
		return false
	}
	return true
}
