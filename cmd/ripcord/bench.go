package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord/bench"
)

// benchConfig is the configuration of `ripcord bench`, filled from its
// flags.
type benchConfig struct {
	Cases      []string // three-tier, history-N, scale-N, scale-N-one-target
	Strategies []string // ripcord, naive, fixed-delay
	Seed       int64    // the simulator's seed
	Output     string   // text or json
	Poll       time.Duration
	MinPoll    time.Duration
	Parallel   int
}

// defaultBenchConfig returns the documented defaults of `ripcord bench`.
func defaultBenchConfig() benchConfig {
	return benchConfig{
		Cases:      bench.DefaultCaseNames,
		Strategies: bench.Strategies,
		Seed:       1,
		Output:     "text",
	}
}

// Validate reports every invalid flag, each as an EINVALID error naming it.
func (c benchConfig) Validate() error {
	var errs []error
	if len(c.Cases) == 0 {
		errs = append(errs, errInvalid("invalid --cases: name at least one case, e.g. --cases three-tier"))
	}
	if _, err := bench.ParseCases(c.Cases); err != nil {
		errs = append(errs, fmt.Errorf("invalid --cases: %w", err))
	}
	if len(c.Strategies) == 0 {
		errs = append(errs, errInvalid("invalid --strategies: name at least one of ripcord, naive, fixed-delay"))
	}
	if _, err := bench.ParseStrategies(c.Strategies); err != nil {
		errs = append(errs, fmt.Errorf("invalid --strategies: %w", err))
	}
	if c.Output != "text" && c.Output != "json" {
		errs = append(errs, errInvalid("invalid --output %q: must be text or json", c.Output))
	}
	if c.Poll < 0 {
		errs = append(errs, errInvalid("invalid --poll %s: must not be negative (0 keeps the engine's default of 30s)", c.Poll))
	}
	if c.MinPoll < 0 {
		errs = append(errs, errInvalid("invalid --min-poll %s: must not be negative (0 keeps the engine's default of 5s)", c.MinPoll))
	}
	if c.Poll > 0 && c.MinPoll > c.Poll {
		errs = append(errs, errInvalid("invalid --min-poll %s: must not be longer than --poll %s", c.MinPoll, c.Poll))
	}
	if c.Parallel < 0 {
		errs = append(errs, errInvalid("invalid --parallel %d: must be 1 or more (0: one run per CPU)", c.Parallel))
	}
	return errors.Join(errs...)
}

// newBenchCmd returns the `ripcord bench` command.
func newBenchCmd() *cobra.Command {
	cfg := defaultBenchConfig()
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ripcord against the fastest recovery the DRS simulator allows",
		Long: `bench runs recovery plans against the built-in DRS simulator in simulated
time and reports, for each case and strategy: the makespan (start to the
last server LAUNCHED), a lower bound (the critical path of the simulator's
own drawn durations, or the bound DRS's quotas impose on jobs when that is
larger), their ratio, DRS API calls per server, and failures (servers never
launched, plus servers launched before the previous wave was up).

Time is modelled, never waited for: every request takes 60 ms plus 1 ms per
8 KiB of its answer, and each target's client keeps the default rate limit
of 5 requests per second, both in simulated time, so the time spent listing
and paging shows in the makespan. The simulator's own throttling is off.

Cases:
  three-tier              six servers held by an earlier TERMINATE job for
                          four minutes; waves database, app, web
  history-N               three-tier with N completed jobs of history in its
                          target (N from 1 to 100000)
  scale-N                 N servers over 2 accounts x 2 regions; steps
                          database -> app -> web, each spanning every target
                          (N from 12 to 20000)
  scale-N-one-target      the same with all N servers in one account and
                          region, far above DRS's quotas

The default cases (three-tier, history-20000, scale-300, scale-1000,
scale-3000) take seconds. scale-10000-one-target takes a minute or two of
wall time; name it to run it.

Strategies: ripcord (the engine), naive (one StartRecovery per server, all
waves at once, as in the original incident) and fixed-delay (the same with
15 s between servers, 30 s between waves and three retries).

Results are the same on every run with the same --seed. The numbers are
explained in the documentation of the Go package ripcord/bench.`,
		Example: `  ripcord bench
  ripcord bench --cases three-tier --output json
  ripcord bench --cases history-20000,scale-10000-one-target --strategies ripcord
  ripcord bench --cases scale-3000 --strategies ripcord --poll 10s`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			cases, _ := bench.ParseCases(cfg.Cases) // validated above
			bcfg := bench.Config{Cases: cases, Strategies: cfg.Strategies, Seed: cfg.Seed,
				Poll: cfg.Poll, MinPoll: cfg.MinPoll, Parallel: cfg.Parallel}
			if errOut := cmd.ErrOrStderr(); isTerminal(errOut) {
				bcfg.Progress = func(r bench.Row) {
					fmt.Fprintf(errOut, "bench: %s with %s done (%s)\n", r.Case, r.Strategy, r.Detail.Wall.Round(time.Millisecond))
				}
			}
			rows, err := bench.Run(cmd.Context(), bcfg)
			if err != nil {
				return err
			}
			return writeBench(cmd.OutOrStdout(), cfg.Output, rows)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Cases, "cases", cfg.Cases, "cases to run: three-tier, history-N (N completed jobs, 1 to 100000), scale-N and scale-N-one-target (N servers, 12 to 20000)")
	f.StringSliceVar(&cfg.Strategies, "strategies", cfg.Strategies, "strategies to run: ripcord, naive, fixed-delay")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for the simulator's drawn durations and IDs")
	f.StringVar(&cfg.Output, "output", cfg.Output, "output format: text (a table) or json (a list of rows)")
	f.DurationVar(&cfg.Poll, "poll", 0, "the engine's longest poll interval, in simulated time (0: the engine's default, 30s)")
	f.DurationVar(&cfg.MinPoll, "min-poll", 0, "the engine's shortest poll interval, in simulated time (0: the engine's default, 5s)")
	f.IntVar(&cfg.Parallel, "parallel", 0, "runs at once (0: one per CPU); changes the wall time only, never the numbers")
	return cmd
}

// writeBench prints the rows as a table or as JSON.
func writeBench(w io.Writer, output string, rows []bench.Row) error {
	if output == "json" {
		return bench.WriteJSON(w, rows)
	}
	return bench.WriteTable(w, rows)
}
