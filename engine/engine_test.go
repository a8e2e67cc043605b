package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// checkThreeTier asserts on the simulator's model, not on ripcord's log: 6
// of 6 launched, exactly one LAUNCH job per wave, and each wave's job
// created only after every server of the previous wave was LAUNCHED.
func checkThreeTier(t *testing.T, e *env) {
	t.Helper()
	byServer := e.launchJobsOf()
	waves := [][]string{
		{"s-3c1730a9e0771ea14", "s-3d75cdc0d9a28a725"},
		{"s-3afa164776f93ce4f", "s-3c63bb8be30d7d071"},
		{"s-3578f52ef3bdd58b4", "s-3b9401c1cd270a7a8"},
	}
	var prevDone time.Time
	for i, wave := range waves {
		var job drssim.JobView
		for _, id := range wave {
			jobs := byServer[id]
			if len(jobs) != 1 {
				t.Fatalf("server %s is in %d LAUNCH jobs, want exactly 1", id, len(jobs))
			}
			if job.JobID != "" && jobs[0].JobID != job.JobID {
				t.Errorf("wave %d launched in more than one job: %s and %s", i, job.JobID, jobs[0].JobID)
			}
			job = jobs[0]
		}
		if len(job.Servers) != len(wave) {
			t.Errorf("wave %d job %s has %d servers, want %d", i, job.JobID, len(job.Servers), len(wave))
		}
		if job.Created.Before(prevDone) {
			t.Errorf("wave %d job %s created at %s, before the previous wave was LAUNCHED at %s", i, job.JobID, job.Created, prevDone)
		}
		for _, s := range job.Servers {
			if s.LaunchStatus != "LAUNCHED" {
				t.Errorf("server %s: %s", s.SourceServerID, s.LaunchStatus)
			}
			if s.Finished.After(prevDone) {
				prevDone = s.Finished
			}
		}
		_ = prevDone
	}
}

func TestThreeTierDrillWaitsForLingeringJob(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	eng := e.engine(engine.Hooks{})
	e.start(eng, "exec-1", threeTierSpec(ripcord.ModeDrill))
	s, err := eng.Run(context.Background(), "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	if s.State != ripcord.ExecSucceeded {
		t.Fatalf("state %s: %s", s.State, s.Reason)
	}
	checkThreeTier(t, e)
	// The lingering TERMINATE job was waited for and named, not failed on.
	var blocked bool
	for _, ev := range e.events("exec-1") {
		if ev.Type == engine.EvServersBlocked {
			blocked = true
		}
		if ev.Type == engine.EvLaunchRefused {
			t.Errorf("a launch was refused: %s", ev.Data)
		}
	}
	if !blocked {
		t.Error("no ServersBlocked event: the engine did not look at DRS's active jobs")
	}
	if got := e.sim.OperationCounts()["StartRecovery"]; got != 3 {
		t.Errorf("StartRecovery called %d times, want 3 (one per wave, no conflicts)", got)
	}
	// Cleanup terminates exactly the drill instances and verifies.
	if err := eng.Cleanup(context.Background(), "exec-1", "tester"); err != nil {
		t.Fatal(err)
	}
	s, err = eng.Run(context.Background(), "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Cleanup.Done || s.Cleanup.Instances != 6 || s.Cleanup.Minutes <= 0 {
		t.Fatalf("cleanup: %+v", s.Cleanup)
	}
	for _, in := range e.region().Instances {
		if !in.Deleted {
			t.Errorf("instance %s still in DRS", in.RecoveryInstanceID)
		}
	}
}

// TestCrashAtEachDangerousPoint stops the engine hard at each dangerous
// point and resumes it with a new engine on the same store: the execution
// finishes, every server has exactly one LAUNCH job, the log has no gaps.
func TestCrashAtEachDangerousPoint(t *testing.T) {
	points := []string{"after-intent", "after-call", "while-polling", "during-cleanup"}
	for _, point := range points {
		counts := []int{1, 2, 3} // the first, second and third time the point is reached
		if point == "during-cleanup" {
			counts = []int{1} // one TERMINATE call for six instances
		}
		for _, n := range counts {
			t.Run(fmt.Sprintf("%s-%d", point, n), func(t *testing.T) {
				t.Parallel() // its own simulator and store
				e := newEnv(t, nil)
				count := 0
				crash := func() error {
					count++
					if count == n {
						return engine.ErrCrash
					}
					return nil
				}
				var hooks engine.Hooks
				switch point {
				case "after-intent":
					hooks.AfterIntent = func(string) error { return crash() }
				case "after-call":
					hooks.AfterCall = func(string) error { return crash() }
				case "while-polling":
					hooks.AfterPoll = crash
				case "during-cleanup":
					hooks.DuringCleanup = crash
				}
				ctx := context.Background()
				eng := e.engine(hooks)
				e.start(eng, "exec-c", threeTierSpec(ripcord.ModeDrill))
				if err := eng.Cleanup(ctx, "exec-c", "tester"); err != nil {
					t.Fatal(err)
				}
				_, err := eng.Run(ctx, "exec-c")
				if !errors.Is(err, engine.ErrCrash) {
					t.Fatalf("first run: want a crash at %s #%d, got %v", point, n, err)
				}
				// A new process: new engine, reopened store.
				e.store = e.openStore()
				eng2 := e.engine(engine.Hooks{})
				s, err := eng2.Run(ctx, "exec-c")
				if err != nil {
					t.Fatal(err)
				}
				if s.State != ripcord.ExecSucceeded || !s.Cleanup.Done {
					t.Fatalf("after resume: state %s (%s), cleanup %+v", s.State, s.Reason, s.Cleanup)
				}
				checkThreeTier(t, e)
				e.events("exec-c")
			})
		}
	}
}

func TestLostResponseIsAdopted(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultDropResponse, Operation: "StartRecovery", Count: 2}); err != nil {
		t.Fatal(err)
	}
	eng := e.engine(engine.Hooks{})
	e.start(eng, "exec-l", threeTierSpec(ripcord.ModeDrill))
	s, err := eng.Run(context.Background(), "exec-l")
	if err != nil {
		t.Fatal(err)
	}
	if s.State != ripcord.ExecSucceeded {
		t.Fatalf("state %s: %s", s.State, s.Reason)
	}
	checkThreeTier(t, e)
	adopted := 0
	for _, ev := range e.events("exec-l") {
		if ev.Type == engine.EvJobAdopted {
			adopted++
		}
	}
	if adopted != 2 {
		t.Errorf("adopted %d jobs, want 2 (two lost responses)", adopted)
	}
}
