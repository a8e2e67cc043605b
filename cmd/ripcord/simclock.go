package main

import (
	"context"
	"os"

	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/engine"
)

// simulator probes --endpoint-url once for a ripcord simulator and returns
// its clock, or nil when the endpoint is not one (AWS, another endpoint,
// nothing answering: then the wall clock and AWS's STS are used).
func (c *connFlags) simulator(ctx context.Context) *drs.SimClock {
	if c.probed || c.Endpoint == "" {
		return c.sim
	}
	c.probed = true
	if sc, err := drs.SimulatorClock(ctx, c.Endpoint, nil); err == nil {
		c.sim = sc
	}
	return c.sim
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
