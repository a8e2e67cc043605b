package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// The web console in a real headless Chromium, driven with chromedp,
// against a real `ripcord serve` with the in-process simulator. The
// console's own checks (sessions, CSRF, escaping) are in
// web/console_test.go.

// chromium is the browser to drive: CHROME_PATH, else /usr/bin/chromium
// (Debian's package, which .ci/run installs). Without it the test is
// skipped loudly, except in CI (RIPCORD_CI=1), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHROME_PATH")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		msg := "no Chromium at " + p + " (set CHROME_PATH, or apt-get install -y chromium): the browser tests of the web console did NOT run"
		if os.Getenv("RIPCORD_CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}
	return p
}

// artifacts is where the test leaves what a person may want to look at:
// RIPCORD_ARTIFACTS (CI sets it), else a temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RIPCORD_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newCLIEnvAt is newCLIEnv with the simulator at scale times real time: a
// drill lasts some seconds, long enough to be watched.
func newCLIEnvAt(t *testing.T, scale float64) *cliEnv {
	t.Helper()
	sim, err := drssim.New(drssim.Options{TimeScale: scale, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
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
	return &cliEnv{t: t, url: srv.URL, db: filepath.Join(t.TempDir(), "r.db"), sim: sim}
}

// TestConsoleInBrowser: an operator signs in, watches a three-tier drill
// live until its six servers are launched (without reloading the page),
// pauses and resumes it with the page's buttons; on a recovery's page the
// operator sees no controls, and a forged POST of one is refused and
// changes nothing. A screenshot of the drill's page is saved.
func TestConsoleInBrowser(t *testing.T) {
	chromium(t) // before any work: skip or fail at once without a browser
	c := newCLIEnvAt(t, 300)
	mint := func(role string) string {
		out, errOut, code := c.ripcord("token", "create", "--db", c.db, "--role", role, "--name", role+"-person")
		if code != 0 {
			t.Fatalf("token create: %s", errOut)
		}
		return strings.TrimSpace(out)
	}
	admin, operator, recovery := mint("admin"), mint("operator"), mint("recovery")
	base, _ := startServe(t, c)
	ctx := boundedContext(t)
	ac, _ := client.New(base, admin)
	oc, _ := client.New(base, operator)
	rc, _ := client.New(base, recovery)
	yaml, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.SavePlans(ctx, "three-tier.yaml", yaml); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, "console", 1280, 1400)
	step, eval, text := b.step, b.eval, func(what, id string) string {
		t.Helper()
		return b.text(what, `document.getElementById(`+strconv.Quote(id)+`).textContent`)
	}
	// press clicks a button in one evaluation (a query then a mouse click
	// could meet a node the live update just replaced).
	const launchedJS = `document.querySelectorAll('tr.srv[data-status="LAUNCHED"]').length`

	// Sign in as the operator.
	step("sign in",
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), operator),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	if who := text("who", "whoami"); !strings.Contains(who, "operator-person (tok_") || !strings.Contains(who, "operator") {
		t.Fatalf("signed in as %q", who)
	}

	// A three-tier drill, started through the API; its page, paused and
	// resumed with the page's buttons.
	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	step("open the drill's page and pause it",
		chromedp.Navigate(base+"/console/executions/"+x.ID),
		chromedp.WaitVisible(chromedp.ID("exec-state")),
		press("ctl-pause"),
		chromedp.WaitVisible(chromedp.CSS(`#exec-state[data-state="paused"]`)),
		chromedp.WaitVisible(chromedp.ID("ctl-resume")))
	step("resume it",
		press("ctl-resume"),
		chromedp.WaitVisible(chromedp.CSS(`#exec-state[data-state="running"]`)),
		chromedp.WaitVisible(chromedp.ID("ctl-pause")))

	// Watch it without reloading: a mark set on the page now must still be
	// there when the six servers show as launched.
	eval("mark the page", `window.ripcordMark = 1; 1`)
	before := eval("count launched servers", launchedJS)
	step("watch the six servers launch", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](launchedJS+` === 6`, chromedp.WithPollingInterval(100*time.Millisecond))(ctx, tg)
		return err
	}))
	if eval("check the mark", `window.ripcordMark || 0`) != 1 {
		t.Fatal("the page was reloaded while watching the drill")
	}
	t.Logf("servers launched when watching began: %d; then all six, live", before)
	if before == 6 {
		t.Errorf("all six servers were launched before watching began: the live updates were not exercised (slow the simulator down)")
	}
	if n := eval("count green bars", `document.querySelectorAll('#gantt rect.bar.ok').length`); n < 6 {
		t.Errorf("the timeline shows %d green bars; want one for each of the six servers at least", n)
	}
	actions := text("who did what", "actions")
	for _, want := range []string{"paused", "resumed"} {
		if !strings.Contains(actions, want) || !strings.Contains(actions, "operator-person (tok_") {
			t.Errorf("who did what lacks the operator's %s:\n%s", want, actions)
		}
	}
	b.screenshot("console-execution.png")

	// Wait for the drill to end, so that the recovery does not wait for
	// its jobs.
	waitFinished(t, oc, x.ID)

	// A recovery: the operator watches it, without controls.
	rx, err := rc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeRecovery, Confirm: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	step("open the recovery's page", chromedp.Navigate(base+"/console/executions/"+rx.ID), chromedp.WaitVisible(chromedp.ID("controls-refused")))
	refused := text("the refusal", "controls-refused")
	forms := eval("count controls", `document.querySelectorAll('form.control, #ctl-pause, #ctl-resume, #ctl-cancel, #ctl-cleanup').length`)
	if forms != 0 || !strings.Contains(refused, "needs role recovery") {
		t.Errorf("an operator sees %d recovery controls (%q); want none", forms, refused)
	}
	// Forged POSTs from the page: with the session's CSRF token (from the
	// sign-out form) and without it.
	forge := `(async () => {
		const csrf = document.querySelector('input[name="csrf"]').value;
		const post = (action, body) => fetch(location.pathname + '/' + action, {method: 'POST', redirect: 'manual',
			headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: body}).then(r => r.status);
		return [await post('cancel', 'csrf=' + encodeURIComponent(csrf)), await post('pause', 'csrf=' + encodeURIComponent(csrf)),
			await post('cancel', '')];
	})()`
	statuses := browserRun(b, "forge controls of the recovery", chromedp.Evaluate[[]int](forge, chromedp.EvalAwaitPromise))
	if len(statuses) != 3 || statuses[0] != 403 || statuses[1] != 403 || statuses[2] != 403 {
		t.Errorf("forged POSTs answered %v; want 403 each", statuses)
	}
	evs, err := rc.Events(ctx, rx.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Events {
		if ev.Type == engine.EvCancelRequested || ev.Type == engine.EvExecutionPaused {
			t.Errorf("a forged POST was carried out: %s by %s", ev.Type, ev.Actor)
		}
	}
}
