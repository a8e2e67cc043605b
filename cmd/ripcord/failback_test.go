package main

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// newFailbackCLIEnv is newCLIEnv with the three-tier scenario's web servers
// EC2 instances of us-west-2 (in-AWS DR).
func newFailbackCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	c := newCLIEnv(t)
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Regions[0].Servers {
		if s := &sc.Regions[0].Servers[i]; s.Tags["Tier"] == "web" {
			s.Origin = &drssim.OriginSpec{Region: "us-west-2"}
		}
	}
	sim, err := drssim.New(drssim.Options{Scenario: sc, TimeScale: 6000, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c.url, c.sim, c.db = srv.URL, sim, filepath.Join(t.TempDir(), "fb.db")
	return c
}

// TestReprotectAndFailback: after a recovery of the example plan, reprotect
// reverses the web servers (from AWS) and names the Failback Client for
// the others; run --failback is refused until the instances are ready, then
// fails back web, app, database in that order, one job per tier.
func TestReprotectAndFailback(t *testing.T) {
	c := newFailbackCLIEnv(t)
	plan := "../../examples/three-tier.yaml"
	if out, errOut, code := c.ripcord(append([]string{"run", "-f", plan, "--recovery", "--confirm", "orders", "--id", "rec", "--output", "json"}, c.conn()...)...); code != 0 {
		t.Fatalf("recovery: exit %d\n%s\n%s", code, out, errOut)
	}

	out, errOut, code := c.ripcord(append([]string{"reprotect", "-f", plan, "--output", "json"}, c.conn()...)...)
	if code != 0 {
		t.Fatalf("reprotect: exit %d\n%s\n%s", code, out, errOut)
	}
	var res []engine.ReprotectResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res) != 6 {
		t.Fatalf("%d results, want 6: %+v", len(res), res)
	}
	for _, r := range res {
		switch {
		case r.Step == "web" && (r.Outcome != engine.ReprotectDone || !strings.HasPrefix(r.ReversedARN, "arn:aws:drs:us-west-2:111122223333:source-server/")):
			t.Errorf("web server %s: %+v", r.Server, r)
		case r.Step != "web" && (r.Outcome != engine.ReprotectOnPremises || !strings.Contains(r.Message, "Failback Client")):
			t.Errorf("%s server %s: %+v", r.Step, r.Server, r)
		}
	}
	// Again: the same ARNs, nothing else changes.
	out2, _, code := c.ripcord(append([]string{"reprotect", "-f", plan, "--output", "json"}, c.conn()...)...)
	var res2 []engine.ReprotectResult
	if err := json.Unmarshal([]byte(out2), &res2); err != nil || code != 0 {
		t.Fatalf("second reprotect: exit %d %v", code, err)
	}
	for i := range res {
		if res2[i].ReversedARN != res[i].ReversedARN {
			t.Errorf("second reprotect of %s: ARN %q, first %q", res[i].Server, res2[i].ReversedARN, res[i].ReversedARN)
		}
	}

	failback := append([]string{"run", "-f", plan, "--failback", "--confirm", "orders", "--id", "fb", "--output", "json"}, c.conn()...)
	_, errOut, code = c.ripcord(failback...)
	if code == 0 || !strings.Contains(errOut, "not FAILBACK_READY_FOR_LAUNCH") || !strings.Contains(errOut, "ripcord reprotect") {
		t.Fatalf("failback before ready: exit %d\n%s", code, errOut)
	}
	var ids []string
	for _, r := range res {
		ids = append(ids, r.Server)
	}
	if _, err := c.sim.MakeFailbackReady("", "us-east-1", nil, ids); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = c.ripcord(failback...)
	if code != 0 {
		t.Fatalf("failback: exit %d\n%s\n%s", code, out, errOut)
	}
	var sum execSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.State != "succeeded" || sum.Mode != "failback" {
		t.Fatalf("summary %+v", sum)
	}
	checkFailbackJobs(t, c, res)
}

// checkFailbackJobs checks the simulator's failback jobs: one per tier,
// web, app, then database, each server in one.
func checkFailbackJobs(t *testing.T, c *cliEnv, res []engine.ReprotectResult) {
	t.Helper()
	tier := map[string]string{}
	for _, r := range res {
		tier[r.Server] = r.Step
	}
	var jobs []drssim.JobView
	for _, j := range c.sim.State(drssim.StateFilter{}).Regions[0].Jobs {
		if j.InitiatedBy == ripcord.InitiatedByFailback {
			jobs = append(jobs, j)
		}
	}
	slices.SortFunc(jobs, func(a, b drssim.JobView) int { return a.Created.Compare(b.Created) })
	var order []string
	per := map[string]int{}
	for _, j := range jobs {
		order = append(order, tier[j.Servers[0].SourceServerID])
		for _, s := range j.Servers {
			per[s.SourceServerID]++
			if tier[s.SourceServerID] != tier[j.Servers[0].SourceServerID] {
				t.Errorf("job %s mixes tiers", j.JobID)
			}
		}
	}
	if strings.Join(order, ",") != "web,app,database" {
		t.Errorf("failback jobs by creation: %v, want web,app,database", order)
	}
	for _, r := range res {
		if per[r.Server] != 1 {
			t.Errorf("server %s in %d failback jobs, want 1", r.Server, per[r.Server])
		}
	}
}

// TestFailbackThroughServer: a recovery started through the server, the
// servers reprotected and ready, then a failback started through the
// server with run --failback --server: an operator may not, a recovery
// token must confirm, and the confirmed failback runs web, app, database,
// once each, driven by the server.
func TestFailbackThroughServer(t *testing.T) {
	c := newFailbackCLIEnv(t)
	base, _ := startServe(t, c)
	admin, operator, recovery := c.mintToken("admin"), c.mintToken("operator"), c.mintToken("recovery")
	plan := "../../examples/three-tier.yaml"
	remote := func(token string, args ...string) (string, string, int) {
		return c.ripcord(append(args, "--server", base, "--token", token, "--output", "json")...)
	}
	if out, errOut, code := remote(admin, "run", "-f", plan, "--recovery", "--confirm", "orders"); code != 0 {
		t.Fatalf("recovery through the server: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code := c.ripcord(append([]string{"reprotect", "-f", plan, "--output", "json"}, c.conn()...)...)
	var res []engine.ReprotectResult
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("reprotect: exit %d %v\n%s", code, err, errOut)
	}
	var ids []string
	for _, r := range res {
		ids = append(ids, r.Server)
	}
	if _, err := c.sim.MakeFailbackReady("", "us-east-1", nil, ids); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := remote(operator, "run", "orders", "--failback", "--confirm", "orders"); code == 0 || !strings.Contains(errOut, "has role operator; this needs role recovery") {
		t.Errorf("an operator's failback: exit %d; want refused for want of role recovery\n%s", code, errOut)
	}
	if _, errOut, code := remote(recovery, "run", "orders", "--failback"); code != exitInvalid || !strings.Contains(errOut, "a failback of plan orders needs --confirm orders") {
		t.Errorf("a failback without --confirm: exit %d\n%s", code, errOut)
	}
	out, errOut, code = remote(recovery, "run", "orders", "--failback", "--confirm", "orders")
	if code != 0 {
		t.Fatalf("failback through the server: exit %d\n%s\n%s", code, out, errOut)
	}
	var sum execSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.State != "succeeded" || sum.Mode != "failback" {
		t.Fatalf("failback summary %+v (%v)\n%s", sum, err, out)
	}
	checkFailbackJobs(t, c, res)
}

// TestStopFailback: after a recovery and a reprotect, reprotect --stop
// (confirmed) stops the failback of the web servers, whose replication
// back was under way (in progress or caught up), and leaves the others (never started) alone; their
// instances are FAILBACK_NOT_STARTED after it, so a second --stop has
// nothing to do. Without --confirm it is refused.
func TestStopFailback(t *testing.T) {
	c := newFailbackCLIEnv(t)
	plan := "../../examples/three-tier.yaml"
	if out, errOut, code := c.ripcord(append([]string{"run", "-f", plan, "--recovery", "--confirm", "orders", "--id", "rec"}, c.conn()...)...); code != 0 {
		t.Fatalf("recovery: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := c.ripcord(append([]string{"reprotect", "-f", plan}, c.conn()...)...); code != 0 {
		t.Fatalf("reprotect: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := c.ripcord(append([]string{"reprotect", "-f", plan, "--stop"}, c.conn()...)...); code != exitInvalid ||
		!strings.Contains(errOut, "stopping the failback of plan orders needs --confirm orders") {
		t.Errorf("--stop without --confirm: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := c.ripcord(append([]string{"reprotect", "-f", plan, "--confirm", "orders"}, c.conn()...)...); code != exitInvalid ||
		!strings.Contains(errOut, "--confirm is for --stop") {
		t.Errorf("--confirm without --stop: exit %d\n%s", code, errOut)
	}
	stop := func() []engine.ReprotectResult {
		t.Helper()
		out, errOut, code := c.ripcord(append([]string{"reprotect", "-f", plan, "--stop", "--confirm", "orders", "--output", "json"}, c.conn()...)...)
		var res []engine.ReprotectResult
		if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || len(res) != 6 {
			t.Fatalf("reprotect --stop: exit %d, %v, %d results\n%s\n%s", code, err, len(res), out, errOut)
		}
		return res
	}
	for _, r := range stop() {
		switch {
		case r.Step == "web" && (r.Outcome != engine.FailbackStopped ||
			r.FailbackState != ripcord.FailbackInProgress && r.FailbackState != ripcord.FailbackReadyForLaunch):
			// Under way: in progress, or (the simulator's clock runs at
			// 6000x) already caught up and ready for launch.
			t.Errorf("web server %s: %+v; want its failback under way, stopped", r.Server, r)
		case r.Step != "web" && (r.Outcome != engine.FailbackNotActive || r.FailbackState != ripcord.FailbackNotStarted):
			t.Errorf("%s server %s: %+v; want nothing to stop", r.Step, r.Server, r)
		}
	}
	for _, r := range stop() {
		if r.Outcome != engine.FailbackNotActive || r.FailbackState != ripcord.FailbackNotStarted {
			t.Errorf("second --stop, %s server %s: %+v; want FAILBACK_NOT_STARTED, nothing to stop", r.Step, r.Server, r)
		}
	}
}
