package main

// Tests that the commands read an execution's log no more than they must:
// exec resume folds it once, exec watch folds it once and then follows it,
// and resume --wait reads the lease, not the log, while it waits.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// readCounter is a store that records how the log is read: each Events
// call, and each fold of the whole log (engine.Load reading from seq 0).
type readCounter struct {
	ripcord.Store
	mu    sync.Mutex
	folds int
	reads []int64 // afterSeq of each Events call
}

func (r *readCounter) Events(ctx context.Context, id string, after int64, limit int) ([]ripcord.Event, error) {
	r.mu.Lock()
	r.reads = append(r.reads, after)
	if after == 0 && calledFrom("engine.(*Engine).Load") {
		r.folds++
	}
	r.mu.Unlock()
	return r.Store.Events(ctx, id, after, limit)
}

// calledFrom reports whether fn (package.function) is on the caller's stack.
func calledFrom(fn string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "/"+fn) {
			return true
		}
		if !more {
			return false
		}
	}
}

func (r *readCounter) counts() (folds int, reads []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.folds, append([]int64(nil), r.reads...)
}

// resumeCounted runs exec resume of id on c's store, read through a
// readCounter, and returns the counter and the command's error.
func resumeCounted(t *testing.T, c *cliEnv, id string) (*readCounter, string, error) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc := &readCounter{Store: st}
	cf := connFlags{DB: c.db, Endpoint: c.url, Output: "text", RateLimit: 500, Poll: 20 * time.Millisecond, LogLevel: "warn", LogFormat: logFormatText}
	var out, errOut bytes.Buffer
	err = resume(t.Context(), &cf, &out, &errOut, rc, id, false)
	return rc, out.String() + errOut.String(), err
}

// TestResumeFoldsOnce (the issue: a 20,000-server execution took 0.9s to
// resume): exec resume folded the log three times, to learn the targets,
// to see whether the execution was paused, and to drive it. It folds it
// once now: Run's, or for a paused execution Resume's, whose state Run
// takes up.
func TestResumeFoldsOnce(t *testing.T) {
	c := newCLIEnv(t)
	runStopped := func(id string) {
		out, errOut, code := c.ripcordStoppedAt("in progress", append([]string{"run", "-f", "../../examples/three-tier.yaml", "--drill", "--id", id}, c.conn()...)...)
		if code != exitInterrupted {
			t.Fatalf("run %s: exit %d\n%s\n%s", id, code, out, errOut)
		}
	}

	runStopped("stopped")
	rc, out, err := resumeCounted(t, c, "stopped")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	folds, reads := rc.counts()
	if folds != 1 {
		t.Errorf("resume folded the log %d times, want 1 (reads from seq %v)", folds, reads)
	}

	runStopped("paused")
	exits(t, c, 0, true, "exec", "pause", "paused")
	rc, out, err = resumeCounted(t, c, "paused")
	if err != nil {
		t.Fatalf("resume of the paused execution: %v\n%s", err, out)
	}
	if folds, reads := rc.counts(); folds != 1 {
		t.Errorf("resume of a paused execution folded the log %d times, want 1 (reads from seq %v)", folds, reads)
	}
	if !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("the paused execution was not resumed to its end:\n%s", out)
	}
}

// TestWatchFollowsTheLog: exec watch folds the log once, then reads only
// the events appended since it last looked, and sees what a fold of the
// whole log would.
func TestWatchFollowsTheLog(t *testing.T) {
	ctx := boundedContext(t)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var log []ripcord.Event
	ev := func(typ string, data any) ripcord.Event {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		return ripcord.Event{At: t0.Add(time.Duration(len(log)) * time.Second), Actor: ripcord.ActorEngine, Type: typ, Data: b}
	}
	servers := []string{"s-1", "s-2", "s-3"}
	spec := engine.Spec{Plan: "p", PlanHash: "h", Mode: ripcord.ModeRecovery, Steps: []engine.SpecStep{{Name: "all", Kind: ripcord.StepLaunch,
		Servers: []engine.SpecServer{{ID: "s-1", Target: "t"}, {ID: "s-2", Target: "t"}, {ID: "s-3", Target: "t"}}}}}
	if err := st.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "h", Name: "p", Source: []byte("plans: []"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	first := ev(engine.EvExecutionStarted, spec)
	if err := st.CreateExecution(ctx, ripcord.Execution{ID: "w", PlanName: "p", PlanHash: "h", Mode: ripcord.ModeRecovery,
		State: ripcord.ExecRunning, Started: t0, Actor: "alice"}, []ripcord.Event{first}); err != nil {
		t.Fatal(err)
	}
	log = append(log, first)

	// What another process records between two looks of watch.
	ticks := [][]ripcord.Event{
		{ev(engine.EvStepStarted, engine.StepStarted{Step: "all"}),
			ev(engine.EvLaunchRequested, engine.LaunchRequested{Step: "all", Batch: "b1", Target: "t", Servers: servers})},
		nil, // nothing new
		{ev(engine.EvJobCreated, engine.JobCreated{Batch: "b1", JobID: "j1"})},
		{ev(engine.EvServerStatus, engine.ServerStatus{Step: "all", Server: "s-1", Status: "LAUNCHED", JobID: "j1", InstanceID: "i-1"}),
			ev(engine.EvServerStatus, engine.ServerStatus{Step: "all", Server: "s-1", Status: "FAILED", JobID: "j1"}), // does not apply
			ev(engine.EvServerStatus, engine.ServerStatus{Step: "all", Server: "s-2", Status: "LAUNCHED", JobID: "j1", InstanceID: "i-2"})},
		nil,
		{ev(engine.EvServerStatus, engine.ServerStatus{Step: "all", Server: "s-3", Status: "LAUNCHED", JobID: "j1", InstanceID: "i-3"}),
			ev(engine.EvStepFinished, engine.StepFinished{Step: "all", Status: "succeeded"}),
			ev(engine.EvExecutionFinished, engine.ExecutionFinished{State: ripcord.ExecSucceeded})},
	}
	rc := &readCounter{Store: st}
	var seen []int64 // the last seq of each state watch showed
	onChange := func(s *engine.State) {
		all, err := st.Events(ctx, "w", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, err := engine.Fold("w", all)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("watch shows, at seq %d, another state than the fold of the log", s.LastSeq)
		}
		seen = append(seen, s.LastSeq)
	}
	tick := 0
	var lastSeqs []int64 // the log's last seq at each look
	wait := func() error {
		if tick == len(ticks) {
			return errors.New("watch did not stop at the end")
		}
		lastSeqs = append(lastSeqs, int64(len(log)))
		if evs := ticks[tick]; len(evs) > 0 {
			if _, err := st.Append(ctx, "w", int64(len(log)), 0, evs, nil); err != nil {
				t.Fatal(err)
			}
			log = append(log, evs...)
		}
		tick++
		return nil
	}
	s, err := watch(ctx, rc, "w", onChange, wait)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != ripcord.ExecSucceeded || tick != len(ticks) {
		t.Fatalf("watch ended at tick %d, state %s", tick, s.State)
	}
	if want := []int64{1, 3, 4, 7, 10}; !reflect.DeepEqual(seen, want) {
		t.Errorf("watch showed the states at seqs %v, want %v (once at the start, then once per look that found news)", seen, want)
	}
	folds, reads := rc.counts()
	if folds != 1 {
		t.Errorf("watch folded the whole log %d times, want 1", folds)
	}
	if want := append([]int64{0}, lastSeqs...); !reflect.DeepEqual(reads, want) {
		t.Errorf("watch read the log from seqs %v, want %v: from the start once, then from where it was", reads, want)
	}
}

// leaseScript is a store whose execution's lease is, at each read, the
// next of leases; any other call panics (the embedded Store is nil).
type leaseScript struct {
	ripcord.Store
	leases []ripcord.Lease
	reads  int
}

func (l *leaseScript) Lease(ctx context.Context, id string) (ripcord.Lease, error) {
	x := l.leases[min(l.reads, len(l.leases)-1)]
	l.reads++
	return x, nil
}

// stepClock is a clock whose Sleep moves it forward at once.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }
func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

// TestWaitLeaseReadsTheLease: resume --wait tried Run again every two
// seconds at most while another process drove the execution, and each
// try folded the whole log. It now reads the lease until it may be free:
// expired or released, taken over, or its holder gone.
func TestWaitLeaseReadsTheLease(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	owner := ripcord.LeaseOwner{Host: "dr-runner-2", PID: 4242, Started: t0}
	held := ripcord.Lease{ExecutionID: "x", Owner: owner, Epoch: 3, Acquired: t0, Expires: t0.Add(1500 * time.Millisecond)}
	renewed := func(k int) ripcord.Lease {
		l := held
		l.Expires = held.Expires.Add(time.Duration(k) * time.Second)
		return l
	}
	released := renewed(3)
	released.Expires = t0 // before any look
	takenOver := renewed(1)
	takenOver.Epoch, takenOver.Owner.PID = 4, 5151
	for _, tc := range []struct {
		name   string
		leases []ripcord.Lease
		gone   bool
		reads  int
	}{
		{"renewed twice, then released", []ripcord.Lease{renewed(1), renewed(2), released}, false, 3},
		{"renewed, then left to expire", []ripcord.Lease{renewed(1)}, false, 2},
		{"taken over", []ripcord.Lease{renewed(1), takenOver}, false, 2},
		{"its holder is gone", []ripcord.Lease{renewed(1)}, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &leaseScript{leases: tc.leases}
			clock := &stepClock{now: t0}
			if err := waitLease(t.Context(), st, "x", held, func(ripcord.LeaseOwner) bool { return tc.gone }, clock); err != nil {
				t.Fatal(err)
			}
			if st.reads != tc.reads {
				t.Errorf("read the lease %d times, want %d", st.reads, tc.reads)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := waitLease(ctx, &leaseScript{leases: []ripcord.Lease{held}}, "x", held, func(ripcord.LeaseOwner) bool { return false }, &stepClock{now: t0}); err == nil {
		t.Error("waitLease went on after its context ended")
	}
}
