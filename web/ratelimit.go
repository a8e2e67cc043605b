package web

import (
	"sync"
	"time"
)

// failLimiter limits failed sign-ins per client address with a token
// bucket: Burst failures at once, then one per Every. An address whose
// bucket is empty is refused, valid token or not, until a failure's worth
// has refilled: a guesser cannot tell a hit from a miss meanwhile.
type failLimiter struct {
	burst float64
	every time.Duration
	max   int // addresses remembered at most

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64 // failures still allowed
	at     time.Time
}

func newFailLimiter(burst int, every time.Duration, maxAddrs int) *failLimiter {
	return &failLimiter{burst: float64(burst), every: every, max: maxAddrs, buckets: map[string]*bucket{}}
}

// refill brings b up to now.
func (l *failLimiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

// limited reports whether addr must wait, and how long.
func (l *failLimiter) limited(addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		return 0, false
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - b.tokens) * float64(l.every)), true
}

// fail counts a failed sign-in of addr.
func (l *failLimiter) fail(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.forget(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[addr] = b
	}
	l.refill(b, now)
	b.tokens = max(b.tokens-1, 0)
}

// forget drops the addresses whose buckets have refilled (they are as
// good as new), and if that is not enough, any: memory stays bounded
// however many addresses fail.
func (l *failLimiter) forget(now time.Time) {
	for addr, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, addr)
		}
	}
	for addr := range l.buckets {
		if len(l.buckets) < l.max {
			break
		}
		delete(l.buckets, addr)
	}
}
