package drssim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// behControl calls the control API over plain HTTP and returns the status and
// body; the body is decoded into out when out is not nil.
func behControl(t *testing.T, base, method, path, body string, out any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, path, resp.Header.Get("Content-Type"))
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, b
}

// behMessage is the control API's error body.
type behMessage struct {
	Message string `json:"message"`
}

func TestControlHealth(t *testing.T) {
	e := newTestEnv(t, nil)
	var h struct {
		Status string `json:"status"`
		Now    string `json:"now"`
	}
	if st, _ := behControl(t, e.srv.URL, http.MethodGet, "/_sim/health", "", &h); st != http.StatusOK {
		t.Fatalf("health: %d", st)
	}
	if h.Status != "ok" || h.Now != formatTime(testStart) {
		t.Errorf("health %+v, want ok at %s", h, formatTime(testStart))
	}
	var idx struct {
		Endpoints          []string `json:"endpoints"`
		FaultKinds         []string `json:"faultKinds"`
		ModelledOperations []string `json:"modelledOperations"`
	}
	if st, _ := behControl(t, e.srv.URL, http.MethodGet, "/_sim/", "", &idx); st != http.StatusOK || len(idx.FaultKinds) != 9 || len(idx.Endpoints) == 0 {
		t.Errorf("index: %d %+v", st, idx)
	}
	var m behMessage
	if st, _ := behControl(t, e.srv.URL, http.MethodGet, "/_sim/nope", "", &m); st != http.StatusNotFound || !strings.Contains(m.Message, "/_sim/nope") {
		t.Errorf("unknown endpoint: %d %q", st, m.Message)
	}
}

// TestControlState: GET /_sim/state decodes into StateView, equals the
// model, and filters by account and region.
func TestControlState(t *testing.T) {
	e := newTestEnv(t, nil)
	// Address two more DRSs through the SDK: each account and region is its own.
	if _, err := e.clientFor("AKIDTESTDEFAULT", "us-west-2").DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.clientFor(e.sim.AccessKeyFor("999988887777"), behRegion).DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		query string
		want  []string // account/region, in order
	}{
		{"", []string{"111122223333/us-east-1", "111122223333/us-west-2", "999988887777/us-east-1"}},
		{"?account=111122223333", []string{"111122223333/us-east-1", "111122223333/us-west-2"}},
		{"?region=us-east-1", []string{"111122223333/us-east-1", "999988887777/us-east-1"}},
		{"?account=111122223333&region=us-west-2", []string{"111122223333/us-west-2"}},
		{"?account=000000000000", nil},
	}
	for _, tc := range cases {
		var v StateView
		if st, _ := behControl(t, e.srv.URL, http.MethodGet, "/_sim/state"+tc.query, "", &v); st != http.StatusOK {
			t.Fatalf("state%s: %d", tc.query, st)
		}
		var got []string
		for _, r := range v.Regions {
			got = append(got, r.Account+"/"+r.Region)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("state%s regions %v, want %v", tc.query, got, tc.want)
		}
		if !v.Now.Equal(testStart) {
			t.Errorf("state%s now %s", tc.query, v.Now)
		}
	}

	var v StateView
	behControl(t, e.srv.URL, http.MethodGet, "/_sim/state?account=111122223333&region=us-east-1", "", &v)
	r := v.Regions[0]
	if len(r.Servers) != 6 || len(r.Instances) != 6 || len(r.Jobs) != 1 || r.ActiveJobs != 1 || r.ServersInActiveJobs != 6 || !r.Initialized {
		t.Fatalf("three-tier region: %d servers %d instances %d jobs, %d active (%d servers)",
			len(r.Servers), len(r.Instances), len(r.Jobs), r.ActiveJobs, r.ServersInActiveJobs)
	}
	// The model's own fields survive the JSON round trip, not just the wire
	// shape: timings, per-server timeline and log.
	j := r.Jobs[0]
	if j.JobID != behSeededJob || j.Created.IsZero() || j.Started.IsZero() || !j.Foreign || len(j.Servers) != 6 || len(j.Log) != 7 ||
		j.Log[0].Event != evJobStart || j.Servers[0].LaunchStatus != launchStatusInProgress {
		t.Errorf("seeded job in /_sim/state: %+v", j)
	}
	// The decoded view is the model's view.
	model := e.sim.State(StateFilter{Account: behAccount, Region: behRegion})
	a, _ := json.Marshal(v.Regions)
	b, _ := json.Marshal(model.Regions)
	if !bytes.Equal(a, b) {
		t.Errorf("/_sim/state differs from Sim.State:\n%s\n%s", a, b)
	}
	if v.Requests["DescribeSourceServers"] != 1 || v.Requests["DescribeJobs"] != 1 {
		t.Errorf("request counts %v", v.Requests)
	}
}

// TestControlFaults: add, list (with hits), refuse invalid rules with a
// message naming the problem, and delete.
func TestControlFaults(t *testing.T) {
	e := newTestEnv(t, nil)
	invalid := []struct {
		name, body, want string
	}{
		{"unknown kind", `{"kind":"explode"}`, `unknown kind "explode"`},
		{"missing kind", `{"operation":"DescribeJobs"}`, "kind is required"},
		{"fraction above 1", `{"kind":"error-rate","fraction":2}`, "fraction 2 must be in (0, 1]"},
		{"fraction missing", `{"kind":"error-rate"}`, "fraction 0 must be in (0, 1]"},
		{"bad status", `{"kind":"error-rate","fraction":0.5,"status":418}`, "status 418 must be 500 or 503"},
		{"unknown field", `{"kind":"latency","latency":"1ms","bogus":1}`, `unknown field "bogus"`},
		{"unknown operation", `{"kind":"error-rate","fraction":1,"operation":"LaunchMissiles"}`, `operation "LaunchMissiles"`},
		{"bad stage", `{"kind":"fail-server","servers":["s-3c1730a9e0771ea14"],"stage":"boot"}`, `stage "boot"`},
		{"bad server ID", `{"kind":"fail-server","servers":["web-1"],"stage":"launch"}`, `server "web-1" is not a source server ID`},
		{"hold without for", `{"kind":"hold-servers","servers":["s-3c1730a9e0771ea14"]}`, "hold-servers needs for"},
		{"hold of an unknown server", `{"kind":"hold-servers","servers":["s-0123456789abcdef0"],"for":"5m"}`, "server s-0123456789abcdef0 does not exist"},
		{"hold of a held server", `{"kind":"hold-servers","servers":["s-3c1730a9e0771ea14"],"for":"5m"}`, "already held by job " + behSeededJob},
		{"bad duration", `{"kind":"throttle-storm","for":"soon"}`, `invalid duration "soon"`},
		{"not JSON", `{"kind":`, "invalid JSON body"},
	}
	for _, tc := range invalid {
		var m behMessage
		st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/faults", tc.body, &m)
		if st != http.StatusBadRequest || !strings.Contains(m.Message, tc.want) {
			t.Errorf("%s: %d %q, want 400 naming %q", tc.name, st, m.Message, tc.want)
		}
	}
	if n := len(e.sim.Faults()); n != 0 {
		t.Fatalf("invalid rules were added: %d active", n)
	}

	var added struct {
		ID string `json:"id"`
	}
	body := `{"kind":"error-rate","operation":"DescribeJobs","fraction":1,"status":503,"count":5}`
	if st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/faults", body, &added); st != http.StatusCreated || added.ID == "" {
		t.Fatalf("valid rule: %d %+v", st, added)
	}
	list := func() []Fault {
		t.Helper()
		var l struct {
			Faults []Fault `json:"faults"`
		}
		if st, _ := behControl(t, e.srv.URL, http.MethodGet, "/_sim/faults", "", &l); st != http.StatusOK {
			t.Fatalf("list faults: %d", st)
		}
		return l.Faults
	}
	l := list()
	if len(l) != 1 || l[0].ID != added.ID || l[0].Kind != FaultErrorRate || l[0].Hits != 0 || l[0].Added != formatTime(testStart) {
		t.Fatalf("faults %+v", l)
	}
	for i := 1; i <= 2; i++ {
		_, err := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
		behCode(t, err, "ServiceUnavailableException")
		if h := list()[0].Hits; h != i {
			t.Errorf("after %d failed calls hits %d", i, h)
		}
	}

	if st, _ := behControl(t, e.srv.URL, http.MethodDelete, "/_sim/faults/"+added.ID, "", nil); st != http.StatusNoContent {
		t.Errorf("delete: %d", st)
	}
	if l := list(); len(l) != 0 {
		t.Errorf("after delete: %+v", l)
	}
	if _, err := e.clientFor("AKIDTESTDEFAULT", behRegion, noRetries).DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Errorf("DescribeJobs after the rule was deleted: %v", err)
	}
	var m behMessage
	if st, _ := behControl(t, e.srv.URL, http.MethodDelete, "/_sim/faults/"+added.ID, "", &m); st != http.StatusNotFound || !strings.Contains(m.Message, added.ID) {
		t.Errorf("delete of a deleted rule: %d %q", st, m.Message)
	}
	if st, _ := behControl(t, e.srv.URL, http.MethodDelete, "/_sim/faults/fault-999", "", &m); st != http.StatusNotFound {
		t.Errorf("delete of an unknown rule: %d", st)
	}

	// DELETE /_sim/faults removes every rule, lifting stalls at once.
	for _, b := range []string{`{"kind":"latency","latency":"1ms"}`, `{"kind":"stall-replication","servers":["s-3b9401c1cd270a7a8"]}`} {
		if st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/faults", b, nil); st != http.StatusCreated {
			t.Fatalf("add %s: %d", b, st)
		}
	}
	if st := behServer(t, e, web2).DataReplicationInfo.DataReplicationState; st != types.DataReplicationStateStalled {
		t.Errorf("stall added over HTTP: %s", st)
	}
	if st, _ := behControl(t, e.srv.URL, http.MethodDelete, "/_sim/faults", "", nil); st != http.StatusNoContent {
		t.Errorf("delete all: %d", st)
	}
	if l := list(); len(l) != 0 {
		t.Errorf("after delete all: %+v", l)
	}
	if st := behServer(t, e, web2).DataReplicationInfo.DataReplicationState; st != types.DataReplicationStateContinuous {
		t.Errorf("stall after delete all: %s", st)
	}
}

// TestControlClockAdvance: the manual clock moves over HTTP and the model
// follows; a scaled clock refuses with 409.
func TestControlClockAdvance(t *testing.T) {
	e := newTestEnv(t, nil)
	var out struct {
		Now string `json:"now"`
	}
	if st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/clock/advance", `{"duration":"5m"}`, &out); st != http.StatusOK {
		t.Fatalf("advance: %d", st)
	}
	want := testStart.Add(5 * time.Minute)
	if out.Now != formatTime(want) || !e.clock.Now().Equal(want) || !e.sim.Now().Equal(want) {
		t.Errorf("after advancing 5m: response %s, clock %s, want %s", out.Now, e.clock.Now(), want)
	}
	// The seeded job ended 4 minutes in.
	if st := behJob(t, e, behSeededJob).Status; st != types.JobStatusCompleted {
		t.Errorf("seeded job after 5m: %s", st)
	}
	if jv := e.jobView(behSeededJob); !jv.Ended.Equal(testStart.Add(4 * time.Minute)) {
		t.Errorf("seeded job ended %s", jv.Ended)
	}
	// Seconds as a number work too.
	if st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/clock/advance", `{"duration":90}`, &out); st != http.StatusOK || out.Now != formatTime(want.Add(90*time.Second)) {
		t.Errorf("advance 90 (seconds): %d %s", st, out.Now)
	}
	for _, bad := range []string{`{"duration":"soon"}`, `{"duration":"5m","extra":true}`, `{"duration":-5}`} {
		var m behMessage
		if st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/clock/advance", bad, &m); st != http.StatusBadRequest || m.Message == "" {
			t.Errorf("advance %s: %d %q", bad, st, m.Message)
		}
	}
	if !e.clock.Now().Equal(want.Add(90 * time.Second)) {
		t.Errorf("refused advances moved the clock to %s", e.clock.Now())
	}

	// A simulator on a scaled clock cannot be advanced by hand.
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := New(Options{Scenario: sc, TimeScale: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(scaled)
	t.Cleanup(srv.Close)
	var m behMessage
	if st, _ := behControl(t, srv.URL, http.MethodPost, "/_sim/clock/advance", `{"duration":"5m"}`, &m); st != http.StatusConflict || !strings.Contains(m.Message, "not manual") {
		t.Errorf("advance on a scaled clock: %d %q, want 409", st, m.Message)
	}
	if err := scaled.Advance(time.Minute); err == nil {
		t.Error("Sim.Advance on a scaled clock succeeded")
	}
}
