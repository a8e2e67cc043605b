package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord/engine"
)

// newReprotectCmd returns `ripcord reprotect`: reverse replication for a
// plan's recovered servers that came from AWS (docs/failback.md).
func newReprotectCmd() *cobra.Command {
	var cf connFlags
	var file string
	cmd := &cobra.Command{
		Use:   "reprotect -f FILE [PLAN]",
		Short: "Reverse replication of a recovered plan's servers that came from AWS",
		Long: `reprotect resolves the plan's servers in DRS and, for each server recovered
from an EC2 instance of another region (in-AWS disaster recovery), starts
reverse replication of its recovery instance (DRS ReverseReplication), so
that it replicates back towards its origin and can be failed back with
ripcord run --failback once DRS shows it FAILBACK_READY_FOR_LAUNCH. Calling
it again for a server already reversed changes nothing.

Servers recovered from on premises cannot be reverse-replicated by DRS:
they are listed with how to fail them back (the DRS Failback Client).
Servers without a recovery instance are listed as such.
Exit status: 0 when every server that came from AWS is reprotected, 3 when
DRS refused or did not answer for one, 2 invalid input.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cf.Validate(); err != nil {
				return err
			}
			if file == "" {
				return errInvalid("missing -f: name the plan file, e.g. ripcord reprotect -f plans.yaml orders")
			}
			planName := ""
			if len(args) == 1 {
				planName = args[0]
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			f, one, planName, err := loadOnePlan(cmd.InOrStdin(), file, planName, "reprotect")
			if err != nil {
				return err
			}
			clients, err := cf.clients(ctx, one.Targets)
			if err != nil {
				return err
			}
			res, err := engine.Reprotect(ctx, f, planName, clients)
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range res {
				if r.Outcome == engine.ReprotectFailed {
					failed++
				}
			}
			if cf.Output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "%-10s %-10s %-20s %-20s %-21s %s\n", "STEP", "TARGET", "SERVER", "RECOVERY INSTANCE", "OUTCOME", "")
				for _, r := range res {
					fmt.Fprintf(out, "%-10s %-10s %-20s %-20s %-21s %s\n", r.Step, r.Target, r.Server, dash(r.Instance), r.Outcome, r.Message)
				}
			}
			if failed > 0 {
				return &exitError{code: 3, msg: fmt.Sprintf("reprotect: %d server(s) not reprotected: DRS refused or did not answer", failed),
					hint: "see each server's message; run ripcord reprotect again once the cause is fixed (servers already reprotected stay as they are)"}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "plan file (- reads standard input)")
	return cmd
}
