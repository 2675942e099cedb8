package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

func TestThrottling(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		c.Throttle.PerPrincipal = &config.RateLimit{Rate: 5, Burst: 2}
	}})
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	for i := 0; i < 2; i++ {
		if _, err := getToken(t, srv, alice, "demo"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := getToken(t, srv, alice, "demo")
	wantAPIError(t, err, "ThrottlingException", 400, "Rate exceeded")

	// Another principal has its own bucket.
	if _, err := srv.Serverless(srv.Admin).GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatalf("admin throttled by alice's bucket: %v", err)
	}

	// The SDK's standard retryer backs off and gets through.
	cfg := srv.Config(alice)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 10; o.MaxBackoff = time.Second })
	}
	c := redshiftserverless.NewFromConfig(cfg)
	for i := 0; i < 3; i++ {
		if _, err := c.GetIdentityCenterAuthToken(context.Background(), &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}}); err != nil {
			t.Fatalf("with retries, call %d: %v", i, err)
		}
	}
}
