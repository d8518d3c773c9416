package app

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
	"hotline/web"
)

// Calls through the fake Asterisk show up in the assessment report: the
// answered calls of the period add up to the call log's, the declined
// rings are the declining agent's, and the CSV has the same rows.
func TestReportAddsUpToTheCallLog(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: 20 * time.Millisecond, HangupAfter: 100 * time.Millisecond})
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
		getJSON(t, b.base+"/api/v1/calls?outcome=answered&state=completed&"+days, &log)
		return len(log.Calls) == 3
	}, 10*time.Second, 20*time.Millisecond)

	var report struct {
		Agents []map[string]any
		Total  map[string]any
	}
	require.Equal(t, http.StatusOK, getJSON(t, b.base+"/api/v1/reports/agents?"+days, &report))
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
	require.Greater(t, byID["1002"]["missed"].(float64), 0.0, "1002 declined its rings")
	require.Equal(t, 0.0, byID["1002"]["answered"])

	resp, err := http.Get(b.base + "/api/v1/reports/agents?format=csv&" + days)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "\ufeff工号,姓名,振铃次数,首问接听", string(raw[:len("\ufeff工号,姓名,振铃次数,首问接听")]))
	require.Len(t, records, 3)
	require.Equal(t, []string{"1001", "张伟"}, records[1][:2])
	require.Equal(t, "3", records[1][3], "answered")
}

// Only a supervisor records a complaint.
func TestComplaintDesk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "h.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Migrate(ctx)
	require.NoError(t, err)
	staff := staffMap{
		"1001": {ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001", Role: hotline.RoleAgent, State: hotline.AgentAvailable},
		"2001": {ID: "2001", Name: "督察", Endpoint: "PJSIP/2001", Role: hotline.RoleSupervisor, State: hotline.AgentAvailable},
	}
	for _, a := range staff {
		require.NoError(t, db.UpsertAgent(ctx, a))
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	desk := complaintDesk{db: db, staff: staff, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler)}

	_, err = desk.AddComplaint(ctx, hotline.Complaint{AgentID: "1001", Summary: "推诿", RecordedBy: "1001", RecordedAt: now})
	require.Equal(t, hotline.KindForbidden, hotline.KindOf(err))
	c, err := desk.AddComplaint(ctx, hotline.Complaint{AgentID: "1001", Summary: "推诿", RecordedBy: "2001", RecordedAt: now})
	require.NoError(t, err)
	list, err := desk.ListComplaints(ctx, web.ComplaintFilter{AgentID: "1001"})
	require.NoError(t, err)
	require.Equal(t, []hotline.Complaint{c}, list)
}

// staffMap is a staff directory in memory.
type staffMap map[string]hotline.Agent

func (m staffMap) Get(id string) (hotline.Agent, bool) {
	a, ok := m[id]
	return a, ok
}
