package drs

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"

	"github.com/ripcord-dr/ripcord"
)

// StartFailbackLaunch implements [ripcord.DRS]: one LAUNCH job (initiated
// by FAILBACK) for up to 200 recovery instances whose failback replication
// is ready, with tags on the job. Like StartRecovery it is attempted
// exactly once (see noRetries): an unclear error means the job may exist.
func (c *Client) StartFailbackLaunch(ctx context.Context, instanceIDs []string, tags map[string]string) (ripcord.Job, error) {
	const op = "StartFailbackLaunch"
	if len(instanceIDs) == 0 {
		return ripcord.Job{}, c.invalidCall(op, "no recovery instances to fail back")
	}
	if len(instanceIDs) > instanceBatch {
		return ripcord.Job{}, c.invalidCall(op, "DRS takes at most 200 recovery instances per StartFailbackLaunch")
	}
	ctx, st := withCallState(ctx)
	res, err := c.api.StartFailbackLaunch(ctx, &awsdrs.StartFailbackLaunchInput{RecoveryInstanceIDs: instanceIDs, Tags: tags}, noRetries)
	if err != nil {
		return ripcord.Job{}, c.translate(op, err, st, instanceIDs)
	}
	return c.createdJob(op, res.Job)
}

// ReverseReplication starts replicating a recovery instance of an
// EC2-origin (in-AWS) source server back towards its origin region, and
// returns the ARN of the source server replicating in that direction. DRS
// returns the same ARN when the instance is already reversed, so it is
// retried like a read. DRS refuses it (a validation error) for an instance
// of an on-premises server.
func (c *Client) ReverseReplication(ctx context.Context, instanceID string) (string, error) {
	const op = "ReverseReplication"
	ctx, st := withCallState(ctx)
	res, err := c.api.ReverseReplication(ctx, &awsdrs.ReverseReplicationInput{RecoveryInstanceID: aws.String(instanceID)})
	if err != nil {
		return "", c.translate(op, err, st, []string{instanceID})
	}
	return aws.ToString(res.ReversedDirectionSourceServerArn), nil
}

// StopFailback stops a recovery instance's failback: its failback state
// goes back to FAILBACK_NOT_STARTED. Setting that state is idempotent, so
// it is retried like a read.
func (c *Client) StopFailback(ctx context.Context, instanceID string) error {
	const op = "StopFailback"
	ctx, st := withCallState(ctx)
	if _, err := c.api.StopFailback(ctx, &awsdrs.StopFailbackInput{RecoveryInstanceID: aws.String(instanceID)}); err != nil {
		return c.translate(op, err, st, []string{instanceID})
	}
	return nil
}
