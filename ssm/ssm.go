// Package ssm is ripcord.SSM on aws-sdk-go-v2/service/ssm: the Automation
// and Run Command calls a plan's SSM hooks make, with a target's AWS
// configuration (drs.LoadAWSConfig, so that SSM is called with the same
// identity as DRS). It knows nothing else of ripcord.
package ssm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ripcord-dr/ripcord"
)

// Client calls SSM in one account and region.
type Client struct {
	api *awsssm.Client
}

var _ ripcord.SSM = (*Client)(nil)

// New returns a client with cfg (a target's AWS configuration), sending to
// endpoint when not empty (a ripcord simulator serves SSM on its port).
func New(cfg aws.Config, endpoint string) *Client {
	return &Client{api: awsssm.NewFromConfig(cfg, func(o *awsssm.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})}
}

// StartAutomation starts an Automation document.
func (c *Client) StartAutomation(ctx context.Context, document string, params map[string][]string) (string, error) {
	out, err := c.api.StartAutomationExecution(ctx, &awsssm.StartAutomationExecutionInput{DocumentName: aws.String(document), Parameters: params})
	if err != nil {
		return "", fmt.Errorf("SSM StartAutomationExecution of %s: %w", document, err)
	}
	return aws.ToString(out.AutomationExecutionId), nil
}

// Automation returns an automation execution's status; Output is its
// outputs (name=values, sorted) or its failure message.
func (c *Client) Automation(ctx context.Context, id string) (ripcord.SSMStatus, error) {
	out, err := c.api.GetAutomationExecution(ctx, &awsssm.GetAutomationExecutionInput{AutomationExecutionId: aws.String(id)})
	if err != nil {
		return ripcord.SSMStatus{}, fmt.Errorf("SSM GetAutomationExecution %s: %w", id, err)
	}
	a := out.AutomationExecution
	if a == nil {
		return ripcord.SSMStatus{}, fmt.Errorf("SSM GetAutomationExecution %s: no execution in the answer", id)
	}
	st := ripcord.SSMStatus{Status: string(a.AutomationExecutionStatus)}
	switch a.AutomationExecutionStatus {
	case types.AutomationExecutionStatusSuccess:
		st.Done, st.OK = true, true
		keys := make([]string, 0, len(a.Outputs))
		for k := range a.Outputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
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

// SendCommand runs a Run Command document on instances.
func (c *Client) SendCommand(ctx context.Context, document string, instances []string, params map[string][]string) (string, error) {
	out, err := c.api.SendCommand(ctx, &awsssm.SendCommandInput{DocumentName: aws.String(document), InstanceIds: instances, Parameters: params,
		Comment: aws.String("ripcord hook")})
	if err != nil {
		return "", fmt.Errorf("SSM SendCommand of %s: %w", document, err)
	}
	if out.Command == nil {
		return "", fmt.Errorf("SSM SendCommand of %s: no command in the answer", document)
	}
	return aws.ToString(out.Command.CommandId), nil
}

// CommandInvocation returns the status of a command on one instance;
// Output is its standard output and error.
func (c *Client) CommandInvocation(ctx context.Context, commandID, instance string) (ripcord.SSMStatus, error) {
	out, err := c.api.GetCommandInvocation(ctx, &awsssm.GetCommandInvocationInput{CommandId: aws.String(commandID), InstanceId: aws.String(instance)})
	if err != nil {
		return ripcord.SSMStatus{}, fmt.Errorf("SSM GetCommandInvocation %s on %s: %w", commandID, instance, err)
	}
	st := ripcord.SSMStatus{Status: string(out.Status)}
	switch out.Status {
	case types.CommandInvocationStatusSuccess:
		st.Done, st.OK = true, true
	case types.CommandInvocationStatusFailed, types.CommandInvocationStatusTimedOut, types.CommandInvocationStatusCancelled:
		st.Done = true
	}
	st.Output = aws.ToString(out.StandardOutputContent)
	if e := aws.ToString(out.StandardErrorContent); e != "" {
		st.Output += e
	}
	if st.Done && !st.OK {
		st.Output = fmt.Sprintf("exit %d: %s", out.ResponseCode, st.Output)
	}
	return st, nil
}
