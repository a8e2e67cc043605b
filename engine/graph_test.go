package engine_test

import (
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestWaitStepBetweenWaves: a two-minute wait between the database and app
// waves; in the model, the app wave's job is created at least two minutes
// after the last database server was LAUNCHED, and no later than the wait
// plus one poll (the wait is a deadline, not a poll-and-see).
func TestWaitStepBetweenWaves(t *testing.T) {
	e := newEnv(t, nil)
	eng := e.engineWith(nil)
	e.start(eng, "exec-w", spec(ripcord.FailureStop,
		launchStep("database", nil, db1, db2),
		engine.SpecStep{Name: "settle", Kind: ripcord.StepWait, After: []string{"database"}, Duration: 2 * time.Minute},
		launchStep("app", []string{"settle"}, app1, app2),
	))
	s := e.run(eng, "exec-w")
	wantState(t, s, ripcord.ExecSucceeded)

	dbDone := e.lastFinished(db1, db2)
	appJobs := e.jobsOf(app1)
	if len(appJobs) != 1 || len(appJobs[0].Servers) != 2 {
		t.Fatalf("app wave: %d jobs for app1", len(appJobs))
	}
	gap := appJobs[0].Created.Sub(dbDone)
	settle := s.Steps["settle"]
	t.Logf("database done %s; wait %s..%s; app job created %s after the database wave",
		dbDone.Format("15:04:05"), settle.Started.Format("15:04:05"), settle.Ended.Format("15:04:05"), gap)
	if gap < 2*time.Minute {
		t.Errorf("app job created %s after the database wave finished; want at least 2m", gap)
	}
	if gap > 2*time.Minute+30*time.Second {
		t.Errorf("app job created %s after the database wave finished; want 2m plus at most one poll (30s)", gap)
	}
	if d := settle.Ended.Sub(settle.Started); d != 2*time.Minute {
		t.Errorf("the wait lasted %s, want exactly 2m", d)
	}
	if !appJobs[0].Created.Equal(settle.Ended) {
		t.Errorf("app job created %s, wait ended %s: the next wave should start at once", appJobs[0].Created, settle.Ended)
	}
}

// TestDependencyGraph: app-a and app-b both depend only on the database;
// web depends on both. The two app steps start together as soon as the
// database wave is done; web waits for the slower of them.
func TestDependencyGraph(t *testing.T) {
	e := newEnv(t, nil)
	const minPoll = 5 * time.Second
	eng := e.engineWith(func(c *engine.Config) { c.MinPoll = minPoll })
	e.start(eng, "exec-g", spec(ripcord.FailureStop,
		launchStep("database", nil, db1, db2),
		launchStep("app-a", []string{"database"}, app1),
		launchStep("app-b", []string{"database"}, app2),
		launchStep("web", []string{"app-a", "app-b"}, web1, web2),
	))
	s := e.run(eng, "exec-g")
	wantState(t, s, ripcord.ExecSucceeded)

	dbDone := e.lastFinished(db1, db2)
	a, b := e.jobsOf(app1), e.jobsOf(app2)
	if len(a) != 1 || len(b) != 1 || a[0].JobID == b[0].JobID {
		t.Fatalf("app-a and app-b: %d and %d jobs; want one each, separate", len(a), len(b))
	}
	skew := a[0].Created.Sub(b[0].Created).Abs()
	t.Logf("database done %s; app-a job +%s, app-b job +%s (skew %s)",
		dbDone.Format("15:04:05"), a[0].Created.Sub(dbDone), b[0].Created.Sub(dbDone), skew)
	if skew > minPoll {
		t.Errorf("app-a and app-b jobs created %s apart; want within one poll (%s)", skew, minPoll)
	}
	for _, j := range [][]string{{app1, a[0].JobID}, {app2, b[0].JobID}} {
		jobs := e.jobsOf(j[0])
		if jobs[0].Created.Before(dbDone) {
			t.Errorf("job %s created before the database wave was done", j[1])
		}
	}
	appsDone := e.lastFinished(app1, app2)
	for _, id := range []string{web1, web2} {
		jobs := e.jobsOf(id)
		if len(jobs) != 1 || jobs[0].Created.Before(appsDone) {
			t.Errorf("web server %s: %d jobs; want one created after both app steps (%s)", id, len(jobs), appsDone)
		}
	}
}
