package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/web"
)

// fixedReadiness answers one finding for every plan (the real one is
// ripcord serve's, tested in cmd/ripcord against the simulator).
type fixedReadiness struct{}

func (fixedReadiness) Readiness(_ context.Context, plan string) (client.Readiness, error) {
	return client.Readiness{Plan: plan, PlanHash: "h", Ready: false, Findings: []ripcord.Finding{{Severity: ripcord.SeverityBlocking,
		Check: "replication-state", Resource: ripcord.Resource{Target: "dr", ServerID: "s-1"}, Message: "stalled", Remedy: "fix it"}}}, nil
}

func (fixedReadiness) Staleness(context.Context, string) (ripcord.Staleness, error) {
	return ripcord.Staleness{Stale: true, Reasons: []string{"never drilled successfully"}}, nil
}

// TestReadinessWithoutChecks: a server that runs no checks answers 503
// with a hint, and lists plans without staleness.
func TestReadinessWithoutChecks(t *testing.T) {
	e := newEnv(t)
	e.savePlans(orders)
	c := e.as(ripcord.RoleViewer)
	_, err := c.PlanReadiness(e.ctx, "orders")
	if ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE || ripcord.ErrorHint(err) == "" {
		t.Fatalf("readiness without checks: %v (%s)", err, ripcord.ErrorCode(err))
	}
	_, err = c.PlanReadiness(e.ctx, "nosuchplan")
	if ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Fatalf("readiness of an unknown plan: %v", err)
	}
	plans, err := c.Plans(e.ctx)
	if err != nil || len(plans) != 1 || plans[0].Staleness != nil {
		t.Fatalf("plans: %+v, %v", plans, err)
	}
}

func (fixedReadiness) Interval() time.Duration { return 5 * time.Minute }

var _ web.Readiness = fixedReadiness{}
