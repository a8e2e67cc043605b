// Package metrics is ripcord's Prometheus instrumentation: the collectors
// of one `ripcord serve` process on a registry of its own (no global
// default registry, so that tests run servers side by side), fed by the
// DRS adapter's per-attempt hook (DRSRequest), the engine's OnEvent and
// OnQuota hooks, the store's execution counts (read at each scrape) and
// the readiness checks (SetReadinessFindings). docs/metrics.md lists every
// metric. The package knows no AWS: cmd/ripcord wires the hooks.
package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// Counter is the part of the store the executions gauge reads.
type Counter interface {
	CountExecutions(ctx context.Context) (map[ripcord.ExecState]int, error)
}

// Config configures Metrics.
type Config struct {
	// Store's executions are counted at each scrape for
	// ripcord_executions; nil: the gauge is not served.
	Store Counter
	// Logger receives scrape errors (default: discard).
	Logger *slog.Logger
	// ListTimeout bounds the store's count of one scrape (default 10s).
	ListTimeout time.Duration
}

// Metrics holds one process's collectors. Its methods are safe for
// concurrent use and never block on I/O.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	drsRequests  *prometheus.CounterVec
	drsDuration  *prometheus.HistogramVec
	stepDuration *prometheus.HistogramVec
	execDuration *prometheus.HistogramVec
	launched     *prometheus.CounterVec
	failed       *prometheus.CounterVec
	cleanup      *prometheus.HistogramVec
	quota        *prometheus.GaugeVec
	findings     *prometheus.GaugeVec
}

// Buckets of the duration histograms, in seconds.
var (
	drsBuckets       = prometheus.ExponentialBuckets(0.01, 2, 12) // 10 ms .. 20 s
	stepBuckets      = prometheus.ExponentialBuckets(15, 2, 12)   // 15 s .. 8.5 h
	executionBuckets = prometheus.ExponentialBuckets(60, 2, 10)   // 1 min .. 8.5 h
	cleanupBuckets   = prometheus.ExponentialBuckets(5, 2, 12)    // 5 s .. 2.8 h
)

// New returns Metrics on a registry of its own, with the Go runtime's and
// the process's collectors.
func New(cfg Config) *Metrics {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ListTimeout <= 0 {
		cfg.ListTimeout = 10 * time.Second
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: cfg.Logger,
		drsRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ripcord_drs_requests_total",
			Help: "DRS requests that reached the HTTP client, every attempt (SDK retries included), by target, operation and outcome: ok, DRS's error code, or no_response/no_connection."},
			[]string{"target", "operation", "outcome"}),
		drsDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ripcord_drs_request_duration_seconds",
			Help: "Latency of each DRS request attempt, from hand-over to the HTTP client to the answer decoded.", Buckets: drsBuckets},
			[]string{"operation"}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ripcord_step_duration_seconds",
			Help: "Duration of each step that ended (start to end, pauses included), on the engine's clock, by plan, step and status.", Buckets: stepBuckets},
			[]string{"plan", "step", "status"}),
		execDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ripcord_execution_duration_seconds",
			Help: "Duration of each execution that ended (start to end), on the engine's clock, by plan, mode and final state.", Buckets: executionBuckets},
			[]string{"plan", "mode", "state"}),
		launched: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ripcord_servers_launched_total",
			Help: "Servers whose recovery instance DRS launched, by plan and target."}, []string{"plan", "target"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ripcord_servers_failed_total",
			Help: "Server launches that failed (in DRS, or held past the conflict deadline), by plan and target."}, []string{"plan", "target"}),
		cleanup: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ripcord_cleanup_duration_seconds",
			Help: "Duration of each drill cleanup, from its first TerminateRecoveryInstances intent to its verification, on the engine's clock, by plan.", Buckets: cleanupBuckets},
			[]string{"plan"}),
		quota: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ripcord_quota_headroom",
			Help: "What DRS's quotas had left in a target at the engine's last launch decision there: quota=jobs (active jobs) or servers (servers in active jobs), after the headroom kept for people."},
			[]string{"target", "quota"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ripcord_readiness_findings",
			Help: "Findings of the last readiness check of a plan, by severity."}, []string{"plan", "severity"}),
	}
	m.reg.MustRegister(m.drsRequests, m.drsDuration, m.stepDuration, m.execDuration, m.launched, m.failed,
		m.cleanup, m.quota, m.findings,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Store != nil {
		m.reg.MustRegister(&executionsCollector{store: cfg.Store, timeout: cfg.ListTimeout})
	}
	return m
}

// Registry is the registry the collectors are on (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text format (or OpenMetrics
// when asked). A collector that fails (the store did not answer) is
// logged and left out; the others are served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		ErrorLog: errorLog{m.log}, Registry: m.reg})
}

type errorLog struct{ l *slog.Logger }

func (e errorLog) Println(v ...any) { e.l.Warn("serving metrics: " + fmt.Sprint(v...)) }

// DRSRequest counts one DRS request attempt in target (the plan's name of
// the target): its operation, its outcome ("ok", DRS's error code,
// "no_response", ...) and its latency. cmd/ripcord calls it from the DRS
// adapter's Observe hook.
func (m *Metrics) DRSRequest(target, operation, outcome string, latency time.Duration) {
	m.drsRequests.WithLabelValues(target, operation, outcome).Inc()
	m.drsDuration.WithLabelValues(operation).Observe(latency.Seconds())
}

// Quota sets the quota headroom of a target (engine.Config.OnQuota).
func (m *Metrics) Quota(q engine.QuotaHeadroom) {
	m.quota.WithLabelValues(q.Target, "jobs").Set(float64(q.Jobs))
	m.quota.WithLabelValues(q.Target, "servers").Set(float64(q.Servers))
}

// SetReadinessFindings replaces a plan's readiness findings: how many of
// each severity its last check found. Severities it does not name are
// dropped from the plan's series.
func (m *Metrics) SetReadinessFindings(plan string, bySeverity map[string]int) {
	m.findings.DeletePartialMatch(prometheus.Labels{"plan": plan})
	for sev, n := range bySeverity {
		m.findings.WithLabelValues(plan, sev).Set(float64(n))
	}
}

// Event takes in one event an engine appended, with the execution's state
// after it (engine.Config.OnEvent): the durations of steps, executions and
// cleanups that ended, and the servers launched or failed.
func (m *Metrics) Event(s *engine.State, ev ripcord.Event) {
	plan := s.Spec.Plan
	switch ev.Type {
	case engine.EvServerStatus:
		var d engine.ServerStatus
		if json.Unmarshal(ev.Data, &d) != nil {
			return
		}
		target := ""
		if st := s.Steps[d.Step]; st != nil && st.Servers[d.Server] != nil {
			target = st.Servers[d.Server].Target
		}
		switch d.Status {
		case ripcord.LaunchStatusLaunched:
			m.launched.WithLabelValues(plan, target).Inc()
		case ripcord.LaunchStatusFailed:
			m.failed.WithLabelValues(plan, target).Inc()
		}
	case engine.EvStepFinished, engine.EvStepSkipped:
		var d engine.StepFinished
		if json.Unmarshal(ev.Data, &d) != nil {
			return
		}
		// A step skipped before it started has no duration.
		if st := s.Steps[d.Step]; st != nil && !st.Started.IsZero() && !st.Ended.IsZero() {
			m.stepDuration.WithLabelValues(plan, d.Step, st.Status).Observe(st.Ended.Sub(st.Started).Seconds())
		}
	case engine.EvExecutionFinished:
		if !s.Finished.IsZero() {
			m.execDuration.WithLabelValues(plan, string(s.Spec.Mode), string(s.State)).Observe(s.Finished.Sub(s.Started).Seconds())
		}
	case engine.EvCleanupFinished:
		start := s.Cleanup.Finished
		for _, b := range s.Batches {
			if b.Terminate && b.Requested.Before(start) {
				start = b.Requested
			}
		}
		m.cleanup.WithLabelValues(plan).Observe(s.Cleanup.Finished.Sub(start).Seconds())
	}
}

// executionsCollector lists the store's executions at each scrape:
// ripcord_executions{state}, every state always present.
type executionsCollector struct {
	store   Counter
	timeout time.Duration
}

var executionsDesc = prometheus.NewDesc("ripcord_executions",
	"Executions in the store by state (running, paused, succeeded, failed, cancelled), counted in the store at each scrape.",
	[]string{"state"}, nil)

func (c *executionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- executionsDesc }

func (c *executionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	n, err := c.store.CountExecutions(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(executionsDesc, fmt.Errorf("counting the store's executions: %w", err))
		return
	}
	for _, st := range []ripcord.ExecState{ripcord.ExecRunning, ripcord.ExecPaused, ripcord.ExecSucceeded, ripcord.ExecFailed, ripcord.ExecCancelled} {
		ch <- prometheus.MustNewConstMetric(executionsDesc, prometheus.GaugeValue, float64(n[st]), string(st))
	}
}
