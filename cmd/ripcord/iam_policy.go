package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/plan"
)

// placeholderPrincipal stands for the principal that runs ripcord when
// --principal is not given: the root of its account, whose ID ripcord
// cannot know without calling AWS.
const placeholderPrincipal = "arn:aws:iam::RUNNER_ACCOUNT_ID:root"

// iamPolicyConfig is the configuration of `ripcord iam-policy`.
type iamPolicyConfig struct {
	File      string
	Plan      string
	Mode      string
	Output    string
	Principal string
}

var principalRe = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+)$`)

func (c *iamPolicyConfig) Validate() error {
	switch {
	case c.File == "":
		return errInvalid("missing -f: name the plan file, e.g. ripcord iam-policy -f plans.yaml orders")
	case c.Mode != "drill" && c.Mode != "recovery" && c.Mode != "all":
		return errInvalid("--mode %q: want drill (the drill policy), recovery (drills and recoveries) or all (both)", c.Mode)
	case c.Output != "text" && c.Output != "json":
		return errInvalid("--output %q: want text or json", c.Output)
	}
	if len(c.Principal) == 12 && strings.Trim(c.Principal, "0123456789") == "" {
		c.Principal = "arn:aws:iam::" + c.Principal + ":root"
	}
	if c.Principal != "" && !principalRe.MatchString(c.Principal) {
		return errInvalid("--principal %q is not an IAM principal: give the ARN of the role or user ripcord runs as "+
			"(arn:aws:iam::111122223333:role/ripcord), or an account ID for its account's root", c.Principal)
	}
	return nil
}

func newIAMPolicyCmd() *cobra.Command {
	cfg := iamPolicyConfig{Mode: "all", Output: "text"}
	cmd := &cobra.Command{
		Use:   "iam-policy -f FILE [PLAN]",
		Short: "Print the least-privilege IAM policies a plan needs",
		Long: `iam-policy prints, for each target of a plan, the least-privilege IAM
policies ripcord needs there: one for drills (and readiness checks), one for
recoveries (drills and recoveries), and, for a target with a roleArn, the
trust policy of that role, which lets the principal running ripcord assume
it with the target's external ID (sts:ExternalId). The actions are those
ripcord's DRS adapter calls; source servers are scoped by ARN, or by
aws:ResourceTag conditions for protection groups that select by tags
(docs/iam.md). It reads only the plan file: nothing is called.

--principal is who runs ripcord (a role or user ARN, or an account ID); by
default the trust policies name RUNNER_ACCOUNT_ID's root, to be replaced.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				cfg.Plan = args[0]
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return iamPolicy(cmd.InOrStdin(), cmd.OutOrStdout(), cfg)
		},
	}
	cmd.Flags().StringVarP(&cfg.File, "file", "f", "", "plan file (- reads standard input)")
	cmd.Flags().StringVar(&cfg.Mode, "mode", cfg.Mode, "which policies: drill, recovery or all")
	cmd.Flags().StringVarP(&cfg.Output, "output", "o", cfg.Output, "output format: text or json")
	cmd.Flags().StringVar(&cfg.Principal, "principal", "", "the role or user ARN (or account ID) that runs ripcord, trusted by the targets' roles")
	return cmd
}

// targetPolicies are the policies of one target.
type targetPolicies struct {
	Target         string              `json:"target"`
	Account        string              `json:"account"`
	Region         string              `json:"region"`
	RoleARN        string              `json:"roleArn,omitempty"`
	ExternalID     string              `json:"externalId,omitempty"`
	AttachTo       string              `json:"attachTo"`
	DrillPolicy    *drs.PolicyDocument `json:"drillPolicy,omitempty"`
	RecoveryPolicy *drs.PolicyDocument `json:"recoveryPolicy,omitempty"`
	TrustPolicy    *drs.PolicyDocument `json:"trustPolicy,omitempty"`
}

// iamPolicies is what iam-policy prints.
type iamPolicies struct {
	Plan      string           `json:"plan"`
	Mode      string           `json:"mode"`
	Principal string           `json:"principal"`
	Targets   []targetPolicies `json:"targets"`
	// RunnerPolicy lets the principal assume the targets' roles.
	RunnerPolicy *drs.PolicyDocument `json:"runnerPolicy,omitempty"`
	Notes        []string            `json:"notes"`
}

func iamPolicy(stdin io.Reader, out io.Writer, cfg iamPolicyConfig) error {
	file, _, planName, err := loadOnePlan(stdin, cfg.File, cfg.Plan, "print policies for")
	if err != nil {
		return err
	}
	sels, err := plan.Selections(file, planName)
	if err != nil {
		return err
	}
	res := buildIAMPolicies(planName, cfg, sels)
	if p, ok := file.Plan(planName); ok {
		addHealthCheckActions(&res, *p)
	}
	if cfg.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printIAMPolicies(out, res)
	return nil
}

func buildIAMPolicies(planName string, cfg iamPolicyConfig, sels []plan.Selection) iamPolicies {
	res := iamPolicies{Plan: planName, Mode: cfg.Mode, Principal: cfg.Principal, Notes: []string{}}
	if res.Principal == "" {
		res.Principal = placeholderPrincipal
	}
	var roles []string
	extIDs := map[string][]string{}
	for _, s := range sels {
		t := s.Target
		pt := drs.PolicyTarget{Account: t.Account, Region: t.Region, Servers: s.Servers, Selectors: s.Selectors, Overrides: s.Overrides}
		attach := "the identity that runs ripcord (the target has no roleArn: ripcord calls DRS in account " + t.Account + " with its own credentials)"
		if t.RoleARN != "" {
			pt.Partition = strings.SplitN(t.RoleARN, ":", 3)[1]
			attach = t.RoleARN
		}
		tp := targetPolicies{Target: t.Name, Account: t.Account, Region: t.Region, RoleARN: t.RoleARN, ExternalID: t.ExternalID, AttachTo: attach}
		if cfg.Mode == "drill" || cfg.Mode == "all" {
			d := drs.Policy(pt, drs.ModeDrill)
			tp.DrillPolicy = &d
		}
		if cfg.Mode == "recovery" || cfg.Mode == "all" {
			d := drs.Policy(pt, drs.ModeRecovery)
			tp.RecoveryPolicy = &d
		}
		if t.RoleARN != "" {
			d := drs.TrustPolicy(res.Principal, t.ExternalID)
			tp.TrustPolicy = &d
			roles = append(roles, t.RoleARN)
			if t.ExternalID == "" {
				res.Notes = append(res.Notes, fmt.Sprintf("target %s: role %s has no externalId; give each target its own "+
					"(externalId in the plan) so that its trust policy requires it (sts:ExternalId)", t.Name, t.RoleARN))
			} else {
				extIDs[t.ExternalID] = append(extIDs[t.ExternalID], t.Name)
			}
		}
		res.Targets = append(res.Targets, tp)
	}
	ids := slices.Sorted(maps.Keys(extIDs))
	for _, id := range ids {
		if names := extIDs[id]; len(names) > 1 {
			res.Notes = append(res.Notes, fmt.Sprintf("targets %s share the external ID %q: one external ID for several roles "+
				"defeats its purpose; give each target its own", strings.Join(names, ", "), id))
		}
	}
	if len(roles) > 0 {
		d := drs.AssumePolicy(roles)
		res.RunnerPolicy = &d
		if cfg.Principal == "" {
			res.Notes = append(res.Notes, "the trust policies name "+placeholderPrincipal+": replace RUNNER_ACCOUNT_ID with "+
				"the account ripcord runs in, or pass --principal with the role or user ARN it runs as (narrower than the account's root)")
		}
	}
	res.Notes = append(res.Notes,
		"IAM cannot tell a drill from a recovery: StartRecovery's isDrill has no condition key, so a role allowed to drill may also start a recovery; "+
			"keep the drill role's use to drills by who may assume it",
		"the DRSLaunchesWithYourPermissions and PassInstanceRoleToEC2 statements are the actions DRS performs with the caller's permissions "+
			"while it launches and terminates (EC2 and iam:PassRole); the recovery instances' own role is DRS's, not these")
	return res
}

func printIAMPolicies(out io.Writer, res iamPolicies) {
	doc := func(title string, d *drs.PolicyDocument) {
		if d == nil {
			return
		}
		b, _ := json.MarshalIndent(d, "", "  ")
		fmt.Fprintf(out, "\n%s\n%s\n", title, b)
	}
	fmt.Fprintf(out, "IAM policies for plan %s (mode %s)\n", res.Plan, res.Mode)
	for _, t := range res.Targets {
		fmt.Fprintf(out, "\n== target %s: account %s, %s\n", t.Target, t.Account, t.Region)
		fmt.Fprintf(out, "attach to: %s\n", t.AttachTo)
		doc("-- drill policy (drills and readiness checks):", t.DrillPolicy)
		doc("-- recovery policy (drills, recoveries and readiness checks):", t.RecoveryPolicy)
		if t.TrustPolicy != nil {
			doc("-- trust policy of "+t.RoleARN+" (who may assume it):", t.TrustPolicy)
		}
	}
	if res.RunnerPolicy != nil {
		doc("== for "+res.Principal+": assume the targets' roles", res.RunnerPolicy)
	}
	if len(res.Notes) > 0 {
		fmt.Fprintln(out, "\nNotes:")
		for _, n := range res.Notes {
			fmt.Fprintf(out, "- %s\n", n)
		}
	}
}

// addHealthCheckActions grants what a plan's health checks and SSM hooks
// call in EC2 and SSM, in every target's drill and recovery policy (they
// run on the recovery instances the plan launches there): ec2Status reads
// the instances and their status checks, a check addressed by an
// instance's private IP or ID reads the instances, an ssm check or Run
// Command hook sends a command and reads its outcome, an Automation hook
// starts an automation and reads it.
func addHealthCheckActions(res *iamPolicies, p ripcord.Plan) {
	set := map[string]bool{}
	for _, st := range p.Steps {
		for _, h := range st.AllHooks() {
			switch {
			case h.SSM == nil:
			case h.SSM.Automation != "":
				set["ssm:StartAutomationExecution"], set["ssm:GetAutomationExecution"] = true, true
			default:
				set["ssm:SendCommand"], set["ssm:GetCommandInvocation"] = true, true
			}
		}
		for _, c := range append(slices.Clone(st.Health), st.Checks...) {
			switch {
			case c.Type == ripcord.CheckEC2Status:
				set["ec2:DescribeInstances"], set["ec2:DescribeInstanceStatus"] = true, true
			case c.Type == ripcord.CheckSSM:
				set["ec2:DescribeInstances"], set["ssm:SendCommand"], set["ssm:GetCommandInvocation"] = true, true, true
			case strings.Contains(c.Address+c.URL, "{{"):
				set["ec2:DescribeInstances"] = true
			}
		}
	}
	if len(set) == 0 {
		return
	}
	st := drs.Statement{Sid: "HealthChecks", Effect: "Allow", Action: slices.Sorted(maps.Keys(set)), Resource: []string{"*"}}
	for i := range res.Targets {
		for _, d := range []*drs.PolicyDocument{res.Targets[i].DrillPolicy, res.Targets[i].RecoveryPolicy} {
			if d != nil {
				d.Statement = append(d.Statement, st)
			}
		}
	}
	res.Notes = append(res.Notes, "the HealthChecks statement is what the plan's health checks and SSM hooks call in EC2 and SSM")
}
