package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// newReprotectCmd returns `ripcord reprotect`: reverse replication for a
// plan's recovered servers that came from AWS (docs/failback.md).
func newReprotectCmd() *cobra.Command {
	var cf connFlags
	var file, confirm string
	var stop bool
	cmd := &cobra.Command{
		Use:   "reprotect -f FILE [PLAN] [--stop --confirm PLAN]",
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

With --stop (and --confirm PLAN), reprotect gives the failback up instead:
for each recovery instance whose failback is under way (in progress, ready
for launch, or in error) it calls DRS StopFailback, which ends its failback
replication and puts it back to FAILBACK_NOT_STARTED; reprotect without
--stop starts it again. Instances whose failback has not started, or
completed, are left alone.

Exit status: 0 when every server that came from AWS is reprotected (or,
with --stop, every failback under way is stopped), 3 when DRS refused or
did not answer for one, 2 invalid input.`,
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
			switch {
			case stop && confirm != planName:
				return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("stopping the failback of plan %s needs --confirm %s", planName, planName),
					Hint: "stopping ends the failback replication of the plan's recovery instances; name the plan again to confirm"}
			case !stop && confirm != "":
				return errInvalid("--confirm is for --stop: reprotect itself changes nothing that needs confirming")
			}
			clients, err := cf.clients(ctx, one.Targets)
			if err != nil {
				return err
			}
			act, what := engine.Reprotect, "reprotected"
			if stop {
				act, what = engine.StopFailback, "stopped"
			}
			res, err := act(ctx, f, planName, clients)
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
				return &exitError{code: 3, msg: fmt.Sprintf("reprotect: %d server(s) not %s: DRS refused or did not answer", failed, what),
					hint: "see each server's message; run the same command again once the cause is fixed (servers already done stay as they are)"}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "plan file (- reads standard input)")
	cmd.Flags().BoolVar(&stop, "stop", false, "give the failback up: StopFailback on recovery instances whose failback is under way (needs --confirm PLAN)")
	cmd.Flags().StringVar(&confirm, "confirm", "", "the plan's name again, to confirm --stop")
	return cmd
}
