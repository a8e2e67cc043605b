package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// failbackPlan is the three-tier plan: database, then app, then web.
var failbackPlan = fmt.Sprintf(`
targets: [{name: prod, account: "111122223333", region: us-east-1}]
protectionGroups:
  - {name: db, target: prod, servers: [%s, %s]}
  - {name: app, target: prod, servers: [%s, %s]}
  - {name: web, target: prod, servers: [%s, %s]}
plans:
  - name: orders
    waves:
      - {name: database, groups: [db]}
      - {name: app, groups: [app]}
      - {name: web, groups: [web]}
`, db1, db2, app1, app2, web1, web2)

func (e *env) begin(eng *engine.Engine, id string, mode ripcord.Mode) (engine.Begun, error) {
	e.t.Helper()
	f, err := plan.Decode("orders.yaml", []byte(failbackPlan))
	if err != nil {
		e.t.Fatal(err)
	}
	return eng.Begin(context.Background(), engine.BeginRequest{File: f, Plan: "orders", Mode: mode, ID: id})
}

// recovered runs a recovery of the plan to its end.
func (e *env) recovered() {
	e.t.Helper()
	eng := e.engine(engine.Hooks{})
	if _, err := e.begin(eng, "rec", ripcord.ModeRecovery); err != nil {
		e.t.Fatal(err)
	}
	wantState(e.t, e.run(eng, "rec"), ripcord.ExecSucceeded)
}

// failbackJobs are the simulator's failback jobs (initiated by FAILBACK),
// oldest first.
func (e *env) failbackJobs() []drssim.JobView {
	var out []drssim.JobView
	for _, j := range e.region().Jobs {
		if j.InitiatedBy == ripcord.InitiatedByFailback {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b drssim.JobView) int { return a.Created.Compare(b.Created) })
	return out
}

// checkFailback asserts from the simulator's record that web, app and
// database failed back in that order, each tier in one job, every server
// exactly once, each tier's job created after the previous tier's servers
// finished, and every recovery instance ends FAILBACK_COMPLETED.
func checkFailback(t *testing.T, e *env) {
	t.Helper()
	tiers := [][]string{{web1, web2}, {app1, app2}, {db1, db2}}
	jobs := e.failbackJobs()
	if len(jobs) != len(tiers) {
		t.Fatalf("%d failback jobs, want %d (one per tier)", len(jobs), len(tiers))
	}
	seen := map[string]int{}
	for i, j := range jobs {
		var got []string
		for _, s := range j.Servers {
			got = append(got, s.SourceServerID)
			seen[s.SourceServerID]++
			if s.LaunchStatus != ripcord.LaunchStatusLaunched {
				t.Errorf("job %s: server %s %s", j.JobID, s.SourceServerID, s.LaunchStatus)
			}
		}
		slices.Sort(got)
		want := slices.Clone(tiers[i])
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("failback job %d (%s) has servers %v, want %v", i+1, j.JobID, got, want)
		}
		if i > 0 {
			for _, s := range jobs[i-1].Servers {
				if j.Created.Before(s.Finished) {
					t.Errorf("job %s created at %s, before %s finished failing back at %s", j.JobID, j.Created, s.SourceServerID, s.Finished)
				}
			}
		}
	}
	for _, tier := range tiers {
		for _, id := range tier {
			if seen[id] != 1 {
				t.Errorf("server %s is in %d failback jobs, want exactly 1", id, seen[id])
			}
		}
	}
	for _, in := range e.region().Instances {
		if !in.Deleted && !in.IsDrill && in.Failback.State != ripcord.FailbackCompleted {
			t.Errorf("recovery instance %s of %s: %s", in.RecoveryInstanceID, in.SourceServerID, in.Failback.State)
		}
	}
}

// TestFailbackRunsTiersInReverse: after a recovery, a failback that Begin
// refuses until the instances are ready, then runs web, app, database in
// that order, once each; the spec has the dependencies reversed.
func TestFailbackRunsTiersInReverse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withSTS()
	e.recovered()
	eng := e.engine(engine.Hooks{})
	_, err := e.begin(eng, "fb", ripcord.ModeFailback)
	if ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE || !strings.Contains(err.Error(), "FAILBACK_NOT_STARTED") ||
		!strings.Contains(ripcord.ErrorHint(err), "ripcord reprotect") {
		t.Fatalf("failback before the instances are ready: %v (hint %q)", err, ripcord.ErrorHint(err))
	}
	if _, err := e.sim.MakeFailbackReady("", "us-east-1", nil, []string{db1, db2, app1, app2, web1, web2}); err != nil {
		t.Fatal(err)
	}
	b, err := e.begin(eng, "fb", ripcord.ModeFailback)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, st := range b.Spec.Steps {
		order = append(order, fmt.Sprintf("%s%v", st.Name, st.After))
	}
	if got := strings.Join(order, " "); got != "web[] app[web] database[app]" {
		t.Errorf("failback steps %s, want web[] app[web] database[app]", got)
	}
	wantState(t, e.run(eng, "fb"), ripcord.ExecSucceeded)
	checkFailback(t, e)
	if n := len(e.failbackJobs()); n != 3 {
		t.Errorf("%d failback jobs", n)
	}
}

// TestFailbackCrashResumes: a crash right after an intent is recorded or
// right after StartFailbackLaunch returned, in each tier, and a lost answer:
// a new engine on the reopened store finishes the failback without a
// second job for any server.
func TestFailbackCrashResumes(t *testing.T) {
	for _, tc := range []struct {
		point string
		n     int
	}{{"after-intent", 1}, {"after-call", 1}, {"after-intent", 2}, {"after-call", 2}, {"after-call", 3}, {"lost-answer", 2}} {
		t.Run(fmt.Sprintf("%s-%d", tc.point, tc.n), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.withSTS()
			e.recovered()
			if _, err := e.sim.MakeFailbackReady("", "us-east-1", nil, []string{db1, db2, app1, app2, web1, web2}); err != nil {
				t.Fatal(err)
			}
			count := 0
			crash := func(string) error {
				if count++; count == tc.n {
					return engine.ErrCrash
				}
				return nil
			}
			var hooks engine.Hooks
			switch tc.point {
			case "after-intent":
				hooks.AfterIntent = crash
			case "after-call":
				hooks.AfterCall = crash
			case "lost-answer":
				if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultDropResponse, Operation: "StartFailbackLaunch", Count: tc.n}); err != nil {
					t.Fatal(err)
				}
			}
			eng := e.engine(hooks)
			if _, err := e.begin(eng, "fb", ripcord.ModeFailback); err != nil {
				t.Fatal(err)
			}
			if tc.point == "lost-answer" {
				wantState(t, e.run(eng, "fb"), ripcord.ExecSucceeded)
				adopted := 0
				for _, ev := range e.events("fb") {
					if ev.Type == engine.EvJobAdopted {
						adopted++
					}
				}
				if adopted != tc.n {
					t.Errorf("adopted %d jobs, want %d (lost answers)", adopted, tc.n)
				}
			} else {
				if _, err := eng.Run(context.Background(), "fb"); !errors.Is(err, engine.ErrCrash) {
					t.Fatalf("first run: want a crash, got %v", err)
				}
				e.store = e.openStore()
				wantState(t, e.run(e.engine(engine.Hooks{}), "fb"), ripcord.ExecSucceeded)
			}
			checkFailback(t, e)
			e.events("fb")
		})
	}
}
