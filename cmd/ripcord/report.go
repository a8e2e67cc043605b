package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/report"
)

// newReportCmd is `ripcord report EXEC --format html|md|json`.
func newReportCmd() *cobra.Command {
	var cf connFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "report EXEC",
		Short: "Write an execution's drill or recovery report (HTML, Markdown or JSON)",
		Long: `report writes what an execution's log records as evidence for auditors: the
plan and its version, who started it and every control action, per step and
per server the times of the launch request, DRS's job, the launch and the
data it was launched from, the RTO and RPO achieved against the plan's
targets, failures with their causes and the remedies taken, the drill's
cleanup and the instance-minutes used. docs/reports.md describes each field.

--format html (the default) is one self-contained, printable page with an
SVG timeline; md is Markdown tables; json the report as data. It reads the
store (or, with --server, the server's API) and calls no DRS.`,
		Example: `  ripcord report d1 > d1.html
  ripcord report d1 --format md -o d1.md
  ripcord report d1 --format json --server https://ripcord.example.com`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := report.CheckFormat(format); err != nil {
				return err // EINVALID: exit 2, naming the formats
			}
			return cf.either(func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error {
				b, err := cl.Report(ctx, args[0], format)
				if err != nil {
					return err
				}
				return writeReport(cmd, out, b)
			}, cf.withStore(func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error {
				events, err := store.Events(ctx, args[0], 0, 0)
				if err != nil {
					return err
				}
				r, err := report.FromEvents(args[0], events, time.Now())
				if err != nil {
					return err
				}
				var b strings.Builder
				if err := r.Render(&b, format); err != nil {
					return err
				}
				return writeReport(cmd, out, []byte(b.String()))
			}))(cmd, args)
		},
	}
	cmd.Flags().StringVar(&format, "format", report.Formats[0], "report format: "+strings.Join(report.Formats, ", "))
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the report to this file instead of stdout")
	cf.register(cmd)
	cf.registerRemote(cmd)
	return cmd
}

// writeReport writes b to the file path, or to stdout.
func writeReport(cmd *cobra.Command, path string, b []byte) error {
	if path == "" {
		_, err := cmd.OutOrStdout().Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: "write the report: " + err.Error(), Hint: "check that the directory of --out exists and is writable"}
	}
	return nil
}
