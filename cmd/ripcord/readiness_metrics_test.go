package main

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/plan"
)

// TestServeReadinessMetrics: the findings of serve's readiness check of a
// plan show in /metrics by severity, as many as the check found.
func TestServeReadinessMetrics(t *testing.T) {
	c := newCLIEnv(t)
	// The plan is saved before serve starts, so that serve's check at
	// start-up is the only one (the next is an hour later).
	src, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := plan.Decode("three-tier.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	one, err := f.Extract("orders")
	if err != nil {
		t.Fatal(err)
	}
	cf := connFlags{DB: c.db}
	store, err := cf.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SavePlanVersion(context.Background(), ripcord.PlanVersion{Hash: one.Hash(), Name: "orders", Source: src,
		Created: ripcord.StoreTime(time.Now())}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	var mu sync.Mutex
	checked := make(chan []ripcord.Finding, 1)
	base, _ := startServe(t, c, func(cfg *serveConfig) {
		cfg.Metrics, cfg.CheckInterval = true, time.Hour
		cfg.OnReadiness = func(name string, fs []ripcord.Finding) {
			mu.Lock()
			defer mu.Unlock()
			if name == "orders" {
				checked <- fs
			}
		}
	})
	findings := <-checked
	want := map[string]float64{}
	for _, f := range findings {
		want[string(f.Severity)]++
	}
	if len(findings) == 0 {
		t.Fatal("the check found nothing; a plan never drilled is stale at least")
	}
	got := map[string]float64{}
	for _, m := range scrape(t, base+"/metrics")["ripcord_readiness_findings"].GetMetric() {
		l := labels(m)
		if l["plan"] != "orders" {
			t.Errorf("readiness findings of plan %q; only orders is saved", l["plan"])
		}
		got[l["severity"]] = m.GetGauge().GetValue()
	}
	if len(got) != len(want) {
		t.Errorf("ripcord_readiness_findings by severity: %v; want %v", got, want)
	}
	for sev, n := range want {
		if got[sev] != n {
			t.Errorf("ripcord_readiness_findings{plan=orders,severity=%s} = %v; want %v (the check's findings)", sev, got[sev], n)
		}
	}
}
