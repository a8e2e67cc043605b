package drssim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// Hostile requests: hand-made HTTP that no SDK would send. Each must get a
// DRS-shaped answer (status, X-Amzn-ErrorType, a JSON body whose message
// says what is wrong) and leave the simulator and its model intact.

// wireAuth is a syntactically valid SigV4 header; the simulator does
// not verify signatures.
const wireAuth = "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/drs/aws4_request, SignedHeaders=host, Signature=abc"

// wireResult is a raw HTTP answer.
type wireResult struct {
	Status int
	Header http.Header
	Body   []byte
}

// wireRaw sends one raw request to the simulator. Unless hdr overrides
// them (an empty value deletes a header), it carries wireAuth,
// X-Amz-Date and Content-Type: application/json.
func wireRaw(t *testing.T, e *testEnv, method, path string, body []byte, hdr map[string]string) wireResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", wireAuth)
	req.Header.Set("X-Amz-Date", "20261125T090000Z")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return wireRawSend(t, e, req)
}

func wireRawSend(t *testing.T, e *testEnv, req *http.Request) wireResult {
	t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return wireResult{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// wireErrorBody is the JSON body of a DRS error.
type wireErrorBody struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	Reason    string `json:"reason"`
	FieldList []struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"fieldList"`
}

// wantError checks a DRS-shaped error answer and returns its body. Each of
// wantInMessage must appear in the message (case-insensitively).
func (r wireResult) wantError(t *testing.T, status int, errType string, wantInMessage ...string) wireErrorBody {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d (body %s)", r.Status, status, r.Body)
	}
	if got := r.Header.Get("X-Amzn-ErrorType"); got != errType {
		t.Errorf("X-Amzn-ErrorType %q, want %q", got, errType)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	if r.Header.Get("X-Amzn-Requestid") == "" {
		t.Error("no x-amzn-RequestId")
	}
	var p wireErrorBody
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.Body, err)
	}
	if strings.TrimSpace(p.Message) == "" {
		t.Fatalf("error body %s has no message", r.Body)
	}
	for _, w := range wantInMessage {
		if !strings.Contains(strings.ToLower(p.Message), strings.ToLower(w)) {
			t.Errorf("message %q does not mention %q", p.Message, w)
		}
	}
	return p
}

func TestHostileRequests(t *testing.T) {
	e := newTestEnv(t, nil)
	before := e.sim.State(StateFilter{})
	countsBefore := e.sim.OperationCounts()
	const validStart = `{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":true}`
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	cases := []struct {
		name    string
		method  string
		path    string
		body    []byte
		hdr     map[string]string
		status  int
		errType string
		reason  string   // ValidationException reason, if any
		field   string   // fieldList[0].name, if any
		msg     []string // substrings of the message
	}{
		{"invalid JSON", "POST", "/DescribeJobs", []byte(`{"maxResults":`), nil,
			400, "ValidationException", "cannotParse", "", []string{"not valid JSON"}},
		{"not JSON at all", "POST", "/DescribeJobs", []byte(`maxResults=10`), nil,
			400, "ValidationException", "cannotParse", "", []string{"not valid JSON"}},
		{"binary garbage", "POST", "/StartRecovery", []byte{0xff, 0xfe, 0x00, 0x01, '{'}, nil,
			400, "ValidationException", "cannotParse", "", []string{"not valid JSON"}},
		{"array instead of object", "POST", "/DescribeJobs", []byte(`[]`), nil,
			400, "ValidationException", "cannotParse", "", []string{"must be a JSON object"}},
		{"string instead of object", "POST", "/StartRecovery", []byte(`"sourceServers"`), nil,
			400, "ValidationException", "cannotParse", "", []string{"must be a JSON object"}},
		{"maxResults as a string", "POST", "/DescribeJobs", []byte(`{"maxResults":"ten"}`), nil,
			400, "ValidationException", "fieldValidationFailed", "maxResults", []string{"maxResults", "integer", "string"}},
		{"maxResults fractional", "POST", "/DescribeSourceServers", []byte(`{"maxResults":2.5}`), nil,
			400, "ValidationException", "fieldValidationFailed", "maxResults", []string{"maxResults", "integer"}},
		{"maxResults beyond int64", "POST", "/DescribeSourceServers", []byte(`{"maxResults":99999999999999999999999}`), nil,
			400, "ValidationException", "fieldValidationFailed", "maxResults", []string{"maxResults"}},
		{"sourceServers as an object", "POST", "/StartRecovery", []byte(`{"sourceServers":{"sourceServerID":"s-3c1730a9e0771ea14"}}`), nil,
			400, "ValidationException", "fieldValidationFailed", "sourceServers", []string{"sourceServers", "list"}},
		{"isDrill as a string", "POST", "/StartRecovery", []byte(`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":"yes"}`), nil,
			400, "ValidationException", "fieldValidationFailed", "isDrill", []string{"isDrill", "boolean"}},
		{"nested wrong type", "POST", "/StartRecovery", []byte(`{"sourceServers":[{"sourceServerID":17}]}`), nil,
			400, "ValidationException", "fieldValidationFailed", "sourceServers.sourceServerID", []string{"sourceServerID", "string"}},
		{"tags with a non-string value", "POST", "/StartRecovery", []byte(`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"tags":{"a":1}}`), nil,
			400, "ValidationException", "fieldValidationFailed", "tags", []string{"tags", "string"}},
		{"unknown field", "POST", "/StartRecovery", []byte(`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":true,"dryRun":true}`), nil,
			400, "ValidationException", "fieldValidationFailed", "dryRun", []string{"dryRun"}},
		{"wrong-case member", "POST", "/DescribeJobs", []byte(`{"MaxResults":5}`), nil,
			400, "ValidationException", "fieldValidationFailed", "MaxResults", []string{"MaxResults"}},
		{"unknown nested field", "POST", "/DescribeJobs", []byte(`{"filters":{"jobIds":["drsjob-3f0c2a9b7d1e45a60"]}}`), nil,
			400, "ValidationException", "fieldValidationFailed", "jobIds", []string{"jobIds"}},
		{"body on an operation without input", "POST", "/InitializeService", []byte(`{"force":true}`), nil,
			400, "ValidationException", "fieldValidationFailed", "force", []string{"force", "InitializeService"}},
		{"trailing garbage", "POST", "/StartRecovery", []byte(validStart + ` xyz`), nil,
			400, "ValidationException", "cannotParse", "", []string{"exactly one JSON object"}},
		{"two objects", "POST", "/DescribeJobs", []byte(`{}{}`), nil,
			400, "ValidationException", "cannotParse", "", []string{"exactly one JSON object"}},
		{"nesting too deep", "POST", "/DescribeJobs", []byte(deep), nil,
			400, "ValidationException", "cannotParse", "", nil},
		{"body over 1 MiB", "POST", "/StartRecovery", bytes.Repeat([]byte(" "), maxBodyBytes+10), nil,
			413, "RequestEntityTooLargeException", "", "", []string{"larger than 1048576 bytes"}},
		{"unknown path", "POST", "/StartDrill", []byte(`{}`), nil,
			404, "UnknownOperationException", "", "", []string{"POST /StartDrill"}},
		{"wrong method", "GET", "/DescribeJobs", nil, nil,
			404, "UnknownOperationException", "", "", []string{"GET /DescribeJobs"}},
		{"wrong method on tags", "PUT", "/tags/arn%3Aaws%3Adrs%3Aus-east-1%3A111122223333%3Asource-server%2Fs-3c1730a9e0771ea14", []byte(`{}`), nil,
			404, "UnknownOperationException", "", "", []string{"PUT"}},
		{"tags path without an ARN", "GET", "/tags/", nil, nil,
			404, "UnknownOperationException", "", "", nil},
		{"tags path with a suffix", "GET", "/tags/arn%3Aaws%3Adrs%3Aus-east-1%3A111122223333%3Asource-server%2Fs-3c1730a9e0771ea14/tags/x", nil, nil,
			404, "UnknownOperationException", "", "", nil},
		{"tags of a non-DRS ARN", "GET", "/tags/arn%3Aaws%3Aec2%3Aus-east-1%3A111122223333%3Ainstance%2Fi-0123456789abcdef0", nil, nil,
			400, "ValidationException", "fieldValidationFailed", "resourceArn", []string{"not a DRS ARN"}},
		{"tags of garbage", "GET", "/tags/hello", nil, nil,
			400, "ValidationException", "fieldValidationFailed", "resourceArn", []string{"hello"}},
		{"missing Authorization", "POST", "/StartRecovery", []byte(validStart), map[string]string{"Authorization": ""},
			403, "MissingAuthenticationTokenException", "", "", []string{"Missing Authentication Token"}},
		{"Authorization of another scheme", "POST", "/StartRecovery", []byte(validStart), map[string]string{"Authorization": "Bearer abc"},
			403, "IncompleteSignatureException", "", "", []string{"AWS4-HMAC-SHA256"}},
		{"Authorization without Credential", "POST", "/StartRecovery", []byte(validStart),
			map[string]string{"Authorization": "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc"},
			403, "IncompleteSignatureException", "", "", []string{"Credential"}},
		{"Credential with too few parts", "POST", "/StartRecovery", []byte(validStart),
			map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/us-east-1, SignedHeaders=host, Signature=abc"},
			403, "IncompleteSignatureException", "", "", []string{"Credential should be scoped"}},
		{"Credential for another service", "POST", "/StartRecovery", []byte(validStart),
			map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc"},
			403, "IncompleteSignatureException", "", "", []string{"'drs'", "'s3'"}},
		{"empty region in the scope", "POST", "/StartRecovery", []byte(validStart),
			map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261125//drs/aws4_request, SignedHeaders=host, Signature=abc"},
			403, "IncompleteSignatureException", "", "", []string{"region"}},
		{"empty access key", "POST", "/StartRecovery", []byte(validStart),
			map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=/20261125/us-east-1/drs/aws4_request, SignedHeaders=host, Signature=abc"},
			403, "IncompleteSignatureException", "", "", []string{"Credential"}},
		{"no X-Amz-Date", "POST", "/StartRecovery", []byte(validStart), map[string]string{"X-Amz-Date": ""},
			403, "IncompleteSignatureException", "", "", []string{"X-Amz-Date"}},
		{"not modelled", "POST", "/CreateSourceNetwork", []byte(`{"vpcID":"vpc-1"}`), nil,
			400, "ValidationException", "unknownOperation", "", []string{"drssim does not model", "CreateSourceNetwork"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := wireRaw(t, e, tc.method, tc.path, tc.body, tc.hdr)
			p := res.wantError(t, tc.status, tc.errType, tc.msg...)
			if p.Reason != tc.reason {
				t.Errorf("reason %q, want %q", p.Reason, tc.reason)
			}
			if tc.field != "" && (len(p.FieldList) == 0 || p.FieldList[0].Name != tc.field || p.FieldList[0].Message == "") {
				t.Errorf("fieldList %+v, want a field %q with a message", p.FieldList, tc.field)
			}
		})
	}
	// A body over the limit whose length is not announced (chunked) is cut
	// off while it is read.
	t.Run("chunked body over 1 MiB", func(t *testing.T) {
		body := append([]byte(`{"sourceServers":[{"sourceServerID":"`), bytes.Repeat([]byte("a"), maxBodyBytes)...)
		req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, e.srv.URL+"/StartRecovery", io.MultiReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		req.Header.Set("Authorization", wireAuth)
		req.Header.Set("X-Amz-Date", "20261125T090000Z")
		wireRawSend(t, e, req).wantError(t, 413, "RequestEntityTooLargeException", "larger than")
	})

	// The simulator still works, and nothing above reached the model.
	out, err := e.client.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	if err != nil {
		t.Fatalf("SDK call after hostile requests: %v", err)
	}
	if len(out.Items) != 1 || aws.ToString(out.Items[0].JobID) != wireSeededJob {
		t.Errorf("DescribeJobs after hostile requests: %+v", out.Items)
	}
	after := e.sim.State(StateFilter{})
	if !reflect.DeepEqual(before.Regions, after.Regions) {
		t.Errorf("the model changed:\nbefore %+v\nafter  %+v", before.Regions, after.Regions)
	}
	counts := e.sim.OperationCounts()
	if counts["StartRecovery"] <= countsBefore["StartRecovery"] {
		t.Errorf("StartRecovery requests were not counted: %v", counts)
	}
	// A well-formed raw request is accepted: the hostile checks above are
	// not just refusing everything.
	res := wireRaw(t, e, http.MethodPost, "/DescribeSourceServers", []byte(`{"maxResults":2}`), nil)
	if res.Status != http.StatusOK {
		t.Fatalf("well-formed raw request: %d %s", res.Status, res.Body)
	}
	var page struct {
		Items     []map[string]any `json:"items"`
		NextToken string           `json:"nextToken"`
	}
	if err := json.Unmarshal(res.Body, &page); err != nil || len(page.Items) != 2 || page.NextToken == "" {
		t.Fatalf("raw DescribeSourceServers: %s (%v)", res.Body, err)
	}
	// And a launch after all that succeeds once the seeded job is done.
	wireWaitSeeded(e)
	if _, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true),
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(db1)}}}); err != nil {
		t.Fatalf("StartRecovery after hostile requests: %v", err)
	}
}

// TestHostileRequestsDoNotLaunch sends requests that name a real server but
// are malformed; none may create a job.
func TestHostileRequestsDoNotLaunch(t *testing.T) {
	e := newTestEnv(t, nil)
	wireWaitSeeded(e)
	bodies := []string{
		`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":true,"unknown":1}`,
		`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":true} {}`,
		`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14","recoverySnapshotID":"snap-1"}]}`,
		`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"},{"sourceServerID":"s-3c1730a9e0771ea14"}]}`,
		`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"tags":{"aws:reserved":"x"}}`,
		`{"sourceServers":[{"sourceServerId":"s-3c1730a9e0771ea14"}],"isDrill":true}`,
		`{"SourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":true}`,
		`{"sourceServers":[]}`,
		`{}`,
	}
	for _, b := range bodies {
		res := wireRaw(t, e, http.MethodPost, "/StartRecovery", []byte(b), nil)
		res.wantError(t, http.StatusBadRequest, "ValidationException")
	}
	if rv := wireRegion(t, e, "111122223333", "us-east-1"); len(rv.Jobs) != 1 || rv.ActiveJobs != 0 {
		t.Fatalf("malformed StartRecovery changed the model: %d jobs, %d active", len(rv.Jobs), rv.ActiveJobs)
	}
	// The same request, well formed, launches.
	res := wireRaw(t, e, http.MethodPost, "/StartRecovery", []byte(`{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":true}`), nil)
	if res.Status != http.StatusAccepted {
		t.Fatalf("well-formed raw StartRecovery: %d %s", res.Status, res.Body)
	}
	if rv := wireRegion(t, e, "111122223333", "us-east-1"); len(rv.Jobs) != 2 {
		t.Fatalf("jobs: %d, want 2", len(rv.Jobs))
	}
}
