package drs_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
)

// fbRecovered recovers db1 and app1 of three-tier (app1 an EC2 instance of
// us-west-2) and returns their recovery instances.
func fbRecovered(t *testing.T) (*env, map[string]string) {
	t.Helper()
	sc := threeTier(t)
	for i := range sc.Regions[0].Servers {
		if s := &sc.Regions[0].Servers[i]; s.ID == app1 {
			s.Origin = &drssim.OriginSpec{Region: "us-west-2"}
		}
	}
	e := newEnv(t, sc)
	e.idle()
	j, err := e.client.StartRecovery(ctx(t), launch(db1, app1), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.idle()
	jobs, err := e.client.DescribeJobs(ctx(t), []string{j.ID})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("DescribeJobs: %v %v", jobs, err)
	}
	inst := map[string]string{}
	for _, ps := range jobs[0].Servers {
		inst[ps.SourceServerID] = ps.RecoveryInstanceID
	}
	return e, inst
}

// TestFailbackOperations: the recovery instances show their origin and
// failback state; ReverseReplication reprotects the EC2-origin one and is
// refused (permanent, with DRS's reason) for the on-premises one;
// StartFailbackLaunch is refused (a conflict) until the state is ready,
// then starts a FAILBACK job with the tags; StopFailback resets it.
func TestFailbackOperations(t *testing.T) {
	e, inst := fbRecovered(t)
	ris, err := e.client.ListRecoveryInstances(ctx(t), []string{inst[db1], inst[app1]}, nil)
	if err != nil || len(ris) != 2 {
		t.Fatalf("ListRecoveryInstances: %v %v", ris, err)
	}
	for _, ri := range ris {
		want := "ON_PREMISES"
		if ri.SourceServerID == app1 {
			want = ripcord.OriginAWS
		}
		if ri.Origin != want || ri.FailbackState != ripcord.FailbackNotStarted {
			t.Errorf("%s: origin %q failback %q", ri.ID, ri.Origin, ri.FailbackState)
		}
	}

	arn, err := e.client.ReverseReplication(ctx(t), inst[app1])
	if err != nil || arn == "" {
		t.Fatalf("ReverseReplication: %q %v", arn, err)
	}
	_, err = e.client.ReverseReplication(ctx(t), inst[db1])
	if de := drsError(t, err); de.Type != "ValidationException" || ripcord.Classify(err) != ripcord.ClassPermanent {
		t.Errorf("on-premises ReverseReplication: %s %s %v", de.Type, ripcord.Classify(err), err)
	}

	tags := map[string]string{ripcord.TagExecution: "ex-1", ripcord.TagBatch: "b1"}
	_, err = e.client.StartFailbackLaunch(ctx(t), []string{inst[db1]}, tags)
	if !drs.IsConflict(err) {
		t.Fatalf("failback before ready: want a conflict, got %v", err)
	}
	if _, err := e.sim.MakeFailbackReady("", "us-east-1", []string{inst[db1]}, nil); err != nil {
		t.Fatal(err)
	}
	j, err := e.client.StartFailbackLaunch(ctx(t), []string{inst[db1]}, tags)
	if err != nil {
		t.Fatal(err)
	}
	if j.Type != ripcord.JobTypeLaunch || j.InitiatedBy != ripcord.InitiatedByFailback || j.Tags[ripcord.TagBatch] != "b1" ||
		len(j.Servers) != 1 || j.Servers[0].SourceServerID != db1 || j.Servers[0].RecoveryInstanceID != inst[db1] {
		t.Errorf("failback job %+v", j)
	}
	if n := e.requests("StartFailbackLaunch"); n != 2 {
		t.Errorf("%d StartFailbackLaunch requests, want 2 (one refused, one accepted)", n)
	}
	e.idle()
	ris, _ = e.client.ListRecoveryInstances(ctx(t), []string{inst[db1]}, nil)
	if len(ris) != 1 || ris[0].FailbackState != ripcord.FailbackCompleted {
		t.Errorf("after the job: %+v", ris)
	}

	e.advanceUntil(time.Hour, func() bool {
		ris, _ := e.client.ListRecoveryInstances(ctx(t), []string{inst[app1]}, nil)
		return len(ris) == 1 && ris[0].FailbackState == ripcord.FailbackReadyForLaunch
	})
	if err := e.client.StopFailback(ctx(t), inst[app1]); err != nil {
		t.Fatal(err)
	}
	ris, _ = e.client.ListRecoveryInstances(ctx(t), []string{inst[app1]}, nil)
	if len(ris) != 1 || ris[0].FailbackState != ripcord.FailbackNotStarted {
		t.Errorf("after StopFailback: %+v", ris)
	}
}

// TestStartFailbackLaunchLostResponse: the answer is lost after the job was
// created: one request (no automatic retry), an unclear error, and the job
// found again by its tags.
func TestStartFailbackLaunchLostResponse(t *testing.T) {
	e, inst := fbRecovered(t)
	if _, err := e.sim.MakeFailbackReady("", "us-east-1", nil, []string{db1}); err != nil {
		t.Fatal(err)
	}
	e.addFault(drssim.Fault{Kind: drssim.FaultDropResponse, Operation: "StartFailbackLaunch"})
	since := e.clock.Now()
	_, err := e.client.StartFailbackLaunch(ctx(t), []string{inst[db1]}, map[string]string{ripcord.TagExecution: "ex-2", ripcord.TagBatch: "b1"})
	if !drs.IsUnclear(err) {
		t.Fatalf("lost answer: want an unclear error, got %v", err)
	}
	if n := e.requests("StartFailbackLaunch"); n != 1 {
		t.Fatalf("%d StartFailbackLaunch requests, want exactly 1", n)
	}
	jobs, err := e.client.JobsCreatedSince(ctx(t), since)
	if err != nil {
		t.Fatal(err)
	}
	var found int
	for _, j := range jobs {
		if j.Tags[ripcord.TagExecution] == "ex-2" && j.InitiatedBy == ripcord.InitiatedByFailback {
			found++
		}
	}
	if found != 1 {
		t.Errorf("%d failback jobs tagged for the batch, want 1", found)
	}
}

// TestFailbackPolicy: the recovery policy allows reprotect and failback on
// the target's recovery instances, and lets StartFailbackLaunch tag its job;
// the drill policy allows none of it.
func TestFailbackPolicy(t *testing.T) {
	pt := drs.PolicyTarget{Account: threeTierAcc, Region: "us-east-1", Servers: []string{db1}}
	find := func(doc drs.PolicyDocument, sid string) *drs.Statement {
		for i := range doc.Statement {
			if doc.Statement[i].Sid == sid {
				return &doc.Statement[i]
			}
		}
		return nil
	}
	drill := drs.Policy(pt, drs.ModeDrill)
	if s := find(drill, "FailBackRecoveryInstances"); s != nil {
		t.Errorf("drill policy allows failback: %+v", s)
	}
	if s := find(drill, "TagJobsAtLaunch"); s == nil || s.Condition["StringEquals"]["drs:CreateAction"] != "StartRecovery" {
		t.Errorf("drill policy's tagging: %+v", s)
	}
	rec := drs.Policy(pt, drs.ModeRecovery)
	s := find(rec, "FailBackRecoveryInstances")
	if s == nil || !slices.Equal(s.Action, []string{"drs:ReverseReplication", "drs:StartFailbackLaunch", "drs:StopFailback"}) ||
		!slices.Equal(s.Resource, []string{"arn:aws:drs:us-east-1:" + threeTierAcc + ":recovery-instance/*"}) {
		t.Errorf("recovery policy's failback statement: %+v", s)
	}
	tag := find(rec, "TagJobsAtLaunch")
	if tag == nil || !slices.Equal(tag.Condition["StringEquals"]["drs:CreateAction"].([]string), []string{"StartFailbackLaunch", "StartRecovery"}) {
		t.Errorf("recovery policy's tagging: %+v", tag)
	}
}
