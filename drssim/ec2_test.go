package drssim

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// ec2Client is the real EC2 client, signing as key in region, without
// retries (an error is the simulator's answer, not a retry's).
func (e *testEnv) ec2Client(key, region string) *ec2.Client {
	return ec2.New(ec2.Options{Region: region, BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		HTTPClient:  safeBodyClient{e.srv.Client()},
		Credentials: credentials.NewStaticCredentialsProvider(key, "secret", "")})
}

// ec2Instance describes one instance by ID through the SDK.
func ec2Instance(t *testing.T, c *ec2.Client, id string) types.Instance {
	t.Helper()
	out, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances(%s): %v", id, err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances(%s): %+v, want one reservation of one instance", id, out.Reservations)
	}
	return out.Reservations[0].Instances[0]
}

// ec2Status returns the instance's status through the SDK (all states),
// and whether DescribeInstanceStatus without IncludeAllInstances lists it.
func ec2Status(t *testing.T, c *ec2.Client, id string) (types.InstanceStatus, bool) {
	t.Helper()
	out, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: aws.Bool(true)})
	if err != nil || len(out.InstanceStatuses) != 1 {
		t.Fatalf("DescribeInstanceStatus(%s, all): %v, %+v", id, err, out)
	}
	def, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstanceStatus(%s): %v", id, err)
	}
	return out.InstanceStatuses[0], len(def.InstanceStatuses) == 1
}

// checks returns the system and instance status and their reachability
// details.
func checks(st types.InstanceStatus) (string, string, string, string) {
	detail := func(s *types.InstanceStatusSummary) string {
		if s == nil || len(s.Details) == 0 {
			return ""
		}
		return string(s.Details[0].Status)
	}
	return string(st.SystemStatus.Status), detail(st.SystemStatus), string(st.InstanceStatus.Status), detail(st.InstanceStatus)
}

// apiCode asserts err is an API error with the code.
func apiCode(t *testing.T, err error, code string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error %v, want %s", err, code)
	}
	return ae
}

// launchedInstance starts a drill of the server and advances until its
// recovery instance exists (LAUNCH_START); it returns the instance ID and
// the job's.
func launchedInstance(t *testing.T, e *testEnv, serverID string) (string, string) {
	t.Helper()
	j := behStart(t, e, true, serverID)
	jobID := aws.ToString(j.JobID)
	var id string
	e.advanceUntil(time.Hour, func() bool {
		for _, ps := range e.jobView(jobID).Servers {
			id = ps.RecoveryInstanceID
		}
		return id != ""
	})
	return id, jobID
}

// EC2 writes date-times to the millisecond; the model keeps microseconds.

// TestEC2InstanceLifecycleSDK: an instance a drill launches is pending in
// EC2 from LAUNCH_START, running when DRS says LAUNCHED, its status checks
// initializing until the drawn check time and ok from then on; DRS's
// termination makes it shutting-down, then terminated, listed for an hour
// and then unknown. All through the real EC2 client.
func TestEC2InstanceLifecycleSDK(t *testing.T) {
	sc := behThreeTier(t)
	sc.Regions[0].Servers[4].CopyPrivateIP = true // web1
	e := newTestEnv(t, sc)
	c := e.ec2Client("AKIDTESTDEFAULT", "us-east-1")
	behWaitSeed(t, e)
	id, jobID := launchedInstance(t, e, web1)

	in := ec2Instance(t, c, id)
	if in.State.Name != types.InstanceStateNamePending || aws.ToInt32(in.State.Code) != 0 {
		t.Fatalf("at LAUNCH_START the instance is %s (%d), want pending (0)", in.State.Name, aws.ToInt32(in.State.Code))
	}
	srcIP := behModelServer(t, e, web1).SourceProperties.NetworkInterfaces[0].Ips[0]
	if in.InstanceType != types.InstanceTypeT3Large || aws.ToString(in.PrivateIpAddress) != srcIP ||
		aws.ToString(in.Placement.AvailabilityZone) != "us-east-1a" || !in.LaunchTime.Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("instance = type %s, ip %s (source %s), zone %s, launched %v (now %v)", in.InstanceType,
			aws.ToString(in.PrivateIpAddress), srcIP, aws.ToString(in.Placement.AvailabilityZone), in.LaunchTime, e.clock.Now())
	}
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["AWSElasticDisasterRecoverySourceServerID"] != web1 || tags["AWSElasticDisasterRecoveryManaged"] != "drs.amazonaws.com" {
		t.Fatalf("tags = %v, want DRS's tags naming %s", tags, web1)
	}
	st, listed := ec2Status(t, c, id)
	if listed {
		t.Fatal("DescribeInstanceStatus without IncludeAllInstances lists a pending instance")
	}
	if s, _, i, _ := checks(st); s != "not-applicable" || i != "not-applicable" {
		t.Fatalf("pending instance checks %s/%s, want not-applicable", s, i)
	}

	// Running exactly when DRS says LAUNCHED.
	e.advanceUntil(time.Hour, func() bool { return ec2Instance(t, c, id).State.Name == types.InstanceStateNameRunning })
	if ls := e.jobView(jobID).Servers[0].LaunchStatus; ls != launchStatusLaunched {
		t.Fatalf("EC2 says running while DRS says %s", ls)
	}
	runningAt := e.clock.Now()
	st, listed = ec2Status(t, c, id)
	if sys, sysD, ins, insD := checks(st); !listed || sys != "initializing" || sysD != "initializing" || ins != "initializing" || insD != "initializing" {
		t.Fatalf("just running: listed %v, checks %s(%s)/%s(%s), want initializing", listed, sys, sysD, ins, insD)
	}
	pass := behModelInstance(t, e, id).EC2.ChecksPass
	if d := pass.Sub(runningAt); d < time.Minute || d > 3*time.Minute {
		t.Fatalf("checks pass %s after running, want within the default [1m, 3m]", d)
	}
	e.clock.Set(pass.Add(-time.Microsecond))
	if _, _, ins, _ := checks(first(ec2Status(t, c, id))); ins != "initializing" {
		t.Fatalf("a microsecond before the check time: %s, want initializing", ins)
	}
	e.clock.Set(pass)
	if sys, sysD, ins, insD := checks(first(ec2Status(t, c, id))); sys != "ok" || sysD != "passed" || ins != "ok" || insD != "passed" {
		t.Fatalf("at the check time: %s(%s)/%s(%s), want ok(passed)", sys, sysD, ins, insD)
	}

	// DRS terminates it: shutting-down, then terminated, listed an hour.
	tj := behTerminate(t, e, id)
	e.advanceUntil(time.Hour, func() bool {
		return ec2Instance(t, c, id).State.Name == types.InstanceStateNameShuttingDown
	})
	if _, listed := ec2Status(t, c, id); listed {
		t.Fatal("a shutting-down instance is listed by DescribeInstanceStatus without IncludeAllInstances")
	}
	behWaitJob(t, e, aws.ToString(tj.JobID))
	in = ec2Instance(t, c, id)
	if in.State.Name != types.InstanceStateNameTerminated || aws.ToInt32(in.State.Code) != 48 || in.PrivateIpAddress != nil {
		t.Fatalf("after the TERMINATE job: %s (%d), ip %v; want terminated (48) without an address", in.State.Name, aws.ToInt32(in.State.Code), in.PrivateIpAddress)
	}
	terminated := behModelInstance(t, e, id).EC2.TerminatedEC2
	e.clock.Set(terminated.Add(ec2TerminatedVisible - time.Microsecond))
	ec2Instance(t, c, id)
	e.clock.Set(terminated.Add(ec2TerminatedVisible))
	_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if ae := apiCode(t, err, "InvalidInstanceID.NotFound"); !strings.Contains(ae.ErrorMessage(), id) {
		t.Fatalf("NotFound message %q does not name %s", ae.ErrorMessage(), id)
	}
}

func first[A, B any](a A, _ B) A { return a }

// TestEC2ImpairedByFault: an impair-instance fault naming a server makes
// its instance's instance check impaired once the checks would pass (and
// its SSM agent unreachable); a system fault added later impairs the
// system check from then; removing the faults makes both ok again. An
// instance the faults do not name stays ok.
func TestEC2ImpairedByFault(t *testing.T) {
	sc := behThreeTier(t)
	sc.Faults = append(sc.Faults, Fault{Kind: FaultImpairInstance, Servers: []string{web1}})
	e := newTestEnv(t, sc)
	c := e.ec2Client("AKIDTESTDEFAULT", "us-east-1")
	behWaitSeed(t, e)
	j := behStart(t, e, true, web1, web2)
	behWaitJob(t, e, aws.ToString(j.JobID))
	bad, good := aws.ToString(behServer(t, e, web1).RecoveryInstanceId), aws.ToString(behServer(t, e, web2).RecoveryInstanceId)
	badPass, goodPass := behModelInstance(t, e, bad).EC2.ChecksPass, behModelInstance(t, e, good).EC2.ChecksPass
	e.clock.Set(later(badPass, goodPass))

	st, _ := ec2Status(t, c, bad)
	sys, _, ins, insD := checks(st)
	if sys != "ok" || ins != "impaired" || insD != "failed" || !st.InstanceStatus.Details[0].ImpairedSince.Equal(badPass.Truncate(time.Millisecond)) {
		t.Fatalf("faulted instance: system %s, instance %s(%s) since %v; want ok, impaired(failed) since %v",
			sys, ins, insD, st.InstanceStatus.Details[0].ImpairedSince, badPass)
	}
	if v := behModelInstance(t, e, bad).EC2; v.SSMOnline || v.InstanceStatus != "impaired" {
		t.Fatalf("/_sim/state of the faulted instance: %+v, want impaired and its agent offline", v)
	}
	if _, _, ins, _ := checks(first(ec2Status(t, c, good))); ins != "ok" {
		t.Fatalf("unfaulted instance: %s, want ok", ins)
	}
	// Filters see the same.
	out, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{
		Filters: []types.Filter{{Name: aws.String("instance-status.status"), Values: []string{"impaired"}}}})
	if err != nil || len(out.InstanceStatuses) != 1 || aws.ToString(out.InstanceStatuses[0].InstanceId) != bad {
		t.Fatalf("filter instance-status.status=impaired: %v, %+v; want only %s", err, out, bad)
	}

	e.advance(5 * time.Minute)
	sysAt := e.clock.Now()
	fid, err := e.sim.AddFault(Fault{Kind: FaultImpairInstance, Instances: []string{good}, Check: checkSystem})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = ec2Status(t, c, good)
	if sys, _, ins, _ := checks(st); sys != "impaired" || ins != "ok" || !st.SystemStatus.Details[0].ImpairedSince.Equal(sysAt.Truncate(time.Millisecond)) {
		t.Fatalf("system fault: %s/%s since %v, want impaired/ok since %v", sys, ins, st.SystemStatus.Details[0].ImpairedSince, sysAt)
	}
	e.sim.RemoveFault(fid)
	for _, f := range e.sim.Faults() {
		e.sim.RemoveFault(f.ID)
	}
	for _, id := range []string{bad, good} {
		if sys, _, ins, _ := checks(first(ec2Status(t, c, id))); sys != "ok" || ins != "ok" {
			t.Fatalf("%s after the faults are removed: %s/%s, want ok/ok", id, sys, ins)
		}
	}
}

// TestEC2DescribePaginationAndFilters: the SDK's paginators read every
// instance once across pages of MaxResults; filters (wildcards, tags,
// state) select as EC2's do.
func TestEC2DescribePaginationAndFilters(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.ec2Client("AKIDTESTDEFAULT", "us-east-1")
	behWaitSeed(t, e)
	all := []string{db1, db2, app1, app2, web1, web2}
	j := behStart(t, e, true, all...)
	behWaitJob(t, e, aws.ToString(j.JobID))
	// The scenario's six old drill instances were terminated by its
	// TERMINATE job and are still listed; the six new ones run.
	var want []string
	for _, in := range behModel(t, e).Instances {
		want = append(want, in.RecoveryInstanceID)
	}
	sort.Strings(want)
	if len(want) != 12 {
		t.Fatalf("model has %d instances, want 12", len(want))
	}

	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Reservations) > 5 {
			t.Fatalf("page of %d reservations with MaxResults 5", len(page.Reservations))
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				got = append(got, aws.ToString(in.InstanceId))
			}
		}
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%d pages: %v, want 3 pages of %v", pages, got, want)
	}

	sp := ec2.NewDescribeInstanceStatusPaginator(c, &ec2.DescribeInstanceStatusInput{MaxResults: aws.Int32(5), IncludeAllInstances: aws.Bool(true)})
	n := 0
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.InstanceStatuses)
	}
	if n != 12 {
		t.Fatalf("DescribeInstanceStatus pages (all instances): %d statuses, want 12", n)
	}

	count := func(filters ...types.Filter) int {
		t.Helper()
		out, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{Filters: filters})
		if err != nil {
			t.Fatalf("DescribeInstances(%+v): %v", filters, err)
		}
		return len(out.Reservations)
	}
	f := func(name string, vals ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: vals}
	}
	for _, tt := range []struct {
		filters []types.Filter
		want    int
	}{
		{[]types.Filter{f("instance-state-name", "running")}, 6},
		{[]types.Filter{f("instance-state-name", "terminated")}, 6},
		{[]types.Filter{f("instance-state-name", "running"), f("instance-type", "r5.*")}, 2},
		{[]types.Filter{f("tag:AWSElasticDisasterRecoverySourceServerID", web1, web2)}, 4},
		{[]types.Filter{f("tag-key", "AWSElasticDisasterRecoveryManaged")}, 12},
		{[]types.Filter{f("instance-id", want[0], want[1])}, 2},
		{[]types.Filter{f("availability-zone", "us-east-1?")}, 12},
		{[]types.Filter{f("instance-state-code", "16"), f("private-ip-address", "10.*")}, 6},
	} {
		if got := count(tt.filters...); got != tt.want {
			t.Errorf("filters %s: %d instances, want %d", filterString(tt.filters), got, tt.want)
		}
	}
	// Another account's EC2 has none of them.
	out, err := e.ec2Client("AKIDSIM444455556666", "us-east-1").DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	if err != nil || len(out.Reservations) != 0 {
		t.Fatalf("another account: %v, %d reservations; want none", err, len(out.Reservations))
	}
}

func filterString(fs []types.Filter) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, aws.ToString(f.Name)+"="+strings.Join(f.Values, "|"))
	}
	return strings.Join(parts, " ")
}

// TestEC2Errors: EC2's error codes, as the SDK parses them.
func TestEC2Errors(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.ec2Client("AKIDTESTDEFAULT", "us-east-1")
	for _, tt := range []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"malformed ID", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-xyz"}})
			return err
		}, "InvalidInstanceID.Malformed", `Invalid id: "i-xyz"`},
		{"two unknown IDs", func() error {
			_, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{"i-0123456789abcdef0", "i-0123456789abcdef1"}})
			return err
		}, "InvalidInstanceID.NotFound", "The instance IDs 'i-0123456789abcdef0, i-0123456789abcdef1' do not exist"},
		{"MaxResults below 5", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)})
			return err
		}, "InvalidParameterValue", "maxResults"},
		{"MaxResults with IDs", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: []string{"i-0a1b2c3d4e5f60701"}})
			return err
		}, "InvalidParameterCombination", "instancesSet"},
		{"foreign token", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{NextToken: aws.String("bm90LWEtdG9rZW4")})
			return err
		}, "InvalidPaginationToken", "pagination token"},
		{"unknown filter", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("vpc-idd"), Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue", "The filter 'vpc-idd' is invalid"},
		{"tag filter on status", func() error {
			_, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{Filters: []types.Filter{{Name: aws.String("tag:Tier"), Values: []string{"web"}}}})
			return err
		}, "InvalidParameterValue", "The filter 'tag:Tier' is invalid"},
		{"dry run", func() error {
			_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperation", "Request would have succeeded"},
		{"unmodelled action", func() error {
			_, err := c.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
			return err
		}, "InvalidAction", "The action DescribeVpcs is not valid for this web service"},
	} {
		ae := apiCode(t, tt.call(), tt.code)
		if !strings.Contains(ae.ErrorMessage(), tt.msg) {
			t.Errorf("%s: message %q does not contain %q", tt.name, ae.ErrorMessage(), tt.msg)
		}
	}
}

// TestEC2DescribeInstanceStatusCLI: the AWS CLI reads a recovery
// instance's status checks through --endpoint-url.
func TestEC2DescribeInstanceStatusCLI(t *testing.T) {
	cli := awsCLIPath(t)
	e := newTestEnv(t, nil)
	behWaitSeed(t, e)
	j := behStart(t, e, true, web1)
	behWaitJob(t, e, aws.ToString(j.JobID))
	id := aws.ToString(behServer(t, e, web1).RecoveryInstanceId)
	e.clock.Set(behModelInstance(t, e, id).EC2.ChecksPass)
	out, errOut, code := awsCLI(t, cli, "AKIDSIM111122223333", "x", "", "ec2", "describe-instance-status", "--instance-ids", id,
		"--endpoint-url", e.srv.URL, "--region", "us-east-1", "--output", "json")
	var res struct {
		InstanceStatuses []struct {
			InstanceId     string
			InstanceState  struct{ Name string }
			InstanceStatus struct{ Status string }
			SystemStatus   struct{ Status string }
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.InstanceStatuses) != 1 {
		t.Fatalf("describe-instance-status: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if s := res.InstanceStatuses[0]; s.InstanceId != id || s.InstanceState.Name != "running" || s.InstanceStatus.Status != "ok" || s.SystemStatus.Status != "ok" {
		t.Fatalf("describe-instance-status: %+v", s)
	}
	_, errOut, code = awsCLI(t, cli, "AKIDSIM111122223333", "x", "", "ec2", "describe-instances", "--instance-ids", "i-0123456789abcdef0",
		"--endpoint-url", e.srv.URL, "--region", "us-east-1")
	if code == 0 || !strings.Contains(errOut, "InvalidInstanceID.NotFound") {
		t.Fatalf("describe-instances of an unknown ID: exit %d, stderr %s", code, errOut)
	}
}
