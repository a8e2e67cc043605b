package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord/drssim"
)

// cliEnv is an in-process simulator running 6000 times faster than real
// time, and a store path, for driving the commands through newRootCmd.
type cliEnv struct {
	t   *testing.T
	url string
	db  string
	sim *drssim.Sim
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	sim, err := drssim.New(drssim.Options{TimeScale: 6000, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv(envServer, "") // the commands work on the local store unless a test says --server
	t.Setenv(envToken, "")
	return &cliEnv{t: t, url: srv.URL, db: filepath.Join(t.TempDir(), "r.db"), sim: sim}
}

// ripcord runs the command line and returns stdout, stderr and exit status.
func (c *cliEnv) ripcord(args ...string) (string, string, int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(c.t.Context())
	if err != nil {
		printError(&errOut, err)
	}
	return out.String(), errOut.String(), exitCode(err)
}

func (c *cliEnv) conn() []string {
	return []string{"--db", c.db, "--endpoint-url", c.url, "--poll", "20ms", "--rate-limit", "500"}
}

func TestRunDrillThenList(t *testing.T) {
	c := newCLIEnv(t)
	out, errOut, code := c.ripcord(append([]string{"run", "-f", "../../examples/three-tier.yaml", "--drill", "--id", "d1",
		"--output", "json", "--cleanup-after", "1ms"}, c.conn()...)...)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	var sum execSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.State != "succeeded" || len(sum.Steps) != 3 || !sum.CleanupDone || sum.CleanupInstance != 6 || sum.Refused != 0 {
		t.Fatalf("summary: %+v", sum)
	}
	out, _, code = c.ripcord(append([]string{"exec", "list", "--output", "json"}, c.conn()...)...)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != 0 {
		t.Fatalf("exec list: %v (exit %d)\n%s", err, code, out)
	}
	if len(rows) != 1 {
		t.Fatalf("exec list: %s", out)
	}
	for _, k := range []string{"id", "plan", "mode", "state", "start", "end"} {
		if _, ok := rows[0][k]; !ok {
			t.Errorf("exec list row lacks %q: %v", k, rows[0])
		}
	}
	if rows[0]["id"] != "d1" || rows[0]["plan"] != "orders" || rows[0]["mode"] != "drill" || rows[0]["state"] != "succeeded" {
		t.Errorf("exec list row: %v", rows[0])
	}
	out, _, code = c.ripcord(append([]string{"exec", "show", "d1"}, c.conn()...)...)
	if code != 0 || !strings.Contains(out, "s-3c1730a9e0771ea14") || !strings.Contains(out, "LAUNCHED") {
		t.Errorf("exec show (exit %d):\n%s", code, out)
	}
	// A finished execution cannot be paused.
	_, errOut, code = c.ripcord(append([]string{"exec", "pause", "d1"}, c.conn()...)...)
	if code == 0 || !strings.Contains(errOut, "has ended") {
		t.Errorf("pause of a finished execution: exit %d, %s", code, errOut)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	c := newCLIEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, bad, "plans:\n  - name: x\n    grups: []\n")
	tests := []struct {
		args  []string
		extra []string // after the connection flags, so they win over them
		want  string
		code  int
	}{
		{[]string{"run", "-f", "../../examples/three-tier.yaml"}, nil, "choose exactly one of --drill, --recovery and --failback", 2},
		{[]string{"run", "-f", "../../examples/three-tier.yaml", "--failback"}, nil, "a failback of plan orders needs --confirm orders", 2},
		{[]string{"run", "-f", "../../examples/three-tier.yaml", "--recovery"}, nil, "a recovery of plan orders needs --confirm orders", 2},
		{[]string{"run", "-f", "../../examples/three-tier.yaml", "--recovery", "--confirm", "other"}, nil, "needs --confirm orders", 2},
		{[]string{"run", "-f", "../../examples/three-tier.yaml", "--drill", "nosuchplan"}, nil, "nosuchplan", 1},
		{[]string{"run", "-f", bad, "--drill"}, nil, `unknown key "grups"`, 2},
		{[]string{"run", "--drill"}, nil, "missing -f", 2},
		{[]string{"run", "-f", "../../examples/three-tier.yaml", "--drill"}, []string{"--poll", "0s"}, "invalid --poll", 2},
		{[]string{"run", "-f", "../../examples/three-tier.yaml", "--recovery", "--confirm", "orders", "--cleanup-after", "1m"}, nil, "--cleanup-after is for drills", 2},
		{[]string{"exec", "show", "no-such-exec"}, nil, "no-such-exec", 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append(append(append([]string{}, tt.args...), c.conn()...), tt.extra...)
			_, errOut, code := c.ripcord(args...)
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			if tt.code == 2 && code != 2 || tt.code != 2 && code == 0 {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
		})
	}
	// Nothing was started by any of them.
	out, _, _ := c.ripcord(append([]string{"exec", "list", "--output", "json"}, c.conn()...)...)
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("bad input left executions behind: %s", out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// holdServers adds a hold-servers fault once the scenario's own jobs have
// let go of the servers: the example scenario starts with a TERMINATE job
// on every server that ends a few simulated minutes in, which at the
// simulator's time scale is some milliseconds of real time, so a fast
// test can reach here first. It waits for the simulator's next transition,
// in real time at the simulator's scale, and tries again.
func (c *cliEnv) holdServers(f drssim.Fault) {
	c.t.Helper()
	for range 20 {
		_, err := c.sim.AddFault(f)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "already held by job") {
			c.t.Fatal(err)
		}
		next, ok := c.sim.NextEventAt()
		if scale := c.sim.Clock().Scale; !ok || scale <= 0 {
			c.t.Fatalf("%v, and nothing is due to release it", err)
		}
		wait := time.Duration(float64(next.Sub(c.sim.Now()))/c.sim.Clock().Scale) + time.Millisecond
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-c.t.Context().Done():
			timer.Stop()
			c.t.Fatal(c.t.Context().Err())
		}
	}
	c.t.Fatalf("the servers of %+v stayed held by the scenario's jobs", f)
}
