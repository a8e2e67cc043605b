package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/notify"
	"github.com/ripcord-dr/ripcord/sqlite"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const (
	db1  = "s-3c1730a9e0771ea14"
	app1 = "s-3afa164776f93ce4f"
	web1 = "s-3578f52ef3bdd58b4"
)

type noWait struct{}

func (noWait) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// env is a drill's world: the simulator on real HTTP, the real DRS
// adapter, a SQLite store on the simulator's clock and an engine.
type env struct {
	t     *testing.T
	sim   *drssim.Sim
	srv   *httptest.Server
	clock *drssim.ManualClock
	store ripcord.Store
	eng   *engine.Engine
	drs   ripcord.DRS
}

func newEnv(t *testing.T, faults ...drssim.Fault) *env {
	t.Helper()
	return newEnvOn(t, func(now func() time.Time) ripcord.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ripcord.db"), sqlite.WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}, faults...)
}

// newEnvOn is newEnv with the store open returns (on the simulator's clock).
func newEnvOn(t *testing.T, open func(now func() time.Time) ripcord.Store, faults ...drssim.Fault) *env {
	t.Helper()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	sc.Faults = faults
	sc.SNSTopics = []string{"arn:aws:sns:us-east-1:111122223333:dr-alerts"}
	clock := drssim.NewManualClock(t0)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	st := open(clock.Now)
	c, err := drs.New(context.Background(), drs.Config{Region: "us-east-1", Endpoint: srv.URL, STSEndpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RateLimit: 10000, RetryBackoff: noWait{}})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: st, Targets: map[string]ripcord.DRS{"prod": c}, Clock: clock,
		OwnerGone: func(ripcord.LeaseOwner) bool { return true }})
	return &env{t: t, sim: sim, srv: srv, clock: clock, store: st, eng: eng, drs: c}
}

// drill starts a three-step drill of plan "orders" notifying dests.
func (e *env) drill(id string, policy ripcord.FailurePolicy, dests ...ripcord.Notification) {
	e.t.Helper()
	step := func(name string, after []string, id string) engine.SpecStep {
		return engine.SpecStep{Name: name, Kind: ripcord.StepLaunch, After: after, Servers: []engine.SpecServer{{ID: id, Target: "prod"}}}
	}
	spec := engine.Spec{Plan: "orders", PlanHash: "h-" + id, Mode: ripcord.ModeDrill,
		Settings: ripcord.Settings{FailurePolicy: policy, ConflictDeadline: 15 * time.Minute, Notify: dests},
		Targets:  []ripcord.Target{{Name: "prod", Account: "111122223333", Region: "us-east-1", Endpoint: e.srv.URL}},
		Steps:    []engine.SpecStep{step("database", nil, db1), step("app", []string{"database"}, app1), step("web", []string{"app"}, web1)}}
	ctx := context.Background()
	if err := e.store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: spec.Plan, Source: []byte("plan"), Created: e.clock.Now()}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.eng.Start(ctx, id, spec); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run(id string) *engine.State {
	e.t.Helper()
	s, err := e.eng.Run(context.Background(), id)
	if err != nil {
		e.t.Fatalf("run %s: %v", id, err)
	}
	return s
}

// receiver is a webhook receiver: it answers fail() (nil: 204) and keeps
// every body it was posted.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	posts  int
	fail   func(n int) int // the status for the nth post (1-based); 0: 204
}

func newReceiver(t *testing.T, fail func(n int) int) *receiver {
	r := &receiver{fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.posts++
		n := r.posts
		status := 0
		if r.fail != nil {
			status = r.fail(n)
		}
		if status == 0 {
			r.bodies = append(r.bodies, b)
			status = http.StatusNoContent
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// sleeps is a clock that never waits: Sleep records how long it was asked.
type sleeps struct {
	mu     sync.Mutex
	now    time.Time
	waited []time.Duration
}

func (c *sleeps) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waited = append(c.waited, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// dispatch runs a dispatcher until the test ends; ended receives each
// delivery that ended.
func (e *env) dispatch(holder string, store ripcord.Store, clock notify.Clock, mod func(*notify.Config)) <-chan ripcord.Delivery {
	e.t.Helper()
	ended := make(chan ripcord.Delivery, 100)
	cfg := notify.Config{Store: store, Holder: holder, PublicURL: "https://dr.example.com", Clock: clock, Since: t0.Add(-time.Hour),
		Recorded: func(d ripcord.Delivery) { ended <- d }}
	if mod != nil {
		mod(&cfg)
	}
	d, err := notify.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return ended
}

// await returns the next n deliveries that ended, or fails after a minute.
func await(t *testing.T, ended <-chan ripcord.Delivery, n int) []ripcord.Delivery {
	t.Helper()
	var out []ripcord.Delivery
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for len(out) < n {
		select {
		case d := <-ended:
			out = append(out, d)
		case <-timeout.C:
			t.Fatalf("%d deliveries ended, want %d: %+v", len(out), n, out)
		}
	}
	return out
}

// TestEveryKind: a drill against the simulator whose web server fails to
// launch (policy stop), paused and resumed by a person before it runs, and
// cleaned up after: each kind of notification reaches a JSON webhook and
// a Slack webhook, once, with the execution's facts.
func TestEveryKind(t *testing.T) {
	e := newEnv(t, drssim.Fault{Kind: "fail-server", Servers: []string{web1}, Stage: "launch", Always: true})
	js := newReceiver(t, nil)
	slack := newReceiver(t, nil)
	e.drill("exec-1", ripcord.FailureStop, ripcord.Notification{Webhook: js.URL}, ripcord.Notification{Webhook: slack.URL, Format: "slack"})
	ctx := context.Background()
	if err := e.eng.Pause(ctx, "exec-1", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Resume(ctx, "exec-1", "alice"); err != nil {
		t.Fatal(err)
	}
	if s := e.run("exec-1"); s.State != ripcord.ExecFailed {
		t.Fatalf("execution %s (%s), want failed", s.State, s.Reason)
	}
	if err := e.eng.Cleanup(ctx, "exec-1", "alice"); err != nil {
		t.Fatal(err)
	}
	e.run("exec-1")

	ended := e.dispatch("replica-a", e.store, &sleeps{now: t0}, nil)
	const kinds = 5 // started, waiting, stepFailed, finished, cleanup
	got := await(t, ended, 2*kinds)
	for _, d := range got {
		if d.Status != ripcord.DeliverySent || d.Attempts != 1 {
			t.Errorf("delivery %+v, want sent at the first attempt", d)
		}
	}
	var msgs []notify.Message
	for _, b := range js.received() {
		var m notify.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("JSON body %s: %v", b, err)
		}
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].ID < msgs[j].ID })
	byKind := map[string]notify.Message{}
	for _, m := range msgs {
		if _, dup := byKind[m.Kind]; dup {
			t.Errorf("kind %s delivered twice", m.Kind)
		}
		byKind[m.Kind] = m
		if m.Version != 1 || m.Plan != "orders" || m.ExecutionID != "exec-1" || m.Mode != ripcord.ModeDrill ||
			m.URL != "https://dr.example.com/console/executions/exec-1" || m.Time.IsZero() || !strings.HasPrefix(m.ID, "exec-1/") {
			t.Errorf("message %+v lacks the execution's facts", m)
		}
	}
	if len(byKind) != kinds {
		t.Fatalf("JSON kinds %v, want %d kinds", msgs, kinds)
	}
	if m := byKind[ripcord.NotifyWaiting]; m.Verdict != "paused" || !strings.Contains(m.Reason, "alice") {
		t.Errorf("waiting = %+v, want paused by alice", m)
	}
	if m := byKind[ripcord.NotifyStepFailed]; m.Step != "web" || m.Reason == "" {
		t.Errorf("stepFailed = %+v, want step web with a reason", m)
	}
	if m := byKind[ripcord.NotifyFinished]; m.Verdict != "failed" || m.ReportURL != "https://dr.example.com/console/executions/exec-1/report" {
		t.Errorf("finished = %+v, want failed with the report's link", m)
	}
	if m := byKind[ripcord.NotifyCleanup]; m.Verdict != "done" || !strings.Contains(m.Reason, "2 drill instances terminated") {
		t.Errorf("cleanup = %+v, want done with 2 instances", m)
	}
	// The Slack form: text and blocks, one per kind.
	slackKinds := map[string]bool{}
	for _, b := range slack.received() {
		var m struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type string `json:"type"`
				Text *struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"text"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("Slack body %s: %v", b, err)
		}
		if !strings.HasPrefix(m.Text, "ripcord: drill of orders exec-1 ") || len(m.Blocks) != 2 || m.Blocks[0].Type != "section" ||
			m.Blocks[0].Text == nil || m.Blocks[0].Text.Type != "mrkdwn" || m.Blocks[1].Type != "context" {
			t.Errorf("Slack message %s", b)
		}
		slackKinds[strings.TrimPrefix(m.Text, "ripcord: drill of orders exec-1 ")] = true
	}
	for _, want := range []string{"started", "is waiting for a person", "step web failed", "finished: failed", "cleanup done"} {
		if !slackKinds[want] {
			t.Errorf("no Slack message says %q (got %v)", want, slackKinds)
		}
	}
	list, err := e.store.ListDeliveries(ctx, "exec-1")
	if err != nil || len(list) != 2*kinds {
		t.Fatalf("ListDeliveries = %d, %v; want %d", len(list), err, 2*kinds)
	}
}

// TestRetries: a receiver that fails twice and then takes the message:
// three attempts recorded, with backoff waits on the dispatcher's clock;
// the execution succeeds regardless.
func TestRetries(t *testing.T) {
	e := newEnv(t)
	hook := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	e.drill("exec-r", ripcord.FailureStop, ripcord.Notification{Webhook: hook.URL, Events: []string{ripcord.NotifyStarted}})
	clock := &sleeps{now: t0}
	ended := e.dispatch("replica-a", e.store, clock, nil)
	d := await(t, ended, 1)[0]
	if d.Status != ripcord.DeliverySent || d.Attempts != 3 {
		t.Fatalf("delivery %+v, want sent at attempt 3", d)
	}
	if len(hook.received()) != 1 {
		t.Fatalf("receiver took %d messages, want 1", len(hook.received()))
	}
	clock.mu.Lock()
	waited := append([]time.Duration(nil), clock.waited...)
	clock.mu.Unlock()
	if len(waited) != 2 || waited[0] > 2*time.Second || waited[1] > 4*time.Second {
		t.Errorf("waits %v, want two jittered exponential waits (at most 2s, 4s)", waited)
	}
	if s := e.run("exec-r"); s.State != ripcord.ExecSucceeded {
		t.Fatalf("execution %s, want succeeded", s.State)
	}
}

// TestAlwaysFails: a receiver that always fails: the delivery is recorded
// failed after every attempt, with the last error; the execution succeeds.
func TestAlwaysFails(t *testing.T) {
	e := newEnv(t)
	hook := newReceiver(t, func(int) int { return http.StatusBadGateway })
	e.drill("exec-f", ripcord.FailureStop, ripcord.Notification{Webhook: hook.URL + "/secret-path", Events: []string{ripcord.NotifyFinished}})
	ended := e.dispatch("replica-a", e.store, &sleeps{now: t0}, func(c *notify.Config) { c.Attempts = 4 })
	if s := e.run("exec-f"); s.State != ripcord.ExecSucceeded {
		t.Fatalf("execution %s, want succeeded", s.State)
	}
	d := await(t, ended, 1)[0]
	if d.Status != ripcord.DeliveryFailed || d.Attempts != 4 || !strings.Contains(d.LastError, "502") || strings.Contains(d.LastError, "secret-path") {
		t.Fatalf("delivery %+v, want failed after 4 attempts with the 502 and without the URL's path", d)
	}
	x, err := e.store.Execution(context.Background(), "exec-f")
	if err != nil || x.State != ripcord.ExecSucceeded {
		t.Fatalf("execution after the failed notification: %+v, %v", x, err)
	}
}

// TestPermanentNotRetried: a 4xx answer is not retried.
func TestPermanentNotRetried(t *testing.T) {
	e := newEnv(t)
	hook := newReceiver(t, func(int) int { return http.StatusNotFound })
	e.drill("exec-p", ripcord.FailureStop, ripcord.Notification{Webhook: hook.URL, Events: []string{ripcord.NotifyStarted}})
	ended := e.dispatch("replica-a", e.store, &sleeps{now: t0}, nil)
	if d := await(t, ended, 1)[0]; d.Status != ripcord.DeliveryFailed || d.Attempts != 1 {
		t.Fatalf("delivery %+v, want failed at the first attempt", d)
	}
}
