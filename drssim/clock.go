package drssim

import (
	"context"
	"sync"
	"time"
)

// Clock is the simulator's source of simulated time. The model advances
// lazily: every request (and every read of the model) first applies all
// scheduled transitions that are due at Clock.Now(), so the state a client
// sees is exactly the state at that simulated instant, without goroutines.
type Clock interface {
	Now() time.Time
}

// ScaledClock runs Scale simulated seconds per real second, starting at
// Start (simulated) when it is created.
type ScaledClock struct {
	start     time.Time
	realStart time.Time
	scale     float64
	realNow   func() time.Time
}

// NewScaledClock returns a clock that starts at start and runs scale times
// faster than the wall clock.
func NewScaledClock(start time.Time, scale float64) *ScaledClock {
	return &ScaledClock{start: start, realStart: time.Now(), scale: scale, realNow: time.Now}
}

// Now returns the current simulated time.
func (c *ScaledClock) Now() time.Time {
	elapsed := c.realNow().Sub(c.realStart)
	return c.start.Add(time.Duration(float64(elapsed) * c.scale))
}

// Scale is how many simulated seconds pass per real second.
func (c *ScaledClock) Scale() float64 { return c.scale }

// ClockInfo is the simulator's clock as clients see it at GET /_sim/clock:
// the simulated time, and how it moves. A client that knows both can keep
// simulated time itself between probes (drs.SimulatorClock does).
type ClockInfo struct {
	// Now is the current simulated time, in UTC.
	Now time.Time `json:"now"`
	// Scale is simulated seconds per real second; 0 when the clock does
	// not run by itself (a manual clock: poll to see it move).
	Scale float64 `json:"scale"`
	// Manual is true when the clock moves only when advanced (POST
	// /_sim/clock/advance, or ManualClock in Go).
	Manual bool `json:"manual"`
}

// Clock describes the simulator's clock now.
func (s *Sim) Clock() ClockInfo {
	info := ClockInfo{Now: s.clock.Now().UTC(), Manual: s.manual != nil}
	if sc, ok := s.clock.(interface{ Scale() float64 }); ok && !info.Manual {
		info.Scale = sc.Scale()
	}
	return info
}

// ManualClock is a clock that moves only when told to. Tests use it to run a
// twenty-minute drill in microseconds.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a ManualClock set to t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (negative values are ignored: time
// never runs backwards in the simulator).
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.t = c.t.Add(d)
	}
	return c.t
}

// Sleep moves the clock forward by d instead of waiting, so that a program
// driven by this clock (the engine in tests, benchmarks and the demo) runs
// in virtual time: a thirty-minute drill takes milliseconds and is the same
// every time. It returns ctx's error if ctx is done.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Virtual reports that this clock's time passes only when it is slept on
// or advanced: a program driven by it (the engine) must not let time move
// on while it waits for something that takes real time.
func (c *ManualClock) Virtual() bool { return true }

// Set moves the clock to t if t is later than the current time.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// timeFormat is how the real service formats date-times: Python-style ISO
// 8601 with microseconds and an explicit offset, e.g.
// 2024-09-16T04:42:46.324841+00:00 (docs/drs.md §6).
const timeFormat = "2006-01-02T15:04:05.000000-07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	var b [len(timeFormat)]byte
	return string(appendTime(b[:0], t))
}

// appendTime appends formatTime(t) to b (nothing for the zero time).
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, timeFormat)
	}
	// The layout by hand: rendering a page of servers formats hundreds of
	// times, and this is several times faster than Format.
	hour, min, sec := t.Clock()
	n := len(b)
	b = append(b, "0000-00-00T00:00:00.000000+00:00"...)
	put := func(i, v, width int) {
		for j := n + i + width - 1; j >= n+i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	put(5, int(month), 2)
	put(8, day, 2)
	put(11, hour, 2)
	put(14, min, 2)
	put(17, sec, 2)
	put(20, t.Nanosecond()/1000, 6) // truncated, as Format does
	return b
}

// parseTime accepts the forms clients send in filters: RFC 3339 with or
// without fractional seconds, with Z or an offset.
func parseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}
