package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline/ari/aritest"
)

// Two `hotline serve` processes on one Asterisk (the fake, in this test's
// process), one database and one Redis: one drives Asterisk, the other
// waits; killed with SIGKILL, the holder leaves no time to hand the lease
// back, and the standby must be ready within 10 s.
func TestStandbyTakesOverWithinTenSecondsOfTheHoldersKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out the lease (about 5 s)")
	}
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		t.Skip("two processes share a lease only through a real Redis (REDIS_URL)")
	}
	bin := buildHotline(t)
	fake := aritest.NewTest(t, aritest.Options{})
	dir := t.TempDir()
	prefix := fmt.Sprintf("hotline-test-standby-%d", time.Now().UnixNano())
	config := func(name, httpAddr string) string {
		path := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(path, []byte(`log: {level: info}
http: {listen: "`+httpAddr+`"}
ari: {url: "`+fake.ARIURL()+`", password: hotline, reconnect_min: 50ms, reconnect_max: 500ms}
store: {path: "`+filepath.Join(dir, "hotline.db")+`"}
recordings: {archive_dir: "`+filepath.Join(dir, "rec")+`"}
redis: {url: "`+redisURL+`"}
callbacks: {key_prefix: "`+prefix+`:callbacks"}
promises: {key_prefix: "`+prefix+`:promises"}
lease: {key_prefix: "`+prefix+`:lease"}
`), 0o600))
		return path
	}
	env := envWithout("REDIS_URL", "HOTLINE_REDIS_URL")
	holderAddr, standbyAddr := freePort(t), freePort(t)
	holder := start(t, bin, env, "serve", "-config", config("holder", holderAddr))
	eventually(t, "the first instance active", func() bool { return roleAt(holderAddr) == "active" })
	standby := start(t, bin, env, "serve", "-config", config("standby", standbyAddr))
	eventually(t, "the second instance standby", func() bool { return roleAt(standbyAddr) == "standby" })
	require.Equal(t, "active", roleAt(holderAddr), "exactly one drives Asterisk")

	require.NoError(t, holder.cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	_ = holder.cmd.Wait()
	for roleAt(standbyAddr) != "active" {
		require.Less(t, time.Since(killed), 10*time.Second, "the standby did not take over within 10 s")
		<-time.After(50 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("the standby was ready and driving Asterisk %s after the holder's SIGKILL", took.Round(10*time.Millisecond))
	fmt.Printf("standby takeover after kill -9: %s\n", took.Round(10*time.Millisecond))

	require.NoError(t, standby.cmd.Process.Signal(syscall.SIGTERM))
	_ = standby.cmd.Wait()
	logs := standby.stderr.String()
	require.Contains(t, logs, "standby: another instance holds the lease")
	require.Contains(t, logs, "lease taken")
}

// roleAt is the role an instance's /readyz gives while it is ready:
// "active" only once it holds the lease and its ARI connection is up; ""
// while it does not answer or is not ready.
func roleAt(addr string) string {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body struct {
		Ready bool   `json:"ready"`
		Role  string `json:"role"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || resp.StatusCode != http.StatusOK || !body.Ready {
		return ""
	}
	return body.Role
}
