package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// TestHookEventsGuarded: hook events apply only where they are valid: a
// result needs its attempt running, an attempt needs the previous one to
// have failed (and not for good), a skip needs the hook not started, and
// the hook must be the spec's at that phase and index.
func TestHookEventsGuarded(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	spec := Spec{Plan: "p", Mode: ripcord.ModeDrill, Steps: []SpecStep{{Name: "dns", Kind: ripcord.StepHook,
		Hook: &ripcord.Hook{Name: "switch", Retries: 1, HTTP: &ripcord.HTTPHook{URL: "https://x.example.com/"}}}}}
	ref := HookRef{Step: "dns", Phase: HookOwn, Index: 0, Hook: "switch"}
	ev := func(typ string, data any) ripcord.Event { return newEvent(typ, "engine", t0, data) }
	base := []ripcord.Event{ev(EvExecutionStarted, spec), ev(EvStepStarted, StepStarted{Step: "dns"})}
	start := func(n int) ripcord.Event {
		return ev(EvHookStarted, HookStarted{HookRef: ref, Kind: "http", Attempt: n})
	}
	ok := func(n int) ripcord.Event { return ev(EvHookSucceeded, HookResult{HookRef: ref, Attempt: n}) }
	fail := func(n int, final bool) ripcord.Event {
		return ev(EvHookFailed, HookResult{HookRef: ref, Attempt: n, Final: final})
	}
	skip := ev(EvHookSkipped, HookSkippedData{HookRef: ref, Reason: "r"})
	for _, tc := range []struct {
		name   string
		before []ripcord.Event
		ev     ripcord.Event
	}{
		{"result without an attempt", nil, ok(1)},
		{"result for another attempt", []ripcord.Event{start(1)}, ok(2)},
		{"second start while running", []ripcord.Event{start(1)}, start(2)},
		{"start that skips an attempt", []ripcord.Event{start(1), fail(1, false)}, start(3)},
		{"start after success", []ripcord.Event{start(1), ok(1)}, start(2)},
		{"start after a final failure", []ripcord.Event{start(1), fail(1, true)}, start(2)},
		{"skip after a start", []ripcord.Event{start(1)}, skip},
		{"unknown hook", nil, ev(EvHookStarted, HookStarted{HookRef: HookRef{Step: "dns", Phase: HookBefore, Hook: "switch"}, Attempt: 1})},
		{"hook of a finished step", []ripcord.Event{start(1), ok(1), ev(EvStepFinished, StepFinished{Step: "dns", Status: stepSucceeded})}, skip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := append(append([]ripcord.Event{}, base...), tc.before...)
			for i := range evs {
				evs[i].Seq = int64(i + 1)
			}
			s, err := Fold("x", evs)
			if err != nil {
				t.Fatal(err)
			}
			e := tc.ev
			e.Seq = s.LastSeq + 1
			var te *TransitionError
			if err := s.apply(e); !errors.As(err, &te) {
				t.Fatalf("apply %s: %v; want a TransitionError", e.Type, err)
			}
		})
	}
	// And the valid path folds: a failure, a retry, a success.
	evs := append(append([]ripcord.Event{}, base...), start(1), fail(1, false), start(2), ok(2))
	for i := range evs {
		evs[i].Seq = int64(i + 1)
	}
	s, err := Fold("x", evs)
	if err != nil {
		t.Fatal(err)
	}
	if h := s.Steps["dns"].Hooks[hookKey(HookOwn, 0)]; h.Status != hookSucceeded || h.Attempt != 2 || h.Failures != 1 || len(s.HookRuns) != 2 {
		t.Errorf("hook %+v, runs %d", h, len(s.HookRuns))
	}
}
