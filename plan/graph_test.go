package plan_test

import (
	"reflect"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/plan"
)

// planOf builds a plan of wait steps, each given as its name followed by
// the steps it is after.
func planOf(specs ...[]string) *ripcord.Plan {
	p := &ripcord.Plan{Name: "p"}
	for _, s := range specs {
		p.Steps = append(p.Steps, ripcord.Step{Name: s[0], Kind: ripcord.StepWait, After: s[1:]})
	}
	return p
}

func TestGraph(t *testing.T) {
	tests := []struct {
		name       string
		plan       *ripcord.Plan
		order      []string
		roots      []string
		dependents map[string][]string
		after      map[string][]string
	}{
		{
			name:       "chain",
			plan:       planOf([]string{"a"}, []string{"b", "a"}, []string{"c", "b"}),
			order:      []string{"a", "b", "c"},
			roots:      []string{"a"},
			dependents: map[string][]string{"a": {"b"}, "b": {"c"}, "c": nil},
			after:      map[string][]string{"a": nil, "c": {"b"}},
		},
		{
			name: "diamond declared backwards",
			plan: planOf([]string{"d", "b", "c"}, []string{"c", "a"}, []string{"b", "a"}, []string{"a"}),
			// Among ready steps the one declared first goes first: c before b.
			order:      []string{"a", "c", "b", "d"},
			roots:      []string{"a"},
			dependents: map[string][]string{"a": {"c", "b"}, "b": {"d"}, "c": {"d"}, "d": nil},
			after:      map[string][]string{"d": {"b", "c"}},
		},
		{
			name:       "independent steps and repeated after",
			plan:       planOf([]string{"x"}, []string{"y", "x", "x"}, []string{"z"}),
			order:      []string{"x", "y", "z"},
			roots:      []string{"x", "z"},
			dependents: map[string][]string{"x": {"y"}, "nope": nil},
			after:      map[string][]string{"y": {"x"}, "nope": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := plan.NewGraph(tt.plan)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Order(); !reflect.DeepEqual(got, tt.order) {
				t.Errorf("Order = %v, want %v", got, tt.order)
			}
			if got := g.Roots(); !reflect.DeepEqual(got, tt.roots) {
				t.Errorf("Roots = %v, want %v", got, tt.roots)
			}
			for step, want := range tt.dependents {
				if got := g.Dependents(step); !reflect.DeepEqual(got, want) {
					t.Errorf("Dependents(%s) = %v, want %v", step, got, want)
				}
			}
			for step, want := range tt.after {
				if got := g.After(step); !reflect.DeepEqual(got, want) {
					t.Errorf("After(%s) = %v, want %v", step, got, want)
				}
			}
			if got := g.Steps(); len(got) != len(tt.plan.Steps) {
				t.Errorf("Steps = %v", got)
			}
		})
	}
}

func TestNewGraphErrors(t *testing.T) {
	tests := []struct {
		name string
		plan *ripcord.Plan
		want string
	}{
		{
			name: "cycle",
			plan: planOf([]string{"a", "c"}, []string{"b", "a"}, []string{"c", "b"}, []string{"d", "d"}),
			want: `plan "p": step "d" is after itself; dependency cycle: a -> c -> b -> a`,
		},
		{
			name: "two cycles",
			plan: planOf([]string{"a", "b"}, []string{"b", "a"}, []string{"c", "d"}, []string{"d", "c"}),
			want: `plan "p": dependency cycle: a -> b -> a; dependency cycle: c -> d -> c`,
		},
		{
			name: "unknown and duplicate",
			plan: planOf([]string{"a", "zz"}, []string{"a"}),
			want: `plan "p": two steps are named "a"; step "a" is after "zz", which is no step of the plan`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan.NewGraph(tt.plan)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("NewGraph error = %v, want %s", err, tt.want)
			}
			if ripcord.ErrorCode(err) != ripcord.EINVALID {
				t.Errorf("code = %q, want EINVALID", ripcord.ErrorCode(err))
			}
		})
	}
}
