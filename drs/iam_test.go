package drs

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// adapterOperations scans the adapter's own source (not its tests) for
// the DRS operations it calls: c.api.<Operation>(…) and
// awsdrs.New<Operation>Paginator(…).
func adapterOperations(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch x := sel.X.(type) {
			case *ast.SelectorExpr: // c.api.Op
				if x.Sel.Name == "api" {
					seen[sel.Sel.Name] = true
				}
			case *ast.Ident: // awsdrs.NewOpPaginator
				if x.Name == "awsdrs" && strings.HasPrefix(sel.Sel.Name, "New") && strings.HasSuffix(sel.Sel.Name, "Paginator") {
					seen[strings.TrimSuffix(strings.TrimPrefix(sel.Sel.Name, "New"), "Paginator")] = true
				}
			}
			return true
		})
	}
	var out []string
	for op := range seen {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// TestPermissionsCoverAdapter: every DRS operation the adapter calls has
// its row in Permissions, and every row is an operation it calls, so the
// policies ripcord iam-policy prints follow the code.
func TestPermissionsCoverAdapter(t *testing.T) {
	ops := adapterOperations(t)
	if len(ops) < 6 || !slices.Contains(ops, "StartRecovery") || !slices.Contains(ops, "DescribeJobs") {
		t.Fatalf("the scan found %v: it no longer sees the adapter's calls", ops)
	}
	rows := map[string]Permission{}
	for _, p := range Permissions {
		if _, dup := rows[p.Operation]; dup {
			t.Errorf("%s has two rows", p.Operation)
		}
		rows[p.Operation] = p
		if p.Action != "drs:"+p.Operation {
			t.Errorf("%s: action %s, want drs:%s", p.Operation, p.Action, p.Operation)
		}
		if p.Uses == 0 {
			t.Errorf("%s: no use", p.Operation)
		}
		if !slices.Contains(ops, p.Operation) {
			t.Errorf("Permissions lists %s, which the adapter does not call: remove the row", p.Operation)
		}
	}
	for _, op := range ops {
		if _, ok := rows[op]; !ok {
			t.Errorf("the adapter calls %s, which Permissions lacks: add its IAM action and uses", op)
		}
	}
}

func statement(t *testing.T, d PolicyDocument, sid string) Statement {
	t.Helper()
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s
		}
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	t.Fatalf("no statement %s in\n%s", sid, b)
	return Statement{}
}

func TestPolicyScopes(t *testing.T) {
	tgt := PolicyTarget{Account: "222233334444", Region: "eu-west-1", Servers: []string{"s-2222222222222222b", "s-1111111111111111a"},
		Selectors: []map[string]string{{"Application": "orders", "Tier": "web"}}}
	drill, rec := Policy(tgt, ModeDrill), Policy(tgt, ModeRecovery)

	srv := statement(t, drill, "PlanServers")
	wantRes := []string{"arn:aws:drs:eu-west-1:222233334444:source-server/s-1111111111111111a",
		"arn:aws:drs:eu-west-1:222233334444:source-server/s-2222222222222222b"}
	if !slices.Equal(srv.Resource, wantRes) || !slices.Contains(srv.Action, "drs:StartRecovery") {
		t.Errorf("PlanServers: %+v", srv)
	}
	byTag := statement(t, drill, "PlanServersByTag1")
	if byTag.Resource[0] != "arn:aws:drs:eu-west-1:222233334444:source-server/*" ||
		byTag.Condition["StringEquals"]["aws:ResourceTag/Tier"] != "web" || byTag.Condition["StringEquals"]["aws:ResourceTag/Application"] != "orders" {
		t.Errorf("PlanServersByTag1: %+v", byTag)
	}
	tag := statement(t, drill, "TagJobsAtLaunch")
	if tag.Condition["StringEquals"]["drs:CreateAction"] != "StartRecovery" {
		t.Errorf("drs:TagResource must be limited to StartRecovery's creation: %+v", tag)
	}
	if r := statement(t, drill, "ReadDRS").Resource; !slices.Equal(r, []string{"*"}) {
		t.Errorf("actions without resource-level permissions need *: %v", r)
	}
	statement(t, drill, "CleanUpDrillInstances")
	if pass := statement(t, drill, "PassInstanceRoleToEC2"); pass.Condition["StringEquals"]["iam:PassedToService"] != "ec2.amazonaws.com" {
		t.Errorf("iam:PassRole unconditioned: %+v", pass)
	}
	if a := statement(t, drill, "DRSLaunchesWithYourPermissions").Action; !slices.Contains(a, "ec2:RunInstances") || slices.Contains(a, "iam:PassRole") {
		t.Errorf("dependent actions: %v", a)
	}

	// The recovery policy is the drill's plus what a recovery adds: every
	// action of the drill policy is in it.
	ra := rec.Actions()
	for _, a := range drill.Actions() {
		if !slices.Contains(ra, a) {
			t.Errorf("the recovery policy lacks the drill's %s", a)
		}
	}
	// No statement grants anything outside the target's account and region.
	for _, d := range []PolicyDocument{drill, rec} {
		for _, s := range d.Statement {
			for _, r := range s.Resource {
				if r != "*" && !strings.HasPrefix(r, "arn:aws:drs:eu-west-1:222233334444:") {
					t.Errorf("%s: resource %s outside the target", s.Sid, r)
				}
			}
		}
	}
	// Without servers named by ID there is no empty PlanServers statement.
	for _, s := range Policy(PolicyTarget{Account: "222233334444", Region: "eu-west-1"}, ModeDrill).Statement {
		if s.Sid == "PlanServers" {
			t.Errorf("a PlanServers statement without servers: %+v", s)
		}
	}
	gov := Policy(PolicyTarget{Partition: "aws-us-gov", Account: "222233334444", Region: "us-gov-west-1", Servers: []string{"s-1111111111111111a"}}, ModeDrill)
	if r := statement(t, gov, "PlanServers").Resource[0]; !strings.HasPrefix(r, "arn:aws-us-gov:drs:") {
		t.Errorf("partition: %s", r)
	}
}

func TestTrustPolicy(t *testing.T) {
	b, err := json.Marshal(TrustPolicy("arn:aws:iam::111122223333:root", "ripcord-ext-7f3a"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"RipcordAssumesThisRole","Effect":"Allow",` +
		`"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["sts:AssumeRole"],` +
		`"Condition":{"StringEquals":{"sts:ExternalId":"ripcord-ext-7f3a"}}}]}`
	if string(b) != want {
		t.Errorf("trust policy\n%s\nwant\n%s", b, want)
	}
	if s := TrustPolicy("arn:aws:iam::111122223333:root", "").Statement[0]; s.Condition != nil {
		t.Errorf("a condition without an external ID: %+v", s.Condition)
	}
}

func TestParseDenial(t *testing.T) {
	d := parseDenial("User: arn:aws:sts::222233334444:assumed-role/ripcord-drs/ripcord is not authorized to perform: drs:StartRecovery on resource: arn:aws:drs:us-east-1:222233334444:source-server/s-0000000000000c0de")
	if d.action != "drs:StartRecovery" || d.resource != "arn:aws:drs:us-east-1:222233334444:source-server/s-0000000000000c0de" ||
		roleOf(d.principal) != "arn:aws:iam::222233334444:role/ripcord-drs" {
		t.Errorf("%+v, role %s", d, roleOf(d.principal))
	}
	if d := parseDenial("User: arn:aws:iam::111122223333:user/ops is not authorized to perform: drs:DescribeJobs"); d.action != "drs:DescribeJobs" ||
		d.resource != "" || roleOf(d.principal) != "arn:aws:iam::111122223333:user/ops" {
		t.Errorf("%+v", d)
	}
	if d := parseDenial("not authorized"); d != (denial{}) {
		t.Errorf("%+v", d)
	}
}

// TestPolicyOverrides: drs:UpdateLaunchConfiguration is granted only to a
// target where the plan has launch overrides.
func TestPolicyOverrides(t *testing.T) {
	pt := PolicyTarget{Account: "111122223333", Region: "us-east-1", Servers: []string{"s-3c1730a9e0771ea14"}}
	for _, overrides := range []bool{false, true} {
		pt.Overrides = overrides
		for _, mode := range []Mode{ModeDrill, ModeRecovery} {
			got := slices.Contains(Policy(pt, mode).Actions(), "drs:UpdateLaunchConfiguration")
			if got != overrides {
				t.Errorf("overrides %v, mode %s: drs:UpdateLaunchConfiguration granted %v", overrides, mode, got)
			}
		}
	}
}
