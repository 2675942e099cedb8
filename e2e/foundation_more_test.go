package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"

	"github.com/idcgate/idcgate/internal/testserver"
)

// fmClock is a server clock tests can move; requests signed at its time
// stay within SigV4's skew window whatever the offset.
type fmClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fmClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fmClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// fmCall signs a Redshift Serverless call at the server clock's time.
func fmCall(t *testing.T, srv *testserver.Server, clk *fmClock, creds aws.Credentials, op, body string) *testserver.RawResponse {
	t.Helper()
	req := srv.ServerlessRequest(t, op, []byte(body))
	testserver.Sign(t, req, []byte(body), creds, "redshift-serverless", testserver.Region, clk.now())
	return testserver.Do(t, req)
}

// fmWantValidation checks a raw response is AWS's ValidationException with msg.
func fmWantValidation(t *testing.T, resp *testserver.RawResponse, msg string) {
	t.Helper()
	m := resp.JSON(t)
	if resp.Status != 400 || resp.Header.Get("X-Amzn-ErrorType") != "ValidationException" || m["__type"] != "ValidationException" || m["message"] != msg {
		t.Fatalf("got %d %q %s; want 400 ValidationException %q", resp.Status, resp.Header.Get("X-Amzn-ErrorType"), resp.Body, msg)
	}
}

// TestNextTokenOpaque: a nextToken shows nothing of what it holds, and a
// tampered, foreign-operation or expired one is AWS's ValidationException.
func TestNextTokenOpaque(t *testing.T) {
	clk := &fmClock{}
	srv := testserver.Start(t, testserver.Options{Now: clk.now, Edit: fastTransitions(0)})
	c := srv.Serverless(srv.Admin)
	ctx := context.Background()
	for _, n := range []string{"opaque-a", "opaque-b"} {
		if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	tok := *first.NextToken
	name := aws.ToString(first.Namespaces[0].NamespaceName)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for _, s := range []string{testserver.Account, testserver.Region, "ListNamespaces", name, "rs/", "/ns/"} {
		if strings.Contains(tok, s) || strings.Contains(string(raw), s) {
			t.Errorf("nextToken reveals %q: %s", s, tok)
		}
	}
	// The genuine token pages on.
	second, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(1), NextToken: &tok})
	if err != nil || len(second.Namespaces) != 1 || aws.ToString(second.Namespaces[0].NamespaceName) == name {
		t.Fatalf("second page: %v %+v", err, second)
	}

	const invalid = "Invalid nextToken provided."
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '-' || tampered[len(tampered)/2] == '_' {
		tampered[len(tampered)/2] = 'A'
	}
	cases := map[string]struct{ op, body string }{
		"tampered":          {"ListNamespaces", `{"nextToken":"` + string(tampered) + `"}`},
		"truncated":         {"ListNamespaces", `{"nextToken":"` + tok[:len(tok)-4] + `"}`},
		"foreign operation": {"ListWorkgroups", `{"nextToken":"` + tok + `"}`},
		"not a token":       {"ListNamespaces", `{"nextToken":"eyJvIjoiTGlzdE5hbWVzcGFjZXMifQ"}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fmWantValidation(t, fmCall(t, srv, clk, srv.Admin, tc.op, tc.body), invalid)
		})
	}
	t.Run("expired", func(t *testing.T) {
		clk.advance(25 * time.Hour) // page tokens live 24 hours
		fmWantValidation(t, fmCall(t, srv, clk, srv.Admin, "ListNamespaces", `{"nextToken":"`+tok+`"}`), invalid)
	})
}

// The example config's default VPC: two subnets with IPv6, one without.
var (
	fmSubnetsV6    = []string{"subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"}
	fmSubnetsAll   = append(slices.Clone(fmSubnetsV6), "subnet-0a1b2c3d4e5f60003")
	fmIpv6NotFound = "There are no subnets in your VPC with associated IPv6 CIDR blocks. To use dual-stack mode, associate an IPv6 CIDR block with each subnet in your VPC."
)

// TestIpv6CidrBlockNotFound: dual-stack needs an IPv6 block on every chosen
// subnet of the emulated VPC; unknown subnets are a ValidationException.
// Refusals create and change nothing.
func TestIpv6CidrBlockNotFound(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Edit: fastTransitions(0)})
	c := srv.Serverless(srv.Admin)
	ctx := context.Background()
	for _, n := range []string{"v6-ns", "v4-ns"} {
		if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	// The seeded workgroup sits on the default subnets, IPv4.
	demo, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	if err != nil || !slices.Equal(demo.Workgroup.SubnetIds, fmSubnetsAll) || aws.ToString(demo.Workgroup.IpAddressType) != "ipv4" {
		t.Fatalf("demo workgroup network: %v %v", demo.Workgroup.SubnetIds, err)
	}
	before := snapshot(t, c)

	wantIpv6 := func(t *testing.T, err error) {
		t.Helper()
		var e *types.Ipv6CidrBlockNotFoundException
		if !errors.As(err, &e) {
			t.Fatalf("want *types.Ipv6CidrBlockNotFoundException, got %T %v", err, err)
		}
		wantAPIError(t, err, "Ipv6CidrBlockNotFoundException", 400, fmIpv6NotFound)
	}
	t.Run("create dual-stack on the default subnets", func(t *testing.T) {
		_, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("v6-wg"), NamespaceName: aws.String("v6-ns"), BaseCapacity: aws.Int32(8), IpAddressType: aws.String("dualstack")})
		wantIpv6(t, err)
	})
	t.Run("create dual-stack with a subnet without IPv6", func(t *testing.T) {
		_, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("v6-wg"), NamespaceName: aws.String("v6-ns"), BaseCapacity: aws.Int32(8),
			IpAddressType: aws.String("dualstack"), SubnetIds: []string{fmSubnetsV6[0], fmSubnetsAll[2]}})
		wantIpv6(t, err)
	})
	t.Run("update to dual-stack on the default subnets", func(t *testing.T) {
		_, err := c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("demo"), IpAddressType: aws.String("dualstack")})
		wantIpv6(t, err)
	})
	t.Run("unknown subnet", func(t *testing.T) {
		_, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("v6-wg"), NamespaceName: aws.String("v6-ns"), BaseCapacity: aws.Int32(8),
			SubnetIds: []string{"subnet-0123456789abcdef0"}})
		wantAPIError(t, err, "ValidationException", 400, "The subnet ID 'subnet-0123456789abcdef0' does not exist.")
		_, err = c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("demo"), SubnetIds: []string{"subnet-0123456789abcdef0"}})
		wantAPIError(t, err, "ValidationException", 400, "The subnet ID 'subnet-0123456789abcdef0' does not exist.")
	})
	if after := snapshot(t, c); after != before {
		t.Fatalf("refusals changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got, _ := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); !slices.Equal(got.Workgroup.SubnetIds, fmSubnetsAll) || aws.ToString(got.Workgroup.IpAddressType) != "ipv4" {
		t.Fatalf("refused updates changed demo: %v %s", got.Workgroup.SubnetIds, aws.ToString(got.Workgroup.IpAddressType))
	}

	t.Run("dual-stack on IPv6 subnets works", func(t *testing.T) {
		out, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("v6-wg"), NamespaceName: aws.String("v6-ns"), BaseCapacity: aws.Int32(8),
			IpAddressType: aws.String("dualstack"), SubnetIds: fmSubnetsV6})
		if err != nil || aws.ToString(out.Workgroup.IpAddressType) != "dualstack" || !slices.Equal(out.Workgroup.SubnetIds, fmSubnetsV6) {
			t.Fatalf("%v %+v", err, out)
		}
		// Default settings keep working: IPv4 on every default subnet.
		v4, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("v4-wg"), NamespaceName: aws.String("v4-ns"), BaseCapacity: aws.Int32(8)})
		if err != nil || aws.ToString(v4.Workgroup.IpAddressType) != "ipv4" || !slices.Equal(v4.Workgroup.SubnetIds, fmSubnetsAll) {
			t.Fatalf("%v %+v", err, v4)
		}
	})
}
