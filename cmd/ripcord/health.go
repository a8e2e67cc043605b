package main

import (
	"context"
	"sync"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/ec2ssm"
)

// Health checks' EC2 and SSM clients: clients makes one per target next
// to its DRS client, with the same configuration (region, endpoint, role,
// external ID, profile), and engines get the ones of their DRS clients.

// instancesByDRS maps a DRS client to its target's EC2/SSM client.
var instancesByDRS sync.Map // ripcord.DRS -> ripcord.Instances

// connectInstances makes the EC2/SSM client of a target whose DRS client
// is cl. It contacts nothing: credentials are fetched on the first check.
func connectInstances(ctx context.Context, cl ripcord.DRS, cfg drs.Config) error {
	awsCfg, err := drs.LoadAWSConfig(ctx, drs.Config{Region: cfg.Region, Profile: cfg.Profile, RoleARN: cfg.RoleARN,
		ExternalID: cfg.ExternalID, STSEndpoint: cfg.STSEndpoint, AppID: cfg.AppID})
	if err != nil {
		return err
	}
	instancesByDRS.Store(cl, ec2ssm.New(awsCfg, cfg.Endpoint, ec2ssm.ForChecks))
	return nil
}

// instancesOf returns the EC2/SSM clients of the targets' DRS clients.
func instancesOf(targets map[string]ripcord.DRS) map[string]ripcord.Instances {
	out := map[string]ripcord.Instances{}
	for name, cl := range targets {
		if in, ok := instancesByDRS.Load(cl); ok {
			out[name] = in.(ripcord.Instances)
		}
	}
	return out
}
