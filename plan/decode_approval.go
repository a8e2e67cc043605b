package plan

import "github.com/ripcord-dr/ripcord"

// approvalKeys are the keys of a step that say what an approval step asks.
var approvalKeys = []string{"approverRoles", "approvers", "message", "timeout", "onTimeout"}

// approval decodes the approval keys of a step, or nil when it has none:
// the validator checks that only approval steps have them, and that
// approval steps do.
func (d *decoder) approval(m values, path, subj string) *ripcord.Approval {
	any := false
	for _, k := range approvalKeys {
		any = any || m.get(k) != nil
	}
	if !any {
		return nil
	}
	a := &ripcord.Approval{
		Identities: d.list(m, "approvers", path, subj),
		Message:    scalar(m, "message"),
		Timeout:    d.duration(m, "timeout", path, subj),
		OnTimeout:  scalar(m, "onTimeout"),
	}
	for _, r := range d.list(m, "approverRoles", path, subj) {
		a.Roles = append(a.Roles, ripcord.Role(r))
	}
	return a
}
