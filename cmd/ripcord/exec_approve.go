package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// execDecideCmd returns `ripcord exec approve|reject ID STEP --comment
// TEXT`. With --server the server checks that the token is one of the
// step's approvers; on the local store, whoever may write the store (as
// for `token create`) decides as the local user.
func execDecideCmd(decision, short string) *cobra.Command {
	var cf connFlags
	var comment string
	cmd := &cobra.Command{
		Use:   decision + " ID STEP",
		Short: short,
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: cf.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
			x, err := cl.Decide(ctx, args[0], decision, args[1], comment)
			if ripcord.ErrorCode(err) == ripcord.ECONFLICT {
				return &exitError{code: exitInvalid, msg: err.Error(), hint: refusalHint(err, args[0])}
			}
			if err != nil {
				return err
			}
			return printControl(cmd.OutOrStdout(), cl, x, decision, cf.Output == "json")
		}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			eng := engine.New(engine.Config{Store: store, Actor: actor(), Clock: cf.clock(ctx)})
			rq := engine.ApprovalRequest{Step: args[1], Comment: comment}
			var err error
			if decision == "approve" {
				err = eng.Approve(ctx, args[0], actor(), rq)
			} else {
				err = eng.Reject(ctx, args[0], actor(), rq)
			}
			if err != nil {
				if ripcord.ErrorCode(err) == ripcord.ECONFLICT {
					return &exitError{code: exitInvalid, msg: err.Error(), hint: refusalHint(err, args[0])}
				}
				return err
			}
			if cf.Output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"id": args[0], "command": decision, "step": args[1], "actor": actor()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: recorded for step %s of execution %s by %s\n", decision, args[1], args[0], actor())
			return nil
		})),
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why: kept with the decision in the event log, exec show and the report")
	cf.register(cmd)
	cf.registerRemote(cmd)
	return cmd
}
