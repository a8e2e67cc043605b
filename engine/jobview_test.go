package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// listingDRS is a narrow fake of one target for the job view: a fixed set
// of jobs, a DRS clock, and a record of every listing asked for. Only the
// listing methods are implemented; the end-to-end behaviour is tested
// against the simulator (scale_jobs_test.go).
type listingDRS struct {
	ripcord.DRS // nil: any other method panics
	jobs        []ripcord.Job
	now         time.Time
	froms       []time.Time // JobsCreatedSince's argument, per call
	byID        [][]string
}

func (d *listingDRS) JobsCreatedSince(_ context.Context, since time.Time) ([]ripcord.Job, error) {
	d.froms = append(d.froms, since)
	var out []ripcord.Job
	for _, j := range d.jobs {
		if !j.Created.Before(since) {
			out = append(out, j)
		}
	}
	return out, nil
}

func (d *listingDRS) DescribeJobs(_ context.Context, ids []string) ([]ripcord.Job, error) {
	d.byID = append(d.byID, ids)
	var out []ripcord.Job
	for _, j := range d.jobs {
		if slices.Contains(ids, j.ID) {
			out = append(out, j)
		}
	}
	return out, nil
}

func (d *listingDRS) ServerTime() (time.Time, bool) { return d.now, true }

type fixedClock struct{ t *time.Time }

func (c fixedClock) Now() time.Time                             { return *c.t }
func (c fixedClock) Sleep(context.Context, time.Duration) error { return nil }

func TestJobViewListsHistoryOnceThenWindows(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	// DRS's clock runs two hours behind the engine's: windows must be
	// counted on DRS's.
	drsNow := t0.Add(-2 * time.Hour)
	d := &listingDRS{now: drsNow, jobs: []ripcord.Job{
		{ID: "old-done", Status: ripcord.JobStatusCompleted, Created: drsNow.Add(-48 * time.Hour)},
		{ID: "old-active", Status: ripcord.JobStatusStarted, Created: drsNow.Add(-30 * time.Hour)},
		{ID: "recent", Status: ripcord.JobStatusStarted, Created: drsNow.Add(-30 * time.Minute)},
	}}
	engNow := t0
	e := New(Config{Targets: map[string]ripcord.DRS{"t": d}, Clock: fixedClock{&engNow}})

	if err := e.refreshView(ctx, "t", engNow); err != nil {
		t.Fatal(err)
	}
	if want := drsNow.Add(-DefaultJobHorizon); len(d.froms) != 1 || !d.froms[0].Equal(want) {
		t.Fatalf("first listing from %v; want the horizon on DRS's clock, %v", d.froms, want)
	}
	if got := ids(e.activeJobs("t")); !slices.Equal(got, []string{"recent"}) {
		t.Errorf("active after the horizon listing: %v; want [recent] (old-active is beyond the horizon)", got)
	}
	// A listing that began at or after the caller's pass serves it.
	if err := e.refreshView(ctx, "t", engNow); err != nil || len(d.froms) != 1 {
		t.Fatalf("second refresh in the same pass listed again (%d listings, %v)", len(d.froms), err)
	}

	// Later: the window starts at the oldest job still active (recent),
	// which is older than the last listing.
	engNow, d.now = engNow.Add(time.Minute), drsNow.Add(time.Minute)
	d.jobs = append(d.jobs, ripcord.Job{ID: "new", Status: ripcord.JobStatusPending, Created: drsNow.Add(30 * time.Second)})
	if err := e.refreshView(ctx, "t", engNow); err != nil {
		t.Fatal(err)
	}
	if got := d.froms[1]; !got.Equal(drsNow.Add(-30 * time.Minute)) {
		t.Errorf("window from %v; want the oldest active job's creation %v", got, drsNow.Add(-30*time.Minute))
	}
	if got := ids(e.activeJobs("t")); !slices.Equal(got, []string{"recent", "new"}) {
		t.Errorf("active: %v; want [recent new]", got)
	}

	// Once nothing older is active, the window starts at the last listing.
	d.jobs[2].Status, d.jobs[3].Status = ripcord.JobStatusCompleted, ripcord.JobStatusCompleted
	engNow, d.now = engNow.Add(time.Minute), d.now.Add(time.Minute)
	if err := e.refreshView(ctx, "t", engNow); err != nil {
		t.Fatal(err)
	}
	engNow, d.now = engNow.Add(time.Minute), d.now.Add(time.Minute)
	if err := e.refreshView(ctx, "t", engNow); err != nil {
		t.Fatal(err)
	}
	if got, want := d.froms[3], drsNow.Add(2*time.Minute); !got.Equal(want) {
		t.Errorf("window from %v; want the previous listing's DRS time %v", got, want)
	}

	// A job the view does not hold is read by ID, once.
	if err := e.lookUp(ctx, "t", []string{"old-done"}); err != nil {
		t.Fatal(err)
	}
	if err := e.lookUp(ctx, "t", []string{"old-done"}); err != nil {
		t.Fatal(err)
	}
	if len(d.byID) != 1 || !slices.Equal(d.byID[0], []string{"old-done"}) {
		t.Errorf("lookups by ID %v; want one, of old-done only", d.byID)
	}
	// A refusal makes the next listing read all history, which finds
	// the job older than the horizon.
	e.forceFull("t")
	if err := e.refreshView(ctx, "t", engNow); err != nil {
		t.Fatal(err)
	}
	if got := d.froms[4]; !got.IsZero() {
		t.Errorf("listing after forceFull from %v; want all history (zero)", got)
	}
	if got := ids(e.activeJobs("t")); !slices.Equal(got, []string{"old-active"}) {
		t.Errorf("active after the full listing: %v; want [old-active]", got)
	}
	// A job active for longer than the window reaches back is read by
	// ID, not by re-reading the 30 hours of jobs since it started.
	engNow, d.now = engNow.Add(time.Minute), d.now.Add(time.Minute)
	if err := e.refreshView(ctx, "t", engNow); err != nil {
		t.Fatal(err)
	}
	if got, want := d.froms[len(d.froms)-1], d.now.Add(-time.Minute); !got.Equal(want) {
		t.Errorf("window from %v; want the last listing's DRS time %v", got, want)
	}
	if last := d.byID[len(d.byID)-1]; !slices.Equal(last, []string{"old-active"}) {
		t.Errorf("read by ID %v; want [old-active]", last)
	}
	if got := ids(e.activeJobs("t")); !slices.Equal(got, []string{"old-active"}) {
		t.Errorf("active: %v; want [old-active]", got)
	}
	if got := e.JobListings("t"); got["horizon"] != 1 || got["window"] != 4 || got["full"] != 1 {
		t.Errorf("listings %v; want 1 horizon, 4 windows, 1 full", got)
	}

}

// TestOneListingServesEveryExecution: two executions of one engine in one
// target. The second, whose pass begins a second after the first listed,
// uses that listing instead of making its own; each lists again once its
// own next look is due and nobody listed since.
func TestOneListingServesEveryExecution(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	now := t0
	d := &listingDRS{now: t0}
	e := New(Config{Targets: map[string]ripcord.DRS{"t": d}, Clock: fixedClock{&now}, MinPoll: 5 * time.Second})
	newRun := func() *run {
		return &run{e: e, ctx: context.Background(), answeredNow: map[string]bool{}, failedNow: map[string]bool{},
			looked: map[string]bool{}, lastLook: map[string]time.Time{}, due: map[string]time.Time{}}
	}
	pass := func(r *run) {
		r.passStart, r.looked = now, map[string]bool{}
		if err := r.look("t"); err != nil {
			t.Fatal(err)
		}
		if err := r.look("t"); err != nil { // a second use in the same pass
			t.Fatal(err)
		}
	}
	a, b := newRun(), newRun()
	pass(a)
	now = now.Add(time.Second)
	pass(b)
	if len(d.froms) != 1 {
		t.Fatalf("%d listings for two executions' passes a second apart; want 1", len(d.froms))
	}
	now = now.Add(5 * time.Second)
	pass(a)
	pass(b)
	if len(d.froms) != 2 {
		t.Errorf("%d listings after both passed again; want 2 (one new listing, shared)", len(d.froms))
	}
	if !a.answeredNow["t"] || !b.answeredNow["t"] {
		t.Error("a shared listing is evidence that DRS answers, for both executions")
	}
}

func ids(jobs []ripcord.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func TestBatchSizes(t *testing.T) {
	q := Quotas{}.withDefaults()
	for _, tc := range []struct {
		name                  string
		n, jobsLeft, srvsLeft int
		want                  []int
	}{
		{"all fit: as few jobs as allowed, even", 250, 20, 500, []int{84, 83, 83}},
		{"one job", 7, 20, 500, []int{7}},
		{"quota-bound: an even share each", 3000, 20, 500, repeat(25, 20)},
		{"quota-bound with some used", 3000, 3, 60, []int{25, 25, 10}},
		{"job slots scarcer than servers: larger jobs", 450, 4, 500, []int{100, 100, 100, 100}},
		{"nothing left", 10, 0, 500, nil},
	} {
		if got := batchSizes(tc.n, tc.jobsLeft, tc.srvsLeft, q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: batchSizes(%d, %d, %d) = %v; want %v", tc.name, tc.n, tc.jobsLeft, tc.srvsLeft, got, tc.want)
		}
	}
	if got, want := batchSizes(1000, 18, 480, Quotas{Headroom: 2}.withDefaults()), append(repeat(27, 17), 21); !slices.Equal(got, want) {
		t.Errorf("with headroom 2: %v; want shares of 480/18 = 27: %v", got, want)
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestSlowestFirst(t *testing.T) {
	exp := map[string]time.Duration{"a": time.Minute, "b": 3 * time.Minute, "c": time.Minute, "d": 2 * time.Minute}
	got := []string{"c", "a", "d", "b"}
	slowestFirst(got, func(id string) time.Duration { return exp[id] })
	if want := []string{"b", "d", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("order %v; want %v", got, want)
	}
	win := ExpectedLaunch(ripcord.SourceServer{OS: "Microsoft Windows Server 2019 Datacenter"})
	lin := ExpectedLaunch(ripcord.SourceServer{OS: "Ubuntu 22.04"})
	big := ExpectedLaunch(ripcord.SourceServer{OS: "Ubuntu 22.04", DiskBytes: 4 << 40})
	if !(win > big && big > lin) {
		t.Errorf("expected launch: windows %s, linux 4 TiB %s, linux %s; want windows > big disks > linux", win, big, lin)
	}
}
