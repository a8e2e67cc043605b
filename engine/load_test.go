package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// eventReads is a store that records the Events calls made through it.
type eventReads struct {
	ripcord.Store
	mu    sync.Mutex
	calls [][2]int64 // afterSeq, limit
}

func (r *eventReads) Events(ctx context.Context, id string, after int64, limit int) ([]ripcord.Event, error) {
	r.mu.Lock()
	r.calls = append(r.calls, [2]int64{after, int64(limit)})
	r.mu.Unlock()
	return r.Store.Events(ctx, id, after, limit)
}

func (r *eventReads) take() [][2]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// loadStore is a store holding one execution, "x", with events evs (the
// first is ExecutionStarted), read through an eventReads.
func loadStore(t *testing.T, evs []ripcord.Event) *eventReads {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := evs[0].At
	if err := st.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "h", Name: "p", Source: []byte("plans: []"), Created: at}); err != nil {
		t.Fatal(err)
	}
	x := ripcord.Execution{ID: "x", PlanName: "p", PlanHash: "h", Mode: ripcord.ModeRecovery, State: ripcord.ExecRunning, Started: at, Actor: "alice"}
	if err := st.CreateExecution(ctx, x, evs[:1]); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, evs[1:])
	return &eventReads{Store: st}
}

// appendEvents appends evs to execution x, as a person's commands would.
func appendEvents(t *testing.T, st ripcord.Store, evs []ripcord.Event) {
	t.Helper()
	for len(evs) > 0 {
		x, err := st.Execution(t.Context(), "x")
		if err != nil {
			t.Fatal(err)
		}
		n := min(len(evs), 700)
		if _, err := st.Append(t.Context(), "x", x.LastSeq, 0, evs[:n], nil); err != nil {
			t.Fatal(err)
		}
		evs = evs[n:]
	}
}

// bigLog is a log of a launch step of n servers: started, launched in
// batches of 100, each server in progress then launched, with an event
// that does not apply (a second status for a launched server).
func bigLog(n int) []ripcord.Event {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	spec := Spec{Plan: "p", PlanHash: "h", Mode: ripcord.ModeRecovery, Targets: []ripcord.Target{{Name: "t", Account: "111122223333", Region: "us-east-1"}}}
	st := SpecStep{Name: "all", Kind: ripcord.StepLaunch}
	for i := range n {
		st.Servers = append(st.Servers, SpecServer{ID: fmt.Sprintf("s-%017x", i), Target: "t"})
	}
	spec.Steps = []SpecStep{st}
	var evs []ripcord.Event
	add := func(typ string, data any) {
		evs = append(evs, newEvent(typ, "engine", t0.Add(time.Duration(len(evs))*time.Second), data))
	}
	add(EvExecutionStarted, spec)
	add(EvStepStarted, StepStarted{Step: "all"})
	for b := 0; b*100 < n; b++ {
		var ids []string
		for _, sv := range st.Servers[b*100 : min(n, b*100+100)] {
			ids = append(ids, sv.ID)
		}
		batch, job := fmt.Sprintf("b%d", b), fmt.Sprintf("drsjob-%d", b)
		add(EvLaunchRequested, LaunchRequested{Step: "all", Batch: batch, Target: "t", Servers: ids})
		add(EvJobCreated, JobCreated{Batch: batch, JobID: job})
		for _, id := range ids {
			add(EvServerStatus, ServerStatus{Step: "all", Server: id, Status: srvLaunching, JobID: job, InstanceID: "i-" + id})
			add(EvServerStatus, ServerStatus{Step: "all", Server: id, Status: srvLaunched, JobID: job, InstanceID: "i-" + id})
		}
		add(EvServerStatus, ServerStatus{Step: "all", Server: ids[0], Status: srvFailed, JobID: job}) // does not apply: launched
	}
	add(EvStepFinished, StepFinished{Step: "all", Status: stepSucceeded})
	add(EvExecutionFinished, ExecutionFinished{State: ripcord.ExecSucceeded})
	for i := range evs {
		evs[i].Seq = int64(i + 1)
	}
	return evs
}

// TestSpecReadsTheFirstEvent: Spec is Load's Spec, from one read of one
// event.
func TestSpecReadsTheFirstEvent(t *testing.T) {
	evs := bigLog(300)
	st := loadStore(t, evs)
	e := New(Config{Store: st})
	spec, err := e.Spec(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if reads := st.take(); !slices.Equal(reads, [][2]int64{{0, 1}}) {
		t.Errorf("Spec read %v, want one event from the start", reads)
	}
	s, err := e.Load(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec, s.Spec) {
		t.Errorf("Spec:\n%+v\nLoad's:\n%+v", spec, s.Spec)
	}
	if _, err := e.Spec(t.Context(), "nope"); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Errorf("Spec of a missing execution: %v, want ENOTFOUND", err)
	}
}

// TestFollowReadsOnlyNewEvents: Follow brings a loaded state up to date
// with the events appended since, reading from its last seq only (in
// pages), and ends where Load of the whole log would.
func TestFollowReadsOnlyNewEvents(t *testing.T) {
	evs := bigLog(1200) // some 2,400 events after the first 40: several pages
	st := loadStore(t, evs[:40])
	e := New(Config{Store: st})
	s, err := e.Load(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	st.take()
	for _, upTo := range []int{40, 41, 600, len(evs)} {
		appendEvents(t, st.Store, evs[s.LastSeq:upTo])
		before := s.LastSeq
		n, err := e.Follow(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		if n != upTo-int(before) || s.LastSeq != int64(upTo) {
			t.Fatalf("Follow to %d: read %d events, last seq %d", upTo, n, s.LastSeq)
		}
		reads := st.take()
		if len(reads) == 0 || reads[0][0] != before {
			t.Fatalf("Follow to %d read %v, want reads from seq %d on", upTo, reads, before)
		}
		for i, r := range reads[1:] {
			if r[0] <= reads[i][0] {
				t.Fatalf("Follow to %d read %v: again from the same place", upTo, reads)
			}
		}
		want, err := Fold("x", evs[:upTo])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("after Follow to %d the state differs from the fold of the log", upTo)
		}
	}
	if s.State != ripcord.ExecSucceeded {
		t.Errorf("state %s", s.State)
	}
}

// TestApplyIsFoldInParts: folding a log in two parts, at any point, is
// folding it at once; a gap is an error.
func TestApplyIsFoldInParts(t *testing.T) {
	evs := bigLog(150)
	want, err := Fold("x", evs)
	if err != nil {
		t.Fatal(err)
	}
	for k := range len(evs) + 1 {
		s, err := Fold("x", evs[:k])
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(evs[k:]...); err != nil {
			t.Fatalf("apply from %d: %v", k, err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("fold of %d events then Apply of the rest differs from Fold", k)
		}
	}
	s, _ := Fold("x", evs[:10])
	if err := s.Apply(evs[11:]...); err == nil {
		t.Error("Apply over a gap: no error")
	}
}
