package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
)

// reasons are the refusal reasons, indexed by limiter.Reason, as label values.
var reasons = [...]string{
	limiter.ReasonNone:           "none",
	limiter.ReasonCredits:        "credits",
	limiter.ReasonConcurrency:    "concurrency",
	limiter.ReasonSubConcurrency: "sub_concurrency",
	limiter.ReasonTenants:        "tenants",
	limiter.ReasonUnavailable:    "unavailable",
}

// metrics are the gateway's Prometheus metrics. Everything is measured, none
// is a placeholder: the store's metrics are its own (the memory store's
// size and evictions; the Redis store's errors and circuit state, which the
// memory store has no equivalent of: it cannot fail, and its refusals for
// want of room are reason="tenants").
type metrics struct {
	reg *prometheus.Registry

	refused   [len(reasons)]prometheus.Counter // by limiter.Reason
	decision  prometheus.Histogram
	inFlight  *inFlight
	crossings *prometheus.CounterVec // by threshold
	webhook   *prometheus.CounterVec // by result
	attempts  prometheus.Counter
	upstream  prometheus.Counter
	reloads   *prometheus.CounterVec // by result
	snapshots *prometheus.CounterVec // by result
	lastSave  prometheus.Gauge
}

// newMetrics registers the metrics of a gateway whose middleware counts into
// cs, whose store is st and whose limiter is l.
func newMetrics(cs *middleware.Counters, l *limiter.Limiter, st backing, topTenants, topApps int) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{reg: reg}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "creditgate_requests_refused_total",
		Help: "Requests refused with 429 (or 403 for a call that costs more than the whole pool, reason credits), by reason: credits, concurrency, sub_concurrency, tenants (the store is full), unavailable (the store could not decide).",
	}, []string{"reason"})
	for r, name := range reasons {
		if r != int(limiter.ReasonNone) {
			m.refused[r] = refused.WithLabelValues(name)
		}
	}
	m.decision = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "creditgate_decision_duration_seconds",
		Help:    "Time from a request's arrival to its admission or refusal: pricing (reading the body of body-priced routes) and the limiter's decision.",
		Buckets: prometheus.ExponentialBuckets(1e-6, 2.5, 14),
	})
	m.inFlight = newInFlight(prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "creditgate_in_flight",
		Help: "Admitted requests at the upstream now, by application (the first top_apps seen, the rest \"other\") and API class (\"none\" for unclassed routes).",
	}, []string{"app", "class"}), topApps)
	m.crossings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "creditgate_alerts_total", Help: "Usage threshold crossings, by threshold percent.",
	}, []string{"threshold"})
	m.webhook = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "creditgate_webhook_deliveries_total",
		Help: "Alerts given to the webhook, by result: delivered, failed (attempts exhausted or refused for good), dropped (queue full).",
	}, []string{"result"})
	for _, r := range []string{"delivered", "failed", "dropped"} {
		m.webhook.WithLabelValues(r)
	}
	m.attempts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "creditgate_webhook_attempts_total", Help: "Webhook POSTs made, retries included.",
	})
	m.upstream = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "creditgate_upstream_errors_total", Help: "Admitted requests the upstream could not serve (502; their credits are refunded).",
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "creditgate_config_reloads_total", Help: "SIGHUP reloads, by result: ok or error (the old configuration kept).",
	}, []string{"result"})
	m.snapshots = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "creditgate_snapshot_saves_total", Help: "Snapshot saves, by result.",
	}, []string{"result"})
	for _, r := range []string{"ok", "error"} {
		m.reloads.WithLabelValues(r)
		m.snapshots.WithLabelValues(r)
	}
	m.lastSave = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "creditgate_snapshot_last_success_timestamp_seconds", Help: "When the snapshot was last saved.",
	})
	reg.MustRegister(refused, m.decision, m.inFlight.vec, m.crossings, m.webhook, m.attempts,
		m.upstream, m.reloads, m.snapshots, m.lastSave)
	reg.MustRegister(readMetrics(cs, l, st, topTenants)...)
	return m
}

// readMetrics are the metrics read at scrape time from what the middleware,
// the limiter and the store count themselves.
func readMetrics(cs *middleware.Counters, l *limiter.Limiter, st backing, topTenants int) []prometheus.Collector {
	counter := func(name, help string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	invalid := func(reason string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "creditgate_requests_invalid_total",
			Help:        "Requests refused with 400 or 413, by reason: cost (the body could not be priced), key (a tenant or application key longer than limits.max_key_bytes).",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(f()) })
	}
	return append(st.collectors(),
		counter("creditgate_requests_admitted_total", "Requests admitted and passed to the upstream.", cs.Admitted.Load),
		invalid("cost", cs.CostErrors.Load), invalid("key", cs.KeyErrors.Load),
		counter("creditgate_requests_budget_refused_total", "Requests refused with 503 because the bodies held for pricing reached limits.pricing_budget.", cs.BudgetRefused.Load),
		counter("creditgate_requests_refunded_total", "Admitted requests refunded whole (a 5xx from the upstream, or a failure).", cs.Refunded.Load),
		counter("creditgate_alerts_dropped_total", "Alert crossings the limiter dropped because its queue was full or the alert function panicked.", l.DroppedAlerts),
		newTenantCollector(l, st, topTenants),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// refusal counts a refusal by its reason; it is the middleware's decision hook.
func (m *metrics) refusal(d limiter.Decision, shadow bool) {
	if shadow || int(d.Reason) >= len(m.refused) || m.refused[d.Reason] == nil {
		return
	}
	m.refused[d.Reason].Inc()
}
