package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/web"
)

// The console's readiness panel, the plan lists' readiness and staleness,
// and an execution's notifications, over HTTP with a cookie jar. The real
// checker (ripcord serve's) is tested in cmd/ripcord, in a browser too
// (console_readiness_test.go there).

// givenReadiness answers what a test gives it (a narrow fake of ripcord
// serve's checker).
type givenReadiness struct {
	rd       client.Readiness
	err      error // of Readiness
	st       ripcord.Staleness
	stErr    error
	interval time.Duration
}

func (g givenReadiness) Readiness(context.Context, string) (client.Readiness, error) {
	return g.rd, g.err
}
func (g givenReadiness) Staleness(context.Context, string) (ripcord.Staleness, error) {
	return g.st, g.stErr
}
func (g givenReadiness) Interval() time.Duration { return g.interval }

var _ web.Readiness = givenReadiness{}

func withReadiness(r web.Readiness) func(*web.Config) {
	return func(c *web.Config) { c.Readiness = r }
}

// readinessPages signs a viewer in on a server with r and returns its
// plan page, overview and plans page for plan orders.
func readinessPages(t *testing.T, r web.Readiness, configure ...func(*env)) (plan, overview, plans string) {
	t.Helper()
	var e *env
	if r == nil {
		e = newEnv(t)
	} else {
		e = newEnv(t, withReadiness(r))
	}
	e.savePlans(orders)
	for _, f := range configure {
		f(e)
	}
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	get := func(path string) string {
		status, _, page := b.do("GET", path, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, status, page)
		}
		return page
	}
	return get("/console/plans/orders"), get("/console"), get("/console/plans")
}

var severityRe = regexp.MustCompile(`class="finding[^"]*" data-severity="([a-z]+)" data-check="([a-z-]+)"`)

// TestConsoleReadinessPanel: a plan's page shows its latest check (when,
// not ready, the counts) and its findings as a table with headers,
// blocking first and otherwise in the checker's order, with everything
// the findings and the staleness say escaped; the stale badge carries its
// reasons, on the plan's page and in the overview's and the plans page's
// lists.
func TestConsoleReadinessPanel(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) // newEnv's clock
	rd := client.Readiness{Plan: "orders", Checked: at.Add(-3 * time.Minute), Ready: false, Findings: []ripcord.Finding{
		{Severity: ripcord.SeverityInfo, Check: "right-sizing", Resource: ripcord.Resource{Target: "dr", ServerID: "s-1"}, Message: "BASIC", Remedy: "none needed"},
		{Severity: ripcord.SeverityWarning, Check: "held-by-job", Resource: ripcord.Resource{Target: "dr", ServerID: "s-2", ServerName: script},
			Message: "held by job drsjob-1 " + script, Remedy: "wait " + script},
		{Severity: ripcord.SeverityBlocking, Check: "replication-state", Resource: ripcord.Resource{Target: "dr", ServerID: "s-3", ServerName: "orders-db-1"},
			Message: "replication is STALLED", Remedy: "fix the agent's network"},
		{Severity: ripcord.SeverityWarning, Check: "snapshot-age", Resource: ripcord.Resource{Target: "dr", ServerID: "s-4"}, Message: "no snapshot", Remedy: "wait"},
	}}
	st := ripcord.Staleness{Stale: true, Reasons: []string{"never drilled successfully", "group " + script + " changed"}, Checked: true}
	plan, overview, plans := readinessPages(t, givenReadiness{rd: rd, st: st, interval: 5 * time.Minute})

	var order []string
	for _, m := range severityRe.FindAllStringSubmatch(plan, -1) {
		order = append(order, m[1]+" "+m[2])
	}
	if want := []string{"blocking replication-state", "warning held-by-job", "warning snapshot-age", "info right-sizing"}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("findings in order %v, want %v", order, want)
	}
	for _, want := range []string{
		`id="readiness-h">Readiness</h2>`,
		`<strong class="verdict verdict-notready">Not ready</strong>`,
		"2026-11-25 08:57:00Z</time> (3m ago)",
		"1 blocking, 2 warnings, 1 info.",
		`<th scope="col">Severity</th><th scope="col">Check</th><th scope="col">Resource</th><th scope="col">Message</th><th scope="col">Remedy</th>`,
		`<td data-label="Resource">dr/s-3 (orders-db-1)</td>`,
		`<td data-label="Remedy">fix the agent&#39;s network</td>`,
		`<span class="sev sev-blocking">blocking</span>`,
		`<span class="badge badge-stale">stale</span>`,
		`<li>never drilled successfully</li>`,
		`<li>group &lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; changed</li>`,
		`held by job drsjob-1 &lt;script&gt;`,
		`(&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;)`, // the server's name in the resource
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan's page lacks %q", want)
		}
	}
	for name, page := range map[string]string{"plan": plan, "overview": overview, "plans": plans} {
		if strings.Contains(page, script) {
			t.Errorf("the %s page shows markup unescaped", name)
		}
	}
	for name, page := range map[string]string{"overview": overview, "plans": plans} {
		for _, want := range []string{`<strong class="verdict verdict-notready">not ready</strong> (1 blocking, 2 warnings; checked 3m ago)`,
			`<span class="badge badge-stale">stale</span>: never drilled successfully; group &lt;script&gt;`} {
			if !strings.Contains(page, want) {
				t.Errorf("the %s page's plan list lacks %q", name, want)
			}
		}
	}
}

// TestConsoleReadinessStates: each state of a plan's readiness says what
// it is in words: fresh with the last good drill's age, ready without
// findings, a check of an older version, not checked yet, checks off (in
// ripcord serve with --check-interval 0, or a server without a checker), a
// check that could not run, a checker that failed; staleness judged from
// the store alone says so.
func TestConsoleReadinessStates(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	notFound := &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "plan orders has not been checked yet"}
	fresh := ripcord.Staleness{LastDrill: "drill-7", LastDrillEnded: at.Add(-50 * time.Hour), Checked: true}
	var latest string
	cases := []struct {
		name     string
		r        web.Readiness
		plan     []string // on the plan's page
		list     string   // in the overview's and the plans page's lists
		notOnAny []string
	}{
		{name: "fresh and ready",
			r: givenReadiness{rd: client.Readiness{Checked: at.Add(-90 * time.Second), Ready: true, Findings: []ripcord.Finding{}}, st: fresh, interval: time.Minute},
			plan: []string{`<span class="verdict verdict-ready">Ready</span>`, "0 blocking, 0 warnings, 0 info.", `id="findings-none"`,
				`<span class="badge badge-fresh">fresh</span>, last good drill <a href="/console/executions/drill-7">drill-7</a> 2d 2h ago`},
			list:     `<span class="verdict verdict-ready">ready</span> (0 blocking, 0 warnings; checked 1m ago)</span> · <span class="badge badge-fresh">fresh</span>, last good drill 2d 2h ago`,
			notOnAny: []string{`id="findings"`, "badge-stale", "judged from the store alone"}},
		{name: "stale since its last good drill",
			r: givenReadiness{rd: client.Readiness{Checked: at, Ready: true}, interval: time.Minute,
				st: ripcord.Staleness{Stale: true, Reasons: []string{"version changed since drill-7"}, LastDrill: "drill-7", LastDrillEnded: at.Add(-50 * time.Hour), Checked: true}},
			plan: []string{`<span class="badge badge-stale">stale</span> No successful drill proves the plan as it is now (the last good drill, <a href="/console/executions/drill-7">drill-7</a>, ended 2d 2h ago):`,
				`<li>version changed since drill-7</li>`},
			list:     `<span class="badge badge-stale">stale</span>: version changed since drill-7`,
			notOnAny: []string{"badge-fresh"}},
		{name: "a check of an older version",
			r:    givenReadiness{rd: client.Readiness{PlanHash: strings.Repeat("ab", 32), Checked: at, Ready: true}, st: fresh, interval: time.Minute},
			plan: []string{`id="readiness-old"`, "<code>abababababab</code>, not the latest"}},
		{name: "not checked yet",
			r:        givenReadiness{err: notFound, st: ripcord.Staleness{Stale: true, Reasons: []string{"never drilled successfully"}}, interval: 5 * time.Minute},
			plan:     []string{"Readiness not checked yet", "every <code>--check-interval</code>", "judged from the store alone", `<li>never drilled successfully</li>`},
			list:     `readiness not checked yet</span> · <span class="badge badge-stale">stale</span>: never drilled successfully`,
			notOnAny: []string{`id="readiness-result"`, "checks are off"}},
		{name: "checks off in serve",
			r:        givenReadiness{err: notFound, st: ripcord.Staleness{Stale: true, Reasons: []string{"never drilled successfully"}}},
			plan:     []string{"Readiness checks are off on this server", "<code>ripcord check -f FILE PLAN</code>", "badge-stale"},
			list:     `readiness checks are off</span> · <span class="badge badge-stale">stale</span>`,
			notOnAny: []string{"not checked yet", `id="readiness-result"`}},
		{name: "no checker",
			plan:     []string{"Readiness checks are off on this server"},
			list:     `readiness checks are off</span>`,
			notOnAny: []string{"badge-stale", "badge-fresh", "not checked yet"}},
		{name: "a check that could not run",
			r:    givenReadiness{rd: client.Readiness{Checked: at, Error: "the plan's latest version does not decode: " + script}, st: fresh, interval: time.Minute},
			plan: []string{`id="readiness-failed" role="alert">No readiness result: the latest check, 2026-11-25 09:00:00Z, could not run: the plan&#39;s latest version does not decode: &lt;script&gt;`},
			list: `<span class="error">no readiness result</span>`},
		{name: "a failing checker",
			r: givenReadiness{err: &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "the store is down"}, stErr: &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "the store is down"},
				interval: time.Minute},
			plan: []string{"No readiness result: the store is down", `id="staleness-failed">Staleness unknown: the store is down`},
			list: `<span class="error">no readiness result</span>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, overview, plans := readinessPages(t, c.r, func(e *env) {
				vs, _ := e.store.ListPlanVersions(e.ctx, "orders")
				latest = vs[0].Hash
			})
			if len(latest) != 64 {
				t.Fatalf("latest version %q", latest)
			}
			for _, want := range c.plan {
				if !strings.Contains(plan, want) {
					t.Errorf("the plan's page lacks %q\n%s", want, section(plan, `id="readiness"`))
				}
			}
			for name, page := range map[string]string{"overview": overview, "plans": plans} {
				if c.list != "" && !strings.Contains(page, c.list) {
					t.Errorf("the %s page's plan list lacks %q\n%s", name, c.list, section(page, `class="plan-readiness"`))
				}
			}
			for name, page := range map[string]string{"plan": plan, "overview": overview, "plans": plans} {
				for _, not := range c.notOnAny {
					if strings.Contains(page, not) {
						t.Errorf("the %s page shows %q", name, not)
					}
				}
				if strings.Contains(page, script) {
					t.Errorf("the %s page shows markup unescaped", name)
				}
			}
		})
	}
}

// TestConsoleReadinessOldVersionPage: an older version's page shows no
// readiness panel (the checks are of the latest version).
func TestConsoleReadinessOldVersionPage(t *testing.T) {
	e := newEnv(t, withReadiness(givenReadiness{rd: client.Readiness{Ready: true}, interval: time.Minute}))
	v1 := e.savePlans(orders).Versions[0].Hash
	e.savePlans(ordersV2)
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	_, _, old := b.do("GET", "/console/plans/orders?version="+v1, nil)
	_, _, cur := b.do("GET", "/console/plans/orders", nil)
	if strings.Contains(old, `id="readiness"`) || !strings.Contains(old, "not the latest") || !strings.Contains(cur, `id="readiness"`) {
		t.Errorf("readiness panel: on the old version %t, on the latest %t", strings.Contains(old, `id="readiness"`), strings.Contains(cur, `id="readiness"`))
	}
}

// TestConsoleNotifications: an execution's page (and its live fragment)
// lists its deliveries as the store records them (kind, destination,
// status, attempts, last error escaped, time of the last attempt), a
// failed one marked in words; an execution without deliveries has no
// Notifications section.
func TestConsoleNotifications(t *testing.T) {
	e := newEnv(t)
	hash := e.savePlans(orders).Versions[0].Hash
	quiet := e.createExecution("exec-quiet", hash, ripcord.ModeDrill, e.clock.Now(), false)
	id := e.createExecution("exec-1", hash, ripcord.ModeDrill, e.clock.Now(), true)
	record := func(d ripcord.Delivery, status ripcord.DeliveryStatus, attempts int, lastErr string) {
		t.Helper()
		claimed, _, err := e.store.ClaimDelivery(e.ctx, d, "replica-a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(7 * time.Second)
		claimed.Status, claimed.Attempts, claimed.LastError = status, attempts, lastErr
		if _, err := e.store.RecordDelivery(e.ctx, claimed, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	hook := "webhook:https://hooks.example.com#00aa11bb22cc"
	record(ripcord.Delivery{ExecutionID: id, Seq: 1, Destination: hook, Kind: ripcord.NotifyStarted}, ripcord.DeliverySent, 1, "")
	record(ripcord.Delivery{ExecutionID: id, Seq: 5, Destination: "sns:arn:aws:sns:us-east-1:111122223333:dr", Kind: ripcord.NotifyFinished},
		ripcord.DeliveryFailed, 5, "403 Forbidden: "+script)

	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	for _, path := range []string{"/console/executions/" + id, "/console/executions/" + id + "/fragment"} {
		status, _, page := b.do("GET", path, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, status)
		}
		rows := regexp.MustCompile(`<tr class="delivery[^"]*" data-kind="([a-zA-Z]+)" data-status="([a-z]+)">`).FindAllStringSubmatch(page, -1)
		if len(rows) != 2 || rows[0][1] != "started" || rows[0][2] != "sent" || rows[1][1] != "finished" || rows[1][2] != "failed" {
			t.Errorf("%s: delivery rows %v", path, rows)
		}
		for _, want := range []string{`<h2 id="notify-h">Notifications</h2>`,
			`<th scope="col">Kind</th><th scope="col">Destination</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Time</th>`,
			`<code>` + hook + `</code>`, `<code>sns:arn:aws:sns:us-east-1:111122223333:dr</code>`,
			`<strong class="bad">failed</strong>`, `<td data-label="Attempts">5</td>`,
			`403 Forbidden: &lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;`,
			`<td data-label="Time">2026-11-25 09:00:07Z</td>`, `<td data-label="Time">2026-11-25 09:00:14Z</td>`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q\n%s", path, want, section(page, `id="notifications"`))
			}
		}
		if strings.Contains(page, script) {
			t.Errorf("%s shows markup unescaped", path)
		}
	}
	_, _, page := b.do("GET", "/console/executions/"+quiet, nil)
	if strings.Contains(page, `id="notifications"`) || !strings.Contains(page, `id="joblog"`) {
		t.Errorf("an execution without deliveries shows a Notifications section (or the page is not the execution's)")
	}
}

// section is page from marker on (at most 3000 bytes), for failure
// messages.
func section(page, marker string) string {
	i := strings.Index(page, marker)
	if i < 0 {
		return "(" + marker + " not on the page)"
	}
	return page[i:min(len(page), i+3000)]
}
