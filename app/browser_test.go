package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The console's browser tests drive Debian's chromium through chromedp.
// The machine's network is closed and the page's CSP is default-src
// 'self': chromium starts with nothing that reaches out (no sync, no
// component updates, no background networking, no QUIC) and a new, empty
// profile.

// chromiumPath finds the browser. Without one the tests skip and say how
// to install it; in CI (CI=true) a missing browser fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const how = "no chromium on this machine: install it with `apt-get install chromium` (Debian's package; .ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(how)
	}
	t.Skip(how)
	return ""
}

// newBrowser starts a headless chromium for the test and returns its
// context; tabs are opened with newTab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The recording player is started by the test, not by a person's click.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	t.Cleanup(cancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	return bctx
}

// newTab opens a tab (its own cookies are the browser's: one login per
// browser) that accepts every dialog, bounded by timeout.
func newTab(t *testing.T, browser context.Context, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelTimeout)
	require.NoError(t, chromedp.Do(ctx))
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Logf("dialog: %s", ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}

// screenshotDir is where screenshots go: $HOTLINE_SCREENSHOTS, or a
// folder of the test run under the system's temporary folder, kept after
// the test so the paths printed with -v can be opened.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("HOTLINE_SCREENSHOTS"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	dir, err := os.MkdirTemp("", "hotline-console-"+time.Now().Format("20060102-150405")+"-")
	require.NoError(t, err)
	return dir
}

// screenshot writes the whole page of tab as dir/name.png and logs its path.
func screenshot(t *testing.T, tab context.Context, dir, name string) string {
	t.Helper()
	buf, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(path, buf, 0o644))
	t.Logf("screenshot %s: %s", name, path)
	return path
}

// login signs in through the login page and waits for the page it leads to.
func login(t *testing.T, tab context.Context, base, user, password string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(base+"/login.html"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
	))
	waitFor(t, tab, `document.body && document.body.dataset.me === `+fmt.Sprintf("%q", user))
}

// waitFor waits until the page's expression is truthy, checked in the
// page every 100 ms for at most 20 s. A poll does not survive a navigation
// (the page it ran in is gone): it starts again in the new page.
func waitFor(t *testing.T, tab context.Context, expression string) {
	t.Helper()
	waitWithin(t, tab, 20*time.Second, expression)
}

// waitWithin is waitFor for at most d.
func waitWithin(t *testing.T, tab context.Context, d time.Duration, expression string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := chromedp.Run(tab, chromedp.Poll[bool](expression, chromedp.WithPollingInterval(100*time.Millisecond),
			chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if time.Now().After(deadline) || tab.Err() != nil || !navigatedAway(err) {
			require.NoError(t, err, "waiting for %s", expression)
		}
	}
}

// navigatedAway reports whether err is a poll's page going away.
func navigatedAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context") || strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Inspected target navigated")
}

// eval runs an expression in the page and returns its value.
func eval[T any](t *testing.T, tab context.Context, expression string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	require.NoError(t, err, expression)
	return v
}

// dropProxy passes TCP connections to a server and can cut them all at
// once, as a network drop does.
type dropProxy struct {
	addr  string
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &dropProxy{addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	t.Cleanup(func() { _ = ln.Close(); p.dropAll() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	return p
}

// dropAll cuts every connection open now.
func (p *dropProxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}
