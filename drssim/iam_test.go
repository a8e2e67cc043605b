package drssim

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Per-role permissions on DRS actions (iam.go), through the real SDK's DRS
// client and the AWS CLI, signing with sessions of the simulator's STS.

const (
	iamServer  = "s-0000000000000c0de" // the one server of stsTarget (stsScenario)
	limitedARN = "arn:aws:iam::" + stsTarget + ":role/limited"
)

// iamScenario is stsScenario plus a role in the target account whose
// sessions may only read.
func iamScenario(t *testing.T) *Scenario {
	t.Helper()
	sc := stsScenario(t)
	sc.Roles = append(sc.Roles, RoleSpec{Account: stsTarget, Name: "limited", Principals: []string{stsHome},
		Allow: []string{"drs:Describe*", "drs:GetLaunchConfiguration"}})
	return sc
}

// session assumes role from the home account and returns its credentials
// and assumed-role ARN.
func (e *testEnv) session(t *testing.T, role, extID, name string) (aws.Credentials, string) {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String(name)}
	if extID != "" {
		in.ExternalId = aws.String(extID)
	}
	out, err := e.stsClient(static(e.sim.AccessKeyFor(stsHome))).AssumeRole(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(cr.AccessKeyId), SecretAccessKey: aws.ToString(cr.SecretAccessKey),
		SessionToken: aws.ToString(cr.SessionToken)}, aws.ToString(out.AssumedRoleUser.Arn)
}

func (e *testEnv) drsWith(cr aws.Credentials) *drs.Client {
	return drs.New(drs.Options{Region: "us-east-1", HTTPClient: safeBodyClient{e.srv.Client()},
		Credentials:  credentials.NewStaticCredentialsProvider(cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken),
		BaseEndpoint: aws.String(e.srv.URL), Retryer: aws.NopRetryer{}})
}

// wantDenied checks that err is DRS's AccessDeniedException, HTTP 403,
// with exactly the message DRS gives.
func wantDenied(t *testing.T, err error, who, action, resource string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("want AccessDeniedException, got %v", err)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("status: %v, want 403", err)
	}
	want := "User: " + who + " is not authorized to perform: " + action + " on resource: " + resource
	if ae.ErrorMessage() != want {
		t.Errorf("message %q\nwant    %q", ae.ErrorMessage(), want)
	}
}

func TestIAMAllowListWithSDK(t *testing.T) {
	e := newTestEnv(t, iamScenario(t))
	cr, who := e.session(t, limitedARN, "", "ripcord")
	c := e.drsWith(cr)
	serverARN := "arn:aws:drs:us-east-1:" + stsTarget + ":source-server/" + iamServer

	if _, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{}); err != nil {
		t.Fatalf("drs:Describe* allows DescribeSourceServers: %v", err)
	}
	if _, err := c.GetLaunchConfiguration(ctx(t), &drs.GetLaunchConfigurationInput{SourceServerID: aws.String(iamServer)}); err != nil {
		t.Fatalf("GetLaunchConfiguration is allowed by name: %v", err)
	}
	_, err := c.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true),
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(iamServer)}}})
	wantDenied(t, err, who, "drs:StartRecovery", serverARN)
	if jobs := e.sim.State(StateFilter{Account: stsTarget, Region: "us-east-1"}).Regions[0].Jobs; len(jobs) != 0 {
		t.Errorf("a refused StartRecovery created jobs: %+v", jobs)
	}
	_, err = c.TerminateRecoveryInstances(ctx(t), &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: []string{"i-0123456789abcdef0"}})
	wantDenied(t, err, who, "drs:TerminateRecoveryInstances", "arn:aws:drs:us-east-1:"+stsTarget+":recovery-instance/i-0123456789abcdef0")

	// Grant StartRecovery: without tags it launches; with tags DRS also
	// wants drs:TagResource, checked on the source server.
	if err := e.sim.Grant(limitedARN, "drs:StartRecovery"); err != nil {
		t.Fatal(err)
	}
	_, err = c.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), Tags: map[string]string{"ripcord:execution": "x"},
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(iamServer)}}})
	wantDenied(t, err, who, "drs:TagResource", serverARN)
	if _, err := c.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true),
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(iamServer)}}}); err != nil {
		t.Fatalf("StartRecovery after the grant: %v", err)
	}

	// The role with no allow list may do everything (scenarios from before
	// allow lists work unchanged), and a long-term key has no policy.
	full, _ := e.session(t, stsRole, stsExtID, "full")
	if _, err := e.drsWith(full).DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Errorf("a role without an allow list: %v", err)
	}
	if _, err := e.clientFor("AKIDSIM"+stsTarget, "us-east-1").DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Errorf("a long-term key: %v", err)
	}

	v := e.sim.STS()
	if v.Denied["drs:StartRecovery"] != 1 || v.Denied["drs:TagResource"] != 1 || v.Denied["drs:TerminateRecoveryInstances"] != 1 {
		t.Errorf("denied counts %v", v.Denied)
	}
	if n := e.sim.OutcomeCounts()["StartRecovery"]["AccessDeniedException"]; n != 2 {
		t.Errorf("StartRecovery outcomes: %v, want 2 AccessDeniedException", e.sim.OutcomeCounts()["StartRecovery"])
	}
}

// TestIAMRevokeMidRun takes an action away through the control API and
// gives it back: the same session is refused, then served.
func TestIAMRevokeMidRun(t *testing.T) {
	e := newTestEnv(t, iamScenario(t))
	cr, who := e.session(t, stsRole, stsExtID, "ripcord")
	c := e.drsWith(cr)
	if _, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatal(err)
	}
	var rv RoleView
	code, b := behControl(t, e.srv.URL, http.MethodPost, "/_sim/sts/roles/permissions",
		`{"role": "`+stsRole+`", "revoke": ["drs:describejobs"]}`, &rv)
	if code != http.StatusOK || len(rv.Revoked) != 1 || rv.ARN != stsRole {
		t.Fatalf("revoke: %d %s", code, b)
	}
	_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	wantDenied(t, err, who, "drs:DescribeJobs", "*")
	if _, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{}); err != nil {
		t.Errorf("only DescribeJobs was revoked: %v", err)
	}
	rv = RoleView{}
	code, b = behControl(t, e.srv.URL, http.MethodPost, "/_sim/sts/roles/permissions",
		`{"role": "`+stsRole+`", "grant": ["drs:DescribeJobs"]}`, &rv)
	if code != http.StatusOK || len(rv.Revoked) != 0 || rv.Allow != nil {
		t.Fatalf("grant: %d %s (a role without an allow list keeps none)", code, b)
	}
	if _, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Errorf("after the grant: %v", err)
	}

	for _, tt := range []struct {
		body string
		code int
		want string
	}{
		{`{"role": "arn:aws:iam::` + stsTarget + `:role/nope", "revoke": ["drs:StartRecovery"]}`, 404, "the roles are: "},
		{`{"role": "` + stsRole + `", "revoke": ["StartRecovery"]}`, 400, "must be an IAM action such as drs:StartRecovery"},
		{`{"role": "` + stsRole + `"}`, 400, "give revoke and/or grant"},
	} {
		code, b := behControl(t, e.srv.URL, http.MethodPost, "/_sim/sts/roles/permissions", tt.body, nil)
		if code != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s: %d %s, want %d and %q", tt.body, code, b, tt.code, tt.want)
		}
	}
}

func TestIAMActionPatterns(t *testing.T) {
	for _, tt := range []struct {
		pattern, action string
		want            bool
	}{
		{"drs:StartRecovery", "drs:StartRecovery", true},
		{"DRS:startrecovery", "drs:StartRecovery", true}, // IAM compares actions case-insensitively
		{"drs:Describe*", "drs:DescribeJobs", true},
		{"drs:Describe*", "drs:StartRecovery", false},
		{"drs:*", "drs:TerminateRecoveryInstances", true},
		{"*", "drs:TagResource", true},
		{"drs:Describe?obs", "drs:DescribeJobs", true},
		{"drs:Describe?obs", "drs:DescribeJobLogItems", false},
		{"drs:*Recovery*", "drs:TerminateRecoveryInstances", true},
		{"ec2:*", "drs:DescribeJobs", false},
		{"drs:StartRecovery", "drs:StartRecoveryX", false},
	} {
		if got := actionMatches(tt.pattern, tt.action); got != tt.want {
			t.Errorf("%s matches %s: %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
	sc := stsScenario(t)
	sc.Roles[0].Allow = []string{"drs:StartRecovery", "StartRecovery", "drs:Start Recovery"}
	_, err := New(Options{Scenario: sc})
	if err == nil || !strings.Contains(err.Error(), `allow: "StartRecovery" must be an IAM action`) ||
		!strings.Contains(err.Error(), `"drs:Start Recovery"`) {
		t.Errorf("a scenario with bad allow entries: %v", err)
	}
}

func TestIAMWithAWSCLI(t *testing.T) {
	cli := awsCLIPath(t)
	e := newTestEnv(t, iamScenario(t))
	cr, who := e.session(t, limitedARN, "", "cli")
	endpoint := []string{"--endpoint-url", e.srv.URL, "--region", "us-east-1", "--output", "json"}
	out, errOut, code := awsCLI(t, cli, cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken, append([]string{"drs", "describe-source-servers"}, endpoint...)...)
	if code != 0 || !strings.Contains(out, iamServer) {
		t.Fatalf("describe-source-servers: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	_, errOut, code = awsCLI(t, cli, cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken, append([]string{"drs", "start-recovery",
		"--is-drill", "--source-servers", "sourceServerID=" + iamServer}, endpoint...)...)
	want := "An error occurred (AccessDeniedException) when calling the StartRecovery operation: User: " + who +
		" is not authorized to perform: drs:StartRecovery on resource: arn:aws:drs:us-east-1:" + stsTarget + ":source-server/" + iamServer
	if code != 254 && code != 255 || !strings.Contains(errOut, want) {
		t.Errorf("start-recovery without the grant: exit %d, stderr:\n%s\nwant %q", code, errOut, want)
	}
}
