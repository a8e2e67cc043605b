package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
)

// TestExitCodeTable checks exitCode against the table of the package
// documentation and README.md.
func TestExitCodeTable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"invalid input", ripcord.Errorf(ripcord.EINVALID, "bad flag"), 2},
		{"not found, wrapped", fmt.Errorf("load: %w", ripcord.Errorf(ripcord.ENOTFOUND, "no execution x")), 2},
		{"refused before anything started", &exitError{code: exitInvalid, msg: "driven by another process"}, 2},
		{"failed", &exitError{code: exitFailed, msg: "failed"}, 3},
		{"cancelled", &exitError{code: exitCancelled, msg: "cancelled"}, 4},
		{"paused", &exitError{code: exitPaused, msg: "paused", hint: "resume it"}, 5},
		{"not ready", &exitError{code: exitNotReady, msg: "plan x is not ready"}, 6},
		{"stopped by a signal", &exitError{code: exitInterrupted, msg: "stopped"}, 130},
		{"a command's context ended by a signal", fmt.Errorf("watch: %w", context.Canceled), 130},
		{"conflict", ripcord.Errorf(ripcord.ECONFLICT, "conflict"), 1},
		{"unavailable", ripcord.Errorf(ripcord.EUNAVAILABLE, "DRS is down"), 1},
		{"any other error", errors.New("disk full"), 1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestExitCodesOfInvalidInput runs commands with input that names nothing
// or the wrong thing: each exits 2 before anything starts, and says what
// is wrong.
func TestExitCodesOfInvalidInput(t *testing.T) {
	c := newAuditEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	const example = "../../examples/three-tier.yaml"
	tests := []struct {
		args     []string
		withConn bool
		want     string
	}{
		{[]string{"run", "-f", example, "--drill", "nosuchplan"}, true, `no plan named "nosuchplan"`},
		{[]string{"run", "-f", dir, "--drill"}, true, dir + " is a directory; give a plan file"},
		{[]string{"run", "-f", missing, "--drill"}, true, "cannot read the plan file"},
		{[]string{"validate", "-f", dir}, false, dir + " is a directory; give a plan file"},
		{[]string{"validate", "-f", missing}, false, "cannot read the plan file"},
		{[]string{"servers", "-f", dir}, true, dir + " is a directory; give a plan file"},
		{[]string{"exec", "show", "no-such-exec"}, true, `execution "no-such-exec" not found`},
		{[]string{"exec", "show", "no-such-exec", "--output", "json"}, true, `execution "no-such-exec" not found`},
		{[]string{"exec", "watch", "no-such-exec"}, true, `execution "no-such-exec" not found`},
		{[]string{"exec", "resume", "no-such-exec"}, true, `execution "no-such-exec" not found`},
		{[]string{"exec", "pause", "no-such-exec"}, true, `execution "no-such-exec" not found`},
		{[]string{"exec", "cancel", "no-such-exec"}, true, `execution "no-such-exec" not found`},
		{[]string{"exec", "retry", "no-such-exec", "database"}, true, `execution "no-such-exec" not found`},
		{[]string{"exec", "skip", "no-such-exec", "database"}, true, `execution "no-such-exec" not found`},
		{[]string{"cleanup", "no-such-exec"}, true, `execution "no-such-exec" not found`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut := exits(t, c, 2, tt.withConn, tt.args...)
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
			if !strings.Contains(errOut, "hint: ") {
				t.Errorf("stderr gives no hint:\n%s", errOut)
			}
		})
	}
	out, _ := exits(t, c, 0, true, "exec", "list", "--output", "json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("invalid input left executions behind: %s", out)
	}
	if n := simRequests(c); n != 0 {
		t.Errorf("invalid input made %d DRS requests (%v), want none", n, c.sim.OperationCounts())
	}
}

// TestExitCodesOfOutcomes drives real executions to each outcome and
// checks that run, exec resume and exec watch exit alike: 3 failed, 5
// paused, 4 cancelled; and that commands naming an unknown step, or
// refused by the execution's state, exit 2.
func TestExitCodesOfOutcomes(t *testing.T) {
	c := newAuditEnv(t)

	// Failed: a critical server fails under the stop policy.
	failNextLaunch(t, c, auditDB1)
	_, errOut := exits(t, c, exitFailed, true, "run", "-f", auditPlan(t, "stop"), "--drill", "--id", "failed-1")
	if !strings.Contains(errOut, "execution failed-1 failed") {
		t.Errorf("run of a failed drill: stderr lacks the failure:\n%s", errOut)
	}
	out, errOut := exits(t, c, exitFailed, true, "exec", "watch", "failed-1", "--every", "1ms")
	if !strings.Contains(out, "FAILED") || !strings.Contains(errOut, "execution failed-1 failed") {
		t.Errorf("exec watch of a failed execution:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	for _, cmd := range []string{"retry", "skip"} {
		_, errOut := exits(t, c, 2, true, "exec", cmd, "failed-1", "nosuchstep")
		if !strings.Contains(errOut, `execution failed-1 has no step "nosuchstep"`) || !strings.Contains(errOut, "its steps are: [database app]") {
			t.Errorf("exec %s of an unknown step: stderr:\n%s", cmd, errOut)
		}
	}
	_, errOut = exits(t, c, 2, true, "exec", "pause", "failed-1")
	if !strings.Contains(errOut, "has ended (failed) and cannot be paused") || !strings.Contains(errOut, "hint: retry a failed step with: ripcord exec retry failed-1 STEP") {
		t.Errorf("exec pause of a failed execution: stderr:\n%s", errOut)
	}

	// Paused: the same failure under the pause policy.
	failNextLaunch(t, c, auditDB1)
	exits(t, c, exitPaused, true, "run", "-f", auditPlan(t, "pause"), "--drill", "--id", "paused-1")
	out, errOut = exits(t, c, exitPaused, true, "exec", "watch", "paused-1", "--every", "1ms")
	for _, want := range []string{"PAUSED", "paused: step database failed", "remedy: "} {
		if !strings.Contains(out, want) {
			t.Errorf("exec watch of a paused execution: stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "execution paused-1 is paused: step database failed") || !strings.Contains(errOut, "hint: ") {
		t.Errorf("exec watch of a paused execution: stderr:\n%s", errOut)
	}

	// Cancelled: a person cancels the paused drill; resume carries the
	// cancel out (the drill's instances are cleaned up) and exits 4, and
	// so does watch.
	exits(t, c, 0, true, "exec", "cancel", "paused-1")
	exits(t, c, exitCancelled, true, "exec", "resume", "paused-1")
	out, _ = exits(t, c, exitCancelled, true, "exec", "watch", "paused-1", "--every", "1ms")
	if !strings.Contains(out, "CANCELLED") {
		t.Errorf("exec watch of a cancelled execution:\n%s", out)
	}
	_, errOut = exits(t, c, 2, true, "exec", "skip", "paused-1", "app")
	if !strings.Contains(errOut, "has ended (cancelled)") {
		t.Errorf("exec skip in a cancelled execution: stderr:\n%s", errOut)
	}
}
