package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/plan"
)

func TestHealthAndReady(t *testing.T) {
	e := newEnv(t)
	anon := e.client("")
	if err := anon.Health(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := anon.Ready(e.ctx); err != nil {
		t.Fatal(err)
	}
	doc, err := anon.OpenAPI(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(doc) {
		t.Fatal("the OpenAPI document is not JSON")
	}
	// A closed store: not ready, but healthy.
	e.store.Close()
	if err := anon.Health(e.ctx); err != nil {
		t.Fatal(err)
	}
	wantCode(t, anon.Ready(e.ctx), ripcord.EUNAVAILABLE)
}

func TestPlans(t *testing.T) {
	e := newEnv(t)
	admin, viewer := e.as(ripcord.RoleAdmin), e.as(ripcord.RoleViewer)

	// No plans yet.
	if list, err := viewer.Plans(e.ctx); err != nil || len(list) != 0 {
		t.Fatalf("plans = %v, %v; want none", list, err)
	}
	wantCode(t, func() error { _, err := viewer.Plan(e.ctx, "orders"); return err }(), ripcord.ENOTFOUND)

	// Validate without saving.
	val, err := viewer.ValidatePlans(e.ctx, "orders.yaml", orders)
	if err != nil {
		t.Fatal(err)
	}
	f, err := plan.Decode("orders.yaml", orders)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := f.Extract("orders")
	v1 := one.Hash()
	if !val.Valid || len(val.Plans) != 1 || val.Plans[0] != (client.ValidPlan{Name: "orders", Hash: v1}) {
		t.Fatalf("validation = %+v, want orders %s", val, v1)
	}
	if list, _ := viewer.Plans(e.ctx); len(list) != 0 {
		t.Fatal("validate saved a plan")
	}

	// Save, then save again: the second changes nothing.
	res, err := admin.SavePlans(e.ctx, "orders.yaml", orders)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Versions) != 1 || !res.Versions[0].New || res.Versions[0].Hash != v1 || !res.Versions[0].Created.Equal(e.clock.Now()) {
		t.Fatalf("save = %+v", res)
	}
	status, _, _ := e.raw("POST", "/api/v1/plans", e.secrets[ripcord.RoleAdmin], orders, map[string]string{"Content-Type": "application/yaml"})
	if status != http.StatusOK {
		t.Fatalf("saving the same file again: status %d, want 200", status)
	}
	res, err = admin.SavePlans(e.ctx, "orders.yaml", append([]byte("# a comment changes no hash\n"), orders...))
	if err != nil || res.Versions[0].New || res.Versions[0].Hash != v1 {
		t.Fatalf("save again = %+v, %v; want the same version, not new", res, err)
	}

	e.clock.Advance(time.Hour)
	res2, err := admin.SavePlans(e.ctx, "orders.yaml", ordersV2)
	if err != nil {
		t.Fatal(err)
	}
	v2 := res2.Versions[0].Hash
	if !res2.Versions[0].New || v2 == v1 {
		t.Fatalf("save v2 = %+v", res2)
	}

	list, err := viewer.Plans(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "orders" || list[0].Hash != v2 || list[0].Versions != 2 {
		t.Fatalf("plans = %+v", list)
	}

	p, err := viewer.Plan(e.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash != v2 || p.Format != "yaml" || p.Source != string(ordersV2) || p.Description != "The orders application, tier by tier." ||
		p.Plan == nil || p.Plan.Settings.RTOTarget != 30*time.Minute || len(p.Plan.Steps) != 3 {
		t.Fatalf("plan = %+v", p)
	}
	p1, err := viewer.PlanVersion(e.ctx, "orders", v1)
	if err != nil || p1.Hash != v1 || p1.Source != string(orders) {
		t.Fatalf("plan version v1 = %+v, %v", p1, err)
	}

	vs, err := viewer.PlanVersions(e.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Hash != v2 || vs[1].Hash != v1 {
		t.Fatalf("versions = %+v, want v2 then v1", vs)
	}

	d, err := viewer.PlanDiff(e.ctx, "orders", v1, v2)
	if err != nil {
		t.Fatal(err)
	}
	var changed []client.DiffLine
	for _, l := range d.Lines {
		if l.Op != " " {
			changed = append(changed, l)
		}
	}
	wantChanged := []client.DiffLine{{Op: "-", Old: 31, Text: "    rto: 45m"}, {Op: "+", New: 31, Text: "    rto: 30m"}}
	if !slices.Equal(changed, wantChanged) || len(d.Lines) != strings.Count(string(orders), "\n")+1 {
		t.Fatalf("diff lines changed = %+v (of %d), want %+v", changed, len(d.Lines), wantChanged)
	}
	if !strings.Contains(d.Unified, "@@ -28,7 +28,7 @@\n") || !strings.Contains(d.Unified, "\n-    rto: 45m\n+    rto: 30m\n") {
		t.Fatalf("unified diff:\n%s", d.Unified)
	}
	same, err := viewer.PlanDiff(e.ctx, "orders", v1, v1)
	if err != nil || same.Unified != "" {
		t.Fatalf("diff of a version with itself = %+v, %v", same, err)
	}

	// Unknown plans and versions; a version of another plan.
	wantCode(t, func() error { _, err := viewer.PlanVersions(e.ctx, "nope"); return err }(), ripcord.ENOTFOUND)
	wantCode(t, func() error { _, err := viewer.PlanDiff(e.ctx, "orders", v1, strings.Repeat("0", 64)); return err }(), ripcord.ENOTFOUND)
	wantCode(t, func() error { _, err := viewer.PlanVersion(e.ctx, "other", v1); return err }(), ripcord.ENOTFOUND)
	wantCode(t, func() error { _, err := viewer.PlanDiff(e.ctx, "orders", "v1", v2); return err }(), ripcord.EINVALID)

	// The audit log has the two new versions, by the admin, from loopback.
	page, err := admin.Audit(e.ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var saves []client.AuditEntry
	for _, a := range page.Entries {
		if a.Action == "plan.save" {
			saves = append(saves, a)
		}
	}
	wantActor := "admin-user (" + e.tokens[ripcord.RoleAdmin].ID + ")"
	if len(saves) != 2 || saves[0].Actor != wantActor || saves[0].Object != "orders" || saves[0].Remote != "127.0.0.1" ||
		!strings.Contains(saves[0].Detail, v1) || !strings.Contains(saves[1].Detail, v2) {
		t.Fatalf("audit = %+v", page.Entries)
	}
}

func TestPlanSavedByRunIsJSON(t *testing.T) {
	e := newEnv(t)
	f, err := plan.Decode("orders.yaml", orders)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := f.Extract("orders")
	src, _ := json.Marshal(one) // as `ripcord run` saves a version
	if err := e.store.SavePlanVersion(e.ctx, ripcord.PlanVersion{Hash: one.Hash(), Name: "orders", Source: src, Created: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	v2 := e.savePlans(ordersV2).Versions[0].Hash
	viewer := e.as(ripcord.RoleViewer)
	p, err := viewer.PlanVersion(e.ctx, "orders", one.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if p.Format != "json" || p.Plan == nil || p.Description != "The orders application, tier by tier." {
		t.Fatalf("plan = %+v", p)
	}
	d, err := viewer.PlanDiff(e.ctx, "orders", one.Hash(), v2)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(d.Unified, "\n"); n < 10 || !strings.Contains(d.Unified, `-  "targets": [`) {
		t.Fatalf("a JSON version is diffed indented, line by line:\n%s", d.Unified)
	}
}

func TestSaveInvalidPlan(t *testing.T) {
	e := newEnv(t)
	admin := e.as(ripcord.RoleAdmin)
	bad := bytes.Replace(orders, []byte("rto: 45m"), []byte("rto: soon\n    grups: [x]"), 1)
	before := e.snapshot()
	_, err := admin.SavePlans(e.ctx, "orders.yaml", bad)
	re := wantCode(t, err, client.EINVALIDPLAN)
	if !strings.Contains(re.Message, "orders.yaml:31:10") || !strings.Contains(re.Message, "orders.yaml:32:5") || !strings.Contains(re.Message, "2 problems") {
		t.Fatalf("message %q does not list every problem with its position", re.Message)
	}
	e.sameStore(before, "an invalid plan")

	// The answer has every problem, structured.
	status, h, body := e.raw("POST", "/api/v1/plans", e.secrets[ripcord.RoleAdmin], bad, map[string]string{"Content-Type": "application/yaml"})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", status)
	}
	ed := errorOf(t, status, h, body)
	if len(ed.Problems) != 2 || ed.Problems[0].Line != 31 || ed.Problems[1].Line != 32 || ed.Problems[0].File != "plan.yaml" {
		t.Fatalf("problems = %+v", ed.Problems)
	}

	// Validation reports the same, as a result.
	val, err := e.as(ripcord.RoleViewer).ValidatePlans(e.ctx, "", bad)
	if err != nil {
		t.Fatal(err)
	}
	if val.Valid || len(val.Problems) != 2 || val.Problems[0].Message == "" {
		t.Fatalf("validation = %+v", val)
	}

	// A file without plans saves nothing.
	_, err = admin.SavePlans(e.ctx, "", []byte("targets:\n  - name: dr\n    account: \"111122223333\"\n    region: us-east-1\n"))
	wantCode(t, err, client.EINVALIDPLAN)
	e.sameStore(before, "a file without plans")
}

func TestExecutions(t *testing.T) {
	e := newEnv(t)
	hash := e.savePlans(orders).Versions[0].Hash
	t0 := e.clock.Now()
	a := e.createExecution("orders-20261125T090000-aaaaaa", hash, ripcord.ModeDrill, t0, true)
	b := e.createExecution("orders-20261125T100000-bbbbbb", hash, ripcord.ModeRecovery, t0.Add(time.Hour), false)
	c := e.createExecution("orders-20261125T110000-cccccc", hash, ripcord.ModeDrill, t0.Add(2*time.Hour), false)
	ended := ripcord.ExecSucceeded
	end := t0.Add(10 * time.Minute)
	if _, err := e.store.Append(e.ctx, a, 5, 0, []ripcord.Event{
		ev("StepFinished", end, map[string]string{"step": "database", "status": "succeeded"}),
		ev("ExecutionFinished", end, map[string]string{"state": "succeeded"})},
		&ripcord.ExecutionUpdate{State: &ended, Ended: &end}); err != nil {
		t.Fatal(err)
	}
	viewer := e.as(ripcord.RoleViewer)

	ids := func(f client.ExecutionFilter) []string {
		t.Helper()
		list, _, err := viewer.Executions(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    client.ExecutionFilter
		want []string
	}{
		{"all, newest first", client.ExecutionFilter{}, []string{c, b, a}},
		{"plan", client.ExecutionFilter{Plan: "orders"}, []string{c, b, a}},
		{"other plan", client.ExecutionFilter{Plan: "billing"}, nil},
		{"state", client.ExecutionFilter{State: ripcord.ExecSucceeded}, []string{a}},
		{"mode", client.ExecutionFilter{Mode: ripcord.ModeRecovery}, []string{b}},
		{"since", client.ExecutionFilter{Since: t0.Add(time.Hour)}, []string{c, b}},
		{"until", client.ExecutionFilter{Until: t0.Add(time.Hour)}, []string{a}},
		{"since and until", client.ExecutionFilter{Since: t0.Add(30 * time.Minute), Until: t0.Add(90 * time.Minute)}, []string{b}},
		{"mode and limit", client.ExecutionFilter{Mode: ripcord.ModeDrill, Limit: 1}, []string{c}},
		{"limit", client.ExecutionFilter{Limit: 2}, []string{c, b}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, more, _ := viewer.Executions(e.ctx, client.ExecutionFilter{Limit: 2}); !more {
		t.Error("limit 2 of 3: more is false")
	}
	if _, more, _ := viewer.Executions(e.ctx, client.ExecutionFilter{Limit: 3}); more {
		t.Error("limit 3 of 3: more is true")
	}
	for _, bad := range []client.ExecutionFilter{{State: "done"}, {Mode: "restore"}, {Limit: 1001}, {Limit: -1}, {Plan: "<x>"}} {
		_, _, err := viewer.Executions(e.ctx, bad)
		wantCode(t, err, ripcord.EINVALID)
	}
	status, h, body := e.raw("GET", "/api/v1/executions?since=yesterday", e.secrets[ripcord.RoleViewer], nil, nil)
	if errorOf(t, status, h, body).Code != ripcord.EINVALID {
		t.Error("since=yesterday accepted")
	}

	// One execution: its row and the summary of its log.
	d, err := viewer.Execution(e.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if d.Execution.ID != a || d.Execution.State != ripcord.ExecSucceeded || d.Execution.LastSeq != 7 || d.Execution.PlanHash != hash {
		t.Fatalf("execution = %+v", d.Execution)
	}
	if d.Summary.State != ripcord.ExecSucceeded || d.Summary.Servers != 1 || d.Summary.Launched != 1 {
		t.Fatalf("summary = %+v", d.Summary)
	}
	// Asked again after more events: the summary follows (the fold
	// cache applies only the new ones).
	d, _ = viewer.Execution(e.ctx, b)
	if d.Summary.Launched != 0 || d.Summary.State != ripcord.ExecRunning {
		t.Fatalf("summary of b = %+v", d.Summary)
	}
	at := t0.Add(time.Hour + time.Minute)
	e.append(b, 1,
		ev("StepStarted", at, map[string]string{"step": "database"}),
		ev("LaunchRequested", at, map[string]any{"step": "database", "batch": "b1", "target": "dr", "servers": []string{serverID}}),
		ev("JobCreated", at, map[string]string{"batch": "b1", "jobID": "drsjob-9"}),
		ev("ServerStatus", at, map[string]string{"step": "database", "server": serverID, "status": "LAUNCHED", "jobID": "drsjob-9"}))
	d, _ = viewer.Execution(e.ctx, b)
	if d.Summary.Launched != 1 || d.Execution.LastSeq != 5 {
		t.Fatalf("summary of b after more events = %+v (last seq %d)", d.Summary, d.Execution.LastSeq)
	}
	wantCode(t, func() error { _, err := viewer.Execution(e.ctx, "orders-nope"); return err }(), ripcord.ENOTFOUND)

	// Events, paged.
	page, err := viewer.Events(e.ctx, a, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 4 || page.Events[0].Seq != 1 || page.Next != 4 || !page.More || page.Events[0].Type != "ExecutionStarted" {
		t.Fatalf("page 1 = %+v", page)
	}
	page, err = viewer.Events(e.ctx, a, page.Next, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 3 || page.Events[0].Seq != 5 || page.Next != 7 || page.More {
		t.Fatalf("page 2 = %+v", page)
	}
	page, err = viewer.Events(e.ctx, a, 7, 0)
	if err != nil || len(page.Events) != 0 || page.Next != 7 || page.More || page.Events == nil {
		t.Fatalf("page 3 = %+v, %v", page, err)
	}
	wantCode(t, func() error { _, err := viewer.Events(e.ctx, "orders-nope", 0, 0); return err }(), ripcord.ENOTFOUND)
	wantCode(t, func() error { _, err := viewer.Events(e.ctx, a, -1, 0); return err }(), ripcord.EINVALID)
	wantCode(t, func() error { _, err := viewer.Events(e.ctx, a, 0, 5000); return err }(), ripcord.EINVALID)
}

func TestAuditAndTokens(t *testing.T) {
	e := newEnv(t)
	admin := e.as(ripcord.RoleAdmin)
	secret, tok := e.mintToken("ci", ripcord.RoleOperator, e.clock.Now().Add(time.Hour))
	_ = secret
	if err := e.store.RevokeToken(e.ctx, e.tokens[ripcord.RoleRecovery].ID); err != nil {
		t.Fatal(err)
	}
	list, err := admin.Tokens(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 {
		t.Fatalf("tokens = %+v", list)
	}
	byID := map[string]client.Token{}
	for _, x := range list {
		byID[x.ID] = x
	}
	if x := byID[tok.ID]; x.Name != "ci" || x.Role != ripcord.RoleOperator || !x.Live || !x.Expires.Equal(tok.Expires) {
		t.Fatalf("token ci = %+v", x)
	}
	if x := byID[e.tokens[ripcord.RoleRecovery].ID]; x.Live || x.Revoked.IsZero() {
		t.Fatalf("the revoked token = %+v", x)
	}
	// Never a secret or a hash.
	_, _, body := e.raw("GET", "/api/v1/tokens", e.secrets[ripcord.RoleAdmin], nil, nil)
	var raw struct{ Tokens []map[string]any }
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, x := range raw.Tokens {
		for k := range x {
			if !slices.Contains([]string{"id", "name", "role", "created", "expires", "revoked", "live"}, k) {
				t.Errorf("a token shows %q", k)
			}
		}
	}
	for _, s := range e.secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Error("the token list shows a secret")
		}
	}

	// The audit log pages.
	for i := 0; i < 3; i++ {
		if _, err := e.store.AppendAudit(e.ctx, ripcord.AuditEntry{Actor: "x", Action: "test.entry"}); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := admin.Audit(e.ctx, 0, 2)
	if err != nil || len(p1.Entries) != 2 || !p1.More || p1.Next != 2 {
		t.Fatalf("audit page 1 = %+v, %v", p1, err)
	}
	p2, err := admin.Audit(e.ctx, p1.Next, 2)
	if err != nil || len(p2.Entries) != 1 || p2.More || p2.Entries[0].Seq != 3 {
		t.Fatalf("audit page 2 = %+v, %v", p2, err)
	}
}
