package callback

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"hotline/store"
)

// The index targets of DESIGN.md: rebuilding the Redis index from 1M open
// tasks in < 10 s, and due items fired at >= 50k/s with 1M open deadlines.
//
//	go test -run '^$' -bench . -benchtime 2x ./callback/                     # embedded Redis
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench . -benchtime 2x ./callback/
//
// BENCH_TASKS sets the number of open tasks (default 1,000,000).

func benchTasks(b *testing.B) int {
	n := 1_000_000
	if v := os.Getenv("BENCH_TASKS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("BENCH_TASKS=%q: want a positive number", v)
		}
	}
	return n
}

// benchRedis is the server at REDIS_URL or a fresh embedded one, and a key
// prefix of the benchmark's own.
func benchRedis(b *testing.B) (redis.UniversalClient, string) {
	var opts *redis.Options
	if url := os.Getenv("REDIS_URL"); url != "" {
		var err error
		if opts, err = redis.ParseURL(url); err != nil {
			b.Fatal(err)
		}
	} else {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(m.Close)
		opts = &redis.Options{Addr: m.Addr()}
	}
	rdb := redis.NewClient(opts)
	b.Cleanup(func() { _ = rdb.Close() })
	return rdb, fmt.Sprintf("bench:%s:%d", b.Name(), time.Now().UnixNano())
}

// benchStore is a migrated database holding n open (pending) tasks with
// due times spread over a day, written straight in SQL.
func benchStore(b *testing.B, n int) *store.DB {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	db, err := store.Open(ctx, store.Config{Path: path}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	start := time.Now()
	base := at(11, 27, 8, 30).UnixMilli()
	_, err = raw.ExecContext(ctx, `
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
INSERT INTO callback_tasks (number, state, missed_count, first_missed_ms, deadline_ms, next_attempt_ms, created_ms)
SELECT printf('1%010d', i), 'pending', 1, ?, ? + 1800000, ? + (i * 86400000 / ?), ? FROM seq`,
		n, base, base, base, n, base)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d open tasks to SQLite in %s", n, time.Since(start).Round(time.Millisecond))
	return db
}

// BenchmarkRebuild rebuilds the index from every open task in SQLite into
// an empty Redis index, as after a flush or at start.
func BenchmarkRebuild(b *testing.B) {
	n := benchTasks(b)
	db := benchStore(b, n)
	rdb, prefix := benchRedis(b)
	ctx := context.Background()
	b.Run("sqlite-read-only", func(b *testing.B) {
		for range b.N {
			rows := 0
			var after int64
			for {
				page, err := db.OpenTaskDues(ctx, after, 5000)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				rows += len(page)
				after = page[len(page)-1].ID
			}
			if rows != n {
				b.Fatalf("read %d rows, want %d", rows, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("rebuild", func(b *testing.B) {
		for i := range b.N {
			x := NewIndex(rdb, prefix+":"+strconv.Itoa(i))
			got, err := x.Rebuild(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("indexed %d, want %d", got, n)
			}
			b.StopTimer()
			if err := rdb.Del(ctx, x.due, x.inflight, x.built).Err(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkPopDue fires every deadline of an index of n due tasks, 1000
// per PopDue: the rate the due loop can take work from Redis.
func BenchmarkPopDue(b *testing.B) {
	n := benchTasks(b)
	if os.Getenv("REDIS_URL") == "" && n > 100_000 {
		b.Skip("the embedded Redis sorts the whole set on every range read: set REDIS_URL, or BENCH_TASKS <= 100000")
	}
	rdb, prefix := benchRedis(b)
	ctx := context.Background()
	now := at(11, 27, 10, 0)
	src := make(dues, n)
	for i := range src {
		src[i] = store.TaskDue{ID: int64(i + 1), DueAt: now.Add(-time.Duration(i) * time.Millisecond)}
	}
	for i := range b.N {
		b.StopTimer()
		x := NewIndex(rdb, prefix+":"+strconv.Itoa(i))
		if _, err := x.Rebuild(ctx, src); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		popped := 0
		for {
			ids, err := x.PopDue(ctx, now, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(ids) == 0 {
				break
			}
			popped += len(ids)
		}
		b.StopTimer()
		if popped != n {
			b.Fatalf("popped %d, want %d", popped, n)
		}
		if err := rdb.Del(ctx, x.due, x.inflight, x.built).Err(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "ids/s")
}
