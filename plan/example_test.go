package plan_test

import (
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/plan"
)

// threeTierServers returns the source servers of the simulator's three-tier
// scenario, read from the simulator's own model, keyed by the target name
// the example uses.
func threeTierServers(t *testing.T, target string) map[string][]plan.SourceServerInfo {
	t.Helper()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: drssim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	var servers []plan.SourceServerInfo
	for _, r := range sim.State(drssim.StateFilter{Account: "111122223333", Region: "us-east-1"}).Regions {
		for _, s := range r.Servers {
			servers = append(servers, plan.SourceServerInfo{ID: s.SourceServerID, Tags: s.Tags})
		}
	}
	if len(servers) != 6 {
		t.Fatalf("three-tier has %d servers in 111122223333/us-east-1, want 6", len(servers))
	}
	return map[string][]plan.SourceServerInfo{target: servers}
}

// TestExampleThreeTier validates examples/three-tier.yaml and resolves it
// against the simulator's three-tier scenario: three waves, one tier each.
func TestExampleThreeTier(t *testing.T) {
	f, err := plan.Decode("three-tier.yaml", readFile(t, "../examples/three-tier.yaml"))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(f.Plans) != 1 || len(f.Targets) != 1 {
		t.Fatalf("got %d plans and %d targets, want 1 and 1", len(f.Plans), len(f.Targets))
	}
	p := f.Plans[0]
	want := ripcord.Settings{RTOTarget: 45 * time.Minute, RPOTarget: 5 * time.Minute, FailurePolicy: ripcord.FailureStop, ConflictDeadline: 15 * time.Minute}
	if !reflect.DeepEqual(p.Settings, want) {
		t.Errorf("settings = %+v, want %+v", p.Settings, want)
	}
	tg := f.Targets[0]
	if tg.Account != "111122223333" || tg.Region != "us-east-1" {
		t.Errorf("target = %+v, want account 111122223333 in us-east-1", tg)
	}
	g, err := plan.NewGraph(&p)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Order(); !reflect.DeepEqual(got, []string{"database", "app", "web"}) {
		t.Errorf("order = %v, want database, app, web", got)
	}

	steps, err := plan.Resolve(f, "orders", threeTierServers(t, tg.Name))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	server := func(id, group string) ripcord.ResolvedServer {
		return ripcord.ResolvedServer{Target: tg.Name, ID: id, Groups: []string{group}}
	}
	wantSteps := []ripcord.ResolvedStep{
		{Step: "database", Servers: []ripcord.ResolvedServer{server("s-3c1730a9e0771ea14", "orders-db"), server("s-3d75cdc0d9a28a725", "orders-db")}},
		{Step: "app", Servers: []ripcord.ResolvedServer{server("s-3afa164776f93ce4f", "orders-app"), server("s-3c63bb8be30d7d071", "orders-app")}},
		{Step: "web", Servers: []ripcord.ResolvedServer{server("s-3578f52ef3bdd58b4", "orders-web"), server("s-3b9401c1cd270a7a8", "orders-web")}},
	}
	if !reflect.DeepEqual(steps, wantSteps) {
		t.Errorf("Resolve =\n%+v\nwant\n%+v", steps, wantSteps)
	}
}
