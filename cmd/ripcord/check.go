package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/readiness"
)

// exitNotReady is the exit status of `ripcord check` when a finding is
// blocking: the plan would fail or be refused if run now.
const exitNotReady = 6

// checkConfig is the configuration of `ripcord check`.
type checkConfig struct{ planConnFlags }

func newCheckCmd() *cobra.Command {
	var cfg checkConfig
	return planCommand(&cobra.Command{
		Use:   "check -f FILE [PLAN]",
		Short: "Check whether a plan could run now (readiness), and whether it is stale",
		Long: `check looks at every server of a plan as DRS shows it and at what stands in
the way of a run: replication state and lag against the plan's RPO target,
the newest recovery snapshot's age, launch configuration (launch disposition,
right-sizing, copy-private-IP clashes), servers held by active DRS jobs, quota
headroom for the largest step, protection-group members the plan never
launches, and live executions of the plan in the store; and whether the plan
is stale against its last good drill. It only reads; nothing is launched.
Each finding has a severity, the resource and a remedy (docs/readiness.md).

It takes the same plan and connection flags as run.
Exit status: 0 ready (warnings and infos allowed), 6 a finding is blocking,
2 invalid input, 1 another error.`,
	}, &cfg.planConnFlags, func(ctx context.Context, stdin io.Reader, out io.Writer) error {
		return checkPlan(ctx, stdin, out, cfg)
	})
}

func checkPlan(ctx context.Context, stdin io.Reader, out io.Writer, cfg checkConfig) error {
	file, one, planName, err := loadOnePlan(stdin, cfg.File, cfg.Plan, "check")
	if err != nil {
		return err
	}
	store, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	targets, err := cfg.clients(ctx, one.Targets)
	if err != nil {
		return err
	}
	rep, err := readiness.Run(ctx, readiness.Config{File: file, Plan: planName, Targets: targets, Store: store,
		Now: cfg.clock(ctx).Now()})
	if err != nil {
		return err
	}
	if cfg.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Plan      string             `json:"plan"`
			PlanHash  string             `json:"planHash"`
			Checked   any                `json:"checked"`
			Ready     bool               `json:"ready"`
			Findings  []ripcord.Finding  `json:"findings"`
			Staleness *ripcord.Staleness `json:"staleness,omitempty"`
		}{rep.Plan, rep.PlanHash, rep.Checked, !ripcord.Blocking(rep.Findings), rep.Findings, rep.Staleness}); err != nil {
			return err
		}
	} else {
		printFindings(out, rep)
	}
	if ripcord.Blocking(rep.Findings) {
		n := 0
		for _, f := range rep.Findings {
			if f.Severity == ripcord.SeverityBlocking {
				n++
			}
		}
		return &exitError{code: exitNotReady, msg: fmt.Sprintf("plan %s is not ready: %d blocking finding(s)", planName, n),
			hint: "each finding above says what to do; check again when they are fixed"}
	}
	return nil
}

// printFindings writes a check's findings as a table, each with its remedy.
func printFindings(out io.Writer, rep readiness.Report) {
	counts := map[ripcord.Severity]int{}
	for _, f := range rep.Findings {
		counts[f.Severity]++
	}
	fmt.Fprintf(out, "plan %s (version %.12s): %d blocking, %d warning, %d info\n", rep.Plan, rep.PlanHash,
		counts[ripcord.SeverityBlocking], counts[ripcord.SeverityWarning], counts[ripcord.SeverityInfo])
	if len(rep.Findings) > 0 {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tCHECK\tRESOURCE\tFINDING")
		for _, f := range rep.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, f.Check, f.Resource, f.Message)
			fmt.Fprintf(tw, "\t\t\t  remedy: %s\n", f.Remedy)
		}
		tw.Flush()
	}
	if st := rep.Staleness; st != nil {
		if st.Stale {
			fmt.Fprintf(out, "stale: %s\n", strings.Join(st.Reasons, "; "))
		} else {
			fmt.Fprintf(out, "fresh: last good drill %s\n", st.LastDrill)
		}
	}
}
