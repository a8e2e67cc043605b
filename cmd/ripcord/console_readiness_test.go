package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
)

// TestConsoleReadinessInBrowser: in a real headless Chromium against a
// real `ripcord serve` checking readiness, with the simulator's three-tier
// scenario (its TERMINATE job holds the six servers at the start, for four
// minutes: the simulator runs in real time here, so it still holds them
// when the check runs) and the replication of orders-web-2 stalled by a
// fault: after serve's checker has checked the plan, the plan's page shows
// the panel (not ready, checked when), the blocking finding first and a
// held-by-job warning for every server, and the stale badge (never
// drilled); the overview's plan list says not ready and stale. On a
// 390-pixel phone screen the plan's page does not overflow sideways.
// Screenshots (readiness.png, readiness-phone.png) go to
// $RIPCORD_ARTIFACTS.
func TestConsoleReadinessInBrowser(t *testing.T) {
	chromium(t) // before any work: skip or fail at once without a browser
	c := newCLIEnvAt(t, 1)
	const web2 = "s-3b9401c1cd270a7a8" // orders-web-2
	if _, err := c.sim.AddFault(drssim.Fault{Kind: drssim.FaultStallReplication, Servers: []string{web2}}); err != nil {
		t.Fatal(err)
	}
	// serve's checker tells the test of each check of plan orders; the
	// test waits for one that sees the held servers and the stall.
	checked := make(chan []ripcord.Finding, 1)
	base, _ := startServe(t, c, func(cfg *serveConfig) {
		cfg.CheckInterval = 200 * time.Millisecond
		cfg.OnReadiness = func(plan string, fs []ripcord.Finding) {
			if plan != "orders" {
				return
			}
			select {
			case checked <- fs:
			default:
			}
		}
	})
	ctx := boundedContext(t)
	servedPlan(t, c, base, "viewer")
	out, errOut, code := c.ripcord("token", "create", "--db", c.db, "--role", "viewer", "--name", "watcher")
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	viewer := strings.TrimSpace(out)

	count := func(fs []ripcord.Finding, check string) int {
		n := 0
		for _, f := range fs {
			if f.Check == check {
				n++
			}
		}
		return n
	}
	var findings []ripcord.Finding
	for findings == nil || count(findings, "held-by-job") != 6 || count(findings, "replication-state") != 1 {
		select {
		case findings = <-checked:
		case <-ctx.Done():
			t.Fatalf("serve's checker never saw six held servers and the stalled one; last findings: %+v", findings)
		}
	}
	blocking := 0
	for _, f := range findings {
		if f.Severity == ripcord.SeverityBlocking {
			blocking++
		}
	}

	b := newBrowser(t, "console-readiness", 1280, 1000)
	step, eval, text := b.step, b.eval, b.text
	step("sign in",
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), viewer+"\r"),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	// The overview's plan list.
	if s := text("the overview's plan", `document.querySelector('.plans li[data-plan="orders"]').textContent`); !strings.Contains(s, "not ready") ||
		!strings.Contains(s, "stale") || !strings.Contains(s, "never drilled") {
		t.Errorf("the overview's plan list says %q; want not ready and stale, never drilled", s)
	}

	step("open the plan's page", chromedp.Navigate(base+"/console/plans/orders"), chromedp.WaitVisible(chromedp.ID("findings")))
	if s := text("the result", `document.getElementById("readiness-result").textContent`); !strings.Contains(s, "Not ready") || !strings.Contains(s, "checked") {
		t.Errorf("the readiness result says %q", s)
	}
	// Later checks may come and go while the page loads, but the servers
	// stay held and the stall stays: the rows are the same.
	sevs := strings.Split(text("severities", `[...document.querySelectorAll('#findings tr.finding')].map(r => r.dataset.severity).join(",")`), ",")
	if len(sevs) != len(findings) {
		t.Errorf("the panel shows %d findings; serve's checker found %d", len(sevs), len(findings))
	}
	if !slices.IsSortedFunc(sevs, func(a, b string) int { return ripcord.Severity(a).Rank() - ripcord.Severity(b).Rank() }) || sevs[0] != "blocking" {
		t.Errorf("findings in the order %v; want blocking first", sevs)
	}
	if n := eval("blocking rows", `document.querySelectorAll('#findings tr.finding[data-severity="blocking"]').length`); n != blocking {
		t.Errorf("the panel shows %d blocking findings; the check found %d", n, blocking)
	}
	held := text("held-by-job rows", `[...document.querySelectorAll('#findings tr.finding[data-check="held-by-job"]')].map(r => r.textContent).join("\n")`)
	if n := strings.Count(held, "drsjob-3f0c2a9b7d1e45a60"); n < 6 {
		t.Errorf("the held-by-job rows name the TERMINATE job %d times; want once for each of the six servers:\n%s", n, held)
	}
	stall := text("the stall's row", `document.querySelector('#findings tr.finding[data-check="replication-state"]').textContent`)
	if !strings.Contains(stall, web2) || !strings.Contains(stall, "orders-web-2") || !strings.Contains(stall, "replication is stalled") {
		t.Errorf("the replication-state row says %q; want orders-web-2 (%s), replication is stalled", stall, web2)
	}
	if s := text("headers", `[...document.querySelectorAll('#findings thead th[scope="col"]')].map(h => h.textContent).join(",")`); s != "Severity,Check,Resource,Message,Remedy" {
		t.Errorf("the findings' column headers are %q", s)
	}
	if s := text("staleness", `document.getElementById("staleness").textContent`); !strings.Contains(s, "stale") || !strings.Contains(s, "never drilled") {
		t.Errorf("the staleness says %q; want stale, never drilled", s)
	}
	b.screenshot("readiness.png")

	step("phone-sized screen", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/console/plans/orders"), chromedp.WaitVisible(chromedp.ID("findings")))
	if n := eval("overflow", `document.documentElement.scrollWidth - window.innerWidth`); n > 0 {
		t.Errorf("on a 390px screen the plan's page is %dpx wider than the screen", n)
	}
	if n := eval("findings' overflow", `(() => { const t = document.getElementById("findings"); return t.scrollWidth - t.parentElement.clientWidth })()`); n > 0 {
		t.Errorf("on a 390px screen the findings are %dpx wider than their box: they should be one card per finding", n)
	}
	b.screenshot("readiness-phone.png")
}
