package readiness_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/readiness"
	"github.com/ripcord-dr/ripcord/sqlite"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// noWait is an SDK retry backoff that does not wait.
type noWait struct{}

func (noWait) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// env is a simulator from a scenario in testdata on real HTTP, the real DRS
// adapter pointed at it, and an SQLite store on the simulator's clock.
type env struct {
	t     *testing.T
	clock *drssim.ManualClock
	srv   *httptest.Server
	drs   *drs.Client
	store ripcord.Store
	file  *ripcord.PlanFile
}

func newEnv(t *testing.T, scenario, planFile string) *env {
	t.Helper()
	sc, err := drssim.LoadScenario(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	clock := drssim.NewManualClock(t0)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := drs.New(context.Background(), drs.Config{Region: "us-east-1", Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RateLimit: 10000, RetryBackoff: noWait{}, STSEndpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ripcord.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, err := os.ReadFile(filepath.Join("testdata", planFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := plan.Decode(planFile, src)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, clock: clock, srv: srv, drs: c, store: st, file: f}
}

func (e *env) config(planName string) readiness.Config {
	return readiness.Config{File: e.file, Plan: planName, Targets: map[string]ripcord.DRS{"dr": e.drs},
		Store: e.store, Now: e.clock.Now()}
}

const (
	lagging  = "s-0000000000000a001"
	stalled  = "s-0000000000000a002"
	held     = "s-0000000000000a003"
	clash1   = "s-0000000000000a004"
	clash2   = "s-0000000000000a005"
	stopped  = "s-0000000000000a006"
	forgot   = "s-0000000000000a007"
	otherApp = "s-0000000000000a008"
)

// find returns the findings of a check about a server ("" for any).
func find(fs []ripcord.Finding, check, server string) []ripcord.Finding {
	var out []ripcord.Finding
	for _, f := range fs {
		if f.Check == check && (server == "" || f.Resource.ServerID == server) {
			out = append(out, f)
		}
	}
	return out
}

// TestCheckTripsEveryFinding runs the check against a scenario built so
// that each check has something to find, and asserts each finding by its
// code, severity and resource, and that the healthy servers are not named.
func TestCheckTripsEveryFinding(t *testing.T) {
	e := newEnv(t, "unready.yaml", "unready-plan.yaml")
	ctx := context.Background()
	// A live execution of the plan on the same targets, as `run` leaves
	// one that is paused.
	one, _ := e.file.Extract("orders")
	if err := e.store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: one.Hash(), Name: "orders", Source: []byte("{}"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	key := engine.ExclusiveKey(engine.Spec{Plan: "orders", Targets: one.Targets})
	if err := e.store.CreateExecution(ctx, ripcord.Execution{ID: "orders-live", PlanName: "orders", PlanHash: one.Hash(), Mode: ripcord.ModeDrill,
		State: ripcord.ExecPaused, Started: t0, Actor: "alice", Exclusive: key},
		[]ripcord.Event{{Type: engine.EvExecutionStarted, Actor: "alice", At: t0, Data: json.RawMessage(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("orders")
	cfg.Quotas = engine.Quotas{ActiveJobs: 2} // the scenario's quota
	rep, err := readiness.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fs := rep.Findings
	for _, f := range fs {
		t.Logf("%-8s %-22s %-40s %s", f.Severity, f.Check, f.Resource, f.Message)
	}
	want := []struct {
		check    string
		severity ripcord.Severity
		server   string
		check2   func(ripcord.Finding) bool
	}{
		{readiness.CheckLag, ripcord.SeverityBlocking, lagging, func(f ripcord.Finding) bool {
			return strings.Contains(f.Message, "over the RPO target of 15m") && f.Resource.Step == "first" && f.Resource.ServerName == "lagging-1"
		}},
		{readiness.CheckSnapshot, ripcord.SeverityWarning, lagging, nil},
		{readiness.CheckReplication, ripcord.SeverityBlocking, stalled, func(f ripcord.Finding) bool { return strings.Contains(f.Message, "stalled") }},
		{readiness.CheckSnapshot, ripcord.SeverityWarning, stalled, nil},
		{readiness.CheckHeldByJob, ripcord.SeverityWarning, held, func(f ripcord.Finding) bool { return f.Resource.JobID == "drsjob-00000000000000a01" }},
		{readiness.CheckCopyPrivateIP, ripcord.SeverityBlocking, clash2, func(f ripcord.Finding) bool {
			return strings.Contains(f.Message, clash1) && strings.Contains(f.Message, "10.0.0.5")
		}},
		{readiness.CheckDisposition, ripcord.SeverityWarning, stopped, nil},
		{readiness.CheckRightSizing, ripcord.SeverityInfo, stopped, nil},
		{readiness.CheckUnlaunched, ripcord.SeverityWarning, forgot, func(f ripcord.Finding) bool { return f.Resource.Group == "orders" }},
		{readiness.CheckQuota, ripcord.SeverityBlocking, "", func(f ripcord.Finding) bool {
			return f.Resource.Target == "dr" && f.Resource.Step == "first"
		}},
		{readiness.CheckConflictingRun, ripcord.SeverityBlocking, "", func(f ripcord.Finding) bool { return f.Resource.Execution == "orders-live" }},
		{readiness.CheckStale, ripcord.SeverityWarning, "", func(f ripcord.Finding) bool { return strings.Contains(f.Message, "never drilled") }},
	}
	for _, w := range want {
		got := find(fs, w.check, w.server)
		if len(got) != 1 {
			t.Errorf("%s on %q: %d findings, want 1", w.check, w.server, len(got))
			continue
		}
		f := got[0]
		if f.Severity != w.severity {
			t.Errorf("%s on %q: severity %s, want %s", w.check, w.server, f.Severity, w.severity)
		}
		if f.Remedy == "" || f.Message == "" {
			t.Errorf("%s on %q: no message or remedy: %+v", w.check, w.server, f)
		}
		if w.check2 != nil && !w.check2(f) {
			t.Errorf("%s on %q: unexpected finding %+v", w.check, w.server, f)
		}
	}
	// What must not be found: the first of the IP pair launches fine, the
	// other application's server is no member of a group the plan touches,
	// the healthy servers have no replication finding, right-sizing NONE
	// is not reported.
	for _, no := range []struct{ check, server string }{
		{readiness.CheckCopyPrivateIP, clash1},
		{readiness.CheckUnlaunched, otherApp},
		{readiness.CheckReplication, held},
		{readiness.CheckLag, clash1},
		{readiness.CheckRightSizing, lagging},
		{readiness.CheckHeldByJob, otherApp},
		{readiness.CheckSnapshot, held},
	} {
		if got := find(fs, no.check, no.server); len(got) > 0 {
			t.Errorf("%s on %s: unexpected %+v", no.check, no.server, got)
		}
	}
	if len(fs) != len(want) {
		t.Errorf("%d findings, want exactly the %d above", len(fs), len(want))
	}
	if !ripcord.Blocking(fs) || fs[0].Severity != ripcord.SeverityBlocking {
		t.Errorf("findings not worst first: %+v", fs[0])
	}
}

// TestCheckReady: a healthy plan has no finding at all, and a plan drilled
// within drillEvery is not stale.
func TestCheckReady(t *testing.T) {
	e := newEnv(t, "ready.yaml", "ready-plan.yaml")
	cfg := e.config("shop")
	cfg.Store = nil
	fs, err := readiness.Check(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Fatalf("findings for a ready plan: %+v", fs)
	}
}

// TestCheckWrongAccount: a check that would look at another account than
// the plan declares finds only that, blocking.
func TestCheckWrongAccount(t *testing.T) {
	e := newEnv(t, "ready.yaml", "ready-plan.yaml")
	e.file.Targets[0].Account = "999999999999"
	cfg := e.config("shop")
	cfg.Store = nil
	fs, err := readiness.Check(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Check != readiness.CheckAccount || fs[0].Severity != ripcord.SeverityBlocking ||
		!strings.Contains(fs[0].Message, "999999999999") {
		t.Fatalf("findings: %+v", fs)
	}
}

// TestStalenessAfterDrill drills the plan through the engine, then checks
// that the drill recorded its servers' launch configurations, that the
// plan is fresh, and that it turns stale when a launch configuration
// changes and when the drill grows older than drillEvery.
func TestStalenessAfterDrill(t *testing.T) {
	e := newEnv(t, "ready.yaml", "ready-plan.yaml")
	ctx := context.Background()
	eng := engine.New(engine.Config{Store: e.store, Targets: map[string]ripcord.DRS{"dr": e.drs}, Clock: e.clock,
		OwnerGone: func(ripcord.LeaseOwner) bool { return true }})
	begun, err := eng.Begin(ctx, engine.BeginRequest{File: e.file, Plan: "shop", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	s, err := eng.Run(ctx, begun.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != ripcord.ExecSucceeded {
		t.Fatalf("drill %s: %s", s.State, s.Reason)
	}
	if len(s.LaunchConfigs) != 2 || s.LaunchConfigsError != "" {
		t.Fatalf("launch configurations recorded: %v (%s)", s.LaunchConfigs, s.LaunchConfigsError)
	}
	last, err := readiness.LastGoodDrill(ctx, e.store, "shop")
	if err != nil || last == nil || last.ID != begun.ID {
		t.Fatalf("last good drill %+v, %v", last, err)
	}

	rep, err := readiness.Run(ctx, e.config("shop"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Staleness == nil || rep.Staleness.Stale || !rep.Staleness.Checked || rep.Staleness.LastDrill != begun.ID {
		t.Fatalf("staleness after a drill: %+v", rep.Staleness)
	}
	if len(rep.Findings) != 0 {
		t.Fatalf("findings after a drill: %+v", rep.Findings)
	}

	// A launch configuration changed in DRS (through the real SDK).
	sdk := awsdrs.New(awsdrs.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if _, err := sdk.UpdateLaunchConfiguration(ctx, &awsdrs.UpdateLaunchConfigurationInput{
		SourceServerID: aws.String("s-0000000000000b002"), CopyTags: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	rep, err = readiness.Run(ctx, e.config("shop"))
	if err != nil {
		t.Fatal(err)
	}
	if st := rep.Staleness; !st.Stale || len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], "launch configuration of dr/s-0000000000000b002 changed") {
		t.Fatalf("staleness after a launch configuration changed: %+v", st)
	}
	if len(find(rep.Findings, readiness.CheckStale, "")) != 1 {
		t.Fatalf("no stale finding: %+v", rep.Findings)
	}

	// From the store alone: fresh until drillEvery (720h) has passed.
	st, err := readiness.StoreStaleness(ctx, e.store, "shop", e.clock.Now())
	if err != nil || st.Stale || st.Checked {
		t.Fatalf("store staleness: %+v, %v", st, err)
	}
	e.clock.Advance(721 * time.Hour)
	st, err = readiness.StoreStaleness(ctx, e.store, "shop", e.clock.Now())
	if err != nil || !st.Stale || len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], "more than drillEvery (30d)") {
		t.Fatalf("store staleness past drillEvery: %+v, %v", st, err)
	}

	// Through a cache, the drill's log is read once while it does not
	// change, and again once it does (its cleanup is asked for).
	var cache readiness.DrillCache
	cs := &countingStore{Store: e.store}
	for range 3 {
		if d, err := cache.LastGoodDrill(ctx, cs, "shop"); err != nil || d == nil || d.ID != begun.ID || len(d.Fingerprints) != 2 {
			t.Fatalf("cached last good drill %+v, %v", d, err)
		}
	}
	if n := cs.events.Load(); n != 1 {
		t.Errorf("the drill's log was read %d times for three looks; want once", n)
	}
	if err := eng.Cleanup(ctx, begun.ID, "tester"); err != nil {
		t.Fatal(err)
	}
	if st, err := cache.StoreStaleness(ctx, cs, "shop", e.clock.Now()); err != nil || st.LastDrill != begun.ID {
		t.Fatalf("cached store staleness %+v, %v", st, err)
	}
	if n := cs.events.Load(); n != 2 {
		t.Errorf("the drill's log was read %d times after it grew; want twice", n)
	}
}

// countingStore counts the reads of execution logs.
type countingStore struct {
	ripcord.Store
	events atomic.Int32
}

func (c *countingStore) Events(ctx context.Context, id string, after int64, limit int) ([]ripcord.Event, error) {
	c.events.Add(1)
	return c.Store.Events(ctx, id, after, limit)
}

// TestAssess covers each reason a plan is stale, and a fresh one.
func TestAssess(t *testing.T) {
	end := t0
	drill := &readiness.Drill{ID: "d1", PlanHash: "aaaa", Ended: end, Servers: []string{"dr/s-1", "dr/s-2"},
		Fingerprints: map[string]string{"dr/s-1": "f1", "dr/s-2": "f2"}}
	fresh := readiness.Current{PlanHash: "aaaa", Checked: true, Servers: []string{"dr/s-1", "dr/s-2"},
		Fingerprints: map[string]string{"dr/s-1": "f1", "dr/s-2": "f2"}}
	now := end.Add(24 * time.Hour)
	for _, tc := range []struct {
		name  string
		last  *readiness.Drill
		cur   func(c *readiness.Current)
		every time.Duration
		want  string // "" : not stale
	}{
		{"fresh", drill, nil, 48 * time.Hour, ""},
		{"never drilled", nil, nil, 0, "never drilled successfully"},
		{"version", drill, func(c *readiness.Current) { c.PlanHash = "bbbb" }, 0, "the plan changed since drill d1 (version aaaa, now bbbb)"},
		{"membership", drill, func(c *readiness.Current) { c.Servers = []string{"dr/s-1", "dr/s-3"}; c.Fingerprints["dr/s-3"] = "f3" }, 0,
			"the plan's servers changed since drill d1: now also dr/s-3; no longer dr/s-2"},
		{"launch configuration", drill, func(c *readiness.Current) { c.Fingerprints["dr/s-2"] = "f2b" }, 0,
			"the launch configuration of dr/s-2 changed since drill d1"},
		{"no fingerprints recorded", &readiness.Drill{ID: "d0", PlanHash: "aaaa", Ended: end, Servers: drill.Servers}, nil, 0,
			"drill d0 recorded no launch configurations"},
		{"age", drill, nil, 12 * time.Hour, "more than drillEvery (12h0m0s)"},
		{"unchecked ignores DRS", drill, func(c *readiness.Current) { c.Checked = false; c.Fingerprints["dr/s-2"] = "x" }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := fresh
			cur.Fingerprints = map[string]string{"dr/s-1": "f1", "dr/s-2": "f2"}
			if tc.cur != nil {
				tc.cur(&cur)
			}
			st := readiness.Assess(tc.last, cur, tc.every, now)
			if tc.want == "" {
				if st.Stale || len(st.Reasons) > 0 {
					t.Fatalf("stale: %+v", st)
				}
				return
			}
			if !st.Stale || len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], tc.want) {
				t.Fatalf("got %+v, want one reason containing %q", st, tc.want)
			}
		})
	}
}
