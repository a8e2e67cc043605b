package drssim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// historySim is the three-tier scenario with n history jobs (and the
// scenario edited by edit, if given), on a manual clock at testStart.
func historySim(t testing.TB, n int, seed int64, edit func(*Scenario)) (*Sim, *ManualClock) {
	t.Helper()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	sc.Regions[0].History = &HistorySpec{Jobs: n}
	if edit != nil {
		edit(sc)
	}
	clock := NewManualClock(testStart)
	sim, err := New(Options{Scenario: sc, Clock: clock, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return sim, clock
}

// describeJobs lists every job DescribeJobs answers for the filters, in
// pages of size (0: the default), and returns them with the number of
// pages.
func describeJobs(t testing.TB, sim *Sim, f *DescribeJobsRequestFilters, size int) ([]Job, int) {
	t.Helper()
	return describeJobsAs[Job](t, sim, f, size)
}

// jobID is as much of a Job as a test of order needs.
type jobID struct {
	JobID string `json:"jobID"`
}

// describeJobsAs is describeJobs decoding each job into a T.
func describeJobsAs[T any](t testing.TB, sim *Sim, f *DescribeJobsRequestFilters, size int) ([]T, int) {
	t.Helper()
	var all []T
	tok := ""
	for pages := 1; ; pages++ {
		in := &DescribeJobsInput{Filters: f, NextToken: tok}
		if size > 0 {
			in.MaxResults = ptr(int64(size))
		}
		var out struct {
			Items     []T    `json:"items"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(mustCall(t, sim, http.MethodPost, "/DescribeJobs", in), &out); err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Items...)
		if tok = out.NextToken; tok == "" {
			return all, pages
		}
	}
}

func TestHistoryScenarioParsing(t *testing.T) {
	t.Parallel()
	sc, err := ParseScenario([]byte(behBaseScenario + "    history: {jobs: 120, span: 30d, serversPerJob: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h := sc.Regions[0].History; h == nil || h.Jobs != 120 || h.Span.D() != 30*24*time.Hour || h.ServersPerJob != 2 {
		t.Fatalf("history parsed as %+v", h)
	}
	// The same in JSON (the control API's and Go's form).
	var fromJSON HistorySpec
	if err := json.Unmarshal([]byte(`{"jobs":120,"span":"720h","serversPerJob":2}`), &fromJSON); err != nil || fromJSON != *sc.Regions[0].History {
		t.Fatalf("JSON history %+v, %v", fromJSON, err)
	}

	bad := []struct {
		name, history string
		want          string
	}{
		{"negative jobs", "{jobs: -1}", "history: jobs -1 must be between 0 and 100000"},
		{"too many jobs", "{jobs: 100001}", "history: jobs 100001 must be between 0 and 100000"},
		{"negative span", "{jobs: 10, span: -1h}", `invalid duration "-1h"`},
		{"absurd span", "{jobs: 10, span: 4000d}", "span 96000h0m0s must be positive and at most 87600h0m0s"},
		{"negative servers per job", "{jobs: 10, serversPerJob: -2}", "serversPerJob -2 must be between 1 and 100"},
		{"more servers per job than the quota", "{jobs: 10, serversPerJob: 101}", "serversPerJob 101 must be between 1 and 100"},
		{"unknown key", "{jobs: 10, kind: drills}", "field kind not found"},
	}
	for _, tc := range bad {
		if _, err := ParseScenario([]byte(behBaseScenario + "    history: " + tc.history + "\n")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// Go callers set Span directly: a negative one is refused too.
	sc.Regions[0].History = &HistorySpec{Jobs: 10, Span: Duration(-time.Hour)}
	if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), "regions[0].history: span -1h0m0s must be positive") {
		t.Errorf("negative span: %v", err)
	}
	// A region without servers has none to take part in its history.
	sc.Regions[0].History = &HistorySpec{Jobs: 10}
	sc.Regions[0].Servers, sc.Regions[0].Jobs = nil, nil
	if _, err := New(Options{Scenario: sc, Clock: NewManualClock(testStart)}); err == nil || !strings.Contains(err.Error(), "no source servers") {
		t.Errorf("history without servers: %v", err)
	}
}

// TestHistoryJobsList: 20,000 history jobs list like any other job: newest
// first after the scenario's own job, completed, in pages of any size, by
// date and by ID; as drills of five servers with a TERMINATE job every
// tenth; leaving no recovery instance behind.
func TestHistoryJobsList(t *testing.T) {
	t.Parallel()
	const n = 20000
	sim, _ := historySim(t, n, 1, nil)
	all, pages := describeJobs(t, sim, nil, 1000)
	if len(all) != n+1 || pages != 21 {
		t.Fatalf("%d jobs in %d pages of 1000, want %d in 21", len(all), pages, n+1)
	}
	if all[0].JobID != "drsjob-3f0c2a9b7d1e45a60" {
		t.Errorf("first listed %s, want the scenario's TERMINATE job (the newest)", all[0].JobID)
	}
	seen := map[string]bool{}
	var terminate int
	oldest, newest := testStart, time.Time{}
	for i, j := range all {
		if seen[j.JobID] {
			t.Fatalf("job %s listed twice", j.JobID)
		}
		seen[j.JobID] = true
		if i > 0 && j.CreationDateTime > all[i-1].CreationDateTime {
			t.Fatalf("job %d (%s, created %s) listed after a job created before it (%s)", i, j.JobID, j.CreationDateTime, all[i-1].CreationDateTime)
		}
		if i == 0 {
			continue
		}
		created, err1 := parseTime(j.CreationDateTime)
		ended, err2 := parseTime(j.EndDateTime)
		if err1 != nil || err2 != nil || ended.Before(created) || ended.Sub(created) > 10*time.Minute || !ended.Before(testStart) {
			t.Fatalf("history job %s created %s ended %s (%v %v)", j.JobID, j.CreationDateTime, j.EndDateTime, err1, err2)
		}
		oldest, newest = minTime(oldest, created), maxTime(newest, created)
		if j.Status != jobStatusCompleted || len(j.ParticipatingServers) != 5 {
			t.Fatalf("history job %+v", j)
		}
		want := launchStatusLaunched
		switch {
		case j.Type == jobTypeLaunch && j.InitiatedBy == initStartDrill:
		case j.Type == jobTypeTerminate && j.InitiatedBy == initTerminate:
			terminate++
			want = launchStatusTerminated
		default:
			t.Fatalf("history job %s is a %s job initiated by %s", j.JobID, j.Type, j.InitiatedBy)
		}
		for _, ps := range j.ParticipatingServers {
			if ps.LaunchStatus != want || !validRecoveryInstanceID(ps.RecoveryInstanceID) || !validSourceServerID(ps.SourceServerID) {
				t.Fatalf("history job %s (%s): participating server %+v", j.JobID, j.Type, ps)
			}
		}
	}
	if terminate != n/10 {
		t.Errorf("%d TERMINATE jobs, want every tenth: %d", terminate, n/10)
	}
	span := 90 * 24 * time.Hour
	if !oldest.Equal(testStart.Add(-span)) || newest.Before(testStart.Add(-span/n-time.Second)) || !newest.Before(testStart) {
		t.Errorf("history created from %s to %s, want evenly over the 90 days before %s", oldest, newest, testStart)
	}

	sameIDs := func(a []jobID, b []Job) bool {
		return slices.EqualFunc(a, b, func(a jobID, b Job) bool { return a.JobID == b.JobID })
	}
	// Date filters select what they bound, inclusively, by creation time,
	// in pages of 1000 and of the default size (50), or of 7 for a few.
	from, to := all[2000].CreationDateTime, all[300].CreationDateTime
	for _, tc := range []struct {
		name string
		f    DescribeJobsRequestFilters
		want []Job
	}{
		{"fromDate", DescribeJobsRequestFilters{FromDate: from}, all[:2001]},
		{"toDate", DescribeJobsRequestFilters{ToDate: all[19000].CreationDateTime}, all[19000:]},
		{"both", DescribeJobsRequestFilters{FromDate: from, ToDate: to}, all[300:2001]},
		{"one instant", DescribeJobsRequestFilters{FromDate: from, ToDate: from}, all[2000:2001]},
		{"before everything", DescribeJobsRequestFilters{ToDate: "2020-01-01T00:00:00Z"}, nil},
		{"jobIDs", DescribeJobsRequestFilters{JobIDs: []string{all[19999].JobID, all[7].JobID, "drsjob-00000000000000000", all[7].JobID, all[0].JobID}},
			[]Job{all[0], all[7], all[19999]}},
		{"jobIDs and dates", DescribeJobsRequestFilters{JobIDs: []string{all[19999].JobID, all[7].JobID, all[6000].JobID, all[0].JobID}, FromDate: from, ToDate: to},
			nil},
		{"jobIDs within dates", DescribeJobsRequestFilters{JobIDs: []string{all[400].JobID, all[7].JobID, all[1999].JobID}, FromDate: from, ToDate: to},
			[]Job{all[400], all[1999]}},
	} {
		sizes := []int{1000, 7} // small pages for small answers, to keep the test quick
		if len(tc.want) > 100 {
			sizes[1] = 0 // the default, 50
		}
		for _, size := range sizes {
			got, _ := describeJobsAs[jobID](t, sim, &tc.f, size)
			if !sameIDs(got, tc.want) {
				t.Errorf("%s, pages of %d: %d jobs, want %d", tc.name, size, len(got), len(tc.want))
			}
		}
	}

	// A history job's log, tags and deletion work as for any job.
	h := all[1]
	var log listOutput[JobLog]
	if err := json.Unmarshal(mustCall(t, sim, http.MethodPost, "/DescribeJobLogItems", &DescribeJobLogItemsInput{JobID: h.JobID}), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Items) != 2 || log.Items[0].Event != evJobStart || log.Items[1].Event != evJobEnd || log.Items[1].LogDateTime != h.EndDateTime {
		t.Errorf("history job log: %+v", log.Items)
	}
	tags := "/tags/" + url.PathEscape(h.Arn)
	mustCall(t, sim, http.MethodPost, tags, &TagResourceInput{Tags: map[string]string{"Audit": "2026"}})
	got, _ := describeJobs(t, sim, &DescribeJobsRequestFilters{JobIDs: []string{h.JobID}}, 0)
	if len(got) != 1 || got[0].Tags["Audit"] != "2026" {
		t.Errorf("tagged history job lists as %+v", got)
	}
	mustCall(t, sim, http.MethodPost, "/DeleteJob", &DeleteJobInput{JobID: h.JobID})
	if got, _ := describeJobs(t, sim, &DescribeJobsRequestFilters{FromDate: h.CreationDateTime}, 0); len(got) != 1 || got[0].JobID != all[0].JobID {
		t.Errorf("after deleting %s, jobs from its creation: %d", h.JobID, len(got))
	}

	// No recovery instance is left behind: the scenario's six, as without
	// history.
	var insts listOutput[RecoveryInstance]
	if err := json.Unmarshal(mustCall(t, sim, http.MethodPost, "/DescribeRecoveryInstances", &DescribeRecoveryInstancesInput{}), &insts); err != nil {
		t.Fatal(err)
	}
	if len(insts.Items) != 6 {
		t.Errorf("%d recovery instances, want the scenario's 6", len(insts.Items))
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestHistoryFiltersAreCheap: with 20,000 history jobs, a DescribeJobs by
// date or by ID encodes only the jobs it lists (a date range is found by
// binary search, IDs are looked up), never the whole history.
func TestHistoryFiltersAreCheap(t *testing.T) {
	t.Parallel()
	sim, _ := historySim(t, 20000, 1, nil)
	encoded := func() int {
		n := 0
		sim.withRegion("111122223333", "us-east-1", func(r *region, now time.Time) {
			for _, j := range r.jobList {
				if j.enc != nil {
					n++
				}
			}
		})
		return n
	}
	day := testStart.Add(-24 * time.Hour).Format(time.RFC3339)
	got, _ := describeJobs(t, sim, &DescribeJobsRequestFilters{FromDate: day}, 1000)
	if len(got) < 200 || len(got) > 240 {
		t.Errorf("%d jobs from the last day, want about 20000/90+1", len(got))
	}
	if n := encoded(); n != len(got) {
		t.Errorf("listing %d jobs of the last day encoded %d", len(got), n)
	}
	old := testStart.Add(-89 * 24 * time.Hour).Format(time.RFC3339)
	mustCall(t, sim, http.MethodPost, "/DescribeJobs", &DescribeJobsInput{Filters: &DescribeJobsRequestFilters{ToDate: old}})
	if n := encoded(); n != len(got)+50 {
		t.Errorf("a page of the oldest jobs: %d encoded, want %d", n, len(got)+50)
	}
}

// TestHistoryCountsAgainstNoQuota: history jobs hold no server and count
// against no quota, even quotas of one active job and six servers.
func TestHistoryCountsAgainstNoQuota(t *testing.T) {
	t.Parallel()
	sim, clock := historySim(t, 20000, 1, func(sc *Scenario) {
		sc.Quotas = Quotas{ActiveJobs: 1, ServersInActiveJobs: 6}
	})
	st := sim.State(StateFilter{}).Regions[0]
	if st.ActiveJobs != 1 || st.ServersInActiveJobs != 6 {
		t.Fatalf("active jobs %d, servers in active jobs %d: want the scenario's TERMINATE job alone (1, 6)", st.ActiveJobs, st.ServersInActiveJobs)
	}
	clock.Advance(10 * time.Minute) // the TERMINATE job is over
	in := &StartRecoveryInput{IsDrill: ptr(true)}
	for _, id := range []string{db1, db2, app1, app2, web1, web2} {
		in.SourceServers = append(in.SourceServers, StartRecoveryRequestSourceServer{SourceServerID: id})
	}
	mustCall(t, sim, http.MethodPost, "/StartRecovery", in)
	code, body := simCall(t, sim, threeTierKey, "us-east-1", http.MethodPost, "/StartRecovery", in)
	if code != http.StatusConflict {
		t.Errorf("a second drill of the same servers: HTTP %d %s, want 409", code, body)
	}
	if st := sim.State(StateFilter{}).Regions[0]; st.ActiveJobs != 1 || st.ServersInActiveJobs != 6 {
		t.Errorf("active jobs %d, servers in active jobs %d: want the drill alone (1, 6)", st.ActiveJobs, st.ServersInActiveJobs)
	}
}

// TestHistoryDeterministic: the same seed gives the same history, another
// seed another; and history draws from its own generator, so a scenario
// with history runs the same (the same job IDs, the same timings) as
// without.
func TestHistoryDeterministic(t *testing.T) {
	t.Parallel()
	ids := func(seed int64, n int) ([]string, string) {
		sim, clock := historySim(t, n, seed, nil)
		jobs, _ := describeJobs(t, sim, nil, 1000)
		var out []string
		for _, j := range jobs {
			b, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		clock.Advance(10 * time.Minute)
		var started jobOutput
		if err := json.Unmarshal(mustCall(t, sim, http.MethodPost, "/StartRecovery",
			&StartRecoveryInput{IsDrill: ptr(true), SourceServers: []StartRecoveryRequestSourceServer{{SourceServerID: db1}}}), &started); err != nil {
			t.Fatal(err)
		}
		return out, started.Job.JobID
	}
	a, drillA := ids(1, 500)
	b, drillB := ids(1, 500)
	c, _ := ids(2, 500)
	_, drillNone := ids(1, 0)
	if !slices.Equal(a, b) {
		t.Error("two simulators with seed 1 seeded different histories")
	}
	if slices.Equal(a[1:], c[1:]) {
		t.Error("seeds 1 and 2 seeded the same history")
	}
	if drillA != drillB || drillA != drillNone {
		t.Errorf("a drill after start is %s, %s with history and %s without: history changed the rest of the run", drillA, drillB, drillNone)
	}
}

// TestHistoryThroughSDK pages DescribeJobs over 20,000 history jobs, by
// date, with the real SDK's paginator, and reads a history job's log.
func TestHistoryThroughSDK(t *testing.T) {
	t.Parallel()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Regions[0].History = &HistorySpec{Jobs: 20000}
	e := newTestEnv(t, sc)
	from := testStart.Add(-3 * 24 * time.Hour).Format(time.RFC3339)
	p := drs.NewDescribeJobsPaginator(e.client, &drs.DescribeJobsInput{
		Filters: &types.DescribeJobsRequestFilters{FromDate: aws.String(from)}, MaxResults: aws.Int32(100)})
	var jobs []types.Job
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, out.Items...)
	}
	want, _ := describeJobs(t, e.sim, &DescribeJobsRequestFilters{FromDate: from}, 1000)
	if len(jobs) != len(want) || len(jobs) < 660 || len(jobs) > 680 {
		t.Fatalf("SDK paginator: %d jobs of the last 3 days, in process %d; want about 20000/30+1", len(jobs), len(want))
	}
	last := jobs[len(jobs)-1]
	if aws.ToString(last.JobID) != want[len(want)-1].JobID || last.Status != types.JobStatusCompleted || len(last.ParticipatingServers) != 5 {
		t.Errorf("the oldest job of the last 3 days: %+v", last)
	}
	logs, err := e.client.DescribeJobLogItems(ctx(t), &drs.DescribeJobLogItemsInput{JobID: last.JobID})
	if err != nil || len(logs.Items) != 2 {
		t.Fatalf("DescribeJobLogItems of a history job: %v, %d items", err, len(logs.Items))
	}
}

// TestScenarioJobsNewestFirst: the scenario's own jobs and its history list
// newest first by creation time, whatever their order in the scenario: a
// job created before the history's span lists after it.
func TestScenarioJobsNewestFirst(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(behBaseScenario, "        type: LAUNCH\n", "        type: LAUNCH\n        createdAgo: 100d\n", 1) +
		"    history: {jobs: 10, span: 10d}\n"
	sc, err := ParseScenario([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sc.Regions[0].Jobs[0].CreatedAgo = Duration(time.Minute)
	sim, err := New(Options{Scenario: sc, Clock: NewManualClock(testStart), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := describeJobs(t, sim, nil, 0)
	if len(jobs) != 12 || jobs[0].JobID != "drsjob-00000000000000001" || jobs[11].JobID != "drsjob-00000000000000002" {
		var ids []string
		for _, j := range jobs {
			ids = append(ids, j.JobID+" "+j.CreationDateTime)
		}
		t.Fatalf("jobs listed:\n%s\nwant drsjob-00000000000000001 (a minute ago) first, the history, drsjob-00000000000000002 (100 days ago) last", strings.Join(ids, "\n"))
	}
}
