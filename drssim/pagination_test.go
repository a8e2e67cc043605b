package drssim

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
)

// Pagination tests: paginated operations walked with the SDK's own
// paginators (docs/drs.md §7).

const wireAccount = "111122223333"

// wireManyServers is a scenario of n generated servers in one account and
// region, with quotas raised so tests can start many jobs.
func wireManyServers(n int, q Quotas) *Scenario {
	return &Scenario{DefaultAccount: wireAccount, Quotas: q,
		Generate: &GenerateSpec{Servers: n, Accounts: []string{wireAccount}, Regions: []string{"us-east-1"}}}
}

// wireServerIDs returns the IDs of the servers in the model, sorted.
func wireServerIDs(t *testing.T, e *testEnv) []string {
	t.Helper()
	var ids []string
	for _, s := range wireRegion(t, e, wireAccount, "us-east-1").Servers {
		ids = append(ids, s.SourceServerID)
	}
	sort.Strings(ids)
	return ids
}

func TestDescribeSourceServersPaginator(t *testing.T) {
	e := newTestEnv(t, wireManyServers(457, Quotas{}))
	want := wireServerIDs(t, e)
	if len(want) != 457 {
		t.Fatalf("scenario has %d servers, want 457", len(want))
	}
	for _, size := range []int32{0, 1, 7, 50, 100, 456, 457, 458, 1000} {
		t.Run(fmt.Sprintf("maxResults=%d", size), func(t *testing.T) {
			p := drs.NewDescribeSourceServersPaginator(e.client, &drs.DescribeSourceServersInput{},
				func(o *drs.DescribeSourceServersPaginatorOptions) { o.Limit = size })
			var got []string
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				pages++
				limit := int(size)
				if limit == 0 {
					limit = defaultPageSize
				}
				if len(out.Items) == 0 || len(out.Items) > limit {
					t.Fatalf("page %d has %d items (limit %d)", pages, len(out.Items), limit)
				}
				if out.NextToken != nil && *out.NextToken == "" {
					t.Fatalf("page %d: an empty nextToken must be omitted", pages)
				}
				for _, s := range out.Items {
					got = append(got, aws.ToString(s.SourceServerID))
				}
				if pages > 1000 {
					t.Fatal("paginator does not stop")
				}
			}
			limit := int(size)
			if limit == 0 {
				limit = defaultPageSize
			}
			if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
			if !sort.StringsAreSorted(got) {
				t.Error("servers are not in ID order")
			}
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("server %s returned twice", id)
				}
				seen[id] = true
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("walk returned %d servers, model has %d", len(got), len(want))
			}
		})
	}
	// Filters are applied across pages: a filter for 30 IDs, 4 per page.
	sub := []string{}
	for i := 0; i < len(want); i += 15 {
		sub = append(sub, want[i])
	}
	p := drs.NewDescribeSourceServersPaginator(e.client, &drs.DescribeSourceServersInput{
		Filters: &types.DescribeSourceServersRequestFilters{SourceServerIDs: sub}},
		func(o *drs.DescribeSourceServersPaginatorOptions) { o.Limit = 4 })
	var got []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.Items {
			got = append(got, aws.ToString(s.SourceServerID))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(sub) {
		t.Errorf("filtered walk: %v, want %v", got, sub)
	}
}

// wireStartJobs starts one drill per server, one simulated second apart, and
// returns the job IDs in creation order.
func wireStartJobs(t *testing.T, e *testEnv, servers []string) []string {
	t.Helper()
	var ids []string
	for _, s := range servers {
		out, err := e.client.StartRecovery(ctx(t), wireLaunch(true, s))
		if err != nil {
			t.Fatalf("StartRecovery %s: %v", s, err)
		}
		ids = append(ids, aws.ToString(out.Job.JobID))
		e.advance(time.Second)
	}
	return ids
}

func wireWalkJobs(t *testing.T, c *drs.Client, in *drs.DescribeJobsInput, size int32) []types.Job {
	t.Helper()
	p := drs.NewDescribeJobsPaginator(c, in, func(o *drs.DescribeJobsPaginatorOptions) { o.Limit = size })
	var got []types.Job
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) > int(size) {
			t.Fatalf("page of %d items, limit %d", len(out.Items), size)
		}
		got = append(got, out.Items...)
	}
	return got
}

func TestDescribeJobsPaginatorNewestFirst(t *testing.T) {
	e := newTestEnv(t, wireManyServers(80, Quotas{ActiveJobs: 1000, ServersInActiveJobs: 1000}))
	servers := wireServerIDs(t, e)
	created := wireStartJobs(t, e, servers[:60])
	// Two more in the same simulated instant: ties keep creation order.
	for _, s := range servers[60:62] {
		out, err := e.client.StartRecovery(ctx(t), wireLaunch(true, s))
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, aws.ToString(out.Job.JobID))
	}
	for _, size := range []int32{1, 7, 50, 62, 100} {
		t.Run(fmt.Sprintf("maxResults=%d", size), func(t *testing.T) {
			got := wireWalkJobs(t, e.client, &drs.DescribeJobsInput{}, size)
			if len(got) != len(created) {
				t.Fatalf("%d jobs, want %d", len(got), len(created))
			}
			for i, j := range got {
				if want := created[len(created)-1-i]; aws.ToString(j.JobID) != want {
					t.Fatalf("item %d is %s, want %s (newest first)", i, aws.ToString(j.JobID), want)
				}
				if i > 0 && aws.ToString(got[i-1].CreationDateTime) < aws.ToString(j.CreationDateTime) {
					t.Fatalf("item %d created %s after item %d (%s)", i, aws.ToString(j.CreationDateTime), i-1, aws.ToString(got[i-1].CreationDateTime))
				}
			}
		})
	}
	// A job created between pages neither repeats nor drops the others.
	first, err := e.client.DescribeJobs(ctx(t), &drs.DescribeJobsInput{MaxResults: aws.Int32(10)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	e.advance(time.Second)
	late, err := e.client.StartRecovery(ctx(t), wireLaunch(true, servers[70]))
	if err != nil {
		t.Fatal(err)
	}
	lateID := aws.ToString(late.Job.JobID)
	seen := map[string]int{}
	for _, j := range first.Items {
		seen[aws.ToString(j.JobID)]++
	}
	rest := wireWalkJobs(t, e.client, &drs.DescribeJobsInput{NextToken: first.NextToken}, 10)
	for _, j := range rest {
		seen[aws.ToString(j.JobID)]++
	}
	for _, id := range created {
		if seen[id] != 1 {
			t.Errorf("job %s seen %d times across the walk", id, seen[id])
		}
	}
	if seen[lateID] != 0 {
		t.Errorf("the job created after the first page (newer than it) appeared %d times in later pages", seen[lateID])
	}
	// A fresh walk shows it first.
	if got := wireWalkJobs(t, e.client, &drs.DescribeJobsInput{}, 25); aws.ToString(got[0].JobID) != lateID || len(got) != len(created)+1 {
		t.Errorf("fresh walk: first %s of %d, want %s of %d", aws.ToString(got[0].JobID), len(got), lateID, len(created)+1)
	}
	// A job deleted between pages is skipped, the rest still come once.
	e.advanceUntil(2*time.Hour, func() bool { return wireRegion(t, e, wireAccount, "us-east-1").ActiveJobs == 0 })
	first, err = e.client.DescribeJobs(ctx(t), &drs.DescribeJobsInput{MaxResults: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	victim := created[len(created)-20] // on a later page
	if _, err := e.client.DeleteJob(ctx(t), &drs.DeleteJobInput{JobID: aws.String(victim)}); err != nil {
		t.Fatal(err)
	}
	rest = wireWalkJobs(t, e.client, &drs.DescribeJobsInput{NextToken: first.NextToken}, 5)
	if n := len(first.Items) + len(rest); n != len(created) { // +1 late, -1 deleted
		t.Errorf("walk across a deletion returned %d jobs, want %d", n, len(created))
	}
	for _, j := range rest {
		if aws.ToString(j.JobID) == victim {
			t.Error("deleted job listed")
		}
	}
	// Filters combine with pagination.
	filtered := wireWalkJobs(t, e.client, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: created[:9]}}, 2)
	if len(filtered) != 9 || aws.ToString(filtered[0].JobID) != created[8] || aws.ToString(filtered[8].JobID) != created[0] {
		t.Errorf("filtered walk: %d jobs", len(filtered))
	}
}

func TestDescribeJobLogItemsPaginator(t *testing.T) {
	e := newTestEnv(t, nil)
	wireWaitSeeded(e)
	id := wireRunDrill(e, e.client, db1, db2, app1, web1)
	want := e.jobView(id).Log
	if len(want) < 10 {
		t.Fatalf("a four-server drill logged only %d events", len(want))
	}
	for _, size := range []int32{1, 3, int32(len(want)), 100} {
		t.Run(fmt.Sprintf("maxResults=%d", size), func(t *testing.T) {
			p := drs.NewDescribeJobLogItemsPaginator(e.client, &drs.DescribeJobLogItemsInput{JobID: aws.String(id)},
				func(o *drs.DescribeJobLogItemsPaginatorOptions) { o.Limit = size })
			var got []types.JobLog
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(out.Items) > int(size) {
					t.Fatalf("page of %d items", len(out.Items))
				}
				got = append(got, out.Items...)
			}
			if wantPages := (len(want) + int(size) - 1) / int(size); pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
			if len(got) != len(want) {
				t.Fatalf("%d log items, model has %d", len(got), len(want))
			}
			for i := range got {
				if string(got[i].Event) != want[i].Event || aws.ToString(got[i].LogDateTime) != want[i].LogDateTime {
					t.Fatalf("item %d: %s at %s, model has %s at %s", i, got[i].Event, aws.ToString(got[i].LogDateTime), want[i].Event, want[i].LogDateTime)
				}
				if i > 0 && aws.ToString(got[i].LogDateTime) < aws.ToString(got[i-1].LogDateTime) {
					t.Fatalf("log not chronological at %d", i)
				}
			}
			if got[0].Event != types.JobLogEventJobStart || got[len(got)-1].Event != types.JobLogEventJobEnd {
				t.Errorf("log runs from %s to %s", got[0].Event, got[len(got)-1].Event)
			}
		})
	}
}

func TestDescribeRecoveryInstancesPaginator(t *testing.T) {
	e := newTestEnv(t, wireManyServers(40, Quotas{}))
	servers := wireServerIDs(t, e)
	wireRunDrill(e, e.client, servers[:33]...)
	var want []string
	for _, in := range wireRegion(t, e, wireAccount, "us-east-1").Instances {
		if !in.Deleted && in.Terminated.IsZero() {
			want = append(want, in.RecoveryInstanceID)
		}
	}
	sort.Strings(want)
	if len(want) != 33 {
		t.Fatalf("%d live instances in the model, want 33", len(want))
	}
	for _, size := range []int32{1, 4, 33, 50} {
		t.Run(fmt.Sprintf("maxResults=%d", size), func(t *testing.T) {
			p := drs.NewDescribeRecoveryInstancesPaginator(e.client, &drs.DescribeRecoveryInstancesInput{},
				func(o *drs.DescribeRecoveryInstancesPaginatorOptions) { o.Limit = size })
			var got []string
			for p.HasMorePages() {
				out, err := p.NextPage(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Items) > int(size) {
					t.Fatalf("page of %d items", len(out.Items))
				}
				for _, in := range out.Items {
					got = append(got, aws.ToString(in.RecoveryInstanceID))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("walk %v\nmodel %v", got, want)
			}
		})
	}
	// Filtered by source server, across pages.
	p := drs.NewDescribeRecoveryInstancesPaginator(e.client, &drs.DescribeRecoveryInstancesInput{
		Filters: &types.DescribeRecoveryInstancesRequestFilters{SourceServerIDs: servers[:5]}},
		func(o *drs.DescribeRecoveryInstancesPaginatorOptions) { o.Limit = 2 })
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range out.Items {
			n++
			if !wireContains(servers[:5], aws.ToString(in.SourceServerID)) {
				t.Errorf("instance of %s outside the filter", aws.ToString(in.SourceServerID))
			}
		}
	}
	if n != 5 {
		t.Errorf("filtered walk: %d instances, want 5", n)
	}
}

func wireContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestBadPaginationInput(t *testing.T) {
	e := newTestEnv(t, wireManyServers(120, Quotas{}))
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	servers := wireServerIDs(t, e)
	srvPage, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{MaxResults: aws.Int32(10)})
	if err != nil || srvPage.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	wireStartJobs(t, e, servers[:3])
	e.advanceUntil(2*time.Hour, func() bool { return wireRegion(t, e, wireAccount, "us-east-1").ActiveJobs == 0 })
	jobPage, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{MaxResults: aws.Int32(1)})
	if err != nil || jobPage.NextToken == nil {
		t.Fatalf("first job page: %v", err)
	}
	tok := aws.ToString(srvPage.NextToken)
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	cases := []struct {
		name string
		call func() error
	}{
		{"garbage token", func() error {
			_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: aws.String("not-a-token!")})
			return err
		}},
		{"base64 garbage token", func() error {
			_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: aws.String("aGVsbG8gd29ybGQ")})
			return err
		}},
		{"tampered token", func() error {
			_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: aws.String(string(tampered))})
			return err
		}},
		{"token over 2048 characters", func() error {
			_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: aws.String(tok + string(make([]byte, 2048)))})
			return err
		}},
		{"token of DescribeJobs in DescribeSourceServers", func() error {
			_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: jobPage.NextToken})
			return err
		}},
		{"token of DescribeSourceServers in DescribeJobs", func() error {
			_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{NextToken: srvPage.NextToken})
			return err
		}},
		{"token of DescribeSourceServers in DescribeRecoveryInstances", func() error {
			_, err := c.DescribeRecoveryInstances(ctx(t), &drs.DescribeRecoveryInstancesInput{NextToken: srvPage.NextToken})
			return err
		}},
		{"token with changed filters", func() error {
			_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: srvPage.NextToken,
				Filters: &types.DescribeSourceServersRequestFilters{SourceServerIDs: servers[:50]}})
			return err
		}},
		{"job token with changed filters", func() error {
			_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{NextToken: jobPage.NextToken,
				Filters: &types.DescribeJobsRequestFilters{FromDate: aws.String("2026-01-01T00:00:00Z")}})
			return err
		}},
		{"job log token of another job", func() error {
			jobs := wireRegion(t, e, wireAccount, "us-east-1").Jobs
			p, err := c.DescribeJobLogItems(ctx(t), &drs.DescribeJobLogItemsInput{JobID: aws.String(jobs[0].JobID), MaxResults: aws.Int32(1)})
			if err != nil || p.NextToken == nil {
				t.Fatalf("job log page: %v", err)
			}
			_, err = c.DescribeJobLogItems(ctx(t), &drs.DescribeJobLogItemsInput{JobID: aws.String(jobs[1].JobID), NextToken: p.NextToken})
			return err
		}},
		{"maxResults 0 in DescribeSourceServers", func() error {
			_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{MaxResults: aws.Int32(0)})
			return err
		}},
		{"maxResults 0 in DescribeJobs", func() error {
			_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{MaxResults: aws.Int32(0)})
			return err
		}},
		{"maxResults -5 in DescribeRecoveryInstances", func() error {
			_, err := c.DescribeRecoveryInstances(ctx(t), &drs.DescribeRecoveryInstancesInput{MaxResults: aws.Int32(-5)})
			return err
		}},
		{"maxResults 0 in DescribeJobLogItems", func() error {
			jobs := wireRegion(t, e, wireAccount, "us-east-1").Jobs
			_, err := c.DescribeJobLogItems(ctx(t), &drs.DescribeJobLogItemsInput{JobID: aws.String(jobs[0].JobID), MaxResults: aws.Int32(0)})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
				t.Fatalf("want ValidationException, got %v", err)
			}
			if ae.ErrorMessage() == "" {
				t.Error("no message")
			}
		})
	}
	// The genuine token still works after all that.
	out, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: srvPage.NextToken, MaxResults: aws.Int32(10)})
	if err != nil {
		t.Fatalf("genuine token: %v", err)
	}
	if aws.ToString(out.Items[0].SourceServerID) != servers[10] {
		t.Errorf("second page starts at %s, want %s", aws.ToString(out.Items[0].SourceServerID), servers[10])
	}
	// A token may be reused: pages are positions, not one-shot cursors.
	again, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{NextToken: srvPage.NextToken, MaxResults: aws.Int32(10)})
	if err != nil || aws.ToString(again.Items[0].SourceServerID) != servers[10] {
		t.Errorf("reused token: %v", err)
	}
}
