package serverless

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/idcgate/idcgate/internal/validation"
)

var testNetwork = Network{VpcID: "vpc-0a1b2c3d", Subnets: []Subnet{
	{ID: "subnet-000000a1", AvailabilityZone: "us-east-1a", IPv6CidrBlock: "2600:1f18:1:100::/64"},
	{ID: "subnet-000000b2", AvailabilityZone: "us-east-1b", IPv6CidrBlock: "2600:1f18:1:200::/64"},
	{ID: "subnet-000000c3", AvailabilityZone: "us-east-1c"},
}}

func TestNetworkPlacement(t *testing.T) {
	s, _, _ := newService(0)
	s.Networks = map[string]Network{scope.Account: testNetwork}
	ctx := context.Background()
	for _, n := range []string{"net-a", "net-b", "net-c", "net-d", "net-e"} {
		if _, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p(n)}); err != nil {
			t.Fatal(err)
		}
	}
	v6 := []string{"subnet-000000a1", "subnet-000000b2"}
	create := func(name, ns string, subnets []string, ipType *string) (Workgroup, error) {
		return s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p(name), NamespaceName: p(ns), BaseCapacity: p(int32(8)), SubnetIds: subnets, IpAddressType: ipType})
	}

	// Defaults: every subnet of the VPC, IPv4.
	wg, err := create("net-default", "net-a", nil, nil)
	if err != nil || wg.IpAddressType != "ipv4" || !slices.Equal(wg.SubnetIds, testNetwork.defaults()) {
		t.Fatalf("default placement: %+v %v", wg, err)
	}
	// Dual-stack on subnets that all have IPv6.
	wg, err = create("net-v6", "net-b", append(v6, v6[0]), p("dualstack"))
	if err != nil || wg.IpAddressType != "dualstack" || !slices.Equal(wg.SubnetIds, v6) {
		t.Fatalf("dual-stack on IPv6 subnets: %+v %v", wg, err)
	}

	cases := []struct {
		name string
		call func() error
		kind error
		msg  string
	}{
		{"create dual-stack with a subnet without IPv6", func() error {
			_, err := create("net-bad", "net-c", []string{"subnet-000000a1", "subnet-000000c3"}, p("dualstack"))
			return err
		}, ErrIpv6CidrBlockNotFound, ipv6Missing},
		{"create dual-stack on the default subnets", func() error {
			_, err := create("net-bad", "net-c", nil, p("dualstack"))
			return err
		}, ErrIpv6CidrBlockNotFound, ipv6Missing},
		{"create on an unknown subnet", func() error {
			_, err := create("net-bad", "net-c", []string{"subnet-000000a1", "subnet-deadbeef"}, nil)
			return err
		}, validation.ErrInvalid, "The subnet ID 'subnet-deadbeef' does not exist."},
		{"update to dual-stack on the default subnets", func() error {
			_, err := s.UpdateWorkgroup(ctx, scope, wg0(t, s, "net-default"), UpdateWorkgroupInput{WorkgroupName: p("net-default"), IpAddressType: p("dualstack")})
			return err
		}, ErrIpv6CidrBlockNotFound, ipv6Missing},
		{"update a dual-stack workgroup onto a subnet without IPv6", func() error {
			_, err := s.UpdateWorkgroup(ctx, scope, wg0(t, s, "net-v6"), UpdateWorkgroupInput{WorkgroupName: p("net-v6"), SubnetIds: []string{"subnet-000000c3"}})
			return err
		}, ErrIpv6CidrBlockNotFound, ipv6Missing},
		{"update onto an unknown subnet", func() error {
			_, err := s.UpdateWorkgroup(ctx, scope, wg0(t, s, "net-default"), UpdateWorkgroupInput{WorkgroupName: p("net-default"), SubnetIds: []string{"subnet-\x00nope"}})
			return err
		}, validation.ErrInvalid, "The subnet ID 'subnet-?nope' does not exist."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(), tc.kind, tc.msg)
		})
	}
	// Nothing refused was created or changed.
	if _, err := s.GetWorkgroup(ctx, scope, "net-bad"); !isErr(err, ErrNotFound) {
		t.Fatalf("refused workgroup exists: %v", err)
	}
	for name, want := range map[string][]string{"net-default": testNetwork.defaults(), "net-v6": v6} {
		got, _ := s.GetWorkgroup(ctx, scope, name)
		if !slices.Equal(got.SubnetIds, want) || got.Status != StatusAvailable {
			t.Fatalf("%s changed by a refused update: %+v", name, got)
		}
	}
	// A valid update: onto the IPv6 subnets, then dual-stack.
	up, err := s.UpdateWorkgroup(ctx, scope, wg0(t, s, "net-default"), UpdateWorkgroupInput{WorkgroupName: p("net-default"), SubnetIds: v6, IpAddressType: p("dualstack")})
	if err != nil || up.IpAddressType != "dualstack" || !slices.Equal(up.SubnetIds, v6) {
		t.Fatalf("valid update: %+v %v", up, err)
	}
	// An unrelated update does not re-check the network.
	if _, err := s.UpdateWorkgroup(ctx, scope, wg0(t, s, "net-v6"), UpdateWorkgroupInput{WorkgroupName: p("net-v6"), BaseCapacity: p(int32(16))}); err != nil {
		t.Fatal(err)
	}
}

// TestNoNetworkDeclared: an account without a VPC keeps subnets as given.
func TestNoNetworkDeclared(t *testing.T) {
	s, _, _ := newService(0)
	ctx := context.Background()
	s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("free")})
	wg, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("free"), NamespaceName: p("free"), SubnetIds: []string{"subnet-anything"}, IpAddressType: p("dualstack")})
	if err != nil || !slices.Equal(wg.SubnetIds, []string{"subnet-anything"}) {
		t.Fatalf("%+v %v", wg, err)
	}
}

func wg0(t *testing.T, s *Service, name string) string {
	t.Helper()
	wg, err := s.GetWorkgroup(context.Background(), scope, name)
	if err != nil {
		t.Fatal(err)
	}
	return wg.WorkgroupId
}

func isErr(err, kind error) bool { return errors.Is(err, kind) }
