package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/metrics"
)

// lister is a store's count for the narrow tests here (the real stores
// are exercised by cmd/ripcord's TestServeMetrics and storetest).
type lister struct {
	xs  []ripcord.Execution
	err error
}

func (l lister) CountExecutions(context.Context) (map[ripcord.ExecState]int, error) {
	n := map[ripcord.ExecState]int{}
	for _, x := range l.xs {
		n[x.State]++
	}
	return n, l.err
}

// TestExecutionsByState: every state is served, with the store's counts.
func TestExecutionsByState(t *testing.T) {
	m := metrics.New(metrics.Config{Store: lister{xs: []ripcord.Execution{
		{State: ripcord.ExecRunning}, {State: ripcord.ExecSucceeded}, {State: ripcord.ExecSucceeded}}}})
	want := `
# HELP ripcord_executions Executions in the store by state (running, paused, succeeded, failed, cancelled), counted in the store at each scrape.
# TYPE ripcord_executions gauge
ripcord_executions{state="cancelled"} 0
ripcord_executions{state="failed"} 0
ripcord_executions{state="paused"} 0
ripcord_executions{state="running"} 1
ripcord_executions{state="succeeded"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "ripcord_executions"); err != nil {
		t.Error(err)
	}
}

// TestStoreDownServesTheRest: a store that does not answer leaves the
// executions gauge out; the scrape still serves the other metrics.
func TestStoreDownServesTheRest(t *testing.T) {
	m := metrics.New(metrics.Config{Store: lister{err: errors.New("database is locked")}})
	m.DRSRequest("dr", "DescribeJobs", "ok", 20*time.Millisecond)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b := string(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, `ripcord_drs_requests_total{operation="DescribeJobs",outcome="ok",target="dr"} 1`) ||
		strings.Contains(b, "ripcord_executions{") {
		t.Errorf("scrape with the store down: %s\n%s", resp.Status, b)
	}
}

// TestReadinessFindingsReplace: a plan's findings are replaced as a whole;
// other plans' stay.
func TestReadinessFindingsReplace(t *testing.T) {
	m := metrics.New(metrics.Config{})
	m.SetReadinessFindings("orders", map[string]int{"blocking": 2, "warning": 1})
	m.SetReadinessFindings("billing", map[string]int{"warning": 3})
	m.SetReadinessFindings("orders", map[string]int{"warning": 4})
	want := `
# HELP ripcord_readiness_findings Findings of the last readiness check of a plan, by severity.
# TYPE ripcord_readiness_findings gauge
ripcord_readiness_findings{plan="billing",severity="warning"} 3
ripcord_readiness_findings{plan="orders",severity="warning"} 4
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "ripcord_readiness_findings"); err != nil {
		t.Error(err)
	}
}

// TestQuotaHeadroom: the last decision's headroom per target and quota.
func TestQuotaHeadroom(t *testing.T) {
	m := metrics.New(metrics.Config{})
	m.Quota(engine.QuotaHeadroom{Target: "dr", Jobs: 20, Servers: 500})
	m.Quota(engine.QuotaHeadroom{Target: "dr", Jobs: 17, Servers: 440})
	want := `
# HELP ripcord_quota_headroom What DRS's quotas had left in a target at the engine's last launch decision there: quota=jobs (active jobs) or servers (servers in active jobs), after the headroom kept for people.
# TYPE ripcord_quota_headroom gauge
ripcord_quota_headroom{quota="jobs",target="dr"} 17
ripcord_quota_headroom{quota="servers",target="dr"} 440
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "ripcord_quota_headroom"); err != nil {
		t.Error(err)
	}
}
