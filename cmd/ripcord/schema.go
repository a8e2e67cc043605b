package main

import (
	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord/plan"
)

// newSchemaCmd returns the `ripcord schema` command.
func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print a JSON Schema of plan files, for editors",
		Long: `schema prints a JSON Schema (draft 2020-12) of ripcord plan files. Editors use
it to complete keys and flag mistakes as you type. It is generated from the
key lists the plan decoder itself uses. It checks keys, shapes and formats;
ripcord validate checks more (references, cycles, servers launched twice).`,
		Example: `  ripcord schema > ripcord-plan.schema.json
  # then, first line of a plan file, for editors using the YAML language server:
  # yaml-language-server: $schema=./ripcord-plan.schema.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(plan.Schema())
			return err
		},
	}
}
