package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Event types of an execution's log. Each is appended before the action it
// announces (an intent) or after the fact it records, so that the state can
// be rebuilt from the log and DRS alone after a crash.
const (
	EvExecutionStarted   = "ExecutionStarted"
	EvStepStarted        = "StepStarted"
	EvServersBlocked     = "ServersBlocked"
	EvLaunchRequested    = "LaunchRequested" // intent: recorded before StartRecovery
	EvJobCreated         = "JobCreated"
	EvLaunchUnclear      = "LaunchUnclear" // outcome unknown: reconcile before any retry
	EvJobAdopted         = "JobAdopted"    // reconciliation found the job
	EvLaunchRefused      = "LaunchRefused" // DRS refused the batch; its servers wait again
	EvServerStatus       = "ServerStatus"
	EvStepFinished       = "StepFinished"
	EvExecutionPaused    = "ExecutionPaused"
	EvExecutionResumed   = "ExecutionResumed"
	EvCancelRequested    = "CancelRequested"
	EvStepSkipped        = "StepSkipped"
	EvRetryRequested     = "RetryRequested"
	EvCleanupRequested   = "CleanupRequested"
	EvTerminateRequested = "TerminateRequested"
	EvTerminateJob       = "TerminateJobCreated"
	EvTerminateUnclear   = "TerminateUnclear"
	EvCleanupFinished    = "CleanupFinished"
	EvExecutionFinished  = "ExecutionFinished"
	// EvCleanupScheduled records when a drill's cleanup is due
	// (run --cleanup-after): whoever drives the execution then carries it
	// out, even after a crash or a Ctrl-C during the wait.
	EvCleanupScheduled = "CleanupScheduled"
	// EvDriverStarted and EvDriverStopped frame each stretch of driving:
	// who held the lease (host, pid), with which fencing epoch, and why
	// it stopped, with the DRS requests it made.
	EvDriverStarted = "DriverStarted"
	EvDriverStopped = "DriverStopped"
	// EvDRSUnavailable records that DRS calls in a target keep failing
	// with transient errors (what fails, since when, how many attempts);
	// EvDRSRecovered that they work again.
	EvDRSUnavailable = "DRSUnavailable"
	EvDRSRecovered   = "DRSRecovered"
	// EvRecoveryPoints records the point in time of the data that
	// launched recovery instances were launched from, as DRS describes
	// the instances; read once no launch of the execution is running,
	// so that no launch waits for it (points.go).
	EvRecoveryPoints = "RecoveryPoints"
)

// Spec is what an execution runs, frozen when it starts: the plan version
// and the servers each step resolved to.
type Spec struct {
	Plan     string            `json:"plan"`
	PlanHash string            `json:"planHash"`
	Mode     ripcord.Mode      `json:"mode"`
	Settings ripcord.Settings  `json:"settings"`
	Steps    []SpecStep        `json:"steps"`
	Tags     map[string]string `json:"tags,omitempty"`
	// Targets are the DRS connections the steps use, by name, so that an
	// execution can be resumed from the store alone.
	Targets []ripcord.Target `json:"targets,omitempty"`
	// Launch are the launch overrides of the servers that have any, by
	// ServerKey, as the plan's protection groups resolved them
	// (docs/plans.md, "Launch overrides").
	Launch map[string]ripcord.LaunchOverrides `json:"launch,omitempty"`
	// Exclusive keeps two live executions of the same plan on the same
	// targets apart (ripcord.Execution.Exclusive); empty when the run
	// allowed concurrent executions on purpose.
	Exclusive string `json:"exclusive,omitempty"`
}

// SpecStep is one step with its resolved servers.
type SpecStep struct {
	Name     string           `json:"name"`
	Kind     ripcord.StepKind `json:"kind"`
	After    []string         `json:"after,omitempty"`
	Duration time.Duration    `json:"duration,omitempty"`
	Servers  []SpecServer     `json:"servers,omitempty"`
	// Approval is what an approval step asks (approval.go).
	Approval *ripcord.Approval `json:"approval,omitempty"`
	// Health is a launch step's health gate and Checks a check step's
	// checks (health.go).
	Health []ripcord.HealthCheck `json:"health,omitempty"`
	Checks []ripcord.HealthCheck `json:"checks,omitempty"`
	// Hook is a hook step's hook; Hooks run before and after any step's
	// own work (hooks.go).
	Hook  *ripcord.Hook      `json:"hook,omitempty"`
	Hooks *ripcord.StepHooks `json:"hooks,omitempty"`
}

// SpecServer is a server of a launch step.
type SpecServer struct {
	ID       string `json:"id"`
	Target   string `json:"target"`
	Optional bool   `json:"optional,omitempty"`
	// Expected is how long DRS is expected to take to launch the server
	// (ExpectedLaunch; zero: unknown). Batching groups servers of like
	// expectation into a job, so that a slow server does not hold fast
	// ones' share of the quota.
	Expected time.Duration `json:"expected,omitempty"`
}

// Event payloads: the data of each event type, as the log holds it (JSON).
// The engine writes them; readers of a log (exec show) decode them with
// these types, so that the log's format is defined once.
type (
	// StepStarted is the data of EvStepStarted.
	StepStarted struct {
		Step string `json:"step"`
	}
	// ServersBlocked is the data of EvServersBlocked: servers held by another job.
	ServersBlocked struct {
		Step    string    `json:"step"`
		Target  string    `json:"target"`
		Servers []string  `json:"servers"`
		JobID   string    `json:"jobID"`
		JobType string    `json:"jobType"`
		Since   time.Time `json:"since"`
	}
	// LaunchRequested is the data of EvLaunchRequested: the intent of one StartRecovery.
	LaunchRequested struct {
		Step    string   `json:"step"`
		Batch   string   `json:"batch"`
		Target  string   `json:"target"`
		Servers []string `json:"servers"`
		// DRSTime is the latest time DRS had said it was when the intent
		// was recorded (zero when unknown): on DRS's clock, the job of
		// this batch is created after it.
		DRSTime time.Time `json:"drsTime,omitzero"`
	}
	// JobCreated is the data of EvJobCreated, EvJobAdopted and EvTerminateJob: a batch's job.
	JobCreated struct {
		Batch string `json:"batch"`
		JobID string `json:"jobID"`
		// Created is when DRS says it created the job (its
		// creationDateTime, on DRS's clock); zero in logs written
		// before it was recorded.
		Created time.Time `json:"created,omitzero"`
	}
	// LaunchUnclear is the data of EvLaunchUnclear and EvTerminateUnclear.
	LaunchUnclear struct {
		Batch string `json:"batch"`
		Error string `json:"error"`
	}
	// LaunchRefused is the data of EvLaunchRefused: DRS refused a batch (Code is DRS's error type, or UNCLEAR).
	LaunchRefused struct {
		Batch string `json:"batch"`
		Code  string `json:"code"`
		Error string `json:"error"`
	}
	// ServerStatus is the data of EvServerStatus: a server's launch status in its job.
	ServerStatus struct {
		Step       string `json:"step"`
		Server     string `json:"server"`
		Status     string `json:"status"`
		JobID      string `json:"jobID,omitempty"`
		InstanceID string `json:"instanceID,omitempty"`
		Reason     string `json:"reason,omitempty"`
	}
	// StepFinished is the data of EvStepFinished and EvStepSkipped.
	StepFinished struct {
		Step   string `json:"step"`
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
		Manual bool   `json:"manual,omitempty"` // skipped by a person: later steps go on
	}
	// StepRef is the data of EvRetryRequested and EvExecutionPaused.
	StepRef struct {
		Step   string `json:"step"`
		Reason string `json:"reason,omitempty"`
		// Remedy says what a person should do (a pause for an error).
		Remedy string `json:"remedy,omitempty"`
	}
	// TerminateRequested is the data of EvTerminateRequested: the intent of one TerminateRecoveryInstances.
	TerminateRequested struct {
		Batch     string    `json:"batch"`
		Target    string    `json:"target"`
		Instances []string  `json:"instances"`
		DRSTime   time.Time `json:"drsTime,omitzero"` // as in LaunchRequested
	}
	// CleanupFinished is the data of EvCleanupFinished.
	CleanupFinished struct {
		Instances       int     `json:"instances"` // terminated by this cleanup
		InstanceMinutes float64 `json:"instanceMinutes"`
		// AlreadyGone were terminated, replaced by a later drill or
		// unknown to DRS before this cleanup got to them: cleaned up.
		AlreadyGone []string `json:"alreadyGone,omitempty"`
		// NotOurs are instances the state named that DRS says another
		// job launched, or that are not drill instances: left alone.
		NotOurs []string `json:"notOurs,omitempty"`
	}
	// CleanupScheduled is the data of EvCleanupScheduled: the cleanup is due After the execution ends (run --cleanup-after, recorded when the run starts), or at Due.
	CleanupScheduled struct {
		After time.Duration `json:"after,omitempty"`
		Due   time.Time     `json:"due,omitzero"`
	}
	// DriverStarted is the data of EvDriverStarted.
	DriverStarted struct {
		Owner ripcord.LeaseOwner `json:"owner"`
		Epoch int64              `json:"epoch"`
		// Took over from a previous owner whose lease had expired or
		// whose process was gone.
		TookOver *ripcord.LeaseOwner `json:"tookOver,omitempty"`
	}
	// DriverStopped is the data of EvDriverStopped.
	DriverStopped struct {
		Epoch    int64  `json:"epoch"`
		Reason   string `json:"reason"`
		DRSCalls int64  `json:"drsCalls"`
		// CleanupFailed, on an ended drill whose cleanup is open, is why
		// the driver stopped short of verifying it ("" when it was only
		// stopped, or lost its lease).
		CleanupFailed string `json:"cleanupFailed,omitempty"`
	}
	// DRSUnavailable is the data of EvDRSUnavailable.
	DRSUnavailable struct {
		Target   string    `json:"target"`
		Op       string    `json:"op"`
		Error    string    `json:"error"`
		Since    time.Time `json:"since"`
		Attempts int       `json:"attempts"`
	}
	// DRSRecovered is the data of EvDRSRecovered.
	DRSRecovered struct {
		Target   string `json:"target"`
		Attempts int    `json:"attempts"`
	}
	// RecoveryPoints is the data of EvRecoveryPoints: for launched
	// recovery instances of one target, the point in time of their data.
	RecoveryPoints struct {
		Target string          `json:"target"`
		Points []RecoveryPoint `json:"points"`
		// Error is why DRS could not be asked (the points stay unknown,
		// and are not asked for again).
		Error string `json:"error,omitempty"`
	}
	// RecoveryPoint is one instance's point in time.
	RecoveryPoint struct {
		Server   string `json:"server"`
		Instance string `json:"instance"`
		// PointInTime is DRS's pointInTimeSnapshotDateTime; zero when
		// DRS no longer knows the instance or could not be asked.
		PointInTime time.Time `json:"pointInTime,omitzero"`
	}
	// ExecutionFinished is the data of EvExecutionFinished.
	ExecutionFinished struct {
		State  ripcord.ExecState `json:"state"`
		Reason string            `json:"reason,omitempty"`
	}
)

// newEvent builds an event with a JSON payload.
func newEvent(typ, actor string, at time.Time, data any) ripcord.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("engine: event %s: %v", typ, err)) // payloads are plain structs
	}
	return ripcord.Event{Type: typ, Actor: actor, At: at, Data: b}
}
