package drssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"
)

// TestMain runs the package's tests with renderCheck on: every server and
// job any test lists is compared with a fresh encoding of its shape, so
// every drill, termination, fault, tag and replication change the tests
// make also checks that it dropped the render cache of what it changed.
// A difference fails the run.
func TestMain(m *testing.M) {
	renderCheck.Store(true)
	code := m.Run()
	if n, first := renderCheckResult(); n > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d listed items differed from a fresh encoding of their shape (a stale render cache); the first:\n%s\n", n, first)
		code = 1
	}
	os.Exit(code)
}

// simCall serves one DRS request to sim in process, signed (in shape) by
// accessKey for region, and returns the status and body. A nil in sends
// no body; query is appended to the path as it is.
func simCall(t testing.TB, sim *Sim, accessKey, region, method, path string, in any) (int, []byte) {
	t.Helper()
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Date", "20261125T090000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/20261125/"+region+
		"/drs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// threeTierKey signs as the three-tier scenario's account.
const threeTierKey = "AKIDSIM111122223333"

// mustCall is simCall in the three-tier account and us-east-1 that fails
// the test unless the answer is a success.
func mustCall(t testing.TB, sim *Sim, method, path string, in any) []byte {
	t.Helper()
	code, body := simCall(t, sim, threeTierKey, "us-east-1", method, path, in)
	if code/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, code, body)
	}
	return body
}

// listBothWays lists op's pages (maxResults size) with the render cache and
// then, at the same simulated time, as before it (every item's shape
// encoded: Sim.uncachedLists), and fails unless every page is the same to
// the byte. It returns the number of items listed.
func listBothWays(t *testing.T, sim *Sim, step, op string, size int) int {
	t.Helper()
	pages := func(uncached bool) [][]byte {
		sim.uncachedLists.Store(uncached)
		defer sim.uncachedLists.Store(false)
		var out [][]byte
		tok := ""
		for {
			body := mustCall(t, sim, http.MethodPost, "/"+op, map[string]any{"maxResults": size, "nextToken": tok})
			out = append(out, body)
			var p struct {
				NextToken string `json:"nextToken"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("%s: %s: %v: %s", step, op, err, body)
			}
			if tok = p.NextToken; tok == "" {
				return out
			}
		}
	}
	cached, fresh := pages(false), pages(true)
	if len(cached) != len(fresh) {
		t.Fatalf("%s: %s: %d pages of %d with the cache, %d without", step, op, len(cached), size, len(fresh))
	}
	n := 0
	for i := range cached {
		if !bytes.Equal(cached[i], fresh[i]) {
			t.Fatalf("%s: %s page %d of %d differs from a fresh encoding of its items' shapes:\ncached: %s\nfresh:  %s",
				step, op, i, size, cached[i], fresh[i])
		}
		var p struct{ Items []json.RawMessage }
		if err := json.Unmarshal(cached[i], &p); err != nil {
			t.Fatal(err)
		}
		n += len(p.Items)
	}
	return n
}

// TestRenderCacheFollowsEveryChange changes servers and jobs in every way
// the model can, listing every server and job before and after each change
// (so each change meets a warm cache) and comparing the cached pages with
// fresh encodings of the shapes: scenario transitions, drills and
// recoveries step by step (each job and server status, recovery instance
// links, drill replacement, injected failures), termination, tags on
// servers and jobs (history jobs too), launch configuration, replication
// stopped, started, retried, stalled and unstalled, instances disconnected
// and deleted, held servers, deleted jobs, and time passing alone.
func TestRenderCacheFollowsEveryChange(t *testing.T) {
	t.Parallel()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	// Servers in the replication states whose JSON has other members that
	// move with the clock (lag while stalled, eta while catching up) or
	// none (no first byte yet).
	extra := []ServerSpec{
		{ID: "s-1000000000000000a", State: replBacklog, Lag: Duration(20 * time.Minute)},
		{ID: "s-1000000000000000b", State: replInitialSync, AddedAgo: Duration(time.Hour)},
		{ID: "s-1000000000000000c", State: replStalled, Lag: Duration(3 * time.Minute), Error: "UNSTABLE_NETWORK"},
		{ID: "s-1000000000000000d", State: replInitiating, AddedAgo: Duration(10 * time.Minute)},
		{ID: "s-1000000000000000e", State: replDisconnected},
		{ID: "s-1000000000000000f", State: replPaused, Lag: Duration(time.Minute)},
	}
	sc.Regions[0].Servers = append(sc.Regions[0].Servers, extra...)
	sc.Regions[0].History = &HistorySpec{Jobs: 30, Span: Duration(48 * time.Hour)}
	clock := NewManualClock(testStart)
	sim, err := New(Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	check := func(step string) {
		t.Helper()
		steps++
		if n := listBothWays(t, sim, step, "DescribeSourceServers", 1000); n != 12 {
			t.Fatalf("%s: %d servers listed, want 12", step, n)
		}
		listBothWays(t, sim, step, "DescribeSourceServers", 5)
		listBothWays(t, sim, step, "DescribeJobs", 1000)
		listBothWays(t, sim, step, "DescribeJobs", 7)
	}
	// untilIdle steps through every scheduled transition up to d from now,
	// checking after each.
	untilIdle := func(what string, d time.Duration) {
		t.Helper()
		deadline := clock.Now().Add(d)
		for i := 0; ; i++ {
			next, ok := sim.NextEventAt()
			if !ok || next.After(deadline) {
				break
			}
			clock.Set(next)
			check(fmt.Sprintf("%s: transition %d at %s", what, i, next.Format(time.RFC3339Nano)))
		}
	}
	startRecovery := func(drill bool, ids ...string) string {
		t.Helper()
		in := &StartRecoveryInput{IsDrill: &drill}
		for _, id := range ids {
			in.SourceServers = append(in.SourceServers, StartRecoveryRequestSourceServer{SourceServerID: id})
		}
		var out jobOutput
		if err := json.Unmarshal(mustCall(t, sim, http.MethodPost, "/StartRecovery", in), &out); err != nil {
			t.Fatal(err)
		}
		return out.Job.JobID
	}
	instanceOf := func(server string) string {
		t.Helper()
		var out listOutput[RecoveryInstance]
		body := mustCall(t, sim, http.MethodPost, "/DescribeRecoveryInstances",
			&DescribeRecoveryInstancesInput{Filters: &DescribeRecoveryInstancesRequestFilters{SourceServerIDs: []string{server}}})
		if err := json.Unmarshal(body, &out); err != nil || len(out.Items) == 0 {
			t.Fatalf("no recovery instance of %s: %v %s", server, err, body)
		}
		return out.Items[len(out.Items)-1].RecoveryInstanceID
	}
	arn := func(kind, id string) string {
		return "/tags/" + url.PathEscape("arn:aws:drs:us-east-1:111122223333:"+kind+"/"+id)
	}

	check("start")
	clock.Advance(time.Hour)
	check("an hour later, nothing changed but the time")
	untilIdle("the scenario's TERMINATE job", time.Hour) // it already ended within the hour; nothing left
	clock.Advance(time.Second)

	drill := startRecovery(true, db1, db2, app1, "s-1000000000000000b", "s-1000000000000000e")
	check("drill started")
	untilIdle("first drill", 2*time.Hour)

	startRecovery(true, db1) // replaces db1's drill instance inside the job
	check("second drill of db1 started")
	untilIdle("second drill", 2*time.Hour)

	if _, err := sim.AddFault(Fault{Kind: FaultFailServer, Servers: []string{web1}, Stage: stageLaunch}); err != nil {
		t.Fatal(err)
	}
	startRecovery(false, web1, web2)
	check("recovery with a failing launch started")
	untilIdle("recovery with a failing launch", 2*time.Hour)

	history := sim.State(StateFilter{}).Regions[0].Jobs[0].JobID // the oldest job: history
	for _, target := range []string{arn("source-server", db1), arn("job", drill), arn("job", history)} {
		mustCall(t, sim, http.MethodPost, target, &TagResourceInput{Tags: map[string]string{"Owner": "dr-team", "Note": "<&>"}})
		check("tagged " + target)
		mustCall(t, sim, http.MethodDelete, target+"?tagKeys=Owner", nil)
		check("untagged " + target)
	}

	mustCall(t, sim, http.MethodPost, "/UpdateLaunchConfiguration", &UpdateLaunchConfigurationInput{SourceServerID: db2,
		Name: ptr("renamed"), LaunchDisposition: ptr("STOPPED"), CopyTags: ptr(true)})
	check("launch configuration updated")

	mustCall(t, sim, http.MethodPost, "/StopReplication", &StopReplicationInput{SourceServerID: app2})
	check("replication stopped")
	mustCall(t, sim, http.MethodPost, "/StartReplication", &StartReplicationInput{SourceServerID: app2})
	check("replication started")
	untilIdle("rescan", time.Hour)

	stall, err := sim.AddFault(Fault{Kind: FaultStallReplication, Servers: []string{web2}, For: Duration(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	check("replication stalled")
	clock.Advance(5 * time.Minute)
	check("stalled five minutes")
	untilIdle("stall ending by itself", time.Hour)
	sim.RemoveFault(stall)
	if stall, err = sim.AddFault(Fault{Kind: FaultStallReplication, Servers: []string{web2, app1}, State: replDisconnected}); err != nil {
		t.Fatal(err)
	}
	check("replication disconnected")
	sim.RemoveFault(stall)
	check("stall removed")
	mustCall(t, sim, http.MethodPost, "/RetryDataReplication", &RetryDataReplicationInput{SourceServerID: "s-1000000000000000c"})
	check("replication retried")
	untilIdle("retry", time.Hour)

	mustCall(t, sim, http.MethodPost, "/TerminateRecoveryInstances", &TerminateRecoveryInstancesInput{RecoveryInstanceIDs: []string{instanceOf(db1), instanceOf(app1)}})
	check("termination started")
	untilIdle("termination", time.Hour)

	inst := instanceOf(db2)
	mustCall(t, sim, http.MethodPost, "/DisconnectRecoveryInstance", &DisconnectRecoveryInstanceInput{RecoveryInstanceID: inst})
	check("instance disconnected")
	mustCall(t, sim, http.MethodPost, "/DeleteRecoveryInstance", &DeleteRecoveryInstanceInput{RecoveryInstanceID: inst})
	check("instance deleted")

	if _, err := sim.AddFault(Fault{Kind: FaultHoldServers, Servers: []string{app1, web1}, For: Duration(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	check("servers held")
	untilIdle("hold", time.Hour)

	mustCall(t, sim, http.MethodPost, "/DeleteJob", &DeleteJobInput{JobID: drill})
	check("job deleted")
	mustCall(t, sim, http.MethodPost, "/DeleteJob", &DeleteJobInput{JobID: history})
	check("history job deleted")
	clock.Advance(24 * time.Hour)
	check("a day later")
	t.Logf("%d steps compared", steps)
}

// TestRenderCacheServerDataWithNUL: the template's hole marks hold NUL, so
// a server whose own data holds NUL (or the text of a mark) is encoded
// whole each time, and still listed right.
func TestRenderCacheServerDataWithNUL(t *testing.T) {
	t.Parallel()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	odd := map[string]map[string]string{
		"s-2000000000000000a": {"Mark": holeMarks[holeLastSeen]},
		"s-2000000000000000b": {"NUL": "a\x00b"},
		"s-2000000000000000c": {"Escaped": `\u0000lag\u0000`},
		"s-2000000000000000d": {"Lag": holeMarks[holeLag]}, // CONTINUOUS: its lag is no hole
	}
	for id, tags := range odd {
		sc.Regions[0].Servers = append(sc.Regions[0].Servers, ServerSpec{ID: id, Tags: tags})
	}
	sc.Regions[0].Servers = append(sc.Regions[0].Servers, ServerSpec{ID: "s-2000000000000000e", State: replStalled, Lag: Duration(time.Minute),
		Tags: map[string]string{"Mark": holeMarks[holeLag]}})
	odd["s-2000000000000000e"] = nil
	clock := NewManualClock(testStart)
	sim, err := New(Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	listBothWays(t, sim, "start", "DescribeSourceServers", 1000)
	clock.Advance(time.Hour)
	listBothWays(t, sim, "an hour later", "DescribeSourceServers", 1000)
	sim.withRegion("111122223333", "us-east-1", func(r *region, now time.Time) {
		for id, s := range r.servers {
			_, isOdd := odd[id]
			if s.enc.fallback != isOdd && !(id == "s-2000000000000000c" && s.enc.fallback) {
				t.Errorf("server %s: fallback %v, want %v", id, s.enc.fallback, isOdd)
			}
		}
	})
}

// TestListPagesEncodeOnlyWhatChanged: listing again re-encodes nothing;
// a change re-encodes only what it changed.
func TestListPagesEncodeOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	sim, err := New(Options{Clock: NewManualClock(testStart), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	list := func() {
		mustCall(t, sim, http.MethodPost, "/DescribeSourceServers", nil)
		mustCall(t, sim, http.MethodPost, "/DescribeJobs", nil)
	}
	list()
	type encs struct {
		servers map[string]*byte
		jobs    map[string]*byte
	}
	snapshot := func() encs {
		e := encs{servers: map[string]*byte{}, jobs: map[string]*byte{}}
		sim.withRegion("111122223333", "us-east-1", func(r *region, now time.Time) {
			for id, s := range r.servers {
				if !s.enc.ok || s.enc.fallback || len(s.enc.raw) == 0 {
					t.Fatalf("server %s not cached after listing", id)
				}
				e.servers[id] = &s.enc.raw[0]
			}
			for id, j := range r.jobs {
				if j.enc == nil {
					t.Fatalf("job %s not cached after listing", id)
				}
				e.jobs[id] = &j.enc[0]
			}
		})
		return e
	}
	before := snapshot()
	list()
	if again := snapshot(); !maps.Equal(before.servers, again.servers) || !maps.Equal(before.jobs, again.jobs) {
		t.Fatal("listing again re-encoded servers or jobs that had not changed")
	}
	mustCall(t, sim, http.MethodPost, "/tags/"+url.PathEscape("arn:aws:drs:us-east-1:111122223333:source-server/"+db1),
		&TagResourceInput{Tags: map[string]string{"k": "v"}})
	list()
	after := snapshot()
	for id, p := range after.servers {
		if changed := p != before.servers[id]; changed != (id == db1) {
			t.Errorf("server %s re-encoded: %v (only %s was tagged)", id, changed, db1)
		}
	}
	if !maps.Equal(before.jobs, after.jobs) {
		t.Error("tagging a server re-encoded jobs")
	}
}
