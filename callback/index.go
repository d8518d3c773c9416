package callback

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline"
)

// Index is a ZSET of ids scored by when each is next due (unix ms), so
// finding due work costs one range read instead of a database query. The
// deadline engine keeps one per kind of matter (its next reminder or
// escalation) and one of the callback tasks' next dials. It is only an
// index: SQLite says what a matter is, and SQL decides every claim,
// reminder and escalation. Everything here may be lost at any time
// (flushed, restarted, failed over); the engine rebuilds it from SQLite.
//
// Keys, all under one hash tag so a Redis Cluster keeps them in one slot:
//
//	{<prefix>}:<name>:due       ZSET id -> due unix ms
//	{<prefix>}:<name>:inflight  ZSET id -> unix ms when the pop runs out
//	{<prefix>}:<name>:built     STRING: set once rebuilt; gone means the index was lost
type Index struct {
	rdb      redis.UniversalClient
	due      string
	inflight string
	built    string
	// Visibility is how long a popped id stays in flight: when its taker
	// has not put it back by then (it died between pop and handling), the
	// next PopDue returns it to the due set. Default 30s.
	Visibility time.Duration
}

// ErrIndexLost is PopDue's answer when the index has not been built on this
// Redis, or was lost since (flushed, or a restart without persistence):
// call Rebuild, then pop again.
var ErrIndexLost = errors.New("callback: the Redis index is missing; rebuild it from SQLite")

// NewIndex uses the keys of name under prefix on rdb.
func NewIndex(rdb redis.UniversalClient, prefix, name string) *Index {
	tag := "{" + prefix + "}:" + name + ":"
	return &Index{rdb: rdb, due: tag + "due", inflight: tag + "inflight", built: tag + "built", Visibility: 30 * time.Second}
}

// popDueScript moves the due ids to the in-flight set, atomically, so two
// instances never pop the same id at once.
//
//	KEYS[1] due ZSET       read, write
//	KEYS[2] inflight ZSET  read, write
//	KEYS[3] built STRING   read
//	ARGV[1] now (unix ms); ARGV[2] at most this many ids;
//	ARGV[3] in flight until (unix ms)
//
// First, in-flight ids whose time ran out (their claimer died between pop
// and claim) go back to the due set, due now, unless the due set already
// has them (ZADD NX: a due time written since wins). Then the due ids,
// earliest first, leave the due set for the in-flight set. Returns the
// popped ids, or nil when the built marker is missing (the index was lost).
var popDueScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then
  return false
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(expired) do
  redis.call('ZADD', KEYS[1], 'NX', ARGV[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  redis.call('ZREM', KEYS[1], id)
end
return ids
`)

// addScript sets ids' due times and takes them out of flight.
//
//	KEYS[1] due ZSET       write
//	KEYS[2] inflight ZSET  write
//	ARGV    id1, due1 (unix ms), id2, due2, …
var addScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return #ARGV / 2
`)

// removeScript forgets ids (finished matters).
//
//	KEYS[1] due ZSET       write
//	KEYS[2] inflight ZSET  write
//	ARGV    the ids
var removeScript = redis.NewScript(`
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #ARGV
`)

// Add indexes id as due at due (the zero time: at once), replacing
// any due time it had, and takes it out of flight.
func (x *Index) Add(ctx context.Context, id int64, due time.Time) error {
	return x.AddMany(ctx, map[int64]time.Time{id: due})
}

// AddMany is Add for several ids in one atomic step.
func (x *Index) AddMany(ctx context.Context, dues map[int64]time.Time) error {
	if len(dues) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(dues))
	for id, due := range dues {
		args = append(args, id, hotline.UnixMilli(due))
	}
	return wrapRedis("add", addScript.Run(ctx, x.rdb, []string{x.due, x.inflight}, args...).Err())
}

// Remove forgets ids: their matters need nothing more.
func (x *Index) Remove(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return wrapRedis("remove", removeScript.Run(ctx, x.rdb, []string{x.due, x.inflight}, args...).Err())
}

// PopDue returns up to n ids due at now, earliest first, and puts them
// in flight for Visibility: no other PopDue returns them meanwhile. The
// caller then handles each against SQLite (the real guard: a claim, a
// reminder or an escalation happens once there) and calls Add with its
// next due time or Remove, or the id comes back by itself once Visibility
// has passed.
// ErrIndexLost when the index has not been built on this Redis or was lost.
func (x *Index) PopDue(ctx context.Context, now time.Time, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	nowMs := now.UnixMilli()
	res, err := popDueScript.Run(ctx, x.rdb, []string{x.due, x.inflight, x.built},
		nowMs, n, now.Add(x.Visibility).UnixMilli()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, ErrIndexLost
	}
	if err != nil {
		return nil, wrapRedis("pop due", err)
	}
	ids := make([]int64, 0, len(res))
	for _, s := range res {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue // not ours: a stray member can never be claimed
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Due returns id's due time in the index and whether it is there
// (in the due set; an id in flight is not).
func (x *Index) Due(ctx context.Context, id int64) (time.Time, bool, error) {
	score, err := x.rdb.ZScore(ctx, x.due, strconv.FormatInt(id, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrapRedis("due", err)
	}
	return hotline.FromUnixMilli(int64(score)), true, nil
}

// Size is how many ids the index holds, due and in flight.
func (x *Index) Size(ctx context.Context) (int64, error) {
	var due, inflight *redis.IntCmd
	_, err := x.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		due = p.ZCard(ctx, x.due)
		inflight = p.ZCard(ctx, x.inflight)
		return nil
	})
	if err != nil {
		return 0, wrapRedis("size", err)
	}
	return due.Val() + inflight.Val(), nil
}

// AddEarlier indexes each id at its due time unless the index has it due
// earlier already (ZADD LT), in one round trip: the rebuild, which runs
// beside the live engine, only ever makes a due time earlier, so a time
// that moved on while SQLite was read is never pushed later.
func (x *Index) AddEarlier(ctx context.Context, dues []Entry) error {
	if len(dues) == 0 {
		return nil
	}
	members := make([]redis.Z, len(dues))
	for i, d := range dues {
		members[i] = redis.Z{Score: float64(hotline.UnixMilli(d.Due)), Member: d.ID}
	}
	return wrapRedis("add earlier", x.rdb.ZAddLT(ctx, x.due, members...).Err())
}

// Entry is an id due at a time.
type Entry struct {
	ID  int64
	Due time.Time
}

// MarkBuilt records that the index holds everything SQLite has: PopDue
// answers ErrIndexLost until it is called, and again once Redis loses it.
func (x *Index) MarkBuilt(ctx context.Context, at time.Time) error {
	return wrapRedis("mark built", x.rdb.Set(ctx, x.built, at.UTC().Format(time.RFC3339), 0).Err())
}

// Drop deletes the index's keys.
func (x *Index) Drop(ctx context.Context) error {
	return wrapRedis("drop", x.rdb.Del(ctx, x.due, x.inflight, x.built).Err())
}

// wrapRedis makes a Redis failure an Unavailable error: the index is a
// dependency that may come back. IsRedisError tells it from a database
// failure of the same kind.
func wrapRedis(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return hotline.WrapError(hotline.KindUnavailable, "callback.Index."+op, redisError{err})
}

type redisError struct{ err error }

func (e redisError) Error() string { return "redis: " + e.err.Error() }
func (e redisError) Unwrap() error { return e.err }

// IsRedisError reports whether err is Redis failing (down, timing out),
// as opposed to the database.
func IsRedisError(err error) bool {
	var r redisError
	return errors.As(err, &r)
}
