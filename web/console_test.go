package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/web"
)

// The console's own checks, over HTTP with a cookie jar: sign-in,
// sessions, CSRF, roles, escaping. The browser tests (a real Chromium
// against a real ripcord serve) are in cmd/ripcord/console_test.go.

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	t    *testing.T
	e    *env
	http *http.Client
	csrf string // the session's CSRF token, from the last page
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values) (int, http.Header, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.e.srv.URL)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if m := csrfRe.FindStringSubmatch(string(out)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, resp.Header, string(out)
}

// signIn signs in with secret and fails the test unless it works.
func (b *browser) signIn(secret string) {
	b.t.Helper()
	if status, _, _ := b.do("GET", "/console/signin", nil); status != 200 {
		b.t.Fatalf("GET signin: %d", status)
	}
	status, h, body := b.do("POST", "/console/signin", url.Values{"csrf": {b.csrf}, "token": {secret}})
	if status != http.StatusSeeOther || h.Get("Location") != "/console" {
		b.t.Fatalf("sign in: %d %v\n%s", status, h, body)
	}
	if status, _, body := b.do("GET", "/console", nil); status != 200 {
		b.t.Fatalf("GET /console after sign-in: %d\n%s", status, body)
	}
}

func TestConsoleSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	status, h, _ := b.do("GET", "/console", nil)
	if status != http.StatusSeeOther || h.Get("Location") != "/console/signin" {
		t.Fatalf("GET /console without a session: %d %v", status, h)
	}
	status, h, body := b.do("GET", "/console/signin", nil)
	if status != 200 || !strings.Contains(body, `name="token"`) || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") ||
		h.Get("Referrer-Policy") != "same-origin" { // no-referrer would make browsers post forms with "Origin: null"
		t.Fatalf("sign-in page: %d %v", status, h)
	}
	// Without the sign-in form's token: refused, not counted as a guess.
	before := e.snapshot()
	other := e.browser()
	if status, _, _ := other.do("POST", "/console/signin", url.Values{"token": {e.secrets[ripcord.RoleAdmin]}}); status != http.StatusForbidden {
		t.Errorf("sign-in without the form's token: %d; want 403", status)
	}
	e.sameStore(before, "a sign-in without the form's token")
	// A wrong token: 401, audited as the API's failed sign-ins are.
	status, _, body = b.do("POST", "/console/signin", url.Values{"csrf": {b.csrf}, "token": {"rpc_nonsense"}})
	if status != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Errorf("a wrong token: %d\n%s", status, body)
	}
	audit, _ := e.store.ListAudit(e.ctx, ripcord.AuditFilter{})
	if n := len(audit); n == 0 || audit[n-1].Action != "signin.failed" {
		t.Errorf("a failed console sign-in is not audited: %+v", audit)
	}

	secret, tok := e.mintToken("carol", ripcord.RoleViewer, e.clock.Now().Add(48*60*60*1e9))
	b.do("GET", "/console/signin", nil)
	req, _ := http.NewRequest("POST", e.srv.URL+"/console/signin", strings.NewReader(url.Values{"csrf": {b.csrf}, "token": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ripcord_session" {
			ck = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || len(ck.Value) != 64 || ck.Secure {
		t.Fatalf("sign-in: %d, cookie %+v; want an HttpOnly SameSite=Strict session cookie (not Secure over plain HTTP)", resp.StatusCode, ck)
	}
	status, _, body = b.do("GET", "/console", nil)
	if status != 200 || !strings.Contains(body, "carol ("+tok.ID+")") || strings.Contains(body, secret) {
		t.Fatalf("overview: %d\n%s", status, body)
	}
	// Signing out needs the CSRF token.
	if status, _, _ := b.do("POST", "/console/signout", url.Values{}); status != http.StatusForbidden {
		t.Errorf("sign-out without CSRF: %d; want 403", status)
	}
	if status, _, _ := b.do("GET", "/console", nil); status != 200 {
		t.Errorf("the session ended after a sign-out without CSRF: %d", status)
	}
	// Revoking the token ends its sessions.
	if err := e.store.RevokeToken(e.ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if status, h, _ := b.do("GET", "/console", nil); status != http.StatusSeeOther || h.Get("Location") != "/console/signin" {
		t.Errorf("after the token was revoked: %d %v; want a redirect to sign in", status, h)
	}

	// Sign out ends the session.
	c := e.browser()
	c.signIn(e.secrets[ripcord.RoleViewer])
	if status, _, _ := c.do("POST", "/console/signout", url.Values{"csrf": {c.csrf}}); status != http.StatusSeeOther {
		t.Errorf("sign-out: %d", status)
	}
	if status, _, _ := c.do("GET", "/console", nil); status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d; want a redirect", status)
	}
}

func TestConsoleControls(t *testing.T) {
	rec := &recordingExecutions{}
	e := newEnv(t, withExecutions(rec))
	rec.e = e
	hash := e.savePlans(orders).Versions[0].Hash
	drill := e.createExecution("orders-drill", hash, ripcord.ModeDrill, e.clock.Now(), false)
	recovery := e.createExecution("orders-recovery", hash, ripcord.ModeRecovery, e.clock.Now(), false)

	op := e.browser()
	op.signIn(e.secrets[ripcord.RoleOperator])
	status, _, page := op.do("GET", "/console/executions/"+drill, nil)
	if status != 200 || !strings.Contains(page, `id="ctl-pause"`) || !strings.Contains(page, `id="ctl-cancel"`) {
		t.Fatalf("drill page: %d\n%s", status, page)
	}
	another := e.browser()
	another.signIn(e.secrets[ripcord.RoleOperator])
	before := e.snapshot()
	for name, form := range map[string]url.Values{
		"no CSRF token":     {},
		"a wrong one":       {"csrf": {strings.Repeat("0", 64)}},
		"two of them":       {"csrf": {op.csrf, op.csrf}},
		"an empty one":      {"csrf": {""}},
		"another session's": {"csrf": {another.csrf}},
	} {
		if status, _, _ := op.do("POST", "/console/executions/"+drill+"/pause", form); status != http.StatusForbidden {
			t.Errorf("a pause with %s: %d; want 403", name, status)
		}
	}
	e.sameStore(before, "pauses without the right CSRF token")
	if len(rec.calls) != 0 {
		t.Fatalf("controls without CSRF reached the executions: %q", rec.calls)
	}
	status, h, _ := op.do("POST", "/console/executions/"+drill+"/pause", url.Values{"csrf": {op.csrf}})
	if status != http.StatusSeeOther || h.Get("Location") != "/console/executions/"+drill {
		t.Fatalf("pause: %d %v", status, h)
	}
	want := "pause orders-drill by operator-user (" + e.tokens[ripcord.RoleOperator].ID + ")"
	if len(rec.calls) != 1 || rec.calls[0] != want {
		t.Fatalf("calls %q; want %q", rec.calls, want)
	}
	if _, _, page := op.do("GET", "/console/executions/"+drill, nil); !strings.Contains(page, "pause recorded by operator-user") {
		t.Errorf("no note of the pause on the page:\n%s", page)
	}
	// Another site's form: refused even with the token.
	req, _ := http.NewRequest("POST", e.srv.URL+"/console/executions/"+drill+"/cancel", strings.NewReader("csrf="+op.csrf))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := op.http.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-origin POST: %v %v; want 403", resp, err)
	}

	// A recovery: an operator sees no controls and cannot use them.
	status, _, page = op.do("GET", "/console/executions/"+recovery, nil)
	if status != 200 || strings.Contains(page, `class="control"`) || !strings.Contains(page, `id="controls-refused"`) {
		t.Fatalf("recovery page for an operator: %d\n%s", status, page)
	}
	before = e.snapshot()
	for _, action := range []string{"pause", "cancel", "resume"} {
		if status, _, _ := op.do("POST", "/console/executions/"+recovery+"/"+action, url.Values{"csrf": {op.csrf}}); status != http.StatusForbidden {
			t.Errorf("an operator's %s of a recovery: %d; want 403", action, status)
		}
	}
	e.sameStore(before, "an operator's controls of a recovery")
	if len(rec.calls) != 1 {
		t.Fatalf("calls %q", rec.calls)
	}
	rc := e.browser()
	rc.signIn(e.secrets[ripcord.RoleRecovery])
	if _, _, page := rc.do("GET", "/console/executions/"+recovery, nil); !strings.Contains(page, `id="ctl-cancel"`) {
		t.Errorf("a recovery token sees no recovery controls:\n%s", page)
	}
	// The fragment, the plan and the lists render.
	for _, p := range []string{"/console/executions/" + drill + "/fragment", "/console/executions", "/console/plans", "/console/plans/orders",
		"/console/plans/orders?version=" + hash} {
		if status, _, body := op.do("GET", p, nil); status != 200 {
			t.Errorf("GET %s: %d\n%s", p, status, body)
		}
	}
	if status, _, _ := op.do("GET", "/console/audit", nil); status != http.StatusForbidden {
		t.Errorf("an operator's audit page: %d; want 403", status)
	}
}

func TestConsoleEscapes(t *testing.T) {
	e := newEnv(t)
	const script = `<script>alert("owned")</script>`
	withScript := strings.Replace(string(orders), "description: The orders application, tier by tier.", "description: '"+script+" & more'", 1)
	hash := e.savePlans([]byte(withScript)).Versions[0].Hash
	x := ripcord.Execution{ID: "orders-1", PlanName: "orders", PlanHash: hash, Mode: ripcord.ModeDrill,
		State: ripcord.ExecRunning, Started: e.clock.Now(), Actor: script}
	start := ev("ExecutionStarted", e.clock.Now(), map[string]string{"plan": "orders"})
	start.Actor = script
	if err := e.store.CreateExecution(e.ctx, x, []ripcord.Event{start}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleAdmin])
	for _, p := range []string{"/console", "/console/plans/orders", "/console/executions", "/console/executions/orders-1", "/console/executions/orders-1/fragment", "/console/audit"} {
		status, _, body := b.do("GET", p, nil)
		if status != 200 || strings.Contains(body, "<script>alert") {
			t.Errorf("GET %s: %d, unescaped markup:\n%s", p, status, body)
		}
	}
	if _, _, body := b.do("GET", "/console/plans/orders", nil); !strings.Contains(body, "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; &amp; more") {
		t.Errorf("the description is not shown escaped:\n%s", body)
	}
}

// TestConsolePlanServers: the latest version's page shows the plan's
// servers as DRS shows them (here the fixed inventory), with readiness.
func TestConsolePlanServers(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.Inventory = fixedInventory{} })
	e.savePlans(orders)
	b := e.browser()
	b.signIn(e.secrets[ripcord.RoleViewer])
	status, _, body := b.do("GET", "/console/plans/orders", nil)
	if status != http.StatusOK {
		t.Fatalf("plan page: %d", status)
	}
	for _, want := range []string{`id="plan-servers"`, serverID, "s-3234567890abcdef0", "<strong>not ready</strong>: replication is stalled", "orders-db"} {
		if !strings.Contains(body, want) {
			t.Errorf("the plan page lacks %q", want)
		}
	}
}

// TestConsoleStart: an operator starts a drill from the plan's page and
// lands on the execution's page; the operator sees no recovery option and
// a forged recovery is refused; a recovery needs the plan's name typed
// again; without the CSRF token nothing starts.
func TestConsoleStart(t *testing.T) {
	rec := &recordingExecutions{}
	e := newEnv(t, withExecutions(rec))
	rec.e = e
	e.savePlans(orders)

	op := e.browser()
	op.signIn(e.secrets[ripcord.RoleOperator])
	_, _, page := op.do("GET", "/console/plans/orders", nil)
	if !strings.Contains(page, `id="start-form"`) || strings.Contains(page, `value="recovery"`) {
		t.Fatalf("the operator's plan page: want the start form without the recovery option")
	}
	status, h, _ := op.do("POST", "/console/plans/orders/start", url.Values{"csrf": {op.csrf}, "mode": {"drill"}, "cleanupAfter": {"30m"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/console/executions/orders-started-") {
		t.Fatalf("start a drill: %d %v; want a redirect to the execution's page", status, h)
	}
	before := e.snapshot()
	if status, _, _ := op.do("POST", "/console/plans/orders/start", url.Values{"csrf": {op.csrf}, "mode": {"recovery"}, "confirm": {"orders"}}); status != http.StatusForbidden {
		t.Errorf("an operator's forged recovery: %d; want 403", status)
	}
	if status, _, _ := op.do("POST", "/console/plans/orders/start", url.Values{"csrf": {op.csrf}, "mode": {"failback"}, "confirm": {"orders"}}); status != http.StatusForbidden {
		t.Errorf("an operator's forged failback: %d; want 403", status)
	}
	if status, _, _ := op.do("POST", "/console/plans/orders/start", url.Values{"mode": {"drill"}}); status != http.StatusForbidden {
		t.Errorf("a start without the CSRF token: %d; want 403", status)
	}
	e.sameStore(before, "refused starts from the console")

	rc := e.browser()
	rc.signIn(e.secrets[ripcord.RoleRecovery])
	_, _, page = rc.do("GET", "/console/plans/orders", nil)
	if !strings.Contains(page, `value="recovery"`) || !strings.Contains(page, `value="failback"`) || !strings.Contains(page, `id="confirm"`) {
		t.Fatalf("the recovery role's plan page: want the recovery and failback options and the confirmation field")
	}
	status, h, _ = rc.do("POST", "/console/plans/orders/start", url.Values{"csrf": {rc.csrf}, "mode": {"failback"}})
	if status != http.StatusSeeOther || h.Get("Location") != "/console/plans/orders" {
		t.Fatalf("a failback without the confirmation: %d %v; want back to the plan's page", status, h)
	}
	if _, _, page = rc.do("GET", "/console/plans/orders", nil); !strings.Contains(page, "not started: a failback of plan orders needs") {
		t.Errorf("the plan's page does not say why the failback did not start")
	}
	status, h, _ = rc.do("POST", "/console/plans/orders/start", url.Values{"csrf": {rc.csrf}, "mode": {"recovery"}, "confirm": {"order"}})
	if status != http.StatusSeeOther || h.Get("Location") != "/console/plans/orders" {
		t.Fatalf("a recovery with a wrong confirmation: %d %v; want back to the plan's page", status, h)
	}
	if _, _, page = rc.do("GET", "/console/plans/orders", nil); !strings.Contains(page, "not started: a recovery of plan orders needs") {
		t.Errorf("the plan's page does not say why the recovery did not start")
	}
	status, h, _ = rc.do("POST", "/console/plans/orders/start", url.Values{"csrf": {rc.csrf}, "mode": {"recovery"}, "confirm": {"orders"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/console/executions/") {
		t.Fatalf("a confirmed recovery: %d %v", status, h)
	}
	want := []string{"begin orders drill by " + e.tokens[ripcord.RoleOperator].Name + " (" + e.tokens[ripcord.RoleOperator].ID + ")",
		"begin orders recovery by " + e.tokens[ripcord.RoleRecovery].Name + " (" + e.tokens[ripcord.RoleRecovery].ID + ")"}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("starts:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
}
