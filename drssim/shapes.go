// Wire shapes of the DRS REST-JSON API (docs/drs.md §2), the model's request
// and response shapes.
//
// Every JSON key is the exact, case-sensitive member name from the DRS model
// (the Go SDK's deserializers match keys case-sensitively). Go field names are
// the field names of the SDK's types (github.com/aws/aws-sdk-go-v2/service/drs
// and its types package), so a field can be looked up there.
//
// Output conventions: date-times and durations are plain strings, already
// formatted by the caller; optional strings, structs (pointers), slices and
// maps are omitted when empty; long/integer members are int64. Booleans the
// real service always returns are plain bool without omitempty; other
// booleans are *bool. A few members are always emitted even when empty, as
// the real service does; custom MarshalJSON methods below take care of it,
// so callers may leave them nil:
//   - Job.participatingServers / participatingResources: always an array,
//   - Job.tags: always an object,
//   - ParticipatingServer.launchActionsStatus: {"runs":[]} when absent,
//   - LaunchActionsStatus.runs, listOutput.items: always an array,
//   - tagsOutput.tags: always an object.
//
// Input conventions: each <Op>Input holds every member the model defines for
// that operation's request body, so that decoding with
// json.Decoder.DisallowUnknownFields never rejects a legitimate client.
// Optional scalars whose absence matters are pointers. Note that
// encoding/json matches keys case-insensitively when decoding.
package drssim

import "encoding/json"

// ---------------------------------------------------------------------------
// Source servers

// SourceServer is the DRS SourceServer shape.
type SourceServer struct {
	SourceServerID                   string                 `json:"sourceServerID,omitempty"`
	Arn                              string                 `json:"arn,omitempty"`
	Tags                             map[string]string      `json:"tags,omitempty"`
	RecoveryInstanceId               string                 `json:"recoveryInstanceId,omitempty"` // lower-case "d" in the model
	LastLaunchResult                 string                 `json:"lastLaunchResult,omitempty"`
	DataReplicationInfo              *DataReplicationInfo   `json:"dataReplicationInfo,omitempty"`
	LifeCycle                        *LifeCycle             `json:"lifeCycle,omitempty"`
	SourceProperties                 *SourceProperties      `json:"sourceProperties,omitempty"`
	StagingArea                      *StagingArea           `json:"stagingArea,omitempty"`
	SourceCloudProperties            *SourceCloudProperties `json:"sourceCloudProperties,omitempty"`
	ReplicationDirection             string                 `json:"replicationDirection,omitempty"`
	ReversedDirectionSourceServerArn string                 `json:"reversedDirectionSourceServerArn,omitempty"`
	SourceNetworkID                  string                 `json:"sourceNetworkID,omitempty"`
	AgentVersion                     string                 `json:"agentVersion,omitempty"`
}

// DataReplicationInfo is the replication status of a source server.
type DataReplicationInfo struct {
	LagDuration               string                              `json:"lagDuration,omitempty"` // ISO-8601 duration
	EtaDateTime               string                              `json:"etaDateTime,omitempty"`
	ReplicatedDisks           []DataReplicationInfoReplicatedDisk `json:"replicatedDisks,omitempty"`
	DataReplicationState      string                              `json:"dataReplicationState,omitempty"`
	DataReplicationInitiation *DataReplicationInitiation          `json:"dataReplicationInitiation,omitempty"`
	DataReplicationError      *DataReplicationError               `json:"dataReplicationError,omitempty"`
	StagingAvailabilityZone   string                              `json:"stagingAvailabilityZone,omitempty"`
	StagingOutpostArn         string                              `json:"stagingOutpostArn,omitempty"`
}

// DataReplicationInfoReplicatedDisk is one replicated disk of a source server.
type DataReplicationInfoReplicatedDisk struct {
	DeviceName             string `json:"deviceName,omitempty"`
	TotalStorageBytes      int64  `json:"totalStorageBytes"`
	ReplicatedStorageBytes int64  `json:"replicatedStorageBytes"`
	RescannedStorageBytes  int64  `json:"rescannedStorageBytes"`
	BackloggedStorageBytes int64  `json:"backloggedStorageBytes"`
	VolumeStatus           string `json:"volumeStatus,omitempty"`
}

// DataReplicationInitiation describes replication setup progress.
type DataReplicationInitiation struct {
	StartDateTime       string                          `json:"startDateTime,omitempty"`
	NextAttemptDateTime string                          `json:"nextAttemptDateTime,omitempty"`
	Steps               []DataReplicationInitiationStep `json:"steps,omitempty"`
}

// DataReplicationInitiationStep is one step of replication setup.
type DataReplicationInitiationStep struct {
	Name   string `json:"name,omitempty"`
	Status string `json:"status,omitempty"`
}

// DataReplicationError is set while replication is unhealthy.
type DataReplicationError struct {
	Error    string `json:"error,omitempty"`
	RawError string `json:"rawError,omitempty"`
}

// LifeCycle is the lifecycle of a source server.
type LifeCycle struct {
	AddedToServiceDateTime     string               `json:"addedToServiceDateTime,omitempty"`
	FirstByteDateTime          string               `json:"firstByteDateTime,omitempty"`
	ElapsedReplicationDuration string               `json:"elapsedReplicationDuration,omitempty"` // ISO-8601 duration
	LastSeenByServiceDateTime  string               `json:"lastSeenByServiceDateTime,omitempty"`
	LastLaunch                 *LifeCycleLastLaunch `json:"lastLaunch,omitempty"`
}

// LifeCycleLastLaunch is the most recent drill or recovery of a server.
type LifeCycleLastLaunch struct {
	Initiated *LifeCycleLastLaunchInitiated `json:"initiated,omitempty"`
	Status    string                        `json:"status,omitempty"` // LaunchStatus
}

// LifeCycleLastLaunchInitiated says when and by which job a launch started.
type LifeCycleLastLaunchInitiated struct {
	ApiCallDateTime string `json:"apiCallDateTime,omitempty"`
	JobID           string `json:"jobID,omitempty"`
	Type            string `json:"type,omitempty"` // LastLaunchType: RECOVERY | DRILL
}

// SourceProperties are the properties of a source server's machine.
type SourceProperties struct {
	LastUpdatedDateTime     string               `json:"lastUpdatedDateTime,omitempty"`
	RecommendedInstanceType string               `json:"recommendedInstanceType,omitempty"`
	IdentificationHints     *IdentificationHints `json:"identificationHints,omitempty"`
	NetworkInterfaces       []NetworkInterface   `json:"networkInterfaces,omitempty"`
	Disks                   []Disk               `json:"disks,omitempty"`
	Cpus                    []CPU                `json:"cpus,omitempty"`
	RamBytes                int64                `json:"ramBytes"`
	Os                      *OS                  `json:"os,omitempty"`
	SupportsNitroInstances  *bool                `json:"supportsNitroInstances,omitempty"`
}

// IdentificationHints help identify a machine.
type IdentificationHints struct {
	Fqdn          string `json:"fqdn,omitempty"`
	Hostname      string `json:"hostname,omitempty"`
	VmWareUuid    string `json:"vmWareUuid,omitempty"`
	AwsInstanceID string `json:"awsInstanceID,omitempty"`
}

// NetworkInterface is one network interface of a machine.
type NetworkInterface struct {
	MacAddress string   `json:"macAddress,omitempty"`
	Ips        []string `json:"ips,omitempty"`
	IsPrimary  bool     `json:"isPrimary"`
}

// Disk is one disk of a source server.
type Disk struct {
	DeviceName string `json:"deviceName,omitempty"`
	Bytes      int64  `json:"bytes"`
}

// CPU is one CPU of a machine.
type CPU struct {
	Cores     int64  `json:"cores"`
	ModelName string `json:"modelName,omitempty"`
}

// OS is the operating system of a machine.
type OS struct {
	FullString string `json:"fullString,omitempty"`
}

// SourceCloudProperties describe an EC2 (in-AWS) source.
type SourceCloudProperties struct {
	OriginAccountID        string `json:"originAccountID,omitempty"`
	OriginRegion           string `json:"originRegion,omitempty"`
	OriginAvailabilityZone string `json:"originAvailabilityZone,omitempty"`
	SourceOutpostArn       string `json:"sourceOutpostArn,omitempty"`
}

// StagingArea describes extended (multi-account) source servers.
type StagingArea struct {
	Status                 string `json:"status,omitempty"` // ExtensionStatus
	StagingAccountID       string `json:"stagingAccountID,omitempty"`
	StagingSourceServerArn string `json:"stagingSourceServerArn,omitempty"`
	ErrorMessage           string `json:"errorMessage,omitempty"`
}

// ---------------------------------------------------------------------------
// Jobs

// Job is the DRS Job shape. ParticipatingServers, ParticipatingResources and
// Tags are always emitted ([] / {} when nil), see MarshalJSON.
type Job struct {
	JobID                  string                  `json:"jobID"`
	Arn                    string                  `json:"arn,omitempty"`
	Type                   string                  `json:"type,omitempty"`
	InitiatedBy            string                  `json:"initiatedBy,omitempty"`
	CreationDateTime       string                  `json:"creationDateTime,omitempty"`
	EndDateTime            string                  `json:"endDateTime,omitempty"`
	Status                 string                  `json:"status,omitempty"`
	ParticipatingServers   []ParticipatingServer   `json:"participatingServers"`
	Tags                   map[string]string       `json:"tags"`
	ParticipatingResources []ParticipatingResource `json:"participatingResources"`
}

// MarshalJSON emits nil slices as [] and a nil tag map as {}.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	p := plain(j)
	if p.ParticipatingServers == nil {
		p.ParticipatingServers = []ParticipatingServer{}
	}
	if p.ParticipatingResources == nil {
		p.ParticipatingResources = []ParticipatingResource{}
	}
	if p.Tags == nil {
		p.Tags = map[string]string{}
	}
	return json.Marshal(p)
}

// ParticipatingServer is one server (or recovery instance) in a job.
// LaunchActionsStatus is emitted as {"runs":[]} when nil, see MarshalJSON.
type ParticipatingServer struct {
	SourceServerID      string               `json:"sourceServerID,omitempty"`
	RecoveryInstanceID  string               `json:"recoveryInstanceID,omitempty"`
	LaunchStatus        string               `json:"launchStatus,omitempty"`
	LaunchActionsStatus *LaunchActionsStatus `json:"launchActionsStatus"`
}

// MarshalJSON emits a nil LaunchActionsStatus as {"runs":[]}.
func (s ParticipatingServer) MarshalJSON() ([]byte, error) {
	type plain ParticipatingServer
	p := plain(s)
	if p.LaunchActionsStatus == nil {
		p.LaunchActionsStatus = &LaunchActionsStatus{}
	}
	return json.Marshal(p)
}

// LaunchActionsStatus is the post-launch action status of a server in a job.
// Runs is always emitted ([] when nil), see MarshalJSON.
type LaunchActionsStatus struct {
	SsmAgentDiscoveryDatetime string            `json:"ssmAgentDiscoveryDatetime,omitempty"`
	Runs                      []LaunchActionRun `json:"runs"`
}

// MarshalJSON emits nil Runs as [].
func (s LaunchActionsStatus) MarshalJSON() ([]byte, error) {
	type plain LaunchActionsStatus
	p := plain(s)
	if p.Runs == nil {
		p.Runs = []LaunchActionRun{}
	}
	return json.Marshal(p)
}

// LaunchActionRun is one run of a post-launch action.
type LaunchActionRun struct {
	Action        *LaunchAction `json:"action,omitempty"`
	RunId         string        `json:"runId,omitempty"`
	Status        string        `json:"status,omitempty"` // LaunchActionRunStatus
	FailureReason string        `json:"failureReason,omitempty"`
}

// LaunchAction is a post-launch action (only as referenced by LaunchActionRun).
type LaunchAction struct {
	ActionId      string                           `json:"actionId,omitempty"`
	ActionCode    string                           `json:"actionCode,omitempty"`
	Type          string                           `json:"type,omitempty"`
	Name          string                           `json:"name,omitempty"`
	Active        *bool                            `json:"active,omitempty"`
	Order         int64                            `json:"order,omitempty"`
	ActionVersion string                           `json:"actionVersion,omitempty"`
	Optional      *bool                            `json:"optional,omitempty"`
	Parameters    map[string]LaunchActionParameter `json:"parameters,omitempty"`
	Description   string                           `json:"description,omitempty"`
	Category      string                           `json:"category,omitempty"`
}

// LaunchActionParameter is one parameter of a LaunchAction.
type LaunchActionParameter struct {
	Value string `json:"value,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ParticipatingResource is a source network in a network recovery job.
type ParticipatingResource struct {
	ParticipatingResourceID *ParticipatingResourceID `json:"participatingResourceID,omitempty"`
	LaunchStatus            string                   `json:"launchStatus,omitempty"`
}

// ParticipatingResourceID is a union; only sourceNetworkID exists.
type ParticipatingResourceID struct {
	SourceNetworkID string `json:"sourceNetworkID,omitempty"`
}

// JobLog is one item of DescribeJobLogItems.
type JobLog struct {
	LogDateTime string           `json:"logDateTime,omitempty"`
	Event       string           `json:"event,omitempty"` // JobLogEvent
	EventData   *JobLogEventData `json:"eventData,omitempty"`
}

// JobLogEventData is the payload of a JobLog.
type JobLogEventData struct {
	SourceServerID       string                `json:"sourceServerID,omitempty"`
	ConversionServerID   string                `json:"conversionServerID,omitempty"`
	TargetInstanceID     string                `json:"targetInstanceID,omitempty"`
	RawError             string                `json:"rawError,omitempty"`
	ConversionProperties *ConversionProperties `json:"conversionProperties,omitempty"`
	EventResourceData    *EventResourceData    `json:"eventResourceData,omitempty"`
	AttemptCount         int64                 `json:"attemptCount,omitempty"`     // 0..9
	MaxAttemptsCount     int64                 `json:"maxAttemptsCount,omitempty"` // 0..9
}

// ConversionProperties are reported on conversion events.
type ConversionProperties struct {
	VolumeToConversionMap map[string]map[string]string `json:"volumeToConversionMap,omitempty"`
	RootVolumeName        string                       `json:"rootVolumeName,omitempty"`
	ForceUefi             *bool                        `json:"forceUefi,omitempty"`
	DataTimestamp         string                       `json:"dataTimestamp,omitempty"`
	VolumeToVolumeSize    map[string]int64             `json:"volumeToVolumeSize,omitempty"`
	VolumeToProductCodes  map[string][]ProductCode     `json:"volumeToProductCodes,omitempty"`
}

// ProductCode is a product code attached to a volume.
type ProductCode struct {
	ProductCodeId   string `json:"productCodeId,omitempty"`
	ProductCodeMode string `json:"productCodeMode,omitempty"` // ENABLED | DISABLED
}

// EventResourceData is a union; only sourceNetworkData exists.
type EventResourceData struct {
	SourceNetworkData *SourceNetworkData `json:"sourceNetworkData,omitempty"`
}

// SourceNetworkData describes a source network in a job log event.
type SourceNetworkData struct {
	SourceNetworkID string `json:"sourceNetworkID,omitempty"`
	SourceVpc       string `json:"sourceVpc,omitempty"`
	TargetVpc       string `json:"targetVpc,omitempty"`
	StackName       string `json:"stackName,omitempty"`
}

// ---------------------------------------------------------------------------
// Recovery instances

// RecoveryInstance is the DRS RecoveryInstance shape.
type RecoveryInstance struct {
	Ec2InstanceID               string                               `json:"ec2InstanceID,omitempty"`
	Ec2InstanceState            string                               `json:"ec2InstanceState,omitempty"`
	JobID                       string                               `json:"jobID,omitempty"`
	RecoveryInstanceID          string                               `json:"recoveryInstanceID,omitempty"`
	SourceServerID              string                               `json:"sourceServerID,omitempty"`
	Arn                         string                               `json:"arn,omitempty"`
	Tags                        map[string]string                    `json:"tags,omitempty"`
	Failback                    *RecoveryInstanceFailback            `json:"failback,omitempty"`
	DataReplicationInfo         *RecoveryInstanceDataReplicationInfo `json:"dataReplicationInfo,omitempty"`
	RecoveryInstanceProperties  *RecoveryInstanceProperties          `json:"recoveryInstanceProperties,omitempty"`
	PointInTimeSnapshotDateTime string                               `json:"pointInTimeSnapshotDateTime,omitempty"`
	IsDrill                     bool                                 `json:"isDrill"`
	OriginEnvironment           string                               `json:"originEnvironment,omitempty"`
	OriginAvailabilityZone      string                               `json:"originAvailabilityZone,omitempty"`
	AgentVersion                string                               `json:"agentVersion,omitempty"`
	SourceOutpostArn            string                               `json:"sourceOutpostArn,omitempty"`
}

// RecoveryInstanceFailback is the failback state of a recovery instance.
type RecoveryInstanceFailback struct {
	FailbackClientID                        string `json:"failbackClientID,omitempty"`
	FailbackJobID                           string `json:"failbackJobID,omitempty"`
	FailbackInitiationTime                  string `json:"failbackInitiationTime,omitempty"`
	State                                   string `json:"state,omitempty"` // FailbackState
	AgentLastSeenByServiceDateTime          string `json:"agentLastSeenByServiceDateTime,omitempty"`
	FailbackClientLastSeenByServiceDateTime string `json:"failbackClientLastSeenByServiceDateTime,omitempty"`
	FailbackToOriginalServer                *bool  `json:"failbackToOriginalServer,omitempty"`
	FirstByteDateTime                       string `json:"firstByteDateTime,omitempty"`
	ElapsedReplicationDuration              string `json:"elapsedReplicationDuration,omitempty"` // modelled as a datetime string
	FailbackLaunchType                      string `json:"failbackLaunchType,omitempty"`
}

// RecoveryInstanceDataReplicationInfo is the failback replication status.
type RecoveryInstanceDataReplicationInfo struct {
	LagDuration               string                                              `json:"lagDuration,omitempty"` // modelled as a datetime string
	EtaDateTime               string                                              `json:"etaDateTime,omitempty"`
	ReplicatedDisks           []RecoveryInstanceDataReplicationInfoReplicatedDisk `json:"replicatedDisks,omitempty"`
	DataReplicationState      string                                              `json:"dataReplicationState,omitempty"`
	DataReplicationInitiation *RecoveryInstanceDataReplicationInitiation          `json:"dataReplicationInitiation,omitempty"`
	DataReplicationError      *RecoveryInstanceDataReplicationError               `json:"dataReplicationError,omitempty"`
	StagingAvailabilityZone   string                                              `json:"stagingAvailabilityZone,omitempty"`
	StagingOutpostArn         string                                              `json:"stagingOutpostArn,omitempty"`
}

// RecoveryInstanceDataReplicationInfoReplicatedDisk is one failback disk
// (no volumeStatus, unlike the source-server variant).
type RecoveryInstanceDataReplicationInfoReplicatedDisk struct {
	DeviceName             string `json:"deviceName,omitempty"`
	TotalStorageBytes      int64  `json:"totalStorageBytes"`
	ReplicatedStorageBytes int64  `json:"replicatedStorageBytes"`
	RescannedStorageBytes  int64  `json:"rescannedStorageBytes"`
	BackloggedStorageBytes int64  `json:"backloggedStorageBytes"`
}

// RecoveryInstanceDataReplicationInitiation describes failback replication
// setup (no nextAttemptDateTime, unlike the source-server variant).
type RecoveryInstanceDataReplicationInitiation struct {
	StartDateTime string                                          `json:"startDateTime,omitempty"`
	Steps         []RecoveryInstanceDataReplicationInitiationStep `json:"steps,omitempty"`
}

// RecoveryInstanceDataReplicationInitiationStep is one failback setup step.
type RecoveryInstanceDataReplicationInitiationStep struct {
	Name   string `json:"name,omitempty"`
	Status string `json:"status,omitempty"`
}

// RecoveryInstanceDataReplicationError is set while failback replication is
// unhealthy.
type RecoveryInstanceDataReplicationError struct {
	Error    string `json:"error,omitempty"` // FailbackReplicationError
	RawError string `json:"rawError,omitempty"`
}

// RecoveryInstanceProperties are the properties of a recovery instance.
type RecoveryInstanceProperties struct {
	LastUpdatedDateTime string                 `json:"lastUpdatedDateTime,omitempty"`
	IdentificationHints *IdentificationHints   `json:"identificationHints,omitempty"`
	NetworkInterfaces   []NetworkInterface     `json:"networkInterfaces,omitempty"`
	Disks               []RecoveryInstanceDisk `json:"disks,omitempty"`
	Cpus                []CPU                  `json:"cpus,omitempty"`
	RamBytes            int64                  `json:"ramBytes"`
	Os                  *OS                    `json:"os,omitempty"`
}

// RecoveryInstanceDisk is one disk of a recovery instance.
type RecoveryInstanceDisk struct {
	InternalDeviceName string `json:"internalDeviceName,omitempty"`
	Bytes              int64  `json:"bytes"`
	EbsVolumeID        string `json:"ebsVolumeID,omitempty"`
}

// ---------------------------------------------------------------------------
// Launch configuration and snapshots

// LaunchConfiguration is returned at top level (no wrapper) by
// GetLaunchConfiguration and UpdateLaunchConfiguration.
type LaunchConfiguration struct {
	SourceServerID                      string                        `json:"sourceServerID,omitempty"`
	Name                                string                        `json:"name,omitempty"`
	Ec2LaunchTemplateID                 string                        `json:"ec2LaunchTemplateID,omitempty"`
	LaunchDisposition                   string                        `json:"launchDisposition,omitempty"`
	TargetInstanceTypeRightSizingMethod string                        `json:"targetInstanceTypeRightSizingMethod,omitempty"`
	CopyPrivateIp                       bool                          `json:"copyPrivateIp"`
	CopyTags                            bool                          `json:"copyTags"`
	Licensing                           *Licensing                    `json:"licensing,omitempty"`
	PostLaunchEnabled                   bool                          `json:"postLaunchEnabled"`
	LaunchIntoInstanceProperties        *LaunchIntoInstanceProperties `json:"launchIntoInstanceProperties,omitempty"`
}

// Licensing is the licensing part of a LaunchConfiguration (output).
type Licensing struct {
	OsByol bool `json:"osByol"`
}

// LaunchIntoInstanceProperties names an existing EC2 instance to launch into.
// Used for output and for UpdateLaunchConfigurationInput.
type LaunchIntoInstanceProperties struct {
	LaunchIntoEC2InstanceID string `json:"launchIntoEC2InstanceID,omitempty"`
}

// RecoverySnapshot is a point-in-time snapshot of a source server.
type RecoverySnapshot struct {
	SnapshotID        string   `json:"snapshotID"`
	SourceServerID    string   `json:"sourceServerID"`
	ExpectedTimestamp string   `json:"expectedTimestamp"`
	Timestamp         string   `json:"timestamp,omitempty"`
	EbsSnapshots      []string `json:"ebsSnapshots,omitempty"`
}

// ---------------------------------------------------------------------------
// Output wrappers

// jobOutput is the body of StartRecovery, TerminateRecoveryInstances and
// StartFailbackLaunch.
type jobOutput struct {
	Job *Job `json:"job"`
}

// listOutput is the body of the Describe* operations. Items is always an
// array (never null), see MarshalJSON; NextToken is omitted on the last page.
type listOutput[T any] struct {
	Items     []T    `json:"items"`
	NextToken string `json:"nextToken,omitempty"`
}

// MarshalJSON emits nil Items as [].
func (o listOutput[T]) MarshalJSON() ([]byte, error) {
	type plain listOutput[T]
	p := plain(o)
	if p.Items == nil {
		p.Items = []T{}
	}
	return json.Marshal(p)
}

// tagsOutput is the body of ListTagsForResource; Tags is always an object.
type tagsOutput struct {
	Tags map[string]string `json:"tags"`
}

// MarshalJSON emits nil Tags as {}.
func (o tagsOutput) MarshalJSON() ([]byte, error) {
	type plain tagsOutput
	p := plain(o)
	if p.Tags == nil {
		p.Tags = map[string]string{}
	}
	return json.Marshal(p)
}

// reverseReplicationOutput is the body of ReverseReplication.
type reverseReplicationOutput struct {
	ReversedDirectionSourceServerArn string `json:"reversedDirectionSourceServerArn"`
}

// sourceServerOutput is the body of StartReplication and StopReplication
// (DisconnectSourceServer and RetryDataReplication return a bare SourceServer).
type sourceServerOutput struct {
	SourceServer *SourceServer `json:"sourceServer"`
}

// ---------------------------------------------------------------------------
// Inputs (request bodies)

// InitializeServiceInput: no members; clients send no body at all.
type InitializeServiceInput struct{}

// DescribeSourceServersInput is the body of DescribeSourceServers.
type DescribeSourceServersInput struct {
	Filters    *DescribeSourceServersRequestFilters `json:"filters,omitempty"`
	MaxResults *int64                               `json:"maxResults,omitempty"`
	NextToken  string                               `json:"nextToken,omitempty"`
}

// DescribeSourceServersRequestFilters filters DescribeSourceServers.
type DescribeSourceServersRequestFilters struct {
	SourceServerIDs   []string `json:"sourceServerIDs,omitempty"`
	HardwareId        *string  `json:"hardwareId,omitempty"`
	StagingAccountIDs []string `json:"stagingAccountIDs,omitempty"`
}

// StartRecoveryInput is the body of StartRecovery.
type StartRecoveryInput struct {
	SourceServers []StartRecoveryRequestSourceServer `json:"sourceServers,omitempty"`
	IsDrill       *bool                              `json:"isDrill,omitempty"`
	Tags          map[string]string                  `json:"tags,omitempty"`
}

// StartRecoveryRequestSourceServer is one server to recover.
type StartRecoveryRequestSourceServer struct {
	SourceServerID     string  `json:"sourceServerID,omitempty"`
	RecoverySnapshotID *string `json:"recoverySnapshotID,omitempty"`
}

// DescribeJobsInput is the body of DescribeJobs.
type DescribeJobsInput struct {
	Filters    *DescribeJobsRequestFilters `json:"filters,omitempty"`
	MaxResults *int64                      `json:"maxResults,omitempty"`
	NextToken  string                      `json:"nextToken,omitempty"`
}

// DescribeJobsRequestFilters filters DescribeJobs.
type DescribeJobsRequestFilters struct {
	JobIDs   []string `json:"jobIDs,omitempty"`
	FromDate string   `json:"fromDate,omitempty"`
	ToDate   string   `json:"toDate,omitempty"`
}

// DescribeJobLogItemsInput is the body of DescribeJobLogItems.
type DescribeJobLogItemsInput struct {
	JobID      string `json:"jobID,omitempty"`
	MaxResults *int64 `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// DescribeRecoveryInstancesInput is the body of DescribeRecoveryInstances.
type DescribeRecoveryInstancesInput struct {
	Filters    *DescribeRecoveryInstancesRequestFilters `json:"filters,omitempty"`
	MaxResults *int64                                   `json:"maxResults,omitempty"`
	NextToken  string                                   `json:"nextToken,omitempty"`
}

// DescribeRecoveryInstancesRequestFilters filters DescribeRecoveryInstances.
type DescribeRecoveryInstancesRequestFilters struct {
	RecoveryInstanceIDs []string `json:"recoveryInstanceIDs,omitempty"`
	SourceServerIDs     []string `json:"sourceServerIDs,omitempty"`
}

// TerminateRecoveryInstancesInput is the body of TerminateRecoveryInstances.
type TerminateRecoveryInstancesInput struct {
	RecoveryInstanceIDs []string `json:"recoveryInstanceIDs,omitempty"`
}

// DescribeRecoverySnapshotsInput is the body of DescribeRecoverySnapshots.
type DescribeRecoverySnapshotsInput struct {
	SourceServerID string                                   `json:"sourceServerID,omitempty"`
	Filters        *DescribeRecoverySnapshotsRequestFilters `json:"filters,omitempty"`
	Order          *string                                  `json:"order,omitempty"` // RecoverySnapshotsOrder
	MaxResults     *int64                                   `json:"maxResults,omitempty"`
	NextToken      string                                   `json:"nextToken,omitempty"`
}

// DescribeRecoverySnapshotsRequestFilters filters DescribeRecoverySnapshots.
type DescribeRecoverySnapshotsRequestFilters struct {
	FromDateTime string `json:"fromDateTime,omitempty"`
	ToDateTime   string `json:"toDateTime,omitempty"`
}

// GetLaunchConfigurationInput is the body of GetLaunchConfiguration.
type GetLaunchConfigurationInput struct {
	SourceServerID string `json:"sourceServerID,omitempty"`
}

// UpdateLaunchConfigurationInput is the body of UpdateLaunchConfiguration.
// Nil members are left unchanged.
type UpdateLaunchConfigurationInput struct {
	SourceServerID                      string                        `json:"sourceServerID,omitempty"`
	Name                                *string                       `json:"name,omitempty"`
	LaunchDisposition                   *string                       `json:"launchDisposition,omitempty"`
	TargetInstanceTypeRightSizingMethod *string                       `json:"targetInstanceTypeRightSizingMethod,omitempty"`
	CopyPrivateIp                       *bool                         `json:"copyPrivateIp,omitempty"`
	CopyTags                            *bool                         `json:"copyTags,omitempty"`
	Licensing                           *LicensingInput               `json:"licensing,omitempty"`
	PostLaunchEnabled                   *bool                         `json:"postLaunchEnabled,omitempty"`
	LaunchIntoInstanceProperties        *LaunchIntoInstanceProperties `json:"launchIntoInstanceProperties,omitempty"`
}

// LicensingInput is Licensing as sent by clients: osByol may be absent
// (the Go SDK sends "licensing":{} when OsByol is nil).
type LicensingInput struct {
	OsByol *bool `json:"osByol,omitempty"`
}

// TagResourceInput is the body of TagResource; resourceArn is in the path.
type TagResourceInput struct {
	Tags map[string]string `json:"tags,omitempty"`
}

// DisconnectRecoveryInstanceInput is the body of DisconnectRecoveryInstance.
type DisconnectRecoveryInstanceInput struct {
	RecoveryInstanceID string `json:"recoveryInstanceID,omitempty"`
}

// DeleteRecoveryInstanceInput is the body of DeleteRecoveryInstance.
type DeleteRecoveryInstanceInput struct {
	RecoveryInstanceID string `json:"recoveryInstanceID,omitempty"`
}

// StartReplicationInput is the body of StartReplication.
type StartReplicationInput struct {
	SourceServerID string `json:"sourceServerID,omitempty"`
}

// StopReplicationInput is the body of StopReplication.
type StopReplicationInput struct {
	SourceServerID string `json:"sourceServerID,omitempty"`
}

// RetryDataReplicationInput is the body of RetryDataReplication.
type RetryDataReplicationInput struct {
	SourceServerID string `json:"sourceServerID,omitempty"`
}

// DeleteJobInput is the body of DeleteJob.
type DeleteJobInput struct {
	JobID string `json:"jobID,omitempty"`
}

// ReverseReplicationInput is the body of ReverseReplication.
type ReverseReplicationInput struct {
	RecoveryInstanceID string `json:"recoveryInstanceID,omitempty"`
}

// StopFailbackInput is the body of StopFailback.
type StopFailbackInput struct {
	RecoveryInstanceID string `json:"recoveryInstanceID,omitempty"`
}

// StartFailbackLaunchInput is the body of StartFailbackLaunch.
type StartFailbackLaunchInput struct {
	RecoveryInstanceIDs []string          `json:"recoveryInstanceIDs,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
}
