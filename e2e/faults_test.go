package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/idcgate/idcgate/internal/testserver"
)

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	p := testserver.StartProcess(t, testserver.Options{})
	ctx := context.Background()
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	admin := func(args ...string) {
		t.Helper()
		if out, err := adminCmd(t, p, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	keys := opsKeys(t, p.Server)
	admin("faults", "set", "--operation", "GetIdentityCenterAuthToken", "--error", "InternalServerException")
	_, err := getToken(t, p.Server, alice, "demo")
	wantAPIError(t, err, "InternalServerException", 500, "The request processing has failed because of an unknown error, exception or failure.")

	admin("faults", "clear")
	admin("faults", "set", "--operation", "GetIdentityCenterAuthToken", "--error", "ThrottlingException")
	_, err = getToken(t, p.Server, alice, "demo")
	wantAPIError(t, err, "ThrottlingException", 400, "Rate exceeded")
	// No token was minted, the keyring is as it was.
	if n := opsMetric(t, p.Server, opsTokensIssued); n != 0 {
		t.Fatalf("%v tokens issued under faults", n)
	}
	if opsKeys(t, p.Server) != keys {
		t.Fatal("a faulted call changed the keyring")
	}

	// Other operations are untouched.
	c := p.Serverless(p.Admin)
	if _, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	// A create that fails by injection creates nothing.
	admin("faults", "set", "--operation", "CreateNamespace", "--error", "InternalServerException")
	_, err = c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("faulted")})
	wantAPIError(t, err, "InternalServerException", 500, "")
	if _, err := c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("faulted")}); !isNotFound(err) {
		t.Fatalf("faulted CreateNamespace: GetNamespace says %v", err)
	}

	admin("faults", "clear")
	admin("faults", "set", "--operation", "GetWorkgroup", "--latency", "300ms")
	start := time.Now()
	if _, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("latency not injected")
	}
	admin("faults", "clear")
	if _, err := getToken(t, p.Server, alice, "demo"); err != nil {
		t.Fatalf("after clear: %v", err)
	}
	if n := opsMetric(t, p.Server, opsTokensIssued); n != 1 {
		t.Fatalf("%v tokens issued, want 1", n)
	}
}

// opsDryRun is the per-call SDK option that asks for a dry run.
func opsDryRun(o *redshiftserverless.Options) {
	o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue("X-Idcgate-Dry-Run", "true"))
}

// A dry run through the Go SDK runs every check and answers DryRunException;
// it mints no token and changes no key; a failing check wins over it.
func TestDryRunWithSDK(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: tokenWorld(nil)})
	ctx := context.Background()
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	c := srv.Serverless(alice)
	keys := opsKeys(t, srv)
	_, err := c.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo", "wg-two"}}, opsDryRun)
	var dry *types.DryRunException
	if !errors.As(err, &dry) {
		t.Fatalf("dry run: %v", err)
	}
	wantAPIError(t, err, "DryRunException", 400, "Request would have succeeded, but the DryRun flag is set.")
	if n := opsMetric(t, srv, `idcgate_identity_center_tokens_issued_total{workgroups="2"}`); n != 0 {
		t.Fatalf("dry run minted %v tokens", n)
	}
	if opsKeys(t, srv) != keys {
		t.Fatal("dry run changed the keyring")
	}
	// Every check still runs: each failure is the check's own error.
	_, err = c.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo", "no-such-wg"}}, opsDryRun)
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("dry run on a missing workgroup: %v", err)
	}
	_, err = c.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"wg-plain"}}, opsDryRun)
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("dry run on a workgroup without Identity Center: %v", err)
	}
	_, err = srv.Serverless(srv.Admin).GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}}, opsDryRun)
	var ade *types.AccessDeniedException
	if !errors.As(err, &ade) {
		t.Fatalf("dry run without an identity-enhanced session: %v", err)
	}
	// Without the header the same call gets its token.
	if _, err := c.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo", "wg-two"}}); err != nil {
		t.Fatal(err)
	}
	if n := opsMetric(t, srv, `idcgate_identity_center_tokens_issued_total{workgroups="2"}`); n != 1 {
		t.Fatalf("%v tokens issued, want 1", n)
	}
	// The dry run is audited as what it answered.
	recs := auditRecords(t, srv.DataDir)
	dryRuns := 0
	for _, r := range recs {
		if r.EventName == "GetIdentityCenterAuthToken" && r.ErrorCode == "DryRunException" {
			dryRuns++
		}
	}
	if dryRuns != 1 {
		t.Fatalf("%d DryRunException records, want 1", dryRuns)
	}
}

// opsConfigWithFaults is the example config with fault rules appended.
func opsConfigWithFaults(t *testing.T, rules string) string {
	t.Helper()
	b, err := os.ReadFile(testserver.ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\nfaults:\n" + rules
}

// faults: in the config take effect at start, are seeded only into a store
// that has no rules yet, so rules changed through the API survive a restart.
func TestFaultsFromConfig(t *testing.T) {
	t.Parallel()
	yaml := opsConfigWithFaults(t, `  - {operation: ListNamespaces, error: InternalServerException, rate: 1}
  - {operation: GetWorkgroup, latency: 250ms, rate: 1}
`)
	dir := filepath.Join(t.TempDir(), "data")
	p := testserver.StartProcess(t, testserver.Options{ConfigYAML: yaml, DataDir: dir})
	ctx := context.Background()
	c := p.Serverless(p.Admin)
	_, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{})
	wantAPIError(t, err, "InternalServerException", 500, "")
	start := time.Now()
	if _, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Fatal("the config's latency rule was not applied")
	}
	if out, err := adminCmd(t, p, "faults", "clear").CombinedOutput(); err != nil {
		t.Fatalf("faults clear: %v %s", err, out)
	}
	if _, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{}); err != nil {
		t.Fatalf("after clear: %v", err)
	}
	p.Stop()

	p2 := testserver.StartProcess(t, testserver.Options{ConfigYAML: yaml, DataDir: dir})
	if _, err := p2.Serverless(p2.Admin).ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{}); err != nil {
		t.Fatalf("a restart brought back the config's cleared rule: %v", err)
	}
	if out, err := adminCmd(t, p2, "faults", "list").CombinedOutput(); err != nil || string(out) != "{\n  \"rules\": []\n}\n" {
		t.Fatalf("faults list after restart: %v %q", err, out)
	}
}
