package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hotline/ari/aritest"
)

// The simulated hotline: a fake Asterisk, the staff's phones and citizens
// who call. `hotline demo` runs it beside the service in one process;
// `hotline sim` runs it alone, for a `hotline serve` started apart (so
// either can be killed without the other).

const (
	demoHotline   = "12345"
	demoComplaint = "12340"
	// demoVoicemailMax bounds voice messages, after hours and in the
	// dialplan's fallback alike.
	demoVoicemailMax = 5 * time.Second
)

// demoAgents are the simulated staff; their phones behave differently so
// the summary shows every outcome. Those who answer stay on a call for
// 50 s: a callback needs the whisper (10 s with the generated prompts),
// the citizen's answer and the apology (17 s) before the min_talk of
// conversation starts.
var demoAgents = []struct {
	cfg      AgentConfig
	behavior aritest.Behavior
}{
	{AgentConfig{ID: "1001", Name: "张伟", Endpoint: "PJSIP/1001", Department: "社会保障", Skills: []string{"社保", "医保"}}, aritest.Behavior{AnswerAfter: 2 * time.Second, HangupAfter: 50 * time.Second}},
	{AgentConfig{ID: "1002", Name: "王芳", Endpoint: "PJSIP/1002", Department: "不动产登记", Skills: []string{"不动产"}}, aritest.Behavior{AnswerAfter: 4 * time.Second, HangupAfter: 50 * time.Second}},
	{AgentConfig{ID: "1003", Name: "李娜", Endpoint: "PJSIP/1003", Department: "市场监管", Skills: []string{"营业执照"}}, aritest.Behavior{Busy: true}},
	{AgentConfig{ID: "1004", Name: "刘洋", Endpoint: "PJSIP/1004", Department: "公积金", Skills: []string{"公积金"}}, aritest.Behavior{NoAnswer: true}},
	{AgentConfig{ID: "1005", Name: "陈静", Endpoint: "PJSIP/1005", Department: "户籍", Skills: []string{"户籍"}}, aritest.Behavior{Offline: true}},
	{AgentConfig{ID: "2001", Name: "赵督察", Endpoint: "PJSIP/2001", Department: "督查室", Role: "supervisor"}, aritest.Behavior{AnswerAfter: 3 * time.Second, HangupAfter: 10 * time.Second}},
}

// fakeAsteriskOptions describe the simulated Asterisk of demo and sim.
type fakeAsteriskOptions struct {
	addr       string    // ARI and /sim listen address
	dataDir    string    // its recordings and voice mailboxes go under it
	promptsDir string    // see DemoOptions.PromptsDir
	log        io.Writer // its warnings
	out        io.Writer // where the prompt lengths used are said
}

// startFakeAsterisk starts the fake Asterisk with the prompts' lengths,
// its spool folders under dataDir, the dialplan's fallback mailbox, and
// the simulated staff's phones.
func startFakeAsterisk(o fakeAsteriskOptions) (*aritest.Server, error) {
	durations, from, err := demoSoundDurations(o.promptsDir)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.out, "prompts: playing %d sounds as long as %s\n", len(durations), from)
	sounds := make([]string, 0, len(durations))
	for s := range durations {
		sounds = append(sounds, s)
	}
	fake, err := aritest.Start(aritest.Options{
		Addr:           o.addr,
		RecordingsDir:  filepath.Join(o.dataDir, "asterisk-recordings"),
		Logger:         NewLogger(LogConfig{Level: "warn", Format: "json"}, o.log),
		SoundDurations: durations,
		Sounds:         sounds, // installed, as scripts/gen-prompts.sh's files would be
		VoicemailDir:   filepath.Join(o.dataDir, "asterisk-voicemail"),
		VoicemailMax:   demoVoicemailMax, // voicemail.conf's maxsecs = calls.voicemail_max
	})
	if err != nil {
		return nil, fmt.Errorf("start fake Asterisk on %s: %w", o.addr, err)
	}
	for _, a := range demoAgents {
		fake.SetEndpoint(a.cfg.Endpoint, a.behavior)
	}
	return fake, nil
}

// simulation is the citizens and staff acting on a fake Asterisk.
type simulation struct {
	wg     sync.WaitGroup
	placed atomic.Int64 // calls placed so far
}

// simulate starts the simulated people on fake until ctx ends: citizens
// calling at rate per second (none when rate is 0) for placeFor (0: until
// ctx ends), most of them answering the survey, and agent 1005, offline at
// first, registering after 20 s. stopped, when set, is called once the
// citizens stop calling before ctx ends. Wait waits for all of it to stop.
func simulate(ctx context.Context, fake *aritest.Server, rate float64, placeFor time.Duration, stopped func(placed int64)) *simulation {
	s := &simulation{}
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		if rate <= 0 {
			return
		}
		callCtx := ctx
		if placeFor > 0 {
			var cancel context.CancelFunc
			callCtx, cancel = context.WithTimeout(ctx, placeFor)
			defer cancel()
		}
		simulateCitizens(callCtx, fake, rate, &s.placed)
		if ctx.Err() == nil && stopped != nil {
			stopped(s.placed.Load())
		}
	}()
	go func() {
		defer s.wg.Done()
		answerSurveys(ctx, fake)
	}()
	go func() {
		defer s.wg.Done()
		select {
		case <-time.After(20 * time.Second):
			fake.SetEndpoint("PJSIP/1005", aritest.Behavior{AnswerAfter: 3 * time.Second, HangupAfter: 50 * time.Second})
		case <-ctx.Done():
		}
	}()
	return s
}

// Wait returns once every simulated person has stopped (after ctx ended).
func (s *simulation) Wait() { s.wg.Wait() }

// simulateCitizens places calls at about rate per second: most callers
// wait for an agent, some give up after a few seconds, some call again,
// and one in ten calls the complaint line. placed counts them.
func simulateCitizens(ctx context.Context, fake *aritest.Server, rate float64, placed *atomic.Int64) {
	var repeatCallers []string
	for {
		wait := time.Duration(mathrand.ExpFloat64() / rate * float64(time.Second))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		caller := fmt.Sprintf("13%09d", mathrand.IntN(1_000_000_000))
		switch r := mathrand.Float64(); {
		case r < 0.15 && len(repeatCallers) > 0:
			caller = repeatCallers[mathrand.IntN(len(repeatCallers))]
		case r < 0.20:
			caller = "anonymous"
		}
		if len(repeatCallers) < 20 {
			repeatCallers = append(repeatCallers, caller)
		}
		call := aritest.InboundCall{Caller: caller, Dialed: demoHotline}
		// How this citizen's phone answers when the hotline calls back.
		// A citizen who takes the callback listens to the apology (17 s with
		// the generated prompts) and talks longer than callbacks.min_talk.
		phone := aritest.Behavior{AnswerAfter: 3 * time.Second, HangupAfter: time.Duration(35+mathrand.IntN(25)) * time.Second}
		switch r := mathrand.Float64(); {
		case r < 0.15:
			phone = aritest.Behavior{Busy: true}
		case r < 0.25:
			phone = aritest.Behavior{NoAnswer: true}
		case r < 0.28:
			phone = aritest.Behavior{NotFound: true}
		}
		if caller != "anonymous" {
			fake.SetEndpoint("PJSIP/"+caller+"@trunk", phone)
		}
		if mathrand.Float64() < 0.1 {
			call.Dialed = demoComplaint
		}
		if mathrand.Float64() < 0.25 {
			call.HangupAfter = time.Duration(4+mathrand.IntN(12)) * time.Second // gives up waiting
		}
		// While the service is reconnecting, Stasis() fails and the call runs
		// the dialplan's fallback (apology, voice message), which the service
		// imports as a missed call (recordings.voicemail_dir).
		_, _ = fake.PlaceCall(call)
		placed.Add(1)
	}
}

// answerSurveys has most citizens press a digit when the survey prompt
// starts on their channel; the others hang up or stay silent.
func answerSurveys(ctx context.Context, fake *aritest.Server) {
	w := fake.Watch()
	defer w.Close()
	for {
		e, err := w.WaitFor(ctx, func(e aritest.Emitted) bool {
			return e.Kind == aritest.KindEvent && e.Model == "PlaybackStarted" && strings.Contains(string(e.Body), `"sound:hotline/survey"`)
		})
		if err != nil {
			return
		}
		var ev struct {
			Playback struct {
				TargetURI string `json:"target_uri"`
			} `json:"playback"`
		}
		if json.Unmarshal(e.Body, &ev) != nil || mathrand.Float64() < 0.2 {
			continue
		}
		ch := strings.TrimPrefix(ev.Playback.TargetURI, "channel:")
		digit := []string{"1", "1", "1", "2", "2", "2", "3", "4", "5"}[mathrand.IntN(9)] // mostly satisfied
		time.AfterFunc(time.Duration(1+mathrand.IntN(3))*time.Second, func() { _ = fake.SendDTMF(ch, digit) })
	}
}

// SimOptions shape `hotline sim`.
type SimOptions struct {
	ARIAddr string // ARI and the /sim routes of the fake Asterisk
	// DataDir holds the fake's recordings (asterisk-recordings), its
	// fallback mailbox (asterisk-voicemail) and its log (sim.log).
	DataDir string
	// CallsPerSecond of simulated citizens; 0 places none (something else
	// drives POST /sim/calls).
	CallsPerSecond float64
	// For stops placing calls after that long; the fake runs on until
	// stopped, so calls in progress end and a service can drain. 0: no end.
	For        time.Duration
	PromptsDir string // see DemoOptions.PromptsDir
	Verbose    bool   // the fake's log on stderr instead of a file
	Out        io.Writer
	// Started, when set, is called with the fake Asterisk once it listens (tests).
	Started func(*aritest.Server)
}

// Sim runs the fake Asterisk with the simulated citizens and agents, and
// the dialplan's fallback for calls no service takes, until ctx ends. A
// `hotline serve` with configs/hotline.sim.yaml drives it.
func Sim(ctx context.Context, opts SimOptions) error {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.CallsPerSecond < 0 || opts.CallsPerSecond > 500 {
		return fmt.Errorf("sim: -rate %v must be from 0 to 500 calls per second", opts.CallsPerSecond)
	}
	if opts.For < 0 {
		return fmt.Errorf("sim: -for %v must not be negative", opts.For)
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return fmt.Errorf("sim: data folder: %w", err)
	}
	logOut := io.Writer(os.Stderr)
	logPath := filepath.Join(opts.DataDir, "sim.log")
	if !opts.Verbose {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("sim: log file: %w", err)
		}
		defer f.Close()
		logOut = f
	} else {
		logPath = "stderr"
	}
	fake, err := startFakeAsterisk(fakeAsteriskOptions{addr: opts.ARIAddr, dataDir: opts.DataDir,
		promptsDir: opts.PromptsDir, log: logOut, out: opts.Out})
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer fake.Close()

	traffic := "none (-rate 0: POST /sim/calls places calls)"
	if opts.CallsPerSecond > 0 {
		traffic = fmt.Sprintf("%.2f calls/s to %s (hotline) and %s (complaints)", opts.CallsPerSecond, demoHotline, demoComplaint)
		if opts.For > 0 {
			traffic += fmt.Sprintf(" for %s, then none until stopped", opts.For)
		}
	}
	fmt.Fprintf(opts.Out, `hotline sim is running (Ctrl-C or SIGTERM to stop)
ARI %[1]s user hotline password hotline application hotline
  websocket %[2]s
  simulator %[3]s/sim/channels
  data      %[4]s   log: %[5]s
  traffic   %[6]s
  agents    1001, 1002 answer; 1003 declines; 1004 never answers; 1005 registers after 20s; supervisor 2001 takes complaints
  service   HOTLINE_ARI_PASSWORD=hotline hotline serve -config configs/hotline.sim.yaml
`, fake.ARIURL(), fake.WebsocketURL(), fake.URL(), opts.DataDir, logPath, traffic)
	if opts.Started != nil {
		opts.Started(fake)
	}
	sim := simulate(ctx, fake, opts.CallsPerSecond, opts.For, func(placed int64) {
		fmt.Fprintf(opts.Out, "%s  stopped placing calls after %s: %d placed; running until stopped\n",
			time.Now().Format("15:04:05"), opts.For, placed)
	})
	<-ctx.Done()
	sim.Wait()
	fmt.Fprintf(opts.Out, "%s  hotline sim stopped: %d calls placed\n", time.Now().Format("15:04:05"), sim.placed.Load())
	return nil
}
