package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// failDescribeJobs makes the next n DescribeJobs requests fail with 503
// (the SDK tries each read three times).
func failDescribeJobs(t *testing.T, c *cliEnv, n int) {
	t.Helper()
	if _, err := c.sim.AddFault(drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "DescribeJobs", Fraction: 1, Status: 503, Count: n}); err != nil {
		t.Fatal(err)
	}
}

// TestProgressShowsOutageAndRecovery makes DRS's job list fail once (three
// attempts of one read): the progress output says what fails, since when,
// how often and with which error, then that DRS answers again; the drill
// succeeds and exec show records both.
func TestProgressShowsOutageAndRecovery(t *testing.T) {
	c := newAuditEnv(t)
	failDescribeJobs(t, c, 3)
	// --allow-concurrent: run's own look for other executions of the plan
	// reads the job list too, and would meet the fault first.
	out, errOut := exits(t, c, 0, true, "run", "-f", auditPlan(t, "stop"), "--drill", "--id", "outage-1", "--allow-concurrent")
	// The CLI logs warnings to stderr: the failed call is not silent.
	if !strings.Contains(errOut, "DRS call failed; will try again") || !strings.Contains(errOut, "level=WARN") {
		t.Errorf("stderr lacks the warning of the failed DRS call:\n%s", errOut)
	}
	failing := lineWith(out, "DRS in target dr failing since ")
	for _, want := range []string{"(DescribeJobs", ", 1 attempt): ", "HTTP 503", "; still trying"} {
		if !strings.Contains(failing, want) {
			t.Errorf("outage line %q lacks %q; output:\n%s", failing, want, out)
		}
	}
	if !strings.Contains(out, "DRS in target dr answers again") {
		t.Errorf("the output does not say DRS answers again:\n%s", out)
	}
	if i, j := strings.Index(out, "failing since"), strings.Index(out, "answers again"); i < 0 || j < i {
		t.Errorf("the outage is not shown before its end:\n%s", out)
	}
	// Stamps are the time of the latest change seen: they never go back.
	var last time.Duration
	for line := range strings.Lines(out) {
		stamp, _, ok := strings.Cut(strings.TrimPrefix(line, "["), " of RTO ")
		if !ok || !strings.HasPrefix(line, "[") {
			continue
		}
		d, err := time.ParseDuration(stamp)
		if err != nil {
			t.Fatalf("progress stamp %q: %v", stamp, err)
		}
		if d < last {
			t.Errorf("progress stamp %s follows %s:\n%s", d, last, out)
		}
		last = d
	}
	show, _ := exits(t, c, 0, true, "exec", "show", "outage-1")
	if !strings.Contains(show, "DRS in target dr failing since ") || !strings.Contains(show, "DRS in target dr answers again (after 1 failed attempt)") {
		t.Errorf("exec show lacks the outage and its end:\n%s", show)
	}
}

// TestProgressShowsPauseForOutage lets DRS's job list fail past the plan's
// outage limit: the execution pauses, and run prints why and what to do,
// in the progress output and in the summary, and exits 5.
func TestProgressShowsPauseForOutage(t *testing.T) {
	c := newAuditEnv(t)
	plan := filepath.Join(t.TempDir(), "short-limit.yaml")
	// One simulated minute; each failed read takes the SDK's backoff, real
	// seconds that are hours in the simulator's time.
	writeFile(t, plan, strings.Replace(fmt.Sprintf(auditPlanYAML, "stop"), "    rto: 45m\n", "    rto: 45m\n    outageLimit: 1m\n", 1))
	failDescribeJobs(t, c, 6)
	out, errOut := exits(t, c, exitPaused, true, "run", "-f", plan, "--drill", "--id", "outage-2", "--allow-concurrent")
	paused := lineWith(out, "execution paused: ")
	if !strings.Contains(paused, "DRS in target dr has failed for") || !strings.Contains(paused, "DescribeJobs") {
		t.Errorf("pause line %q does not say what failed; output:\n%s", paused, out)
	}
	if remedy := lineWith(out, "    remedy: "); !strings.Contains(remedy, "check DRS's health") || !strings.Contains(remedy, "ripcord exec resume outage-2") {
		t.Errorf("remedy line %q; output:\n%s", remedy, out)
	}
	for _, want := range []string{"PAUSED", "  paused: DRS in target dr has failed for", "  remedy: check DRS's health"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "execution outage-2 is paused: DRS in target dr has failed for") {
		t.Errorf("stderr:\n%s", errOut)
	}
	js, _ := exits(t, c, exitPaused, true, "exec", "watch", "outage-2", "--output", "json")
	var sum execSummary
	if err := json.Unmarshal([]byte(js), &sum); err != nil {
		t.Fatalf("exec watch --output json: %v\n%s", err, js)
	}
	if sum.State != "paused" || sum.Verdict != "paused" || !strings.Contains(sum.Reason, "has failed for") || !strings.Contains(sum.Remedy, "check DRS's health") {
		t.Errorf("exec watch --output json of the paused drill: %+v", sum)
	}
	// The fault is used up: resume takes it to the end.
	exits(t, c, 0, true, "exec", "resume", "outage-2")
	if row := listRow(t, c, "outage-2"); row.Verdict != engine.VerdictSucceeded {
		t.Errorf("after resume: verdict %q", row.Verdict)
	}
}

// lineWith is the first line of text that contains s, or "".
func lineWith(text, s string) string {
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			return strings.TrimRight(line, "\n")
		}
	}
	return ""
}
