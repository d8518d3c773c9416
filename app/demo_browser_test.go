package app

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshotsOfARunningDemo looks at a running `hotline demo` in
// Chromium and writes screenshots of the wall and of an agent's desk with
// the demo's live traffic on them: it shows that the demo's calls arrive on
// the pages without a reload. It runs only when told where the demo is:
//
//	HOTLINE_DEMO_URL=http://127.0.0.1:18080 HOTLINE_DEMO_SUPERVISOR='2001 <password>' \
//	HOTLINE_DEMO_AGENT='1001 <password>' HOTLINE_SCREENSHOTS=docs/screenshots \
//	go test ./app -run TestScreenshotsOfARunningDemo -v
func TestScreenshotsOfARunningDemo(t *testing.T) {
	base := os.Getenv("HOTLINE_DEMO_URL")
	if base == "" {
		t.Skip("set HOTLINE_DEMO_URL (and HOTLINE_DEMO_SUPERVISOR, HOTLINE_DEMO_AGENT: \"id password\") to look at a running demo")
	}
	shots := screenshotDir(t)
	for _, who := range []struct{ env, page, check string }{
		{"HOTLINE_DEMO_SUPERVISOR", "wall", `document.querySelectorAll("#agents tr[data-agent]").length > 0 && Number(document.getElementById("today-answered").textContent) > 0`},
		{"HOTLINE_DEMO_AGENT", "desk", `document.querySelectorAll("#calls tr[data-call]").length > 0`},
	} {
		var id, password string
		if _, err := fmt.Sscan(os.Getenv(who.env), &id, &password); err != nil {
			t.Fatalf("%s must be \"id password\": %v", who.env, err)
		}
		tab := newTab(t, newBrowser(t), 4*time.Minute)
		login(t, tab, base, id, password)
		waitFor(t, tab, `document.getElementById("live").dataset.state === "live"`)
		waitFor(t, tab, who.check)
		// Live: what the page shows changes with the demo's traffic, without a reload.
		before := eval[string](t, tab, `document.querySelector("main").innerText`)
		// (the demo's agents stay up to a minute on a call)
		waitWithin(t, tab, 2*time.Minute, `document.querySelector("main").innerText !== `+jsString(before))
		if who.page == "wall" {
			// The supervisor listens to a call on their own phone (the demo's 2001 answers after 3 s).
			waitFor(t, tab, `document.querySelector("button.monitor-listen") !== null`)
			if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("button.monitor-listen"))); err != nil {
				t.Fatal(err)
			}
			waitFor(t, tab, `[...document.querySelectorAll(".monitoring")].some((e) => e.textContent.includes("正在监听"))`)
		}
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
			t.Fatal(err)
		}
		screenshot(t, tab, shots, who.page)
	}
}

// jsString writes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
