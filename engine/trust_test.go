package engine_test

// Tests of the exactly-once promise where more than one actor is involved:
// a colleague's job, an earlier execution, a second driver, DRS going away.
// Each reproduces a defect found by trying ripcord as a new user would; each
// failed before the fix it names.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// fail500Once makes the next StartRecovery answer 500 without creating a
// job: an unclear outcome that created nothing.
func fail500Once(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "StartRecovery", Fraction: 1, Status: 500, Count: 1}); err != nil {
		t.Fatal(err)
	}
}

// checkOwnJobs asserts that every job the execution recorded carries its
// tags in DRS, and that none of them is one of foreign.
func checkOwnJobs(t *testing.T, e *env, s *engine.State, foreign ...string) {
	t.Helper()
	jobs := map[string]drssim.JobView{}
	for _, j := range e.region().Jobs {
		jobs[j.JobID] = j
	}
	for _, b := range s.Batches {
		if b.Terminate || b.JobID == "" {
			continue
		}
		for _, f := range foreign {
			if b.JobID == f {
				t.Errorf("batch %s took job %s, which ripcord did not start", b.ID, f)
			}
		}
		j, ok := jobs[b.JobID]
		if !ok {
			t.Errorf("batch %s: job %s is unknown to DRS", b.ID, b.JobID)
			continue
		}
		if j.Tags[ripcord.TagExecution] != s.ID || j.Tags[ripcord.TagBatch] != b.ID {
			t.Errorf("batch %s: job %s carries tags %v, not this execution's and batch's", b.ID, b.JobID, j.Tags)
		}
	}
}

// TestColleagueJobIsNotAdopted (defect 1): a colleague starts a drill of the
// database servers from the console while ripcord's StartRecovery is on its
// way, and ripcord's call fails with a 500 that created nothing. The old
// matcher adopted the colleague's job (same servers) and reported SUCCEEDED
// without ever launching the tier. Now the job is not ours (no tags): the
// servers wait for it and are launched by ripcord's own job.
func TestColleagueJobIsNotAdopted(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx := context.Background()
	var colleague string
	eng := e.engineWith(func(c *engine.Config) {
		c.Hooks.AfterIntent = func(batch string) error {
			if batch != "b1" {
				return nil
			}
			j, err := e.drs.StartRecovery(ctx, []ripcord.LaunchServer{{ID: db1}, {ID: db2}}, true, map[string]string{"owner": "colleague"})
			if err != nil {
				return err
			}
			colleague = j.ID
			fail500Once(t, e)
			return nil
		}
	})
	e.start(eng, "exec-col", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-col")
	wantState(t, s, ripcord.ExecSucceeded)
	if colleague == "" {
		t.Fatal("the colleague's job was never started: the test did not set the trap")
	}
	checkOwnJobs(t, e, s, colleague)
	for _, id := range []string{db1, db2} {
		jobs := e.jobsOf(id)
		if len(jobs) != 2 || jobs[0].JobID != colleague {
			t.Fatalf("server %s is in jobs %v; want the colleague's %s, then ripcord's own", id, jobs, colleague)
		}
		if sv := s.Steps["database"].Servers[id]; sv.JobID != jobs[1].JobID {
			t.Errorf("server %s recorded in job %s, want ripcord's own %s", id, sv.JobID, jobs[1].JobID)
		}
	}
	evs := e.events("exec-col")
	if got := evData[evJob](t, evs, engine.EvJobAdopted); len(got) != 0 {
		t.Errorf("adopted %v after an unclear outcome that created nothing", got)
	}
	if len(evData[evRefused](t, evs, engine.EvLaunchRefused)) == 0 {
		t.Error("the unclear batch was not given up (no LaunchRefused)")
	}
}

// TestBlockerIsNotAdopted (defect 1, variant): a foreign job that holds the
// batch's servers, recorded in ServersBlocked, has exactly the batch's
// servers; when ripcord's launch after it is unclear, it must not be taken
// for ripcord's own.
func TestBlockerIsNotAdopted(t *testing.T) {
	t.Parallel() // its own simulator and store
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Regions {
		sc.Regions[i].Jobs = nil // only the blocker below holds servers
	}
	e := newEnv(t, sc)
	fid, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultHoldServers, Servers: []string{app1, app2}, For: drssim.Duration(4 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.engineWith(func(c *engine.Config) {
		c.Hooks.AfterIntent = func(batch string) error {
			if batch == "b1" {
				fail500Once(t, e)
			}
			return nil
		}
	})
	e.start(eng, "exec-blk", spec(ripcord.FailureStop, launchStep("app", nil, app1, app2)))
	s := e.run(eng, "exec-blk")
	wantState(t, s, ripcord.ExecSucceeded)
	evs := e.events("exec-blk")
	if len(evData[evJob](t, evs, "ServersBlocked")) == 0 {
		t.Fatal("the servers were never recorded as blocked: the trap was not set")
	}
	holder := ""
	for _, j := range e.region().Jobs {
		if j.Foreign && j.Type == "LAUNCH" && len(j.Servers) == 2 && serverIn(j, app1).SourceServerID == app1 {
			holder = j.JobID
		}
	}
	if holder == "" {
		t.Fatalf("no foreign job for fault %s", fid)
	}
	checkOwnJobs(t, e, s, holder)
	if got := evData[evJob](t, evs, engine.EvJobAdopted); len(got) != 0 {
		t.Errorf("adopted %v", got)
	}
}

// TestRetryDoesNotAdoptOwnEarlierJob (defect 1, variant): the database step
// fails (both servers' conversions), a person retries it, and the retry
// batch's StartRecovery is unclear. The execution's own first job has the
// same servers; it is not the retry's job.
func TestRetryDoesNotAdoptOwnEarlierJob(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	failConversion(t, e, db1)
	failConversion(t, e, db2)
	ctx := context.Background()
	eng := e.engineWith(nil)
	e.start(eng, "exec-rt", chain(ripcord.FailurePause))
	s := e.run(eng, "exec-rt")
	wantState(t, s, ripcord.ExecPaused)
	first := s.Batches["b1"].JobID
	if err := eng.Retry(ctx, "exec-rt", "alice", "database"); err != nil {
		t.Fatal(err)
	}
	fail500Once(t, e)
	s = e.run(eng, "exec-rt")
	wantState(t, s, ripcord.ExecSucceeded)
	checkOwnJobs(t, e, s)
	for _, id := range []string{db1, db2} {
		sv := s.Steps["database"].Servers[id]
		if sv.JobID == first || sv.Status != "LAUNCHED" {
			t.Errorf("server %s: %s in job %s; want LAUNCHED in a job after the first (%s)", id, sv.Status, sv.JobID, first)
		}
		if n := len(e.jobsOf(id)); n != 2 {
			t.Errorf("server %s is in %d LAUNCH jobs, want 2 (the failed one and the retry)", id, n)
		}
	}
	if got := evData[evJob](t, e.events("exec-rt"), engine.EvJobAdopted); len(got) != 0 {
		t.Errorf("adopted %v", got)
	}
}

// TestEarlierExecutionsJobNotAdopted (defect 1, variant): a second drill of
// the same servers, right after the first, has an unclear StartRecovery;
// the first execution's job has the same servers and is not the second's.
func TestEarlierExecutionsJobNotAdopted(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	eng := e.engineWith(nil)
	one := spec(ripcord.FailureStop, launchStep("database", nil, db1, db2))
	e.start(eng, "exec-first", one)
	s1 := e.run(eng, "exec-first")
	wantState(t, s1, ripcord.ExecSucceeded)
	earlier := s1.Batches["b1"].JobID

	eng2 := e.engineWith(func(c *engine.Config) {
		c.Hooks.AfterIntent = func(batch string) error {
			if batch == "b1" {
				fail500Once(t, e)
			}
			return nil
		}
	})
	e.start(eng2, "exec-second", one)
	s2 := e.run(eng2, "exec-second")
	wantState(t, s2, ripcord.ExecSucceeded)
	checkOwnJobs(t, e, s2, earlier)
	for _, id := range []string{db1, db2} {
		if n := len(e.jobsOf(id)); n != 2 {
			t.Errorf("server %s is in %d LAUNCH jobs, want 2 (one per execution)", id, n)
		}
	}
}

// TestCleanupAfterReplacementFinishes (defect 5): a later drill of the same
// servers replaced this drill's instances; cleanup used to fail with
// ResourceNotFoundException forever. Now the replaced instances count as
// cleaned up and are recorded as already gone, and the later drill's
// instances are not touched.
func TestCleanupAfterReplacementFinishes(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx := context.Background()
	eng := e.engineWith(nil)
	one := spec(ripcord.FailureStop, launchStep("database", nil, db1, db2))
	e.start(eng, "exec-old", one)
	old := e.run(eng, "exec-old")
	wantState(t, old, ripcord.ExecSucceeded)
	e.start(eng, "exec-new", one)
	newer := e.run(eng, "exec-new")
	wantState(t, newer, ripcord.ExecSucceeded)

	if err := eng.Cleanup(ctx, "exec-old", "alice"); err != nil {
		t.Fatal(err)
	}
	s := e.run(eng, "exec-old")
	if !s.Cleanup.Done {
		t.Fatalf("cleanup not done: %+v", s.Cleanup)
	}
	if len(s.Cleanup.AlreadyGone) != 2 || s.Cleanup.Instances != 0 {
		t.Errorf("cleanup: %+v; want the 2 replaced instances already gone and none terminated", s.Cleanup)
	}
	for _, j := range e.region().Jobs {
		if j.Type == "TERMINATE" && !j.Foreign {
			t.Errorf("cleanup of replaced instances started TERMINATE job %s", j.JobID)
		}
	}
	live := 0
	for _, in := range e.region().Instances {
		if in.Deleted || !in.Terminated.IsZero() {
			continue
		}
		for _, id := range []string{newer.Steps["database"].Servers[db1].InstanceID, newer.Steps["database"].Servers[db2].InstanceID} {
			if in.RecoveryInstanceID == id {
				live++
			}
		}
	}
	if live != 2 {
		t.Errorf("%d of the later drill's 2 instances remain; cleanup of the earlier one must not touch them", live)
	}
}

// TestScheduledCleanupSurvivesRestart (defect 5): --cleanup-after lived only
// in the process. Now it is a recorded due time: a driver that stops during
// the wait leaves it scheduled, and the next one carries it out when due,
// not before.
func TestScheduledCleanupSurvivesRestart(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx := context.Background()
	eng := e.engineWith(nil)
	e.start(eng, "exec-sch", spec(ripcord.FailureStop, launchStep("database", nil, db1, db2)))
	if err := eng.ScheduleCleanup(ctx, "exec-sch", "alice", 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	// The first driver stops (soft) as soon as the drill has ended: during
	// the wait for the cleanup.
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	eng1 := e.engineWith(func(c *engine.Config) {
		c.OnChange = func(s *engine.State) {
			if s.Final() {
				stop()
			}
		}
	})
	s, err := eng1.Run(stopCtx, "exec-sch")
	if !errors.Is(err, engine.ErrStopped) {
		t.Fatalf("first driver: %v; want a soft stop", err)
	}
	due := s.Cleanup.Due
	if s.State != ripcord.ExecSucceeded || due.IsZero() || s.Cleanup.Requested {
		t.Fatalf("after the stop: state %s, cleanup %+v; want succeeded with a cleanup due, not yet requested", s.State, s.Cleanup)
	}
	if want := s.Finished.Add(30 * time.Minute); !due.Equal(want) {
		t.Errorf("cleanup due %s, want the end plus 30m (%s)", due, want)
	}
	x, err := e.store.Execution(ctx, "exec-sch")
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := engine.DecodeSummary(x.Summary); err != nil || sum.Cleanup != "scheduled" || !sum.CleanupDue.Equal(due) {
		t.Errorf("listing summary %+v (%v); want the cleanup scheduled for %s", sum, err, due)
	}
	// The next driver waits until due, then cleans up.
	s = e.run(eng, "exec-sch")
	if !s.Cleanup.Done || s.Cleanup.Instances != 2 {
		t.Fatalf("cleanup %+v; want 2 instances terminated and verified", s.Cleanup)
	}
	for _, j := range e.region().Jobs {
		if j.Type == "TERMINATE" && !j.Foreign && j.Created.Before(due) {
			t.Errorf("TERMINATE job %s created at %s, before the cleanup was due at %s", j.JobID, j.Created, due)
		}
	}
}

// TestSoftStopRecordsInFlightLaunch (defect 6): the first Ctrl-C cancelled
// the context of both StartRecovery and the append of its job, so the job
// was recovered only by adoption. Now the call in flight finishes and its
// job is recorded; the driver stops resumable and the next one adopts
// nothing.
func TestSoftStopRecordsInFlightLaunch(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	eng := e.engineWith(func(c *engine.Config) {
		c.Hooks.AfterIntent = func(string) error { stop(); return nil } // Ctrl-C while the call is being made
	})
	e.start(eng, "exec-soft", chain(ripcord.FailureStop))
	_, err := eng.Run(ctx, "exec-soft")
	if !errors.Is(err, engine.ErrStopped) {
		t.Fatalf("run: %v; want a soft stop", err)
	}
	evs := e.events("exec-soft")
	types := []string{}
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	joined := strings.Join(types, " ")
	if !strings.Contains(joined, "LaunchRequested JobCreated") || strings.Contains(joined, "LaunchUnclear") {
		t.Fatalf("events %v; want the launch's job recorded right after its intent", types)
	}
	if last := evs[len(evs)-1]; last.Type != engine.EvDriverStopped {
		t.Errorf("last event %s; want DriverStopped saying why", last.Type)
	}
	l, err := e.store.Lease(context.Background(), "exec-soft")
	if err != nil || l.Live(e.clock.Now()) {
		t.Errorf("lease after a soft stop: %+v, %v; want released", l, err)
	}
	s := e.run(e.engineWith(nil), "exec-soft")
	wantState(t, s, ripcord.ExecSucceeded)
	if got := evData[evJob](t, e.events("exec-soft"), engine.EvJobAdopted); len(got) != 0 {
		t.Errorf("adopted %v after a soft stop", got)
	}
	checkThreeTier(t, e)
}

// TestLostLeaseCallsNothing (defect 2): a driver whose lease was taken over
// while it was about to call StartRecovery makes no call and records
// nothing more.
func TestLostLeaseCallsNothing(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx := context.Background()
	var tookOver ripcord.Lease
	eng := e.engineWith(func(c *engine.Config) {
		c.OwnerGone = nil
		c.Hooks.AfterIntent = func(string) error {
			// The first driver stalls past its lease; another takes over.
			e.clock.Advance(3 * time.Minute)
			var err error
			tookOver, err = e.store.AcquireLease(ctx, "exec-lost", ripcord.LeaseOwner{Host: "other", PID: 42, Started: t0}, time.Minute)
			return err
		}
	})
	e.start(eng, "exec-lost", chain(ripcord.FailureStop))
	_, err := eng.Run(ctx, "exec-lost")
	var lost *engine.LostLeaseError
	if !errors.As(err, &lost) || !errors.Is(err, ripcord.ErrLeaseLost) {
		t.Fatalf("run: %v; want a lost lease", err)
	}
	if tookOver.Epoch != 2 {
		t.Fatalf("takeover epoch %d, want 2", tookOver.Epoch)
	}
	if n := e.sim.OperationCounts()["StartRecovery"]; n != 0 {
		t.Errorf("%d StartRecovery calls by a driver that lost its lease", n)
	}
	after := e.events("exec-lost")
	if got := after[len(after)-1].Type; got != engine.EvLaunchRequested {
		t.Errorf("last event %s; want nothing recorded after the intent by a driver that lost its lease", got)
	}
}

// TestSecondDriverRefused (defect 2): while one driver holds the lease, a
// second Run refuses at once, naming the holder and the expiry, and calls
// nothing.
func TestSecondDriverRefused(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx := context.Background()
	var refusal error
	second := e.engineWith(func(c *engine.Config) { c.OwnerGone = nil })
	first := e.engineWith(func(c *engine.Config) {
		c.OwnerGone = nil
		c.Hooks.AfterIntent = func(batch string) error {
			if batch == "b1" {
				before := e.totalRequests()
				_, refusal = second.Run(ctx, "exec-two")
				if n := e.totalRequests() - before; n != 0 {
					t.Errorf("the refused driver made %d DRS requests", n)
				}
			}
			return nil
		}
	})
	e.start(first, "exec-two", chain(ripcord.FailureStop))
	s := e.run(first, "exec-two")
	wantState(t, s, ripcord.ExecSucceeded)
	var held *engine.LeaseHeldError
	if !errors.As(refusal, &held) || ripcord.ErrorCode(refusal) != ripcord.ECONFLICT {
		t.Fatalf("second driver: %v; want the lease held", refusal)
	}
	for _, want := range []string{"pid", "expires", "epoch 1"} {
		if !strings.Contains(refusal.Error(), want) {
			t.Errorf("refusal %q does not say %q", refusal, want)
		}
	}
	checkThreeTier(t, e)
}

// TestRacingDrivers (defect 2): drivers race to take up one execution, over
// and over, while StartRecovery is slow: each drives a while, stops softly,
// and another takes over. Exactly one drives at a time and every server is
// launched once.
func TestRacingDrivers(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultLatency, Operation: "StartRecovery", Latency: drssim.Duration(20 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e.start(e.engineWith(nil), "exec-race", chain(ripcord.FailureStop))

	var (
		mu   sync.Mutex
		cond = sync.NewCond(&mu)
		gen  int // bumped when a driver stops
		done bool
	)
	const drivers = 4
	var wg sync.WaitGroup
	errs := make(chan error, drivers)
	for i := 0; i < drivers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if done {
					mu.Unlock()
					return
				}
				seen := gen
				mu.Unlock()
				runCtx, stop := context.WithCancel(ctx)
				passes := 0
				eng := e.engineWith(func(c *engine.Config) {
					c.OwnerGone = nil
					c.OnChange = func(*engine.State) {
						if passes++; passes == 2 {
							stop() // drive a little, then hand over
						}
					}
				})
				s, err := eng.Run(runCtx, "exec-race")
				stop()
				var held *engine.LeaseHeldError
				switch {
				case errors.As(err, &held):
					mu.Lock()
					for gen == seen && !done {
						cond.Wait()
					}
					mu.Unlock()
					continue
				case err != nil && !errors.Is(err, engine.ErrStopped):
					errs <- err
				}
				mu.Lock()
				gen++
				if err == nil && s.Final() {
					done = true
				}
				cond.Broadcast()
				mu.Unlock()
				if err != nil && !errors.Is(err, engine.ErrStopped) {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := e.engineWith(nil).Load(ctx, "exec-race")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, s, ripcord.ExecSucceeded)
	checkThreeTier(t, e)
	// The log shows one driver at a time: starts and stops alternate.
	open := false
	starts := 0
	for _, ev := range e.events("exec-race") {
		switch ev.Type {
		case engine.EvDriverStarted:
			if open {
				t.Fatalf("event %d: a driver started while another was driving", ev.Seq)
			}
			open = true
			starts++
		case engine.EvDriverStopped:
			open = false
		}
	}
	if starts < 3 {
		t.Errorf("%d stretches of driving; want at least 3 handovers to have been tested", starts)
	}
}

// gate stands between the DRS adapter and the simulator: it passes
// requests, drops connections (DRS gone away), or refuses the credentials
// as AWS does (403 UnrecognizedClientException).
type gate struct {
	next http.Handler
	mode atomic.Value // "", "down", "badcreds"
	hits atomic.Int64
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _ := g.mode.Load().(string)
	if mode != "" && !strings.HasPrefix(r.URL.Path, "/_sim/") {
		g.hits.Add(1)
	}
	switch mode {
	case "down":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close() // a reset: no answer at all
		}
		return
	case "badcreds":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "UnrecognizedClientException")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"The security token included in the request is invalid."}`))
		return
	}
	g.next.ServeHTTP(w, r)
}

func (e *env) gate() *gate {
	g := &gate{next: e.sim}
	e.srv = httptest.NewServer(g)
	e.t.Cleanup(e.srv.Close)
	e.drs = e.client("AKIDTEST", "us-east-1")
	return g
}

// TestBadCredentialsPause (defect 4): credentials that never work are not a
// transient error: the execution pauses at once with the reason and a
// remedy, instead of polling for twelve hours without a word.
func TestBadCredentialsPause(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	g := e.gate()
	eng := e.engineWith(func(c *engine.Config) {
		c.Hooks.AfterPoll = func() error { g.mode.Store("badcreds"); return nil }
	})
	e.start(eng, "exec-cred", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-cred")
	wantState(t, s, ripcord.ExecPaused)
	if !strings.Contains(s.PauseReason, "UnrecognizedClientException") || s.PauseRemedy == "" {
		t.Errorf("paused for %q, remedy %q; want the credentials named and a remedy", s.PauseReason, s.PauseRemedy)
	}
	if n := g.hits.Load(); n > 3 {
		t.Errorf("%d DRS requests after the credentials stopped working; want it to stop at once", n)
	}
	x, err := e.store.Execution(context.Background(), "exec-cred")
	if err != nil || x.State != ripcord.ExecPaused {
		t.Errorf("listing %s, %v; want paused", x.State, err)
	}
}

// TestOutageShowsThenPauses (defect 4): when DRS goes away mid-run, the
// outage is recorded within one poll (what fails, since when, attempts)
// and shown on every pass while ripcord keeps trying; past the plan's
// outage limit the execution pauses with a remedy. When DRS comes back in
// time, the outage is recorded as over and the run succeeds.
func TestOutageShowsThenPauses(t *testing.T) {
	t.Parallel() // its own simulator and store
	for _, tc := range []struct {
		name    string
		comesUp bool
	}{{"comes back", true}, {"stays down", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			g := e.gate()
			var downAt time.Time
			var shown []string
			polls := 0
			eng := e.engineWith(func(c *engine.Config) {
				c.Hooks.AfterPoll = func() error {
					if polls++; polls == 2 {
						g.mode.Store("down")
						downAt = e.clock.Now()
					}
					return nil
				}
				c.OnChange = func(s *engine.State) {
					for _, o := range s.Outages {
						shown = append(shown, o.String())
						if tc.comesUp && o.Attempts >= 4 {
							g.mode.Store("")
						}
					}
				}
			})
			sp := chain(ripcord.FailureStop)
			sp.Settings.OutageLimit = 10 * time.Minute
			e.start(eng, "exec-out", sp)
			s := e.run(eng, "exec-out")
			evs := e.events("exec-out")
			outs := evData[engine.DRSUnavailable](t, evs, engine.EvDRSUnavailable)
			if len(outs) == 0 {
				t.Fatal("the outage was never recorded")
			}
			if first := outs[0]; first.Attempts != 1 || first.Target != "prod" || first.Since.Sub(downAt) > time.Minute {
				t.Errorf("first outage record %+v; want attempt 1 in target prod within a poll of %s", first, downAt)
			}
			if len(shown) == 0 || !strings.Contains(shown[0], "target prod") {
				t.Errorf("progress showed %v; want the outage", shown)
			}
			if tc.comesUp {
				wantState(t, s, ripcord.ExecSucceeded)
				if len(evData[evJob](t, evs, engine.EvDRSRecovered)) != 1 {
					t.Error("the end of the outage was not recorded")
				}
				checkThreeTier(t, e)
				return
			}
			wantState(t, s, ripcord.ExecPaused)
			if !strings.Contains(s.PauseReason, "has failed for") || !strings.Contains(s.PauseRemedy, "exec resume") {
				t.Errorf("paused for %q (%q); want the outage and how to go on", s.PauseReason, s.PauseRemedy)
			}
			if d := e.clock.Now().Sub(downAt); d < 10*time.Minute || d > 12*time.Minute {
				t.Errorf("paused %s after DRS went away; want about the 10m limit", d)
			}
		})
	}
}

// TestUnassumableRolePauses (defect 4): an error with no HTTP status, here
// credentials that cannot be had because the target's role cannot be
// assumed (STS answers AccessDenied, no DRS request is ever sent), counted
// as transient: Run polled for twelve simulated hours without a word. Now
// it is permanent: the execution pauses at once, naming the role.
func TestUnassumableRolePauses(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	role := "arn:aws:iam::222233334444:role/ripcord-drs"
	api, err := drs.New(context.Background(), drs.Config{
		Region: "us-east-1", Endpoint: e.srv.URL, STSEndpoint: e.srv.URL, RoleARN: role, ExternalID: "no-such-trust",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RateLimit:   10000, RetryBackoff: noWait{},
	})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.engineWith(func(c *engine.Config) { c.Targets = map[string]ripcord.DRS{"prod": api} })
	e.start(eng, "exec-role", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-role")
	wantState(t, s, ripcord.ExecPaused)
	if !strings.Contains(s.PauseReason, role) || !strings.Contains(s.PauseRemedy, "external ID") {
		t.Errorf("paused for %q (remedy %q); want the role named and what to check", s.PauseReason, s.PauseRemedy)
	}
	if n := e.totalRequests(); n != 0 {
		t.Errorf("%d DRS requests without credentials", n)
	}
	if n := e.sim.STS().Requests["AssumeRole"]; n == 0 || n > 5 {
		t.Errorf("%d AssumeRole attempts; want it tried and given up at once", n)
	}
}

// TestLeaseKeptThroughSlowCall: a pass slowed by DRS (here a listing that
// takes twice the lease's TTL of real time) does not let the lease lapse,
// so no other process can take the execution over in the middle of it. The
// lease is judged on the wall clock here, as in production.
func TestLeaseKeptThroughSlowCall(t *testing.T) {
	t.Parallel() // its own simulator and store
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Regions {
		sc.Regions[i].Jobs = nil // the first pass launches: the slow listing is right before the intent
	}
	e := newEnv(t, sc)
	ctx := context.Background()
	wall, err := sqlite.Open(ctx, e.dbPath) // the store on the wall clock
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wall.Close() })
	const ttl = 3 * time.Second
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultLatency, Operation: "DescribeJobs", Latency: drssim.Duration(2 * ttl), Count: 1}); err != nil {
		t.Fatal(err)
	}
	var during ripcord.Lease
	var takeover error
	eng := e.engineWith(func(c *engine.Config) {
		c.Store, c.LeaseTTL, c.OwnerGone = wall, ttl, nil
		c.Hooks.AfterIntent = func(batch string) error {
			if batch == "b1" { // right after the slow listing
				during, _ = wall.Lease(ctx, "exec-slow")
				_, takeover = wall.AcquireLease(ctx, "exec-slow", ripcord.LeaseOwner{Host: "other", PID: 7, Started: t0}, time.Minute)
			}
			return nil
		}
	})
	e.start(eng, "exec-slow", spec(ripcord.FailureStop, launchStep("app", nil, app1, app2)))
	s := e.run(eng, "exec-slow")
	wantState(t, s, ripcord.ExecSucceeded)
	if during.Epoch != 1 || during.Owner.Host == "other" {
		t.Errorf("lease right after the slow call: %+v; want the driver's, epoch 1", during)
	}
	if takeover == nil || ripcord.ErrorCode(takeover) != ripcord.ECONFLICT {
		t.Errorf("takeover during the run: %v; want it refused (the lease was kept alive)", takeover)
	}
}

// aheadClock is the engine's clock running a fixed offset ahead of the
// simulator's (a clock that disagrees); sleeping moves both.
type aheadClock struct {
	*drssim.ManualClock
	by time.Duration
}

func (c aheadClock) Now() time.Time { return c.ManualClock.Now().Add(c.by) }

// TestLostResponseWithClocksThatDisagree: ripcord's clock runs 30 minutes
// ahead of DRS's, and the answer to a StartRecovery that created its job
// is lost. Looking for the job from the intent's time on ripcord's clock
// missed it (DRS dated it half an hour earlier) and launched the servers
// again; the job is now looked for from DRS's own clock (the Date of its
// answers) and adopted by its tags.
func TestLostResponseWithClocksThatDisagree(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultDropResponse, Operation: "StartRecovery", Count: 1}); err != nil {
		t.Fatal(err)
	}
	eng := e.engineWith(func(c *engine.Config) { c.Clock = aheadClock{e.clock, 30 * time.Minute} })
	e.start(eng, "exec-skew", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-skew")
	wantState(t, s, ripcord.ExecSucceeded)
	if got := evData[evJob](t, e.events("exec-skew"), engine.EvJobAdopted); len(got) != 1 {
		t.Errorf("adopted %v; want the one job whose answer was lost", got)
	}
	checkThreeTier(t, e)
}
