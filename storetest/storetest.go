// Package storetest is the conformance suite of ripcord.Store: the contract
// that the SQLite and the PostgreSQL stores both pass, so that the engine
// can rely on one behaviour whichever database it runs on. A store's own
// tests call [Run]; what only one database can do (its migrations, its file
// format) is tested beside it.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Run runs the conformance suite. newStore returns a new, empty, open store
// for one subtest and closes it when that test ends (t.Cleanup); the suite
// may close it first, so Close must tolerate a second call. The store must
// judge leases on the clock now (sqlite.WithClock), and date tokens and
// audit entries by it; the suite advances it by hand: no test sleeps.
func Run(t *testing.T, newStore func(t *testing.T, now func() time.Time) ripcord.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ripcord.Store, clock *Clock)
	}{
		{"PlanVersions", plain(testPlanVersions)},
		{"PlanVersionInvalid", plain(testPlanVersionInvalid)},
		{"PlanVersionList", plain(testPlanVersionList)},
		{"CreateExecution", plain(testCreateExecution)},
		{"CreateExecutionConflict", plain(testCreateExecutionConflict)},
		{"CreateExecutionUnknownPlan", plain(testCreateExecutionUnknownPlan)},
		{"CreateExecutionInvalid", plain(testCreateExecutionInvalid)},
		{"NotFound", plain(testNotFound)},
		{"Append", plain(testAppend)},
		{"AppendStale", plain(testAppendStale)},
		{"AppendInvalid", plain(testAppendInvalid)},
		{"AppendGapless", plain(testAppendGapless)},
		{"AppendRace", plain(testAppendRace)},
		{"AppendRaceRetry", plain(testAppendRaceRetry)},
		{"Update", plain(testUpdate)},
		{"UpdateAtomic", plain(testUpdateAtomic)},
		{"EventsPaging", plain(testEventsPaging)},
		{"ListExecutions", plain(testListExecutions)},
		{"LargeData", plain(testLargeData)},
		{"DataBytes", plain(testDataBytes)},
		{"Times", plain(testTimes)},
		{"CancelledContext", plain(testCancelledContext)},
		{"Closed", plain(testClosed)},
		{"Leases", testLeases},
		{"LeaseConflictMessage", testLeaseConflictMessage},
		{"LeaseInvalid", testLeaseInvalid},
		{"LeaseRace", testLeaseRace},
		{"AppendFenced", testAppendFenced},
		{"Exclusive", testExclusive},
		{"ExclusiveRace", testExclusiveRace},
		{"Tokens", testTokens},
		{"TokenConflict", testTokenConflict},
		{"TokenInvalid", testTokenInvalid},
		{"RevokeToken", testRevokeToken},
		{"TokenLive", testTokenLive},
		{"Audit", testAudit},
		{"AuditList", testAuditList},
		{"AuditInvalid", testAuditInvalid},
		{"AuditRace", testAuditRace},
		{"AuditImmutable", testAuditImmutable},
		{"Sessions", testSessions},
		{"ServerSecret", plain(testServerSecret)},
		{"Heartbeats", testHeartbeats},
		{"Leave", testLeave},
		{"ClusterInvalid", testClusterInvalid},
		{"Mutexes", testMutexes},
		{"MutexRace", testMutexRace},
		{"Notes", testNotes},
		{"NotesCancel", testNotesCancel},
		{"NotesFallBehind", testNotesFallBehind},
		{"ClusterClosed", testClusterClosed},
		{"ClusterCancelledContext", testClusterCancelledContext},
		{"Deliveries", testDeliveries},
		{"DeliveryTakeover", testDeliveryTakeover},
		{"DeliveryList", testDeliveryList},
		{"DeliveryInvalid", testDeliveryInvalid},
		{"DeliveryRace", testDeliveryRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(t0)
			tt.fn(t, newStore(t, clock.Now), clock)
		})
	}
}

// plain adapts a test that does not need the clock.
func plain(fn func(*testing.T, ripcord.Store)) func(*testing.T, ripcord.Store, *Clock) {
	return func(t *testing.T, s ripcord.Store, _ *Clock) { fn(t, s) }
}

// Clock is a manual clock for a store's tests: it stands still until
// Advance moves it. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time; pass it to the store as its clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// t0 is the suite's clock: a time with sub-microsecond digits, so that a
// store that keeps nanoseconds, or drops microseconds, is caught.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// savePlan saves a plan version named name and returns its hash.
func savePlan(t *testing.T, s ripcord.Store, name string) string {
	t.Helper()
	v := ripcord.PlanVersion{Hash: "h-" + name, Name: name, Source: []byte("plans:\n  - name: " + name + "\n"), Created: t0}
	if err := s.SavePlanVersion(context.Background(), v); err != nil {
		t.Fatalf("SavePlanVersion: %v", err)
	}
	return v.Hash
}

func newExecution(id, plan string) ripcord.Execution {
	return ripcord.Execution{
		ID:       id,
		PlanName: plan,
		PlanHash: "h-" + plan,
		Mode:     ripcord.ModeDrill,
		State:    ripcord.ExecRunning,
		Started:  t0,
		Actor:    "alice@example.com",
	}
}

func event(typ, data string) ripcord.Event {
	e := ripcord.Event{At: t0, Actor: ripcord.ActorEngine, Type: typ}
	if data != "" {
		e.Data = json.RawMessage(data)
	}
	return e
}

// create saves the plan and creates execution id with one ExecutionStarted
// event.
func create(t *testing.T, s ripcord.Store, id string) ripcord.Execution {
	t.Helper()
	savePlan(t, s, "three-tier")
	x := newExecution(id, "three-tier")
	if err := s.CreateExecution(context.Background(), x, []ripcord.Event{event("ExecutionStarted", `{"servers":6}`)}); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	x.LastSeq = 1
	return x
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want code %s", code)
	}
	if got := ripcord.ErrorCode(err); got != code {
		t.Fatalf("error code = %s, want %s (err: %v)", got, code, err)
	}
	if code == ripcord.ENOTFOUND && ripcord.ErrorHint(err) == "" {
		t.Errorf("a not-found error has no hint: %v", err)
	}
}

func getExecution(t *testing.T, s ripcord.Store, id string) ripcord.Execution {
	t.Helper()
	x, err := s.Execution(context.Background(), id)
	if err != nil {
		t.Fatalf("Execution(%s): %v", id, err)
	}
	return x
}

func allEvents(t *testing.T, s ripcord.Store, id string) []ripcord.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), id, 0, 0)
	if err != nil {
		t.Fatalf("Events(%s): %v", id, err)
	}
	return evs
}

// checkGapless fails unless evs are execution id's events 1..n in order.
func checkGapless(t *testing.T, evs []ripcord.Event, id string, n int) {
	t.Helper()
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) || e.ExecutionID != id {
			t.Fatalf("event %d is (%s, seq %d), want (%s, seq %d)", i, e.ExecutionID, e.Seq, id, i+1)
		}
	}
}

func equalExecution(a, b ripcord.Execution) bool {
	return a.ID == b.ID && a.PlanName == b.PlanName && a.PlanHash == b.PlanHash && a.Mode == b.Mode &&
		a.State == b.State && a.Started.Equal(b.Started) && a.Ended.Equal(b.Ended) && a.Actor == b.Actor &&
		a.LastSeq == b.LastSeq && bytes.Equal(a.Summary, b.Summary) && a.Exclusive == b.Exclusive
}

func testPlanVersions(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	v := ripcord.PlanVersion{Hash: "abc123", Name: "three-tier", Source: []byte("# the first\nplans: []\n"), Created: t0}
	if err := s.SavePlanVersion(ctx, v); err != nil {
		t.Fatalf("SavePlanVersion: %v", err)
	}
	// The same hash again, with other comments: a no-op that succeeds.
	again := v
	again.Source, again.Created = []byte("# the second\nplans: []\n"), at(time.Hour)
	for range 2 {
		if err := s.SavePlanVersion(ctx, again); err != nil {
			t.Fatalf("SavePlanVersion of a saved hash: %v", err)
		}
	}
	got, err := s.PlanVersion(ctx, "abc123")
	if err != nil {
		t.Fatalf("PlanVersion: %v", err)
	}
	if got.Hash != v.Hash || got.Name != v.Name || !bytes.Equal(got.Source, v.Source) || !got.Created.Equal(ripcord.StoreTime(v.Created)) {
		t.Errorf("PlanVersion = %+v, want the first version saved %+v", got, v)
	}
	_, err = s.PlanVersion(ctx, "def456")
	wantCode(t, err, ripcord.ENOTFOUND)
}

func testPlanVersionInvalid(t *testing.T, s ripcord.Store) {
	valid := ripcord.PlanVersion{Hash: "abc", Name: "p", Source: []byte("x"), Created: t0}
	tests := []struct {
		name   string
		change func(*ripcord.PlanVersion)
	}{
		{"no hash", func(v *ripcord.PlanVersion) { v.Hash = "" }},
		{"no name", func(v *ripcord.PlanVersion) { v.Name = "" }},
		{"no source", func(v *ripcord.PlanVersion) { v.Source = nil }},
		{"no time", func(v *ripcord.PlanVersion) { v.Created = time.Time{} }},
		{"year 10000", func(v *ripcord.PlanVersion) { v.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := valid
			tt.change(&v)
			wantCode(t, s.SavePlanVersion(context.Background(), v), ripcord.EINVALID)
		})
	}
	if v, err := s.PlanVersion(context.Background(), "abc"); err == nil {
		t.Errorf("an invalid plan version was saved: %+v", v)
	}
}

func testCreateExecution(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	savePlan(t, s, "three-tier")
	x := newExecution("ex-1", "three-tier")
	x.Mode = ripcord.ModeRecovery
	x.Summary = json.RawMessage(`{"steps":3}`)
	x.Exclusive = "three-tier@123456789012/us-east-1"
	x.LastSeq = 99 // ignored: the store sets it
	first := []ripcord.Event{
		event("ExecutionStarted", `{"plan":"three-tier"}`),
		{At: at(time.Millisecond), Actor: "alice@example.com", Type: "ServersResolved", Data: json.RawMessage(`["s-1","s-2"]`)},
		{At: at(2 * time.Millisecond), Actor: ripcord.ActorEngine, Type: "StepStarted", ExecutionID: "ex-1", Seq: 3},
	}
	if err := s.CreateExecution(ctx, x, first); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	want := x
	want.LastSeq = 3
	want.Started = ripcord.StoreTime(x.Started)
	if got := getExecution(t, s, "ex-1"); !equalExecution(got, want) {
		t.Errorf("Execution =\n%+v\nwant\n%+v", got, want)
	}
	evs := allEvents(t, s, "ex-1")
	checkGapless(t, evs, "ex-1", 3)
	for i, e := range evs {
		w := first[i]
		if !e.At.Equal(ripcord.StoreTime(w.At)) || e.Actor != w.Actor || e.Type != w.Type || !bytes.Equal(e.Data, w.Data) {
			t.Errorf("event %d = %+v, want %+v", i+1, e, w)
		}
	}
	if first[0].Seq != 0 || first[0].ExecutionID != "" {
		t.Errorf("CreateExecution changed the caller's events: %+v", first[0])
	}
}

func testCreateExecutionConflict(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	x := create(t, s, "ex-1")
	other := x
	other.Mode, other.Actor = ripcord.ModeRecovery, "mallory@example.com"
	err := s.CreateExecution(ctx, other, []ripcord.Event{event("ExecutionStarted", `{"again":true}`), event("More", "")})
	wantCode(t, err, ripcord.ECONFLICT)

	want := x
	want.Started = ripcord.StoreTime(x.Started)
	if got := getExecution(t, s, "ex-1"); !equalExecution(got, want) {
		t.Errorf("after a refused create, Execution = %+v, want %+v", got, want)
	}
	evs := allEvents(t, s, "ex-1")
	checkGapless(t, evs, "ex-1", 1)
	if string(evs[0].Data) != `{"servers":6}` {
		t.Errorf("after a refused create, event 1 = %+v", evs[0])
	}
}

func testCreateExecutionUnknownPlan(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	err := s.CreateExecution(ctx, newExecution("ex-1", "never-saved"), []ripcord.Event{event("ExecutionStarted", "")})
	wantCode(t, err, ripcord.ENOTFOUND)
	_, err = s.Execution(ctx, "ex-1")
	wantCode(t, err, ripcord.ENOTFOUND)
}

func testCreateExecutionInvalid(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	savePlan(t, s, "p")
	tests := []struct {
		name   string
		change func(*ripcord.Execution, *[]ripcord.Event)
	}{
		{"no ID", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.ID = "" }},
		{"no plan name", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.PlanName = "" }},
		{"no plan hash", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.PlanHash = "" }},
		{"unknown mode", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.Mode = "failover" }},
		{"unknown state", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.State = "done" }},
		{"no actor", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.Actor = "" }},
		{"no start", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.Started = time.Time{} }},
		{"summary not JSON", func(x *ripcord.Execution, _ *[]ripcord.Event) { x.Summary = json.RawMessage(`{`) }},
		{"no events", func(_ *ripcord.Execution, evs *[]ripcord.Event) { *evs = nil }},
		{"event without type", func(_ *ripcord.Execution, evs *[]ripcord.Event) { (*evs)[1].Type = "" }},
		{"event without actor", func(_ *ripcord.Execution, evs *[]ripcord.Event) { (*evs)[1].Actor = "" }},
		{"event without time", func(_ *ripcord.Execution, evs *[]ripcord.Event) { (*evs)[1].At = time.Time{} }},
		{"event data not JSON", func(_ *ripcord.Execution, evs *[]ripcord.Event) { (*evs)[1].Data = json.RawMessage(`nope`) }},
		{"event with a wrong seq", func(_ *ripcord.Execution, evs *[]ripcord.Event) { (*evs)[1].Seq = 7 }},
		{"event of another execution", func(_ *ripcord.Execution, evs *[]ripcord.Event) { (*evs)[1].ExecutionID = "ex-2" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newExecution("ex-1", "p")
			evs := []ripcord.Event{event("ExecutionStarted", ""), event("StepStarted", `{}`)}
			tt.change(&x, &evs)
			wantCode(t, s.CreateExecution(ctx, x, evs), ripcord.EINVALID)
			if x.ID != "" {
				_, err := s.Execution(ctx, x.ID)
				wantCode(t, err, ripcord.ENOTFOUND)
			}
		})
	}
}

func testNotFound(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1") // a store that is not empty
	tests := []struct {
		name string
		call func() error
	}{
		{"Execution", func() error { _, err := s.Execution(ctx, "ex-404"); return err }},
		{"Events", func() error { _, err := s.Events(ctx, "ex-404", 0, 0); return err }},
		{"Append", func() error {
			_, err := s.Append(ctx, "ex-404", 0, 0, []ripcord.Event{event("X", "")}, nil)
			return err
		}},
		{"PlanVersion", func() error { _, err := s.PlanVersion(ctx, "h-404"); return err }},
		{"Append with an epoch", func() error {
			_, err := s.Append(ctx, "ex-404", 0, 1, []ripcord.Event{event("X", "")}, nil)
			return err
		}},
		{"AcquireLease", func() error { _, err := s.AcquireLease(ctx, "ex-404", ownerA, time.Minute); return err }},
		{"RenewLease", func() error {
			_, err := s.RenewLease(ctx, ripcord.Lease{ExecutionID: "ex-404", Owner: ownerA, Epoch: 1}, time.Minute)
			return err
		}},
		{"ReleaseLease", func() error {
			return s.ReleaseLease(ctx, ripcord.Lease{ExecutionID: "ex-404", Owner: ownerA, Epoch: 1})
		}},
		{"Lease", func() error { _, err := s.Lease(ctx, "ex-404"); return err }},
		{"TokenByHash", func() error { _, err := s.TokenByHash(ctx, make([]byte, 32)); return err }},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, "tok_404") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.call(), ripcord.ENOTFOUND)
		})
	}
}

func testAppend(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	last, err := s.Append(ctx, "ex-1", 1, 0, []ripcord.Event{event("StepStarted", `{"step":"database"}`), event("LaunchRequested", `{"batch":1}`)}, nil)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if last != 3 {
		t.Errorf("Append returned last seq %d, want 3", last)
	}
	last, err = s.Append(ctx, "ex-1", 3, 0, []ripcord.Event{event("JobCreated", `{"job":"j-1"}`)}, nil)
	if err != nil || last != 4 {
		t.Fatalf("Append = %d, %v; want 4", last, err)
	}
	if x := getExecution(t, s, "ex-1"); x.LastSeq != 4 || x.State != ripcord.ExecRunning {
		t.Errorf("Execution = %+v, want last seq 4, still running", x)
	}
	evs := allEvents(t, s, "ex-1")
	checkGapless(t, evs, "ex-1", 4)
	if evs[3].Type != "JobCreated" || string(evs[3].Data) != `{"job":"j-1"}` {
		t.Errorf("event 4 = %+v", evs[3])
	}
}

func testAppendStale(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	if _, err := s.Append(ctx, "ex-1", 1, 0, []ripcord.Event{event("A", ""), event("B", "")}, nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	before := getExecution(t, s, "ex-1")
	paused := ripcord.ExecPaused
	for _, afterSeq := range []int64{0, 1, 2, 4, 100} {
		t.Run(fmt.Sprint("after ", afterSeq), func(t *testing.T) {
			_, err := s.Append(ctx, "ex-1", afterSeq, 0, []ripcord.Event{event("Stale", "")},
				&ripcord.ExecutionUpdate{State: &paused, Summary: json.RawMessage(`{"stale":true}`)})
			wantCode(t, err, ripcord.ECONFLICT)
			if got := getExecution(t, s, "ex-1"); !equalExecution(got, before) {
				t.Errorf("a refused append changed the execution: %+v, was %+v", got, before)
			}
			evs := allEvents(t, s, "ex-1")
			checkGapless(t, evs, "ex-1", 3)
		})
	}
}

func testAppendInvalid(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	before := getExecution(t, s, "ex-1")
	bogus := ripcord.ExecState("bogus")
	tests := []struct {
		name     string
		afterSeq int64
		events   []ripcord.Event
		update   *ripcord.ExecutionUpdate
	}{
		{"no events", 1, nil, nil},
		{"no events with an update", 1, nil, &ripcord.ExecutionUpdate{Summary: json.RawMessage(`{}`)}},
		{"negative seq", -1, []ripcord.Event{event("A", "")}, nil},
		{"second event without type", 1, []ripcord.Event{event("A", ""), event("", "")}, nil},
		{"second event with bad data", 1, []ripcord.Event{event("A", ""), event("B", "{")}, nil},
		{"wrong seq", 1, []ripcord.Event{{Seq: 3, At: t0, Actor: "engine", Type: "A"}}, nil},
		{"unknown state", 1, []ripcord.Event{event("A", "")}, &ripcord.ExecutionUpdate{State: &bogus}},
		{"summary not JSON", 1, []ripcord.Event{event("A", "")}, &ripcord.ExecutionUpdate{Summary: json.RawMessage(`[`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(ctx, "ex-1", tt.afterSeq, 0, tt.events, tt.update)
			wantCode(t, err, ripcord.EINVALID)
			if got := getExecution(t, s, "ex-1"); !equalExecution(got, before) {
				t.Errorf("a refused append changed the execution: %+v", got)
			}
			checkGapless(t, allEvents(t, s, "ex-1"), "ex-1", 1)
		})
	}
}

func testAppendGapless(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	last := int64(1)
	for i := range 200 {
		batch := make([]ripcord.Event, 1+i%5)
		for j := range batch {
			batch[j] = event("Tick", fmt.Sprintf(`{"append":%d,"index":%d}`, i, j))
		}
		next, err := s.Append(ctx, "ex-1", last, 0, batch, nil)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if next != last+int64(len(batch)) {
			t.Fatalf("append %d returned %d, want %d", i, next, last+int64(len(batch)))
		}
		last = next
	}
	// One large batch.
	batch := make([]ripcord.Event, 1000)
	for j := range batch {
		batch[j] = event("Bulk", fmt.Sprintf(`{"index":%d}`, j))
	}
	last, err := s.Append(ctx, "ex-1", last, 0, batch, nil)
	if err != nil {
		t.Fatalf("append of 1000 events: %v", err)
	}
	evs := allEvents(t, s, "ex-1")
	checkGapless(t, evs, "ex-1", int(last))
	if x := getExecution(t, s, "ex-1"); x.LastSeq != last {
		t.Errorf("LastSeq = %d, want %d", x.LastSeq, last)
	}
	if want := `{"index":999}`; string(evs[last-1].Data) != want {
		t.Errorf("last event data = %s, want %s", evs[last-1].Data, want)
	}
}

// testAppendRace: in each round every writer appends after the same seq at
// the same moment; exactly one of them wins the next seq, the others are
// refused with ECONFLICT.
func testAppendRace(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	const writers, rounds = 8, 25
	winners := make([]int, 0, rounds)
	for round := range rounds {
		afterSeq := int64(1 + round)
		start := make(chan struct{})
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				_, errs[w] = s.Append(ctx, "ex-1", afterSeq, 0, []ripcord.Event{event("Race", fmt.Sprintf(`{"writer":%d}`, w))}, nil)
			})
		}
		close(start) // the barrier: all writers go at once
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both appended after seq %d", round, winner, w, afterSeq)
			case err == nil:
				winner = w
			case ripcord.ErrorCode(err) != ripcord.ECONFLICT:
				t.Fatalf("round %d: writer %d: %v, want a conflict", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer appended", round)
		}
		winners = append(winners, winner)
	}
	evs := allEvents(t, s, "ex-1")
	checkGapless(t, evs, "ex-1", 1+rounds)
	for round, w := range winners {
		if want := fmt.Sprintf(`{"writer":%d}`, w); string(evs[1+round].Data) != want {
			t.Errorf("seq %d holds %s, but the winner was writer %d", 2+round, evs[1+round].Data, w)
		}
	}
}

// testAppendRaceRetry: writers race, and each retries after a conflict from
// the last seq it reads, until all of its events are in: every event lands
// once, in each writer's order, with no gaps.
func testAppendRaceRetry(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	const writers, each = 6, 20
	start := make(chan struct{})
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := 0; i < each; {
				x, err := s.Execution(ctx, "ex-1")
				if err != nil {
					errs[w] = err
					return
				}
				_, err = s.Append(ctx, "ex-1", x.LastSeq, 0, []ripcord.Event{event("Race", fmt.Sprintf(`{"writer":%d,"i":%d}`, w, i))}, nil)
				switch {
				case err == nil:
					i++
				case ripcord.ErrorCode(err) != ripcord.ECONFLICT:
					errs[w] = err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	evs := allEvents(t, s, "ex-1")
	checkGapless(t, evs, "ex-1", 1+writers*each)
	next := make([]int, writers)
	for _, e := range evs[1:] {
		var d struct{ Writer, I int }
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("event %d: %v", e.Seq, err)
		}
		if d.I != next[d.Writer] {
			t.Fatalf("event %d is writer %d's #%d, want #%d (lost or duplicated)", e.Seq, d.Writer, d.I, next[d.Writer])
		}
		next[d.Writer]++
	}
}

func testUpdate(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	x := create(t, s, "ex-1")
	paused, failed := ripcord.ExecPaused, ripcord.ExecFailed
	ended := at(20 * time.Minute)
	zero := time.Time{}
	want := x
	want.Started = ripcord.StoreTime(x.Started)
	steps := []struct {
		name   string
		update *ripcord.ExecutionUpdate
		apply  func(*ripcord.Execution)
	}{
		{"nil update", nil, func(*ripcord.Execution) {}},
		{"empty update", &ripcord.ExecutionUpdate{}, func(*ripcord.Execution) {}},
		{"state and summary", &ripcord.ExecutionUpdate{State: &paused, Summary: json.RawMessage(`{"done":1}`)},
			func(x *ripcord.Execution) { x.State, x.Summary = paused, json.RawMessage(`{"done":1}`) }},
		{"summary only", &ripcord.ExecutionUpdate{Summary: json.RawMessage(`{"done":2}`)},
			func(x *ripcord.Execution) { x.Summary = json.RawMessage(`{"done":2}`) }},
		{"end", &ripcord.ExecutionUpdate{State: &failed, Ended: &ended},
			func(x *ripcord.Execution) { x.State, x.Ended = failed, ripcord.StoreTime(ended) }},
		{"clear the end", &ripcord.ExecutionUpdate{Ended: &zero},
			func(x *ripcord.Execution) { x.Ended = time.Time{} }},
	}
	for _, st := range steps {
		last, err := s.Append(ctx, "ex-1", want.LastSeq, 0, []ripcord.Event{event("Changed", "")}, st.update)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want.LastSeq = last
		st.apply(&want)
		if got := getExecution(t, s, "ex-1"); !equalExecution(got, want) {
			t.Fatalf("after %s: Execution =\n%+v\nwant\n%+v", st.name, got, want)
		}
	}
}

// testUpdateAtomic: while a writer appends events with updates, readers
// never see the projection out of step with itself or with the events.
func testUpdateAtomic(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	const appends = 60
	// stateAt is the state the writer sets with the append that ends at
	// seq n.
	stateAt := func(n int64) ripcord.ExecState {
		if n%2 == 0 {
			return ripcord.ExecPaused
		}
		return ripcord.ExecRunning
	}
	done := make(chan struct{})
	var writeErr error
	go func() {
		defer close(done)
		last := int64(1)
		for i := range appends {
			n := 1 + int64(i%3)
			state := stateAt(last + n)
			summary := json.RawMessage(fmt.Sprintf(`{"seq":%d}`, last+n))
			evs := make([]ripcord.Event, n)
			for j := range evs {
				evs[j] = event("Tick", "")
			}
			if last, writeErr = s.Append(ctx, "ex-1", last, 0, evs, &ripcord.ExecutionUpdate{State: &state, Summary: summary}); writeErr != nil {
				return
			}
		}
	}()
	check := func() (stop bool) {
		x, err := s.Execution(ctx, "ex-1")
		if err != nil {
			t.Errorf("Execution: %v", err)
			return true
		}
		if x.LastSeq == 1 {
			return false // no append yet
		}
		var sum struct{ Seq int64 }
		if err := json.Unmarshal(x.Summary, &sum); err != nil {
			t.Errorf("summary %s: %v", x.Summary, err)
			return true
		}
		if sum.Seq != x.LastSeq || x.State != stateAt(x.LastSeq) {
			t.Errorf("torn projection: last seq %d, state %s, summary %s", x.LastSeq, x.State, x.Summary)
			return true
		}
		evs, err := s.Events(ctx, "ex-1", x.LastSeq-1, 0)
		if err != nil || len(evs) == 0 || evs[0].Seq != x.LastSeq {
			t.Errorf("projection at seq %d but the events say %v (%v)", x.LastSeq, evs, err)
			return true
		}
		return false
	}
	for {
		select {
		case <-done:
			if writeErr != nil {
				t.Fatalf("writer: %v", writeErr)
			}
			check()
			return
		default:
			if check() {
				<-done
				return
			}
		}
	}
}

func testEventsPaging(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	create(t, s, "ex-2") // its events must not leak into ex-1's
	batch := make([]ripcord.Event, 24)
	for i := range batch {
		batch[i] = event("Tick", fmt.Sprintf(`{"i":%d}`, i+2))
	}
	if _, err := s.Append(ctx, "ex-1", 1, 0, batch, nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if _, err := s.Append(ctx, "ex-2", 1, 0, batch[:3], nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	tests := []struct {
		afterSeq       int64
		limit          int
		first, howMany int64
	}{
		{0, 0, 1, 25},
		{0, 10, 1, 10},
		{10, 10, 11, 10},
		{20, 10, 21, 5},
		{25, 10, 0, 0},
		{24, 0, 25, 1},
		{100, 0, 0, 0},
		{3, 1, 4, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("after %d limit %d", tt.afterSeq, tt.limit), func(t *testing.T) {
			evs, err := s.Events(ctx, "ex-1", tt.afterSeq, tt.limit)
			if err != nil {
				t.Fatalf("Events: %v", err)
			}
			if int64(len(evs)) != tt.howMany {
				t.Fatalf("%d events, want %d", len(evs), tt.howMany)
			}
			for i, e := range evs {
				if e.ExecutionID != "ex-1" || e.Seq != tt.first+int64(i) {
					t.Errorf("event %d is (%s, %d), want (ex-1, %d)", i, e.ExecutionID, e.Seq, tt.first+int64(i))
				}
			}
		})
	}
	// Paging to the end visits every event once.
	var seen []ripcord.Event
	for after := int64(0); ; {
		page, err := s.Events(ctx, "ex-1", after, 7)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		if len(page) == 0 {
			break
		}
		seen = append(seen, page...)
		after = page[len(page)-1].Seq
	}
	checkGapless(t, seen, "ex-1", 25)

	for _, bad := range []struct {
		afterSeq int64
		limit    int
	}{{-1, 0}, {0, -1}} {
		_, err := s.Events(ctx, "ex-1", bad.afterSeq, bad.limit)
		wantCode(t, err, ripcord.EINVALID)
	}
}

func testListExecutions(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	savePlan(t, s, "three-tier")
	savePlan(t, s, "payments")
	ist := time.FixedZone("IST", 5*3600+1800)
	execs := []struct {
		id, plan string
		state    ripcord.ExecState
		started  time.Time
	}{
		{"ex-a", "three-tier", ripcord.ExecSucceeded, at(0)},
		{"ex-b", "payments", ripcord.ExecFailed, at(time.Hour)},
		{"ex-c", "three-tier", ripcord.ExecRunning, at(2 * time.Hour).In(ist)}, // newest, in another zone
		{"ex-d", "three-tier", ripcord.ExecFailed, at(90 * time.Minute)},
		{"ex-e", "payments", ripcord.ExecRunning, at(time.Hour)}, // same start as ex-b: ID breaks the tie
		{"ex-f", "payments", ripcord.ExecPaused, at(-time.Hour).In(ist)},
	}
	for _, e := range execs {
		x := newExecution(e.id, e.plan)
		x.State, x.Started = e.state, e.started
		if err := s.CreateExecution(ctx, x, []ripcord.Event{event("ExecutionStarted", "")}); err != nil {
			t.Fatalf("CreateExecution(%s): %v", e.id, err)
		}
	}
	tests := []struct {
		name   string
		filter ripcord.ExecutionFilter
		want   string
	}{
		{"all", ripcord.ExecutionFilter{}, "ex-c ex-d ex-e ex-b ex-a ex-f"},
		{"limit", ripcord.ExecutionFilter{Limit: 2}, "ex-c ex-d"},
		{"limit above the count", ripcord.ExecutionFilter{Limit: 100}, "ex-c ex-d ex-e ex-b ex-a ex-f"},
		{"state", ripcord.ExecutionFilter{State: ripcord.ExecFailed}, "ex-d ex-b"},
		{"plan", ripcord.ExecutionFilter{PlanName: "payments"}, "ex-e ex-b ex-f"},
		{"state and plan", ripcord.ExecutionFilter{State: ripcord.ExecRunning, PlanName: "three-tier"}, "ex-c"},
		{"state, plan and limit", ripcord.ExecutionFilter{State: ripcord.ExecRunning, PlanName: "payments", Limit: 1}, "ex-e"},
		{"no match", ripcord.ExecutionFilter{State: ripcord.ExecCancelled}, ""},
		{"unknown plan", ripcord.ExecutionFilter{PlanName: "nope"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ListExecutions(ctx, tt.filter)
			if err != nil {
				t.Fatalf("ListExecutions: %v", err)
			}
			ids := make([]string, len(list))
			for i, x := range list {
				ids[i] = x.ID
				if x.LastSeq != 1 || x.Mode != ripcord.ModeDrill || x.Started.Location() != time.UTC {
					t.Errorf("%s = %+v", x.ID, x)
				}
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("ListExecutions = %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []ripcord.ExecutionFilter{{State: "bogus"}, {Limit: -1}} {
		_, err := s.ListExecutions(ctx, bad)
		wantCode(t, err, ripcord.EINVALID)
	}
	counts, err := s.CountExecutions(ctx)
	if err != nil {
		t.Fatalf("CountExecutions: %v", err)
	}
	want := map[ripcord.ExecState]int{ripcord.ExecSucceeded: 1, ripcord.ExecFailed: 2, ripcord.ExecRunning: 2, ripcord.ExecPaused: 1}
	if !maps.Equal(counts, want) {
		t.Errorf("CountExecutions = %v, want %v", counts, want)
	}
}

func testLargeData(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	// 4 MiB of JSON: a frozen list of thousands of resolved servers is
	// far smaller, but a store must not have a low ceiling.
	big := `{"blob":"` + strings.Repeat("0123456789abcdef", 1<<18) + `"}`
	summary := `{"servers":[` + strings.TrimSuffix(strings.Repeat(`"s-0123456789abcdef0",`, 20000), ",") + `]}`
	_, err := s.Append(ctx, "ex-1", 1, 0, []ripcord.Event{event("Big", big)}, &ripcord.ExecutionUpdate{Summary: json.RawMessage(summary)})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	evs := allEvents(t, s, "ex-1")
	if len(evs) != 2 || string(evs[1].Data) != big {
		t.Fatalf("the large payload did not come back whole (%d events)", len(evs))
	}
	if x := getExecution(t, s, "ex-1"); string(x.Summary) != summary {
		t.Fatalf("the large summary did not come back whole (%d bytes)", len(x.Summary))
	}
}

func testDataBytes(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	payloads := []string{
		`{"b": 1,  "a": [1, 2.50, 1e3]}`, // spacing, key order and number spelling are kept
		`"naïve ✓ \u00e9 — 日本"`,
		`null`,
		`[]`,
		"{\n\t\"multi\": \"line\"\n}",
		``, // no data
	}
	batch := make([]ripcord.Event, len(payloads))
	for i, p := range payloads {
		batch[i] = event("Data", p)
	}
	if _, err := s.Append(ctx, "ex-1", 1, 0, batch, nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	evs := allEvents(t, s, "ex-1")
	for i, p := range payloads {
		if got := string(evs[i+1].Data); got != p {
			t.Errorf("data %d = %q, want %q byte for byte", i, got, p)
		}
	}
}

func testTimes(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	zone := time.FixedZone("UTC-07", -7*3600)
	started := time.Date(2025, 12, 31, 22, 59, 59, 999999999, zone) // the next day, in UTC
	ended := time.Now()                                             // has a monotonic reading
	eventAt := time.Date(2026, 1, 1, 0, 0, 0, 1500, zone)
	created := time.Date(2024, 2, 29, 12, 0, 0, 123456789, zone)

	v := ripcord.PlanVersion{Hash: "h-p", Name: "p", Source: []byte("x"), Created: created}
	if err := s.SavePlanVersion(ctx, v); err != nil {
		t.Fatalf("SavePlanVersion: %v", err)
	}
	x := newExecution("ex-1", "p")
	x.Started = started
	e := event("ExecutionStarted", "")
	e.At = eventAt
	if err := s.CreateExecution(ctx, x, []ripcord.Event{e}); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	if _, err := s.Append(ctx, "ex-1", 1, 0, []ripcord.Event{event("Ended", "")}, &ripcord.ExecutionUpdate{Ended: &ended}); err != nil {
		t.Fatalf("Append: %v", err)
	}

	gotV, err := s.PlanVersion(ctx, "h-p")
	if err != nil {
		t.Fatalf("PlanVersion: %v", err)
	}
	gotX := getExecution(t, s, "ex-1")
	gotE := allEvents(t, s, "ex-1")[0]
	tests := []struct {
		name      string
		got, sent time.Time
	}{
		{"plan version created", gotV.Created, created},
		{"execution started", gotX.Started, started},
		{"execution ended", gotX.Ended, ended},
		{"event at", gotE.At, eventAt},
	}
	for _, tt := range tests {
		want := tt.sent.UTC().Truncate(time.Microsecond)
		if !tt.got.Equal(want) || tt.got.Location() != time.UTC {
			t.Errorf("%s = %v (%v), want %v: in UTC, to the microsecond", tt.name, tt.got, tt.got.Location(), want)
		}
	}
}

func testCancelledContext(t *testing.T, s ripcord.Store) {
	create(t, s, "ex-1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, "ex-1", 1, 0, []ripcord.Event{event("Late", "")}, nil); err == nil {
		t.Error("Append with a cancelled context succeeded")
	}
	if _, err := s.Execution(ctx, "ex-1"); err == nil {
		t.Error("Execution with a cancelled context succeeded")
	}
	if _, err := s.AcquireLease(ctx, "ex-1", ownerA, time.Minute); err == nil {
		t.Error("AcquireLease with a cancelled context succeeded")
	}
	if l, err := s.Lease(context.Background(), "ex-1"); err != nil || l.Epoch != 0 {
		t.Errorf("after a cancelled AcquireLease, Lease = %+v, %v; want epoch 0", l, err)
	}
	if err := s.CreateToken(ctx, newToken("tok_1")); err == nil {
		t.Error("CreateToken with a cancelled context succeeded")
	}
	if _, err := s.AppendAudit(ctx, auditEntry("alice", "plan.save", "p")); err == nil {
		t.Error("AppendAudit with a cancelled context succeeded")
	}
	if list, err := s.ListTokens(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("after a cancelled CreateToken, ListTokens = %+v, %v; want none", list, err)
	}
	if list, err := s.ListAudit(context.Background(), ripcord.AuditFilter{}); err != nil || len(list) != 0 {
		t.Errorf("after a cancelled AppendAudit, ListAudit = %+v, %v; want none", list, err)
	}
	checkGapless(t, allEvents(t, s, "ex-1"), "ex-1", 1)
}

func testClosed(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	create(t, s, "ex-1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"SavePlanVersion", func() error {
			return s.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "h2", Name: "p", Source: []byte("x"), Created: t0})
		}},
		{"PlanVersion", func() error { _, err := s.PlanVersion(ctx, "h-three-tier"); return err }},
		{"CreateExecution", func() error {
			return s.CreateExecution(ctx, newExecution("ex-2", "three-tier"), []ripcord.Event{event("ExecutionStarted", "")})
		}},
		{"Append", func() error { _, err := s.Append(ctx, "ex-1", 1, 0, []ripcord.Event{event("A", "")}, nil); return err }},
		{"Events", func() error { _, err := s.Events(ctx, "ex-1", 0, 0); return err }},
		{"Execution", func() error { _, err := s.Execution(ctx, "ex-1"); return err }},
		{"ListExecutions", func() error { _, err := s.ListExecutions(ctx, ripcord.ExecutionFilter{}); return err }},
		{"AcquireLease", func() error { _, err := s.AcquireLease(ctx, "ex-1", ownerA, time.Minute); return err }},
		{"RenewLease", func() error {
			_, err := s.RenewLease(ctx, ripcord.Lease{ExecutionID: "ex-1", Owner: ownerA, Epoch: 1}, time.Minute)
			return err
		}},
		{"ReleaseLease", func() error { return s.ReleaseLease(ctx, ripcord.Lease{ExecutionID: "ex-1", Owner: ownerA, Epoch: 1}) }},
		{"Lease", func() error { _, err := s.Lease(ctx, "ex-1"); return err }},
		{"ListPlanVersions", func() error { _, err := s.ListPlanVersions(ctx, ""); return err }},
		{"CreateToken", func() error { return s.CreateToken(ctx, newToken("tok_1")) }},
		{"TokenByHash", func() error { _, err := s.TokenByHash(ctx, newToken("tok_1").Hash); return err }},
		{"ListTokens", func() error { _, err := s.ListTokens(ctx); return err }},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, "tok_1") }},
		{"AppendAudit", func() error { _, err := s.AppendAudit(ctx, auditEntry("alice", "plan.save", "p")); return err }},
		{"ListAudit", func() error { _, err := s.ListAudit(ctx, ripcord.AuditFilter{}); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); err == nil {
				t.Errorf("%s on a closed store succeeded", c.name)
			}
		})
	}
	_ = s.Close() // a second Close must not panic; its error is the store's business
}

// Leases. ownerA and ownerB are two drivers; ownerA2 is ownerA's host and
// pid in a later process (a recycled pid): another owner. Their start
// times have nanoseconds, which the store drops.
var (
	ownerA  = ripcord.LeaseOwner{Host: "dr-host-a", PID: 4242, Started: at(-time.Hour)}
	ownerA2 = ripcord.LeaseOwner{Host: "dr-host-a", PID: 4242, Started: at(-time.Minute)}
	ownerB  = ripcord.LeaseOwner{Host: "dr-host-b", PID: 77, Started: at(-2 * time.Hour)}
)

// wantLease is a lease as a test expects it, its times as offsets from
// the moment its scenario began on the store's clock.
type wantLease struct {
	epoch             int64
	owner             ripcord.LeaseOwner
	acquired, expires time.Duration
}

// lease returns w as the store must return it for execution id: owner
// and times in UTC to the microsecond. Epoch 0 is the lease of an
// execution never leased: no owner, no times.
func (w wantLease) lease(id string, base time.Time) ripcord.Lease {
	if w.epoch == 0 {
		return ripcord.Lease{ExecutionID: id}
	}
	owner := w.owner
	owner.Started = ripcord.StoreTime(owner.Started)
	return ripcord.Lease{ExecutionID: id, Owner: owner, Epoch: w.epoch,
		Acquired: ripcord.StoreTime(base.Add(w.acquired)), Expires: ripcord.StoreTime(base.Add(w.expires))}
}

// checkLease fails unless got is want, with every time in UTC.
func checkLease(t *testing.T, what string, got, want ripcord.Lease) {
	t.Helper()
	same := got.ExecutionID == want.ExecutionID && got.Epoch == want.Epoch &&
		got.Owner.Host == want.Owner.Host && got.Owner.PID == want.Owner.PID && got.Owner.Started.Equal(want.Owner.Started) &&
		got.Acquired.Equal(want.Acquired) && got.Expires.Equal(want.Expires)
	for _, tm := range []time.Time{got.Owner.Started, got.Acquired, got.Expires} {
		same = same && tm.Location() == time.UTC
	}
	if !same {
		t.Fatalf("%s =\n%+v\nwant\n%+v (times in UTC, to the microsecond)", what, got, want)
	}
}

func currentLease(t *testing.T, s ripcord.Store, id string) ripcord.Lease {
	t.Helper()
	l, err := s.Lease(context.Background(), id)
	if err != nil {
		t.Fatalf("Lease(%s): %v", id, err)
	}
	return l
}

// wantLeaseLost fails unless err is the refusal of a stale lease epoch:
// ECONFLICT and ErrLeaseLost, naming the execution and who holds it now.
func wantLeaseLost(t *testing.T, err error, id string, holder ripcord.Lease) {
	t.Helper()
	wantCode(t, err, ripcord.ECONFLICT)
	if !errors.Is(err, ripcord.ErrLeaseLost) {
		t.Fatalf("err = %v, want ErrLeaseLost in its chain", err)
	}
	if holder.Epoch > 0 && !strings.Contains(err.Error(), holder.Owner.String()) || !strings.Contains(err.Error(), id) {
		t.Errorf("err = %q, want it to name execution %s and its holder %s", err, id, holder.Owner)
	}
}

// leaseStep is one lease call in a scenario, made after the store's clock
// moved on by advance, and what the store must answer. After every step,
// Lease must return want: the lease the call made on success, the lease
// as it was on a refusal.
type leaseStep struct {
	advance time.Duration
	call    string             // "acquire", "renew" or "release"
	owner   ripcord.LeaseOwner // acquire: who asks
	of      int                // renew, release: the step whose lease is renewed or released
	ttl     time.Duration      // acquire, renew

	code string // the error's code; "" for success
	lost bool   // the error is ErrLeaseLost
	want wantLease
}

func testLeases(t *testing.T, s ripcord.Store, clock *Clock) {
	const ttl = 30 * time.Second
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	a := func(epoch int64, acquired, expires int) wantLease {
		return wantLease{epoch, ownerA, sec(acquired), sec(expires)}
	}
	b := func(epoch int64, acquired, expires int) wantLease {
		return wantLease{epoch, ownerB, sec(acquired), sec(expires)}
	}
	tests := []struct {
		name  string
		steps []leaseStep
	}{
		{"first acquire takes epoch 1", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
		}},
		{"the owner acquiring again renews and keeps the epoch", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(10), call: "acquire", owner: ownerA, ttl: time.Minute, want: a(1, 0, 70)},
		}},
		{"another owner is refused while the lease is live", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: ttl - time.Microsecond, call: "acquire", owner: ownerB, ttl: ttl, code: ripcord.ECONFLICT, want: a(1, 0, 30)},
		}},
		{"a recycled pid is another owner", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(1), call: "acquire", owner: ownerA2, ttl: ttl, code: ripcord.ECONFLICT, want: a(1, 0, 30)},
		}},
		{"a takeover once the lease expires takes the next epoch", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: ttl, call: "acquire", owner: ownerB, ttl: ttl, want: b(2, 30, 60)},
		}},
		{"the owner of an expired lease takes a new epoch", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(31), call: "acquire", owner: ownerA, ttl: ttl, want: a(2, 31, 61)},
		}},
		{"a released lease is taken over at once", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(5), call: "release", of: 0, want: a(1, 0, 5)},
			{call: "acquire", owner: ownerB, ttl: ttl, want: b(2, 5, 35)},
		}},
		{"the previous owner cannot take a live lease back", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: ttl, call: "acquire", owner: ownerB, ttl: ttl, want: b(2, 30, 60)},
			{advance: sec(1), call: "acquire", owner: ownerA, ttl: ttl, code: ripcord.ECONFLICT, want: b(2, 30, 60)},
		}},
		{"every takeover moves the epoch on", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: ttl, call: "acquire", owner: ownerB, ttl: ttl, want: b(2, 30, 60)},
			{advance: ttl, call: "acquire", owner: ownerA, ttl: ttl, want: a(3, 60, 90)},
			{call: "release", of: 2, want: a(3, 60, 60)},
			{call: "acquire", owner: ownerB, ttl: ttl, want: b(4, 60, 90)},
		}},
		{"renewal extends the lease from now", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(20), call: "renew", of: 0, ttl: ttl, want: a(1, 0, 50)},
			{advance: sec(20), call: "renew", of: 1, ttl: ttl, want: a(1, 0, 70)},
			{advance: sec(29), call: "acquire", owner: ownerB, ttl: ttl, code: ripcord.ECONFLICT, want: a(1, 0, 70)},
		}},
		{"an expired lease nobody took over can be renewed", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(45), call: "renew", of: 0, ttl: ttl, want: a(1, 0, 75)},
			{call: "acquire", owner: ownerB, ttl: ttl, code: ripcord.ECONFLICT, want: a(1, 0, 75)},
		}},
		{"a released lease nobody took over can be renewed", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(5), call: "release", of: 0, want: a(1, 0, 5)},
			{advance: sec(5), call: "renew", of: 0, ttl: ttl, want: a(1, 0, 40)},
		}},
		{"releasing twice changes nothing", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(5), call: "release", of: 0, want: a(1, 0, 5)},
			{advance: sec(5), call: "release", of: 0, want: a(1, 0, 5)},
		}},
		{"renewal after a takeover is lost", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: ttl, call: "acquire", owner: ownerB, ttl: ttl, want: b(2, 30, 60)},
			{call: "renew", of: 0, ttl: ttl, code: ripcord.ECONFLICT, lost: true, want: b(2, 30, 60)},
		}},
		{"release after a takeover is lost", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: ttl, call: "acquire", owner: ownerB, ttl: ttl, want: b(2, 30, 60)},
			{call: "release", of: 0, code: ripcord.ECONFLICT, lost: true, want: b(2, 30, 60)},
		}},
		{"renewal after a takeover of the expired lease is lost", []leaseStep{
			{call: "acquire", owner: ownerA, ttl: ttl, want: a(1, 0, 30)},
			{advance: sec(40), call: "acquire", owner: ownerB, ttl: ttl, want: b(2, 40, 70)},
			{advance: sec(40), call: "renew", of: 0, ttl: ttl, code: ripcord.ECONFLICT, lost: true, want: b(2, 40, 70)},
		}},
	}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("ex-lease-%d", i)
			create(t, s, id)
			base := clock.Now()
			checkLease(t, "Lease before any", currentLease(t, s, id), wantLease{}.lease(id, base))
			var elapsed time.Duration
			leases := make([]ripcord.Lease, len(tt.steps)) // what each step made or used
			for n, st := range tt.steps {
				clock.Advance(st.advance)
				elapsed += st.advance
				want := st.want.lease(id, base)
				var got ripcord.Lease
				var err error
				switch st.call {
				case "acquire":
					got, err = s.AcquireLease(ctx, id, st.owner, st.ttl)
				case "renew":
					got, err = s.RenewLease(ctx, leases[st.of], st.ttl)
				case "release":
					got = leases[st.of]
					err = s.ReleaseLease(ctx, got)
				}
				what := fmt.Sprintf("step %d (%s at +%s)", n, st.call, elapsed)
				switch {
				case st.code == "" && err != nil:
					t.Fatalf("%s: %v", what, err)
				case st.code != "":
					if err == nil {
						t.Fatalf("%s succeeded, want %s", what, st.code)
					}
					wantCode(t, err, st.code)
					if st.lost {
						wantLeaseLost(t, err, id, want)
					} else if errors.Is(err, ripcord.ErrLeaseLost) {
						t.Fatalf("%s: %v is ErrLeaseLost; nobody lost a lease", what, err)
					}
					if st.call == "acquire" {
						checkLease(t, what+": the lease returned with the refusal", got, want)
					}
				case st.call != "release":
					checkLease(t, what+": the lease returned", got, want)
				}
				leases[n] = got
				checkLease(t, what+": then Lease", currentLease(t, s, id), want)
			}
		})
	}
}

// testLeaseConflictMessage: the refusal of a live lease tells a person who
// holds it and until when.
func testLeaseConflictMessage(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	create(t, s, "ex-1")
	held, err := s.AcquireLease(ctx, "ex-1", ownerA, time.Minute)
	if err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	clock.Advance(time.Second)
	got, err := s.AcquireLease(ctx, "ex-1", ownerB, time.Minute)
	wantCode(t, err, ripcord.ECONFLICT)
	checkLease(t, "the lease returned with the refusal", got, held)
	expiry := held.Expires.Format(time.RFC3339)
	for _, part := range []string{"ex-1", ownerA.String(), expiry} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("err = %q, want it to say %q (the execution, the holder, the expiry)", err, part)
		}
	}
	if ripcord.ErrorHint(err) == "" {
		t.Errorf("the refusal of a held lease has no hint: %v", err)
	}
}

func testLeaseInvalid(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	create(t, s, "ex-1")
	held, err := s.AcquireLease(ctx, "ex-1", ownerA, time.Minute)
	if err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	owner := func(change func(*ripcord.LeaseOwner)) ripcord.LeaseOwner {
		o := ownerB
		change(&o)
		return o
	}
	expired := held
	expired.Epoch = 0
	tests := []struct {
		name string
		call func() error
	}{
		{"acquire with ttl 0", func() error { _, err := s.AcquireLease(ctx, "ex-1", ownerA, 0); return err }},
		{"acquire with a negative ttl", func() error { _, err := s.AcquireLease(ctx, "ex-1", ownerA, -time.Second); return err }},
		{"owner without host", func() error {
			_, err := s.AcquireLease(ctx, "ex-1", owner(func(o *ripcord.LeaseOwner) { o.Host = "" }), time.Minute)
			return err
		}},
		{"owner with pid 0", func() error {
			_, err := s.AcquireLease(ctx, "ex-1", owner(func(o *ripcord.LeaseOwner) { o.PID = 0 }), time.Minute)
			return err
		}},
		{"owner with a negative pid", func() error {
			_, err := s.AcquireLease(ctx, "ex-1", owner(func(o *ripcord.LeaseOwner) { o.PID = -4 }), time.Minute)
			return err
		}},
		{"owner without start time", func() error {
			_, err := s.AcquireLease(ctx, "ex-1", owner(func(o *ripcord.LeaseOwner) { o.Started = time.Time{} }), time.Minute)
			return err
		}},
		{"owner started in the year 10000", func() error {
			_, err := s.AcquireLease(ctx, "ex-1", owner(func(o *ripcord.LeaseOwner) { o.Started = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), time.Minute)
			return err
		}},
		{"renew with ttl 0", func() error { _, err := s.RenewLease(ctx, held, 0); return err }},
		{"renew with a negative ttl", func() error { _, err := s.RenewLease(ctx, held, -time.Minute); return err }},
		{"renew epoch 0", func() error { _, err := s.RenewLease(ctx, expired, time.Minute); return err }},
		{"release epoch 0", func() error { return s.ReleaseLease(ctx, expired) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(time.Second) // a refused call must not renew the lease either
			wantCode(t, tt.call(), ripcord.EINVALID)
			checkLease(t, "Lease after the refusal", currentLease(t, s, "ex-1"), held)
		})
	}
}

// testLeaseRace: drivers that acquire an execution's lease at the same
// moment: exactly one wins, the others are told who did. Every round
// starts once the last lease expired, and takes the next epoch.
func testLeaseRace(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	create(t, s, "ex-1")
	const drivers, rounds, ttl = 8, 5, 30 * time.Second
	for round := range rounds {
		start := make(chan struct{})
		got := make([]ripcord.Lease, drivers)
		errs := make([]error, drivers)
		var wg sync.WaitGroup
		for d := range drivers {
			wg.Go(func() {
				<-start
				owner := ripcord.LeaseOwner{Host: fmt.Sprint("host-", d), PID: 100 + d, Started: t0}
				got[d], errs[d] = s.AcquireLease(ctx, "ex-1", owner, ttl)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for d, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: drivers %d and %d both acquired the lease", round, winner, d)
			case err == nil:
				winner = d
			case ripcord.ErrorCode(err) != ripcord.ECONFLICT:
				t.Fatalf("round %d: driver %d: %v, want a conflict", round, d, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody acquired the lease: %v", round, errs)
		}
		won := got[winner]
		if won.Epoch != int64(round+1) || won.Owner.Host != fmt.Sprint("host-", winner) {
			t.Fatalf("round %d: the winner's lease is %+v, want epoch %d held by host-%d", round, won, round+1, winner)
		}
		for d := range drivers {
			if d != winner {
				checkLease(t, fmt.Sprintf("round %d: the lease returned to loser %d", round, d), got[d], won)
			}
		}
		checkLease(t, fmt.Sprintf("round %d: Lease", round), currentLease(t, s, "ex-1"), won)
		clock.Advance(ttl)
	}
}

// testAppendFenced: a driver's Append names its lease epoch, and is
// refused, writing nothing, unless that epoch is still the execution's.
func testAppendFenced(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	const ttl = 30 * time.Second
	acquire := func(t *testing.T, id string, o ripcord.LeaseOwner) ripcord.Lease {
		t.Helper()
		l, err := s.AcquireLease(ctx, id, o, ttl)
		if err != nil {
			t.Fatalf("AcquireLease(%s): %v", id, err)
		}
		return l
	}
	takeover := func(t *testing.T, id string) {
		acquire(t, id, ownerA)
		clock.Advance(ttl)
		acquire(t, id, ownerB)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, id string)
		epoch int64
		stale bool // append after the seq before the last: another writer went first

		code string // "" for success
		lost bool
	}{
		{"the current epoch", func(t *testing.T, id string) { acquire(t, id, ownerA) }, 1, false, "", false},
		{"the current epoch of an expired lease", func(t *testing.T, id string) {
			acquire(t, id, ownerA)
			clock.Advance(time.Hour)
		}, 1, false, "", false},
		{"the current epoch of a released lease", func(t *testing.T, id string) {
			if err := s.ReleaseLease(ctx, acquire(t, id, ownerA)); err != nil {
				t.Fatal(err)
			}
		}, 1, false, "", false},
		{"the new owner's epoch after a takeover", takeover, 2, false, "", false},
		{"a stale epoch after a takeover", takeover, 1, false, ripcord.ECONFLICT, true},
		{"an epoch ahead of the lease", func(t *testing.T, id string) { acquire(t, id, ownerA) }, 2, false, ripcord.ECONFLICT, true},
		{"epoch 0 (a person's command) while a lease is live", func(t *testing.T, id string) { acquire(t, id, ownerA) }, 0, false, "", false},
		{"epoch 0 after a takeover", takeover, 0, false, "", false},
		{"epoch 0 on an execution never leased", func(*testing.T, string) {}, 0, false, "", false},
		{"an epoch on an execution never leased", func(*testing.T, string) {}, 1, false, ripcord.ECONFLICT, true},
		{"the lease is checked before the seq", takeover, 1, true, ripcord.ECONFLICT, true},
		{"the current epoch with a stale seq", func(t *testing.T, id string) { acquire(t, id, ownerA) }, 1, true, ripcord.ECONFLICT, false},
		{"a negative epoch", func(t *testing.T, id string) { acquire(t, id, ownerA) }, -1, false, ripcord.EINVALID, false},
	}
	paused := ripcord.ExecPaused
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("ex-fenced-%d", i)
			create(t, s, id)
			// A person's command first, so that there is a seq to be
			// stale against.
			if _, err := s.Append(ctx, id, 1, 0, []ripcord.Event{{At: t0, Actor: "bob@example.com", Type: "Noted"}}, nil); err != nil {
				t.Fatalf("Append: %v", err)
			}
			tt.setup(t, id)
			beforeX, beforeL := getExecution(t, s, id), currentLease(t, s, id)
			afterSeq := beforeX.LastSeq
			if tt.stale {
				afterSeq--
			}
			last, err := s.Append(ctx, id, afterSeq, tt.epoch, []ripcord.Event{event("Fenced", `{"epoch":true}`)},
				&ripcord.ExecutionUpdate{State: &paused, Summary: json.RawMessage(`{"fenced":1}`)})
			checkLease(t, "Lease after the append", currentLease(t, s, id), beforeL)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Append with epoch %d: %v", tt.epoch, err)
				}
				x := getExecution(t, s, id)
				if last != 3 || x.LastSeq != 3 || x.State != paused || string(x.Summary) != `{"fenced":1}` {
					t.Errorf("after the append (last %d), Execution = %+v; want last seq 3, paused, the new summary", last, x)
				}
				checkGapless(t, allEvents(t, s, id), id, 3)
				return
			}
			wantCode(t, err, tt.code)
			if tt.lost {
				wantLeaseLost(t, err, id, beforeL)
			} else if errors.Is(err, ripcord.ErrLeaseLost) {
				t.Fatalf("err = %v is ErrLeaseLost; the epoch is the execution's", err)
			}
			if got := getExecution(t, s, id); !equalExecution(got, beforeX) {
				t.Errorf("a refused append changed the execution: %+v, was %+v", got, beforeX)
			}
			evs := allEvents(t, s, id)
			checkGapless(t, evs, id, 2)
			if evs[1].Type != "Noted" {
				t.Errorf("event 2 = %+v, want the one appended before", evs[1])
			}
		})
	}
}

// setState appends an event that moves execution id to state, as the
// engine records the end of an execution (or a pause).
func setState(t *testing.T, s ripcord.Store, id string, state ripcord.ExecState) {
	t.Helper()
	x := getExecution(t, s, id)
	u := &ripcord.ExecutionUpdate{State: &state}
	if state.Terminal() {
		end := at(time.Hour)
		u.Ended = &end
	}
	if _, err := s.Append(context.Background(), id, x.LastSeq, 0, []ripcord.Event{event("State", fmt.Sprintf(`{"state":%q}`, state))}, u); err != nil {
		t.Fatalf("Append(%s) to %s: %v", id, state, err)
	}
}

// exclusiveStep creates an execution (create) or moves one to another
// state (set). A refused create must name the live execution holding the
// key.
type exclusiveStep struct {
	create, set string // the execution's ID, after the scenario's prefix
	key         string // create: its Exclusive, after the prefix ("" stays empty)
	state       ripcord.ExecState

	heldBy string // create: "" if it must succeed, else the execution refusing it
}

func testExclusive(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx := context.Background()
	savePlan(t, s, "three-tier")
	running, paused := ripcord.ExecRunning, ripcord.ExecPaused
	tests := []struct {
		name  string
		steps []exclusiveStep
	}{
		{"a second live execution with the same key is refused", []exclusiveStep{
			{create: "1", key: "k", state: running},
			{create: "2", key: "k", state: running, heldBy: "1"},
			{create: "3", key: "k", state: paused, heldBy: "1"},
		}},
		{"a paused execution holds its key", []exclusiveStep{
			{create: "1", key: "k", state: running},
			{set: "1", state: paused},
			{create: "2", key: "k", state: running, heldBy: "1"},
		}},
		{"an execution created paused holds its key", []exclusiveStep{
			{create: "1", key: "k", state: paused},
			{create: "2", key: "k", state: running, heldBy: "1"},
		}},
		{"a succeeded execution lets its key go", []exclusiveStep{
			{create: "1", key: "k", state: running},
			{set: "1", state: ripcord.ExecSucceeded},
			{create: "2", key: "k", state: running},
			{create: "3", key: "k", state: running, heldBy: "2"},
		}},
		{"a failed execution lets its key go", []exclusiveStep{
			{create: "1", key: "k", state: running},
			{set: "1", state: paused},
			{set: "1", state: ripcord.ExecFailed},
			{create: "2", key: "k", state: paused},
		}},
		{"a cancelled execution lets its key go", []exclusiveStep{
			{create: "1", key: "k", state: running},
			{set: "1", state: ripcord.ExecCancelled},
			{create: "2", key: "k", state: running},
		}},
		{"an empty key opts out", []exclusiveStep{
			{create: "1", state: running},
			{create: "2", state: running},
			{create: "3", key: "k", state: running},
			{create: "4", state: paused},
		}},
		{"different keys are independent", []exclusiveStep{
			{create: "1", key: "k1", state: running},
			{create: "2", key: "k2", state: running},
			{create: "3", key: "k1", state: running, heldBy: "1"},
			{create: "4", key: "k2", state: running, heldBy: "2"},
			{create: "5", key: "K1", state: running}, // keys compare exactly
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := fmt.Sprintf("ex-%d-", i)
			for n, st := range tt.steps {
				if st.set != "" {
					setState(t, s, prefix+st.set, st.state)
					continue
				}
				x := newExecution(prefix+st.create, "three-tier")
				x.State = st.state
				if st.key != "" {
					x.Exclusive = fmt.Sprintf("three-tier@%d/%s", i, st.key)
				}
				err := s.CreateExecution(ctx, x, []ripcord.Event{event("ExecutionStarted", ""), event("StepStarted", "")})
				if st.heldBy == "" {
					if err != nil {
						t.Fatalf("step %d: CreateExecution(%s): %v", n, x.ID, err)
					}
					x.LastSeq, x.Started = 2, ripcord.StoreTime(x.Started)
					if got := getExecution(t, s, x.ID); !equalExecution(got, x) {
						t.Fatalf("step %d: Execution =\n%+v\nwant\n%+v", n, got, x)
					}
					continue
				}
				wantCode(t, err, ripcord.ECONFLICT)
				holder := getExecution(t, s, prefix+st.heldBy)
				if !strings.Contains(err.Error(), holder.ID) || !strings.Contains(err.Error(), string(holder.State)) {
					t.Errorf("step %d: err = %q, want it to name %s and its state %s", n, err, holder.ID, holder.State)
				}
				if !strings.Contains(ripcord.ErrorHint(err), "--allow-concurrent") {
					t.Errorf("step %d: hint = %q, want it to offer resume, cancel or --allow-concurrent", n, ripcord.ErrorHint(err))
				}
				_, err = s.Execution(ctx, x.ID)
				wantCode(t, err, ripcord.ENOTFOUND)
				_, err = s.Events(ctx, x.ID, 0, 0)
				wantCode(t, err, ripcord.ENOTFOUND)
			}
		})
	}

	// Listings return the key too.
	list, err := s.ListExecutions(ctx, ripcord.ExecutionFilter{})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	keys := map[string]string{}
	for _, x := range list {
		keys[x.ID] = x.Exclusive
	}
	if keys["ex-0-1"] != "three-tier@0/k" || keys["ex-6-1"] != "" || len(keys) != 16 {
		t.Errorf("ListExecutions: exclusive keys %v; want ex-0-1's three-tier@0/k, ex-6-1's empty, 16 executions", keys)
	}
}

// testExclusiveRace: creators of live executions with one key, at the same
// moment: exactly one is created.
func testExclusiveRace(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx := context.Background()
	savePlan(t, s, "three-tier")
	const creators, rounds = 8, 5
	for round := range rounds {
		key := fmt.Sprint("three-tier@race-", round)
		start := make(chan struct{})
		errs := make([]error, creators)
		var wg sync.WaitGroup
		for c := range creators {
			wg.Go(func() {
				x := newExecution(fmt.Sprintf("ex-%d-%d", round, c), "three-tier")
				x.Exclusive = key
				<-start
				errs[c] = s.CreateExecution(ctx, x, []ripcord.Event{event("ExecutionStarted", "")})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for c, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: creators %d and %d both created a live execution with key %s", round, winner, c, key)
			case err == nil:
				winner = c
			case ripcord.ErrorCode(err) != ripcord.ECONFLICT:
				t.Fatalf("round %d: creator %d: %v, want a conflict", round, c, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody created an execution: %v", round, errs)
		}
		list, err := s.ListExecutions(ctx, ripcord.ExecutionFilter{State: ripcord.ExecRunning})
		if err != nil {
			t.Fatalf("ListExecutions: %v", err)
		}
		var holders []string
		for _, x := range list {
			if x.Exclusive == key {
				holders = append(holders, x.ID)
			}
		}
		if want := fmt.Sprintf("ex-%d-%d", round, winner); len(holders) != 1 || holders[0] != want {
			t.Fatalf("round %d: executions with key %s: %v, want only %s", round, key, holders, want)
		}
	}
}
