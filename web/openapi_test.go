package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/report"
	"github.com/ripcord-dr/ripcord/web"
)

type openAPIDoc struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOp        `json:"paths"`
	Comps   struct{ Schemas map[string]schemaDoc } `json:"components"`
}

type openAPIOp struct {
	Role       string                      `json:"x-ripcord-role"`
	Security   []map[string][]string       `json:"security"`
	Parameters []struct{ Name, In string } `json:"parameters"`
	Responses  map[string]json.RawMessage  `json:"responses"`
}

type schemaDoc struct {
	Properties map[string]schemaDoc `json:"properties"`
	Required   []string             `json:"required"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	return doc
}

// TestOpenAPIMatchesRoutes keeps the document true: every route the
// handler serves is in it with its method, its role and its query
// parameters, and every operation in it is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	h, err := web.New(web.Config{Store: newEnv(t).store})
	if err != nil {
		t.Fatal(err)
	}
	var inDoc, served []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			m := strings.ToUpper(method)
			inDoc = append(inDoc, m+" "+path)
			role := op.Role
			if role == "none" {
				role = ""
			}
			if (role != "") != (len(op.Security) > 0) {
				t.Errorf("%s %s: role %q but security %v", m, path, op.Role, op.Security)
			}
			for _, status := range []string{"400", "500"} {
				if op.Responses[status] == nil {
					t.Errorf("%s %s: no %s response", m, path, status)
				}
			}
			if role != "" {
				for _, status := range []string{"401", "403", "429"} {
					if op.Responses[status] == nil {
						t.Errorf("%s %s: no %s response", m, path, status)
					}
				}
			}
			// Served: a request reaches the route (not the "no such
			// endpoint" 404 or a 405): without a token, a 401 for a
			// route that needs one.
			target := strings.NewReplacer("{name}", "orders", "{id}", "orders-1", "{job}", "drsjob-1").Replace(path)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(m, target, nil))
			var eb client.ErrorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &eb)
			switch {
			case role != "" && rec.Code != http.StatusUnauthorized:
				t.Errorf("%s %s without a token: status %d, want 401: %s", m, path, rec.Code, rec.Body)
			case role == "" && (eb.Error.Code == client.EMETHOD || strings.HasPrefix(eb.Error.Message, "no such endpoint")):
				t.Errorf("%s %s is not served: %s", m, path, rec.Body)
			}
			for _, r := range h.Routes() {
				if r.Method != m || r.Path != path {
					continue
				}
				if string(r.Role) != role {
					t.Errorf("%s %s: the document says role %q, the route needs %q", m, path, op.Role, r.Role)
				}
				var params []string
				for _, p := range op.Parameters {
					if p.In == "query" {
						params = append(params, p.Name)
					}
				}
				sort.Strings(params)
				q := slices.Clone(r.Query)
				sort.Strings(q)
				if !slices.Equal(params, q) {
					t.Errorf("%s %s: the document's query parameters %v, the route's %v", m, path, params, q)
				}
			}
		}
	}
	for _, r := range h.Routes() {
		served = append(served, r.Method+" "+r.Path)
	}
	sort.Strings(inDoc)
	sort.Strings(served)
	if !slices.Equal(inDoc, served) {
		t.Errorf("operations in openapi.json:\n%q\nroutes served:\n%q", inDoc, served)
	}
}

// TestOpenAPISchemas keeps the document's schemas and the wire types
// alike: the same properties, and required exactly when not omitted when
// empty.
func TestOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	types := map[string]any{
		"Problem": client.Problem{}, "Health": client.Health{},
		"PlanSummary": client.PlanSummary{}, "PlanList": client.PlanList{}, "Plan": client.Plan{},
		"PlanVersion": client.PlanVersion{}, "PlanVersionList": client.PlanVersionList{},
		"DiffLine": client.DiffLine{}, "PlanDiff": client.PlanDiff{},
		"SavedPlan": client.SavedPlan{}, "SaveResult": client.SaveResult{},
		"ValidPlan": client.ValidPlan{}, "Validation": client.Validation{},
		"Execution": ripcord.Execution{}, "ExecutionList": client.ExecutionList{}, "Summary": engine.Summary{},
		"ExecutionDetail": client.ExecutionDetail{}, "Event": ripcord.Event{}, "EventPage": client.EventPage{},
		"AuditEntry": client.AuditEntry{}, "AuditPage": client.AuditPage{},
		"Token": client.Token{}, "TokenList": client.TokenList{},
		"StartRequest": client.StartRequest{}, "ControlRequest": client.ControlRequest{}, "ApprovalDecision": client.ApprovalDecision{},
		"TargetInfo": client.TargetInfo{}, "TargetList": client.TargetList{}, "GroupInfo": client.GroupInfo{}, "GroupList": client.GroupList{},
		"ServerInfo": client.ServerInfo{}, "ServerList": client.ServerList{},
		"JobLogItem": client.JobLogItem{}, "JobLog": client.JobLog{},
		"Readiness": client.Readiness{}, "Finding": ripcord.Finding{}, "Resource": ripcord.Resource{}, "Staleness": ripcord.Staleness{},
		"Delivery": ripcord.Delivery{}, "DeliveryList": client.DeliveryList{},
		"Report": report.Report{},
		"Error":  client.ErrorBody{},
	}
	for name := range doc.Comps.Schemas {
		if types[name] == nil {
			t.Errorf("schema %s has no Go type in this test", name)
		}
	}
	for name, v := range types {
		s, ok := doc.Comps.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		checkSchema(t, name, s, reflect.TypeOf(v))
	}
	checkSchema(t, "Error.error", doc.Comps.Schemas["Error"].Properties["error"], reflect.TypeOf(client.ErrorDetail{}))
}

func checkSchema(t *testing.T, name string, s schemaDoc, typ reflect.Type) {
	t.Helper()
	var props, required []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		key, opts, _ := strings.Cut(tag, ",")
		if key == "-" || !f.IsExported() {
			continue
		}
		if key == "" {
			key = f.Name
		}
		props = append(props, key)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, key)
		}
	}
	var docProps []string
	for k := range s.Properties {
		docProps = append(docProps, k)
	}
	docRequired := slices.Clone(s.Required)
	for _, l := range [][]string{props, required, docProps, docRequired} {
		sort.Strings(l)
	}
	if !slices.Equal(props, docProps) {
		t.Errorf("schema %s: properties %v, the Go type's %v", name, docProps, props)
	}
	if !slices.Equal(required, docRequired) {
		t.Errorf("schema %s: required %v, the Go type's (not omitted when empty) %v", name, docRequired, required)
	}
}
