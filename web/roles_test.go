package web_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/web"
)

// endpoint is one route of the API, called through the client.
type endpoint struct {
	method, path string       // the route, as Routes and the OpenAPI document name it
	need         ripcord.Role // "" for none
	call         func(c *client.Client) error
}

var errStop = errors.New("stop following")

// endpoints returns a call of every route against e's fixtures: plan
// "orders" in two versions, execution x.
func endpoints(e *env, v1, v2, x string) []endpoint {
	ctx := e.ctx
	return []endpoint{
		{"GET", "/healthz", "", func(c *client.Client) error { return c.Health(ctx) }},
		{"GET", "/readyz", "", func(c *client.Client) error { return c.Ready(ctx) }},
		{"GET", "/api/v1/openapi.json", "", func(c *client.Client) error { _, err := c.OpenAPI(ctx); return err }},
		{"GET", "/api/v1/plans", ripcord.RoleViewer, func(c *client.Client) error { _, err := c.Plans(ctx); return err }},
		{"POST", "/api/v1/plans", ripcord.RoleAdmin, func(c *client.Client) error {
			// A version not saved yet: a refused call that saved it
			// anyway would show in the store.
			_, err := c.SavePlans(ctx, "orders.yaml", bytes.Replace(orders, []byte("rto: 45m"), []byte("rto: 20m"), 1))
			return err
		}},
		{"POST", "/api/v1/plans/validate", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.ValidatePlans(ctx, "orders.yaml", orders)
			return err
		}},
		{"GET", "/api/v1/plans/{name}", ripcord.RoleViewer, func(c *client.Client) error { _, err := c.Plan(ctx, "orders"); return err }},
		{"GET", "/api/v1/plans/{name}/versions", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.PlanVersions(ctx, "orders")
			return err
		}},
		{"GET", "/api/v1/plans/{name}/diff", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.PlanDiff(ctx, "orders", v1, v2)
			return err
		}},
		{"GET", "/api/v1/plans/{name}/servers", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.PlanServers(ctx, "orders")
			return err
		}},
		{"GET", "/api/v1/plans/{name}/readiness", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.PlanReadiness(ctx, "orders")
			return err
		}},
		{"GET", "/api/v1/targets", ripcord.RoleViewer, func(c *client.Client) error { _, err := c.Targets(ctx); return err }},
		{"GET", "/api/v1/protection-groups", ripcord.RoleViewer, func(c *client.Client) error { _, err := c.ProtectionGroups(ctx); return err }},
		{"GET", "/api/v1/executions", ripcord.RoleViewer, func(c *client.Client) error {
			_, _, err := c.Executions(ctx, client.ExecutionFilter{})
			return err
		}},
		{"GET", "/api/v1/executions/{id}", ripcord.RoleViewer, func(c *client.Client) error { _, err := c.Execution(ctx, x); return err }},
		{"GET", "/api/v1/executions/{id}/events", ripcord.RoleViewer, func(c *client.Client) error {
			if _, err := c.Events(ctx, x, 0, 0); err != nil {
				return err
			}
			// The stream: the first event, then stop.
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			err := c.Follow(sctx, x, 0, func(ripcord.Event) error { return errStop })
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}},
		{"GET", "/api/v1/executions/{id}/jobs/{job}/log", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.JobLog(ctx, x, "drsjob-1")
			return err
		}},
		{"GET", "/api/v1/executions/{id}/report", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.Report(ctx, x, "json")
			return err
		}},
		{"GET", "/api/v1/executions/{id}/deliveries", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.Deliveries(ctx, x)
			return err
		}},
		{"POST", "/api/v1/executions", ripcord.RoleOperator, func(c *client.Client) error {
			_, err := c.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
			return err
		}},
		{"POST", "/api/v1/executions/{id}/{action}", ripcord.RoleOperator, func(c *client.Client) error {
			_, err := c.Control(ctx, x, "pause", "")
			return err
		}},
		// Any role passes the route; the step's approvers are checked
		// after it (approval_test.go): a step the execution does not
		// have is ENOTFOUND, past the role check.
		{"POST", "/api/v1/executions/{id}/approve", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.Decide(ctx, x, "approve", "no-such-step", "")
			if client.IsCode(err, ripcord.ENOTFOUND) {
				return nil
			}
			return err
		}},
		{"POST", "/api/v1/executions/{id}/reject", ripcord.RoleViewer, func(c *client.Client) error {
			_, err := c.Decide(ctx, x, "reject", "no-such-step", "")
			if client.IsCode(err, ripcord.ENOTFOUND) {
				return nil
			}
			return err
		}},
		{"GET", "/api/v1/audit", ripcord.RoleAdmin, func(c *client.Client) error { _, err := c.Audit(ctx, 0, 0); return err }},
		{"GET", "/api/v1/tokens", ripcord.RoleAdmin, func(c *client.Client) error { _, err := c.Tokens(ctx); return err }},
	}
}

// TestRoles calls every endpoint with every role, and without a token:
// the roles allowed succeed; the others are refused (403, or 401 without a
// token) and change nothing in the store.
func TestRoles(t *testing.T) {
	rec := &recordingExecutions{}
	e := newEnv(t, withExecutions(rec), func(c *web.Config) { c.Inventory = fixedInventory{}; c.Readiness = fixedReadiness{} })
	rec.e = e
	v1 := e.savePlans(orders).Versions[0].Hash
	e.clock.Advance(time.Minute)
	v2 := e.savePlans(ordersV2).Versions[0].Hash
	x := e.createExecution("orders-20261125T090000-aaaaaa", v2, ripcord.ModeDrill, e.clock.Now(), true)
	eps := endpoints(e, v1, v2, x)

	// The table covers every route the handler serves.
	var served, tested []string
	for _, r := range e.handler.Routes() {
		served = append(served, r.Method+" "+r.Path+" "+string(r.Role))
	}
	for _, ep := range eps {
		tested = append(tested, ep.method+" "+ep.path+" "+string(ep.need))
	}
	sort.Strings(served)
	sort.Strings(tested)
	if !slices.Equal(served, tested) {
		t.Fatalf("routes served (with roles):\n%q\nroutes tested:\n%q", served, tested)
	}

	callers := append([]ripcord.Role{""}, ripcord.Roles...)
	for _, ep := range eps {
		for _, role := range callers {
			name := string(role)
			if name == "" {
				name = "no token"
			}
			c := e.client(e.secrets[role])
			before := e.snapshot()
			err := ep.call(c)
			switch {
			case ep.need == "" || (role != "" && role.Allows(ep.need)):
				if err != nil {
					t.Errorf("%s %s as %s: %v, want success", ep.method, ep.path, name, err)
				}
			case role == "":
				if !client.IsCode(err, client.EUNAUTHENTICATED) {
					t.Errorf("%s %s without a token: %v, want %s", ep.method, ep.path, err, client.EUNAUTHENTICATED)
				}
				e.sameStore(before, ep.method+" "+ep.path+" without a token")
			default:
				if !client.IsCode(err, client.EFORBIDDEN) {
					t.Errorf("%s %s as %s: %v, want %s", ep.method, ep.path, name, err, client.EFORBIDDEN)
				}
				e.sameStore(before, ep.method+" "+ep.path+" as "+name)
			}
		}
	}

	// A refusal in the one error shape, with its status.
	status, h, body := e.raw("POST", "/api/v1/plans", e.secrets[ripcord.RoleRecovery], ordersV2, map[string]string{"Content-Type": "application/yaml"})
	if status != http.StatusForbidden || errorOf(t, status, h, body).Code != client.EFORBIDDEN {
		t.Fatalf("status %d: %s", status, body)
	}
}
