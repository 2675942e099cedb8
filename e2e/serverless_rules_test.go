package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// fmCall signs a Redshift Serverless call at the server clock's time.
func fmCall(t *testing.T, srv *testserver.Server, clk *clock.Offset, creds aws.Credentials, op, body string) *testserver.RawResponse {
	t.Helper()
	req := srv.ServerlessRequest(t, op, []byte(body))
	testserver.Sign(t, req, []byte(body), creds, "redshift-serverless", testserver.Region, clk.Now())
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
	t.Parallel()
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: fastTransitions(0)})
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
		clk.Advance(25 * time.Hour) // page tokens live 24 hours
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
	t.Parallel()
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

// fmNobody is an IAM user whose only permission is outside redshift-serverless.
var fmNobody = aws.Credentials{AccessKeyID: "AKIAFMNOBODY00000001", SecretAccessKey: "fmNobodySecretKeyfmNobodySecretKey012345"}

func fmWithNobody(c *config.Config) {
	withIAMUser(c, "fm-nobody", fmNobody, "no-redshift",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`)
}

// TestAccessDeniedEveryOperation: a user and a role session without any
// redshift-serverless permission get AWS's AccessDeniedException, with the
// exact message, from each operation, and change nothing.
func TestAccessDeniedEveryOperation(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: fmWithNobody})
	ctx := context.Background()
	admin := srv.Serverless(srv.Admin)
	ns, wg := demoNamespaceAndWorkgroup(t, admin)
	role, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.NoRedshiftRole), RoleSessionName: aws.String("fm-denied")})
	if err != nil {
		t.Fatal(err)
	}
	roleCreds := aws.Credentials{AccessKeyID: aws.ToString(role.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(role.Credentials.SecretAccessKey), SessionToken: aws.ToString(role.Credentials.SessionToken)}
	before := snapshot(t, admin)

	const region = "arn:aws:redshift-serverless:us-east-1:123456789012:"
	nsArn, wgArn := aws.ToString(ns.NamespaceArn), aws.ToString(wg.WorkgroupArn)
	ops := []struct {
		op, resource string
		call         func(c *redshiftserverless.Client) error
	}{
		{"CreateNamespace", region + "namespace/*", func(c *redshiftserverless.Client) error {
			return errOf(c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("fm-denied")}))
		}},
		{"GetNamespace", nsArn, func(c *redshiftserverless.Client) error {
			return errOf(c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("demo")}))
		}},
		{"ListNamespaces", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{}))
		}},
		{"UpdateNamespace", nsArn, func(c *redshiftserverless.Client) error {
			return errOf(c.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{NamespaceName: aws.String("demo"), KmsKeyId: aws.String("fm-key")}))
		}},
		{"DeleteNamespace", nsArn, func(c *redshiftserverless.Client) error {
			return errOf(c.DeleteNamespace(ctx, &redshiftserverless.DeleteNamespaceInput{NamespaceName: aws.String("demo")}))
		}},
		{"CreateWorkgroup", region + "workgroup/*", func(c *redshiftserverless.Client) error {
			return errOf(c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("fm-denied"), NamespaceName: aws.String("demo")}))
		}},
		{"GetWorkgroup", wgArn, func(c *redshiftserverless.Client) error {
			return errOf(c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}))
		}},
		{"ListWorkgroups", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{}))
		}},
		{"UpdateWorkgroup", wgArn, func(c *redshiftserverless.Client) error {
			return errOf(c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("demo"), BaseCapacity: aws.Int32(16)}))
		}},
		{"DeleteWorkgroup", wgArn, func(c *redshiftserverless.Client) error {
			return errOf(c.DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("demo")}))
		}},
		{"TagResource", wgArn, func(c *redshiftserverless.Client) error {
			return errOf(c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}))
		}},
		{"UntagResource", nsArn, func(c *redshiftserverless.Client) error {
			return errOf(c.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &nsArn, TagKeys: []string{"k"}}))
		}},
		{"ListTagsForResource", nsArn, func(c *redshiftserverless.Client) error {
			return errOf(c.ListTagsForResource(ctx, &redshiftserverless.ListTagsForResourceInput{ResourceArn: &nsArn}))
		}},
		{"GetCredentials", wgArn, func(c *redshiftserverless.Client) error {
			return errOf(c.GetCredentials(ctx, &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo")}))
		}},
		{"GetEndpointAccess", region + "managedvpcendpoint/*", func(c *redshiftserverless.Client) error {
			return errOf(c.GetEndpointAccess(ctx, &redshiftserverless.GetEndpointAccessInput{EndpointName: aws.String("fm-endpoint")}))
		}},
		{"ListEndpointAccess", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListEndpointAccess(ctx, &redshiftserverless.ListEndpointAccessInput{}))
		}},
		{"ListUsageLimits", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListUsageLimits(ctx, &redshiftserverless.ListUsageLimitsInput{}))
		}},
		{"ListSnapshots", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListSnapshots(ctx, &redshiftserverless.ListSnapshotsInput{}))
		}},
		{"ListRecoveryPoints", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListRecoveryPoints(ctx, &redshiftserverless.ListRecoveryPointsInput{}))
		}},
		{"ListScheduledActions", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListScheduledActions(ctx, &redshiftserverless.ListScheduledActionsInput{}))
		}},
		{"GetTrack", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.GetTrack(ctx, &redshiftserverless.GetTrackInput{TrackName: aws.String("current")}))
		}},
		{"ListTracks", "*", func(c *redshiftserverless.Client) error {
			return errOf(c.ListTracks(ctx, &redshiftserverless.ListTracksInput{}))
		}},
	}
	principals := []struct {
		name, arn string
		creds     aws.Credentials
	}{
		{"iam-user", "arn:aws:iam::123456789012:user/fm-nobody", fmNobody},
		{"role-session", "arn:aws:sts::123456789012:assumed-role/no-redshift/fm-denied", roleCreds},
	}
	for _, p := range principals {
		c := srv.Serverless(p.creds)
		for _, o := range ops {
			t.Run(p.name+"/"+o.op, func(t *testing.T) {
				action := "redshift-serverless:" + o.op
				wantAPIError(t, o.call(c), "AccessDeniedException", 400,
					"User: "+p.arn+" is not authorized to perform: "+action+" on resource: "+o.resource+" because no identity-based policy allows the "+action+" action")
			})
		}
	}
	if after := snapshot(t, admin); after != before {
		t.Fatalf("denied calls changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestThrottlingNonTokenOperation: the per-principal bucket also guards the
// namespace and workgroup operations, and only the caller's own bucket.
func TestThrottlingNonTokenOperation(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		fmWithNobody(c)
		// A refill far slower than the test: exactly the burst gets through.
		c.Throttle.PerPrincipal = &config.RateLimit{Rate: 0.001, Burst: 2}
	}})
	ctx := context.Background()
	admin := srv.Serverless(srv.Admin)
	for i := 0; i < 2; i++ {
		if _, err := admin.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err := admin.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	wantAPIError(t, err, "ThrottlingException", 400, "Rate exceeded")
	_, err = admin.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("fm-throttled")})
	wantAPIError(t, err, "ThrottlingException", 400, "Rate exceeded")
	// Not a modelled error of these operations, but the SDK's retryers know
	// the code and back off.
	if (retry.ThrottleErrorCode{Codes: retry.DefaultThrottleErrorCodes}).IsErrorThrottle(err) != aws.TrueTernary {
		t.Fatalf("the SDK does not see %v as throttling", err)
	}
	// Another principal has its own bucket; the throttled create did nothing.
	_, err = srv.Serverless(fmNobody).GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("fm-throttled")})
	wantAPIError(t, err, "AccessDeniedException", 400, "")
	nsList := srv.CallServerless(t, fmNobody, "ListNamespaces", []byte(`{}`))
	if nsList.Header.Get("X-Amzn-ErrorType") == "ThrottlingException" {
		t.Fatal("fm-nobody throttled by the administrator's bucket")
	}
}
