package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord/engine"
)

// overridesConfig is the configuration of `ripcord overrides`.
type overridesConfig struct{ planConnFlags }

func newOverridesCmd() *cobra.Command {
	var cfg overridesConfig
	return planCommand(&cobra.Command{
		Use:   "overrides -f FILE [PLAN]",
		Short: "Show what a plan's launch overrides would change in DRS now (a dry run)",
		Long: `overrides resolves the plan's servers in DRS and compares the launch
configuration of every server the plan has launch overrides for (its
protection groups' launch: and serverLaunch:) with what DRS has now: per
server, each field that an execution started now would change before the
server's launch, with DRS's value and the plan's. It only reads
(ListSourceServers, GetLaunchConfiguration): nothing is changed or launched.
See docs/plans.md, "Launch overrides".

It takes the same plan and connection flags as run.
Exit status: 0 (whether or not something would change), 2 invalid input,
1 another error.`,
	}, &cfg.planConnFlags, func(ctx context.Context, stdin io.Reader, out io.Writer) error {
		return showOverrides(ctx, stdin, out, cfg)
	})
}

func showOverrides(ctx context.Context, stdin io.Reader, out io.Writer, cfg overridesConfig) error {
	file, one, planName, err := loadOnePlan(stdin, cfg.File, cfg.Plan, "compare")
	if err != nil {
		return err
	}
	targets, err := cfg.clients(ctx, one.Targets)
	if err != nil {
		return err
	}
	diffs, err := engine.LaunchDiffs(ctx, file, planName, targets)
	if err != nil {
		return err
	}
	if cfg.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Plan    string              `json:"plan"`
			Servers []engine.LaunchDiff `json:"servers"`
		}{planName, diffs})
	}
	changing := 0
	for _, d := range diffs {
		if len(d.Changes) > 0 {
			changing++
		}
	}
	if len(diffs) == 0 {
		fmt.Fprintf(out, "plan %s has no launch overrides\n", planName)
		return nil
	}
	fmt.Fprintf(out, "plan %s: %s with launch overrides, %d would change before launch (this command changes nothing)\n",
		planName, count(len(diffs), "server"), changing)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tTARGET\tFIELD\tDRS NOW\tPLAN")
	for _, d := range diffs {
		if len(d.Changes) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t(as the plan says)\t\t\n", d.Server, d.Target)
		}
		for _, c := range d.Changes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Server, d.Target, c.Field, dash(c.From), c.To)
		}
	}
	return tw.Flush()
}
