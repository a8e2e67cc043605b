package engine_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestListingCostIndependentOfHistory: the three-tier drill with no job
// history and with 3,000 completed jobs in the region makes the same DRS
// calls. Before, every look at the active jobs read every job ever run,
// 50 per page.
func TestListingCostIndependentOfHistory(t *testing.T) {
	t.Parallel()
	calls := map[int]map[string]int64{}
	for _, history := range []int{0, 3000} {
		sc, err := drssim.LoadScenario("three-tier")
		if err != nil {
			t.Fatal(err)
		}
		if history > 0 {
			sc.Regions[0].History = &drssim.HistorySpec{Jobs: history}
		}
		e := newEnv(t, sc)
		eng := e.engine(engine.Hooks{})
		e.start(eng, "exec-history", chain(ripcord.FailureStop))
		s := e.run(eng, "exec-history")
		wantState(t, s, ripcord.ExecSucceeded)
		checkThreeTier(t, e)
		calls[history] = e.sim.OperationCounts()
		if l := eng.JobListings("prod"); l["horizon"] != 1 || l["full"] != 0 {
			t.Errorf("history %d: listings %v; want one horizon listing and no full one", history, l)
		}
	}
	t.Logf("DRS calls with no history %v, with 3000 completed jobs %v", calls[0], calls[3000])
	if a, b := calls[0]["DescribeJobs"], calls[3000]["DescribeJobs"]; b > a+1 {
		t.Errorf("DescribeJobs: %d calls with 3000 jobs of history, %d without; want the same (at most one more page)", b, a)
	}
}

// TestJobOlderThanHorizonIsFoundAfterRefusal: a job started 30 hours ago,
// beyond the first listing's horizon, still holds app1. The launch that
// includes app1 is refused (ConflictException); the next listing reads all
// of history, finds the job and records it as app1's blocker; app2 goes at
// once, app1 once the old job ends. Each is launched exactly once.
func TestJobOlderThanHorizonIsFoundAfterRefusal(t *testing.T) {
	t.Parallel()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	// Only the old job: not the scenario's TERMINATE job of an earlier
	// attempt, which is recent.
	sc.Regions[0].Jobs = append(sc.Regions[0].Jobs[:0], drssim.JobSpec{ID: "drsjob-0ld0000000000000a", Type: "LAUNCH",
		CreatedAgo: drssim.Duration(30 * time.Hour), EndsAfter: drssim.Duration(10 * time.Minute), Servers: []string{app1}})
	e := newEnv(t, sc)
	eng := e.engine(engine.Hooks{})
	e.start(eng, "exec-old", spec(ripcord.FailureStop, launchStep("app", nil, app1, app2)))
	s := e.run(eng, "exec-old")
	wantState(t, s, ripcord.ExecSucceeded)
	evs := e.events("exec-old")
	refused := evData[evRefused](t, evs, engine.EvLaunchRefused)
	if len(refused) != 1 || refused[0].Code != "ConflictException" {
		t.Errorf("refusals %+v; want the one ConflictException that revealed the old job", refused)
	}
	blocked := false
	for _, b := range evData[engine.ServersBlocked](t, evs, engine.EvServersBlocked) {
		if b.JobID == "drsjob-0ld0000000000000a" && len(b.Servers) == 1 && b.Servers[0] == app1 {
			blocked = true
		}
	}
	if !blocked {
		t.Error("app1 was never recorded as blocked by the old job")
	}
	if l := eng.JobListings("prod"); l["full"] != 1 {
		t.Errorf("listings %v; want exactly one full listing (after the refusal)", l)
	}
	for id, jobs := range e.launchJobsOf() {
		if len(jobs) != 1 {
			t.Errorf("server %s is in %d of our LAUNCH jobs; want 1", id, len(jobs))
		}
	}
	if j := e.launchJobsOf()[app1]; len(j) != 1 || j[0].Created.Before(t0.Add(10*time.Minute)) {
		t.Errorf("app1's launch jobs %v; want one, created after the old job ended at %s", j, t0.Add(10*time.Minute))
	}
}

// TestWindowSeesNewJobsWhenClocksDisagree: ripcord's clock runs three hours
// ahead of DRS's (or behind it). The plan launches the database tier, waits
// ten minutes, then launches web1. During the wait, when nothing of the
// execution is active in DRS, a colleague's job starts holding web1 for 20
// minutes. The listings after the first read only the jobs created since
// the last one, counted on DRS's clock, so the colleague's job is seen and
// recorded as web1's blocker before anything is launched. Counted on
// ripcord's clock, the window would start in DRS's future, miss the job,
// and learn of it only from a refused launch.
func TestWindowSeesNewJobsWhenClocksDisagree(t *testing.T) {
	t.Parallel()
	for _, by := range []time.Duration{3 * time.Hour, -3 * time.Hour} {
		e := newEnv(t, nil)
		var colleague string
		eng := e.engineWith(func(c *engine.Config) {
			c.Clock = aheadClock{e.clock, by}
			c.OnChange = func(s *engine.State) {
				if st := s.Steps["settle"]; colleague != "" || st == nil || st.Status != "running" {
					return
				}
				if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultHoldServers, Servers: []string{web1}, For: drssim.Duration(20 * time.Minute)}); err != nil {
					t.Error(err)
					return
				}
				jobs := e.region().Jobs
				colleague = jobs[len(jobs)-1].JobID
			}
		})
		e.start(eng, "exec-skew", spec(ripcord.FailureStop,
			launchStep("database", nil, db1, db2),
			engine.SpecStep{Name: "settle", Kind: ripcord.StepWait, After: []string{"database"}, Duration: 10 * time.Minute},
			launchStep("web", []string{"settle"}, web1)))
		s := e.run(eng, "exec-skew")
		wantState(t, s, ripcord.ExecSucceeded)
		if colleague == "" {
			t.Fatal("the colleague's job was never started: the test did not set the trap")
		}
		evs := e.events("exec-skew")
		if refused := evData[evRefused](t, evs, engine.EvLaunchRefused); len(refused) > 0 {
			t.Errorf("clock off by %s: refusals %+v; want none (the colleague's job seen before launching)", by, refused)
		}
		seen := false
		for _, b := range evData[engine.ServersBlocked](t, evs, engine.EvServersBlocked) {
			seen = seen || b.JobID == colleague && slices.Contains(b.Servers, web1)
		}
		if !seen {
			t.Errorf("clock off by %s: web1 never recorded as blocked by the colleague's job %s", by, colleague)
		}
		if l := eng.JobListings("prod"); l["full"] != 0 || l["window"] == 0 {
			t.Errorf("clock off by %s: listings %v; want windows and no full listing", by, l)
		}
	}
}

// TestQuotaBoundStepGroupsLikeServers: 400 servers, every tenth Windows, in
// one target whose quotas allow 10 jobs and 100 servers in active jobs. The
// step is quota-bound, so each job gets an even share (10 servers), the
// slowest expected (Windows) go first and share jobs only with each other,
// and the quotas are never exceeded.
func TestQuotaBoundStepGroupsLikeServers(t *testing.T) {
	t.Parallel()
	sc, err := drssim.LoadScenario("scale")
	if err != nil {
		t.Fatal(err)
	}
	sc.Generate.Servers = 400
	sc.Generate.Accounts, sc.Generate.Regions = []string{"111122223333"}, []string{"us-east-1"}
	sc.Quotas = drssim.Quotas{ServersPerJob: 100, ActiveJobs: 10, ServersInActiveJobs: 100}
	e := newEnv(t, sc)
	e.drs = e.client("AKIDSCALEACCOUNTA", "us-east-1")
	rv := e.region()
	windows := map[string]bool{}
	var servers []engine.SpecServer
	for _, sv := range rv.Servers {
		ss := ripcord.SourceServer{}
		if p := sv.SourceProperties; p != nil && p.Os != nil {
			ss.OS = p.Os.FullString
		}
		windows[sv.SourceServerID] = ss.Windows()
		servers = append(servers, engine.SpecServer{ID: sv.SourceServerID, Target: "prod", Expected: engine.ExpectedLaunch(ss)})
	}
	eng := e.engineWith(func(c *engine.Config) {
		c.Quotas = engine.Quotas{ServersPerJob: 100, ActiveJobs: 10, ServersInActiveJobs: 100}
	})
	sp := spec(ripcord.FailureStop, engine.SpecStep{Name: "all", Kind: ripcord.StepLaunch, Servers: servers})
	e.start(eng, "exec-quota", sp)
	s := e.run(eng, "exec-quota")
	wantState(t, s, ripcord.ExecSucceeded)

	view := e.sim.State(drssim.StateFilter{Account: "111122223333", Region: "us-east-1"})
	c := peakConcurrency(view.Regions[0], view.Now)
	if c.Jobs > 10 || c.Servers > 100 || c.LargestJob > 10 {
		t.Errorf("peak %d active jobs, %d servers in active jobs, largest job %d; want at most 10, 100, 10", c.Jobs, c.Servers, c.LargestJob)
	}
	nWin := 0
	for _, w := range windows {
		if w {
			nWin++
		}
	}
	if nWin == 0 {
		t.Fatal("the scenario has no Windows server: the test proves nothing")
	}
	mixed, firstLinux := 0, time.Time{}
	var lastWindows time.Time
	for _, j := range view.Regions[0].Jobs {
		if j.Foreign || j.Type != "LAUNCH" {
			continue
		}
		w := 0
		for _, sv := range j.Servers {
			if windows[sv.SourceServerID] {
				w++
			}
		}
		switch {
		case w > 0 && w < len(j.Servers):
			mixed++
		case w == 0 && (firstLinux.IsZero() || j.Created.Before(firstLinux)):
			firstLinux = j.Created
		}
		if w > 0 && j.Created.After(lastWindows) {
			lastWindows = j.Created
		}
	}
	if mixed > 1 {
		t.Errorf("%d jobs mix Windows and Linux servers; want at most one (where the groups meet)", mixed)
	}
	if firstLinux.Before(lastWindows) {
		t.Errorf("a Linux-only job was created at %s, before the last Windows job at %s; want the slowest first", firstLinux, lastWindows)
	}
	for id, jobs := range e.launchJobsOf() {
		if len(jobs) != 1 {
			t.Errorf("server %s is in %d LAUNCH jobs", id, len(jobs))
		}
	}
	t.Logf("%d servers (%d Windows), %d jobs, peak %d jobs / %d servers, makespan %s, %d DRS calls",
		len(servers), nWin, c.JobCount, c.Jobs, c.Servers, s.Finished.Sub(s.Started), e.totalRequests())
}

// deletingClock is the test's clock; after each sleep, once the job of
// batch b1 of execution id has completed in the simulator, it deletes it
// (DeleteJob, as a colleague tidying the console would) before ripcord
// has read its outcome.
type deletingClock struct {
	boundedClock
	e       *env
	id      string
	deleted *string
}

func (c deletingClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := c.boundedClock.Sleep(ctx, d); err != nil {
		return err
	}
	if *c.deleted != "" {
		return nil
	}
	for _, j := range c.e.region().Jobs {
		if j.Tags[ripcord.TagExecution] == c.id && j.Tags[ripcord.TagBatch] == "b1" && j.Status == "COMPLETED" {
			if err := c.e.deleteJob(ctx, j.JobID); err != nil {
				return err
			}
			*c.deleted = j.JobID
		}
	}
	return nil
}

// TestDeletedJobSettledFromInstances: a colleague deletes ripcord's
// completed job before ripcord read its outcome. The job is gone from DRS
// even by ID, so its servers' outcome is read from their recovery
// instances: the launch succeeds, nothing is launched twice, and the step
// does not wait forever (the plan has no step timeout).
func TestDeletedJobSettledFromInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var deleted string
	eng := e.engineWith(func(c *engine.Config) {
		c.Clock = deletingClock{boundedClock{e.clock, e.clock.Now().Add(12 * time.Hour)}, e, "exec-del", &deleted}
	})
	e.start(eng, "exec-del", spec(ripcord.FailureStop, launchStep("app", nil, app1, app2)))
	s := e.run(eng, "exec-del")
	wantState(t, s, ripcord.ExecSucceeded)
	if deleted == "" {
		t.Fatal("the job was never deleted: the test did not set the trap")
	}
	rv := e.region()
	for _, id := range []string{app1, app2} {
		sv := s.Steps["app"].Servers[id]
		var inst string
		for _, in := range rv.Instances {
			if in.SourceServerID == id && in.JobID == deleted {
				inst = in.RecoveryInstanceID
			}
		}
		if sv.Status != "LAUNCHED" || sv.InstanceID != inst || inst == "" {
			t.Errorf("server %s: %s with instance %q; want LAUNCHED with the deleted job's instance %q", id, sv.Status, sv.InstanceID, inst)
		}
	}
	for id, jobs := range e.launchJobsOf() {
		if len(jobs) != 1 {
			t.Errorf("server %s is in %d of our LAUNCH jobs; want 1", id, len(jobs))
		}
	}
}

// deleteJob deletes a job through DRS's API (the AWS SDK), as a person
// would from the console or the CLI.
func (e *env) deleteJob(ctx context.Context, id string) error {
	c := awsdrs.New(awsdrs.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	_, err := c.DeleteJob(ctx, &awsdrs.DeleteJobInput{JobID: aws.String(id)})
	return err
}
