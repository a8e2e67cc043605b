package supervisor_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/examples"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/sqlite"
	"github.com/ripcord-dr/ripcord/supervisor"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// noWait is an SDK retry backoff that does not wait.
type noWait struct{}

func (noWait) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// scanClock tells the time of the simulator's clock but never ends a
// scan's sleep by itself: the test calls TakeOver when it wants a scan.
type scanClock struct{ c *drssim.ManualClock }

func (s scanClock) Now() time.Time { return s.c.Now() }
func (s scanClock) Sleep(ctx context.Context, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// world is the three-tier simulator on HTTP, a SQLite store on its clock,
// and a supervisor whose engines sleep on the simulator's clock.
type world struct {
	t       *testing.T
	clock   *drssim.ManualClock
	sim     *drssim.Sim
	store   ripcord.Store
	sup     *supervisor.Supervisor
	stopped chan stop
	file    *ripcord.PlanFile
	cancel  context.CancelFunc
	done    chan struct{}
	connect func(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error)
	newEng  func(targets map[string]ripcord.DRS) *engine.Engine
}

type stop struct {
	id  string
	s   *engine.State
	err error
}

func newWorld(t *testing.T, hooks engine.Hooks) *world {
	t.Helper()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	clock := drssim.NewManualClock(t0)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ripcord.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	file, err := plan.Decode("three-tier.yaml", examples.ThreeTier)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, clock: clock, sim: sim, store: store, stopped: make(chan stop, 16), file: file}
	w.connect = func(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error) {
		out := map[string]ripcord.DRS{}
		for _, tg := range targets {
			c, err := drs.New(ctx, drs.Config{Region: tg.Region, Endpoint: srv.URL, STSEndpoint: srv.URL, RateLimit: 10000, RetryBackoff: noWait{},
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
			if err != nil {
				return nil, err
			}
			out[tg.Name] = c
		}
		return out, nil
	}
	w.newEng = func(targets map[string]ripcord.DRS) *engine.Engine {
		return engine.New(engine.Config{Store: store, Targets: targets, Clock: clock, Actor: "ripcord-serve", Hooks: hooks,
			OwnerGone: func(ripcord.LeaseOwner) bool { return false }})
	}
	w.sup = w.newSupervisor()
	return w
}

// newSupervisor is a supervisor of the world's store, as a new process
// would start one.
func (w *world) newSupervisor() *supervisor.Supervisor { return w.newSupervisorWith(nil) }

// newSupervisorWith is newSupervisor with its configuration changed by mod.
func (w *world) newSupervisorWith(mod func(*supervisor.Config)) *supervisor.Supervisor {
	cfg := supervisor.Config{Store: w.store, Connect: w.connect, NewEngine: w.newEng, Clock: scanClock{w.clock},
		OnStop: func(id string, s *engine.State, err error) { w.stopped <- stop{id, s, err} }}
	if mod != nil {
		mod(&cfg)
	}
	return supervisor.New(cfg)
}

// run starts the supervisor's Run; the test's end stops it.
func (w *world) run() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		if err := w.sup.Run(ctx); err != nil {
			w.t.Error(err)
		}
	}()
	w.t.Cleanup(w.shutdown)
	// Run sets itself up before its first scan's sleep; Drive refuses
	// until then.
	for w.sup.Drive("no-such-execution") != nil {
		select {
		case <-w.done:
			w.t.Fatal("the supervisor's Run returned at once")
		default:
		}
	}
	if s := <-w.stopped; s.id != "no-such-execution" || s.err == nil {
		w.t.Fatalf("driving a missing execution: %+v", s)
	}
}

func (w *world) shutdown() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel = nil
	}
}

// next waits for a driver to stop.
func (w *world) next() stop {
	w.t.Helper()
	select {
	case s := <-w.stopped:
		return s
	case <-time.After(time.Minute): // a bound on a hang, not a pause
		w.t.Fatal("no driver stopped within a minute of real time")
		return stop{}
	}
}

func (w *world) begin(id string) engine.Begun {
	w.t.Helper()
	b, err := w.sup.Begin(context.Background(), engine.BeginRequest{File: w.file, Plan: "orders", Mode: ripcord.ModeDrill, ID: id, Actor: "alice"})
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func TestBeginDrivesTheDrillToItsEnd(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	w.run()
	w.begin("drill-1")
	s := w.next()
	if s.id != "drill-1" || s.err != nil || s.s.State != ripcord.ExecSucceeded {
		t.Fatalf("driver stopped: %s %v %v; want drill-1 succeeded", s.id, s.err, s.s.State)
	}
	if w.sup.Driving("drill-1") {
		t.Error("still driving a finished execution")
	}
}

// TestTakesOverAnAbandonedExecution: an execution recorded by a process
// that died before driving it (its lease never taken) is found by the
// next scan and driven to its end.
func TestTakesOverAnAbandonedExecution(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	w.record("abandoned")
	w.run()
	if err := w.sup.TakeOver(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.next()
	if s.id != "abandoned" || s.err != nil || s.s.State != ripcord.ExecSucceeded {
		t.Fatalf("driver stopped: %s %v; want the abandoned execution succeeded", s.id, s.err)
	}
}

// record records an execution of the example plan through an engine of
// its own and drives nothing, as a `ripcord run` killed right after
// recording would leave it.
func (w *world) record(id string) {
	w.t.Helper()
	spec := specOf(w.t, w)
	clients, err := w.connect(context.Background(), spec.Targets)
	if err != nil {
		w.t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: w.store, Targets: clients, Clock: w.clock})
	if err := w.store.SavePlanVersion(context.Background(), ripcord.PlanVersion{Hash: spec.PlanHash, Name: spec.Plan, Source: []byte("p"), Created: t0}); err != nil {
		w.t.Fatal(err)
	}
	if err := eng.Start(context.Background(), id, spec); err != nil {
		w.t.Fatal(err)
	}
}

// specOf resolves the example plan against the simulator's servers, for
// tests that record executions themselves.
func specOf(t *testing.T, w *world) engine.Spec {
	t.Helper()
	one, err := w.file.Extract("orders")
	if err != nil {
		t.Fatal(err)
	}
	servers := map[string][]plan.SourceServerInfo{}
	for _, rv := range w.sim.State(drssim.StateFilter{}).Regions {
		for _, sv := range rv.Servers {
			servers["dr"] = append(servers["dr"], plan.SourceServerInfo{ID: sv.SourceServerID, Tags: sv.Tags})
		}
	}
	resolved, err := plan.Resolve(one, "orders", servers)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := engine.BuildSpec(one, "orders", ripcord.ModeDrill, resolved)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestShutdownLeavesExecutionsResumable: the supervisor's context ends in
// the middle of a drill. The driver stops softly (ErrStopped), the
// execution is left running with its lease released, and the next
// supervisor takes it over and finishes it.
func TestShutdownLeavesExecutionsResumable(t *testing.T) {
	stopNow := make(chan struct{})
	var once bool
	w := newWorld(t, engine.Hooks{AfterPoll: func() error {
		if !once {
			once = true
			close(stopNow)
		}
		return nil
	}})
	w.run()
	w.begin("drill-2")
	<-stopNow
	w.shutdown()
	s := w.next()
	if s.err == nil || s.s == nil || s.s.State != ripcord.ExecRunning {
		t.Fatalf("driver stopped with %v in state %v; want a soft stop of a running execution", s.err, s.s)
	}
	l, err := w.store.Lease(context.Background(), "drill-2")
	if err != nil {
		t.Fatal(err)
	}
	if l.Expires.After(w.clock.Now()) {
		t.Errorf("lease %+v still live after a soft stop; want it released", l)
	}

	// A new supervisor on the same store takes it over.
	w.sup = w.newSupervisor()
	w.run()
	if err := w.sup.TakeOver(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := w.next(); s.id != "drill-2" || s.err != nil || s.s.State != ripcord.ExecSucceeded {
		t.Fatalf("after the takeover: %s %v; want drill-2 succeeded", s.id, s.err)
	}
}

// TestCarriesOutACleanupThatFellDue: a drill ends with its cleanup
// scheduled ten minutes later, and the process driving it stops right
// then (the server went down). The first scan after the cleanup is due
// carries it out; a scan before does nothing.
func TestCarriesOutACleanupThatFellDue(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	ctx, stopDriver := context.WithCancel(context.Background())
	defer stopDriver()
	clients, err := w.connect(ctx, w.file.Targets)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: w.store, Targets: clients, Clock: w.clock, OnChange: func(s *engine.State) {
		if s.Final() {
			stopDriver()
		}
	}})
	b, err := eng.Begin(ctx, engine.BeginRequest{File: w.file, Plan: "orders", Mode: ripcord.ModeDrill, ID: "drill-3",
		Actor: "alice", CleanupAfter: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	st, err := eng.Run(ctx, b.ID)
	if !errors.Is(err, engine.ErrStopped) || st.State != ripcord.ExecSucceeded || st.Cleanup.Done || st.Cleanup.Due.IsZero() {
		t.Fatalf("the first driver: %v, %s, cleanup %+v; want a stop after the drill succeeded, its cleanup scheduled", err, st.State, st.Cleanup)
	}
	w.run()
	if err := w.sup.TakeOver(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-w.stopped:
		t.Fatalf("a scan before the cleanup was due drove %s", s.id)
	default:
	}
	w.clock.Set(st.Cleanup.Due.Add(time.Second))
	if err := w.sup.TakeOver(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.next()
	if s.id != b.ID || s.err != nil || !s.s.Cleanup.Done || s.s.Cleanup.Instances != 6 {
		t.Fatalf("after the due scan: %s %v cleanup %+v; want the cleanup of 6 instances done", s.id, s.err, s.s.Cleanup)
	}
}

// TestLiveLeaseIsLeftAlone: a running execution another driver holds live
// is not touched by a scan.
func TestLiveLeaseIsLeftAlone(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	w.record("held")
	if _, err := w.store.AcquireLease(context.Background(), "held", ripcord.LeaseOwner{Host: "elsewhere", PID: 7, Started: t0}, time.Hour); err != nil {
		t.Fatal(err)
	}
	w.run()
	if err := w.sup.TakeOver(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.sup.Driving("held") {
		t.Error("the scan started a driver for an execution another driver holds")
	}
	select {
	case s := <-w.stopped:
		t.Fatalf("a driver ran for %s", s.id)
	default:
	}
}

// TestControlPauseThenResume: a person pauses a running drill through the
// supervisor; its driver settles paused once its launches in flight are
// done; resuming drives it again to its end. Unknown actions are refused.
func TestControlPauseThenResume(t *testing.T) {
	var w *world
	paused := false
	w = newWorld(t, engine.Hooks{AfterPoll: func() error {
		if !paused {
			paused = true
			if err := w.sup.Control(context.Background(), "drill-4", "pause", "alice", ""); err != nil {
				t.Error(err)
			}
		}
		return nil
	}})
	w.run()
	w.begin("drill-4")
	if s := w.next(); s.err != nil || s.s.State != ripcord.ExecPaused {
		t.Fatalf("after the pause: %v %s; want the driver settled, paused", s.err, s.s.State)
	}
	if err := w.sup.Control(context.Background(), "drill-4", "resume", "bob", ""); err != nil {
		t.Fatal(err)
	}
	if s := w.next(); s.err != nil || s.s.State != ripcord.ExecSucceeded {
		t.Fatalf("after the resume: %v %s; want succeeded", s.err, s.s.State)
	}
	if err := w.sup.Control(context.Background(), "drill-4", "explode", "bob", ""); ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Errorf("unknown action: %v; want EINVALID", err)
	}
}

// TestFailedDriverBacksOff: a driver that fails (not for a lease) leaves
// its execution resumable, and scans do not drive it again until its
// backoff has passed on the clock (the scan interval, doubling): a failure
// that repeats does not repeat as fast as scans and notes come.
func TestFailedDriverBacksOff(t *testing.T) {
	boom := errors.New("boom")
	var fails atomic.Int32
	fails.Store(2)
	w := newWorld(t, engine.Hooks{AfterPoll: func() error {
		if fails.Add(-1) >= 0 {
			return boom
		}
		return nil
	}})
	w.run()
	w.begin("drill-1")
	if s := w.next(); s.id != "drill-1" || !errors.Is(s.err, boom) {
		t.Fatalf("first driver: %+v; want it to fail with boom", s)
	}
	ctx := context.Background()
	if err := w.sup.TakeOver(ctx); err != nil {
		t.Fatal(err)
	}
	if w.sup.Driving("drill-1") {
		t.Fatal("a scan right after the failure drove the execution again")
	}
	w.clock.Advance(16 * time.Second) // past the first backoff (the 15s scan)
	if err := w.sup.TakeOver(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.next(); s.id != "drill-1" || !errors.Is(s.err, boom) {
		t.Fatalf("second driver: %+v; want it to fail with boom", s)
	}
	w.clock.Advance(16 * time.Second) // the second backoff is 30s
	if err := w.sup.TakeOver(ctx); err != nil {
		t.Fatal(err)
	}
	if w.sup.Driving("drill-1") {
		t.Fatal("the second backoff did not double")
	}
	w.clock.Advance(15 * time.Second) // past it: the third driver runs to the end
	if err := w.sup.TakeOver(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.next(); s.id != "drill-1" || s.err != nil || s.s == nil || s.s.State != ripcord.ExecSucceeded {
		t.Fatalf("third driver: %+v; want the drill to succeed", s)
	}
}

// refuseTerminate is a DRS client whose TerminateRecoveryInstances is
// refused for good (as a missing permission is), counting the calls.
type refuseTerminate struct {
	ripcord.DRS
	calls *atomic.Int32
}

func (r refuseTerminate) TerminateRecoveryInstances(context.Context, []string) (ripcord.Job, error) {
	r.calls.Add(1)
	return ripcord.Job{}, &ripcord.Error{Code: ripcord.EINVALID, Message: "AccessDeniedException: not authorized to perform drs:TerminateRecoveryInstances",
		Hint: "grant drs:TerminateRecoveryInstances"}
}

// TestFailedCleanupBacksOff: a drill's cleanup that DRS refuses for good
// after the drill ended shows failed, and the supervisor tries it again
// with its driver backoff, not at every scan.
func TestFailedCleanupBacksOff(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	var calls atomic.Int32
	connect := w.connect
	w.connect = func(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error) {
		clients, err := connect(ctx, targets)
		for name, c := range clients {
			clients[name] = refuseTerminate{DRS: c, calls: &calls}
		}
		return clients, err
	}
	w.sup = w.newSupervisor()
	w.run()
	if _, err := w.sup.Begin(context.Background(), engine.BeginRequest{File: w.file, Plan: "orders", Mode: ripcord.ModeDrill, ID: "drill-refused",
		Actor: "alice", CleanupAtEnd: true}); err != nil {
		t.Fatal(err)
	}
	s := w.next()
	if s.err != nil || s.s.State != ripcord.ExecSucceeded || s.s.Cleanup.Failed == "" || calls.Load() != 1 {
		t.Fatalf("the drill: %v, %s, cleanup %+v, %d terminate calls; want succeeded, its cleanup failed once", s.err, s.s.State, s.s.Cleanup, calls.Load())
	}
	// settle waits until no driver of the drill runs (Drive marks it
	// driving before TakeOver returns), so a scan that drove it is seen.
	settle := func() {
		for w.sup.Driving("drill-refused") {
			w.next()
		}
	}
	for range 3 { // scans before the backoff has passed
		if err := w.sup.TakeOver(context.Background()); err != nil {
			t.Fatal(err)
		}
		settle()
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d terminate calls after three scans within the backoff; want still 1", n)
	}
	w.clock.Advance(time.Minute) // past the first backoff
	if err := w.sup.TakeOver(context.Background()); err != nil {
		t.Fatal(err)
	}
	settle()
	st, err := engine.New(engine.Config{Store: w.store}).Load(context.Background(), "drill-refused")
	if err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 || st.Summarize(0).Cleanup != "failed" {
		t.Errorf("after the backoff: %d terminate calls, cleanup %q; want tried again once, still failed", n, st.Summarize(0).Cleanup)
	}
}
