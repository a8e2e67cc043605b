package drssim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Protocol tests: what the simulator puts on the wire for success, how it
// routes, and how it scopes accounts and regions. They go through the real
// SDK; the raw response is observed with a smithy Deserialize middleware.

// wireExchange is one request and its raw response as the SDK saw them.
type wireExchange struct {
	Method      string
	EscapedPath string
	RawQuery    string
	Status      int
	Header      http.Header
	Body        []byte
}

// wireRecorder is an SDK option that records every raw exchange of a client.
type wireRecorder struct {
	mu sync.Mutex
	ex []wireExchange
}

// option installs the recorder innermost in the Deserialize step, so it sees
// the response before the operation's deserializer does.
func (w *wireRecorder) option(o *drs.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("drssimWireRecorder", w.handle), middleware.After)
	})
}

func (w *wireRecorder) handle(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp == nil {
		return out, md, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return out, md, rerr
	}
	x := wireExchange{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: body}
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		x.Method, x.EscapedPath, x.RawQuery = req.Method, req.URL.EscapedPath(), req.URL.RawQuery
	}
	w.mu.Lock()
	w.ex = append(w.ex, x)
	w.mu.Unlock()
	return out, md, err
}

// last returns the most recent exchange.
func (w *wireRecorder) last(t *testing.T) wireExchange {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ex) == 0 {
		t.Fatal("no exchange recorded")
	}
	return w.ex[len(w.ex)-1]
}

func (w *wireRecorder) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ex)
}

// wireSeededJob is the TERMINATE job the three-tier scenario starts with.
const wireSeededJob = "drsjob-3f0c2a9b7d1e45a60"

// wireWaitSeeded runs the clock until three-tier's seeded TERMINATE job has
// completed, so its servers can be launched.
func wireWaitSeeded(e *testEnv) {
	e.t.Helper()
	e.advanceUntil(time.Hour, func() bool { return e.jobView(wireSeededJob).Status == jobStatusCompleted })
}

// wireRunDrill starts a drill of servers with c and runs it to completion; it
// returns the job ID.
func wireRunDrill(e *testEnv, c *drs.Client, servers ...string) string {
	e.t.Helper()
	var req []types.StartRecoveryRequestSourceServer
	for _, s := range servers {
		req = append(req, types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(s)})
	}
	out, err := c.StartRecovery(ctx(e.t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: req})
	if err != nil {
		e.t.Fatalf("StartRecovery %v: %v", servers, err)
	}
	id := aws.ToString(out.Job.JobID)
	e.advanceUntil(2*time.Hour, func() bool { return e.jobView(id).Status == jobStatusCompleted })
	return id
}

// wireRegion returns the model of one account and region.
func wireRegion(t *testing.T, e *testEnv, account, region string) RegionView {
	t.Helper()
	for _, r := range e.sim.State(StateFilter{Account: account, Region: region}).Regions {
		if r.Account == account && r.Region == region {
			return r
		}
	}
	t.Fatalf("region %s/%s not in the model", account, region)
	return RegionView{}
}

func TestSuccessStatusCodes(t *testing.T) {
	e := newTestEnv(t, nil)
	rec := &wireRecorder{}
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", rec.option)
	wireWaitSeeded(e)
	// A completed drill leaves a recovery instance for DisconnectRecoveryInstance.
	drillJob := wireRunDrill(e, c, db1)
	var instanceID string
	for _, s := range e.jobView(drillJob).Servers {
		instanceID = s.RecoveryInstanceID
	}
	if instanceID == "" {
		t.Fatal("drill produced no recovery instance")
	}
	serverArn := "arn:aws:drs:us-east-1:111122223333:source-server/" + db2

	cases := []struct {
		name      string
		call      func(c *drs.Client) error
		status    int
		emptyBody bool
	}{
		{"StartRecovery", func(c *drs.Client) error {
			_, err := c.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true),
				SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(app1)}}})
			return err
		}, http.StatusAccepted, false},
		{"InitializeService", func(c *drs.Client) error {
			_, err := c.InitializeService(ctx(t), &drs.InitializeServiceInput{})
			return err
		}, http.StatusNoContent, true},
		{"DeleteJob", func(c *drs.Client) error {
			_, err := c.DeleteJob(ctx(t), &drs.DeleteJobInput{JobID: aws.String(wireSeededJob)})
			return err
		}, http.StatusNoContent, true},
		{"TagResource", func(c *drs.Client) error {
			_, err := c.TagResource(ctx(t), &drs.TagResourceInput{ResourceArn: aws.String(serverArn), Tags: map[string]string{"k": "v"}})
			return err
		}, http.StatusOK, true},
		{"UntagResource", func(c *drs.Client) error {
			_, err := c.UntagResource(ctx(t), &drs.UntagResourceInput{ResourceArn: aws.String(serverArn), TagKeys: []string{"k"}})
			return err
		}, http.StatusOK, true},
		{"DisconnectRecoveryInstance", func(c *drs.Client) error {
			_, err := c.DisconnectRecoveryInstance(ctx(t), &drs.DisconnectRecoveryInstanceInput{RecoveryInstanceID: aws.String(instanceID)})
			return err
		}, http.StatusOK, true},
		{"DescribeJobs", func(c *drs.Client) error {
			_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
			return err
		}, http.StatusOK, false},
		{"ListTagsForResource", func(c *drs.Client) error {
			_, err := c.ListTagsForResource(ctx(t), &drs.ListTagsForResourceInput{ResourceArn: aws.String(serverArn)})
			return err
		}, http.StatusOK, false},
	}
	seenIDs := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(c); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			x := rec.last(t)
			if x.Status != tc.status {
				t.Errorf("status %d, want %d", x.Status, tc.status)
			}
			if tc.emptyBody && len(x.Body) != 0 {
				t.Errorf("body %q, want empty", x.Body)
			}
			if !tc.emptyBody {
				if !json.Valid(x.Body) || len(x.Body) < 2 || x.Body[0] != '{' {
					t.Errorf("body %q is not a JSON object", x.Body)
				}
				if ct := x.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
			}
			id := x.Header.Get("X-Amzn-Requestid")
			if id == "" {
				t.Fatal("no x-amzn-RequestId header")
			}
			if other, dup := seenIDs[id]; dup {
				t.Errorf("request ID %s reused (also on %s)", id, other)
			}
			seenIDs[id] = tc.name
		})
	}
	if got := e.jobView(wireSeededJob); !got.Deleted {
		t.Error("DeleteJob answered 204 but the model did not delete the job")
	}
}

func TestRequestIDReachesTheSDK(t *testing.T) {
	e := newTestEnv(t, nil)
	rec := &wireRecorder{}
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", rec.option)
	out, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	wire := rec.last(t).Header.Get("X-Amzn-Requestid")
	if !ok || got == "" || got != wire {
		t.Fatalf("SDK request ID %q (ok=%v), wire header %q", got, ok, wire)
	}
	// Errors carry the request ID too.
	_, err = c.StartRecovery(ctx(t), &drs.StartRecoveryInput{
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(db1)}}})
	var re interface{ ServiceRequestID() string }
	if !errors.As(err, &re) {
		t.Fatalf("StartRecovery while held: want a response error, got %v", err)
	}
	if wire := rec.last(t).Header.Get("X-Amzn-Requestid"); re.ServiceRequestID() == "" || re.ServiceRequestID() != wire {
		t.Fatalf("error request ID %q, wire %q", re.ServiceRequestID(), wire)
	}
	if !strings.Contains(err.Error(), "RequestID: "+re.ServiceRequestID()) {
		t.Errorf("error text %q lacks the request ID", err)
	}
}

var wireTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$`)

func TestDateTimeFormat(t *testing.T) {
	e := newTestEnv(t, nil)
	rec := &wireRecorder{}
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", rec.option)
	wireWaitSeeded(e)
	e.clock.Set(time.Date(2026, 11, 25, 9, 5, 0, 123456789, time.UTC))
	out, err := c.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true),
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(web1)}}})
	if err != nil {
		t.Fatal(err)
	}
	const want = "2026-11-25T09:05:00.123456+00:00"
	if got := aws.ToString(out.Job.CreationDateTime); got != want {
		t.Errorf("SDK creationDateTime %q, want %q", got, want)
	}
	var wire struct {
		Job map[string]any `json:"job"`
	}
	if err := json.Unmarshal(rec.last(t).Body, &wire); err != nil {
		t.Fatal(err)
	}
	if got := wire.Job["creationDateTime"]; got != want {
		t.Errorf("wire creationDateTime %v, want %q", got, want)
	}
	if _, ok := wire.Job["endDateTime"]; ok {
		t.Errorf("a PENDING job must not carry endDateTime: %v", wire.Job["endDateTime"])
	}
	id := aws.ToString(out.Job.JobID)
	e.advanceUntil(time.Hour, func() bool { return e.jobView(id).Status == jobStatusCompleted })
	jobs, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{id}}})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("DescribeJobs: %v %v", jobs, err)
	}
	end := aws.ToString(jobs.Items[0].EndDateTime)
	if !wireTimeRe.MatchString(end) {
		t.Errorf("endDateTime %q is not in the form 2026-11-25T09:00:00.000000+00:00", end)
	}
	if end <= want {
		t.Errorf("endDateTime %s is not after creationDateTime %s", end, want)
	}
	logs, err := c.DescribeJobLogItems(ctx(t), &drs.DescribeJobLogItemsInput{JobID: aws.String(id)})
	if err != nil || len(logs.Items) == 0 {
		t.Fatalf("DescribeJobLogItems: %v %v", logs, err)
	}
	for _, li := range logs.Items {
		if !wireTimeRe.MatchString(aws.ToString(li.LogDateTime)) {
			t.Errorf("logDateTime %q has the wrong form", aws.ToString(li.LogDateTime))
		}
	}
}

func TestTagRoundTripThroughSDK(t *testing.T) {
	e := newTestEnv(t, nil)
	rec := &wireRecorder{}
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", rec.option)
	wireWaitSeeded(e)
	jobID := wireRunDrill(e, c, app2)
	ris, err := c.DescribeRecoveryInstances(ctx(t), &drs.DescribeRecoveryInstancesInput{
		Filters: &types.DescribeRecoveryInstancesRequestFilters{SourceServerIDs: []string{app2}}})
	if err != nil || len(ris.Items) != 1 {
		t.Fatalf("DescribeRecoveryInstances: %+v %v", ris, err)
	}
	srvs, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{
		Filters: &types.DescribeSourceServersRequestFilters{SourceServerIDs: []string{app2}}})
	if err != nil || len(srvs.Items) != 1 {
		t.Fatalf("DescribeSourceServers: %+v %v", srvs, err)
	}
	jobs, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{jobID}}})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("DescribeJobs: %+v %v", jobs, err)
	}
	arns := map[string]string{
		"source-server":     aws.ToString(srvs.Items[0].Arn),
		"recovery-instance": aws.ToString(ris.Items[0].Arn),
		"job":               aws.ToString(jobs.Items[0].Arn),
	}
	for kind, arn := range arns {
		t.Run(kind, func(t *testing.T) {
			if !strings.HasPrefix(arn, "arn:aws:drs:us-east-1:111122223333:"+kind+"/") {
				t.Fatalf("ARN %q", arn)
			}
			before, err := c.ListTagsForResource(ctx(t), &drs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			x := rec.last(t)
			wantPath := "/tags/" + strings.NewReplacer(":", "%3A", "/", "%2F").Replace(arn)
			if x.Method != http.MethodGet || x.EscapedPath != wantPath {
				t.Errorf("ListTagsForResource went to %s %s, want GET %s", x.Method, x.EscapedPath, wantPath)
			}
			add := map[string]string{"Owner": "dr team", "cost center": "a/b:c", "empty": ""}
			if _, err := c.TagResource(ctx(t), &drs.TagResourceInput{ResourceArn: aws.String(arn), Tags: add}); err != nil {
				t.Fatal(err)
			}
			if x := rec.last(t); x.Method != http.MethodPost || x.EscapedPath != wantPath {
				t.Errorf("TagResource went to %s %s", x.Method, x.EscapedPath)
			}
			got, err := c.ListTagsForResource(ctx(t), &drs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			want := copyTags(before.Tags)
			for k, v := range add {
				want[k] = v
			}
			if !wireSameTags(got.Tags, want) {
				t.Errorf("after TagResource: %v, want %v", got.Tags, want)
			}
			if _, err := c.UntagResource(ctx(t), &drs.UntagResourceInput{ResourceArn: aws.String(arn),
				TagKeys: []string{"cost center", "Owner", "never-set"}}); err != nil {
				t.Fatal(err)
			}
			if x := rec.last(t); x.Method != http.MethodDelete || x.EscapedPath != wantPath || !strings.Contains(x.RawQuery, "tagKeys=cost%20center") {
				t.Errorf("UntagResource went to %s %s?%s", x.Method, x.EscapedPath, x.RawQuery)
			}
			got, err = c.ListTagsForResource(ctx(t), &drs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			delete(want, "cost center")
			delete(want, "Owner")
			if !wireSameTags(got.Tags, want) {
				t.Errorf("after UntagResource: %v, want %v", got.Tags, want)
			}
		})
	}
	// The model agrees with what the API said.
	rv := wireRegion(t, e, "111122223333", "us-east-1")
	for _, s := range rv.Servers {
		if s.SourceServerID == app2 {
			if s.Tags["empty"] != "" || s.Tags["Tier"] != "app" {
				t.Errorf("model tags of %s: %v", app2, s.Tags)
			}
			if _, ok := s.Tags["empty"]; !ok {
				t.Errorf("model lost the empty-valued tag: %v", s.Tags)
			}
			if _, ok := s.Tags["Owner"]; ok {
				t.Errorf("model kept an untagged key: %v", s.Tags)
			}
		}
	}
	// An ARN of another region is not found, as an API error the SDK types.
	other := strings.Replace(arns["source-server"], "us-east-1", "eu-west-1", 1)
	_, err = c.ListTagsForResource(ctx(t), &drs.ListTagsForResourceInput{ResourceArn: aws.String(other)})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("ListTagsForResource of another region's ARN: want ResourceNotFoundException, got %v", err)
	}
}

func wireSameTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRegionFromSigningScope(t *testing.T) {
	e := newTestEnv(t, nil)
	west := e.clientFor("AKIDTESTDEFAULT", "us-west-2")
	srvs, err := west.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(srvs.Items) != 0 {
		t.Fatalf("us-west-2 should be an empty DRS, got %d servers", len(srvs.Items))
	}
	jobs, err := west.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	if err != nil || len(jobs.Items) != 0 {
		t.Fatalf("us-west-2 jobs: %v %v", jobs, err)
	}
	// us-east-1's servers do not exist in us-west-2 and are not held there.
	_, err = west.StartRecovery(ctx(t), &drs.StartRecoveryInput{
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(db1)}}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("StartRecovery of a us-east-1 server in us-west-2: want ResourceNotFoundException, got %v", err)
	}
	// The region in the ARN must match the region of the request.
	_, err = west.TagResource(ctx(t), &drs.TagResourceInput{
		ResourceArn: aws.String("arn:aws:drs:us-east-1:111122223333:source-server/" + db1), Tags: map[string]string{"x": "y"}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("TagResource of a us-east-1 ARN from us-west-2: want ResourceNotFoundException, got %v", err)
	}
	east, err := e.client.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	if err != nil || len(east.Items) != 6 {
		t.Fatalf("us-east-1 still has its six servers: %v %v", east, err)
	}
	for _, s := range east.Items {
		if _, ok := s.Tags["x"]; ok {
			t.Errorf("a tag sent to us-west-2 reached %s in us-east-1", aws.ToString(s.SourceServerID))
		}
	}
	if rv := wireRegion(t, e, "111122223333", "us-west-2"); len(rv.Servers) != 0 || len(rv.Jobs) != 0 {
		t.Errorf("model of us-west-2: %d servers, %d jobs", len(rv.Servers), len(rv.Jobs))
	}
}

const wireAccountsYAML = `
name: two-accounts
defaultAccount: "111122223333"
accessKeys:
  AKIDPRODUCTION: "111122223333"
  AKIDRECOVERY: "444455556666"
regions:
  - account: "111122223333"
    region: us-east-1
    servers:
      - id: s-1111111111111111a
      - id: s-1111111111111111b
  - account: "444455556666"
    region: us-east-1
    servers:
      - id: s-4444444444444444a
`

func TestAccountIsolation(t *testing.T) {
	sc, err := ParseScenario([]byte(wireAccountsYAML))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, sc)
	cases := []struct {
		key, account string
		servers      []string
	}{
		{"AKIDPRODUCTION", "111122223333", []string{"s-1111111111111111a", "s-1111111111111111b"}},
		{"AKIDRECOVERY", "444455556666", []string{"s-4444444444444444a"}},
		{"AKIDUNMAPPED", "111122223333", []string{"s-1111111111111111a", "s-1111111111111111b"}}, // default account
		{"AKIDSIM444455556666", "444455556666", []string{"s-4444444444444444a"}},                 // synthetic key
		{"AKIDSIM999988887777", "999988887777", nil},                                             // a fresh, empty account
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			c := e.clientFor(tc.key, "us-east-1")
			out, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range out.Items {
				got = append(got, aws.ToString(s.SourceServerID))
				if want := "arn:aws:drs:us-east-1:" + tc.account + ":source-server/" + aws.ToString(s.SourceServerID); aws.ToString(s.Arn) != want {
					t.Errorf("ARN %s, want %s", aws.ToString(s.Arn), want)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.servers, ",") {
				t.Errorf("servers %v, want %v", got, tc.servers)
			}
		})
	}
	prod := e.clientFor("AKIDPRODUCTION", "us-east-1")
	recov := e.clientFor("AKIDRECOVERY", "us-east-1")
	out, err := prod.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true),
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String("s-1111111111111111a")}}})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(out.Job.Arn); !strings.HasPrefix(arn, "arn:aws:drs:us-east-1:111122223333:job/") {
		t.Errorf("job ARN %s", arn)
	}
	jobs, err := recov.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	if err != nil || len(jobs.Items) != 0 {
		t.Fatalf("the other account sees jobs: %v %v", jobs, err)
	}
	_, err = recov.StartRecovery(ctx(t), &drs.StartRecoveryInput{
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String("s-1111111111111111b")}}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("launching another account's server: want ResourceNotFoundException, got %v", err)
	}
	// A job ARN of one account is not found from the other.
	_, err = recov.ListTagsForResource(ctx(t), &drs.ListTagsForResourceInput{ResourceArn: out.Job.Arn})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("listing tags of another account's job: want ResourceNotFoundException, got %v", err)
	}
	if rv := wireRegion(t, e, "444455556666", "us-east-1"); len(rv.Jobs) != 0 {
		t.Errorf("model: account 444455556666 has %d jobs", len(rv.Jobs))
	}
	if rv := wireRegion(t, e, "111122223333", "us-east-1"); len(rv.Jobs) != 1 {
		t.Errorf("model: account 111122223333 has %d jobs, want 1", len(rv.Jobs))
	}
}

func TestUnmodelledOperations(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.client
	cases := []struct {
		op    string
		call  func() error
		typed bool // ValidationException is in the operation's modelled error list
	}{
		{"CreateSourceNetwork", func() error {
			_, err := c.CreateSourceNetwork(ctx(t), &drs.CreateSourceNetworkInput{VpcID: aws.String("vpc-0123456789abcdef0"),
				OriginAccountID: aws.String("111122223333"), OriginRegion: aws.String("us-east-1")})
			return err
		}, true},
		{"DescribeLaunchConfigurationTemplates", func() error {
			_, err := c.DescribeLaunchConfigurationTemplates(ctx(t), &drs.DescribeLaunchConfigurationTemplatesInput{})
			return err
		}, true},
		{"GetReplicationConfiguration", func() error {
			_, err := c.GetReplicationConfiguration(ctx(t), &drs.GetReplicationConfigurationInput{SourceServerID: aws.String(db1)})
			return err
		}, false},
		{"ListStagingAccounts", func() error {
			_, err := c.ListStagingAccounts(ctx(t), &drs.ListStagingAccountsInput{})
			return err
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
				t.Fatalf("want ValidationException, got %v", err)
			}
			if !strings.Contains(ae.ErrorMessage(), "drssim does not model") || !strings.Contains(ae.ErrorMessage(), tc.op) {
				t.Errorf("message %q should say drssim does not model %s", ae.ErrorMessage(), tc.op)
			}
			var ve *types.ValidationException
			if got := errors.As(err, &ve); got != tc.typed {
				t.Fatalf("typed ValidationException: %v, want %v", got, tc.typed)
			}
			if tc.typed && ve.Reason != types.ValidationExceptionReasonUnknownOperation {
				t.Errorf("reason %q, want unknownOperation", ve.Reason)
			}
		})
	}
	// Nothing changed in the model.
	if rv := wireRegion(t, e, "111122223333", "us-east-1"); len(rv.Jobs) != 1 {
		t.Errorf("jobs after unmodelled calls: %d", len(rv.Jobs))
	}
}

func TestUnknownPath(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, p := range []string{"/NoSuchOperation", "/", "/describejobs", "/DescribeJobs/extra", "/tags"} {
		t.Run(p, func(t *testing.T) {
			res := wireRaw(t, e, http.MethodPost, p, []byte("{}"), nil)
			res.wantError(t, http.StatusNotFound, "UnknownOperationException", "No DRS operation matches POST")
		})
	}
}

func TestUninitializedRegion(t *testing.T) {
	sc := &Scenario{DefaultAccount: "111122223333", Regions: []RegionSpec{
		{Region: "us-east-1", Servers: []ServerSpec{{ID: "s-00000000000000001"}}},
		{Region: "eu-west-1", Uninitialized: true, Servers: []ServerSpec{{ID: "s-00000000000000002"}}},
	}}
	e := newTestEnv(t, sc)
	eu := e.clientFor("AKIDTESTDEFAULT", "eu-west-1", noRetries)
	const srv = "s-00000000000000002"
	uninit := func(what string, err error) {
		t.Helper()
		var ue *types.UninitializedAccountException
		if !errors.As(err, &ue) {
			t.Fatalf("%s: want UninitializedAccountException, got %v", what, err)
		}
		if !strings.Contains(ue.ErrorMessage(), "InitializeService") {
			t.Errorf("%s: message %q does not say what to do", what, ue.ErrorMessage())
		}
	}
	_, err := eu.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	uninit("DescribeSourceServers", err)
	_, err = eu.StartRecovery(ctx(t), &drs.StartRecoveryInput{
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(srv)}}})
	uninit("StartRecovery", err)
	_, err = eu.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	uninit("DescribeJobs", err)
	// Tag operations are not subject to initialization (docs/drs.md §17).
	arn := "arn:aws:drs:eu-west-1:111122223333:source-server/" + srv
	if _, err := eu.ListTagsForResource(ctx(t), &drs.ListTagsForResourceInput{ResourceArn: aws.String(arn)}); err != nil {
		t.Fatalf("ListTagsForResource in an uninitialized region: %v", err)
	}
	// Other regions are initialized.
	if _, err := e.client.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{}); err != nil {
		t.Fatalf("us-east-1: %v", err)
	}
	if rv := wireRegion(t, e, "111122223333", "eu-west-1"); rv.Initialized || len(rv.Jobs) != 0 {
		t.Fatalf("model before InitializeService: initialized=%v jobs=%d", rv.Initialized, len(rv.Jobs))
	}
	if _, err := eu.InitializeService(ctx(t), &drs.InitializeServiceInput{}); err != nil {
		t.Fatal(err)
	}
	out, err := eu.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
	if err != nil || len(out.Items) != 1 || aws.ToString(out.Items[0].SourceServerID) != srv {
		t.Fatalf("after InitializeService: %+v %v", out, err)
	}
	if !wireRegion(t, e, "111122223333", "eu-west-1").Initialized {
		t.Error("model still uninitialized")
	}
	// InitializeService is idempotent.
	if _, err := eu.InitializeService(ctx(t), &drs.InitializeServiceInput{}); err != nil {
		t.Fatal(err)
	}
}
