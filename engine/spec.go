package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// BuildSpec freezes a plan and its resolved servers into what an execution
// runs. resolved comes from plan.Resolve, one entry per launch step.
func BuildSpec(f *ripcord.PlanFile, planName string, mode ripcord.Mode, resolved []ripcord.ResolvedStep) (Spec, error) {
	p, ok := f.Plan(planName)
	if !ok {
		return Spec{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: fmt.Sprintf("no plan %q", planName)}
	}
	one, err := f.Extract(planName)
	if err != nil {
		return Spec{}, err
	}
	byStep := map[string]ripcord.ResolvedStep{}
	for _, rs := range resolved {
		byStep[rs.Step] = rs
	}
	spec := Spec{Plan: p.Name, PlanHash: one.Hash(), Mode: mode, Settings: p.Settings, Targets: one.Targets}
	if spec.Settings.ConflictDeadline == 0 {
		spec.Settings.ConflictDeadline = ripcord.DefaultConflictDeadline
	}
	for _, st := range p.Steps {
		ss := SpecStep{Name: st.Name, Kind: st.Kind, After: st.After, Duration: st.Duration, Approval: st.Approval, Health: st.Health, Checks: st.Checks, Hook: st.Hook, Hooks: st.Hooks}
		if st.Kind == ripcord.StepLaunch {
			rs, ok := byStep[st.Name]
			if !ok || len(rs.Servers) == 0 {
				return Spec{}, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("launch step %s resolved to no servers", st.Name)}
			}
			for _, sv := range rs.Servers {
				ss.Servers = append(ss.Servers, SpecServer{ID: sv.ID, Target: sv.Target, Optional: sv.Optional})
				if sv.Launch != nil {
					if spec.Launch == nil {
						spec.Launch = map[string]ripcord.LaunchOverrides{}
					}
					spec.Launch[ServerKey(sv.Target, sv.ID)] = *sv.Launch
				}
			}
		}
		spec.Steps = append(spec.Steps, ss)
	}
	if mode == ripcord.ModeFailback {
		// Failback runs the plan backwards and launches nothing from
		// the source side: no launch overrides (failback.go).
		spec.Steps = reverseAfter(spec.Steps)
		spec.Launch = nil
	}
	spec.Exclusive = ExclusiveKey(spec)
	return spec, nil
}

// ExclusiveKey names what two live executions must not share: the plan and
// the accounts and regions of its targets.
func ExclusiveKey(spec Spec) string {
	var where []string
	for _, t := range spec.Targets {
		where = append(where, t.Account+"/"+t.Region)
	}
	slices.Sort(where)
	return spec.Plan + "@" + strings.Join(slices.Compact(where), ",")
}
