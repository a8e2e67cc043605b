package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// Bounds of the browser tests: every wait ends, so a wedged Chromium or
// an execution that never ends fails its test with what it waited for,
// instead of hanging the package until go test's own timeout.
const (
	browserStartLimit = 2 * time.Minute
	browserStepLimit  = time.Minute
	followLimit       = 3 * time.Minute
)

// browser is one test's headless Chromium; every action on it is bounded.
type browser struct {
	t    *testing.T
	ctx  context.Context
	name string // prefix of its failure screenshot
}

// newBrowser starts Chromium with a window of w×h pixels. The first action
// starts the browser, and a deadline on that action's context would stop
// the browser with it; so the start is watched from outside instead.
func newBrowser(t *testing.T, name string, w, h int) *browser {
	t.Helper()
	chrome := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(w, h))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx, chromedp.Navigate("about:blank")) }()
	watchdog := time.NewTimer(browserStartLimit)
	defer watchdog.Stop()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting Chromium %s: %v", chrome, err)
		}
	case <-watchdog.C:
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("Chromium %s did not start within %v", chrome, browserStartLimit)
	}
	return &browser{t: t, ctx: bctx, name: name}
}

// fail ends the test with a screenshot and the page's HTML.
func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepLimit)
	defer cancel()
	shot, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	path := filepath.Join(artifacts(b.t), b.name+"-failure.png")
	_ = os.WriteFile(path, shot, 0o644)
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	b.t.Fatalf("%s: %v (screenshot %s)\n%s", what, err, path, html)
}

// step runs actions within browserStepLimit, or fails the test.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepLimit)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(what, err)
	}
}

// browserRun runs one action that returns a value, within
// browserStepLimit, or fails the test.
func browserRun[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepLimit)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

// eval evaluates js to an integer.
func (b *browser) eval(what, js string) int {
	b.t.Helper()
	return browserRun(b, what, chromedp.Evaluate[int](js))
}

// text evaluates js to a string (in one evaluation: the page's script may
// swap a node out between a query and a read).
func (b *browser) text(what, js string) string {
	b.t.Helper()
	return browserRun(b, what, chromedp.Evaluate[string](js))
}

// screenshot saves the whole page to file in the artifacts directory.
func (b *browser) screenshot(file string) {
	b.t.Helper()
	shot := browserRun(b, "screenshot", chromedp.FullScreenshot(100))
	path := filepath.Join(artifacts(b.t), file)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// waitFinished follows execution id through the API until it finishes,
// within followLimit, and returns how it finished. On a timeout the
// failure names the last event seen.
func waitFinished(t *testing.T, cl *client.Client, id string) engine.ExecutionFinished {
	t.Helper()
	return finishedAfter(t, cl, id, 0)
}

// finishedAfter is waitFinished from the event after seq: the execution's
// next end (after a retry, say).
func finishedAfter(t *testing.T, cl *client.Client, id string, after int64) engine.ExecutionFinished {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), followLimit)
	defer cancel()
	errEnd := errors.New("ended")
	var finished engine.ExecutionFinished
	last := "none"
	err := cl.Follow(ctx, id, after, func(ev ripcord.Event) error {
		last = fmt.Sprintf("#%d %s", ev.Seq, ev.Type)
		if ev.Type != engine.EvExecutionFinished {
			return nil
		}
		if err := json.Unmarshal(ev.Data, &finished); err != nil {
			return err
		}
		return errEnd
	})
	if !errors.Is(err, errEnd) {
		t.Fatalf("following execution %s after #%d to its end: %v (last event seen: %s)", id, after, err, last)
	}
	return finished
}

// testLimit bounds a whole test that waits on executions through the API:
// a wait that never ends fails the test with its own message.
const testLimit = 10 * time.Minute

// boundedContext is the test's context with a deadline of testLimit.
func boundedContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	t.Cleanup(cancel)
	return ctx
}

// press clicks the element with the given id in one step inside the page.
// The console swaps an execution's live fragment when an event arrives (and
// once when its stream opens), so a node found by one CDP call may be gone
// by the next: a Click after a WaitVisible can fail with "Could not find
// node with given id". Finding and clicking in one evaluation cannot.
func press(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](`(b => !!b && (b.click(), true))(document.getElementById(`+strconv.Quote(id)+`))`)(ctx, t)
		if err == nil && !ok {
			err = errors.New("no element #" + id)
		}
		return err
	})
}

// liveSettled waits until an execution's page has swapped in its live
// fragment once (console.js says "Live: updated" or "Live: up to date"):
// from then on the fragment changes only when an event arrives, so typing
// into it is not cut short by the swap that follows the stream's opening.
func liveSettled() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`(document.getElementById("live-status") || {textContent: ""}).textContent.startsWith("Live: up")`,
			chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		return err
	})
}
