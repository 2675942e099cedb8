package serverless

import (
	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/validation"
)

// Network is an account's emulated VPC as the config declares it: which
// subnets exist, and which of them have an IPv6 CIDR block. It is just
// enough network to answer what CreateWorkgroup and UpdateWorkgroup decide
// from it (unknown subnets, dual-stack without IPv6); nothing is routed.
type Network struct {
	VpcID   string
	Subnets []Subnet
}

// Subnet is one subnet of a Network.
type Subnet struct {
	ID               string
	AvailabilityZone string
	// IPv6CidrBlock is the subnet's associated IPv6 block; empty when none.
	IPv6CidrBlock string
}

func (n *Network) subnet(id string) (Subnet, bool) {
	for _, s := range n.Subnets {
		if s.ID == id {
			return s, true
		}
	}
	return Subnet{}, false
}

// defaults are the subnets a workgroup gets when the request names none:
// every subnet of the VPC, as AWS uses the default VPC's subnets.
func (n *Network) defaults() []string {
	ids := make([]string, len(n.Subnets))
	for i, s := range n.Subnets {
		ids[i] = s.ID
	}
	return ids
}

const ipv6Missing = "There are no subnets in your VPC with associated IPv6 CIDR blocks. To use dual-stack mode, associate an IPv6 CIDR block with each subnet in your VPC."

// placeWorkgroup decides a workgroup's subnets: the ones asked for, else the
// current ones, else the VPC's defaults. Every subnet must exist in the
// account's VPC, and dual-stack needs an IPv6 block on each of them. An
// account whose config declares no VPC has no network model: the subnets
// are kept as given and not checked.
func (s *Service) placeWorkgroup(sc Scope, asked, current []string, ipType string) ([]string, error) {
	ids := asked
	if len(ids) == 0 {
		ids = current
	}
	n, ok := s.Networks[sc.Account]
	if !ok {
		return ids, nil
	}
	if len(ids) == 0 {
		ids = n.defaults()
	}
	ids = unique(ids)
	for _, id := range ids {
		if _, ok := n.subnet(id); !ok {
			return nil, validation.Newf("The subnet ID '%s' does not exist.", apierror.Printable(id))
		}
	}
	if ipType == "dualstack" {
		for _, id := range ids {
			if sub, _ := n.subnet(id); sub.IPv6CidrBlock == "" {
				return nil, errorf(ErrIpv6CidrBlockNotFound, "", ipv6Missing)
			}
		}
	}
	return ids, nil
}

// unique drops repeated ids, keeping the first of each in order.
func unique(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
