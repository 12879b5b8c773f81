// Package metrics is ninja's Prometheus instrumentation, the only importer
// of client_golang: every collector ninja exports, in one registry, served
// by Handler. The domain and the server record through the small Observer
// interfaces they declare; Metrics implements them. No label ever holds a
// secret or a whole credential: credentials are labelled by kind only.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds ninja's collectors. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	refusals      *prometheus.CounterVec
	uploads       *prometheus.CounterVec
	uploadBytes   *prometheus.CounterVec
	credChecks    *prometheus.CounterVec
	fetches       *prometheus.HistogramVec
	gcRuns        *prometheus.CounterVec
	gcFreedBytes  prometheus.Counter
	gcFreedBlocks prometheus.Counter
	gcDuration    prometheus.Histogram
}

// New returns the collectors registered in a registry of their own, with
// the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ninja_http_requests_total",
		Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ninja_http_request_duration_seconds",
		Help: "HTTP request latency by route pattern.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"route"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ninja_refusals_total",
		Help: "Error answers by reason code."}, []string{"reason"})
	m.uploads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ninja_uploads_total",
		Help: "Uploads by credential kind and outcome (ok, refused, failed)."}, []string{"credential", "outcome"})
	m.uploadBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ninja_upload_bytes_total",
		Help: "Bytes of acknowledged uploads by credential kind."}, []string{"credential"})
	m.credChecks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ninja_credential_checks_total",
		Help: "Credential checks by credential kind and result (ok, refused)."}, []string{"credential", "result"})
	m.fetches = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ninja_pin_fetch_duration_seconds",
		Help: "Pin-by-CID fetches by outcome (pinned, failed).", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}, []string{"outcome"})
	m.gcRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ninja_gc_runs_total",
		Help: "Garbage collections by outcome (ok, failed)."}, []string{"outcome"})
	m.gcFreedBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "ninja_gc_freed_bytes_total", Help: "Bytes freed by garbage collection."})
	m.gcFreedBlocks = prometheus.NewCounter(prometheus.CounterOpts{Name: "ninja_gc_freed_blocks_total", Help: "Blocks freed by garbage collection."})
	m.gcDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ninja_gc_duration_seconds",
		Help: "Garbage collection duration.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)})
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.refusals, m.uploads, m.uploadBytes, m.credChecks,
		m.fetches, m.gcRuns, m.gcFreedBytes, m.gcFreedBlocks, m.gcDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gauge registers a gauge read at every scrape from fn.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Counter registers a counter read at every scrape from fn (a total kept
// elsewhere, such as bitswap's blocks sent).
func (m *Metrics) Counter(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// GaugeVec registers a gauge with one label whose values are read at every
// scrape from fn (label value -> value).
func (m *Metrics) GaugeVec(name, help, label string, fn func() map[string]float64) {
	m.reg.MustRegister(&funcVec{desc: prometheus.NewDesc(name, help, []string{label}, nil), fn: fn})
}

type funcVec struct {
	desc *prometheus.Desc
	fn   func() map[string]float64
}

func (v *funcVec) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }
func (v *funcVec) Collect(ch chan<- prometheus.Metric) {
	for k, x := range v.fn() {
		ch <- prometheus.MustNewConstMetric(v.desc, prometheus.GaugeValue, x, k)
	}
}

// Request records one HTTP request (server.Observer).
func (m *Metrics) Request(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Refusal records one error answer (server.Observer).
func (m *Metrics) Refusal(reason string) { m.refusals.WithLabelValues(reason).Inc() }

// Upload records one upload's outcome (pinning.Observer).
func (m *Metrics) Upload(credential, outcome string, bytes int64) {
	m.uploads.WithLabelValues(credential, outcome).Inc()
	if outcome == "ok" {
		m.uploadBytes.WithLabelValues(credential).Add(float64(bytes))
	}
}

// CredentialCheck records one credential check (pinning.Observer).
func (m *Metrics) CredentialCheck(credential, result string) {
	m.credChecks.WithLabelValues(credential, result).Inc()
}

// Fetch records one pin-by-CID fetch (pinning.Observer).
func (m *Metrics) Fetch(outcome string, d time.Duration) {
	m.fetches.WithLabelValues(outcome).Observe(d.Seconds())
}

// GC records one garbage collection (pinning.Observer).
func (m *Metrics) GC(blocks, bytes int64, d time.Duration, failed bool) {
	outcome := "ok"
	if failed {
		outcome = "failed"
	}
	m.gcRuns.WithLabelValues(outcome).Inc()
	m.gcFreedBlocks.Add(float64(blocks))
	m.gcFreedBytes.Add(float64(bytes))
	m.gcDuration.Observe(d.Seconds())
}
