package drssim

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// behDrilled waits for the seeded job, drills the servers and returns the
// instance of each.
func behDrilled(t *testing.T, e *testEnv, ids ...string) map[string]string {
	t.Helper()
	behWaitSeed(t, e)
	j := behStart(t, e, true, ids...)
	behWaitJob(t, e, aws.ToString(j.JobID))
	out := map[string]string{}
	for _, id := range ids {
		in := aws.ToString(behServer(t, e, id).RecoveryInstanceId)
		if in == "" {
			t.Fatalf("drill of %s left no recovery instance", id)
		}
		out[id] = in
	}
	return out
}

func behTerminate(t *testing.T, e *testEnv, ids ...string) types.Job {
	t.Helper()
	out, err := e.client.TerminateRecoveryInstances(ctx(t), &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: ids})
	if err != nil {
		t.Fatalf("TerminateRecoveryInstances(%v): %v", ids, err)
	}
	return *out.Job
}

// behRawStatus is the HTTP status of the response behind an SDK result.
func behRawStatus(t *testing.T, md middleware.Metadata) int {
	t.Helper()
	resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok {
		t.Fatalf("no raw HTTP response in the result metadata")
	}
	return resp.StatusCode
}

// TestTerminateRecoveryInstances follows a TERMINATE job from the call to
// the instance's removal.
func TestTerminateRecoveryInstances(t *testing.T) {
	e := newTestEnv(t, nil)
	inst := behDrilled(t, e, db1, db2)
	a, b := inst[db1], inst[db2]

	j := behTerminate(t, e, a)
	id := aws.ToString(j.JobID)
	if j.Type != types.JobTypeTerminate || j.InitiatedBy != types.InitiatedByTerminateRecoveryInstances || j.Status != types.JobStatusPending {
		t.Errorf("terminate job: type %s initiatedBy %s status %s", j.Type, j.InitiatedBy, j.Status)
	}
	if len(j.ParticipatingServers) != 1 || aws.ToString(j.ParticipatingServers[0].SourceServerID) != db1 ||
		aws.ToString(j.ParticipatingServers[0].RecoveryInstanceID) != a {
		t.Fatalf("terminate job participating servers: %+v", j.ParticipatingServers)
	}

	var ec2 []string
	var launch []types.LaunchStatus
	e.advanceUntil(time.Hour, func() bool {
		st := "gone"
		if ri, ok := behInstance(t, e, a); ok {
			st = string(ri.Ec2InstanceState)
		}
		if len(ec2) == 0 || ec2[len(ec2)-1] != st {
			ec2 = append(ec2, st)
		}
		got := behJob(t, e, id)
		if ls := got.ParticipatingServers[0].LaunchStatus; len(launch) == 0 || launch[len(launch)-1] != ls {
			launch = append(launch, ls)
		}
		if r := aws.ToString(got.ParticipatingServers[0].RecoveryInstanceID); r != a {
			t.Errorf("terminate job's server lost its recoveryInstanceID: %q", r)
		}
		return got.Status == types.JobStatusCompleted
	})
	if want := []string{"RUNNING", "SHUTTING-DOWN", "gone"}; !slices.Equal(ec2, want) {
		t.Errorf("instance went %v, want %v", ec2, want)
	}
	if want := []types.LaunchStatus{types.LaunchStatusPending, types.LaunchStatusInProgress, types.LaunchStatusTerminated}; !slices.Equal(launch, want) {
		t.Errorf("terminate job server went %v, want %v", launch, want)
	}
	if got := aws.ToString(behServer(t, e, db1).RecoveryInstanceId); got != "" {
		t.Errorf("source server still points at %q", got)
	}
	if got := aws.ToString(behServer(t, e, db2).RecoveryInstanceId); got != b {
		t.Errorf("the other server's instance changed: %q, want %q", got, b)
	}
	if ri, ok := behInstance(t, e, b); !ok || ri.Ec2InstanceState != types.EC2InstanceStateRunning {
		t.Errorf("untouched instance %s: listed=%v state %s", b, ok, ri.Ec2InstanceState)
	}
	log := behLog(t, e, id)
	if got, want := behEventNames(log), []string{"JOB_START", "CLEANUP_START", "CLEANUP_END", "JOB_END"}; !slices.Equal(got, want) {
		t.Fatalf("terminate log %v, want %v", got, want)
	}
	for _, li := range log[1:3] {
		if aws.ToString(li.EventData.TargetInstanceID) != a || aws.ToString(li.EventData.SourceServerID) != db1 {
			t.Errorf("%s: target %s source %s", li.Event, aws.ToString(li.EventData.TargetInstanceID), aws.ToString(li.EventData.SourceServerID))
		}
	}
	mi := behModelInstance(t, e, a)
	if !mi.Deleted || mi.Ec2InstanceState != ec2Terminated || formatTime(mi.Terminated) != aws.ToString(log[2].LogDateTime) {
		t.Errorf("model instance: deleted=%v state=%s terminated=%s (CLEANUP_END %s)", mi.Deleted, mi.Ec2InstanceState,
			formatTime(mi.Terminated), aws.ToString(log[2].LogDateTime))
	}
	jv := e.jobView(id)
	if jv.Servers[0].LaunchStatus != launchStatusTerminated || jv.Ended.IsZero() {
		t.Errorf("model job: %+v", jv.Servers)
	}
	if m := behModel(t, e); m.ActiveJobs != 0 || m.ServersInActiveJobs != 0 {
		t.Errorf("model after the job: %d active jobs, %d servers in active jobs", m.ActiveJobs, m.ServersInActiveJobs)
	}
}

// TestTerminateConflicts: an instance that is (or whose server is) in an
// active job cannot be terminated, and the refused call creates no job.
func TestTerminateConflicts(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, e *testEnv) string // returns the instance to terminate
	}{
		{"held by the seeded TERMINATE job", func(t *testing.T, e *testEnv) string { return "i-0a1b2c3d4e5f60701" }},
		{"server in an active drill", func(t *testing.T, e *testEnv) string {
			inst := behDrilled(t, e, db1)
			behStart(t, e, true, db1)
			return inst[db1]
		}},
		{"server in an active recovery", func(t *testing.T, e *testEnv) string {
			inst := behDrilled(t, e, app1)
			behStart(t, e, false, app1)
			return inst[app1]
		}},
		{"already being terminated", func(t *testing.T, e *testEnv) string {
			inst := behDrilled(t, e, web1)
			behTerminate(t, e, inst[web1])
			return inst[web1]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			id := tc.setup(t, e)
			before := len(behModel(t, e).Jobs)
			_, err := e.client.TerminateRecoveryInstances(ctx(t), &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: []string{id}})
			ce := behConflict(t, err)
			if aws.ToString(ce.ResourceId) != id {
				t.Errorf("conflict names %q, want %s", aws.ToString(ce.ResourceId), id)
			}
			if after := len(behModel(t, e).Jobs); after != before {
				t.Errorf("refused call changed the number of jobs from %d to %d", before, after)
			}
			if mi := behModelInstance(t, e, id); mi.Deleted {
				t.Errorf("instance deleted by a refused call")
			}
		})
	}
}

// TestTerminateUnknownInstance: an unknown (well-formed) ID is refused with
// the ResourceNotFoundException code (not in the operation's modelled error
// list, so the SDK surfaces it as a generic API error), and the whole call
// is rejected even when other IDs are valid.
func TestTerminateUnknownInstance(t *testing.T) {
	e := newTestEnv(t, nil)
	inst := behDrilled(t, e, db1)
	before := len(behModel(t, e).Jobs)
	for _, ids := range [][]string{{"i-0123456789abcdef0"}, {inst[db1], "i-0123456789abcdef0"}} {
		_, err := e.client.TerminateRecoveryInstances(ctx(t), &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: ids})
		behCode(t, err, "ResourceNotFoundException")
	}
	if after := len(behModel(t, e).Jobs); after != before {
		t.Errorf("refused calls created %d jobs", after-before)
	}
	if _, ok := behInstance(t, e, inst[db1]); !ok {
		t.Errorf("valid instance of a refused call is gone")
	}
}

// TestTerminateJobHoldsServer: while the TERMINATE job runs, its server
// cannot be launched; afterwards it can.
func TestTerminateJobHoldsServer(t *testing.T) {
	e := newTestEnv(t, nil)
	inst := behDrilled(t, e, app2)
	id := aws.ToString(behTerminate(t, e, inst[app2]).JobID)
	seen := map[types.JobStatus]int{}
	e.advanceUntil(time.Hour, func() bool {
		st := behJob(t, e, id).Status
		if st == types.JobStatusCompleted {
			return true
		}
		seen[st]++
		_, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: behSrc(app2)})
		behConflict(t, err)
		return false
	})
	if seen[types.JobStatusPending] == 0 || seen[types.JobStatusStarted] == 0 {
		t.Errorf("conflicting attempts per job status: %v; want some while PENDING and while STARTED", seen)
	}
	j := behStart(t, e, true, app2)
	if j.Status != types.JobStatusPending {
		t.Errorf("launch after the terminate job: %s", j.Status)
	}
}

// TestDisconnectThenDeleteRecoveryInstance: Delete needs Disconnect first;
// Delete removes the record from DRS while the EC2 instance keeps running.
func TestDisconnectThenDeleteRecoveryInstance(t *testing.T) {
	e := newTestEnv(t, nil)
	inst := behDrilled(t, e, web2)
	a := inst[web2]
	c := ctx(t)

	_, err := e.client.DeleteRecoveryInstance(c, &drs.DeleteRecoveryInstanceInput{RecoveryInstanceID: aws.String(a)})
	behConflict(t, err)
	if _, ok := behInstance(t, e, a); !ok {
		t.Fatal("refused delete removed the instance")
	}

	// Disconnect is refused while the server is in a job.
	j := aws.ToString(behStart(t, e, false, web2).JobID)
	_, err = e.client.DisconnectRecoveryInstance(c, &drs.DisconnectRecoveryInstanceInput{RecoveryInstanceID: aws.String(a)})
	behConflict(t, err)
	behWaitJob(t, e, j)

	if _, err := e.client.DisconnectRecoveryInstance(c, &drs.DisconnectRecoveryInstanceInput{RecoveryInstanceID: aws.String(a)}); err != nil {
		t.Fatalf("DisconnectRecoveryInstance: %v", err)
	}
	ri, ok := behInstance(t, e, a)
	if !ok || ri.DataReplicationInfo == nil || ri.DataReplicationInfo.DataReplicationState != types.RecoveryInstanceDataReplicationStateDisconnected ||
		ri.Ec2InstanceState != types.EC2InstanceStateRunning {
		t.Fatalf("after disconnect: listed=%v %+v state %s", ok, ri.DataReplicationInfo, ri.Ec2InstanceState)
	}
	if _, err := e.client.DeleteRecoveryInstance(c, &drs.DeleteRecoveryInstanceInput{RecoveryInstanceID: aws.String(a)}); err != nil {
		t.Fatalf("DeleteRecoveryInstance after disconnect: %v", err)
	}
	if _, ok := behInstance(t, e, a); ok {
		t.Error("deleted instance is still listed")
	}
	mi := behModelInstance(t, e, a)
	if !mi.Deleted || mi.Ec2InstanceState != ec2Running || !mi.Terminated.IsZero() {
		t.Errorf("model: deleted=%v state=%s terminated=%s; the EC2 instance should keep running", mi.Deleted, mi.Ec2InstanceState, mi.Terminated)
	}
	// The server now points at its remaining (recovery) instance.
	rec := behInstances(t, e, web2)
	if len(rec) != 1 || aws.ToString(behServer(t, e, web2).RecoveryInstanceId) != aws.ToString(rec[0].RecoveryInstanceID) {
		t.Errorf("server points at %q, listed %v", aws.ToString(behServer(t, e, web2).RecoveryInstanceId), behInstanceIDs(rec))
	}
	_, err = e.client.DisconnectRecoveryInstance(c, &drs.DisconnectRecoveryInstanceInput{RecoveryInstanceID: aws.String(a)})
	behCode(t, err, "ResourceNotFoundException")
}

// TestDeleteJob: an active job cannot be deleted; a completed one can, and
// then DescribeJobs no longer lists it.
func TestDeleteJob(t *testing.T) {
	e := newTestEnv(t, nil)
	c := ctx(t)
	_, err := e.client.DeleteJob(c, &drs.DeleteJobInput{JobID: aws.String(behSeededJob)})
	ce := behConflict(t, err)
	if aws.ToString(ce.ResourceId) != behSeededJob {
		t.Errorf("conflict names %q", aws.ToString(ce.ResourceId))
	}
	if e.jobView(behSeededJob).Deleted {
		t.Fatal("refused DeleteJob deleted the job")
	}
	behWaitSeed(t, e)
	out, err := e.client.DeleteJob(c, &drs.DeleteJobInput{JobID: aws.String(behSeededJob)})
	if err != nil {
		t.Fatalf("DeleteJob of a completed job: %v", err)
	}
	if st := behRawStatus(t, out.ResultMetadata); st != 204 {
		t.Errorf("DeleteJob answered %d, want 204", st)
	}
	got, err := e.client.DescribeJobs(c, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{behSeededJob}}})
	if err != nil || len(got.Items) != 0 {
		t.Errorf("DescribeJobs of the deleted job: %v %+v", err, got)
	}
	all, err := e.client.DescribeJobs(c, &drs.DescribeJobsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range all.Items {
		if aws.ToString(j.JobID) == behSeededJob {
			t.Errorf("unfiltered DescribeJobs still lists the deleted job")
		}
	}
	if !e.jobView(behSeededJob).Deleted {
		t.Errorf("model does not mark the job deleted")
	}
	_, err = e.client.DeleteJob(c, &drs.DeleteJobInput{JobID: aws.String(behSeededJob)})
	behCode(t, err, "ResourceNotFoundException")
}
