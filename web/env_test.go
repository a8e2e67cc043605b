package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/examples"
	"github.com/ripcord-dr/ripcord/sqlite"
	"github.com/ripcord-dr/ripcord/web"
)

// manualClock is the server's and the store's clock in tests.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a real server on a loopback port, on a SQLite store in a temp
// dir, with a live token of each role.
type env struct {
	t       *testing.T
	ctx     context.Context
	clock   *manualClock
	store   *sqlite.Store
	handler *web.Handler
	srv     *httptest.Server
	secrets map[ripcord.Role]string
	tokens  map[ripcord.Role]ripcord.Token
	// front serves the test server's requests: the handler, or a
	// wrapper of it that watches them.
	front atomic.Pointer[http.Handler]
}

func (e *env) setFront(h http.Handler) { e.front.Store(&h) }

func newEnv(t *testing.T, configure ...func(*web.Config)) *env {
	t.Helper()
	ctx := context.Background()
	clk := &manualClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ripcord.db"), sqlite.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := web.Config{Store: st, Now: clk.Now, PollInterval: 2 * time.Millisecond, KeepAlive: time.Hour}
	for _, f := range configure {
		f(&cfg)
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, clock: clk, store: st, handler: h,
		secrets: map[ripcord.Role]string{}, tokens: map[ripcord.Role]ripcord.Token{}}
	e.setFront(h)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.front.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(func() { h.Close(); e.srv.Close() })
	for _, role := range ripcord.Roles {
		secret, tok := e.mintToken(string(role)+"-user", role, time.Time{})
		e.secrets[role], e.tokens[role] = secret, tok
	}
	return e
}

// mintToken stores a new token as `ripcord token create` will.
func (e *env) mintToken(name string, role ripcord.Role, expires time.Time) (string, ripcord.Token) {
	e.t.Helper()
	secret, id, hash, err := ripcord.NewToken()
	if err != nil {
		e.t.Fatal(err)
	}
	tok := ripcord.Token{ID: id, Name: name, Role: role, Hash: hash, Expires: expires}
	if err := e.store.CreateToken(e.ctx, tok); err != nil {
		e.t.Fatal(err)
	}
	return secret, tok
}

func (e *env) client(secret string) *client.Client {
	e.t.Helper()
	c, err := client.New(e.srv.URL, secret, client.WithReconnect(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) as(role ripcord.Role) *client.Client { return e.client(e.secrets[role]) }

// raw makes a request by hand and returns the status, headers and body.
func (e *env) raw(method, path, secret string, body []byte, header map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// errorOf decodes an error answer, failing the test if it is not the API's
// one shape.
func errorOf(t *testing.T, status int, h http.Header, body []byte) client.ErrorDetail {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("status %d: Content-Type %q, want JSON: %s", status, ct, body)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("status %d: not the error shape: %s", status, body)
	}
	for _, k := range []string{"code", "message", "hint"} {
		if _, ok := raw["error"][k]; !ok {
			t.Errorf("status %d: the error has no %q: %s", status, k, body)
		}
	}
	var eb client.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatal(err)
	}
	if got := web.Status(eb.Error.Code); got != status {
		t.Errorf("code %s answered with status %d; the table says %d", eb.Error.Code, status, got)
	}
	return eb.Error
}

// wantCode fails unless err is a *ripcord.Error with the code.
func wantCode(t *testing.T, err error, code string) *ripcord.Error {
	t.Helper()
	re, ok := err.(*ripcord.Error)
	if !ok {
		t.Fatalf("got %T %v, want a *ripcord.Error with code %s", err, err, code)
	}
	if re.Code != code {
		t.Fatalf("got code %s (%s; %s), want %s", re.Code, re.Message, re.Hint, code)
	}
	return re
}

// orders is the example three-tier plan file; ordersV2 changes it.
var (
	orders   = examples.ThreeTier
	ordersV2 = bytes.Replace(examples.ThreeTier, []byte("rto: 45m"), []byte("rto: 30m"), 1)
)

// savePlans saves a plan file through the API as admin.
func (e *env) savePlans(file []byte) client.SaveResult {
	e.t.Helper()
	res, err := e.as(ripcord.RoleAdmin).SavePlans(e.ctx, "orders.yaml", file)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

const serverID = "s-1234567890abcdef0"

// createExecution records an execution of plan version hash as the engine
// would (a launch step with one server) and returns its ID; with launched
// its server is launched.
func (e *env) createExecution(id, hash string, mode ripcord.Mode, started time.Time, launched bool) string {
	e.t.Helper()
	spec := engine.Spec{Plan: "orders", PlanHash: hash, Mode: mode,
		Settings: ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: 15 * time.Minute},
		Targets:  []ripcord.Target{{Name: "dr", Account: "111122223333", Region: "us-east-1"}},
		Steps:    []engine.SpecStep{{Name: "database", Kind: ripcord.StepLaunch, Servers: []engine.SpecServer{{ID: serverID, Target: "dr"}}}}}
	x := ripcord.Execution{ID: id, PlanName: "orders", PlanHash: hash, Mode: mode, State: ripcord.ExecRunning,
		Started: started, Actor: "alice (tok_1)"}
	if err := e.store.CreateExecution(e.ctx, x, []ripcord.Event{ev(engine.EvExecutionStarted, started, spec)}); err != nil {
		e.t.Fatal(err)
	}
	if launched {
		at := started.Add(time.Minute)
		e.append(id, 1,
			ev(engine.EvStepStarted, at, engine.StepStarted{Step: "database"}),
			ev(engine.EvLaunchRequested, at, engine.LaunchRequested{Step: "database", Batch: "b1", Target: "dr", Servers: []string{serverID}}),
			ev(engine.EvJobCreated, at, engine.JobCreated{Batch: "b1", JobID: "drsjob-1"}),
			ev(engine.EvServerStatus, at.Add(5*time.Minute), engine.ServerStatus{Step: "database", Server: serverID, Status: "LAUNCHED", JobID: "drsjob-1", InstanceID: "i-1"}))
	}
	return id
}

func ev(typ string, at time.Time, data any) ripcord.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return ripcord.Event{Type: typ, Actor: ripcord.ActorEngine, At: at, Data: b}
}

// append appends events after seq afterSeq and returns the new last seq.
func (e *env) append(id string, afterSeq int64, evs ...ripcord.Event) int64 {
	e.t.Helper()
	last, err := e.store.Append(e.ctx, id, afterSeq, 0, evs, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return last
}

// outage is a filler event of the engine's types, numbered by n.
func outage(at time.Time, n int) ripcord.Event {
	return ev(engine.EvDRSUnavailable, at, engine.DRSUnavailable{Target: "dr", Op: "DescribeJobs",
		Error: fmt.Sprintf("attempt %d: connection reset", n), Since: at, Attempts: n})
}

// snapshot is everything the store holds, to compare before and after.
type snapshot struct {
	Plans      []ripcord.PlanVersion
	Executions []ripcord.Execution
	Events     map[string][]ripcord.Event
	Tokens     []ripcord.Token
	Audit      []ripcord.AuditEntry
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	var s snapshot
	var err error
	must := func(err error) {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	s.Plans, err = e.store.ListPlanVersions(e.ctx, "")
	must(err)
	s.Executions, err = e.store.ListExecutions(e.ctx, ripcord.ExecutionFilter{})
	must(err)
	s.Events = map[string][]ripcord.Event{}
	for _, x := range s.Executions {
		s.Events[x.ID], err = e.store.Events(e.ctx, x.ID, 0, 0)
		must(err)
	}
	s.Tokens, err = e.store.ListTokens(e.ctx)
	must(err)
	s.Audit, err = e.store.ListAudit(e.ctx, ripcord.AuditFilter{})
	must(err)
	return s
}

func (e *env) sameStore(before snapshot, what string) {
	e.t.Helper()
	if after := e.snapshot(); !reflect.DeepEqual(before, after) {
		e.t.Errorf("%s changed the store:\nbefore %+v\nafter  %+v", what, before, after)
	}
}
