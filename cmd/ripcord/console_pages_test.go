package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// TestConsolePagesInBrowser: in a real headless Chromium against a real
// `ripcord serve` with the in-process simulator, a viewer signs in and
// reaches the servers and protection groups pages with the keyboard alone
// (Tab to the navigation's link, Enter): the three-tier example's six
// servers show as ready, its three groups resolve to two servers each, and
// on a phone-sized screen the servers page does not overflow sideways.
// After a drill, its page shows the log lines of its three DRS jobs. A
// screenshot of the servers page is saved.
func TestConsolePagesInBrowser(t *testing.T) {
	chromium(t) // before any work: skip or fail at once without a browser
	c := newCLIEnv(t)
	base, _ := startServe(t, c)
	ctx := boundedContext(t)
	vc := servedPlan(t, c, base, "viewer")
	out, errOut, code := c.ripcord("token", "create", "--db", c.db, "--role", "operator", "--name", "operator-person")
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	oc, _ := client.New(base, strings.TrimSpace(out))
	out, errOut, code = c.ripcord("token", "create", "--db", c.db, "--role", "viewer", "--name", "watcher")
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	viewer := strings.TrimSpace(out)

	// A drill, run to its end before the browser looks at it.
	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	waitFinished(t, oc, x.ID)
	if d, err := vc.Execution(ctx, x.ID); err != nil || d.Execution.State != ripcord.ExecSucceeded {
		t.Fatalf("the drill: %+v, %v; want succeeded", d.Execution, err)
	}

	b := newBrowser(t, "console-pages", 1280, 1000)
	step, eval, text := b.step, b.eval, b.text
	// tabTo presses Tab until the element with ID id has the focus, then
	// Enter: the way a person without a mouse follows a link.
	tabTo := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for range 40 {
				if _, err := chromedp.KeyEvent("\t")(ctx, tg); err != nil {
					return err
				}
				at, err := chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`)(ctx, tg)
				if err != nil {
					return err
				}
				if at == id {
					_, err := chromedp.KeyEvent("\r")(ctx, tg)
					return err
				}
			}
			return errors.New("40 presses of Tab never reached #" + id)
		})
	}

	// Sign in with the keyboard: the token typed, then Enter.
	step("sign in",
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), viewer+"\r"),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	if who := text("who", `document.getElementById("whoami").textContent`); !strings.Contains(who, "watcher (tok_") || !strings.Contains(who, "viewer") {
		t.Fatalf("signed in as %q", who)
	}
	if n := eval("the overview's targets", `document.querySelectorAll('#targets tr.target[data-ready="6"][data-notready="0"]').length`); n != 1 {
		t.Errorf("the overview shows %d targets with six servers ready; want target dr", n)
	}

	// The servers page, by keyboard.
	step("Tab to Servers, Enter", tabTo("nav-servers"), chromedp.WaitVisible(chromedp.ID("servers")))
	if n := eval("count ready servers", `document.querySelectorAll('#servers tr.srv[data-ready="true"]').length`); n != 6 {
		t.Errorf("the servers page shows %d ready servers; want the example's six", n)
	}
	if n := eval("count servers", `document.querySelectorAll('#servers tr.srv').length`); n != 6 {
		t.Errorf("the servers page lists %d servers; want six", n)
	}
	if s := text("the count", `document.getElementById("servers-count").textContent`); !strings.Contains(s, "6 of 6 ready") {
		t.Errorf("the servers page says %q", s)
	}
	b.screenshot("console-servers.png")

	// On a phone: the page fits the screen's width (wide tables scroll
	// inside their box).
	step("phone-sized screen", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/console/servers"), chromedp.WaitVisible(chromedp.ID("servers")))
	if n := eval("overflow", `document.documentElement.scrollWidth - window.innerWidth`); n > 0 {
		t.Errorf("on a 390px screen the servers page is %dpx wider than the screen", n)
	}
	b.screenshot("console-servers-phone.png")
	step("back to a laptop's screen", chromedp.EmulateViewport(1280, 1000))

	// The groups page, by keyboard.
	step("Tab to Groups, Enter", tabTo("nav-groups"), chromedp.WaitVisible(chromedp.ID("groups")))
	if n := eval("count groups", `document.querySelectorAll('#groups tr.group[data-resolved="2"]').length`); n != 3 {
		t.Errorf("the groups page shows %d groups resolving to two servers; want three", n)
	}

	// The drill's page: its DRS jobs' log lines.
	step("open the drill's page", chromedp.Navigate(base+"/console/executions/"+x.ID), chromedp.WaitVisible(chromedp.ID("joblog")))
	jobs := eval("count jobs", `document.querySelectorAll('#joblog article.job').length`)
	if jobs != 3 {
		t.Errorf("the drill's page shows %d DRS jobs; want one per tier", jobs)
	}
	for _, ev := range []string{"JOB_START", "LAUNCH_START", "JOB_END"} {
		n := eval("count "+ev, `[...document.querySelectorAll('#joblog tr.logline .evtype')].filter(e => e.textContent === `+strconv.Quote(ev)+`).length`)
		want := 3
		if ev == "LAUNCH_START" {
			want = 6
		}
		if n != want {
			t.Errorf("the job log shows %d %s lines; want %d", n, ev, want)
		}
	}
}
