package drssim

import (
	"fmt"
	"net"
	"regexp"
	"time"
)

// The parts of a scenario that describe a server, a recovery instance and a
// job exactly as a real account has them, for a rehearsal twin (`ripcord
// sim snapshot`, package drssim/twin; docs/drssim.md "Rehearsal twin").
// Every one is optional: left out, the simulator makes up its default.

// ServerDetail is what a twin copies of a source server beyond its
// ServerSpec.
type ServerDetail struct {
	// FQDN is the server's fully qualified name (default hostname +
	// ".corp.example.com").
	FQDN string `yaml:"fqdn,omitempty" json:"fqdn,omitempty"`
	// IPs and MAC are its primary network interface's (default: derived
	// from the server's ID).
	IPs []string `yaml:"ips,omitempty" json:"ips,omitempty"`
	MAC string   `yaml:"mac,omitempty" json:"mac,omitempty"`
	// RAMBytes is the exact memory size, in place of ramGiB.
	RAMBytes int64 `yaml:"ramBytes,omitempty" json:"ramBytes,omitempty"`
	// FirstByteAgo is when replication sent its first byte (default three
	// minutes after addedAgo).
	FirstByteAgo Duration `yaml:"firstByteAgo,omitempty" json:"firstByteAgo,omitempty"`
	// LastSeenAgo is when the service last heard from the server's agent;
	// left out, the agent heartbeats (last seen: now).
	LastSeenAgo Duration `yaml:"lastSeenAgo,omitempty" json:"lastSeenAgo,omitempty"`
	// LastLaunchResult and LastLaunch replace what the server's recovery
	// instances imply (NOT_STARTED without any).
	LastLaunchResult string          `yaml:"lastLaunchResult,omitempty" json:"lastLaunchResult,omitempty"`
	LastLaunch       *LastLaunchSpec `yaml:"lastLaunch,omitempty" json:"lastLaunch,omitempty"`
	// LaunchConfiguration is the server's DRS launch configuration
	// (GetLaunchConfiguration) but for its disposition, which is
	// launchDisposition.
	LaunchConfiguration *LaunchConfigSpec `yaml:"launchConfiguration,omitempty" json:"launchConfiguration,omitempty"`
}

// LastLaunchSpec is a source server's lifeCycle.lastLaunch.
type LastLaunchSpec struct {
	JobID      string   `yaml:"jobID" json:"jobID"`
	Type       string   `yaml:"type" json:"type"`                                 // DRILL or RECOVERY
	Status     string   `yaml:"status" json:"status"`                             // a LaunchStatus
	APICallAgo Duration `yaml:"apiCallAgo,omitempty" json:"apiCallAgo,omitempty"` // when StartRecovery was called
}

// LaunchConfigSpec is a server's launch configuration. Left-out members
// take the simulator's defaults: name the hostname, a template ID derived
// from the server's ID, right-sizing BASIC, every flag false.
type LaunchConfigSpec struct {
	Name                 string `yaml:"name,omitempty" json:"name,omitempty"`
	EC2LaunchTemplateID  string `yaml:"ec2LaunchTemplateID,omitempty" json:"ec2LaunchTemplateID,omitempty"`
	RightSizing          string `yaml:"targetInstanceTypeRightSizingMethod,omitempty" json:"targetInstanceTypeRightSizingMethod,omitempty"`
	CopyPrivateIP        bool   `yaml:"copyPrivateIp,omitempty" json:"copyPrivateIp,omitempty"`
	CopyTags             bool   `yaml:"copyTags,omitempty" json:"copyTags,omitempty"`
	OSByol               bool   `yaml:"osByol,omitempty" json:"osByol,omitempty"`
	PostLaunchEnabled    bool   `yaml:"postLaunchEnabled,omitempty" json:"postLaunchEnabled,omitempty"`
	LaunchIntoInstanceID string `yaml:"launchIntoInstanceID,omitempty" json:"launchIntoInstanceID,omitempty"`
}

// CompletedJobSpec is a job that completed before the scenario starts, as
// DescribeJobs lists it. Unlike History, which makes jobs up, it is one
// given job. It holds nothing and counts against no quota; its log is
// JOB_START at its creation and JOB_END at its end.
type CompletedJobSpec struct {
	ID          string            `yaml:"id" json:"id"`
	Type        string            `yaml:"type" json:"type"`                                   // LAUNCH or TERMINATE
	InitiatedBy string            `yaml:"initiatedBy,omitempty" json:"initiatedBy,omitempty"` // default START_DRILL or TERMINATE_RECOVERY_INSTANCES
	CreatedAgo  Duration          `yaml:"createdAgo" json:"createdAgo"`
	EndedAgo    Duration          `yaml:"endedAgo,omitempty" json:"endedAgo,omitempty"`
	Tags        map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Servers     []JobServerSpec   `yaml:"servers,omitempty" json:"servers,omitempty"`
}

// JobServerSpec is one participating server of a completed job. The
// server need not exist any more.
type JobServerSpec struct {
	ID                 string `yaml:"id" json:"id"`
	RecoveryInstanceID string `yaml:"recoveryInstanceID,omitempty" json:"recoveryInstanceID,omitempty"`
	LaunchStatus       string `yaml:"launchStatus" json:"launchStatus"`
}

var (
	macRe          = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)
	launchStatuses = map[string]bool{launchStatusPending: true, launchStatusInProgress: true, launchStatusLaunched: true,
		launchStatusFailed: true, launchStatusTerminated: true}
	lastLaunchResults = map[string]bool{lastLaunchNotStarted: true, lastLaunchPending: true, lastLaunchSucceeded: true, lastLaunchFailed: true}
	ec2States         = map[string]bool{ec2Pending: true, ec2Running: true, "STOPPING": true, ec2Stopped: true,
		ec2ShuttingDown: true, ec2Terminated: true, "NOT_FOUND": true}
	// initiators are DRS's InitiatedBy values.
	initiators = map[string]bool{initStartRecovery: true, initStartDrill: true, initFailback: true, "DIAGNOSTIC": true,
		initTerminate: true, "TARGET_ACCOUNT": true, "CREATE_NETWORK_RECOVERY": true, "UPDATE_NETWORK_RECOVERY": true,
		"ASSOCIATE_NETWORK_RECOVERY": true}
)

// validateServerDetail adds a message per mistake in s's detail, its
// disks and its recovery instances.
func validateServerDetail(w string, s ServerSpec, add func(string, ...any)) {
	d := s.ServerDetail
	for _, ip := range d.IPs {
		if net.ParseIP(ip) == nil {
			add("%s: ips: %q is not an IP address", w, ip)
		}
	}
	if d.MAC != "" && !macRe.MatchString(d.MAC) {
		add("%s: mac %q must look like 02:00:5e:10:00:01", w, d.MAC)
	}
	if d.RAMBytes < 0 || (d.RAMBytes > 0 && s.RAMGiB > 0) {
		add("%s: give ramGiB or ramBytes (a positive number of bytes), not both", w)
	}
	for k, dk := range s.Disks {
		if dk.Bytes < 0 || dk.SizeGiB < 0 || (dk.Bytes > 0 && dk.SizeGiB > 0) {
			add("%s.disks[%d]: give sizeGiB or bytes (positive), not both", w, k)
		}
	}
	if d.LastLaunchResult != "" && !lastLaunchResults[d.LastLaunchResult] {
		add("%s: lastLaunchResult %q must be NOT_STARTED, PENDING, SUCCEEDED or FAILED", w, d.LastLaunchResult)
	}
	if ll := d.LastLaunch; ll != nil {
		if !validJobID(ll.JobID) {
			add("%s: lastLaunch.jobID %q must look like drsjob-0123456789abcdef0", w, ll.JobID)
		}
		if ll.Type != "DRILL" && ll.Type != "RECOVERY" {
			add("%s: lastLaunch.type %q must be DRILL or RECOVERY", w, ll.Type)
		}
		if !launchStatuses[ll.Status] {
			add("%s: lastLaunch.status %q must be a LaunchStatus (PENDING, IN_PROGRESS, LAUNCHED, FAILED, TERMINATED)", w, ll.Status)
		}
	}
	if lc := d.LaunchConfiguration; lc != nil {
		if lc.RightSizing != "" && !rightSizingMethods[lc.RightSizing] {
			add("%s: launchConfiguration.targetInstanceTypeRightSizingMethod %q must be NONE, BASIC or IN_AWS", w, lc.RightSizing)
		}
		if lc.LaunchIntoInstanceID != "" && !validRecoveryInstanceID(lc.LaunchIntoInstanceID) {
			add("%s: launchConfiguration.launchIntoInstanceID %q must look like i-0123456789abcdef0", w, lc.LaunchIntoInstanceID)
		}
	}
	for _, in := range s.RecoveryInstances {
		if in.State != "" && !ec2States[in.State] {
			add("%s: recovery instance %s: state %q is not an EC2 instance state (RUNNING, STOPPED, ...)", w, in.ID, in.State)
		}
		if in.JobID != "" && !validJobID(in.JobID) {
			add("%s: recovery instance %s: jobID %q must look like drsjob-0123456789abcdef0", w, in.ID, in.JobID)
		}
	}
}

// validateCompletedJobs adds a message per mistake in a region's
// completed jobs; ids holds the IDs of its active jobs.
func validateCompletedJobs(where string, rs RegionSpec, add func(string, ...any)) {
	ids := map[string]bool{}
	for _, js := range rs.Jobs {
		ids[js.ID] = true
	}
	for j, cj := range rs.CompletedJobs {
		w := fmt.Sprintf("%s.completedJobs[%d]", where, j)
		if !validJobID(cj.ID) {
			add("%s: id %q must look like drsjob-0123456789abcdef0", w, cj.ID)
		}
		if ids[cj.ID] {
			add("%s: job %s appears twice", w, cj.ID)
		}
		ids[cj.ID] = true
		if cj.Type != jobTypeLaunch && cj.Type != jobTypeTerminate {
			add("%s: type %q must be LAUNCH or TERMINATE", w, cj.Type)
		}
		if cj.InitiatedBy != "" && !initiators[cj.InitiatedBy] {
			add("%s: initiatedBy %q is not a DRS InitiatedBy value", w, cj.InitiatedBy)
		}
		if cj.EndedAgo > cj.CreatedAgo {
			add("%s: endedAgo %s is before createdAgo %s: a job ends after it is created", w, cj.EndedAgo, cj.CreatedAgo)
		}
		for k, ps := range cj.Servers {
			if !validSourceServerID(ps.ID) {
				add("%s.servers[%d]: id %q must look like s-0123456789abcdef0", w, k, ps.ID)
			}
			if ps.RecoveryInstanceID != "" && !validRecoveryInstanceID(ps.RecoveryInstanceID) {
				add("%s.servers[%d]: recoveryInstanceID %q must look like i-0123456789abcdef0", w, k, ps.RecoveryInstanceID)
			}
			if !launchStatuses[ps.LaunchStatus] {
				add("%s.servers[%d]: launchStatus %q must be a LaunchStatus (PENDING, IN_PROGRESS, LAUNCHED, FAILED, TERMINATED)", w, k, ps.LaunchStatus)
			}
		}
	}
}

// applyServerDetail sets what d gives of srv, after srv's recovery
// instances are in place (a given last launch wins over theirs).
func applyServerDetail(srv *server, d ServerDetail, now time.Time) {
	if d.FQDN != "" {
		srv.fqdn = d.FQDN
	}
	if len(d.IPs) > 0 {
		srv.ips = append([]string(nil), d.IPs...)
	}
	if d.MAC != "" {
		srv.mac = d.MAC
	}
	if d.RAMBytes > 0 {
		srv.ramBytes = d.RAMBytes
	}
	if d.FirstByteAgo > 0 {
		srv.firstByteAt = now.Add(-d.FirstByteAgo.D())
	}
	if d.LastSeenAgo > 0 {
		srv.lastSeenAt = now.Add(-d.LastSeenAgo.D())
	}
	if d.LastLaunchResult != "" {
		srv.lastLaunchResult = d.LastLaunchResult
	}
	if ll := d.LastLaunch; ll != nil {
		srv.lastLaunch = &lastLaunch{apiCall: now.Add(-ll.APICallAgo.D()), jobID: ll.JobID, typ: ll.Type, status: ll.Status}
	}
	if lc := d.LaunchConfiguration; lc != nil {
		c := &srv.launchCfg
		if lc.Name != "" {
			c.name = lc.Name
		}
		if lc.EC2LaunchTemplateID != "" {
			c.templateID = lc.EC2LaunchTemplateID
		}
		if lc.RightSizing != "" {
			c.rightSizing = lc.RightSizing
		}
		c.copyPrivateIP, c.copyTags, c.osByol = lc.CopyPrivateIP, lc.CopyTags, lc.OSByol
		c.postLaunchEnabled, c.launchIntoID = lc.PostLaunchEnabled, lc.LaunchIntoInstanceID
	}
}

// seedCompletedJob adds a completed job from before start.
func (r *region) seedCompletedJob(cj CompletedJobSpec, start time.Time) {
	created, ended := start.Add(-cj.CreatedAgo.D()), start.Add(-cj.EndedAgo.D())
	j := &job{id: cj.ID, typ: cj.Type, initiatedBy: cj.InitiatedBy, status: jobStatusCompleted, created: created,
		started: created, ended: ended, tags: copyTags(cj.Tags), foreign: "scenario", history: true,
		log: []logItem{{at: created, event: evJobStart}, {at: ended, event: evJobEnd}}}
	if j.initiatedBy == "" {
		j.initiatedBy = initStartDrill
		if j.typ == jobTypeTerminate {
			j.initiatedBy = initTerminate
		}
	}
	j.isDrill = j.initiatedBy == initStartDrill
	for _, ps := range cj.Servers {
		j.servers = append(j.servers, &jobServer{sourceServerID: ps.ID, recoveryInstanceID: ps.RecoveryInstanceID,
			launchStatus: ps.LaunchStatus, startedAt: created, finishedAt: ended})
	}
	r.addJob(j)
}
