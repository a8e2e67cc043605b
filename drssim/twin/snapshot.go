package twin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/ripcord-dr/ripcord/drssim"
)

// Defaults of Options.
const (
	DefaultHistory = 30 * 24 * time.Hour
	DefaultSamples = 50
)

// Options say what a snapshot copies. The zero value takes the defaults.
type Options struct {
	// Name is the scenario's name (default "twin").
	Name string
	// History: completed jobs created at most this long before the
	// snapshot are copied as they are (default 30 days).
	History time.Duration
	// Samples is how many of the newest completed jobs have their logs
	// read for the durations (0: the default, 50; negative: none). Each
	// costs one DescribeJobLogItems call or more.
	Samples int
	// Warn, when set, is told what could not be copied faithfully and how
	// the reading goes.
	Warn func(format string, a ...any)
}

// Snapshot is what Read found: the scenario and how it came about.
type Snapshot struct {
	Scenario *drssim.Scenario
	// At is the reference time every "ago" of the scenario counts back
	// from: the latest Date DRS answered with. A simulator started at At
	// shows the times DRS showed.
	At      time.Time
	Account string
	Region  string
	// Counts of what was copied.
	Servers, ActiveJobs, CompletedJobs, RecoveryInstances int
	// Durations is what the durations were learned from (durations.go).
	Durations Learned
}

// Read reads the account's DRS inventory into a scenario.
func (r *Reader) Read(ctx context.Context, opts Options) (*Snapshot, error) {
	if opts.Name == "" {
		opts.Name = "twin"
	}
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	if opts.Samples == 0 {
		opts.Samples = DefaultSamples
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(string, ...any) {}
	}

	var servers []types.SourceServer
	sp := awsdrs.NewDescribeSourceServersPaginator(r.api, &awsdrs.DescribeSourceServersInput{MaxResults: aws.Int32(1000)})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("twin: DescribeSourceServers: %w", err)
		}
		servers = append(servers, page.Items...)
	}
	warn("read %d source servers", len(servers))
	launch := map[string]*awsdrs.GetLaunchConfigurationOutput{}
	for _, s := range servers {
		id := aws.ToString(s.SourceServerID)
		out, err := r.api.GetLaunchConfiguration(ctx, &awsdrs.GetLaunchConfigurationInput{SourceServerID: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("twin: GetLaunchConfiguration of %s: %w", id, err)
		}
		launch[id] = out
	}
	var jobs []types.Job
	jp := awsdrs.NewDescribeJobsPaginator(r.api, &awsdrs.DescribeJobsInput{MaxResults: aws.Int32(1000)})
	for jp.HasMorePages() {
		page, err := jp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("twin: DescribeJobs: %w", err)
		}
		jobs = append(jobs, page.Items...)
	}
	warn("read %d jobs", len(jobs))
	var instances []types.RecoveryInstance
	ip := awsdrs.NewDescribeRecoveryInstancesPaginator(r.api, &awsdrs.DescribeRecoveryInstancesInput{MaxResults: aws.Int32(1000)})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("twin: DescribeRecoveryInstances: %w", err)
		}
		instances = append(instances, page.Items...)
	}
	warn("read %d recovery instances", len(instances))
	// The newest completed jobs' logs (DescribeJobs lists newest first).
	logs := map[string][]types.JobLog{}
	for _, j := range jobs {
		if len(logs) >= opts.Samples {
			break
		}
		if j.Status != types.JobStatusCompleted {
			continue
		}
		id := aws.ToString(j.JobID)
		lp := awsdrs.NewDescribeJobLogItemsPaginator(r.api, &awsdrs.DescribeJobLogItemsInput{JobID: aws.String(id), MaxResults: aws.Int32(1000)})
		var items []types.JobLog
		for lp.HasMorePages() {
			page, err := lp.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("twin: DescribeJobLogItems of %s: %w", id, err)
			}
			items = append(items, page.Items...)
		}
		logs[id] = items
	}
	warn("read the logs of %d completed jobs", len(logs))

	b := builder{at: r.seen.now(), warn: warn, history: opts.History}
	snap := &Snapshot{At: b.at, Region: r.region}
	windows := map[string]bool{}
	for _, s := range servers {
		windows[aws.ToString(s.SourceServerID)] = isWindows(s)
	}
	snap.Durations = learn(jobs, logs, windows)
	region := drssim.RegionSpec{Region: r.region}
	byServer := map[string][]types.RecoveryInstance{}
	for _, in := range instances {
		byServer[aws.ToString(in.SourceServerID)] = append(byServer[aws.ToString(in.SourceServerID)], in)
	}
	known := map[string]bool{}
	instKnown := map[string]bool{}
	for _, s := range servers {
		ss := b.server(s, launch[aws.ToString(s.SourceServerID)], byServer[aws.ToString(s.SourceServerID)])
		known[ss.ID] = true
		for _, in := range ss.RecoveryInstances {
			instKnown[in.ID] = true
		}
		region.Servers = append(region.Servers, ss)
		snap.RecoveryInstances += len(ss.RecoveryInstances)
		snap.Account = orAccount(snap.Account, s.Arn)
	}
	for _, in := range instances {
		if !known[aws.ToString(in.SourceServerID)] {
			warn("recovery instance %s is of source server %s, which DRS no longer lists: left out",
				aws.ToString(in.RecoveryInstanceID), aws.ToString(in.SourceServerID))
		}
	}
	for _, j := range jobs {
		snap.Account = orAccount(snap.Account, j.Arn)
		switch j.Status {
		case types.JobStatusPending, types.JobStatusStarted:
			if js, ok := b.activeJob(j, known, instKnown, snap.Durations.Ranges); ok {
				region.Jobs = append(region.Jobs, js)
			}
		default:
			if cj, ok := b.completedJob(j); ok {
				region.CompletedJobs = append(region.CompletedJobs, cj)
			}
		}
	}
	slices.Reverse(region.CompletedJobs) // oldest first, as they happened
	slices.Reverse(region.Jobs)
	region.Account = snap.Account
	snap.Servers, snap.ActiveJobs, snap.CompletedJobs = len(region.Servers), len(region.Jobs), len(region.CompletedJobs)
	if snap.Account == "" {
		warn("DRS shows nothing in %s that names the account (no server, job or recovery instance): the twin uses the simulator's default account", r.region)
	}
	sc := &drssim.Scenario{
		Name: opts.Name,
		Description: fmt.Sprintf("Rehearsal twin of DRS in account %s, %s, read at %s by ripcord sim snapshot: %d source servers, %d active and %d completed jobs, %d recovery instances.",
			orNone(snap.Account), r.region, b.at.Format(time.RFC3339), snap.Servers, snap.ActiveJobs, snap.CompletedJobs, snap.RecoveryInstances),
		DefaultAccount: snap.Account,
		Durations:      snap.Durations.Ranges,
		Regions:        []drssim.RegionSpec{region},
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("twin: the scenario read from DRS is not valid (a bug of the twin; please report it): %w", err)
	}
	snap.Scenario = sc
	return snap, nil
}

func orNone(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// orAccount returns acct, or when it is empty the account of the ARN
// arn:aws:drs:REGION:ACCOUNT:....
func orAccount(acct string, arn *string) string {
	if acct != "" {
		return acct
	}
	if f := strings.Split(aws.ToString(arn), ":"); len(f) >= 6 && len(f[4]) == 12 {
		return f[4]
	}
	return ""
}

// builder turns DRS's shapes into scenario specs, with times counted back
// from at.
type builder struct {
	at      time.Time
	warn    func(string, ...any)
	history time.Duration
}

// ago is how long before b.at the DRS date-time s is (0 for none; never
// negative).
func (b *builder) ago(s *string) drssim.Duration {
	if s == nil || *s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		b.warn("date-time %q is not RFC 3339: taken as now", *s)
		return 0
	}
	return drssim.Duration(max(b.at.Sub(t), 0))
}

func isWindows(s types.SourceServer) bool {
	if p := s.SourceProperties; p != nil && p.Os != nil {
		return strings.Contains(strings.ToLower(aws.ToString(p.Os.FullString)), "windows")
	}
	return false
}

// states and errors the simulator knows (drssim's enums).
var (
	knownStates = map[types.DataReplicationState]bool{"STOPPED": true, "INITIATING": true, "INITIAL_SYNC": true,
		"BACKLOG": true, "CREATING_SNAPSHOT": true, "CONTINUOUS": true, "PAUSED": true, "RESCAN": true, "STALLED": true,
		"DISCONNECTED": true}
)

// server is the spec of one source server.
func (b *builder) server(s types.SourceServer, lc *awsdrs.GetLaunchConfigurationOutput, insts []types.RecoveryInstance) drssim.ServerSpec {
	ss := drssim.ServerSpec{ID: aws.ToString(s.SourceServerID), Tags: s.Tags}
	if p := s.SourceProperties; p != nil {
		if h := p.IdentificationHints; h != nil {
			ss.Hostname, ss.FQDN = aws.ToString(h.Hostname), aws.ToString(h.Fqdn)
		}
		ss.OS = "linux"
		if isWindows(s) {
			ss.OS = "windows"
		}
		if p.Os != nil {
			ss.OSString = aws.ToString(p.Os.FullString)
		}
		for _, c := range p.Cpus {
			ss.CPUs += c.Cores
		}
		ss.RAMBytes = p.RamBytes
		for _, d := range p.Disks {
			ss.Disks = append(ss.Disks, drssim.DiskSpec{Device: aws.ToString(d.DeviceName), Bytes: d.Bytes})
		}
		ss.InstanceType = aws.ToString(p.RecommendedInstanceType)
		nics := p.NetworkInterfaces
		for i, n := range nics {
			if aws.ToBool(n.IsPrimary) || i == len(nics)-1 {
				ss.IPs, ss.MAC = n.Ips, aws.ToString(n.MacAddress)
				break
			}
		}
		if len(nics) > 1 {
			b.warn("source server %s has %d network interfaces: the twin keeps the primary one", ss.ID, len(nics))
		}
	}
	if dri := s.DataReplicationInfo; dri != nil {
		ss.State = string(dri.DataReplicationState)
		if !knownStates[dri.DataReplicationState] {
			b.warn("source server %s: replication state %q is unknown to the simulator: the twin shows it CONTINUOUS", ss.ID, ss.State)
			ss.State = ""
		}
		if dri.LagDuration != nil {
			lag, err := parseISODuration(*dri.LagDuration)
			if err != nil {
				b.warn("source server %s: lag: %v: taken as 0", ss.ID, err)
			}
			ss.Lag = drssim.Duration(lag)
		}
		if e := dri.DataReplicationError; e != nil && e.Error != "" {
			ss.Error = string(e.Error)
		}
	}
	if st := s.StagingArea; st != nil && st.Status != "" && st.Status != types.ExtensionStatusNotExtended {
		b.warn("source server %s: staging area %s: the simulator shows every server NOT_EXTENDED", ss.ID, st.Status)
	}
	if l := s.LifeCycle; l != nil {
		ss.AddedAgo = max(b.ago(l.AddedToServiceDateTime), drssim.Duration(time.Microsecond))
		ss.FirstByteAgo = b.ago(l.FirstByteDateTime)
		// A silent agent: the twin keeps its last-seen time. A heartbeating
		// one (seen in the last five minutes while replicating) heartbeats
		// in the twin too.
		if seen := b.ago(l.LastSeenByServiceDateTime); seen > 0 &&
			(ss.State == "STALLED" || ss.State == "DISCONNECTED" || seen.D() > 5*time.Minute) {
			ss.LastSeenAgo = seen
		}
		if ll := l.LastLaunch; ll != nil && ll.Initiated != nil && ll.Initiated.JobID != nil {
			ss.LastLaunch = &drssim.LastLaunchSpec{JobID: aws.ToString(ll.Initiated.JobID), Type: string(ll.Initiated.Type),
				Status: string(ll.Status), APICallAgo: b.ago(ll.Initiated.ApiCallDateTime)}
		}
	}
	ss.LastLaunchResult = string(s.LastLaunchResult)
	if lc != nil {
		ss.Disposition = string(lc.LaunchDisposition)
		spec := &drssim.LaunchConfigSpec{Name: aws.ToString(lc.Name), EC2LaunchTemplateID: aws.ToString(lc.Ec2LaunchTemplateID),
			RightSizing: string(lc.TargetInstanceTypeRightSizingMethod), CopyPrivateIP: aws.ToBool(lc.CopyPrivateIp),
			CopyTags: aws.ToBool(lc.CopyTags), PostLaunchEnabled: aws.ToBool(lc.PostLaunchEnabled)}
		if lc.Licensing != nil {
			spec.OSByol = aws.ToBool(lc.Licensing.OsByol)
		}
		if li := lc.LaunchIntoInstanceProperties; li != nil {
			spec.LaunchIntoInstanceID = aws.ToString(li.LaunchIntoEC2InstanceID)
		}
		ss.LaunchConfiguration = spec
	}
	// The server's current recovery instance goes last: the simulator
	// points the server at its last one.
	cur := aws.ToString(s.RecoveryInstanceId)
	slices.SortStableFunc(insts, func(a, c types.RecoveryInstance) int {
		ac, cc := aws.ToString(a.RecoveryInstanceID) == cur, aws.ToString(c.RecoveryInstanceID) == cur
		switch {
		case ac == cc:
			return 0
		case ac:
			return 1
		}
		return -1
	})
	for _, in := range insts {
		is := drssim.InstanceSpec{ID: aws.ToString(in.RecoveryInstanceID), Drill: aws.ToBool(in.IsDrill),
			JobID: aws.ToString(in.JobID), PointInTimeAgo: b.ago(in.PointInTimeSnapshotDateTime),
			State: string(in.Ec2InstanceState), Tags: in.Tags}
		if p := in.RecoveryInstanceProperties; p != nil {
			is.LaunchedAgo = b.ago(p.LastUpdatedDateTime)
		}
		ss.RecoveryInstances = append(ss.RecoveryInstances, is)
	}
	return ss
}

// activeJob is the spec of a PENDING or STARTED job, which the twin holds
// until its expected end (an estimate from the durations learned).
func (b *builder) activeJob(j types.Job, servers, instances map[string]bool, d drssim.Durations) (drssim.JobSpec, bool) {
	id := aws.ToString(j.JobID)
	js := drssim.JobSpec{ID: id, Type: string(j.Type), InitiatedBy: string(j.InitiatedBy), Status: string(j.Status),
		CreatedAgo: b.ago(j.CreationDateTime), Tags: j.Tags}
	for _, ps := range j.ParticipatingServers {
		sid, iid := aws.ToString(ps.SourceServerID), aws.ToString(ps.RecoveryInstanceID)
		switch {
		case j.Type == types.JobTypeTerminate && instances[iid]:
			js.RecoveryInstances = append(js.RecoveryInstances, iid)
		case j.Type == types.JobTypeLaunch && servers[sid]:
			js.Servers = append(js.Servers, sid)
		default:
			b.warn("active job %s: server %s (instance %q) is not in the inventory: left out of the job", id, sid, iid)
		}
	}
	if j.Type != types.JobTypeLaunch && j.Type != types.JobTypeTerminate || len(js.Servers)+len(js.RecoveryInstances) == 0 {
		b.warn("active job %s (%s) has nothing the simulator can hold: left out", id, j.Type)
		return js, false
	}
	js.EndsAfter = drssim.Duration(expectedRemaining(j.Type, js.CreatedAgo.D(), d))
	b.warn("active job %s (%s, %s) is held in the twin for %s more, launching nothing", id, j.Type, j.Status, js.EndsAfter)
	return js, true
}

// completedJob is the spec of a completed job, when it is recent enough.
func (b *builder) completedJob(j types.Job) (drssim.CompletedJobSpec, bool) {
	created := b.ago(j.CreationDateTime)
	if created.D() > b.history || (j.Type != types.JobTypeLaunch && j.Type != types.JobTypeTerminate) {
		return drssim.CompletedJobSpec{}, false
	}
	cj := drssim.CompletedJobSpec{ID: aws.ToString(j.JobID), Type: string(j.Type), InitiatedBy: string(j.InitiatedBy),
		CreatedAgo: created, EndedAgo: b.ago(j.EndDateTime), Tags: j.Tags}
	if j.EndDateTime == nil {
		cj.EndedAgo = created
	}
	for _, ps := range j.ParticipatingServers {
		cj.Servers = append(cj.Servers, drssim.JobServerSpec{ID: aws.ToString(ps.SourceServerID),
			RecoveryInstanceID: aws.ToString(ps.RecoveryInstanceID), LaunchStatus: string(ps.LaunchStatus)})
	}
	return cj, true
}
