package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/web"
)

// TestHostileInput: each is refused with its status in the one error
// shape, and the store does not change.
func TestHostileInput(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.MaxBody = 64 << 10 })
	hash := e.savePlans(orders).Versions[0].Hash
	x := e.createExecution("orders-20261125T090000-aaaaaa", hash, ripcord.ModeDrill, e.clock.Now(), true)
	admin, viewer := e.secrets[ripcord.RoleAdmin], e.secrets[ripcord.RoleViewer]
	yamlCT := map[string]string{"Content-Type": "application/yaml"}
	big := append(bytes.Repeat([]byte("# padding padding padding padding padding padding padding\n"), 2000), orders...)

	for _, tc := range []struct {
		name         string
		method, path string
		secret       string
		body         []byte
		header       map[string]string
		chunked      bool
		code         string
	}{
		// Bodies.
		{"oversized body", "POST", "/api/v1/plans", admin, big, yamlCT, false, client.ETOOLARGE},
		{"oversized body, chunked", "POST", "/api/v1/plans", admin, big, yamlCT, true, client.ETOOLARGE},
		{"oversized body to validate", "POST", "/api/v1/plans/validate", viewer, big, yamlCT, false, client.ETOOLARGE},
		{"malformed YAML", "POST", "/api/v1/plans", admin, []byte("plans: [\n  - name: x\n"), yamlCT, false, client.EINVALIDPLAN},
		{"YAML with a tab", "POST", "/api/v1/plans", admin, []byte("plans:\n\t- name: x\n"), yamlCT, false, client.EINVALIDPLAN},
		{"unknown key", "POST", "/api/v1/plans", admin, bytes.Replace(orders, []byte("rto:"), []byte("rtoo:"), 1), yamlCT, false, client.EINVALIDPLAN},
		{"not UTF-8", "POST", "/api/v1/plans", admin, []byte("plans:\n  - name: \xff\xfe\n"), yamlCT, false, ripcord.EINVALID},
		{"JSON, not YAML", "POST", "/api/v1/plans", admin, []byte(`{"plans":[]}`), map[string]string{"Content-Type": "application/json"}, false, ripcord.EINVALID},
		{"no content type", "POST", "/api/v1/plans", admin, orders, nil, false, ripcord.EINVALID},
		{"latin-1", "POST", "/api/v1/plans", admin, orders, map[string]string{"Content-Type": "application/yaml; charset=iso-8859-1"}, false, ripcord.EINVALID},
		{"file name with a newline", "POST", "/api/v1/plans?file=a%0Ab.yaml", admin, orders, yamlCT, false, ripcord.EINVALID},
		{"empty body", "POST", "/api/v1/plans", admin, []byte{}, yamlCT, false, client.EINVALIDPLAN},

		// Paths.
		{"dot-dot", "GET", "/api/v1/plans/../tokens", viewer, nil, nil, false, ripcord.EINVALID},
		{"escaped dot-dot", "GET", "/api/v1/executions/..%2F..%2Ftokens", viewer, nil, nil, false, ripcord.EINVALID},
		{"escaped slash", "GET", "/api/v1/executions/a%2Fb", viewer, nil, nil, false, ripcord.EINVALID},
		{"double slash", "GET", "/api/v1//plans", viewer, nil, nil, false, ripcord.EINVALID},
		{"trailing slash", "GET", "/api/v1/plans/", viewer, nil, nil, false, ripcord.EINVALID},
		{"dot", "GET", "/api/v1/./plans", viewer, nil, nil, false, ripcord.EINVALID},
		{"NUL in an ID", "GET", "/api/v1/executions/a%00b", viewer, nil, nil, false, ripcord.EINVALID},
		{"script as an ID", "GET", "/api/v1/executions/%3Cscript%3E", viewer, nil, nil, false, ripcord.EINVALID},
		{"long ID", "GET", "/api/v1/executions/" + strings.Repeat("a", 1000), viewer, nil, nil, false, ripcord.EINVALID},
		{"space in a plan name", "GET", "/api/v1/plans/orders%20x", viewer, nil, nil, false, ripcord.EINVALID},
		{"bad hash", "GET", "/api/v1/plans/orders?version=" + strings.ToUpper(hash), viewer, nil, nil, false, ripcord.EINVALID},
		{"unknown endpoint", "GET", "/api/v1/nope", viewer, nil, nil, false, ripcord.ENOTFOUND},
		{"a file", "GET", "/etc/passwd", "", nil, nil, false, ripcord.ENOTFOUND},
		{"wrong method", "DELETE", "/api/v1/plans", admin, nil, nil, false, client.EMETHOD},

		// Query strings.
		{"unknown parameter", "GET", "/api/v1/plans?debug=1", viewer, nil, nil, false, ripcord.EINVALID},
		{"parameter twice", "GET", "/api/v1/executions?limit=1&limit=1000", viewer, nil, nil, false, ripcord.EINVALID},
		{"malformed query", "GET", "/api/v1/executions?plan=%zz", viewer, nil, nil, false, ripcord.EINVALID},
		{"huge after", "GET", "/api/v1/executions/" + x + "/events?after=99999999999999999999", viewer, nil, nil, false, ripcord.EINVALID},
	} {
		before := e.snapshot()
		req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.chunked {
			req.Body = io.NopCloser(bytes.NewReader(tc.body)) // no length: sent chunked
			req.ContentLength = -1
		}
		if tc.secret != "" {
			req.Header.Set("Authorization", "Bearer "+tc.secret)
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ed := errorOf(t, resp.StatusCode, resp.Header, body)
		if ed.Code != tc.code {
			t.Errorf("%s: status %d, code %s (%s), want %s", tc.name, resp.StatusCode, ed.Code, ed.Message, tc.code)
		}
		if tc.code == client.EMETHOD && resp.Header.Get("Allow") == "" {
			t.Errorf("%s: no Allow header", tc.name)
		}
		if bytes.Contains(body, []byte("<script")) {
			t.Errorf("%s: the answer has markup: %s", tc.name, body)
		}
		e.sameStore(before, tc.name)
	}
}

// TestScriptComesBackEscaped: markup in a plan's name (refused), its
// description (kept) and in events comes back JSON-escaped, never as
// markup, and decodes to exactly what was sent.
func TestScriptComesBackEscaped(t *testing.T) {
	e := newEnv(t)
	const script = `<script>alert("owned")</script>`
	admin, viewer := e.as(ripcord.RoleAdmin), e.as(ripcord.RoleViewer)

	// In a name: refused, and the message that quotes it is escaped.
	badName := bytes.Replace(orders, []byte("name: orders\n"), []byte("name: '"+script+"'\n"), 1)
	before := e.snapshot()
	_, err := admin.SavePlans(e.ctx, "orders.yaml", badName)
	re := wantCode(t, err, client.EINVALIDPLAN)
	if !strings.Contains(re.Message, "<script>alert(") {
		t.Fatalf("the message does not quote the name: %s", re.Message)
	}
	e.sameStore(before, "a plan named with a script")
	_, _, body := e.raw("POST", "/api/v1/plans", e.secrets[ripcord.RoleAdmin], badName, map[string]string{"Content-Type": "application/yaml"})
	noMarkup(t, body)

	// In a description: kept, and escaped in every answer.
	withScript := bytes.Replace(orders, []byte("description: The orders application, tier by tier."),
		[]byte("description: '"+script+" & more'"), 1)
	res, err := admin.SavePlans(e.ctx, "orders.yaml", withScript)
	if err != nil {
		t.Fatal(err)
	}
	p, err := viewer.Plan(e.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if p.Description != script+" & more" || !strings.Contains(p.Source, script) {
		t.Fatalf("description %q", p.Description)
	}
	for _, path := range []string{"/api/v1/plans/orders", "/api/v1/plans/orders/versions", "/api/v1/plans"} {
		_, h, body := e.raw("GET", path, e.secrets[ripcord.RoleViewer], nil, nil)
		if path == "/api/v1/plans/orders" {
			noMarkup(t, body)
		} else if bytes.ContainsAny(body, "<>") {
			t.Errorf("%s: markup in %s", path, body)
		}
		if h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, h)
		}
	}

	// In an execution's actor and events.
	x := ripcord.Execution{ID: "orders-1", PlanName: "orders", PlanHash: res.Versions[0].Hash, Mode: ripcord.ModeDrill,
		State: ripcord.ExecRunning, Started: e.clock.Now(), Actor: script}
	if err := e.store.CreateExecution(e.ctx, x, []ripcord.Event{{Type: "ExecutionStarted", Actor: script, At: e.clock.Now(),
		Data: json.RawMessage(`{"plan":"orders","note":"` + strings.ReplaceAll(script, `"`, `\"`) + `"}`)}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/executions", "/api/v1/executions/orders-1", "/api/v1/executions/orders-1/events"} {
		_, _, body := e.raw("GET", path, e.secrets[ripcord.RoleViewer], nil, nil)
		noMarkup(t, body)
	}
	page, err := viewer.Events(e.ctx, "orders-1", 0, 0)
	if err != nil || page.Events[0].Actor != script || !strings.Contains(string(page.Events[0].Data), "owned") {
		t.Fatalf("events = %+v, %v", page, err)
	}
}

func noMarkup(t *testing.T, body []byte) {
	t.Helper()
	if bytes.ContainsAny(body, "<>") || !bytes.Contains(body, []byte(`\u003cscript\u003e`)) {
		t.Errorf("the answer is not escaped: %s", body)
	}
}

// scriptInventory is the fixed inventory with markup in everything DRS
// says: host names, OS, replication states, job log events and errors.
type scriptInventory struct{ fixedInventory }

const script = `<script>alert("owned")</script>`

func (s scriptInventory) SourceServers(ctx context.Context, t ripcord.Target) ([]ripcord.SourceServer, error) {
	list, err := s.fixedInventory.SourceServers(ctx, t)
	for i := range list {
		list[i].Hostname, list[i].OS = script, script
	}
	if len(list) > 0 {
		list[len(list)-1].ReplicationState = script
	}
	return list, err
}

func (s scriptInventory) JobLog(ctx context.Context, t ripcord.Target, job string) ([]ripcord.JobLogItem, error) {
	l, err := s.fixedInventory.JobLog(ctx, t, job)
	return append(l, ripcord.JobLogItem{Event: script, SourceServerID: script, RawError: script}), err
}

// TestConsoleHostileInput: the console's forms, paths and query strings
// refuse what is not theirs without changing anything, and what they
// quote back, or what a plan or DRS says, is escaped on every page.
func TestConsoleHostileInput(t *testing.T) {
	rec := &recordingExecutions{}
	e := newEnv(t, withExecutions(rec), withInventory(scriptInventory{}))
	rec.e = e
	v1 := e.savePlans(orders).Versions[0].Hash
	e.clock.Advance(time.Minute)
	withScript := strings.Replace(string(orders), "description: The orders application, tier by tier.", "description: '"+script+" & more'", 1)
	v2 := e.savePlans([]byte(withScript)).Versions[0].Hash
	x := e.execWithJob("orders-run", v2, "drsjob-run", false)
	op := e.browser()
	op.signIn(e.secrets[ripcord.RoleOperator])
	escaped := regexp.MustCompile(`&lt;script&gt;|\\u003cscript\\u003e`)

	t.Run("oversized forms", func(t *testing.T) {
		_, _, _ = op.do("GET", "/console/plans/orders", nil)
		pad := strings.Repeat("a", 100<<10)
		for _, tc := range []struct {
			name, path string
			chunked    bool
		}{
			{"a start", "/console/plans/orders/start", false},
			{"a start, chunked", "/console/plans/orders/start", true},
			{"a control", "/console/executions/" + x + "/pause", false},
			{"a sign-in", "/console/signin", false},
		} {
			before := e.snapshot()
			body := "csrf=" + op.csrf + "&mode=drill&token=" + e.secrets[ripcord.RoleAdmin] + "&pad=" + pad
			req, err := http.NewRequest("POST", e.srv.URL+tc.path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.chunked {
				req.Body = io.NopCloser(strings.NewReader(body))
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", e.srv.URL)
			resp, err := op.http.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(page), "413: too_large") {
				t.Errorf("%s of 100 KiB: %d %s; want the console's 413 page\n%s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), page)
			}
			e.sameStore(before, tc.name+" of 100 KiB")
		}
		if len(rec.calls) != 0 {
			t.Errorf("oversized forms reached the executions: %q", rec.calls)
		}
	})

	t.Run("paths and queries", func(t *testing.T) {
		for _, tc := range []struct {
			path   string
			status int
		}{
			{"/console/plans/..%2f..%2fetc", 400},
			{"/console/plans/..%2F..%2Fetc%2Fpasswd", 400},
			{"/console/plans/../../etc", 400},
			{"/console/plans/%252e%252e%252f%252e%252e%252fetc", 400}, // double-encoded
			{"/console/plans/%2e%2e", 400},
			{"/console/executions/%3Cscript%3Ealert(1)", 400},
			{"/console/executions/%253Cscript%253E", 400},
			{"/console/executions/" + x + "%00", 400},
			{"/console/executions/" + x + "/fragment/", 400},
			{"/console/executions/no-such-execution", 404},
			{"/console/plans/no-such-plan", 404},
			{"/console/plans/%3Cscript%3E", 400},
			{"/console/plans/%3Cscript%3E/diff?from=" + v1 + "&to=" + v2, 400},
			{"/console/plans/orders/diff?from=%3Cscript%3E&to=" + v2, 400},
			{"/console/plans/orders/diff?from=" + v1 + "&to=" + v2 + "&%3Cscript%3E=1", 400},
			{"/console/servers?plan=%3Cscript%3E", 400},
			{"/console/servers?target=%3Cscript%3E", 400},
			{"/console/servers?plan=%zz", 400},
			{"/console/groups?plan=%3Cscript%3E", 400},
			{"/console/static/..%2fconsole.go", 400},
			{"/console/static/%3Cscript%3E", 404},
			{"/console/%3Cscript%3E", 404},
		} {
			before := e.snapshot()
			status, _, body := op.do("GET", tc.path, nil)
			if status != tc.status {
				t.Errorf("GET %s: %d; want %d\n%s", tc.path, status, tc.status, body)
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "alert(1)") && !escaped.MatchString(body) {
				t.Errorf("GET %s reflects its input unescaped:\n%s", tc.path, body)
			}
			e.sameStore(before, "GET "+tc.path)
		}
	})

	t.Run("markup from plans and DRS", func(t *testing.T) {
		for _, p := range []string{"/console", "/console/plans", "/console/plans/orders", "/console/plans/orders?version=" + v1,
			"/console/plans/orders/diff?from=" + v1 + "&to=" + v2, "/console/servers", "/console/servers?plan=orders&target=dr",
			"/console/groups", "/console/executions", "/console/executions/" + x, "/console/executions/" + x + "/fragment"} {
			status, _, body := op.do("GET", p, nil)
			if status != 200 || strings.Contains(body, "<script>alert") {
				t.Errorf("GET %s: %d, unescaped markup:\n%s", p, status, body)
			}
			if want := map[string]bool{"/console/plans/orders": true, "/console/servers": true, "/console/executions/" + x: true,
				"/console/plans/orders/diff?from=" + v1 + "&to=" + v2: true}; want[p] && !escaped.MatchString(body) {
				t.Errorf("GET %s does not show the markup escaped:\n%s", p, body)
			}
		}
		down := newEnv(t, withInventory(fixedInventory{down: &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "DRS says " + script}}))
		down.execWithJob("orders-run", down.savePlans(orders).Versions[0].Hash, "drsjob-run", false)
		b := down.browser()
		b.signIn(down.secrets[ripcord.RoleViewer])
		for _, p := range []string{"/console", "/console/servers", "/console/groups", "/console/executions/orders-run"} {
			status, _, body := b.do("GET", p, nil)
			if status != 200 || strings.Contains(body, "<script>alert") || !escaped.MatchString(body) {
				t.Errorf("GET %s with DRS failing in markup: %d\n%s", p, status, body)
			}
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		another := e.browser()
		another.signIn(e.secrets[ripcord.RoleOperator])
		_, _, _ = op.do("GET", "/console/plans/orders", nil)
		before := e.snapshot()
		for _, post := range []struct{ path, name string }{
			{"/console/plans/orders/start", "a start"}, {"/console/executions/" + x + "/cancel", "a cancel"}, {"/console/signout", "a sign-out"}} {
			for name, form := range map[string]url.Values{
				"no CSRF token":     {"mode": {"drill"}},
				"a wrong one":       {"mode": {"drill"}, "csrf": {strings.Repeat("0", 64)}},
				"an empty one":      {"mode": {"drill"}, "csrf": {""}},
				"two of them":       {"mode": {"drill"}, "csrf": {op.csrf, op.csrf}},
				"another session's": {"mode": {"drill"}, "csrf": {another.csrf}},
				"a script":          {"mode": {"drill"}, "csrf": {script}},
			} {
				status, _, body := op.do("POST", post.path, form)
				if status != http.StatusForbidden || strings.Contains(body, "<script>alert") {
					t.Errorf("%s with %s: %d; want 403", post.name, name, status)
				}
			}
		}
		e.sameStore(before, "forms without their session's CSRF token")
		if status, _, _ := op.do("GET", "/console", nil); status != 200 {
			t.Fatalf("the session ended after refused sign-outs: %d", status)
		}

		// A form replayed after its session ended, with the old cookie and
		// token, and one replayed in the next session with the old token.
		old := e.browser()
		old.signIn(e.secrets[ripcord.RoleOperator])
		oldCSRF := old.csrf
		u, _ := url.Parse(e.srv.URL + "/console")
		oldCookies := old.http.Jar.Cookies(u)
		if status, _, _ := old.do("POST", "/console/signout", url.Values{"csrf": {oldCSRF}}); status != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", status)
		}
		before = e.snapshot()
		old.http.Jar.SetCookies(u, oldCookies)
		if status, _, _ := old.do("POST", "/console/plans/orders/start", url.Values{"csrf": {oldCSRF}, "mode": {"drill"}}); status != http.StatusForbidden {
			t.Errorf("a start replayed after sign-out: %d; want 403", status)
		}
		e.sameStore(before, "a form replayed after sign-out")
		old.signIn(e.secrets[ripcord.RoleOperator])
		before = e.snapshot()
		if status, _, _ := old.do("POST", "/console/plans/orders/start", url.Values{"csrf": {oldCSRF}, "mode": {"drill"}}); status != http.StatusForbidden {
			t.Errorf("a start replayed with the previous session's token: %d; want 403", status)
		}
		e.sameStore(before, "a form replayed with the previous session's token")
		if len(rec.calls) != 0 {
			t.Errorf("refused forms reached the executions: %q", rec.calls)
		}
	})
}
