package app

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
)

// The console in a real Chromium against the whole service and a fake
// Asterisk: an agent sees a callback task arrive live and dials it; a
// supervisor watches the wall, opens a call, plays its recording and
// reviews it; an agent opening a supervisor's page is refused.
// Screenshots of the wall and the call page are written and logged.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	shots := screenshotDir(t)

	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 2 * time.Second})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Offline: true})
	fake.SetEndpoint("PJSIP/2001", aritest.Behavior{Offline: true})
	cfg := testConfig(t, fake.ARIURL())
	// A supervisor who writes reviews is on the roster (the complaint line's).
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "s01", Name: "赵督察", Endpoint: "PJSIP/2001", Role: "supervisor"})
	// The callback service dials no task by itself here: the test's agent does.
	cfg.Callbacks.Tick, cfg.Callbacks.Lease, cfg.Callbacks.PollInterval = time.Hour, 2*time.Hour, time.Hour
	b := startService(t, cfg)
	ctx := context.Background()
	require.NoError(t, fake.WaitRegistered(ctx, "hotline"))
	b.tokenFor(t, "1001", hotline.RoleAgent) // accounts with the password a-good-test-password
	const password = "a-good-test-password"

	// A call 1001 answers, recorded and archived.
	_, err := fake.PlaceCall(aritest.InboundCall{Caller: "13800138000", Dialed: "12345"})
	require.NoError(t, err)
	var answered hotline.Call
	require.Eventually(t, func() bool {
		calls, err := b.svc.DB.ListCalls(ctx, store.CallFilter{State: hotline.CallCompleted})
		if err == nil && len(calls) == 1 {
			answered = calls[0]
		}
		return answered.ID != ""
	}, 15*time.Second, 20*time.Millisecond)
	requireArchived(t, b, answered.RecordingName)

	t.Run("an agent sees a callback task arrive live and dials it", func(t *testing.T) {
		// The agent's browser reaches the service through a connection the test can cut.
		proxy := newDropProxy(t, b.svc.HTTPAddr)
		base := "http://" + proxy.addr
		tab := newTab(t, browser, 90*time.Second)
		login(t, tab, base, "1001", password)
		require.Equal(t, base+"/desk/1001", locationOf(t, tab), "an agent's home is its desk")
		waitFor(t, tab, `document.getElementById("live").dataset.state === "live"`)
		waitFor(t, tab, `document.querySelector("#tasks td.empty") !== null`)

		// The connection drops and the page reconnects by itself.
		proxy.dropAll()
		waitFor(t, tab, `document.getElementById("live").dataset.state === "reconnecting"`)
		waitFor(t, tab, `document.getElementById("live").dataset.state === "live"`)

		// The citizen calls again; nobody answers: a task for 1001 appears without a reload.
		fake.SetEndpoint("PJSIP/1001", aritest.Behavior{NoAnswer: true})
		_, err := fake.PlaceCall(aritest.InboundCall{Caller: "13900139000", Dialed: "12345"})
		require.NoError(t, err)
		waitFor(t, tab, `document.querySelector("#tasks tr[data-task] button.dial:not([disabled])") !== null`)
		row := eval[string](t, tab, `document.querySelector("#tasks tr[data-task]").innerText`)
		require.Contains(t, row, "139****9000", "the number masked")
		require.Contains(t, row, "待回拨")
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS("#tasks button.dial"))))
		waitFor(t, tab, `document.querySelector("#tasks button.dial").textContent === "已安排回拨"`)
		entries, err := b.svc.DB.ListAudit(ctx, store.AuditFilter{Action: string(hotline.ActCallbackDial)})
		require.NoError(t, err)
		require.Len(t, entries, 1)
		require.Equal(t, "1001", entries[0].Actor)
		require.Equal(t, "ok", entries[0].Result)

		// Pause with a reason and resume: the status follows live.
		require.NoError(t, chromedp.Do(tab,
			chromedp.SendKeys(chromedp.ID("pause-input"), "培训"),
			chromedp.Click(chromedp.ID("pause")),
		))
		waitFor(t, tab, `document.getElementById("agent-state").dataset.state === "paused" && document.getElementById("pause-reason").textContent.includes("培训")`)
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.ID("resume"))))
		waitFor(t, tab, `document.getElementById("agent-state").dataset.state === "available"`)
		a, _ := b.svc.Roster.Get("1001")
		require.Equal(t, hotline.AgentAvailable, a.State)

		// A supervisor's page is refused, as a page that says so.
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(base+"/wall")))
		text := eval[string](t, tab, `document.body.innerText`)
		require.Contains(t, text, "无权访问（403）")
		require.NotContains(t, text, "坐席状态", "nothing of the wall is shown")
	})

	t.Run("a supervisor watches the wall, filters the call log, plays a call's recording, reviews it, downloads the report and monitors a call", func(t *testing.T) {
		tab := newTab(t, newBrowser(t), 90*time.Second) // a browser of its own: its own login
		login(t, tab, b.base, "s01", password)
		require.Equal(t, b.base+"/wall", locationOf(t, tab), "a supervisor's home is the wall")
		waitFor(t, tab, `document.getElementById("today-answered").textContent === "1"`)
		waitFor(t, tab, `document.querySelectorAll("#agents tr[data-agent]").length === 3`)
		require.Equal(t, "开放", eval[string](t, tab, `document.getElementById("line-state").textContent`))
		screenshot(t, tab, shots, "wall")

		// The call log, filtered in its form: the filters go into the page's address.
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(b.base+"/calls")))
		waitFor(t, tab, `document.querySelectorAll("#calls tr[data-call]").length === 2`)
		require.NoError(t, chromedp.Do(tab,
			chromedp.SetValue(chromedp.CSS(`#filters select[name=outcome]`), "answered"),
			chromedp.Click(chromedp.ID("apply")),
		))
		waitFor(t, tab, `location.search === "?outcome=answered" && document.querySelectorAll("#calls tr[data-call]").length === 1`)
		require.Equal(t, answered.ID, eval[string](t, tab, `document.querySelector("#calls tr[data-call]").dataset.call`))
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS("#calls a.open-call"))))
		waitFor(t, tab, `document.querySelectorAll("#timeline li").length > 0 && document.querySelector("audio") !== null`)
		timeline := eval[string](t, tab, `document.getElementById("timeline").innerText`)
		require.Contains(t, timeline, "首问责任人：坐席 1001")
		require.Contains(t, timeline, "通话结束")
		require.Equal(t, "138****8000", eval[string](t, tab, `document.getElementById("number").textContent`))

		// The player reaches the playing state and can seek (the server answers Range).
		waitFor(t, tab, `(() => { const a = document.querySelector("audio");
			if (a.paused && !window.started) { window.started = true; a.play(); }
			return !a.paused && a.currentTime > 0; })()`)
		require.True(t, eval[bool](t, tab, `(() => { const a = document.querySelector("audio"); return a.seekable.length > 0 && a.seekable.end(0) > 0; })()`))

		// The review form with the 推诿 flag.
		require.NoError(t, chromedp.Do(tab,
			chromedp.SetValue(chromedp.ID("review-score"), "62"),
			chromedp.Click(chromedp.CSS(`input[name=flag][value="推诿"]`)),
			chromedp.SendKeys(chromedp.ID("review-comment"), "未一次告知办理材料"),
			chromedp.Click(chromedp.ID("review-submit")),
		))
		waitFor(t, tab, `document.getElementById("review-message").textContent === "评议已提交。"`)
		waitFor(t, tab, `document.querySelector("#reviews tbody").innerText.includes("推诿")`)
		reviews, err := b.svc.DB.ListReviews(ctx, store.ReviewFilter{CallID: answered.ID})
		require.NoError(t, err)
		require.Len(t, reviews, 1)
		require.Equal(t, 62, reviews[0].Score)
		require.Equal(t, []string{"推诿"}, reviews[0].Flags)
		require.Equal(t, "s01", reviews[0].SupervisorID)

		// The whole number is one audited click.
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.ID("unmask"))))
		waitFor(t, tab, `document.getElementById("number").textContent === "13800138000"`)
		screenshot(t, tab, shots, "call")

		entries, err := b.svc.DB.ListAudit(ctx, store.AuditFilter{Actor: "s01"})
		require.NoError(t, err)
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action+" "+e.Result)
		}
		require.Contains(t, actions, "recording.listen ok", "the listen is audited")
		require.Contains(t, actions, "call.review ok")
		require.Contains(t, actions, "call.number ok", "the unmasked number is audited")

		// The assessment report of today: the table, its charts and
		// definitions, and the CSV the download button gives.
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(b.base+"/reports")))
		waitFor(t, tab, `document.querySelector("#report tr[data-agent='1001']") !== null`)
		answeredCol := eval[int](t, tab, `[...document.querySelectorAll("#report thead th")].findIndex((th) => th.textContent === "首问接听")`)
		require.Equal(t, "1", eval[string](t, tab, fmt.Sprintf(`document.querySelector("#report tr[data-agent='1001']").cells[%d].textContent`, answeredCol)))
		require.Contains(t, eval[string](t, tab, `document.getElementById("definitions").innerText`), "首问接听")
		require.Equal(t, 3, eval[int](t, tab, `document.querySelectorAll("figure.chart svg[role=img]").length`))
		screenshot(t, tab, shots, "report")
		downloads := t.TempDir()
		_, err = chromedp.CallBrowser(tab, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.ID("download"))))
		var csvFile string
		require.Eventually(t, func() bool {
			files, _ := filepath.Glob(filepath.Join(downloads, "*.csv"))
			if len(files) == 1 {
				csvFile = files[0]
			}
			return csvFile != ""
		}, 20*time.Second, 50*time.Millisecond, "the report CSV is downloaded")
		raw, err := os.ReadFile(csvFile)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(raw), "\ufeff"), "UTF-8 with a byte order mark")
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
		require.NoError(t, err)
		t.Logf("report CSV header: %s", strings.Join(rows[0], ","))
		require.Equal(t, []string{"工号", "姓名", "振铃次数", "首问接听"}, rows[0][:4])
		byAgent := map[string][]string{}
		for _, row := range rows[1:] {
			byAgent[row[0]] = row
		}
		require.Equal(t, "张伟", byAgent["1001"][1])
		require.Equal(t, "1", byAgent["1001"][3], "1001 answered the one answered call")

		// The ledgers: the audit log with its chain status and an actor filter
		// in the address; promises and violations load.
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(b.base+"/audit?actor=s01")))
		waitFor(t, tab, `document.getElementById("chain").className === "chain-ok" && document.querySelectorAll("#entries tbody tr").length > 2`)
		require.True(t, eval[bool](t, tab, `[...document.querySelectorAll("#entries tbody tr")].every((tr) => tr.cells[2].textContent === "s01")`))
		for _, page := range []string{"/promises", "/violations"} {
			require.NoError(t, chromedp.Do(tab, chromedp.Navigate(b.base+page)))
			waitFor(t, tab, `document.querySelector("main table tbody tr") !== null && !document.querySelector("main").innerText.includes("无法加载")`)
		}

		// Monitoring from the wall: a call in progress, listened to on the
		// supervisor's own phone, then ended from the wall.
		fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: time.Minute})
		fake.SetEndpoint("PJSIP/2001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond})
		citizen, err := fake.PlaceCall(aritest.InboundCall{Caller: "13700137000", Dialed: "12345"})
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(b.base+"/wall")))
		waitFor(t, tab, `document.querySelector("#active button.monitor-listen") !== null`)
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS("#active button.monitor-listen"))))
		waitFor(t, tab, `[...document.querySelectorAll("#active .monitoring")].some((e) => e.textContent.includes("正在监听"))`)
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS("#active button.monitor-end"))))
		waitFor(t, tab, `document.querySelector("#active .monitoring") === null`)
		require.NoError(t, fake.Hangup(citizen))
		monitored, err := b.svc.DB.ListAudit(ctx, store.AuditFilter{Action: string(hotline.ActCallMonitor)})
		require.NoError(t, err)
		require.Len(t, monitored, 2, "the start and the end")
	})
}

func locationOf(t *testing.T, tab context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(tab, chromedp.Location())
	require.NoError(t, err)
	return strings.TrimRight(loc, "/")
}
