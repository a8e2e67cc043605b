package drssim

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// TestEmbeddedScenarios: every embedded scenario loads, validates and builds.
func TestEmbeddedScenarios(t *testing.T) {
	names := ScenarioNames()
	for _, want := range []string{"scale", "three-tier"} {
		if !slices.Contains(names, want) {
			t.Errorf("ScenarioNames() = %v, missing %s", names, want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sc, err := LoadScenario(name)
			if err != nil {
				t.Fatalf("LoadScenario(%s): %v", name, err)
			}
			if sc.Name != name {
				t.Errorf("scenario %s is named %q inside", name, sc.Name)
			}
			if err := sc.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			sim, err := New(Options{Scenario: sc, Clock: NewManualClock(testStart), Seed: 1})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			servers := 0
			for _, r := range sim.State(StateFilter{}).Regions {
				servers += len(r.Servers)
			}
			if servers == 0 {
				t.Errorf("scenario %s builds no servers", name)
			}
		})
	}
	if _, err := LoadScenario("no-such-scenario"); err == nil || !strings.Contains(err.Error(), "three-tier") {
		t.Errorf("unknown scenario: %v (want an error listing the embedded ones)", err)
	}
}

// TestScaleScenario: 3000 servers over 3 accounts x 2 regions, unique valid
// IDs, Tier tags, and every DRS sees its share through the SDK.
func TestScaleScenario(t *testing.T) {
	sc, err := LoadScenario("scale")
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, sc)
	v := e.sim.State(StateFilter{})
	if len(v.Regions) != 6 {
		t.Fatalf("%d regions, want 3 accounts x 2 regions", len(v.Regions))
	}
	ids := map[string]bool{}
	tiers := map[string]int{}
	windows := 0
	for _, r := range v.Regions {
		if len(r.Servers) != 500 {
			t.Errorf("%s/%s has %d servers, want 500", r.Account, r.Region, len(r.Servers))
		}
		for _, s := range r.Servers {
			if !validSourceServerID(s.SourceServerID) || ids[s.SourceServerID] {
				t.Errorf("server ID %q invalid or duplicate", s.SourceServerID)
			}
			ids[s.SourceServerID] = true
			tiers[s.Tags["Tier"]]++
			if strings.Contains(s.SourceProperties.Os.FullString, "Windows") {
				windows++
			}
		}
	}
	if len(ids) != 3000 {
		t.Errorf("%d distinct servers, want 3000", len(ids))
	}
	if len(tiers) != 3 || tiers["database"] != 1000 || tiers["app"] != 1000 || tiers["web"] != 1000 {
		t.Errorf("tiers %v, want 1000 each of database, app, web", tiers)
	}
	if windows != 300 {
		t.Errorf("%d Windows servers, want every tenth (300)", windows)
	}
	if got := e.sim.Accounts(); !slices.Equal(got, []string{"111122223333", "222233334444", "333344445555"}) {
		t.Errorf("accounts %v", got)
	}
	if got := e.sim.Regions(); !slices.Equal(got, []string{"us-east-1", "us-west-2"}) {
		t.Errorf("regions %v", got)
	}

	// Account B in us-west-2, through its scenario access key and the SDK.
	client := e.clientFor("AKIDSCALEACCOUNTB", "us-west-2")
	p := drs.NewDescribeSourceServersPaginator(client, &drs.DescribeSourceServersInput{},
		func(o *drs.DescribeSourceServersPaginatorOptions) { o.Limit = 200 })
	var listed []types.SourceServer
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page.Items...)
	}
	want := e.sim.State(StateFilter{Account: "222233334444", Region: "us-west-2"}).Regions[0].Servers
	if len(listed) != len(want) {
		t.Fatalf("account B us-west-2 lists %d servers, model has %d", len(listed), len(want))
	}
	for i := range listed {
		if *listed[i].SourceServerID != want[i].SourceServerID || !strings.HasPrefix(*listed[i].Arn, "arn:aws:drs:us-west-2:222233334444:source-server/") {
			t.Errorf("server %d: %s %s, model %s", i, *listed[i].SourceServerID, *listed[i].Arn, want[i].SourceServerID)
			break
		}
	}
	// Generated IDs follow the seed: the same seed builds the same world.
	again, err := New(Options{Scenario: sc, Clock: NewManualClock(testStart), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again.State(StateFilter{}).Regions {
		for _, s := range r.Servers {
			if !ids[s.SourceServerID] {
				t.Fatalf("same seed, new server ID %s", s.SourceServerID)
			}
		}
	}
}

// behBaseScenario is a valid scenario the malformed cases below break in one
// place each.
const behBaseScenario = `name: base
defaultAccount: "111122223333"
regions:
  - account: "111122223333"
    region: us-east-1
    servers:
      - id: s-00000000000000001
        recoveryInstances: [{id: i-00000000000000001, drill: true}]
      - id: s-00000000000000002
        recoveryInstances: [{id: i-00000000000000002, drill: true}]
    jobs:
      - id: drsjob-00000000000000001
        type: TERMINATE
        endsAfter: 4m
        recoveryInstances: [i-00000000000000001]
      - id: drsjob-00000000000000002
        type: LAUNCH
        endsAfter: 4m
        servers: [s-00000000000000002]
`

// TestMalformedScenarios: each mistake is rejected with a message naming it.
func TestMalformedScenarios(t *testing.T) {
	if _, err := ParseScenario([]byte(behBaseScenario)); err != nil {
		t.Fatalf("the base scenario is invalid: %v", err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(behBaseScenario, old) {
			t.Fatalf("base scenario has no %q", old)
		}
		return strings.Replace(behBaseScenario, old, new, 1)
	}
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown top-level key", edit("name: base", "name: base\nfrobnicate: true"), []string{"frobnicate"}},
		{"unknown server key", edit("      - id: s-00000000000000002\n", "      - id: s-00000000000000002\n        colour: blue\n"), []string{"colour"}},
		{"bad server ID", edit("id: s-00000000000000002", "id: s-123"), []string{`"s-123"`, "s- and 17 hex digits"}},
		{"duplicate server", edit("id: s-00000000000000002", "id: s-00000000000000001"), []string{"duplicate server id s-00000000000000001"}},
		{"job with an unknown instance", edit("recoveryInstances: [i-00000000000000001]", "recoveryInstances: [i-0000000000000abcd]"),
			[]string{"recovery instance i-0000000000000abcd is not defined"}},
		{"job with an unknown server", edit("servers: [s-00000000000000002]", "servers: [s-0000000000000dead]"),
			[]string{"server s-0000000000000dead is not defined"}},
		{"bad duration", edit("endsAfter: 4m\n        servers", "endsAfter: four minutes\n        servers"), []string{`invalid duration "four minutes"`}},
		{"bad duration range", edit("name: base", "name: base\ndurations: {conversion: [5m, 1m]}"), []string{"max below min"}},
		{"missing endsAfter", edit("        endsAfter: 4m\n        servers", "        servers"), []string{"jobs[1]: endsAfter is required"}},
		{"TERMINATE job listing servers", edit("recoveryInstances: [i-00000000000000001]", "servers: [s-00000000000000001]"),
			[]string{"jobs[0]: a TERMINATE job lists recoveryInstances (and no servers)"}},
		{"LAUNCH job listing instances", edit("servers: [s-00000000000000002]", "recoveryInstances: [i-00000000000000002]"),
			[]string{"jobs[1]: a LAUNCH job lists servers (and no recoveryInstances)"}},
		{"two LAUNCH jobs holding one server", edit("servers: [s-00000000000000002]",
			"servers: [s-00000000000000002]\n      - id: drsjob-00000000000000003\n        type: LAUNCH\n        endsAfter: 2m\n        servers: [s-00000000000000002]"),
			[]string{"server s-00000000000000002 is already held by job drsjob-00000000000000002"}},
		{"TERMINATE and LAUNCH job holding one server", edit("servers: [s-00000000000000002]", "servers: [s-00000000000000001]"),
			[]string{"server s-00000000000000001 is already held by job drsjob-00000000000000001"}},
		{"two TERMINATE jobs holding one server", edit("servers: [s-00000000000000002]\n", "servers: [s-00000000000000002]\n      - id: drsjob-00000000000000003\n        type: TERMINATE\n        endsAfter: 2m\n        recoveryInstances: [i-00000000000000001]\n"),
			[]string{"is already held by job drsjob-00000000000000001"}},
		{"bad job ID", edit("id: drsjob-00000000000000002", "id: job-2"), []string{`"job-2"`, "drsjob-"}},
		{"bad job type", edit("type: LAUNCH", "type: REBOOT"), []string{`type "REBOOT" must be LAUNCH or TERMINATE`}},
		{"bad default account", edit(`defaultAccount: "111122223333"`, `defaultAccount: "1111-2222-3333"`), []string{`defaultAccount "1111-2222-3333"`, "12-digit"}},
		{"bad region account", edit(`  - account: "111122223333"`, `  - account: "12345"`), []string{`account "12345" must be a 12-digit AWS account ID`}},
		{"bad replication state", edit("      - id: s-00000000000000002\n", "      - id: s-00000000000000002\n        state: HAPPY\n"), []string{`state "HAPPY" is not a DRS DataReplicationState`}},
		{"bad fault", edit("name: base", "name: base\nfaults: [{kind: meteor}]"), []string{"faults[0]", `unknown kind "meteor"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := ParseScenario([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			if sc != nil {
				t.Errorf("ParseScenario returned a scenario with the error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
