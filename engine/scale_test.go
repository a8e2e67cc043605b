package engine_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// The scale scenario's access keys, by account.
var scaleKeys = map[string]string{
	"111122223333": "AKIDSCALEACCOUNTA",
	"222233334444": "AKIDSCALEACCOUNTB",
	"333344445555": "AKIDSCALEACCOUNTC",
}

// scaleTarget names the target of an account and region.
func scaleTarget(account, region string) string { return account + "/" + region }

// TestScale3000Servers recovers 3000 servers in three steps (the tiers:
// database, then app, then web) and checks on the simulator's job timeline
// that no account and region ever had more in flight than DRS's quotas
// allow, that no StartRecovery was refused for a quota, and that every
// server was launched exactly once.
func TestScale3000Servers(t *testing.T) {
	cases := []struct {
		name     string
		accounts []string
		regions  []string
	}{
		// The scenario as it ships: 500 servers in each of 6 targets.
		{"3 accounts x 2 regions", nil, nil},
		// All 3000 in one target: each 1000-server step is twice the
		// 500-servers-in-active-jobs quota, so the quota keeper must hold
		// launches back until earlier jobs end.
		{"1 account x 1 region", []string{"111122223333"}, []string{"us-east-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // separate simulators and stores; the race detector makes each slow
			sc, err := drssim.LoadScenario("scale")
			if err != nil {
				t.Fatal(err)
			}
			sc.Generate.Servers = 3000
			if tc.accounts != nil {
				sc.Generate.Accounts, sc.Generate.Regions = tc.accounts, tc.regions
			}
			sc.Throttle.Rate = -1 // throttling is the storm tests' business
			e := newEnv(t, sc)
			rec := e.record(true)

			// One target per account and region; the steps are the tiers.
			targets := map[string]ripcord.DRS{}
			byTier := map[string][]engine.SpecServer{}
			total := 0
			for _, rv := range e.sim.State(drssim.StateFilter{}).Regions {
				if len(rv.Servers) == 0 {
					continue
				}
				name := scaleTarget(rv.Account, rv.Region)
				targets[name] = e.client(scaleKeys[rv.Account], rv.Region)
				for _, sv := range rv.Servers {
					tier := sv.Tags["Tier"]
					byTier[tier] = append(byTier[tier], engine.SpecServer{ID: sv.SourceServerID, Target: name})
					total++
				}
			}
			if total != 3000 {
				t.Fatalf("the scenario has %d servers, want 3000", total)
			}
			sp := spec(ripcord.FailureStop,
				engine.SpecStep{Name: "database", Kind: ripcord.StepLaunch, Servers: byTier["database"]},
				engine.SpecStep{Name: "app", Kind: ripcord.StepLaunch, After: []string{"database"}, Servers: byTier["app"]},
				engine.SpecStep{Name: "web", Kind: ripcord.StepLaunch, After: []string{"app"}, Servers: byTier["web"]},
			)
			sp.Settings.RTOTarget = 4 * time.Hour
			// Polling every 10 to 30 simulated seconds instead of 5 to 30
			// halves the DescribeJobs answers the simulator encodes and the
			// SDK decodes, which is most of this test's time.
			eng := e.engineWith(func(c *engine.Config) {
				c.Targets = targets
				c.MinPoll, c.Poll = 10*time.Second, 30*time.Second
			})
			e.start(eng, "exec-scale", sp)
			wall := time.Now()
			s := e.run(eng, "exec-scale")
			elapsed := time.Since(wall)
			wantState(t, s, ripcord.ExecSucceeded)

			// No quota error, seen from DRS's side and from ours.
			answers := rec.answers("StartRecovery")
			if n := answers["ServiceQuotaExceededException"]; n > 0 {
				t.Errorf("DRS answered StartRecovery with ServiceQuotaExceededException %d times", n)
			}
			evs := e.events("exec-scale")
			if refused := evData[evRefused](t, evs, engine.EvLaunchRefused); len(refused) > 0 {
				t.Errorf("%d launches refused, first: %+v", len(refused), refused[0])
			}

			// Exactly one LAUNCH job per server, LAUNCHED; quotas never
			// exceeded in any account and region.
			view := e.sim.State(drssim.StateFilter{})
			seen := map[string]int{}
			jobs := 0
			var rows []string
			for _, rv := range view.Regions {
				if len(rv.Servers) == 0 {
					continue
				}
				for _, j := range rv.Jobs {
					if j.Type != "LAUNCH" || j.Foreign {
						continue
					}
					jobs++
					for _, sv := range j.Servers {
						seen[sv.SourceServerID]++
						if sv.LaunchStatus != "LAUNCHED" {
							t.Errorf("server %s in job %s: %s", sv.SourceServerID, j.JobID, sv.LaunchStatus)
						}
					}
				}
				c := peakConcurrency(rv, view.Now)
				rows = append(rows, fmt.Sprintf("%s/%s: %d servers, %d jobs, peak %d active jobs and %d servers in active jobs, largest job %d",
					rv.Account, rv.Region, len(rv.Servers), c.JobCount, c.Jobs, c.Servers, c.LargestJob))
				if c.Jobs > 20 || c.Servers > 500 || c.LargestJob > 100 {
					t.Errorf("%s/%s exceeded a quota: peak %d active jobs (20), %d servers in active jobs (500), largest job %d (100)",
						rv.Account, rv.Region, c.Jobs, c.Servers, c.LargestJob)
				}
			}
			if len(seen) != 3000 {
				t.Errorf("%d servers launched, want 3000", len(seen))
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("server %s is in %d LAUNCH jobs, want 1", id, n)
				}
			}
			if answers[""] != jobs {
				t.Errorf("%d StartRecovery calls succeeded for %d jobs", answers[""], jobs)
			}
			sort.Strings(rows)
			for _, r := range rows {
				t.Log(r)
			}
			var calls int64
			for _, n := range view.Requests {
				calls += n
			}
			t.Logf("3000 servers, %d jobs, %d events: simulated makespan %s, %d DRS requests (%.2f per server) %v; wall time %s",
				jobs, len(evs), s.Finished.Sub(s.Started), calls, float64(calls)/3000, view.Requests, elapsed.Round(time.Millisecond))
		})
	}
}

// TestManySmallStepsActiveJobQuota: sixty independent ten-server steps in
// one account and region. Each step's batch is small, so the binding quota
// is the 20 active jobs, shared by all the steps through the target's
// quota keeper: never more than 20 jobs at once, no quota error.
func TestManySmallStepsActiveJobQuota(t *testing.T) {
	t.Parallel() // its own simulator and store
	sc, err := drssim.LoadScenario("scale")
	if err != nil {
		t.Fatal(err)
	}
	sc.Generate.Servers = 600
	sc.Generate.Accounts, sc.Generate.Regions = []string{"111122223333"}, []string{"us-east-1"}
	sc.Throttle.Rate = -1
	e := newEnv(t, sc)
	rec := e.record(true)
	rv := e.region()
	var steps []engine.SpecStep
	for i := 0; i < len(rv.Servers); i += 10 {
		var ids []string
		for _, sv := range rv.Servers[i : i+10] {
			ids = append(ids, sv.SourceServerID)
		}
		steps = append(steps, launchStep(fmt.Sprintf("group-%02d", i/10), nil, ids...))
	}
	e.drs = e.client("AKIDSCALEACCOUNTA", "us-east-1")
	eng := e.engineWith(func(c *engine.Config) { c.MinPoll, c.Poll = 10*time.Second, 30*time.Second })
	e.start(eng, "exec-small", spec(ripcord.FailureStop, steps...))
	s := e.run(eng, "exec-small")
	wantState(t, s, ripcord.ExecSucceeded)

	if n := rec.answers("StartRecovery")["ServiceQuotaExceededException"]; n > 0 {
		t.Errorf("DRS answered StartRecovery with ServiceQuotaExceededException %d times", n)
	}
	if refused := evData[evRefused](t, e.events("exec-small"), engine.EvLaunchRefused); len(refused) > 0 {
		t.Errorf("%d launches refused, first: %+v", len(refused), refused[0])
	}
	view := e.sim.State(drssim.StateFilter{Account: "111122223333", Region: "us-east-1"})
	c := peakConcurrency(view.Regions[0], view.Now)
	t.Logf("600 servers in 60 steps: %d jobs, peak %d active jobs and %d servers in active jobs; simulated makespan %s",
		c.JobCount, c.Jobs, c.Servers, s.Finished.Sub(s.Started))
	if c.Jobs > 20 || c.Servers > 500 {
		t.Errorf("peak %d active jobs (quota 20), %d servers in active jobs (quota 500)", c.Jobs, c.Servers)
	}
	if c.Jobs < 20 {
		t.Errorf("peak %d active jobs: the quota keeper left the active-job quota unused", c.Jobs)
	}
	byServer := e.launchJobsOf()
	if len(byServer) != 600 {
		t.Errorf("%d servers launched, want 600", len(byServer))
	}
	for id, jobs := range byServer {
		if len(jobs) != 1 {
			t.Errorf("server %s is in %d LAUNCH jobs", id, len(jobs))
		}
	}
}
