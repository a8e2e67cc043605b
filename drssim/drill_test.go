package drssim

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
)

// Helpers shared by the behaviour tests (drill, terminate, faults,
// snapshots, launch configuration, control). They are prefixed "beh" so
// they cannot collide with helpers of other test files in the package.

const (
	behAccount   = "111122223333"
	behRegion    = "us-east-1"
	behSeededJob = "drsjob-3f0c2a9b7d1e45a60" // three-tier's lingering TERMINATE job
)

// behThreeTier loads the three-tier scenario so a test can adjust it.
func behThreeTier(t *testing.T) *Scenario {
	t.Helper()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// behEnvSeed is newTestEnv with a chosen seed.
func behEnvSeed(t *testing.T, sc *Scenario, seed int64) *testEnv {
	t.Helper()
	return newTestEnv(t, sc, func(o *Options) { o.Seed = seed })
}

func behSrc(ids ...string) []types.StartRecoveryRequestSourceServer {
	out := make([]types.StartRecoveryRequestSourceServer, len(ids))
	for i, id := range ids {
		out[i] = types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(id)}
	}
	return out
}

// behStart launches ids (a drill or a recovery) and returns the new job.
func behStart(t *testing.T, e *testEnv, drill bool, ids ...string) types.Job {
	t.Helper()
	out, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(drill), SourceServers: behSrc(ids...)})
	if err != nil {
		t.Fatalf("StartRecovery(drill=%v, %v): %v", drill, ids, err)
	}
	if out.Job == nil || aws.ToString(out.Job.JobID) == "" {
		t.Fatalf("StartRecovery returned no job: %+v", out)
	}
	return *out.Job
}

// behJob returns one job as DescribeJobs shows it.
func behJob(t *testing.T, e *testEnv, id string) types.Job {
	t.Helper()
	out, err := e.client.DescribeJobs(ctx(t), &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{id}}})
	if err != nil {
		t.Fatalf("DescribeJobs(%s): %v", id, err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("DescribeJobs(%s): %d items, want 1", id, len(out.Items))
	}
	return out.Items[0]
}

// behWaitJob advances the clock until DescribeJobs shows the job COMPLETED.
func behWaitJob(t *testing.T, e *testEnv, id string) time.Time {
	t.Helper()
	return e.advanceUntil(3*time.Hour, func() bool { return behJob(t, e, id).Status == types.JobStatusCompleted })
}

// behWaitSeed waits for three-tier's TERMINATE job to release the servers.
func behWaitSeed(t *testing.T, e *testEnv) {
	t.Helper()
	behWaitJob(t, e, behSeededJob)
}

// behLog reads a job's whole log through the paginator, three items a page.
func behLog(t *testing.T, e *testEnv, id string) []types.JobLog {
	t.Helper()
	p := drs.NewDescribeJobLogItemsPaginator(e.client, &drs.DescribeJobLogItemsInput{JobID: aws.String(id)},
		func(o *drs.DescribeJobLogItemsPaginatorOptions) { o.Limit = 3 })
	var out []types.JobLog
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("DescribeJobLogItems(%s): %v", id, err)
		}
		if len(page.Items) > 3 {
			t.Fatalf("DescribeJobLogItems page of %d items with maxResults 3", len(page.Items))
		}
		out = append(out, page.Items...)
	}
	return out
}

// behServerEvents returns the events of one server in a log, in order.
func behServerEvents(log []types.JobLog, serverID string) []types.JobLog {
	var out []types.JobLog
	for _, li := range log {
		if li.EventData != nil && aws.ToString(li.EventData.SourceServerID) == serverID {
			out = append(out, li)
		}
	}
	return out
}

func behEventNames(log []types.JobLog) []string {
	out := make([]string, len(log))
	for i, li := range log {
		out[i] = string(li.Event)
	}
	return out
}

// behFind returns the first event of the given kind, or fails.
func behFind(t *testing.T, log []types.JobLog, ev types.JobLogEvent) types.JobLog {
	t.Helper()
	for _, li := range log {
		if li.Event == ev {
			return li
		}
	}
	t.Fatalf("no %s in %v", ev, behEventNames(log))
	return types.JobLog{}
}

// behServer returns one source server as DescribeSourceServers shows it.
func behServer(t *testing.T, e *testEnv, id string) types.SourceServer {
	t.Helper()
	out, err := e.client.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{
		Filters: &types.DescribeSourceServersRequestFilters{SourceServerIDs: []string{id}}})
	if err != nil {
		t.Fatalf("DescribeSourceServers(%s): %v", id, err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("DescribeSourceServers(%s): %d items, want 1", id, len(out.Items))
	}
	return out.Items[0]
}

// behInstances lists the recovery instances DRS knows for the servers (all
// servers when none are given), through the paginator.
func behInstances(t *testing.T, e *testEnv, serverIDs ...string) []types.RecoveryInstance {
	t.Helper()
	in := &drs.DescribeRecoveryInstancesInput{}
	if len(serverIDs) > 0 {
		in.Filters = &types.DescribeRecoveryInstancesRequestFilters{SourceServerIDs: serverIDs}
	}
	p := drs.NewDescribeRecoveryInstancesPaginator(e.client, in, func(o *drs.DescribeRecoveryInstancesPaginatorOptions) { o.Limit = 2 })
	var out []types.RecoveryInstance
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("DescribeRecoveryInstances(%v): %v", serverIDs, err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// behInstance returns the listed instance with the ID, and whether it is listed.
func behInstance(t *testing.T, e *testEnv, id string) (types.RecoveryInstance, bool) {
	t.Helper()
	out, err := e.client.DescribeRecoveryInstances(ctx(t), &drs.DescribeRecoveryInstancesInput{
		Filters: &types.DescribeRecoveryInstancesRequestFilters{RecoveryInstanceIDs: []string{id}}})
	if err != nil {
		t.Fatalf("DescribeRecoveryInstances(%s): %v", id, err)
	}
	switch len(out.Items) {
	case 0:
		return types.RecoveryInstance{}, false
	case 1:
		return out.Items[0], true
	}
	t.Fatalf("DescribeRecoveryInstances(%s): %d items", id, len(out.Items))
	return types.RecoveryInstance{}, false
}

func behInstanceIDs(list []types.RecoveryInstance) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = aws.ToString(in.RecoveryInstanceID)
	}
	slices.Sort(out)
	return out
}

// behModel returns the model of the default account and region.
func behModel(t *testing.T, e *testEnv) RegionView {
	t.Helper()
	v := e.sim.State(StateFilter{Account: behAccount, Region: behRegion})
	if len(v.Regions) != 1 {
		t.Fatalf("model has %d regions for %s/%s", len(v.Regions), behAccount, behRegion)
	}
	return v.Regions[0]
}

// behModelInstance returns the model's view of an instance, deleted or not.
func behModelInstance(t *testing.T, e *testEnv, id string) InstanceView {
	t.Helper()
	for _, in := range behModel(t, e).Instances {
		if in.RecoveryInstanceID == id {
			return in
		}
	}
	t.Fatalf("instance %s not in the model", id)
	return InstanceView{}
}

// behModelServer returns the model's view of a source server.
func behModelServer(t *testing.T, e *testEnv, id string) SourceServer {
	t.Helper()
	for _, s := range behModel(t, e).Servers {
		if s.SourceServerID == id {
			return s
		}
	}
	t.Fatalf("server %s not in the model", id)
	return SourceServer{}
}

// behJobsFor returns the model's jobs (deleted included) naming the server.
func behJobsFor(t *testing.T, e *testEnv, serverID string) []JobView {
	t.Helper()
	var out []JobView
	for _, j := range behModel(t, e).Jobs {
		for _, s := range j.Servers {
			if s.SourceServerID == serverID {
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// behCode asserts that err is an API error with the code and returns it.
func behCode(t *testing.T, err error, code string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %T %v", code, err, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %v", code, ae.ErrorCode(), err)
	}
	return ae
}

// behConflict asserts a modelled ConflictException.
func behConflict(t *testing.T, err error) *types.ConflictException {
	t.Helper()
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("want ConflictException, got %T %v", err, err)
	}
	return ce
}

func behTime(t *testing.T, s *string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, aws.ToString(s))
	if err != nil {
		t.Fatalf("date-time %q: %v", aws.ToString(s), err)
	}
	return v
}

// behWave launches ids as one drill and steps the clock through the job,
// observing it through DescribeJobs after every transition. It checks the
// job and per-server state machines and when recoveryInstanceID appears,
// and returns the job ID and the instance of each server.
func behWave(t *testing.T, e *testEnv, ids ...string) (string, map[string]string) {
	t.Helper()
	j := behStart(t, e, true, ids...)
	id := aws.ToString(j.JobID)
	if j.Status != types.JobStatusPending || j.Type != types.JobTypeLaunch || j.InitiatedBy != types.InitiatedByStartDrill {
		t.Errorf("new drill job: status %s type %s initiatedBy %s, want PENDING LAUNCH START_DRILL", j.Status, j.Type, j.InitiatedBy)
	}
	if j.EndDateTime != nil {
		t.Errorf("new job has endDateTime %s", aws.ToString(j.EndDateTime))
	}
	if len(j.ParticipatingServers) != len(ids) {
		t.Fatalf("new job has %d participating servers, want %d", len(j.ParticipatingServers), len(ids))
	}
	statuses := []types.JobStatus{j.Status}
	perServer := map[string][]types.LaunchStatus{}
	instances := map[string]string{}
	for i, ps := range j.ParticipatingServers {
		if aws.ToString(ps.SourceServerID) != ids[i] || ps.LaunchStatus != types.LaunchStatusPending || ps.RecoveryInstanceID != nil {
			t.Errorf("new job server %d: %s %s %v", i, aws.ToString(ps.SourceServerID), ps.LaunchStatus, aws.ToString(ps.RecoveryInstanceID))
		}
		perServer[ids[i]] = []types.LaunchStatus{ps.LaunchStatus}
	}
	e.advanceUntil(time.Hour, func() bool {
		got := behJob(t, e, id)
		if statuses[len(statuses)-1] != got.Status {
			statuses = append(statuses, got.Status)
		}
		if (got.EndDateTime != nil) != (got.Status == types.JobStatusCompleted) {
			t.Errorf("job %s: status %s with endDateTime %q", id, got.Status, aws.ToString(got.EndDateTime))
		}
		for _, ps := range got.ParticipatingServers {
			sid := aws.ToString(ps.SourceServerID)
			if seq := perServer[sid]; seq[len(seq)-1] != ps.LaunchStatus {
				perServer[sid] = append(seq, ps.LaunchStatus)
			}
			rid := aws.ToString(ps.RecoveryInstanceID)
			prev, seen := instances[sid]
			switch {
			case seen && prev != rid:
				t.Errorf("server %s: recoveryInstanceID changed from %q to %q", sid, prev, rid)
			case !seen && rid != "":
				instances[sid] = rid
				// It appears in the very transition that logs LAUNCH_START,
				// while the server is still IN_PROGRESS.
				if ps.LaunchStatus != types.LaunchStatusInProgress {
					t.Errorf("server %s: recoveryInstanceID appeared with launchStatus %s", sid, ps.LaunchStatus)
				}
				var ls *JobLog
				for _, li := range e.jobView(id).Log {
					if li.Event == evLaunchStart && li.EventData.SourceServerID == sid {
						ls = &li
					}
				}
				if ls == nil || ls.EventData.TargetInstanceID != rid || ls.LogDateTime != formatTime(e.clock.Now()) {
					t.Errorf("server %s: recoveryInstanceID %s appeared at %s without a LAUNCH_START at that time (%+v)",
						sid, rid, formatTime(e.clock.Now()), ls)
				}
			}
		}
		return got.Status == types.JobStatusCompleted
	})
	if want := []types.JobStatus{types.JobStatusPending, types.JobStatusStarted, types.JobStatusCompleted}; !slices.Equal(statuses, want) {
		t.Errorf("job %s went %v, want %v", id, statuses, want)
	}
	for _, sid := range ids {
		want := []types.LaunchStatus{types.LaunchStatusPending, types.LaunchStatusInProgress, types.LaunchStatusLaunched}
		if !slices.Equal(perServer[sid], want) {
			t.Errorf("server %s went %v, want %v", sid, perServer[sid], want)
		}
		if instances[sid] == "" {
			t.Errorf("server %s never got a recoveryInstanceID", sid)
		}
	}
	return id, instances
}

// behCheckLaunchLog checks a completed drill's log: JOB_START first, JOB_END
// last, non-decreasing times, and per server the five pipeline events with
// their IDs. It returns the per-server conversion durations.
func behCheckLaunchLog(t *testing.T, e *testEnv, jobID string, instances map[string]string) map[string]time.Duration {
	t.Helper()
	log := behLog(t, e, jobID)
	if len(log) < 2 || log[0].Event != types.JobLogEventJobStart || log[len(log)-1].Event != types.JobLogEventJobEnd {
		t.Fatalf("job %s log %v: want JOB_START first and JOB_END last", jobID, behEventNames(log))
	}
	if want := 2 + 5*len(instances); len(log) != want {
		t.Errorf("job %s log has %d items, want %d: %v", jobID, len(log), want, behEventNames(log))
	}
	for i := 1; i < len(log); i++ {
		if behTime(t, log[i].LogDateTime).Before(behTime(t, log[i-1].LogDateTime)) {
			t.Errorf("log item %d (%s at %s) is earlier than item %d (%s at %s)", i, log[i].Event,
				aws.ToString(log[i].LogDateTime), i-1, log[i-1].Event, aws.ToString(log[i-1].LogDateTime))
		}
	}
	// The API shows exactly what the model recorded.
	model := e.jobView(jobID).Log
	if len(model) != len(log) {
		t.Fatalf("API log has %d items, model %d", len(log), len(model))
	}
	for i := range log {
		if string(log[i].Event) != model[i].Event || aws.ToString(log[i].LogDateTime) != model[i].LogDateTime {
			t.Errorf("log item %d: API %s@%s, model %s@%s", i, log[i].Event, aws.ToString(log[i].LogDateTime), model[i].Event, model[i].LogDateTime)
		}
	}
	conv := map[string]time.Duration{}
	wantSeq := []string{"SNAPSHOT_START", "SNAPSHOT_END", "CONVERSION_START", "CONVERSION_END", "LAUNCH_START"}
	for sid, inst := range instances {
		evs := behServerEvents(log, sid)
		if got := behEventNames(evs); !slices.Equal(got, wantSeq) {
			t.Errorf("server %s events %v, want %v", sid, got, wantSeq)
			continue
		}
		cs, ce := evs[2].EventData, evs[3].EventData
		convID := aws.ToString(cs.ConversionServerID)
		if !validRecoveryInstanceID(convID) || aws.ToString(ce.ConversionServerID) != convID || convID == inst {
			t.Errorf("server %s conversion servers %q / %q (instance %s)", sid, convID, aws.ToString(ce.ConversionServerID), inst)
		}
		if ce.ConversionProperties == nil || aws.ToString(ce.ConversionProperties.DataTimestamp) == "" {
			t.Errorf("server %s CONVERSION_END without conversionProperties.dataTimestamp", sid)
		}
		for _, li := range []types.JobLog{evs[0], evs[1], evs[4]} {
			if li.EventData.ConversionServerID != nil {
				t.Errorf("server %s %s carries conversionServerID", sid, li.Event)
			}
		}
		if got := aws.ToString(evs[4].EventData.TargetInstanceID); got != inst {
			t.Errorf("server %s LAUNCH_START targetInstanceID %q, want %q", sid, got, inst)
		}
		conv[sid] = behTime(t, evs[3].LogDateTime).Sub(behTime(t, evs[2].LogDateTime))
	}
	return conv
}

// TestThreeTierDrill runs the whole three-tier drill wave by wave, the way an
// orchestrator would, and checks every observable step against the API and
// the model.
func TestThreeTierDrill(t *testing.T) {
	sc := behThreeTier(t)
	// Non-overlapping conversion ranges for Linux and Windows, so that the
	// Windows factor is visible in every run.
	sc.Durations.Conversion = DurRange{Duration(2 * time.Minute), Duration(3 * time.Minute)}
	sc.Durations.WindowsFactor = 3
	e := newTestEnv(t, sc)
	c := ctx(t)
	all := []string{db1, db2, app1, app2, web1, web2}

	// The seeded TERMINATE job holds all six servers.
	seed := behJob(t, e, behSeededJob)
	if seed.Status != types.JobStatusStarted || seed.Type != types.JobTypeTerminate || len(seed.ParticipatingServers) != 6 {
		t.Fatalf("seeded job: %s %s with %d servers", seed.Status, seed.Type, len(seed.ParticipatingServers))
	}
	for _, sid := range all {
		_, err := e.client.StartRecovery(c, &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: behSrc(sid)})
		ce := behConflict(t, err)
		if aws.ToString(ce.ResourceId) != sid {
			t.Errorf("conflict for %s names resource %q", sid, aws.ToString(ce.ResourceId))
		}
	}
	if n := len(behModel(t, e).Jobs); n != 1 {
		t.Fatalf("conflicting StartRecovery calls created jobs: the model has %d", n)
	}
	behWaitSeed(t, e)
	if got := behInstances(t, e); len(got) != 0 {
		t.Fatalf("after the seeded TERMINATE job, %d recovery instances remain: %v", len(got), behInstanceIDs(got))
	}

	waves := []struct {
		name    string
		servers []string
	}{
		{"database", []string{db1, db2}},
		{"app", []string{app1, app2}},
		{"web", []string{web1, web2}},
	}
	launched := map[string]string{} // server -> instance, over all waves
	convAll := map[string]time.Duration{}
	for _, w := range waves {
		jobID, inst := behWave(t, e, w.servers...)
		jv := e.jobView(jobID)
		if d := jv.Started.Sub(jv.Created); d < 2*time.Second || d > 20*time.Second {
			t.Errorf("%s wave: PENDING lasted %s, want within the default [2s, 20s]", w.name, d)
		}
		for k, v := range behCheckLaunchLog(t, e, jobID, inst) {
			convAll[k] = v
		}
		log := behLog(t, e, jobID)
		for _, sid := range w.servers {
			srv := behServer(t, e, sid)
			if got := aws.ToString(srv.RecoveryInstanceId); got != inst[sid] {
				t.Errorf("server %s recoveryInstanceId %q, want %q", sid, got, inst[sid])
			}
			if srv.LastLaunchResult != types.LastLaunchResultSucceeded {
				t.Errorf("server %s lastLaunchResult %s", sid, srv.LastLaunchResult)
			}
			ll := srv.LifeCycle.LastLaunch
			if ll == nil || ll.Initiated == nil || aws.ToString(ll.Initiated.JobID) != jobID || ll.Initiated.Type != types.LastLaunchTypeDrill || ll.Status != types.LaunchStatusLaunched {
				t.Errorf("server %s lifeCycle.lastLaunch %+v", sid, ll)
			}
			if srv.DataReplicationInfo.DataReplicationState != types.DataReplicationStateContinuous {
				t.Errorf("server %s replication %s after a drill; drills are non-disruptive", sid, srv.DataReplicationInfo.DataReplicationState)
			}
			list := behInstances(t, e, sid)
			if len(list) != 1 {
				t.Fatalf("server %s has %d recovery instances: %v", sid, len(list), behInstanceIDs(list))
			}
			ri := list[0]
			evs := behServerEvents(log, sid)
			convEnd := behFind(t, evs, types.JobLogEventConversionEnd)
			if aws.ToString(ri.RecoveryInstanceID) != inst[sid] || aws.ToString(ri.Ec2InstanceID) != inst[sid] ||
				!aws.ToBool(ri.IsDrill) || ri.Ec2InstanceState != types.EC2InstanceStateRunning || aws.ToString(ri.JobID) != jobID ||
				aws.ToString(ri.SourceServerID) != sid {
				t.Errorf("recovery instance of %s: id %s ec2 %s drill %v state %s job %s", sid, aws.ToString(ri.RecoveryInstanceID),
					aws.ToString(ri.Ec2InstanceID), aws.ToBool(ri.IsDrill), ri.Ec2InstanceState, aws.ToString(ri.JobID))
			}
			pit := behTime(t, ri.PointInTimeSnapshotDateTime)
			if want := behTime(t, convEnd.EventData.ConversionProperties.DataTimestamp); !pit.Equal(want) {
				t.Errorf("instance of %s: pointInTimeSnapshotDateTime %s, CONVERSION_END dataTimestamp %s", sid, pit, want)
			}
			if snapEnd := behTime(t, behFind(t, evs, types.JobLogEventSnapshotEnd).LogDateTime); pit.After(snapEnd) {
				t.Errorf("instance of %s: data from %s, after its snapshot ended at %s", sid, pit, snapEnd)
			}
			mi := behModelInstance(t, e, inst[sid])
			if mi.Deleted || mi.Ec2InstanceState != ec2Running || !mi.IsDrill || mi.JobID != jobID {
				t.Errorf("model instance of %s: %+v", sid, mi)
			}
			launched[sid] = inst[sid]
		}
		// Earlier waves' instances are untouched by later drills.
		for sid, want := range launched {
			if ri, ok := behInstance(t, e, want); !ok || ri.Ec2InstanceState != types.EC2InstanceStateRunning {
				t.Errorf("after the %s wave, %s's instance %s is listed=%v state %s", w.name, sid, want, ok, ri.Ec2InstanceState)
			}
		}
	}
	if got := behInstances(t, e); len(got) != 6 {
		t.Errorf("after the drill, %d recovery instances are listed, want 6", len(got))
	}

	// Windows conversion takes WindowsFactor times the configured range.
	d := e.sim.cfg.durations
	lo, hi := time.Duration(float64(d.Conversion.Min.D())*d.WindowsFactor), time.Duration(float64(d.Conversion.Max.D())*d.WindowsFactor)
	if got := convAll[app2]; got < lo || got > hi {
		t.Errorf("Windows server %s converted in %s, want within [%s, %s]", app2, got, lo, hi)
	}
	for _, sid := range []string{db1, db2, app1, web1, web2} {
		if got := convAll[sid]; got < d.Conversion.Min.D() || got > d.Conversion.Max.D() {
			t.Errorf("Linux server %s converted in %s, want within [%s, %s]", sid, got, d.Conversion.Min, d.Conversion.Max)
		}
		if convAll[sid] >= convAll[app2] {
			t.Errorf("Linux server %s converted in %s, not faster than Windows %s (%s)", sid, convAll[sid], app2, convAll[app2])
		}
	}
}

// behTimeline runs the seeded wait and one database drill on a simulator
// with the seed, and returns the drill job's full model timeline.
func behTimeline(t *testing.T, seed int64) []byte {
	t.Helper()
	e := behEnvSeed(t, behThreeTier(t), seed)
	behWaitSeed(t, e)
	j := behStart(t, e, true, db1, db2)
	behWaitJob(t, e, aws.ToString(j.JobID))
	b, err := json.Marshal(struct {
		Job       JobView
		Instances []InstanceView
	}{e.jobView(aws.ToString(j.JobID)), behModel(t, e).Instances})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDrillTimelineRepeatable: the same seed and the same calls give the same
// job timeline; another seed gives a different one.
func TestDrillTimelineRepeatable(t *testing.T) {
	a, b := behTimeline(t, 7), behTimeline(t, 7)
	if string(a) != string(b) {
		t.Errorf("same seed, different timelines:\n%s\n%s", a, b)
	}
	var ja, jc struct{ Job JobView }
	c := behTimeline(t, 8)
	if err := json.Unmarshal(a, &ja); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(c, &jc); err != nil {
		t.Fatal(err)
	}
	// Not just the IDs: the drawn durations differ too.
	offsets := func(jv JobView) []time.Duration {
		var out []time.Duration
		for _, li := range jv.Log {
			at, _ := time.Parse(time.RFC3339Nano, li.LogDateTime)
			out = append(out, at.Sub(jv.Created))
		}
		return out
	}
	if ja.Job.JobID == jc.Job.JobID {
		t.Errorf("seeds 7 and 8 drew the same job ID %s", ja.Job.JobID)
	}
	if reflect.DeepEqual(offsets(ja.Job), offsets(jc.Job)) {
		t.Errorf("seeds 7 and 8 gave the same event timings %v", offsets(ja.Job))
	}
}

// TestRecoveryLaunch: isDrill false makes a START_RECOVERY job and
// non-drill instances.
func TestRecoveryLaunch(t *testing.T) {
	e := newTestEnv(t, nil)
	behWaitSeed(t, e)
	out, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{SourceServers: behSrc(web1, web2)}) // isDrill omitted
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Job.JobID)
	if out.Job.InitiatedBy != types.InitiatedByStartRecovery || out.Job.Type != types.JobTypeLaunch {
		t.Errorf("recovery job: initiatedBy %s type %s", out.Job.InitiatedBy, out.Job.Type)
	}
	behWaitJob(t, e, id)
	if e.jobView(id).IsDrill {
		t.Errorf("model marks the recovery job as a drill")
	}
	for _, sid := range []string{web1, web2} {
		list := behInstances(t, e, sid)
		if len(list) != 1 || list[0].IsDrill == nil || *list[0].IsDrill || aws.ToString(list[0].JobID) != id || list[0].Ec2InstanceState != types.EC2InstanceStateRunning {
			t.Errorf("instances of %s after recovery: %+v", sid, list)
			continue
		}
		srv := behServer(t, e, sid)
		if ll := srv.LifeCycle.LastLaunch; ll == nil || ll.Initiated.Type != types.LastLaunchTypeRecovery || aws.ToString(ll.Initiated.JobID) != id {
			t.Errorf("server %s lastLaunch %+v, want RECOVERY by %s", sid, ll, id)
		}
		if mi := behModelInstance(t, e, aws.ToString(list[0].RecoveryInstanceID)); mi.IsDrill {
			t.Errorf("model instance of %s is a drill", sid)
		}
	}
}

// TestDrillReplacesPreviousDrill: a second drill terminates the first drill's
// instance inside the new job, before taking its snapshot.
func TestDrillReplacesPreviousDrill(t *testing.T) {
	e := newTestEnv(t, nil)
	behWaitSeed(t, e)
	first := behStart(t, e, true, db1)
	behWaitJob(t, e, aws.ToString(first.JobID))
	old := aws.ToString(behServer(t, e, db1).RecoveryInstanceId)
	if old == "" {
		t.Fatal("first drill left no instance")
	}
	second := aws.ToString(behStart(t, e, true, db1).JobID)

	// Until the cleanup starts the old instance runs; during the cleanup it
	// is shutting down; afterwards DRS no longer lists it.
	var states []string
	e.advanceUntil(time.Hour, func() bool {
		st := "gone"
		if ri, ok := behInstance(t, e, old); ok {
			st = string(ri.Ec2InstanceState)
		}
		if len(states) == 0 || states[len(states)-1] != st {
			states = append(states, st)
		}
		return behJob(t, e, second).Status == types.JobStatusCompleted
	})
	if want := []string{"RUNNING", "SHUTTING-DOWN", "gone"}; !slices.Equal(states, want) {
		t.Errorf("old drill instance went %v, want %v", states, want)
	}
	log := behLog(t, e, second)
	evs := behServerEvents(log, db1)
	want := []string{"CLEANUP_START", "CLEANUP_END", "SNAPSHOT_START", "SNAPSHOT_END", "CONVERSION_START", "CONVERSION_END", "LAUNCH_START"}
	if got := behEventNames(evs); !slices.Equal(got, want) {
		t.Fatalf("second drill events %v, want %v", got, want)
	}
	for _, li := range evs[:2] {
		if got := aws.ToString(li.EventData.TargetInstanceID); got != old {
			t.Errorf("%s targetInstanceID %q, want the old instance %s", li.Event, got, old)
		}
	}
	if log[0].Event != types.JobLogEventJobStart || log[len(log)-1].Event != types.JobLogEventJobEnd {
		t.Errorf("log %v", behEventNames(log))
	}
	newInst := aws.ToString(evs[6].EventData.TargetInstanceID)
	if got := behInstanceIDs(behInstances(t, e, db1)); !slices.Equal(got, []string{newInst}) {
		t.Errorf("instances of %s: %v, want only the new %s", db1, got, newInst)
	}
	mi := behModelInstance(t, e, old)
	if !mi.Deleted || mi.Ec2InstanceState != ec2Terminated || mi.Terminated.IsZero() {
		t.Errorf("model: old instance deleted=%v state=%s terminated=%s", mi.Deleted, mi.Ec2InstanceState, mi.Terminated)
	}
	if got := formatTime(mi.Terminated); got != aws.ToString(evs[1].LogDateTime) {
		t.Errorf("old instance terminated at %s, CLEANUP_END at %s", got, aws.ToString(evs[1].LogDateTime))
	}
	if got := e.jobView(second).Servers[0].Replaced; !slices.Equal(got, []string{old}) {
		t.Errorf("model: job replaced %v, want [%s]", got, old)
	}
	if got := aws.ToString(behServer(t, e, db1).RecoveryInstanceId); got != newInst {
		t.Errorf("server points at %q, want the new instance %s", got, newInst)
	}
}

// TestRecoveryInstanceNeverReplaced: recovery instances survive later drills
// and recoveries; only drill instances are replaced, and the server always
// points at its newest instance.
func TestRecoveryInstanceNeverReplaced(t *testing.T) {
	e := newTestEnv(t, nil)
	behWaitSeed(t, e)
	steps := []struct {
		name     string
		drill    bool
		replaces int // index into launched of the instance replaced, -1: none
		live     []int
	}{
		{"recovery", false, -1, []int{0}},
		{"drill over recovery", true, -1, []int{0, 1}},
		{"drill over drill", true, 1, []int{0, 2}},
		{"recovery over drill", false, -1, []int{0, 2, 3}},
		{"drill over both", true, 2, []int{0, 3, 4}},
	}
	var launched []string
	for _, st := range steps {
		j := behStart(t, e, st.drill, db2)
		id := aws.ToString(j.JobID)
		behWaitJob(t, e, id)
		evs := behServerEvents(behLog(t, e, id), db2)
		var cleaned []string
		for _, li := range evs {
			if li.Event == types.JobLogEventCleanupStart {
				cleaned = append(cleaned, aws.ToString(li.EventData.TargetInstanceID))
			}
		}
		ls := behFind(t, evs, types.JobLogEventLaunchStart)
		launched = append(launched, aws.ToString(ls.EventData.TargetInstanceID))
		var wantCleaned []string
		if st.replaces >= 0 {
			wantCleaned = []string{launched[st.replaces]}
		}
		if !slices.Equal(cleaned, wantCleaned) {
			t.Errorf("%s: cleaned up %v, want %v", st.name, cleaned, wantCleaned)
		}
		var wantLive []string
		for _, i := range st.live {
			wantLive = append(wantLive, launched[i])
		}
		slices.Sort(wantLive)
		if got := behInstanceIDs(behInstances(t, e, db2)); !slices.Equal(got, wantLive) {
			t.Errorf("%s: live instances %v, want %v", st.name, got, wantLive)
		}
		for _, i := range st.live {
			if ri, _ := behInstance(t, e, launched[i]); ri.Ec2InstanceState != types.EC2InstanceStateRunning {
				t.Errorf("%s: instance %s is %s", st.name, launched[i], ri.Ec2InstanceState)
			}
		}
		if got := aws.ToString(behServer(t, e, db2).RecoveryInstanceId); got != launched[len(launched)-1] {
			t.Errorf("%s: server points at %s, want the newest %s", st.name, got, launched[len(launched)-1])
		}
	}
	if mi := behModelInstance(t, e, launched[0]); mi.Deleted || mi.IsDrill {
		t.Errorf("model: the first recovery instance is deleted=%v drill=%v", mi.Deleted, mi.IsDrill)
	}
}

// TestKeepDrillInstances: in strict mode a new drill leaves the previous
// drill instance running.
func TestKeepDrillInstances(t *testing.T) {
	sc := behThreeTier(t)
	sc.KeepDrillInstances = true
	e := newTestEnv(t, sc)
	behWaitSeed(t, e)
	var ids []string
	for i := 0; i < 2; i++ {
		j := aws.ToString(behStart(t, e, true, web1).JobID)
		behWaitJob(t, e, j)
		evs := behServerEvents(behLog(t, e, j), web1)
		if got := behEventNames(evs); strings.Contains(strings.Join(got, ","), "CLEANUP") {
			t.Errorf("drill %d cleaned up with KeepDrillInstances: %v", i, got)
		}
		if r := e.jobView(j).Servers[0].Replaced; len(r) != 0 {
			t.Errorf("drill %d replaced %v", i, r)
		}
		ids = append(ids, aws.ToString(behFind(t, evs, types.JobLogEventLaunchStart).EventData.TargetInstanceID))
	}
	slices.Sort(ids)
	if got := behInstanceIDs(behInstances(t, e, web1)); !slices.Equal(got, ids) {
		t.Errorf("instances %v, want both drills' %v", got, ids)
	}
	for _, id := range ids {
		if mi := behModelInstance(t, e, id); mi.Deleted || mi.Ec2InstanceState != ec2Running {
			t.Errorf("model instance %s deleted=%v state=%s", id, mi.Deleted, mi.Ec2InstanceState)
		}
	}
}
