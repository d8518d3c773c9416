package store

import (
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WithRegistry registers the store's metrics with reg:
// hotline_store_write_seconds{kind}, the time each write took as its
// caller saw it (the wait for the one writer connection included). A
// kind is a statement's verb and table ("update calls") or, for a write
// of several statements in one transaction, "tx " and the store method
// that made it ("tx ClaimDueTasks"). Default: not exported.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(db *DB) {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_store_write_seconds",
			Help:    "Database writes by kind (statement verb and table, or tx and the store method), from the call to the commit, the wait for the writer included.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"kind"})
		if err := reg.Register(h); err != nil {
			// A second database of the process (a test's, a tool's) shares
			// the first one's series.
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				panic(err)
			}
			h = dup.ExistingCollector.(*prometheus.HistogramVec)
		}
		db.writeSeconds = h
	}
}

// observeWrite records a write of kind that started at start.
func (db *DB) observeWrite(kind string, start time.Time) {
	if db.writeSeconds != nil {
		db.writeSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	}
}

// writeKinds caches the kind of each statement text and of each caller of
// inWriteTx. Statements built with a variable number of placeholders would
// grow it without end: past maxWriteKinds entries, kinds are computed and
// not kept.
var writeKinds sync.Map

const maxWriteKinds = 2000

var writeKindCount struct {
	sync.Mutex
	n int
}

func rememberKind(key any, kind string) string {
	writeKindCount.Lock()
	defer writeKindCount.Unlock()
	if writeKindCount.n < maxWriteKinds {
		writeKinds.Store(key, kind)
		writeKindCount.n++
	}
	return kind
}

// statementRE finds the verb and table a write statement changes, after
// any WITH clause.
var statementRE = regexp.MustCompile(`(?is)\b(insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+["\x60]?([a-z_][a-z0-9_]*)`)

// statementKind is "insert calls", "update callback_tasks"…; "other" for
// a statement it cannot read.
func statementKind(query string) string {
	if k, ok := writeKinds.Load(query); ok {
		return k.(string)
	}
	kind := "other"
	if m := statementRE.FindStringSubmatch(query); m != nil {
		verb := strings.ToLower(strings.Fields(m[1])[0])
		kind = verb + " " + strings.ToLower(m[2])
	}
	return rememberKind(query, kind)
}

// txKind names a transaction by the store method that began it: the
// function skip frames up from the caller of txKind, without its package
// and receiver, and without the closure suffix (".func1").
func txKind(skip int) string {
	pc, _, _, ok := runtime.Caller(skip + 1)
	if !ok {
		return "tx"
	}
	if k, ok := writeKinds.Load(pc); ok {
		return k.(string)
	}
	name := "tx"
	if fn := runtime.FuncForPC(pc); fn != nil {
		n := fn.Name()
		if i := strings.LastIndex(n, "/"); i >= 0 {
			n = n[i+1:]
		}
		parts := strings.Split(n, ".")
		for len(parts) > 1 && (strings.HasPrefix(parts[len(parts)-1], "func") || parts[len(parts)-1] == "gowrap1") {
			parts = parts[:len(parts)-1]
		}
		name = "tx " + parts[len(parts)-1]
	}
	return rememberKind(pc, name)
}

// kindOf is statementKind when the metrics are exported, else "".
func (db *DB) kindOf(query string) string {
	if db.writeSeconds == nil {
		return ""
	}
	return statementKind(query)
}
