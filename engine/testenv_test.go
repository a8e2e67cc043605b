package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// The three-tier scenario's servers, by tier.
const (
	db1  = "s-3c1730a9e0771ea14"
	db2  = "s-3d75cdc0d9a28a725"
	app1 = "s-3afa164776f93ce4f"
	app2 = "s-3c63bb8be30d7d071"
	web1 = "s-3578f52ef3bdd58b4"
	web2 = "s-3b9401c1cd270a7a8"
)

// prod lists servers of the "prod" target.
func prod(ids ...string) []engine.SpecServer {
	out := make([]engine.SpecServer, 0, len(ids))
	for _, id := range ids {
		out = append(out, engine.SpecServer{ID: id, Target: "prod"})
	}
	return out
}

// launchStep is a launch step of the "prod" target.
func launchStep(name string, after []string, ids ...string) engine.SpecStep {
	return engine.SpecStep{Name: name, Kind: ripcord.StepLaunch, After: after, Servers: prod(ids...)}
}

// spec is a drill of steps with the given failure policy.
func spec(policy ripcord.FailurePolicy, steps ...engine.SpecStep) engine.Spec {
	return engine.Spec{
		Plan: "orders", PlanHash: "test-hash", Mode: ripcord.ModeDrill,
		Settings: ripcord.Settings{FailurePolicy: policy, ConflictDeadline: 15 * time.Minute, RTOTarget: time.Hour},
		Steps:    steps,
	}
}

// boundedClock is the manual clock that refuses to sleep past a simulated limit,
// so that an execution that never ends fails the test instead of hanging it.
type boundedClock struct {
	*drssim.ManualClock
	limit time.Time
}

func (b boundedClock) Sleep(ctx context.Context, d time.Duration) error {
	if b.Now().Add(d).After(b.limit) {
		return fmt.Errorf("simulated time limit %s reached: the execution does not end", b.limit)
	}
	return b.ManualClock.Sleep(ctx, d)
}

// engineWith is env.engine with a chance to change the configuration. Its
// clock stops the engine after twelve simulated hours.
func (e *env) engineWith(mod func(*engine.Config)) *engine.Engine {
	cfg := engine.Config{
		Store:   e.store,
		Targets: map[string]ripcord.DRS{"prod": e.drs},
		Clock:   boundedClock{e.clock, e.clock.Now().Add(12 * time.Hour)},
		// See env.engine.
		OwnerGone: func(ripcord.LeaseOwner) bool { return true },
	}
	if mod != nil {
		mod(&cfg)
	}
	return engine.New(cfg)
}

// run drives the execution until Run returns and fails the test on an error.
func (e *env) run(eng *engine.Engine, id string) *engine.State {
	e.t.Helper()
	s, err := eng.Run(context.Background(), id)
	if err != nil {
		e.t.Fatalf("run %s: %v", id, err)
	}
	return s
}

// wantState fails the test unless the execution ended in want.
func wantState(t *testing.T, s *engine.State, want ripcord.ExecState) {
	t.Helper()
	if s.State != want {
		t.Fatalf("execution state %s (%s), want %s", s.State, s.Reason, want)
	}
}

// jobsOf returns the client-created LAUNCH jobs that hold server, oldest first.
func (e *env) jobsOf(server string) []drssim.JobView {
	return e.launchJobsOf()[server]
}

// serverIn returns server's timeline in job j.
func serverIn(j drssim.JobView, server string) drssim.ServerTimeline {
	for _, s := range j.Servers {
		if s.SourceServerID == server {
			return s
		}
	}
	return drssim.ServerTimeline{}
}

// lastFinished is when the last of servers finished in its (only or last)
// LAUNCH job, in the simulator's model.
func (e *env) lastFinished(servers ...string) time.Time {
	e.t.Helper()
	var t time.Time
	for _, id := range servers {
		jobs := e.jobsOf(id)
		if len(jobs) == 0 {
			e.t.Fatalf("server %s has no LAUNCH job", id)
		}
		st := serverIn(jobs[len(jobs)-1], id)
		if st.Finished.IsZero() {
			e.t.Fatalf("server %s has not finished in job %s", id, jobs[len(jobs)-1].JobID)
		}
		if st.Finished.After(t) {
			t = st.Finished
		}
	}
	return t
}

// evData decodes the payloads of the events of one type.
func evData[T any](t *testing.T, evs []ripcord.Event, typ string) []T {
	t.Helper()
	var out []T
	for _, ev := range evs {
		if ev.Type != typ {
			continue
		}
		var v T
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			t.Fatalf("event %d %s: %v", ev.Seq, ev.Type, err)
		}
		out = append(out, v)
	}
	return out
}

// Payloads as tests read them: the engine's own types.
type (
	evStep    = engine.StepFinished
	evServer  = engine.ServerStatus
	evRefused = engine.LaunchRefused
	evJob     = engine.JobCreated
)

// opRecorder wraps the simulator's handler and counts, per DRS operation,
// the answers it gave by error type ("" for success), as the service
// answered them: what the client did with them does not matter.
//
// With noRetryAfter it also removes the simulator's Retry-After hints from
// throttling and 5xx answers: the SDK waits that long in real time before it
// retries a read, which against a simulator on a manual clock only makes a
// test slow (one real second per throttled attempt).
type opRecorder struct {
	next         http.Handler
	noRetryAfter bool
	mu           sync.Mutex
	seen         map[string]map[string]int // op -> error type -> count
}

type statusRecorder struct {
	http.ResponseWriter
	code         int
	noRetryAfter bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	if w.noRetryAfter {
		w.Header().Del("Retry-After")
		w.Header().Del("X-Amz-Retry-After")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (o *opRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &statusRecorder{ResponseWriter: w, noRetryAfter: o.noRetryAfter}
	o.next.ServeHTTP(rw, r)
	op := strings.TrimPrefix(r.URL.Path, "/")
	if strings.HasPrefix(op, "tags/") || strings.HasPrefix(op, "_sim") {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[op] == nil {
		o.seen[op] = map[string]int{}
	}
	o.seen[op][rw.Header().Get("X-Amzn-ErrorType")]++
}

// answers returns how often op was answered with each error type.
func (o *opRecorder) answers(op string) map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for k, v := range o.seen[op] {
		out[k] = v
	}
	return out
}

// record puts an opRecorder in front of the simulator: the env's server and
// client are replaced by ones that go through it.
func (e *env) record(noRetryAfter bool) *opRecorder {
	rec := &opRecorder{next: e.sim, noRetryAfter: noRetryAfter, seen: map[string]map[string]int{}}
	e.srv = httptest.NewServer(rec)
	e.t.Cleanup(e.srv.Close)
	e.drs = e.client("AKIDTEST", "us-east-1")
	return rec
}

// totalRequests is how many DRS requests the simulator received.
func (e *env) totalRequests() int64 {
	var n int64
	for _, c := range e.sim.OperationCounts() {
		n += c
	}
	return n
}

// concurrency is the most jobs and servers in jobs a region had active at
// once, reconstructed from the model's job timeline, and the largest job.
type concurrency struct {
	Jobs, Servers, LargestJob, JobCount int
}

func peakConcurrency(rv drssim.RegionView, now time.Time) concurrency {
	type edge struct {
		at      time.Time
		jobs, n int
	}
	var edges []edge
	var c concurrency
	for _, j := range rv.Jobs {
		end := j.Ended
		if end.IsZero() {
			end = now
		}
		edges = append(edges, edge{j.Created, 1, len(j.Servers)}, edge{end, -1, -len(j.Servers)})
		c.LargestJob = max(c.LargestJob, len(j.Servers))
		c.JobCount++
	}
	// Ends before starts at the same instant: the simulator applies every
	// transition due before it answers a request.
	sort.SliceStable(edges, func(a, b int) bool {
		if !edges[a].at.Equal(edges[b].at) {
			return edges[a].at.Before(edges[b].at)
		}
		return edges[a].jobs < edges[b].jobs
	})
	jobs, servers := 0, 0
	for _, ed := range edges {
		jobs += ed.jobs
		servers += ed.n
		c.Jobs = max(c.Jobs, jobs)
		c.Servers = max(c.Servers, servers)
	}
	return c
}
