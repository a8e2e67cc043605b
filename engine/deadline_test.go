package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestHeldPastConflictDeadline: a database server held by someone else's
// job for 30 minutes, with a conflict deadline of 5: the step fails naming
// the blocking job, and DRS never got a LAUNCH job for that server.
func TestHeldPastConflictDeadline(t *testing.T) {
	e := newEnv(t, nil)
	// The scenario's lingering TERMINATE job holds every server for its
	// first minutes; let it end, then someone starts a console job on db1.
	e.clock.Advance(5 * time.Minute)
	if n := e.region().ActiveJobs; n != 0 {
		t.Fatalf("%d jobs still active after the scenario's lingering job", n)
	}
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultHoldServers, Servers: []string{db1}, For: drssim.Duration(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var holdJob drssim.JobView
	for _, j := range e.region().Jobs {
		if j.Foreign && j.Status != "COMPLETED" {
			holdJob = j
		}
	}
	if holdJob.JobID == "" {
		t.Fatal("the hold created no job")
	}

	eng := e.engineWith(nil)
	sp := chain(ripcord.FailureStop)
	sp.Settings.ConflictDeadline = 5 * time.Minute
	e.start(eng, "exec-held", sp)
	started := e.clock.Now()
	s := e.run(eng, "exec-held")
	wantState(t, s, ripcord.ExecFailed)

	st := s.Steps["database"]
	if st.Status != "failed" {
		t.Fatalf("database: %s", st.Status)
	}
	for _, want := range []string{db1, holdJob.JobID, "conflict deadline"} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("step reason %q does not mention %q", st.Reason, want)
		}
	}
	if n := len(e.jobsOf(db1)); n != 0 {
		t.Errorf("db1 is in %d LAUNCH jobs of ours, want 0: it was held the whole time", n)
	}
	// The free database server was not kept waiting for the held one.
	if jobs := e.jobsOf(db2); len(jobs) != 1 || !jobs[0].Created.Equal(started) {
		t.Errorf("db2: %d jobs; want 1, created when the step started (%s)", len(jobs), started)
	}
	// The blocker was named while waiting, and the step gave up at the
	// deadline, not at the hold's end.
	var named bool
	var gaveUp time.Time
	for _, ev := range e.events("exec-held") {
		if ev.Type == engine.EvServersBlocked && strings.Contains(string(ev.Data), holdJob.JobID) {
			named = true
		}
		if ev.Type == engine.EvServerStatus && strings.Contains(string(ev.Data), db1) && strings.Contains(string(ev.Data), "FAILED") {
			gaveUp = ev.At
		}
	}
	if !named {
		t.Error("no ServersBlocked event names the holding job")
	}
	late := gaveUp.Sub(started.Add(5 * time.Minute))
	t.Logf("db1 given up %s after the conflict deadline (the hold lasts 30m); the step failed at +%s, when db2 had launched at +%s",
		late, st.Ended.Sub(started), e.lastFinished(db2).Sub(started))
	if gaveUp.IsZero() || late < 0 || late > time.Second {
		t.Errorf("db1 given up at %s, %s after the deadline; want at the deadline", gaveUp, late)
	}
	if st.Ended.Before(e.lastFinished(db2)) {
		t.Errorf("step ended at %s, before its other server was final", st.Ended)
	}
}
