package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke the API tokens of ripcord serve",
		Long: `An API token lets a person or a program use ripcord serve's API and console
with one role: viewer (read), operator (also drills), recovery (also real
recoveries) or admin (also plans, targets and tokens). The store keeps only a
hash of each token: it is shown once, when created.`,
	}
	cmd.AddCommand(newTokenCreateCmd(), newTokenListCmd(), newTokenRevokeCmd())
	return cmd
}

func newTokenCreateCmd() *cobra.Command {
	var cf connFlags
	var role, name string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "create --role ROLE --name NAME [--expires 720h]",
		Short: "Create a token and print it (only the token, on stdout, once)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, _ []string, store ripcord.Store) error {
			r, err := ripcord.ParseRole(role)
			if err != nil {
				return err
			}
			if name == "" {
				return errInvalid("missing --name: say whom or what the token is for, e.g. --name alice")
			}
			if expires < 0 {
				return errInvalid("invalid --expires %s: must not be negative (0: never)", expires)
			}
			secret, id, hash, err := ripcord.NewToken()
			if err != nil {
				return err
			}
			t := ripcord.Token{ID: id, Name: name, Role: r, Hash: hash}
			if expires > 0 {
				t.Expires = time.Now().Add(expires)
			}
			if err := store.CreateToken(ctx, t); err != nil {
				return err
			}
			if _, err := store.AppendAudit(ctx, ripcord.AuditEntry{Actor: cliActor(), Action: "token.create", Object: id,
				Remote: "cli", Detail: fmt.Sprintf("name %q, role %s", name, r)}); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		}),
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "viewer, operator, recovery or admin")
	f.StringVar(&name, "name", "", "whom or what the token is for")
	f.DurationVar(&expires, "expires", 0, "how long the token lasts (0: until revoked)")
	return cmd
}

func newTokenListCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tokens (never their secrets)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, _ []string, store ripcord.Store) error {
			tokens, err := store.ListTokens(ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			rows := make([]client.Token, 0, len(tokens))
			for _, t := range tokens {
				rows = append(rows, client.TokenOf(t, now))
			}
			if cf.Output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tLIVE\tCREATED\tEXPIRES\tREVOKED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\t%s\n", r.ID, r.Name, r.Role, r.Live, stamp(r.Created), stamp(r.Expires), stamp(r.Revoked))
			}
			return tw.Flush()
		}),
	}
	cf.register(cmd)
	return cmd
}

func newTokenRevokeCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token at once",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
			if err := store.RevokeToken(ctx, args[0]); err != nil {
				return err
			}
			if _, err := store.AppendAudit(ctx, ripcord.AuditEntry{Actor: cliActor(), Action: "token.revoke", Object: args[0], Remote: "cli"}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s revoked\n", args[0])
			return nil
		}),
	}
	cf.register(cmd)
	return cmd
}

// stamp is t in RFC 3339, or "-" when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// cliActor is who a command run on this machine acts as, for the audit
// log: the local user and host.
func cliActor() string {
	host, _ := os.Hostname()
	return actor() + "@" + host + " (cli)"
}
