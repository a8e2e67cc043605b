package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/drssim/twin"
)

// simSnapshotConfig is the configuration of `ripcord sim snapshot`.
type simSnapshotConfig struct {
	Profile  string        // AWS shared config profile
	Region   string        // DRS region
	Endpoint string        // DRS endpoint override (a simulator)
	Name     string        // the scenario's name
	History  time.Duration // completed jobs created within this are copied
	Samples  int           // completed jobs whose logs give the durations; 0: none
}

func defaultSimSnapshotConfig() simSnapshotConfig {
	return simSnapshotConfig{Name: "twin", History: twin.DefaultHistory, Samples: twin.DefaultSamples}
}

// Validate reports every invalid flag.
func (c simSnapshotConfig) Validate() error {
	var errs []error
	if c.History <= 0 {
		errs = append(errs, errInvalid("invalid --history %s: must be greater than 0, e.g. 720h (30 days)", c.History))
	}
	if c.Samples < 0 {
		errs = append(errs, errInvalid("invalid --samples %d: must be 0 (read no job logs) or more", c.Samples))
	}
	if strings.TrimSpace(c.Name) == "" {
		errs = append(errs, errInvalid("invalid --name %q: give the scenario a name, e.g. --name twin", c.Name))
	}
	return errors.Join(errs...)
}

// newSimSnapshotCmd returns `ripcord sim snapshot`.
func newSimSnapshotCmd() *cobra.Command {
	cfg := defaultSimSnapshotConfig()
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Read a DRS account's inventory into a simulator scenario (a rehearsal twin)",
		Long: `Read the DRS inventory of one account and region (source servers with their
tags, OS, disks, network, replication state and lag; launch configurations;
active and recent completed jobs; recovery instances) and write it to stdout
as a simulator scenario, with durations learned from the account's own
completed jobs. Progress and what could not be copied go to stderr.

  ripcord sim snapshot --profile prod --region us-east-1 > twin.yaml
  ripcord sim --scenario twin.yaml
  ripcord run -f plan.yaml --drill --endpoint-url http://127.0.0.1:4566

It only reads: its DRS client refuses every operation but Describe*, Get*
and List* before sending it. See docs/drssim.md, "Rehearsal twin".`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			errOut := cmd.ErrOrStderr()
			awsCfg, err := drs.LoadAWSConfig(ctx, drs.Config{Region: cfg.Region, Profile: cfg.Profile,
				AppID: fmt.Sprintf("ripcord-twin-%d", os.Getpid())})
			if err != nil {
				return err
			}
			var opts []func(*awsdrs.Options)
			if cfg.Endpoint != "" {
				opts = append(opts, func(o *awsdrs.Options) { o.BaseEndpoint = aws.String(cfg.Endpoint) })
			}
			samples := cfg.Samples
			if samples == 0 {
				samples = -1 // none
			}
			snap, err := twin.New(awsCfg, opts...).Read(ctx, twin.Options{Name: cfg.Name, History: cfg.History, Samples: samples,
				Warn: func(format string, a ...any) { fmt.Fprintf(errOut, "snapshot: "+format+"\n", a...) }})
			if err != nil {
				return fmt.Errorf("sim snapshot of DRS in %s: %w", awsCfg.Region, err)
			}
			writeSnapshotSummary(errOut, snap)
			return writeScenario(cmd.OutOrStdout(), snap)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE or the default profile)")
	f.StringVar(&cfg.Region, "region", "", "the DRS region to read (default: AWS_REGION or the profile's region)")
	f.StringVar(&cfg.Endpoint, "endpoint-url", "", "DRS endpoint URL (e.g. a ripcord sim); AWS_ENDPOINT_URL_DRS works too")
	f.StringVar(&cfg.Name, "name", cfg.Name, "the scenario's name")
	f.DurationVar(&cfg.History, "history", cfg.History, "copy the completed jobs created within this long before now")
	f.IntVar(&cfg.Samples, "samples", cfg.Samples, "read the logs of this many of the newest completed jobs to learn durations (0: none, keep the simulator's)")
	return cmd
}

// writeScenario writes the snapshot's scenario as YAML, after a header
// that says what it is.
func writeScenario(w io.Writer, snap *twin.Snapshot) error {
	fmt.Fprintf(w, "# Rehearsal twin of DRS in account %s, %s, read at %s by ripcord sim snapshot.\n",
		snap.Account, snap.Region, snap.At.Format(time.RFC3339))
	fmt.Fprintf(w, "# Times are counted back from then; serve it with: ripcord sim --scenario FILE\n")
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(snap.Scenario); err != nil {
		return fmt.Errorf("write the scenario: %w", err)
	}
	return enc.Close()
}

// writeSnapshotSummary tells what was copied and the durations learned.
func writeSnapshotSummary(w io.Writer, snap *twin.Snapshot) {
	fmt.Fprintf(w, "snapshot: account %s, %s at %s: %d source servers, %d active jobs, %d completed jobs, %d recovery instances\n",
		snap.Account, snap.Region, snap.At.Format(time.RFC3339), snap.Servers, snap.ActiveJobs, snap.CompletedJobs, snap.RecoveryInstances)
	l := snap.Durations
	if s := l.JobToLaunched; s.N > 0 {
		fmt.Fprintf(w, "snapshot: launch jobs, start to every server LAUNCHED (%d jobs): min %s, median %s, max %s\n", s.N, s.Min, s.Median, s.Max)
	}
	d := l.Ranges
	for _, st := range []struct {
		name string
		r    drssim.DurRange
	}{{"pending", d.Pending}, {"snapshot", d.Snapshot}, {"conversion", d.Conversion}, {"launch", d.Launch}, {"cleanup", d.Cleanup}, {"terminate", d.Terminate}} {
		if st.r.IsZero() {
			fmt.Fprintf(w, "snapshot: %s: not observed, the simulator's default\n", st.name)
			continue
		}
		fmt.Fprintf(w, "snapshot: %s: [%s, %s] from %d observations\n", st.name, st.r.Min, st.r.Max, l.Samples[st.name])
	}
	if d.WindowsFactor > 0 {
		fmt.Fprintf(w, "snapshot: Windows conversions take %.2f times as long (%d observations)\n", d.WindowsFactor, l.Samples["windowsConversion"])
	}
}
