package callback

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline"
	"hotline/store"
)

// Index is the Redis side of the callback tasks: a ZSET of open task ids
// scored by when each is next due (unix ms), so finding due work costs one
// range read instead of a database query. It is only an index: SQLite says
// what a task is, and a claim in SQL decides who dials it. Everything here
// may be lost at any time (flushed, restarted, failed over); Rebuild puts it
// back from SQLite.
//
// Keys, all under one hash tag so a Redis Cluster keeps them in one slot:
//
//	{<prefix>}:due          ZSET task id -> due unix ms
//	{<prefix>}:inflight     ZSET task id -> unix ms when the pop runs out
//	{<prefix>}:built        STRING: set by Rebuild; gone means the index was lost
//	{<prefix>}:pushed:<id>  STRING: the due-soon reminder of task <id> was sent
type Index struct {
	rdb      redis.UniversalClient
	due      string
	inflight string
	built    string
	pushed   string
	// Visibility is how long a popped id stays in flight: when its claimer
	// has not put it back by then (it died between pop and claim), the next
	// PopDue returns it to the due set. Default 30s.
	Visibility time.Duration
	// PageSize is how many rows Rebuild reads from SQLite and writes to
	// Redis in one round trip. Default 5000.
	PageSize int
}

// ErrIndexLost is PopDue's answer when the index has not been built on this
// Redis, or was lost since (flushed, or a restart without persistence):
// call Rebuild, then pop again.
var ErrIndexLost = errors.New("callback: the Redis index is missing; rebuild it from SQLite")

// NewIndex uses the keys under prefix on rdb.
func NewIndex(rdb redis.UniversalClient, prefix string) *Index {
	tag := "{" + prefix + "}:"
	return &Index{rdb: rdb, due: tag + "due", inflight: tag + "inflight", built: tag + "built", pushed: tag + "pushed:",
		Visibility: 30 * time.Second, PageSize: 5000}
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

// addScript sets task ids' due times and takes them out of flight.
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

// removeScript forgets task ids (closed tasks).
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

// Add indexes task id as due at due (the zero time: at once), replacing
// any due time it had, and takes it out of flight.
func (x *Index) Add(ctx context.Context, id int64, due time.Time) error {
	return x.AddMany(ctx, map[int64]time.Time{id: due})
}

// AddMany is Add for several tasks in one atomic step.
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

// Remove forgets task ids: they are closed and need no dial.
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

// PopDue returns up to n task ids due at now, earliest first, and puts them
// in flight for Visibility: no other PopDue returns them meanwhile. The
// caller then claims each in SQL (the real guard) and calls Add with the
// lease's end, or the id comes back by itself once Visibility has passed.
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

// Due returns task id's due time in the index and whether it is there
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

// Size is how many task ids the index holds, due and in flight.
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

// DueSource is where Rebuild reads the open tasks: *store.DB.
type DueSource interface {
	// OpenTaskDues returns up to limit open tasks with ids above afterID,
	// in id order, with their due times; an empty page is the end.
	OpenTaskDues(ctx context.Context, afterID int64, limit int) ([]store.TaskDue, error)
}

// Rebuild indexes every open task of src with its due time, page by page,
// and then marks the index built. It runs beside the live service: it adds
// and never removes, and it only ever makes a due time earlier (ZADD LT),
// so a due time that moved on while a page was read is never pushed later.
// What it leaves stale (an entry of a task closed meanwhile, a time too
// early) costs one failed claim, after which the service corrects the
// entry from SQLite. Reading the next page from SQLite overlaps writing the
// last one to Redis. Returns how many tasks it indexed.
func (x *Index) Rebuild(ctx context.Context, src DueSource) (int, error) {
	pageSize := x.PageSize
	if pageSize <= 0 {
		pageSize = 5000
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type page struct {
		dues []store.TaskDue
		err  error
	}
	pages := make(chan page, 2)
	go func() {
		defer close(pages)
		var after int64
		for {
			dues, err := src.OpenTaskDues(ctx, after, pageSize)
			select {
			case pages <- page{dues: dues, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(dues) < pageSize {
				return
			}
			after = dues[len(dues)-1].ID
		}
	}()

	total := 0
	members := make([]redis.Z, 0, pageSize)
	for p := range pages {
		if p.err != nil {
			return total, fmt.Errorf("callback: rebuild the index: read open tasks: %w", p.err)
		}
		if len(p.dues) == 0 {
			continue
		}
		members = members[:0]
		for _, d := range p.dues {
			members = append(members, redis.Z{Score: float64(hotline.UnixMilli(d.DueAt)), Member: d.ID})
		}
		if err := x.rdb.ZAddLT(ctx, x.due, members...).Err(); err != nil {
			return total, wrapRedis("rebuild", err)
		}
		total += len(p.dues)
	}
	if err := ctx.Err(); err != nil {
		return total, err
	}
	if err := x.rdb.Set(ctx, x.built, time.Now().UTC().Format(time.RFC3339), 0).Err(); err != nil {
		return total, wrapRedis("rebuild", err)
	}
	return total, nil
}

// pushedKey marks that task id's due-soon reminder went out.
func (x *Index) pushedKey(id int64) string { return x.pushed + strconv.FormatInt(id, 10) }

// notPushed returns those of ids whose due-soon reminder has not gone out.
func (x *Index) notPushed(ctx context.Context, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.IntCmd, len(ids))
	_, err := x.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Exists(ctx, x.pushedKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, wrapRedis("read reminder marks", err)
	}
	var out []int64
	for i, c := range cmds {
		if c.Val() == 0 {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// markPushed records, once across instances, that task id's reminder goes
// out now; false when another instance (or an earlier run) did. The mark
// expires after ttl.
func (x *Index) markPushed(ctx context.Context, id int64, ttl time.Duration) (bool, error) {
	ok, err := x.rdb.SetNX(ctx, x.pushedKey(id), time.Now().UTC().Format(time.RFC3339), ttl).Result()
	return ok, wrapRedis("mark reminder", err)
}

// unmarkPushed drops the mark of a reminder that could not be sent, so the
// next round tries again.
func (x *Index) unmarkPushed(ctx context.Context, id int64) error {
	return wrapRedis("unmark reminder", x.rdb.Del(ctx, x.pushedKey(id)).Err())
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
