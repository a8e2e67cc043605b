package drs

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Clock is the time the rate limiter waits on (Config.Clock): Now, and a
// Sleep that returns early with ctx's error when ctx is done. The engine's
// clocks (engine.RealClock, drssim.ManualClock) are Clocks.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// limiter is the token bucket every request to one target waits on.
//
// DRS publishes no request rate, so the limiter looks for the rate DRS will
// take, the way TCP looks for bandwidth: each ThrottlingException halves the
// rate (down to a thirty-second of the configured rate) and allows no burst,
// and each answered request adds back a twentieth of the configured rate
// until it is whole again, burst included. Throttling then costs a few slow
// requests instead of a storm of retries that all get throttled too.
//
// With a clock (Config.Clock) the bucket counts that clock's time and a
// request waits by sleeping on it: on a simulator's manual clock waiting
// for the limiter moves simulated time. Without one it is the wall clock,
// and waiting is rate.Limiter's own.
type limiter struct {
	mu    sync.Mutex
	lim   *rate.Limiter
	clock Clock // nil: the wall clock
	base  rate.Limit
	burst int
	floor rate.Limit
	// full and fullBurst are the configured rate and burst; base and
	// burst are this process's share of them (share).
	full      rate.Limit
	fullBurst int
}

// newLimiter returns a limiter on the wall clock; set clock to count
// another time.
func newLimiter(rps float64, burst int) *limiter {
	base := rate.Limit(rps)
	return &limiter{lim: rate.NewLimiter(base, burst), base: base, burst: burst, floor: base / 32, full: base, fullBurst: burst}
}

// share makes the limiter allow 1/n of the configured rate and burst. A
// limiter slowed by throttling stays as slow, unless its share is lower.
func (l *limiter) share(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	atBase := l.lim.Limit() >= l.base
	l.base = l.full / rate.Limit(n)
	l.burst = max(1, l.fullBurst/n)
	l.floor = l.base / 32
	switch {
	case atBase:
		l.lim.SetLimitAt(now, l.base)
		l.lim.SetBurstAt(now, l.burst)
	case l.lim.Limit() > l.base: // throttled, but above the new share
		l.lim.SetLimitAt(now, l.base)
	}
}

// now is the limiter's time.
func (l *limiter) now() time.Time {
	if l.clock == nil {
		return time.Now()
	}
	return l.clock.Now()
}

// wait blocks until a request may be sent or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	if l.clock == nil {
		return l.lim.Wait(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := l.clock.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		// Only with a burst below 1, which New never configures.
		return errBurst
	}
	at := now.Add(r.DelayFrom(now))
	// Sleep until the reserved instant, not for the delay from now: time
	// may have moved on while the reservation was made.
	if d := at.Sub(l.clock.Now()); d > 0 {
		if err := l.clock.Sleep(ctx, d); err != nil {
			// Not sent: the token goes back for the next request.
			r.CancelAt(l.clock.Now())
			return err
		}
	}
	return nil
}

// errBurst is wait's error when the bucket cannot hold one token.
var errBurst = errors.New("drs: rate limiter: a request exceeds the burst")

// throttled slows the limiter down after a ThrottlingException.
func (l *limiter) throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	r := max(l.lim.Limit()/2, l.floor)
	l.lim.SetLimitAt(now, r)
	l.lim.SetBurstAt(now, 1)
}

// succeeded brings the limiter back towards its configured rate after a
// request DRS did not throttle.
func (l *limiter) succeeded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.lim.Limit()
	if r >= l.base {
		return
	}
	now := l.now()
	r = min(r+l.base/20, l.base)
	l.lim.SetLimitAt(now, r)
	if r == l.base {
		l.lim.SetBurstAt(now, l.burst)
	}
}

// rate is the current rate in requests per second.
func (l *limiter) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return float64(l.lim.Limit())
}

// defaultBurst is the burst for a rate: one second's worth, at least 1.
func defaultBurst(rps float64) int {
	return max(1, int(math.Ceil(rps)))
}
