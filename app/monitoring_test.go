package app

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var (
	metricDef = regexp.MustCompile(`(?:Name:\s*|[A-Za-z]\()"(hotline_[a-z0-9_]+)"`)
	metricUse = regexp.MustCompile(`\bhotline_[a-z0-9_]+\b`)
)

// registeredMetrics lists every metric name the service's Go code declares
// (Name: "hotline_…" in the collectors' options, or the name passed to a
// helper such as counter("hotline_…", …)), outside tests.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "data" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricDef.FindAllStringSubmatch(string(src), -1) {
			names[m[1]] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.True(t, names["hotline_calls_total"] && names["hotline_ari_connected"], "metric definitions not found: %v", names)
	return names
}

// unknownMetrics returns the hotline_ metrics used in expr that the service
// does not register (histogram series _bucket, _sum, _count allowed).
func unknownMetrics(expr string, known map[string]bool) []string {
	var out []string
	for _, name := range metricUse.FindAllString(expr, -1) {
		base := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && known[b] {
				base = b
			}
		}
		if !known[base] {
			out = append(out, name)
		}
	}
	return out
}

func TestPrometheusAlerts(t *testing.T) {
	t.Parallel()
	const path = "../configs/prometheus/alerts.yml"
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&rules))
	known := registeredMetrics(t)
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			require.NotEmpty(t, r.Expr, r.Alert)
			require.Empty(t, unknownMetrics(r.Expr, known), "alert %s uses metrics the service does not register", r.Alert)
			require.NotEmpty(t, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
		}
	}
	sort.Strings(alerts)
	require.Equal(t, []string{"HotlineARIApplicationReplaced", "HotlineARIDisconnected", "HotlineCallbacksOverdue",
		"HotlineNoLeaseHolder", "HotlineNobodyOnDuty", "HotlinePromisesOverdue", "HotlineRecordingsArchiveFailing", "HotlineRedisDegraded"}, alerts)

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus): rules parsed and metric names checked, promtool check skipped")
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	require.NoError(t, err, "promtool check rules:\n%s", out)
	require.Contains(t, string(out), fmt.Sprintf("SUCCESS: %d rules found", len(alerts)))
}

func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../configs/grafana/hotline.json")
	require.NoError(t, err)
	type panel struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var dash struct {
		Title  string  `json:"title"`
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &dash), "dashboard is not valid JSON")
	require.Equal(t, "hotline", dash.UID)
	known := registeredMetrics(t)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, p.Title)
			require.Empty(t, unknownMetrics(tg.Expr, known), "panel %q uses metrics the service does not register", p.Title)
			for _, m := range metricUse.FindAllString(tg.Expr, -1) {
				used[m] = true
			}
		}
	}
	for _, m := range []string{"hotline_calls_total", "hotline_agent_answer_to_bridged_seconds_bucket", "hotline_agents",
		"hotline_staffing_gap", "hotline_callback_tasks_total", "hotline_callback_dials_total", "hotline_deadline_reminders_total",
		"hotline_deadline_escalations_total", "hotline_ari_connected", "hotline_ari_events_received_total",
		"hotline_ari_http_connections_opened_total"} {
		require.True(t, used[m], "the dashboard shows %s", m)
	}
}
