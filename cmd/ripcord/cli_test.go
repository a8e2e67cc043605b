package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Timeouts of the AWS CLI test. They bound waits on a process; nothing in
// the test sleeps.
const (
	cliTestTimeout   = 5 * time.Minute                    // the whole test, build included
	cliBannerTimeout = 30 * time.Second                   // from start to the banner's endpoint line
	cliCallTimeout   = 60 * time.Second                   // one aws invocation
	cliStopTimeout   = simShutdownTimeout + 5*time.Second // SIGINT to exit
)

// cliBannerPrefix starts the banner line that carries the endpoint URL.
const cliBannerPrefix = "ripcord sim: DRS simulator listening on "

// cliConflictMessage is what the AWS CLI prints for DRS's one-job-per-server
// ConflictException on StartRecovery.
const cliConflictMessage = "An error occurred (ConflictException) when calling the StartRecovery operation: One or more Source Servers are currently being processed by a Job"

// cliThreeTierTiers maps the three-tier scenario's server IDs to their Tier tag.
var cliThreeTierTiers = map[string]string{
	"s-3c1730a9e0771ea14": "database",
	"s-3d75cdc0d9a28a725": "database",
	"s-3afa164776f93ce4f": "app",
	"s-3c63bb8be30d7d071": "app",
	"s-3578f52ef3bdd58b4": "web",
	"s-3b9401c1cd270a7a8": "web",
}

// cliLaunchScenario is two servers of three-tier without the TERMINATE job
// that holds them at start, so a drill can launch at once. Conversion takes
// two simulated hours (two real minutes at --time-scale 60), so the drill's
// job certainly still holds its server when the test overlaps it.
const cliLaunchScenario = `name: cli-launch
description: Two servers of three-tier, nothing holding them; drills stay active for hours.
defaultAccount: "111122223333"
durations:
  pending: [1s, 1s]
  conversion: [2h, 2h]
regions:
  - account: "111122223333"
    region: us-east-1
    servers:
      - id: s-3c1730a9e0771ea14
        hostname: orders-db-1
        os: linux
        tags: {Application: orders, Tier: database, Name: orders-db-1}
      - id: s-3afa164776f93ce4f
        hostname: orders-app-1
        os: linux
        tags: {Application: orders, Tier: app, Name: orders-app-1}
`

// TestSimWithAWSCLI runs `ripcord sim` as a process and drives it with the
// real AWS CLI: listing servers, the ConflictException of the scenario's
// lingering TERMINATE job, a drill, its job and log, an overlapping launch,
// and a clean exit on SIGINT with the request log on stderr.
func TestSimWithAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("RIPCORD_CI") != "" {
			t.Fatalf("aws CLI not on PATH (%v), and RIPCORD_CI is set: CI must run the AWS CLI test; install aws-cli v1 or v2", err)
		}
		t.Skipf("SKIPPED: aws CLI not on PATH (%v); the test that drives `ripcord sim` with the real AWS CLI did not run. Install aws-cli v1 or v2 to run it (RIPCORD_CI=1 makes this a failure).", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), cliTestTimeout)
	defer cancel()
	cli := newCLIRunner(t, awsPath)
	t.Logf("AWS CLI: %s", cli.version(ctx))
	bin := buildRipcord(ctx, t)

	t.Run("three-tier", func(t *testing.T) {
		p := startSimProc(ctx, t, bin, "--scenario", "three-tier")

		// StartRecovery first: the scenario's TERMINATE job holds every
		// server for only four simulated minutes, four real seconds.
		res := cli.run(ctx, t, "drs", "start-recovery", "--is-drill",
			"--source-servers", "sourceServerID=s-3c1730a9e0771ea14",
			"--endpoint-url", p.url, "--region", "us-east-1", "--output", "json")
		if res.code == 0 {
			t.Fatalf("start-recovery while the TERMINATE job holds the servers succeeded (%s after the banner; the hold lasts 4s of real time)\nstdout: %s",
				time.Since(p.ready).Round(time.Millisecond), res.stdout)
		}
		wantConflict(t, res)

		res = cli.run(ctx, t, "drs", "describe-source-servers",
			"--endpoint-url", p.url, "--region", "us-east-1", "--output", "json")
		res.wantOK(t)
		var servers struct {
			Items []struct {
				SourceServerID string            `json:"sourceServerID"`
				Tags           map[string]string `json:"tags"`
			} `json:"items"`
		}
		res.decode(t, &servers)
		if len(servers.Items) != len(cliThreeTierTiers) {
			t.Errorf("describe-source-servers: %d servers, want %d:\n%s", len(servers.Items), len(cliThreeTierTiers), res.stdout)
		}
		seen := map[string]bool{}
		for _, s := range servers.Items {
			tier, ok := cliThreeTierTiers[s.SourceServerID]
			switch {
			case !ok:
				t.Errorf("describe-source-servers: unexpected server %s", s.SourceServerID)
			case seen[s.SourceServerID]:
				t.Errorf("describe-source-servers: server %s listed twice", s.SourceServerID)
			case s.Tags["Tier"] != tier:
				t.Errorf("describe-source-servers: server %s has Tier %q, want %q", s.SourceServerID, s.Tags["Tier"], tier)
			}
			seen[s.SourceServerID] = true
		}

		stderr := p.stop(ctx, t)
		wantRequestLog(t, stderr, "StartRecovery", "409")
		wantRequestLog(t, stderr, "DescribeSourceServers", "200")
	})

	t.Run("launch", func(t *testing.T) {
		scenario := filepath.Join(t.TempDir(), "cli-launch.yaml")
		if err := os.WriteFile(scenario, []byte(cliLaunchScenario), 0o644); err != nil {
			t.Fatal(err)
		}
		p := startSimProc(ctx, t, bin, "--scenario", scenario)
		startDrill := []string{"drs", "start-recovery", "--is-drill",
			"--source-servers", "sourceServerID=s-3c1730a9e0771ea14",
			"--endpoint-url", p.url, "--region", "us-east-1", "--output", "json"}

		res := cli.run(ctx, t, startDrill...)
		res.wantOK(t)
		var started struct {
			Job struct {
				JobID                string `json:"jobID"`
				Type                 string `json:"type"`
				Status               string `json:"status"`
				InitiatedBy          string `json:"initiatedBy"`
				ParticipatingServers []struct {
					SourceServerID string `json:"sourceServerID"`
				} `json:"participatingServers"`
			} `json:"job"`
		}
		res.decode(t, &started)
		job := started.Job
		if job.JobID == "" || job.Status != "PENDING" || job.Type != "LAUNCH" || job.InitiatedBy != "START_DRILL" {
			t.Fatalf("start-recovery: want a PENDING LAUNCH job initiated by START_DRILL, got %+v", job)
		}
		if len(job.ParticipatingServers) != 1 || job.ParticipatingServers[0].SourceServerID != "s-3c1730a9e0771ea14" {
			t.Errorf("start-recovery: participating servers %+v, want s-3c1730a9e0771ea14 alone", job.ParticipatingServers)
		}

		res = cli.run(ctx, t, "drs", "describe-jobs", "--filters", "jobIDs="+job.JobID,
			"--endpoint-url", p.url, "--region", "us-east-1", "--output", "json")
		res.wantOK(t)
		var jobs struct {
			Items []struct {
				JobID  string `json:"jobID"`
				Status string `json:"status"`
			} `json:"items"`
		}
		res.decode(t, &jobs)
		if len(jobs.Items) != 1 || jobs.Items[0].JobID != job.JobID {
			t.Errorf("describe-jobs --filters jobIDs=%s: want that job alone, got:\n%s", job.JobID, res.stdout)
		}

		res = cli.run(ctx, t, "drs", "describe-job-log-items", "--job-id", job.JobID,
			"--endpoint-url", p.url, "--region", "us-east-1", "--output", "json")
		res.wantOK(t)
		var logItems struct {
			Items []struct {
				LogDateTime string `json:"logDateTime"`
				Event       string `json:"event"`
			} `json:"items"`
		}
		res.decode(t, &logItems)
		if logItems.Items == nil {
			t.Errorf("describe-job-log-items: no items array:\n%s", res.stdout)
		}
		for i, li := range logItems.Items {
			if li.Event == "" || li.LogDateTime == "" {
				t.Errorf("describe-job-log-items: item %d lacks event or logDateTime: %+v", i, li)
			}
		}
		if len(logItems.Items) > 0 && logItems.Items[0].Event != "JOB_START" {
			t.Errorf("describe-job-log-items: first event %s, want JOB_START", logItems.Items[0].Event)
		}

		// The drill's job holds the server for hours of simulated time: a
		// second launch of it conflicts.
		res = cli.run(ctx, t, startDrill...)
		wantConflict(t, res)

		stderr := p.stop(ctx, t)
		wantRequestLog(t, stderr, "StartRecovery", "202")
		wantRequestLog(t, stderr, "StartRecovery", "409")
		wantRequestLog(t, stderr, "DescribeJobs", "200")
		wantRequestLog(t, stderr, "DescribeJobLogItems", "200")
	})
}

// buildRipcord builds the ripcord binary into a temporary directory and
// returns its path.
func buildRipcord(ctx context.Context, t testing.TB) string {
	t.Helper()
	goTool := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			goTool = p
		}
	}
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD = %q: not inside the ripcord module", gomod)
	}
	bin := filepath.Join(t.TempDir(), "ripcord")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/ripcord")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ripcord: %v\n%s", err, out)
	}
	return bin
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// simProc is a running `ripcord sim` process.
type simProc struct {
	cmd    *exec.Cmd
	url    string    // endpoint from the banner
	ready  time.Time // when the banner's endpoint line arrived
	stderr bytes.Buffer
	exited chan struct{} // closed when Wait has returned; stderr is complete then
	err    error         // Wait's result, set before exited is closed
}

// startSimProc starts `ripcord sim` on a free port with the request log in
// JSON and waits for the banner line that names the endpoint. The process is
// killed at cleanup if the test has not stopped it.
func startSimProc(ctx context.Context, t testing.TB, bin string, args ...string) *simProc {
	t.Helper()
	args = append([]string{"sim", "--addr", "127.0.0.1:0", "--time-scale", "60", "--seed", "1", "--log-format", "json"}, args...)
	// The banner goes to a pipe of our own, not cmd.StdoutPipe, so that
	// reading it never races with Wait.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &simProc{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = pw
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("start ripcord %s: %v", strings.Join(args, " "), err)
	}
	pw.Close() // the child holds its own copy
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		pr.Close()
	})

	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		found := false
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), cliBannerPrefix); ok && !found {
				found = true
				urls <- strings.TrimSpace(u)
			}
		}
		// Draining to EOF keeps the child from blocking on a full pipe.
		close(urls)
	}()

	bctx, cancel := context.WithTimeout(ctx, cliBannerTimeout)
	defer cancel()
	select {
	case u, ok := <-urls:
		if !ok {
			<-p.exited
			t.Fatalf("ripcord %s exited (%v) before printing %q; stderr:\n%s", strings.Join(args, " "), p.err, cliBannerPrefix, p.stderr.String())
		}
		p.url, p.ready = u, time.Now()
	case <-bctx.Done():
		t.Fatalf("ripcord %s: no banner line %q within %s", strings.Join(args, " "), cliBannerPrefix, cliBannerTimeout)
	}
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") || strings.HasSuffix(p.url, ":0") {
		t.Fatalf("banner endpoint %q is not the real loopback address", p.url)
	}
	return p
}

// stop sends SIGINT, expects exit status 0 within cliStopTimeout, and
// returns the process's stderr.
func (p *simProc) stop(ctx context.Context, t testing.TB) string {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("SIGINT: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, cliStopTimeout)
	defer cancel()
	select {
	case <-p.exited:
	case <-sctx.Done():
		t.Fatalf("ripcord sim did not exit within %s of SIGINT", cliStopTimeout)
	}
	if p.err != nil {
		t.Errorf("ripcord sim after SIGINT: %v (exit status %d), want exit status 0; stderr:\n%s",
			p.err, p.cmd.ProcessState.ExitCode(), p.stderr.String())
	}
	return p.stderr.String()
}

// wantRequestLog fails unless the JSON request log on stderr has a record of
// op for account 111122223333 in us-east-1 answered with status.
func wantRequestLog(t *testing.T, stderr, op, status string) {
	t.Helper()
	for line := range strings.Lines(stderr) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == "drs request" && rec["op"] == op && rec["account"] == "111122223333" &&
			rec["region"] == "us-east-1" && fmt.Sprint(rec["status"]) == status {
			return
		}
	}
	t.Errorf("stderr has no JSON request log line for %s with account 111122223333, region us-east-1, status %s:\n%s", op, status, stderr)
}

// cliRunner runs the AWS CLI isolated from the user's AWS configuration.
type cliRunner struct {
	path string
	env  []string
}

func newCLIRunner(t testing.TB, path string) *cliRunner {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	for _, f := range []string{config, creds} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Every AWS_ variable of the caller goes (profiles, endpoints, session
	// tokens); the rest (PATH, HOME, pyenv) stays so the CLI can run.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	env = append(env,
		"AWS_ACCESS_KEY_ID=AKIDSIMULATOR",
		"AWS_SECRET_ACCESS_KEY=x",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",         // CLI v2: never page output
		"AWS_MAX_ATTEMPTS=1", // a retried StartRecovery would conflict with itself
	)
	return &cliRunner{path: path, env: env}
}

// cliResult is the outcome of one aws invocation.
type cliResult struct {
	args           []string
	stdout, stderr string
	code           int
}

func (c *cliRunner) version(ctx context.Context) string {
	cmd := exec.CommandContext(ctx, c.path, "--version")
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s (aws --version: %v)", c.path, err)
	}
	return c.path + ": " + strings.TrimSpace(string(out))
}

func (c *cliRunner) run(ctx context.Context, t *testing.T, args ...string) cliResult {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, cliCallTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, c.path, args...)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	if cctx.Err() != nil {
		t.Fatalf("aws %s: no answer within %s; stderr:\n%s", strings.Join(args, " "), cliCallTimeout, stderr.String())
	}
	return cliResult{args: args, stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

func (r cliResult) wantOK(t *testing.T) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("aws %s: exit status %d, want 0; stderr:\n%s", strings.Join(r.args, " "), r.code, r.stderr)
	}
}

func (r cliResult) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("aws %s: output is not the expected JSON: %v\n%s", strings.Join(r.args, " "), err, r.stdout)
	}
}

// wantConflict expects the CLI's failure for a service error (254 for CLI
// v2, 255 for v1) carrying DRS's ConflictException for StartRecovery.
func wantConflict(t *testing.T, r cliResult) {
	t.Helper()
	if r.code != 254 && r.code != 255 {
		t.Errorf("aws %s: exit status %d, want 254 (CLI v2) or 255 (CLI v1)\nstdout: %s\nstderr: %s",
			strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, cliConflictMessage) {
		t.Errorf("aws %s: stderr does not contain %q:\n%s", strings.Join(r.args, " "), cliConflictMessage, r.stderr)
	}
}
