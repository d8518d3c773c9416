package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"hotline"
	"hotline/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// downHook fails every command while down is set: Redis cut off.
type downHook struct{ down *atomic.Bool }

func (h downHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h downHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.down.Load() {
			return errors.New("redis cut off by the test")
		}
		return next(ctx, cmd)
	}
}

func (h downHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.down.Load() {
			return errors.New("redis cut off by the test")
		}
		return next(ctx, cmds)
	}
}

// fakeSwitch records what the keeper switches.
type fakeSwitch struct {
	mu     sync.Mutex
	ctx    context.Context
	on     int
	off    int
	active chan struct{} // gets a value at every Activate
}

func newFakeSwitch() *fakeSwitch { return &fakeSwitch{active: make(chan struct{}, 16)} }

func (s *fakeSwitch) Activate(ctx context.Context) {
	s.mu.Lock()
	s.ctx, s.on = ctx, s.on+1
	s.mu.Unlock()
	s.active <- struct{}{}
}

func (s *fakeSwitch) Deactivate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.off++
}

func (s *fakeSwitch) counts() (on, off int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.on, s.off
}

func (s *fakeSwitch) context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx
}

// rig is one Redis (REDIS_URL's under a prefix of the test's own, or an
// embedded one) and the databases instances use.
type rig struct {
	t      *testing.T
	url    string
	mini   *miniredis.Miniredis
	prefix string
	clock  *testClock
}

func setup(t *testing.T) *rig {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	r := &rig{t: t, url: os.Getenv("REDIS_URL"), prefix: "test-lease-" + hex.EncodeToString(b[:]), clock: &testClock{now: t0}}
	if r.url == "" {
		r.mini = miniredis.RunT(t)
	}
	return r
}

func (r *rig) client() (redis.UniversalClient, *atomic.Bool) {
	var opts *redis.Options
	if r.url != "" {
		var err error
		opts, err = redis.ParseURL(r.url)
		require.NoError(r.t, err)
	} else {
		opts = &redis.Options{Addr: r.mini.Addr()}
	}
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	down := &atomic.Bool{}
	c.AddHook(downHook{down})
	r.t.Cleanup(func() { _ = c.Close() })
	return c, down
}

func (r *rig) database() *store.DB {
	db, err := store.Open(r.t.Context(), store.Config{Path: filepath.Join(r.t.TempDir(), "hotline.db")}, nil)
	require.NoError(r.t, err)
	r.t.Cleanup(func() { _ = db.Close() })
	_, err = db.Migrate(r.t.Context())
	require.NoError(r.t, err)
	return db
}

func (r *rig) config() Config {
	return Config{Name: "hotline@127.0.0.1:8088", KeyPrefix: r.prefix, TTL: 600 * time.Millisecond, Renew: 50 * time.Millisecond}
}

// instance is one service instance's keeper.
type instance struct {
	k    *Keeper
	sw   *fakeSwitch
	down *atomic.Bool
	rdb  redis.UniversalClient
	reg  *prometheus.Registry
}

func (r *rig) instance(db Fences, addr string) *instance {
	rdb, down := r.client()
	sw := newFakeSwitch()
	reg := prometheus.NewRegistry()
	k, err := New(r.config(), Deps{Redis: rdb, Fences: db, Switch: sw, Addr: addr, Now: r.clock.Now, Registry: reg})
	require.NoError(r.t, err)
	return &instance{k: k, sw: sw, down: down, rdb: rdb, reg: reg}
}

func TestOneInstanceHoldsTheLeaseAndTheOtherWaits(t *testing.T) {
	t.Parallel()
	r := setup(t)
	db := r.database()
	a, b := r.instance(db, "127.0.0.1:38080"), r.instance(db, "127.0.0.1:38081")

	a.k.runOnce(t.Context())
	b.k.runOnce(t.Context())
	require.True(t, a.k.Held())
	require.False(t, b.k.Held())
	st := b.k.Status()
	require.Equal(t, Standby, st.Role)
	require.Equal(t, a.k.Status().Self.Instance, st.Holder.Instance)
	require.Equal(t, "127.0.0.1:38080", st.Holder.Addr, "a standby can say where the holder is")
	require.Equal(t, "another instance holds the lease", st.Why)
	on, _ := a.sw.counts()
	require.Equal(t, 1, on)
	on, _ = b.sw.counts()
	require.Equal(t, 0, on)
	require.Equal(t, 1.0, testutil.ToFloat64(a.k.m.held))
	require.Equal(t, 0.0, testutil.ToFloat64(b.k.m.held))

	// The holder's work writes under its fence; so does its next renewal.
	fence, ok := store.FenceOf(a.sw.context())
	require.True(t, ok)
	require.Equal(t, store.Fence{Lease: "hotline@127.0.0.1:8088", Token: a.k.Status().Self.Token}, fence)
	require.NoError(t, db.CreateCall(a.sw.context(), hotline.Call{ID: "c1", ChannelID: "ch1", Line: hotline.LineHotline,
		State: hotline.CallRinging, ArrivedAt: t0}))
	a.k.runOnce(t.Context())
	b.k.runOnce(t.Context())
	require.True(t, a.k.Held())
	require.False(t, b.k.Held())
}

func TestAStandbyTakesOverWhenTheHolderDiesAndTheOldHolderWritesNothing(t *testing.T) {
	t.Parallel()
	r := setup(t)
	db := r.database()
	a, b := r.instance(db, "a"), r.instance(db, "b")
	a.k.runOnce(t.Context())
	require.True(t, a.k.Held())
	oldCtx := a.sw.context()

	// a freezes (no renewal, no hand-back); b tries every Renew.
	b.k.Start(t.Context())
	t.Cleanup(b.k.Stop)
	start := time.Now()
	if r.mini != nil {
		r.mini.FastForward(r.config().TTL) // the embedded Redis expires keys on its own clock
	}
	select {
	case <-b.sw.active:
	case <-time.After(10 * time.Second):
		t.Fatal("the standby did not take over")
	}
	took := time.Since(start)
	cfg := r.config()
	require.Less(t, took, cfg.TTL+3*cfg.Renew+time.Second, "TTL, a try, and a renewal's wait for the old holder")
	require.True(t, b.k.Held())

	err := db.CreateCall(oldCtx, hotline.Call{ID: "late", ChannelID: "ch", Line: hotline.LineHotline, State: hotline.CallRinging, ArrivedAt: t0})
	require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "the old holder's writes are refused")
	require.NoError(t, db.CreateCall(b.sw.context(), hotline.Call{ID: "new", ChannelID: "ch", Line: hotline.LineHotline,
		State: hotline.CallRinging, ArrivedAt: t0}))
	require.Greater(t, b.k.Status().Self.Token, a.k.Status().Self.Token)

	// a wakes up: Redis says the lease is b's, so it stops at once.
	a.k.runOnce(t.Context())
	require.False(t, a.k.Held())
	_, off := a.sw.counts()
	require.Equal(t, 1, off)
	require.Error(t, oldCtx.Err(), "the old holder's work context ends")
	require.Equal(t, 1.0, testutil.ToFloat64(a.k.m.lost))
}

func TestTheHolderKeepsTheLeaseThroughARedisOutageWhileTheFenceIsItsOwn(t *testing.T) {
	t.Parallel()
	r := setup(t)
	db := r.database()
	a := r.instance(db, "a")
	a.k.runOnce(t.Context())
	require.True(t, a.k.Held())

	a.down.Store(true)
	for range 5 {
		r.clock.Advance(r.config().TTL)
		a.k.runOnce(t.Context())
		require.True(t, a.k.Held(), "nobody raised the fence: the calls go on")
	}
	require.Equal(t, 5.0, testutil.ToFloat64(a.k.m.renewFailures))

	// Redis comes back empty: the holder puts its lease back, and another
	// instance waits.
	a.down.Store(false)
	require.NoError(t, a.rdb.Del(t.Context(), a.k.keys.list()...).Err())
	a.k.runOnce(t.Context())
	require.True(t, a.k.Held())
	b := r.instance(db, "b")
	b.k.runOnce(t.Context())
	require.False(t, b.k.Held())
	require.Equal(t, a.k.Status().Self.Instance, b.k.Status().Holder.Instance)

	// Cut off again while another instance raises the fence: the holder
	// stops at its next renewal.
	a.down.Store(true)
	require.NoError(t, db.RaiseFence(t.Context(), r.config().Name, a.k.Status().Self.Token+1, "someone", t0))
	a.k.runOnce(t.Context())
	require.False(t, a.k.Held())
	_, off := a.sw.counts()
	require.Equal(t, 1, off)
}

// brokenFences is a database that cannot be read.
type brokenFences struct{ Fences }

func (brokenFences) GetLeaseFence(context.Context, string) (store.LeaseFence, error) {
	return store.LeaseFence{}, hotline.Errorf(hotline.KindUnavailable, "test", "database down")
}

func TestTheHolderStopsWhenNeitherRedisNorTheDatabaseConfirmItsLease(t *testing.T) {
	t.Parallel()
	r := setup(t)
	db := r.database()
	fences := &switchableFences{Fences: db}
	a := r.instance(fences, "a")
	a.k.runOnce(t.Context())
	require.True(t, a.k.Held())

	a.down.Store(true)
	fences.broken.Store(true)
	a.k.runOnce(t.Context())
	require.True(t, a.k.Held(), "within TTL of the last renewal")
	r.clock.Advance(r.config().TTL + time.Millisecond)
	a.k.runOnce(t.Context())
	require.False(t, a.k.Held(), "past TTL with nothing to confirm it")
}

type switchableFences struct {
	Fences
	broken atomic.Bool
}

func (f *switchableFences) GetLeaseFence(ctx context.Context, lease string) (store.LeaseFence, error) {
	if f.broken.Load() {
		return brokenFences{}.GetLeaseFence(ctx, lease)
	}
	return f.Fences.GetLeaseFence(ctx, lease)
}

func TestTokensKeepRisingWhenRedisForgetsThem(t *testing.T) {
	t.Parallel()
	r := setup(t)
	db := r.database()
	a := r.instance(db, "a")
	a.k.runOnce(t.Context())
	first := a.k.Status().Self.Token
	a.k.Stop() // never started: nothing happens
	require.True(t, a.k.Held())

	// Redis restarted empty after a handed-back lease: the next token
	// still rises above the database's fence.
	require.NoError(t, a.rdb.Del(t.Context(), a.k.keys.list()...).Err())
	b := r.instance(db, "b")
	b.k.runOnce(t.Context())
	require.True(t, b.k.Held())
	require.Greater(t, b.k.Status().Self.Token, first)
	fence, err := db.GetLeaseFence(t.Context(), r.config().Name)
	require.NoError(t, err)
	require.Equal(t, b.k.Status().Self.Token, fence.Token)
	require.Equal(t, b.k.Status().Self.Instance, fence.Holder)
}

func TestStopHandsTheLeaseBack(t *testing.T) {
	t.Parallel()
	r := setup(t)
	db := r.database()
	a, b := r.instance(db, "a"), r.instance(db, "b")
	a.k.Start(t.Context())
	<-a.sw.active
	b.k.runOnce(t.Context())
	require.False(t, b.k.Held())

	a.k.Stop()
	require.False(t, a.k.Held())
	_, off := a.sw.counts()
	require.Equal(t, 1, off)
	b.k.runOnce(t.Context())
	require.True(t, b.k.Held(), "no wait for the TTL")
}

func TestAnInstanceOnAnotherDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	r := setup(t)
	shared, own := r.database(), r.database()
	a, c := r.instance(shared, "a"), r.instance(own, "c")
	a.k.runOnce(t.Context())
	require.True(t, a.k.Held())

	c.k.Start(t.Context())
	t.Cleanup(c.k.Stop)
	select {
	case <-c.k.Refused():
	case <-time.After(10 * time.Second):
		t.Fatal("not refused")
	}
	require.ErrorIs(t, c.k.Err(), ErrOtherDatabase)
	require.ErrorContains(t, c.k.Err(), "split the call log")
	require.ErrorContains(t, c.k.Err(), "hotline lease reset")
	require.Equal(t, Refused, c.k.Status().Role)
	on, _ := c.sw.counts()
	require.Equal(t, 0, on)

	// Refused even once the holder has gone: the lease remembers its database.
	rdb, _ := r.client()
	require.NoError(t, rdb.Del(t.Context(), a.k.keys.holder).Err())
	late := r.instance(own, "late")
	late.k.runOnce(t.Context())
	require.Equal(t, Refused, late.k.Status().Role)

	// An operator who replaced the database on purpose resets the lease.
	h, held, database, err := Read(t.Context(), r.config(), rdb)
	require.NoError(t, err)
	require.False(t, held, "%+v", h)
	sharedID, err := shared.DatabaseID(t.Context())
	require.NoError(t, err)
	require.Equal(t, sharedID, database)
	require.NoError(t, Forget(t.Context(), r.config(), rdb))
	again := r.instance(own, "again")
	again.k.runOnce(t.Context())
	require.True(t, again.k.Held())
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no name", func(c *Config) { c.Name = "" }, "lease.name: must not be empty"},
		{"braces", func(c *Config) { c.Name = "a{b}" }, "lease.name"},
		{"space in prefix", func(c *Config) { c.KeyPrefix = "a b" }, "lease.key_prefix"},
		{"ttl too short", func(c *Config) { c.TTL = 2 * time.Second }, "lease.ttl"},
		{"ttl too long", func(c *Config) { c.TTL = 2 * time.Minute }, "lease.ttl"},
		{"renew too short", func(c *Config) { c.Renew = time.Millisecond }, "lease.renew"},
	}
	for _, tt := range tests {
		c := Config{Name: "hotline@127.0.0.1:8088"}
		c.SetDefaults()
		tt.edit(&c)
		err := c.Validate()
		if tt.want == "" {
			require.NoError(t, err, tt.name)
			continue
		}
		require.ErrorContains(t, err, tt.want, tt.name)
	}
}
