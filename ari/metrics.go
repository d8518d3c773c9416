package ari

import "github.com/prometheus/client_golang/prometheus"

// metrics of the ARI connection. Names are part of the operator interface:
// alerts and the dashboard in configs/ refer to them.
type metrics struct {
	connected       prometheus.Gauge
	replaced        prometheus.Gauge
	connects        *prometheus.CounterVec // result=ok|unauthorized|unreachable|error
	reconnects      prometheus.Counter
	disconnected    prometheus.Counter
	events          *prometheus.CounterVec // type
	undecodable     *prometheus.CounterVec // type
	duplicates      *prometheus.CounterVec // type
	unrouted        prometheus.Counter
	channelGone     prometheus.Counter
	httpConnsOpened prometheus.Counter
	httpRequests    *prometheus.CounterVec // method, code
	httpDuration    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_ari_connected", Help: "1 while the ARI events websocket is connected and ours."}),
		replaced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_ari_application_replaced", Help: "1 after another client took our application name (ApplicationReplaced)."}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_connect_attempts_total", Help: "ARI connection attempts by result."}, []string{"result"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_connections_dropped_total", Help: "Established ARI event websockets that dropped (each reconnected at once, then reconciled)."}),
		disconnected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_disconnected_seconds_total", Help: "Time spent reconnecting after established ARI websockets dropped; calls arriving meanwhile go to the dialplan's fallback."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_events_received_total", Help: "ARI events received and decoded, by type."}, []string{"type"}),
		undecodable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_events_undecodable_total", Help: "ARI events dropped because the client library cannot decode their type."}, []string{"type"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_events_duplicate_total", Help: "ARI events dropped as a second copy of one just received (one copy per covering subscription), by type."}, []string{"type"}),
		unrouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_events_unrouted_total", Help: "ARI events that matched no call or handler."}),
		channelGone: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_bridge_channel_gone_total",
			Help: "Channels not added to a bridge because they had hung up a moment before (ARI answers 400 \"Channel not found\"; also in hotline_ari_http_requests_total): a race with the far end, like the 404s of requests on a channel, not an error."}),
		httpConnsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_http_connections_opened_total", Help: "New TCP connections opened for ARI REST requests; flat at steady state when connections are reused."}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_http_requests_total", Help: "ARI REST requests by method and status code."}, []string{"method", "code"}),
		httpDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_ari_http_request_duration_seconds", Help: "ARI REST request latency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.replaced, m.connects, m.reconnects, m.disconnected, m.events, m.undecodable, m.duplicates, m.unrouted, m.channelGone,
			m.httpConnsOpened, m.httpRequests, m.httpDuration)
	}
	return m
}
