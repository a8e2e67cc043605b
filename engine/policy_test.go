package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// failConversion makes server's next launch fail at conversion.
func failConversion(t *testing.T, e *env, server string) {
	t.Helper()
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultFailServer, Servers: []string{server}, Stage: "conversion"}); err != nil {
		t.Fatal(err)
	}
}

// chain is the three-tier plan as a chain of waves.
func chain(policy ripcord.FailurePolicy) engine.Spec {
	return spec(policy,
		launchStep("database", nil, db1, db2),
		launchStep("app", []string{"database"}, app1, app2),
		launchStep("web", []string{"app"}, web1, web2),
	)
}

// checkConversionFailure asserts what the step and the model say about db1's
// failed conversion: the step failed naming the server, the job and the job
// log's reason; db1 is FAILED in its one job and db2 LAUNCHED in the same.
func checkConversionFailure(t *testing.T, e *env, s *engine.State) drssim.JobView {
	t.Helper()
	jobs := e.jobsOf(db1)
	if len(jobs) != 1 {
		t.Fatalf("db1 is in %d LAUNCH jobs, want 1", len(jobs))
	}
	job := jobs[0]
	if got := serverIn(job, db1).LaunchStatus; got != "FAILED" {
		t.Errorf("db1 in job %s: %s, want FAILED", job.JobID, got)
	}
	if got := serverIn(job, db2).LaunchStatus; got != "LAUNCHED" {
		t.Errorf("db2 in job %s: %s, want LAUNCHED", job.JobID, got)
	}
	st := s.Steps["database"]
	for _, want := range []string{db1, "CONVERSION_FAIL", job.JobID, "unable to install drivers"} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("step database reason %q does not mention %q", st.Reason, want)
		}
	}
	if strings.Contains(st.Reason, db2) {
		t.Errorf("step database reason %q names db2, which launched", st.Reason)
	}
	return job
}

func TestCriticalFailurePolicyStop(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	failConversion(t, e, db1)
	eng := e.engineWith(nil)
	e.start(eng, "exec-stop", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-stop")
	wantState(t, s, ripcord.ExecFailed)
	if st := s.Steps["database"]; st.Status != "failed" {
		t.Fatalf("step database: %s", st.Status)
	}
	checkConversionFailure(t, e, s)
	if !strings.Contains(s.Reason, "database") || !strings.Contains(s.Reason, db1) {
		t.Errorf("execution reason %q does not name the step and the server", s.Reason)
	}
	for _, name := range []string{"app", "web"} {
		if st := s.Steps[name]; st.Status != "waiting" || !st.Started.IsZero() {
			t.Errorf("step %s is %s (started %s); no step may start after a failure under stop", name, st.Status, st.Started)
		}
	}
	for _, id := range []string{app1, app2, web1, web2} {
		if n := len(e.jobsOf(id)); n != 0 {
			t.Errorf("server %s of a later step is in %d LAUNCH jobs, want 0", id, n)
		}
	}
	if evs := evData[evStep](t, e.events("exec-stop"), engine.EvStepStarted); len(evs) != 1 {
		t.Errorf("%d steps started, want 1 (database)", len(evs))
	}
}

func TestCriticalFailurePolicyPauseThenRetry(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	failConversion(t, e, db1)
	eng := e.engineWith(nil)
	ctx := context.Background()
	e.start(eng, "exec-pause", chain(ripcord.FailurePause))
	s := e.run(eng, "exec-pause")

	// Paused for a person, with nothing in flight and nothing later started.
	wantState(t, s, ripcord.ExecPaused)
	if s.PausedFor != "database" {
		t.Errorf("paused for %q, want database", s.PausedFor)
	}
	first := checkConversionFailure(t, e, s)
	if first.Status != "COMPLETED" {
		t.Errorf("job %s is %s when the execution paused; want COMPLETED (nothing in flight)", first.JobID, first.Status)
	}
	if rv := e.region(); rv.ActiveJobs != 0 {
		t.Errorf("%d jobs active in DRS while paused, want 0", rv.ActiveJobs)
	}
	for _, id := range []string{app1, app2, web1, web2} {
		if n := len(e.jobsOf(id)); n != 0 {
			t.Errorf("server %s of a later step is in %d LAUNCH jobs while paused", id, n)
		}
	}
	if x, err := e.store.Execution(ctx, "exec-pause"); err != nil || x.State != ripcord.ExecPaused {
		t.Errorf("listing: %+v, %v; want paused", x.State, err)
	}

	// Retry the failed step: the pause was for it, so the execution goes
	// on, and only the failed server is launched again, in a new job.
	if err := eng.Retry(ctx, "exec-pause", "alice", "database"); err != nil {
		t.Fatal(err)
	}
	if x, err := e.store.Execution(ctx, "exec-pause"); err != nil || x.State != ripcord.ExecRunning {
		t.Errorf("listing after retry: %+v, %v; want running", x.State, err)
	}
	retryAt := e.clock.Now()
	s = e.run(eng, "exec-pause")
	wantState(t, s, ripcord.ExecSucceeded)

	jobs := e.jobsOf(db1)
	if len(jobs) != 2 {
		t.Fatalf("db1 is in %d LAUNCH jobs after the retry, want 2", len(jobs))
	}
	again := jobs[1]
	if len(again.Servers) != 1 || again.Servers[0].SourceServerID != db1 {
		t.Errorf("retry job %s holds %v, want only db1", again.JobID, again.Servers)
	}
	if again.Created.Before(retryAt) {
		t.Errorf("retry job created at %s, before the retry was asked at %s", again.Created, retryAt)
	}
	if got := serverIn(again, db1).LaunchStatus; got != "LAUNCHED" {
		t.Errorf("db1 in retry job: %s", got)
	}
	if n := len(e.jobsOf(db2)); n != 1 {
		t.Errorf("db2 (already launched) is in %d LAUNCH jobs, want 1", n)
	}
	// The later waves ran, each after the database wave was complete.
	dbDone := e.lastFinished(db1, db2)
	for _, id := range []string{app1, app2, web1, web2} {
		jobs := e.jobsOf(id)
		if len(jobs) != 1 {
			t.Fatalf("server %s is in %d LAUNCH jobs, want 1", id, len(jobs))
		}
		if jobs[0].Created.Before(dbDone) {
			t.Errorf("server %s launched at %s, before the database wave was done at %s", id, jobs[0].Created, dbDone)
		}
	}
	e.events("exec-pause")
}

// TestPausePolicyResumeWithoutRetry: a person may also resume a paused
// execution without retrying; the failed step then fails the execution.
func TestPausePolicyResumeWithoutRetry(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	failConversion(t, e, db1)
	eng := e.engineWith(nil)
	e.start(eng, "exec-pr", chain(ripcord.FailurePause))
	wantState(t, e.run(eng, "exec-pr"), ripcord.ExecPaused)
	if err := eng.Resume(context.Background(), "exec-pr", "bob"); err != nil {
		t.Fatal(err)
	}
	s := e.run(eng, "exec-pr")
	wantState(t, s, ripcord.ExecFailed)
	if s.Steps["app"].Status != "waiting" || len(e.jobsOf(app1)) != 0 {
		t.Errorf("app step %s after resuming a failure", s.Steps["app"].Status)
	}
}

// TestPausePolicySkipFailedStep: skipping the step the execution paused for
// lets the steps after it go on.
func TestPausePolicySkipFailedStep(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	failConversion(t, e, db1)
	eng := e.engineWith(nil)
	e.start(eng, "exec-ps", chain(ripcord.FailurePause))
	wantState(t, e.run(eng, "exec-ps"), ripcord.ExecPaused)
	if err := eng.Skip(context.Background(), "exec-ps", "carol", "database"); err != nil {
		t.Fatal(err)
	}
	s := e.run(eng, "exec-ps")
	wantState(t, s, ripcord.ExecSucceeded)
	if st := s.Steps["database"]; st.Status != "skipped" || !st.Manual {
		t.Errorf("database: %s manual=%v", st.Status, st.Manual)
	}
	for _, id := range []string{app1, app2, web1, web2} {
		if n := len(e.jobsOf(id)); n != 1 {
			t.Errorf("server %s is in %d LAUNCH jobs, want 1", id, n)
		}
	}
	if n := len(e.jobsOf(db1)); n != 1 {
		t.Errorf("db1 relaunched after its step was skipped: %d jobs", n)
	}
}

func TestCriticalFailurePolicyContinue(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	failConversion(t, e, db1)
	eng := e.engineWith(nil)
	// app depends on database; web depends on nothing.
	e.start(eng, "exec-cont", spec(ripcord.FailureContinue,
		launchStep("database", nil, db1, db2),
		launchStep("app", []string{"database"}, app1, app2),
		launchStep("web", nil, web1, web2),
	))
	s := e.run(eng, "exec-cont")
	wantState(t, s, ripcord.ExecFailed)
	checkConversionFailure(t, e, s)
	if st := s.Steps["app"]; st.Status != "skipped" || !strings.Contains(st.Reason, "database") {
		t.Errorf("app: %s (%s); want skipped because database did not succeed", st.Status, st.Reason)
	}
	if st := s.Steps["web"]; st.Status != "succeeded" {
		t.Errorf("web: %s (%s); want succeeded (it does not depend on database)", st.Status, st.Reason)
	}
	for _, id := range []string{app1, app2} {
		if n := len(e.jobsOf(id)); n != 0 {
			t.Errorf("server %s of a skipped step is in %d LAUNCH jobs", id, n)
		}
	}
	for _, id := range []string{web1, web2} {
		jobs := e.jobsOf(id)
		if len(jobs) != 1 || serverIn(jobs[0], id).LaunchStatus != "LAUNCHED" {
			t.Errorf("independent server %s: %d jobs, want 1 LAUNCHED", id, len(jobs))
		}
	}
	if !strings.Contains(s.Reason, "database") {
		t.Errorf("execution reason %q does not name the failed step", s.Reason)
	}
}

func TestOptionalServerFailure(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	failConversion(t, e, db2)
	eng := e.engineWith(nil)
	sp := chain(ripcord.FailureStop)
	sp.Steps[0].Servers[1].Optional = true // db2
	e.start(eng, "exec-opt", sp)
	s := e.run(eng, "exec-opt")
	wantState(t, s, ripcord.ExecSucceeded)
	if st := s.Steps["database"]; st.Status != "succeeded" {
		t.Errorf("database: %s (%s)", st.Status, st.Reason)
	}
	sv := s.Steps["database"].Servers[db2]
	if sv.Status != "FAILED" || !strings.Contains(sv.Reason, "CONVERSION_FAIL") {
		t.Errorf("optional db2: %s (%s); want FAILED with the job log's reason", sv.Status, sv.Reason)
	}
	var reported bool
	for _, d := range evData[evServer](t, e.events("exec-opt"), engine.EvServerStatus) {
		if d.Server == db2 && d.Status == "FAILED" && strings.Contains(d.Reason, "unable to install drivers") && d.JobID != "" {
			reported = true
		}
	}
	if !reported {
		t.Error("no ServerStatus FAILED event with the reason for the optional server")
	}
	jobs := e.jobsOf(db2)
	if len(jobs) != 1 || serverIn(jobs[0], db2).LaunchStatus != "FAILED" {
		t.Errorf("db2 in the model: %d jobs, want 1 with FAILED", len(jobs))
	}
	for _, id := range []string{db1, app1, app2, web1, web2} {
		jobs := e.jobsOf(id)
		if len(jobs) != 1 || serverIn(jobs[0], id).LaunchStatus != "LAUNCHED" {
			t.Errorf("server %s: %d jobs, want 1 LAUNCHED", id, len(jobs))
		}
	}
}
