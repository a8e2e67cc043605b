package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ripcord-dr/ripcord/report"
)

// reportPlanYAML is the three-tier application with one optional web server.
const reportPlanYAML = `targets:
  - name: dr
    account: "111122223333"
    region: us-east-1
protectionGroups:
  - {name: db, target: dr, selector: {Application: orders, Tier: database}}
  - {name: app, target: dr, selector: {Application: orders, Tier: app}}
  - {name: web, target: dr, selector: {Application: orders, Tier: web}}
plans:
  - name: orders
    rto: 45m
    rpo: 5m
    waves:
      - {name: database, groups: [db]}
      - {name: app, groups: [app]}
      - name: web
        groups: [web]
        servers: [{id: s-3b9401c1cd270a7a8, target: dr, optional: true}]
`

const reportWeb2 = "s-3b9401c1cd270a7a8" // optional in reportPlanYAML

// reportDrill runs reportPlanYAML as a drill whose optional web server
// fails to launch, cleaned up at its end, and returns its ID.
func reportDrill(t *testing.T, c *cliEnv) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orders.yaml")
	writeFile(t, path, reportPlanYAML)
	failNextLaunch(t, c, reportWeb2)
	const id = "rep-1"
	exits(t, c, 0, true, "run", "-f", path, "--drill", "--id", id, "--cleanup-after", "1ms")
	return id
}

// TestReportCommand: `ripcord report` of a drill in which the optional
// server failed, from the local store in each format and through a server's
// API (the same report); a bad --format is refused naming the formats.
func TestReportCommand(t *testing.T) {
	c := newAuditEnv(t)
	id := reportDrill(t, c)

	out, _ := exits(t, c, 0, false, "report", id, "--format", "json", "--db", c.db)
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, out)
	}
	if r.Execution != id || r.Plan != "orders" || r.State != "succeeded" || r.Verdict != "succeeded with exceptions" {
		t.Errorf("report header: %s %s %s %q", r.Execution, r.Plan, r.State, r.Verdict)
	}
	if len(r.Failures) != 1 || r.Failures[0].Server != reportWeb2 || r.Failures[0].Remedy != "continue" ||
		!strings.Contains(r.Failures[0].Cause, "insufficient capacity") {
		t.Errorf("failures: %+v; want the optional web server's, continued", r.Failures)
	}
	if r.RTO.MeasuredSeconds == nil || r.RTO.Met == nil || r.RTO.LastCriticalServer == reportWeb2 || len(r.RPO.Unknown) != 0 || r.RPO.WorstSeconds == nil {
		t.Errorf("RTO %+v RPO %+v", r.RTO, r.RPO)
	}
	if r.Cleanup == nil || r.Cleanup.Status != "verified" || len(r.Cleanup.Terminated) != 5 || len(r.Instances) != 5 {
		t.Errorf("cleanup %+v, %d instances; want 5 verified terminated", r.Cleanup, len(r.Instances))
	}

	md, _ := exits(t, c, 0, false, "report", id, "--format", "md", "--db", c.db)
	for _, want := range []string{"# Drill report: plan orders", "| web | " + reportWeb2 + " | yes | FAILED: LAUNCH_FAILED", "## Failures", "continue: optional server"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown report lacks %q:\n%s", want, md)
		}
	}
	file := filepath.Join(t.TempDir(), "r.html")
	exits(t, c, 0, false, "report", id, "--db", c.db, "-o", file)
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), `<svg id="timeline"`) {
		t.Errorf("report -o %s (HTML by default): %v\n%.300s", file, err, b)
	}
	_, errOut := exits(t, c, 2, false, "report", id, "--format", "pdf", "--db", c.db)
	if !strings.Contains(errOut, `unknown report format "pdf"`) || !strings.Contains(errOut, "html, md, json") {
		t.Errorf("report --format pdf: %s", errOut)
	}
	_, errOut = exits(t, c, 2, false, "report", "nosuch", "--db", c.db)
	if !strings.Contains(errOut, `execution "nosuch" not found`) {
		t.Errorf("report of an unknown execution: %s", errOut)
	}

	// Through the server: the same report.
	base, _ := startServe(t, c)
	remote, _ := exits(t, c, 0, false, "report", id, "--format", "json", "--server", base, "--token", c.mintToken("viewer"))
	var rr report.Report
	if err := json.Unmarshal([]byte(remote), &rr); err != nil {
		t.Fatalf("report --server: %v\n%s", err, remote)
	}
	rr.GeneratedAt, r.GeneratedAt = time.Time{}, time.Time{}
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(rr)
	if string(a) != string(b) {
		t.Errorf("the server's report differs from the local one:\nlocal:  %s\nserver: %s", a, b)
	}
}

// TestReportInBrowser: a viewer follows the console's Report link from the
// drill's page; headless Chromium renders the HTML report with its SVG
// timeline (a row per server, the failure marked, the cleanup marked) and
// the plan's name. A screenshot is saved as report.png in the artifacts.
func TestReportInBrowser(t *testing.T) {
	chromium(t) // before any work: skip or fail at once without a browser
	c := newAuditEnv(t)
	id := reportDrill(t, c)
	base, _ := startServe(t, c)
	viewer := c.mintToken("viewer")

	b := newBrowser(t, "report", 1200, 900)
	b.step("sign in",
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), viewer+"\r"),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	b.step("the drill's page, then its Report link",
		chromedp.Navigate(base+"/console/executions/"+id),
		chromedp.WaitVisible(chromedp.ID("exec-report")),
		press("exec-report"),
		chromedp.WaitVisible(chromedp.CSS("svg#timeline")))
	if plan := b.text("the plan's name", `document.getElementById("plan").textContent`); plan != "orders" {
		t.Errorf("the report names plan %q, want orders", plan)
	}
	if n := b.eval("timeline rows", `document.querySelectorAll("svg#timeline g.row").length`); n != 6 {
		t.Errorf("the timeline has %d server rows, want the plan's 6", n)
	}
	if n := b.eval("failure marks", `document.querySelectorAll('svg#timeline g.row[data-server="`+reportWeb2+`"] .mark.fail').length`); n != 1 {
		t.Errorf("the failed optional server's row has %d failure marks, want 1", n)
	}
	if n := b.eval("cleanup marks", `document.querySelectorAll("svg#timeline .mark.cleanup").length`); n != 5 {
		t.Errorf("the timeline marks %d instances cleaned up, want 5", n)
	}
	if n := b.eval("bars drawn", `Array.from(document.querySelectorAll("svg#timeline rect.bar")).filter(r => r.getBBox().width > 0).length`); n < 6 {
		t.Errorf("the timeline draws %d bars, want one per server at least", n)
	}
	b.screenshot("report.png")
}
