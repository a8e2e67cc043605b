package bench

import (
	"cmp"
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
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

// world is one run's simulator, its clients and its plan.
type world struct {
	sim     *drssim.Sim
	clock   *drssim.ManualClock
	srv     *httptest.Server
	clients map[string]*drs.Client // by target name
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
}

// newWorld builds the simulator of case c and the plan that recovers it.
func newWorld(ctx context.Context, c Case, seed int64) (*world, error) {
	var sc *drssim.Scenario
	var err error
	if c.Servers == 0 {
		sc, err = drssim.LoadScenario("three-tier")
	} else {
		sc, err = drssim.LoadScenario("scale")
		if err == nil {
			sc.Generate.Servers = c.Servers
			sc.Generate.Accounts = scaleAccounts
			sc.Generate.Regions = scaleRegions
			sc.Generate.Tiers = tiers
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	// The token bucket counts real seconds: off, so that results do not
	// depend on how fast the machine sends requests.
	sc.Throttle.Rate = -1
	clock := drssim.NewManualClock(start)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("start the simulator: %w", err)
	}
	w := &world{sim: sim, clock: clock, srv: httptest.NewServer(sim), clients: map[string]*drs.Client{}, targetOf: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			w.close()
		}
	}()
	byTier := map[string][]planServer{}
	for _, rv := range sim.State(drssim.StateFilter{}).Regions {
		name := rv.Account + "-" + rv.Region
		if c.Servers == 0 {
			name = "prod"
		}
		w.targetOf[rv.Account+"/"+rv.Region] = name
		cl, err := drs.New(ctx, drs.Config{
			Region:       rv.Region,
			Endpoint:     w.srv.URL,
			Credentials:  credentials.NewStaticCredentialsProvider(sim.AccessKeyFor(rv.Account), "bench-secret", ""),
			RateLimit:    1e6, // the simulator's limit is off; so is ours
			RetryBackoff: virtualBackoff{clock},
		})
		if err != nil {
			return nil, fmt.Errorf("connect to the simulator for %s: %w", name, err)
		}
		w.clients[name] = cl
		for _, s := range rv.Servers {
			if t := s.Tags["Tier"]; t != "" {
				byTier[t] = append(byTier[t], planServer{id: s.SourceServerID, target: name})
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
