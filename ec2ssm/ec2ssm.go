// Package ec2ssm is the EC2 and SSM adapter that health checks use
// (ripcord.Instances): the status of recovery instances from EC2's
// DescribeInstances and DescribeInstanceStatus, and SSM Run Command
// (SendCommand, GetCommandInvocation), on aws-sdk-go-v2 with a target's
// AWS configuration (drs.LoadAWSConfig in cmd/ripcord, so that the checks
// act with the same identity as DRS). It knows no other package of
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
	"github.com/aws/smithy-go"

	"github.com/ripcord-dr/ripcord"
)

// Client implements ripcord.Instances for one target.
type Client struct {
	ec2 *ec2.Client
	ssm *ssm.Client
}

var _ ripcord.Instances = (*Client)(nil)

// New returns a client with cfg (a target's configuration), at endpoint
// when not empty (a ripcord simulator serves EC2 and SSM on its port).
// Each check attempt is one request: the SDK makes one try, the engine's
// interval is the retry.
func New(cfg aws.Config, endpoint string) *Client {
	return &Client{
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			o.RetryMaxAttempts = 1
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		}),
		ssm: ssm.NewFromConfig(cfg, func(o *ssm.Options) {
			o.RetryMaxAttempts = 1
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		}),
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

// SendCommand runs document on the instances and returns the command ID.
func (c *Client) SendCommand(ctx context.Context, document string, parameters map[string]string, instances []string) (string, error) {
	in := &ssm.SendCommandInput{DocumentName: aws.String(document), InstanceIds: instances, Comment: aws.String("ripcord health check")}
	if len(parameters) > 0 {
		in.Parameters = map[string][]string{}
		for k, v := range parameters {
			in.Parameters[k] = []string{v}
		}
	}
	out, err := c.ssm.SendCommand(ctx, in)
	if err != nil {
		return "", explain("SendCommand", err)
	}
	if out.Command == nil || out.Command.CommandId == nil {
		return "", errors.New("SSM SendCommand answered without a command ID")
	}
	return *out.Command.CommandId, nil
}

// CommandInvocation returns the command's outcome on one instance.
func (c *Client) CommandInvocation(ctx context.Context, commandID, instance string) (ripcord.CommandResult, error) {
	out, err := c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(commandID), InstanceId: aws.String(instance)})
	if err != nil {
		return ripcord.CommandResult{}, explain("GetCommandInvocation", err)
	}
	return ripcord.CommandResult{Status: string(out.Status), ExitCode: int(out.ResponseCode),
		Output: aws.ToString(out.StandardOutputContent), Error: aws.ToString(out.StandardErrorContent)}, nil
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
