package drs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
)

// These tests run the real SDK, through drs.Client, against the simulator
// over HTTP, and check what happened on the simulator's model, not on what
// the client says.

var testStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// The rate limit tests use: high enough that the limiter never waits
// noticeably, even after a few halvings.
const (
	testRate  = 10000
	testBurst = 1000
)

// Server and job IDs of the three-tier scenario.
const (
	db1          = "s-3c1730a9e0771ea14"
	db2          = "s-3d75cdc0d9a28a725"
	app1         = "s-3afa164776f93ce4f"
	seededJob    = "drsjob-3f0c2a9b7d1e45a60"
	threeTierAcc = "111122223333"
)

type env struct {
	t      *testing.T
	sim    *drssim.Sim
	clock  *drssim.ManualClock
	srv    *httptest.Server
	strip  *retryAfterStrip
	client *drs.Client
}

// newEnv serves a simulator of sc (throttling off unless sc sets it) on a
// manual clock, and builds a drs.Client for it with opts applied.
func newEnv(t *testing.T, sc *drssim.Scenario, opts ...func(*drs.Config)) *env {
	t.Helper()
	if sc.Throttle.Rate == 0 {
		sc.Throttle.Rate = -1
	}
	clock := drssim.NewManualClock(testStart)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := &env{t: t, sim: sim, clock: clock, srv: srv, strip: &retryAfterStrip{next: srv.Client()}}
	e.client = e.newClient(opts...)
	return e
}

func (e *env) config() drs.Config {
	return drs.Config{
		Region:      "us-east-1",
		Endpoint:    e.srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTESTDEFAULT", "secret", ""),
		RateLimit:   testRate,
		Burst:       testBurst,
		HTTPClient:  e.strip,
		// The SDK's backoff between read attempts, without the waiting.
		RetryBackoff: retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil }),
	}
}

func (e *env) newClient(opts ...func(*drs.Config)) *drs.Client {
	e.t.Helper()
	cfg := e.config()
	for _, fn := range opts {
		fn(&cfg)
	}
	c, err := drs.New(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// retryAfterStrip removes X-Amz-Retry-After from answers, and counts how
// often it saw one. The SDK (core >= 1.48) waits that long before retrying
// a throttled call, whatever the backoff says: right in production, a real
// second per retry in a test.
type retryAfterStrip struct {
	next aws.HTTPClient
	mu   sync.Mutex
	seen int
}

func (s *retryAfterStrip) Do(r *http.Request) (*http.Response, error) {
	resp, err := s.next.Do(r)
	if resp != nil && resp.Header.Get("X-Amz-Retry-After") != "" {
		resp.Header.Del("X-Amz-Retry-After")
		s.mu.Lock()
		s.seen++
		s.mu.Unlock()
	}
	return resp, err
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func threeTier(t *testing.T) *drssim.Scenario {
	t.Helper()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// generated is a scenario of n healthy servers in one account and region.
func generated(n int) *drssim.Scenario {
	return &drssim.Scenario{DefaultAccount: threeTierAcc, Generate: &drssim.GenerateSpec{
		Servers: n, Accounts: []string{threeTierAcc}, Regions: []string{"us-east-1"}, Tiers: []string{"app"}}}
}

// region is the model of the client's account and region.
func (e *env) region() drssim.RegionView {
	e.t.Helper()
	v := e.sim.State(drssim.StateFilter{Account: threeTierAcc, Region: "us-east-1"})
	if len(v.Regions) != 1 {
		e.t.Fatalf("model has %d regions for the client's target", len(v.Regions))
	}
	return v.Regions[0]
}

func (e *env) serverIDs() []string {
	var ids []string
	for _, s := range e.region().Servers {
		ids = append(ids, s.SourceServerID)
	}
	return ids
}

// advanceUntil steps the clock from one scheduled transition to the next
// until cond holds.
func (e *env) advanceUntil(limit time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := e.clock.Now().Add(limit)
	for !cond() {
		next, ok := e.sim.NextEventAt()
		if !ok || next.After(deadline) {
			e.t.Fatalf("condition not reached within %s of simulated time", limit)
		}
		e.clock.Set(next)
	}
}

// idle advances until no job is active.
func (e *env) idle() {
	e.t.Helper()
	e.advanceUntil(time.Hour, func() bool { return e.region().ActiveJobs == 0 })
}

func (e *env) addFault(f drssim.Fault) {
	e.t.Helper()
	if _, err := e.sim.AddFault(f); err != nil {
		e.t.Fatal(err)
	}
}

// requests is how many requests of op the simulator received.
func (e *env) requests(op string) int64 { return e.sim.OperationCounts()[op] }

// launchJobs lists the model's LAUNCH jobs created by clients.
func (e *env) launchJobs() []drssim.JobView {
	var out []drssim.JobView
	for _, j := range e.region().Jobs {
		if j.Type == ripcord.JobTypeLaunch && !j.Foreign {
			out = append(out, j)
		}
	}
	return out
}

func launch(ids ...string) []ripcord.LaunchServer {
	out := make([]ripcord.LaunchServer, len(ids))
	for i, id := range ids {
		out[i] = ripcord.LaunchServer{ID: id}
	}
	return out
}

func drsError(t *testing.T, err error) *ripcord.DRSError {
	t.Helper()
	var de *ripcord.DRSError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *ripcord.DRSError", err, err)
	}
	return de
}

func TestListSourceServersReadsEveryPage(t *testing.T) {
	e := newEnv(t, generated(450))
	servers, err := e.client.ListSourceServers(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := e.serverIDs()
	var got []string
	for _, s := range servers {
		got = append(got, s.ID)
		if ok, why := s.Ready(15 * time.Minute); !ok {
			t.Errorf("generated server %s not ready: %s", s.ID, why)
		}
	}
	if len(got) != 450 || !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("listed %d servers, want the model's %d", len(got), len(want))
	}
	calls := e.client.Calls()["DescribeSourceServers"]
	if calls < 2 || calls != e.requests("DescribeSourceServers") {
		t.Errorf("client counted %d DescribeSourceServers calls, simulator saw %d; want the same, more than one page",
			calls, e.requests("DescribeSourceServers"))
	}
}

func TestListSourceServersBatchesIDs(t *testing.T) {
	e := newEnv(t, generated(450))
	all := e.serverIDs()
	ids := append(slices.Clone(all[:250]), "s-00000000000000000", all[0], all[1]) // one unknown, two repeated
	servers, err := e.client.ListSourceServers(ctx(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range servers {
		got = append(got, s.ID)
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(all[:250]))) {
		t.Errorf("listed %d servers, want the 250 known ones once each", len(got))
	}
	// 251 distinct IDs: a batch of 200 and one of 51, each read to its last
	// page; every request stays within the filter's limit of 200 (the
	// simulator refuses more).
	if n := e.client.Calls()["DescribeSourceServers"]; n < 2 {
		t.Errorf("%d DescribeSourceServers calls for two batches", n)
	}

	t.Run("empty list asks nothing", func(t *testing.T) {
		before := e.requests("DescribeSourceServers")
		got, err := e.client.ListSourceServers(ctx(t), []string{})
		if err != nil || len(got) != 0 || e.requests("DescribeSourceServers") != before {
			t.Errorf("ListSourceServers([]) = %d servers, %v, %d requests", len(got), err, e.requests("DescribeSourceServers")-before)
		}
	})
}

func TestListSourceServersFields(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.addFault(drssim.Fault{Kind: drssim.FaultStallReplication, Servers: []string{app1}, Region: "us-east-1"})
	e.clock.Advance(20 * time.Minute)
	servers, err := e.client.ListSourceServers(ctx(t), []string{db1, app1})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ripcord.SourceServer{}
	for _, s := range servers {
		byID[s.ID] = s
	}
	db, app := byID[db1], byID[app1]
	if db.Hostname != "orders-db-1" || db.Tags["Tier"] != "database" || db.ReplicationState != ripcord.ReplicationContinuous {
		t.Errorf("db1 = %+v", db)
	}
	if ok, why := db.Ready(time.Minute); !ok {
		t.Errorf("db1 not ready: %s", why)
	}
	if app.ReplicationState != ripcord.ReplicationStalled || app.ReplicationError != "UNSTABLE_NETWORK" || app.Lag < 20*time.Minute {
		t.Errorf("stalled app1 = %+v", app)
	}
	if ok, why := app.Ready(time.Hour); ok || !strings.Contains(why, "stalled") {
		t.Errorf("stalled app1 Ready = %v, %q", ok, why)
	}
}

func TestListingSeesSeededTerminateJob(t *testing.T) {
	e := newEnv(t, threeTier(t))
	jobs, err := activeOf(ctx(t), e.client)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 {
		t.Fatalf("%d active jobs, want the seeded TERMINATE job", len(jobs))
	}
	j := jobs[0]
	if j.ID != seededJob || j.Type != ripcord.JobTypeTerminate || j.Status != ripcord.JobStatusStarted || !j.Active() ||
		len(j.Servers) != 6 || !j.Created.Equal(testStart.Add(-time.Minute)) || !j.Ended.IsZero() {
		t.Errorf("seeded job = %+v", j)
	}
	e.idle()
	jobs, err = activeOf(ctx(t), e.client)
	if err != nil || len(jobs) != 0 {
		t.Errorf("after the job ended: %d active jobs, %v", len(jobs), err)
	}
}

// An old job that still runs sits behind newer completed ones: it is only
// found by reading every page. Here it was started 100 days ago and 1,500
// jobs completed since, more than a page of 1000 holds.
func TestListingAllJobsReadsEveryPage(t *testing.T) {
	sc := threeTier(t)
	const hold = "drsjob-0ld0000000000000a"
	sc.Regions[0].Jobs = []drssim.JobSpec{{ID: hold, Type: "LAUNCH", CreatedAgo: drssim.Duration(2400 * time.Hour),
		EndsAfter: drssim.Duration(time.Hour), Servers: []string{sc.Regions[0].Servers[0].ID}}}
	sc.Regions[0].History = &drssim.HistorySpec{Jobs: 1500}
	e := newEnv(t, sc)
	jobs, err := activeOf(ctx(t), e.client)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].ID != hold || jobs[0].Type != ripcord.JobTypeLaunch {
		t.Fatalf("active jobs %+v, want only the hold %s", jobs, hold)
	}
	if n := e.client.Calls()["DescribeJobs"]; n != 2 {
		t.Errorf("%d DescribeJobs calls for 1501 jobs; want 2 pages of up to 1000", n)
	}
}

// activeOf lists every job, all pages, and keeps the active ones.
func activeOf(ctx context.Context, c *drs.Client) ([]ripcord.Job, error) {
	jobs, err := c.JobsCreatedSince(ctx, time.Time{})
	return slices.DeleteFunc(jobs, func(j ripcord.Job) bool { return !j.Active() }), err
}

func TestDescribeJobsBatchesOf1000(t *testing.T) {
	e := newEnv(t, threeTier(t))
	ids := make([]string, 0, 1001)
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("drsjob-%017x", i))
	}
	ids = append(ids, seededJob)
	jobs, err := e.client.DescribeJobs(ctx(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].ID != seededJob {
		t.Errorf("DescribeJobs = %+v, want the seeded job", jobs)
	}
	if n := e.client.Calls()["DescribeJobs"]; n != 2 {
		t.Errorf("%d DescribeJobs calls for 1001 IDs, want 2", n)
	}
	if got, err := e.client.DescribeJobs(ctx(t), nil); err != nil || len(got) != 0 || e.client.Calls()["DescribeJobs"] != 2 {
		t.Errorf("DescribeJobs(nil) = %d jobs, %v; want nothing asked", len(got), err)
	}
}

// A drill from start to end: StartRecovery, the job log in order across
// pages, the recovery instances, and their termination.
func TestDrillLifecycle(t *testing.T) {
	e := newEnv(t, generated(20))
	ids := e.serverIDs()
	tags := map[string]string{"ripcord:execution": "ex-1", "ripcord:batch": "db-1"}
	job, err := e.client.StartRecovery(ctx(t), launch(ids...), true, tags)
	if err != nil {
		t.Fatal(err)
	}
	if job.Type != ripcord.JobTypeLaunch || job.InitiatedBy != ripcord.InitiatedByDrill || job.Status != ripcord.JobStatusPending ||
		!job.Created.Equal(testStart) || len(job.Servers) != 20 || job.Tags["ripcord:batch"] != "db-1" {
		t.Errorf("new job = %+v", job)
	}
	for _, s := range job.Servers {
		if s.LaunchStatus != ripcord.LaunchStatusPending || !slices.Contains(ids, s.SourceServerID) {
			t.Errorf("participating server %+v", s)
		}
	}
	if launches := e.launchJobs(); len(launches) != 1 || launches[0].JobID != job.ID {
		t.Fatalf("model has %d LAUNCH jobs, want exactly %s", len(launches), job.ID)
	}

	e.advanceUntil(2*time.Hour, func() bool {
		jobs, err := e.client.DescribeJobs(ctx(t), []string{job.ID})
		return err == nil && len(jobs) == 1 && jobs[0].Status == ripcord.JobStatusCompleted
	})
	jobs, err := e.client.DescribeJobs(ctx(t), []string{job.ID})
	if err != nil {
		t.Fatal(err)
	}
	done := jobs[0]
	if done.Ended.IsZero() || done.Active() {
		t.Errorf("completed job = %+v", done)
	}
	for _, s := range done.Servers {
		if s.LaunchStatus != ripcord.LaunchStatusLaunched || s.RecoveryInstanceID == "" {
			t.Errorf("server %+v did not launch", s)
		}
	}

	t.Run("job log", func(t *testing.T) {
		log, err := e.client.JobLog(ctx(t), job.ID)
		if err != nil {
			t.Fatal(err)
		}
		var model []drssim.JobLog
		for _, j := range e.region().Jobs {
			if j.JobID == job.ID {
				model = j.Log
			}
		}
		if len(log) != len(model) || len(log) <= 50 {
			t.Fatalf("%d log items, model has %d (want more than one page of 50)", len(log), len(model))
		}
		for i, it := range log {
			var server string
			if d := model[i].EventData; d != nil {
				server = d.SourceServerID
			}
			if it.Event != model[i].Event || it.SourceServerID != server {
				t.Fatalf("item %d = %s %s, model has %s", i, it.Event, it.SourceServerID, model[i].Event)
			}
			if i > 0 && it.At.Before(log[i-1].At) {
				t.Errorf("item %d (%s at %s) is before item %d", i, it.Event, it.At, i-1)
			}
		}
		if log[0].Event != "JOB_START" || log[len(log)-1].Event != "JOB_END" {
			t.Errorf("log runs from %s to %s", log[0].Event, log[len(log)-1].Event)
		}
		// Each server goes snapshot, conversion, launch, in that order.
		stage := map[string]int{}
		order := map[string]int{"SNAPSHOT_START": 1, "CONVERSION_START": 2, "LAUNCH_START": 3}
		for _, it := range log {
			n, ok := order[it.Event]
			if !ok {
				continue
			}
			if stage[it.SourceServerID] != n-1 {
				t.Errorf("%s: %s after stage %d", it.SourceServerID, it.Event, stage[it.SourceServerID])
			}
			stage[it.SourceServerID] = n
			if it.Event == "CONVERSION_START" && it.ConversionServerID == "" {
				t.Errorf("%s: CONVERSION_START without a conversion server", it.SourceServerID)
			}
			if it.Event == "LAUNCH_START" && it.TargetInstanceID == "" {
				t.Errorf("%s: LAUNCH_START without a target instance", it.SourceServerID)
			}
		}
		if len(stage) != 20 {
			t.Errorf("%d servers in the log, want 20", len(stage))
		}
	})

	var instances []string
	t.Run("recovery instances", func(t *testing.T) {
		got, err := e.client.ListRecoveryInstances(ctx(t), nil, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 20 {
			t.Fatalf("%d recovery instances, want 20", len(got))
		}
		for _, in := range got {
			if in.JobID != job.ID || !in.IsDrill || in.EC2State != "RUNNING" || in.PointInTime.IsZero() || !slices.Contains(ids, in.SourceServerID) {
				t.Errorf("instance %+v", in)
			}
			instances = append(instances, in.ID)
		}
		// By ID, restricted to some servers.
		some, err := e.client.ListRecoveryInstances(ctx(t), instances, ids[:3])
		if err != nil || len(some) != 3 {
			t.Errorf("by ID and server: %d instances, %v; want 3", len(some), err)
		}
		if none, err := e.client.ListRecoveryInstances(ctx(t), []string{}, nil); err != nil || len(none) != 0 {
			t.Errorf("empty IDs: %d instances, %v", len(none), err)
		}
	})

	t.Run("terminate", func(t *testing.T) {
		term, err := e.client.TerminateRecoveryInstances(ctx(t), instances)
		if err != nil {
			t.Fatal(err)
		}
		if term.Type != ripcord.JobTypeTerminate || !term.Active() {
			t.Errorf("terminate job = %+v", term)
		}
		e.idle()
		left, err := e.client.ListRecoveryInstances(ctx(t), instances, nil)
		if err != nil || len(left) != 0 {
			t.Errorf("after termination: %d instances left, %v", len(left), err)
		}
	})
}

func TestStartRecoveryConflict(t *testing.T) {
	e := newEnv(t, threeTier(t)) // the seeded TERMINATE job holds every server
	_, err := e.client.StartRecovery(ctx(t), launch(db1, db2), true, nil)
	if !drs.IsConflict(err) || drs.IsUnclear(err) || drs.IsQuota(err) {
		t.Fatalf("want a clear conflict, got %v", err)
	}
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(err.Error(), "source server "+db1) || ripcord.ErrorHint(err) == "" {
		t.Errorf("conflict error %q (%s), hint %q: want ECONFLICT naming %s, with a hint", err, ripcord.ErrorCode(err), ripcord.ErrorHint(err), db1)
	}
	if de := drsError(t, err); de.ResourceID != db1 || de.Status != http.StatusConflict {
		t.Errorf("DRSError = %+v", de)
	}
	if n := e.requests("StartRecovery"); n != 1 || len(e.launchJobs()) != 0 {
		t.Errorf("%d StartRecovery requests, %d jobs; want 1 and none", n, len(e.launchJobs()))
	}
}

func TestStartRecoveryQuota(t *testing.T) {
	sc := generated(450)
	sc.Quotas.ActiveJobs = 1
	e := newEnv(t, sc)
	ids := e.serverIDs()
	_, err := e.client.StartRecovery(ctx(t), launch(ids[:101]...), true, nil)
	// A batch over the servers-per-job quota never fits: permanent, not a
	// quota to wait for.
	if drs.IsQuota(err) || drs.IsUnclear(err) || ripcord.Classify(err) != ripcord.ClassPermanent || ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Fatalf("101 servers: want a permanent EINVALID error, got %v (%s)", err, ripcord.Classify(err))
	}
	if de := drsError(t, err); de.QuotaCode != "L-B827C881" || !strings.Contains(err.Error(), "L-B827C881") {
		t.Errorf("quota error %q, code %q: want L-B827C881 named", err, de.QuotaCode)
	}
	if len(e.launchJobs()) != 0 {
		t.Error("a job was created")
	}

	if _, err := e.client.StartRecovery(ctx(t), launch(ids[0]), true, nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.StartRecovery(ctx(t), launch(ids[1]), true, nil)
	if !drs.IsQuota(err) || ripcord.Classify(err) != ripcord.ClassQuota || drs.IsUnclear(err) {
		t.Fatalf("a second job over an active-jobs quota of 1: want a quota error, got %v (%s)", err, ripcord.Classify(err))
	}
	if de := drsError(t, err); de.QuotaCode != "L-D88FAC3A" {
		t.Errorf("quota code %q, want L-D88FAC3A", de.QuotaCode)
	}
}

// The lost 202: the job is created, the answer never arrives. One request
// only (the SDK must not retry), exactly one job, found again by
// JobsCreatedSince with the tags it was started with.
func TestStartRecoveryLostResponse(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.idle()
	e.addFault(drssim.Fault{Kind: drssim.FaultDropResponse, Operation: "StartRecovery"})
	since := e.clock.Now()
	tags := map[string]string{ripcord.TagExecution: "exec-1", ripcord.TagBatch: "b1"}
	_, err := e.client.StartRecovery(ctx(t), launch(db1, db2), true, tags)
	if !drs.IsUnclear(err) || drs.IsConflict(err) {
		t.Fatalf("lost answer: want an unclear error, got %v", err)
	}
	hint := ripcord.ErrorHint(err)
	if ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE || !strings.Contains(hint, "look for the job") ||
		!strings.Contains(hint, ripcord.TagExecution) || !strings.Contains(hint, ripcord.TagBatch) {
		t.Errorf("unclear error %q (%s), hint %q", err, ripcord.ErrorCode(err), hint)
	}
	if ripcord.Classify(err) != ripcord.ClassTransient {
		t.Errorf("class %q, want transient", ripcord.Classify(err))
	}
	if n, c := e.requests("StartRecovery"), e.client.Calls()["StartRecovery"]; n != 1 || c != 1 {
		t.Fatalf("simulator saw %d StartRecovery requests, client counted %d; want exactly 1: no automatic retry", n, c)
	}
	launches := e.launchJobs()
	if len(launches) != 1 {
		t.Fatalf("model has %d LAUNCH jobs, want exactly 1", len(launches))
	}

	jobs, err := e.client.JobsCreatedSince(ctx(t), since)
	if err != nil {
		t.Fatal(err)
	}
	var found []ripcord.Job
	for _, j := range jobs {
		if j.Tags[ripcord.TagExecution] == "exec-1" && j.Tags[ripcord.TagBatch] == "b1" {
			found = append(found, j)
		}
	}
	if len(found) != 1 || found[0].ID != launches[0].JobID {
		t.Errorf("jobs with the batch's tags: %+v; want the model's job %s", found, launches[0].JobID)
	}
}

func TestTerminateLostResponse(t *testing.T) {
	e := newEnv(t, generated(2))
	ids := e.serverIDs()
	if _, err := e.client.StartRecovery(ctx(t), launch(ids...), true, nil); err != nil {
		t.Fatal(err)
	}
	e.idle()
	instances, err := e.client.ListRecoveryInstances(ctx(t), nil, nil)
	if err != nil || len(instances) != 2 {
		t.Fatalf("%d instances, %v", len(instances), err)
	}
	e.addFault(drssim.Fault{Kind: drssim.FaultDropResponse, Operation: "TerminateRecoveryInstances"})
	_, err = e.client.TerminateRecoveryInstances(ctx(t), []string{instances[0].ID, instances[1].ID})
	if !drs.IsUnclear(err) {
		t.Fatalf("want an unclear error, got %v", err)
	}
	if n := e.requests("TerminateRecoveryInstances"); n != 1 {
		t.Errorf("%d TerminateRecoveryInstances requests, want 1", n)
	}
	var terms int
	for _, j := range e.region().Jobs {
		if j.Type == ripcord.JobTypeTerminate {
			terms++
		}
	}
	if terms != 1 {
		t.Errorf("%d TERMINATE jobs, want 1", terms)
	}
}

func TestStartRecoveryServerErrorIsUnclearAndNotRetried(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.idle()
	e.addFault(drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "StartRecovery", Fraction: 1, Count: 1, Status: http.StatusServiceUnavailable})
	_, err := e.client.StartRecovery(ctx(t), launch(db1), true, nil)
	if !drs.IsUnclear(err) {
		t.Fatalf("503: want an unclear error, got %v", err)
	}
	if n := e.requests("StartRecovery"); n != 1 {
		t.Errorf("%d StartRecovery requests, want 1", n)
	}
	// The engine's reconciliation finds nothing, so it may try again.
	jobs, err := e.client.JobsCreatedSince(ctx(t), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Type == ripcord.JobTypeLaunch {
			t.Errorf("job %s exists after a 503 the simulator answered before acting", j.ID)
		}
	}
	if len(e.launchJobs()) != 0 {
		t.Error("the model has a LAUNCH job after a 503 the simulator answered before acting")
	}
}

// The caller's deadline passes while DRS is still working on the request:
// the outcome is unknown.
func TestStartRecoveryTimeoutIsUnclear(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.idle()
	e.addFault(drssim.Fault{Kind: drssim.FaultLatency, Operation: "StartRecovery", Latency: drssim.Duration(time.Minute)})
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.client.StartRecovery(c, launch(db1), true, nil)
	if !drs.IsUnclear(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline while waiting: want an unclear error wrapping context.DeadlineExceeded, got %v", err)
	}
	if n := e.client.Calls()["StartRecovery"]; n != 1 {
		t.Errorf("%d StartRecovery requests, want 1", n)
	}
}

func TestReadsAreRetriedThroughServerErrors(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.addFault(drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "DescribeJobs", Fraction: 1, Count: 2})
	jobs, err := activeOf(ctx(t), e.client)
	if err != nil {
		t.Fatalf("two 500s then success: %v", err)
	}
	if len(jobs) != 1 {
		t.Errorf("%d active jobs, want 1", len(jobs))
	}
	if n, c := e.requests("DescribeJobs"), e.client.Calls()["DescribeJobs"]; n != 3 || c != 3 {
		t.Errorf("simulator saw %d DescribeJobs requests, client counted %d; want 3 (two retries)", n, c)
	}

	t.Run("a longer storm fails after three attempts", func(t *testing.T) {
		e.addFault(drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "DescribeSourceServers", Fraction: 1, Count: 3})
		_, err := e.client.ListSourceServers(ctx(t), nil)
		if err == nil || ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE || drs.IsUnclear(err) {
			t.Errorf("want EUNAVAILABLE, not unclear (a read), got %v (%s)", err, ripcord.ErrorCode(err))
		}
		if n := e.requests("DescribeSourceServers"); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
}

func TestThrottleStormSlowsTheLimiter(t *testing.T) {
	e := newEnv(t, threeTier(t))
	if r := e.client.Rate(); r != testRate {
		t.Fatalf("initial rate %v, want %v", r, float64(testRate))
	}
	e.addFault(drssim.Fault{Kind: drssim.FaultThrottleStorm, Operation: "DescribeSourceServers", Count: 3})
	_, err := e.client.ListSourceServers(ctx(t), nil)
	if !drs.IsThrottling(err) || drs.IsUnclear(err) || ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE {
		t.Fatalf("want throttling, got %v", err)
	}
	if !strings.Contains(ripcord.ErrorHint(err), "slowed") {
		t.Errorf("hint %q", ripcord.ErrorHint(err))
	}
	if n := e.requests("DescribeSourceServers"); n != 3 {
		t.Errorf("%d requests, want 3 (the SDK retries reads that are throttled)", n)
	}
	if e.strip.seen != 3 {
		t.Errorf("saw X-Amz-Retry-After %d times, want 3", e.strip.seen)
	}
	slowed := e.client.Rate()
	if slowed != testRate/8 {
		t.Errorf("rate after three throttles %v, want %v", slowed, float64(testRate)/8)
	}
	if _, err := e.client.ListSourceServers(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	if r := e.client.Rate(); r <= slowed || r >= testRate {
		t.Errorf("rate after a success %v, want between %v and %v", r, slowed, float64(testRate))
	}

	t.Run("StartRecovery is not retried", func(t *testing.T) {
		e.idle()
		e.addFault(drssim.Fault{Kind: drssim.FaultThrottleStorm, Operation: "StartRecovery", Count: 1})
		before := e.client.Rate()
		_, err := e.client.StartRecovery(ctx(t), launch(db1), true, nil)
		if !drs.IsThrottling(err) || drs.IsUnclear(err) {
			t.Fatalf("want a clear throttling error, got %v", err)
		}
		if n := e.requests("StartRecovery"); n != 1 || len(e.launchJobs()) != 0 {
			t.Errorf("%d requests, %d jobs; want 1 and none", n, len(e.launchJobs()))
		}
		if r := e.client.Rate(); r != before/2 {
			t.Errorf("rate %v, want %v", r, before/2)
		}
	})
}

func TestJobsCreatedSince(t *testing.T) {
	e := newEnv(t, threeTier(t)) // the seeded job was created a minute before the start
	tests := []struct {
		name  string
		since time.Time
		want  int
	}{
		{"a minute after it was created: within the clock skew allowed", testStart, 1},
		{"just before", testStart.Add(-2 * time.Minute), 1},
		{"well after", testStart.Add(10 * time.Minute), 0},
		{"zero: every job", time.Time{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := e.client.JobsCreatedSince(ctx(t), tt.since)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != tt.want {
				t.Errorf("%d jobs, want %d", len(jobs), tt.want)
			}
		})
	}
}

func TestEndpointFromEnvironment(t *testing.T) {
	e := newEnv(t, threeTier(t))
	t.Setenv("AWS_ENDPOINT_URL_DRS", e.srv.URL)
	c := e.newClient(func(cfg *drs.Config) { cfg.Endpoint = "" })
	servers, err := c.ListSourceServers(ctx(t), nil)
	if err != nil || len(servers) != 6 {
		t.Errorf("through AWS_ENDPOINT_URL_DRS: %d servers, %v", len(servers), err)
	}
}

// The role the assume tests use: in another account than the base
// credentials, trusting the base account with an external ID.
const (
	targetAcc  = "222233334444"
	targetRole = "arn:aws:iam::" + targetAcc + ":role/ripcord-drs"
	targetExt  = "ripcord-ext-42"
)

// assumeScenario is three-tier with its servers in targetAcc and the role
// there; the base credentials (AKIDTESTDEFAULT) map to the default account,
// 111122223333, which has no servers.
func assumeScenario(t *testing.T) *drssim.Scenario {
	t.Helper()
	sc := threeTier(t)
	sc.Regions[0].Account = targetAcc
	sc.Roles = []drssim.RoleSpec{{Account: targetAcc, Name: "ripcord-drs", Principals: []string{threeTierAcc}, ExternalID: targetExt}}
	return sc
}

// TestAssumeRole assumes the target's role through the simulator's STS,
// given as STSEndpoint or found in AWS_ENDPOINT_URL_STS, and checks that
// DRS calls land in the role's account.
func TestAssumeRole(t *testing.T) {
	viaConfig := func(t *testing.T, e *env) func(*drs.Config) {
		return func(cfg *drs.Config) { cfg.STSEndpoint = e.srv.URL }
	}
	viaEnv := func(t *testing.T, e *env) func(*drs.Config) {
		t.Setenv("AWS_ENDPOINT_URL_STS", e.srv.URL)
		return func(*drs.Config) {}
	}
	for name, endpoint := range map[string]func(*testing.T, *env) func(*drs.Config){"STSEndpoint": viaConfig, "AWS_ENDPOINT_URL_STS": viaEnv} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, assumeScenario(t))
			c := e.newClient(endpoint(t, e), func(cfg *drs.Config) { cfg.RoleARN, cfg.ExternalID = targetRole, targetExt })
			servers, err := c.ListSourceServers(ctx(t), nil)
			if err != nil || len(servers) != 6 {
				t.Fatalf("with the assumed role: %d servers, %v; want the target account's 6", len(servers), err)
			}
			id, err := c.CallerIdentity(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if id.Account != targetAcc || id.ARN != "arn:aws:sts::"+targetAcc+":assumed-role/ripcord-drs/ripcord" ||
				!strings.HasSuffix(id.UserID, ":ripcord") {
				t.Errorf("caller identity %+v, want the assumed role in %s", id, targetAcc)
			}
			// One AssumeRole: the credentials are cached for both clients.
			v := e.sim.STS()
			if len(v.Sessions) != 1 || v.Sessions[0].ExternalID != targetExt || v.Sessions[0].AssumedBy != "arn:aws:iam::"+threeTierAcc+":user/AKIDTESTDEFAULT" {
				t.Errorf("sessions %+v, want one, assumed by the base credentials with the external ID", v.Sessions)
			}
			if v.Requests["GetCallerIdentity"] != 1 {
				t.Errorf("STS requests %v", v.Requests)
			}
		})
	}
}

func TestAssumeRoleRefused(t *testing.T) {
	tests := []struct {
		name, role, ext string
	}{
		{"wrong external ID", targetRole, "not-it"},
		{"a typo in the role name", "arn:aws:iam::" + targetAcc + ":role/ripcord-dr", targetExt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, assumeScenario(t))
			c := e.newClient(func(cfg *drs.Config) { cfg.STSEndpoint, cfg.RoleARN, cfg.ExternalID = e.srv.URL, tt.role, tt.ext })
			_, err := c.ListSourceServers(ctx(t), nil)
			if !drs.IsAccessDenied(err) || ripcord.ErrorCode(err) != ripcord.EINVALID || ripcord.Classify(err) != ripcord.ClassPermanent {
				t.Fatalf("want access denied, EINVALID, permanent; got %v (%s, %s)", err, ripcord.ErrorCode(err), ripcord.Classify(err))
			}
			if !strings.Contains(err.Error(), tt.role) || !strings.Contains(ripcord.ErrorHint(err), "external ID") ||
				!strings.Contains(ripcord.ErrorHint(err), "trust policy") {
				t.Errorf("error %q, hint %q: want the role named, the trust policy and external ID mentioned", err, ripcord.ErrorHint(err))
			}
			if de := drsError(t, err); de.Type != "AccessDenied" || de.Status != 0 {
				t.Errorf("Type %q, Status %d: want STS's AccessDenied, and no DRS status", de.Type, de.Status)
			}
			if n := e.requests("DescribeSourceServers"); n != 0 {
				t.Errorf("%d requests reached DRS without credentials", n)
			}
			_, err = c.CallerIdentity(ctx(t))
			if de := drsError(t, err); de.Op != "GetCallerIdentity" || !drs.IsAccessDenied(err) || !strings.Contains(err.Error(), tt.role) {
				t.Errorf("CallerIdentity: %v (op %s)", err, de.Op)
			}
		})
	}
}

func TestCallerIdentity(t *testing.T) {
	e := newEnv(t, threeTier(t))
	c := e.newClient(func(cfg *drs.Config) { cfg.STSEndpoint = e.srv.URL })
	id, err := c.CallerIdentity(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := ripcord.CallerIdentity{Account: threeTierAcc, ARN: "arn:aws:iam::" + threeTierAcc + ":user/AKIDTESTDEFAULT"}
	if id.Account != want.Account || id.ARN != want.ARN || !strings.HasPrefix(id.UserID, "AIDA") {
		t.Errorf("caller identity %+v, want %+v", id, want)
	}
	if n := e.client.Calls()["GetCallerIdentity"]; n != 0 {
		t.Errorf("GetCallerIdentity counted as a DRS call: %v", e.client.Calls())
	}

	t.Run("credentials STS does not know", func(t *testing.T) {
		c := e.newClient(func(cfg *drs.Config) {
			cfg.STSEndpoint = e.srv.URL
			cfg.Credentials = credentials.NewStaticCredentialsProvider("ASIAQQQQQQQQQQQQQQQQ", "secret", "token")
		})
		_, err := c.CallerIdentity(ctx(t))
		de := drsError(t, err)
		if de.Op != "GetCallerIdentity" || de.Type != "InvalidClientTokenId" || de.Status != http.StatusForbidden ||
			ripcord.ErrorCode(err) != ripcord.EINVALID || ripcord.Classify(err) != ripcord.ClassPermanent || !drs.IsAccessDenied(err) {
			t.Errorf("got %v (op %s, type %s, status %d, class %s)", err, de.Op, de.Type, de.Status, ripcord.Classify(err))
		}
		if !strings.HasPrefix(err.Error(), "sts GetCallerIdentity") {
			t.Errorf("message %q should say it is STS's answer", err)
		}
	})
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  drs.Config
		want string
	}{
		{"negative rate", drs.Config{Region: "us-east-1", RateLimit: -1}, "rate limit"},
		{"negative burst", drs.Config{Region: "us-east-1", Burst: -1}, "burst"},
		{"external ID without role", drs.Config{Region: "us-east-1", ExternalID: "x"}, "no role ARN"},
		{"role name instead of ARN", drs.Config{Region: "us-east-1", RoleARN: "ripcord-drs"}, "not an IAM role ARN"},
		{"user ARN", drs.Config{Region: "us-east-1", RoleARN: "arn:aws:iam::111122223333:user/bob"}, "not an IAM role ARN"},
		{"unknown profile", drs.Config{Region: "us-east-1", Profile: "no-such-profile-ripcord"}, "AWS configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
			_, err := drs.New(context.Background(), tt.cfg)
			if ripcord.ErrorCode(err) != ripcord.EINVALID || !strings.Contains(err.Error(), tt.want) || ripcord.ErrorHint(err) == "" {
				t.Errorf("New = %v (%s, hint %q); want EINVALID mentioning %q, with a hint", err, ripcord.ErrorCode(err), ripcord.ErrorHint(err), tt.want)
			}
		})
	}
}

func TestNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	_, err := drs.New(context.Background(), drs.Config{})
	if ripcord.ErrorCode(err) != ripcord.EINVALID || !strings.Contains(err.Error(), "no region") {
		t.Errorf("New without a region = %v", err)
	}
}

// One Client is shared by the engine's goroutines.
func TestConcurrentCalls(t *testing.T) {
	e := newEnv(t, threeTier(t))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		wg.Go(func() {
			if _, err := e.client.ListSourceServers(context.Background(), nil); err != nil {
				errs <- err
			}
			if _, err := activeOf(context.Background(), e.client); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	calls := e.client.Calls()
	if calls["DescribeSourceServers"] != 8 || calls["DescribeJobs"] != 8 {
		t.Errorf("calls %v, want 8 of each", calls)
	}
}

func TestCanceledBeforeSendingIsClear(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.idle()
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.StartRecovery(c, launch(db1), true, nil)
	if err == nil || drs.IsUnclear(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled before sending: %v (unclear %v), want a clear error wrapping context.Canceled", err, drs.IsUnclear(err))
	}
	if n := e.requests("StartRecovery"); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestAppIDNamesTheCaller: a Client's AppID reaches DRS in the SDK's
// User-Agent, so that the simulator (like CloudTrail) can tell which
// process sent which request; clients without one are not counted by app.
func TestAppIDNamesTheCaller(t *testing.T) {
	e := newEnv(t, threeTier(t))
	a := e.newClient(func(c *drs.Config) { c.AppID = "replica-a" })
	b := e.newClient()
	if _, err := a.ListSourceServers(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListSourceServers(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	got := e.sim.AppCounts()
	if got["replica-a"] != e.requests("DescribeSourceServers")-1 || len(got) != 1 {
		t.Errorf("requests by app %v; want every DescribeSourceServers but b's under replica-a (%d in all)", got, e.requests("DescribeSourceServers"))
	}
}

// TestCallGuardStopsRequests: a call whose context carries a failing guard
// is not sent (the simulator counts nothing) and fails with the guard's
// error, unchanged; a passing guard changes nothing.
func TestCallGuardStopsRequests(t *testing.T) {
	e := newEnv(t, threeTier(t))
	lost := errors.New("lease lost")
	before := e.requests("DescribeJobs")
	_, err := e.client.JobsCreatedSince(ripcord.WithCallGuard(ctx(t), func() error { return lost }), time.Time{})
	if err != lost {
		t.Fatalf("JobsCreatedSince under a failing guard: %v; want the guard's error itself", err)
	}
	if n := e.requests("DescribeJobs") - before; n != 0 {
		t.Errorf("%d requests were sent under a failing guard", n)
	}
	calls := 0
	if _, err := e.client.JobsCreatedSince(ripcord.WithCallGuard(ctx(t), func() error { calls++; return nil }), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || e.requests("DescribeJobs")-before != int64(calls) {
		t.Errorf("guard ran %d times for %d requests; want once per request", calls, e.requests("DescribeJobs")-before)
	}
}

func TestLaunchConfigurationAndSnapshots(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.clock.Advance(3 * time.Hour)
	lc, err := e.client.LaunchConfiguration(ctx(t), db1)
	if err != nil {
		t.Fatal(err)
	}
	if lc.SourceServerID != db1 || lc.LaunchDisposition == "" || lc.RightSizing == "" || lc.LaunchTemplateID == "" {
		t.Errorf("launch configuration = %+v", lc)
	}
	if lc.Fingerprint() == (ripcord.LaunchConfiguration{}).Fingerprint() {
		t.Error("fingerprint of a real configuration equals the empty one's")
	}
	snaps, err := e.client.RecoverySnapshots(ctx(t), db1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 3 {
		t.Fatalf("got %d snapshots, want 3 (limit)", len(snaps))
	}
	for i, s := range snaps {
		if s.SourceServerID != db1 || s.Taken.IsZero() || !strings.HasPrefix(s.ID, "pit-") {
			t.Errorf("snapshot %d = %+v", i, s)
		}
		if i > 0 && s.Taken.After(snaps[i-1].Taken) {
			t.Errorf("snapshots not newest first: %v after %v", s.Taken, snaps[i-1].Taken)
		}
	}
	all, err := e.client.RecoverySnapshots(ctx(t), db1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) <= 3 {
		t.Errorf("every snapshot: %d, want more than 3 after three hours", len(all))
	}
	servers, err := e.client.ListSourceServers(ctx(t), []string{db1})
	if err != nil || len(servers) != 1 {
		t.Fatal(servers, err)
	}
	if s := servers[0]; s.CPUs == 0 || s.RAMBytes != 64<<30 || s.RecommendedInstanceType == "" || len(s.IPs) == 0 {
		t.Errorf("source properties = %+v", s)
	}
}
