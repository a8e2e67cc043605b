package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// inFlight reports whether server is in a known job of step.
func inFlight(s *engine.State, step, server string) bool {
	sv := s.Steps[step].Servers[server]
	return sv != nil && sv.Status == "IN_PROGRESS"
}

// once runs fn the first time cond holds after a pass that changed
// something: a person typing `ripcord exec ...` in another terminal while
// the engine runs. The command goes to the store, as the CLI's does.
func once(t *testing.T, cond func(*engine.State) bool, fn func() error) func(*engine.State) {
	done := false
	return func(s *engine.State) {
		if done || !cond(s) {
			return
		}
		done = true
		if err := fn(); err != nil {
			t.Errorf("control command: %v", err)
		}
	}
}

// TestPauseBeforeWave: a pause while the database wave runs lets its job
// finish but starts no later step, however long the pause lasts; resume
// goes on from there.
func TestPauseBeforeWave(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx := context.Background()
	var pausedAt time.Time
	eng := e.engineWith(func(c *engine.Config) {
		c.OnChange = once(t, func(s *engine.State) bool { return inFlight(s, "database", db1) }, func() error {
			pausedAt = e.clock.Now()
			return engine.New(engine.Config{Store: e.store}).Pause(ctx, "exec-p", "alice")
		})
	})
	e.start(eng, "exec-p", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-p")
	wantState(t, s, ripcord.ExecPaused)
	if pausedAt.IsZero() {
		t.Fatal("never paused")
	}
	if s.PausedFor != "" {
		t.Errorf("a person's pause recorded as an automatic one for %q", s.PausedFor)
	}
	// The running job went on to the end; nothing later started.
	if st := s.Steps["database"]; st.Status != "succeeded" {
		t.Errorf("database: %s; the running wave should finish during a pause", st.Status)
	}
	dbJob := e.jobsOf(db1)[0]
	if dbJob.Status != "COMPLETED" || dbJob.Created.After(pausedAt) {
		t.Errorf("database job %s: %s, created %s (paused at %s)", dbJob.JobID, dbJob.Status, dbJob.Created, pausedAt)
	}
	for _, name := range []string{"app", "web"} {
		if st := s.Steps[name]; st.Status != "waiting" {
			t.Errorf("step %s is %s while paused", name, st.Status)
		}
	}
	// A long pause: an hour later, still nothing starts.
	e.clock.Advance(time.Hour)
	s = e.run(eng, "exec-p")
	wantState(t, s, ripcord.ExecPaused)
	for _, id := range []string{app1, app2, web1, web2} {
		if n := len(e.jobsOf(id)); n != 0 {
			t.Errorf("server %s launched while paused", id)
		}
	}

	resumedAt := e.clock.Now()
	if err := eng.Resume(ctx, "exec-p", "bob"); err != nil {
		t.Fatal(err)
	}
	s = e.run(eng, "exec-p")
	wantState(t, s, ripcord.ExecSucceeded)
	appJob := e.jobsOf(app1)[0]
	if appJob.Created.Before(resumedAt) {
		t.Errorf("app job created at %s, before the resume at %s", appJob.Created, resumedAt)
	}
	if d := appJob.Created.Sub(resumedAt); d > 5*time.Second {
		t.Errorf("app job created %s after the resume; want at once", d)
	}
	for _, id := range []string{db1, db2, app1, app2, web1, web2} {
		if n := len(e.jobsOf(id)); n != 1 {
			t.Errorf("server %s is in %d LAUNCH jobs, want 1", id, n)
		}
	}
	var who []string
	for _, ev := range e.events("exec-p") {
		if ev.Type == engine.EvExecutionPaused || ev.Type == engine.EvExecutionResumed {
			who = append(who, ev.Type+":"+ev.Actor)
		}
	}
	if strings.Join(who, ",") != "ExecutionPaused:alice,ExecutionResumed:bob" {
		t.Errorf("control events: %v", who)
	}
}

// TestCancelDrill cancels a drill at different moments: the launches in
// flight finish, the steps not started are skipped, every drill instance
// the execution launched is terminated and verified gone, and the
// execution ends cancelled.
func TestCancelDrill(t *testing.T) {
	t.Parallel() // its own simulator and store
	cases := []struct {
		name     string
		when     func(*engine.State) bool
		launched []string // servers whose launch was in flight or done
		skipped  []string // steps skipped
	}{
		{"while the app wave runs", func(s *engine.State) bool { return inFlight(s, "app", app1) },
			[]string{db1, db2, app1, app2}, []string{"web"}},
		// The first wave is still waiting for the scenario's lingering
		// TERMINATE job: nothing is in flight, nothing is launched.
		{"while the first wave is blocked", func(s *engine.State) bool { return len(s.Steps["database"].Blockers) > 0 },
			nil, []string{"database", "app", "web"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			var cancelledAt time.Time
			eng := e.engineWith(func(c *engine.Config) {
				c.OnChange = once(t, tc.when, func() error {
					cancelledAt = e.clock.Now()
					return engine.New(engine.Config{Store: e.store}).Cancel(ctx, "exec-x", "dave")
				})
			})
			e.start(eng, "exec-x", chain(ripcord.FailureStop))
			s := e.run(eng, "exec-x")
			wantState(t, s, ripcord.ExecCancelled)
			if cancelledAt.IsZero() {
				t.Fatal("never cancelled")
			}
			for _, name := range tc.skipped {
				if st := s.Steps[name]; st.Status != "skipped" {
					t.Errorf("step %s: %s, want skipped", name, st.Status)
				}
			}
			// What was in flight finished; nothing else was launched.
			launched := map[string]bool{}
			var ours []string
			for _, id := range tc.launched {
				launched[id] = true
				jobs := e.jobsOf(id)
				if len(jobs) != 1 {
					t.Fatalf("server %s is in %d LAUNCH jobs, want 1", id, len(jobs))
				}
				tl := serverIn(jobs[0], id)
				if tl.LaunchStatus != "LAUNCHED" || jobs[0].Created.After(cancelledAt) {
					t.Errorf("server %s: %s in job %s created %s (cancelled at %s)", id, tl.LaunchStatus, jobs[0].JobID, jobs[0].Created, cancelledAt)
				}
				ours = append(ours, tl.RecoveryInstanceID)
			}
			for _, id := range []string{db1, db2, app1, app2, web1, web2} {
				if !launched[id] && len(e.jobsOf(id)) != 0 {
					t.Errorf("server %s was launched after the cancel", id)
				}
			}
			// Cleanup: exactly our instances, verified gone in the model.
			if !s.Cleanup.Done || s.Cleanup.Instances != len(ours) {
				t.Errorf("cleanup %+v, want done with %d instances", s.Cleanup, len(ours))
			}
			gone := map[string]bool{}
			for _, in := range e.region().Instances {
				gone[in.RecoveryInstanceID] = in.Deleted
			}
			for _, id := range ours {
				if !gone[id] {
					t.Errorf("drill instance %s still exists after cleanup", id)
				}
			}
			var terminated []string
			for _, j := range e.region().Jobs {
				if j.Type == "TERMINATE" && !j.Foreign {
					for _, sv := range j.Servers {
						terminated = append(terminated, sv.RecoveryInstanceID)
					}
				}
			}
			if len(terminated) != len(ours) {
				t.Errorf("our TERMINATE jobs hold instances %v, want exactly %v", terminated, ours)
			}
			if x, err := e.store.Execution(ctx, "exec-x"); err != nil || x.State != ripcord.ExecCancelled {
				t.Errorf("listing: %v, %v", x.State, err)
			}
			e.events("exec-x")
		})
	}
}

// TestSkipStepNotYetDone: skipping a step before it starts lets its
// dependents run; its servers are never launched.
func TestSkipStepNotYetDone(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	eng := e.engineWith(func(c *engine.Config) {
		c.OnChange = once(t, func(s *engine.State) bool { return inFlight(s, "database", db1) }, func() error {
			return engine.New(engine.Config{Store: e.store}).Skip(ctx, "exec-k", "erin", "app")
		})
	})
	e.start(eng, "exec-k", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-k")
	wantState(t, s, ripcord.ExecSucceeded)
	if st := s.Steps["app"]; st.Status != "skipped" || !st.Manual || !strings.Contains(st.Reason, "erin") {
		t.Errorf("app: %s manual=%v (%s)", st.Status, st.Manual, st.Reason)
	}
	for _, id := range []string{app1, app2} {
		if n := len(e.jobsOf(id)); n != 0 {
			t.Errorf("server %s of the skipped step is in %d LAUNCH jobs", id, n)
		}
	}
	dbDone := e.lastFinished(db1, db2)
	for _, id := range []string{web1, web2} {
		jobs := e.jobsOf(id)
		if len(jobs) != 1 || jobs[0].Created.Before(dbDone) {
			t.Fatalf("server %s of the step after the skipped one: %d jobs", id, len(jobs))
		}
	}
}

// TestControlRefusals: commands that make no sense are refused with a
// clear error and record nothing.
func TestControlRefusals(t *testing.T) {
	t.Parallel() // its own simulator and store
	e := newEnv(t, nil)
	ctx := context.Background()
	eng := e.engineWith(nil)
	sp := chain(ripcord.FailureStop)
	sp.Steps = append(sp.Steps, engine.SpecStep{Name: "soak", Kind: ripcord.StepWait, After: []string{"web"}, Duration: time.Minute})
	e.start(eng, "exec-r", sp)

	// Run until the app wave has a job in flight, then stop the engine.
	ctxRun, cancel := context.WithCancel(ctx)
	defer cancel()
	runner := e.engineWith(func(c *engine.Config) {
		c.OnChange = func(s *engine.State) {
			if inFlight(s, "app", app1) {
				cancel()
			}
		}
	})
	if _, err := runner.Run(ctxRun, "exec-r"); err == nil {
		t.Fatal("run was not stopped")
	}
	s, err := eng.Load(ctx, "exec-r")
	if err != nil {
		t.Fatal(err)
	}
	if s.Steps["database"].Status != "succeeded" || s.Steps["app"].Status != "running" {
		t.Fatalf("database %s, app %s", s.Steps["database"].Status, s.Steps["app"].Status)
	}
	before := s.LastSeq

	cases := []struct {
		name string
		do   func() error
		want string
	}{
		{"retry a succeeded step", func() error { return eng.Retry(ctx, "exec-r", "x", "database") }, "step database is succeeded; only a failed launch, approval, check or hook step can be retried"},
		{"retry a running step", func() error { return eng.Retry(ctx, "exec-r", "x", "app") }, "step app is running; only a failed launch, approval, check or hook step can be retried"},
		{"retry a waiting step", func() error { return eng.Retry(ctx, "exec-r", "x", "web") }, "step web is waiting; only a failed launch, approval, check or hook step can be retried"},
		{"retry a wait step", func() error { return eng.Retry(ctx, "exec-r", "x", "soak") }, "only a failed launch, approval, check or hook step can be retried"},
		{"retry an unknown step", func() error { return eng.Retry(ctx, "exec-r", "x", "cache") }, `has no step "cache"`},
		{"skip a succeeded step", func() error { return eng.Skip(ctx, "exec-r", "x", "database") }, "step database is already succeeded"},
		{"skip a step with launches in flight", func() error { return eng.Skip(ctx, "exec-r", "x", "app") }, "step app has launches in flight"},
		{"skip an unknown step", func() error { return eng.Skip(ctx, "exec-r", "x", "cache") }, `has no step "cache"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tc.want)
			}
			want := ripcord.ECONFLICT
			if strings.Contains(tc.name, "unknown step") {
				want = ripcord.ENOTFOUND // exit 2 in the CLI, like any unknown name
			}
			if ripcord.ErrorCode(err) != want || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (code %s); want code %s and %q", err, ripcord.ErrorCode(err), want, tc.want)
			}
		})
	}
	if s, err := eng.Load(ctx, "exec-r"); err != nil || s.LastSeq != before {
		t.Errorf("refused commands recorded events: last seq %d, was %d (%v)", s.LastSeq, before, err)
	}

	// Once the execution has ended, only a retry of a failed step is
	// possible; here there is none.
	s = e.run(eng, "exec-r")
	wantState(t, s, ripcord.ExecSucceeded)
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"pause an ended execution", func() error { return eng.Pause(ctx, "exec-r", "x") }, "has ended (succeeded)"},
		{"cancel an ended execution", func() error { return eng.Cancel(ctx, "exec-r", "x") }, "has ended (succeeded)"},
		{"retry a step of a succeeded execution", func() error { return eng.Retry(ctx, "exec-r", "x", "web") }, "has succeeded: nothing is left to retry"},
	} {
		if err := tc.do(); err == nil || ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %s containing %q", tc.name, err, ripcord.ECONFLICT, tc.want)
		}
	}
}

// TestControlDuringPass: a command recorded while the engine is in the
// middle of a pass (between an intent and the call, between the call and
// its result, between a poll and what it records) makes the engine's next
// append meet a newer log. The engine reads the command and goes on: the
// result of a call already made is kept, a decision is made again, and
// nothing is launched twice.
func TestControlDuringPass(t *testing.T) {
	t.Parallel() // its own simulator and store
	for _, point := range []string{"after-intent", "after-call", "after-poll"} {
		t.Run(point, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			fired := false
			pause := func() error {
				if fired {
					return nil
				}
				fired = true
				return engine.New(engine.Config{Store: e.store}).Pause(ctx, "exec-d", "frank")
			}
			eng := e.engineWith(func(c *engine.Config) {
				switch point {
				case "after-intent":
					c.Hooks.AfterIntent = func(string) error { return pause() }
				case "after-call":
					c.Hooks.AfterCall = func(string) error { return pause() }
				case "after-poll":
					c.Hooks.AfterPoll = pause
				}
			})
			e.start(eng, "exec-d", chain(ripcord.FailureStop))
			s := e.run(eng, "exec-d")
			wantState(t, s, ripcord.ExecPaused)
			if !fired {
				t.Fatal("the hook never ran")
			}
			if st := s.Steps["database"]; st.Status != "succeeded" {
				t.Errorf("database: %s", st.Status)
			}
			if st := s.Steps["app"]; st.Status != "waiting" {
				t.Errorf("app: %s while paused", st.Status)
			}
			if err := eng.Resume(ctx, "exec-d", "frank"); err != nil {
				t.Fatal(err)
			}
			s = e.run(eng, "exec-d")
			wantState(t, s, ripcord.ExecSucceeded)
			checkThreeTier(t, e)
			e.events("exec-d")
		})
	}
}

// racingStore appends an engine event of its own just before the first
// Append it is asked for: the running engine recording something between a
// control command's read of the log and its write.
type racingStore struct {
	ripcord.Store
	raced bool
}

func (r *racingStore) Append(ctx context.Context, id string, after, epoch int64, evs []ripcord.Event, upd *ripcord.ExecutionUpdate) (int64, error) {
	if !r.raced {
		r.raced = true
		ev := ripcord.Event{ExecutionID: id, Type: engine.EvServersBlocked, Actor: "engine", At: t0,
			Data: []byte(`{"step":"database","target":"prod","servers":["` + db1 + `"],"jobID":"drsjob-3f0c2a9b7d1e45a60","jobType":"TERMINATE"}`)}
		if _, err := r.Store.Append(ctx, id, after, 0, []ripcord.Event{ev}, nil); err != nil {
			return 0, err
		}
	}
	return r.Store.Append(ctx, id, after, epoch, evs, upd)
}

// TestControlRacesEngineAppend: the engine appends between a command's read
// and its write; the command is checked again and recorded, not refused.
func TestControlRacesEngineAppend(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.start(e.engineWith(nil), "exec-race", chain(ripcord.FailureStop))
	ctl := engine.New(engine.Config{Store: &racingStore{Store: e.store}})
	if err := ctl.Pause(ctx, "exec-race", "grace"); err != nil {
		t.Fatalf("pause: %v", err)
	}
	var types []string
	for _, ev := range e.events("exec-race") {
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, ","); got != "ExecutionStarted,ServersBlocked,ExecutionPaused" {
		t.Errorf("log %s", got)
	}
	if x, err := e.store.Execution(ctx, "exec-race"); err != nil || x.State != ripcord.ExecPaused {
		t.Errorf("listing: %v, %v", x.State, err)
	}
}
