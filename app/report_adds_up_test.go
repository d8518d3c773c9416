package app

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
)

// The assessment report of the demo's period adds up: the answered calls
// of all staff in GET /api/v1/reports/agents equal the call log's answered
// calls of the same days (GET /api/v1/calls?outcome=answered), while the
// demo's traffic goes on.
func TestDemoReportAddsUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *Service, 1)
	done := make(chan error, 1)
	// The folder is made before the cleanup that stops the demo, so it is
	// removed after the demo stopped writing to it.
	dir := t.TempDir()
	go func() {
		done <- Demo(ctx, DemoOptions{HTTPAddr: "127.0.0.1:0", ARIAddr: "127.0.0.1:0", DataDir: dir,
			CallsPerSecond: 8, SummaryEvery: time.Hour, Out: newLineWriter(t, make(chan string, 1000)),
			Started: func(s *Service, _ *aritest.Server) { started <- s }})
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	var svc *Service
	select {
	case svc = <-started:
	case err := <-done:
		t.Fatalf("demo ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not start")
	}
	by := hotline.Actor{ID: "test", Method: hotline.AuthCLI}
	token, _, err := svc.Auth.CreateToken(ctx, by, "2001", "adds-up", time.Hour)
	require.NoError(t, err)
	base := "http://" + svc.HTTPAddr
	// The demo's period: its days in the calendar's zone (yesterday too, should it run over midnight).
	today := time.Now().In(svc.Calendar.Location())
	from, to := today.AddDate(0, 0, -1).Format("2006-01-02"), today.Format("2006-01-02")

	reportAnswered := func() int {
		var rep struct {
			Agents []struct{ Answered int }
			Total  struct{ Answered int }
		}
		require.Equal(t, http.StatusOK, getJSONAs(t, base+"/api/v1/reports/agents?from="+from+"&to="+to, token, &rep))
		sum := 0
		for _, a := range rep.Agents {
			sum += a.Answered
		}
		require.Equal(t, rep.Total.Answered, sum, "the total row is the sum of the rows")
		return sum
	}
	logAnswered := func() int {
		n, cursor := 0, ""
		for {
			var page struct {
				Calls      []hotline.Call
				NextCursor string `json:"next_cursor"`
			}
			url := fmt.Sprintf("%s/api/v1/calls?outcome=answered&from=%s&to=%s&limit=1000", base, from, to)
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			require.Equal(t, http.StatusOK, getJSONAs(t, url, token, &page))
			n += len(page.Calls)
			if page.NextCursor == "" {
				return n
			}
			cursor = page.NextCursor
		}
	}
	// Wait for traffic, then compare while it goes on: counts only grow, so
	// when the report reads the same before and after the call log, the
	// call log read that number too.
	require.Eventually(t, func() bool { return reportAnswered() >= 3 }, 60*time.Second, 200*time.Millisecond)
	for tries := 0; ; tries++ {
		before := reportAnswered()
		fromLog := logAnswered()
		after := reportAnswered()
		if before == after {
			require.Equal(t, before, fromLog, "the sum of answered over staff is the call log's answered count of %s..%s", from, to)
			t.Logf("answered %d: report %d = call log %d", before, after, fromLog)
			return
		}
		require.Less(t, tries, 50, "the counts never held still between two reads")
	}
}
