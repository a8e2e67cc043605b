package ripcord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// DRS is what the engine needs from AWS Elastic Disaster Recovery in one
// target (an account and region). drs.Client implements it on the AWS SDK,
// against the real service or the simulator; the engine shares one per
// target, so that its rate limit and call counts are per target.
//
// Errors are *DRSError values (see there); drs.IsConflict, drs.IsUnclear and
// the other helpers in package drs classify them.
type DRS interface {
	// ListSourceServers returns the source servers with the given IDs, or
	// every source server when ids is nil. IDs DRS does not know are absent
	// from the result; that is not an error. An empty, non-nil ids returns
	// nothing.
	ListSourceServers(ctx context.Context, ids []string) ([]SourceServer, error)

	// DescribeJobs returns the jobs with the given IDs; unknown IDs are
	// absent from the result. Empty ids returns nothing (use
	// JobsCreatedSince to search).
	DescribeJobs(ctx context.Context, ids []string) ([]Job, error)

	// JobsCreatedSince returns the jobs DRS created at or after since,
	// allowing for some clock skew between ripcord and DRS; with a zero
	// since, every job DRS holds (all of history). It is how the engine
	// finds the jobs that hold servers or quota, and how an unclear
	// StartRecovery is reconciled.
	JobsCreatedSince(ctx context.Context, since time.Time) ([]Job, error)

	// JobLog returns a job's log, oldest first.
	JobLog(ctx context.Context, jobID string) ([]JobLogItem, error)

	// StartRecovery starts one LAUNCH job for servers, a drill when drill
	// is true, with tags on the job. It is attempted exactly once: when
	// the error is unclear (drs.IsUnclear), the job may exist and the
	// caller must look for it before trying again.
	StartRecovery(ctx context.Context, servers []LaunchServer, drill bool, tags map[string]string) (Job, error)

	// TerminateRecoveryInstances starts one TERMINATE job for up to 200
	// recovery instances. Like StartRecovery it is attempted once.
	TerminateRecoveryInstances(ctx context.Context, ids []string) (Job, error)

	// StartFailbackLaunch starts one LAUNCH job (initiated by FAILBACK)
	// that fails back up to 200 recovery instances whose failback state
	// is FailbackReadyForLaunch, with tags on the job. Its participating
	// servers name each instance's source server. Like StartRecovery it
	// is attempted once: after an unclear error the job may exist.
	StartFailbackLaunch(ctx context.Context, instanceIDs []string, tags map[string]string) (Job, error)

	// ListRecoveryInstances returns the recovery instances with the given
	// IDs and/or of the given source servers; with both nil, every one.
	ListRecoveryInstances(ctx context.Context, ids []string, serverIDs []string) ([]RecoveryInstance, error)

	// CallerIdentity says whose credentials DRS calls in this target use
	// (after assuming the target's role, if any): STS GetCallerIdentity.
	// The engine compares its account with the target's before launching.
	CallerIdentity(ctx context.Context) (CallerIdentity, error)

	// LaunchConfiguration returns how DRS will launch a source server
	// (GetLaunchConfiguration). Readiness checks and staleness read it.
	LaunchConfiguration(ctx context.Context, serverID string) (LaunchConfiguration, error)

	// UpdateLaunchConfiguration sets the fields changes sets of how DRS
	// launches a source server, and leaves the others as they are; it
	// returns the configuration as DRS then has it. Setting a value is
	// idempotent, so the adapter may retry it like a read. DRS refuses it
	// (a conflict) while a job launches the server.
	UpdateLaunchConfiguration(ctx context.Context, serverID string, changes LaunchOverrides) (LaunchConfiguration, error)

	// RecoverySnapshots returns a source server's recovery snapshots,
	// newest first, at most limit of them (0: every one).
	RecoverySnapshots(ctx context.Context, serverID string, limit int) ([]RecoverySnapshot, error)
}

// LaunchConfiguration is how DRS launches a source server's recovery
// instance.
type LaunchConfiguration struct {
	SourceServerID string
	Name           string
	// LaunchDisposition is STARTED or STOPPED: whether the instance is
	// started after launch. A STOPPED instance never boots in a drill.
	LaunchDisposition string
	// RightSizing is DRS's targetInstanceTypeRightSizingMethod: NONE (the
	// EC2 launch template's fixed instance type), BASIC or IN_AWS.
	RightSizing string
	// CopyPrivateIP launches the instance with the source server's private
	// IP address.
	CopyPrivateIP bool
	CopyTags      bool
	// BYOL is the OS licensing: bring your own licence.
	BYOL bool
	// LaunchTemplateID is the EC2 launch template DRS launches from.
	LaunchTemplateID string
	// PostLaunchActions reports whether post-launch actions are enabled.
	PostLaunchActions bool
}

// Fingerprint names the configuration's content: it changes when any
// setting that decides how the server launches changes, and only then.
func (c LaunchConfiguration) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%q|%t|%t|%t|%q|%t", c.Name, c.LaunchDisposition, c.RightSizing,
		c.CopyPrivateIP, c.CopyTags, c.BYOL, c.LaunchTemplateID, c.PostLaunchActions)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// RecoverySnapshot is a point in time DRS can launch a server from.
type RecoverySnapshot struct {
	ID             string // pit-…
	SourceServerID string
	// Expected is when DRS scheduled the snapshot; Taken when it was
	// taken (zero while it is being taken).
	Expected time.Time
	Taken    time.Time
}

// CallerIdentity is who AWS takes the caller to be.
type CallerIdentity struct {
	Account string // 12 digits
	ARN     string // e.g. arn:aws:sts::222233334444:assumed-role/ripcord/ripcord
	UserID  string
}

// Tags ripcord puts on every job it starts, so that it recognizes its own
// jobs by what DRS records, never by their servers.
const (
	TagExecution = "ripcord:execution" // the execution's ID
	TagBatch     = "ripcord:batch"     // the batch within the execution (b1, b2, ...)
	TagStep      = "ripcord:step"      // the step's name
	TagPlan      = "ripcord:plan"      // the plan's name and targets (Execution.Exclusive)
)

// DRS job types, statuses and per-server launch statuses, as DRS spells them.
const (
	JobTypeLaunch    = "LAUNCH"
	JobTypeTerminate = "TERMINATE"

	JobStatusPending   = "PENDING"
	JobStatusStarted   = "STARTED"
	JobStatusCompleted = "COMPLETED"

	LaunchStatusPending    = "PENDING"
	LaunchStatusInProgress = "IN_PROGRESS"
	LaunchStatusLaunched   = "LAUNCHED"
	LaunchStatusFailed     = "FAILED"
	LaunchStatusTerminated = "TERMINATED"

	InitiatedByDrill    = "START_DRILL"
	InitiatedByRecovery = "START_RECOVERY"
	InitiatedByFailback = "FAILBACK" // StartFailbackLaunch
)

// Failback states of a recovery instance (DRS's FailbackState), and the
// origin environment of an EC2-origin server's recovery instance.
const (
	FailbackNotStarted     = "FAILBACK_NOT_STARTED"
	FailbackInProgress     = "FAILBACK_IN_PROGRESS"
	FailbackReadyForLaunch = "FAILBACK_READY_FOR_LAUNCH"
	FailbackCompleted      = "FAILBACK_COMPLETED"
	FailbackError          = "FAILBACK_ERROR"

	OriginAWS = "AWS"
)

// Replication states of a source server (DRS's DataReplicationState).
const (
	ReplicationContinuous   = "CONTINUOUS"
	ReplicationInitiating   = "INITIATING"
	ReplicationInitialSync  = "INITIAL_SYNC"
	ReplicationBacklog      = "BACKLOG"
	ReplicationSnapshotting = "CREATING_SNAPSHOT"
	ReplicationRescan       = "RESCAN"
	ReplicationPaused       = "PAUSED"
	ReplicationStalled      = "STALLED"
	ReplicationStopped      = "STOPPED"
	ReplicationDisconnected = "DISCONNECTED"
)

// SourceServer is a machine DRS replicates.
type SourceServer struct {
	ID       string
	Hostname string
	Tags     map[string]string
	// ReplicationState is DRS's DataReplicationState, e.g. CONTINUOUS.
	ReplicationState string
	// ReplicationError is DRS's reason when replication is unhealthy,
	// e.g. UNSTABLE_NETWORK; empty otherwise.
	ReplicationError string
	// Lag is how far replication is behind; zero when DRS reports none.
	Lag time.Duration
	// RecoveryInstanceID is the recovery instance DRS links to the server
	// (its latest launch); empty if none.
	RecoveryInstanceID string
	// LastLaunchResult is NOT_STARTED, PENDING, SUCCEEDED or FAILED.
	LastLaunchResult string
	// OS is DRS's description of the operating system
	// (sourceProperties.os.fullString), e.g. "Microsoft Windows Server
	// 2019"; empty when DRS reports none.
	OS string
	// DiskBytes is the total size of the server's disks.
	DiskBytes int64
	// IPs are the source machine's IP addresses (its network interfaces'),
	// which a launch configuration with CopyPrivateIP reuses.
	IPs []string
	// RecommendedInstanceType is the EC2 instance type DRS recommends for
	// the server (sourceProperties.recommendedInstanceType).
	RecommendedInstanceType string
	// CPUs and RAMBytes are the source machine's size.
	CPUs     int
	RAMBytes int64
}

// Windows reports whether DRS describes the server's OS as Windows.
func (s SourceServer) Windows() bool {
	return strings.Contains(strings.ToLower(s.OS), "windows")
}

// Ready reports whether the server can be launched now under an RPO target
// of rpo (the largest replication lag allowed; zero or less: lag is not
// checked), and if not, why, in words for an operator. Only a server in
// continuous replication is ready: a server in initial sync has nothing to
// launch from, and a stalled, disconnected or stopped one would launch from
// stale data.
func (s SourceServer) Ready(rpo time.Duration) (bool, string) {
	switch s.ReplicationState {
	case ReplicationContinuous:
		if rpo > 0 && s.Lag > rpo {
			return false, fmt.Sprintf("replication lag %s is over the RPO target of %s", s.Lag, rpo)
		}
		return true, ""
	case ReplicationInitiating, ReplicationInitialSync:
		return false, "initial sync is not finished (" + s.ReplicationState + "): there is no data to launch from yet"
	case ReplicationStalled:
		return false, "replication is stalled" + s.errorSuffix() + ": the data is getting older, check the agent's network path to the staging area"
	case ReplicationDisconnected:
		return false, "the server is disconnected from DRS" + s.errorSuffix() + ": its agent is not reporting"
	case ReplicationStopped:
		return false, "replication is stopped: start replication before launching"
	case ReplicationBacklog:
		return false, fmt.Sprintf("replication is catching up a backlog (lag %s)", s.Lag)
	case ReplicationPaused:
		return false, "replication is paused" + s.errorSuffix()
	case ReplicationRescan, ReplicationSnapshotting:
		return false, "replication is not continuous (" + s.ReplicationState + ")"
	case "":
		return false, "DRS reports no replication state"
	}
	return false, "replication state " + s.ReplicationState + " is not CONTINUOUS"
}

func (s SourceServer) errorSuffix() string {
	if s.ReplicationError == "" {
		return ""
	}
	return " (" + s.ReplicationError + ")"
}

// Job is a DRS job. A job never fails as a whole: each server's
// LaunchStatus says how it went, and a COMPLETED job may hold failures.
type Job struct {
	ID          string
	Type        string // LAUNCH, TERMINATE, CREATE_CONVERTED_SNAPSHOT
	InitiatedBy string // START_DRILL, START_RECOVERY, TERMINATE_RECOVERY_INSTANCES, ...
	Status      string // PENDING, STARTED, COMPLETED
	Created     time.Time
	Ended       time.Time // zero until COMPLETED
	Servers     []JobServer
	Tags        map[string]string
}

// Active reports whether the job still holds its servers (PENDING or
// STARTED).
func (j Job) Active() bool {
	return j.Status == JobStatusPending || j.Status == JobStatusStarted
}

// JobServer is one participating server of a job.
type JobServer struct {
	SourceServerID     string
	RecoveryInstanceID string // empty until the instance exists
	LaunchStatus       string // PENDING, IN_PROGRESS, LAUNCHED, FAILED, TERMINATED
}

// JobLogItem is one entry of a job's log.
type JobLogItem struct {
	At                 time.Time
	Event              string // JOB_START, SNAPSHOT_START, CONVERSION_FAIL, LAUNCH_START, JOB_END, ...
	SourceServerID     string
	TargetInstanceID   string
	ConversionServerID string
	RawError           string
}

// RecoveryInstance is an EC2 instance DRS launched for a source server.
type RecoveryInstance struct {
	ID             string
	SourceServerID string
	JobID          string // the job that launched it
	IsDrill        bool
	EC2State       string // PENDING, RUNNING, STOPPED, SHUTTING-DOWN, TERMINATED, NOT_FOUND, ...
	// PointInTime is the time of the data the instance was launched from.
	PointInTime time.Time
	// FailbackState is DRS's failback.state (FailbackNotStarted, ...);
	// Origin is its originEnvironment: OriginAWS for an instance of an
	// EC2-origin server (which ReverseReplication can reprotect), else
	// ON_PREMISES.
	FailbackState string
	Origin        string
}

// LaunchServer is a source server to launch, from a recovery snapshot
// (pit-…) or, when SnapshotID is empty, from the latest data.
type LaunchServer struct {
	ID         string
	SnapshotID string
}

// DRSError is an error from a DRS call, translated by the DRS adapter. Err
// is what an operator sees (code, message naming the resource, hint); the
// other fields keep what DRS said, so that the engine can decide what to do
// without knowing the AWS SDK. errors.As finds Err, so [ErrorCode] and
// [ErrorHint] work on a DRSError.
type DRSError struct {
	Op string // the DRS operation, e.g. StartRecovery
	// Type is DRS's error type, e.g. ConflictException; empty when no
	// answer arrived (a timeout, a lost connection).
	Type         string
	Status       int // HTTP status of the answer; 0 when none arrived
	ResourceID   string
	ResourceType string
	QuotaCode    string // the Service Quotas code of a quota error
	RequestID    string
	// Unclear is true when the call could have changed DRS (StartRecovery,
	// TerminateRecoveryInstances) and it is unknown whether it did: the
	// request was sent and no clear refusal came back.
	Unclear bool
	Err     *Error
	Cause   error // the error as the SDK returned it
}

func (e *DRSError) Error() string { return e.Err.Error() }

// Unwrap returns the operator-facing error and the SDK's error.
func (e *DRSError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

type callGuardKey struct{}

// WithCallGuard returns a context that carries guard: a DRS adapter calls
// it right before each request it sends on that context (every attempt,
// every page), and does not send the request when guard fails; the call
// then fails with guard's error, unchanged. The engine's drivers guard
// their calls with their lease: a driver that lost its lease while it was
// stopped (SIGSTOP, a frozen VM) sends nothing more.
func WithCallGuard(ctx context.Context, guard func() error) context.Context {
	return context.WithValue(ctx, callGuardKey{}, guard)
}

// CheckCallGuard runs the guard ctx carries, if any.
func CheckCallGuard(ctx context.Context) error {
	if g, ok := ctx.Value(callGuardKey{}).(func() error); ok && g != nil {
		return g()
	}
	return nil
}
