package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestPauseDoesNotCountAgainstConflictDeadline: a step blocked by another
// job is paused for longer than its conflict deadline. On resume its
// blocked server is still waited for (the pause did not use up the
// deadline) and is launched when the other job ends.
func TestPauseDoesNotCountAgainstConflictDeadline(t *testing.T) {
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Regions[0].Jobs = nil // no lingering job: only the hold below blocks
	e := newEnv(t, sc)
	start := e.clock.Now()
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultHoldServers, Servers: []string{db1}, For: drssim.Duration(22 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	eng := e.engineWith(func(c *engine.Config) {
		c.OnChange = once(t, func(s *engine.State) bool { return s.Steps["database"].Blockers[db1] != "" }, func() error {
			return engine.New(engine.Config{Store: e.store, Clock: e.clock}).Pause(ctx, "exec-pd", "alice")
		})
	})
	sp := spec(ripcord.FailureStop, launchStep("database", nil, db1, db2))
	sp.Settings.ConflictDeadline = 5 * time.Minute
	e.start(eng, "exec-pd", sp)
	s := e.run(eng, "exec-pd")
	wantState(t, s, ripcord.ExecPaused)
	if got := s.Steps["database"].Servers[db1].Status; got != "PENDING" {
		t.Fatalf("db1 is %s during the pause, want PENDING (blocked)", got)
	}
	// Twenty minutes later, well past the 5m deadline counted from the
	// step's start, a person resumes.
	e.clock.Set(start.Add(20 * time.Minute))
	if err := eng.Resume(ctx, "exec-pd", "alice"); err != nil {
		t.Fatal(err)
	}
	s = e.run(eng, "exec-pd")
	wantState(t, s, ripcord.ExecSucceeded)
	jobs := e.jobsOf(db1)
	if len(jobs) != 1 || jobs[0].Created.Before(start.Add(22*time.Minute)) {
		t.Fatalf("db1 jobs: %+v; want one, created after the hold ended at +22m", jobs)
	}
}
