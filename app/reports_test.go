package app

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
)

// Calls through the fake Asterisk show up in the assessment report: the
// answered calls of the period add up to the call log's, the declined
// rings are the declining agent's, and the CSV has the same rows. An agent
// reads its own row only; a supervisor records a complaint, which counts.
func TestReportAddsUpToTheCallLog(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	// Talks long enough to be bridged on a busy machine: an agent who hangs up
	// before the service bridges them is not the call's agent.
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 400 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1002", aritest.Behavior{Busy: true})
	b := startService(t, testConfig(t, fake.ARIURL()))
	require.NoError(t, fake.WaitRegistered(context.Background(), "hotline"))
	for range 3 {
		_, err := fake.PlaceCall(aritest.InboundCall{Caller: "+86 138 0013 8000", Dialed: "12345"})
		require.NoError(t, err)
	}

	zone := b.svc.Calendar.Location()
	today := time.Now().In(zone)
	days := "from=" + today.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + today.AddDate(0, 0, 1).Format("2006-01-02")
	var log struct{ Calls []hotline.Call }
	require.Eventually(t, func() bool {
		b.getJSON(t, b.base+"/api/v1/calls?outcome=answered&state=completed&"+days, &log)
		return len(log.Calls) == 3
	}, 10*time.Second, 20*time.Millisecond)

	status, body := b.postJSON(t, b.base+"/api/v1/complaints", `{"agent": "1001", "about_call_id": "`+log.Calls[0].ID+`", "summary": "态度生硬"}`)
	require.Equal(t, http.StatusCreated, status, body)
	require.Equal(t, "s01", body["recorded_by"], "the logged-in supervisor")

	var report struct {
		Agents []map[string]any
		Total  map[string]any
	}
	require.Equal(t, http.StatusOK, b.getJSON(t, b.base+"/api/v1/reports/agents?"+days, &report))
	require.Len(t, report.Agents, 2)
	answered := 0.0
	for _, r := range report.Agents {
		answered += r["answered"].(float64)
	}
	require.Equal(t, float64(len(log.Calls)), answered)
	require.Equal(t, answered, report.Total["answered"])
	byID := map[string]map[string]any{}
	for _, r := range report.Agents {
		byID[r["agent"].(string)] = r
	}
	require.Equal(t, 3.0, byID["1001"]["answered"])
	require.NotNil(t, byID["1001"]["avg_talk_seconds"], "1001's calls ended")
	require.Equal(t, 1.0, byID["1001"]["complaints"])
	require.Greater(t, byID["1002"]["missed"].(float64), 0.0, "1002 declined its rings")
	require.Equal(t, 0.0, byID["1002"]["answered"])

	// An agent reads its own row, and only that.
	agent := b.tokenFor(t, "1002", hotline.RoleAgent)
	var own struct{ Agents []map[string]any }
	require.Equal(t, http.StatusOK, getJSONAs(t, b.base+"/api/v1/reports/agents?"+days, agent, &own))
	require.Len(t, own.Agents, 1)
	require.Equal(t, "1002", own.Agents[0]["agent"])
	require.Equal(t, http.StatusForbidden, getJSONAs(t, b.base+"/api/v1/reports/agents?agent=1001&"+days, agent, nil))

	req, err := http.NewRequest(http.MethodGet, b.base+"/api/v1/reports/agents?format=csv&"+days, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(raw), "\ufeff工号,姓名,振铃次数,首问接听"), string(raw))
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 3)
	require.Equal(t, []string{"1001", "张伟"}, records[1][:2])
	require.Equal(t, "3", records[1][3], "answered")
}
