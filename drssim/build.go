package drssim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// build creates the scenario's regions, servers, instances and jobs at the
// simulator's start time.
func (s *Sim) build(sc *Scenario) error {
	start := s.startedAt
	for _, rs := range sc.Regions {
		acct := rs.Account
		if acct == "" {
			acct = s.defAccount
		}
		r := s.newRegion(acct, rs.Region, !rs.Uninitialized)
		s.regions[acct+"/"+rs.Region] = r
		for _, ss := range rs.Servers {
			srv := newServer(ss, start)
			r.addServer(srv)
			for _, is := range ss.RecoveryInstances {
				launched := start.Add(-is.LaunchedAgo.D())
				jobID := is.JobID
				if jobID == "" {
					jobID = r.newJobID()
				}
				in := &instance{
					id: is.ID, sourceServer: srv.id, jobID: jobID, isDrill: is.Drill,
					ec2State: ec2Running, pitTime: launched.Add(-2 * time.Minute), launchedAt: launched,
					originEnv: "ON_PREMISES", failbackState: failbackNotStarted, tags: copyTags(is.Tags),
				}
				if is.PointInTimeAgo > 0 {
					in.pitTime = start.Add(-is.PointInTimeAgo.D())
				}
				if is.State != "" {
					in.ec2State = is.State
				}
				srv.originOf(in)
				if is.FailbackState != "" {
					in.failbackState = is.FailbackState
					if is.FailbackState == failbackReadyForLaunch {
						in.failbackRepl = replContinuous
					}
				}
				if in.ec2State == ec2Running {
					// Booted when launched: checks passed, agent registered.
					in.runningAt, in.checksAt, in.agentAt = launched, launched, launched
				}
				r.addInstance(in)
				srv.recoveryInstanceID = in.id
				typ := "RECOVERY"
				if is.Drill {
					typ = "DRILL"
				}
				srv.lastLaunchResult = lastLaunchSucceeded
				srv.lastLaunch = &lastLaunch{apiCall: launched.Add(-10 * time.Minute), jobID: jobID, typ: typ, status: launchStatusLaunched}
			}
			applyServerDetail(srv, ss.ServerDetail, start)
		}
		for _, js := range rs.Jobs {
			if err := r.seedJob(js, start); err != nil {
				return err
			}
		}
		for _, cj := range rs.CompletedJobs {
			r.seedCompletedJob(cj, start)
		}
	}
	if g := sc.Generate; g != nil && g.Servers > 0 {
		s.generate(g, start)
	}
	// History, once the regions have all their servers (generate adds
	// some).
	for i, rs := range sc.Regions {
		if rs.History == nil || rs.History.Jobs == 0 {
			continue
		}
		acct := rs.Account
		if acct == "" {
			acct = s.defAccount
		}
		if err := s.seedHistory(s.regions[acct+"/"+rs.Region], rs.History, start); err != nil {
			return fmt.Errorf("regions[%d].history: %w", i, err)
		}
	}
	for _, r := range s.regions {
		r.sortJobs()
	}
	return nil
}

// seedHistory adds h.Jobs COMPLETED jobs created evenly over h.Span before
// start, oldest first: drills (LAUNCH, START_DRILL) of h.ServersPerJob
// servers each, every server LAUNCHED with a recovery instance that no
// longer exists, and as every tenth job a TERMINATE job
// (TERMINATE_RECOVERY_INSTANCES) that terminated the instances of the drill
// before it. Each ends a few minutes after it was created, and has a
// minimal log (JOB_START, JOB_END). History jobs are only records: they
// hold no server and count against no quota, and leave no recovery
// instance and no trace on the servers. They are drawn from a generator
// of their own, seeded by the simulator's seed and the region, so the same
// seed gives the same history, and adding history changes nothing else.
func (s *Sim) seedHistory(r *region, h *HistorySpec, start time.Time) error {
	n := len(r.serverIDs)
	if n == 0 {
		return fmt.Errorf("account %s region %s has no source servers to take part in its %d history jobs", r.account, r.name, h.Jobs)
	}
	span := h.Span.D()
	if span <= 0 {
		span = defaultHistorySpan
	}
	perJob := h.ServersPerJob
	if perJob <= 0 {
		perJob = defaultHistoryServers
	}
	perJob = min(perJob, n)
	hs := fnv.New64a()
	hs.Write([]byte(r.account + "/" + r.name + "/history"))
	rng := rand.New(rand.NewPCG(uint64(s.seed), hs.Sum64()))
	step := span / time.Duration(h.Jobs)
	r.jobList = slices.Grow(r.jobList, h.Jobs)
	var prev *job
	for i := 0; i < h.Jobs; i++ {
		created := start.Add(-span + step*time.Duration(i))
		ended := created.Add(2*time.Minute + time.Duration(rng.Int64N(int64(6*time.Minute))))
		if ended.After(start) {
			ended = start
		}
		started := created.Add(2*time.Second + time.Duration(rng.Int64N(int64(18*time.Second))))
		if started.After(ended) {
			started = ended
		}
		var id string
		for id == "" || r.jobs[id] != nil {
			id = hexIDFrom(rng, "drsjob-", 17)
		}
		j := &job{id: id, typ: jobTypeLaunch, initiatedBy: initStartDrill, status: jobStatusCompleted, isDrill: true,
			created: created, started: started, ended: ended, foreign: "history", history: true,
			log: []logItem{{at: started, event: evJobStart}, {at: ended, event: evJobEnd}}}
		pss := make([]jobServer, perJob)
		j.servers = make([]*jobServer, perJob)
		if i%10 == 9 && prev != nil {
			// The drill before ends: its instances are terminated.
			j.typ, j.initiatedBy, j.isDrill = jobTypeTerminate, initTerminate, false
			for k, ps := range prev.servers {
				pss[k] = jobServer{sourceServerID: ps.sourceServerID, recoveryInstanceID: ps.recoveryInstanceID,
					launchStatus: launchStatusTerminated, startedAt: started, finishedAt: ended}
			}
		} else {
			off := rng.IntN(n)
			for k := range pss {
				pss[k] = jobServer{sourceServerID: r.serverIDs[(off+k)%n], recoveryInstanceID: hexIDFrom(rng, "i-", 17),
					launchStatus: launchStatusLaunched, startedAt: started, finishedAt: ended}
			}
		}
		for k := range pss {
			j.servers[k] = &pss[k]
		}
		r.jobs[j.id] = j
		r.jobList = append(r.jobList, j)
		prev = j
	}
	return nil
}

func newServer(ss ServerSpec, now time.Time) *server {
	srv := &server{
		origin:           newOrigin(ss.Origin),
		id:               ss.ID,
		hostname:         ss.Hostname,
		osString:         ss.OSString,
		windows:          ss.OS == "windows",
		cpus:             ss.CPUs,
		ramBytes:         ss.RAMGiB << 30,
		tags:             copyTags(ss.Tags),
		instanceType:     ss.InstanceType,
		state:            ss.State,
		lag:              ss.Lag.D(),
		replError:        ss.Error,
		lastLaunchResult: lastLaunchNotStarted,
	}
	if srv.hostname == "" {
		srv.hostname = "host-" + ss.ID[2:10]
	}
	srv.fqdn = srv.hostname + ".corp.example.com"
	if srv.osString == "" {
		if srv.windows {
			srv.osString = "Microsoft Windows Server 2022 Datacenter"
		} else {
			srv.osString = "Linux version 5.14.0-427.el9.x86_64 (Red Hat Enterprise Linux 9.4)"
		}
	}
	if srv.cpus == 0 {
		srv.cpus = 2
	}
	if srv.ramBytes == 0 {
		srv.ramBytes = 8 << 30
	}
	for _, d := range ss.Disks {
		b := d.SizeGiB << 30
		if d.Bytes > 0 {
			b = d.Bytes
		}
		srv.disks = append(srv.disks, diskSpec{device: d.Device, bytes: b})
	}
	if len(srv.disks) == 0 {
		dev := "/dev/sda"
		if srv.windows {
			dev = "disk0"
		}
		srv.disks = []diskSpec{{device: dev, bytes: 50 << 30}}
	}
	if srv.instanceType == "" {
		srv.instanceType = "m5.large"
	}
	if srv.state == "" {
		srv.state = replContinuous
	}
	added := ss.AddedAgo.D()
	if added == 0 {
		added = 30 * 24 * time.Hour
	}
	srv.addedAt = now.Add(-added)
	switch srv.state {
	case replInitiating:
	default:
		srv.firstByteAt = srv.addedAt.Add(3 * time.Minute)
	}
	if srv.state == replStalled {
		// Stalled for lag: the lag is the time since, and grows.
		srv.stalledSince = now.Add(-srv.lag)
		srv.lag = 0
		if srv.replError == "" {
			srv.replError = "UNSTABLE_NETWORK"
		}
	}
	h := fnv.New64a()
	h.Write([]byte(ss.ID))
	v := h.Sum64()
	srv.ips = []string{fmt.Sprintf("10.%d.%d.%d", 10+v%40, (v>>8)%250, 4+(v>>16)%250)}
	srv.mac = fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
	disp := ss.Disposition
	if disp == "" {
		disp = "STARTED"
	}
	srv.launchCfg = launchConfig{
		name:              srv.hostname,
		templateID:        fmt.Sprintf("lt-%017x", v)[:20],
		disposition:       disp,
		rightSizing:       "BASIC",
		copyPrivateIP:     ss.CopyPrivateIP,
		postLaunchEnabled: false,
	}
	if ss.RightSizing != "" {
		srv.launchCfg.rightSizing = ss.RightSizing
	}
	return srv
}

func copyTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// seedJob creates a job that is already running when the scenario starts.
func (r *region) seedJob(js JobSpec, start time.Time) error {
	created := start.Add(-js.CreatedAgo.D())
	j := &job{id: js.ID, typ: js.Type, initiatedBy: js.InitiatedBy, created: created, tags: copyTags(js.Tags), foreign: "scenario"}
	status := js.Status
	if status == "" {
		status = jobStatusStarted
	}
	if j.initiatedBy == "" {
		if j.typ == jobTypeTerminate {
			j.initiatedBy = initTerminate
		} else {
			j.initiatedBy = initStartDrill
		}
	}
	if j.typ == jobTypeTerminate {
		for _, id := range js.RecoveryInstances {
			in := r.instances[id]
			if in == nil {
				return fmt.Errorf("job %s: unknown recovery instance %s", js.ID, id)
			}
			j.servers = append(j.servers, &jobServer{sourceServerID: in.sourceServer, recoveryInstanceID: id, launchStatus: launchStatusPending})
		}
	} else {
		for _, id := range js.Servers {
			j.servers = append(j.servers, &jobServer{sourceServerID: id, launchStatus: launchStatusPending})
		}
	}
	r.registerJob(j)
	end := start.Add(js.EndsAfter.D())
	if status == jobStatusStarted {
		r.startHeldJob(j, created.Add(5*time.Second))
		// The job is already under way: its per-server work started before
		// the scenario began.
	} else {
		j.status = jobStatusPending
		startAt := start.Add(js.EndsAfter.D() / 4)
		r.schedule(startAt, func(at time.Time) { r.startHeldJob(j, at) })
	}
	r.schedule(end, func(at time.Time) { r.finishHeldJob(j, at) })
	return nil
}

// startHeldJob moves a held (seeded or fault) job to STARTED.
func (r *region) startHeldJob(j *job, at time.Time) {
	r.startJob(j, at)
	j.changed()
	for _, ps := range j.servers {
		ps.launchStatus = launchStatusInProgress
		ps.startedAt = at
		if j.typ == jobTypeTerminate {
			if in := r.instances[ps.recoveryInstanceID]; in != nil && !in.deleted {
				in.ec2State = ec2ShuttingDown
			}
			r.logJob(j, at, evCleanupStart, &JobLogEventData{SourceServerID: ps.sourceServerID, TargetInstanceID: ps.recoveryInstanceID})
		}
	}
}

// finishHeldJob completes a held job: a TERMINATE job terminates its
// instances; a held LAUNCH job launches nothing (its servers end FAILED).
func (r *region) finishHeldJob(j *job, at time.Time) {
	if j.status == jobStatusPending {
		r.startHeldJob(j, at)
	}
	for _, ps := range j.servers {
		ps.finishedAt = at
		if j.typ == jobTypeTerminate {
			r.finishTermination(j, ps, at)
			continue
		}
		r.logJob(j, at, evLaunchFailed, &JobLogEventData{SourceServerID: ps.sourceServerID,
			RawError: "launch cancelled by its initiator before an instance was created"})
		ps.launchStatus = launchStatusFailed
		j.changed()
	}
	r.completeJob(j, at)
}

// generate adds g.Servers servers spread round-robin over accounts, regions
// and tiers, with IDs derived from the seed so a run is repeatable.
func (s *Sim) generate(g *GenerateSpec, start time.Time) {
	tiers := g.Tiers
	if len(tiers) == 0 {
		tiers = []string{"database", "app", "web"}
	}
	for i := 0; i < g.Servers; i++ {
		acct := g.Accounts[i%len(g.Accounts)]
		name := g.Regions[(i/len(g.Accounts))%len(g.Regions)]
		key := acct + "/" + name
		r := s.regions[key]
		if r == nil {
			r = s.newRegion(acct, name, true)
			s.regions[key] = r
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s/%d", s.seed, key, i)
		id := fmt.Sprintf("s-%017x", h.Sum64()&0x0fffffffffffffff)
		id = id[:19]
		if len(id) < 19 {
			id += strings.Repeat("0", 19-len(id))
		}
		// Tiers come in equal consecutive blocks of servers; accounts and
		// regions cycle within each block, so every tier spans every
		// account and region (a step of one tier is a multi-target step).
		tier := tiers[i*len(tiers)/g.Servers]
		ss := ServerSpec{
			ID:       id,
			Hostname: fmt.Sprintf("%s-%05d", tier, i),
			Tags:     map[string]string{"Tier": tier, "Application": fmt.Sprintf("app-%02d", i/300), "Index": fmt.Sprint(i)},
		}
		if g.WindowsEvery > 0 && i%g.WindowsEvery == 0 {
			ss.OS = "windows"
		}
		r.addServer(newServer(ss, start))
	}
}
