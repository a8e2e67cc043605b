package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// start is the simulated time every run begins at.
var start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// tiers are the plan's waves, in order.
var tiers = []string{"database", "app", "web"}

// The scale cases' accounts and regions: two of each, so that the
// round-robin over three tiers reaches every target.
var (
	scaleAccounts = []string{"111122223333", "222233334444"}
	scaleRegions  = []string{"us-east-1", "us-west-2"}
)

// The modelled request latency: every request to the simulator moves the
// run's clock forward by requestLatency, plus 1 ms per latencyBytes of the
// answer's body (see the package documentation).
const (
	requestLatency = 60 * time.Millisecond
	latencyBytes   = 8 << 10
)

// world is one run's simulator, its clients and its plan.
type world struct {
	sim       *drssim.Sim
	clock     *drssim.ManualClock
	srv       *httptest.Server
	transport *http.Transport
	clients   map[string]*drs.Client // by target name
	// targetOf maps a simulator region (account + "/" + region) to the
	// target name.
	targetOf map[string]string
	waves    []wave
	servers  int
}

// wave is one step of the plan.
type wave struct {
	name    string
	servers []planServer
}

// planServer is a source server in a target.
type planServer struct {
	id, target string
	// expected is engine.ExpectedLaunch of what the simulator says of the
	// server (its OS and disks).
	expected time.Duration
}

// scenario returns the simulator's scenario of case c.
func scenario(c Case) (*drssim.Scenario, error) {
	if c.Servers == 0 {
		sc, err := drssim.LoadScenario("three-tier")
		if err != nil {
			return nil, err
		}
		if c.History > 0 {
			withHistory(sc, c.History)
		}
		return sc, nil
	}
	sc, err := drssim.LoadScenario("scale")
	if err != nil {
		return nil, err
	}
	sc.Generate.Servers = c.Servers
	sc.Generate.Accounts = scaleAccounts
	sc.Generate.Regions = scaleRegions
	if c.OneTarget {
		sc.Generate.Accounts = scaleAccounts[:1]
		sc.Generate.Regions = scaleRegions[:1]
	}
	sc.Generate.Tiers = tiers
	return sc, nil
}

// newWorld builds the simulator of case c and the plan that recovers it.
func newWorld(ctx context.Context, c Case, seed int64) (*world, error) {
	sc, err := scenario(c)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	// The token bucket counts real seconds: off, so that results do not
	// depend on how fast the machine sends requests. The clients' own
	// limiter, on the run's clock, paces the requests instead.
	sc.Throttle.Rate = -1
	clock := drssim.NewManualClock(start)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("start the simulator: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 16
	w := &world{sim: sim, clock: clock, srv: httptest.NewServer(sim), transport: transport,
		clients: map[string]*drs.Client{}, targetOf: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			w.close()
		}
	}()
	hc := &http.Client{Transport: latencyTransport{next: transport, clock: clock}}
	byTier := map[string][]planServer{}
	for _, rv := range sim.State(drssim.StateFilter{}).Regions {
		name := rv.Account + "-" + rv.Region
		if c.Servers == 0 {
			name = "prod"
		}
		w.targetOf[rv.Account+"/"+rv.Region] = name
		cl, err := drs.New(ctx, drs.Config{
			Region:      rv.Region,
			Endpoint:    w.srv.URL,
			Credentials: credentials.NewStaticCredentialsProvider(sim.AccessKeyFor(rv.Account), "bench-secret", ""),
			// The adapter's default rate limit and burst, on the run's
			// clock: waiting for it is simulated time.
			Clock:        clock,
			HTTPClient:   hc,
			RetryBackoff: virtualBackoff{clock},
		})
		if err != nil {
			return nil, fmt.Errorf("connect to the simulator for %s: %w", name, err)
		}
		w.clients[name] = cl
		for _, s := range rv.Servers {
			if t := s.Tags["Tier"]; t != "" {
				byTier[t] = append(byTier[t], planServer{id: s.SourceServerID, target: name, expected: expected(s)})
			}
		}
	}
	for _, t := range tiers {
		ss := byTier[t]
		if len(ss) == 0 {
			return nil, fmt.Errorf("case %s: no server has the tag Tier=%s", c.Name, t)
		}
		slices.SortFunc(ss, func(a, b planServer) int {
			if a.target != b.target {
				return cmp.Compare(a.target, b.target)
			}
			return cmp.Compare(a.id, b.id)
		})
		for target := range w.clients {
			if !slices.ContainsFunc(ss, func(p planServer) bool { return p.target == target }) {
				return nil, fmt.Errorf("case %s: step %s has no server in target %s", c.Name, t, target)
			}
		}
		w.waves = append(w.waves, wave{name: t, servers: ss})
		w.servers += len(ss)
	}
	ok = true
	return w, nil
}

func (w *world) close() {
	w.srv.Close()
	w.sim.Close()
	w.transport.CloseIdleConnections()
}

// expected is engine.ExpectedLaunch of a server as the simulator describes
// it: the OS string and the total size of the disks, as the drs adapter
// reads them from DescribeSourceServers.
func expected(s drssim.SourceServer) time.Duration {
	var src ripcord.SourceServer
	if p := s.SourceProperties; p != nil {
		if p.Os != nil {
			src.OS = p.Os.FullString
		}
		for _, d := range p.Disks {
			src.DiskBytes += d.Bytes
		}
	}
	return engine.ExpectedLaunch(src)
}

// latencyTransport models the time a request to DRS takes: after each
// answer it moves the run's clock forward by requestLatency plus 1 ms per
// latencyBytes of the body (which it reads in full to know its size). The
// simulator answers at the time the request arrives; the client sees the
// answer the modelled latency later.
type latencyTransport struct {
	next  http.RoundTripper
	clock *drssim.ManualClock
}

func (t latencyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		t.clock.Advance(requestLatency)
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.clock.Advance(latency(len(body)))
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// latency is the modelled time of a request whose answer has n bytes.
func latency(n int) time.Duration {
	return requestLatency + time.Duration(n)*time.Millisecond/latencyBytes
}

// elapsed is the simulated time since the start.
func (w *world) elapsed() time.Duration { return w.clock.Now().Sub(start) }

// sleep moves simulated time forward: the naive strategies' pauses.
func (w *world) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.clock.Advance(d)
	return nil
}

// virtualBackoff is the SDK's retry backoff in simulated time: it moves the
// clock forward by the wait the standard retryer would make (exponential,
// capped at 20 s; without jitter, to stay repeatable) and returns at once.
type virtualBackoff struct{ c *drssim.ManualClock }

func (b virtualBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := min(time.Duration(1)<<min(attempt, 5)*time.Second, 20*time.Second)
	b.c.Advance(d)
	return 0, nil
}

// targets returns the clients as the engine takes them.
func (w *world) targets() map[string]ripcord.DRS {
	out := map[string]ripcord.DRS{}
	for name, c := range w.clients {
		out[name] = c
	}
	return out
}

// withHistory gives the scenario's first target n completed jobs of
// history, with the simulator's defaults for their span and size.
func withHistory(sc *drssim.Scenario, n int) {
	sc.Regions[0].History = &drssim.HistorySpec{Jobs: n}
}
