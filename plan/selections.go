package plan

import (
	"maps"
	"slices"

	"github.com/ripcord-dr/ripcord"
)

// Selection is what a plan's launch steps select in one target, as the
// plan file writes it (nothing is resolved against DRS): source servers by
// ID, and the tag selectors of its protection groups. Least-privilege
// policies are scoped to it (ripcord iam-policy).
type Selection struct {
	Target    ripcord.Target
	Servers   []string            // sorted, once each
	Selectors []map[string]string // one per protection group with a selector, in first-use order
	// Overrides: a protection group launched in the target carries launch
	// overrides, so a run updates launch configurations there.
	Overrides bool
}

// Selections returns what the plan named planName selects in each target
// it launches in, in the order of f's targets. f must be valid (Validate).
func Selections(f *ripcord.PlanFile, planName string) ([]Selection, error) {
	one, err := f.Extract(planName)
	if err != nil {
		return nil, err
	}
	byTarget := map[string]*Selection{}
	get := func(name string) *Selection {
		if s := byTarget[name]; s != nil {
			return s
		}
		t, _ := one.Target(name)
		s := &Selection{Target: *t}
		byTarget[name] = s
		return s
	}
	seenGroup := map[string]bool{}
	for _, st := range one.Plans[0].Steps {
		if st.Kind != ripcord.StepLaunch {
			continue
		}
		for _, name := range st.Groups {
			g, ok := one.ProtectionGroup(name)
			if !ok || seenGroup[name] {
				continue
			}
			seenGroup[name] = true
			s := get(g.Target)
			s.Servers = append(s.Servers, g.Servers...)
			if len(g.Selector) > 0 {
				s.Selectors = append(s.Selectors, maps.Clone(g.Selector))
			}
			s.Overrides = s.Overrides || g.Launch != nil || len(g.ServerLaunch) > 0
		}
		for _, ref := range st.Servers {
			s := get(ref.Target)
			s.Servers = append(s.Servers, ref.ID)
		}
	}
	var out []Selection
	for _, t := range one.Targets {
		if s := byTarget[t.Name]; s != nil {
			slices.Sort(s.Servers)
			s.Servers = slices.Compact(s.Servers)
			out = append(out, *s)
		}
	}
	return out, nil
}
