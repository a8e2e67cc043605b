package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
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
	// LaunchConfigs are the fingerprints of the servers' launch
	// configurations a succeeded drill recorded after it ended, by
	// ServerKey (nil: not recorded); LaunchConfigsError names the reads
	// that failed.
	LaunchConfigs      map[string]string
	LaunchConfigsError string
	// Overrides follow the servers' launch overrides by ServerKey (nil:
	// not compared yet; overrides.go).
	Overrides map[string]*OverrideState
	// Approvals are the decided approvals, in the order decided.
	Approvals []ApprovalRecord
	// HookRuns are the hooks' outcomes (each attempt's result and each
	// skip), in the order recorded (hooks.go).
	HookRuns []HookRecord
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
	// Approval is an approval step's request in its current run (nil
	// before it asks, and after a retry); approval.go.
	Approval *ApprovalState
	// Health follows the step's health checks by checkKey (nil: none
	// started); health.go.
	Health map[string]*CheckState
	// Hooks are the step's hooks in its current run, by phase and index
	// (hooks.go); a retry forgets those that failed.
	Hooks map[string]*HookState
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
	// Failed is when the attempt was recorded FAILED or REFUSED.
	Failed time.Time `json:"failed,omitzero"`
	// JobCreated is when DRS created the attempt's job (DRS's clock), or
	// when the job was recorded if DRS's time is not in the log.
	JobCreated time.Time `json:"jobCreated,omitzero"`
	// PointInTime is the time of the data the attempt's recovery
	// instance was launched from (EvRecoveryPoints). PointChecked says
	// that it was looked for; PointError why it is unknown, if it is.
	PointInTime  time.Time `json:"pointInTime,omitzero"`
	PointChecked bool      `json:"pointChecked,omitempty"`
	PointError   string    `json:"pointError,omitempty"`
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
	// Failed says why the last driver to work on the cleanup of an
	// ended drill stopped short of verifying it (DRS refused a
	// TERMINATE, or an error stopped it: DriverStopped.CleanupFailed);
	// "" while none has. It stays until the cleanup is verified, while
	// ripcord keeps trying.
	Failed string
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
		var spec Spec
		if s.Order == nil && decodeSpec(ev.Data, &spec) {
			s.Spec = spec // s.Spec was zero: no start applied yet
		} else if err := dec(&s.Spec); err != nil {
			return err
		}
		s.Started = ev.At
		for _, st := range s.Spec.Steps {
			ss := &StepState{Spec: st, Status: stepWaiting, Servers: make(map[string]*ServerState, len(st.Servers)), Blockers: map[string]string{}}
			all := make([]ServerState, len(st.Servers)) // one allocation for the step's servers
			for i, sv := range st.Servers {
				all[i] = ServerState{ID: sv.ID, Target: sv.Target, Optional: sv.Optional, Status: srvPending}
				ss.Servers[sv.ID] = &all[i]
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
		d, ok := s.decodeLaunchRequested(ev.Data)
		if !ok {
			var slow LaunchRequested
			if err := dec(&slow); err != nil {
				return err
			}
			d = slow
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
					sv.attempt(b.ID, func(a *Attempt) {
						a.JobID, a.Status, a.JobCreated = d.JobID, srvLaunching, d.Created
						if a.JobCreated.IsZero() {
							a.JobCreated = ev.At
						}
					})
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
					sv.attempt(b.ID, func(a *Attempt) { a.Status, a.Reason, a.Failed = "REFUSED", d.Code+": "+d.Error, ev.At })
				}
			}
		}
	case EvServerStatus:
		d, ok := s.decodeServerStatus(ev.Data)
		if !ok {
			var slow ServerStatus
			if err := dec(&slow); err != nil {
				return err
			}
			d = slow
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
			if d.Status == srvFailed {
				a.Failed = ev.At
			}
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
			sv.History = append(sv.History, Attempt{Requested: ev.At, Status: srvFailed, Reason: d.Reason, Failed: ev.At})
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
		case (st.Spec.Kind != ripcord.StepLaunch && st.Spec.Kind != ripcord.StepApproval && st.Spec.Kind != ripcord.StepCheck && st.Spec.Kind != ripcord.StepHook) || st.Status != stepFailed:
			return invalid("step %s is %s; only a failed launch, approval, check or hook step can be retried", d.Step, st.Status)
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
		st.Approval = nil // a retried approval step asks again
		st.retryChecks()  // failed health checks run again
		st.retryHooks()   // failed hooks run again
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
	case EvApprovalRequested, EvApprovalGranted, EvApprovalRejected, EvApprovalTimedOut:
		return s.applyApproval(ev, invalid)
	case EvHealthCheckStarted, EvHealthCheckPassed, EvHealthCheckFailed:
		return s.applyHealth(ev, invalid)
	case EvHookStarted, EvHookSucceeded, EvHookFailed, EvHookSkipped:
		return s.applyHook(ev, invalid)
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
	case EvLaunchConfigsRecorded:
		var d LaunchConfigsRecorded
		if err := dec(&d); err != nil {
			return err
		}
		if why := s.applyLaunchConfigs(d); why != "" {
			return invalid("%s", why)
		}
	case EvLaunchConfigsCompared, EvLaunchConfigUpdating, EvLaunchConfigUpdated:
		data, err := decodeOverrideEvent(ev.Type, ev.Data)
		if err != nil {
			return fmt.Errorf("execution %s: event %d (%s): %w", s.ID, ev.Seq, ev.Type, err)
		}
		if why := s.applyOverrideEvent(data); why != "" {
			return invalid("%s", why)
		}
	case EvRecoveryPoints:
		var d RecoveryPoints
		if err := dec(&d); err != nil {
			return err
		}
		var found []*Attempt
		for _, p := range d.Points {
			a := s.launchedAttempt(p.Server, p.Instance)
			switch {
			case a != nil && slices.Contains(found, a):
				return invalid("instance %s is named twice", p.Instance)
			case a == nil:
				return invalid("server %s has no launched attempt with instance %s", p.Server, p.Instance)
			case a.PointChecked:
				return invalid("the point in time of instance %s is recorded already", p.Instance)
			}
			found = append(found, a)
		}
		for i, a := range found {
			a.PointInTime, a.PointChecked = d.Points[i].PointInTime, true
			a.PointError = d.Error
			if a.PointInTime.IsZero() && a.PointError == "" {
				a.PointError = "DRS no longer knows the instance"
			}
		}
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
		// A stop or a lost lease says nothing of the cleanup: the last
		// failure stands until the cleanup is verified.
		if d.CleanupFailed != "" && s.Final() && s.Cleanup.Requested && !s.Cleanup.Done {
			s.Cleanup.Failed = d.CleanupFailed
		}
	default:
		return invalid("unknown event type")
	}
	return nil
}

// launchedAttempt is server's LAUNCHED attempt whose recovery instance is
// instance, or nil.
func (s *State) launchedAttempt(server, instance string) *Attempt {
	for _, st := range s.Steps {
		sv := st.Servers[server]
		if sv == nil {
			continue
		}
		for i := range sv.History {
			if a := &sv.History[i]; a.InstanceID == instance && a.Status == srvLaunched {
				return a
			}
		}
	}
	return nil
}

// InstanceLaunched is when the engine saw instance LAUNCHED, or zero: where
// its instance-minutes count from.
func (s *State) InstanceLaunched(instance string) time.Time {
	var launched time.Time
	for _, st := range s.Steps {
		for _, sv := range st.Servers {
			for _, a := range sv.History {
				if a.InstanceID == instance && !a.Launched.IsZero() {
					launched = a.Launched
				}
			}
		}
	}
	return launched
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
		if st.Approval != nil {
			a := *st.Approval
			cs.Approval = &a
		}
		if st.Health != nil {
			cs.Health = make(map[string]*CheckState, len(st.Health))
			for k, h := range st.Health {
				ch := *h
				cs.Health[k] = &ch
			}
		}
		if st.Hooks != nil {
			cs.Hooks = make(map[string]*HookState, len(st.Hooks))
			for k, h := range st.Hooks {
				ch := *h
				cs.Hooks[k] = &ch
			}
		}
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
	if s.Overrides != nil {
		c.Overrides = make(map[string]*OverrideState, len(s.Overrides))
		for k, o := range s.Overrides {
			co := *o
			c.Overrides[k] = &co
		}
	}
	c.Approvals = slices.Clone(s.Approvals)
	c.HookRuns = slices.Clone(s.HookRuns)
	c.Outages = make(map[string]*Outage, len(s.Outages))
	for k, o := range s.Outages {
		co := *o
		c.Outages[k] = &co
	}
	return &c
}

// Decoding the fold's big payloads fast. With encoding/json (reflection, and
// a validating pass before the decoding one) nine tenths of a fold went to
// decoding, nearly all of it ServerStatus (two per server), the Spec (every
// server, once) and LaunchRequested (every server, once). The decoders
// below take them in the form json.Marshal writes: objects of the type's
// own keys, each once; strings of printable ASCII without escapes;
// integers; true and false; null for a slice. They report false on
// anything else (another key, an escape, a duplicate, ...), and the caller
// decodes with encoding/json, so that the result, or the error, is always
// encoding/json's (FuzzFastDecoders checks it).

// decodeServerStatus decodes a ServerStatus in json.Marshal's form. Its
// strings are those s holds already when they are equal (the step's name,
// the server's ID, its job and instance): a fold meets some 40,000.
func (s *State) decodeServerStatus(data []byte) (d ServerStatus, ok bool) {
	var step, server, status, jobID, instanceID, reason []byte
	p := jsonScan{b: data, ok: true}
	p.object(func(key []byte) {
		var f *[]byte
		switch string(key) {
		case "step":
			f = &step
		case "server":
			f = &server
		case "status":
			f = &status
		case "jobID":
			f = &jobID
		case "instanceID":
			f = &instanceID
		case "reason":
			f = &reason
		default:
			p.fail()
			return
		}
		*f = p.strBytes()
	})
	if !p.end() {
		return d, false
	}
	var sv *ServerState
	if st := s.Steps[string(step)]; st != nil {
		d.Step = st.Spec.Name // its key
		sv = st.Servers[string(server)]
	} else {
		d.Step = string(step)
	}
	if sv != nil {
		d.Server = sv.ID // its key
		d.JobID = same(jobID, sv.JobID)
		d.InstanceID = same(instanceID, sv.InstanceID)
	} else {
		d.Server, d.JobID, d.InstanceID = string(server), string(jobID), string(instanceID)
	}
	switch string(status) {
	case srvLaunching:
		d.Status = srvLaunching
	case srvLaunched:
		d.Status = srvLaunched
	case srvFailed:
		d.Status = srvFailed
	default:
		d.Status = string(status)
	}
	d.Reason = string(reason)
	return d, true
}

// same returns held if b spells it, else b as a new string.
func same(b []byte, held string) string {
	if string(b) == held {
		return held
	}
	return string(b)
}

// decodeLaunchRequested decodes a LaunchRequested in json.Marshal's form;
// the IDs of its servers are those s holds.
func (s *State) decodeLaunchRequested(data []byte) (d LaunchRequested, ok bool) {
	p := jsonScan{b: data, ok: true}
	p.object(func(key []byte) {
		switch string(key) {
		case "step":
			d.Step = p.str()
		case "batch":
			d.Batch = p.str()
		case "target":
			d.Target = p.str()
		case "servers":
			var held map[string]*ServerState
			if st := s.Steps[d.Step]; st != nil {
				held = st.Servers
			}
			if p.null() {
				return // nil
			}
			d.Servers = []string{}
			p.array(func() {
				b := p.strBytes()
				if sv := held[string(b)]; sv != nil {
					d.Servers = append(d.Servers, sv.ID)
				} else {
					d.Servers = append(d.Servers, string(b))
				}
			})
		case "drsTime":
			p.time(&d.DRSTime)
		default:
			p.fail()
		}
	})
	return d, p.end()
}

// decodeSpec decodes a Spec in json.Marshal's form into spec, which is
// zero. Its settings, tags and targets are decoded by encoding/json (they
// are small); its steps and their servers by hand. On false, spec holds
// whatever was decoded so far: the caller drops it.
func decodeSpec(data []byte, spec *Spec) bool {
	p := jsonScan{b: data, ok: true}
	var target string // the last server's
	p.object(func(key []byte) {
		switch string(key) {
		case "plan":
			spec.Plan = p.str()
		case "planHash":
			spec.PlanHash = p.str()
		case "mode":
			spec.Mode = ripcord.Mode(p.str())
		case "exclusive":
			spec.Exclusive = p.str()
		case "settings":
			p.decode(&spec.Settings)
		case "tags":
			p.decode(&spec.Tags)
		case "targets":
			p.decode(&spec.Targets)
		case "launch":
			p.decode(&spec.Launch)
		case "steps":
			if p.null() {
				return // nil
			}
			spec.Steps = []SpecStep{}
			p.array(func() {
				spec.Steps = append(spec.Steps, SpecStep{})
				st := &spec.Steps[len(spec.Steps)-1]
				p.object(func(key []byte) {
					switch string(key) {
					case "name":
						st.Name = p.str()
					case "kind":
						st.Kind = ripcord.StepKind(p.str())
					case "duration":
						st.Duration = time.Duration(p.int())
					case "approval":
						p.decode(&st.Approval)
					case "health":
						p.decode(&st.Health)
					case "checks":
						p.decode(&st.Checks)
					case "hook":
						p.decode(&st.Hook)
					case "hooks":
						p.decode(&st.Hooks)
					case "after":
						if p.null() {
							return // nil
						}
						st.After = []string{}
						p.array(func() { st.After = append(st.After, p.str()) })
					case "servers":
						if p.null() {
							return // nil
						}
						st.Servers = []SpecServer{}
						p.array(func() {
							var sv SpecServer
							p.object(func(key []byte) {
								switch string(key) {
								case "id":
									sv.ID = p.str()
								case "target":
									sv.Target = same(p.strBytes(), target) // a few targets, many servers
									target = sv.Target
								case "optional":
									sv.Optional = p.bool()
								case "expected":
									sv.Expected = time.Duration(p.int())
								default:
									p.fail()
								}
							})
							st.Servers = append(st.Servers, sv)
						})
					default:
						p.fail()
					}
				})
			})
		default:
			p.fail()
		}
	})
	return p.end()
}

// jsonScan reads the JSON in b from i, for the decoders above. Once something is not in the form they take, ok is
// false and every method does nothing.
type jsonScan struct {
	b  []byte
	i  int
	ok bool
}

func (p *jsonScan) fail() { p.ok, p.i = false, len(p.b) }

// ws skips white space and reports whether a byte follows.
func (p *jsonScan) ws() bool {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return true
		}
	}
	return false
}

// next skips white space and takes c, if it is next.
func (p *jsonScan) next(c byte) bool {
	if p.ok && p.ws() && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether all of b was read, and in the form taken.
func (p *jsonScan) end() bool {
	return p.ok && !p.ws()
}

// object reads an object, calling member with each key: member reads the
// value. A key that comes twice fails (encoding/json merges the values).
func (p *jsonScan) object(member func(key []byte)) {
	if !p.next('{') {
		p.fail()
		return
	}
	if p.next('}') {
		return
	}
	var seen [8][]byte // no type decoded has more keys
	n := 0
	for p.ok {
		key := p.strBytes()
		if !p.next(':') {
			p.fail()
			return
		}
		for _, k := range seen[:n] {
			if string(k) == string(key) {
				p.fail()
				return
			}
		}
		if n == len(seen) {
			p.fail()
			return
		}
		seen[n] = key
		n++
		member(key)
		if p.next('}') {
			return
		}
		if !p.next(',') {
			p.fail()
		}
	}
}

// array reads an array, calling elem to read each element.
func (p *jsonScan) array(elem func()) {
	if !p.next('[') {
		p.fail()
		return
	}
	if p.next(']') {
		return
	}
	for p.ok {
		elem()
		if p.next(']') {
			return
		}
		if !p.next(',') {
			p.fail()
		}
	}
}

// strBytes reads a string of printable ASCII without escapes.
func (p *jsonScan) strBytes() []byte {
	if !p.next('"') {
		p.fail()
		return nil
	}
	for j := p.i; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[p.i:j]
			p.i = j + 1
			return s
		case c < 0x20 || c == '\\' || c >= 0x80:
			p.fail()
			return nil
		}
	}
	p.fail()
	return nil
}

func (p *jsonScan) str() string { return string(p.strBytes()) }

// int reads an integer: no fraction, no exponent, within int64.
func (p *jsonScan) int() int64 {
	if !p.ok || !p.ws() {
		p.fail()
		return 0
	}
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	switch {
	case p.i == digits, p.b[digits] == '0' && p.i > digits+1: // no digits; a leading zero
		p.fail()
		return 0
	case p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E'):
		p.fail()
		return 0
	}
	v, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	if err != nil {
		p.fail()
	}
	return v
}

// null takes null, if it is next: a slice decoded from it is nil.
func (p *jsonScan) null() bool {
	if p.ok && p.ws() && len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// bool reads true or false.
func (p *jsonScan) bool() bool {
	if !p.ok || !p.ws() {
		p.fail()
		return false
	}
	switch rest := p.b[p.i:]; {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false
	}
	p.fail()
	return false
}

// time reads a time as encoding/json does: a string given to
// time.Time.UnmarshalJSON.
func (p *jsonScan) time(t *time.Time) {
	if !p.ok || !p.ws() {
		p.fail()
		return
	}
	start := p.i
	p.strBytes()
	if !p.ok || t.UnmarshalJSON(p.b[start:p.i]) != nil {
		p.fail()
	}
}

// decode reads any value with encoding/json into v, which is zero.
func (p *jsonScan) decode(v any) {
	if !p.ok || !p.ws() {
		p.fail()
		return
	}
	start := p.i
	p.skip()
	if !p.ok || json.Unmarshal(p.b[start:p.i], v) != nil {
		p.fail()
	}
}

// skip passes over one value, without checking it (encoding/json does,
// when decode gives it the bytes).
func (p *jsonScan) skip() {
	depth := 0
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch c {
		case '"':
			j := p.i + 1
			for ; j < len(p.b) && p.b[j] != '"'; j++ {
				if p.b[j] == '\\' {
					j++
				}
			}
			if j >= len(p.b) {
				p.fail()
				return
			}
			p.i = j + 1
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			if depth == 0 {
				return
			}
			depth--
			p.i++
		case ',':
			if depth == 0 {
				return
			}
			p.i++
		default:
			p.i++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return
		}
	}
	if depth > 0 {
		p.fail()
	}
}
