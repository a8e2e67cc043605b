package drssim

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// Throttling tests: the per-region token bucket on an injected wall clock,
// the SDK's retries of ThrottlingException, and the throttle-storm fault.

// wireWall is a wall clock the test moves by hand (Options.WallClock).
type wireWall struct {
	mu sync.Mutex
	t  time.Time
}

func (w *wireWall) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *wireWall) Advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t = w.t.Add(d)
}

// wireWallEnv is newTestEnv with the throttling bucket on wall and the
// scenario's throttle settings left as they are.
func wireWallEnv(t *testing.T, sc *Scenario, wall *wireWall) *testEnv {
	t.Helper()
	return newTestEnv(t, sc, func(o *Options) { o.WallClock = wall.Now })
}

// wireRetryAfterStrip is an HTTP client that records and removes
// X-Amz-Retry-After from responses. The SDK (core >= 1.48) would otherwise
// sleep for real (1s per retry) whatever the retryer's backoff says; the
// header itself is checked on the wire in TestThrottleStorm.
type wireRetryAfterStrip struct {
	next interface {
		Do(*http.Request) (*http.Response, error)
	}
	mu   sync.Mutex
	seen []string
}

func (s *wireRetryAfterStrip) Do(req *http.Request) (*http.Response, error) {
	resp, err := s.next.Do(req)
	if resp != nil {
		if v := resp.Header.Get("X-Amz-Retry-After"); v != "" {
			s.mu.Lock()
			s.seen = append(s.seen, v)
			s.mu.Unlock()
			resp.Header.Del("X-Amz-Retry-After")
		}
	}
	return resp, err
}

// wireRetrying returns a client with the SDK's standard retryer (3
// attempts) whose backoff calls delay instead of sleeping.
func wireRetrying(e *testEnv, region string, delay func(attempt int)) (*drs.Client, *wireRetryAfterStrip) {
	strip := &wireRetryAfterStrip{}
	c := e.clientFor("AKIDTESTDEFAULT", region, func(o *drs.Options) {
		strip.next = o.HTTPClient
		o.HTTPClient = strip
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.RateLimiter = ratelimit.None
			so.Backoff = retry.BackoffDelayerFunc(func(attempt int, err error) (time.Duration, error) {
				delay(attempt)
				return 0, nil
			})
		})
	})
	return c, strip
}

func wireThrottleScenario(t *testing.T) *Scenario {
	t.Helper()
	return wireThreeTier(t, func(sc *Scenario) { sc.Throttle = Throttle{Rate: 1, Burst: 2} })
}

func wireThrottled(t *testing.T, what string, err error) {
	t.Helper()
	var te *types.ThrottlingException
	if !errors.As(err, &te) {
		t.Fatalf("%s: want ThrottlingException, got %v", what, err)
	}
	if !strings.Contains(aws.ToString(te.Message), "Rate exceeded") {
		t.Errorf("%s: message %q", what, aws.ToString(te.Message))
	}
}

func TestThrottleTokenBucket(t *testing.T) {
	wall := &wireWall{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := wireWallEnv(t, wireThrottleScenario(t), wall)
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	call := func() error {
		_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
		return err
	}
	for i := 1; i <= 2; i++ {
		if err := call(); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	wireThrottled(t, "third rapid call", call())
	if got := e.sim.OperationCounts()["DescribeSourceServers"]; got != 3 {
		t.Errorf("simulator saw %d requests, want 3", got)
	}
	// Simulated time does not refill the bucket; only real (wall) time does.
	e.advance(time.Hour)
	wireThrottled(t, "after an hour of simulated time", call())
	wall.Advance(500 * time.Millisecond)
	wireThrottled(t, "after half a token", call())
	wall.Advance(500 * time.Millisecond)
	if err := call(); err != nil {
		t.Fatalf("after one second: %v", err)
	}
	wireThrottled(t, "right after the refilled token", call())
	// The bucket holds at most Burst tokens.
	wall.Advance(time.Minute)
	for i := 1; i <= 2; i++ {
		if err := call(); err != nil {
			t.Fatalf("call %d after a long pause: %v", i, err)
		}
	}
	wireThrottled(t, "beyond the burst after a long pause", call())
	// Every account and region has its own bucket.
	west := e.clientFor("AKIDTESTDEFAULT", "us-west-2", noRetries)
	if _, err := west.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("us-west-2 while us-east-1 is throttled: %v", err)
	}
	other := e.clientFor("AKIDSIM444455556666", "us-east-1", noRetries)
	if _, err := other.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("another account while 111122223333 is throttled: %v", err)
	}
	// Throttled requests never reach the model: a throttled launch creates nothing.
	_, err := c.StartRecovery(ctx(t), wireLaunch(true, db1))
	wireThrottled(t, "StartRecovery", err)
	if rv := wireRegion(t, e, "111122223333", "us-east-1"); len(rv.Jobs) != 1 {
		t.Errorf("jobs after a throttled StartRecovery: %d", len(rv.Jobs))
	}
}

func TestSDKRetriesThrottling(t *testing.T) {
	wall := &wireWall{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := wireWallEnv(t, wireThrottleScenario(t), wall)
	var delays []int
	c, strip := wireRetrying(e, "us-east-1", func(attempt int) {
		delays = append(delays, attempt)
		wall.Advance(time.Second) // the retryer "waits" one second
	})
	count := func() int64 { return e.sim.OperationCounts()["DescribeJobs"] }
	for i := 0; i < 2; i++ {
		if _, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(delays) != 0 || count() != 2 {
		t.Fatalf("within the burst: %d retries, %d requests", len(delays), count())
	}
	// The third call is throttled once, retried after the wall clock moved
	// on, and succeeds.
	out, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	if err != nil {
		t.Fatalf("retried call: %v", err)
	}
	if len(out.Items) != 1 {
		t.Errorf("retried call returned %d jobs", len(out.Items))
	}
	if count() != 4 {
		t.Errorf("simulator saw %d requests, want 4 (2 + throttled + retry)", count())
	}
	if len(delays) != 1 || delays[0] != 1 {
		t.Errorf("backoff calls %v, want one after attempt 1", delays)
	}
	if res, ok := retry.GetAttemptResults(out.ResultMetadata); !ok || len(res.Results) != 2 {
		t.Errorf("SDK attempt results: %+v", res)
	}
	if len(strip.seen) != 1 || strip.seen[0] != "1000" {
		t.Errorf("X-Amz-Retry-After seen %v, want [1000]", strip.seen)
	}

	// A retryer that does not wait exhausts its three attempts.
	stuck, _ := wireRetrying(e, "us-east-1", func(int) {})
	before := count()
	_, err = stuck.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	wireThrottled(t, "without waiting", err)
	var mae *retry.MaxAttemptsError
	if !errors.As(err, &mae) || mae.Attempt != 3 {
		t.Errorf("want MaxAttemptsError after 3 attempts, got %v", err)
	}
	if got := count() - before; got != 3 {
		t.Errorf("simulator saw %d attempts, want 3", got)
	}
}

func TestThrottleStorm(t *testing.T) {
	e := newTestEnv(t, nil)
	rec := &wireRecorder{}
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries, rec.option)
	id, err := e.sim.AddFault(Fault{Kind: FaultThrottleStorm, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		_, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
		wireThrottled(t, "storm", err)
		x := rec.last(t)
		if x.Status != http.StatusTooManyRequests {
			t.Errorf("status %d, want 429", x.Status)
		}
		if x.Header.Get("Retry-After") != "1" || x.Header.Get("X-Amz-Retry-After") != "1000" {
			t.Errorf("Retry-After %q, X-Amz-Retry-After %q; want 1 and 1000", x.Header.Get("Retry-After"), x.Header.Get("X-Amz-Retry-After"))
		}
		if x.Header.Get("X-Amzn-ErrorType") != "ThrottlingException" {
			t.Errorf("X-Amzn-ErrorType %q", x.Header.Get("X-Amzn-ErrorType"))
		}
		if !strings.Contains(string(x.Body), `"message":"Rate exceeded`) {
			t.Errorf("body %s", x.Body)
		}
	}
	if _, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{}); err != nil {
		t.Fatalf("after the storm's count: %v", err)
	}
	for _, f := range e.sim.Faults() {
		if f.ID == id && f.Hits != 3 {
			t.Errorf("storm hits %d, want 3", f.Hits)
		}
	}
	e.sim.ClearFaults()

	// With the SDK's retries a storm shorter than three attempts is absorbed.
	rc, _ := wireRetrying(e, "us-east-1", func(int) {})
	count := func() int64 { return e.sim.OperationCounts()["DescribeJobs"] }
	if _, err := e.sim.AddFault(Fault{Kind: FaultThrottleStorm, Count: 2}); err != nil {
		t.Fatal(err)
	}
	before := count()
	if _, err := rc.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("storm of 2 with 3 attempts: %v", err)
	}
	if got := count() - before; got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	e.sim.ClearFaults()

	// A storm of 5: the first call fails after 3 attempts, the second
	// succeeds on its third.
	if _, err := e.sim.AddFault(Fault{Kind: FaultThrottleStorm, Count: 5}); err != nil {
		t.Fatal(err)
	}
	before = count()
	_, err = rc.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	wireThrottled(t, "storm of 5, first call", err)
	if _, err := rc.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("storm of 5, second call: %v", err)
	}
	if got := count() - before; got != 6 {
		t.Errorf("%d requests, want 6", got)
	}
	e.sim.ClearFaults()
}

func TestThrottleStormScopes(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	west := e.clientFor("AKIDTESTDEFAULT", "us-west-2", noRetries)

	// For a simulated duration.
	if _, err := e.sim.AddFault(Fault{Kind: FaultThrottleStorm, For: Duration(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
		wireThrottled(t, "timed storm", err)
	}
	e.advance(59 * time.Second)
	_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	wireThrottled(t, "timed storm, 59s in", err)
	e.advance(2 * time.Second)
	if _, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("after the timed storm: %v", err)
	}
	e.sim.ClearFaults()

	// One operation only.
	if _, err := e.sim.AddFault(Fault{Kind: FaultThrottleStorm, Operation: "StartRecovery", Count: 10}); err != nil {
		t.Fatal(err)
	}
	_, err = c.StartRecovery(ctx(t), wireLaunch(true, db1))
	wireThrottled(t, "StartRecovery storm", err)
	if _, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("DescribeJobs during a StartRecovery storm: %v", err)
	}
	e.sim.ClearFaults()

	// One region only.
	if _, err := e.sim.AddFault(Fault{Kind: FaultThrottleStorm, Region: "us-west-2", Count: 10}); err != nil {
		t.Fatal(err)
	}
	_, err = west.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
	wireThrottled(t, "us-west-2 storm", err)
	if _, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{}); err != nil {
		t.Fatalf("us-east-1 during a us-west-2 storm: %v", err)
	}
}
