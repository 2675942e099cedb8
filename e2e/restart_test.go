package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/testserver"
)

// TestSIGKILLKeepsResources runs the real binary, creates resources, kills it
// with SIGKILL, starts it again on the same data dir: the resources and the
// administrator keys are still there.
func TestSIGKILLKeepsResources(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := testserver.StartProcess(t, testserver.Options{DataDir: dataDir})
	ctx := context.Background()
	c := p.Serverless(p.Admin)
	created, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("durable")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("durable-wg"), NamespaceName: aws.String("durable"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	admin := p.Admin
	p.Kill()

	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"credentials", 0o600}, {"master.key", 0o600}, {"idcgate.db", 0o600}, {".", 0o700}} {
		fi, err := os.Stat(filepath.Join(dataDir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.mode {
			t.Fatalf("%s mode %v, want %v", f.name, fi.Mode().Perm(), f.mode)
		}
	}

	p2 := testserver.StartProcess(t, testserver.Options{DataDir: dataDir})
	if p2.Admin != admin {
		t.Fatalf("administrator key changed across restart: %s → %s", admin.AccessKeyID, p2.Admin.AccessKeyID)
	}
	c2 := p2.Serverless(admin)
	got, err := c2.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("durable")})
	if err != nil {
		t.Fatalf("namespace lost after SIGKILL: %v", err)
	}
	if aws.ToString(got.Namespace.NamespaceArn) != aws.ToString(created.Namespace.NamespaceArn) {
		t.Fatalf("ARN changed: %s → %s", aws.ToString(created.Namespace.NamespaceArn), aws.ToString(got.Namespace.NamespaceArn))
	}
	if _, err := c2.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("durable-wg")}); err != nil {
		t.Fatalf("workgroup lost after SIGKILL: %v", err)
	}
}
