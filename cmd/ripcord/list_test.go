package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// TestExecListSucceededWithExceptions pauses a drill on a failed critical
// server, has a person skip the failed step and resume: the drill ends
// succeeded, and exec list, the end summary and exec show say "succeeded
// with exceptions", why, and how many servers launched. Then the drill's
// cleanup is scheduled, requested and carried out, and exec list follows it.
func TestExecListSucceededWithExceptions(t *testing.T) {
	c := newAuditEnv(t)
	failNextLaunch(t, c, auditDB1)
	const id = "skipped-1"
	exits(t, c, exitPaused, true, "run", "-f", auditPlan(t, "pause"), "--drill", "--id", id)
	exits(t, c, 0, true, "exec", "skip", id, "database")
	out, _ := exits(t, c, 0, true, "exec", "resume", id)
	skipped := "step database skipped by " + actor() + " while it was failed"
	for _, want := range []string{
		"Execution " + id + ": plan audit (drill), SUCCEEDED WITH EXCEPTIONS",
		"3 of 4 servers launched, 1 failed",
		"exceptions (why it did not plainly succeed):\n    - " + skipped,
		"  database  skipped by " + actor() + " after failed  +",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exec resume's summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "database  succeeded") {
		t.Errorf("the skipped step reads as succeeded:\n%s", out)
	}

	row := listRow(t, c, id)
	if row.State != "succeeded" || row.Verdict != engine.VerdictExceptions || len(row.Exceptions) != 1 || row.Exceptions[0] != skipped {
		t.Errorf("exec list row: state %q, verdict %q, exceptions %q; want succeeded, %q, [%q]", row.State, row.Verdict, row.Exceptions,
			engine.VerdictExceptions, skipped)
	}
	if row.Servers == nil || *row.Servers != 4 || *row.Launched != 3 || *row.Failed != 1 || row.Cleanup != "" {
		t.Errorf("exec list row: servers %v launched %v failed %v cleanup %q; want 4, 3, 1 and none", row.Servers, row.Launched, row.Failed, row.Cleanup)
	}
	text, _ := exits(t, c, 0, true, "exec", "list")
	if line := listLine(t, text, id); !strings.Contains(line, " succeeded with exceptions ") || !strings.Contains(line, " 3/4 ") {
		t.Errorf("exec list line %q lacks the verdict or 3/4 launched", line)
	}
	show, _ := exits(t, c, 0, true, "exec", "show", id)
	if !strings.Contains(show, "step database (launch): skipped by "+actor()+" after failed") ||
		!strings.Contains(show, "step database skipped by "+actor()+"; the steps after it go on") {
		t.Errorf("exec show does not say who skipped the failed step:\n%s", show)
	}

	// A cleanup scheduled two hours after the end, then requested, then
	// done: the listing row's digest follows each (the engine writes it
	// with every event).
	store, err := sqlite.Open(t.Context(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := engine.New(engine.Config{Store: store})
	if err := eng.ScheduleCleanup(t.Context(), id, "auditor", 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	row = listRow(t, c, id)
	if row.Cleanup != "scheduled" || !row.CleanupDue.Equal(row.Ended.Add(2*time.Hour)) {
		t.Errorf("after scheduling: cleanup %q due %s; want scheduled, due %s", row.Cleanup, row.CleanupDue, row.Ended.Add(2*time.Hour))
	}
	text, _ = exits(t, c, 0, true, "exec", "list")
	if line, due := listLine(t, text, id), "due "+row.Ended.Add(2*time.Hour).UTC().Format("15:04Z"); !strings.Contains(line, due) &&
		!strings.Contains(line, "due "+row.Ended.Add(2*time.Hour).UTC().Format("2006-01-02 15:04Z")) {
		t.Errorf("exec list line %q lacks %q", line, due)
	}
	if err := eng.Cleanup(t.Context(), id, "auditor"); err != nil {
		t.Fatal(err)
	}
	if row = listRow(t, c, id); row.Cleanup != "requested" {
		t.Errorf("after the request: cleanup %q, want requested", row.Cleanup)
	}
	if line := listLine(t, mustList(t, c), id); !strings.HasSuffix(line, " requested") {
		t.Errorf("exec list line %q does not end with the requested cleanup", line)
	}
	out, _ = exits(t, c, 0, true, "cleanup", id)
	if !strings.Contains(out, "cleanup: 3 drill instances terminated and verified gone") {
		t.Errorf("cleanup's summary:\n%s", out)
	}
	if row = listRow(t, c, id); row.Cleanup != "done" || row.Verdict != engine.VerdictExceptions {
		t.Errorf("after the cleanup: cleanup %q verdict %q, want done and %q", row.Cleanup, row.Verdict, engine.VerdictExceptions)
	}
}

// listRow runs exec list --output json and returns the row of id.
func listRow(t *testing.T, c *cliEnv, id string) execRow {
	t.Helper()
	out, _ := exits(t, c, 0, true, "exec", "list", "--output", "json")
	var rows []execRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("exec list --output json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("exec list has no execution %s:\n%s", id, out)
	return execRow{}
}

func mustList(t *testing.T, c *cliEnv) string {
	t.Helper()
	out, _ := exits(t, c, 0, true, "exec", "list")
	return out
}

// listLine is the line of exec list's text that starts with id.
func listLine(t *testing.T, text, id string) string {
	t.Helper()
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, id+" ") {
			return strings.TrimRight(line, "\n")
		}
	}
	t.Fatalf("exec list has no line for %s:\n%s", id, text)
	return ""
}
