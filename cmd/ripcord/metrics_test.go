package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestServeMetrics is issue 10's proof for metrics: a three-tier drill run
// by `ripcord serve` against the simulator (the real SDK over HTTP) meets
// a ConflictException (a job older than the first listing's horizon holds
// db1), a throttled StartRecovery, a throttled DescribeJobs the SDK
// retries, and a lost StartRecovery answer, and is cleaned up. /metrics,
// scraped over HTTP and parsed with Prometheus's text parser, counts
// exactly the DRS requests the simulator's request log shows, per
// operation and outcome; executions by state, servers launched, and the
// step, execution and cleanup durations match the drill. Every JSON log
// line of the server that is about the execution carries its ID.
func TestServeMetrics(t *testing.T) {
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	const db1 = "s-3c1730a9e0771ea14"
	// Simulated time runs 6000 times faster than real time: the job ends
	// 6 s after the simulator starts, well after the drill's first launch
	// even on a loaded machine (at 1.8 s it once ended first under -race),
	// within the plan's conflict deadline (raised to 12h below).
	sc.Regions[0].Jobs = append(sc.Regions[0].Jobs[:0], drssim.JobSpec{ID: "drsjob-0ld0000000000000a", Type: "LAUNCH",
		CreatedAgo: drssim.Duration(30 * time.Hour), EndsAfter: drssim.Duration(10 * time.Hour), Servers: []string{db1}})
	sim, err := drssim.New(drssim.Options{Scenario: sc, TimeScale: 6000, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []drssim.Fault{
		{Kind: drssim.FaultThrottleStorm, Operation: "StartRecovery", Count: 1},
		{Kind: drssim.FaultDropResponse, Operation: "StartRecovery", Count: 1},
		{Kind: drssim.FaultThrottleStorm, Operation: "DescribeJobs", Count: 1},
	} {
		if _, err := sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv(envServer, "")
	t.Setenv(envToken, "")
	c := &cliEnv{t: t, url: simSrv.URL, db: filepath.Join(t.TempDir(), "r.db"), sim: sim}

	var cfg serveConfig
	cfg.connFlags = connFlags{DB: c.db, Endpoint: c.url, Output: "text", Poll: 20 * time.Millisecond, RateLimit: 500,
		LogLevel: "debug", LogFormat: "json"}
	cfg.Addr, cfg.Scan, cfg.ShutdownGrace, cfg.Metrics = "127.0.0.1:0", time.Hour, time.Minute, true
	cfg.LeaseTTL, cfg.Heartbeat = 10*time.Second, 2*time.Second
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var logs syncBuffer
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, &logs, cfg, func(a string) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve ended before listening: %v", err)
	}

	yaml, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml = bytes.Replace(yaml, []byte("conflictDeadline: 15m"), []byte("conflictDeadline: 12h"), 1)
	oc := servedPlanYAML(t, c, base, "operator", yaml)
	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill, CleanupAfter: "1m"})
	if err != nil {
		t.Fatal(err)
	}
	// Until the driver stops after the cleanup: then nothing calls DRS.
	errEnd := errors.New("ended")
	var cleaned bool
	var seen []string
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = oc.Follow(fctx, x.ID, 0, func(ev ripcord.Event) error {
		seen = append(seen, ev.Type+" "+string(ev.Data))
		switch ev.Type {
		case engine.EvCleanupFinished:
			cleaned = true
		case engine.EvExecutionPaused:
			return errors.New("paused: " + string(ev.Data))
		case engine.EvDriverStopped:
			if cleaned {
				return errEnd
			}
		}
		return nil
	})
	if !errors.Is(err, errEnd) {
		t.Fatalf("following the drill: %v; events:\n%s\nlog:\n%s", err, strings.Join(seen, "\n"), logs.String())
	}
	d, err := oc.Execution(ctx, x.ID)
	if err != nil || d.Execution.State != ripcord.ExecSucceeded {
		t.Fatalf("the drill: %+v, %v; want succeeded", d.Execution, err)
	}

	fams := scrape(t, base+"/metrics")
	var state drssim.StateView
	getJSON(t, c.url+"/_sim/state", &state)

	// The DRS request counters are the simulator's request log.
	got := map[string]map[string]int64{}
	var requests int64
	for _, m := range fams["ripcord_drs_requests_total"].GetMetric() {
		l := labels(m)
		if l["target"] != "dr" {
			t.Errorf("request counter of target %q; the plan has only dr", l["target"])
		}
		if got[l["operation"]] == nil {
			got[l["operation"]] = map[string]int64{}
		}
		got[l["operation"]][l["outcome"]] += int64(m.GetCounter().GetValue())
		requests += int64(m.GetCounter().GetValue())
	}
	if !maps.EqualFunc(got, state.RequestsByOutcome, maps.Equal) {
		t.Errorf("ripcord_drs_requests_total by operation and outcome:\n %v\nthe simulator's request log:\n %v", got, state.RequestsByOutcome)
	}
	t.Logf("DRS requests by operation and outcome (metrics = simulator): %v", got)
	for _, w := range []struct{ op, outcome string }{
		{"StartRecovery", "ConflictException"}, {"StartRecovery", "ThrottlingException"}, {"StartRecovery", "no_response"},
		{"DescribeJobs", "ThrottlingException"}, {"StartRecovery", "ok"}, {"TerminateRecoveryInstances", "ok"},
	} {
		if got[w.op][w.outcome] == 0 {
			t.Errorf("no %s answered %s counted: %v", w.op, w.outcome, got[w.op])
		}
	}
	var observed uint64
	for _, m := range fams["ripcord_drs_request_duration_seconds"].GetMetric() {
		observed += m.GetHistogram().GetSampleCount()
	}
	if int64(observed) != requests {
		t.Errorf("request latency observed %d times; %d requests counted", observed, requests)
	}

	gauge := func(name string, want map[string]string) (float64, bool) {
		for _, m := range fams[name].GetMetric() {
			if l := labels(m); maps.Equal(l, want) {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue(), true
				}
				return m.GetCounter().GetValue(), true
			}
		}
		return 0, false
	}
	for st, want := range map[string]float64{"succeeded": 1, "running": 0, "paused": 0, "failed": 0, "cancelled": 0} {
		if v, ok := gauge("ripcord_executions", map[string]string{"state": st}); !ok || v != want {
			t.Errorf("ripcord_executions{state=%q} = %v (present %v); want %v", st, v, ok, want)
		}
	}
	if v, _ := gauge("ripcord_servers_launched_total", map[string]string{"plan": "orders", "target": "dr"}); v != 6 {
		t.Errorf("servers launched %v; want the plan's 6", v)
	}
	if v, ok := gauge("ripcord_quota_headroom", map[string]string{"target": "dr", "quota": "jobs"}); !ok || v < 0 || v > 20 {
		t.Errorf("quota headroom (jobs) %v (present %v); want between 0 and DRS's 20", v, ok)
	}
	histCount := func(name string) (n uint64, sum float64) {
		for _, m := range fams[name].GetMetric() {
			n += m.GetHistogram().GetSampleCount()
			sum += m.GetHistogram().GetSampleSum()
		}
		return n, sum
	}
	if n, _ := histCount("ripcord_step_duration_seconds"); n != 3 {
		t.Errorf("step durations observed %d times; want the 3 steps", n)
	}
	if n, sum := histCount("ripcord_execution_duration_seconds"); n != 1 || sum <= 0 {
		t.Errorf("execution duration observed %d times, %vs in all; want once", n, sum)
	}
	if n, _ := histCount("ripcord_cleanup_duration_seconds"); n != 1 {
		t.Errorf("cleanup duration observed %d times; want once", n)
	}

	// Every line of the server's log that is about the execution says so.
	engineLines := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // the server's own "serving on ..." notes
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		about := strings.Contains(line, x.ID)
		if msg, _ := m["msg"].(string); msg == engine.EvStepStarted || msg == engine.EvServerStatus || msg == engine.EvExecutionFinished {
			engineLines++
			about = true
		}
		if about && m["execution"] != x.ID {
			t.Errorf("log line about execution %s without it as \"execution\": %s", x.ID, line)
		}
	}
	if engineLines == 0 {
		t.Errorf("the driver logged nothing at debug level:\n%s", logs.String())
	}

	stop()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

// servedPlanYAML saves a plan file on the server at base with an admin's
// token and returns a client with a token of role (servedPlan, with the
// file given).
func servedPlanYAML(t *testing.T, c *cliEnv, base, role string, yaml []byte) *client.Client {
	t.Helper()
	ac, _ := client.New(base, c.mintToken("admin"))
	if _, err := ac.SavePlans(t.Context(), "three-tier.yaml", yaml); err != nil {
		t.Fatal(err)
	}
	cl, _ := client.New(base, c.mintToken(role))
	return cl
}

// scrape GETs a Prometheus text exposition and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}
