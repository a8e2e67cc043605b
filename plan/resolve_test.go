package plan_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/plan"
)

// resolveFile is two targets: groups by selector and by ID, a server marked
// optional in its group's step, a wait step, and an explicit server.
const resolveFile = `
targets:
  - {name: east, account: "111122223333", region: us-east-1}
  - {name: west, account: "444455556666", region: us-west-2}
protectionGroups:
  - {name: db, target: east, selector: {Tier: database}}
  - {name: app, target: east, selector: {Tier: app}, servers: [s-00000000000000e03]}
  - {name: reports, target: west, servers: [s-00000000000000w01]}
plans:
  - name: p
    waves:
      - name: database
        groups: [db]
        servers: [{id: s-00000000000000e02, target: east, optional: true}]
      - name: settle
        kind: wait
        duration: 1m
      - name: rest
        groups: [app, reports]
        servers: [{id: s-00000000000000w02, target: west}]
`

func inventory() map[string][]plan.SourceServerInfo {
	return map[string][]plan.SourceServerInfo{
		"east": {
			{ID: "s-00000000000000e01", Tags: map[string]string{"Tier": "database"}},
			{ID: "s-00000000000000e02", Tags: map[string]string{"Tier": "database"}},
			{ID: "s-00000000000000e03", Tags: map[string]string{"Tier": "app"}},
			{ID: "s-00000000000000e04", Tags: map[string]string{"Tier": "app", "Extra": "x"}},
			{ID: "s-00000000000000e05", Tags: map[string]string{"Tier": "web"}},
		},
		"west": {
			{ID: "s-00000000000000w01"},
			{ID: "s-00000000000000w02", Tags: map[string]string{"Tier": "database"}},
		},
	}
}

func decodeString(t *testing.T, src string) *ripcord.PlanFile {
	t.Helper()
	f, err := plan.Decode("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return f
}

func TestResolve(t *testing.T) {
	f := decodeString(t, resolveFile)
	got, err := plan.Resolve(f, "p", inventory())
	if err != nil {
		t.Fatal(err)
	}
	want := []ripcord.ResolvedStep{
		{Step: "database", Servers: []ripcord.ResolvedServer{
			{Target: "east", ID: "s-00000000000000e01", Groups: []string{"db"}},
			{Target: "east", ID: "s-00000000000000e02", Optional: true, Groups: []string{"db"}},
		}},
		{Step: "rest", Servers: []ripcord.ResolvedServer{
			{Target: "east", ID: "s-00000000000000e03", Groups: []string{"app"}},
			{Target: "east", ID: "s-00000000000000e04", Groups: []string{"app"}},
			{Target: "west", ID: "s-00000000000000w01", Groups: []string{"reports"}},
			{Target: "west", ID: "s-00000000000000w02"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve =\n%+v\nwant\n%+v", got, want)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(map[string][]plan.SourceServerInfo)
		plan     string
		wantCode string
		want     []string // lines of the error
	}{
		{
			name: "explicit server gone",
			edit: func(inv map[string][]plan.SourceServerInfo) { inv["west"] = inv["west"][1:] },
			plan: "p", wantCode: ripcord.ENOTFOUND,
			want: []string{`protection group "reports": server s-00000000000000w01 is not a source server of target "west" (account 444455556666, us-west-2)`},
		},
		{
			name: "selector matches nothing and a step's server is gone",
			edit: func(inv map[string][]plan.SourceServerInfo) {
				inv["east"] = inv["east"][2:]
				inv["west"] = inv["west"][:1]
			},
			plan: "p", wantCode: ripcord.ENOTFOUND,
			want: []string{
				`protection group "db": selector Tier=database matches none of the 3 source servers of target "east" (account 111122223333, us-east-1)`,
				`step "database": server s-00000000000000e02 is not a source server of target "east" (account 111122223333, us-east-1)`,
				`step "rest": server s-00000000000000w02 is not a source server of target "west" (account 444455556666, us-west-2)`,
			},
		},
		{
			name: "tags put a server in two steps",
			edit: func(inv map[string][]plan.SourceServerInfo) {
				inv["east"][0].Tags = map[string]string{"Tier": "database"}
				inv["east"][2].Tags = map[string]string{"Tier": "database"} // e03 is also in app by ID
			},
			plan: "p", wantCode: ripcord.EINVALID,
			want: []string{`server s-00000000000000e03 is launched by two steps of plan "p": "database" (through protection group "db") and "rest" (through protection group "app")`},
		},
		{
			name: "unknown plan",
			plan: "q", wantCode: ripcord.ENOTFOUND,
			want: []string{`no plan named "q"`},
		},
		{
			name: "no servers listed for a target",
			edit: func(inv map[string][]plan.SourceServerInfo) { delete(inv, "east") },
			plan: "p", wantCode: ripcord.ENOTFOUND,
			want: []string{
				`protection group "db": selector Tier=database matches none of the 0 source servers of target "east" (account 111122223333, us-east-1)`,
				`step "database": server s-00000000000000e02 is not a source server of target "east" (account 111122223333, us-east-1)`,
				`protection group "app": server s-00000000000000e03 is not a source server of target "east" (account 111122223333, us-east-1)`,
				`protection group "app": selector Tier=app matches none of the 0 source servers of target "east" (account 111122223333, us-east-1)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := inventory()
			if tt.edit != nil {
				tt.edit(inv)
			}
			_, err := plan.Resolve(decodeString(t, resolveFile), tt.plan, inv)
			if err == nil {
				t.Fatal("Resolve succeeded, want an error")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("error =\n%s\nwant\n%s", err, strings.Join(tt.want, "\n"))
			}
			if code := ripcord.ErrorCode(err); code != tt.wantCode {
				t.Errorf("code = %q, want %q", code, tt.wantCode)
			}
			if hint := ripcord.ErrorHint(err); hint == "" {
				t.Errorf("no hint")
			}
		})
	}
}

// TestResolveInvalidFile checks that Resolve refuses a file that does not
// validate instead of resolving nonsense.
func TestResolveInvalidFile(t *testing.T) {
	f := decodeString(t, resolveFile)
	f.Plans[0].Steps[0].Groups = []string{"nope"}
	_, err := plan.Resolve(f, "p", inventory())
	if err == nil || !strings.Contains(err.Error(), `unknown protection group "nope"`) {
		t.Fatalf("Resolve = %v, want the validation error", err)
	}
}
