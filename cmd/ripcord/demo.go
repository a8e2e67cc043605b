package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
)

// The demo drives the simulator's three-tier scenario through a drill the
// way ripcord does it: look at DRS's active jobs first and wait for the real
// blocker, launch each tier in one job, start the next tier only when every
// server of the previous one is LAUNCHED, then clean up and verify. Until
// the engine exists, this is the simulator's own demonstration; the engine
// will take its place.

type demoConfig struct {
	TimeScale float64
	Seed      int64
	// Poll is the simulated interval between DescribeJobs calls.
	Poll time.Duration
}

func defaultDemoConfig() demoConfig {
	return demoConfig{TimeScale: 30, Seed: 1, Poll: 15 * time.Second}
}

func (c demoConfig) Validate() error {
	if c.TimeScale <= 0 {
		return errInvalid("invalid --time-scale %v: must be greater than 0 (simulated seconds per real second, e.g. 30)", c.TimeScale)
	}
	return nil
}

func newDemoCmd() *cobra.Command {
	cfg := defaultDemoConfig()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a three-tier drill against the built-in DRS simulator",
		Long: `demo starts the DRS simulator in-process (scenario three-tier: six servers in
three tiers, all still held by the TERMINATE job of an earlier attempt) and runs
a drill of the application "orders": database, then app, then web. It waits
for the earlier job instead of failing on it, launches each tier in one DRS
job, cleans up the drill instances, verifies they are gone, and prints a
summary. It needs no setup and no AWS account.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			_, err := runDemo(cmd.Context(), cmd.OutOrStdout(), cfg)
			return err
		},
	}
	cmd.Flags().Float64Var(&cfg.TimeScale, "time-scale", cfg.TimeScale, "simulated seconds per real second")
	cmd.Flags().Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for the simulator's drawn durations")
	return cmd
}

// demoWave is one tier of the demo plan.
type demoWave struct {
	name    string
	servers []string
	jobID   string
	start   time.Time
	done    time.Time
	status  map[string]string
	inst    map[string]string
}

// demo holds the state of one demonstration run.
type demo struct {
	out      io.Writer
	client   *drs.Client
	sim      *drssim.Sim
	cfg      demoConfig
	t0       time.Time
	waits    int // launches that had to wait for another job first
	lastLine string
}

// runDemo runs the demonstration and returns the simulator's final model,
// on which tests check what really happened in DRS.
func runDemo(ctx context.Context, out io.Writer, cfg demoConfig) (*drssim.StateView, error) {
	scenario, err := drssim.LoadScenario("three-tier")
	if err != nil {
		return nil, err
	}
	sim, err := drssim.New(drssim.Options{Scenario: scenario, TimeScale: cfg.TimeScale, Seed: cfg.Seed,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	endpoint := "http://" + ln.Addr().String()

	client := drs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIMULATOR", "demo", ""),
	}, func(o *drs.Options) { o.BaseEndpoint = aws.String(endpoint) })
	d := &demo{out: out, client: client, sim: sim, cfg: cfg, t0: sim.Now()}

	fmt.Fprintf(out, "ripcord demo: drill of application \"orders\" against the DRS simulator at %s\n", endpoint)
	fmt.Fprintf(out, "(scenario three-tier, account %s, us-east-1, time x%g: one real second is %g simulated seconds)\n\n",
		sim.DefaultAccount(), cfg.TimeScale, cfg.TimeScale)

	waves, err := d.readiness(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range waves {
		if err := d.runWave(ctx, w); err != nil {
			return nil, err
		}
	}
	rto := waves[len(waves)-1].done.Sub(d.t0)
	minutes, err := d.cleanup(ctx, waves)
	if err != nil {
		return nil, err
	}
	d.summary(waves, rto, minutes)
	state := sim.State(drssim.StateFilter{})
	return &state, nil
}

// since formats a simulated instant as an offset from the demo's start.
func (d *demo) since(t time.Time) string {
	s := int(t.Sub(d.t0).Round(time.Second).Seconds())
	sign := "+"
	if s < 0 {
		sign, s = "-", -s
	}
	return fmt.Sprintf("T%s%02d:%02d", sign, s/60, s%60)
}

func (d *demo) say(format string, a ...any) {
	// Only changes are printed: a poll that saw nothing new stays quiet.
	msg := fmt.Sprintf(format, a...)
	if msg == d.lastLine {
		return
	}
	d.lastLine = msg
	fmt.Fprintf(d.out, "%s  %s\n", d.since(d.sim.Now()), msg)
}

// wait waits one poll interval of simulated time.
func (d *demo) wait(ctx context.Context) error {
	t := time.NewTimer(time.Duration(float64(d.cfg.Poll) / d.cfg.TimeScale))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readiness lists the source servers, checks each is ready to launch and
// groups them into waves by their Tier tag.
func (d *demo) readiness(ctx context.Context) ([]*demoWave, error) {
	byTier := map[string][]string{}
	p := drs.NewDescribeSourceServersPaginator(d.client, &drs.DescribeSourceServersInput{})
	fmt.Fprintln(d.out, "Readiness:")
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe source servers: %w", err)
		}
		for _, s := range page.Items {
			id := aws.ToString(s.SourceServerID)
			state, lag := "", ""
			if s.DataReplicationInfo != nil {
				state, lag = string(s.DataReplicationInfo.DataReplicationState), aws.ToString(s.DataReplicationInfo.LagDuration)
			}
			verdict := "ready"
			if state != string(types.DataReplicationStateContinuous) {
				verdict = "NOT READY"
			}
			fmt.Fprintf(d.out, "  %-20s %-8s %-12s lag %-5s %s\n", id, s.Tags["Tier"], state, lag, verdict)
			if verdict != "ready" {
				return nil, &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: fmt.Sprintf("source server %s is not ready (%s)", id, state)}
			}
			byTier[s.Tags["Tier"]] = append(byTier[s.Tags["Tier"]], id)
		}
	}
	var waves []*demoWave
	for _, tier := range []string{"database", "app", "web"} {
		sort.Strings(byTier[tier])
		waves = append(waves, &demoWave{name: tier, servers: byTier[tier], status: map[string]string{}, inst: map[string]string{}})
	}
	fmt.Fprintln(d.out, "\nPlan: database -> app -> web, one DRS job per tier, each tier after the previous one is LAUNCHED")
	fmt.Fprintln(d.out)
	return waves, nil
}

// activeJobs returns the PENDING or STARTED jobs holding any of servers, by
// reading every page of DescribeJobs.
func (d *demo) activeJobs(ctx context.Context, servers []string) ([]types.Job, error) {
	want := map[string]bool{}
	for _, s := range servers {
		want[s] = true
	}
	var out []types.Job
	p := drs.NewDescribeJobsPaginator(d.client, &drs.DescribeJobsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe jobs: %w", err)
		}
		for _, j := range page.Items {
			if j.Status == types.JobStatusCompleted {
				continue
			}
			for _, ps := range j.ParticipatingServers {
				if want[aws.ToString(ps.SourceServerID)] {
					out = append(out, j)
					break
				}
			}
		}
	}
	return out, nil
}

func (d *demo) runWave(ctx context.Context, w *demoWave) error {
	// Look before launching: wait for the jobs that really hold the servers.
	waited := false
	for {
		blockers, err := d.activeJobs(ctx, w.servers)
		if err != nil {
			return err
		}
		if len(blockers) == 0 {
			break
		}
		waited = true
		var names []string
		for _, j := range blockers {
			names = append(names, fmt.Sprintf("%s (%s %s, created %s)", aws.ToString(j.JobID), j.Type, j.Status,
				d.since(parseDRSTime(aws.ToString(j.CreationDateTime)))))
		}
		d.say("%-8s waiting: servers held by job %s", w.name, strings.Join(names, ", "))
		if err := d.wait(ctx); err != nil {
			return err
		}
	}
	if waited {
		d.waits++
		d.say("%-8s the earlier job finished; its servers are free", w.name)
	}
	in := &drs.StartRecoveryInput{IsDrill: aws.Bool(true), Tags: map[string]string{"ripcord:demo": "orders", "ripcord:wave": w.name}}
	for _, s := range w.servers {
		in.SourceServers = append(in.SourceServers, types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(s)})
	}
	out, err := d.client.StartRecovery(ctx, in, func(o *drs.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		return fmt.Errorf("start recovery for wave %s: %w", w.name, err)
	}
	w.jobID = aws.ToString(out.Job.JobID)
	w.start = d.sim.Now()
	d.say("%-8s StartRecovery: job %s with %d servers (%s)", w.name, w.jobID, len(w.servers), strings.Join(w.servers, ", "))
	for {
		if err := d.wait(ctx); err != nil {
			return err
		}
		jobs, err := d.client.DescribeJobs(ctx, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{w.jobID}}})
		if err != nil {
			return fmt.Errorf("describe job %s: %w", w.jobID, err)
		}
		if len(jobs.Items) != 1 {
			return fmt.Errorf("job %s vanished from DescribeJobs", w.jobID)
		}
		j := jobs.Items[0]
		final, failed := 0, 0
		var parts []string
		for _, ps := range j.ParticipatingServers {
			id, st := aws.ToString(ps.SourceServerID), string(ps.LaunchStatus)
			if w.status[id] != st {
				w.status[id] = st
			}
			if ps.RecoveryInstanceID != nil {
				w.inst[id] = aws.ToString(ps.RecoveryInstanceID)
			}
			switch ps.LaunchStatus {
			case types.LaunchStatusLaunched:
				final++
			case types.LaunchStatusFailed:
				final++
				failed++
			}
			parts = append(parts, id+" "+st)
		}
		d.say("%-8s job %s %s: %s", w.name, w.jobID, j.Status, strings.Join(parts, ", "))
		if failed > 0 {
			return &ripcord.Error{Code: ripcord.EINTERNAL, Message: fmt.Sprintf("wave %s: %d servers failed to launch in job %s", w.name, failed, w.jobID)}
		}
		if final == len(j.ParticipatingServers) {
			w.done = d.sim.Now()
			d.say("%-8s all %d servers LAUNCHED in %s", w.name, final, w.done.Sub(w.start).Round(time.Second))
			return nil
		}
	}
}

// cleanup terminates the drill instances the demo launched (and only those),
// follows the TERMINATE job and verifies with DescribeRecoveryInstances that
// they are gone. It returns the instance-minutes the drill used.
func (d *demo) cleanup(ctx context.Context, waves []*demoWave) (float64, error) {
	var ids []string
	for _, w := range waves {
		for _, id := range w.inst {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	fmt.Fprintln(d.out)
	out, err := d.client.TerminateRecoveryInstances(ctx, &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: ids},
		func(o *drs.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		return 0, fmt.Errorf("terminate drill instances: %w", err)
	}
	jobID := aws.ToString(out.Job.JobID)
	d.say("cleanup  TerminateRecoveryInstances: job %s for %d drill instances", jobID, len(ids))
	for {
		if err := d.wait(ctx); err != nil {
			return 0, err
		}
		jobs, err := d.client.DescribeJobs(ctx, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{jobID}}})
		if err != nil {
			return 0, fmt.Errorf("describe job %s: %w", jobID, err)
		}
		if len(jobs.Items) == 1 && jobs.Items[0].Status == types.JobStatusCompleted {
			break
		}
	}
	left, err := d.client.DescribeRecoveryInstances(ctx, &drs.DescribeRecoveryInstancesInput{
		Filters: &types.DescribeRecoveryInstancesRequestFilters{RecoveryInstanceIDs: ids}})
	if err != nil {
		return 0, fmt.Errorf("verify cleanup: %w", err)
	}
	if len(left.Items) > 0 {
		return 0, &ripcord.Error{Code: ripcord.EINTERNAL, Message: fmt.Sprintf("cleanup not verified: %d drill instances still exist", len(left.Items))}
	}
	d.say("cleanup  verified: DescribeRecoveryInstances lists none of the %d drill instances", len(ids))
	// Instance-minutes from the simulator's model: launch to termination.
	var minutes float64
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, r := range d.sim.State(drssim.StateFilter{}).Regions {
		for _, in := range r.Instances {
			if want[aws.ToString(&in.RecoveryInstanceID)] && !in.Terminated.IsZero() {
				minutes += in.Terminated.Sub(in.Launched).Minutes()
			}
		}
	}
	return minutes, nil
}

func (d *demo) summary(waves []*demoWave, rto time.Duration, instMinutes float64) {
	fmt.Fprintln(d.out, "\nSummary (simulated time):")
	fmt.Fprintf(d.out, "  %-9s %-26s %-9s %-9s %s\n", "wave", "job", "started", "launched", "duration")
	for _, w := range waves {
		fmt.Fprintf(d.out, "  %-9s %-26s %-9s %-9s %s  (%d/%d LAUNCHED)\n", w.name, w.jobID, d.since(w.start), d.since(w.done),
			w.done.Sub(w.start).Round(time.Second), len(w.servers), len(w.servers))
	}
	var calls int64
	for _, n := range d.sim.OperationCounts() {
		calls += n
	}
	fmt.Fprintf(d.out, "  RTO measured: %s from the start of the drill to the last server LAUNCHED\n", rto.Round(time.Second))
	fmt.Fprintf(d.out, "  DRS API calls: %d; ConflictExceptions: 0; launches that waited for an earlier job instead of failing: %d\n", calls, d.waits)
	fmt.Fprintf(d.out, "  Drill instances: %.0f instance-minutes, all terminated and verified gone\n", instMinutes)
}

func parseDRSTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
