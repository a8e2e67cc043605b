package drssim

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Permissions of the roles a scenario declares (identity.go), on DRS
// actions. A role's Allow list names the actions its sessions may perform
// (drs:StartRecovery, drs:Describe*, drs:*, *: IAM's action patterns, where
// * matches any run of characters and ? one, case-insensitively); a role
// without one may do everything, as before. A request by a session of a
// role that lacks an action it needs is answered as DRS answers it: HTTP
// 403, AccessDeniedException, "User: <assumed-role ARN> is not authorized
// to perform: drs:<Action> on resource: <ARN>" (docs/drs.md §3, §18).
//
// Which actions a request needs: the operation's own (drs:<Operation>)
// and, for StartRecovery and StartFailbackLaunch with tags, drs:TagResource
// as well, checked on each source server of the request, as DRS reports it.
// Resources are the source servers, recovery instances or job a request
// names, in the account and region it acts in; operations that name none
// (DescribeJobs, DescribeSourceServers, DescribeRecoveryInstances) are
// checked on "*". Only actions are modelled: resources and conditions of a
// policy are not (a role is allowed an action on every resource or none).
//
// Revoke and Grant change a role's actions at run time, so that a test can
// take a permission away in the middle of an execution and give it back.
// Long-term access keys (IAM users) have no policies: they may do
// everything.

// actionPatternRe is an IAM action pattern: service:Action with * and ?,
// or * alone.
var actionPatternRe = regexp.MustCompile(`^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+)$`)

func validActionPattern(p string) bool { return actionPatternRe.MatchString(p) }

// actionMatches reports whether IAM action pattern p matches action a
// (service:Action), case-insensitively as IAM compares actions.
func actionMatches(p, a string) bool {
	return globMatch(strings.ToLower(p), strings.ToLower(a))
}

// globMatch matches s against p, where * is any run of characters and ?
// one character.
func globMatch(p, s string) bool {
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(s) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == s[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// allows reports whether the role may perform action: its Allow list (nil:
// everything) matches it and no revoked pattern does.
func (r *role) allows(action string) bool {
	for _, p := range r.revoked {
		if actionMatches(p, action) {
			return false
		}
	}
	if r.allow == nil {
		return true
	}
	for _, p := range r.allow {
		if actionMatches(p, action) {
			return true
		}
	}
	return false
}

// need is one action a request needs, on one resource.
type need struct{ action, resource string }

// needs lists what rq needs, in the order DRS checks it: the operation's
// own action on each resource the request names, then drs:TagResource when
// the request tags what it creates.
func needs(rq *request) []need {
	arn := func(kind, id string) string {
		return "arn:aws:drs:" + rq.region + ":" + rq.account + ":" + kind + "/" + id
	}
	var res []string
	var tagged bool
	switch in := rq.input.(type) {
	case *StartRecoveryInput:
		for _, s := range in.SourceServers {
			res = append(res, arn("source-server", s.SourceServerID))
		}
		tagged = len(in.Tags) > 0
	case *StartFailbackLaunchInput:
		for _, id := range in.RecoveryInstanceIDs {
			res = append(res, arn("recovery-instance", id))
		}
		tagged = len(in.Tags) > 0
	case *TerminateRecoveryInstancesInput:
		for _, id := range in.RecoveryInstanceIDs {
			res = append(res, arn("recovery-instance", id))
		}
	case *DescribeJobLogItemsInput:
		res = append(res, arn("job", in.JobID))
	case *DeleteJobInput:
		res = append(res, arn("job", in.JobID))
	case *GetLaunchConfigurationInput:
		res = append(res, arn("source-server", in.SourceServerID))
	case *UpdateLaunchConfigurationInput:
		res = append(res, arn("source-server", in.SourceServerID))
	case *DescribeRecoverySnapshotsInput:
		res = append(res, arn("source-server", in.SourceServerID))
	}
	if rq.arn != "" { // the tag operations name their resource in the path
		res = append(res, rq.arn)
	}
	if len(res) == 0 {
		res = []string{"*"}
	}
	var out []need
	for _, r := range res {
		out = append(out, need{"drs:" + rq.op.name, r})
	}
	if tagged {
		for _, r := range res {
			out = append(out, need{"drs:TagResource", r})
		}
	}
	return out
}

// authorize answers the AccessDeniedException DRS would when c is a
// session of a role that lacks an action rq needs; nil otherwise.
func (s *Sim) authorize(c caller, rq *request) *apiError {
	if c.roleARN == "" {
		return nil
	}
	id := s.ids
	id.mu.Lock()
	defer id.mu.Unlock()
	r := id.roles[c.roleARN]
	if r == nil {
		return nil
	}
	for _, n := range needs(rq) {
		if !r.allows(n.action) {
			id.denied[n.action]++
			return errAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", c.arn, n.action, n.resource))
		}
	}
	return nil
}

// Revoke takes actions (IAM action patterns) away from the role with ARN
// roleARN: from now on its sessions are refused any action a pattern
// matches, whatever its Allow list says, until Grant gives it back.
func (s *Sim) Revoke(roleARN string, actions ...string) error {
	return s.changeGrants(roleARN, actions, func(r *role, a string) {
		if !containsFold(r.revoked, a) {
			r.revoked = append(r.revoked, a)
		}
	})
}

// Grant gives actions (IAM action patterns) to the role with ARN roleARN:
// it undoes a Revoke of the same pattern and, for a role with an Allow
// list, adds the pattern to it.
func (s *Sim) Grant(roleARN string, actions ...string) error {
	return s.changeGrants(roleARN, actions, func(r *role, a string) {
		r.revoked = deleteFold(r.revoked, a)
		if r.allow != nil && !containsFold(r.allow, a) {
			r.allow = append(r.allow, a)
		}
	})
}

func (s *Sim) changeGrants(roleARN string, actions []string, change func(*role, string)) error {
	if len(actions) == 0 {
		return fmt.Errorf("no actions given: name IAM actions such as drs:StartRecovery or drs:Describe*")
	}
	for _, a := range actions {
		if !validActionPattern(a) {
			return fmt.Errorf("action %q must be an IAM action such as drs:StartRecovery, a pattern such as drs:Describe*, or *", a)
		}
	}
	id := s.ids
	id.mu.Lock()
	defer id.mu.Unlock()
	r := id.roles[roleARN]
	if r == nil {
		known := make([]string, 0, len(id.roles))
		for k := range id.roles {
			known = append(known, k)
		}
		sort.Strings(known)
		return fmt.Errorf("no role %s: %w (the roles are: %s)", roleARN, errNoRole, strings.Join(known, ", "))
	}
	for _, a := range actions {
		change(r, a)
	}
	return nil
}

var errNoRole = errors.New("unknown role")

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func deleteFold(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if !strings.EqualFold(x, s) {
			out = append(out, x)
		}
	}
	return out
}

// permissionsChange is the body of POST /_sim/sts/roles/permissions.
type permissionsChange struct {
	Role   string   `json:"role"`
	Revoke []string `json:"revoke,omitempty"`
	Grant  []string `json:"grant,omitempty"`
}

func (s *Sim) applyPermissionsChange(c permissionsChange) error {
	if len(c.Revoke) == 0 && len(c.Grant) == 0 {
		return fmt.Errorf("give revoke and/or grant: lists of IAM actions such as [\"drs:StartRecovery\"]")
	}
	if len(c.Revoke) > 0 {
		if err := s.Revoke(c.Role, c.Revoke...); err != nil {
			return err
		}
	}
	if len(c.Grant) > 0 {
		return s.Grant(c.Role, c.Grant...)
	}
	return nil
}
