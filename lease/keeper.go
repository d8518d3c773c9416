// Package lease decides which service instance drives an Asterisk server:
// real Asterisk gives an application's events to the last websocket that
// connected with its name and silently mutes the others
// (ApplicationReplaced), so two instances must never both connect. One
// instance holds the server's lease, in Redis, with a fencing token that
// only grows; the others wait as standby, serve the API and the console,
// and take over within seconds of the holder's death.
//
// The token is also raised in the database (store.RaiseFence) before the
// new holder acts, and every write the lease guards carries it
// (store.WithFence) and is refused once a newer holder has raised its own:
// a holder that lost the lease without noticing yet changes nothing.
//
// The lease names the database its holders write to; an instance on
// another database (its own SQLite file) is refused and says so, rather
// than splitting the call log.
//
// It is its own package beside callback, which also uses Redis, because
// it concerns the whole instance (the ARI connection, every background
// job), not the deadlines; app wires it.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline"
	"hotline/store"
)

// Fences is what the keeper needs of the database (*store.DB).
type Fences interface {
	DatabaseID(ctx context.Context) (string, error)
	RaiseFence(ctx context.Context, lease string, token int64, holder string, at time.Time) error
	GetLeaseFence(ctx context.Context, lease string) (store.LeaseFence, error)
}

// Switch is what the holder runs. Activate starts taking calls and work
// (the ARI connection reconciles before it takes a new call) on ctx, which
// carries the lease's fence and ends when the lease is lost or the keeper
// stops; Deactivate stops all of it and returns once it has stopped.
type Switch interface {
	Activate(ctx context.Context)
	Deactivate()
}

// SwitchFuncs adapts two functions to Switch.
type SwitchFuncs struct {
	On  func(ctx context.Context)
	Off func()
}

// Activate calls On.
func (s SwitchFuncs) Activate(ctx context.Context) { s.On(ctx) }

// Deactivate calls Off.
func (s SwitchFuncs) Deactivate() { s.Off() }

// Deps are the keeper's collaborators; Redis, Fences and Switch are
// required.
type Deps struct {
	Redis  redis.UniversalClient
	Fences Fences
	Switch Switch
	// Addr is this instance's HTTP address, shown to the others' operators.
	Addr     string
	Log      *slog.Logger          // default: discard
	Now      func() time.Time      // default: time.Now
	Registry prometheus.Registerer // nil: metrics are not registered
	// Busy, when set, says how many other servers' leases this instance
	// holds. A busy instance leaves a free lease to an idle one: it takes
	// it only after seeing it free 2 × Busy() tries in a row (2 × renew per
	// lease it holds), so instances spread the servers among them.
	Busy func() int
}

// Role is what an instance is for a lease.
type Role string

// Roles.
const (
	Standby Role = "standby" // waits; serves the API and the console
	Active  Role = "active"  // holds the lease: drives Asterisk and runs the work
	Refused Role = "refused" // on another database than the lease's: never takes it
)

// Status is the keeper's view, for /readyz and the logs.
type Status struct {
	Role  Role
	Lease string
	Self  Holder
	// Holder is who holds the lease, as last seen, while standby.
	Holder Holder
	// Why says what keeps a standby from taking the lease ("" while active).
	Why string
}

// ErrOtherDatabase is the error of an instance refused because the lease's
// holders write to another database.
var ErrOtherDatabase = errors.New("the lease's holders write to another database")

// Keeper holds or waits for one lease (a start/stop service; runOnce is
// one renewal or attempt).
type Keeper struct {
	cfg  Config
	d    Deps
	keys keys
	log  *slog.Logger
	m    *metrics

	mu       sync.Mutex
	self     Holder // instance, database, addr; token and since while active
	role     Role
	holder   Holder
	why      string
	lastOK   time.Time // last renewal Redis confirmed
	cancel   context.CancelFunc
	refused  error
	refusedC chan struct{}

	loopCancel context.CancelFunc
	loopDone   chan struct{}
	tried      chan struct{} // closed after the first attempt
	freeSeen   int           // tries in a row a busy instance saw the lease free
}

// New builds a keeper; Start runs it.
func New(cfg Config, d Deps) (*Keeper, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case d.Redis == nil:
		return nil, errors.New("lease.New: a Redis client is required")
	case d.Fences == nil:
		return nil, errors.New("lease.New: the database's fences are required")
	case d.Switch == nil:
		return nil, errors.New("lease.New: a switch is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	k := &Keeper{cfg: cfg, d: d, keys: newKeys(cfg.KeyPrefix, cfg.Name), log: d.Log.With("component", "lease", "lease", cfg.Name),
		m: newMetrics(cfg.Name, d.Registry), role: Standby, why: "not tried yet", refusedC: make(chan struct{}),
		tried: make(chan struct{})}
	k.self = Holder{Instance: instanceID(), Addr: d.Addr}
	return k, nil
}

// instanceID names this process among the instances: host, process id and
// a random part, so a restarted process is another holder.
func instanceID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

// Status returns the keeper's view now.
func (k *Keeper) Status() Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	return Status{Role: k.role, Lease: k.cfg.Name, Self: k.self, Holder: k.holder, Why: k.why}
}

// Held reports whether this instance holds the lease.
func (k *Keeper) Held() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.role == Active
}

// Refused is closed when the keeper gave up for good: the lease's holders
// write to another database (Err says so).
func (k *Keeper) Refused() <-chan struct{} { return k.refusedC }

// Err is why the keeper gave up, once Refused is closed.
func (k *Keeper) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.refused
}

// Start tries for the lease at once and then every Renew, holds it while
// it can, and switches the work on and off with it, until Stop.
func (k *Keeper) Start(ctx context.Context) {
	ctx, k.loopCancel = context.WithCancel(ctx)
	k.loopDone = make(chan struct{})
	go func() {
		defer close(k.loopDone)
		t := time.NewTicker(k.cfg.Renew)
		defer t.Stop()
		first := true
		for {
			k.runOnce(ctx)
			if first {
				close(k.tried)
				first = false
			}
			select {
			case <-ctx.Done():
				return
			case <-k.refusedC:
				return
			case <-t.C:
			}
		}
	}()
}

// Tried is closed once the keeper made its first attempt (or renewal).
func (k *Keeper) Tried() <-chan struct{} { return k.tried }

// Stop ends the loop; a holder switches the work off and hands the lease
// back, so a standby takes over at its next try instead of after TTL.
func (k *Keeper) Stop() {
	if k.loopCancel == nil {
		return
	}
	k.loopCancel()
	<-k.loopDone
	k.mu.Lock()
	active, me := k.role == Active, k.self
	k.mu.Unlock()
	if !active {
		return
	}
	k.deactivate("stopping")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := release(ctx, k.d.Redis, k.keys, me); err != nil {
		k.log.Warn("lease not handed back; a standby takes it when it runs out", "ttl", k.cfg.TTL, "err", err)
		return
	}
	k.log.Info("lease handed back")
}

// runOnce renews the lease while held, or tries to take it.
func (k *Keeper) runOnce(ctx context.Context) {
	if k.Held() {
		k.renew(ctx)
		return
	}
	k.tryAcquire(ctx)
}

// tryAcquire takes the lease when nobody holds it: the token comes from
// Redis (never below the database's), is raised in the database, and only
// then does the work start, reconciling first.
func (k *Keeper) tryAcquire(ctx context.Context) {
	k.mu.Lock()
	me := k.self
	k.mu.Unlock()
	if me.Database == "" {
		id, err := k.d.Fences.DatabaseID(ctx)
		if err != nil {
			k.standby(Holder{}, fmt.Sprintf("database unreadable: %v", err))
			return
		}
		me.Database = id
		k.mu.Lock()
		k.self.Database = id
		k.mu.Unlock()
	}
	if k.yields(ctx) {
		return
	}
	var floor int64
	prev, err := k.d.Fences.GetLeaseFence(ctx, k.cfg.Name)
	switch {
	case err == nil:
		floor = prev.Token
	case hotline.KindOf(err) != hotline.KindNotFound:
		k.standby(Holder{}, fmt.Sprintf("database unreadable: %v", err))
		return
	}
	me.Since = k.d.Now()
	rctx, cancel := context.WithTimeout(ctx, k.cfg.TTL/3)
	got, err := acquire(rctx, k.d.Redis, k.keys, me, k.cfg.TTL, floor)
	cancel()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			k.standby(Holder{}, fmt.Sprintf("Redis does not answer: %v", err))
		}
		return
	case got.database != "":
		k.refuse(me, got.database)
		return
	case got.token == 0:
		k.standby(got.holder, "another instance holds the lease")
		return
	}
	me.Token = got.token
	if err := k.d.Fences.RaiseFence(ctx, k.cfg.Name, me.Token, me.Instance, me.Since); err != nil {
		k.log.Error("lease taken in Redis but its fence not raised in the database; handing it back", "token", me.Token, "err", err)
		_ = release(context.WithoutCancel(ctx), k.d.Redis, k.keys, me)
		k.standby(Holder{}, fmt.Sprintf("fence not raised: %v", err))
		return
	}
	if prev.Holder != "" && prev.Holder != me.Instance {
		// The previous holder, cut off from Redis, checks the fence at
		// every renewal: give it one to see ours and stop before we
		// connect.
		select {
		case <-time.After(k.cfg.Renew):
		case <-ctx.Done():
			return
		}
	}
	k.activate(ctx, me, prev)
}

// yields reports whether a busy instance leaves the lease, free now, to an
// idle one for this try (Deps.Busy).
func (k *Keeper) yields(ctx context.Context) bool {
	busy := 0
	if k.d.Busy != nil {
		busy = k.d.Busy()
	}
	if busy == 0 {
		return false
	}
	h, held, err := readHolder(ctx, k.d.Redis, k.keys)
	switch {
	case err != nil:
		return false // acquire says what is wrong with Redis
	case held:
		k.freeSeen = 0
		k.standby(h, "another instance holds the lease")
		return true
	}
	k.freeSeen++
	if k.freeSeen <= 2*busy {
		k.standby(Holder{}, fmt.Sprintf("free; this instance drives %d other server(s) and leaves it to an idle instance first", busy))
		return true
	}
	k.freeSeen = 0
	return false
}

func (k *Keeper) activate(ctx context.Context, me Holder, prev store.LeaseFence) {
	actx, cancel := context.WithCancel(store.WithFence(ctx, store.Fence{Lease: k.cfg.Name, Token: me.Token}))
	k.mu.Lock()
	k.self, k.role, k.holder, k.why, k.lastOK, k.cancel = me, Active, me, "", k.d.Now(), cancel
	k.mu.Unlock()
	k.m.held.Set(1)
	k.m.acquired.Inc()
	k.log.Info("lease taken: this instance drives Asterisk now, reconciling first", "instance", me.Instance, "token", me.Token,
		"previous_holder", prev.Holder, "previous_token", prev.Token)
	k.d.Switch.Activate(actx)
}

// renew keeps the lease. A holder Redis no longer knows (another took it)
// stops at once. While Redis does not answer, the holder checks the
// database's fence instead: a new holder raises it before it acts, so
// while the fence is still ours nobody has taken over, and the calls go
// on through a Redis outage; once the fence is another's, or cannot be
// read, and the lease has run out, it stops.
func (k *Keeper) renew(ctx context.Context) {
	k.mu.Lock()
	me, lastOK := k.self, k.lastOK
	k.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, k.cfg.TTL/3)
	ok, err := renew(rctx, k.d.Redis, k.keys, me, k.cfg.TTL)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		if !ok {
			k.lost("Redis says another instance holds the lease")
			return
		}
		k.mu.Lock()
		k.lastOK = k.d.Now()
		k.mu.Unlock()
		return
	}
	k.m.renewFailures.Inc()
	fence, ferr := k.d.Fences.GetLeaseFence(ctx, k.cfg.Name)
	switch {
	case ferr == nil && fence.Token != me.Token:
		k.lost(fmt.Sprintf("instance %s raised the lease's fence (token %d) while Redis did not answer", fence.Holder, fence.Token))
	case ferr != nil && k.d.Now().Sub(lastOK) > k.cfg.TTL:
		k.lost(fmt.Sprintf("neither Redis (%v) nor the database (%v) confirm the lease, which ran out", err, ferr))
	case ferr == nil:
		k.log.Debug("Redis does not answer; the lease holds on the database's fence", "err", err)
	}
}

// lost switches the work off at once.
func (k *Keeper) lost(why string) {
	k.m.lost.Inc()
	k.log.Error("lease lost: this instance stops taking calls and claiming work at once and waits as standby", "why", why)
	k.deactivate(why)
}

func (k *Keeper) deactivate(why string) {
	k.mu.Lock()
	cancel := k.cancel
	k.cancel, k.role, k.why = nil, Standby, why
	k.self.Token = 0
	k.mu.Unlock()
	k.m.held.Set(0)
	if cancel != nil {
		cancel()
	}
	k.d.Switch.Deactivate()
}

// standby records why this instance waits, logging each new reason once.
func (k *Keeper) standby(h Holder, why string) {
	k.mu.Lock()
	changed := why != k.why || h.Instance != k.holder.Instance
	k.holder, k.why = h, why
	k.mu.Unlock()
	if !changed {
		return
	}
	if h.Instance != "" {
		k.log.Info("standby: another instance holds the lease; this one serves the API and takes over when it goes",
			"holder", h.Instance, "holder_addr", h.Addr, "since", h.Since, "token", h.Token)
		return
	}
	k.log.Warn("standby: the lease cannot be taken now", "why", why)
}

// refuse gives up for good: the lease's holders write to database, not
// to ours.
func (k *Keeper) refuse(me Holder, database string) {
	err := fmt.Errorf("lease %s: %w (%s), this instance's is %s: taking over would split the call log. "+
		"Point store.path (or the database URL) at the database the other instances use; if the database was replaced on purpose, "+
		"run `hotline lease reset -config FILE` once every instance is stopped", k.cfg.Name, ErrOtherDatabase, database, me.Database)
	k.mu.Lock()
	k.role, k.why, k.refused = Refused, err.Error(), err
	k.mu.Unlock()
	k.log.Error("refused: this instance writes to another database than the lease's holders", "err", err)
	close(k.refusedC)
}

// Forget deletes the lease's record in Redis (holder, token and database),
// for an operator who replaced the database on purpose with every instance
// stopped. The database's fence keeps the tokens rising.
func Forget(ctx context.Context, cfg Config, rdb redis.UniversalClient) error {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	return rdb.Del(ctx, newKeys(cfg.KeyPrefix, cfg.Name).list()...).Err()
}

// Read returns who holds the lease in Redis now, and the database it names.
func Read(ctx context.Context, cfg Config, rdb redis.UniversalClient) (h Holder, held bool, database string, err error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return Holder{}, false, "", err
	}
	k := newKeys(cfg.KeyPrefix, cfg.Name)
	if h, held, err = readHolder(ctx, rdb, k); err != nil {
		return Holder{}, false, "", err
	}
	database, err = rdb.Get(ctx, k.database).Result()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return h, held, database, err
}

type metrics struct {
	held          prometheus.Gauge
	acquired      prometheus.Counter
	lost          prometheus.Counter
	renewFailures prometheus.Counter
}

func newMetrics(name string, reg prometheus.Registerer) *metrics {
	labels := prometheus.Labels{"lease": name}
	m := &metrics{
		held: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_lease_held", ConstLabels: labels,
			Help: "1 while this instance holds the lease and drives Asterisk, 0 while it waits as standby."}),
		acquired: prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_lease_acquired_total", ConstLabels: labels,
			Help: "Times this instance took the lease (at start, or taking over)."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_lease_lost_total", ConstLabels: labels,
			Help: "Times this instance lost the lease while holding it and stopped taking calls."}),
		renewFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_lease_renew_failures_total", ConstLabels: labels,
			Help: "Renewals Redis did not answer (the lease then holds on the database's fence)."}),
	}
	if reg != nil {
		reg.MustRegister(m.held, m.acquired, m.lost, m.renewFailures)
	}
	return m
}

// Current reads who holds the lease in Redis now (not the last holder
// seen): the instance a request for this lease's server is sent to.
// mine says whether that is this instance.
func (k *Keeper) Current(ctx context.Context) (h Holder, held, mine bool, err error) {
	h, held, err = readHolder(ctx, k.d.Redis, k.keys)
	if err != nil {
		return Holder{}, false, false, fmt.Errorf("lease %s: read holder: %w", k.cfg.Name, err)
	}
	k.mu.Lock()
	self := k.self.Instance
	k.mu.Unlock()
	return h, held, held && h.Instance == self, nil
}

// TTL is how long the lease lasts unless renewed: about how long a server
// may stay without a holder.
func (k *Keeper) TTL() time.Duration { return k.cfg.TTL }
