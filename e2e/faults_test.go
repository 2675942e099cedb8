package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/testserver"
)

func TestFaultInjection(t *testing.T) {
	p := testserver.StartProcess(t, testserver.Options{})
	bin, _ := testserver.Binary()
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	admin := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--endpoint", p.URL)...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"), "AWS_PROFILE=default",
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	admin("faults", "set", "--operation", "GetIdentityCenterAuthToken", "--error", "InternalServerException")
	_, err := getToken(t, p.Server, alice, "demo")
	wantAPIError(t, err, "InternalServerException", 500, "The request processing has failed because of an unknown error, exception or failure.")

	admin("faults", "clear")
	admin("faults", "set", "--operation", "GetIdentityCenterAuthToken", "--error", "ThrottlingException")
	_, err = getToken(t, p.Server, alice, "demo")
	wantAPIError(t, err, "ThrottlingException", 400, "Rate exceeded")

	// Other operations are untouched, and nothing changed.
	if _, err := p.Serverless(p.Admin).GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	admin("faults", "clear")
	admin("faults", "set", "--operation", "GetWorkgroup", "--latency", "300ms")
	start := time.Now()
	if _, err := p.Serverless(p.Admin).GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("latency not injected")
	}
	admin("faults", "clear")
	if _, err := getToken(t, p.Server, alice, "demo"); err != nil {
		t.Fatalf("after clear: %v", err)
	}
}
