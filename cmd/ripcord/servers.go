package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// newServersCmd returns `ripcord servers`: source servers with readiness.
func newServersCmd() *cobra.Command {
	var cf connFlags
	var file string
	var rpo time.Duration
	cmd := &cobra.Command{
		Use:   "servers [-f FILE]",
		Short: "List DRS source servers and whether each is ready to launch",
		Long: `servers lists the source servers of each target of a plan file (-f), or of
the account and region the AWS configuration points at, with their
replication state, lag and readiness: only a server in continuous
replication, with lag within --rpo when given, is ready. With -f, each
target's caller identity must be the account it declares (exit 2 if not).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.Validate(); err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			targets := []ripcord.Target{{Name: "default", Region: cf.Region}}
			if file != "" {
				f, _, err := loadPlanFile(cmd.InOrStdin(), file)
				if err != nil {
					return engine.PlanError(err)
				}
				targets = f.Targets
			}
			clients, err := cf.clients(ctx, targets)
			if err != nil {
				return err
			}
			if file != "" {
				// Readiness of the wrong account is worse than none.
				if err := engine.CheckAccounts(ctx, targets, clients); err != nil {
					return err
				}
			}
			type row struct {
				Target   string            `json:"target"`
				ID       string            `json:"id"`
				Hostname string            `json:"hostname,omitempty"`
				State    string            `json:"replication_state"`
				LagS     float64           `json:"lag_s"`
				Ready    bool              `json:"ready"`
				Reason   string            `json:"reason,omitempty"`
				Tags     map[string]string `json:"tags,omitempty"`
			}
			var rows []row
			for _, t := range targets {
				list, err := clients[t.Name].ListSourceServers(ctx, nil)
				if err != nil {
					return fmt.Errorf("list source servers of target %s: %w", t.Name, err)
				}
				for _, s := range list {
					ok, why := s.Ready(rpo)
					rows = append(rows, row{Target: t.Name, ID: s.ID, Hostname: s.Hostname, State: s.ReplicationState,
						LagS: s.Lag.Seconds(), Ready: ok, Reason: why, Tags: s.Tags})
				}
			}
			if cf.Output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			fmt.Fprintf(out, "%-10s %-20s %-16s %-13s %-8s %s\n", "TARGET", "ID", "HOSTNAME", "REPLICATION", "LAG", "READY")
			for _, r := range rows {
				ready := "yes"
				if !r.Ready {
					ready = "no: " + r.Reason
				}
				fmt.Fprintf(out, "%-10s %-20s %-16s %-13s %-8s %s\n", r.Target, r.ID, r.Hostname, r.State,
					(time.Duration(r.LagS) * time.Second).String(), ready)
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "plan file whose targets to list")
	cmd.Flags().DurationVar(&rpo, "rpo", 0, "largest replication lag that counts as ready (0: not checked)")
	return cmd
}
