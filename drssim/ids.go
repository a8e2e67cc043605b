package drssim

import "regexp"

// ID formats from the DRS model (docs/drs.md §6). The model patterns are
// unanchored regexes plus length bounds; the anchored forms below fold both
// in, e.g. RecoveryInstanceID is "i-[0-9a-fA-F]{8,}" with length 10..19, so
// 8..17 hex digits.
var (
	reSourceServerID     = regexp.MustCompile(`^s-[0-9a-zA-Z]{17}$`)
	reJobID              = regexp.MustCompile(`^drsjob-[0-9a-zA-Z]{17}$`)
	reRecoveryInstanceID = regexp.MustCompile(`^i-[0-9a-fA-F]{8,17}$`)
	reSnapshotID         = regexp.MustCompile(`^pit-[0-9a-zA-Z]{17}$`)
	// EC2InstanceID (launchIntoEC2InstanceID etc.): same pattern, length 0..255.
	reEC2InstanceID = regexp.MustCompile(`^i-[0-9a-fA-F]{8,253}$`)
)

// validSourceServerID reports whether s is a well-formed source server ID.
func validSourceServerID(s string) bool { return reSourceServerID.MatchString(s) }

// validJobID reports whether s is a well-formed job ID.
func validJobID(s string) bool { return reJobID.MatchString(s) }

// validRecoveryInstanceID reports whether s is a well-formed recovery
// instance ID.
func validRecoveryInstanceID(s string) bool { return reRecoveryInstanceID.MatchString(s) }

// validSnapshotID reports whether s is a well-formed recovery snapshot ID.
func validSnapshotID(s string) bool { return reSnapshotID.MatchString(s) }

// validEC2InstanceID reports whether s is a well-formed EC2 instance ID.
func validEC2InstanceID(s string) bool { return reEC2InstanceID.MatchString(s) }

// Enum values not (yet) declared in enums.go, named after its conventions.
// enums.go also holds the input enum sets launchDispositions,
// rightSizingMethods and snapshotOrders (RecoverySnapshotsOrder).

// JobLogEvent (remaining values)
const (
	evCleanupFail                = "CLEANUP_FAIL"
	evJobCancel                  = "JOB_CANCEL"
	evDeployNetworkConfigStart   = "DEPLOY_NETWORK_CONFIGURATION_START"
	evDeployNetworkConfigEnd     = "DEPLOY_NETWORK_CONFIGURATION_END"
	evDeployNetworkConfigFailed  = "DEPLOY_NETWORK_CONFIGURATION_FAILED"
	evUpdateNetworkConfigStart   = "UPDATE_NETWORK_CONFIGURATION_START"
	evUpdateNetworkConfigEnd     = "UPDATE_NETWORK_CONFIGURATION_END"
	evUpdateNetworkConfigFailed  = "UPDATE_NETWORK_CONFIGURATION_FAILED"
	evUpdateLaunchTemplateStart  = "UPDATE_LAUNCH_TEMPLATE_START"
	evUpdateLaunchTemplateEnd    = "UPDATE_LAUNCH_TEMPLATE_END"
	evUpdateLaunchTemplateFailed = "UPDATE_LAUNCH_TEMPLATE_FAILED"
	evNetworkRecoveryFail        = "NETWORK_RECOVERY_FAIL"
)

// DataReplicationState (remaining value), plus the two values only
// RecoveryInstanceDataReplicationState has.
const (
	replCreatingSnapshot = "CREATING_SNAPSHOT"
	replNotStarted       = "NOT_STARTED"
	replNotAvailable     = "REPLICATION_STATE_NOT_AVAILABLE"
)

// EC2InstanceState (remaining values)
const (
	ec2Stopping = "STOPPING"
	ec2NotFound = "NOT_FOUND"
)
