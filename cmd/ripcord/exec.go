package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// newExecCmd returns `ripcord exec` and its subcommands.
func newExecCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec",
		Short: "List, inspect and control executions",
	}
	cmd.AddCommand(
		execListCmd(),
		execShowCmd(),
		execWatchCmd(),
		execResumeCmd(),
		execControlCmd("pause", "Pause an execution: no new step starts; running jobs go on", 1,
			func(ctx context.Context, e *engine.Engine, id string, _ []string) error {
				return e.Pause(ctx, id, actor())
			}),
		execControlCmd("cancel", "Cancel an execution: no new step starts; a drill is then cleaned up", 1,
			func(ctx context.Context, e *engine.Engine, id string, _ []string) error {
				return e.Cancel(ctx, id, actor())
			}),
		execControlCmd("retry", "Launch the failed servers of a step again (then: ripcord exec resume ID)", 2,
			func(ctx context.Context, e *engine.Engine, id string, args []string) error {
				return e.Retry(ctx, id, actor(), args[1])
			}),
		execControlCmd("skip", "Skip a step that is not done; the steps after it go on", 2,
			func(ctx context.Context, e *engine.Engine, id string, args []string) error {
				return e.Skip(ctx, id, actor(), args[1])
			}),
	)
	return cmd
}

func execListCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List executions, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, _ []string, store ripcord.Store) error {
			list, err := store.ListExecutions(ctx, ripcord.ExecutionFilter{})
			if err != nil {
				return err
			}
			return writeExecList(cmd.OutOrStdout(), list, cf.Output == "json")
		}),
	}
	cf.register(cmd)
	return cmd
}

type execRow struct {
	ID      string    `json:"id"`
	Plan    string    `json:"plan"`
	Mode    string    `json:"mode"`
	State   string    `json:"state"`
	Started time.Time `json:"start"`
	Ended   time.Time `json:"end,omitzero"`
}

func writeExecList(out io.Writer, list []ripcord.Execution, asJSON bool) error {
	rows := make([]execRow, 0, len(list))
	for _, x := range list {
		rows = append(rows, execRow{ID: x.ID, Plan: x.PlanName, Mode: string(x.Mode), State: string(x.State), Started: x.Started, Ended: x.Ended})
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	fmt.Fprintf(out, "%-40s %-12s %-9s %-10s %-20s %s\n", "ID", "PLAN", "MODE", "STATE", "START", "END")
	for _, r := range rows {
		end := "-"
		if !r.Ended.IsZero() {
			end = r.Ended.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(out, "%-40s %-12s %-9s %-10s %-20s %s\n", r.ID, r.Plan, r.Mode, r.State, r.Started.UTC().Format(time.RFC3339), end)
	}
	return nil
}

// withEngine opens the store and builds an engine connected to the targets
// the execution recorded, then calls fn.
func withEngine(ctx context.Context, cf *connFlags, id string, onChange func(*engine.State), fn func(store ripcord.Store, eng *engine.Engine, clients map[string]*drsClient) error) error {
	store, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	probe := engine.New(engine.Config{Store: store})
	s, err := probe.Load(ctx, id)
	if err != nil {
		return err
	}
	targets, clients, err := cf.clients(ctx, s.Spec.Targets)
	if err != nil {
		return err
	}
	return fn(store, cf.newEngine(store, targets, onChange), clients)
}

func execShowCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an execution: its steps, servers and outcome",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			s, err := engine.New(engine.Config{Store: store}).Load(ctx, args[0])
			if err != nil {
				return err
			}
			sum := summarize(ctx, store, s, 0)
			if cf.Output == "json" {
				return printSummary(cmd.OutOrStdout(), sum, true)
			}
			out := cmd.OutOrStdout()
			for _, name := range s.Order {
				st := s.Steps[name]
				fmt.Fprintln(out, stepLine(s, st))
				for _, id := range sortedStrings(st.Servers) {
					sv := st.Servers[id]
					fmt.Fprintf(out, "    %-20s %-12s job %-25s instance %-20s %s\n", sv.ID, sv.Status, dash(sv.JobID), dash(sv.InstanceID), sv.Reason)
				}
			}
			return printSummary(out, sum, false)
		}),
	}
	cf.register(cmd)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func execWatchCmd() *cobra.Command {
	var cf connFlags
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow an execution another process runs, until it ends or pauses",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			eng := engine.New(engine.Config{Store: store})
			p := newProgress(cmd.OutOrStdout())
			for {
				s, err := eng.Load(ctx, args[0])
				if err != nil {
					return err
				}
				p.onChange(s)
				if s.Final() || s.Paused {
					return printSummary(cmd.OutOrStdout(), summarize(ctx, store, s, 0), cf.Output == "json")
				}
				if err := (engine.RealClock{}).Sleep(ctx, every); err != nil {
					return err
				}
			}
		}),
	}
	cf.register(cmd)
	cmd.Flags().DurationVar(&every, "every", 2*time.Second, "how often to read the store")
	return cmd
}

func execResumeCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "resume ID",
		Short: "Take up an execution where it stopped (after a crash or a pause) and follow it to the end",
		Long: `resume reconciles the execution's open intents with DRS first (a launch whose
answer was lost is adopted, never repeated), resumes it if it is paused, and
drives it to the end. Give it the same --db and DRS connection flags as run.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cf.Validate(); err != nil {
				return err
			}
			ctx, id, out := cmd.Context(), args[0], cmd.OutOrStdout()
			var onChange func(*engine.State)
			if cf.Output == "text" {
				onChange = newProgress(out).onChange
			}
			return withEngine(ctx, &cf, id, onChange, func(store ripcord.Store, eng *engine.Engine, clients map[string]*drsClient) error {
				if err := eng.Resume(ctx, id, actor()); err != nil && ripcord.ErrorCode(err) != ripcord.ECONFLICT {
					return err
				}
				return follow(ctx, out, store, eng, clients, id, cf.Output == "json", 0)
			})
		},
	}
	cf.register(cmd)
	return cmd
}

func execControlCmd(name, short string, nargs int, do func(ctx context.Context, e *engine.Engine, id string, args []string) error) *cobra.Command {
	var cf connFlags
	use := name + " ID"
	if nargs == 2 {
		use += " STEP"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  usageArgs(cobra.ExactArgs(nargs)),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			if err := do(ctx, engine.New(engine.Config{Store: store, Actor: actor()}), args[0], args); err != nil {
				return err
			}
			if cf.Output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"id": args[0], "command": name, "actor": actor()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: recorded for execution %s by %s\n", name, args[0], actor())
			return nil
		}),
	}
	cf.register(cmd)
	return cmd
}

// newCleanupCmd returns `ripcord cleanup EXEC`.
func newCleanupCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "cleanup EXEC",
		Short: "Terminate a drill's instances (only those it launched) and verify they are gone",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cf.Validate(); err != nil {
				return err
			}
			ctx, id, out := cmd.Context(), args[0], cmd.OutOrStdout()
			return withEngine(ctx, &cf, id, nil, func(store ripcord.Store, eng *engine.Engine, clients map[string]*drsClient) error {
				if err := eng.Cleanup(ctx, id, actor()); err != nil {
					return err
				}
				return follow(ctx, out, store, eng, clients, id, cf.Output == "json", 0)
			})
		},
	}
	cf.register(cmd)
	return cmd
}
