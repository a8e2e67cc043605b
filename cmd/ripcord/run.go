package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// runConfig is the configuration of `ripcord run`.
type runConfig struct {
	connFlags
	File     string
	Plan     string
	Drill    bool
	Recovery bool
	// Failback fails a recovered plan back (docs/failback.md).
	Failback     bool
	Confirm      string
	CleanupAfter time.Duration
	ID           string
	// AllowConcurrent runs even while another execution of the plan on
	// the same targets is live (in this store, or in DRS's job tags).
	AllowConcurrent bool
}

func (c runConfig) Validate() error {
	if err := c.connFlags.Validate(); err != nil {
		return err
	}
	if c.File == "" {
		return errInvalid("missing -f: name the plan file, e.g. ripcord run -f plans.yaml --drill")
	}
	if n := btoi(c.Drill) + btoi(c.Recovery) + btoi(c.Failback); n != 1 {
		return errInvalid("choose exactly one of --drill, --recovery and --failback")
	}
	if (c.Recovery || c.Failback) && c.CleanupAfter > 0 {
		return errInvalid("--cleanup-after is for drills: recovery instances are production and are never terminated by ripcord")
	}
	if c.CleanupAfter < 0 {
		return errInvalid("invalid --cleanup-after %s: must not be negative", c.CleanupAfter)
	}
	if c.ID != "" {
		if err := ripcord.CheckExecutionID(c.ID); err != nil {
			return err
		}
	}
	return nil
}

func newRunCmd() *cobra.Command {
	var cfg runConfig
	cmd := &cobra.Command{
		Use:   "run [-f FILE] [PLAN] (--drill | --recovery --confirm PLAN | --failback --confirm PLAN)",
		Short: "Run a recovery plan as a drill, a real recovery or a failback",
		Long: `run resolves the plan's servers in DRS, checks they are ready, records a new
execution and drives it to the end: each step in dependency order, each step's
servers launched in as few DRS jobs as the quotas allow, after the jobs that
hold them (found in DRS's own job list) have finished.

A recovery never starts without naming the plan again with --confirm.

With --failback (and --confirm PLAN), run fails a recovered plan back: its
steps in reverse dependency order, each step's servers failed back with DRS
StartFailbackLaunch on their recovery instances, which must be
FAILBACK_READY_FOR_LAUNCH (ripcord reprotect starts that for servers that
came from AWS). Same exactly-once guarantees as launches (docs/failback.md).
Exit status: 0 succeeded, 3 failed, 4 cancelled, 5 paused, 2 invalid input.
A killed run leaves its execution in the store: ripcord exec resume ID.

With --server URL (or RIPCORD_SERVER) and a token (RIPCORD_TOKEN, better
than --token, which stays in the shell's history), run starts the latest
version of PLAN saved on that ripcord server (-f FILE saves the file there
first, which needs an admin token) and follows it through the server's
event stream, with the same progress, summary and exit status. The server
drives the execution: Ctrl-C stops following, not the execution.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: cfg.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
			if len(args) == 1 {
				cfg.Plan = args[0]
			}
			return remoteRun(ctx, cmd, cl, cfg)
		}, func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				cfg.Plan = args[0]
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return runPlan(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg)
		}),
	}
	cfg.connFlags.register(cmd)
	cfg.connFlags.registerRemote(cmd)
	f := cmd.Flags()
	f.StringVarP(&cfg.File, "file", "f", "", "plan file (- reads standard input)")
	f.BoolVar(&cfg.Drill, "drill", false, "launch drill instances (non-disruptive)")
	f.BoolVar(&cfg.Recovery, "recovery", false, "launch recovery instances for real (needs --confirm PLAN)")
	f.BoolVar(&cfg.Failback, "failback", false, "fail a recovered plan back, steps in reverse order (needs --confirm PLAN)")
	f.StringVar(&cfg.Confirm, "confirm", "", "the plan's name again, to confirm a recovery or a failback")
	f.DurationVar(&cfg.CleanupAfter, "cleanup-after", 0, "after a drill ends, wait this long, then terminate its instances and verify (e.g. 30m)")
	f.StringVar(&cfg.ID, "id", "", "execution ID (default: generated)")
	f.BoolVar(&cfg.AllowConcurrent, "allow-concurrent", false, "run even while another execution of this plan on the same targets is running (in this store, or seen in DRS's job tags)")
	return cmd
}

// mode is the mode the flags choose for plan planName: a recovery and a
// failback need the plan's name again in --confirm. Local and remote runs
// decide it here.
func (c runConfig) mode(planName string) (ripcord.Mode, error) {
	confirm := func(what, why string) error {
		if c.Confirm == planName {
			return nil
		}
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("a %s of plan %s needs --confirm %s", what, planName, planName),
			Hint: why + "; name the plan again to confirm"}
	}
	switch {
	case c.Recovery:
		return ripcord.ModeRecovery, confirm("recovery", "a recovery launches production instances")
	case c.Failback:
		return ripcord.ModeFailback, confirm("failback", "a failback converts and reboots the machines on the source side")
	}
	return ripcord.ModeDrill, nil
}

func runPlan(ctx context.Context, stdin io.Reader, out, errOut io.Writer, cfg runConfig) error {
	file, one, planName, err := loadOnePlan(stdin, cfg.File, cfg.Plan, "run")
	if err != nil {
		return err
	}
	mode, err := cfg.mode(planName)
	if err != nil {
		return err
	}
	store, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	targets, err := cfg.clients(ctx, one.Targets)
	if err != nil {
		return err
	}
	var onChange func(*engine.State)
	if cfg.Output == "text" {
		onChange = newProgress(out).onChange
	}
	eng := cfg.newEngine(ctx, errOut, store, targets, onChange)
	begun, err := eng.Begin(ctx, engine.BeginRequest{File: file, Plan: planName, Mode: mode, ID: cfg.ID,
		AllowConcurrent: cfg.AllowConcurrent, CleanupAfter: cfg.CleanupAfter, Actor: actor()})
	for _, w := range begun.Warnings {
		fmt.Fprintf(errOut, "warning: %s\n", w)
	}
	if err != nil {
		if ripcord.ErrorCode(err) == ripcord.ECONFLICT {
			// Another execution runs the plan: a refusal before
			// anything was done.
			return &exitError{code: 2, msg: err.Error(), hint: ripcord.ErrorHint(err)}
		}
		return err
	}
	id := begun.ID
	if cfg.Output == "text" {
		fmt.Fprintf(out, "execution %s: plan %s (%s), %d steps\n", id, planName, mode, len(begun.Spec.Steps))
		if cfg.CleanupAfter > 0 {
			fmt.Fprintf(out, "cleanup scheduled: %s after the drill ends (recorded; exec resume carries it out if this process stops)\n", cfg.CleanupAfter)
		}
	}
	return drive(ctx, out, errOut, store, eng, id, driveOpts{JSON: cfg.Output == "json"})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
