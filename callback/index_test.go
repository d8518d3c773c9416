package callback

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestIndexPopDueGivesEachIDToOnePopper(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	ctx := t.Context()
	now := at(11, 27, 10, 0)
	const n = 500
	src := make([]Entry, 0, n)
	for i := range int64(n) {
		src = append(src, Entry{ID: i + 1, Due: now.Add(-time.Duration(i) * time.Second)})
	}
	x := NewIndex(r.client(), r.prefix, "test")
	require.NoError(t, x.AddEarlier(ctx, src))
	require.NoError(t, x.MarkBuilt(ctx, now))

	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	for range 8 {
		popper := NewIndex(r.client(), r.prefix, "test") // another instance
		wg.Go(func() {
			for {
				ids, err := popper.PopDue(ctx, now, 7)
				if !assertNoError(t, err, "pop") || len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					got[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, got, n)
	for id, c := range got {
		require.Equal(t, 1, c, "id %d popped %d times", id, c)
	}
	size, err := x.Size(ctx)
	require.NoError(t, err)
	require.EqualValues(t, n, size, "popped ids stay in flight")

	// Nobody claimed them: once the visibility timeout has passed they are
	// due again, except one put back with a later due time.
	ids, err := x.PopDue(ctx, now.Add(x.Visibility-time.Millisecond), n)
	require.NoError(t, err)
	require.Empty(t, ids)
	require.NoError(t, x.Add(ctx, 1, now.Add(time.Hour)))
	ids, err = x.PopDue(ctx, now.Add(x.Visibility), 2*n)
	require.NoError(t, err)
	require.Len(t, ids, n-1)
	require.NotContains(t, ids, int64(1))
	due, ok, err := x.Due(ctx, 1)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, due.Equal(now.Add(time.Hour)))

	require.NoError(t, x.Remove(ctx, ids...))
	require.NoError(t, x.Remove(ctx, 1))
	size, err = x.Size(ctx)
	require.NoError(t, err)
	require.Zero(t, size)
}

func TestIndexPopDueSaysWhenTheIndexIsLost(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	ctx := t.Context()
	x := NewIndex(r.client(), r.prefix, "test")
	now := at(11, 27, 10, 0)
	_, err := x.PopDue(ctx, now, 10)
	require.ErrorIs(t, err, ErrIndexLost, "never built")
	require.NoError(t, x.MarkBuilt(ctx, now))
	ids, err := x.PopDue(ctx, now, 10)
	require.NoError(t, err)
	require.Empty(t, ids)
	r.Flush(ctx)
	_, err = x.PopDue(ctx, now, 10)
	require.ErrorIs(t, err, ErrIndexLost, "flushed")
}

func TestIndexAddEarlierNeverDelaysADueTime(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	ctx := t.Context()
	x := NewIndex(r.client(), r.prefix, "test")
	now := at(11, 27, 10, 0)
	// Entries written meanwhile: 1 due earlier than the rebuild says (it
	// stays: at worst it pops early and moves), 3 due later (it moves up).
	require.NoError(t, x.Add(ctx, 1, now.Add(-time.Hour)))
	require.NoError(t, x.Add(ctx, 3, now.Add(time.Hour)))
	require.NoError(t, x.AddEarlier(ctx, []Entry{{1, now}, {3, now.Add(time.Minute)}, {5, now.Add(2 * time.Minute)}}))
	for id, want := range map[int64]time.Time{1: now.Add(-time.Hour), 3: now.Add(time.Minute), 5: now.Add(2 * time.Minute)} {
		due, ok, err := x.Due(ctx, id)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, due.Equal(want), "id %d due %s, want %s", id, due, want)
	}
	require.NoError(t, x.Drop(ctx))
	size, err := x.Size(ctx)
	require.NoError(t, err)
	require.Zero(t, size)
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.SetDefaults()
	require.NoError(t, cfg.Validate())
	require.Equal(t, 2*time.Minute, cfg.Lease)
	require.Equal(t, 5*time.Minute, cfg.ReconcileInterval)
	require.Equal(t, 30*time.Second, cfg.PollInterval)
	require.Equal(t, 10*time.Minute, cfg.DueSoonLead)
	require.Equal(t, 30*time.Minute, cfg.SLA, "the policy's defaults too")
	for key, bad := range map[string]func(*Config){
		"callbacks.max_attempts": func(c *Config) { c.MaxAttempts = 50 },
		"callbacks.key_prefix":   func(c *Config) { c.KeyPrefix = "a{b}" },
		"callbacks.lease":        func(c *Config) { c.Lease = time.Millisecond },
		"callbacks.tick":         func(c *Config) { c.Tick = 3 * time.Minute },
		"callbacks.batch_size":   func(c *Config) { c.BatchSize = 5000 },
		"callbacks.poll_interval": func(c *Config) {
			c.PollInterval = 10 * time.Millisecond
		},
		"callbacks.due_soon_lead": func(c *Config) { c.DueSoonLead = -time.Second },
		"callbacks.agent_tries":   func(c *Config) { c.AgentTries = 11 },
	} {
		c := cfg
		bad(&c)
		require.ErrorContains(t, c.Validate(), key)
	}

	// The policy's keys sit beside this package's in one section.
	var fromYAML Config
	dec := yaml.NewDecoder(strings.NewReader("sla: 20m\nmax_attempts: 5\nlease: 3m\nkey_prefix: hl:cb\n"))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&fromYAML))
	fromYAML.SetDefaults()
	require.NoError(t, fromYAML.Validate())
	require.Equal(t, 20*time.Minute, fromYAML.SLA)
	require.Equal(t, 5, fromYAML.MaxAttempts)
	require.Equal(t, 3*time.Minute, fromYAML.Lease)
	require.Equal(t, "hl:cb", fromYAML.KeyPrefix)
}
