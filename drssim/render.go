package drssim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rendering turns model entities into wire shapes at a given simulated time.

// isoDuration formats d as an ISO-8601 duration the way DRS does: P0D when
// caught up, otherwise like PT16H20M38.697305S or P2DT3H. Seconds have at
// most six decimals: d is rounded to the microsecond first (so a remainder
// under half a microsecond never yields an empty "S" field).
func isoDuration(d time.Duration) string {
	var b [32]byte
	return string(appendISODuration(b[:0], d))
}

// appendISODuration appends isoDuration(d) to b.
func appendISODuration(b []byte, d time.Duration) []byte {
	d = d.Round(time.Microsecond)
	if d <= 0 {
		return append(b, "P0D"...)
	}
	b = append(b, 'P')
	if days := d / (24 * time.Hour); days > 0 {
		b = append(strconv.AppendInt(b, int64(days), 10), 'D')
		d -= days * 24 * time.Hour
	}
	if d == 0 {
		return b
	}
	b = append(b, 'T')
	if h := d / time.Hour; h > 0 {
		b = append(strconv.AppendInt(b, int64(h), 10), 'H')
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b = append(strconv.AppendInt(b, int64(m), 10), 'M')
		d -= m * time.Minute
	}
	if d > 0 {
		us := int64(d / time.Microsecond)
		b = strconv.AppendInt(b, us/1e6, 10)
		if frac := us % 1e6; frac != 0 {
			var digits [6]byte
			for i := 5; i >= 0; i-- {
				digits[i] = byte('0' + frac%10)
				frac /= 10
			}
			n := 6
			for digits[n-1] == '0' {
				n--
			}
			b = append(append(b, '.'), digits[:n]...)
		}
		b = append(b, 'S')
	}
	return b
}

var initiationSteps = []string{"WAIT", "CREATE_SECURITY_GROUP", "LAUNCH_REPLICATION_SERVER", "BOOT_REPLICATION_SERVER",
	"AUTHENTICATE_WITH_SERVICE", "DOWNLOAD_REPLICATION_SOFTWARE", "CREATE_STAGING_DISKS", "ATTACH_STAGING_DISKS",
	"PAIR_REPLICATION_SERVER_WITH_AGENT", "CONNECT_AGENT_TO_REPLICATION_SERVER", "START_DATA_TRANSFER"}

// serverTimes are the members of a source server's shape that move with
// the clock (its other members change only when the model changes the
// server). The render cache (rendercache.go) keeps a server's JSON with
// these left as holes and fills them in per request.
type serverTimes struct {
	lag      string // dataReplicationInfo.lagDuration, shown when lagShown
	eta      string // dataReplicationInfo.etaDateTime, shown when etaShown
	lastSeen string // lifeCycle.lastSeenByServiceDateTime, always shown
	elapsed  string // lifeCycle.elapsedReplicationDuration, shown when firstByteAt is set
}

// lagShown says whether a server in this replication state shows its lag.
func lagShown(state string) bool {
	switch state {
	case replContinuous, replBacklog, replStalled, replRescan, replPaused:
		return true
	}
	return false
}

// etaShown says whether a server in this replication state shows when it
// expects to catch up.
func etaShown(state string) bool { return state == replBacklog || state == replInitialSync }

// lagAt is the server's replication lag at now: its lag, growing while
// replication is stalled.
func (s *server) lagAt(now time.Time) time.Duration {
	if !s.stalledSince.IsZero() {
		return now.Sub(s.stalledSince) + s.lag
	}
	return s.lag
}

// etaAt is when a server catching up expects to be done, seen at now.
func (s *server) etaAt(now time.Time) time.Time { return now.Add(s.lagAt(now)/2 + 5*time.Minute) }

// lastSeenAtOr is when the service last heard from the server's agent:
// now while it heartbeats.
func (s *server) lastSeenAtOr(now time.Time) time.Time {
	if !s.lastSeenAt.IsZero() {
		return s.lastSeenAt
	}
	return now
}

func (s *server) times(now time.Time) serverTimes {
	t := serverTimes{lastSeen: formatTime(s.lastSeenAtOr(now))}
	if lagShown(s.state) {
		t.lag = isoDuration(s.lagAt(now))
	}
	if etaShown(s.state) {
		t.eta = formatTime(s.etaAt(now))
	}
	if !s.firstByteAt.IsZero() {
		t.elapsed = isoDuration(now.Sub(s.firstByteAt))
	}
	return t
}

func (r *region) renderServer(s *server, now time.Time) SourceServer {
	return r.serverShape(s, s.times(now))
}

// serverShape is the SourceServer shape of s with the time-dependent
// members t.
func (r *region) serverShape(s *server, t serverTimes) SourceServer {
	out := SourceServer{
		SourceServerID:        s.id,
		Arn:                   r.arn("source-server", s.id),
		Tags:                  copyTags(s.tags),
		RecoveryInstanceId:    s.recoveryInstanceID,
		LastLaunchResult:      s.lastLaunchResult,
		ReplicationDirection:  "FAILOVER",
		AgentVersion:          "4.7.1.1234.567.8901",
		StagingArea:           &StagingArea{Status: "NOT_EXTENDED"},
		SourceCloudProperties: s.cloudProperties(),

		ReversedDirectionSourceServerArn: s.reversedArn,
	}
	// Replication.
	dri := &DataReplicationInfo{
		DataReplicationState:    s.state,
		StagingAvailabilityZone: r.name + "a",
	}
	steps := make([]DataReplicationInitiationStep, len(initiationSteps))
	for i, n := range initiationSteps {
		st := "SUCCEEDED"
		if s.state == replInitiating {
			st = "IN_PROGRESS"
			if i > 3 {
				st = "NOT_STARTED"
			}
		}
		steps[i] = DataReplicationInitiationStep{Name: n, Status: st}
	}
	dri.DataReplicationInitiation = &DataReplicationInitiation{StartDateTime: formatTime(s.addedAt), Steps: steps}
	if lagShown(s.state) {
		dri.LagDuration = t.lag
	}
	if etaShown(s.state) {
		dri.EtaDateTime = t.eta
	}
	if s.replError != "" {
		dri.DataReplicationError = &DataReplicationError{Error: s.replError,
			RawError: "replication is not progressing: " + strings.ToLower(strings.ReplaceAll(s.replError, "_", " "))}
	}
	for _, d := range s.disks {
		rd := DataReplicationInfoReplicatedDisk{DeviceName: d.device, TotalStorageBytes: d.bytes, ReplicatedStorageBytes: d.bytes, VolumeStatus: "REGULAR"}
		switch s.state {
		case replInitiating:
			rd.ReplicatedStorageBytes = 0
		case replInitialSync:
			rd.ReplicatedStorageBytes = d.bytes / 3
		case replBacklog:
			rd.BackloggedStorageBytes = d.bytes / 200
		case replDisconnected:
			rd.TotalStorageBytes, rd.ReplicatedStorageBytes = 0, 0
		}
		dri.ReplicatedDisks = append(dri.ReplicatedDisks, rd)
	}
	out.DataReplicationInfo = dri
	// Life cycle.
	lc := &LifeCycle{
		AddedToServiceDateTime:    formatTime(s.addedAt),
		LastSeenByServiceDateTime: t.lastSeen,
	}
	if !s.firstByteAt.IsZero() {
		lc.FirstByteDateTime = formatTime(s.firstByteAt)
		lc.ElapsedReplicationDuration = t.elapsed
	}
	if ll := s.lastLaunch; ll != nil {
		lc.LastLaunch = &LifeCycleLastLaunch{
			Initiated: &LifeCycleLastLaunchInitiated{ApiCallDateTime: formatTime(ll.apiCall), JobID: ll.jobID, Type: ll.typ},
			Status:    ll.status,
		}
	}
	out.LifeCycle = lc
	// Source properties.
	sp := &SourceProperties{
		LastUpdatedDateTime:     formatTime(s.addedAt.Add(time.Hour)),
		RecommendedInstanceType: s.instanceType,
		IdentificationHints:     &IdentificationHints{Fqdn: s.fqdn, Hostname: s.hostname},
		NetworkInterfaces:       []NetworkInterface{{MacAddress: s.mac, Ips: s.ips, IsPrimary: true}},
		RamBytes:                s.ramBytes,
		Os:                      &OS{FullString: s.osString},
	}
	for _, d := range s.disks {
		sp.Disks = append(sp.Disks, Disk{DeviceName: d.device, Bytes: d.bytes})
	}
	sp.Cpus = []CPU{{Cores: s.cpus, ModelName: "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"}}
	out.SourceProperties = sp
	return out
}

func (r *region) renderJob(j *job) Job {
	out := Job{
		JobID:            j.id,
		Arn:              r.arn("job", j.id),
		Type:             j.typ,
		InitiatedBy:      j.initiatedBy,
		CreationDateTime: formatTime(j.created),
		EndDateTime:      formatTime(j.ended),
		Status:           j.status,
		Tags:             copyTags(j.tags),
	}
	out.ParticipatingServers = make([]ParticipatingServer, len(j.servers))
	for i, ps := range j.servers {
		out.ParticipatingServers[i] = ParticipatingServer{
			SourceServerID:     ps.sourceServerID,
			RecoveryInstanceID: ps.recoveryInstanceID,
			LaunchStatus:       ps.launchStatus,
		}
	}
	return out
}

func (r *region) renderInstance(in *instance, now time.Time) RecoveryInstance {
	out := RecoveryInstance{
		Ec2InstanceID:               in.id,
		Ec2InstanceState:            in.ec2State,
		JobID:                       in.jobID,
		RecoveryInstanceID:          in.id,
		SourceServerID:              in.sourceServer,
		Arn:                         r.arn("recovery-instance", in.id),
		Tags:                        copyTags(in.tags),
		PointInTimeSnapshotDateTime: formatTime(in.pitTime),
		IsDrill:                     in.isDrill,
		OriginEnvironment:           in.originEnv,
		OriginAvailabilityZone:      in.availabilityZone(r),
		AgentVersion:                "4.7.1.1234.567.8901",
		Failback:                    &RecoveryInstanceFailback{State: in.failbackState},
	}
	state := "NOT_STARTED"
	if in.failbackRepl != "" {
		state = in.failbackRepl
	}
	if in.disconnected {
		state = replDisconnected
	}
	out.DataReplicationInfo = &RecoveryInstanceDataReplicationInfo{DataReplicationState: state}
	if s := r.servers[in.sourceServer]; s != nil {
		props := &RecoveryInstanceProperties{
			LastUpdatedDateTime: formatTime(in.launchedAt),
			IdentificationHints: &IdentificationHints{Hostname: s.hostname, AwsInstanceID: in.id},
			RamBytes:            s.ramBytes,
			Os:                  &OS{FullString: s.osString},
			Cpus:                []CPU{{Cores: s.cpus, ModelName: "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"}},
		}
		for i, d := range s.disks {
			props.Disks = append(props.Disks, RecoveryInstanceDisk{InternalDeviceName: d.device, Bytes: d.bytes,
				EbsVolumeID: fmt.Sprintf("vol-%017x", snapshotHash(in.id, in.launchedAt)+uint64(i))[:21]})
		}
		out.RecoveryInstanceProperties = props
	}
	return out
}

func renderSnapshot(s *snapshot) RecoverySnapshot {
	return RecoverySnapshot{SnapshotID: s.id, SourceServerID: s.server, ExpectedTimestamp: formatTime(s.expected),
		Timestamp: formatTime(s.taken), EbsSnapshots: s.ebs}
}

func (r *region) renderLaunchConfig(s *server) LaunchConfiguration {
	c := s.launchCfg
	out := LaunchConfiguration{
		SourceServerID:                      s.id,
		Name:                                c.name,
		Ec2LaunchTemplateID:                 c.templateID,
		LaunchDisposition:                   c.disposition,
		TargetInstanceTypeRightSizingMethod: c.rightSizing,
		CopyPrivateIp:                       c.copyPrivateIP,
		CopyTags:                            c.copyTags,
		Licensing:                           &Licensing{OsByol: c.osByol},
		PostLaunchEnabled:                   c.postLaunchEnabled,
	}
	if c.launchIntoID != "" {
		out.LaunchIntoInstanceProperties = &LaunchIntoInstanceProperties{LaunchIntoEC2InstanceID: c.launchIntoID}
	}
	return out
}
