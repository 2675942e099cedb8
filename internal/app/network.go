package app

import (
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/serverless"
)

// networks turns the accounts' configured VPCs into the serverless domain's
// network model, by account id.
func networks(cfg *config.Config) map[string]serverless.Network {
	out := map[string]serverless.Network{}
	for _, a := range cfg.Accounts {
		if a.VPC == nil {
			continue
		}
		n := serverless.Network{VpcID: a.VPC.ID}
		for _, s := range a.VPC.Subnets {
			n.Subnets = append(n.Subnets, serverless.Subnet{ID: s.ID, AvailabilityZone: s.AvailabilityZone, IPv6CidrBlock: s.IPv6CidrBlock})
		}
		out[a.ID] = n
	}
	return out
}
