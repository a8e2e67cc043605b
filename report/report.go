// Package report turns an execution's event log into a drill or recovery
// report: who started it and every control action, per step and per server
// when the launch was requested, when DRS created the job, when the server
// launched and from what data (the RPO achieved), the RTO achieved against
// the plan's target, failures with their causes and the remedies taken,
// the drill's cleanup and the instance-minutes used.
//
// Build reads nothing but what it is given: the execution folded by the
// engine (engine.Fold) and its events. The report is plain data
// (JSON-able, every time in UTC); JSON, Markdown and HTML render it
// (render.go). docs/reports.md says what each field means.
package report

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// Report is one execution's report. Field order is the JSON's; times are
// UTC; a time or number that is not known is null.
type Report struct {
	Execution string            `json:"execution"`
	Plan      string            `json:"plan"`
	PlanHash  string            `json:"planHash"`
	Mode      ripcord.Mode      `json:"mode"`
	State     ripcord.ExecState `json:"state"`
	// Verdict is the state, or "succeeded with exceptions" (Exceptions
	// says why): engine.Summary's.
	Verdict    string     `json:"verdict"`
	Exceptions []string   `json:"exceptions"`
	StartedBy  string     `json:"startedBy"`
	StartedAt  time.Time  `json:"startedAt"`
	EndedAt    *time.Time `json:"endedAt"`
	// GeneratedAt is when the report was built: the end of the
	// instance-minutes of instances still running.
	GeneratedAt time.Time `json:"generatedAt"`
	RTO         RTO       `json:"rto"`
	RPO         RPO       `json:"rpo"`
	Steps       []Step    `json:"steps"`
	Controls    []Control `json:"controls"`
	// Approvals are the decisions on approval steps, in the order made
	// (none: the plan has no approval step, and the key is left out).
	Approvals []Approval `json:"approvals,omitempty"`
	// Hooks are the outcomes of the plan's hooks: each attempt's result
	// and each skip, in the order recorded (hooks.go).
	Hooks    []Hook    `json:"hooks,omitempty"`
	Failures []Failure `json:"failures"`
	// Cleanup is null for a recovery (its instances are production).
	Cleanup   *Cleanup   `json:"cleanup"`
	Instances []Instance `json:"instances"`
	// InstanceMinutes is the sum over Instances of what is known.
	InstanceMinutes float64 `json:"instanceMinutes"`
	// LaunchChanges are the launch configuration fields changed before
	// launch; absent when the plan has no launch overrides.
	LaunchChanges []LaunchChange `json:"launchChanges,omitzero"`
}

// RTO is the recovery time achieved (engine.State.RecoveryTime): from the
// start to the launch of the last critical server.
type RTO struct {
	TargetSeconds   *float64 `json:"targetSeconds"`
	MeasuredSeconds *float64 `json:"measuredSeconds"`
	// Met is whether Measured is within the target; null without a target
	// or a measurement.
	Met                *bool      `json:"met"`
	LastCriticalServer string     `json:"lastCriticalServer,omitempty"`
	LastCriticalStep   string     `json:"lastCriticalStep,omitempty"`
	LastCriticalAt     *time.Time `json:"lastCriticalLaunchedAt"`
	// HealthySeconds is the time to the last critical server healthy: set
	// once health checks exist; null until then.
	HealthySeconds *float64 `json:"healthySeconds"`
	// LastHealthyServer (or check step), in LastHealthyStep, turned
	// healthy at LastHealthyAt; NotHealthy names the critical servers
	// and check steps not healthy. All absent when the plan has no
	// health checks (engine.State.HealthyTime).
	LastHealthyServer string     `json:"lastHealthyServer,omitempty"`
	LastHealthyStep   string     `json:"lastHealthyStep,omitempty"`
	LastHealthyAt     *time.Time `json:"lastHealthyAt,omitempty"`
	NotHealthy        []string   `json:"notHealthy,omitempty"`
	// NotLaunched are the critical servers that did not launch: while any
	// is listed, no RTO was achieved.
	NotLaunched []string `json:"notLaunched"`
}

// RPO is the recovery point achieved: per launched server, the execution's
// start minus the point in time of the data its instance was launched from.
type RPO struct {
	// TargetSeconds is the plan's rpo: the largest replication lag a
	// server may have and still be launched.
	TargetSeconds *float64 `json:"targetSeconds"`
	// WorstSeconds is the largest of the servers' RPOSeconds (negative:
	// every server's data is newer than the start).
	WorstSeconds *float64 `json:"worstSeconds"`
	WorstServer  string   `json:"worstServer,omitempty"`
	Met          *bool    `json:"met"`
	// Unknown are launched servers whose point in time is not known (not
	// read yet, or DRS could not say), with why.
	Unknown []string `json:"unknown"`
}

// Step is one step of the plan as the execution ran it.
type Step struct {
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt"`
	Reason    string     `json:"reason,omitempty"`
	SkippedBy string     `json:"skippedBy,omitempty"`
	Servers   []Server   `json:"servers"`
	// Checks are the step's health checks (a launch step's gate, a check
	// step's checks) as they ran; absent without any.
	Checks []engine.CheckRecord `json:"checks,omitempty"`
}

// Server is one server of a launch step: its last attempt's times at the
// top, every attempt below.
type Server struct {
	ID       string `json:"id"`
	Target   string `json:"target"`
	Optional bool   `json:"optional"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// RequestedAt is when ripcord recorded the launch (before calling
	// StartRecovery); JobCreatedAt when DRS created JobID; LaunchedAt
	// when ripcord saw the server LAUNCHED (within one poll of DRS).
	RequestedAt  *time.Time `json:"requestedAt"`
	JobID        string     `json:"jobID,omitempty"`
	JobCreatedAt *time.Time `json:"jobCreatedAt"`
	LaunchedAt   *time.Time `json:"launchedAt"`
	// HealthyAt is when the server passed its step's health gate; null
	// when the step has no gate or the server did not pass it.
	HealthyAt  *time.Time `json:"healthyAt"`
	InstanceID string     `json:"instanceID,omitempty"`
	// PointInTime is the time of the data the instance was launched from
	// (DRS's pointInTimeSnapshotDateTime); RPOSeconds the execution's
	// start minus it.
	PointInTime *time.Time `json:"pointInTime"`
	RPOSeconds  *float64   `json:"rpoSeconds"`
	Attempts    []Attempt  `json:"attempts"`
}

// Attempt is one launch attempt of a server.
type Attempt struct {
	N            int        `json:"n"`
	Batch        string     `json:"batch,omitempty"`
	Status       string     `json:"status"`
	RequestedAt  *time.Time `json:"requestedAt"`
	JobID        string     `json:"jobID,omitempty"`
	JobCreatedAt *time.Time `json:"jobCreatedAt"`
	LaunchedAt   *time.Time `json:"launchedAt"`
	FailedAt     *time.Time `json:"failedAt"`
	InstanceID   string     `json:"instanceID,omitempty"`
	PointInTime  *time.Time `json:"pointInTime"`
	Reason       string     `json:"reason,omitempty"`
}

// Control is a control action: pause, resume, cancel, retry, skip,
// cleanup, cleanup-scheduled. Automatic is true for those the engine took
// itself (a pause for a failure or an error, a scheduled cleanup that came
// due, a cancelled drill's cleanup); By is then the identity the engine
// recorded.
type Control struct {
	At        time.Time `json:"at"`
	By        string    `json:"by"`
	Action    string    `json:"action"`
	Step      string    `json:"step,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Automatic bool      `json:"automatic"`
}

// Failure is a launch attempt that failed (FAILED) or that DRS refused
// (REFUSED), with the remedy taken: retry (a person retried the step),
// relaunch (the engine launched it again), skip (a person skipped the
// step), continue (an optional server, or the plan's failure policy
// continue), stop (the execution failed), cancel, or none (nothing yet:
// the execution waits for a person).
type Failure struct {
	At       time.Time  `json:"at"`
	Step     string     `json:"step"`
	Server   string     `json:"server"`
	Optional bool       `json:"optional"`
	Attempt  int        `json:"attempt"`
	Status   string     `json:"status"`
	JobID    string     `json:"jobID,omitempty"`
	Cause    string     `json:"cause"`
	Remedy   string     `json:"remedy"`
	RemedyBy string     `json:"remedyBy,omitempty"`
	RemedyAt *time.Time `json:"remedyAt"`
	Detail   string     `json:"detail"`
}

// Cleanup is a drill's cleanup: what was terminated and verified gone.
type Cleanup struct {
	// Status is "not requested", "scheduled", "requested", "failed"
	// (Failed says why; the instances are still running) or "verified".
	Status      string     `json:"status"`
	Failed      string     `json:"failed,omitempty"`
	DueAt       *time.Time `json:"dueAt"`
	RequestedAt *time.Time `json:"requestedAt"`
	RequestedBy string     `json:"requestedBy,omitempty"`
	VerifiedAt  *time.Time `json:"verifiedAt"`
	// Terminated are the instances ripcord's TERMINATE jobs (TerminateJobs)
	// terminated and DescribeRecoveryInstances then showed gone.
	Terminated    []string `json:"terminated"`
	TerminateJobs []string `json:"terminateJobs"`
	// AlreadyGone were gone before the cleanup reached them (replaced by
	// a later drill, terminated by someone); NotOurs were left alone.
	AlreadyGone []string `json:"alreadyGone"`
	NotOurs     []string `json:"notOurs"`
	// InstanceMinutes is the engine's figure for the terminated instances.
	InstanceMinutes float64 `json:"instanceMinutes"`
}

// Instance is a launched recovery instance and how long it ran.
type Instance struct {
	ID         string     `json:"id"`
	Server     string     `json:"server"`
	Step       string     `json:"step"`
	LaunchedAt time.Time  `json:"launchedAt"`
	EndedAt    *time.Time `json:"endedAt"`
	// Until says what EndedAt is: "terminated" (cleanup verified it
	// gone), "report time" (still running when the report was built), or
	// "unknown" (gone before the cleanup reached it: not counted).
	Until   string   `json:"until"`
	Minutes *float64 `json:"minutes"`
}

// FromEvents folds execution id's events and builds its report at now.
func FromEvents(id string, events []ripcord.Event, now time.Time) (Report, error) {
	if len(events) == 0 {
		return Report{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "execution " + id + " has no events",
			Hint: "ripcord exec list shows the executions of this store"}
	}
	s, err := engine.Fold(id, events)
	if err != nil {
		return Report{}, err
	}
	return Build(s, events, now), nil
}

// Build makes the report of execution s, folded from events, at now (never
// before its last event: a simulator's clock may run ahead of the caller's).
func Build(s *engine.State, events []ripcord.Event, now time.Time) Report {
	if n := len(events); n > 0 && events[n-1].At.After(now) {
		now = events[n-1].At
	}
	sum := s.Summarize(0)
	r := Report{
		Execution: s.ID, Plan: s.Spec.Plan, PlanHash: s.Spec.PlanHash, Mode: s.Spec.Mode, State: s.State,
		Verdict: sum.Verdict, Exceptions: nonNil(sum.Exceptions), StartedAt: s.Started.UTC(), EndedAt: at(s.Finished),
		GeneratedAt: now.UTC(), Steps: []Step{}, Controls: controls(s, events), Failures: []Failure{},
		Instances: []Instance{},
	}
	if len(events) > 0 {
		r.StartedBy = events[0].Actor
	}
	r.RTO = rto(s)
	r.Approvals = approvals(s)
	r.Hooks = hooks(s)
	for _, name := range s.Order {
		st := s.Steps[name]
		rs := Step{Name: name, Kind: string(st.Spec.Kind), Status: st.Status, StartedAt: at(st.Started), EndedAt: at(st.Ended),
			Reason: st.Reason, SkippedBy: st.SkippedBy, Servers: []Server{}}
		for _, sp := range st.Spec.Servers { // plan order
			sv := st.Servers[sp.ID]
			if sv == nil {
				continue
			}
			out := server(s, sv)
			if t, ok := st.ServerHealthy(sv.ID); ok && len(st.Spec.Health) > 0 {
				out.HealthyAt = at(t)
			}
			rs.Servers = append(rs.Servers, out)
		}
		rs.Checks = st.CheckRecords()
		r.Steps = append(r.Steps, rs)
	}
	r.RPO = rpo(s, r.Steps)
	r.Failures = failures(s, events, r.Steps)
	if s.Spec.Mode == ripcord.ModeDrill {
		r.Cleanup = cleanup(s, events)
	}
	r.Instances, r.InstanceMinutes = instances(s, r.Steps, r.Cleanup, now)
	r.LaunchChanges = launchChanges(s, events)
	return r
}

// at is t in UTC, or nil for the zero time.
func at(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func seconds(d time.Duration) *float64 {
	v := d.Seconds()
	return &v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func rto(s *engine.State) RTO {
	m := s.RecoveryTime()
	r := RTO{NotLaunched: nonNil(m.NotLaunched)}
	if t := s.Spec.Settings.RTOTarget; t > 0 {
		r.TargetSeconds = seconds(t)
	}
	if m.Complete() {
		r.MeasuredSeconds = seconds(m.Measured)
		r.LastCriticalServer, r.LastCriticalStep, r.LastCriticalAt = m.Last, m.Step, at(m.At)
		if r.TargetSeconds != nil {
			met := m.Measured <= s.Spec.Settings.RTOTarget
			r.Met = &met
		}
	}
	if h := s.HealthyTime(); h.Checked {
		r.NotHealthy = nonNil(h.NotHealthy)
		if h.Complete() {
			r.HealthySeconds = seconds(h.Measured)
			r.LastHealthyServer, r.LastHealthyStep, r.LastHealthyAt = h.Last, h.Step, at(h.At)
		}
	}
	return r
}

func server(s *engine.State, sv *engine.ServerState) Server {
	out := Server{ID: sv.ID, Target: sv.Target, Optional: sv.Optional, Status: sv.Status, Reason: sv.Reason,
		JobID: sv.JobID, InstanceID: sv.InstanceID, Attempts: []Attempt{}}
	for i, a := range sv.History {
		out.Attempts = append(out.Attempts, Attempt{N: i + 1, Batch: a.Batch, Status: a.Status, RequestedAt: at(a.Requested),
			JobID: a.JobID, JobCreatedAt: at(a.JobCreated), LaunchedAt: at(a.Launched), FailedAt: at(a.Failed),
			InstanceID: a.InstanceID, PointInTime: at(a.PointInTime), Reason: a.Reason})
	}
	if n := len(sv.History); n > 0 {
		last := sv.History[n-1]
		out.RequestedAt, out.JobCreatedAt, out.LaunchedAt = at(last.Requested), at(last.JobCreated), at(last.Launched)
		if sv.Status == "LAUNCHED" && !last.PointInTime.IsZero() {
			out.PointInTime = at(last.PointInTime)
			out.RPOSeconds = seconds(s.Started.Sub(last.PointInTime))
		}
	}
	return out
}

func rpo(s *engine.State, steps []Step) RPO {
	r := RPO{Unknown: []string{}}
	if t := s.Spec.Settings.RPOTarget; t > 0 {
		r.TargetSeconds = seconds(t)
	}
	for _, st := range steps {
		for _, sv := range st.Servers {
			if sv.Status != "LAUNCHED" {
				continue
			}
			if sv.RPOSeconds == nil {
				why := "not read yet: it is read once no launch of the execution runs"
				if a := s.Steps[st.Name].Servers[sv.ID].History; len(a) > 0 && a[len(a)-1].PointError != "" {
					why = a[len(a)-1].PointError
				}
				r.Unknown = append(r.Unknown, sv.ID+": "+why)
				continue
			}
			if r.WorstSeconds == nil || *sv.RPOSeconds > *r.WorstSeconds {
				v := *sv.RPOSeconds
				r.WorstSeconds, r.WorstServer = &v, sv.ID
			}
		}
	}
	if r.WorstSeconds != nil && r.TargetSeconds != nil {
		met := *r.WorstSeconds <= *r.TargetSeconds
		r.Met = &met
	}
	return r
}

// controls lists the control actions of the log.
func controls(s *engine.State, events []ripcord.Event) []Control {
	out := []Control{}
	cancelled := false
	for _, ev := range events {
		c := Control{At: ev.At.UTC(), By: ev.Actor}
		switch ev.Type {
		case engine.EvExecutionPaused:
			d := decode[engine.StepRef](ev)
			c.Action, c.Step, c.Detail = "pause", d.Step, d.Reason
			// A person's pause names no step and no remedy; the
			// engine's pauses are for a failed step or an error.
			c.Automatic = d.Step != "" || d.Remedy != ""
			if d.Remedy != "" {
				c.Detail += "; remedy: " + d.Remedy
			}
		case engine.EvExecutionResumed:
			c.Action = "resume"
		case engine.EvCancelRequested:
			c.Action = "cancel"
			cancelled = true
		case engine.EvRetryRequested:
			c.Action, c.Step = "retry", decode[engine.StepRef](ev).Step
		case engine.EvStepSkipped:
			d := decode[engine.StepFinished](ev)
			if !d.Manual {
				continue // the engine's skip of a step whose dependency failed
			}
			c.Action, c.Step, c.Detail = "skip", d.Step, d.Reason
		case engine.EvCleanupScheduled:
			d := decode[engine.CleanupScheduled](ev)
			c.Action = "cleanup-scheduled"
			if !d.Due.IsZero() {
				c.Detail = "due " + d.Due.UTC().Format(time.RFC3339)
			} else {
				c.Detail = d.After.String() + " after the end"
			}
		case engine.EvCleanupRequested:
			c.Action = "cleanup"
			due := s.Cleanup.Due
			switch {
			case cancelled:
				c.Automatic, c.Detail = true, "the cancelled drill's instances"
			case !due.IsZero() && !ev.At.Before(due):
				c.Automatic, c.Detail = true, "the scheduled cleanup came due"
			}
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

func decode[T any](ev ripcord.Event) T {
	var v T
	_ = json.Unmarshal(ev.Data, &v) // the fold decoded it already
	return v
}

// failures lists the failed and refused attempts with the remedy taken.
func failures(s *engine.State, events []ripcord.Event, steps []Step) []Failure {
	out := []Failure{}
	for _, st := range steps {
		ss := s.Steps[st.Name]
		for _, sv := range st.Servers {
			for i, a := range sv.Attempts {
				if a.Status != "FAILED" && a.Status != "REFUSED" {
					continue
				}
				f := Failure{Step: st.Name, Server: sv.ID, Optional: sv.Optional, Attempt: a.N, Status: a.Status,
					JobID: a.JobID, Cause: a.Reason}
				if a.FailedAt != nil {
					f.At = *a.FailedAt
				} else if a.RequestedAt != nil {
					f.At = *a.RequestedAt
				}
				remedy(s, events, ss, sv, i, &f)
				out = append(out, f)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Failure) int { return a.At.Compare(b.At) })
	return out
}

// remedy fills in what was done about attempt i of sv.
func remedy(s *engine.State, events []ripcord.Event, st *engine.StepState, sv Server, i int, f *Failure) {
	if i+1 < len(sv.Attempts) {
		// Launched again: by a person's retry of the step, or by the
		// engine (a refused batch, a server held past a refusal).
		next := sv.Attempts[i+1]
		for _, ev := range events {
			if ev.Type != engine.EvRetryRequested || ev.At.Before(f.At) || next.RequestedAt != nil && ev.At.After(*next.RequestedAt) {
				continue
			}
			if decode[engine.StepRef](ev).Step == f.Step {
				f.Remedy, f.RemedyBy, f.RemedyAt = "retry", ev.Actor, at(ev.At)
				f.Detail = "retried by " + ev.Actor + "; attempt " + strconv.Itoa(next.N) + " " + next.Status
				return
			}
		}
		f.Remedy, f.RemedyAt = "relaunch", next.RequestedAt
		f.Detail = "launched again by ripcord; attempt " + strconv.Itoa(next.N) + " " + next.Status
		return
	}
	switch {
	case sv.Status == "LAUNCHED" || sv.Status == "IN_PROGRESS" || sv.Status == "REQUESTED" || sv.Status == "PENDING" && st.Status == "running":
		f.Remedy, f.Detail = "relaunch", "waits to be launched again by ripcord"
	case sv.Optional:
		f.Remedy, f.Detail = "continue", "optional server: the step went on without it"
	case st.Manual:
		f.Remedy, f.RemedyBy, f.RemedyAt = "skip", st.SkippedBy, at(st.Ended)
		f.Detail = "step " + f.Step + " skipped by " + st.SkippedBy + "; the steps after it went on"
	case s.State == ripcord.ExecCancelled || s.Cancel:
		f.Remedy, f.Detail = "cancel", "the execution was cancelled"
	case s.Spec.Settings.FailurePolicy == ripcord.FailureContinue:
		f.Remedy, f.Detail = "continue", "failure policy continue: the steps that do not depend on "+f.Step+" went on"
	case s.State == ripcord.ExecFailed:
		f.Remedy, f.Detail = "stop", "the execution failed: "+s.Reason
	default:
		f.Remedy, f.Detail = "none", "none yet: the execution waits for a person to retry, skip, resume or cancel"
	}
}

// cleanup is a drill's cleanup as the log records it.
func cleanup(s *engine.State, events []ripcord.Event) *Cleanup {
	c := s.Cleanup
	out := &Cleanup{Status: "not requested", DueAt: at(c.Due), VerifiedAt: at(c.Finished), Terminated: []string{},
		TerminateJobs: []string{}, AlreadyGone: nonNil(slices.Clone(c.AlreadyGone)), NotOurs: nonNil(slices.Clone(c.NotOurs)),
		InstanceMinutes: c.Minutes}
	switch {
	case c.Done:
		out.Status = "verified"
	case c.Requested && c.Failed != "":
		out.Status, out.Failed = "failed", c.Failed
	case c.Requested:
		out.Status = "requested"
	case !c.Due.IsZero() || c.After > 0:
		out.Status = "scheduled"
	}
	for _, ev := range events {
		if ev.Type == engine.EvCleanupRequested {
			out.RequestedAt, out.RequestedBy = at(ev.At), ev.Actor
		}
	}
	if c.Done {
		for _, id := range sortedBatchIDs(s) {
			b := s.Batches[id]
			if b.Terminate && b.JobID != "" {
				out.Terminated = append(out.Terminated, b.Servers...)
				out.TerminateJobs = append(out.TerminateJobs, b.JobID)
			}
		}
		slices.Sort(out.Terminated)
		out.Terminated = slices.Compact(out.Terminated)
	}
	return out
}

func sortedBatchIDs(s *engine.State) []string {
	ids := make([]string, 0, len(s.Batches))
	for id := range s.Batches {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if len(a) != len(b) { // b2 before b10
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return ids
}

// instances lists every launched instance with its instance-minutes: to
// its verified termination, or to now while it runs.
func instances(s *engine.State, steps []Step, c *Cleanup, now time.Time) ([]Instance, float64) {
	terminated, gone := map[string]bool{}, map[string]bool{}
	if c != nil {
		for _, id := range c.Terminated {
			terminated[id] = true
		}
		for _, id := range c.AlreadyGone {
			gone[id] = true
		}
	}
	out := []Instance{}
	total := 0.0
	for _, st := range steps {
		for _, sv := range st.Servers {
			for _, a := range sv.Attempts {
				if a.LaunchedAt == nil || a.InstanceID == "" {
					continue
				}
				in := Instance{ID: a.InstanceID, Server: sv.ID, Step: st.Name, LaunchedAt: *a.LaunchedAt}
				switch {
				case terminated[a.InstanceID]:
					in.Until, in.EndedAt = "terminated", c.VerifiedAt
				case gone[a.InstanceID]:
					in.Until = "unknown"
				default:
					in.Until, in.EndedAt = "report time", at(now)
				}
				if in.EndedAt != nil {
					m := engine.InstanceMinutes(s.InstanceLaunched(a.InstanceID), *in.EndedAt)
					in.Minutes = &m
					total += m
				}
				out = append(out, in)
			}
		}
	}
	return out, total
}
