// Package metrics is idcgate's Prometheus instrumentation, on a private
// registry (no global state) served at /metrics.
package metrics

import (
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector.
type Metrics struct {
	Registry      *prometheus.Registry
	Requests      *prometheus.CounterVec
	Latency       *prometheus.HistogramVec
	TokensIssued  *prometheus.CounterVec
	GatewayLogins *prometheus.CounterVec
	// GatewayTokenLogins counts the same attempts by token type too.
	GatewayTokenLogins *prometheus.CounterVec
	StoreLatency       *prometheus.HistogramVec
	AuditSync          prometheus.Histogram
	AuditGroup         prometheus.Histogram
	// AuditDropped counts audit records of unauthenticated calls not
	// written because their token bucket was empty.
	AuditDropped prometheus.Counter
	active       prometheus.GaugeFunc
}

// New registers the collectors; gatewayActive reports live sessions.
func New(gatewayActive func() float64) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idcgate", Name: "api_requests_total", Help: "API requests by service, operation and error code (empty on success).",
		}, []string{"service", "operation", "error_code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "idcgate", Name: "api_request_duration_seconds", Help: "API request latency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"service", "operation"}),
		TokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idcgate", Name: "identity_center_tokens_issued_total", Help: "GetIdentityCenterAuthToken tokens issued, by number of workgroups.",
		}, []string{"workgroups"}),
		GatewayLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idcgate", Name: "gateway_logins_total", Help: "Gateway login attempts by result.",
		}, []string{"result"}),
		GatewayTokenLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idcgate", Name: "gateway_token_logins_total", Help: "Gateway login attempts by token type (SUBJECT_TOKEN, ACCESS_TOKEN, EXT_JWT, unknown) and result.",
		}, []string{"token_type", "result"}),
		StoreLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "idcgate", Name: "store_transaction_duration_seconds", Help: "Store transaction latency.",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"kind"}),
		// What every answer waits for: the audit file's write and sync of
		// its group commit (etcd's wal_fsync_duration_seconds, for the
		// same reason: it tells a slow disk at once).
		AuditSync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "idcgate", Name: "audit_sync_duration_seconds", Help: "Write and sync of one audit group commit to the audit file.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		AuditGroup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "idcgate", Name: "audit_group_records", Help: "Audit records made durable by one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 … 256, the most one group takes
		}),
		AuditDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "idcgate", Name: "audit_unauthenticated_dropped_total",
			Help: "Audit records of calls that failed authentication, not written because their rate limit was reached.",
		}),
	}
	r.MustRegister(m.Requests, m.Latency, m.TokensIssued, m.GatewayLogins, m.GatewayTokenLogins, m.StoreLatency, m.AuditSync, m.AuditGroup, m.AuditDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if gatewayActive != nil {
		m.active = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "idcgate", Name: "gateway_active_connections", Help: "Relayed gateway sessions."}, gatewayActive)
		r.MustRegister(m.active)
	}
	return m
}

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// ObserveAuditCommit records one audit group commit to the file.
func (m *Metrics) ObserveAuditCommit(d time.Duration, records int) {
	if m == nil {
		return
	}
	m.AuditSync.Observe(d.Seconds())
	m.AuditGroup.Observe(float64(records))
}

// AuditUnauthenticatedDropped counts one audit record of an
// unauthenticated call left unwritten by its rate limit.
func (m *Metrics) AuditUnauthenticatedDropped() {
	if m == nil {
		return
	}
	m.AuditDropped.Inc()
}

// ObserveRequest counts one API request. The caller bounds the labels
// (served operations only, codes from the error table): each distinct
// value is a series kept for the life of the process.
func (m *Metrics) ObserveRequest(service, op, code string, d time.Duration) {
	if m == nil {
		return
	}
	// client_golang panics on a label that is not UTF-8; no request may
	// take the handler down that way, whatever reaches here.
	if !utf8.ValidString(service) || !utf8.ValidString(op) || !utf8.ValidString(code) {
		service, op, code = "invalid", "invalid", "invalid"
	}
	m.Requests.WithLabelValues(service, op, code).Inc()
	m.Latency.WithLabelValues(service, op).Observe(d.Seconds())
}
