package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/web"
)

// TestServeReadiness checks the plans of a store as ripcord serve does,
// calls the OnReadiness hook with each plan's findings, and serves the
// result through the API (and the Go client), with the plan's staleness
// on the plan listing.
func TestServeReadiness(t *testing.T) {
	c := newAuditEnv(t)
	path := auditPlan(t, "stop")
	exits(t, c, 0, true, "run", "-f", path, "--drill", "--id", "drill-1")

	ctx := context.Background()
	cf := connFlags{DB: c.db, Endpoint: c.url, RateLimit: 500, Output: "text", LogLevel: "warn", LogFormat: "text"}
	store, err := cf.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	hooked := map[string][]ripcord.Finding{}
	rk := &readinessKeeper{store: store, connect: cf.clients, now: cf.clock(ctx).Now, interval: 0,
		log: slog.New(slog.DiscardHandler), OnReadiness: func(plan string, fs []ripcord.Finding) { hooked[plan] = fs }}

	h, err := web.New(web.Config{Store: store, Readiness: rk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	secret, id, hash, err := ripcord.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateToken(ctx, ripcord.Token{ID: id, Name: "viewer", Role: ripcord.RoleViewer, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}

	// Before the first check: 404 with a hint.
	if _, err := cl.PlanReadiness(ctx, "audit"); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Fatalf("readiness before a check: %v", err)
	}
	rk.CheckAll(ctx)
	rd, err := cl.PlanReadiness(ctx, "audit")
	if err != nil {
		t.Fatal(err)
	}
	if !rd.Ready || rd.Error != "" || rd.Checked.IsZero() || rd.Staleness == nil || rd.Staleness.Stale || rd.Staleness.LastDrill != "drill-1" || !rd.Staleness.Checked {
		t.Fatalf("readiness after a drill: %+v (staleness %+v)", rd, rd.Staleness)
	}
	if fs, ok := hooked["audit"]; !ok || len(fs) != len(rd.Findings) {
		t.Fatalf("OnReadiness got %v (called: %t), the API %v", fs, ok, rd.Findings)
	}
	plans, err := cl.Plans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || plans[0].Staleness == nil || plans[0].Staleness.Stale || plans[0].Staleness.LastDrill != "drill-1" {
		t.Fatalf("plan listing: %+v", plans)
	}
	if _, err := cl.PlanReadiness(ctx, "nosuchplan"); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Fatalf("readiness of an unknown plan: %v", err)
	}
}
