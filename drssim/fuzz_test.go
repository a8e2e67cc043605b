package drssim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// FuzzDecodeRequest sends arbitrary bodies to a small set of routes through
// the handler (httptest.NewRecorder, no network) and checks that every
// answer is DRS-shaped: no panic, never a 5xx (no error-rate fault is
// active), and every 4xx names its type and carries a JSON message.
//
//	go test -run='^$' -fuzz='^FuzzDecodeRequest$' -fuzztime=30s ./drssim

// fuzzRoutes are the method and path pairs the fuzzer picks from.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/StartRecovery"},
	{"POST", "/DescribeJobs"},
	{"POST", "/DescribeSourceServers"},
	{"POST", "/DescribeJobLogItems"},
	{"POST", "/DescribeRecoveryInstances"},
	{"POST", "/DescribeRecoverySnapshots"},
	{"POST", "/TerminateRecoveryInstances"},
	{"POST", "/GetLaunchConfiguration"},
	{"POST", "/UpdateLaunchConfiguration"},
	{"POST", "/StartFailbackLaunch"},
	{"POST", "/DeleteJob"},
	{"POST", "/InitializeService"},
	{"POST", "/DisconnectRecoveryInstance"},
	{"POST", "/ReverseReplication"},
	{"POST", "/StopReplication"},
	{"POST", "/tags/arn%3Aaws%3Adrs%3Aus-east-1%3A111122223333%3Asource-server%2Fs-3c1730a9e0771ea14"},
	{"GET", "/tags/arn%3Aaws%3Adrs%3Aus-east-1%3A111122223333%3Ajob%2Fdrsjob-3f0c2a9b7d1e45a60"},
	{"DELETE", "/tags/arn%3Aaws%3Adrs%3Aus-east-1%3A111122223333%3Asource-server%2Fs-3c1730a9e0771ea14?tagKeys=Tier"},
	{"POST", "/CreateSourceNetwork"},
	{"POST", "/NoSuchOperation"},
}

var (
	fuzzScenarioOnce sync.Once
	fuzzScenario     *Scenario
	fuzzScenarioErr  error
)

// fuzzSim returns a fresh three-tier simulator, so each input starts from
// the same state and a failure reproduces from its input alone.
func fuzzSim(t *testing.T) *Sim {
	t.Helper()
	fuzzScenarioOnce.Do(func() {
		fuzzScenario, fuzzScenarioErr = LoadScenario("three-tier")
		if fuzzScenarioErr == nil {
			fuzzScenario.Throttle.Rate = -1
		}
	})
	if fuzzScenarioErr != nil {
		t.Fatal(fuzzScenarioErr)
	}
	sim, err := New(Options{Scenario: fuzzScenario, Clock: NewManualClock(testStart), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

func FuzzDecodeRequest(f *testing.F) {
	seeds := []struct {
		route int
		body  string
	}{
		{0, `{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14"}],"isDrill":true}`},
		{0, `{"sourceServers":[{"sourceServerID":"s-3c1730a9e0771ea14","recoverySnapshotID":"pit-0123456789abcdef0"}],"tags":{"k":"v"}}`},
		{0, `{"sourceServers":{"sourceServerID":"s-3c1730a9e0771ea14"}}`},
		{0, `{"sourceServers":[]}`},
		{0, `{"sourceServers":[{"sourceServerId":"s-3c1730a9e0771ea14"}]}`},
		{1, `{}`},
		{1, `{"maxResults":"ten"}`},
		{1, `{"maxResults":0}`},
		{1, `{"filters":{"jobIDs":["drsjob-3f0c2a9b7d1e45a60"],"fromDate":"2026-11-25T08:00:00Z"},"maxResults":1}`},
		{1, `{"nextToken":"garbage"}`},
		{1, `{"maxResults":5} trailing`},
		{2, `{"filters":{"sourceServerIDs":["s-3c1730a9e0771ea14"],"hardwareId":"02:00:00:00:00:00"},"maxResults":2}`},
		{2, `{"maxResults":1e400}`},
		{3, `{"jobID":"drsjob-3f0c2a9b7d1e45a60","maxResults":2}`},
		{3, `{"jobID":""}`},
		{4, `{"filters":{"recoveryInstanceIDs":["i-0a1b2c3d4e5f60701"]}}`},
		{5, `{"sourceServerID":"s-3c1730a9e0771ea14","order":"DESC","filters":{"fromDateTime":"x"}}`},
		{6, `{"recoveryInstanceIDs":["i-0a1b2c3d4e5f60701","i-0a1b2c3d4e5f60701"]}`},
		{7, `{"sourceServerID":"s-3c1730a9e0771ea14"}`},
		{8, `{"sourceServerID":"s-3c1730a9e0771ea14","launchDisposition":"STOPPED","licensing":{"osByol":true},"launchIntoInstanceProperties":{"launchIntoEC2InstanceID":"i-1"}}`},
		{9, `{"recoveryInstanceIDs":["i-0a1b2c3d4e5f60701"],"tags":{}}`},
		{10, `{"jobID":"drsjob-3f0c2a9b7d1e45a60"}`},
		{11, ``},
		{11, `{"x":1}`},
		{12, `{"recoveryInstanceID":"i-0a1b2c3d4e5f60701"}`},
		{13, `{"recoveryInstanceID":"i-0a1b2c3d4e5f60701"}`},
		{14, `{"sourceServerID":"s-3c1730a9e0771ea14"}`},
		{15, `{"tags":{"Owner":"dr","aws:x":"y"}}`},
		{16, ``},
		{17, ``},
		{18, `{"vpcID":"vpc-1"}`},
		{19, `{}`},
		{1, `[]`},
		{1, `null`},
		{1, "\xff\xfe"},
		{1, strings.Repeat("[", 200)},
	}
	for _, s := range seeds {
		f.Add(uint8(s.route), []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		sim := fuzzSim(t)
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		req.Header.Set("Authorization", wireAuth)
		req.Header.Set("X-Amz-Date", "20261125T090000Z")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		res := rec.Result()
		out := rec.Body.Bytes()
		if res.Header.Get("X-Amzn-Requestid") == "" {
			t.Errorf("%s %s: no x-amzn-RequestId", rt.method, rt.path)
		}
		switch {
		case res.StatusCode >= 200 && res.StatusCode < 300:
			if len(out) > 0 && !json.Valid(out) {
				t.Fatalf("%s %s: %d with a body that is not JSON: %q", rt.method, rt.path, res.StatusCode, out)
			}
			if res.Header.Get("X-Amzn-ErrorType") != "" {
				t.Fatalf("%s %s: success with X-Amzn-ErrorType %q", rt.method, rt.path, res.Header.Get("X-Amzn-ErrorType"))
			}
		case res.StatusCode >= 400 && res.StatusCode < 500:
			if res.Header.Get("X-Amzn-ErrorType") == "" {
				t.Fatalf("%s %s: %d without X-Amzn-ErrorType (body %q)", rt.method, rt.path, res.StatusCode, out)
			}
			var p struct {
				Message string `json:"message"`
			}
			if err := json.Unmarshal(out, &p); err != nil || strings.TrimSpace(p.Message) == "" {
				t.Fatalf("%s %s: %d %s with body %q: no JSON message", rt.method, rt.path, res.StatusCode, res.Header.Get("X-Amzn-ErrorType"), out)
			}
		default:
			t.Fatalf("%s %s with body %q: status %d (%s) %q", rt.method, rt.path, body, res.StatusCode,
				http.StatusText(res.StatusCode), out)
		}
	})
}
