package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/drssim/twin"
)

// twinSim serves a simulator of sc and returns it with its URL.
func twinSim(t *testing.T, sc *drssim.Scenario, clock drssim.Clock, scale float64) (*drssim.Sim, string) {
	t.Helper()
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, TimeScale: scale, Seed: 3, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// sdkClient is a plain DRS client of the AWS SDK for url, configured as
// ripcord configures its own (the environment's credentials).
func sdkClient(t *testing.T, url string) *awsdrs.Client {
	t.Helper()
	cfg, err := drs.LoadAWSConfig(t.Context(), drs.Config{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return awsdrs.NewFromConfig(cfg, func(o *awsdrs.Options) { o.BaseEndpoint = aws.String(url) })
}

// stateRequests is the simulator's request log by operation, as GET
// /_sim/state shows it.
func stateRequests(t *testing.T, url string) map[string]int64 {
	t.Helper()
	resp, err := http.Get(url + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Requests map[string]int64 `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Requests
}

// drsView is what a client sees of a DRS: every source server, launch
// configuration, job and recovery instance, as JSON.
type drsView struct {
	Servers, LaunchConfigs, Jobs, Instances string
}

func readView(t *testing.T, ctx context.Context, c *awsdrs.Client) drsView {
	t.Helper()
	enc := func(v any) string {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var v drsView
	var servers []types.SourceServer
	for p := awsdrs.NewDescribeSourceServersPaginator(c, &awsdrs.DescribeSourceServersInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, page.Items...)
	}
	var lcs []*awsdrs.GetLaunchConfigurationOutput
	for _, s := range servers {
		lc, err := c.GetLaunchConfiguration(ctx, &awsdrs.GetLaunchConfigurationInput{SourceServerID: s.SourceServerID})
		if err != nil {
			t.Fatal(err)
		}
		lcs = append(lcs, lc)
	}
	var jobs []types.Job
	for p := awsdrs.NewDescribeJobsPaginator(c, &awsdrs.DescribeJobsInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, page.Items...)
	}
	var insts []types.RecoveryInstance
	for p := awsdrs.NewDescribeRecoveryInstancesPaginator(c, &awsdrs.DescribeRecoveryInstancesInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, page.Items...)
	}
	v.Servers, v.LaunchConfigs, v.Jobs, v.Instances = enc(servers), enc(lcs), enc(jobs), enc(insts)
	return v
}

// waitJob advances the manual clock from one scheduled transition to the
// next until job id has COMPLETED.
func waitJob(t *testing.T, ctx context.Context, c *awsdrs.Client, sim *drssim.Sim, clock *drssim.ManualClock, id string) {
	t.Helper()
	for range 10000 {
		out, err := c.DescribeJobs(ctx, &awsdrs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{id}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) == 1 && out.Items[0].Status == types.JobStatusCompleted {
			return
		}
		next, ok := sim.NextEventAt()
		if !ok {
			t.Fatalf("job %s never completes", id)
		}
		clock.Set(next)
	}
	t.Fatalf("job %s did not complete", id)
}

// TestSimSnapshotTwin reads a simulator acting as the real account into a
// twin with `ripcord sim snapshot`, proves that only reads reached it,
// loads the twin into a second simulator and compares what both show
// through the AWS SDK, then drills a plan against the twin.
func TestSimSnapshotTwin(t *testing.T) {
	c := newCLIEnv(t) // the environment: credentials, no AWS config files
	ctx := t.Context()
	src, err := drssim.LoadScenario("testdata/twin-source.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clock := drssim.NewManualClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	account, url := twinSim(t, src, clock, 0)
	api := sdkClient(t, url)

	// The account's own life before the snapshot: a launch configuration
	// changed, and two drills run to the end (full logs, a Windows server,
	// a drill replacing the previous one's instance).
	if _, err := api.UpdateLaunchConfiguration(ctx, &awsdrs.UpdateLaunchConfigurationInput{
		SourceServerID: aws.String("s-1000000000000000c"), CopyPrivateIp: aws.Bool(true), Name: aws.String("web-custom")}); err != nil {
		t.Fatal(err)
	}
	for _, servers := range [][]string{{"s-1000000000000000b", "s-1000000000000000c"}, {"s-1000000000000000c"}} {
		in := &awsdrs.StartRecoveryInput{IsDrill: aws.Bool(true), Tags: map[string]string{"ripcord:plan": "shop"}}
		for _, id := range servers {
			in.SourceServers = append(in.SourceServers, types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(id)})
		}
		out, err := api.StartRecovery(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		waitJob(t, ctx, api, account, clock, aws.ToString(out.Job.JobID))
	}
	// DRS's Date has whole seconds: the snapshot's reference time.
	clock.Set(clock.Now().Truncate(time.Second).Add(time.Second))
	at := clock.Now()
	want := readView(t, ctx, api)

	before := stateRequests(t, url)
	out, errOut, code := c.ripcord("sim", "snapshot", "--endpoint-url", url, "--region", "us-east-1", "--history", "2400h")
	if code != 0 {
		t.Fatalf("sim snapshot: exit %d\n%s", code, errOut)
	}
	after := stateRequests(t, url)
	for op, n := range after {
		if n > before[op] && !twin.IsRead(op) {
			t.Errorf("the snapshot sent %d %s requests to the account", n-before[op], op)
		}
	}
	for _, op := range []string{"DescribeSourceServers", "GetLaunchConfiguration", "DescribeJobs", "DescribeJobLogItems", "DescribeRecoveryInstances"} {
		if after[op] <= before[op] {
			t.Errorf("the snapshot made no %s request", op)
		}
	}
	for _, want := range []string{"5 source servers, 1 active jobs, 43 completed jobs, 3 recovery instances",
		"conversion: [", "Windows conversions take", "launch jobs, start to every server LAUNCHED (",
		"active job drsjob-1000000000000000b (LAUNCH, "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// The output is a scenario the loader takes, strictly.
	sc, err := drssim.ParseScenario([]byte(out))
	if err != nil {
		t.Fatalf("the snapshot is not a valid scenario: %v\n%s", err, out)
	}
	if _, err := drssim.ParseScenario([]byte(out + "\nsurprise: 1\n")); err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Errorf("an unknown field in the snapshot's YAML: err %v, want it refused", err)
	}
	if d := sc.Durations; d.Conversion.IsZero() || d.Launch.IsZero() || d.Snapshot.IsZero() || d.Pending.IsZero() || d.WindowsFactor == 0 {
		t.Errorf("durations not learned from the drills: %+v", d)
	}

	// The twin, started at the snapshot's time, shows what the account showed.
	_, twinURL := twinSim(t, sc, drssim.NewManualClock(at), 0)
	got := readView(t, ctx, sdkClient(t, twinURL))
	for _, f := range []struct{ name, got, want string }{
		{"DescribeSourceServers", got.Servers, want.Servers},
		{"GetLaunchConfiguration", got.LaunchConfigs, want.LaunchConfigs},
		{"DescribeJobs", got.Jobs, want.Jobs},
		{"DescribeRecoveryInstances", got.Instances, want.Instances},
	} {
		if f.got != f.want {
			t.Errorf("%s of the twin differs from the account's:\n%s", f.name, lineDiff(f.want, f.got))
		}
	}

	// A drill of the shop's plan against the twin (its clock runs).
	_, drillURL := twinSim(t, sc, nil, 6000)
	planFile := filepath.Join(t.TempDir(), "shop.yaml")
	writeFile(t, planFile, `targets:
  - {name: dr, account: "111122223333", region: us-east-1}
protectionGroups:
  - {name: db, target: dr, selector: {Application: shop, Tier: database}}
  - {name: app, target: dr, selector: {Application: shop, Tier: app}}
  - {name: web, target: dr, selector: {Application: shop, Tier: web}}
plans:
  - name: shop
    rpo: 10m
    waves:
      - {name: database, groups: [db]}
      - {name: app, groups: [app]}
      - {name: web, groups: [web]}
`)
	out, errOut, code = c.ripcord("run", "-f", planFile, "--drill", "--output", "json", "--cleanup-after", "1ms",
		"--db", c.db, "--endpoint-url", drillURL, "--poll", "20ms", "--rate-limit", "500")
	if code != 0 {
		t.Fatalf("drill against the twin: exit %d\n%s\n%s", code, out, errOut)
	}
	var sum execSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.State != "succeeded" || sum.Launched != 3 || sum.Failed != 0 || !sum.CleanupDone {
		t.Errorf("drill against the twin: %+v", sum)
	}
}
