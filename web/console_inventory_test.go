package web_test

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/web"
)

// The console's pages of what DRS holds (servers, groups, the overview's
// targets), an execution's DRS job log with its cache, the API's job log
// endpoint, and the diff page; all with the fixed inventory.

var errDRSDown = errors.New("dial tcp: connection refused")

func withInventory(inv web.Inventory) func(*web.Config) {
	return func(c *web.Config) { c.Inventory = inv }
}

// execWithJob records an execution of plan version hash whose one server is
// being launched by DRS job job, and launched when launched is set.
func (e *env) execWithJob(id, hash, job string, launched bool) string {
	e.t.Helper()
	e.createExecution(id, hash, ripcord.ModeDrill, e.clock.Now(), false)
	at := e.clock.Now().Add(time.Second)
	evs := []ripcord.Event{
		ev(engine.EvStepStarted, at, engine.StepStarted{Step: "database"}),
		ev(engine.EvLaunchRequested, at, engine.LaunchRequested{Step: "database", Batch: "b1", Target: "dr", Servers: []string{serverID}}),
		ev(engine.EvJobCreated, at, engine.JobCreated{Batch: "b1", JobID: job})}
	if launched {
		evs = append(evs, ev(engine.EvServerStatus, at.Add(5*time.Minute),
			engine.ServerStatus{Step: "database", Server: serverID, Status: "LAUNCHED", JobID: job, InstanceID: "i-1"}))
	}
	e.append(id, 1, evs...)
	return id
}

// TestJobLogEndpoint: the log of one of an execution's jobs, read from DRS
// in the target the spec names; a job not the execution's is 404, a bad ID
// 400; without an inventory, or with DRS down, 503. A finished job's log
// (its servers launched, DRS's JOB_END in it) is read once; a running
// job's, or one without its end yet, at most every 10 seconds.
func TestJobLogEndpoint(t *testing.T) {
	calls := &atomic.Int32{}
	t0 := time.Date(2026, 11, 25, 9, 1, 0, 0, time.UTC)
	inv := fixedInventory{jobLogCalls: calls, logs: map[string][]ripcord.JobLogItem{
		"drsjob-run":   fixedJobLog(t0, serverID, false),
		"drsjob-noend": fixedJobLog(t0, serverID, false),
	}}
	e := newEnv(t, withInventory(inv))
	hash := e.savePlans(orders).Versions[0].Hash
	done := e.createExecution("orders-done", hash, ripcord.ModeDrill, e.clock.Now(), true) // drsjob-1, launched
	run := e.execWithJob("orders-run", hash, "drsjob-run", false)
	noEnd := e.execWithJob("orders-noend", hash, "drsjob-noend", true)
	c := e.as(ripcord.RoleViewer)
	ctx := e.ctx
	want := func(n int32, what string) {
		t.Helper()
		if got := calls.Load(); got != n {
			t.Errorf("%s: %d calls of DRS's job log; want %d", what, got, n)
		}
	}

	l, err := c.JobLog(ctx, done, "drsjob-1")
	if err != nil || l.Execution != done || l.Job != "drsjob-1" || l.Target != "dr" || len(l.Items) != 5 ||
		l.Items[0].Event != "JOB_START" || l.Items[3].TargetInstanceID != "i-1" || l.Items[3].SourceServerID != serverID || !l.Items[0].At.Equal(t0) {
		t.Fatalf("job log %+v, %v", l, err)
	}
	want(1, "the first read")
	e.clock.Advance(time.Hour)
	if _, err := c.JobLog(ctx, done, "drsjob-1"); err != nil {
		t.Fatal(err)
	}
	want(1, "a finished job's log an hour later")

	if l, err := c.JobLog(ctx, run, "drsjob-run"); err != nil || len(l.Items) != 4 {
		t.Fatalf("a running job's log %+v, %v", l, err)
	}
	want(2, "a running job's first read")
	e.clock.Advance(9 * time.Second)
	c.JobLog(ctx, run, "drsjob-run")
	want(2, "a running job's log 9s later")
	e.clock.Advance(time.Second)
	c.JobLog(ctx, run, "drsjob-run")
	want(3, "a running job's log 10s later")

	c.JobLog(ctx, noEnd, "drsjob-noend")
	e.clock.Advance(10 * time.Second)
	c.JobLog(ctx, noEnd, "drsjob-noend")
	want(5, "a launched job's log without DRS's JOB_END, 10s later")

	for _, tc := range []struct {
		id, job, code string
	}{
		{done, "drsjob-run", ripcord.ENOTFOUND}, // another execution's job
		{done, "drsjob-nope", ripcord.ENOTFOUND},
		{"orders-nothing", "drsjob-1", ripcord.ENOTFOUND},
		{done, "-x", ripcord.EINVALID},
		{done, strings.Repeat("j", 200), ripcord.EINVALID},
		{done, "<script>", ripcord.EINVALID},
	} {
		if _, err := c.JobLog(ctx, tc.id, tc.job); !client.IsCode(err, tc.code) {
			t.Errorf("job log of %s/%s: %v; want %s", tc.id, tc.job, err, tc.code)
		}
	}
	want(5, "refused requests")

	bare := newEnv(t)
	bare.createExecution("orders-done", bare.savePlans(orders).Versions[0].Hash, ripcord.ModeDrill, bare.clock.Now(), true)
	if _, err := bare.as(ripcord.RoleViewer).JobLog(bare.ctx, "orders-done", "drsjob-1"); !client.IsCode(err, ripcord.EUNAVAILABLE) {
		t.Errorf("without an inventory: %v; want %s", err, ripcord.EUNAVAILABLE)
	}
	down := newEnv(t, withInventory(fixedInventory{down: errDRSDown}))
	down.createExecution("orders-done", down.savePlans(orders).Versions[0].Hash, ripcord.ModeDrill, down.clock.Now(), true)
	_, err = down.as(ripcord.RoleViewer).JobLog(down.ctx, "orders-done", "drsjob-1")
	if !client.IsCode(err, ripcord.EUNAVAILABLE) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("with DRS down: %v; want %s saying why", err, ripcord.EUNAVAILABLE)
	}
}

// TestConsoleJobLog: an execution's page shows each of its DRS jobs' log
// lines; re-rendering the live fragment does not ask DRS again within 10
// seconds; DRS down is a line on the page, not a failed page; without an
// inventory the page says why there is no log.
func TestConsoleJobLog(t *testing.T) {
	calls := &atomic.Int32{}
	t0 := time.Date(2026, 11, 25, 9, 1, 0, 0, time.UTC)
	failed := append(fixedJobLog(t0, serverID, false)[:3],
		ripcord.JobLogItem{At: t0.Add(2 * time.Minute), Event: "CONVERSION_FAIL", SourceServerID: serverID, RawError: "no capacity in us-east-1a"})
	inv := fixedInventory{jobLogCalls: calls, logs: map[string][]ripcord.JobLogItem{
		"drsjob-run": fixedJobLog(t0, serverID, false), "drsjob-bad": failed}}
	e := newEnv(t, withInventory(inv))
	hash := e.savePlans(orders).Versions[0].Hash
	run := e.execWithJob("orders-run", hash, "drsjob-run", false)
	bad := e.execWithJob("orders-bad", hash, "drsjob-bad", false)
	none := e.createExecution("orders-none", hash, ripcord.ModeDrill, e.clock.Now(), false)
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])

	status, _, page := b.do("GET", "/console/executions/"+run, nil)
	if status != http.StatusOK {
		t.Fatalf("execution page: %d\n%s", status, page)
	}
	for _, want := range []string{`id="joblog-h">DRS job log`, `data-job="drsjob-run"`, "JOB_START", "CONVERSION_START", "LAUNCH_START", "i-1", "step database"} {
		if !strings.Contains(page, want) {
			t.Errorf("the execution page lacks %q", want)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls of DRS for one page", n)
	}
	for range 5 {
		if status, _, frag := b.do("GET", "/console/executions/"+run+"/fragment", nil); status != 200 || !strings.Contains(frag, "LAUNCH_START") {
			t.Fatalf("fragment: %d\n%s", status, frag)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("five fragments within 10s asked DRS %d times in all; want once", n)
	}
	e.clock.Advance(10 * time.Second)
	b.do("GET", "/console/executions/"+run+"/fragment", nil)
	if n := calls.Load(); n != 2 {
		t.Errorf("a fragment 10s later: %d calls in all; want 2", n)
	}

	_, _, page = b.do("GET", "/console/executions/"+bad, nil)
	if !regexp.MustCompile(`<tr class="logline bad">.*CONVERSION_FAIL.*no capacity in us-east-1a`).MatchString(page) {
		t.Errorf("the failed conversion is not a highlighted line:\n%s", page)
	}
	if _, _, page = b.do("GET", "/console/executions/"+none, nil); !strings.Contains(page, "No DRS job yet.") {
		t.Errorf("an execution without a job:\n%s", page)
	}

	down := newEnv(t, withInventory(fixedInventory{down: errDRSDown}))
	x := down.execWithJob("orders-run", down.savePlans(orders).Versions[0].Hash, "drsjob-run", false)
	db := down.browser()
	db.signIn(down.secrets[ripcord.RoleViewer])
	for _, p := range []string{"/console/executions/" + x, "/console/executions/" + x + "/fragment"} {
		status, _, page := db.do("GET", p, nil)
		if status != http.StatusOK || !strings.Contains(page, "DRS did not give this job&#39;s log: dial tcp: connection refused") ||
			!strings.Contains(page, `id="exec-state"`) {
			t.Errorf("GET %s with DRS down: %d\n%s", p, status, page)
		}
	}

	bare := newEnv(t)
	x = bare.execWithJob("orders-run", bare.savePlans(orders).Versions[0].Hash, "drsjob-run", false)
	bb := bare.browser()
	bb.signIn(bare.secrets[ripcord.RoleViewer])
	if status, _, page := bb.do("GET", "/console/executions/"+x, nil); status != 200 || !strings.Contains(page, `id="joblog-note"`) ||
		!strings.Contains(page, `data-job="drsjob-run"`) {
		t.Errorf("without an inventory: %d\n%s", status, page)
	}
}

// TestConsoleServers: every server of the saved plans' targets with its
// readiness, the not-ready first and marked; filters by plan and target;
// DRS down or no inventory is said on the page.
func TestConsoleServers(t *testing.T) {
	e := newEnv(t, withInventory(fixedInventory{}))
	e.savePlans(orders)
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	status, _, page := b.do("GET", "/console/servers", nil)
	if status != http.StatusOK {
		t.Fatalf("servers page: %d\n%s", status, page)
	}
	stalled, db := strings.Index(page, `data-server="s-3234567890abcdef0"`), strings.Index(page, `data-server="`+serverID+`"`)
	if stalled < 0 || db < 0 || stalled > db {
		t.Errorf("the stalled server is not listed first (at %d, the ready database server at %d)", stalled, db)
	}
	for _, want := range []string{`<strong>2</strong> of 3 ready`, `<strong class="bad">1 not ready</strong>`,
		`<tr class="srv attention" data-server="s-3234567890abcdef0" data-ready="false">`, "replication is stalled",
		`<a href="/console/servers" id="nav-servers" aria-current="page">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the servers page lacks %q", want)
		}
	}
	if _, _, page := b.do("GET", "/console/servers?plan=orders&target=dr", nil); !strings.Contains(page, `<option value="orders" selected>`) ||
		!strings.Contains(page, `<option value="dr" selected>`) || strings.Count(page, `<tr class="srv`) != 3 {
		t.Errorf("filtered by plan and target:\n%s", page)
	}
	if _, _, page := b.do("GET", "/console/servers?target=elsewhere", nil); !strings.Contains(page, "No servers match the filter") {
		t.Errorf("filtered by a target no plan has:\n%s", page)
	}
	for p, want := range map[string]int{"/console/servers?plan=nothing": 404, "/console/servers?plan=a%20b": 400,
		"/console/servers?plan=orders&plan=orders": 400, "/console/servers?debug=1": 400} {
		if status, _, _ := b.do("GET", p, nil); status != want {
			t.Errorf("GET %s: %d; want %d", p, status, want)
		}
	}

	down := newEnv(t, withInventory(fixedInventory{down: errDRSDown}))
	down.savePlans(orders)
	db2 := down.browser()
	db2.signIn(down.secrets[ripcord.RoleViewer])
	if status, _, page := db2.do("GET", "/console/servers", nil); status != 200 ||
		!strings.Contains(page, "plan orders, target dr (account 111122223333, us-east-1): DRS did not list its servers: dial tcp: connection refused") {
		t.Errorf("with DRS down: %d\n%s", status, page)
	}
	bare := newEnv(t)
	bare.savePlans(orders)
	bb := bare.browser()
	bb.signIn(bare.secrets[ripcord.RoleViewer])
	if status, _, page := bb.do("GET", "/console/servers", nil); status != 200 || !strings.Contains(page, `id="servers-note"`) {
		t.Errorf("without an inventory: %d\n%s", status, page)
	}
}

// TestConsoleGroups: each plan's protection groups with their selector, the
// steps that launch them and how many servers they resolve to now.
func TestConsoleGroups(t *testing.T) {
	e := newEnv(t, withInventory(fixedInventory{}))
	e.savePlans(orders)
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	status, _, page := b.do("GET", "/console/groups", nil)
	if status != http.StatusOK {
		t.Fatalf("groups page: %d\n%s", status, page)
	}
	for _, want := range []string{`data-group="orders-db" data-resolved="1"`, "tags Application=orders, Tier=database",
		`<tr class="group attention" data-group="orders-web" data-resolved="1">`, "1 server, 0 ready", "1 server, 1 ready",
		`<a href="/console/groups" id="nav-groups" aria-current="page">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the groups page lacks %q", want)
		}
	}
	if i, j := strings.Index(page, "orders-app"), strings.Index(page, "orders-web"); i < 0 || j < i {
		t.Errorf("groups not by name")
	}
	if status, _, _ := b.do("GET", "/console/groups?plan=nothing", nil); status != 404 {
		t.Errorf("an unknown plan: %d", status)
	}
	bare := newEnv(t)
	bare.savePlans(orders)
	bb := bare.browser()
	bb.signIn(bare.secrets[ripcord.RoleViewer])
	if status, _, page := bb.do("GET", "/console/groups", nil); status != 200 || !strings.Contains(page, `id="groups-note"`) ||
		!strings.Contains(page, `data-group="orders-db"`) {
		t.Errorf("without an inventory: %d\n%s", status, page)
	}
}

// TestConsoleOverviewTargets: the overview counts each target's servers by
// readiness and links them; without DRS it says why and still renders the
// rest.
func TestConsoleOverviewTargets(t *testing.T) {
	e := newEnv(t, withInventory(fixedInventory{}))
	e.savePlans(orders)
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	_, _, page := b.do("GET", "/console", nil)
	for _, want := range []string{`data-target="dr" data-ready="2" data-notready="1"`, `href="/console/servers?plan=orders&amp;target=dr"`,
		"2 of 3", `<strong class="bad">1</strong>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	if strings.Contains(page, "not in the console yet") {
		t.Error("the overview still says targets are not in the console")
	}
	for name, cfg := range map[string]func(*web.Config){
		"DRS down":        withInventory(fixedInventory{down: errDRSDown}),
		"no inventory":    func(*web.Config) {},
		"DRS down (slow)": withInventory(fixedInventory{down: &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "throttled"}}),
	} {
		x := newEnv(t, cfg)
		x.savePlans(orders)
		xb := x.browser()
		xb.signIn(x.secrets[ripcord.RoleViewer])
		status, _, page := xb.do("GET", "/console", nil)
		if status != 200 || !strings.Contains(page, `id="plans-h"`) || !strings.Contains(page, `href="/console/plans/orders"`) ||
			!(strings.Contains(page, "DRS did not list its servers") || strings.Contains(page, `id="targets-note"`)) {
			t.Errorf("overview with %s: %d\n%s", name, status, page)
		}
	}
}

// TestConsolePlanDiff: each older version on a plan's page links its diff
// against the latest; the diff page shows the removed and added lines.
func TestConsolePlanDiff(t *testing.T) {
	e := newEnv(t)
	v1 := e.savePlans(orders).Versions[0].Hash
	e.clock.Advance(time.Minute)
	v2 := e.savePlans(ordersV2).Versions[0].Hash
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	link := `href="/console/plans/orders/diff?from=` + v1 + `&amp;to=` + v2 + `"`
	if _, _, page := b.do("GET", "/console/plans/orders", nil); !strings.Contains(page, link) || strings.Count(page, "diff against the latest") != 1 {
		t.Errorf("the plan's page does not link the older version's diff (%s):\n%s", link, page)
	}
	if _, _, page := b.do("GET", "/console/plans/orders?version="+v1, nil); !strings.Contains(page, "what changed since") {
		t.Errorf("an older version's page does not link its diff")
	}
	status, _, page := b.do("GET", "/console/plans/orders/diff?from="+v1+"&to="+v2, nil)
	if status != 200 {
		t.Fatalf("diff page: %d\n%s", status, page)
	}
	for _, re := range []string{`<tr class="del">.*<code>    rto: 45m</code>`, `<tr class="add">.*<code>    rto: 30m</code>`,
		`1 line added</span>, <span class="del">1 removed`} {
		if !regexp.MustCompile(re).MatchString(page) {
			t.Errorf("the diff page does not match %s:\n%s", re, page)
		}
	}
	if _, _, page := b.do("GET", "/console/plans/orders/diff?from="+v2+"&to="+v2, nil); !strings.Contains(page, "are the same") {
		t.Errorf("a version against itself:\n%s", page)
	}
	for p, want := range map[string]int{
		"/console/plans/orders/diff?from=" + v1:                                    400,
		"/console/plans/orders/diff?from=" + v1 + "&to=XYZ":                        400,
		"/console/plans/orders/diff?from=" + v1 + "&to=" + strings.Repeat("0", 64): 404,
		"/console/plans/other/diff?from=" + v1 + "&to=" + v2:                       404,
		"/console/plans/orders/diff?from=" + v1 + "&to=" + v2 + "&x=1":             400,
	} {
		if status, _, _ := b.do("GET", p, nil); status != want {
			t.Errorf("GET %s: %d; want %d", p, status, want)
		}
	}
}
