package drssim

// Enum values from the DRS model (docs/drs.md §8, §9, §13, §15) that the
// simulator emits.

// JobStatus
const (
	jobStatusPending   = "PENDING"
	jobStatusStarted   = "STARTED"
	jobStatusCompleted = "COMPLETED"
)

// JobType
const (
	jobTypeLaunch    = "LAUNCH"
	jobTypeTerminate = "TERMINATE"
)

// InitiatedBy
const (
	initStartRecovery = "START_RECOVERY"
	initStartDrill    = "START_DRILL"
	initFailback      = "FAILBACK"
	initTerminate     = "TERMINATE_RECOVERY_INSTANCES"
)

// LaunchStatus
const (
	launchStatusPending    = "PENDING"
	launchStatusInProgress = "IN_PROGRESS"
	launchStatusLaunched   = "LAUNCHED"
	launchStatusFailed     = "FAILED"
	launchStatusTerminated = "TERMINATED"
)

// LastLaunchResult
const (
	lastLaunchNotStarted = "NOT_STARTED"
	lastLaunchPending    = "PENDING"
	lastLaunchSucceeded  = "SUCCEEDED"
	lastLaunchFailed     = "FAILED"
)

// JobLogEvent
const (
	evJobStart                 = "JOB_START"
	evServerSkipped            = "SERVER_SKIPPED"
	evCleanupStart             = "CLEANUP_START"
	evCleanupEnd               = "CLEANUP_END"
	evSnapshotStart            = "SNAPSHOT_START"
	evSnapshotEnd              = "SNAPSHOT_END"
	evSnapshotFail             = "SNAPSHOT_FAIL"
	evUsingPreviousSnapshot    = "USING_PREVIOUS_SNAPSHOT"
	evUsingPreviousSnapshotErr = "USING_PREVIOUS_SNAPSHOT_FAILED"
	evConversionStart          = "CONVERSION_START"
	evConversionEnd            = "CONVERSION_END"
	evConversionFail           = "CONVERSION_FAIL"
	evLaunchStart              = "LAUNCH_START"
	evLaunchFailed             = "LAUNCH_FAILED"
	evJobEnd                   = "JOB_END"
)

// DataReplicationState
const (
	replStopped      = "STOPPED"
	replInitiating   = "INITIATING"
	replInitialSync  = "INITIAL_SYNC"
	replBacklog      = "BACKLOG"
	replContinuous   = "CONTINUOUS"
	replPaused       = "PAUSED"
	replRescan       = "RESCAN"
	replStalled      = "STALLED"
	replDisconnected = "DISCONNECTED"
)

// EC2InstanceState
const (
	ec2Pending      = "PENDING"
	ec2Running      = "RUNNING"
	ec2Stopped      = "STOPPED"
	ec2ShuttingDown = "SHUTTING-DOWN"
	ec2Terminated   = "TERMINATED"
)

// FailbackState
const (
	failbackNotStarted     = "FAILBACK_NOT_STARTED"
	failbackReadyForLaunch = "FAILBACK_READY_FOR_LAUNCH"
	failbackInProgress     = "FAILBACK_IN_PROGRESS"
	failbackCompleted      = "FAILBACK_COMPLETED"
)

// Pipeline stages a fault can fail.
const (
	stageSnapshot   = "snapshot"
	stageConversion = "conversion"
	stageLaunch     = "launch"
)

var (
	launchDispositions = map[string]bool{"STOPPED": true, "STARTED": true}
	rightSizingMethods = map[string]bool{"NONE": true, "BASIC": true, "IN_AWS": true}
	snapshotOrders     = map[string]bool{"ASC": true, "DESC": true}
	replicationStates  = map[string]bool{
		replStopped: true, replInitiating: true, replInitialSync: true, replBacklog: true,
		"CREATING_SNAPSHOT": true, replContinuous: true, replPaused: true, replRescan: true,
		replStalled: true, replDisconnected: true,
	}
	replicationErrors = map[string]bool{
		"AGENT_NOT_SEEN": true, "SNAPSHOTS_FAILURE": true, "NOT_CONVERGING": true, "UNSTABLE_NETWORK": true,
		"FAILED_TO_CREATE_SECURITY_GROUP": true, "FAILED_TO_LAUNCH_REPLICATION_SERVER": true,
		"FAILED_TO_BOOT_REPLICATION_SERVER": true, "FAILED_TO_AUTHENTICATE_WITH_SERVICE": true,
		"FAILED_TO_DOWNLOAD_REPLICATION_SOFTWARE": true, "FAILED_TO_CREATE_STAGING_DISKS": true,
		"FAILED_TO_ATTACH_STAGING_DISKS": true, "FAILED_TO_PAIR_REPLICATION_SERVER_WITH_AGENT": true,
		"FAILED_TO_CONNECT_AGENT_TO_REPLICATION_SERVER": true, "FAILED_TO_START_DATA_TRANSFER": true,
	}
)
