package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
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
		execDecideCmd("approve", "Approve an approval step that waits: the plan goes on"),
		execDecideCmd("reject", "Reject an approval step that waits: the step fails, and the plan's failure policy applies"),
	)
	return cmd
}

func execListCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List executions, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: cf.either(func(ctx context.Context, cmd *cobra.Command, _ []string, cl *client.Client) error {
			return remoteList(ctx, cmd, cl, cf.Output == "json")
		}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, _ []string, store ripcord.Store) error {
			list, err := store.ListExecutions(ctx, ripcord.ExecutionFilter{})
			if err != nil {
				return err
			}
			return writeExecList(cmd.OutOrStdout(), list, cf.Output == "json")
		})),
	}
	cf.register(cmd)
	cf.registerRemote(cmd)
	return cmd
}

// execRow is a line of `exec list`: the listing row and the digest the
// engine keeps on it (engine.Summary).
type execRow struct {
	ID      string    `json:"id"`
	Plan    string    `json:"plan"`
	Mode    string    `json:"mode"`
	State   string    `json:"state"`
	Started time.Time `json:"start"`
	Ended   time.Time `json:"end,omitzero"`
	// Verdict is the state, except "succeeded with exceptions" for an
	// execution that succeeded after a person skipped a step or with
	// failed optional servers; Exceptions say which.
	Verdict    string   `json:"verdict"`
	Exceptions []string `json:"exceptions,omitempty"`
	// Servers is how many servers the execution launches, Launched and
	// Failed how many of them did so far. Without a digest (an execution
	// recorded by an older ripcord) all three are absent.
	Servers  *int `json:"servers,omitempty"`
	Launched *int `json:"launched,omitempty"`
	Failed   *int `json:"failed,omitempty"`
	// Cleanup is a drill's cleanup: "scheduled" (due at CleanupDue once
	// the drill has ended), "requested", "failed" (CleanupFailed says
	// why) or "done".
	Cleanup       string    `json:"cleanup,omitempty"`
	CleanupDue    time.Time `json:"cleanup_due,omitzero"`
	CleanupFailed string    `json:"cleanup_failed,omitempty"`
}

func newExecRow(x ripcord.Execution) execRow {
	r := execRow{ID: x.ID, Plan: x.PlanName, Mode: string(x.Mode), State: string(x.State), Started: x.Started, Ended: x.Ended,
		Verdict: string(x.State)}
	sum, err := engine.DecodeSummary(x.Summary)
	if err != nil || len(x.Summary) == 0 {
		return r // no digest: the state is all there is
	}
	if sum.Verdict != "" && sum.State == x.State {
		r.Verdict = sum.Verdict
	}
	r.Exceptions = sum.Exceptions
	r.Servers, r.Launched, r.Failed = &sum.Servers, &sum.Launched, &sum.Failed
	r.Cleanup, r.CleanupDue, r.CleanupFailed = sum.Cleanup, sum.CleanupDue, sum.CleanupFailed
	return r
}

// cleanupCell is the CLEANUP column: "due 12:30Z", "requested", "done".
func (r execRow) cleanupCell() string {
	switch r.Cleanup {
	case "":
		return "-"
	case "scheduled":
		if r.CleanupDue.IsZero() {
			return "after the end"
		}
		due := r.CleanupDue.UTC()
		if ref := r.Ended; !ref.IsZero() && ref.UTC().Format(time.DateOnly) != due.Format(time.DateOnly) {
			return "due " + due.Format("2006-01-02 15:04Z")
		}
		return "due " + due.Format("15:04Z")
	}
	return r.Cleanup
}

func writeExecList(out io.Writer, list []ripcord.Execution, asJSON bool) error {
	rows := make([]execRow, 0, len(list))
	for _, x := range list {
		rows = append(rows, newExecRow(x))
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	const format = "%-40s %-12s %-9s %-26s %-9s %-20s %-20s %s\n"
	fmt.Fprintf(out, format, "ID", "PLAN", "MODE", "STATE", "LAUNCHED", "START", "END", "CLEANUP")
	for _, r := range rows {
		end := "-"
		if !r.Ended.IsZero() {
			end = r.Ended.UTC().Format(time.RFC3339)
		}
		launched := "-"
		if r.Servers != nil {
			launched = fmt.Sprintf("%d/%d", *r.Launched, *r.Servers)
		}
		fmt.Fprintf(out, format, r.ID, r.Plan, r.Mode, r.Verdict, launched, r.Started.UTC().Format(time.RFC3339), end, r.cleanupCell())
	}
	return nil
}

// engineFor builds an engine connected to the targets execution id
// recorded. It reads only the execution's first event (engine.Spec), not
// its whole log: Run folds the log, once.
func engineFor(ctx context.Context, cf *connFlags, errOut io.Writer, store ripcord.Store, id string, onChange func(*engine.State)) (*engine.Engine, error) {
	spec, err := engine.New(engine.Config{Store: store}).Spec(ctx, id)
	if err != nil {
		return nil, err
	}
	targets, err := cf.clients(ctx, spec.Targets)
	if err != nil {
		return nil, err
	}
	return cf.newEngine(ctx, errOut, store, targets, onChange), nil
}

// dash is s, or "-" when it is empty.
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
		Long: `watch reads the execution from the store every --every and prints its
progress until it ends or pauses, then its summary. It exits like run: 0
succeeded, 3 failed, 4 cancelled, 5 paused.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: cf.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
			return followToEnd(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), cl, args[0], cf.Output == "json", nil)
		}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			var onChange func(*engine.State)
			if cf.Output == "text" {
				onChange = newProgress(cmd.OutOrStdout()).onChange
			}
			s, err := watch(ctx, store, args[0], onChange, func() error { return (engine.RealClock{}).Sleep(ctx, every) })
			if err != nil {
				return err
			}
			if err := printSummary(cmd.OutOrStdout(), summarize(ctx, store, s), cf.Output == "json"); err != nil {
				return err
			}
			return outcomeError(s)
		})),
	}
	cf.register(cmd)
	cf.registerRemote(cmd)
	cmd.Flags().DurationVar(&every, "every", 2*time.Second, "how often to read the store")
	return cmd
}

// watch follows execution id until it ends or pauses and returns its final
// state. It folds the log once, then every wait() applies only the events
// appended since (engine.Follow), calling onChange (when not nil) at the
// start and whenever there were new events.
func watch(ctx context.Context, store ripcord.Store, id string, onChange func(*engine.State), wait func() error) (*engine.State, error) {
	eng := engine.New(engine.Config{Store: store})
	s, err := eng.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	for news := true; ; {
		if news && onChange != nil {
			onChange(s)
		}
		if s.Final() || s.Paused {
			return s, nil
		}
		if err := wait(); err != nil {
			return nil, err
		}
		n, err := eng.Follow(ctx, s)
		if err != nil {
			return nil, err
		}
		news = n > 0
	}
}

// resume takes execution id up where it stopped and drives it to the end
// (exec resume). The log is folded once: by Run, or, when the execution is
// paused, by Resume, whose state Run takes up.
func resume(ctx context.Context, cf *connFlags, out, errOut io.Writer, store ripcord.Store, id string, wait bool) error {
	var onChange func(*engine.State)
	if cf.Output == "text" {
		onChange = newProgress(out).onChange
	}
	eng, err := engineFor(ctx, cf, errOut, store, id, onChange)
	if err != nil {
		return err
	}
	// The listing row's state is written in the same transaction as the
	// events (a paused execution's is paused, and only a paused one's), so
	// it says without a fold whether there is a pause to lift. A pause
	// recorded after this read is found by Run, as one recorded after
	// Resume would be.
	x, err := store.Execution(ctx, id)
	if err != nil {
		return err
	}
	if x.State == ripcord.ExecPaused {
		if err := eng.Resume(ctx, id, actor()); err != nil && ripcord.ErrorCode(err) != ripcord.ECONFLICT {
			return err
		}
	}
	return drive(ctx, out, errOut, store, eng, id, driveOpts{JSON: cf.Output == "json", Wait: wait})
}

func execResumeCmd() *cobra.Command {
	var cf connFlags
	var wait bool
	cmd := &cobra.Command{
		Use:   "resume ID",
		Short: "Take up an execution where it stopped (after a crash or a pause) and follow it to the end",
		Long: `resume reconciles the execution's open intents with DRS first (a launch whose
answer was lost is adopted, never repeated), resumes it if it is paused, and
drives it to the end, carrying out a drill's scheduled cleanup when it is due.
Give it the same --db and DRS connection flags as run.

One process drives an execution at a time: while another holds the
execution's lease, resume refuses (exit 2) naming it and when its lease
expires, or waits for it with --wait. A holder whose process is gone (on this
host) is taken over at once.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: cf.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
			if _, err := remoteControl(ctx, cl, args[0], "resume", ""); err != nil {
				return err
			}
			return followToEnd(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), cl, args[0], cf.Output == "json", nil)
		}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			return resume(ctx, &cf, cmd.OutOrStdout(), cmd.ErrOrStderr(), store, args[0], wait)
		})),
	}
	cf.register(cmd)
	cf.registerRemote(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "if another process drives the execution, wait until it stops instead of refusing")
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
		RunE: cf.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
			step := ""
			if nargs == 2 {
				step = args[1]
			}
			x, err := remoteControl(ctx, cl, args[0], name, step)
			if err != nil {
				return err
			}
			return printControl(cmd.OutOrStdout(), cl, x, name, cf.Output == "json")
		}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			// The execution's clock: against a simulator, its simulated
			// time, so that a person's events fall in line with the driver's.
			eng := engine.New(engine.Config{Store: store, Actor: actor(), Clock: cf.clock(ctx)})
			if err := do(ctx, eng, args[0], args); err != nil {
				if ripcord.ErrorCode(err) == ripcord.ECONFLICT {
					// Refused by the execution's state: nothing was recorded.
					return &exitError{code: exitInvalid, msg: err.Error(), hint: refusalHint(err, args[0])}
				}
				return err
			}
			if cf.Output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"id": args[0], "command": name, "actor": actor()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: recorded for execution %s by %s\n", name, args[0], actor())
			return nil
		})),
	}
	cf.register(cmd)
	cf.registerRemote(cmd)
	return cmd
}

// refusalHint is the hint of a refused control command: its own, or where
// to look.
func refusalHint(err error, id string) string {
	if h := ripcord.ErrorHint(err); h != "" {
		return h
	}
	return "nothing was recorded; ripcord exec show " + id + " shows where the execution stands"
}

// newCleanupCmd returns `ripcord cleanup EXEC`.
func newCleanupCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "cleanup EXEC",
		Short: "Terminate a drill's instances (only those it launched) and verify they are gone",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: cf.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
			if _, err := remoteControl(ctx, cl, args[0], "cleanup", ""); err != nil {
				return err
			}
			return followToEnd(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), cl, args[0], cf.Output == "json", nil)
		}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			id, out := args[0], cmd.OutOrStdout()
			eng, err := engineFor(ctx, &cf, cmd.ErrOrStderr(), store, id, nil)
			if err != nil {
				return err
			}
			if err := eng.Cleanup(ctx, id, actor()); err != nil {
				return err
			}
			return drive(ctx, out, cmd.ErrOrStderr(), store, eng, id, driveOpts{JSON: cf.Output == "json"})
		})),
	}
	cf.register(cmd)
	cf.registerRemote(cmd)
	return cmd
}
