package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Server states inside a launch step.
const (
	srvPending   = "PENDING"     // not yet in a batch (or back after a refusal)
	srvRequested = "REQUESTED"   // in a batch whose StartRecovery outcome is not known yet
	srvLaunching = "IN_PROGRESS" // in a known job
	srvLaunched  = "LAUNCHED"
	srvFailed    = "FAILED"
)

// Step states.
const (
	stepWaiting   = "waiting"
	stepRunning   = "running"
	stepSucceeded = "succeeded"
	stepFailed    = "failed"
	stepSkipped   = "skipped"
)

// State is an execution folded from its events: nothing in it comes from
// anywhere else, so a resumed execution sees exactly what the crashed one
// recorded.
type State struct {
	ID        string
	Spec      Spec
	Started   time.Time
	State     ripcord.ExecState
	Paused    bool
	PausedFor string // the failed step an automatic pause was for
	pausedAt  time.Time
	Cancel    bool
	LastSeq   int64
	Steps     map[string]*StepState
	Order     []string // steps in spec order
	Batches   map[string]*Batch
	Finished  time.Time
	Reason    string
	Cleanup   CleanupState
	nextBatch int
}

// StepState is one step of an execution.
type StepState struct {
	Spec     SpecStep
	Status   string
	Started  time.Time
	Ended    time.Time
	Reason   string
	Servers  map[string]*ServerState
	Blockers map[string]string // server -> job holding it, as last recorded
	Manual   bool              // skipped by a person
	// PausedTotal is how long the step was paused while running.
	PausedTotal time.Duration
}

// ServerState is one server of a launch step.
type ServerState struct {
	ID         string
	Target     string
	Optional   bool
	Status     string
	Batch      string
	JobID      string
	InstanceID string
	Reason     string
	Attempts   int
	LaunchedAt time.Time
}

// Batch is one StartRecovery call: the intent, then its job.
type Batch struct {
	ID        string
	Step      string
	Target    string
	Servers   []string
	Requested time.Time
	JobID     string
	Unclear   bool
	Refused   bool
	Terminate bool // a cleanup TERMINATE batch
}

// CleanupState follows a drill's cleanup.
type CleanupState struct {
	Requested bool
	Done      bool
	Instances int
	Minutes   float64
}

// Final reports whether the execution has ended.
func (s *State) Final() bool {
	switch s.State {
	case ripcord.ExecSucceeded, ripcord.ExecFailed, ripcord.ExecCancelled:
		return true
	}
	return false
}

// Fold rebuilds an execution's state from its events, in order. It fails on
// a gap in the sequence, which would mean a lost event.
func Fold(id string, events []ripcord.Event) (*State, error) {
	s := &State{ID: id, Steps: map[string]*StepState{}, Batches: map[string]*Batch{}, State: ripcord.ExecRunning}
	for _, ev := range events {
		if err := s.apply(ev); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *State) apply(ev ripcord.Event) error {
	if ev.Seq != 0 {
		if ev.Seq != s.LastSeq+1 {
			return fmt.Errorf("execution %s: event %d follows %d: the log has a gap", s.ID, ev.Seq, s.LastSeq)
		}
		s.LastSeq = ev.Seq
	}
	dec := func(v any) error {
		if err := json.Unmarshal(ev.Data, v); err != nil {
			return fmt.Errorf("execution %s: event %d (%s): %w", s.ID, ev.Seq, ev.Type, err)
		}
		return nil
	}
	switch ev.Type {
	case EvExecutionStarted:
		if err := dec(&s.Spec); err != nil {
			return err
		}
		s.Started = ev.At
		for _, st := range s.Spec.Steps {
			ss := &StepState{Spec: st, Status: stepWaiting, Servers: map[string]*ServerState{}, Blockers: map[string]string{}}
			for _, sv := range st.Servers {
				ss.Servers[sv.ID] = &ServerState{ID: sv.ID, Target: sv.Target, Optional: sv.Optional, Status: srvPending}
			}
			s.Steps[st.Name] = ss
			s.Order = append(s.Order, st.Name)
		}
	case EvStepStarted:
		var d stepStarted
		if err := dec(&d); err != nil {
			return err
		}
		if st := s.Steps[d.Step]; st != nil {
			st.Status, st.Started = stepRunning, ev.At
		}
	case EvServersBlocked:
		var d serversBlocked
		if err := dec(&d); err != nil {
			return err
		}
		if st := s.Steps[d.Step]; st != nil {
			for _, id := range d.Servers {
				st.Blockers[id] = d.JobID
			}
		}
	case EvLaunchRequested, EvTerminateRequested:
		b := &Batch{Requested: ev.At}
		var servers []string
		if ev.Type == EvLaunchRequested {
			var d launchRequested
			if err := dec(&d); err != nil {
				return err
			}
			b.ID, b.Step, b.Target, servers = d.Batch, d.Step, d.Target, d.Servers
		} else {
			var d terminateRequested
			if err := dec(&d); err != nil {
				return err
			}
			b.ID, b.Target, servers, b.Terminate = d.Batch, d.Target, d.Instances, true
			s.Cleanup.Requested = true
		}
		b.Servers = servers
		s.Batches[b.ID] = b
		s.nextBatch++
		if st := s.Steps[b.Step]; st != nil && !b.Terminate {
			for _, id := range servers {
				if sv := st.Servers[id]; sv != nil {
					sv.Status, sv.Batch, sv.JobID = srvRequested, b.ID, ""
					sv.Attempts++
					delete(st.Blockers, id)
				}
			}
		}
	case EvJobCreated, EvJobAdopted, EvTerminateJob:
		var d jobCreated
		if err := dec(&d); err != nil {
			return err
		}
		if b := s.Batches[d.Batch]; b != nil && d.JobID != "" {
			b.JobID, b.Unclear = d.JobID, false
			if st := s.Steps[b.Step]; st != nil {
				for _, id := range b.Servers {
					if sv := st.Servers[id]; sv != nil && sv.Batch == b.ID {
						sv.Status, sv.JobID = srvLaunching, d.JobID
					}
				}
			}
		}
	case EvLaunchUnclear, EvTerminateUnclear:
		var d launchUnclear
		if err := dec(&d); err != nil {
			return err
		}
		if b := s.Batches[d.Batch]; b != nil {
			b.Unclear = true
		}
	case EvLaunchRefused:
		var d launchRefused
		if err := dec(&d); err != nil {
			return err
		}
		if b := s.Batches[d.Batch]; b != nil {
			b.Refused, b.Unclear = true, false
			if b.Terminate {
				break
			}
			if st := s.Steps[b.Step]; st != nil {
				for _, id := range b.Servers {
					if sv := st.Servers[id]; sv != nil && sv.Batch == b.ID {
						sv.Status, sv.Batch = srvPending, ""
					}
				}
			}
		}
	case EvServerStatus:
		var d serverStatus
		if err := dec(&d); err != nil {
			return err
		}
		if st := s.Steps[d.Step]; st != nil {
			if sv := st.Servers[d.Server]; sv != nil {
				sv.Status, sv.Reason = d.Status, d.Reason
				if d.Status == srvLaunched && sv.LaunchedAt.IsZero() {
					sv.LaunchedAt = ev.At
				}
				if d.JobID != "" {
					sv.JobID = d.JobID
				}
				if d.InstanceID != "" {
					sv.InstanceID = d.InstanceID
				}
			}
		}
	case EvStepFinished, EvStepSkipped:
		var d stepFinished
		if err := dec(&d); err != nil {
			return err
		}
		if st := s.Steps[d.Step]; st != nil {
			st.Status, st.Ended, st.Reason, st.Manual = d.Status, ev.At, d.Reason, d.Manual
			if ev.Type == EvStepSkipped {
				st.Status = stepSkipped
				if d.Manual {
					s.liftPauseFor(d.Step, ev.At)
				}
			}
		}
	case EvRetryRequested:
		var d stepRef
		if err := dec(&d); err != nil {
			return err
		}
		if st := s.Steps[d.Step]; st != nil {
			for _, sv := range st.Servers {
				if sv.Status == srvFailed {
					sv.Status, sv.Batch, sv.JobID, sv.Reason = srvPending, "", "", ""
				}
			}
			st.Status, st.Started, st.Ended, st.Reason = stepRunning, ev.At, time.Time{}, ""
			if s.State == ripcord.ExecFailed {
				s.State, s.Finished, s.Reason = ripcord.ExecRunning, time.Time{}, ""
			}
			s.liftPauseFor(d.Step, ev.At)
		}
	case EvExecutionPaused:
		var d stepRef
		if err := dec(&d); err != nil {
			return err
		}
		if !s.Paused {
			s.pausedAt = ev.At
		}
		s.Paused = true
		s.State = ripcord.ExecPaused
		if d.Step != "" {
			s.PausedFor = d.Step
		}
	case EvExecutionResumed:
		s.unpause(ev.At)
		if !s.Final() {
			s.State = ripcord.ExecRunning
		}
	case EvCancelRequested:
		s.Cancel = true
	case EvCleanupRequested:
		s.Cleanup.Requested = true
	case EvCleanupFinished:
		var d cleanupFinished
		if err := dec(&d); err != nil {
			return err
		}
		s.Cleanup.Done, s.Cleanup.Instances, s.Cleanup.Minutes = true, d.Instances, d.InstanceMinutes
	case EvExecutionFinished:
		var d executionFinished
		if err := dec(&d); err != nil {
			return err
		}
		s.State, s.Finished, s.Reason = d.State, ev.At, d.Reason
	}
	return nil
}

// liftPauseFor ends an automatic pause that waited for a person to decide
// about the failed step: retrying or skipping that step is the decision, so
// the execution goes on. A pause a person asked for stays until Resume.
// A retried step that fails again pauses the execution again.
func (s *State) liftPauseFor(step string, at time.Time) {
	if s.PausedFor != step {
		return
	}
	s.PausedFor = ""
	if s.Paused {
		s.unpause(at)
		if !s.Final() {
			s.State = ripcord.ExecRunning
		}
	}
}

// launchedInstances lists the recovery instances this execution launched, by
// target, sorted.
func (s *State) launchedInstances() map[string][]string {
	out := map[string][]string{}
	for _, st := range s.Steps {
		for _, sv := range st.Servers {
			if sv.InstanceID != "" {
				out[sv.Target] = append(out[sv.Target], sv.InstanceID)
			}
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}

// unpause ends a pause at at. The time a running step spent paused does not
// count against its conflict deadline or its timeout: a person who paused
// for twenty minutes must not find the step failed on resume.
func (s *State) unpause(at time.Time) {
	if !s.Paused {
		return
	}
	s.Paused = false
	if d := at.Sub(s.pausedAt); d > 0 {
		for _, st := range s.Steps {
			if st.Status == stepRunning {
				st.PausedTotal += d
			}
		}
	}
}

// clockStart is when the step's deadlines count from: its start, moved
// later by the time it spent paused.
func (st *StepState) clockStart() time.Time { return st.Started.Add(st.PausedTotal) }

// projectionUpdate returns the change evs make to the execution's listing
// row (its state and end), or nil when they make none. It folds the events
// into a copy of s, so the listing always says what the log will; s itself
// is left alone. Only the few event types that can change the row pay for
// the copy.
func projectionUpdate(s *State, evs []ripcord.Event) *ripcord.ExecutionUpdate {
	relevant := false
	for _, ev := range evs {
		switch ev.Type {
		case EvExecutionFinished, EvExecutionPaused, EvExecutionResumed, EvRetryRequested, EvStepSkipped:
			relevant = true
		}
	}
	if !relevant {
		return nil
	}
	tmp := s.clone()
	for _, ev := range evs {
		ev.Seq = 0 // unnumbered: no sequence check
		if err := tmp.apply(ev); err != nil {
			return nil // the real apply will report it
		}
	}
	if tmp.State == s.State && tmp.Finished.Equal(s.Finished) {
		return nil
	}
	st, ended := tmp.State, tmp.Finished // a zero end clears it: a retried execution runs again
	return &ripcord.ExecutionUpdate{State: &st, Ended: &ended}
}

// clone returns a copy of s that shares nothing mutable with it.
func (s *State) clone() *State {
	c := *s
	c.Steps = make(map[string]*StepState, len(s.Steps))
	for name, st := range s.Steps {
		cs := *st
		cs.Servers = make(map[string]*ServerState, len(st.Servers))
		for id, sv := range st.Servers {
			csv := *sv
			cs.Servers[id] = &csv
		}
		cs.Blockers = maps.Clone(st.Blockers)
		c.Steps[name] = &cs
	}
	c.Batches = make(map[string]*Batch, len(s.Batches))
	for id, b := range s.Batches {
		cb := *b
		c.Batches[id] = &cb
	}
	c.Order = slices.Clone(s.Order)
	return &c
}
