package drssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// fbRecovered starts the three-tier scenario with web1 an EC2 instance of
// us-west-2, waits out the seeded TERMINATE job and recovers web1 and
// app1; it returns the recovery instances by server.
func fbRecovered(t *testing.T) (*testEnv, map[string]string) {
	t.Helper()
	sc := behThreeTier(t)
	for i := range sc.Regions[0].Servers {
		if s := &sc.Regions[0].Servers[i]; s.ID == web1 {
			s.Origin = &OriginSpec{Region: "us-west-2", AvailabilityZone: "us-west-2b"}
		}
	}
	e := newTestEnv(t, sc)
	behWaitSeed(t, e)
	j := behStart(t, e, false, web1, app1)
	behWaitJob(t, e, aws.ToString(j.JobID))
	out := map[string]string{}
	for _, ps := range behJob(t, e, aws.ToString(j.JobID)).ParticipatingServers {
		out[aws.ToString(ps.SourceServerID)] = aws.ToString(ps.RecoveryInstanceID)
	}
	return e, out
}

func fbState(t *testing.T, e *testEnv, id string) types.FailbackState {
	t.Helper()
	ri, ok := behInstance(t, e, id)
	if !ok || ri.Failback == nil {
		t.Fatalf("recovery instance %s: not listed or no failback (%+v)", id, ri)
	}
	return ri.Failback.State
}

// TestReverseReplicationEC2Origin: an EC2-origin server reports its origin
// in sourceCloudProperties, its recovery instance is of origin AWS, and
// ReverseReplication returns an ARN in the origin region, links it from the
// source server, and starts failback replication that becomes ready for a
// failback launch; a second call returns the same ARN.
func TestReverseReplicationEC2Origin(t *testing.T) {
	e, inst := fbRecovered(t)
	srv := behServer(t, e, web1)
	if cp := srv.SourceCloudProperties; cp == nil || aws.ToString(cp.OriginRegion) != "us-west-2" || aws.ToString(cp.OriginAvailabilityZone) != "us-west-2b" {
		t.Errorf("sourceCloudProperties %+v", srv.SourceCloudProperties)
	}
	ri, _ := behInstance(t, e, inst[web1])
	if ri.OriginEnvironment != types.OriginEnvironmentAws || aws.ToString(ri.OriginAvailabilityZone) != "us-west-2b" {
		t.Errorf("instance origin %s %s", ri.OriginEnvironment, aws.ToString(ri.OriginAvailabilityZone))
	}
	out, err := e.client.ReverseReplication(ctx(t), &drs.ReverseReplicationInput{RecoveryInstanceID: aws.String(inst[web1])})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ReversedDirectionSourceServerArn)
	if !strings.HasPrefix(arn, "arn:aws:drs:us-west-2:111122223333:source-server/s-") {
		t.Errorf("reversed ARN %q", arn)
	}
	if got := aws.ToString(behServer(t, e, web1).ReversedDirectionSourceServerArn); got != arn {
		t.Errorf("source server's reversedDirectionSourceServerArn %q, want %q", got, arn)
	}
	if s := fbState(t, e, inst[web1]); s != types.FailbackStateFailbackInProgress {
		t.Errorf("after ReverseReplication: %s", s)
	}
	_, err = e.client.StartFailbackLaunch(ctx(t), &drs.StartFailbackLaunchInput{RecoveryInstanceIDs: []string{inst[web1]}})
	behConflict(t, err)
	e.advanceUntil(time.Hour, func() bool { return fbState(t, e, inst[web1]) == types.FailbackStateFailbackReadyForLaunch })
	ri, _ = behInstance(t, e, inst[web1])
	if ri.DataReplicationInfo == nil || ri.DataReplicationInfo.DataReplicationState != types.RecoveryInstanceDataReplicationStateContinuous {
		t.Errorf("failback replication %+v", ri.DataReplicationInfo)
	}
	again, err := e.client.ReverseReplication(ctx(t), &drs.ReverseReplicationInput{RecoveryInstanceID: aws.String(inst[web1])})
	if err != nil || aws.ToString(again.ReversedDirectionSourceServerArn) != arn {
		t.Errorf("second ReverseReplication: %v %v", again, err)
	}
	if s := fbState(t, e, inst[web1]); s != types.FailbackStateFailbackReadyForLaunch {
		t.Errorf("second ReverseReplication moved the state to %s", s)
	}
	// The on-premises app1 is refused with a validation error naming the way out.
	_, err = e.client.ReverseReplication(ctx(t), &drs.ReverseReplicationInput{RecoveryInstanceID: aws.String(inst[app1])})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "Failback Client") {
		t.Errorf("ReverseReplication of an on-premises instance: %v", err)
	}
}

// TestFailbackLaunchAndStopFailback: the control API makes instances ready
// as a failback client would; StartFailbackLaunch then creates a LAUNCH job
// initiated by FAILBACK with the tags, holding the instance (a second
// launch and StopFailback conflict), that ends the instance at
// FAILBACK_COMPLETED; StopFailback puts a ready instance back at
// FAILBACK_NOT_STARTED, and it can no longer be failed back.
func TestFailbackLaunchAndStopFailback(t *testing.T) {
	e, inst := fbRecovered(t)
	body, _ := json.Marshal(failbackReady{SourceServerIDs: []string{app1, web1}})
	resp, err := http.Post(e.srv.URL+"/_sim/failback/ready", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var ready map[string][]string
	if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("failback/ready: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if len(ready["ready"]) != 2 {
		t.Fatalf("ready %v, want the two recovery instances", ready)
	}
	out, err := e.client.StartFailbackLaunch(ctx(t), &drs.StartFailbackLaunchInput{RecoveryInstanceIDs: []string{inst[app1]},
		Tags: map[string]string{"ripcord:batch": "b1"}})
	if err != nil {
		t.Fatal(err)
	}
	j := *out.Job
	if j.Type != types.JobTypeLaunch || j.InitiatedBy != types.InitiatedByFailback || j.Tags["ripcord:batch"] != "b1" {
		t.Errorf("job %s %s %v", j.Type, j.InitiatedBy, j.Tags)
	}
	if len(j.ParticipatingServers) != 1 || aws.ToString(j.ParticipatingServers[0].SourceServerID) != app1 ||
		aws.ToString(j.ParticipatingServers[0].RecoveryInstanceID) != inst[app1] {
		t.Errorf("participating servers %+v", j.ParticipatingServers)
	}
	_, err = e.client.StartFailbackLaunch(ctx(t), &drs.StartFailbackLaunchInput{RecoveryInstanceIDs: []string{inst[app1]}})
	behConflict(t, err)
	// StopFailback's model lists no ConflictException: the SDK gives a
	// generic API error with that code.
	_, err = e.client.StopFailback(ctx(t), &drs.StopFailbackInput{RecoveryInstanceID: aws.String(inst[app1])})
	behCode(t, err, "ConflictException")
	behWaitJob(t, e, aws.ToString(j.JobID))
	if s := fbState(t, e, inst[app1]); s != types.FailbackStateFailbackCompleted {
		t.Errorf("after the failback job: %s", s)
	}
	if st := behJob(t, e, aws.ToString(j.JobID)).ParticipatingServers[0].LaunchStatus; st != types.LaunchStatusLaunched {
		t.Errorf("failback job's server %s", st)
	}

	if _, err := e.client.StopFailback(ctx(t), &drs.StopFailbackInput{RecoveryInstanceID: aws.String(inst[web1])}); err != nil {
		t.Fatal(err)
	}
	if s := fbState(t, e, inst[web1]); s != types.FailbackStateFailbackNotStarted {
		t.Errorf("after StopFailback: %s", s)
	}
	_, err = e.client.StartFailbackLaunch(ctx(t), &drs.StartFailbackLaunchInput{RecoveryInstanceIDs: []string{inst[web1]}})
	behConflict(t, err)
	_, err = e.client.StopFailback(ctx(t), &drs.StopFailbackInput{RecoveryInstanceID: aws.String("i-0123456789abcdef9")})
	behCode(t, err, "ResourceNotFoundException")
}

// TestMakeFailbackReadyRefusals: bad requests to the control API change
// nothing and say what is wrong.
func TestMakeFailbackReadyRefusals(t *testing.T) {
	e, inst := fbRecovered(t)
	drill := behStart(t, e, true, db1)
	behWaitJob(t, e, aws.ToString(drill.JobID))
	drillInst := aws.ToString(behJob(t, e, aws.ToString(drill.JobID)).ParticipatingServers[0].RecoveryInstanceID)
	for _, tc := range []struct {
		inst, srv []string
		want      string
	}{
		{nil, nil, "name recoveryInstanceIDs or sourceServerIDs"},
		{[]string{"i-0123456789abcdef9"}, nil, "does not exist"},
		{[]string{inst[app1], drillInst}, nil, "drill instance"},
		{nil, []string{db1}, "has no recovery instance"},
	} {
		_, err := e.sim.MakeFailbackReady("", "us-east-1", tc.inst, tc.srv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("MakeFailbackReady(%v, %v): %v, want %q", tc.inst, tc.srv, err, tc.want)
		}
	}
	if s := fbState(t, e, inst[app1]); s != types.FailbackStateFailbackNotStarted {
		t.Errorf("a refused request changed app1 to %s", s)
	}
}

// TestScenarioOriginAndFailbackState: scenarios name an origin and a
// seeded failback state; mistakes are named.
func TestScenarioOriginAndFailbackState(t *testing.T) {
	_, err := ParseScenario([]byte(`
regions:
  - region: us-east-1
    servers:
      - id: s-0123456789abcdef0
        origin: {region: "", account: "12"}
        recoveryInstances: [{id: i-0123456789abcdef0, drill: false, failbackState: READY}]
`))
	for _, want := range []string{"origin.region is required", "origin.account \"12\"", "failbackState \"READY\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	sc, err := ParseScenario([]byte(`
regions:
  - region: us-east-1
    servers:
      - id: s-0123456789abcdef0
        origin: {region: us-west-2}
        recoveryInstances: [{id: i-0123456789abcdef0, drill: false, failbackState: FAILBACK_READY_FOR_LAUNCH}]
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, sc)
	ri, _ := behInstance(t, e, "i-0123456789abcdef0")
	if ri.Failback.State != types.FailbackStateFailbackReadyForLaunch || ri.OriginEnvironment != types.OriginEnvironmentAws ||
		aws.ToString(ri.OriginAvailabilityZone) != "us-west-2a" {
		t.Errorf("seeded instance %s %s %s", ri.Failback.State, ri.OriginEnvironment, aws.ToString(ri.OriginAvailabilityZone))
	}
}
