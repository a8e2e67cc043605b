package main

import (
	"net/http"

	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/metrics"
)

// observeDRS is the DRS adapter's Observe hook for target: each request
// attempt counted in the metrics, when the command has them (serve).
func (c *connFlags) observeDRS(target string) func(drs.Attempt) {
	if c.metrics == nil {
		return nil
	}
	m := c.metrics
	return func(a drs.Attempt) { m.DRSRequest(target, a.Operation, a.Outcome, a.Latency) }
}

// observeEngine gives an engine's configuration the metrics' hooks, when
// the command has metrics (serve).
func (c *connFlags) observeEngine(cfg *engine.Config) {
	if c.metrics == nil {
		return
	}
	cfg.OnEvent = c.metrics.Event
	cfg.OnQuota = c.metrics.Quota
}

// withMetrics serves GET /metrics from m (unauthenticated, like /healthz:
// counts and durations, no secrets) and everything else from next. Without
// metrics it is next.
func withMetrics(m *metrics.Metrics, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	mh := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			mh.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
