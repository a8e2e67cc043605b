package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
)

const twoAccounts = `targets:
  - {name: east, account: "222233334444", region: us-east-1, roleArn: "arn:aws:iam::222233334444:role/ripcord-dr", externalId: orders-east-1a2b}
  - {name: west, account: "555566667777", region: us-west-2, roleArn: "arn:aws:iam::555566667777:role/ripcord-dr", externalId: orders-east-1a2b}
  - {name: spare, account: "888899990000", region: eu-west-1}
protectionGroups:
  - {name: db, target: east, selector: {Tier: database}}
  - {name: unused, target: spare, servers: [s-0000000000000000a]}
plans:
  - name: orders
    waves:
      - {name: database, groups: [db]}
      - {name: web, servers: [{id: s-3578f52ef3bdd58b4, target: west}]}
`

func TestIAMPolicyCmd(t *testing.T) {
	name := writePlan(t, "plans.yaml", twoAccounts)
	out, _, err := runRipcord(t, "", "iam-policy", "-f", name, "orders", "--output", "json", "--principal", "arn:aws:iam::111122223333:role/ripcord")
	if err != nil {
		t.Fatal(err)
	}
	var res iamPolicies
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Targets) != 2 || res.Targets[0].Target != "east" || res.Targets[1].Target != "west" {
		t.Fatalf("targets %+v: want the two the plan launches in (not spare, whose group the plan does not use)", res.Targets)
	}
	east, west := res.Targets[0], res.Targets[1]
	if east.DrillPolicy == nil || east.RecoveryPolicy == nil || east.AttachTo != "arn:aws:iam::222233334444:role/ripcord-dr" {
		t.Errorf("east: %+v", east)
	}
	// The trust policy trusts the principal with the target's external ID.
	trust, _ := json.Marshal(east.TrustPolicy)
	for _, want := range []string{`"Principal":{"AWS":"arn:aws:iam::111122223333:role/ripcord"}`, `"sts:ExternalId":"orders-east-1a2b"`, `"sts:AssumeRole"`} {
		if !strings.Contains(string(trust), want) {
			t.Errorf("east's trust policy %s lacks %s", trust, want)
		}
	}
	// east selects by tag, west by server ID: each scoped in its own account and region.
	eastDoc, _ := json.Marshal(east.DrillPolicy)
	westDoc, _ := json.Marshal(west.DrillPolicy)
	if !strings.Contains(string(eastDoc), `"aws:ResourceTag/Tier":"database"`) || strings.Contains(string(eastDoc), "555566667777") {
		t.Errorf("east's policy: %s", eastDoc)
	}
	if !strings.Contains(string(westDoc), `"arn:aws:drs:us-west-2:555566667777:source-server/s-3578f52ef3bdd58b4"`) {
		t.Errorf("west's policy: %s", westDoc)
	}
	if !slices.Contains(east.DrillPolicy.Actions(), "drs:TerminateRecoveryInstances") {
		t.Errorf("the drill policy cannot clean up: %v", east.DrillPolicy.Actions())
	}
	if res.RunnerPolicy == nil || !slices.Equal(res.RunnerPolicy.Statement[0].Resource,
		[]string{"arn:aws:iam::222233334444:role/ripcord-dr", "arn:aws:iam::555566667777:role/ripcord-dr"}) {
		t.Errorf("runner policy %+v", res.RunnerPolicy)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, `targets east, west share the external ID "orders-east-1a2b"`) || !strings.Contains(notes, "isDrill has no condition key") {
		t.Errorf("notes:\n%s", notes)
	}
	if strings.Contains(notes, "RUNNER_ACCOUNT_ID") {
		t.Errorf("a placeholder note although --principal was given:\n%s", notes)
	}

	// Text, one mode, the default principal: the placeholder and its note.
	out, _, err = runRipcord(t, "", "iam-policy", "-f", name, "--mode", "recovery")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== target east: account 222233334444, us-east-1", "-- recovery policy", "-- trust policy of arn:aws:iam::222233334444:role/ripcord-dr",
		`"AWS": "arn:aws:iam::RUNNER_ACCOUNT_ID:root"`, "replace RUNNER_ACCOUNT_ID"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "-- drill policy") {
		t.Errorf("--mode recovery printed the drill policy")
	}

	// An account ID as --principal is its root.
	out, _, err = runRipcord(t, "", "iam-policy", "-f", name, "-o", "json", "--principal", "111122223333")
	if err != nil || !strings.Contains(out, `"principal": "arn:aws:iam::111122223333:root"`) {
		t.Errorf("--principal 111122223333: %v\n%.300s", err, out)
	}
}

func TestIAMPolicyCmdErrors(t *testing.T) {
	example, err := filepath.Abs("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"iam-policy", "orders"}, "missing -f"},
		{[]string{"iam-policy", "-f", example, "--mode", "dril"}, `--mode "dril": want drill`},
		{[]string{"iam-policy", "-f", example, "-o", "yaml"}, `--output "yaml": want text or json`},
		{[]string{"iam-policy", "-f", example, "--principal", "ripcord"}, `--principal "ripcord" is not an IAM principal`},
		{[]string{"iam-policy", "-f", example, "nope"}, `no plan named "nope"`},
	} {
		_, _, err := runRipcord(t, "", tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || ripcord.ErrorCode(err) == "" {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// TestIAMPolicyHealthChecks: a plan's health checks add what they call in
// EC2 and SSM to its drill and recovery policies (a HealthChecks
// statement); a plan without checks gets no such statement and no SSM.
func TestIAMPolicyHealthChecks(t *testing.T) {
	const checked = `
targets:
  - {name: dr, account: "111122223333", region: us-east-1}
protectionGroups:
  - {name: orders-db, target: dr, selector: {Application: orders, Tier: database}}
  - {name: orders-app, target: dr, selector: {Application: orders, Tier: app}}
plans:
  - name: orders
    waves:
      - name: database
        groups: [orders-db]
        health:
          - {type: ec2Status}
      - name: app
        groups: [orders-app]
      - name: smoke
        kind: check
        checks:
          - {type: ssm, document: AWS-RunShellScript, parameters: {commands: "true"}}
`
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{checked, []string{"ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "ssm:GetCommandInvocation", "ssm:SendCommand"}},
		{strings.NewReplacer("        health:\n          - {type: ec2Status}\n", "",
			"      - name: smoke\n        kind: check\n        checks:\n          - {type: ssm, document: AWS-RunShellScript, parameters: {commands: \"true\"}}\n", "").Replace(checked), nil},
	} {
		name := writePlan(t, "plans.yaml", tc.yaml)
		out, _, err := runRipcord(t, "", "iam-policy", "-f", name, "orders", "--output", "json", "--mode", "all")
		if err != nil {
			t.Fatal(err)
		}
		var res iamPolicies
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, d := range []*drs.PolicyDocument{res.Targets[0].DrillPolicy, res.Targets[0].RecoveryPolicy} {
			var got []string
			for _, a := range d.Actions() {
				if strings.HasPrefix(a, "ssm:") { // (EC2 reads are in DRS's own dependent actions too)
					got = append(got, a)
				}
			}
			var stmt []string
			for _, s := range d.Statement {
				if s.Sid == "HealthChecks" {
					stmt = s.Action
				}
			}
			if tc.want == nil {
				if len(got) != 0 || stmt != nil {
					t.Errorf("a plan without checks is granted %v (HealthChecks %v)", got, stmt)
				}
			} else if !slices.Equal(stmt, tc.want) {
				t.Errorf("HealthChecks statement %v; want %v", stmt, tc.want)
			}
		}
	}
}
