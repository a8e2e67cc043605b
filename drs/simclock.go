package drs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// SimClock is the simulated time of a ripcord simulator (`ripcord sim`,
// package drssim), read from its control API at GET /_sim/clock. The
// engine runs on it when it talks to a simulator, so that its polls, waits
// and deadlines are in the same time as the jobs it watches; against AWS
// it runs on the wall clock.
//
// A time-scaled simulator is followed between probes: the time probed
// plus the wall time since, times the scale, re-synced at most every
// simClockResync. A manual simulator clock moves only when someone
// advances it (POST /_sim/clock/advance), so Sleep polls it.
type SimClock struct {
	endpoint string
	hc       *http.Client

	mu        sync.Mutex
	sim       time.Time // simulated time at the last probe
	wall      time.Time // wall time the last probe's answer arrived
	scale     float64   // simulated seconds per real second; 0: does not run by itself
	last      time.Time // the latest time Now returned: it never runs backwards
	tried     time.Time // wall time of the last re-sync attempt
	resyncing bool
}

// SimClock's timings, in wall time.
const (
	simClockResync  = 3 * time.Second       // longest a time-scaled clock goes without a probe
	simClockPoll    = 20 * time.Millisecond // how often Sleep looks at a clock that does not run by itself
	simClockTimeout = 2 * time.Second       // one probe
	simClockGiveUp  = 10 * time.Second      // Sleep fails after probes have failed this long
)

// simClockInfo is the answer of GET /_sim/clock (drssim.ClockInfo).
type simClockInfo struct {
	Now    time.Time `json:"now"`
	Scale  float64   `json:"scale"`
	Manual bool      `json:"manual"`
}

// SimulatorClock probes endpoint (the simulator's URL, e.g.
// http://127.0.0.1:4566) for its clock. hc nil uses a client of its own.
// The error is ENOTFOUND when something answers there but it is not a
// ripcord simulator (AWS, or another DRS endpoint), and EUNAVAILABLE when
// nothing answers.
func SimulatorClock(ctx context.Context, endpoint string, hc *http.Client) (*SimClock, error) {
	if hc == nil {
		hc = &http.Client{}
	}
	c := &SimClock{endpoint: strings.TrimSuffix(endpoint, "/"), hc: hc}
	info, err := c.probe(ctx)
	if err != nil {
		return nil, err
	}
	c.set(info, time.Now())
	return c, nil
}

// Scale is how many simulated seconds pass per real second, as last
// probed; 0 for a clock that does not run by itself (a manual one).
func (c *SimClock) Scale() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scale
}

// Now returns the simulator's current time as far as the last probe tells
// it, re-synced at most every few seconds of wall time. It is never ahead
// of the simulator's own clock, and never goes backwards. If a re-sync
// fails, Now keeps following the last probe; Sleep reports failures.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	due := !c.resyncing && time.Since(c.tried) >= simClockResync
	if due {
		c.resyncing = true
		c.tried = time.Now()
	}
	c.mu.Unlock()
	if due {
		ctx, cancel := context.WithTimeout(context.Background(), simClockTimeout)
		info, err := c.probe(ctx)
		cancel()
		c.mu.Lock()
		c.resyncing = false
		c.mu.Unlock()
		if err == nil {
			c.set(info, time.Now())
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.sim.Add(time.Duration(float64(time.Since(c.wall)) * c.scale))
	if t.Before(c.last) {
		t = c.last
	}
	c.last = t
	return t
}

// Sleep waits until d of simulated time has passed, or ctx ends. On a
// time-scaled simulator that is d/scale of wall time; on a manual one it
// polls the simulator every simClockPoll until its clock has moved by d.
// It returns ctx's error if ctx ends first, and an EUNAVAILABLE error if
// the simulator stops answering for simClockGiveUp.
func (c *SimClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	if scale := c.Scale(); scale > 0 {
		t := time.NewTimer(time.Duration(float64(d) / scale))
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var target time.Time // set by the first probe that answers
	var failing time.Time
	tick := time.NewTicker(simClockPoll)
	defer tick.Stop()
	for {
		info, err := c.probe(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			if failing.IsZero() {
				failing = time.Now()
			} else if time.Since(failing) >= simClockGiveUp {
				return err
			}
		default:
			failing = time.Time{}
			c.set(info, time.Now())
			if target.IsZero() {
				target = info.Now.Add(d)
			}
			if !info.Now.Before(target) {
				return nil
			}
			if info.Scale > 0 {
				// The simulator's clock runs by itself after all.
				return c.Sleep(ctx, target.Sub(info.Now))
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *SimClock) set(info simClockInfo, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sim, c.wall, c.scale, c.tried = info.Now, at, info.Scale, at
}

// probe asks the simulator for its clock.
func (c *SimClock) probe(ctx context.Context) (simClockInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, simClockTimeout)
	defer cancel()
	u := c.endpoint + "/_sim/clock"
	notSim := func(why string) error {
		return &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: fmt.Sprintf("%s is not a ripcord simulator: GET %s %s", c.endpoint, u, why),
			Hint: "simulated time comes from `ripcord sim` (or drssim) only: point the endpoint at one, " +
				"or run against AWS on the wall clock"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return simClockInfo{}, &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("simulator endpoint %q: %v", c.endpoint, err), Hint: "give a URL such as http://127.0.0.1:4566"}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return simClockInfo{}, &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: fmt.Sprintf("simulator clock: no answer from %s: %v", c.endpoint, err),
			Hint:    "check that `ripcord sim` is running at that address"}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return simClockInfo{}, &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: fmt.Sprintf("simulator clock: reading the answer of %s: %v", u, err)}
	}
	if resp.StatusCode != http.StatusOK {
		return simClockInfo{}, notSim(fmt.Sprintf("answered HTTP %d", resp.StatusCode))
	}
	var info simClockInfo
	if err := json.Unmarshal(body, &info); err != nil || info.Now.IsZero() || info.Scale < 0 {
		return simClockInfo{}, notSim("did not answer the simulator's clock ({\"now\", \"scale\", \"manual\"} in JSON)")
	}
	return info, nil
}
