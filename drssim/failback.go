package drssim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Failback and reverse replication (docs/drssim.md, "Failback").
//
// A recovery instance starts with failback state FAILBACK_NOT_STARTED and
// failback replication NOT_STARTED. Its failback replication is started by
// ReverseReplication, for an instance of an EC2-origin server (a scenario
// server with an origin), or by a failback client, which the control API
// stands in for (MakeFailbackReady, POST /_sim/failback/ready): the state
// goes FAILBACK_IN_PROGRESS while the replication syncs (a FailbackSync
// draw) and FAILBACK_READY_FOR_LAUNCH once it is continuous. Only then does
// StartFailbackLaunch accept it; its LAUNCH job (initiatedBy FAILBACK) ends
// the instance at FAILBACK_COMPLETED. StopFailback puts the instance back at
// FAILBACK_NOT_STARTED.

// OriginSpec is where an EC2-origin source server runs: the
// sourceCloudProperties DRS reports for it.
type OriginSpec struct {
	Region string `yaml:"region" json:"region"`
	// Account defaults to the region's account (same-account DR).
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
	// AvailabilityZone defaults to the region's "a" zone.
	AvailabilityZone string `yaml:"availabilityZone,omitempty" json:"availabilityZone,omitempty"`
}

type origin struct {
	region, account, az string
}

func newOrigin(o *OriginSpec) *origin {
	if o == nil {
		return nil
	}
	az := o.AvailabilityZone
	if az == "" {
		az = o.Region + "a"
	}
	return &origin{region: o.Region, account: o.Account, az: az}
}

func validateOrigin(w string, o *OriginSpec, add func(string, ...any)) {
	if o == nil {
		return
	}
	if o.Region == "" {
		add("%s: origin.region is required: the AWS region the EC2 instance runs in (e.g. us-west-2)", w)
	}
	if o.Account != "" && !accountRe.MatchString(o.Account) {
		add("%s: origin.account %q must be a 12-digit AWS account ID", w, o.Account)
	}
	if o.AvailabilityZone != "" && o.Region != "" && !strings.HasPrefix(o.AvailabilityZone, o.Region) {
		add("%s: origin.availabilityZone %q is not a zone of origin.region %s (e.g. %sa)", w, o.AvailabilityZone, o.Region, o.Region)
	}
}

var failbackStates = map[string]bool{
	"FAILBACK_NOT_STARTED": true, "FAILBACK_IN_PROGRESS": true, "FAILBACK_READY_FOR_LAUNCH": true,
	"FAILBACK_COMPLETED": true, "FAILBACK_ERROR": true, "FAILBACK_NOT_READY_FOR_LAUNCH": true,
	"FAILBACK_LAUNCH_STATE_NOT_AVAILABLE": true,
}

const failbackStateList = "FAILBACK_NOT_STARTED, FAILBACK_IN_PROGRESS, FAILBACK_READY_FOR_LAUNCH, FAILBACK_COMPLETED, FAILBACK_ERROR, FAILBACK_NOT_READY_FOR_LAUNCH, FAILBACK_LAUNCH_STATE_NOT_AVAILABLE"

// cloudProperties is the server's sourceCloudProperties: its origin's, or
// empty for an on-premises server.
func (s *server) cloudProperties() *SourceCloudProperties {
	if s.origin == nil {
		return &SourceCloudProperties{}
	}
	return &SourceCloudProperties{OriginAccountID: s.origin.account, OriginRegion: s.origin.region,
		OriginAvailabilityZone: s.origin.az}
}

// originOf sets what a new recovery instance of s inherits from it: its
// origin environment (AWS for an EC2-origin server) and zone.
func (s *server) originOf(in *instance) {
	if s.origin == nil {
		in.originEnv = "ON_PREMISES"
		return
	}
	in.originEnv, in.originAZ = "AWS", s.origin.az
}

func (in *instance) availabilityZone(r *region) string {
	if in.originAZ != "" {
		return in.originAZ
	}
	return r.name + "a"
}

// startFailbackReplication starts an instance's failback replication: in
// progress now, ready for a failback launch after a FailbackSync draw.
func (r *region) startFailbackReplication(in *instance, now time.Time) {
	in.failbackState = failbackInProgress
	in.failbackRepl = replInitialSync
	in.failbackGen++
	gen := in.failbackGen
	r.schedule(now.Add(r.draw(r.cfg.durations.FailbackSync)), func(at time.Time) {
		if in.failbackGen != gen || in.deleted || in.failbackState != failbackInProgress {
			return
		}
		in.failbackState = failbackReadyForLaunch
		in.failbackRepl = replContinuous
	})
}

func opReverseReplication(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in, e := r.liveInstance(rq.input.(*ReverseReplicationInput).RecoveryInstanceID)
	if e != nil {
		return nil, e
	}
	if e := r.instanceBusy(in); e != nil {
		return nil, e
	}
	srv := r.servers[in.sourceServer]
	if in.originEnv != "AWS" || srv == nil || srv.origin == nil {
		return nil, errValidation(reasonOther, fmt.Sprintf(
			"Recovery instance %s was recovered from an on-premises source server; reverse replication is only for EC2-origin (in-AWS) recovery. Fail back with the DRS Failback Client and StartFailbackLaunch.", in.id))
	}
	if in.isDrill {
		return nil, errValidation(reasonOther, fmt.Sprintf(
			"Recovery instance %s is a drill instance; only recovery instances can be reverse-replicated", in.id))
	}
	if in.reversedArn == "" {
		acct := srv.origin.account
		if acct == "" {
			acct = r.account
		}
		in.reversedArn = "arn:aws:drs:" + srv.origin.region + ":" + acct + ":source-server/" + r.hexID("s-", 17)
		srv.reversedArn = in.reversedArn
		srv.changed()
	}
	if in.failbackState == failbackNotStarted || in.failbackState == failbackCompleted {
		r.startFailbackReplication(in, now)
	}
	return reverseReplicationOutput{ReversedDirectionSourceServerArn: in.reversedArn}, nil
}

func opStopFailback(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in, e := r.liveInstance(rq.input.(*StopFailbackInput).RecoveryInstanceID)
	if e != nil {
		return nil, e
	}
	if e := r.instanceBusy(in); e != nil {
		return nil, e
	}
	in.failbackState = failbackNotStarted
	in.failbackRepl = ""
	in.failbackGen++
	return nil, nil
}

// MakeFailbackReady does what a failback client does once its replication
// has caught up: it puts recovery instances of account and region at
// FAILBACK_READY_FOR_LAUNCH, the ones named and those of the named source
// servers (their recovery instances, not drill instances). It returns the
// instances made ready, sorted. Unknown IDs, drill instances and instances
// in an active job are errors, and then nothing changes.
func (s *Sim) MakeFailbackReady(account, region string, instanceIDs, serverIDs []string) ([]string, error) {
	acct, reg, err := s.scopeRegion(account, region)
	if err != nil {
		return nil, err
	}
	if len(instanceIDs) == 0 && len(serverIDs) == 0 {
		return nil, fmt.Errorf("name recoveryInstanceIDs or sourceServerIDs: the instances whose failback replication is ready")
	}
	r := s.region(acct, reg)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(s.clock.Now())
	pick := map[string]*instance{}
	for _, id := range instanceIDs {
		in := r.instances[id]
		if in == nil || in.deleted {
			return nil, fmt.Errorf("recovery instance %s does not exist in account %s region %s", id, acct, reg)
		}
		if in.isDrill {
			return nil, fmt.Errorf("recovery instance %s is a drill instance; drill instances do not fail back", id)
		}
		pick[id] = in
	}
	for _, sid := range serverIDs {
		if r.servers[sid] == nil {
			return nil, fmt.Errorf("source server %s does not exist in account %s region %s", sid, acct, reg)
		}
		n := 0
		for _, in := range r.instList {
			if in.sourceServer == sid && !in.deleted && !in.isDrill {
				pick[in.id] = in
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("source server %s has no recovery instance (launch a recovery first)", sid)
		}
	}
	for _, in := range pick {
		if e := r.instanceBusy(in); e != nil {
			return nil, fmt.Errorf("%s", e.Body.Message)
		}
	}
	ids := make([]string, 0, len(pick))
	for id, in := range pick {
		in.failbackGen++
		in.failbackState = failbackReadyForLaunch
		in.failbackRepl = replContinuous
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// failbackReady is the body of POST /_sim/failback/ready.
type failbackReady struct {
	Account             string   `json:"account,omitempty"`
	Region              string   `json:"region,omitempty"`
	RecoveryInstanceIDs []string `json:"recoveryInstanceIDs,omitempty"`
	SourceServerIDs     []string `json:"sourceServerIDs,omitempty"`
}
