package drs

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord/drssim"
)

func TestLimiterSlowsAndRecovers(t *testing.T) {
	l := newLimiter(100, 10)
	steps := []struct {
		name      string
		do        func()
		times     int
		wantRate  float64
		wantBurst int
	}{
		{"configured", func() {}, 0, 100, 10},
		{"success at full rate changes nothing", l.succeeded, 3, 100, 10},
		{"one throttle halves, no burst", l.throttled, 1, 50, 1},
		{"two more", l.throttled, 2, 12.5, 1},
		{"a success adds a twentieth", l.succeeded, 1, 17.5, 1},
		{"down to the floor and no further", l.throttled, 20, 100.0 / 32, 1},
		{"enough successes restore rate and burst", l.succeeded, 20, 100, 10},
	}
	for _, s := range steps {
		for range s.times {
			s.do()
		}
		if got := l.rate(); got != s.wantRate {
			t.Errorf("%s: rate %v, want %v", s.name, got, s.wantRate)
		}
		if got := l.lim.Burst(); got != s.wantBurst {
			t.Errorf("%s: burst %d, want %d", s.name, got, s.wantBurst)
		}
	}
}

func TestDefaultBurst(t *testing.T) {
	for _, tt := range []struct {
		rps  float64
		want int
	}{{5, 5}, {0.5, 1}, {2.5, 3}, {1000, 1000}} {
		if got := defaultBurst(tt.rps); got != tt.want {
			t.Errorf("defaultBurst(%v) = %d, want %d", tt.rps, got, tt.want)
		}
	}
}

// fakeClock is a Clock whose Sleep moves it forward and records the
// duration, or fails without moving when fail is set.
type fakeClock struct {
	now    time.Time
	slept  []time.Duration
	fail   error
	sleeps int
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps++
	if c.fail != nil {
		return c.fail
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

// takeSleeps returns what the clock slept since the last call.
func (c *fakeClock) takeSleeps() []time.Duration {
	s := c.slept
	c.slept = nil
	return s
}

var clockStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func clockLimiter(rps float64, burst int) (*limiter, *fakeClock) {
	c := &fakeClock{now: clockStart}
	l := newLimiter(rps, burst)
	l.clock = c
	return l, c
}

func waitN(t *testing.T, l *limiter, n int) {
	t.Helper()
	for i := range n {
		if err := l.wait(t.Context()); err != nil {
			t.Fatalf("wait %d: %v", i+1, err)
		}
	}
}

// TestLimiterOnClock: with a clock the bucket counts the clock's time and
// waiting sleeps on it, by exactly the delay the rate demands.
func TestLimiterOnClock(t *testing.T) {
	l, c := clockLimiter(5, 5)
	waitN(t, l, 5)
	if s := c.takeSleeps(); len(s) != 0 || !c.now.Equal(clockStart) {
		t.Fatalf("the burst of 5 slept %v (clock %s); want no sleep", s, c.now.Sub(clockStart))
	}
	waitN(t, l, 3)
	want := []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}
	if s := c.takeSleeps(); !slices.Equal(s, want) {
		t.Errorf("past the burst slept %v, want %v (5 per second)", s, want)
	}
	if got := c.now.Sub(clockStart); got != 600*time.Millisecond {
		t.Errorf("clock moved %s, want 600ms", got)
	}
	// Time that passed on the clock (not on the wall) refills the bucket.
	c.advance(10 * time.Second)
	waitN(t, l, 5)
	if s := c.takeSleeps(); len(s) != 0 {
		t.Errorf("after 10s of the clock the burst slept %v; want none", s)
	}
	// Time that passed while the limiter was not looking counts: 100ms of
	// another request's latency leaves 100ms to wait.
	c.advance(100 * time.Millisecond)
	waitN(t, l, 1)
	if s := c.takeSleeps(); !slices.Equal(s, []time.Duration{100 * time.Millisecond}) {
		t.Errorf("slept %v, want [100ms]", s)
	}
}

// TestLimiterOnClockFailedSleep: a request whose wait fails is not sent,
// and its token goes back to the bucket.
func TestLimiterOnClockFailedSleep(t *testing.T) {
	l, c := clockLimiter(1, 1)
	waitN(t, l, 1)
	c.fail = context.Canceled
	if err := l.wait(t.Context()); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with a failing sleep: %v, want context.Canceled", err)
	}
	c.fail = nil
	// Had the failed wait kept its reservation, the next one would wait
	// until 2s; cancelled, it waits for the second token at 1s.
	waitN(t, l, 1)
	if s := c.takeSleeps(); !slices.Equal(s, []time.Duration{time.Second}) {
		t.Errorf("after a failed wait slept %v, want [1s]", s)
	}

	// A context already done: nothing reserved, nothing slept.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	sleeps := c.sleeps
	if err := l.wait(ctx); !errors.Is(err, context.Canceled) || c.sleeps != sleeps {
		t.Errorf("wait on a done context: %v after %d sleeps; want context.Canceled, none", err, c.sleeps-sleeps)
	}
	c.advance(time.Second)
	waitN(t, l, 1)
	if s := c.takeSleeps(); len(s) != 0 {
		t.Errorf("slept %v, want none (a second of the clock passed)", s)
	}
}

// TestLimiterOnClockThrottled: slowing down and recovering count the
// clock's time too.
func TestLimiterOnClockThrottled(t *testing.T) {
	l, c := clockLimiter(4, 4)
	waitN(t, l, 4)
	l.throttled() // 2 per second, no burst
	waitN(t, l, 2)
	if s := c.takeSleeps(); !slices.Equal(s, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}) {
		t.Errorf("at half rate slept %v, want [500ms 500ms]", s)
	}
	for range 20 {
		l.succeeded()
	}
	if l.rate() != 4 || l.lim.Burst() != 4 {
		t.Fatalf("rate %v burst %d, want 4 and 4 again", l.rate(), l.lim.Burst())
	}
	waitN(t, l, 1)
	if s := c.takeSleeps(); !slices.Equal(s, []time.Duration{250 * time.Millisecond}) {
		t.Errorf("at full rate slept %v, want [250ms]", s)
	}
}

// TestClientClock: a Client with a Clock waits for its rate limit on that
// clock: three DescribeJobs at 2 per second with no burst take one second
// of the clock.
func TestClientClock(t *testing.T) {
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: drssim.NewManualClock(clockStart), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := &fakeClock{now: clockStart}
	cl, err := New(t.Context(), Config{
		Region: "us-east-1", Endpoint: srv.URL, HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTESTDEFAULT", "secret", ""),
		RateLimit:   2, Burst: 1, Clock: c,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := cl.JobsCreatedSince(t.Context(), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := sim.OperationCounts()["DescribeJobs"]; got != 3 {
		t.Fatalf("the simulator answered %d DescribeJobs, want 3", got)
	}
	if s := c.takeSleeps(); !slices.Equal(s, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}) {
		t.Errorf("slept %v on the clock, want [500ms 500ms]", s)
	}
}

// TestLimiterShare: a 1/n share allows 1/n of the configured rate and
// burst; a whole share again restores them, and a throttled limiter is not
// sped up by a larger share.
func TestLimiterShare(t *testing.T) {
	l, c := clockLimiter(6, 6)
	l.share(3)
	if got := l.rate(); got != 2 {
		t.Fatalf("a third of 6/s is %v/s", got)
	}
	waitN(t, l, 2) // the burst, 6/3
	c.takeSleeps()
	waitN(t, l, 2)
	want := []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}
	if s := c.takeSleeps(); !slices.Equal(s, want) {
		t.Errorf("a third share slept %v, want %v (2 per second)", s, want)
	}
	l.share(1)
	if got := l.rate(); got != 6 {
		t.Errorf("the whole share is %v/s, want 6", got)
	}
	l.throttled() // 3/s
	l.share(1)
	if got := l.rate(); got != 3 {
		t.Errorf("a throttled limiter given its whole share runs at %v/s, want 3 (it recovers by itself)", got)
	}
	l.share(3)
	if got := l.rate(); got != 2 {
		t.Errorf("a throttled limiter above its new share runs at %v/s, want 2", got)
	}
}
