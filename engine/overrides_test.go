package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// overridesPlan sets, for the database tier of the three-tier scenario
// (launched STARTED, BASIC right-sizing, no private IP, no tags, no BYOL),
// two fields that differ and two that do not, and for db2 one more that
// differs. The app tier has none.
var overridesPlan = fmt.Sprintf(`
targets: [{name: prod, account: "111122223333", region: us-east-1}]
protectionGroups:
  - name: db
    target: prod
    servers: [%[1]s, %[2]s]
    launch: {disposition: STARTED, rightSizing: NONE, copyTags: true, byol: false}
    serverLaunch:
      %[2]s: {copyPrivateIp: true}
  - {name: app, target: prod, servers: [%[3]s, %[4]s]}
plans:
  - name: orders
    waves:
      - {name: database, groups: [db]}
      - {name: app, groups: [app]}
`, db1, db2, app1, app2)

// begin records a drill of overridesPlan through Begin: the plan's
// overrides resolved and frozen into the spec.
func (e *env) beginOverrides(eng *engine.Engine, id string) engine.Spec {
	e.t.Helper()
	f, err := plan.Decode("orders.yaml", []byte(overridesPlan))
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := eng.Begin(context.Background(), engine.BeginRequest{File: f, Plan: "orders", Mode: ripcord.ModeDrill, ID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return b.Spec
}

// withSTS points the env's DRS client's STS at the simulator, for Begin's
// account check.
func (e *env) withSTS() {
	e.t.Helper()
	c, err := drs.New(context.Background(), drs.Config{
		Region: "us-east-1", Endpoint: e.srv.URL, STSEndpoint: e.srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RateLimit:   10000, RetryBackoff: noWait{},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.drs = c
}

func (e *env) launchConfig(id string) ripcord.LaunchConfiguration {
	e.t.Helper()
	c, err := e.drs.LaunchConfiguration(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func changes(kv ...string) []ripcord.LaunchChange {
	var out []ripcord.LaunchChange
	for i := 0; i+2 < len(kv)+1; i += 3 {
		out = append(out, ripcord.LaunchChange{Field: kv[i], From: kv[i+1], To: kv[i+2]})
	}
	return out
}

var (
	db1Changes = changes(ripcord.FieldRightSizing, "BASIC", "NONE", ripcord.FieldCopyTags, "false", "true")
	db2Changes = changes(ripcord.FieldRightSizing, "BASIC", "NONE", ripcord.FieldCopyPrivateIP, "false", "true", ripcord.FieldCopyTags, "false", "true")
)

// TestLaunchOverridesDrill: a drill applies exactly the fields that differ,
// before the servers' launch, records them, and a second drill of the same
// plan changes nothing.
func TestLaunchOverridesDrill(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withSTS()
	before := map[string]ripcord.LaunchConfiguration{}
	for _, id := range []string{db1, db2, app1, app2} {
		before[id] = e.launchConfig(id)
	}
	if c := before[db2]; c.LaunchDisposition != "STARTED" || c.RightSizing != "BASIC" || c.CopyPrivateIP || c.CopyTags || c.BYOL {
		t.Fatalf("the scenario changed: db2 launches as %+v; adjust overridesPlan", c)
	}
	eng := e.engine(engine.Hooks{})
	spec := e.beginOverrides(eng, "exec-1")
	if len(spec.Launch) != 2 {
		t.Fatalf("spec has launch overrides for %d servers, want 2 (the database tier): %v", len(spec.Launch), spec.Launch)
	}
	s := e.run(eng, "exec-1")
	wantState(t, s, ripcord.ExecSucceeded)

	// DRS's configuration: the overrides hold, every other field as before.
	for id, want := range map[string]func(c *ripcord.LaunchConfiguration){
		db1:  func(c *ripcord.LaunchConfiguration) { c.RightSizing, c.CopyTags = "NONE", true },
		db2:  func(c *ripcord.LaunchConfiguration) { c.RightSizing, c.CopyTags, c.CopyPrivateIP = "NONE", true, true },
		app1: func(*ripcord.LaunchConfiguration) {},
		app2: func(*ripcord.LaunchConfiguration) {},
	} {
		w := before[id]
		want(&w)
		if got := e.launchConfig(id); got != w {
			t.Errorf("server %s launches as %+v\nwant %+v", id, got, w)
		}
	}
	ops := e.sim.OperationCounts()
	if n := ops["UpdateLaunchConfiguration"]; n != 2 {
		t.Errorf("%d UpdateLaunchConfiguration requests, want 2 (one per server with differences)", n)
	}

	// The log: compared once, then for each server intent, result, and only
	// then the batch that launches it.
	evs := e.events("exec-1")
	cmp := evData[engine.LaunchConfigsCompared](t, evs, engine.EvLaunchConfigsCompared)
	if len(cmp) != 1 || len(cmp[0].Servers) != 2 {
		t.Fatalf("LaunchConfigsCompared: %+v, want one, of 2 servers", cmp)
	}
	want := map[string][]ripcord.LaunchChange{db1: db1Changes, db2: db2Changes}
	for _, d := range cmp[0].Servers {
		if !slices.Equal(d.Changes, want[d.Server]) {
			t.Errorf("compared %s: %+v, want %+v", d.Server, d.Changes, want[d.Server])
		}
	}
	checkUpdateOrder(t, evs, want)
	got := s.LaunchChanges()
	if len(got) != 2 || !slices.Equal(got[0].Changes, want[got[0].Server]) || !slices.Equal(got[1].Changes, want[got[1].Server]) {
		t.Errorf("LaunchChanges = %+v", got)
	}

	// A second drill: compared, nothing differs, nothing updated.
	e.beginOverrides(eng, "exec-2")
	s2 := e.run(eng, "exec-2")
	wantState(t, s2, ripcord.ExecSucceeded)
	if n := e.sim.OperationCounts()["UpdateLaunchConfiguration"]; n != 2 {
		t.Errorf("after the second drill %d UpdateLaunchConfiguration requests, want still 2", n)
	}
	evs2 := e.events("exec-2")
	cmp2 := evData[engine.LaunchConfigsCompared](t, evs2, engine.EvLaunchConfigsCompared)
	if len(cmp2) != 1 || len(cmp2[0].Servers) != 2 || cmp2[0].Servers[0].Changes != nil || cmp2[0].Servers[1].Changes != nil {
		t.Errorf("second drill compared %+v, want 2 servers without changes", cmp2)
	}
	if n := len(evData[engine.LaunchConfigUpdating](t, evs2, engine.EvLaunchConfigUpdating)); n != 0 || len(s2.LaunchChanges()) != 0 {
		t.Errorf("second drill: %d updates, changes %+v; want none", n, s2.LaunchChanges())
	}
}

// checkUpdateOrder checks that each server of want has one intent and one
// result with its changes, in that order, both before the LaunchRequested
// of its batch.
func checkUpdateOrder(t *testing.T, evs []ripcord.Event, want map[string][]ripcord.LaunchChange) {
	t.Helper()
	intent, result, launch := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, ev := range evs {
		switch ev.Type {
		case engine.EvLaunchConfigUpdating:
			d := evData[engine.LaunchConfigUpdating](t, []ripcord.Event{ev}, ev.Type)[0]
			if intent[d.Server] != 0 || !slices.Equal(d.Changes, want[d.Server]) {
				t.Errorf("intent %d for %s: %+v (a second, or not the changes %+v)", ev.Seq, d.Server, d.Changes, want[d.Server])
			}
			intent[d.Server] = ev.Seq
		case engine.EvLaunchConfigUpdated:
			d := evData[engine.LaunchConfigUpdated](t, []ripcord.Event{ev}, ev.Type)[0]
			if result[d.Server] != 0 || !slices.Equal(d.Changes, want[d.Server]) {
				t.Errorf("result %d for %s: %+v (a second, or not the changes %+v)", ev.Seq, d.Server, d.Changes, want[d.Server])
			}
			result[d.Server] = ev.Seq
		case engine.EvLaunchRequested:
			d := evData[engine.LaunchRequested](t, []ripcord.Event{ev}, ev.Type)[0]
			for _, id := range d.Servers {
				if launch[id] == 0 {
					launch[id] = ev.Seq
				}
			}
		}
	}
	for id := range want {
		if !(intent[id] > 0 && intent[id] < result[id] && result[id] < launch[id]) {
			t.Errorf("server %s: intent at %d, result at %d, first launch at %d; want them in that order", id, intent[id], result[id], launch[id])
		}
	}
}

// TestLaunchOverridesCrashAfterUpdate: the driver stops after DRS applied
// an update and before the result is recorded; the next driver reads the
// server again, finds nothing to change and records the result as
// confirmed, without a second update.
func TestLaunchOverridesCrashAfterUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withSTS()
	crashed := 0
	eng := e.engine(engine.Hooks{AfterConfigCall: func(server string) error {
		if crashed == 0 {
			crashed++
			return engine.ErrCrash
		}
		return nil
	}})
	e.beginOverrides(eng, "exec-1")
	if _, err := eng.Run(context.Background(), "exec-1"); !errors.Is(err, engine.ErrCrash) {
		t.Fatalf("first run: %v, want the crash", err)
	}
	if n := e.sim.OperationCounts()["UpdateLaunchConfiguration"]; n != 1 {
		t.Fatalf("%d updates before the crash, want 1", n)
	}
	s := e.run(e.engine(engine.Hooks{}), "exec-1")
	wantState(t, s, ripcord.ExecSucceeded)
	if n := e.sim.OperationCounts()["UpdateLaunchConfiguration"]; n != 2 {
		t.Errorf("%d updates in all, want 2: none again for the server whose update was made", n)
	}
	evs := e.events("exec-1")
	checkUpdateOrder(t, evs, map[string][]ripcord.LaunchChange{db1: db1Changes, db2: db2Changes})
	res := evData[engine.LaunchConfigUpdated](t, evs, engine.EvLaunchConfigUpdated)
	if len(res) != 2 || !res[0].Confirmed || res[1].Confirmed {
		t.Errorf("results %+v: want the first confirmed by reading again, the second not", res)
	}
	if c := e.launchConfig(db1); c.RightSizing != "NONE" || !c.CopyTags {
		t.Errorf("db1 launches as %+v", c)
	}
}

// TestLaunchOverridesUpdateFails: DRS answers UpdateLaunchConfiguration
// with server errors (the SDK's retries used up): the outage is recorded,
// the server is not launched, and the next pass reads it again and sends
// what still differs.
func TestLaunchOverridesUpdateFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withSTS()
	// Every attempt of the first call (the SDK makes 3).
	if _, err := e.sim.AddFault(drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "UpdateLaunchConfiguration", Fraction: 1, Status: 500, Count: 3}); err != nil {
		t.Fatal(err)
	}
	eng := e.engine(engine.Hooks{})
	e.beginOverrides(eng, "exec-1")
	s := e.run(eng, "exec-1")
	wantState(t, s, ripcord.ExecSucceeded)
	evs := e.events("exec-1")
	if len(evData[engine.DRSUnavailable](t, evs, engine.EvDRSUnavailable)) == 0 {
		t.Error("no DRSUnavailable recorded for the failing updates")
	}
	checkUpdateOrder(t, evs, map[string][]ripcord.LaunchChange{db1: db1Changes, db2: db2Changes})
	for id, want := range map[string]bool{db1: false, db2: true} {
		if c := e.launchConfig(id); c.RightSizing != "NONE" || !c.CopyTags || c.CopyPrivateIP != want {
			t.Errorf("%s launches as %+v", id, c)
		}
	}
	if ans := e.sim.OperationCounts()["UpdateLaunchConfiguration"]; ans != 5 {
		t.Errorf("%d update requests, want 5 (3 failed attempts, then one per server)", ans)
	}
}
