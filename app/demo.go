package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"hotline"
	"hotline/ari"
	"hotline/ari/aritest"
	"hotline/auth"
	"hotline/callback"
	"hotline/lease"
	"hotline/recording"
	"hotline/store"
	"hotline/web"
)

// DemoOptions shape `hotline demo`.
type DemoOptions struct {
	HTTPAddr       string  // console, API and metrics
	ARIAddr        string  // the fake Asterisk
	DataDir        string  // SQLite file, recordings and the service log
	CallsPerSecond float64 // simulated citizens
	SummaryEvery   time.Duration
	// OfficeHours uses the real working-hours calendar (Mon–Fri 08:30–11:30,
	// 13:00–17:00, holidays); by default the demo line is open around the
	// clock so calls flow whenever it runs.
	OfficeHours bool
	Verbose     bool // service log on stderr instead of a file
	// PromptsDir holds the sound files of scripts/gen-prompts.sh; the fake
	// Asterisk plays the lengths listed in its durations.tsv. Default
	// data/prompts when it exists.
	PromptsDir string
	Out        io.Writer
	// Started, when set, is called with the running service and fake
	// Asterisk once the demo is up (tests).
	Started func(*Service, *aritest.Server)
}

// Demo runs the whole service against the fake Asterisk with simulated
// citizens and agents until ctx ends, printing a summary line now and then.
func Demo(ctx context.Context, opts DemoOptions) error {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.SummaryEvery <= 0 {
		opts.SummaryEvery = 5 * time.Second
	}
	if opts.CallsPerSecond <= 0 || opts.CallsPerSecond > 500 {
		return fmt.Errorf("demo: -rate %v must be above 0 and at most 500 calls per second", opts.CallsPerSecond)
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return fmt.Errorf("demo: data folder: %w", err)
	}
	logOut := io.Writer(os.Stderr)
	logPath := filepath.Join(opts.DataDir, "hotline.log")
	if !opts.Verbose {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("demo: log file: %w", err)
		}
		defer f.Close()
		logOut = f
	}

	fake, err := startFakeAsterisk(fakeAsteriskOptions{addr: opts.ARIAddr, dataDir: opts.DataDir,
		promptsDir: opts.PromptsDir, log: logOut, out: opts.Out})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer fake.Close()
	cfg := Config{
		Log:  LogConfig{Level: "info", Format: "text"},
		HTTP: web.Config{Listen: opts.HTTPAddr},
		ARI:  ari.Config{URL: fake.ARIURL(), Username: "hotline", Password: "hotline"},
		Calls: ari.CallConfig{HotlineNumbers: []string{demoHotline}, ComplaintNumbers: []string{demoComplaint},
			RingTimeout: 8 * time.Second, MaxWait: 30 * time.Second, WrapUp: 3 * time.Second, SurveyTimeout: 4 * time.Second,
			VoicemailMax: demoVoicemailMax},
		Store: store.Config{Path: filepath.Join(opts.DataDir, "hotline.db")},
		// The demo's passwords are random (130 bits): a slow hash adds no
		// strength to them, only start-up and login time.
		Auth: auth.Config{BcryptCost: 4},
		Recordings: recording.Config{ArchiveDir: filepath.Join(opts.DataDir, "recordings"),
			VoicemailDir: filepath.Join(opts.DataDir, "asterisk-voicemail", "hotline", "hotline")},
		Redis: callback.RedisConfig{URL: os.Getenv("REDIS_URL")},
		// Quicker retries than in production, so the demo shows them.
		Callbacks: callback.Config{CallbackPolicy: hotline.CallbackPolicy{RetryBackoff: 30 * time.Second},
			EngineConfig: callback.EngineConfig{KeyPrefix: "hotline-demo"}},
		Lease:  lease.Config{KeyPrefix: "hotline-demo:lease"},
		Dialer: ari.DialerConfig{CallerID: demoHotline, CitizenRing: 15 * time.Second, AgentWait: 10 * time.Second},
	}
	if !opts.OfficeHours {
		cfg.Calendar = alwaysOpen()
	}
	for _, a := range demoAgents {
		cfg.Agents = append(cfg.Agents, a.cfg)
	}

	if cfg.Redis.URL != "" {
		// The demo's database may be new while a Redis kept the lease of
		// an earlier one: the demo is the only instance, so it takes over.
		if err := forgetLease(ctx, cfg); err != nil {
			return err
		}
	}
	runCtx, stopService := context.WithCancel(ctx)
	defer stopService()
	started := make(chan *Service, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(runCtx, Options{Config: &cfg, LogOutput: logOut, Started: func(s *Service) { started <- s }})
	}()
	var svc *Service
	select {
	case svc = <-started:
	case err := <-runErr:
		return err
	case <-ctx.Done():
		return nil
	}
	if err := svc.ARI.WaitConnected(ctx); err != nil {
		return nil
	}

	where := "log: " + logPath
	if opts.Verbose {
		where = "log: stderr"
	}
	hours := "open around the clock (-office-hours for the real calendar)"
	if opts.OfficeHours {
		hours = "office hours and national holidays"
	}
	fmt.Fprintf(opts.Out, `hotline demo is running (Ctrl-C to stop)
  console   http://%[1]s/
  API       http://%[1]s/api/v1/calls   http://%[1]s/api/v1/agents
  health    http://%[1]s/healthz   http://%[1]s/readyz
  metrics   http://%[1]s/metrics
  fake Asterisk ARI %[2]s (user hotline/hotline), simulator http://%[3]s/sim/channels
  data      %[4]s   %[5]s
  traffic   %.2[6]f calls/s to %[7]s (hotline) and %[8]s (complaints); line %[9]s
  agents    1001, 1002 answer; 1003 declines; 1004 never answers; 1005 registers after 20s; supervisor 2001 takes complaints;
            an agent paused for refusing rings is put back on duty a minute later
`, svc.HTTPAddr, fake.ARIURL(), strings.TrimPrefix(fake.URL(), "http://"), opts.DataDir, where, opts.CallsPerSecond,
		demoHotline, demoComplaint, hours)
	if err := demoAccounts(ctx, svc, opts.Out); err != nil {
		stopService()
		<-runErr
		return fmt.Errorf("demo: accounts: %w", err)
	}
	if opts.Started != nil {
		opts.Started(svc, fake)
	}

	start := time.Now()
	people := simulate(runCtx, fake, opts.CallsPerSecond, 0, nil)
	defer func() { stopService(); people.Wait() }()
	go referSomeCalls(runCtx, fake, svc)
	go resumePausedAgents(runCtx, svc, time.Minute)
	tick := time.NewTicker(opts.SummaryEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			fmt.Fprintln(opts.Out, summaryLine(runCtx, svc, start))
		case err := <-runErr:
			return err
		case <-ctx.Done():
			fmt.Fprintln(opts.Out, summaryLine(context.WithoutCancel(ctx), svc, start))
			stopService()
			return <-runErr
		}
	}
}

// demoAccounts gives agents 1001 and 1002 and supervisor 2001 new random
// passwords (creating their accounts the first time), and the supervisor a
// new API token, and prints them one a line:
//
//	demo login agent 1001 <password>
//	demo login supervisor 2001 <password>
//	demo token supervisor <token>
func demoAccounts(ctx context.Context, svc *Service, out io.Writer) error {
	by := hotline.Actor{ID: "demo", Method: hotline.AuthCLI}
	for _, a := range demoAgents {
		role := hotline.Role(a.cfg.Role)
		if role == "" {
			role = hotline.RoleAgent
		}
		pw := rand.Text()
		_, err := svc.Auth.AddUser(ctx, by, hotline.User{ID: a.cfg.ID, Name: a.cfg.Name, Roles: []hotline.Role{role}}, pw)
		if hotline.KindOf(err) == hotline.KindConflict {
			if err = svc.Auth.SetDisabled(ctx, by, a.cfg.ID, false); err == nil {
				err = svc.Auth.SetPassword(ctx, by, a.cfg.ID, pw)
			}
		}
		if err != nil {
			return err
		}
		if a.cfg.ID == "1001" || a.cfg.ID == "1002" || role == hotline.RoleSupervisor {
			fmt.Fprintf(out, "demo login %s %s %s\n", role, a.cfg.ID, pw)
		}
	}
	if err := svc.Auth.RevokeToken(ctx, by, "2001", "demo"); err != nil && hotline.KindOf(err) != hotline.KindNotFound {
		return err
	}
	token, _, err := svc.Auth.CreateToken(ctx, by, "2001", "demo", 24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo token supervisor %s\n", token)
	return nil
}

// referSomeCalls now and then has an agent on a call refer the citizen to
// another department, as agents do for matters outside their duties.
func referSomeCalls(ctx context.Context, fake *aritest.Server, svc *Service) {
	departments := []string{"社会保障", "不动产登记", "户籍"}
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, ch := range fake.Channels() {
			if len(ch.Args) == 3 && ch.Args[0] == "agent" && ch.Bridge != "" {
				_, _ = svc.Calls.Refer(ctx, ch.Args[1], ch.Args[2], "", departments[mathrand.IntN(len(departments))])
				break
			}
		}
	}
}

// resumePausedAgents plays the supervisor who, told that an agent was
// paused for refusing rings, puts them back on duty after a while, so the
// demo keeps showing refusals, autopauses and the ringing rules.
func resumePausedAgents(ctx context.Context, svc *Service, after time.Duration) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, a := range svc.Roster.List() {
			if a.State == hotline.AgentPaused && time.Since(a.StateSince) >= after {
				_, _ = svc.Calls.SetAgentState(ctx, a.ID, hotline.AgentAvailable, "")
			}
		}
	}
}

func summaryLine(ctx context.Context, svc *Service, since time.Time) string {
	counts, err := svc.DB.CallCounts(ctx, since)
	if err != nil {
		return "summary unavailable: " + err.Error()
	}
	reasons := make([]string, 0, len(counts.MissedByReason))
	for r, n := range counts.MissedByReason {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(reasons)
	missed := ""
	if len(reasons) > 0 {
		missed = " (" + strings.Join(reasons, ", ") + ")"
	}
	m := gatherCounters(svc)
	rated, sum := 0.0, 0.0
	for score, n := range m["hotline_survey_ratings_total"] {
		if s, _ := strconv.Atoi(score); s > 0 {
			rated += n
			sum += float64(s) * n
		}
	}
	avg := "-"
	if rated > 0 {
		avg = fmt.Sprintf("%.1f", sum/rated)
	}
	states := svc.Roster.Counts(hotline.RoleAgent)
	dials := m["hotline_callback_dials_total"]
	return fmt.Sprintf("%s  calls %d · answered %d · missed %d%s · in progress %d · complaints %.0f · referrals %.0f (handover %.0f) · rated %.0f (avg %s, 1=非常满意)"+
		" · callbacks queued %.0f, dialed %.0f (connected %.0f, busy %.0f, no answer %.0f) · agents available %d, on call %d, offline %d",
		time.Now().Format("15:04:05"), counts.Total, counts.Answered, counts.Missed, missed, counts.InProgress,
		sumCounter(m["hotline_calls_total"], "complaint"), sumCounter(m["hotline_referrals_total"], ""), m["hotline_referrals_total"]["handover"],
		rated, avg, m["hotline_callback_tasks_total"]["created"], sumCounter(dials, ""), dials["connected"], dials["busy"], dials["citizen_no_answer"],
		states[hotline.AgentAvailable], states[hotline.AgentOnCall], states[hotline.AgentOffline])
}

// gatherCounters reads the service's counters: name → first label value → sum.
func gatherCounters(svc *Service) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	families, err := svc.Registry.Gather()
	if err != nil {
		return out
	}
	for _, f := range families {
		if f.GetType() != dto.MetricType_COUNTER {
			continue
		}
		byLabel := map[string]float64{}
		for _, m := range f.GetMetric() {
			label := ""
			if ls := m.GetLabel(); len(ls) > 0 {
				label = ls[0].GetValue()
			}
			byLabel[label] += m.GetCounter().GetValue()
		}
		out[f.GetName()] = byLabel
	}
	return out
}

// sumCounter adds the values whose label is label, or all when label is "".
func sumCounter(byLabel map[string]float64, label string) float64 {
	var sum float64
	for l, v := range byLabel {
		if label == "" || l == label {
			sum += v
		}
	}
	return sum
}
