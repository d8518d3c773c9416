package recording

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkArchive archives 5-second recordings (80 KB) downloaded over
// HTTP from a server that only serves the one file, in passes over as
// many recordings as finished meanwhile (1: a quiet hour; 20: a busy one),
// and reports the process's CPU per recording (user and system: the
// archiver, the database, the file system and the small server).
func BenchmarkArchive(b *testing.B) {
	audio := pcmWAV(tone(5))
	for _, format := range []string{FormatWAV, FormatULaw} {
		for _, pass := range []int{1, 20} {
			b.Run(fmt.Sprintf("format=%s/pass=%d", format, pass), func(b *testing.B) {
				f := setup(b)
				f.cfg.Format = format
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch {
					case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/file"):
						_, _ = w.Write(audio)
					case r.Method == http.MethodDelete:
						w.WriteHeader(http.StatusNoContent)
					default:
						http.NotFound(w, r)
					}
				}))
				b.Cleanup(srv.Close)
				deps := f.deps
				deps.ARI = ARI{URL: srv.URL + "/ari", Username: "hotline", Password: "hotline"}
				a, err := NewArchiver(f.cfg, deps)
				require.NoError(b, err)
				var cpu time.Duration
				b.ResetTimer()
				for done := 0; done < b.N; {
					b.StopTimer()
					n := min(pass, b.N-done)
					for i := range n {
						require.NoError(b, a.Finished(f.ctx, fmt.Sprintf("r%d", done+i), "", t0))
					}
					before := cpuTime(b)
					b.StartTimer()
					archived, err := a.Flush(f.ctx)
					b.StopTimer()
					cpu += cpuTime(b) - before
					require.NoError(b, err)
					require.Equal(b, n, archived)
					done += n
				}
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/rec")
			})
		}
	}
}

// cpuTime is the CPU the process used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
