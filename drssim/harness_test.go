package drssim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/drs"
)

// testStart is the simulated time every test begins at.
var testStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// testEnv is a simulator served over real HTTP on loopback, with a manual
// clock, and real aws-sdk-go-v2 DRS clients pointed at it.
type testEnv struct {
	t      *testing.T
	sim    *Sim
	clock  *ManualClock
	srv    *httptest.Server
	client *drs.Client // default account, us-east-1
}

// newTestEnv starts a simulator for sc (nil: three-tier), seed 1, with opts
// applied. Throttling is off unless the scenario sets it, so tests see it
// only where they ask for it.
func newTestEnv(t *testing.T, sc *Scenario, opts ...func(*Options)) *testEnv {
	t.Helper()
	if sc == nil {
		var err error
		if sc, err = LoadScenario("three-tier"); err != nil {
			t.Fatal(err)
		}
	}
	if sc.Throttle.Rate == 0 {
		sc.Throttle.Rate = -1
	}
	clock := NewManualClock(testStart)
	o := Options{Scenario: sc, Clock: clock, Seed: 1}
	for _, fn := range opts {
		fn(&o)
	}
	sim, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := &testEnv{t: t, sim: sim, clock: clock, srv: srv}
	e.client = e.clientFor("AKIDTESTDEFAULT", "us-east-1")
	return e
}

// noDelay is a retry backoff that does not wait: tests must not sleep.
type noDelay struct{}

func (noDelay) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// clientFor returns a real DRS client signing with accessKey in region. It
// keeps the SDK's standard retry policy (3 attempts, the same retryable
// errors) but without backoff delays or a client-side retry quota.
func (e *testEnv) clientFor(accessKey, region string, optFns ...func(*drs.Options)) *drs.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		HTTPClient:  safeBodyClient{e.srv.Client()},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = noDelay{}
				o.RateLimiter = ratelimit.None
			})
		},
	}
	opts := append([]func(*drs.Options){func(o *drs.Options) { o.BaseEndpoint = aws.String(e.srv.URL) }}, optFns...)
	return drs.NewFromConfig(cfg, opts...)
}

// safeBodyClient works around a client-side race between smithy-go and
// net/http that has nothing to do with the simulator. smithy-go wraps the
// request body in a reader whose WriteTo returns io.EOF (an error) once the
// SDK has closed it, and the SDK closes it as soon as the response arrives.
// net/http's write loop, after sending Content-Length bytes, copies the rest
// of the body (expecting nothing) through that WriteTo; if the server has
// already answered, the copy fails, the transport closes the connection and
// reading the response fails with "use of closed network connection" (about
// 1 call in 20 under -race). Hiding WriteTo makes the copy use Read, which
// reports a clean EOF. ripcord's DRS adapter needs the same guard.
type safeBodyClient struct{ next aws.HTTPClient }

func (c safeBodyClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return c.next.Do(r)
}

// noRetries switches the SDK's retries off for one client.
func noRetries(o *drs.Options) { o.Retryer = aws.NopRetryer{} }

// advance moves simulated time forward.
func (e *testEnv) advance(d time.Duration) { e.clock.Advance(d) }

// advanceUntil steps the clock from one scheduled transition to the next
// until cond holds, failing if it does not hold within limit of simulated
// time. It returns the simulated time at which cond first held.
func (e *testEnv) advanceUntil(limit time.Duration, cond func() bool) time.Time {
	e.t.Helper()
	deadline := e.clock.Now().Add(limit)
	for !cond() {
		next, ok := e.sim.NextEventAt()
		if !ok || next.After(deadline) {
			e.t.Fatalf("condition not reached within %s of simulated time (now %s)", limit, e.clock.Now().Format(time.RFC3339))
		}
		e.clock.Set(next)
	}
	return e.clock.Now()
}

// jobView returns the model's view of one job.
func (e *testEnv) jobView(id string) JobView {
	e.t.Helper()
	for _, r := range e.sim.State(StateFilter{}).Regions {
		for _, j := range r.Jobs {
			if j.JobID == id {
				return j
			}
		}
	}
	e.t.Fatalf("job %s not in the model", id)
	return JobView{}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// Server IDs of the three-tier scenario.
const (
	db1  = "s-3c1730a9e0771ea14"
	db2  = "s-3d75cdc0d9a28a725"
	app1 = "s-3afa164776f93ce4f"
	app2 = "s-3c63bb8be30d7d071"
	web1 = "s-3578f52ef3bdd58b4"
	web2 = "s-3b9401c1cd270a7a8"
)
