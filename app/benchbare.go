package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline/ari"
)

// BareARIOptions shape `hotline bench bare-ari`, the baseline of `hotline
// bench calls`: the least an ARI application on the same client does for
// one hotline call, with nothing of the service around it.
type BareARIOptions struct {
	// ARI is the Asterisk to drive; the same transport and event reader as
	// the service (ari.Client), so the baseline differs from the service
	// by what the service does per call, not by its connection handling.
	ARI ari.Config
	// Agents are the endpoints rung, one call each at a time, e.g.
	// "PJSIP/b0001".
	Agents []string
	// MetricsAddr serves /metrics (ARI requests, events, connections, Go
	// heap, process) for the load generator.
	MetricsAddr string
	// Log gets one JSON line per ended call ("call ended", channel): when
	// the application was done with it.
	Log io.Writer
}

// BareARI answers every inbound call, puts it in a mixing bridge, rings
// one free agent, bridges the agent when the leg answers, and when either
// side hangs up hangs up the other and deletes the bridge. No store, no
// Redis, no recording, no prompts. It runs until ctx ends.
func BareARI(ctx context.Context, opts BareARIOptions) error {
	if len(opts.Agents) == 0 {
		return errors.New("bench bare-ari: no agents")
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(opts.Log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cli, err := ari.New(opts.ARI, log, reg)
	if err != nil {
		return fmt.Errorf("bench bare-ari: %w", err)
	}
	if opts.MetricsAddr != "" {
		ln, err := net.Listen("tcp", opts.MetricsAddr)
		if err != nil {
			return fmt.Errorf("bench bare-ari: metrics: %w", err)
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
	}
	free := make(chan string, len(opts.Agents))
	for _, a := range opts.Agents {
		free <- a
	}
	inbox := ari.NewMailbox()
	cli.Dispatcher().SetFallback(inbox)
	cli.Start(ctx)
	defer cli.Stop()
	log.Info("bare ARI application running", "url", opts.ARI.URL, "agents", len(opts.Agents))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-inbox.Ready():
		}
		for _, e := range inbox.Take() {
			st, ok := e.(*ariv5.StasisStart)
			if !ok || len(st.Args) == 0 || st.Args[0] != "inbound" {
				continue
			}
			b := &bareCall{cli: cli, log: log, free: free, citizen: st.Channel.ID, mb: ari.NewMailbox()}
			cli.Dispatcher().Route(ariv5.ChannelKey, b.citizen, b.mb)
			go b.run(ctx)
		}
	}
}

// bareCall is one call of BareARI, run on its own goroutine.
type bareCall struct {
	cli     *ari.Client
	log     *slog.Logger
	free    chan string
	mb      *ari.Mailbox
	citizen string
}

func (b *bareCall) run(ctx context.Context) {
	rest := b.cli.ARI()
	d := b.cli.Dispatcher()
	bridge := ariv5.NewKey(ariv5.BridgeKey, b.citizen+"-b")
	leg := b.citizen + "-a"
	defer func() {
		d.Unroute(ariv5.ChannelKey, b.citizen)
		d.Unroute(ariv5.ChannelKey, leg)
		b.mb.Close()
		b.log.Info("call ended", "channel", b.citizen)
	}()
	citizen := ariv5.NewKey(ariv5.ChannelKey, b.citizen)
	if err := rest.Channel().Answer(citizen); err != nil {
		b.log.Error("answer", "channel", b.citizen, "err", err)
		return
	}
	if _, err := rest.Bridge().Create(bridge, "mixing", bridge.ID); err != nil {
		b.log.Error("create bridge", "channel", b.citizen, "err", err)
		_ = rest.Channel().Hangup(citizen, "normal")
		return
	}
	defer func() { _ = rest.Bridge().Delete(bridge) }()
	if err := rest.Bridge().AddChannel(bridge, b.citizen); err != nil {
		b.log.Error("add citizen", "channel", b.citizen, "err", err)
	}
	var agent string
	select {
	case agent = <-b.free:
	case <-ctx.Done():
		return
	}
	defer func() { b.free <- agent }()
	d.Route(ariv5.ChannelKey, leg, b.mb)
	if _, err := rest.Channel().Originate(nil, ariv5.OriginateRequest{Endpoint: agent, App: b.cli.Application(),
		AppArgs: "agent", ChannelID: leg, Originator: b.citizen, Timeout: 30}); err != nil {
		b.log.Error("originate", "channel", b.citizen, "err", err)
		_ = rest.Channel().Hangup(citizen, "normal")
		return
	}
	legKey := ariv5.NewKey(ariv5.ChannelKey, leg)
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.mb.Ready():
		}
		for _, e := range b.mb.Take() {
			switch ev := e.(type) {
			case *ariv5.StasisStart:
				if ev.Channel.ID == leg {
					if err := rest.Bridge().AddChannel(bridge, leg); err != nil {
						b.log.Error("add agent", "channel", b.citizen, "err", err)
					}
				}
			case *ariv5.StasisEnd:
				b.hangupOther(ev.Channel.ID == leg, citizen, legKey)
				return
			case *ariv5.ChannelDestroyed: // a leg that never answered
				b.hangupOther(ev.Channel.ID == leg, citizen, legKey)
				return
			}
		}
	}
}

// hangupOther ends the call when one side left: the citizen when the agent
// leg did, else the agent leg.
func (b *bareCall) hangupOther(legGone bool, citizen, leg *ariv5.Key) {
	other := leg
	if legGone {
		other = citizen
	}
	_ = b.cli.ARI().Channel().Hangup(other, "normal")
}
