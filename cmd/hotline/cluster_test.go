package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline/store/storetest"
)

// The whole, through real processes (scripts/cluster.sh): three `hotline
// serve` instances share two fake Asterisk servers (`hotline sim` twice,
// east and west), one database, one Redis (a redis-server of its own) and
// one recordings folder. Both sims place calls; the instance driving a
// server is killed with SIGKILL, then another driving one is stopped with
// SIGTERM. Once the sims stop and every call has ended, every call placed
// must have one row with a final state, every missed call one task, no
// task dialed twice at once and every recording archived with its hash.
// The last line printed:
//
//	CLUSTER lost 0 · duplicated 0 · stuck 0 · takeover 4.2 s
//
// takeover: from the SIGKILL until another instance drives the killed
// one's server with its ARI connected (/readyz ready with "drives …").
//
// The database is PostgreSQL (a schema of its own in the database
// HOTLINE_TEST_POSTGRES names, default postgres://postgres@127.0.0.1:5432/test).
// HOTLINE_CLUSTER=1 runs it.
func TestCluster(t *testing.T) {
	if os.Getenv("HOTLINE_CLUSTER") != "1" {
		t.Skip("runs five processes for two minutes: HOTLINE_CLUSTER=1 (scripts/cluster.sh)")
	}
	bin := buildHotline(t)
	dir := t.TempDir()
	redis := startRedis(t, dir)
	env := append(envWithout("REDIS_URL", "HOTLINE_REDIS_URL", "HOTLINE_ARI_PASSWORD"), "HOTLINE_ARI_PASSWORD=hotline",
		"HOTLINE_REDIS_URL="+redis.url)
	prompts := shortPrompts(t, dir)
	// PostgreSQL: a schema of its own in HOTLINE_TEST_POSTGRES's database
	// (default the machine's test database).
	base := storetest.PostgresURL()
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	dbPath, archive := storetest.Schema(t, base), filepath.Join(dir, "recordings")

	// Two fake Asterisk servers with their citizens. West's own agents
	// (3001, 3002, supervisor 3009) are phones added to its fake: an
	// endpoint belongs to one agent in the database.
	type fake struct{ name, addr, data string }
	fakes := []fake{{"east", freePort(t), filepath.Join(dir, "east")}, {"west", freePort(t), filepath.Join(dir, "west")}}
	phones := map[string]map[string]string{
		"east": {"1001": `{"answer_after": "1s", "hangup_after": "8s"}`, "1002": `{"answer_after": "2s", "hangup_after": "8s"}`,
			"2001": `{"answer_after": "1s", "hangup_after": "5s"}`},
		"west": {"3001": `{"answer_after": "1s", "hangup_after": "8s"}`, "3002": `{"answer_after": "2s", "hangup_after": "8s"}`,
			"3009": `{"answer_after": "1s", "hangup_after": "5s"}`},
	}
	sims := map[string]*process{}
	for _, f := range fakes {
		sims[f.name] = startSim(t, &simBundle{bin: bin, ariAddr: f.addr, dataDir: f.data, promptsDir: prompts, env: env},
			"-rate", "1", "-for", "70s")
		for ep, b := range phones[f.name] {
			sim(t, f.addr, http.MethodPut, "/sim/endpoints/PJSIP/"+ep, b)
		}
	}

	config := func(httpAddr string) string {
		path := filepath.Join(dir, "serve-"+strings.ReplaceAll(httpAddr, ":", "-")+".yaml")
		var servers strings.Builder
		for _, f := range fakes {
			fmt.Fprintf(&servers, "  - {name: %s, ari: {url: \"http://%s/ari\"}, voicemail_dir: \"%s\"}\n", f.name, f.addr,
				filepath.Join(f.data, "asterisk-voicemail", "hotline", "hotline"))
		}
		require.NoError(t, os.WriteFile(path, []byte(`log: {level: info}
http: {listen: "`+httpAddr+`"}
ari: {username: hotline, reconnect_min: 50ms, reconnect_max: 1s}
servers:
`+servers.String()+`calls: {hotline_numbers: ["12345"], complaint_numbers: ["12340"], ring_timeout: 8s, max_wait: 30s, wrap_up: 1s, survey_timeout: 4s, voicemail_max: 5s}
calendar:
  hours: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
  use_national_holidays: false
callbacks: {retry_backoff: 30s}
dialer: {citizen_ring: 15s, agent_wait: 5s}
recordings: {archive_dir: "`+archive+`", poll_interval: 2s}
store: {path: "`+dbPath+`"}
agents:
  - {id: "1001", name: 张伟, endpoint: PJSIP/1001, server: east}
  - {id: "1002", name: 王芳, endpoint: PJSIP/1002, server: east}
  - {id: "2001", name: 赵督察, endpoint: PJSIP/2001, role: supervisor, server: east}
  - {id: "3001", name: 孙丽, endpoint: PJSIP/3001, server: west}
  - {id: "3002", name: 周强, endpoint: PJSIP/3002, server: west}
  - {id: "3009", name: 吴督察, endpoint: PJSIP/3009, role: supervisor, server: west}
`), 0o600))
		return path
	}
	type instance struct {
		addr string
		p    *process
	}
	var inst []*instance
	for range 3 {
		i := &instance{addr: freePort(t)}
		i.p = start(t, bin, env, "serve", "-config", config(i.addr))
		inst = append(inst, i)
		if len(inst) == 1 {
			// The first makes the schema; then the others start.
			eventually(t, "the first instance ready", func() bool { return roleAt(i.addr) != "" })
		}
	}
	driver := func(server string, except *instance) *instance {
		for _, i := range inst {
			if i != except && i.p.cmd.ProcessState == nil && slices.Contains(drivenAt(i.addr), server) {
				return i
			}
		}
		return nil
	}
	eventually(t, "both servers driven", func() bool { return driver("east", nil) != nil && driver("west", nil) != nil })
	// The first instance, alone while it made the schema, may have taken
	// both before the others started (a busy instance waits only two
	// renewals for an idle one).
	t.Logf("east driven by %s, west by %s", driver("east", nil).addr, driver("west", nil).addr)
	stop := func(i *instance, sig syscall.Signal) {
		require.NoError(t, i.p.cmd.Process.Signal(sig))
		_ = i.p.cmd.Wait()
	}

	<-time.After(20 * time.Second)
	killed := driver("west", nil)
	killedServers := drivenAt(killed.addr)
	stop(killed, syscall.SIGKILL)
	at := time.Now()
	for _, server := range killedServers {
		for driver(server, killed) == nil {
			require.Less(t, time.Since(at), 30*time.Second, "nobody took %s over", server)
			<-time.After(50 * time.Millisecond)
		}
	}
	takeover := time.Since(at)
	t.Logf("%v taken over %s after the SIGKILL of their instance", killedServers, takeover.Round(10*time.Millisecond))

	<-time.After(15 * time.Second)
	stopped := driver("east", killed)
	stoppedServers := drivenAt(stopped.addr)
	stop(stopped, syscall.SIGTERM)
	at = time.Now()
	for _, server := range stoppedServers {
		eventually(t, server+" taken over after a SIGTERM", func() bool { return driver(server, stopped) != nil })
	}
	t.Logf("%v handed over %s after the SIGTERM of their instance", stoppedServers, time.Since(at).Round(10*time.Millisecond))

	// Drain: the sims stop placing calls, every call ends, the service
	// settles them (ends, archive, voice messages); then the last stop,
	// each draining its calls and callbacks. Settled is judged in the database and the mailboxes,
	// within a bound: what is still unsettled then is counted below.
	for name, p := range sims {
		waitLine(t, p, "stopped placing calls", 3*time.Minute, name)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, f := range fakes {
		for !allEnded(f.addr) && time.Now().Before(deadline) {
			<-time.After(200 * time.Millisecond)
		}
	}
	settleStart := time.Now()
	var unsettled string
	for deadline = time.Now().Add(90 * time.Second); ; {
		if unsettled = unsettledWork(t, dbPath, fakes[0].data, fakes[1].data); unsettled == "" || time.Now().After(deadline) {
			break
		}
		<-time.After(500 * time.Millisecond)
	}
	if unsettled != "" {
		t.Logf("cluster: not settled %s after the last call: %s", time.Since(settleStart).Round(time.Second), unsettled)
	} else {
		t.Logf("cluster: settled %s after the last call", time.Since(settleStart).Round(100*time.Millisecond))
	}
	for _, i := range inst {
		if i.p.cmd.ProcessState == nil {
			stop(i, syscall.SIGTERM)
		}
	}

	if dir := os.Getenv("HOTLINE_CLUSTER_LOGS"); dir != "" {
		// Every instance's log, kept for a closer look.
		for _, i := range inst {
			path := filepath.Join(dir, "serve-"+strings.ReplaceAll(i.addr, ":", "-")+".log")
			require.NoError(t, os.WriteFile(path, i.p.stderr.Bytes(), 0o600))
		}
	}
	res := accountCalls(t, dbPath, fakes[0].addr, fakes[1].addr)
	unarchived := unarchivedRecordings(t, dbPath, archive)
	res.lost += len(unarchived)
	res.items = append(res.items, unarchived...)
	if len(unarchived) > 0 {
		res.detail += fmt.Sprintf("; %d recordings not archived", len(unarchived))
	}
	t.Logf("cluster: %s", res.detail)
	for _, item := range res.items {
		t.Logf("cluster: %s", item)
		// What the instances logged of it, to tell why.
		for _, i := range inst {
			for _, l := range strings.Split(i.p.stderr.String(), "\n") {
				for _, w := range strings.Fields(item) {
					if w = strings.Trim(w, `":,`); itemID.MatchString(w) && strings.Contains(l, w) {
						t.Logf("cluster:   %s: %s", i.addr, l)
						break
					}
				}
			}
		}
	}
	line := fmt.Sprintf("lost %d · duplicated %d · stuck %d · takeover %.1f s", res.lost, res.duplicated, res.stuck, takeover.Seconds())
	fmt.Println("CLUSTER " + res.detail)
	fmt.Println("CLUSTER " + line)
	if res.lost+res.duplicated+res.stuck != 0 {
		t.Errorf("%s (%s)", line, res.detail)
	}
	require.Less(t, takeover, 10*time.Second)
}

// itemID matches the ids of calls, recordings and voice messages in the
// accounting's items.
var itemID = regexp.MustCompile(`^(c[a-z0-9]*_[0-9a-z]+|cb[0-9]+-[0-9]+|vm-[0-9a-z-]+|fb-[0-9a-z.-]+)$`)

// unsettledWork says what the service still has to do once every call
// has ended ("" when nothing): calls not final, recordings pending, voice
// messages in the fallbacks' mailboxes (the sims' data folders).
// Callbacks are left out: retried every callbacks.retry_backoff, one may
// always be going on; the last instances' drain lets those finish and
// archives their recordings.
func unsettledWork(t *testing.T, dbPath string, simData ...string) string {
	t.Helper()
	db := openAccounting(t, dbPath)
	defer db.Close()
	var parts []string
	for _, q := range []struct{ what, query string }{
		{"calls not final", `SELECT count(*) FROM calls WHERE state IN ('ringing', 'answered')`},
		{"recordings pending", `SELECT count(*) FROM recordings WHERE state = 'pending'`},
	} {
		var n int
		if err := db.QueryRow(q.query).Scan(&n); err != nil {
			return q.what + ": " + err.Error()
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, q.what))
		}
	}
	for _, dir := range simData {
		msgs, _ := filepath.Glob(filepath.Join(dir, "asterisk-voicemail", "hotline", "hotline", "INBOX", "msg*.txt"))
		if len(msgs) > 0 {
			parts = append(parts, fmt.Sprintf("%d voice messages in %s", len(msgs), filepath.Base(dir)))
		}
	}
	return strings.Join(parts, ", ")
}

// drivenAt is the servers an instance drives with its ARI connected, as
// its /readyz says ("drives east, west; …"); nil while it drives none or
// is not ready.
func drivenAt(addr string) []string {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Ready  bool   `json:"ready"`
		Role   string `json:"role"`
		Detail string `json:"detail"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || !body.Ready || body.Role != "active" {
		return nil
	}
	first, _, _ := strings.Cut(body.Detail, ";")
	list, ok := strings.CutPrefix(first, "drives ")
	if !ok {
		return nil
	}
	return strings.Split(list, ", ")
}

// waitLine waits for a line of p's output that contains s.
func waitLine(t *testing.T, p *process, s string, d time.Duration, what string) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case line, ok := <-p.lines:
			require.True(t, ok, "%s ended: %s", what, p.stderr)
			if strings.Contains(line, s) {
				return
			}
		case <-timeout:
			t.Fatalf("%s: no line %q within %s", what, s, d)
		}
	}
}

// allEnded reports whether every call the sim at addr placed has ended.
func allEnded(addr string) bool {
	var calls []struct {
		EndedAt *time.Time `json:"ended_at"`
	}
	if getSim(addr, "/sim/calls", &calls) != nil {
		return false
	}
	for _, c := range calls {
		if c.EndedAt == nil {
			return false
		}
	}
	return true
}

// unarchivedRecordings lists the recordings the calls and callback
// attempts name that are not archived, or whose archived file is missing,
// each with its row.
func unarchivedRecordings(t *testing.T, dbPath, archive string) []string {
	t.Helper()
	db := openAccounting(t, dbPath)
	defer db.Close()
	rows, err := db.Query(`SELECT n.name, coalesce(r.state, ''), coalesce(r.sha256, ''), coalesce(r.server, ''),
		coalesce(r.attempts, 0), coalesce(r.last_error, ''), coalesce(r.claim_until_ms, 0), coalesce(r.next_attempt_ms, 0) FROM (
		SELECT recording_name AS name FROM calls WHERE recording_name <> ''
		UNION SELECT recording_name FROM callback_attempts WHERE recording_name <> '') n
		LEFT JOIN recordings r ON r.name = n.name`)
	require.NoError(t, err)
	defer rows.Close()
	var missing []string
	for rows.Next() {
		var name, state, sum, server, lastErr string
		var attempts int
		var claimUntil, next int64
		require.NoError(t, rows.Scan(&name, &state, &sum, &server, &attempts, &lastErr, &claimUntil, &next))
		if _, err := os.Stat(filepath.Join(archive, name+".wav")); state != "archived" || len(sum) != 64 || err != nil {
			missing = append(missing, fmt.Sprintf("recording %s not archived: state %q, server %q, attempts %d, last error %q, claimed until %s, next attempt %s, file: %v",
				name, state, server, attempts, lastErr, msTime(claimUntil), msTime(next), err))
		}
	}
	require.NoError(t, rows.Err())
	return missing
}

// msTime shows a stored millisecond time as a clock time, "-" for none.
func msTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).Format("15:04:05.000")
}
