package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
)

// TestCheckExitCodes runs ripcord check against the simulator: a plan
// with warnings only (never drilled; its servers perhaps still held by the
// scenario's TERMINATE job) is ready (exit 0); one whose target declares another account has a
// blocking finding (exit 6, "not ready"). After a drill, plan list shows
// it as the plan's last good drill and the plan as fresh.
func TestCheckExitCodes(t *testing.T) {
	c := newAuditEnv(t)
	path := auditPlan(t, "stop")

	out, _ := exits(t, c, 0, true, "check", "-f", path, "--output", "json")
	var rep struct {
		Ready    bool              `json:"ready"`
		Findings []ripcord.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --output json: %v\n%s", err, out)
	}
	// Warnings only: exit 0. (The plan was never drilled: a warning
	// that does not depend on how far the simulator's clock has run.
	// Which findings each scenario trips is the readiness package's test.)
	stale := 0
	for _, f := range rep.Findings {
		if f.Severity == ripcord.SeverityBlocking {
			t.Errorf("blocking finding on a ready plan: %+v", f)
		}
		if f.Check == "stale" && f.Severity == ripcord.SeverityWarning {
			stale++
		}
	}
	if !rep.Ready || stale != 1 {
		t.Errorf("ready %t, %d stale warnings (want 1: never drilled): %+v", rep.Ready, stale, rep.Findings)
	}

	wrong := filepath.Join(t.TempDir(), "wrong.yaml")
	writeFile(t, wrong, strings.Replace(readFile(t, path), "111122223333", "999999999999", 1))
	out, errOut := exits(t, c, exitNotReady, true, "check", "-f", wrong)
	if !strings.Contains(out, "blocking  account") || !strings.Contains(out, "remedy: ") ||
		!strings.Contains(errOut, "plan audit is not ready: 1 blocking finding(s)") {
		t.Errorf("check of a plan in the wrong account:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}

	out, _ = exits(t, c, 0, true, "plan", "list")
	if strings.Contains(out, "audit") {
		t.Errorf("plan list before a run (check saves no plan version):\n%s", out)
	}
	exits(t, c, 0, true, "run", "-f", path, "--drill", "--id", "drill-1")
	out, _ = exits(t, c, 0, true, "plan", "list")
	if !strings.Contains(out, "drill-1 (") || !strings.HasSuffix(strings.TrimSpace(out), "no") {
		t.Errorf("plan list after a drill:\n%s", out)
	}
	out, _ = exits(t, c, 0, true, "check", "-f", path)
	if !strings.Contains(out, "fresh: last good drill drill-1") {
		t.Errorf("check after a drill:\n%s", out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
