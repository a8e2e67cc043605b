package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// TestGuardedFold (defect 7): each event applies only in the states where
// it is valid. Before, JobCreated was applied to a refused batch, a
// ServerStatus overwrote a final status, and a retry revived a cancelled
// execution, leaving a step running forever.
func TestGuardedFold(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const srv = "s-0123456789abcdef0"
	spec := Spec{Plan: "p", Mode: ripcord.ModeDrill, Steps: []SpecStep{{Name: "a", Kind: ripcord.StepLaunch,
		Servers: []SpecServer{{ID: srv, Target: "t"}}}}}
	base := []ripcord.Event{
		newEvent(EvExecutionStarted, "engine", t0, spec),
		newEvent(EvStepStarted, "engine", t0, StepStarted{Step: "a"}),
		newEvent(EvLaunchRequested, "engine", t0, LaunchRequested{Step: "a", Batch: "b1", Target: "t", Servers: []string{srv}}),
	}
	refused := newEvent(EvLaunchRefused, "engine", t0, LaunchRefused{Batch: "b1", Code: "ConflictException"})
	created := newEvent(EvJobCreated, "engine", t0, JobCreated{Batch: "b1", JobID: "drsjob-1"})
	launched := newEvent(EvServerStatus, "engine", t0, ServerStatus{Step: "a", Server: srv, Status: srvLaunched, JobID: "drsjob-1", InstanceID: "i-1"})
	failed := newEvent(EvServerStatus, "engine", t0, ServerStatus{Step: "a", Server: srv, Status: srvFailed, JobID: "drsjob-1", Reason: "late"})
	finishedFailed := newEvent(EvStepFinished, "engine", t0, StepFinished{Step: "a", Status: stepFailed})
	cancel := newEvent(EvCancelRequested, "alice", t0, struct{}{})
	ended := newEvent(EvExecutionFinished, "engine", t0, ExecutionFinished{State: ripcord.ExecCancelled})
	retry := newEvent(EvRetryRequested, "alice", t0, StepRef{Step: "a"})
	otherJob := newEvent(EvServerStatus, "engine", t0, ServerStatus{Step: "a", Server: srv, Status: srvLaunched, JobID: "drsjob-9"})

	for _, tc := range []struct {
		name   string
		before []ripcord.Event
		ev     ripcord.Event
		check  func(*State) string
	}{
		{"job for a refused batch", []ripcord.Event{refused}, created, func(s *State) string {
			if s.Batches["b1"].JobID != "" || s.Steps["a"].Servers[srv].Status != srvPending {
				return "the refused batch took the job"
			}
			return ""
		}},
		{"status over a final status", []ripcord.Event{created, launched}, failed, func(s *State) string {
			if sv := s.Steps["a"].Servers[srv]; sv.Status != srvLaunched || sv.InstanceID != "i-1" {
				return "LAUNCHED was overwritten: " + sv.Status
			}
			return ""
		}},
		{"status from another job", []ripcord.Event{created}, otherJob, func(s *State) string {
			if sv := s.Steps["a"].Servers[srv]; sv.Status != srvLaunching {
				return "a status from job drsjob-9 applied to a server in drsjob-1"
			}
			return ""
		}},
		{"status for a server never launched", nil, launched, func(s *State) string {
			if sv := s.Steps["a"].Servers[srv]; sv.Status != srvRequested {
				return "a status applied to a server with no job: " + sv.Status
			}
			return ""
		}},
		{"retry of a cancelled execution", []ripcord.Event{created, failed, finishedFailed, cancel, ended}, retry, func(s *State) string {
			if s.State != ripcord.ExecCancelled || s.Steps["a"].Status != stepFailed {
				return "the retry revived a cancelled execution: " + string(s.State) + ", step " + s.Steps["a"].Status
			}
			return ""
		}},
		{"step finished twice", []ripcord.Event{created, failed, finishedFailed}, finishedFailed, func(s *State) string {
			return ""
		}},
		{"execution ended twice", []ripcord.Event{cancel, ended}, newEvent(EvExecutionFinished, "engine", t0, ExecutionFinished{State: ripcord.ExecSucceeded}), func(s *State) string {
			if s.State != ripcord.ExecCancelled {
				return "an ended execution changed its end to " + string(s.State)
			}
			return ""
		}},
		{"second start", nil, base[0], func(s *State) string { return "" }},
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
			ev := tc.ev
			ev.Seq = s.LastSeq + 1
			err = s.apply(ev)
			var te *TransitionError
			if !errors.As(err, &te) {
				t.Fatalf("apply %s: %v; want a TransitionError", ev.Type, err)
			}
			if s.LastSeq != ev.Seq {
				t.Errorf("the refused event did not advance the sequence (%d)", s.LastSeq)
			}
			if msg := tc.check(s); msg != "" {
				t.Error(msg)
			}
			// Fold passes over it the same way, so a log holding one
			// (from before the guards) still folds.
			if _, err := Fold("x", append(evs, ev)); err != nil {
				t.Errorf("fold with the invalid event: %v", err)
			}
			// And the engine refuses to record it.
			if _, err := foldCopy(s, []ripcord.Event{tc.ev}); !errors.As(err, &te) || !strings.Contains(err.Error(), "does not apply") {
				t.Errorf("foldCopy: %v; want a refusal", err)
			}
		})
	}
}
