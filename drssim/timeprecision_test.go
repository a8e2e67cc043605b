package drssim

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// Date-times keep one precision, the microsecond they are written with, so
// that a value read back selects what it came from when sent as a filter
// bound.

// tpJobIDs lists the IDs of DescribeJobs with filters f.
func tpJobIDs(t *testing.T, c *drs.Client, f types.DescribeJobsRequestFilters) []string {
	t.Helper()
	out, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{Filters: &f})
	if err != nil {
		t.Fatalf("DescribeJobs %+v: %v", f, err)
	}
	var ids []string
	for _, j := range out.Items {
		ids = append(ids, aws.ToString(j.JobID))
	}
	return ids
}

// TestDateTimeReadBackAsFilterBound creates jobs at instants with
// nanoseconds, reads each job's creationDateTime back through the SDK and
// passes it unchanged as DescribeJobs fromDate and toDate: the job is
// selected by each bound and by both, and its neighbour one microsecond
// later is not. The same for every recovery snapshot's expectedTimestamp as
// DescribeRecoverySnapshots fromDateTime and toDateTime.
func TestDateTimeReadBackAsFilterBound(t *testing.T) {
	e := newTestEnv(t, nil)
	wireWaitSeeded(e)
	e.advance(time.Hour + 987654321*time.Nanosecond)
	a, err := e.client.StartRecovery(ctx(t), wireLaunch(true, db1))
	if err != nil {
		t.Fatal(err)
	}
	e.advance(1500 * time.Nanosecond) // the next microsecond but one
	b, err := e.client.StartRecovery(ctx(t), wireLaunch(true, db2))
	if err != nil {
		t.Fatal(err)
	}
	jobA, jobB := aws.ToString(a.Job.JobID), aws.ToString(b.Job.JobID)
	createdA, createdB := aws.ToString(a.Job.CreationDateTime), aws.ToString(b.Job.CreationDateTime)
	if createdA == createdB || len(createdA) != len("2026-11-25T10:00:00.987654+00:00") {
		t.Fatalf("creation times %q and %q: want two distinct microsecond date-times", createdA, createdB)
	}
	// Read back from DescribeJobs too: the value a client would keep.
	for _, j := range wireWalkJobs(t, e.client, &drs.DescribeJobsInput{}, 50) {
		if id := aws.ToString(j.JobID); id == jobA && aws.ToString(j.CreationDateTime) != createdA {
			t.Fatalf("DescribeJobs says %s was created at %s, StartRecovery said %s", id, aws.ToString(j.CreationDateTime), createdA)
		}
	}
	all := tpJobIDs(t, e.client, types.DescribeJobsRequestFilters{})
	cases := []struct {
		name     string
		f        types.DescribeJobsRequestFilters
		want     []string // exactly, newest first
		included []string
		excluded []string
	}{
		{name: "both bounds", f: types.DescribeJobsRequestFilters{FromDate: &createdA, ToDate: &createdA}, want: []string{jobA}},
		{name: "both bounds, later job", f: types.DescribeJobsRequestFilters{FromDate: &createdB, ToDate: &createdB}, want: []string{jobB}},
		{name: "fromDate", f: types.DescribeJobsRequestFilters{FromDate: &createdA}, want: []string{jobB, jobA}},
		{name: "toDate", f: types.DescribeJobsRequestFilters{ToDate: &createdA}, included: []string{jobA, wireSeededJob}, excluded: []string{jobB}},
		{name: "bounds finer than a microsecond compare at the microsecond", f: types.DescribeJobsRequestFilters{
			FromDate: aws.String(createdA[:26] + "999Z"), ToDate: aws.String(createdA[:26] + "000Z")}, want: []string{jobA}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tpJobIDs(t, e.client, tc.f)
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("jobs %v, want %v (all jobs %v)", got, tc.want, all)
			}
			for _, id := range tc.included {
				if !slices.Contains(got, id) {
					t.Errorf("jobs %v, want %s among them", got, id)
				}
			}
			for _, id := range tc.excluded {
				if slices.Contains(got, id) {
					t.Errorf("jobs %v, want %s not among them", got, id)
				}
			}
		})
	}

	// The drill's on-demand snapshot is taken at an instant with
	// nanoseconds too; every snapshot is found by its own timestamp.
	e.advanceUntil(2*time.Hour, func() bool { return e.jobView(jobA).Status == jobStatusCompleted })
	snaps, err := e.client.DescribeRecoverySnapshots(ctx(t), &drs.DescribeRecoverySnapshotsInput{SourceServerID: aws.String(db1), MaxResults: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps.Items) == 0 {
		t.Fatal("no snapshots")
	}
	for _, sn := range snaps.Items {
		ts := aws.ToString(sn.ExpectedTimestamp)
		out, err := e.client.DescribeRecoverySnapshots(ctx(t), &drs.DescribeRecoverySnapshotsInput{SourceServerID: aws.String(db1),
			Filters: &types.DescribeRecoverySnapshotsRequestFilters{FromDateTime: &ts, ToDateTime: &ts}})
		if err != nil {
			t.Fatalf("snapshots at %s: %v", ts, err)
		}
		if !slices.ContainsFunc(out.Items, func(x types.RecoverySnapshot) bool { return aws.ToString(x.SnapshotID) == aws.ToString(sn.SnapshotID) }) {
			t.Errorf("snapshot %s (expected %s) not found by its own timestamp: got %d items", aws.ToString(sn.SnapshotID), ts, len(out.Items))
		}
	}
}

// TestModelTimesAreMicroseconds starts the simulator on a clock with
// nanoseconds (as a time-scaled clock always has), runs a drill, a
// termination and a replication stall at instants with nanoseconds, and
// checks that every time the model stores is a whole microsecond.
func TestModelTimesAreMicroseconds(t *testing.T) {
	start := testStart.Add(123456789 * time.Nanosecond)
	e := newTestEnv(t, nil, func(o *Options) { o.Clock = NewManualClock(start) })
	e.clock = e.sim.manual
	wireWaitSeeded(e)
	e.advance(333 * time.Nanosecond)
	wireRunDrill(e, e.client, db1, app1)
	e.advance(777 * time.Nanosecond)
	var inst string
	for _, in := range wireRegion(t, e, "111122223333", "us-east-1").Instances {
		if in.SourceServerID == app1 && !in.Deleted {
			inst = in.RecoveryInstanceID
		}
	}
	if _, err := e.client.TerminateRecoveryInstances(ctx(t), &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: []string{inst}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddFault(Fault{Kind: FaultStallReplication, Servers: []string{db2}, For: Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.advance(90*time.Minute + 55*time.Nanosecond)
	if _, err := e.client.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatal(err)
	}

	check := func(what string, at time.Time) {
		t.Helper()
		if at.Nanosecond()%1000 != 0 {
			t.Errorf("%s %s has nanoseconds", what, at.Format(time.RFC3339Nano))
		}
	}
	r := e.sim.region("111122223333", "us-east-1")
	r.mu.Lock()
	defer r.mu.Unlock()
	check("region now", r.now)
	for _, s := range r.servers {
		check(s.id+" addedAt", s.addedAt)
		check(s.id+" firstByteAt", s.firstByteAt)
		check(s.id+" stalledSince", s.stalledSince)
		check(s.id+" lastSeenAt", s.lastSeenAt)
		if s.lastLaunch != nil {
			check(s.id+" lastLaunch.apiCall", s.lastLaunch.apiCall)
		}
	}
	for _, j := range r.jobList {
		check(j.id+" created", j.created)
		check(j.id+" started", j.started)
		check(j.id+" ended", j.ended)
		for _, ps := range j.servers {
			check(j.id+" "+ps.sourceServerID+" startedAt", ps.startedAt)
			check(j.id+" "+ps.sourceServerID+" finishedAt", ps.finishedAt)
		}
		for _, li := range j.log {
			check(j.id+" "+li.event, li.at)
		}
	}
	for _, in := range r.instList {
		check(in.id+" pitTime", in.pitTime)
		check(in.id+" launchedAt", in.launchedAt)
		check(in.id+" terminatedAt", in.terminatedAt)
	}
	for id, snaps := range r.onDemand {
		for _, sn := range snaps {
			check(id+" "+sn.id+" expected", sn.expected)
			check(id+" "+sn.id+" taken", sn.taken)
		}
	}
	for _, ev := range r.queue {
		check("scheduled transition", ev.at)
	}
	if len(r.onDemand[db1]) == 0 || len(r.jobList) < 3 {
		t.Errorf("the drill left %d on-demand snapshots and %d jobs: the test did not exercise what it says", len(r.onDemand[db1]), len(r.jobList))
	}
}
