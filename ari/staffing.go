package ari

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline"
)

// StaffingCheck watches that the hotline is staffed whenever it is open
// (4.1.4): when the line is open and no agent is on duty (available, on a
// call or in wrap-up), it raises hotline_staffing_gap and logs once per gap.
// It also exports how many agents are in each state.
type StaffingCheck struct {
	roster   *hotline.Roster
	hours    Hours
	now      func() time.Time
	log      *slog.Logger
	interval time.Duration

	gap    prometheus.Gauge
	open   prometheus.Gauge
	agents *prometheus.GaugeVec

	inGap  bool
	cancel context.CancelFunc
	done   chan struct{}
}

// NewStaffingCheck checks every interval (30s when zero).
func NewStaffingCheck(roster *hotline.Roster, hours Hours, interval time.Duration, log *slog.Logger, now func() time.Time, reg prometheus.Registerer) *StaffingCheck {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &StaffingCheck{roster: roster, hours: hours, now: now, log: log.With("component", "staffing"), interval: interval,
		gap:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_staffing_gap", Help: "1 while the line is open and no agent is on duty."}),
		open:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_line_open", Help: "1 during working hours."}),
		agents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_agents", Help: "Agents by state."}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(c.gap, c.open, c.agents)
	}
	return c
}

// Start checks now and then every interval until Stop.
func (c *StaffingCheck) Start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(c.interval)
		defer t.Stop()
		for {
			c.runOnce(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the checks.
func (c *StaffingCheck) Stop() {
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
}

// runOnce updates the gauges and reports whether there is a staffing gap.
func (c *StaffingCheck) runOnce(context.Context) bool {
	now := c.now()
	open := c.hours == nil || c.hours.IsOpen(now)
	counts := c.roster.Counts(hotline.RoleAgent)
	for _, s := range []hotline.AgentState{hotline.AgentAvailable, hotline.AgentOnCall, hotline.AgentWrapUp, hotline.AgentPaused, hotline.AgentOffline} {
		c.agents.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	onDuty := counts[hotline.AgentAvailable] + counts[hotline.AgentOnCall] + counts[hotline.AgentWrapUp]
	gap := open && onDuty == 0
	c.open.Set(boolFloat(open))
	c.gap.Set(boolFloat(gap))
	switch {
	case gap && !c.inGap:
		c.log.Error("the hotline is open and no agent is on duty", "paused", counts[hotline.AgentPaused], "offline", counts[hotline.AgentOffline])
	case !gap && c.inGap:
		c.log.Info("the hotline is staffed again", "on_duty", onDuty)
	}
	c.inGap = gap
	return gap
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
