package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// approval checks what an approval step asks (and that no other step asks
// it): at least one approver, known roles, token names that are names, a
// timeout that is not negative, and onTimeout only with a timeout.
func (v *validator) approval(s ripcord.Step, path, subj string) {
	a := s.Approval
	if s.Kind != ripcord.StepApproval {
		if a != nil {
			var keys []string
			for k, set := range map[string]bool{"approverRoles": len(a.Roles) > 0, "approvers": len(a.Identities) > 0,
				"message": a.Message != "", "timeout": a.Timeout != 0, "onTimeout": a.OnTimeout != ""} {
				if set {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			at := path
			if len(keys) > 0 {
				at = path + "." + keys[0]
			}
			v.add(at, fmt.Sprintf("%s has %s, which only approval steps have", subj, strings.Join(keys, ", ")),
				"add kind: approval (and make it a step of its own), or remove them")
		}
		return
	}
	if len(s.Groups) > 0 || len(s.Servers) > 0 || s.Duration != 0 {
		v.add(path, fmt.Sprintf("approval %s cannot launch groups or servers or have a duration", subj),
			"remove groups, servers and duration (use timeout: for how long it waits), or make it a launch or wait step")
	}
	if a == nil || (len(a.Roles) == 0 && len(a.Identities) == 0) {
		v.add(path, fmt.Sprintf("approval %s names nobody who may approve", subj),
			"add approverRoles: [recovery] (roles whose tokens may approve) and/or approvers: [alice] (token names)")
		return
	}
	for k, r := range a.Roles {
		if !r.Valid() {
			v.add(fmt.Sprintf("%s.approverRoles[%d]", path, k), fmt.Sprintf("approverRoles of %s: unknown role %q", subj, r),
				suggest(string(r), strs(ripcord.Roles), "roles are viewer, operator, recovery and admin; "))
		}
	}
	for k, id := range a.Identities {
		if !nameRe.MatchString(id) {
			v.add(fmt.Sprintf("%s.approvers[%d]", path, k), fmt.Sprintf("approvers of %s: %q is not a token name", subj, id),
				"name the token as ripcord token create --name gave it: letters, digits, '.', '_' and '-'")
		}
	}
	if a.Timeout < 0 {
		v.add(path+".timeout", fmt.Sprintf("timeout of %s must not be negative", subj), "use a duration such as 30m, or leave it out to wait until someone decides")
	}
	switch {
	case a.OnTimeout == "":
	case !slices.Contains(ripcord.ApprovalOutcomes, a.OnTimeout):
		v.add(path+".onTimeout", fmt.Sprintf("onTimeout of %s: %q is neither fail nor continue", subj, a.OnTimeout),
			suggest(a.OnTimeout, ripcord.ApprovalOutcomes, "use "))
	case a.Timeout == 0 && !v.src.isTainted(path+".timeout"):
		v.add(path+".onTimeout", fmt.Sprintf("%s has onTimeout but no timeout", subj),
			"add timeout: (such as timeout: 30m), or remove onTimeout: without a timeout the step waits until someone decides")
	}
}
