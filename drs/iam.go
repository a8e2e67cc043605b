package drs

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// What ripcord needs from IAM: the one table of the DRS operations this
// adapter calls, the IAM actions each needs and which of ripcord's work
// calls it, and the least-privilege policies built from it
// (docs/iam.md). A test scans the adapter's source for every DRS
// operation it calls and fails when one is missing here.

// Use says which of ripcord's work calls an operation.
type Use uint8

// Uses.
const (
	// UseDrill: a drill (launch, follow the jobs, record the launch
	// configurations after it, clean its instances up).
	UseDrill Use = 1 << iota
	// UseRecovery: a recovery (launch and follow the jobs; nothing is
	// cleaned up).
	UseRecovery
	// UseCheck: readiness checks (ripcord check, the checks of ripcord
	// serve) and the console's inventory.
	UseCheck
)

// Permission is what one DRS operation the adapter calls needs in IAM.
type Permission struct {
	// Operation is the DRS API operation, as the SDK names it.
	Operation string
	// Action is the IAM action that authorizes it: drs:<Operation>.
	Action string
	// Resource is the DRS resource type the action is checked on
	// (source-server, recovery-instance, job), or "" for an action with
	// no resource-level permissions (its statements must name "*").
	Resource string
	// TagsOnCreate: the call tags what it creates (ripcord's job tags),
	// so it needs drs:TagResource as well.
	TagsOnCreate bool
	// Dependent are the actions DRS performs with the caller's
	// permissions to carry the operation out (the "dependent actions" of
	// AWS's service authorization reference for DRS): without them the
	// call is accepted but its job fails.
	Dependent []string
	// Uses says which work calls it.
	Uses Use
	// OnlyForOverrides: called only for plans with launch overrides in
	// the target (PolicyTarget.Overrides).
	OnlyForOverrides bool
}

// Actions returns the IAM actions the call itself needs.
func (p Permission) Actions() []string {
	if p.TagsOnCreate {
		return []string{p.Action, "drs:TagResource"}
	}
	return []string{p.Action}
}

// Permissions are the DRS operations the adapter calls. Keep it in step
// with the adapter: TestPermissionsCoverAdapter fails otherwise.
var Permissions = []Permission{
	{Operation: "DescribeSourceServers", Action: "drs:DescribeSourceServers", Uses: UseDrill | UseRecovery | UseCheck},
	{Operation: "DescribeJobs", Action: "drs:DescribeJobs", Uses: UseDrill | UseRecovery | UseCheck},
	// Read to explain a server that failed to launch, and by the inventory.
	{Operation: "DescribeJobLogItems", Action: "drs:DescribeJobLogItems", Resource: "job", Uses: UseDrill | UseRecovery | UseCheck},
	{Operation: "StartRecovery", Action: "drs:StartRecovery", Resource: "source-server", TagsOnCreate: true,
		Dependent: []string{"drs:CreateRecoveryInstanceForDrs", "drs:ListTagsForResource",
			"ec2:AttachVolume", "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
			"ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:CreateSnapshot", "ec2:CreateTags",
			"ec2:CreateVolume", "ec2:DeleteLaunchTemplateVersions", "ec2:DeleteSnapshot", "ec2:DeleteVolume",
			"ec2:DescribeAccountAttributes", "ec2:DescribeAvailabilityZones", "ec2:DescribeImages",
			"ec2:DescribeInstanceAttribute", "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypes",
			"ec2:DescribeInstances", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplates",
			"ec2:DescribeSecurityGroups", "ec2:DescribeSnapshots", "ec2:DescribeSubnets", "ec2:DescribeVolumes",
			"ec2:DetachVolume", "ec2:ModifyInstanceAttribute", "ec2:ModifyLaunchTemplate",
			"ec2:RevokeSecurityGroupEgress", "ec2:RunInstances", "ec2:StartInstances", "ec2:StopInstances",
			"ec2:TerminateInstances", "iam:PassRole"},
		Uses: UseDrill | UseRecovery},
	{Operation: "DescribeRecoveryInstances", Action: "drs:DescribeRecoveryInstances",
		Dependent: []string{"drs:DescribeSourceServers", "ec2:DescribeInstances"}, Uses: UseDrill | UseRecovery},
	{Operation: "TerminateRecoveryInstances", Action: "drs:TerminateRecoveryInstances", Resource: "recovery-instance",
		Dependent: []string{"drs:DescribeSourceServers", "ec2:DeleteVolume", "ec2:DescribeInstances",
			"ec2:DescribeVolumes", "ec2:TerminateInstances"},
		Uses: UseDrill},
	// Fingerprints of the launch configurations after a good drill, and
	// the comparison with a plan's launch overrides at the start of a run.
	{Operation: "GetLaunchConfiguration", Action: "drs:GetLaunchConfiguration", Resource: "source-server", Uses: UseDrill | UseRecovery | UseCheck},
	// A plan's launch overrides, applied before a server's first launch.
	{Operation: "UpdateLaunchConfiguration", Action: "drs:UpdateLaunchConfiguration", Resource: "source-server",
		Uses: UseDrill | UseRecovery, OnlyForOverrides: true},
	{Operation: "DescribeRecoverySnapshots", Action: "drs:DescribeRecoverySnapshots", Resource: "source-server", Uses: UseCheck},
	// Failback and reprotect after a recovery (docs/failback.md): in the
	// recovery policy, the one for work that is not a drill.
	{Operation: "StartFailbackLaunch", Action: "drs:StartFailbackLaunch", Resource: "recovery-instance", TagsOnCreate: true,
		Uses: UseRecovery},
	{Operation: "ReverseReplication", Action: "drs:ReverseReplication", Resource: "recovery-instance", Uses: UseRecovery},
	{Operation: "StopFailback", Action: "drs:StopFailback", Resource: "recovery-instance", Uses: UseRecovery},
}

// Mode is which work a policy allows.
type Mode string

// Policy modes.
const (
	// ModeDrill allows drills (and readiness checks) only... as far as IAM
	// can tell: DRS has no condition key for StartRecovery's isDrill, so a
	// role that may drill may also recover (docs/iam.md).
	ModeDrill Mode = "drill"
	// ModeRecovery allows drills and recoveries.
	ModeRecovery Mode = "recovery"
)

// uses returns what a policy of mode m covers.
func (m Mode) uses() Use {
	if m == ModeRecovery {
		return UseDrill | UseRecovery | UseCheck
	}
	return UseDrill | UseCheck
}

// PolicyTarget is what a policy is written for: one target's account and
// region, and the source servers a plan launches there, by ID and by tag
// selector.
type PolicyTarget struct {
	Partition string // aws (default), aws-us-gov, aws-cn
	Account   string
	Region    string
	Servers   []string            // source server IDs (s-…)
	Selectors []map[string]string // protection groups' tag selectors
	// Overrides: the plan has launch overrides in the target, so its
	// policies grant drs:UpdateLaunchConfiguration.
	Overrides bool
}

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string]string         `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Actions returns every action the document allows, sorted, once each.
func (d PolicyDocument) Actions() []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Action...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Policy returns the least-privilege identity policy for mode in target
// t: the DRS actions of the operations the mode calls, scoped to t's
// account and region and, where DRS supports resource-level permissions,
// to the plan's source servers (by ARN, or by aws:ResourceTag conditions
// for tag selectors); drs:TagResource only while StartRecovery creates a
// job, with ripcord's tag keys; and the actions DRS performs with the
// caller's permissions while it launches and terminates.
func Policy(t PolicyTarget, mode Mode) PolicyDocument {
	part := t.Partition
	if part == "" {
		part = "aws"
	}
	arn := func(kind string) string {
		return fmt.Sprintf("arn:%s:drs:%s:%s:%s/", part, t.Region, t.Account, kind)
	}
	byRes := map[string][]string{}
	var tags, launches bool
	var dependent, creators []string // creators: the operations that tag what they create
	tagRes := []string{arn("job") + "*", arn("source-server") + "*"}
	var failback []string // recovery-instance actions other than a drill's cleanup
	for _, p := range Permissions {
		if p.Uses&mode.uses() == 0 || (p.OnlyForOverrides && !t.Overrides) {
			continue
		}
		if p.Resource == "recovery-instance" && p.Operation != "TerminateRecoveryInstances" {
			failback = append(failback, p.Action)
		} else {
			byRes[p.Resource] = append(byRes[p.Resource], p.Action)
		}
		if p.TagsOnCreate {
			tags = true
			creators = append(creators, p.Operation)
			if p.Resource == "recovery-instance" && !slices.Contains(tagRes, arn("recovery-instance")+"*") {
				tagRes = append(tagRes, arn("recovery-instance")+"*")
			}
		}
		launches = launches || p.Operation == "StartRecovery"
		dependent = append(dependent, p.Dependent...)
	}
	var createAction any = creators
	if len(creators) == 1 {
		createAction = creators[0]
	} else {
		sort.Strings(creators)
	}
	doc := PolicyDocument{Version: "2012-10-17"}
	add := func(s Statement) {
		s.Effect = "Allow"
		sort.Strings(s.Action)
		doc.Statement = append(doc.Statement, s)
	}
	if a := byRes[""]; len(a) > 0 {
		add(Statement{Sid: "ReadDRS", Action: a, Resource: []string{"*"}})
	}
	if a := byRes["job"]; len(a) > 0 {
		add(Statement{Sid: "ReadJobLogs", Action: a, Resource: []string{arn("job") + "*"}})
	}
	if a := byRes["source-server"]; len(a) > 0 {
		if len(t.Servers) > 0 {
			var res []string
			for _, id := range t.Servers {
				res = append(res, arn("source-server")+id)
			}
			sort.Strings(res)
			add(Statement{Sid: "PlanServers", Action: a, Resource: slices.Compact(res)})
		}
		for i, sel := range t.Selectors {
			cond := map[string]any{}
			for k, v := range sel {
				cond["aws:ResourceTag/"+k] = v
			}
			add(Statement{Sid: fmt.Sprintf("PlanServersByTag%d", i+1), Action: slices.Clone(a),
				Resource: []string{arn("source-server") + "*"}, Condition: map[string]map[string]any{"StringEquals": cond}})
		}
	}
	if tags {
		add(Statement{Sid: "TagJobsAtLaunch", Action: []string{"drs:TagResource"},
			Resource: tagRes,
			Condition: map[string]map[string]any{
				"StringEquals":              {"drs:CreateAction": createAction},
				"ForAllValues:StringEquals": {"aws:TagKeys": []string{ripcord.TagExecution, ripcord.TagBatch, ripcord.TagStep, ripcord.TagPlan}},
			}})
	}
	if a := byRes["recovery-instance"]; len(a) > 0 {
		add(Statement{Sid: "CleanUpDrillInstances", Action: a, Resource: []string{arn("recovery-instance") + "*"}})
	}
	if len(failback) > 0 {
		// Reprotect and failback after a recovery (docs/failback.md).
		add(Statement{Sid: "FailBackRecoveryInstances", Action: failback, Resource: []string{arn("recovery-instance") + "*"}})
	}
	if launches {
		var rest []string
		pass := false
		for _, a := range dependent {
			if a == "iam:PassRole" {
				pass = true
				continue
			}
			rest = append(rest, a)
		}
		sort.Strings(rest)
		add(Statement{Sid: "DRSLaunchesWithYourPermissions", Action: slices.Compact(rest), Resource: []string{"*"}})
		if pass {
			add(Statement{Sid: "PassInstanceRoleToEC2", Action: []string{"iam:PassRole"}, Resource: []string{"*"},
				Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}})
		}
	}
	return doc
}

// TrustPolicy returns the trust policy of a target's role: principal (an
// account root, user or role ARN) may assume it, with externalID as its
// sts:ExternalId when one is given.
func TrustPolicy(principal, externalID string) PolicyDocument {
	s := Statement{Sid: "RipcordAssumesThisRole", Effect: "Allow", Principal: map[string]string{"AWS": principal},
		Action: []string{"sts:AssumeRole"}}
	if externalID != "" {
		s.Condition = map[string]map[string]any{"StringEquals": {"sts:ExternalId": externalID}}
	}
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{s}}
}

// AssumePolicy returns the identity policy the principal running ripcord
// needs to assume the targets' roles.
func AssumePolicy(roleARNs []string) PolicyDocument {
	roles := slices.Clone(roleARNs)
	sort.Strings(roles)
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{{Sid: "AssumeTargetRoles", Effect: "Allow",
		Action: []string{"sts:AssumeRole"}, Resource: slices.Compact(roles)}}}
}

// deniedRe reads IAM's refusal: "User: <ARN> is not authorized to
// perform: <action> [on resource: <ARN>]".
var deniedRe = regexp.MustCompile(`User: (\S+) is not authorized to perform: ([a-zA-Z0-9-]+:[a-zA-Z0-9]+)(?: on resource: (\S+))?`)

// assumedRoleRe reads an assumed-role session ARN.
var assumedRoleRe = regexp.MustCompile(`^arn:([a-z-]+):sts::([0-9]{12}):assumed-role/([\w+=,.@-]+)/`)

// denial is what an AccessDeniedException says: who was refused which
// action on what. Empty fields were not in the message.
type denial struct{ principal, action, resource string }

func parseDenial(msg string) denial {
	m := deniedRe.FindStringSubmatch(msg)
	if m == nil {
		return denial{}
	}
	return denial{principal: m[1], action: m[2], resource: strings.TrimRight(m[3], ".")}
}

// roleOf names the role a principal ARN acts as: the role of an assumed-role
// session, else the principal itself.
func roleOf(principal string) string {
	if m := assumedRoleRe.FindStringSubmatch(principal); m != nil {
		return "arn:" + m[1] + ":iam::" + m[2] + ":role/" + m[3]
	}
	return principal
}
