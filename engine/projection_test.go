package engine

import (
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// TestProjectionUpdateLeavesStateAlone: computing the listing's update for
// a resume must not fold the resume into the live state as well, or the
// time paused would be counted twice against the step's deadline.
func TestProjectionUpdateLeavesStateAlone(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	spec := Spec{Plan: "p", Mode: ripcord.ModeDrill, Steps: []SpecStep{{Name: "a", Kind: ripcord.StepLaunch,
		Servers: []SpecServer{{ID: "s-0123456789abcdef0", Target: "t"}}}}}
	evs := []ripcord.Event{
		newEvent(EvExecutionStarted, "engine", t0, spec),
		newEvent(EvStepStarted, "engine", t0, StepStarted{Step: "a"}),
		newEvent(EvExecutionPaused, "alice", t0.Add(time.Minute), StepRef{}),
	}
	for i := range evs {
		evs[i].Seq = int64(i + 1)
	}
	s, err := Fold("x", evs)
	if err != nil {
		t.Fatal(err)
	}
	resume := newEvent(EvExecutionResumed, "alice", t0.Add(11*time.Minute), struct{}{})
	upd := projectionUpdateOf(t, s, resume)
	if upd == nil || upd.State == nil || *upd.State != ripcord.ExecRunning {
		t.Fatalf("update %+v, want state running", upd)
	}
	if !s.Paused || s.Steps["a"].PausedTotal != 0 {
		t.Fatalf("computing the update changed the live state: paused=%v pausedTotal=%s", s.Paused, s.Steps["a"].PausedTotal)
	}
	resume.Seq = 4
	if err := s.apply(resume); err != nil {
		t.Fatal(err)
	}
	if got := s.Steps["a"].PausedTotal; got != 10*time.Minute {
		t.Fatalf("paused total %s, want 10m", got)
	}
	if upd := projectionUpdateOf(t, s, newEvent(EvServersBlocked, "engine", t0, ServersBlocked{Step: "a", Servers: []string{"s-0123456789abcdef0"}, JobID: "drsjob-1"})); upd != nil {
		t.Errorf("an event that does not change the listing gave an update: %+v", upd)
	}
}

// projectionUpdateOf is the listing's change ev makes, as record computes
// it: folded into a copy of s (s itself is left alone).
func projectionUpdateOf(t *testing.T, s *State, ev ripcord.Event) *ripcord.ExecutionUpdate {
	t.Helper()
	after, err := foldCopy(s, []ripcord.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	return projection(s, after, nil)
}
