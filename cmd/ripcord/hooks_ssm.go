package main

import (
	"context"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/ec2ssm"
)

// ssmFor is the engine's SSM factory for hooks: a target's SSM client with
// the same configuration (region, role, external ID, endpoint) as its DRS
// client.
func (c *connFlags) ssmFor(ctx context.Context, t ripcord.Target) (ripcord.SSM, error) {
	region, endpoint := t.Region, t.Endpoint
	if region == "" {
		region = c.Region
	}
	if endpoint == "" {
		endpoint = c.Endpoint
	}
	cfg, err := drs.LoadAWSConfig(ctx, drs.Config{Region: region, Endpoint: endpoint, Profile: c.Profile, RoleARN: t.RoleARN,
		ExternalID: t.ExternalID, STSEndpoint: c.stsEndpoint(ctx, endpoint)})
	if err != nil {
		return nil, err
	}
	return ec2ssm.New(cfg, endpoint, ec2ssm.ForHooks), nil
}
