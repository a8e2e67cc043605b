package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
)

// HTTP server limits for `ripcord sim`. Every DRS call is a small JSON
// request answered at once, so generous fixed limits only guard against stuck
// or slow clients.
const (
	simReadHeaderTimeout = 5 * time.Second
	simReadTimeout       = 30 * time.Second
	simWriteTimeout      = 60 * time.Second
	simIdleTimeout       = 120 * time.Second

	// simShutdownTimeout bounds how long in-flight requests may take to
	// finish after SIGINT or SIGTERM before connections are closed.
	simShutdownTimeout = 10 * time.Second
)

// simConfig is the configuration of `ripcord sim`, filled from its flags.
type simConfig struct {
	Addr      string  // TCP address to listen on, host:port
	Scenario  string  // embedded scenario name or path of a YAML scenario file
	TimeScale float64 // simulated seconds per real second; > 0
	Seed      int64   // seed for simulated durations and failures
	LogFormat string  // auto, text or json
	Servers   int     // overrides the number of generated servers (scale); 0 keeps the scenario's
}

// defaultSimConfig returns the documented defaults of `ripcord sim`.
func defaultSimConfig() simConfig {
	return simConfig{
		Addr:      "127.0.0.1:4566",
		Scenario:  "three-tier",
		TimeScale: 60,
		Seed:      1,
		LogFormat: logFormatAuto,
	}
}

// Validate reports every invalid field, each as an EINVALID error naming its
// flag.
func (c simConfig) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, errInvalid("invalid --addr %q: %v (use host:port, e.g. 127.0.0.1:4566, or 127.0.0.1:0 for any free port)", c.Addr, err))
	}
	if c.Scenario == "" {
		errs = append(errs, errInvalid("invalid --scenario \"\": must name a built-in scenario or a YAML file"))
	}
	if !(c.TimeScale > 0) || math.IsInf(c.TimeScale, 0) {
		errs = append(errs, errInvalid("invalid --time-scale %g: must be greater than 0 (simulated seconds per real second, e.g. 60)", c.TimeScale))
	}
	if c.Servers < 0 || c.Servers > 100000 {
		errs = append(errs, errInvalid("invalid --servers %d: must be between 1 and 100000 (0 keeps the scenario's count)", c.Servers))
	}
	if !validLogFormat(c.LogFormat) {
		errs = append(errs, errInvalid("invalid --log-format %q: must be auto, text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// newSimCmd returns the `ripcord sim` command.
func newSimCmd() *cobra.Command {
	cfg := defaultSimConfig()
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the DRS simulator as an HTTP endpoint",
		Long: `Run a simulated AWS Elastic Disaster Recovery endpoint. The AWS CLI and the
AWS SDKs talk to it through an endpoint override; the banner printed at start
shows how. Simulated time runs --time-scale times faster than real time, and
the control API under /_sim/ inspects the state, moves the clock and injects
faults.

Stop it with Ctrl-C (SIGINT) or SIGTERM: requests in flight finish, then it
exits with status 0.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := newLogger(cmd.ErrOrStderr(), cfg.LogFormat)

			sim, err := newSim(cfg, logger)
			if err != nil {
				return err
			}
			defer sim.Close()

			ln, err := listen(ctx, cfg.Addr)
			if err != nil {
				return err
			}
			logger.Info("starting simulator", "scenario", cfg.Scenario, "time_scale", cfg.TimeScale, "seed", cfg.Seed)
			return serveSim(ctx, ln, cmd.OutOrStdout(), sim, logger)
		},
	}

	cmd.AddCommand(newSimSnapshotCmd())
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (host:port; port 0 picks a free port)")
	f.StringVar(&cfg.Scenario, "scenario", cfg.Scenario, fmt.Sprintf("built-in scenario (%s) or path of a YAML scenario file", strings.Join(drssim.ScenarioNames(), ", ")))
	f.Float64Var(&cfg.TimeScale, "time-scale", cfg.TimeScale, "simulated seconds per real second")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for simulated durations and failures (same seed, same run)")
	f.IntVar(&cfg.Servers, "servers", cfg.Servers, "number of generated servers, for scenarios that generate them (scale); 0 keeps the scenario's")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "request log format on stderr: auto (text on a terminal, else json), text or json")
	return cmd
}

// newSim loads cfg's scenario and returns a simulator that logs its requests
// to logger. The caller must Close it.
func newSim(cfg simConfig, logger *slog.Logger) (*drssim.Sim, error) {
	scenario, err := drssim.LoadScenario(cfg.Scenario)
	if err != nil {
		return nil, &ripcord.Error{
			Code:    ripcord.EINVALID,
			Message: fmt.Sprintf("invalid --scenario %q: %v", cfg.Scenario, err),
			Hint:    fmt.Sprintf("use a built-in scenario (%s) or the path of a YAML scenario file", strings.Join(drssim.ScenarioNames(), ", ")),
		}
	}
	if cfg.Servers > 0 {
		if scenario.Generate == nil {
			return nil, &ripcord.Error{
				Code:    ripcord.EINVALID,
				Message: fmt.Sprintf("--servers %d: scenario %q does not generate servers", cfg.Servers, cfg.Scenario),
				Hint:    "use --servers with the scale scenario, or a scenario with a generate: block",
			}
		}
		scenario.Generate.Servers = cfg.Servers
	}
	sim, err := drssim.New(drssim.Options{
		Scenario:  scenario,
		TimeScale: cfg.TimeScale,
		Seed:      cfg.Seed,
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	return sim, nil
}

// listen listens on TCP addr, explaining the usual cause when the address is
// taken.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &ripcord.Error{
			Code:    ripcord.ECONFLICT,
			Message: fmt.Sprintf("listen on %s: address already in use", addr),
			Hint:    "another process is listening there (another ripcord sim? LocalStack also defaults to port 4566); stop it or choose another address with --addr, e.g. --addr 127.0.0.1:0",
		}
	} else if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// serveSim serves sim on ln until ctx is done, then shuts down gracefully:
// it stops accepting connections and lets requests in flight finish for up to
// simShutdownTimeout. It writes the connection banner to banner before
// serving, and logs to logger. It takes ownership of ln and closes it, but not
// of sim, which the caller closes. It returns nil after a clean shutdown.
func serveSim(ctx context.Context, ln net.Listener, banner io.Writer, sim *drssim.Sim, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: simReadHeaderTimeout,
		ReadTimeout:       simReadTimeout,
		WriteTimeout:      simWriteTimeout,
		IdleTimeout:       simIdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	if err := writeSimBanner(banner, clientURL(ln.Addr()), sim.DefaultAccount(), sim.Regions()); err != nil {
		ln.Close()
		return fmt.Errorf("write banner: %w", err)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("simulator listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		// Serve returns only on failure until Shutdown is called.
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", simShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), simShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("simulator stopped")
	return nil
}

// clientURL returns the URL clients use to reach a server listening on addr.
// A wildcard address (0.0.0.0 or ::) is shown as 127.0.0.1, which reaches it
// from the same machine.
func clientURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// writeSimBanner writes how to point the AWS CLI, the AWS SDKs and curl at a
// simulator reachable at endpoint (a URL such as http://127.0.0.1:4566), for
// DRS and for STS, which the simulator serves on the same port.
func writeSimBanner(w io.Writer, endpoint, account string, regions []string) error {
	region := "us-east-1"
	if len(regions) > 0 {
		region = regions[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ripcord sim: DRS simulator listening on %s\n", endpoint)
	fmt.Fprintf(&b, "  account %s, regions %s\n", account, strings.Join(regions, ", "))
	fmt.Fprintf(&b, "\nAWS CLI:\n")
	fmt.Fprintf(&b, "  export AWS_ACCESS_KEY_ID=AKIDSIMULATOR AWS_SECRET_ACCESS_KEY=anything\n")
	fmt.Fprintf(&b, "  aws drs describe-source-servers --endpoint-url %s --region %s\n", endpoint, region)
	fmt.Fprintf(&b, "\nSTS (GetCallerIdentity, AssumeRole with the scenario's roles) on the same port:\n")
	fmt.Fprintf(&b, "  aws sts get-caller-identity --endpoint-url %s --region %s\n", endpoint, region)
	fmt.Fprintf(&b, "\nOr, for the AWS CLI and SDKs without --endpoint-url:\n")
	fmt.Fprintf(&b, "  export AWS_ENDPOINT_URL_DRS=%s AWS_ENDPOINT_URL_STS=%s AWS_DEFAULT_REGION=%s\n", endpoint, endpoint, region)
	fmt.Fprintf(&b, "\nGo (aws-sdk-go-v2), with the credentials above in the environment:\n")
	fmt.Fprintf(&b, "  client := drs.NewFromConfig(cfg, func(o *drs.Options) {\n")
	fmt.Fprintf(&b, "  \to.BaseEndpoint = aws.String(%q)\n", endpoint)
	fmt.Fprintf(&b, "  })\n")
	fmt.Fprintf(&b, "\nSimulator control API (state, clock, faults, STS roles) under %s/_sim/:\n", endpoint)
	fmt.Fprintf(&b, "  curl %s/_sim/state\n", endpoint)
	fmt.Fprintf(&b, "  curl %s/_sim/clock     # simulated time and its scale, for clients that wait in it\n", endpoint)
	fmt.Fprintf(&b, "\nPress Ctrl-C to stop.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
