package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestApprovalInBrowser: in a real headless Chromium against a real
// `ripcord serve` with the simulator, a drill waits at its approval step.
// The approver opens the execution's page, is sent to sign in and back to
// the page, sees the step's message and who may decide, types a comment
// and presses Approve; the page shows the step approved and the drill
// finishes, with the approver and the comment in its log. A screenshot of
// the waiting step is saved as approval.png.
func TestApprovalInBrowser(t *testing.T) {
	chromium(t) // before any work: skip or fail at once without a browser
	c := newCLIEnv(t)
	admin, operator, recovery := c.mintToken("admin"), c.mintToken("operator"), c.mintToken("recovery")
	base, _ := startServe(t, c)
	ctx := boundedContext(t)
	ac, _ := client.New(base, admin)
	oc, _ := client.New(base, operator)
	if _, err := ac.SavePlans(ctx, "orders.yaml", approvalPlan(t)); err != nil {
		t.Fatal(err)
	}
	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	found := errors.New("found")
	if err := oc.Follow(ctx, x.ID, 0, func(ev ripcord.Event) error {
		if ev.Type == engine.EvApprovalRequested {
			return found
		}
		return nil
	}); !errors.Is(err, found) {
		t.Fatalf("waiting for the approval request: %v", err)
	}

	b := newBrowser(t, "approval", 1280, 1000)
	page := base + "/console/executions/" + x.ID
	b.step("open the execution's page, sign in",
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), recovery+"\r"),
		chromedp.WaitVisible(chromedp.ID("ctl-approve-go-ahead")),
		liveSettled())
	if u := b.text("the URL", `location.href`); u != page {
		t.Errorf("after signing in the browser is at %s; want back at %s", u, page)
	}
	if s := b.text("the message", `document.querySelector('#approval-go-ahead .approval-message').textContent`); s != "The app tier is up; check it, then approve the web tier." {
		t.Errorf("the waiting step shows the message %q", s)
	}
	if s := b.text("approvers", `document.querySelector('#approval-go-ahead .approvers').textContent`); s != `role recovery (or above), token "alice"` {
		t.Errorf("the waiting step shows approvers %q", s)
	}
	b.step("type a comment",
		chromedp.SendKeys(chromedp.ID("comment-go-ahead"), "app tier checked in the browser"))
	b.screenshot("approval.png")
	b.step("approve", press("ctl-approve-go-ahead"),
		chromedp.WaitVisible(chromedp.ID("flash")))
	if s := b.text("flash", `document.getElementById("flash").textContent`); !strings.Contains(s, "approve of step go-ahead recorded by recovery-person (tok_") {
		t.Errorf("after Approve the page says %q", s)
	}
	if f := waitFinished(t, oc, x.ID); f.State != ripcord.ExecSucceeded {
		t.Fatalf("the approved drill ended %s (%s); want succeeded", f.State, f.Reason)
	}
	b.step("the page shows the end", chromedp.WaitVisible(chromedp.CSS(`#exec-state[data-state="succeeded"]`)))
	if s := b.text("the step's reason", `document.querySelector('#step-go-ahead .reason').textContent`); !strings.Contains(s, "approved by recovery-person (tok_") ||
		!strings.Contains(s, "app tier checked in the browser") {
		t.Errorf("the approval step says %q; want approved by the recovery token with the comment", s)
	}
	if s := b.text("who did what", `document.getElementById("actions").textContent`); !strings.Contains(s, "step go-ahead approved (console): app tier checked in the browser") {
		t.Errorf("who did what says %q; want the approval with its comment", s)
	}
	evs, err := oc.Events(ctx, x.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	granted := 0
	for _, ev := range evs.Events {
		if ev.Type == engine.EvApprovalGranted {
			var d engine.ApprovalDecision
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			granted++
			if !strings.HasPrefix(ev.Actor, "recovery-person (tok_") || d.Comment != "app tier checked in the browser" || d.Via != "console" {
				t.Errorf("ApprovalGranted by %q: %+v; want the recovery token from the console with the comment", ev.Actor, d)
			}
		}
	}
	if granted != 1 {
		t.Errorf("%d ApprovalGranted events; want 1", granted)
	}
}
