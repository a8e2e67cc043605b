package drssim

import (
	"fmt"
	"time"
)

// launchRequest is one server of a StartRecovery call.
type launchRequest struct {
	serverID   string
	snapshotID string
}

// createLaunchJob creates a LAUNCH job (drill, recovery or failback) and
// schedules its whole timeline: PENDING, then STARTED, then each server's
// pipeline (cleanup of a replaced drill instance, snapshot, conversion,
// launch), then COMPLETED when every server is final.
func (r *region) createLaunchJob(now time.Time, reqs []launchRequest, isDrill bool, initiatedBy string, tags map[string]string) *job {
	j := &job{
		id: r.newJobID(), typ: jobTypeLaunch, initiatedBy: initiatedBy, status: jobStatusPending,
		created: now, tags: copyTags(tags), isDrill: isDrill,
	}
	typ := "RECOVERY"
	if isDrill {
		typ = "DRILL"
	}
	for _, lr := range reqs {
		ps := &jobServer{sourceServerID: lr.serverID, snapshotID: lr.snapshotID, launchStatus: launchStatusPending}
		j.servers = append(j.servers, ps)
		srv := r.servers[lr.serverID]
		srv.lastLaunchResult = lastLaunchPending
		srv.lastLaunch = &lastLaunch{apiCall: now, jobID: j.id, typ: typ, status: launchStatusPending}
		srv.changed()
	}
	r.registerJob(j)
	startAt := now.Add(r.draw(r.cfg.durations.Pending))
	r.schedule(startAt, func(at time.Time) { r.startLaunchJob(j, at) })
	return j
}

func (r *region) startLaunchJob(j *job, at time.Time) {
	r.startJob(j, at)
	for _, ps := range j.servers {
		ps := ps
		// Servers start their pipelines a moment apart, as the service
		// fans the job out.
		r.schedule(at.Add(time.Duration(r.rng.Int64N(int64(3*time.Second)))), func(t time.Time) { r.beginServer(j, ps, t) })
	}
}

func (r *region) setServerStatus(j *job, ps *jobServer, status string, at time.Time) {
	ps.launchStatus = status
	j.changed()
	srv := r.servers[ps.sourceServerID]
	if srv == nil || srv.lastLaunch == nil || srv.lastLaunch.jobID != j.id {
		return
	}
	srv.lastLaunch.status = status
	srv.changed()
	switch status {
	case launchStatusLaunched:
		srv.lastLaunchResult = lastLaunchSucceeded
	case launchStatusFailed:
		srv.lastLaunchResult = lastLaunchFailed
	}
}

func (r *region) failServer(j *job, ps *jobServer, at time.Time, ev, msg string) {
	d := &JobLogEventData{SourceServerID: ps.sourceServerID, RawError: msg}
	r.logJob(j, at, ev, d)
	ps.finishedAt = at
	r.setServerStatus(j, ps, launchStatusFailed, at)
	r.maybeComplete(j, at)
}

// beginServer starts one server's pipeline.
func (r *region) beginServer(j *job, ps *jobServer, at time.Time) {
	ps.startedAt = at
	r.setServerStatus(j, ps, launchStatusInProgress, at)
	srv := r.servers[ps.sourceServerID]
	if srv == nil {
		r.failServer(j, ps, at, evServerSkipped, "source server no longer exists")
		return
	}
	if reason := srv.notLaunchable(); reason != "" && ps.snapshotID == "" {
		r.failServer(j, ps, at, evServerSkipped, reason)
		return
	}
	// Drill replacement: a new drill terminates the server's previous drill
	// instances inside this job. Recovery instances are never touched.
	var old []*instance
	if j.isDrill && !r.cfg.keepDrill {
		for _, in := range r.instList {
			if in.sourceServer == srv.id && in.isDrill && !in.deleted && r.instHold[in.id] == nil {
				old = append(old, in)
			}
		}
	}
	if len(old) == 0 {
		r.snapshotStage(j, ps, at)
		return
	}
	for _, in := range old {
		in.ec2State = ec2ShuttingDown
		ps.replaces = append(ps.replaces, in.id)
		r.logJob(j, at, evCleanupStart, &JobLogEventData{SourceServerID: srv.id, TargetInstanceID: in.id})
	}
	r.schedule(at.Add(r.draw(r.cfg.durations.Cleanup)), func(t time.Time) {
		for _, in := range old {
			r.terminateInstance(in, t)
			r.logJob(j, t, evCleanupEnd, &JobLogEventData{SourceServerID: srv.id, TargetInstanceID: in.id})
		}
		r.snapshotStage(j, ps, t)
	})
}

// notLaunchable says why a server has no data to launch from, or "".
func (s *server) notLaunchable() string {
	switch s.state {
	case replInitiating, replInitialSync:
		return fmt.Sprintf("source server %s has not finished its initial sync (%s); there is no data to launch from", s.id, s.state)
	case replStopped, replDisconnected:
		return fmt.Sprintf("source server %s is not replicating (%s)", s.id, s.state)
	}
	return ""
}

func (r *region) snapshotStage(j *job, ps *jobServer, at time.Time) {
	srv := r.servers[ps.sourceServerID]
	if ps.snapshotID != "" {
		snap := r.findSnapshot(srv, ps.snapshotID, at)
		d := r.draw(r.cfg.durations.PreviousSnapshot)
		if snap == nil {
			r.schedule(at.Add(d), func(t time.Time) {
				r.failServer(j, ps, t, evUsingPreviousSnapshotErr,
					fmt.Sprintf("recovery snapshot %s does not exist for source server %s", ps.snapshotID, srv.id))
			})
			return
		}
		r.schedule(at.Add(d), func(t time.Time) {
			if msg, fail := r.faults.serverFault(r, srv.id, stageSnapshot); fail {
				r.failServer(j, ps, t, evUsingPreviousSnapshotErr, msg)
				return
			}
			r.logJob(j, t, evUsingPreviousSnapshot, &JobLogEventData{SourceServerID: srv.id})
			r.conversionStage(j, ps, t, snap.taken)
		})
		return
	}
	r.logJob(j, at, evSnapshotStart, &JobLogEventData{SourceServerID: srv.id})
	r.schedule(at.Add(r.draw(r.cfg.durations.Snapshot)), func(t time.Time) {
		if msg, fail := r.faults.serverFault(r, srv.id, stageSnapshot); fail {
			r.failServer(j, ps, t, evSnapshotFail, msg)
			return
		}
		dataAt := srv.dataTime(t)
		snap := &snapshot{id: r.hexID("pit-", 17), server: srv.id, expected: dataAt, taken: dataAt}
		for range srv.disks { // one EBS snapshot per disk, as for PIT snapshots
			snap.ebs = append(snap.ebs, r.hexID("snap-", 17))
		}
		r.onDemand[srv.id] = append(r.onDemand[srv.id], snap)
		r.logJob(j, t, evSnapshotEnd, &JobLogEventData{SourceServerID: srv.id})
		r.conversionStage(j, ps, t, dataAt)
	})
}

// dataTime is the point in time of the latest replicated data.
func (s *server) dataTime(now time.Time) time.Time {
	if s.state == replStalled && !s.stalledSince.IsZero() {
		return s.stalledSince
	}
	return modelTime(now.Add(-s.lag))
}

func (r *region) conversionStage(j *job, ps *jobServer, at time.Time, dataAt time.Time) {
	srv := r.servers[ps.sourceServerID]
	conv := r.hexID("i-", 17)
	r.logJob(j, at, evConversionStart, &JobLogEventData{SourceServerID: srv.id, ConversionServerID: conv})
	d := r.draw(r.cfg.durations.Conversion)
	if srv.windows {
		d = time.Duration(float64(d) * r.cfg.durations.WindowsFactor)
	}
	r.schedule(at.Add(d), func(t time.Time) {
		if msg, fail := r.faults.serverFault(r, srv.id, stageConversion); fail {
			r.failServer(j, ps, t, evConversionFail, msg)
			return
		}
		root := srv.disks[0].device
		sizes := map[string]int64{}
		for _, dk := range srv.disks {
			sizes[dk.device] = dk.bytes
		}
		r.logJob(j, t, evConversionEnd, &JobLogEventData{SourceServerID: srv.id, ConversionServerID: conv,
			ConversionProperties: &ConversionProperties{RootVolumeName: root, DataTimestamp: formatTime(dataAt),
				VolumeToVolumeSize: sizes}})
		r.launchStage(j, ps, t, dataAt)
	})
}

func (r *region) launchStage(j *job, ps *jobServer, at time.Time, dataAt time.Time) {
	srv := r.servers[ps.sourceServerID]
	in := &instance{
		id: r.newInstanceID(), sourceServer: srv.id, jobID: j.id, isDrill: j.isDrill,
		ec2State: ec2Pending, pitTime: dataAt, launchedAt: at, originEnv: "ON_PREMISES",
		failbackState: failbackNotStarted, tags: map[string]string{},
	}
	if srv.launchCfg.copyTags {
		in.tags = copyTags(srv.tags)
	}
	srv.originOf(in)
	r.addInstance(in)
	ps.recoveryInstanceID = in.id
	srv.recoveryInstanceID = in.id
	j.changed()
	srv.changed()
	r.logJob(j, at, evLaunchStart, &JobLogEventData{SourceServerID: srv.id, TargetInstanceID: in.id})
	r.schedule(at.Add(r.draw(r.cfg.durations.Launch)), func(t time.Time) {
		if msg, fail := r.faults.serverFault(r, srv.id, stageLaunch); fail {
			r.terminateInstance(in, t)
			r.failServer(j, ps, t, evLaunchFailed, msg)
			return
		}
		in.ec2State = ec2Running
		if srv.launchCfg.disposition == "STOPPED" {
			in.ec2State = ec2Stopped
		} else {
			r.bootInstance(in, srv, t)
		}
		ps.finishedAt = t
		r.setServerStatus(j, ps, launchStatusLaunched, t)
		r.maybeComplete(j, t)
	})
}

// createTerminateJob creates a TERMINATE job for the instances: each goes
// SHUTTING-DOWN when the job starts and is TERMINATED and removed from DRS
// when its cleanup ends.
func (r *region) createTerminateJob(now time.Time, ids []string) *job {
	j := &job{id: r.newJobID(), typ: jobTypeTerminate, initiatedBy: initTerminate, status: jobStatusPending,
		created: now, tags: map[string]string{}}
	for _, id := range ids {
		in := r.instances[id]
		j.servers = append(j.servers, &jobServer{sourceServerID: in.sourceServer, recoveryInstanceID: id, launchStatus: launchStatusPending})
	}
	r.registerJob(j)
	r.schedule(now.Add(r.draw(r.cfg.durations.Pending)), func(at time.Time) {
		r.startJob(j, at)
		for _, ps := range j.servers {
			ps := ps
			in := r.instances[ps.recoveryInstanceID]
			ps.startedAt = at
			ps.launchStatus = launchStatusInProgress
			j.changed()
			in.ec2State = ec2ShuttingDown
			r.logJob(j, at, evCleanupStart, &JobLogEventData{SourceServerID: ps.sourceServerID, TargetInstanceID: in.id})
			r.schedule(at.Add(r.draw(r.cfg.durations.Terminate)), func(t time.Time) {
				r.finishTermination(j, ps, t)
				r.maybeComplete(j, t)
			})
		}
	})
	return j
}

// createFailbackJob creates a LAUNCH job initiated by FAILBACK: the failback
// client converts and reboots each target machine, after which the recovery
// instance's failback state is FAILBACK_COMPLETED.
func (r *region) createFailbackJob(now time.Time, insts []*instance, tags map[string]string) *job {
	j := &job{id: r.newJobID(), typ: jobTypeLaunch, initiatedBy: initFailback, status: jobStatusPending,
		created: now, tags: copyTags(tags)}
	for _, in := range insts {
		j.servers = append(j.servers, &jobServer{sourceServerID: in.sourceServer, recoveryInstanceID: in.id, launchStatus: launchStatusPending})
		in.failbackState = failbackInProgress
	}
	r.registerJob(j)
	r.schedule(now.Add(r.draw(r.cfg.durations.Pending)), func(at time.Time) {
		r.startJob(j, at)
		for _, ps := range j.servers {
			ps := ps
			ps.startedAt = at
			ps.launchStatus = launchStatusInProgress
			j.changed()
			r.logJob(j, at, evConversionStart, &JobLogEventData{SourceServerID: ps.sourceServerID})
			d := r.draw(r.cfg.durations.Conversion) + r.draw(r.cfg.durations.Launch)
			r.schedule(at.Add(d), func(t time.Time) {
				r.logJob(j, t, evConversionEnd, &JobLogEventData{SourceServerID: ps.sourceServerID})
				if in := r.instances[ps.recoveryInstanceID]; in != nil && in.failbackState == failbackInProgress {
					in.failbackState = failbackCompleted
				}
				ps.finishedAt = t
				ps.launchStatus = launchStatusLaunched
				j.changed()
				r.maybeComplete(j, t)
			})
		}
	})
	return j
}

// startJob moves a job to STARTED and logs JOB_START.
func (r *region) startJob(j *job, at time.Time) {
	j.status = jobStatusStarted
	j.started = at
	j.changed()
	r.logJob(j, at, evJobStart, nil)
}

// finishTermination ends one instance of a TERMINATE job: the instance is
// terminated and leaves DRS, and the server's last launch, if it was the
// one that created the instance, reads TERMINATED.
func (r *region) finishTermination(j *job, ps *jobServer, at time.Time) {
	in := r.instances[ps.recoveryInstanceID]
	if in != nil && !in.deleted {
		r.terminateInstance(in, at)
	}
	r.logJob(j, at, evCleanupEnd, &JobLogEventData{SourceServerID: ps.sourceServerID, TargetInstanceID: ps.recoveryInstanceID})
	ps.finishedAt = at
	ps.launchStatus = launchStatusTerminated
	j.changed()
	if in == nil {
		return
	}
	if srv := r.servers[ps.sourceServerID]; srv != nil && srv.lastLaunch != nil && srv.lastLaunch.jobID == in.jobID {
		srv.lastLaunch.status = launchStatusTerminated
		srv.changed()
	}
}
