package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/ec2ssm"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/report"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// healthPlan is the three-tier plan with an EC2 status gate on the
// database tier and an HTTP gate on the web tier, as a person writes it.
const healthPlan = `
targets:
  - {name: dr, account: "111122223333", region: us-east-1}
protectionGroups:
  - {name: orders-db, target: dr, selector: {Application: orders, Tier: database}}
  - {name: orders-app, target: dr, selector: {Application: orders, Tier: app}}
  - {name: orders-web, target: dr, selector: {Application: orders, Tier: web}}
plans:
  - name: orders
    rto: 45m
    waves:
      - name: database
        groups: [orders-db]
        health:
          - {type: ec2Status, interval: 15s, timeout: 20m}
      - name: app
        groups: [orders-app]
      - name: web
        groups: [orders-web]
        health:
          - {type: http, url: "%s/healthz?i={{.InstanceID}}", body: ok, interval: 10s, timeout: 5m}
`

// TestReportRTOToHealthy: a drill of a plan file with health gates, run
// through the engine, the real SDK and the simulator over HTTP, reports
// both the RTO to launched and the RTO to healthy (later: each web
// instance answers 503 first, so the last web server is healthy an
// interval after it launched), each gated server's healthyAt, and the
// checks as they ran; the Markdown says both times.
func TestReportRTOToHealthy(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	seen := map[string]bool{}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Each web instance's first answer is a 503: it warms up.
		mu.Lock()
		first := !seen[r.URL.Query().Get("i")]
		seen[r.URL.Query().Get("i")] = true
		mu.Unlock()
		if first {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer web.Close()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	clock := drssim.NewManualClock(drillStart)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	creds := credentials.NewStaticCredentialsProvider("AKIDREPORT", "secret", "")
	client, err := drs.New(ctx, drs.Config{Region: "us-east-1", Endpoint: srv.URL, STSEndpoint: srv.URL, Credentials: creds, RateLimit: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := []byte(fmt.Sprintf(healthPlan, web.URL))
	file, err := plan.Decode("health.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	resolved, _, err := engine.ResolveServers(ctx, file, "orders", map[string]ripcord.DRS{"dr": client})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := engine.BuildSpec(file, "orders", ripcord.ModeDrill, resolved)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: "orders", Source: src, Created: drillStart}); err != nil {
		t.Fatal(err)
	}
	in := ec2ssm.New(aws.Config{Region: "us-east-1", Credentials: creds}, srv.URL, ec2ssm.ForChecks)
	eng := engine.New(engine.Config{Store: store, Targets: map[string]ripcord.DRS{"dr": client}, Clock: clock, Actor: "ripcord",
		Seed: 1, Logger: slog.New(slog.DiscardHandler), MinPoll: minPoll, Poll: maxPoll, OwnerGone: func(ripcord.LeaseOwner) bool { return true },
		Instances: map[string]ripcord.Instances{"dr": in}})
	if err := eng.Start(ctx, "h-1", spec); err != nil {
		t.Fatal(err)
	}
	s, err := eng.Run(ctx, "h-1")
	if err != nil || s.State != ripcord.ExecSucceeded {
		t.Fatalf("run: %v, %s (%s)", err, s.State, s.Reason)
	}
	events, err := store.Events(ctx, "h-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.Build(s, events, clock.Now()).Render(&b, "json"); err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	x := r.RTO
	if x.MeasuredSeconds == nil || x.HealthySeconds == nil || *x.HealthySeconds <= *x.MeasuredSeconds {
		t.Fatalf("RTO to launched %v, to healthy %v: want both, healthy later", x.MeasuredSeconds, x.HealthySeconds)
	}
	if *x.HealthySeconds != *x.MeasuredSeconds+10 {
		t.Errorf("RTO to healthy %vs, to launched %vs: want one interval (10s) later", *x.HealthySeconds, *x.MeasuredSeconds)
	}
	if x.LastHealthyAt == nil || !x.LastHealthyAt.Equal(drillStart.Add(time.Duration(*x.HealthySeconds*float64(time.Second)))) || len(x.NotHealthy) != 0 {
		t.Errorf("last healthy %v at %v, not healthy %v", x.LastHealthyServer, x.LastHealthyAt, x.NotHealthy)
	}
	// Every database server's healthyAt is its gate's pass, after its
	// launch: EC2's status checks initialize after the instance runs.
	for _, st := range r.Steps {
		for _, sv := range st.Servers {
			switch st.Name {
			case "database":
				if sv.HealthyAt == nil || !sv.HealthyAt.After(*sv.LaunchedAt) {
					t.Errorf("%s: launched %v, healthy %v: want healthy after launched", sv.ID, sv.LaunchedAt, sv.HealthyAt)
				}
			case "app":
				if sv.HealthyAt != nil {
					t.Errorf("%s: healthyAt %v in a step without a gate", sv.ID, sv.HealthyAt)
				}
			}
		}
		if want := map[string]int{"database": 2, "app": 0, "web": 2}[st.Name]; len(st.Checks) != want {
			t.Errorf("step %s: %d checks, want %d", st.Name, len(st.Checks), want)
		}
		for _, c := range st.Checks {
			if c.Status != "passed" || c.Attempts < 1 || c.Result == "" {
				t.Errorf("step %s: check %+v", st.Name, c)
			}
		}
	}
	b.Reset()
	if err := report.Build(s, events, clock.Now()).Render(&b, "md"); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); !strings.Contains(md, "launched in step web") || !strings.Contains(md, "; to healthy: ") {
		t.Errorf("markdown RTO row does not give both times:\n%s", md)
	}
}
