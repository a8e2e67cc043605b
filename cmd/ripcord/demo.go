package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/examples"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/sqlite"
	"github.com/ripcord-dr/ripcord/web"
)

// The demo runs the example plan (examples/three-tier.yaml) as a drill
// through the engine against the simulator's three-tier scenario, whose six
// servers are still held by the TERMINATE job of an earlier attempt. It
// needs no setup and no AWS account.

type demoConfig struct {
	TimeScale float64
	Seed      int64
	// Exit ends the demo after the drill instead of serving the console
	// until Ctrl-C.
	Exit bool
	// Addr is where the console listens (default: a free loopback port).
	Addr string
	// ready, when set, is told the console's address, the viewer token
	// and the drill's execution ID once the drill is recorded (tests).
	ready func(addr, token, id string)
	// virtual runs on a manual clock that jumps forward when the engine
	// waits: no real waiting at all, and the same run every time (tests).
	virtual bool
}

func defaultDemoConfig() demoConfig { return demoConfig{TimeScale: 40, Seed: 1, Addr: "127.0.0.1:0"} }

func (c demoConfig) Validate() error {
	if !(c.TimeScale > 0) {
		return errInvalid("invalid --time-scale %v: must be greater than 0 (simulated seconds per real second, e.g. 30)", c.TimeScale)
	}
	if host, _, err := net.SplitHostPort(c.Addr); err != nil || !loopback(host) {
		return errInvalid("invalid --addr %q: the demo's console listens on loopback only, e.g. 127.0.0.1:8080", c.Addr)
	}
	return nil
}

func newDemoCmd() *cobra.Command {
	cfg := defaultDemoConfig()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the example plan as a drill against the built-in DRS simulator",
		Long: `demo starts the DRS simulator in-process (scenario three-tier: six servers in
three tiers, all still held by the TERMINATE job of an earlier attempt) and
runs the example plan examples/three-tier.yaml as a drill through the engine:
database, then app, then web. It waits for the earlier job instead of failing
on it, launches each tier in one DRS job, cleans up the drill instances,
verifies they are gone, and prints a summary. No setup, no AWS account.

It also serves the web console (on --addr, a free loopback port by default)
and prints its address with a viewer token, so the drill can be watched live;
after the drill it keeps serving until Ctrl-C (--exit ends it after the
drill).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			_, err := runDemo(cmd.Context(), cmd.OutOrStdout(), cfg)
			return err
		},
	}
	cmd.Flags().Float64Var(&cfg.TimeScale, "time-scale", cfg.TimeScale, "simulated seconds per real second")
	cmd.Flags().Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for the simulator's drawn durations")
	cmd.Flags().BoolVar(&cfg.Exit, "exit", false, "end after the drill instead of serving the console until Ctrl-C")
	cmd.Flags().StringVar(&cfg.Addr, "addr", cfg.Addr, "where the console listens (loopback)")
	return cmd
}

// scaledClock gives the engine the simulator's time: sleeping d of simulated
// time takes d/scale of real time.
type scaledClock struct {
	sim   *drssim.Sim
	scale float64
}

func (c scaledClock) Now() time.Time { return c.sim.Now() }

func (c scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return engine.RealClock{}.Sleep(ctx, time.Duration(float64(d)/c.scale))
}

// runDemo runs the demonstration and returns the simulator's final model,
// on which tests check what really happened in DRS.
func runDemo(ctx context.Context, out io.Writer, cfg demoConfig) (*drssim.StateView, error) {
	scenario, err := drssim.LoadScenario("three-tier")
	if err != nil {
		return nil, err
	}
	var clock engine.Clock
	opts := drssim.Options{Scenario: scenario, TimeScale: cfg.TimeScale, Seed: cfg.Seed, Logger: slog.New(slog.DiscardHandler)}
	if cfg.virtual {
		mc := drssim.NewManualClock(time.Now().UTC().Truncate(time.Second))
		opts.Clock = mc
		clock = mc // its Sleep moves simulated time forward
	}
	sim, err := drssim.New(opts)
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	endpoint := "http://" + ln.Addr().String()

	dir, err := os.MkdirTemp("", "ripcord-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "demo.db"))
	if err != nil {
		return nil, err
	}
	defer store.Close()

	file, err := plan.Decode("examples/three-tier.yaml", examples.ThreeTier)
	if err != nil {
		return nil, err
	}
	const planName = "orders"

	// The console, so that the drill can be watched live: a viewer token
	// for it, printed with its address.
	consoleAddr, viewerToken, stopConsole, err := demoConsole(ctx, out, store, cfg)
	if err != nil {
		return nil, err
	}
	defer stopConsole()
	client, err := drs.New(ctx, drs.Config{Region: "us-east-1", Endpoint: endpoint, STSEndpoint: endpoint, RateLimit: 50,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIMULATOR", "demo", "")})
	if err != nil {
		return nil, err
	}
	target := file.Targets[0].Name
	fmt.Fprintf(out, "ripcord demo: drill of plan %q (examples/three-tier.yaml) against the DRS simulator at %s\n", planName, endpoint)
	fmt.Fprintf(out, "(scenario three-tier, account %s, us-east-1, time x%g: one real second is %g simulated seconds)\n\n",
		sim.DefaultAccount(), cfg.TimeScale, cfg.TimeScale)

	list, err := client.ListSourceServers(ctx, nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "Readiness:")
	var infos []plan.SourceServerInfo
	for _, s := range list {
		ok, why := s.Ready(5 * time.Minute)
		verdict := "ready"
		if !ok {
			verdict = "NOT READY: " + why
		}
		fmt.Fprintf(out, "  %-20s %-13s Tier=%-9s %-11s %s\n", s.ID, s.Hostname, s.Tags["Tier"], s.ReplicationState, verdict)
		infos = append(infos, plan.SourceServerInfo{ID: s.ID, Tags: s.Tags})
	}
	resolved, err := plan.Resolve(file, planName, map[string][]plan.SourceServerInfo{target: infos})
	if err != nil {
		return nil, err
	}
	spec, err := engine.BuildSpec(file, planName, ripcord.ModeDrill, resolved)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nPlan %s: database -> app -> web, each step after the previous one is LAUNCHED (RTO target %s)\n\n", planName, spec.Settings.RTOTarget)
	if err := store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: planName, Source: examples.ThreeTier, Created: sim.Now()}); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = scaledClock{sim: sim, scale: cfg.TimeScale}
	}
	eng := engine.New(engine.Config{Store: store, Targets: map[string]ripcord.DRS{target: client},
		Clock: clock, Actor: "demo", OnChange: newProgress(out).onChange})
	id := engine.NewExecutionID(planName, sim.Now())
	if err := eng.Start(ctx, id, spec); err != nil {
		return nil, err
	}
	if cfg.ready != nil {
		cfg.ready(consoleAddr, viewerToken, id)
	}
	s, err := eng.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.State != ripcord.ExecSucceeded {
		return nil, outcomeError(s)
	}
	fmt.Fprintln(out, "\nCleanup: terminating the drill instances this execution launched, then verifying they are gone")
	if err := eng.Cleanup(ctx, id, "demo"); err != nil {
		return nil, err
	}
	if s, err = eng.Run(ctx, id); err != nil {
		return nil, err
	}
	sum := summarize(ctx, store, s)
	if err := printSummary(out, sum, false); err != nil {
		return nil, err
	}
	if !s.Cleanup.Done {
		return nil, &ripcord.Error{Code: ripcord.EINTERNAL, Message: "cleanup was not verified"}
	}
	fmt.Fprintf(out, "  the earlier TERMINATE job was waited for, not failed on: %d ConflictExceptions\n", sum.Refused)
	state := sim.State(drssim.StateFilter{})
	if !cfg.Exit {
		fmt.Fprintln(out, "\nThe console keeps serving until Ctrl-C (ripcord demo --exit ends after the drill).")
		<-ctx.Done()
	}
	return &state, nil
}

// demoConsole serves the web console over the demo's store on cfg.Addr and
// prints its address with a new viewer token, which it returns with how to
// stop it.
func demoConsole(ctx context.Context, out io.Writer, store ripcord.Store, cfg demoConfig) (addr, token string, stop func(), err error) {
	secret, id, hash, err := ripcord.NewToken()
	if err != nil {
		return "", "", nil, err
	}
	if err := store.CreateToken(ctx, ripcord.Token{ID: id, Name: "demo viewer", Role: ripcord.RoleViewer, Hash: hash}); err != nil {
		return "", "", nil, err
	}
	h, err := web.New(web.Config{Store: store})
	if err != nil {
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return "", "", nil, &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: fmt.Sprintf("listen on %s: %v", cfg.Addr, err),
			Hint: "choose another --addr, or stop what listens there"}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: web.ReadHeaderTimeout, ReadTimeout: web.ReadTimeout,
		WriteTimeout: web.WriteTimeout, IdleTimeout: web.IdleTimeout, MaxHeaderBytes: web.MaxHeaderBytes}
	go func() { _ = srv.Serve(ln) }()
	addr = ln.Addr().String()
	fmt.Fprintf(out, "Console: http://%s/console  (sign in with the viewer token %s)\n\n", addr, secret)
	return addr, secret, func() {
		h.Close()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}
