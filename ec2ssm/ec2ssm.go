// Package ec2ssm is ripcord's one adapter of EC2 and Systems Manager, on
// aws-sdk-go-v2 with a target's AWS configuration (drs.LoadAWSConfig in
// cmd/ripcord, so that it acts with the same identity as DRS). A Client
// implements ripcord.Instances for health checks (the status of recovery
// instances from EC2's DescribeInstances and DescribeInstanceStatus) and
// ripcord.SSM for SSM hooks (Automation: StartAutomationExecution and
// GetAutomationExecution), and both through one SSM Run Command
// (ripcord.RunCommand: SendCommand, GetCommandInvocation). The two callers
// differ in the SDK's retries, the command's comment and how errors read;
// a client is made for one of them (Use). It knows no other package of
// ripcord but the root.
package ec2ssm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/ripcord-dr/ripcord"
)

// Use is the caller a client is made for.
type Use int

const (
	// ForChecks: health checks (ripcord.Instances). Each request is one
	// SDK try: the check's interval is the retry. Errors are
	// *ripcord.Error (EUNAVAILABLE) with the action, AWS's code and
	// message, and a hint for the errors a check meets most. Commands
	// carry the comment "ripcord health check".
	ForChecks Use = iota
	// ForHooks: SSM hooks (ripcord.SSM). The SDK's standard retries
	// within each of the hook's attempts. Errors wrap the SDK's, after
	// "SSM", the action and the document or ID. Commands carry the
	// comment "ripcord hook".
	ForHooks
)

// Client is EC2 and SSM in one target, for one Use.
type Client struct {
	ec2 *ec2.Client
	ssm *ssm.Client
	use Use
}

var (
	_ ripcord.Instances = (*Client)(nil)
	_ ripcord.SSM       = (*Client)(nil)
)

// New returns a client for use with cfg (a target's configuration), at
// endpoint when not empty (a ripcord simulator serves EC2 and SSM on its
// port).
func New(cfg aws.Config, endpoint string, use Use) *Client {
	return &Client{
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			if use == ForChecks {
				o.RetryMaxAttempts = 1
			}
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		}),
		ssm: ssm.NewFromConfig(cfg, func(o *ssm.Options) {
			if use == ForChecks {
				o.RetryMaxAttempts = 1
			}
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		}),
		use: use,
	}
}

// InstanceStatus describes the instances with DescribeInstances (state,
// private IP) and DescribeInstanceStatus (both status checks, all states).
// Instances EC2 does not know are left out of the map.
func (c *Client) InstanceStatus(ctx context.Context, ids []string) (map[string]ripcord.InstanceStatus, error) {
	out := map[string]ripcord.InstanceStatus{}
	di, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		if code(err) == "InvalidInstanceID.NotFound" {
			return out, nil
		}
		return nil, explain("DescribeInstances", err)
	}
	for _, r := range di.Reservations {
		for _, in := range r.Instances {
			s := ripcord.InstanceStatus{InstanceID: aws.ToString(in.InstanceId), PrivateIP: aws.ToString(in.PrivateIpAddress),
				System: "not-applicable", Instance: "not-applicable"}
			if in.State != nil {
				s.State = string(in.State.Name)
			}
			out[s.InstanceID] = s
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	known := slices.Sorted(maps.Keys(out))
	ds, err := c.ec2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: known, IncludeAllInstances: aws.Bool(true)})
	if err != nil {
		return nil, explain("DescribeInstanceStatus", err)
	}
	for _, st := range ds.InstanceStatuses {
		s, ok := out[aws.ToString(st.InstanceId)]
		if !ok {
			continue
		}
		if st.SystemStatus != nil {
			s.System = string(st.SystemStatus.Status)
		}
		if st.InstanceStatus != nil {
			s.Instance = string(st.InstanceStatus.Status)
		}
		out[s.InstanceID] = s
	}
	return out, nil
}

// SendCommand runs a Run Command document with params on the instances
// and returns the command ID.
func (c *Client) SendCommand(ctx context.Context, document string, instances []string, params map[string][]string) (string, error) {
	comment := "ripcord health check"
	if c.use == ForHooks {
		comment = "ripcord hook"
	}
	out, err := c.ssm.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String(document), InstanceIds: instances, Parameters: params,
		Comment: aws.String(comment)})
	if err == nil && (out.Command == nil || out.Command.CommandId == nil) {
		err = errors.New("no command in the answer")
	}
	if err != nil {
		return "", c.fail("SendCommand", "of "+document, err)
	}
	return *out.Command.CommandId, nil
}

// CommandInvocation returns where the command is on one instance.
func (c *Client) CommandInvocation(ctx context.Context, commandID, instance string) (ripcord.CommandResult, error) {
	out, err := c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(commandID), InstanceId: aws.String(instance)})
	if err != nil {
		return ripcord.CommandResult{}, c.fail("GetCommandInvocation", commandID+" on "+instance, err)
	}
	r := ripcord.CommandResult{Status: string(out.Status), ExitCode: int(out.ResponseCode),
		Output: aws.ToString(out.StandardOutputContent), Error: aws.ToString(out.StandardErrorContent)}
	switch out.Status {
	case types.CommandInvocationStatusSuccess:
		r.Done, r.OK = true, true
	case types.CommandInvocationStatusFailed, types.CommandInvocationStatusTimedOut, types.CommandInvocationStatusCancelled:
		r.Done = true
	}
	return r, nil
}

// StartAutomation starts an Automation document.
func (c *Client) StartAutomation(ctx context.Context, document string, params map[string][]string) (string, error) {
	out, err := c.ssm.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{DocumentName: aws.String(document), Parameters: params})
	if err != nil {
		return "", c.fail("StartAutomationExecution", "of "+document, err)
	}
	return aws.ToString(out.AutomationExecutionId), nil
}

// Automation returns an automation execution's status; Output is its
// outputs (name=values, sorted) or its failure message.
func (c *Client) Automation(ctx context.Context, id string) (ripcord.SSMStatus, error) {
	out, err := c.ssm.GetAutomationExecution(ctx, &ssm.GetAutomationExecutionInput{AutomationExecutionId: aws.String(id)})
	if err == nil && out.AutomationExecution == nil {
		err = errors.New("no execution in the answer")
	}
	if err != nil {
		return ripcord.SSMStatus{}, c.fail("GetAutomationExecution", id, err)
	}
	a := out.AutomationExecution
	st := ripcord.SSMStatus{Status: string(a.AutomationExecutionStatus)}
	switch a.AutomationExecutionStatus {
	case types.AutomationExecutionStatusSuccess:
		st.Done, st.OK = true, true
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(a.Outputs)) {
			parts = append(parts, k+"="+strings.Join(a.Outputs[k], ","))
		}
		st.Output = strings.Join(parts, " ")
	case types.AutomationExecutionStatusFailed, types.AutomationExecutionStatusTimedout, types.AutomationExecutionStatusCancelled,
		types.AutomationExecutionStatusRejected, types.AutomationExecutionStatusCompletedWithFailure, types.AutomationExecutionStatusExited:
		st.Done = true
		st.Output = aws.ToString(a.FailureMessage)
	case types.AutomationExecutionStatusCompletedWithSuccess:
		st.Done, st.OK = true, true
	}
	return st, nil
}

// fail is the error of SSM action op on what (a document, an ID) as the
// client's Use reads it.
func (c *Client) fail(op, what string, err error) error {
	if c.use == ForHooks {
		return fmt.Errorf("SSM %s %s: %w", op, what, err)
	}
	return explain(op, err)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// explain turns an SDK error into one line with AWS's code and message,
// and a hint for the errors a check meets most.
func explain(op string, err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", op, err)
	}
	msg := fmt.Sprintf("%s: %s: %s", op, ae.ErrorCode(), strings.TrimSpace(ae.ErrorMessage()))
	hint := ""
	switch ae.ErrorCode() {
	case "InvalidInstanceId":
		hint = "the instance's SSM agent is not online yet, or the instance has no instance profile allowing SSM"
	case "AccessDeniedException", "UnauthorizedOperation", "AccessDenied":
		hint = "grant the target's role ec2:DescribeInstances, ec2:DescribeInstanceStatus, ssm:SendCommand and ssm:GetCommandInvocation"
	}
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: msg, Hint: hint}
}
