package main

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/report"
)

// approvalPlan is the example plan with an approval step between the app
// and the web tiers: role recovery (or above) and the token named
// alice may approve.
func approvalPlan(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(src), `      - name: web
`, `      - name: go-ahead
        kind: approval
        message: The app tier is up; check it, then approve the web tier.
        approverRoles: [recovery]
        approvers: [alice]
      - name: web
`, 1)
	if out == string(src) {
		t.Fatal("the example plan has no web wave to put the approval before")
	}
	return []byte(out)
}

// TestApprovalThroughServer: a drill of database, app, an approval step and
// web, on a real server, the simulator and the SQLite store. The drill
// waits at the approval; an operator (not an approver) is refused through
// the CLI with who may approve, and the refusal is in the audit log; the
// recovery token approves with a comment through the CLI; the drill
// finishes, and exec show and the report name the approver and the
// comment. A second drill is rejected through the API: the step fails and
// the drill fails (failurePolicy stop), without launching web.
func TestApprovalThroughServer(t *testing.T) {
	c := newCLIEnv(t)
	admin, operator, recovery := c.mintToken("admin"), c.mintToken("operator"), c.mintToken("recovery")
	base, _ := startServe(t, c)
	ctx := boundedContext(t)
	ac, _ := client.New(base, admin)
	oc, _ := client.New(base, operator)
	rc, _ := client.New(base, recovery)
	if _, err := ac.SavePlans(ctx, "orders.yaml", approvalPlan(t)); err != nil {
		t.Fatal(err)
	}
	srv := func(args ...string) []string { return append(args, "--server", base) }
	waitFor := func(id, typ string) {
		t.Helper()
		found := errors.New("found")
		if err := oc.Follow(ctx, id, 0, func(ev ripcord.Event) error {
			if ev.Type == typ {
				return found
			}
			return nil
		}); !errors.Is(err, found) {
			t.Fatalf("waiting for %s of %s: %v", typ, id, err)
		}
	}

	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(x.ID, engine.EvApprovalRequested)
	d, err := oc.Execution(ctx, x.ID)
	if err != nil || d.Execution.State != ripcord.ExecRunning {
		t.Fatalf("at the approval the drill is %+v, %v; want running", d.Execution, err)
	}

	// The operator may not approve: 403 through the CLI (exit 2), saying who may.
	t.Setenv(envToken, operator)
	_, errOut, code := c.ripcord(srv("exec", "approve", x.ID, "go-ahead", "--comment", "looks fine to me")...)
	if code != exitInvalid || !strings.Contains(errOut, "may not approve step go-ahead") ||
		!strings.Contains(errOut, `role recovery (or above), token "alice"`) {
		t.Fatalf("exec approve by the operator: exit %d\n%s", code, errOut)
	}
	page, err := ac.Audit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, e := range page.Entries {
		if e.Action == "execution.approve.refused" && e.Object == x.ID && strings.HasPrefix(e.Actor, "operator-person (tok_") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("the audit log has no refused approval by the operator: %+v", page.Entries)
	}

	// The recovery token approves with a comment; the drill finishes.
	t.Setenv(envToken, recovery)
	out, errOut, code := c.ripcord(srv("exec", "approve", x.ID, "go-ahead", "--comment", "app checked, go")...)
	if code != 0 || !strings.Contains(out, "approve: recorded for execution "+x.ID) {
		t.Fatalf("exec approve by the recovery token: exit %d\n%s\n%s", code, out, errOut)
	}
	waitFor(x.ID, engine.EvExecutionFinished)
	d, err = oc.Execution(ctx, x.ID)
	if err != nil || d.Execution.State != ripcord.ExecSucceeded {
		t.Fatalf("the approved drill: %+v, %v; want succeeded", d.Execution, err)
	}
	out, errOut, code = c.ripcord(srv("exec", "show", x.ID)...)
	if code != 0 || !strings.Contains(out, "step go-ahead approved by recovery-person (tok_") || !strings.Contains(out, `"app checked, go"`) {
		t.Errorf("exec show: exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := rc.Report(ctx, x.ID, "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Approvals) != 1 || rep.Approvals[0].Decision != "approved" || !strings.HasPrefix(rep.Approvals[0].By, "recovery-person (tok_") ||
		rep.Approvals[0].Comment != "app checked, go" || rep.Approvals[0].At.Before(rep.Approvals[0].RequestedAt) {
		t.Errorf("the report's approvals: %+v", rep.Approvals)
	}
	md, err := rc.Report(ctx, x.ID, "md")
	if err != nil || !strings.Contains(string(md), "## Approvals") || !strings.Contains(string(md), "app checked, go") {
		t.Errorf("the Markdown report has no approvals section: %v\n%s", err, md)
	}
	// A second decision is refused (409; exit 2).
	_, errOut, code = c.ripcord(srv("exec", "reject", x.ID, "go-ahead")...)
	if code != exitInvalid || !strings.Contains(errOut, "step go-ahead was approved already by recovery-person") {
		t.Errorf("exec reject after the end: exit %d\n%s", code, errOut)
	}

	// A second drill, rejected through the API.
	y, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(y.ID, engine.EvApprovalRequested)
	if _, err := rc.Decide(ctx, y.ID, "reject", "go-ahead", "the app answers 500"); err != nil {
		t.Fatal(err)
	}
	waitFor(y.ID, engine.EvExecutionFinished)
	d, err = oc.Execution(ctx, y.ID)
	if err != nil || d.Execution.State != ripcord.ExecFailed {
		t.Fatalf("the rejected drill: %+v, %v; want failed", d.Execution, err)
	}
	evs, err := oc.Events(ctx, y.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Events {
		if ev.Type == engine.EvStepStarted && strings.Contains(string(ev.Data), `"web"`) {
			t.Errorf("web started after the rejection")
		}
		if ev.Type == engine.EvStepFinished && strings.Contains(string(ev.Data), `"go-ahead"`) &&
			(!strings.Contains(string(ev.Data), `"failed"`) || !strings.Contains(string(ev.Data), "the app answers 500")) {
			t.Errorf("go-ahead finished %s; want failed with the comment", ev.Data)
		}
	}
}
