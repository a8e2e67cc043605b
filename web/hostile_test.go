package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

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
