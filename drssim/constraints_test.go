package drssim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// Constraint tests: every member of every modelled operation is validated
// as the DRS model constrains it (constraints.go, constraints_gen.go).

// conRecorder is an HTTP client that keeps the last raw response, so that a
// test can read fieldList even where the SDK decodes the error as a
// GenericAPIError (operations whose model does not list
// ValidationException).
type conRecorder struct {
	next aws.HTTPClient
	mu   sync.Mutex
	last wireResult
}

func (c *conRecorder) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if err != nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	c.mu.Lock()
	c.last = wireResult{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: b}
	c.mu.Unlock()
	return resp, nil
}

func (c *conRecorder) lastResult() wireResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// conClient returns an SDK client without retries whose raw responses rec
// keeps.
func conClient(e *testEnv) (*drs.Client, *conRecorder) {
	rec := &conRecorder{next: safeBodyClient{e.srv.Client()}}
	return e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries, func(o *drs.Options) { o.HTTPClient = rec }), rec
}

// conSigned sends a raw request signed with SigV4 by the SDK's signer: what
// a client would send if it skipped the SDK's own validation.
func conSigned(t *testing.T, e *testEnv, method, path string, body []byte) wireResult {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIDTESTDEFAULT", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(ctx(t), creds, req, hex.EncodeToString(sum[:]), "drs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return wireRawSend(t, e, req)
}

// wantFields checks a ValidationException answer naming exactly fields (in
// order) and returns its body.
func (r wireResult) wantFields(t *testing.T, fields []string, inMessage ...string) wireErrorBody {
	t.Helper()
	p := r.wantError(t, http.StatusBadRequest, "ValidationException", inMessage...)
	if p.Reason != "fieldValidationFailed" {
		t.Errorf("reason %q, want fieldValidationFailed", p.Reason)
	}
	var got []string
	for _, f := range p.FieldList {
		got = append(got, f.Name)
		if f.Message == "" {
			t.Errorf("fieldList entry %q has no message", f.Name)
		}
	}
	if !slices.Equal(got, fields) {
		t.Errorf("fieldList names %q, want %q (body %s)", got, fields, r.Body)
	}
	return p
}

func conIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%017x", prefix, i)
	}
	return out
}

const (
	conJob      = "drsjob-3f0c2a9b7d1e45a60"
	conInstance = "i-0a1b2c3d4e5f60701"
	conSnapshot = "pit-0123456789abcdef0"
	conARN      = "arn:aws:drs:us-east-1:111122223333:source-server/" + db1
)

// TestConstraintViolationsThroughSDK sends requests the Go SDK lets through
// (it checks only required members) and that break the model's constraints
// of every kind: string length (counted in characters), pattern, enum,
// number range, list and map size, list items and map keys and values,
// nested members, path labels and query parameters.
func TestConstraintViolationsThroughSDK(t *testing.T) {
	e := newTestEnv(t, nil)
	c, rec := conClient(e)
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name   string
		call   func(ctx context.Context) error
		fields []string // nil: the call must succeed
		msg    []string // in the message
		notMsg []string // not in the message (sensitive values)
	}{
		{"string too short and not matching", func(ctx context.Context) error {
			_, err := c.GetLaunchConfiguration(ctx, &drs.GetLaunchConfigurationInput{SourceServerID: aws.String("s-123")})
			return err
		}, []string{"sourceServerID"}, []string{"Value 's-123' at 'sourceServerID'", "length greater than or equal to 19 (got 5)", "regular expression pattern: s-[0-9a-zA-Z]{17}"}, nil},
		{"pattern only", func(ctx context.Context) error {
			_, err := c.DeleteJob(ctx, &drs.DeleteJobInput{JobID: aws.String("drsjob-0123456789abcdef!")})
			return err
		}, []string{"jobID"}, []string{"regular expression pattern: drsjob-[0-9a-zA-Z]{17}"}, []string{"length"}},
		{"list item", func(ctx context.Context) error {
			_, err := c.DescribeJobs(ctx, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{conJob, "job-1"}}})
			return err
		}, []string{"filters.jobIDs"}, []string{"job-1", "Member must satisfy constraint: [Member must have length greater than or equal to 24, Member must satisfy regular expression pattern"}, nil},
		{"list too long", func(ctx context.Context) error {
			_, err := c.DescribeJobs(ctx, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: conIDs("drsjob-", 1001)}})
			return err
		}, []string{"filters.jobIDs"}, []string{"length less than or equal to 1000 (got 1001)"}, nil},
		{"two members, model order", func(ctx context.Context) error {
			_, err := c.DescribeJobs(ctx, &drs.DescribeJobsInput{MaxResults: aws.Int32(0),
				Filters: &types.DescribeJobsRequestFilters{FromDate: aws.String("the day before yesterday")}})
			return err
		}, []string{"filters.fromDate", "maxResults"}, []string{"2 validation errors detected", "value greater than or equal to 1"}, nil},
		{"number below its minimum", func(ctx context.Context) error {
			_, err := c.DescribeJobLogItems(ctx, &drs.DescribeJobLogItemsInput{JobID: aws.String(conJob), MaxResults: aws.Int32(-5)})
			return err
		}, []string{"maxResults"}, []string{"Value '-5' at 'maxResults'", "value greater than or equal to 1"}, nil},
		{"nested filters", func(ctx context.Context) error {
			_, err := c.DescribeSourceServers(ctx, &drs.DescribeSourceServersInput{Filters: &types.DescribeSourceServersRequestFilters{
				HardwareId: aws.String(long(257)), StagingAccountIDs: []string{"12345"}}})
			return err
		}, []string{"filters.hardwareId", "filters.stagingAccountIDs"}, []string{"less than or equal to 256 (got 257)", "'[12345]'"}, nil},
		{"two lists of IDs", func(ctx context.Context) error {
			_, err := c.DescribeRecoveryInstances(ctx, &drs.DescribeRecoveryInstancesInput{Filters: &types.DescribeRecoveryInstancesRequestFilters{
				RecoveryInstanceIDs: []string{"i-12345678901234567890"}, SourceServerIDs: []string{"s-x"}}})
			return err
		}, []string{"filters.recoveryInstanceIDs", "filters.sourceServerIDs"}, nil, nil},
		{"empty list under its minimum", func(ctx context.Context) error {
			_, err := c.TerminateRecoveryInstances(ctx, &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: []string{}})
			return err
		}, []string{"recoveryInstanceIDs"}, []string{"length greater than or equal to 1 (got 0)"}, nil},
		{"list over its maximum", func(ctx context.Context) error {
			_, err := c.TerminateRecoveryInstances(ctx, &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: conIDs("i-", 201)})
			return err
		}, []string{"recoveryInstanceIDs"}, []string{"(got 201)"}, nil},
		{"member of a list item", func(ctx context.Context) error {
			_, err := c.StartRecovery(ctx, &drs.StartRecoveryInput{SourceServers: []types.StartRecoveryRequestSourceServer{
				{SourceServerID: aws.String(db1)}, {SourceServerID: aws.String(db2), RecoverySnapshotID: aws.String("pit-1")}}})
			return err
		}, []string{"sourceServers[1].recoverySnapshotID"}, []string{"at 'sourceServers[1].recoverySnapshotID'", "pit-[0-9a-zA-Z]{17}"}, nil},
		{"map key, sensitive", func(ctx context.Context) error {
			_, err := c.StartRecovery(ctx, &drs.StartRecoveryInput{SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(db1)}},
				Tags: map[string]string{"secret-" + long(250): "v"}})
			return err
		}, []string{"tags"}, []string{"Value at 'tags'", "Map keys must satisfy constraint: [Member must have length less than or equal to 256]"}, []string{"secret-"}},
		{"map value and list item", func(ctx context.Context) error {
			_, err := c.StartFailbackLaunch(ctx, &drs.StartFailbackLaunchInput{RecoveryInstanceIDs: []string{"x"},
				Tags: map[string]string{"k": "secret-" + long(250)}})
			return err
		}, []string{"recoveryInstanceIDs", "tags"}, []string{"Map value must satisfy constraint"}, []string{"secret-"}},
		{"enum and pattern of a date", func(ctx context.Context) error {
			_, err := c.DescribeRecoverySnapshots(ctx, &drs.DescribeRecoverySnapshotsInput{SourceServerID: aws.String(db1), Order: "SIDEWAYS",
				Filters: &types.DescribeRecoverySnapshotsRequestFilters{FromDateTime: aws.String("2026-11-25 09:00:00")}})
			return err
		}, []string{"filters.fromDateTime", "order"}, []string{"enum value set: [ASC, DESC]", "or with an offset such as +00:00"}, nil},
		{"length in characters, enum, nested pattern", func(ctx context.Context) error {
			_, err := c.UpdateLaunchConfiguration(ctx, &drs.UpdateLaunchConfigurationInput{SourceServerID: aws.String(db2),
				Name: aws.String(strings.Repeat("é", 129)), LaunchDisposition: "PAUSED",
				LaunchIntoInstanceProperties: &types.LaunchIntoInstanceProperties{LaunchIntoEC2InstanceID: aws.String("vm-42")}})
			return err
		}, []string{"name", "launchDisposition", "launchIntoInstanceProperties.launchIntoEC2InstanceID"}, []string{"(got 129)", "enum value set: [STOPPED, STARTED]"}, nil},
		{"128 two-byte characters are 128 characters", func(ctx context.Context) error {
			_, err := c.UpdateLaunchConfiguration(ctx, &drs.UpdateLaunchConfigurationInput{SourceServerID: aws.String(db2), Name: aws.String(strings.Repeat("é", 128))})
			return err
		}, nil, nil, nil},
		{"path label", func(ctx context.Context) error {
			_, err := c.ListTagsForResource(ctx, &drs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:drs:x")})
			return err
		}, []string{"resourceArn"}, []string{"Value 'arn:aws:drs:x' at 'resourceArn'", "length greater than or equal to 20"}, nil},
		{"map value of TagResource", func(ctx context.Context) error {
			_, err := c.TagResource(ctx, &drs.TagResourceInput{ResourceArn: aws.String(conARN), Tags: map[string]string{"k": long(257)}})
			return err
		}, []string{"tags"}, nil, nil},
		{"query parameter item, sensitive", func(ctx context.Context) error {
			_, err := c.UntagResource(ctx, &drs.UntagResourceInput{ResourceArn: aws.String(conARN), TagKeys: []string{"Tier", "secret-" + long(250)}})
			return err
		}, []string{"tagKeys"}, []string{"Member must satisfy constraint: [Member must have length less than or equal to 256]"}, []string{"secret-", "Tier"}},
		{"pagination token too long", func(ctx context.Context) error {
			_, err := c.DescribeSourceServers(ctx, &drs.DescribeSourceServersInput{NextToken: aws.String(long(2049))})
			return err
		}, []string{"nextToken"}, []string{"less than or equal to 2048"}, nil},
		{"instance ID of DisconnectRecoveryInstance", func(ctx context.Context) error {
			_, err := c.DisconnectRecoveryInstance(ctx, &drs.DisconnectRecoveryInstanceInput{RecoveryInstanceID: aws.String("i-xyz")})
			return err
		}, []string{"recoveryInstanceID"}, nil, nil},
		{"instance ID of ReverseReplication", func(ctx context.Context) error {
			_, err := c.ReverseReplication(ctx, &drs.ReverseReplicationInput{RecoveryInstanceID: aws.String("instance-123456")})
			return err
		}, []string{"recoveryInstanceID"}, nil, nil},
		{"server ID of StopReplication", func(ctx context.Context) error {
			_, err := c.StopReplication(ctx, &drs.StopReplicationInput{SourceServerID: aws.String(db1[:18])})
			return err
		}, []string{"sourceServerID"}, []string{"(got 18)"}, nil},
		{"date filters with Z, an offset, microseconds", func(ctx context.Context) error {
			_, err := c.DescribeJobs(ctx, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{
				FromDate: aws.String("2026-11-25T09:00:00Z"), ToDate: aws.String("2026-11-25T09:00:00.123456+00:00")}})
			if err != nil {
				return err
			}
			_, err = c.DescribeJobs(ctx, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{FromDate: aws.String("2026-11-25T14:30:00-05:30")}})
			return err
		}, nil, nil, nil},
	}
	jobsBefore := len(wireRegion(t, e, "111122223333", "us-east-1").Jobs)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(ctx(t))
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if code := wireAPIError(t, err).ErrorCode(); code != "ValidationException" {
				t.Fatalf("ErrorCode %q, want ValidationException (%v)", code, err)
			}
			p := rec.lastResult().wantFields(t, tc.fields, tc.msg...)
			for _, s := range tc.notMsg {
				if strings.Contains(string(rec.lastResult().Body), s) {
					t.Errorf("the answer quotes %q: %s", s, p.Message)
				}
			}
		})
	}
	if n := len(wireRegion(t, e, "111122223333", "us-east-1").Jobs); n != jobsBefore {
		t.Errorf("refused requests changed the model: %d jobs, was %d", n, jobsBefore)
	}
}

// TestConstraintViolationsOnTheWire sends signed requests that the SDK would
// refuse to send: required members missing or null, at the top, in list
// items and in the query string; null list items; an integer beyond 32
// bits; more violations than an answer lists.
func TestConstraintViolationsOnTheWire(t *testing.T) {
	e := newTestEnv(t, nil)
	arnPath := "/tags/" + url.PathEscape(conARN)
	manyEmpty := `{"sourceServers":[` + strings.TrimSuffix(strings.Repeat(`{},`, 200), ",") + `]}`
	cases := []struct {
		name, method, path, body string
		fields                   []string
		msg                      []string
	}{
		{"required member absent", "POST", "/StartRecovery", `{"isDrill":true}`, []string{"sourceServers"},
			[]string{"Value null at 'sourceServers' failed to satisfy constraint: Member must not be null"}},
		{"no body at all", "POST", "/StartRecovery", ``, []string{"sourceServers"}, nil},
		{"required member null", "POST", "/GetLaunchConfiguration", `{"sourceServerID":null}`, []string{"sourceServerID"}, nil},
		{"required members of list items", "POST", "/StartRecovery",
			`{"sourceServers":[{"recoverySnapshotID":"` + conSnapshot + `"},{"sourceServerID":"` + db1 + `"},{"sourceServerID":null}]}`,
			[]string{"sourceServers[0].sourceServerID", "sourceServers[2].sourceServerID"}, []string{"2 validation errors"}},
		{"null item in a list of structures", "POST", "/StartRecovery", `{"sourceServers":[null]}`, []string{"sourceServers[0]"}, nil},
		{"null item in a list of strings", "POST", "/DescribeJobs", `{"filters":{"jobIDs":["` + conJob + `",null]}}`,
			[]string{"filters.jobIDs"}, []string{"Member must satisfy constraint: [Member must not be null]"}},
		{"null optional members are absent", "POST", "/DescribeJobs", `{"filters":null,"maxResults":null,"nextToken":null}`, nil, nil},
		{"integer beyond 32 bits", "POST", "/DescribeJobs", `{"maxResults":3000000000}`, []string{"maxResults"}, []string{"from -2147483648 to 2147483647"}},
		{"jobID of DescribeJobLogItems", "POST", "/DescribeJobLogItems", `{}`, []string{"jobID"}, nil},
		{"sourceServerID of DescribeRecoverySnapshots", "POST", "/DescribeRecoverySnapshots", `{"order":"ASC"}`, []string{"sourceServerID"}, nil},
		{"sourceServerID of UpdateLaunchConfiguration", "POST", "/UpdateLaunchConfiguration", `{"name":"x","launchDisposition":"PAUSED"}`,
			[]string{"sourceServerID", "launchDisposition"}, nil},
		{"recoveryInstanceIDs of TerminateRecoveryInstances", "POST", "/TerminateRecoveryInstances", `{}`, []string{"recoveryInstanceIDs"}, nil},
		{"tags of TagResource", "POST", arnPath, `{}`, []string{"tags"}, nil},
		{"tagKeys of UntagResource", "DELETE", arnPath, ``, []string{"tagKeys"}, []string{"Value null at 'tagKeys'"}},
		{"more violations than an answer lists", "POST", "/StartRecovery", manyEmpty, nil,
			[]string{"200 validation errors detected", "and 150 more"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := conSigned(t, e, tc.method, tc.path, []byte(tc.body))
			switch {
			case tc.fields != nil:
				res.wantFields(t, tc.fields, tc.msg...)
			case len(tc.msg) > 0:
				p := res.wantError(t, http.StatusBadRequest, "ValidationException", tc.msg...)
				if len(p.FieldList) != maxReportedViolations || p.FieldList[49].Name != "sourceServers[49].sourceServerID" {
					t.Errorf("%d fields, the last %+v", len(p.FieldList), p.FieldList[len(p.FieldList)-1])
				}
			default:
				if res.Status != http.StatusOK {
					t.Errorf("status %d: %s", res.Status, res.Body)
				}
			}
		})
	}
}

// conShapeNames maps the table's shapes back to their model names.
func conShapeNames() map[*modelShape]string {
	out := map[*modelShape]string{}
	for name, s := range modelShapes {
		out[s] = name
	}
	return out
}

// conExamples are valid values of the patterned shapes the modelled
// operations use, so that TestEveryConstraintOfModelledOperations can build
// a valid request and then break one constraint at a time.
var conExamples = map[string]string{
	"SourceServerID":        db1,
	"JobID":                 conJob,
	"RecoveryInstanceID":    conInstance,
	"RecoverySnapshotID":    conSnapshot,
	"EC2InstanceID":         "i-0123456789abcdef0",
	"ARN":                   conARN,
	"AccountID":             "111122223333",
	"ISO8601DatetimeString": "2026-11-25T09:00:00Z",
}

// conRequest is a request under construction: body members, path label,
// query parameters.
type conRequest struct {
	body  map[string]any
	arn   string
	query url.Values
}

func (r conRequest) clone() conRequest {
	b, _ := json.Marshal(r.body)
	out := conRequest{arn: r.arn, query: url.Values{}}
	_ = json.Unmarshal(b, &out.body)
	for k, v := range r.query {
		out.query[k] = slices.Clone(v)
	}
	return out
}

// conAbsent asks a setter to remove the member.
var conAbsent = &struct{ absent bool }{true}

// conMutation is one broken constraint: the request and the fieldList name
// it must produce.
type conMutation struct {
	kind, path string
	req        conRequest
}

type conBuilder struct {
	t      *testing.T
	names  map[*modelShape]string
	out    []conMutation
	noNull bool // the value travels in the query string, where there is no null
}

// valid returns a valid value of s (only required members of structures).
func (b *conBuilder) valid(s *modelShape) any {
	switch s.kind {
	case kindString:
		if ex, ok := conExamples[b.names[s]]; ok {
			return ex
		}
		if len(s.enum) > 0 {
			return s.enum[0]
		}
		if s.pattern != nil {
			b.t.Fatalf("shape %s has a pattern and no example in conExamples", b.names[s])
		}
		return strings.Repeat("x", int(max(s.length.min, 1)))
	case kindInteger, kindLong:
		if s.valueRange.hasMin {
			return json.Number(fmt.Sprint(max(s.valueRange.min, 1)))
		}
		return json.Number("1")
	case kindBoolean:
		return true
	case kindList:
		items := []any{}
		for i := int64(0); i < max(s.length.min, 1); i++ {
			items = append(items, b.valid(s.memberShape))
		}
		return items
	case kindMap:
		m := map[string]any{}
		for i := int64(0); i < s.length.min; i++ {
			m[fmt.Sprintf("k%d", i)] = b.valid(s.valueShape)
		}
		return m
	}
	obj := map[string]any{}
	for _, m := range s.members {
		if m.required {
			obj[m.name] = b.valid(m.shape)
		}
	}
	return obj
}

// scalarBreaks returns values of scalar shape s that each break one of its
// constraints, by kind.
func (b *conBuilder) scalarBreaks(s *modelShape) map[string]any {
	out := map[string]any{}
	switch s.kind {
	case kindString:
		if l := s.length; l.hasMin && l.min > 0 {
			out["length min"] = strings.Repeat("a", int(l.min-1))
		}
		if l := s.length; l.hasMax {
			out["length max"] = strings.Repeat("a", int(l.max+1))
		}
		if s.pattern != nil {
			ex := []rune(b.valid(s).(string))
			for _, i := range []int{len(ex) - 1, 0} {
				bad := slices.Clone(ex)
				bad[i] = '!'
				if !s.pattern.re.MatchString(string(bad)) {
					out["pattern"] = string(bad)
					break
				}
			}
			if out["pattern"] == nil {
				b.t.Fatalf("cannot break the pattern of %s", b.names[s])
			}
		}
		if len(s.enum) > 0 {
			out["enum"] = "NOT_A_VALUE"
		}
	case kindInteger, kindLong:
		if r := s.valueRange; r.hasMin {
			out["range min"] = json.Number(fmt.Sprint(r.min - 1))
		}
		if r := s.valueRange; r.hasMax {
			out["range max"] = json.Number(fmt.Sprint(r.max + 1))
		}
		if s.kind == kindInteger {
			out["32 bits"] = json.Number("2147483648")
		}
	}
	return out
}

// conSorted iterates m in key order, so subtests keep their order.
func conSorted(m map[string]any) iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func (b *conBuilder) add(kind, path string, req conRequest) {
	b.out = append(b.out, conMutation{kind: kind, path: path, req: req})
}

// value adds the mutations of a value of shape s at path; set returns the
// whole request with the value replaced (conAbsent: removed).
func (b *conBuilder) value(s *modelShape, path string, required bool, set func(any) conRequest) {
	if required {
		b.add("required", path, set(conAbsent))
	}
	switch s.kind {
	case kindList:
		if l := s.length; l.hasMin && l.min > 0 {
			short := []any{}
			for i := int64(1); i < l.min; i++ {
				short = append(short, b.valid(s.memberShape))
			}
			b.add("list min", path, set(short))
		}
		if l := s.length; l.hasMax {
			long := make([]any, l.max+1)
			for i := range long {
				long[i] = b.valid(s.memberShape)
			}
			b.add("list max", path, set(long))
		}
		rest := b.valid(s).([]any)
		if len(rest) > 0 {
			rest = rest[1:]
		}
		item := func(v any) conRequest { return set(append([]any{v}, rest...)) }
		if isScalar(s.memberShape) {
			if !b.noNull {
				b.add("null item", path, item(nil))
			}
			for kind, v := range conSorted(b.scalarBreaks(s.memberShape)) {
				b.add("item "+kind, path, item(v))
			}
			return
		}
		b.add("null item", path+"[0]", item(nil))
		b.value(s.memberShape, path+"[0]", false, item)
	case kindMap:
		if l := s.length; l.hasMax {
			m := map[string]any{}
			for i := int64(0); i <= l.max; i++ {
				m[fmt.Sprintf("k%d", i)] = b.valid(s.valueShape)
			}
			b.add("map max", path, set(m))
		}
		for kind, k := range conSorted(b.scalarBreaks(s.keyShape)) {
			b.add("key "+kind, path, set(map[string]any{k.(string): b.valid(s.valueShape)}))
		}
		for kind, v := range conSorted(b.scalarBreaks(s.valueShape)) {
			b.add("value "+kind, path, set(map[string]any{"k": v}))
		}
	case kindStructure:
		base := b.valid(s).(map[string]any)
		for _, m := range s.members {
			m := m
			b.value(m.shape, path+"."+m.name, m.required, func(v any) conRequest {
				obj := map[string]any{}
				for k, x := range base {
					obj[k] = x
				}
				if v == conAbsent {
					delete(obj, m.name)
				} else {
					obj[m.name] = v
				}
				return set(obj)
			})
		}
	default:
		for kind, v := range conSorted(b.scalarBreaks(s)) {
			b.add(kind, path, set(v))
		}
	}
}

// TestEveryConstraintOfModelledOperations derives, from the generated
// table, one request per constraint of every modelled operation's input
// (every required member, length, pattern, enum, range and size, nested
// members and list items included) that breaks only that constraint, and
// checks that the simulator refuses it naming that member.
func TestEveryConstraintOfModelledOperations(t *testing.T) {
	e := newTestEnv(t, nil)
	b := &conBuilder{t: t, names: conShapeNames()}
	counts := map[string]int{}
	for _, opName := range ModelledOperations() {
		in := modelShapes[modelOperations[opName].input]
		base := conRequest{body: map[string]any{}, query: url.Values{}}
		for _, m := range in.members {
			if !m.required {
				continue
			}
			switch v := b.valid(m.shape); m.location {
			case locBody:
				base.body[m.name] = v
			case locURI:
				base.arn = v.(string)
			case locQuery:
				for _, x := range v.([]any) {
					base.query.Add(m.name, x.(string))
				}
			}
		}
		start := len(b.out)
		for _, m := range in.members {
			m := m
			required := m.required && m.location != locURI // an empty path label is another route
			b.noNull = m.location == locQuery
			b.value(m.shape, m.name, required, func(v any) conRequest {
				r := base.clone()
				switch m.location {
				case locBody:
					if v == conAbsent {
						delete(r.body, m.name)
					} else {
						r.body[m.name] = v
					}
				case locURI:
					r.arn = v.(string)
				case locQuery:
					r.query.Del(m.name)
					if v != conAbsent {
						for _, x := range v.([]any) {
							r.query.Add(m.name, x.(string))
						}
					}
				}
				return r
			})
		}
		op := operationsByName[opName]
		for _, mu := range b.out[start:] {
			path := "/" + opName
			if op.path != "" {
				path = op.path + url.PathEscape(mu.req.arn)
			}
			if len(mu.req.query) > 0 {
				path += "?" + mu.req.query.Encode()
			}
			var body []byte
			if op.method == http.MethodPost && op.newInput != nil {
				body, _ = json.Marshal(mu.req.body)
			}
			t.Run(fmt.Sprintf("%s/%s/%s", opName, mu.path, mu.kind), func(t *testing.T) {
				conSigned(t, e, op.method, path, body).wantFields(t, []string{mu.path})
			})
			counts[opName]++
		}
	}
	total := 0
	for _, opName := range ModelledOperations() {
		total += counts[opName]
		if counts[opName] == 0 && len(modelShapes[modelOperations[opName].input].members) > 0 {
			t.Errorf("%s: no constraint tested", opName)
		}
	}
	t.Logf("%d broken constraints over %d modelled operations", total, len(ModelledOperations()))
}

// TestConstraintTableCoversRouter: the generated table knows every operation
// the router serves, with the same method and path, and the input structs
// of the modelled operations (shapes.go) have exactly the model's body
// members, nested structures included, so that every member the simulator
// decodes is one the table validates.
func TestConstraintTableCoversRouter(t *testing.T) {
	var routed []string
	for name, op := range operationsByName {
		routed = append(routed, name)
		mo, ok := modelOperations[name]
		if !ok {
			t.Errorf("%s is routed but not in the model table", name)
			continue
		}
		path := "/" + name
		if op.path != "" {
			path = op.path + "{resourceArn}"
		}
		if mo.method != op.method || mo.uri != path {
			t.Errorf("%s: routed as %s %s, the model says %s %s", name, op.method, path, mo.method, mo.uri)
		}
		in := modelShapes[mo.input]
		if in == nil {
			t.Errorf("%s: input shape %q not in the table", name, mo.input)
			continue
		}
		for _, m := range in.members {
			if m.location == locURI && m.name != "resourceArn" {
				t.Errorf("%s: path label %s; validateRequest knows only resourceArn", name, m.name)
			}
		}
		if !op.modelled {
			continue
		}
		var goType reflect.Type
		if op.newInput != nil {
			goType = reflect.TypeOf(op.newInput())
		}
		conSameMembers(t, name, in, goType)
	}
	sort.Strings(routed)
	var model []string
	for name := range modelOperations {
		model = append(model, name)
	}
	sort.Strings(model)
	if !slices.Equal(routed, model) {
		t.Errorf("routed operations %v\nmodel operations %v", routed, model)
	}
	if len(ModelledOperations()) != 22 {
		t.Errorf("%d modelled operations, docs/drssim.md lists 22", len(ModelledOperations()))
	}
}

// conSameMembers checks that Go type gt (nil: no body) decodes exactly the
// body members of shape s, recursively.
func conSameMembers(t *testing.T, where string, s *modelShape, gt reflect.Type) {
	t.Helper()
	for gt != nil && gt.Kind() == reflect.Pointer {
		gt = gt.Elem()
	}
	switch s.kind {
	case kindStructure:
		fields := map[string]reflect.Type{}
		if gt != nil {
			if gt.Kind() != reflect.Struct {
				t.Errorf("%s: Go type %s for a structure", where, gt)
				return
			}
			for i := 0; i < gt.NumField(); i++ {
				f := gt.Field(i)
				fields[strings.Split(f.Tag.Get("json"), ",")[0]] = f.Type
			}
		}
		for _, m := range s.members {
			if m.location != locBody {
				continue
			}
			ft, ok := fields[m.name]
			if !ok {
				t.Errorf("%s: model member %s is not decoded", where, m.name)
				continue
			}
			delete(fields, m.name)
			conSameMembers(t, where+"."+m.name, m.shape, ft)
		}
		for name := range fields {
			t.Errorf("%s: decoded member %s is not in the model", where, name)
		}
	case kindList, kindMap:
		if gt == nil || (gt.Kind() != reflect.Slice && gt.Kind() != reflect.Map) {
			t.Errorf("%s: Go type %v for a list or map", where, gt)
			return
		}
		el := s.memberShape
		if s.kind == kindMap {
			el = s.valueShape
		}
		conSameMembers(t, where+"[]", el, gt.Elem())
	}
}

// TestModelOverridesStillApply: each departure from the model
// (applyModelOverrides) still concerns the model it was written for.
func TestModelOverridesStillApply(t *testing.T) {
	s := modelShapes["ISO8601DatetimeString"]
	const wrote = `[1-9][0-9]*-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([0-1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?Z`
	if s == nil || s.pattern == nil || s.pattern.model != wrote || s.length.max != 32 {
		t.Fatalf("ISO8601DatetimeString changed in the model; review applyModelOverrides")
	}
	for v, want := range map[string]bool{
		"2026-11-25T09:00:00Z":             true,
		"2026-11-25T09:00:00.123456Z":      true,
		"2026-11-25T09:00:00.123456+00:00": true, // what the service writes, 32 characters
		"2026-11-25T09:00:00-05:30":        true,
		"2026-11-25T09:00:00":              false,
		"2026-11-25T09:00:00+0000":         false,
		"2026-11-25T09:00:00+24:00":        false,
		"2026-11-25 09:00:00Z":             false,
		"x2026-11-25T09:00:00Z":            false,
	} {
		if got := s.pattern.re.MatchString(v); got != want {
			t.Errorf("%s: match %v, want %v", v, got, want)
		}
	}
}

// TestModelPatterns: the translated patterns accept what the model's do
// and refuse the rest, matching whole values.
func TestModelPatterns(t *testing.T) {
	cases := []struct {
		shape string
		value string
		want  bool
	}{
		{"SourceServerID", db1, true},
		{"SourceServerID", "xs-3c1730a9e0771ea1", false},
		{"RecoveryInstanceID", "i-12345678", true},
		{"RecoveryInstanceID", "xi-12345678", false}, // a search would accept it
		{"RecoveryInstanceID", "i-1234567g", false},
		{"EC2InstanceID", "", false},
		{"JobID", conJob, true},
		{"AccountID", "111122223333", true},
		{"AccountID", "11112222333x", false},
		{"ARN", "arn:" + strings.Repeat("x", 2044), true}, // RE2 cannot repeat 2044 times: the length limit bounds it
		{"ARN", "arn:" + strings.Repeat("x", 15), false},
		{"ARN", "arn:aws:drs:us-east-1:1\n1112222333:job/x", false}, // '.' excludes line terminators
		{"ARN", "arn:aws:drs:us-east-1:1\u20281112222333:job/x", false},
		{"ARN", "arn:aws:drs:us-east-1:1é112222333:job/x", true},
	}
	for _, tc := range cases {
		p := modelShapes[tc.shape].pattern
		if got := p.re.MatchString(tc.value); got != tc.want {
			t.Errorf("%s %q: match %v, want %v (%s)", tc.shape, tc.value, got, tc.want, p.re)
		}
	}
}

// TestGeneratedTableIsCurrent regenerates the table when the model it was
// generated from is on this machine (botocore's, through python3), and
// checks that constraints_gen.go is what the generator writes.
func TestGeneratedTableIsCurrent(t *testing.T) {
	out := t.TempDir() + "/constraints_gen.go"
	cmd := exec.Command("go", "run", "./internal/constraintgen", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		skipOutsideCI(t, "cannot run the generator here (no botocore model?): %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(modelSHA256)) {
		skipOutsideCI(t, "this machine has another DRS model than the table's (%s); run go generate ./drssim to move to it", modelSource)
	}
	want, err := os.ReadFile("constraints_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("constraints_gen.go is not what the generator writes from its model; run go generate ./drssim")
	}
}

// TestConstraintViolationsThroughAWSCLI drives constraint violations the AWS
// CLI does not check itself (it checks required members, minimum lengths
// and minimum values, not patterns, maximum lengths or enums) through the
// real CLI, and a date filter read back from the simulator.
func TestConstraintViolationsThroughAWSCLI(t *testing.T) {
	awsPath := awsCLIPath(t)
	e := newTestEnv(t, nil)
	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(dir+"/"+f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	env = append(env, "AWS_ACCESS_KEY_ID=AKIDTESTDEFAULT", "AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+dir+"/config", "AWS_SHARED_CREDENTIALS_FILE="+dir+"/credentials",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	run := func(t *testing.T, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx(t), time.Minute)
		defer cancel()
		var o, eb bytes.Buffer
		cmd := exec.CommandContext(cctx, awsPath, append(append([]string{"drs"}, args...), "--endpoint-url", e.srv.URL, "--output", "json")...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &o, &eb
		_ = cmd.Run()
		return o.String(), eb.String(), cmd.ProcessState.ExitCode()
	}
	refused := []struct {
		name string
		args []string
		want []string
	}{
		{"pattern", []string{"get-launch-configuration", "--source-server-id", db1[:18] + "!"},
			[]string{"ValidationException", "at 'sourceServerID'", "regular expression pattern: s-[0-9a-zA-Z]{17}"}},
		{"enum", []string{"describe-recovery-snapshots", "--source-server-id", db1, "--order", "SIDEWAYS"},
			[]string{"ValidationException", "at 'order'", "enum value set: [ASC, DESC]"}},
		{"list item pattern", []string{"describe-jobs", "--filters", `{"jobIDs":["drsjob-3f0c2a9b7d1e45a6!"]}`},
			[]string{"ValidationException", "at 'filters.jobIDs'"}},
		{"maximum length", []string{"update-launch-configuration", "--source-server-id", db1, "--name", strings.Repeat("n", 129)},
			[]string{"ValidationException", "at 'name'", "less than or equal to 128 (got 129)"}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code == 0 {
				t.Fatalf("aws drs %s succeeded", strings.Join(tc.args, " "))
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
	t.Run("creationDateTime as both date filters", func(t *testing.T) {
		stdout, stderr, code := run(t, "describe-jobs")
		var jobs struct {
			Items []struct{ JobID, CreationDateTime string } `json:"items"`
		}
		if code != 0 || json.Unmarshal([]byte(stdout), &jobs) != nil || len(jobs.Items) == 0 {
			t.Fatalf("describe-jobs: exit %d\n%s%s", code, stdout, stderr)
		}
		j := jobs.Items[0]
		filter := fmt.Sprintf(`{"fromDate":%q,"toDate":%q}`, j.CreationDateTime, j.CreationDateTime)
		stdout, stderr, code = run(t, "describe-jobs", "--filters", filter)
		if code != 0 || !strings.Contains(stdout, j.JobID) {
			t.Errorf("describe-jobs --filters %s: exit %d, job %s not listed\n%s%s", filter, code, j.JobID, stdout, stderr)
		}
	})
}
