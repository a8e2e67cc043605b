package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

func execShowCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an execution as an auditor's timeline: every event, every launch attempt, the outcome",
		Long: `show prints what the execution's log records, read from the store alone:

  - every event in order, with its time (UTC), its offset from the start, who
    recorded it (the person, or the user running the engine) and what it means;
    the drivers that took the execution's lease (host, process, epoch) and why
    each stopped, with its DRS calls;
  - per step and per server, every launch attempt: its batch, DRS job,
    recovery instance, when it was requested and launched, and why a failed or
    refused attempt did not launch;
  - the outcome: state and verdict (a person's skip or a failed optional
    server makes it "succeeded with exceptions"), totals, pause reason and
    remedy, DRS outages, the drill's cleanup, and the DRS calls of every driver.

--output json prints {execution, events, steps, summary}, described in README.md.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: cf.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
			return remoteShow(ctx, cmd, cl, args[0], cf.Output == "json")
		}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			show, err := loadShow(ctx, store, args[0])
			if err != nil {
				return err
			}
			if cf.Output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(show)
			}
			return writeShowText(cmd.OutOrStdout(), show)
		})),
	}
	cf.register(cmd)
	cf.registerRemote(cmd)
	return cmd
}

// loadShow reads execution id's log and builds its timeline.
func loadShow(ctx context.Context, store ripcord.Store, id string) (execShow, error) {
	events, err := store.Events(ctx, id, 0, 0)
	if err != nil {
		return execShow{}, err
	}
	return showEvents(id, events)
}

// showEvents builds execution id's timeline from its events.
func showEvents(id string, events []ripcord.Event) (execShow, error) {
	if len(events) == 0 {
		return execShow{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "execution " + id + " has no events",
			Hint: "ripcord exec list shows the executions of this store"}
	}
	s, err := engine.Fold(id, events)
	if err != nil {
		return execShow{}, fmt.Errorf("read the log of execution %s: %w", id, err)
	}
	return buildShow(s, events, summarizeEvents(s, events)), nil
}

// writeShowText prints the timeline for people.
func writeShowText(out io.Writer, show execShow) error {
	x := show.Execution
	fmt.Fprintf(out, "Execution %s: plan %s (%s), %s\n", x.ID, x.Plan, x.Mode, strings.ToUpper(x.Verdict))
	fmt.Fprintf(out, "  plan version %s; started %s by %s", dash(x.PlanHash), utc(x.Started), dash(x.Actor))
	if !x.Ended.IsZero() {
		fmt.Fprintf(out, "; ended %s (%s)", utc(x.Ended), offset(x.Ended.Sub(x.Started)))
	}
	fmt.Fprintln(out)

	fmt.Fprintf(out, "\nTimeline (%s; times in UTC, offsets from the start):\n", count(len(show.Events), "event"))
	actorWidth := 5
	for _, ev := range show.Events {
		actorWidth = max(actorWidth, len(ev.Actor))
	}
	for _, ev := range show.Events {
		fmt.Fprintf(out, "  %4d  %s  %-9s  %-*s  %s\n", ev.Seq, utc(ev.At), offset(ev.At.Sub(x.Started)), actorWidth, ev.Actor, ev.Text)
	}

	fmt.Fprintln(out, "\nSteps, servers and launch attempts:")
	for _, st := range show.Steps {
		status := st.Status
		if st.SkippedBy != "" {
			status = "skipped by " + st.SkippedBy
			if st.SkippedAfter != "" {
				status += " after " + st.SkippedAfter
			}
		}
		fmt.Fprintf(out, "  step %s (%s): %s", st.Name, st.Kind, status)
		if !st.Started.IsZero() {
			fmt.Fprintf(out, ", started %s", offset(st.Started.Sub(x.Started)))
		}
		if !st.Ended.IsZero() {
			fmt.Fprintf(out, ", ended %s", offset(st.Ended.Sub(x.Started)))
		}
		if st.Reason != "" {
			fmt.Fprintf(out, "; %s", st.Reason)
		}
		fmt.Fprintln(out)
		for _, sv := range st.Servers {
			opt := ""
			if sv.Optional {
				opt = ", optional"
			}
			fmt.Fprintf(out, "    server %s (target %s%s): %s", sv.ID, sv.Target, opt, sv.Status)
			if sv.InstanceID != "" {
				fmt.Fprintf(out, ", instance %s", sv.InstanceID)
			}
			if len(sv.Attempts) == 0 {
				fmt.Fprint(out, "; no launch attempt")
			}
			fmt.Fprintln(out)
			for _, a := range sv.Attempts {
				fmt.Fprintf(out, "      attempt %d: batch %s, job %s, instance %s, requested %s (%s)", a.N, dash(a.Batch), dash(a.JobID),
					dash(a.InstanceID), utc(a.Requested), offset(a.Requested.Sub(x.Started)))
				if !a.Launched.IsZero() {
					fmt.Fprintf(out, ", launched %s (%s)", utc(a.Launched), offset(a.Launched.Sub(x.Started)))
				}
				fmt.Fprintf(out, ": %s", a.Status)
				if a.Reason != "" {
					fmt.Fprintf(out, ": %s", a.Reason)
				}
				fmt.Fprintln(out)
			}
		}
	}
	if len(show.LaunchChanges) > 0 {
		fmt.Fprintln(out, "\nLaunch configuration changes (the plan's launch overrides, applied in DRS before launch):")
		for _, c := range show.LaunchChanges {
			fmt.Fprintf(out, "  server %s (target %s): %s\n", c.Server, c.Target, launchChangesText(c.Changes))
		}
	}
	return printSummary(out, show.Summary, false)
}
