package lease

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The lease in Redis is three keys under "{<prefix>:<name>}":
//   - holder: a hash (instance, token, database, addr, since_ms) that
//     expires TTL after its last renewal;
//   - token: the counter fencing tokens come from; it never expires and
//     never goes back (a holder's token is also raised in the database,
//     whose value is the floor after Redis was emptied);
//   - database: the identity of the database the holders write to; it
//     never expires, so an instance on another database is refused even
//     after every holder has gone.

// Holder is who holds a lease, as Redis says.
type Holder struct {
	Instance string    `json:"instance"`
	Token    int64     `json:"token"`
	Database string    `json:"database"`
	Addr     string    `json:"addr,omitempty"` // its HTTP address, for people
	Since    time.Time `json:"since"`
}

type keys struct{ holder, token, database string }

func newKeys(prefix, name string) keys {
	base := "{" + prefix + ":" + name + "}:"
	return keys{holder: base + "holder", token: base + "token", database: base + "database"}
}

func (k keys) list() []string { return []string{k.holder, k.token, k.database} }

// acquireScript takes the lease when the database is the lease's (or the
// lease names none yet) and nobody holds it. It reads and writes holder, token and database. ARGV:
// instance, database, ttl ms, token floor, addr, now ms. Returns
// {"database", the lease's database}, {"busy", instance, token, database,
// addr, since} or {"acquired", token}.
var acquireScript = redis.NewScript(`
local db = redis.call('GET', KEYS[3])
if db and db ~= ARGV[2] then
  return {'database', db}
end
local h = redis.call('HMGET', KEYS[1], 'instance', 'token', 'database', 'addr', 'since_ms')
if h[1] then
  return {'busy', h[1], h[2] or '0', h[3] or '', h[4] or '', h[5] or '0'}
end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[4])
if token <= floor then
  token = floor + 1
  redis.call('SET', KEYS[2], token)
end
redis.call('HSET', KEYS[1], 'instance', ARGV[1], 'token', token, 'database', ARGV[2], 'addr', ARGV[5], 'since_ms', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[3], ARGV[2])
return {'acquired', tostring(token)}
`)

// renewScript keeps the lease of instance with token for another TTL. When
// the holder key is gone (it ran out, or Redis restarted empty) and no
// newer token was handed out, the lease is still this holder's and is put
// back. It reads and writes holder, token and database. ARGV: instance,
// token, ttl ms, database, addr, since ms. Returns "renewed" or "lost".
var renewScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'instance', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 'renewed'
end
if h[1] then
  return 'lost'
end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur > tonumber(ARGV[2]) then
  return 'lost'
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'instance', ARGV[1], 'token', ARGV[2], 'database', ARGV[4], 'addr', ARGV[5], 'since_ms', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4])
return 'renewed'
`)

// releaseScript hands the lease back when instance with token holds it
// (a graceful stop: a standby need not wait for TTL). It reads and
// deletes holder. ARGV: instance, token. Returns 1 when released.
var releaseScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'instance', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// outcome of an acquire.
type acquired struct {
	token    int64
	holder   Holder // when busy
	database string // when the lease's database is another
}

func acquire(ctx context.Context, rdb redis.UniversalClient, k keys, me Holder, ttl time.Duration, floor int64) (acquired, error) {
	res, err := acquireScript.Run(ctx, rdb, k.list(), me.Instance, me.Database, ttl.Milliseconds(), floor, me.Addr,
		me.Since.UnixMilli()).StringSlice()
	if err != nil {
		return acquired{}, err
	}
	switch {
	case len(res) == 2 && res[0] == "acquired":
		token, err := strconv.ParseInt(res[1], 10, 64)
		return acquired{token: token}, err
	case len(res) == 6 && res[0] == "busy":
		token, _ := strconv.ParseInt(res[2], 10, 64)
		since, _ := strconv.ParseInt(res[5], 10, 64)
		return acquired{holder: Holder{Instance: res[1], Token: token, Database: res[3], Addr: res[4], Since: time.UnixMilli(since)}}, nil
	case len(res) == 2 && res[0] == "database":
		return acquired{database: res[1]}, nil
	}
	return acquired{}, fmt.Errorf("lease: unexpected answer of the acquire script: %q", res)
}

func renew(ctx context.Context, rdb redis.UniversalClient, k keys, me Holder, ttl time.Duration) (bool, error) {
	res, err := renewScript.Run(ctx, rdb, k.list(), me.Instance, me.Token, ttl.Milliseconds(), me.Database, me.Addr,
		me.Since.UnixMilli()).Text()
	if err != nil {
		return false, err
	}
	return res == "renewed", nil
}

func release(ctx context.Context, rdb redis.UniversalClient, k keys, me Holder) error {
	return releaseScript.Run(ctx, rdb, []string{k.holder}, me.Instance, me.Token).Err()
}

// readHolder reads who holds the lease now; ok is false when nobody does.
func readHolder(ctx context.Context, rdb redis.UniversalClient, k keys) (Holder, bool, error) {
	m, err := rdb.HGetAll(ctx, k.holder).Result()
	if err != nil || len(m) == 0 {
		return Holder{}, false, err
	}
	token, _ := strconv.ParseInt(m["token"], 10, 64)
	since, _ := strconv.ParseInt(m["since_ms"], 10, 64)
	return Holder{Instance: m["instance"], Token: token, Database: m["database"], Addr: m["addr"], Since: time.UnixMilli(since)}, true, nil
}
