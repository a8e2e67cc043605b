package main

import (
	"context"
	"os"
	"sync"

	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/engine"
)

// simulator probes --endpoint-url once for a ripcord simulator and returns
// its clock, or nil when the endpoint is not one (AWS, another endpoint,
// nothing answering: then the wall clock and AWS's STS are used). Callers
// on other goroutines (a server connecting several targets at once) wait
// for the one probe; `serve` probes before it starts.
func (c *connFlags) simulator(ctx context.Context) *drs.SimClock {
	if c.Endpoint == "" {
		return nil
	}
	v, _ := simProbes.LoadOrStore(c.Endpoint, &simProbe{})
	p := v.(*simProbe)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		p.done = true
		if sc, err := drs.SimulatorClock(ctx, c.Endpoint, nil); err == nil {
			p.sim = sc
		}
	}
	return p.sim
}

// simProbes holds, by endpoint, what probing it found: once per process,
// whichever goroutine asks first, the others waiting for it.
var simProbes sync.Map // endpoint -> *simProbe

type simProbe struct {
	mu   sync.Mutex
	done bool
	sim  *drs.SimClock
}

// simClock is the simulator's clock for the engine, or nil.
func (c *connFlags) simClock(ctx context.Context) engine.Clock {
	if sc := c.simulator(ctx); sc != nil {
		return sc
	}
	return nil
}

// stsEndpoint is where STS is called: --sts-endpoint-url, else
// AWS_ENDPOINT_URL_STS (the SDK reads it itself), else the DRS endpoint
// when it is a ripcord simulator, which serves STS on the same port.
func (c *connFlags) stsEndpoint(ctx context.Context, drsEndpoint string) string {
	switch {
	case c.STSEndpoint != "":
		return c.STSEndpoint
	case os.Getenv("AWS_ENDPOINT_URL_STS") != "":
		return ""
	case drsEndpoint != "" && drsEndpoint == c.Endpoint && c.simulator(ctx) != nil:
		return drsEndpoint
	}
	return ""
}
