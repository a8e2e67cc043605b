package drssim

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
)

// Error tests: every error the simulator answers, decoded exactly as the
// SDK decodes it (docs/drs.md §3): typed where the model lists the error for
// the operation, a GenericAPIError with the right code otherwise.

func wireLaunch(drill bool, ids ...string) *drs.StartRecoveryInput {
	in := &drs.StartRecoveryInput{IsDrill: aws.Bool(drill)}
	for _, id := range ids {
		in.SourceServers = append(in.SourceServers, types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(id)})
	}
	return in
}

// wireStatus returns the HTTP status of an SDK error.
func wireStatus(t *testing.T, err error) int {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%v is not an HTTP response error", err)
	}
	return re.HTTPStatusCode()
}

// wireAPIError returns err as a smithy.APIError, failing if it is not one.
func wireAPIError(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae
}

func wireThreeTier(t *testing.T, edit func(sc *Scenario)) *Scenario {
	t.Helper()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	edit(sc)
	return sc
}

func TestErrorsDecodedAsTheSDKDecodesThem(t *testing.T) {
	cases := []struct {
		name     string
		scenario func(t *testing.T) *Scenario
		call     func(e *testEnv) error
		status   int
		code     string
		check    func(t *testing.T, err error) // typed assertions
	}{
		{
			name: "ConflictException from StartRecovery",
			call: func(e *testEnv) error {
				_, err := e.client.StartRecovery(ctx(e.t), wireLaunch(true, web2, db1))
				return err
			},
			status: http.StatusConflict, code: "ConflictException",
			check: func(t *testing.T, err error) {
				var ce *types.ConflictException
				if !errors.As(err, &ce) {
					t.Fatalf("not a *types.ConflictException: %T %v", err, err)
				}
				if got := aws.ToString(ce.Message); got != "One or more Source Servers are currently being processed by a Job" {
					t.Errorf("message %q", got)
				}
				if aws.ToString(ce.ResourceId) != web2 || aws.ToString(ce.ResourceType) != "SOURCE_SERVER" || aws.ToString(ce.Code) != "CONFLICT" {
					t.Errorf("resourceId %q resourceType %q code %q", aws.ToString(ce.ResourceId), aws.ToString(ce.ResourceType), aws.ToString(ce.Code))
				}
				if ce.ErrorFault() != smithy.FaultClient {
					t.Errorf("fault %v", ce.ErrorFault())
				}
				if !strings.Contains(err.Error(), "StatusCode: 409") || !strings.Contains(err.Error(), "ConflictException: One or more Source Servers") {
					t.Errorf("error text %q", err)
				}
			},
		},
		{
			name: "ServiceQuotaExceededException from StartRecovery",
			scenario: func(t *testing.T) *Scenario {
				return wireThreeTier(t, func(sc *Scenario) { sc.Quotas.ServersPerJob = 1 })
			},
			call: func(e *testEnv) error {
				wireWaitSeeded(e)
				_, err := e.client.StartRecovery(ctx(e.t), wireLaunch(true, db1, db2))
				return err
			},
			status: http.StatusPaymentRequired, code: "ServiceQuotaExceededException",
			check: func(t *testing.T, err error) {
				var qe *types.ServiceQuotaExceededException
				if !errors.As(err, &qe) {
					t.Fatalf("not a *types.ServiceQuotaExceededException: %v", err)
				}
				if aws.ToString(qe.QuotaCode) != "L-B827C881" || aws.ToString(qe.ServiceCode) != "drs" {
					t.Errorf("quotaCode %q serviceCode %q", aws.ToString(qe.QuotaCode), aws.ToString(qe.ServiceCode))
				}
				if !strings.Contains(aws.ToString(qe.Message), "2 source servers") || !strings.Contains(aws.ToString(qe.Message), "quota is 1") {
					t.Errorf("message %q", aws.ToString(qe.Message))
				}
			},
		},
		{
			name: "ResourceNotFoundException from GetLaunchConfiguration",
			call: func(e *testEnv) error {
				_, err := e.client.GetLaunchConfiguration(ctx(e.t), &drs.GetLaunchConfigurationInput{SourceServerID: aws.String("s-0000000000000000f")})
				return err
			},
			status: http.StatusNotFound, code: "ResourceNotFoundException",
			check: func(t *testing.T, err error) {
				var nf *types.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Fatalf("not a *types.ResourceNotFoundException: %v", err)
				}
				if aws.ToString(nf.ResourceId) != "s-0000000000000000f" || aws.ToString(nf.ResourceType) != "SOURCE_SERVER" {
					t.Errorf("resourceId %q resourceType %q", aws.ToString(nf.ResourceId), aws.ToString(nf.ResourceType))
				}
				if !strings.Contains(aws.ToString(nf.Message), "s-0000000000000000f") {
					t.Errorf("message %q does not name the server", aws.ToString(nf.Message))
				}
			},
		},
		{
			name: "ValidationException from DescribeJobs",
			call: func(e *testEnv) error {
				_, err := e.client.DescribeJobs(ctx(e.t), &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{"job-1"}}})
				return err
			},
			status: http.StatusBadRequest, code: "ValidationException",
			check: func(t *testing.T, err error) {
				var ve *types.ValidationException
				if !errors.As(err, &ve) {
					t.Fatalf("not a *types.ValidationException: %v", err)
				}
				if ve.Reason != types.ValidationExceptionReasonFieldValidationFailed {
					t.Errorf("reason %q", ve.Reason)
				}
				if len(ve.FieldList) != 1 || aws.ToString(ve.FieldList[0].Name) != "filters.jobIDs" || !strings.Contains(aws.ToString(ve.FieldList[0].Message), "job-1") {
					t.Errorf("fieldList %+v", ve.FieldList)
				}
				if aws.ToString(ve.Code) != "VALIDATION_EXCEPTION" {
					t.Errorf("code %q", aws.ToString(ve.Code))
				}
			},
		},
		{
			name: "UninitializedAccountException from DescribeJobs",
			scenario: func(t *testing.T) *Scenario {
				return &Scenario{Regions: []RegionSpec{{Region: "us-east-1", Uninitialized: true}}}
			},
			call: func(e *testEnv) error {
				_, err := e.client.DescribeJobs(ctx(e.t), &drs.DescribeJobsInput{})
				return err
			},
			status: http.StatusBadRequest, code: "UninitializedAccountException",
			check: func(t *testing.T, err error) {
				var ue *types.UninitializedAccountException
				if !errors.As(err, &ue) {
					t.Fatalf("not a *types.UninitializedAccountException: %v", err)
				}
				if aws.ToString(ue.Code) == "" {
					t.Error("no code member")
				}
			},
		},
		{
			name: "ThrottlingException, retries off",
			call: func(e *testEnv) error {
				if _, err := e.sim.AddFault(Fault{Kind: FaultThrottleStorm, Count: 1}); err != nil {
					e.t.Fatal(err)
				}
				_, err := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries).DescribeSourceServers(ctx(e.t), &drs.DescribeSourceServersInput{})
				return err
			},
			status: http.StatusTooManyRequests, code: "ThrottlingException",
			check: func(t *testing.T, err error) {
				var te *types.ThrottlingException
				if !errors.As(err, &te) {
					t.Fatalf("not a *types.ThrottlingException: %v", err)
				}
				if aws.ToString(te.RetryAfterSeconds) != "1" || aws.ToString(te.ServiceCode) != "drs" || aws.ToString(te.Message) == "" {
					t.Errorf("retryAfterSeconds %q serviceCode %q message %q", aws.ToString(te.RetryAfterSeconds), aws.ToString(te.ServiceCode), aws.ToString(te.Message))
				}
			},
		},
		{
			name: "InternalServerException, retries off",
			call: func(e *testEnv) error {
				if _, err := e.sim.AddFault(Fault{Kind: FaultErrorRate, Operation: "DescribeJobs", Fraction: 1}); err != nil {
					e.t.Fatal(err)
				}
				_, err := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries).DescribeJobs(ctx(e.t), &drs.DescribeJobsInput{})
				return err
			},
			status: http.StatusInternalServerError, code: "InternalServerException",
			check: func(t *testing.T, err error) {
				var ie *types.InternalServerException
				if !errors.As(err, &ie) {
					t.Fatalf("not a *types.InternalServerException: %v", err)
				}
				if ie.RetryAfterSeconds != 1 || aws.ToString(ie.Message) == "" {
					t.Errorf("retryAfterSeconds %d message %q", ie.RetryAfterSeconds, aws.ToString(ie.Message))
				}
				if ie.ErrorFault() != smithy.FaultServer {
					t.Errorf("fault %v", ie.ErrorFault())
				}
			},
		},
		{
			name: "503 from the error-rate fault is an unmodelled error",
			call: func(e *testEnv) error {
				if _, err := e.sim.AddFault(Fault{Kind: FaultErrorRate, Operation: "DescribeJobs", Fraction: 1, Status: 503}); err != nil {
					e.t.Fatal(err)
				}
				_, err := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries).DescribeJobs(ctx(e.t), &drs.DescribeJobsInput{})
				return err
			},
			status: http.StatusServiceUnavailable, code: "ServiceUnavailableException",
			check: wireWantGeneric,
		},
		{
			name: "ResourceNotFoundException from StartRecovery is generic",
			call: func(e *testEnv) error {
				_, err := e.client.StartRecovery(ctx(e.t), wireLaunch(true, "s-0000000000000000f"))
				return err
			},
			status: http.StatusNotFound, code: "ResourceNotFoundException",
			check: func(t *testing.T, err error) {
				wireWantGeneric(t, err)
				if !strings.Contains(wireAPIError(t, err).ErrorMessage(), "s-0000000000000000f") {
					t.Errorf("message %q", wireAPIError(t, err).ErrorMessage())
				}
			},
		},
		{
			name: "ValidationException from StartRecovery is generic",
			call: func(e *testEnv) error {
				_, err := e.client.StartRecovery(ctx(e.t), wireLaunch(true, "server-1"))
				return err
			},
			status: http.StatusBadRequest, code: "ValidationException",
			check: func(t *testing.T, err error) {
				wireWantGeneric(t, err)
				if msg := wireAPIError(t, err).ErrorMessage(); !strings.Contains(msg, "server-1") || !strings.Contains(msg, "sourceServers[0].sourceServerID") {
					t.Errorf("message %q", msg)
				}
			},
		},
		{
			name: "ConflictException from DeleteJob on an active job",
			call: func(e *testEnv) error {
				_, err := e.client.DeleteJob(ctx(e.t), &drs.DeleteJobInput{JobID: aws.String(wireSeededJob)})
				return err
			},
			status: http.StatusConflict, code: "ConflictException",
			check: func(t *testing.T, err error) {
				var ce *types.ConflictException
				if !errors.As(err, &ce) || aws.ToString(ce.ResourceId) != wireSeededJob || aws.ToString(ce.ResourceType) != "JOB" {
					t.Fatalf("want ConflictException on %s, got %v", wireSeededJob, err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sc *Scenario
			if tc.scenario != nil {
				sc = tc.scenario(t)
			}
			e := newTestEnv(t, sc)
			err := tc.call(e)
			if err == nil {
				t.Fatal("no error")
			}
			if got := wireAPIError(t, err).ErrorCode(); got != tc.code {
				t.Errorf("ErrorCode() %q, want %q", got, tc.code)
			}
			if got := wireStatus(t, err); got != tc.status {
				t.Errorf("HTTP status %d, want %d", got, tc.status)
			}
			tc.check(t, err)
		})
	}
}

// wireWantGeneric asserts that err is an unmodelled error for its operation.
func wireWantGeneric(t *testing.T, err error) {
	t.Helper()
	var ge *smithy.GenericAPIError
	if !errors.As(err, &ge) {
		t.Fatalf("want *smithy.GenericAPIError, got %T: %v", err, err)
	}
	if ge.Message == "" {
		t.Error("generic error without a message")
	}
	var ve *types.ValidationException
	var nf *types.ResourceNotFoundException
	if errors.As(err, &ve) || errors.As(err, &nf) {
		t.Error("an unmodelled error must not decode as a typed one")
	}
}

// TestConflictOnOverlappingLaunches: two StartRecovery calls that share a
// server; the second is refused as a whole and creates nothing.
func TestConflictOnOverlappingLaunches(t *testing.T) {
	e := newTestEnv(t, nil)
	wireWaitSeeded(e)
	first, err := e.client.StartRecovery(ctx(t), wireLaunch(true, db1, db2))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.StartRecovery(ctx(t), wireLaunch(true, app1, db2))
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("overlapping launch: want ConflictException, got %v", err)
	}
	if aws.ToString(ce.ResourceId) != db2 {
		t.Errorf("resourceId %q, want the shared server %s", aws.ToString(ce.ResourceId), db2)
	}
	if aws.ToString(ce.Message) != conflictMessage {
		t.Errorf("message %q", aws.ToString(ce.Message))
	}
	rv := wireRegion(t, e, "111122223333", "us-east-1")
	if len(rv.Jobs) != 2 || rv.ActiveJobs != 1 || rv.ServersInActiveJobs != 2 {
		t.Fatalf("model after the refused launch: %d jobs, %d active, %d servers active", len(rv.Jobs), rv.ActiveJobs, rv.ServersInActiveJobs)
	}
	for _, j := range rv.Jobs {
		if j.JobID == wireSeededJob {
			continue
		}
		for _, s := range j.Servers {
			if s.SourceServerID == app1 {
				t.Errorf("job %s includes %s from the refused request", j.JobID, app1)
			}
		}
	}
	// A launch of servers outside the active job is fine meanwhile.
	if _, err := e.client.StartRecovery(ctx(t), wireLaunch(true, app1)); err != nil {
		t.Fatalf("disjoint launch: %v", err)
	}
	// Once the first job completes, the refused launch goes through.
	id := aws.ToString(first.Job.JobID)
	e.advanceUntil(2*time.Hour, func() bool { return e.jobView(id).Status == jobStatusCompleted })
	_, err = e.client.StartRecovery(ctx(t), wireLaunch(true, db2))
	if err != nil {
		t.Fatalf("launch after the job completed: %v", err)
	}
}

// TestConflictWhileTerminateJobRuns: three-tier's seeded TERMINATE job holds
// every server; launches conflict until it completes, and not a moment longer.
func TestConflictWhileTerminateJobRuns(t *testing.T) {
	e := newTestEnv(t, nil)
	jv := e.jobView(wireSeededJob)
	if jv.Type != jobTypeTerminate || jv.Status != jobStatusStarted {
		t.Fatalf("seeded job: %s %s", jv.Type, jv.Status)
	}
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	for _, id := range []string{db1, db2, app1, app2, web1, web2} {
		_, err := c.StartRecovery(ctx(t), wireLaunch(false, id))
		var ce *types.ConflictException
		if !errors.As(err, &ce) || aws.ToString(ce.ResourceId) != id {
			t.Fatalf("launch of %s during the TERMINATE job: want ConflictException on it, got %v", id, err)
		}
	}
	// Conflicts are not retried by the SDK: one request per call.
	if n := e.sim.OperationCounts()["StartRecovery"]; n != 6 {
		t.Errorf("StartRecovery requests %d, want 6", n)
	}
	done := e.advanceUntil(time.Hour, func() bool { return e.jobView(wireSeededJob).Status == jobStatusCompleted })
	if want := testStart.Add(4 * time.Minute); !done.Equal(want) {
		t.Errorf("seeded job completed at %s, want %s", done, want)
	}
	// Just before completion the launch still conflicts; that is covered by
	// the loop above. Now it succeeds.
	out, err := c.StartRecovery(ctx(t), wireLaunch(false, web1))
	if err != nil {
		t.Fatalf("launch after the TERMINATE job: %v", err)
	}
	if out.Job.InitiatedBy != types.InitiatedByStartRecovery {
		t.Errorf("initiatedBy %q", out.Job.InitiatedBy)
	}
	// The previous instance was terminated by the seeded job.
	for _, in := range wireRegion(t, e, "111122223333", "us-east-1").Instances {
		if in.RecoveryInstanceID == "i-0a1b2c3d4e5f60705" && in.Terminated.IsZero() {
			t.Errorf("instance %s not terminated by the seeded job", in.RecoveryInstanceID)
		}
	}
}
