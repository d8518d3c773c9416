package callback

import "github.com/prometheus/client_golang/prometheus"

// metrics are the callback service's own, beside its engine's.
type metrics struct {
	tasks      *prometheus.CounterVec // result: created, merged
	uncallable prometheus.Counter
	resolved   prometheus.Counter
	due        *prometheus.CounterVec // source: redis, sql
	claimed    prometheus.Counter
	conflicts  prometheus.Counter
	attempts   *prometheus.CounterVec // outcome
	settled    *prometheus.CounterVec // outcome
	handovers  prometheus.Counter
}

func newMetrics() *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	return &metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_tasks_total",
			Help: "Missed calls queued for a callback: result created (a new task) or merged (into the number's open task)."}, []string{"result"}),
		uncallable: counter("hotline_callback_uncallable_missed_calls_total",
			"Missed calls without a callable number (withheld or invalid caller id): no task; supervisors review them."),
		resolved: counter("hotline_callback_resolved_by_inbound_total", "Callback tasks closed because the citizen called in and was answered."),
		due: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_due_total",
			Help: "Due tasks read for dialing, by source: redis (the dial queue) or sql (the slow poll while Redis is down); read only while an agent is free."}, []string{"source"}),
		claimed:   counter("hotline_callback_claims_total", "Callback tasks claimed by this instance and handed to the dialer: at most one per free agent and round."),
		conflicts: counter("hotline_callback_claim_conflicts_total", "Claims refused by the database: another instance took the task first."),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_attempts_total",
			Help: "Callback attempts finished through this instance, by outcome."}, []string{"outcome"}),
		settled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_settled_attempts_total",
			Help: "Attempts a dialer left mid-dial (its process died) settled once their lease ran out and their channels were gone, by outcome."}, []string{"outcome"}),
		handovers: counter("hotline_callback_handovers_total",
			"Callback tasks passed to another agent because their responsible agent left them unanswered (callbacks.agent_tries)."),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.tasks, m.uncallable, m.resolved, m.due, m.claimed, m.conflicts, m.attempts, m.settled, m.handovers}
}
