package drs

import (
	"context"
	"math"
	"sync"

	"golang.org/x/time/rate"
)

// limiter is the token bucket every request to one target waits on.
//
// DRS publishes no request rate, so the limiter looks for the rate DRS will
// take, the way TCP looks for bandwidth: each ThrottlingException halves the
// rate (down to a thirty-second of the configured rate) and allows no burst,
// and each answered request adds back a twentieth of the configured rate
// until it is whole again, burst included. Throttling then costs a few slow
// requests instead of a storm of retries that all get throttled too.
type limiter struct {
	mu    sync.Mutex
	lim   *rate.Limiter
	base  rate.Limit
	burst int
	floor rate.Limit
}

func newLimiter(rps float64, burst int) *limiter {
	base := rate.Limit(rps)
	return &limiter{lim: rate.NewLimiter(base, burst), base: base, burst: burst, floor: base / 32}
}

// wait blocks until a request may be sent or ctx ends.
func (l *limiter) wait(ctx context.Context) error { return l.lim.Wait(ctx) }

// throttled slows the limiter down after a ThrottlingException.
func (l *limiter) throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := max(l.lim.Limit()/2, l.floor)
	l.lim.SetLimit(r)
	l.lim.SetBurst(1)
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
	r = min(r+l.base/20, l.base)
	l.lim.SetLimit(r)
	if r == l.base {
		l.lim.SetBurst(l.burst)
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
