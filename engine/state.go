package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	// PauseReason and PauseRemedy say why the execution is paused and
	// what a person should do.
	PauseReason string
	PauseRemedy string
	// Outages are the targets where DRS keeps failing, as last recorded.
	Outages map[string]*Outage
	// Drivers counts the stretches of driving (DriverStarted events);
	// DRSCalls the DRS requests of those that stopped.
	Drivers   int
	DRSCalls  int64
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
	// SkippedBy is who skipped the step, and SkippedAfter the status it
	// had then (failed, running, waiting).
	SkippedBy    string
	SkippedAfter string
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
	// History is every launch attempt, oldest first: the evidence of
	// which jobs and instances a server had and why attempts failed.
	History []Attempt
}

// Attempt is one try at launching a server: a batch, its job and outcome.
type Attempt struct {
	Batch      string    `json:"batch,omitempty"`
	Requested  time.Time `json:"requested"`
	JobID      string    `json:"jobID,omitempty"`
	InstanceID string    `json:"instanceID,omitempty"`
	Status     string    `json:"status"` // REQUESTED, IN_PROGRESS, LAUNCHED, FAILED, REFUSED
	Reason     string    `json:"reason,omitempty"`
	Launched   time.Time `json:"launched,omitzero"`
}

// since is where reconciliation looks for the batch's job from: on DRS's
// clock when it was known at the intent, else on the engine's.
func (b *Batch) since() time.Time {
	if !b.DRSTime.IsZero() {
		return b.DRSTime
	}
	return b.Requested
}

// Outage is a target where DRS calls keep failing with transient errors.
type Outage struct {
	Target   string
	Op       string
	Error    string
	Since    time.Time
	Attempts int
}

// Batch is one StartRecovery call: the intent, then its job.
type Batch struct {
	ID        string
	Step      string
	Target    string
	Servers   []string
	Requested time.Time
	// DRSTime is when the intent was recorded on DRS's clock, as far as
	// known (zero if not): reconciliation looks for the job from there.
	DRSTime   time.Time
	JobID     string
	Unclear   bool
	Refused   bool
	Terminate bool // a cleanup TERMINATE batch
}

// CleanupState follows a drill's cleanup.
type CleanupState struct {
	Due         time.Time     // when a scheduled cleanup is due; zero if none (or not yet known)
	After       time.Duration // a cleanup scheduled this long after the end
	Requested   bool
	Done        bool
	Finished    time.Time
	Instances   int
	Minutes     float64
	AlreadyGone []string
	NotOurs     []string
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
// a gap in the sequence, which would mean a lost event. An event that does
// not fit the state it meets (which the engine refuses to record, but an
// older log may hold) is passed over: it changes nothing.
func Fold(id string, events []ripcord.Event) (*State, error) {
	s := newState(id)
	for _, ev := range events {
		if err := s.apply(ev); err != nil && !errors.As(err, new(*TransitionError)) {
			return nil, err
		}
	}
	return s, nil
}

func newState(id string) *State {
	return &State{ID: id, Steps: map[string]*StepState{}, Batches: map[string]*Batch{}, State: ripcord.ExecRunning,
		Outages: map[string]*Outage{}}
}

// TransitionError is an event that does not fit the execution's state: a
// job recorded for a refused batch, a status for a server that is final, a
// retry of a cancelled execution. The fold applies nothing of it; record
// refuses to append it.
type TransitionError struct {
	Seq    int64
	Type   string
	Reason string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("event %d (%s) does not apply: %s", e.Seq, e.Type, e.Reason)
}

// apply folds one event into the state. Each event type applies only in the
// states where it is valid (guarded transitions); otherwise apply returns a
// *TransitionError and changes nothing but the sequence number.
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
	invalid := func(format string, args ...any) error {
		return &TransitionError{Seq: ev.Seq, Type: ev.Type, Reason: fmt.Sprintf(format, args...)}
	}
	if ev.Type != EvExecutionStarted && s.Order == nil && len(s.Spec.Steps) == 0 {
		return invalid("the execution has not started")
	}
	switch ev.Type {
	case EvExecutionStarted:
		if s.Started != (time.Time{}) {
			return invalid("the execution started already")
		}
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
		if s.Order == nil {
			s.Order = []string{}
		}
	case EvStepStarted:
		var d StepStarted
		if err := dec(&d); err != nil {
			return err
		}
		st := s.Steps[d.Step]
		switch {
		case st == nil:
			return invalid("no step %q", d.Step)
		case st.Status != stepWaiting:
			return invalid("step %s is %s, not waiting", d.Step, st.Status)
		case s.Final():
			return invalid("the execution has ended (%s)", s.State)
		}
		st.Status, st.Started = stepRunning, ev.At
	case EvServersBlocked:
		var d ServersBlocked
		if err := dec(&d); err != nil {
			return err
		}
		st := s.Steps[d.Step]
		if st == nil || st.Status != stepRunning {
			return invalid("step %q is not running", d.Step)
		}
		for _, id := range d.Servers {
			if sv := st.Servers[id]; sv == nil || sv.Status != srvPending {
				return invalid("server %s of step %s is not waiting to be launched", id, d.Step)
			}
		}
		for _, id := range d.Servers {
			st.Blockers[id] = d.JobID
		}
	case EvLaunchRequested:
		var d LaunchRequested
		if err := dec(&d); err != nil {
			return err
		}
		st := s.Steps[d.Step]
		switch {
		case s.Batches[d.Batch] != nil:
			return invalid("batch %s exists already", d.Batch)
		case st == nil || st.Status != stepRunning:
			return invalid("step %q is not running", d.Step)
		case s.Final() || s.Cancel:
			return invalid("the execution has ended or is cancelled")
		}
		for _, id := range d.Servers {
			if sv := st.Servers[id]; sv == nil || sv.Status != srvPending {
				return invalid("server %s of step %s is not waiting to be launched", id, d.Step)
			}
		}
		b := &Batch{ID: d.Batch, Step: d.Step, Target: d.Target, Servers: d.Servers, Requested: ev.At, DRSTime: d.DRSTime}
		s.Batches[b.ID] = b
		s.nextBatch++
		for _, id := range d.Servers {
			sv := st.Servers[id]
			sv.Status, sv.Batch, sv.JobID = srvRequested, b.ID, ""
			sv.Attempts++
			sv.History = append(sv.History, Attempt{Batch: b.ID, Requested: ev.At, Status: srvRequested})
			delete(st.Blockers, id)
		}
	case EvTerminateRequested:
		var d TerminateRequested
		if err := dec(&d); err != nil {
			return err
		}
		switch {
		case s.Batches[d.Batch] != nil:
			return invalid("batch %s exists already", d.Batch)
		case !s.Cleanup.Requested || s.Cleanup.Done:
			return invalid("no cleanup is under way")
		}
		s.Batches[d.Batch] = &Batch{ID: d.Batch, Target: d.Target, Servers: d.Instances, Requested: ev.At, DRSTime: d.DRSTime, Terminate: true}
		s.nextBatch++
	case EvJobCreated, EvJobAdopted, EvTerminateJob:
		var d JobCreated
		if err := dec(&d); err != nil {
			return err
		}
		b := s.Batches[d.Batch]
		switch {
		case b == nil:
			return invalid("no batch %q", d.Batch)
		case d.JobID == "":
			return invalid("no job ID")
		case b.Refused:
			return invalid("batch %s was refused", d.Batch)
		case b.JobID != "":
			return invalid("batch %s has job %s already", d.Batch, b.JobID)
		case b.Terminate != (ev.Type == EvTerminateJob):
			return invalid("batch %s is not a %s batch", d.Batch, map[bool]string{true: "terminate", false: "launch"}[ev.Type == EvTerminateJob])
		}
		b.JobID, b.Unclear = d.JobID, false
		if st := s.Steps[b.Step]; st != nil {
			for _, id := range b.Servers {
				if sv := st.Servers[id]; sv != nil && sv.Batch == b.ID {
					sv.Status, sv.JobID = srvLaunching, d.JobID
					sv.attempt(b.ID, func(a *Attempt) { a.JobID, a.Status = d.JobID, srvLaunching })
				}
			}
		}
	case EvLaunchUnclear, EvTerminateUnclear:
		var d LaunchUnclear
		if err := dec(&d); err != nil {
			return err
		}
		b := s.Batches[d.Batch]
		if b == nil || b.JobID != "" || b.Refused {
			return invalid("batch %q is not waiting for its outcome", d.Batch)
		}
		b.Unclear = true
	case EvLaunchRefused:
		var d LaunchRefused
		if err := dec(&d); err != nil {
			return err
		}
		b := s.Batches[d.Batch]
		if b == nil || b.JobID != "" || b.Refused {
			return invalid("batch %q is not waiting for its outcome", d.Batch)
		}
		b.Refused, b.Unclear = true, false
		if b.Terminate {
			break
		}
		if st := s.Steps[b.Step]; st != nil {
			for _, id := range b.Servers {
				if sv := st.Servers[id]; sv != nil && sv.Batch == b.ID {
					sv.Status, sv.Batch = srvPending, ""
					sv.attempt(b.ID, func(a *Attempt) { a.Status, a.Reason = "REFUSED", d.Code+": "+d.Error })
				}
			}
		}
	case EvServerStatus:
		var d ServerStatus
		if err := dec(&d); err != nil {
			return err
		}
		st := s.Steps[d.Step]
		if st == nil {
			return invalid("no step %q", d.Step)
		}
		sv := st.Servers[d.Server]
		if sv == nil {
			return invalid("step %s has no server %s", d.Step, d.Server)
		}
		if why := serverTransition(sv, d); why != "" {
			return invalid("server %s: %s", d.Server, why)
		}
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
		sv.attempt(sv.Batch, func(a *Attempt) {
			a.Status, a.Reason = d.Status, d.Reason
			if d.InstanceID != "" {
				a.InstanceID = d.InstanceID
			}
			if d.Status == srvLaunched && a.Launched.IsZero() {
				a.Launched = ev.At
			}
		})
		if d.Status == srvFailed && sv.Batch == "" {
			// Failed without a launch (held past the deadline): an
			// attempt of its own, so the history shows it.
			sv.History = append(sv.History, Attempt{Requested: ev.At, Status: srvFailed, Reason: d.Reason})
		}
	case EvStepFinished, EvStepSkipped:
		var d StepFinished
		if err := dec(&d); err != nil {
			return err
		}
		st := s.Steps[d.Step]
		if st == nil {
			return invalid("no step %q", d.Step)
		}
		if ev.Type == EvStepFinished && st.Status != stepRunning {
			return invalid("step %s is %s, not running", d.Step, st.Status)
		}
		if ev.Type == EvStepSkipped && (st.Status == stepSucceeded || st.Status == stepSkipped) {
			return invalid("step %s is %s already", d.Step, st.Status)
		}
		if ev.Type == EvStepSkipped && d.Manual {
			st.SkippedAfter = st.Status // what the person skipped: a failed step, a running one...
		}
		st.Status, st.Ended, st.Reason, st.Manual = d.Status, ev.At, d.Reason, d.Manual
		if ev.Type == EvStepSkipped {
			st.Status = stepSkipped
			if d.Manual {
				st.SkippedBy = ev.Actor
				s.liftPauseFor(d.Step, ev.At)
			}
		}
	case EvRetryRequested:
		var d StepRef
		if err := dec(&d); err != nil {
			return err
		}
		st := s.Steps[d.Step]
		switch {
		case st == nil:
			return invalid("no step %q", d.Step)
		case st.Spec.Kind != ripcord.StepLaunch || st.Status != stepFailed:
			return invalid("step %s is %s; only a failed launch step can be retried", d.Step, st.Status)
		case s.State == ripcord.ExecCancelled || s.Cancel:
			return invalid("the execution is cancelled")
		case s.State == ripcord.ExecSucceeded:
			return invalid("the execution has succeeded")
		}
		for _, sv := range st.Servers {
			if sv.Status == srvFailed {
				// The failed attempt's job and instance stay in History.
				sv.Status, sv.Batch, sv.JobID, sv.Reason, sv.InstanceID = srvPending, "", "", "", ""
			}
		}
		st.Status, st.Started, st.Ended, st.Reason, st.PausedTotal = stepRunning, ev.At, time.Time{}, "", 0
		if s.State == ripcord.ExecFailed {
			s.State, s.Finished, s.Reason = ripcord.ExecRunning, time.Time{}, ""
		}
		s.liftPauseFor(d.Step, ev.At)
	case EvExecutionPaused:
		var d StepRef
		if err := dec(&d); err != nil {
			return err
		}
		if s.Final() {
			return invalid("the execution has ended (%s)", s.State)
		}
		if !s.Paused {
			s.pausedAt = ev.At
		}
		s.Paused = true
		s.State = ripcord.ExecPaused
		s.PauseReason, s.PauseRemedy = d.Reason, d.Remedy
		if d.Step != "" {
			s.PausedFor = d.Step
		}
	case EvExecutionResumed:
		if !s.Paused {
			return invalid("the execution is not paused")
		}
		s.unpause(ev.At)
		s.PauseReason, s.PauseRemedy = "", ""
		if !s.Final() {
			s.State = ripcord.ExecRunning
		}
	case EvCancelRequested:
		if s.Final() || s.Cancel {
			return invalid("the execution has ended or is cancelled already")
		}
		s.Cancel = true
	case EvCleanupScheduled:
		var d CleanupScheduled
		if err := dec(&d); err != nil {
			return err
		}
		if s.Spec.Mode != ripcord.ModeDrill || s.Cleanup.Requested {
			return invalid("cleanup is for drills, once")
		}
		s.Cleanup.Due, s.Cleanup.After = d.Due, d.After
		if d.Due.IsZero() && s.Final() {
			s.Cleanup.Due = s.Finished.Add(d.After)
		}
	case EvCleanupRequested:
		if s.Spec.Mode != ripcord.ModeDrill || s.Cleanup.Requested {
			return invalid("cleanup is for drills, once")
		}
		s.Cleanup.Requested = true
	case EvCleanupFinished:
		var d CleanupFinished
		if err := dec(&d); err != nil {
			return err
		}
		if !s.Cleanup.Requested || s.Cleanup.Done {
			return invalid("no cleanup is under way")
		}
		s.Cleanup.Done, s.Cleanup.Instances, s.Cleanup.Minutes = true, d.Instances, d.InstanceMinutes
		s.Cleanup.AlreadyGone, s.Cleanup.NotOurs = d.AlreadyGone, d.NotOurs
		s.Cleanup.Finished = ev.At
	case EvExecutionFinished:
		var d ExecutionFinished
		if err := dec(&d); err != nil {
			return err
		}
		if s.Final() {
			return invalid("the execution has ended (%s)", s.State)
		}
		if !d.State.Terminal() {
			return invalid("state %s is not an end", d.State)
		}
		s.State, s.Finished, s.Reason = d.State, ev.At, d.Reason
		s.Paused = false
		if s.Cleanup.After > 0 && s.Cleanup.Due.IsZero() {
			s.Cleanup.Due = ev.At.Add(s.Cleanup.After)
		}
	case EvDRSUnavailable:
		var d DRSUnavailable
		if err := dec(&d); err != nil {
			return err
		}
		s.Outages[d.Target] = &Outage{Target: d.Target, Op: d.Op, Error: d.Error, Since: d.Since, Attempts: d.Attempts}
	case EvDRSRecovered:
		var d DRSRecovered
		if err := dec(&d); err != nil {
			return err
		}
		delete(s.Outages, d.Target)
	case EvDriverStarted:
		var d DriverStarted
		if err := dec(&d); err != nil {
			return err
		}
		s.Drivers++
		s.Outages = map[string]*Outage{} // a new driver looks again
	case EvDriverStopped:
		var d DriverStopped
		if err := dec(&d); err != nil {
			return err
		}
		s.DRSCalls += d.DRSCalls
	default:
		return invalid("unknown event type")
	}
	return nil
}

// serverTransition says why a ServerStatus event cannot apply to sv, or ""
// when it can: a server waiting to be launched can only fail (held past the
// deadline, or refused for good); one in a batch or a job moves on to in
// progress, launched or failed; a final server stays final.
func serverTransition(sv *ServerState, d ServerStatus) string {
	switch d.Status {
	case srvLaunching, srvLaunched, srvFailed:
	default:
		return "unknown status " + d.Status
	}
	switch sv.Status {
	case srvPending:
		if d.Status != srvFailed {
			return "it is not in a launch"
		}
	case srvRequested:
		if d.Status != srvFailed || d.JobID != "" {
			return "its batch has no job yet"
		}
	case srvLaunching:
		if d.JobID != "" && d.JobID != sv.JobID {
			return fmt.Sprintf("it is in job %s, not %s", sv.JobID, d.JobID)
		}
	case srvLaunched, srvFailed:
		return "it is " + sv.Status + " already"
	}
	return ""
}

// attempt changes the server's attempt of batch, if it has one.
func (sv *ServerState) attempt(batch string, fn func(*Attempt)) {
	if batch == "" {
		return
	}
	for i := len(sv.History) - 1; i >= 0; i-- {
		if sv.History[i].Batch == batch {
			fn(&sv.History[i])
			return
		}
	}
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

// foldCopy applies evs to a copy of s and returns it; s is left alone. It
// fails when an event does not fit (a *TransitionError).
func foldCopy(s *State, evs []ripcord.Event) (*State, error) {
	tmp := s.clone()
	for _, ev := range evs {
		ev.Seq = 0 // unnumbered: no sequence check
		if err := tmp.apply(ev); err != nil {
			return nil, err
		}
	}
	return tmp, nil
}

// projection is the listing row's change from before to after: the state
// and end when they changed, and summary when it is not nil (the caller
// passes it only when it differs from the one written last).
func projection(before, after *State, summary []byte) *ripcord.ExecutionUpdate {
	var upd ripcord.ExecutionUpdate
	changed := false
	if after.State != before.State || !after.Finished.Equal(before.Finished) {
		st, ended := after.State, after.Finished // a zero end clears it: a retried execution runs again
		upd.State, upd.Ended = &st, &ended
		changed = true
	}
	if summary != nil {
		upd.Summary, changed = summary, true
	}
	if !changed {
		return nil
	}
	return &upd
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
		for id, sv := range cs.Servers {
			sv.History = slices.Clone(sv.History)
			cs.Servers[id] = sv
		}
		c.Steps[name] = &cs
	}
	c.Batches = make(map[string]*Batch, len(s.Batches))
	for id, b := range s.Batches {
		cb := *b
		c.Batches[id] = &cb
	}
	c.Order = slices.Clone(s.Order)
	c.Outages = make(map[string]*Outage, len(s.Outages))
	for k, o := range s.Outages {
		co := *o
		c.Outages[k] = &co
	}
	return &c
}
