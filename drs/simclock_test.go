package drs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
)

// clockProbes serves a simulator and signals every GET /_sim/clock it
// answers, so that a test can wait for SimClock's polls instead of
// sleeping.
type clockProbes struct {
	sim    *drssim.Sim
	probes chan struct{}
}

func (p *clockProbes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.sim.ServeHTTP(w, r)
	if r.URL.Path == "/_sim/clock" {
		select {
		case p.probes <- struct{}{}:
		default: // nobody is counting
		}
	}
}

func serveClock(t *testing.T, opts drssim.Options) (*httptest.Server, *clockProbes) {
	t.Helper()
	if opts.Scenario == nil {
		opts.Scenario = threeTier(t)
	}
	sim, err := drssim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	p := &clockProbes{sim: sim, probes: make(chan struct{}, 1000)}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv, p
}

// waitProbes waits for n more probes of the simulator's clock.
func (p *clockProbes) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for range n {
		select {
		case <-p.probes:
		case <-timeout.C:
			t.Fatalf("SimClock did not probe the simulator's clock within 10s")
		}
	}
}

func (p *clockProbes) drain() {
	for {
		select {
		case <-p.probes:
		default:
			return
		}
	}
}

func TestSimulatorClockScaled(t *testing.T) {
	const scale = 60000 // ten simulated minutes in ten real milliseconds
	srv, p := serveClock(t, drssim.Options{TimeScale: scale, Seed: 1})
	before := p.sim.Now()
	c, err := drs.SimulatorClock(ctx(t), srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if c.Scale() != scale {
		t.Errorf("scale %v, want %v", c.Scale(), float64(scale))
	}
	p.drain()
	for range 100 {
		got := c.Now()
		after := p.sim.Now()
		// Never ahead of the simulator, never behind what it was before
		// the probe.
		if got.Before(before) || got.After(after) {
			t.Fatalf("SimClock.Now %s, simulator between %s and %s", got, before, after)
		}
		before = got
	}
	if len(p.probes) != 0 {
		t.Errorf("%d probes for 100 calls of Now within a few seconds, want none: Now follows the scale between re-syncs", len(p.probes))
	}

	start := p.sim.Now()
	if err := c.Sleep(ctx(t), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if slept := p.sim.Now().Sub(start); slept < 10*time.Minute {
		t.Errorf("Sleep(10m) returned after %s of simulated time", slept)
	}

	short, cancel := context.WithTimeout(ctx(t), 20*time.Millisecond)
	defer cancel()
	if err := c.Sleep(short, 1000*time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sleep past the context's deadline: %v, want context.DeadlineExceeded", err)
	}
}

func TestSimulatorClockManual(t *testing.T) {
	clock := drssim.NewManualClock(testStart)
	srv, p := serveClock(t, drssim.Options{Clock: clock, Seed: 1})
	c, err := drs.SimulatorClock(ctx(t), srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Now().Equal(testStart) || c.Scale() != 0 {
		t.Fatalf("Now %s, scale %v; want %s and 0", c.Now(), c.Scale(), testStart)
	}
	p.drain()

	done := make(chan error, 1)
	go func() { done <- c.Sleep(ctx(t), 5*time.Minute) }()
	p.wait(t, 2) // Sleep has read the time it waits from and polled again
	clock.Advance(3 * time.Minute)
	p.drain()
	p.wait(t, 2) // at least one poll saw the 3 minutes
	select {
	case err := <-done:
		t.Fatalf("Sleep(5m) returned (%v) after 3 simulated minutes", err)
	default:
	}
	clock.Advance(2 * time.Minute)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sleep(5m) did not return within 10s of the clock reaching 5 minutes")
	}
	if want := testStart.Add(5 * time.Minute); !c.Now().Equal(want) {
		t.Errorf("Now after Sleep %s, want %s", c.Now(), want)
	}

	cctx, cancel := context.WithCancel(ctx(t))
	go func() { done <- c.Sleep(cctx, time.Hour) }()
	p.drain()
	p.wait(t, 1)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sleep did not return within 10s of its context's cancellation")
	}
}

func TestSimulatorClockNotASimulator(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"a web page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>hello</html>"))
		}},
		{"other JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			_, err := drs.SimulatorClock(ctx(t), srv.URL, srv.Client())
			if ripcord.ErrorCode(err) != ripcord.ENOTFOUND || ripcord.ErrorHint(err) == "" {
				t.Errorf("got %v (%s), want ENOTFOUND with a hint", err, ripcord.ErrorCode(err))
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		_, err := drs.SimulatorClock(ctx(t), closedPort(t), nil)
		if ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE || ripcord.Classify(err) != ripcord.ClassTransient {
			t.Errorf("got %v (%s), want EUNAVAILABLE", err, ripcord.ErrorCode(err))
		}
	})
}
