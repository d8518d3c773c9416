// Command hotline runs the government-service hotline next to Asterisk.
//
//	hotline serve -config FILE    run the service
//	hotline demo                  run everything against a fake Asterisk
//	hotline sim [-ari ADDR] [-rate 0.3] [-for 2m]
//	                              the fake Asterisk with simulated citizens and agents alone
//	hotline migrate -config FILE  bring the database schema up to date
//	hotline migrate -from FILE -to URL  move a SQLite database into a new PostgreSQL one
//	hotline check-config -config FILE [-asterisk]
//	                              validate the config (and what Asterisk has for it)
//	hotline audit verify -config FILE
//	                              check the audit log's hash chain
//	hotline lease status|reset -config FILE
//	                              who drives the Asterisk server; forget the lease after replacing the database
//	hotline bench deadlines [-n 1000000] [-json FILE]
//	                              measure the deadline engine
//	hotline user add|passwd|disable|enable|list|token|tokens|revoke-token -config FILE …
//	                              staff accounts and API tokens
//	hotline bench store [-calls N] [-json FILE] [-cpuprofile FILE]
//	                              benchmark the store's inserts and console queries
//	hotline bench calls [-rate 250 | -concurrency N] [-for 30s] [-json FILE]
//	                              calls through sim and serve processes beside a bare ARI app
//	hotline version               print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"hotline/app"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: hotline <command> [flags]

commands:
  serve -config FILE     run the service
  demo [flags]           run the service against a fake Asterisk with simulated citizens and agents
  sim [-ari 127.0.0.1:8088] [-rate 0.3] [-for 2m]
                         the fake Asterisk with simulated citizens and agents alone, for a
                         hotline serve -config configs/hotline.sim.yaml (HOTLINE_ARI_PASSWORD=hotline)
  migrate -config FILE   apply database migrations and exit
  migrate -from FILE -to URL
                         copy a SQLite database into a new PostgreSQL one
  check-config -config FILE [-asterisk]
                         validate the config; with -asterisk also ask ARI for the
                         application, the agents' endpoints and the prompt sounds
  audit verify -config FILE
                         check the audit log's hash chain; fails at the first altered entry
  lease status|reset -config FILE
                         who holds the lease of the Asterisk server (one instance drives it); reset
                         forgets it, after the database was replaced on purpose with every instance stopped
  bench deadlines [-n 1000000] [-fire 100000] [-redis URL] [-json FILE] [-cpuprofile FILE]
                         measure the deadline engine (index rebuild, firing) beside redis-benchmark
  user add -config FILE -id ID -role agent|supervisor|admin[,…] -name NAME
                         add a staff account; the password is read from the terminal or stdin
  user passwd|disable|enable -config FILE -id ID
  user list -config FILE
  user token -config FILE -id ID -name NAME -expires 90d
                         make an API token (printed once) for another system acting as ID
  user tokens|revoke-token -config FILE -id ID [-name NAME]
  bench store [-calls N] [-json FILE]
                         generate N calls into a fresh SQLite file, measure the insert rate and
                         the console's queries, fail when a query plan reads a whole table
  bench calls [-rate 250 | -concurrency N] [-for 30s] [-answer 1s] [-talk 3s] [-json FILE]
                         run hotline sim and hotline serve as processes, place calls, measure
                         throughput, latencies, CPU and memory per call beside a bare ARI app
  bench summary [-calls FILE] [-deadlines FILE] [-store FILE] [-title TEXT] [-readme README.md]
                         the headline table of the three benchmarks' JSON results, beside the
                         targets; -readme writes it between the markers of that file
  version                print the version
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal stops the service gracefully (serve drains its
	// calls); a second one ends the process at once, as signals do by
	// default: reconciliation repairs the rest on the next start.
	go func() {
		<-ctx.Done()
		stop()
	}()

	var err error
	switch args[0] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "configs/hotline.example.yaml", "config file")
		cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (benchmarks)")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		if *cpuProfile != "" {
			stopProfile, perr := startCPUProfile(*cpuProfile)
			if perr != nil {
				fmt.Fprintln(stderr, "hotline:", perr)
				return 1
			}
			defer stopProfile()
		}
		err = app.Run(ctx, app.Options{ConfigPath: *cfgPath})
	case "demo":
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		fs.SetOutput(stderr)
		opts := app.DemoOptions{Out: stdout}
		fs.StringVar(&opts.HTTPAddr, "http", "127.0.0.1:8080", "address of the console, API and metrics")
		fs.StringVar(&opts.ARIAddr, "ari", "127.0.0.1:8088", "address of the fake Asterisk")
		fs.StringVar(&opts.DataDir, "data", "data/demo", "folder for the SQLite file and recordings")
		fs.Float64Var(&opts.CallsPerSecond, "rate", 0.3, "simulated citizen calls per second")
		fs.DurationVar(&opts.SummaryEvery, "summary", 0, "how often to print a summary line (default 5s)")
		fs.BoolVar(&opts.Verbose, "v", false, "print the service log too")
		fs.StringVar(&opts.PromptsDir, "prompts", "", "folder made by scripts/gen-prompts.sh: the fake Asterisk plays the lengths in its durations.tsv (default data/prompts if it exists)")
		fs.BoolVar(&opts.OfficeHours, "office-hours", false, "use the real working-hours calendar instead of an always-open line")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		err = app.Demo(ctx, opts)
	case "sim":
		fs := flag.NewFlagSet("sim", flag.ContinueOnError)
		fs.SetOutput(stderr)
		opts := app.SimOptions{Out: stdout}
		fs.StringVar(&opts.ARIAddr, "ari", "127.0.0.1:8088", "address of the fake Asterisk (ARI and /sim)")
		fs.StringVar(&opts.DataDir, "data", "data/sim", "folder for the fake's recordings, voice mailbox and log")
		fs.Float64Var(&opts.CallsPerSecond, "rate", 0.3, "simulated citizen calls per second; 0 places none")
		fs.DurationVar(&opts.For, "for", 0, "stop placing calls after this long, then run on until stopped (default: no end)")
		fs.BoolVar(&opts.Verbose, "v", false, "print the fake's log on stderr")
		fs.StringVar(&opts.PromptsDir, "prompts", "", "folder made by scripts/gen-prompts.sh: the fake plays the lengths in its durations.tsv (default data/prompts if it exists)")
		cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (benchmarks)")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		if *cpuProfile != "" {
			stopProfile, perr := startCPUProfile(*cpuProfile)
			if perr != nil {
				fmt.Fprintln(stderr, "hotline:", perr)
				return 1
			}
			defer stopProfile()
		}
		err = app.Sim(ctx, opts)
	case "migrate":
		fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "configs/hotline.example.yaml", "config file")
		from := fs.String("from", "", "a SQLite database file whose rows move into the PostgreSQL database of -to")
		to := fs.String("to", "", "a new, empty PostgreSQL database (postgres:// URL) to copy -from into")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		switch {
		case *from != "" && *to != "":
			err = app.MigrateCopy(ctx, *from, *to, stdout)
		case *from != "" || *to != "":
			fmt.Fprintf(stderr, "hotline: migrate -from FILE -to URL: both are needed\n")
			return 2
		default:
			err = app.Migrate(ctx, *cfgPath, stdout)
		}
	case "audit":
		if len(args) < 2 || args[1] != "verify" {
			fmt.Fprintf(stderr, "hotline: usage: hotline audit verify -config FILE\n")
			return 2
		}
		fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "configs/hotline.example.yaml", "config file")
		if fs.Parse(args[2:]) != nil {
			return 2
		}
		err = app.VerifyAudit(ctx, *cfgPath, stdout)
	case "lease":
		if len(args) < 2 || (args[1] != "status" && args[1] != "reset") {
			fmt.Fprintf(stderr, "hotline: usage: hotline lease status|reset -config FILE\n")
			return 2
		}
		fs := flag.NewFlagSet("lease "+args[1], flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "configs/hotline.example.yaml", "config file")
		if fs.Parse(args[2:]) != nil {
			return 2
		}
		err = app.LeaseCommand(ctx, args[1], *cfgPath, stdout)
	case "bench":
		if len(args) < 2 || (args[1] != "deadlines" && args[1] != "store" && args[1] != "calls" && args[1] != "bare-ari" && args[1] != "summary") {
			fmt.Fprintf(stderr, "hotline: usage: hotline bench deadlines [-n 1000000] [-fire 100000] [-redis URL] [-json FILE]\n"+
				"       hotline bench store [-calls N] [-json FILE]\n"+
				"       hotline bench summary [-calls FILE] [-deadlines FILE] [-store FILE] [-readme README.md]\n"+
				"       hotline bench calls [-rate 250 | -concurrency N] [-for 30s] [-json FILE]\n")
			return 2
		}
		switch args[1] {
		case "deadlines":
			fs := flag.NewFlagSet("bench deadlines", flag.ContinueOnError)
			fs.SetOutput(stderr)
			opts := app.DeadlineBenchOptions{Out: stdout, Progress: stderr}
			fs.IntVar(&opts.N, "n", 1_000_000, "open callback tasks, and as many unfinished promises")
			fs.IntVar(&opts.Fire, "fire", 0, "how many of each fall due and are fired (default min(n, 100000))")
			fs.StringVar(&opts.RedisURL, "redis", "", "the Redis to measure on (default $REDIS_URL, else an embedded one)")
			fs.StringVar(&opts.JSONPath, "json", "", "also write the result as JSON to this file")
			fs.StringVar(&opts.Dir, "dir", "", "folder for the SQLite file (default a temporary one, removed after)")
			fs.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of each firing phase to FILE.claims and FILE.escalations")
			if fs.Parse(args[2:]) != nil {
				return 2
			}
			_, err = app.BenchDeadlines(ctx, opts)
		case "store":
			fs := flag.NewFlagSet("bench store", flag.ContinueOnError)
			fs.SetOutput(stderr)
			opts := app.BenchStoreOptions{Out: stdout}
			fs.IntVar(&opts.Calls, "calls", 100_000, "call rows to generate (10000000 for the full size)")
			fs.IntVar(&opts.PerDay, "per-day", 9_000, "calls a day: sets how many days the calls span")
			fs.StringVar(&opts.Path, "db", "", "SQLite file to create (default: a temporary one, removed afterwards)")
			fs.BoolVar(&opts.Reuse, "reuse", false, "query the existing -db file again instead of generating")
			fs.IntVar(&opts.Runs, "runs", 200, "timed runs of each query")
			fs.IntVar(&opts.ServiceCalls, "service-calls", 2_000, "calls written one statement at a time, as the service does")
			fs.IntVar(&opts.CacheMiB, "cache-mib", 1024, "SQLite page cache of each connection, MiB")
			fs.StringVar(&opts.JSONPath, "json", "", "also write the results as JSON to this file")
			fs.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of the generation to this file")
			if fs.Parse(args[2:]) != nil {
				return 2
			}
			_, err = app.BenchStore(ctx, opts)
		case "summary":
			fs := flag.NewFlagSet("bench summary", flag.ContinueOnError)
			fs.SetOutput(stderr)
			var opts app.BenchSummaryOptions
			fs.StringVar(&opts.Calls, "calls", "", "the -json result of bench calls")
			fs.StringVar(&opts.Deadlines, "deadlines", "", "the -json result of bench deadlines")
			fs.StringVar(&opts.Store, "store", "", "the -json result of bench store")
			fs.StringVar(&opts.Title, "title", "", "a line above the table")
			readme := fs.String("readme", "", "write the table between the bench-summary markers of this file")
			if fs.Parse(args[2:]) != nil {
				return 2
			}
			var table strings.Builder
			if err = app.BenchSummary(&table, opts); err == nil {
				fmt.Fprint(stdout, table.String())
				if *readme != "" {
					err = app.ReplaceSummary(*readme, table.String())
				}
			}
		case "calls":
			fs := flag.NewFlagSet("bench calls", flag.ContinueOnError)
			fs.SetOutput(stderr)
			opts := app.CallBenchOptions{Out: stdout, Progress: stderr}
			fs.Float64Var(&opts.Rate, "rate", 0, "calls placed per second, open-loop (default 250 unless -concurrency)")
			fs.IntVar(&opts.Concurrency, "concurrency", 0, "keep this many calls up instead of -rate")
			fs.DurationVar(&opts.For, "for", 30*time.Second, "how long calls are placed")
			fs.DurationVar(&opts.AnswerAfter, "answer", time.Second, "agents answer after this long")
			fs.DurationVar(&opts.Talk, "talk", 3*time.Second, "agents hang up after talking this long")
			fs.DurationVar(&opts.Prompt, "prompt", 50*time.Millisecond, "how long each prompt plays in the fake")
			fs.IntVar(&opts.Agents, "agents", 0, "agents (default: enough for the load)")
			fs.BoolVar(&opts.Record, "record", true, "record every call, as the service does by default")
			fs.BoolVar(&opts.SkipBaseline, "no-baseline", false, "measure the service alone")
			fs.BoolVar(&opts.SkipService, "baseline-only", false, "measure the bare ARI application alone")
			fs.IntVar(&opts.Port, "port", 0, "first of four loopback ports to use (default: free ones)")
			fs.StringVar(&opts.Dir, "dir", "", "folder for the processes' data and logs (default a temporary one, removed after)")
			fs.StringVar(&opts.RedisURL, "redis", "", "the service's Redis (default $REDIS_URL, else its embedded one)")
			fs.StringVar(&opts.Store, "store", "", "the service's database, a postgres:// URL (default a SQLite file in -dir)")
			fs.StringVar(&opts.CPUProfile, "cpuprofile", "", "the service writes a CPU profile of its run to this file")
			fs.StringVar(&opts.SimCPUProfile, "sim-cpuprofile", "", "the fake Asterisk writes a CPU profile of the service's run to this file")
			fs.StringVar(&opts.JSONPath, "json", "", "also write the result as JSON to this file")
			if fs.Parse(args[2:]) != nil {
				return 2
			}
			_, err = app.BenchCalls(ctx, opts)
		case "bare-ari":
			// The baseline bench calls runs: not for people, so not in the usage.
			fs := flag.NewFlagSet("bench bare-ari", flag.ContinueOnError)
			fs.SetOutput(stderr)
			opts := app.BareARIOptions{Log: stderr}
			opts.ARI.Username, opts.ARI.Password, opts.ARI.Application = "hotline", "hotline", "hotline"
			fs.StringVar(&opts.ARI.URL, "ari", "http://127.0.0.1:8088/ari", "ARI URL")
			fs.StringVar(&opts.MetricsAddr, "metrics", "127.0.0.1:9465", "address of /metrics")
			agents := fs.Int("agents", 100, "agents PJSIP/b00001 … to ring")
			if fs.Parse(args[2:]) != nil {
				return 2
			}
			for i := range *agents {
				opts.Agents = append(opts.Agents, fmt.Sprintf("PJSIP/b%05d", i+1))
			}
			err = app.BareARI(ctx, opts)
		}
	case "user":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		fs := flag.NewFlagSet("user "+args[1], flag.ContinueOnError)
		fs.SetOutput(stderr)
		c := app.UserCommand{Command: args[1], Stdin: os.Stdin, Stdout: stdout, Stderr: stderr}
		fs.StringVar(&c.ConfigPath, "config", "configs/hotline.example.yaml", "config file")
		fs.StringVar(&c.ID, "id", "", "the staff account (its id, e.g. 1001)")
		fs.StringVar(&c.Name, "name", "", "the person's name (add) or the token's name (token, revoke-token)")
		fs.StringVar(&c.Roles, "role", "", "add: agent, supervisor or admin; several separated by commas")
		fs.StringVar(&c.Expires, "expires", "", "token: lifetime, e.g. 90d or 12h")
		if fs.Parse(args[2:]) != nil {
			return 2
		}
		err = app.RunUser(ctx, c)
	case "check-config":
		fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
		fs.SetOutput(stderr)
		opts := app.CheckOptions{Out: stdout}
		fs.StringVar(&opts.ConfigPath, "config", "configs/hotline.example.yaml", "config file")
		fs.BoolVar(&opts.Asterisk, "asterisk", false, "also connect to ARI and look for the endpoints and sounds the config needs")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		err = app.CheckConfig(ctx, opts)
	case "version":
		fmt.Fprintln(stdout, "hotline", version)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "hotline: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "hotline:", err)
		return 1
	}
	return 0
}

// startCPUProfile profiles the process into path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
