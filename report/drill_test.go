package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/report"
	"github.com/ripcord-dr/ripcord/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/drill-events.json and the golden reports")

// The three-tier scenario's servers.
const (
	db1  = "s-3c1730a9e0771ea14"
	db2  = "s-3d75cdc0d9a28a725"
	app1 = "s-3afa164776f93ce4f"
	app2 = "s-3c63bb8be30d7d071"
	web1 = "s-3578f52ef3bdd58b4"
	web2 = "s-3b9401c1cd270a7a8" // optional in testdata/three-tier-optional.yaml
)

var drillStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const (
	minPoll = 5 * time.Second
	maxPoll = 30 * time.Second
	failMsg = "insufficient capacity for the instance type"
)

// drill is a recorded three-tier drill and the simulator that ran it.
type drill struct {
	id     string
	events []ripcord.Event
	sim    *drssim.Sim
	now    time.Time
}

// runDrill runs testdata/three-tier-optional.yaml as a drill through the
// engine, the real AWS SDK for Go and the simulator over HTTP, on the
// simulator's manual clock: alice pauses it before it starts and schedules
// its cleanup ten minutes after its end, bob resumes it; the optional web
// server's launch fails (the simulator's fault injection); the drill
// succeeds with exceptions and is cleaned up when the cleanup comes due.
func runDrill(t *testing.T) drill {
	t.Helper()
	ctx := t.Context()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1 // the token bucket counts real seconds
	clock := drssim.NewManualClock(drillStart)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := drs.New(ctx, drs.Config{Region: "us-east-1", Endpoint: srv.URL, STSEndpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDREPORT", "secret", ""), RateLimit: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	src, err := os.ReadFile("testdata/three-tier-optional.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file, err := plan.Decode("three-tier-optional.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	one, err := file.Extract("orders")
	if err != nil {
		t.Fatal(err)
	}
	resolved, _, err := engine.ResolveServers(ctx, one, "orders", map[string]ripcord.DRS{"dr": client})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := engine.BuildSpec(one, "orders", ripcord.ModeDrill, resolved)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: "orders", Source: src, Created: drillStart}); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: store, Targets: map[string]ripcord.DRS{"dr": client}, Clock: clock, Actor: "ripcord",
		Seed: 1, Logger: slog.New(slog.DiscardHandler), MinPoll: minPoll, Poll: maxPoll,
		Owner: ripcord.LeaseOwner{Host: "dr-runner-1", PID: 4242, Started: drillStart}})
	const id = "report-1"
	if err := eng.StartAs(ctx, id, spec, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddFault(drssim.Fault{Kind: drssim.FaultFailServer, Servers: []string{web2}, Stage: "launch", Message: failMsg}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	run := func(want ripcord.ExecState) {
		t.Helper()
		s, err := eng.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.State != want {
			t.Fatalf("execution %s is %s, want %s (%s)", id, s.State, want, s.Reason)
		}
	}
	must(eng.ScheduleCleanup(ctx, id, "alice", 10*time.Minute))
	must(eng.Pause(ctx, id, "alice"))
	run(ripcord.ExecPaused)
	clock.Advance(time.Minute)
	must(eng.Resume(ctx, id, "bob"))
	run(ripcord.ExecSucceeded) // through the scheduled cleanup
	events, err := store.Events(ctx, id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		must(enc.Encode(events))
		must(os.WriteFile(filepath.Join("testdata", "drill-events.json"), b.Bytes(), 0o644))
	}
	return drill{id: id, events: events, sim: sim, now: clock.Now()}
}

// TestReportAgainstSimulator: a three-tier drill in which the one optional
// server fails to launch, then cleanup; the JSON report, decoded, is
// checked field by field against the simulator's own record: job IDs and
// creation times, launch times, instances and the point in time of their
// data, the failed server and its cause, the RTO, the cleanup verified.
func TestReportAgainstSimulator(t *testing.T) {
	d := runDrill(t)
	built, err := report.FromEvents(d.id, d.events, d.now)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := built.Render(&out, report.FormatJSON); err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("the JSON report does not decode: %v\n%s", err, out.String())
	}

	// The simulator's record: jobs this drill created, instances, logs.
	model := d.sim.State(drssim.StateFilter{})
	if len(model.Regions) != 1 {
		t.Fatalf("%d regions in the simulator", len(model.Regions))
	}
	region := model.Regions[0]
	type simLaunch struct {
		job drssim.JobView
		srv drssim.ServerTimeline
	}
	launches := map[string][]simLaunch{} // server -> its launches, oldest first
	var terminateJobs []string
	for _, j := range region.Jobs {
		if j.Foreign {
			continue
		}
		if j.Type == "TERMINATE" {
			terminateJobs = append(terminateJobs, j.JobID)
			continue
		}
		for _, s := range j.Servers {
			launches[s.SourceServerID] = append(launches[s.SourceServerID], simLaunch{j, s})
		}
	}
	instances := map[string]drssim.InstanceView{}
	for _, in := range region.Instances {
		instances[in.RecoveryInstanceID] = in
	}

	if r.Execution != d.id || r.Plan != "orders" || r.Mode != ripcord.ModeDrill || r.State != ripcord.ExecSucceeded ||
		r.Verdict != engine.VerdictExceptions || r.StartedBy != "carol" || !r.StartedAt.Equal(drillStart) || len(r.PlanHash) != 64 {
		t.Errorf("header: %s %s %s %s %q by %q at %s hash %q", r.Execution, r.Plan, r.Mode, r.State, r.Verdict, r.StartedBy, r.StartedAt, r.PlanHash)
	}
	servers := map[string]report.Server{}
	for _, st := range r.Steps {
		for _, sv := range st.Servers {
			servers[sv.ID] = sv
		}
	}
	if len(servers) != 6 {
		t.Fatalf("the report has %d servers, want the plan's 6", len(servers))
	}
	var lastCritical time.Time
	var lastCriticalID string
	for id, sv := range servers {
		ls := launches[id]
		if len(ls) != 1 || len(sv.Attempts) != 1 {
			t.Errorf("server %s: %d launches in the simulator, %d attempts in the report; want one each", id, len(ls), len(sv.Attempts))
			continue
		}
		l := ls[0]
		if sv.JobID != l.job.JobID || sv.Attempts[0].JobID != l.job.JobID {
			t.Errorf("server %s: job %s in the report, %s in the simulator", id, sv.JobID, l.job.JobID)
		}
		if sv.JobCreatedAt == nil || !sv.JobCreatedAt.Equal(l.job.Created) {
			t.Errorf("server %s: job created %v in the report, %s in the simulator", id, sv.JobCreatedAt, l.job.Created)
		}
		if sv.RequestedAt == nil || sv.RequestedAt.After(l.job.Created) {
			t.Errorf("server %s: requested %v, after its job was created (%s)", id, sv.RequestedAt, l.job.Created)
		}
		if sv.InstanceID != l.srv.RecoveryInstanceID || sv.InstanceID == "" {
			t.Errorf("server %s: instance %q in the report, %q in the simulator", id, sv.InstanceID, l.srv.RecoveryInstanceID)
		}
		if sv.HealthyAt != nil {
			t.Errorf("server %s: healthyAt %v before health checks exist", id, sv.HealthyAt)
		}
		if id == web2 {
			continue // below
		}
		if sv.Status != "LAUNCHED" || l.srv.LaunchStatus != "LAUNCHED" {
			t.Errorf("server %s: %s in the report, %s in the simulator", id, sv.Status, l.srv.LaunchStatus)
		}
		// ripcord sees LAUNCHED at its next look at DRS: at or after the
		// simulator's launch, within its longest poll interval.
		if sv.LaunchedAt == nil || sv.LaunchedAt.Before(l.srv.Finished) || sv.LaunchedAt.Sub(l.srv.Finished) > maxPoll {
			t.Errorf("server %s: launched %v in the report; the simulator launched it at %s (poll at most %s)", id, sv.LaunchedAt, l.srv.Finished, maxPoll)
		}
		in := instances[sv.InstanceID]
		pit, err := time.Parse(time.RFC3339Nano, in.PointInTimeSnapshotDateTime)
		if err != nil {
			t.Fatalf("instance %s: point in time %q: %v", sv.InstanceID, in.PointInTimeSnapshotDateTime, err)
		}
		if sv.PointInTime == nil || !sv.PointInTime.Equal(pit) || sv.Attempts[0].PointInTime == nil || !sv.Attempts[0].PointInTime.Equal(pit) {
			t.Errorf("server %s: data from %v in the report, %s in the simulator", id, sv.PointInTime, pit)
		}
		if want := drillStart.Sub(pit).Seconds(); sv.RPOSeconds == nil || *sv.RPOSeconds != want {
			t.Errorf("server %s: RPO %v s, want start minus point in time = %v s", id, sv.RPOSeconds, want)
		}
		if sv.LaunchedAt != nil && sv.LaunchedAt.After(lastCritical) {
			lastCritical, lastCriticalID = *sv.LaunchedAt, id
		}
	}

	// The failed optional server: its cause from DRS's job log, and the
	// remedy: the step went on without it.
	w2 := servers[web2]
	l := launches[web2][0]
	if !w2.Optional || w2.Status != "FAILED" || l.srv.LaunchStatus != "FAILED" || w2.LaunchedAt != nil || w2.PointInTime != nil {
		t.Errorf("server %s: optional %v, %s (simulator: %s), launched %v, data from %v", web2, w2.Optional, w2.Status, l.srv.LaunchStatus, w2.LaunchedAt, w2.PointInTime)
	}
	var rawError string
	for _, li := range l.job.Log {
		if li.Event == "LAUNCH_FAILED" && li.EventData != nil && li.EventData.SourceServerID == web2 {
			rawError = li.EventData.RawError
		}
	}
	if rawError != failMsg {
		t.Fatalf("the simulator's job log has LAUNCH_FAILED %q for %s", rawError, web2)
	}
	if len(r.Failures) != 1 {
		t.Fatalf("failures: %+v; want the optional server's one", r.Failures)
	}
	f := r.Failures[0]
	if f.Server != web2 || f.Step != "web" || !f.Optional || f.Status != "FAILED" || f.JobID != l.job.JobID ||
		!strings.Contains(f.Cause, "LAUNCH_FAILED") || !strings.Contains(f.Cause, rawError) || f.Remedy != "continue" ||
		f.At.Before(l.srv.Finished) || f.At.Sub(l.srv.Finished) > maxPoll {
		t.Errorf("failure: %+v; the simulator failed %s in job %s at %s: %s", f, web2, l.job.JobID, l.srv.Finished, rawError)
	}
	if !slices.Contains(r.Exceptions, "optional server "+web2+" (step web): "+f.Cause) {
		t.Errorf("exceptions %q do not name the failed optional server", r.Exceptions)
	}

	// RTO: the start to the last critical server launched; the optional
	// server does not count.
	if r.RTO.MeasuredSeconds == nil || *r.RTO.MeasuredSeconds != lastCritical.Sub(drillStart).Seconds() ||
		r.RTO.LastCriticalServer != lastCriticalID || r.RTO.LastCriticalAt == nil || !r.RTO.LastCriticalAt.Equal(lastCritical) {
		t.Errorf("RTO %+v; want %s to %s launched at %s", r.RTO, drillStart, lastCriticalID, lastCritical)
	}
	if r.RTO.TargetSeconds == nil || *r.RTO.TargetSeconds != 45*60 || r.RTO.Met == nil || *r.RTO.Met != (lastCritical.Sub(drillStart) <= 45*time.Minute) ||
		r.RTO.HealthySeconds != nil || len(r.RTO.NotLaunched) != 0 {
		t.Errorf("RTO target and verdict: %+v", r.RTO)
	}
	simLast := launches[lastCriticalID][0].srv.Finished
	if lastCritical.Sub(simLast) > maxPoll || lastCritical.Before(simLast) {
		t.Errorf("RTO ends at %s; the simulator launched %s at %s", lastCritical, lastCriticalID, simLast)
	}
	if r.RPO.TargetSeconds == nil || *r.RPO.TargetSeconds != 5*60 || r.RPO.WorstSeconds == nil || len(r.RPO.Unknown) != 0 {
		t.Errorf("RPO: %+v", r.RPO)
	}

	// Cleanup: every launched instance terminated by ripcord's TERMINATE
	// job and gone in the simulator; the failed launch's instance (DRS
	// terminated it when the launch failed) already gone.
	c := r.Cleanup
	if c == nil || c.Status != "verified" || c.VerifiedAt == nil {
		t.Fatalf("cleanup: %+v", c)
	}
	if !slices.Equal(c.TerminateJobs, terminateJobs) || len(terminateJobs) != 1 {
		t.Errorf("cleanup jobs %v in the report, %v in the simulator", c.TerminateJobs, terminateJobs)
	}
	var wantGone []string
	for id, sv := range servers {
		in := instances[sv.InstanceID]
		if in.Terminated.IsZero() || !in.Deleted && in.Ec2InstanceState != "TERMINATED" {
			t.Errorf("server %s: instance %s is not terminated in the simulator (%s)", id, sv.InstanceID, in.Ec2InstanceState)
		}
		if id != web2 {
			wantGone = append(wantGone, sv.InstanceID)
			if in.Terminated.After(*c.VerifiedAt) {
				t.Errorf("instance %s terminated at %s, after the cleanup was verified (%s)", sv.InstanceID, in.Terminated, c.VerifiedAt)
			}
		}
	}
	slices.Sort(wantGone)
	if !slices.Equal(c.Terminated, wantGone) || !slices.Equal(c.AlreadyGone, []string{w2.InstanceID}) || len(c.NotOurs) != 0 {
		t.Errorf("cleanup terminated %v, already gone %v, not ours %v; want %v, [%s], none", c.Terminated, c.AlreadyGone, c.NotOurs, wantGone, w2.InstanceID)
	}
	// Instance-minutes: launch to the verified termination, each; their
	// sum is the engine's figure.
	total := 0.0
	for _, in := range r.Instances {
		sv := servers[in.Server]
		if in.Until != "terminated" || in.Minutes == nil || *in.Minutes != c.VerifiedAt.Sub(*sv.LaunchedAt).Minutes() {
			t.Errorf("instance %+v; want terminated, %v minutes", in, c.VerifiedAt.Sub(*sv.LaunchedAt).Minutes())
			continue
		}
		total += *in.Minutes
	}
	if len(r.Instances) != 5 || r.InstanceMinutes != total || c.InstanceMinutes != total {
		t.Errorf("%d instances, %v instance-minutes (engine: %v); want 5, %v", len(r.Instances), r.InstanceMinutes, c.InstanceMinutes, total)
	}

	// Control actions, with their authors.
	var got []string
	for _, x := range r.Controls {
		got = append(got, x.Action+" "+x.By+" "+map[bool]string{true: "auto", false: "person"}[x.Automatic])
	}
	want := []string{"cleanup-scheduled alice person", "pause alice person", "resume bob person", "cleanup ripcord auto"}
	if !slices.Equal(got, want) {
		t.Errorf("controls %q, want %q", got, want)
	}
}
