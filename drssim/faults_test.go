package drssim

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
)

// behAddFault adds a fault rule or fails.
func behAddFault(t *testing.T, e *testEnv, f Fault) string {
	t.Helper()
	id, err := e.sim.AddFault(f)
	if err != nil {
		t.Fatalf("AddFault(%+v): %v", f, err)
	}
	return id
}

// behFault returns the active rule with the ID, and whether it is active.
func behFault(t *testing.T, e *testEnv, id string) (Fault, bool) {
	t.Helper()
	for _, f := range e.sim.Faults() {
		if f.ID == id {
			return f, true
		}
	}
	return Fault{}, false
}

func behHits(t *testing.T, e *testEnv, id string) int {
	t.Helper()
	f, ok := behFault(t, e, id)
	if !ok {
		t.Fatalf("fault %s is not active", id)
	}
	return f.Hits
}

func behOpCount(e *testEnv, op string) int64 { return e.sim.OperationCounts()[op] }

var behISO = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$`)

// behISODuration parses the ISO 8601 durations DRS uses (P0D, PT5M3.2S, P2DT3H).
func behISODuration(t *testing.T, s string) time.Duration {
	t.Helper()
	m := behISO.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		t.Fatalf("%q is not an ISO 8601 duration", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		v, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		d += time.Duration(v * float64(unit))
	}
	return d
}

// TestFaultHoldServers: a foreign job holds servers for the rule's duration.
func TestFaultHoldServers(t *testing.T) {
	e := newTestEnv(t, nil)
	if _, err := e.sim.AddFault(Fault{Kind: FaultHoldServers, Servers: []string{db1}, For: Duration(time.Minute)}); err == nil {
		t.Error("hold of a server the seeded job holds was accepted")
	}
	behWaitSeed(t, e)
	added := e.clock.Now()
	id := behAddFault(t, e, Fault{Kind: FaultHoldServers, Servers: []string{db1, db2}, For: Duration(10 * time.Minute)})
	f, _ := behFault(t, e, id)
	if !validJobID(f.JobID) {
		t.Fatalf("hold rule has job ID %q", f.JobID)
	}
	j := behJob(t, e, f.JobID)
	if j.Status != types.JobStatusStarted || j.Type != types.JobTypeLaunch || len(j.ParticipatingServers) != 2 {
		t.Fatalf("hold job: %s %s with %d servers", j.Status, j.Type, len(j.ParticipatingServers))
	}
	for i, want := range []string{db1, db2} {
		if ps := j.ParticipatingServers[i]; aws.ToString(ps.SourceServerID) != want || ps.LaunchStatus != types.LaunchStatusInProgress {
			t.Errorf("hold job server %d: %s %s", i, aws.ToString(ps.SourceServerID), ps.LaunchStatus)
		}
	}
	if !e.jobView(f.JobID).Foreign {
		t.Error("model does not mark the hold job foreign")
	}
	before := len(behModel(t, e).Jobs)
	for _, ids := range [][]string{{db1}, {db2}, {web1, db2}} {
		_, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: behSrc(ids...)})
		behConflict(t, err)
	}
	e.advance(9*time.Minute + 59*time.Second)
	_, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: behSrc(db1)})
	behConflict(t, err)
	if after := len(behModel(t, e).Jobs); after != before {
		t.Errorf("refused launches created %d jobs", after-before)
	}
	if end := behWaitJob(t, e, f.JobID); !end.Equal(added.Add(10 * time.Minute)) {
		t.Errorf("hold ended at %s, want %s", end, added.Add(10*time.Minute))
	}
	jid := aws.ToString(behStart(t, e, true, db1, db2).JobID)
	behWaitJob(t, e, jid)
	for _, ps := range behJob(t, e, jid).ParticipatingServers {
		if ps.LaunchStatus != types.LaunchStatusLaunched {
			t.Errorf("launch after the hold: %s %s", aws.ToString(ps.SourceServerID), ps.LaunchStatus)
		}
	}
}

// TestFaultFailServer: a server fails at the chosen stage, once or always;
// the other server of the job launches.
func TestFaultFailServer(t *testing.T) {
	stages := []struct {
		stage  string
		before []string
		fail   types.JobLogEvent
	}{
		{stageSnapshot, []string{"SNAPSHOT_START"}, types.JobLogEventSnapshotFail},
		{stageConversion, []string{"SNAPSHOT_START", "SNAPSHOT_END", "CONVERSION_START"}, types.JobLogEventConversionFail},
		{stageLaunch, []string{"SNAPSHOT_START", "SNAPSHOT_END", "CONVERSION_START", "CONVERSION_END", "LAUNCH_START"}, types.JobLogEventLaunchFailed},
	}
	for _, st := range stages {
		for _, always := range []bool{false, true} {
			name := st.stage + "/once"
			if always {
				name = st.stage + "/always"
			}
			t.Run(name, func(t *testing.T) {
				e := newTestEnv(t, nil)
				behWaitSeed(t, e)
				f := Fault{Kind: FaultFailServer, Stage: st.stage, Servers: []string{db1}, Always: always}
				if !always {
					f.Message = "injected " + st.stage + " failure for " + db1
				}
				fid := behAddFault(t, e, f)
				jid := aws.ToString(behStart(t, e, true, db1, db2).JobID)
				behWaitJob(t, e, jid)

				j := behJob(t, e, jid)
				got := map[string]types.LaunchStatus{}
				for _, ps := range j.ParticipatingServers {
					got[aws.ToString(ps.SourceServerID)] = ps.LaunchStatus
				}
				if got[db1] != types.LaunchStatusFailed || got[db2] != types.LaunchStatusLaunched {
					t.Errorf("launch statuses %v, want %s FAILED and %s LAUNCHED", got, db1, db2)
				}
				log := behLog(t, e, jid)
				evs := behServerEvents(log, db1)
				want := append(slices.Clone(st.before), string(st.fail))
				if names := behEventNames(evs); !slices.Equal(names, want) {
					t.Fatalf("%s events %v, want %v", db1, names, want)
				}
				raw := aws.ToString(evs[len(evs)-1].EventData.RawError)
				if f.Message != "" && raw != f.Message {
					t.Errorf("rawError %q, want the rule's message %q", raw, f.Message)
				}
				if f.Message == "" && !strings.Contains(raw, db1) {
					t.Errorf("rawError %q does not name the server", raw)
				}
				if log[len(log)-1].Event != types.JobLogEventJobEnd {
					t.Errorf("log does not end with JOB_END: %v", behEventNames(log))
				}
				if names := behEventNames(behServerEvents(log, db2)); len(names) != 5 || names[4] != "LAUNCH_START" {
					t.Errorf("%s events %v", db2, names)
				}
				srv := behServer(t, e, db1)
				if srv.LastLaunchResult != types.LastLaunchResultFailed || srv.LifeCycle.LastLaunch.Status != types.LaunchStatusFailed {
					t.Errorf("%s lastLaunchResult %s lastLaunch.status %s", db1, srv.LastLaunchResult, srv.LifeCycle.LastLaunch.Status)
				}
				if r := aws.ToString(srv.RecoveryInstanceId); r != "" {
					t.Errorf("failed server points at instance %s", r)
				}
				if list := behInstances(t, e, db1); len(list) != 0 {
					t.Errorf("failed launch left recovery instances %v", behInstanceIDs(list))
				}
				if st.stage == stageLaunch {
					// The instance existed briefly and was terminated.
					mi := behModelInstance(t, e, aws.ToString(evs[4].EventData.TargetInstanceID))
					if !mi.Deleted || mi.Ec2InstanceState != ec2Terminated {
						t.Errorf("model: failed instance deleted=%v state=%s", mi.Deleted, mi.Ec2InstanceState)
					}
				}
				if behServer(t, e, db2).LastLaunchResult != types.LastLaunchResultSucceeded || len(behInstances(t, e, db2)) != 1 {
					t.Errorf("%s did not launch", db2)
				}
				if h := behHits(t, e, fid); h != 1 {
					t.Errorf("fault hits %d, want 1", h)
				}

				// The next launch of the server.
				jid = aws.ToString(behStart(t, e, true, db1).JobID)
				behWaitJob(t, e, jid)
				next := behJob(t, e, jid).ParticipatingServers[0].LaunchStatus
				wantNext := types.LaunchStatusLaunched
				if always {
					wantNext = types.LaunchStatusFailed
				}
				if next != wantNext {
					t.Errorf("next launch: %s, want %s", next, wantNext)
				}
				if always && behHits(t, e, fid) != 2 {
					t.Errorf("always rule hits %d, want 2", behHits(t, e, fid))
				}
				if !always && behServer(t, e, db1).LastLaunchResult != types.LastLaunchResultSucceeded {
					t.Errorf("after the single failure the server's lastLaunchResult is %s", behServer(t, e, db1).LastLaunchResult)
				}
			})
		}
	}
}

// TestFaultErrorRate: injected 503s are retried by the SDK; the third
// attempt succeeds.
func TestFaultErrorRate(t *testing.T) {
	e := newTestEnv(t, nil)
	const op = "DescribeSourceServers"
	fid := behAddFault(t, e, Fault{Kind: FaultErrorRate, Operation: op, Fraction: 1, Status: 503, Count: 2})
	before := behOpCount(e, op)
	out, err := e.client.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	if err != nil {
		t.Fatalf("DescribeSourceServers with two injected 503s and retries: %v", err)
	}
	if len(out.Items) != 6 {
		t.Errorf("%d servers", len(out.Items))
	}
	if n := behOpCount(e, op) - before; n != 3 {
		t.Errorf("the call took %d requests, want 3", n)
	}
	if h := behHits(t, e, fid); h != 2 {
		t.Errorf("hits %d, want 2", h)
	}
	// The rule is used up: the next call takes one request.
	before = behOpCount(e, op)
	if _, err := e.client.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{}); err != nil {
		t.Fatal(err)
	}
	if n := behOpCount(e, op) - before; n != 1 {
		t.Errorf("after the rule was used up the call took %d requests", n)
	}
	// Without retries the client sees the 503.
	behAddFault(t, e, Fault{Kind: FaultErrorRate, Operation: op, Fraction: 1, Status: 503, Count: 1})
	_, err = e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	behCode(t, err, "ServiceUnavailableException")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
		t.Errorf("want an HTTP 503, got %v", err)
	}
	// Other operations are not affected.
	if _, err := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Errorf("DescribeJobs hit by a DescribeSourceServers rule: %v", err)
	}
}

// TestFaultLatency: the call still succeeds and the rule counts it. (Wall
// time is not asserted.)
func TestFaultLatency(t *testing.T) {
	e := newTestEnv(t, nil)
	fid := behAddFault(t, e, Fault{Kind: FaultLatency, Operation: "DescribeJobs", Latency: Duration(time.Millisecond)})
	for i := 1; i <= 2; i++ {
		if _, err := e.client.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
			t.Fatalf("DescribeJobs with latency: %v", err)
		}
		if h := behHits(t, e, fid); h != i {
			t.Errorf("after %d calls hits %d", i, h)
		}
	}
	behServer(t, e, db1) // another operation
	if h := behHits(t, e, fid); h != 2 {
		t.Errorf("a DescribeSourceServers call counted as a DescribeJobs latency hit: %d", h)
	}
}

// TestFaultDropResponse is the lost-202 case: StartRecovery takes effect but
// its response is lost. Without retries the client sees a transport error;
// with the SDK's retries the second attempt meets the first job's hold and
// gets ConflictException. Either way exactly one job exists, and an
// orchestrator must find it with DescribeJobs.
func TestFaultDropResponse(t *testing.T) {
	for _, retries := range []bool{false, true} {
		name := "no retries"
		if retries {
			name = "sdk retries"
		}
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			behWaitSeed(t, e)
			fid := behAddFault(t, e, Fault{Kind: FaultDropResponse}) // StartRecovery, once
			client := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries)
			if retries {
				client = e.client
			}
			before := behOpCount(e, "StartRecovery")
			_, err := client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: behSrc(db1, db2)})
			if err == nil {
				t.Fatal("StartRecovery with a dropped response succeeded")
			}
			var ae smithy.APIError
			if retries {
				behConflict(t, err)
			} else if errors.As(err, &ae) {
				t.Errorf("without retries want a transport error, got API error %s", ae.ErrorCode())
			}
			wantReq := int64(1)
			if retries {
				wantReq = 2
			}
			if n := behOpCount(e, "StartRecovery") - before; n != wantReq {
				t.Errorf("%d StartRecovery requests, want %d", n, wantReq)
			}
			if h := behHits(t, e, fid); h != 1 {
				t.Errorf("hits %d", h)
			}
			// Exactly one job for the servers, besides the seeded one.
			var jobs []JobView
			for _, j := range behJobsFor(t, e, db1) {
				if j.JobID != behSeededJob {
					jobs = append(jobs, j)
				}
			}
			if len(jobs) != 1 || len(behJobsFor(t, e, db2)) != len(behJobsFor(t, e, db1)) {
				t.Fatalf("model has %d new jobs for %s", len(jobs), db1)
			}
			// The orchestrator can reconcile through DescribeJobs.
			j := behJob(t, e, jobs[0].JobID)
			if j.InitiatedBy != types.InitiatedByStartDrill || len(j.ParticipatingServers) != 2 {
				t.Errorf("reconciled job: %s with %d servers", j.InitiatedBy, len(j.ParticipatingServers))
			}
			behWaitJob(t, e, jobs[0].JobID)
			if _, ok := behInstance(t, e, aws.ToString(behServer(t, e, db1).RecoveryInstanceId)); !ok {
				t.Error("the job whose response was lost launched nothing")
			}
		})
	}
}

// behNoRetryAfter strips X-Amz-Retry-After from responses and counts them:
// the SDK waits that long (real time, at least the hint) before retrying,
// which the harness's no-delay backoff does not cover.
type behNoRetryAfter struct {
	next drs.HTTPClient
	seen *atomic.Int32
}

func (c behNoRetryAfter) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if resp != nil && resp.Header.Get("X-Amz-Retry-After") != "" {
		c.seen.Add(1)
		resp.Header.Del("X-Amz-Retry-After")
	}
	return resp, err
}

// TestFaultThrottleStorm: three requests are throttled, then calls succeed.
func TestFaultThrottleStorm(t *testing.T) {
	e := newTestEnv(t, nil)
	fid := behAddFault(t, e, Fault{Kind: FaultThrottleStorm, Count: 3})
	_, err := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	var te *types.ThrottlingException
	if !errors.As(err, &te) {
		t.Fatalf("want ThrottlingException, got %v", err)
	}
	var hinted atomic.Int32
	patient := e.clientFor("AKIDTESTDEFAULT", behRegion, func(o *drs.Options) {
		o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 5)
		o.HTTPClient = behNoRetryAfter{next: o.HTTPClient, seen: &hinted}
	})
	before := behOpCount(e, "DescribeJobs")
	if _, err := patient.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("DescribeJobs with 5 attempts through the rest of the storm: %v", err)
	}
	if n := behOpCount(e, "DescribeJobs") - before; n != 3 {
		t.Errorf("the call took %d requests, want 3 (two throttled, one through)", n)
	}
	if h := behHits(t, e, fid); h != 3 {
		t.Errorf("hits %d, want 3", h)
	}
	if n := hinted.Load(); n != 2 {
		t.Errorf("%d throttled responses carried X-Amz-Retry-After, want 2", n)
	}
	if _, err := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Errorf("after the storm: %v", err)
	}
}

// TestFaultStallReplication: a stalled server shows STALLED with an error and
// a growing lag until the rule's time is up; RetryDataReplication puts a
// stalled server back into replication.
func TestFaultStallReplication(t *testing.T) {
	e := newTestEnv(t, nil)
	added := e.clock.Now()
	behAddFault(t, e, Fault{Kind: FaultStallReplication, Servers: []string{web1}, For: Duration(30 * time.Minute)})
	var lags []time.Duration
	for i := 0; i < 3; i++ {
		dri := behServer(t, e, web1).DataReplicationInfo
		if dri.DataReplicationState != types.DataReplicationStateStalled || dri.DataReplicationError == nil ||
			dri.DataReplicationError.Error != types.DataReplicationErrorStringUnstableNetwork || aws.ToString(dri.DataReplicationError.RawError) == "" {
			t.Fatalf("stalled server: state %s error %+v", dri.DataReplicationState, dri.DataReplicationError)
		}
		lags = append(lags, behISODuration(t, aws.ToString(dri.LagDuration)))
		e.advance(5 * time.Minute)
	}
	if lags[1]-lags[0] != 5*time.Minute || lags[2]-lags[1] != 5*time.Minute {
		t.Errorf("lag %v, want growing by 5m a step", lags)
	}
	if s := behModelServer(t, e, web1); s.DataReplicationInfo.DataReplicationState != replStalled {
		t.Errorf("model: %s", s.DataReplicationInfo.DataReplicationState)
	}
	if st := behServer(t, e, web2).DataReplicationInfo.DataReplicationState; st != types.DataReplicationStateContinuous {
		t.Errorf("unrelated server %s", st)
	}
	at := e.advanceUntil(time.Hour, func() bool {
		return behServer(t, e, web1).DataReplicationInfo.DataReplicationState == types.DataReplicationStateContinuous
	})
	if !at.Equal(added.Add(30 * time.Minute)) {
		t.Errorf("replication recovered at %s, want %s", at, added.Add(30*time.Minute))
	}
	dri := behServer(t, e, web1).DataReplicationInfo
	if dri.DataReplicationError != nil || aws.ToString(dri.LagDuration) != "P0D" {
		t.Errorf("recovered server: error %+v lag %s", dri.DataReplicationError, aws.ToString(dri.LagDuration))
	}

	// RetryDataReplication on a stalled server (no expiry).
	behAddFault(t, e, Fault{Kind: FaultStallReplication, Servers: []string{web2}})
	out, err := e.client.RetryDataReplication(ctx(t), &drs.RetryDataReplicationInput{SourceServerID: aws.String(web2)})
	if err != nil {
		t.Fatalf("RetryDataReplication on a stalled server: %v", err)
	}
	if st := out.DataReplicationInfo.DataReplicationState; st == types.DataReplicationStateStalled || out.DataReplicationInfo.DataReplicationError != nil {
		t.Errorf("after RetryDataReplication: %s %+v", st, out.DataReplicationInfo.DataReplicationError)
	}
	e.advanceUntil(time.Hour, func() bool {
		return behServer(t, e, web2).DataReplicationInfo.DataReplicationState == types.DataReplicationStateContinuous
	})
	_, err = e.client.RetryDataReplication(ctx(t), &drs.RetryDataReplicationInput{SourceServerID: aws.String(web2)})
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("RetryDataReplication on a healthy server: want ValidationException, got %v", err)
	}
}

// TestRemoveFault: removing a rule stops it at once.
func TestRemoveFault(t *testing.T) {
	cases := []struct {
		name   string
		fault  Fault
		active func(t *testing.T, e *testEnv) bool // does the fault act now?
	}{
		{"error-rate", Fault{Kind: FaultErrorRate, Operation: "DescribeJobs", Fraction: 1},
			func(t *testing.T, e *testEnv) bool {
				_, err := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
				return err != nil
			}},
		{"throttle-storm", Fault{Kind: FaultThrottleStorm, For: Duration(time.Hour)},
			func(t *testing.T, e *testEnv) bool {
				_, err := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
				var te *types.ThrottlingException
				return errors.As(err, &te)
			}},
		{"stall-replication", Fault{Kind: FaultStallReplication, Servers: []string{app1}},
			func(t *testing.T, e *testEnv) bool {
				return behServer(t, e, app1).DataReplicationInfo.DataReplicationState == types.DataReplicationStateStalled
			}},
		{"fail-server always", Fault{Kind: FaultFailServer, Stage: stageConversion, Servers: []string{app1}, Always: true},
			func(t *testing.T, e *testEnv) bool {
				jid := aws.ToString(behStart(t, e, true, app1).JobID)
				behWaitJob(t, e, jid)
				return behJob(t, e, jid).ParticipatingServers[0].LaunchStatus == types.LaunchStatusFailed
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			behWaitSeed(t, e)
			id := behAddFault(t, e, tc.fault)
			if !tc.active(t, e) {
				t.Fatal("fault does not act while active")
			}
			if !e.sim.RemoveFault(id) {
				t.Fatal("RemoveFault returned false for an active rule")
			}
			if _, ok := behFault(t, e, id); ok {
				t.Error("removed rule still listed")
			}
			if tc.active(t, e) {
				t.Error("fault still acts after RemoveFault")
			}
			if e.sim.RemoveFault(id) {
				t.Error("second RemoveFault returned true")
			}
		})
	}
}

const behFaultyScenario = `
name: faulty
defaultAccount: "444455556666"
regions:
  - region: eu-west-1
    servers:
      - id: s-0000000000000000a
        hostname: stalled
      - id: s-0000000000000000b
        hostname: doomed
faults:
  - kind: stall-replication
    servers: [s-0000000000000000a]
    error: AGENT_NOT_SEEN
  - kind: fail-server
    stage: conversion
    servers: [s-0000000000000000b]
    message: conversion exploded
  - kind: error-rate
    operation: DescribeJobs
    fraction: 1
    status: 500
    count: 1
`

// TestScenarioFaults: faults listed in scenario YAML are active from the
// start.
func TestScenarioFaults(t *testing.T) {
	sc, err := ParseScenario([]byte(behFaultyScenario))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, sc)
	client := e.clientFor(e.sim.AccessKeyFor("444455556666"), "eu-west-1")
	faults := e.sim.Faults()
	if len(faults) != 3 {
		t.Fatalf("%d active faults, want 3", len(faults))
	}
	for _, f := range faults {
		if f.Added != formatTime(testStart) {
			t.Errorf("fault %s added at %s, want the start %s", f.Kind, f.Added, formatTime(testStart))
		}
	}
	_, err = e.clientFor(e.sim.AccessKeyFor("444455556666"), "eu-west-1", noRetries).DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	var ie *types.InternalServerException
	if !errors.As(err, &ie) {
		t.Errorf("first DescribeJobs: want InternalServerException, got %v", err)
	}
	srvs, err := client.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	if err != nil || len(srvs.Items) != 2 {
		t.Fatalf("DescribeSourceServers: %v %d", err, len(srvs.Items))
	}
	dri := srvs.Items[0].DataReplicationInfo
	if aws.ToString(srvs.Items[0].SourceServerID) != "s-0000000000000000a" || dri.DataReplicationState != types.DataReplicationStateStalled ||
		dri.DataReplicationError == nil || dri.DataReplicationError.Error != types.DataReplicationErrorStringAgentNotSeen {
		t.Errorf("stalled server at start: %s %+v", dri.DataReplicationState, dri.DataReplicationError)
	}
	out, err := client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: behSrc("s-0000000000000000b")})
	if err != nil {
		t.Fatal(err)
	}
	jid := aws.ToString(out.Job.JobID)
	e.advanceUntil(time.Hour, func() bool {
		got, err := client.DescribeJobs(ctx(t), &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{jid}}})
		if err != nil {
			t.Fatal(err)
		}
		return got.Items[0].Status == types.JobStatusCompleted
	})
	logs, err := client.DescribeJobLogItems(ctx(t), &drs.DescribeJobLogItemsInput{JobID: aws.String(jid)})
	if err != nil {
		t.Fatal(err)
	}
	fail := behFind(t, logs.Items, types.JobLogEventConversionFail)
	if aws.ToString(fail.EventData.RawError) != "conversion exploded" {
		t.Errorf("rawError %q", aws.ToString(fail.EventData.RawError))
	}
}
