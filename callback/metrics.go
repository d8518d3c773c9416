package callback

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	tasks        *prometheus.CounterVec // result: created, merged
	uncallable   prometheus.Counter
	resolved     prometheus.Counter
	due          *prometheus.CounterVec // source: redis, sql
	claimed      prometheus.Counter
	conflicts    prometheus.Counter
	attempts     *prometheus.CounterVec // outcome
	escalations  prometheus.Counter
	reminders    prometheus.Counter
	indexSize    prometheus.Gauge
	degraded     prometheus.Gauge
	redisErrors  prometheus.Counter
	storeErrors  prometheus.Counter
	notifyErrors prometheus.Counter
	reconciles   *prometheus.CounterVec // result: ok, error
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_tasks_total",
			Help: "Missed calls queued for a callback: result created (a new task) or merged (into the number's open task)."}, []string{"result"}),
		uncallable: counter("hotline_callback_uncallable_missed_calls_total",
			"Missed calls without a callable number (withheld or invalid caller id): no task; supervisors review them."),
		resolved: counter("hotline_callback_resolved_by_inbound_total", "Callback tasks closed because the citizen called in and was answered."),
		due: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_due_total",
			Help: "Due task ids found, by source: redis (the index) or sql (the slow poll while Redis is down)."}, []string{"source"}),
		claimed:   counter("hotline_callback_claims_total", "Callback tasks claimed by this instance and handed to the dialer."),
		conflicts: counter("hotline_callback_claim_conflicts_total", "Claims refused by the database: another instance holds the task, or the index entry was stale."),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_attempts_total",
			Help: "Callback attempts finished through this instance, by outcome."}, []string{"outcome"}),
		escalations: counter("hotline_callback_overdue_escalations_total", "Overdue callback tasks escalated by this instance (once per task across instances)."),
		reminders:   counter("hotline_callback_due_soon_reminders_total", "Reminders sent before a callback deadline (once per task)."),
		indexSize:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_callback_index_size", Help: "Task ids in the Redis index, due and in flight."}),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_callback_redis_degraded",
			Help: "1 while Redis fails and due callbacks come from the slow SQL poll."}),
		redisErrors:  counter("hotline_callback_redis_errors_total", "Failed Redis operations of the callback index."),
		storeErrors:  counter("hotline_callback_store_errors_total", "Failed database operations of the callback service."),
		notifyErrors: counter("hotline_callback_notify_errors_total", "Reminders and escalations that could not be delivered."),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callback_index_rebuilds_total",
			Help: "Rebuilds of the Redis index from SQLite, by result."}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.tasks, m.uncallable, m.resolved, m.due, m.claimed, m.conflicts, m.attempts, m.escalations,
			m.reminders, m.indexSize, m.degraded, m.redisErrors, m.storeErrors, m.notifyErrors, m.reconciles)
	}
	return m
}
