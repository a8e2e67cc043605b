package drs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ripcord-dr/ripcord"
)

// The translation table, on errors shaped exactly as the SDK returns them.
// The tests against the simulator cover the same paths end to end where
// the simulator can produce them.

// answered wraps apiErr the way the SDK does for an HTTP answer of status.
func answered(op string, status int, apiErr error) error {
	return &smithy.OperationError{ServiceID: "drs", OperationName: op, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err:      apiErr,
		},
		RequestID: "req-1",
	}}
}

// unanswered wraps a transport error the way the SDK does.
func unanswered(op string, err error) error {
	return &smithy.OperationError{ServiceID: "drs", OperationName: op, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{}}, Err: err},
	}}
}

func TestTranslate(t *testing.T) {
	const role = "arn:aws:iam::222233334444:role/ripcord-drs"
	withRole := &Client{cfg: Config{RoleARN: role, RateLimit: 5}, region: "us-east-1", limiter: newLimiter(5, 5)}
	plain := &Client{cfg: Config{Profile: "dr", RateLimit: 5}, region: "eu-west-1", limiter: newLimiter(5, 5)}
	servers := []string{"s-3c1730a9e0771ea14", "s-3d75cdc0d9a28a725"}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}

	tests := []struct {
		name     string
		c        *Client
		op       string
		err      error
		sent     bool
		code     string
		class    ripcord.ErrorClass
		is       string // the helper that must say yes (besides IsUnclear)
		unclear  bool
		inMsg    []string
		inHint   []string
		typ      string
		quota    string
		resource string
	}{
		{
			name: "conflict names the server DRS gave", c: withRole, op: "StartRecovery", sent: true,
			err: answered("StartRecovery", 409, &types.ConflictException{Message: aws.String("One or more Source Servers are currently being processed by a Job"),
				ResourceId: aws.String(servers[1]), ResourceType: aws.String("SOURCE_SERVER")}),
			code: ripcord.ECONFLICT, class: ripcord.ClassConflict, is: "IsConflict", typ: "ConflictException", resource: servers[1],
			inMsg:  []string{"StartRecovery", "account 222233334444 us-east-1", "source server " + servers[1], "held by another active DRS job"},
			inHint: []string{"one job per server", "PENDING or STARTED"},
		},
		{
			name: "conflict without a resource names the request's servers", c: plain, op: "StartRecovery", sent: true,
			err:  answered("StartRecovery", 409, &smithy.GenericAPIError{Code: "ConflictException", Message: "busy"}),
			code: ripcord.ECONFLICT, class: ripcord.ClassConflict, is: "IsConflict", typ: "ConflictException",
			inMsg: []string{"one of the source servers " + servers[0] + ", " + servers[1]},
		},
		{
			name: "quota per job is the request's fault", c: plain, op: "StartRecovery", sent: true,
			err: answered("StartRecovery", 402, &types.ServiceQuotaExceededException{Message: aws.String("Cannot launch 101 source servers in one job"),
				QuotaCode: aws.String("L-B827C881"), ServiceCode: aws.String("drs")}),
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, typ: "ServiceQuotaExceededException", quota: "L-B827C881",
			inMsg: []string{"L-B827C881", "source servers per job"}, inHint: []string{"fewer source servers per job"},
		},
		{
			name: "quota on active jobs waits", c: plain, op: "StartRecovery", sent: true,
			err: answered("StartRecovery", 402, &types.ServiceQuotaExceededException{Message: aws.String("20 jobs are active"),
				QuotaCode: aws.String("L-D88FAC3A")}),
			code: ripcord.ECONFLICT, class: ripcord.ClassQuota, is: "IsQuota", quota: "L-D88FAC3A",
			inMsg: []string{"L-D88FAC3A", "active jobs"}, inHint: []string{"Service Quotas", "L-D88FAC3A"},
		},
		{
			name: "throttling is clear even for StartRecovery", c: plain, op: "StartRecovery", sent: true,
			err:  answered("StartRecovery", 429, &types.ThrottlingException{Message: aws.String("Rate exceeded")}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassThrottling, is: "IsThrottling", typ: "ThrottlingException",
			inMsg: []string{"throttled"}, inHint: []string{"slowed", "rate limit"},
		},
		{
			name: "throttling after the SDK's retries", c: plain, op: "DescribeJobs",
			err: answered("DescribeJobs", 429, &retry.MaxAttemptsError{Attempt: 3,
				Err: &types.ThrottlingException{Message: aws.String("Rate exceeded")}}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassThrottling, is: "IsThrottling",
		},
		{
			name: "access denied names the role", c: withRole, op: "StartRecovery", sent: true,
			err:  answered("StartRecovery", 403, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}),
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, is: "IsAccessDenied",
			inMsg:  []string{"role " + role + " is not allowed drs:StartRecovery", "AccessDeniedException"},
			inHint: []string{"grant drs:StartRecovery to role " + role, "ripcord iam-policy -f FILE PLAN"},
		},
		{
			// The action IAM refused is named, not the operation: DRS
			// wants drs:TagResource for StartRecovery with tags. Without a
			// configured role, the role comes from the session's ARN.
			name: "access denied names the refused action and the session's role", c: plain, op: "StartRecovery", sent: true,
			err: answered("StartRecovery", 403, &smithy.GenericAPIError{Code: "AccessDeniedException",
				Message: "User: arn:aws:sts::222233334444:assumed-role/dr-runner/ripcord is not authorized to perform: " +
					"drs:TagResource on resource: arn:aws:drs:eu-west-1:222233334444:source-server/s-1234567890abcdef0"}),
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, is: "IsAccessDenied",
			inMsg: []string{"role arn:aws:iam::222233334444:role/dr-runner is not allowed drs:TagResource on " +
				"arn:aws:drs:eu-west-1:222233334444:source-server/s-1234567890abcdef0"},
			inHint: []string{"grant drs:TagResource to role arn:aws:iam::222233334444:role/dr-runner"},
		},
		{
			name: "access denied names the profile", c: plain, op: "DescribeRecoveryInstances",
			err:  answered("DescribeRecoveryInstances", 403, &types.AccessDeniedException{Message: aws.String("no")}),
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, is: "IsAccessDenied",
			inHint: []string{"profile dr", "drs:DescribeRecoveryInstances", "eu-west-1"},
		},
		{
			name: "bad credentials", c: plain, op: "DescribeJobs",
			err:  answered("DescribeJobs", 403, &smithy.GenericAPIError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid"}),
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, is: "IsAccessDenied", inHint: []string{"profile dr"},
		},
		{
			name: "role that cannot be assumed", c: withRole, op: "StartRecovery",
			err: &smithy.OperationError{ServiceID: "drs", OperationName: "StartRecovery", Err: fmt.Errorf("get identity: %w",
				&credentialError{answered("AssumeRole", 403, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"})})},
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, is: "IsAccessDenied", typ: "AccessDenied",
			inMsg: []string{"cannot assume role " + role}, inHint: []string{"role ARN", "trust policy", "external ID"},
		},
		{
			name: "STS not answering is not a wrong role", c: withRole, op: "DescribeJobs",
			err: &smithy.OperationError{ServiceID: "drs", OperationName: "DescribeJobs", Err: fmt.Errorf("get identity: %w",
				&credentialError{answered("AssumeRole", 503, &smithy.GenericAPIError{Code: "ServiceUnavailable"})})},
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, inHint: []string{"did not answer"},
		},
		{
			name: "no credentials at all", c: plain, op: "DescribeJobs",
			err: &smithy.OperationError{ServiceID: "drs", OperationName: "DescribeJobs", Err: fmt.Errorf("get identity: %w",
				&credentialError{errors.New("failed to refresh cached credentials, no EC2 IMDS role found")})},
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, is: "IsAccessDenied", inMsg: []string{"no usable AWS credentials"}, inHint: []string{"AWS_PROFILE"},
		},
		{
			name: "not found from StartRecovery arrives untyped", c: plain, op: "StartRecovery", sent: true,
			err:  answered("StartRecovery", 404, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Source server not found"}),
			code: ripcord.ENOTFOUND, class: ripcord.ClassPermanent, is: "IsNotFound", inMsg: []string{"one of the source servers " + servers[0]},
		},
		{
			name: "not found names the resource", c: plain, op: "TerminateRecoveryInstances", sent: true,
			err:  answered("TerminateRecoveryInstances", 404, &smithy.GenericAPIError{Code: "ResourceNotFoundException"}),
			code: ripcord.ENOTFOUND, class: ripcord.ClassPermanent, is: "IsNotFound", inMsg: []string{"one of the recovery instances"},
		},
		{
			name: "validation", c: plain, op: "DescribeJobs",
			err:  answered("DescribeJobs", 400, &smithy.GenericAPIError{Code: "ValidationException", Message: "Invalid value for filters.jobIDs"}),
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, inMsg: []string{"filters.jobIDs"},
		},
		{
			name: "uninitialized account", c: plain, op: "DescribeSourceServers",
			err:  answered("DescribeSourceServers", 400, &types.UninitializedAccountException{Message: aws.String("Account is not initialized")}),
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, inHint: []string{"initialize Elastic Disaster Recovery in eu-west-1"},
		},
		{
			name: "5xx on StartRecovery is unclear", c: plain, op: "StartRecovery", sent: true,
			err:  answered("StartRecovery", 500, &types.InternalServerException{Message: aws.String("internal")}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, is: "IsUnclear", unclear: true, typ: "InternalServerException",
			inHint: []string{"may or may not have taken effect", "before calling it again"},
		},
		{
			name: "503 untyped on TerminateRecoveryInstances is unclear", c: plain, op: "TerminateRecoveryInstances", sent: true,
			err:  answered("TerminateRecoveryInstances", 503, &smithy.GenericAPIError{Code: "ServiceUnavailableException"}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, is: "IsUnclear", unclear: true,
		},
		{
			name: "5xx on a read is only unavailable", c: plain, op: "DescribeJobs", sent: true,
			err:  answered("DescribeJobs", 500, &retry.MaxAttemptsError{Attempt: 3, Err: &types.InternalServerException{Message: aws.String("internal")}}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, inMsg: []string{"HTTP 500"},
		},
		{
			name: "lost connection after sending is unclear", c: plain, op: "StartRecovery", sent: true,
			err:  unanswered("StartRecovery", &smithyhttp.RequestSendError{Err: fmt.Errorf("Post \"http://x/StartRecovery\": %w", io.EOF)}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, is: "IsUnclear", unclear: true, inMsg: []string{"no answer from DRS", "EOF"},
		},
		{
			name: "connection refused never sent anything", c: plain, op: "StartRecovery", sent: true,
			err:  unanswered("StartRecovery", &smithyhttp.RequestSendError{Err: dial}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, inMsg: []string{"connection refused"},
		},
		{
			name: "deadline while waiting for the answer is unclear", c: plain, op: "StartRecovery", sent: true,
			err:  unanswered("StartRecovery", &smithy.CanceledError{Err: context.DeadlineExceeded}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, is: "IsUnclear", unclear: true,
		},
		{
			name: "canceled before sending is clear", c: plain, op: "StartRecovery", sent: false,
			err:  &smithy.OperationError{ServiceID: "drs", OperationName: "StartRecovery", Err: &aws.RequestCanceledError{Err: context.Canceled}},
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, inMsg: []string{"gave up waiting"},
		},
		{
			name: "an unreadable answer to StartRecovery is unclear", c: plain, op: "StartRecovery", sent: true,
			err:  answered("StartRecovery", 202, &smithy.DeserializationError{Err: errors.New("unexpected EOF")}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, is: "IsUnclear", unclear: true,
		},
		{
			name: "an unreadable answer to a read is internal", c: plain, op: "DescribeJobs", sent: true,
			err:  answered("DescribeJobs", 200, &smithy.DeserializationError{Err: errors.New("unexpected EOF")}),
			code: ripcord.EINTERNAL, class: ripcord.ClassPermanent, inMsg: []string{"could not be read"},
		},
		{
			name: "STS throttling AssumeRole is not a wrong role", c: withRole, op: "DescribeJobs",
			err: &smithy.OperationError{ServiceID: "drs", OperationName: "DescribeJobs", Err: fmt.Errorf("get identity: %w",
				&credentialError{answered("AssumeRole", 400, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"})})},
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassThrottling, is: "IsThrottling", typ: "Throttling", inHint: []string{"did not answer or is overloaded"},
		},
		{
			name: "no instance metadata service means no credentials", c: plain, op: "DescribeJobs",
			err: &smithy.OperationError{ServiceID: "drs", OperationName: "DescribeJobs", Err: fmt.Errorf("get identity: %w",
				&credentialError{fmt.Errorf("failed to refresh cached credentials, no EC2 IMDS role found, %w",
					&smithy.OperationError{ServiceID: "ec2imds", OperationName: "GetMetadata", Err: &smithyhttp.RequestSendError{Err: dial}})})},
			code: ripcord.EINVALID, class: ripcord.ClassPermanent, is: "IsAccessDenied", inMsg: []string{"no usable AWS credentials"},
		},
		{
			name: "an unknown host never sent anything", c: plain, op: "StartRecovery", sent: true,
			err: unanswered("StartRecovery", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Net: "tcp",
				Err: &net.DNSError{Err: "no such host", Name: "drs.nonexistent.invalid", IsNotFound: true}}}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, inMsg: []string{"no such host"}, inHint: []string{"does not resolve", "drs.nonexistent.invalid"},
		},
		{
			name: "an answer cut off is unavailable, not internal", c: plain, op: "DescribeJobs", sent: true,
			err:  answered("DescribeJobs", 200, &smithy.DeserializationError{Err: fmt.Errorf("read body: %w", io.ErrUnexpectedEOF)}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, inMsg: []string{"cut off"},
		},
		{
			name: "STS's own answer is named as STS's", c: plain, op: "GetCallerIdentity",
			err:  answered("GetCallerIdentity", 503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}),
			code: ripcord.EUNAVAILABLE, class: ripcord.ClassTransient, inMsg: []string{"sts GetCallerIdentity", "STS failed (HTTP 503"},
		},
	}
	helpers := map[string]func(error) bool{"IsConflict": IsConflict, "IsQuota": IsQuota, "IsThrottling": IsThrottling,
		"IsNotFound": IsNotFound, "IsAccessDenied": IsAccessDenied, "IsUnclear": IsUnclear}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &callState{}
			st.sent.Store(tt.sent)
			err := tt.c.translate(tt.op, tt.err, st, servers)
			var de *ripcord.DRSError
			if !errors.As(err, &de) {
				t.Fatalf("translate returned %T, want *ripcord.DRSError", err)
			}
			if got := ripcord.ErrorCode(err); got != tt.code {
				t.Errorf("code %q, want %q (%v)", got, tt.code, err)
			}
			if got := ripcord.Classify(err); got != tt.class {
				t.Errorf("class %q, want %q (%v)", got, tt.class, err)
			}
			if de.Unclear != tt.unclear {
				t.Errorf("Unclear = %v, want %v", de.Unclear, tt.unclear)
			}
			if tt.typ != "" && de.Type != tt.typ {
				t.Errorf("Type %q, want %q", de.Type, tt.typ)
			}
			if de.QuotaCode != tt.quota {
				t.Errorf("QuotaCode %q, want %q", de.QuotaCode, tt.quota)
			}
			if tt.resource != "" && de.ResourceID != tt.resource {
				t.Errorf("ResourceID %q, want %q", de.ResourceID, tt.resource)
			}
			for name, is := range helpers {
				want := name == tt.is
				if name == "IsUnclear" {
					want = tt.unclear
				}
				if got := is(err); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			for _, s := range tt.inMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err.Error(), s)
				}
			}
			hint := ripcord.ErrorHint(err)
			for _, s := range tt.inHint {
				if !strings.Contains(hint, s) {
					t.Errorf("hint %q lacks %q", hint, s)
				}
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the SDK's error is not in the chain")
			}
		})
	}
}
