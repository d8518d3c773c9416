package web

import (
	"net/http"
	"net/http/pprof"
	"strings"
)

// profiles serves Go's runtime profiles under /debug/pprof/ (the index,
// heap, goroutine, allocs, block, mutex, threadcreate, and profile?seconds=N,
// trace?seconds=N, cmdline, symbol), for `go tool pprof URL`. It is
// registered on the main listener behind the metrics protection (the
// metrics addresses, or an admin) and on http.metrics_listen.
func profiles(w http.ResponseWriter, r *http.Request) {
	switch name, _ := strings.CutPrefix(r.URL.Path, "/debug/pprof/"); name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default: // the index, or a named profile (an unknown name is 404)
		pprof.Index(w, r)
	}
}
