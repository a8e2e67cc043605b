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
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Run runs the conformance suite. newStore returns a new, empty, open store
// for one subtest and closes it when that test ends (t.Cleanup); the suite
// may close it first, so Close must tolerate a second call.
func Run(t *testing.T, newStore func(t *testing.T) ripcord.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ripcord.Store)
	}{
		{"PlanVersions", testPlanVersions},
		{"PlanVersionInvalid", testPlanVersionInvalid},
		{"CreateExecution", testCreateExecution},
		{"CreateExecutionConflict", testCreateExecutionConflict},
		{"CreateExecutionUnknownPlan", testCreateExecutionUnknownPlan},
		{"CreateExecutionInvalid", testCreateExecutionInvalid},
		{"NotFound", testNotFound},
		{"Append", testAppend},
		{"AppendStale", testAppendStale},
		{"AppendInvalid", testAppendInvalid},
		{"AppendGapless", testAppendGapless},
		{"AppendRace", testAppendRace},
		{"AppendRaceRetry", testAppendRaceRetry},
		{"Update", testUpdate},
		{"UpdateAtomic", testUpdateAtomic},
		{"EventsPaging", testEventsPaging},
		{"ListExecutions", testListExecutions},
		{"LargeData", testLargeData},
		{"DataBytes", testDataBytes},
		{"Times", testTimes},
		{"CancelledContext", testCancelledContext},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
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
		a.LastSeq == b.LastSeq && bytes.Equal(a.Summary, b.Summary)
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
		{"Append", func() error { _, err := s.Append(ctx, "ex-404", 0, 0, []ripcord.Event{event("X", "")}, nil); return err }},
		{"PlanVersion", func() error { _, err := s.PlanVersion(ctx, "h-404"); return err }},
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
