package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// runConfig is the configuration of `ripcord run`.
type runConfig struct {
	connFlags
	File         string
	Plan         string
	Drill        bool
	Recovery     bool
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
	if c.Drill == c.Recovery {
		return errInvalid("choose exactly one of --drill and --recovery")
	}
	if c.Recovery && c.CleanupAfter > 0 {
		return errInvalid("--cleanup-after is for drills: recovery instances are production and are never terminated by ripcord")
	}
	if c.CleanupAfter < 0 {
		return errInvalid("invalid --cleanup-after %s: must not be negative", c.CleanupAfter)
	}
	return nil
}

func newRunCmd() *cobra.Command {
	var cfg runConfig
	cmd := &cobra.Command{
		Use:   "run -f FILE [PLAN] (--drill | --recovery --confirm PLAN)",
		Short: "Run a recovery plan as a drill or a real recovery",
		Long: `run resolves the plan's servers in DRS, checks they are ready, records a new
execution and drives it to the end: each step in dependency order, each step's
servers launched in as few DRS jobs as the quotas allow, after the jobs that
hold them (found in DRS's own job list) have finished.

A recovery never starts without naming the plan again with --confirm.
Exit status: 0 succeeded, 3 failed, 4 cancelled, 5 paused, 2 invalid input.
A killed run leaves its execution in the store: ripcord exec resume ID.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				cfg.Plan = args[0]
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return runPlan(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg)
		},
	}
	cfg.connFlags.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&cfg.File, "file", "f", "", "plan file (- reads standard input)")
	f.BoolVar(&cfg.Drill, "drill", false, "launch drill instances (non-disruptive)")
	f.BoolVar(&cfg.Recovery, "recovery", false, "launch recovery instances for real (needs --confirm PLAN)")
	f.StringVar(&cfg.Confirm, "confirm", "", "the plan's name again, to confirm a recovery")
	f.DurationVar(&cfg.CleanupAfter, "cleanup-after", 0, "after a drill ends, wait this long, then terminate its instances and verify (e.g. 30m)")
	f.StringVar(&cfg.ID, "id", "", "execution ID (default: generated)")
	f.BoolVar(&cfg.AllowConcurrent, "allow-concurrent", false, "run even while another execution of this plan on the same targets is running (in this store, or seen in DRS's job tags)")
	return cmd
}

func newExecutionID(planName string, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", planName, now.UTC().Format("20060102T150405"), hex.EncodeToString(b[:]))
}

func runPlan(ctx context.Context, stdin io.Reader, out, errOut io.Writer, cfg runConfig) error {
	file, name, err := loadPlanFile(stdin, cfg.File)
	if err != nil {
		return planError(err)
	}
	planName := cfg.Plan
	if planName == "" {
		if len(file.Plans) != 1 {
			var names []string
			for _, p := range file.Plans {
				names = append(names, p.Name)
			}
			return errInvalid("%s holds %d plans (%s): name the one to run", name, len(file.Plans), strings.Join(names, ", "))
		}
		planName = file.Plans[0].Name
	}
	one, err := file.Extract(planName)
	if err != nil {
		return err
	}
	mode := ripcord.ModeDrill
	if cfg.Recovery {
		mode = ripcord.ModeRecovery
		if cfg.Confirm != planName {
			return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("a recovery of plan %s needs --confirm %s", planName, planName),
				Hint: "a recovery launches production instances; name the plan again to confirm"}
		}
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
	// Resolve the groups against DRS now, and freeze the result.
	servers := map[string][]plan.SourceServerInfo{}
	ready := map[string]map[string]ripcord.SourceServer{}
	for _, t := range one.Targets {
		list, err := targets[t.Name].ListSourceServers(ctx, nil)
		if err != nil {
			return fmt.Errorf("list source servers of target %s: %w", t.Name, err)
		}
		ready[t.Name] = map[string]ripcord.SourceServer{}
		for _, s := range list {
			servers[t.Name] = append(servers[t.Name], plan.SourceServerInfo{ID: s.ID, Tags: s.Tags})
			ready[t.Name][s.ID] = s
		}
	}
	resolved, err := plan.Resolve(one, planName, servers)
	if err != nil {
		return planError(err)
	}
	spec, err := engine.BuildSpec(one, planName, mode, resolved)
	if err != nil {
		return err
	}
	// Readiness: a critical server that cannot be launched stops the run
	// before anything is launched. Each server's expected launch time
	// (from its OS and disks) lets the engine group like servers.
	var notReady []string
	for _, st := range spec.Steps {
		for i, sv := range st.Servers {
			st.Servers[i].Expected = engine.ExpectedLaunch(ready[sv.Target][sv.ID])
			if ok, why := ready[sv.Target][sv.ID].Ready(spec.Settings.RPOTarget); !ok {
				line := fmt.Sprintf("step %s: server %s: %s", st.Name, sv.ID, why)
				if sv.Optional {
					fmt.Fprintf(errOut, "warning: %s (optional; it will be tried anyway)\n", line)
					continue
				}
				notReady = append(notReady, line)
			}
		}
	}
	if len(notReady) > 0 {
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "servers are not ready:\n  " + strings.Join(notReady, "\n  "),
			Hint: "fix replication (ripcord servers shows readiness), mark the servers optional, or raise the plan's rpo"}
	}
	src, _ := json.Marshal(one)
	now := time.Now()
	if err := store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: planName, Source: src, Created: now}); err != nil {
		return err
	}
	id := cfg.ID
	if id == "" {
		id = newExecutionID(planName, now)
	}
	var onChange func(*engine.State)
	if cfg.Output == "text" {
		onChange = newProgress(out).onChange
	}
	eng := cfg.newEngine(ctx, errOut, store, targets, onChange)
	// Before anything is recorded or launched: every target must call DRS
	// in the account it declares, and no other execution may be running
	// the plan, here or (seen in DRS's job tags) from another store.
	if err := eng.CheckTargets(ctx, spec); err != nil {
		return err
	}
	if cfg.AllowConcurrent {
		spec.Exclusive = ""
	} else {
		if err := liveExecution(ctx, store, spec); err != nil {
			return err
		}
		if err := eng.CheckConcurrent(ctx, id, spec); err != nil {
			return &exitError{code: 2, msg: err.Error(), hint: ripcord.ErrorHint(err)}
		}
	}
	if err := eng.Start(ctx, id, spec); err != nil {
		if ripcord.ErrorCode(err) == ripcord.ECONFLICT {
			return &exitError{code: 2, msg: err.Error(), hint: ripcord.ErrorHint(err)}
		}
		return err
	}
	if cfg.Output == "text" {
		fmt.Fprintf(out, "execution %s: plan %s (%s), %d steps\n", id, planName, mode, len(spec.Steps))
	}
	if cfg.CleanupAfter > 0 {
		if err := eng.ScheduleCleanup(ctx, id, actor(), cfg.CleanupAfter); err != nil {
			return err
		}
		if cfg.Output == "text" {
			fmt.Fprintf(out, "cleanup scheduled: %s after the drill ends (recorded; exec resume carries it out if this process stops)\n", cfg.CleanupAfter)
		}
	}
	return drive(ctx, out, errOut, store, eng, id, driveOpts{JSON: cfg.Output == "json"})
}

// liveExecution refuses a run while an execution of the same plan on the
// same targets is running or paused in the store. (The store refuses it
// too, atomically, when the execution is created; asking first names the
// other execution before DRS is asked anything.)
func liveExecution(ctx context.Context, store ripcord.Store, spec engine.Spec) error {
	for _, state := range []ripcord.ExecState{ripcord.ExecRunning, ripcord.ExecPaused} {
		list, err := store.ListExecutions(ctx, ripcord.ExecutionFilter{State: state, PlanName: spec.Plan})
		if err != nil {
			return err
		}
		for _, x := range list {
			if x.Exclusive == spec.Exclusive {
				return &exitError{code: 2, msg: fmt.Sprintf("execution %q of plan %s on the same targets is %s (started %s)",
					x.ID, x.PlanName, x.State, x.Started.UTC().Format(time.RFC3339)),
					hint: fmt.Sprintf("resume it (ripcord exec resume %s), cancel it (ripcord exec cancel %s), or run anyway with --allow-concurrent", x.ID, x.ID)}
			}
		}
	}
	return nil
}

// planError makes plan decoding and resolution errors invalid input.
func planError(err error) error {
	if ripcord.ErrorCode(err) == ripcord.EINVALID || ripcord.ErrorCode(err) == "" {
		hint := ripcord.ErrorHint(err)
		if hint == "" {
			hint = "ripcord validate -f FILE lists every problem with its line and column"
		}
		return &ripcord.Error{Code: ripcord.EINVALID, Message: err.Error(), Hint: hint}
	}
	return err
}
