package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/readiness"
)

// newPlanCmd returns `ripcord plan`: the plans saved in the store.
func newPlanCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "The plans saved in the store",
	}
	cmd.AddCommand(newPlanListCmd())
	return cmd
}

func newPlanListCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List plans with their latest version, last good drill and staleness",
		Long: `list shows every plan saved in the store (by run, or POST /api/v1/plans): its
latest version, its last successful drill and whether it is stale: never
drilled, changed since its last good drill, or drilled longer ago than its
drillEvery. Changes of the resolved servers and of their launch
configurations need DRS: ripcord check -f FILE PLAN compares them too.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, _ []string, store ripcord.Store) error {
			list, err := readiness.Statuses(ctx, store, cf.clock(ctx).Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if cf.Output == "json" {
				type row struct {
					Name      string            `json:"name"`
					Version   string            `json:"version"`
					Saved     time.Time         `json:"saved"`
					Versions  int               `json:"versions"`
					Staleness ripcord.Staleness `json:"staleness"`
				}
				rows := []row{}
				for _, p := range list {
					rows = append(rows, row{p.Name, p.LatestHash, p.LatestCreated, p.Versions, p.Staleness})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tSAVED\tLAST GOOD DRILL\tSTALE")
			for _, p := range list {
				last := "never"
				if p.Staleness.LastDrill != "" {
					last = p.Staleness.LastDrill + " (" + p.Staleness.LastDrillEnded.UTC().Format(time.RFC3339) + ")"
				}
				stale := "no"
				if p.Staleness.Stale {
					stale = "yes: " + strings.Join(p.Staleness.Reasons, "; ")
				}
				fmt.Fprintf(tw, "%s\t%.12s\t%s\t%s\t%s\n", p.Name, p.LatestHash, p.LatestCreated.UTC().Format(time.RFC3339), last, stale)
			}
			return tw.Flush()
		}),
	}
	cf.register(cmd)
	return cmd
}
