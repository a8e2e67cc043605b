package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// foldSizes are the executions BenchmarkFold folds: servers, from a
// mid-sized recovery to the 20,000-server one of the issue.
var foldSizes = []int{1000, 5000, 20000}

// BenchmarkFold folds the log of a realistic execution of 1,000, 5,000
// and 20,000 servers and reports the time per event, so that growth
// with the log's size shows: ns/event should stay flat.
//
//	go test -run '^$' -bench Fold ./engine/
func BenchmarkFold(b *testing.B) {
	for _, n := range foldSizes {
		evs := foldLog(n)
		b.Run(fmt.Sprintf("servers=%d/events=%d", n, len(evs)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := engine.Fold("x-bench", evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
		})
	}
}

// BenchmarkResume is what `exec resume` spends reading a 20,000-server
// execution (some 40,000 events, in SQLite) before it drives it. before is
// how it was: Load to learn the targets, Resume (which folds the log to
// see whether the execution is paused), then Run, which folds it again.
// after is how it is: Spec (the first event), the listing row, Run. The
// execution has ended, so Run returns once it has folded the log.
//
//	go test -run '^$' -bench Resume -benchtime 10x ./engine/
func BenchmarkResume(b *testing.B) {
	ctx := context.Background()
	const id = "x-bench"
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "r.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	evs := foldLog(20000)
	if err := st.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "sha256:0123456789abcdef", Name: "estate", Source: []byte("plans: []"), Created: evs[0].At}); err != nil {
		b.Fatal(err)
	}
	x := ripcord.Execution{ID: id, PlanName: "estate", PlanHash: "sha256:0123456789abcdef", Mode: ripcord.ModeRecovery,
		State: ripcord.ExecSucceeded, Started: evs[0].At, Ended: evs[len(evs)-1].At, Actor: "alice"}
	if err := st.CreateExecution(ctx, x, evs); err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: st})
	run := func(b *testing.B) {
		s, err := eng.Run(ctx, id)
		if err != nil || s.State != ripcord.ExecSucceeded || s.LastSeq != int64(len(evs)) {
			b.Fatalf("Run: %v, %+v", err, s)
		}
	}
	b.Run(fmt.Sprintf("before/events=%d", len(evs)), func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Load(ctx, id); err != nil {
				b.Fatal(err)
			}
			if err := eng.Resume(ctx, id, "alice"); err != nil {
				b.Fatal(err)
			}
			run(b)
		}
	})
	b.Run(fmt.Sprintf("after/events=%d", len(evs)), func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Spec(ctx, id); err != nil {
				b.Fatal(err)
			}
			if x, err := st.Execution(ctx, id); err != nil || x.State == ripcord.ExecPaused {
				b.Fatal(err, x.State)
			}
			run(b)
		}
	})
}

// TestFoldInPartsIsFold: the benchmark's log folded in two parts (Fold,
// then State.Apply, as `exec watch` follows an execution) is the log
// folded at once.
func TestFoldInPartsIsFold(t *testing.T) {
	evs := foldLog(1000)
	want, err := engine.Fold("x-bench", evs)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k <= len(evs); k += 1 + k/8 {
		s, err := engine.Fold("x-bench", evs[:k])
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(evs[k:]...); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("Fold of %d events, then Apply of the rest, differs from Fold", k)
		}
	}
}

// TestFoldLogApplies checks that the benchmark's log is one the engine
// could have recorded: every guarded event applied (a refused one would
// leave servers waiting, batches without jobs, steps not finished).
func TestFoldLogApplies(t *testing.T) {
	const n = 1000
	evs := foldLog(n)
	if len(evs) < 2*n || len(evs) > 3*n {
		t.Fatalf("%d events for %d servers, want about 2 per server", len(evs), n)
	}
	s, err := engine.Fold("x-bench", evs)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != ripcord.ExecSucceeded || s.Paused || s.LastSeq != int64(len(evs)) || s.Drivers != 2 || s.DRSCalls != 2*n {
		t.Fatalf("state %s paused %v last seq %d drivers %d DRS calls %d", s.State, s.Paused, s.LastSeq, s.Drivers, s.DRSCalls)
	}
	launched, failed, refused := 0, 0, 0
	for _, name := range s.Order {
		st := s.Steps[name]
		if st.Status != "succeeded" {
			t.Errorf("step %s is %s", name, st.Status)
		}
		for _, sv := range st.Servers {
			switch {
			case sv.Status == "LAUNCHED" && sv.InstanceID != "" && sv.JobID != "":
				launched++
			case sv.Status == "FAILED" && sv.Optional:
				failed++
			default:
				t.Fatalf("server %s: %+v", sv.ID, sv)
			}
			if sv.Attempts != len(sv.History) || sv.Attempts > 2 {
				t.Fatalf("server %s: %d attempts, %d in history", sv.ID, sv.Attempts, len(sv.History))
			}
			if sv.Attempts == 2 {
				if sv.History[0].Status != "REFUSED" {
					t.Fatalf("server %s: first of two attempts %+v, want refused", sv.ID, sv.History[0])
				}
				refused++
			}
		}
	}
	if launched+failed != n || failed == 0 || refused == 0 {
		t.Errorf("%d launched, %d failed, %d refused once: want %d in all, some failed, some refused", launched, failed, refused, n)
	}
	for _, b := range s.Batches {
		if b.JobID == "" && !b.Refused {
			t.Errorf("batch %s has no job", b.ID)
		}
	}
}

// foldLog is the log of a recovery of n servers in four targets, in three
// tiers (database, then app, then web) and a wait step, as the engine
// records it: per step, batches of at most 100 servers launched five at a
// time (intent, job), each server reported in progress with its instance
// and then launched; about two events per server. On the way: a refused
// batch in each step, servers held by another job, a DRS outage, a person's pause and a
// resume by another driver after a crash; every 500th server is optional
// and fails.
func foldLog(n int) []ripcord.Event {
	targets := []ripcord.Target{
		{Name: "dr-east-a", Account: "111122223333", Region: "us-east-1"},
		{Name: "dr-east-b", Account: "222233334444", Region: "us-east-1"},
		{Name: "dr-west-a", Account: "111122223333", Region: "us-west-2"},
		{Name: "dr-west-b", Account: "222233334444", Region: "us-west-2"},
	}
	tiers := []struct {
		name  string
		after []string
		share int // of every 5 servers
	}{{"database", nil, 1}, {"app", []string{"database"}, 2}, {"web", []string{"app"}, 2}}
	spec := engine.Spec{Plan: "estate", PlanHash: "sha256:0123456789abcdef", Mode: ripcord.ModeRecovery,
		Settings: ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: ripcord.DefaultConflictDeadline},
		Targets:  targets, Exclusive: "estate@111122223333/us-east-1,111122223333/us-west-2,222233334444/us-east-1,222233334444/us-west-2"}
	id := 0
	for _, tier := range tiers {
		st := engine.SpecStep{Name: tier.name, Kind: ripcord.StepLaunch, After: tier.after}
		for range n * tier.share / 5 {
			st.Servers = append(st.Servers, engine.SpecServer{ID: fmt.Sprintf("s-%017x", id), Target: targets[id%len(targets)].Name,
				Optional: id%500 == 499, Expected: time.Duration(10+id%7) * time.Minute})
			id++
		}
		spec.Steps = append(spec.Steps, st)
	}
	spec.Steps = append(spec.Steps, engine.SpecStep{Name: "settle", Kind: ripcord.StepWait, After: []string{"web"}, Duration: 5 * time.Minute})

	var evs []ripcord.Event
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	add := func(typ, actor string, data any) {
		b, err := json.Marshal(data)
		if err != nil {
			panic(err)
		}
		at = at.Add(250 * time.Millisecond)
		evs = append(evs, ripcord.Event{ExecutionID: "x-bench", Seq: int64(len(evs) + 1), At: at, Actor: actor, Type: typ, Data: b})
	}
	owner := ripcord.LeaseOwner{Host: "dr-runner-1", PID: 4242, Started: at}
	add(engine.EvExecutionStarted, "alice", spec)
	add(engine.EvDriverStarted, ripcord.ActorEngine, engine.DriverStarted{Owner: owner, Epoch: 1})
	batch, job := 0, 0
	for si, st := range spec.Steps[:3] {
		add(engine.EvStepStarted, ripcord.ActorEngine, engine.StepStarted{Step: st.Name})
		byTarget := map[string][]string{}
		for _, sv := range st.Servers {
			byTarget[sv.Target] = append(byTarget[sv.Target], sv.ID)
		}
		// Batches of 100 servers of one target, in target order.
		var batches [][]string
		var batchTarget []string
		for _, t := range targets {
			ids := byTarget[t.Name]
			for len(ids) > 0 {
				k := min(100, len(ids))
				batches = append(batches, ids[:k])
				batchTarget = append(batchTarget, t.Name)
				ids = ids[k:]
			}
		}
		if si == 1 && len(batches) > 0 {
			// Another job holds a few servers for a while.
			add(engine.EvServersBlocked, ripcord.ActorEngine, engine.ServersBlocked{Step: st.Name, Target: batchTarget[0],
				Servers: batches[0][:min(3, len(batches[0]))], JobID: "drsjob-foreign", JobType: "LAUNCH", Since: at})
		}
		for w := 0; w < len(batches); w += 5 {
			wave := batches[w:min(w+5, len(batches))]
			jobs := make([]string, len(wave))
			for i, ids := range wave {
				batch++
				bid := fmt.Sprintf("b%d", batch)
				add(engine.EvLaunchRequested, ripcord.ActorEngine, engine.LaunchRequested{Step: st.Name, Batch: bid,
					Target: batchTarget[w+i], Servers: ids, DRSTime: at.Add(-2 * time.Second)})
				if w == 0 && i == 0 { // DRS refuses each step's first batch once
					add(engine.EvLaunchRefused, ripcord.ActorEngine, engine.LaunchRefused{Batch: bid, Code: "ServiceQuotaExceededException",
						Error: "too many servers in active jobs"})
					batch++
					bid = fmt.Sprintf("b%d", batch)
					add(engine.EvLaunchRequested, ripcord.ActorEngine, engine.LaunchRequested{Step: st.Name, Batch: bid,
						Target: batchTarget[w+i], Servers: ids, DRSTime: at.Add(-2 * time.Second)})
				}
				job++
				jobs[i] = fmt.Sprintf("drsjob-%017x", job)
				add(engine.EvJobCreated, ripcord.ActorEngine, engine.JobCreated{Batch: bid, JobID: jobs[i]})
			}
			if si == 0 && w == 0 {
				// DRS fails for a while in one target, then answers again.
				add(engine.EvDRSUnavailable, ripcord.ActorEngine, engine.DRSUnavailable{Target: targets[0].Name, Op: "DescribeJobs",
					Error: "ThrottlingException: rate exceeded", Since: at, Attempts: 3})
				add(engine.EvDRSRecovered, ripcord.ActorEngine, engine.DRSRecovered{Target: targets[0].Name, Attempts: 4})
			}
			for i, ids := range wave {
				for _, sid := range ids {
					add(engine.EvServerStatus, ripcord.ActorEngine, engine.ServerStatus{Step: st.Name, Server: sid, Status: "IN_PROGRESS",
						JobID: jobs[i], InstanceID: "i-0" + sid[2:]})
				}
			}
			if si == 1 && w == 0 {
				// A person pauses, then resumes; the driver crashes
				// and another takes over.
				add(engine.EvExecutionPaused, "bob", engine.StepRef{Reason: "paused by bob"})
				add(engine.EvExecutionResumed, "bob", struct{}{})
				add(engine.EvDriverStarted, ripcord.ActorEngine, engine.DriverStarted{Owner: ripcord.LeaseOwner{Host: "dr-runner-2", PID: 77, Started: at},
					Epoch: 2, TookOver: &owner})
			}
			for i, ids := range wave {
				for _, sid := range ids {
					var sidN int
					fmt.Sscanf(sid, "s-%017x", &sidN)
					if sidN%500 == 499 {
						add(engine.EvServerStatus, ripcord.ActorEngine, engine.ServerStatus{Step: st.Name, Server: sid, Status: "FAILED",
							JobID: jobs[i], Reason: "LAUNCH_FAILED in job " + jobs[i] + ": insufficient capacity"})
						continue
					}
					add(engine.EvServerStatus, ripcord.ActorEngine, engine.ServerStatus{Step: st.Name, Server: sid, Status: "LAUNCHED",
						JobID: jobs[i], InstanceID: "i-0" + sid[2:]})
				}
			}
		}
		add(engine.EvStepFinished, ripcord.ActorEngine, engine.StepFinished{Step: st.Name, Status: "succeeded"})
	}
	add(engine.EvStepStarted, ripcord.ActorEngine, engine.StepStarted{Step: "settle"})
	add(engine.EvStepFinished, ripcord.ActorEngine, engine.StepFinished{Step: "settle", Status: "succeeded"})
	add(engine.EvExecutionFinished, ripcord.ActorEngine, engine.ExecutionFinished{State: ripcord.ExecSucceeded})
	add(engine.EvDriverStopped, ripcord.ActorEngine, engine.DriverStopped{Epoch: 2, Reason: "execution succeeded", DRSCalls: int64(2 * n)})
	return evs
}
