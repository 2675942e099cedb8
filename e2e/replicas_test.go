package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestTwoReplicasOnePostgresStore runs two idcgate replicas on one
// PostgreSQL store with a shared master key.
func TestTwoReplicasOnePostgresStore(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "idcgate")
	pg.CreateDatabase(t, "dev")
	pg.Exec(t, "dev", `CREATE ROLE "AWSIDC:analysts" NOLOGIN`)
	edit := func(c *config.Config) {
		c.Store = pg.DSN("idcgate")
		c.PGUpstream = pg.DSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{Duration: 500 * time.Millisecond}
	}
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	a := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	b := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	ctx := context.Background()
	if a.Admin != b.Admin {
		t.Fatal("replicas disagree on the administrator key")
	}

	// A workgroup created on one is visible, and transitions, on the other.
	ca, cb := a.Serverless(a.Admin), b.Serverless(b.Admin)
	if _, err := ca.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	created, err := ca.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("shared-wg"), NamespaceName: aws.String("shared"), BaseCapacity: aws.Int32(8)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cb.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("shared-wg")})
	if err != nil || aws.ToString(got.Workgroup.WorkgroupArn) != aws.ToString(created.Workgroup.WorkgroupArn) {
		t.Fatalf("replica B: %v", err)
	}
	waitWorkgroup(t, cb, "shared-wg", types.WorkgroupStatusAvailable)
	waitWorkgroup(t, ca, "shared-wg", types.WorkgroupStatusAvailable)

	// Concurrent creates of one name on both replicas: exactly one wins.
	errs := make(chan error, 2)
	for _, c := range []*redshiftserverless.Client{ca, cb} {
		go func() {
			_, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("race")})
			errs <- err
		}()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) {
		t.Fatalf("concurrent creates: %v / %v", e1, e2)
	}

	// A token issued by A opens on B's gateway.
	alice := a.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	out, err := getToken(t, a, alice, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Instance.Issuer.Open(ctx, scope, "demo", aws.ToString(out.Token)); err != nil {
		t.Fatalf("B cannot open A's token: %v", err)
	}
	c, err := connectGateway(t, b, aws.ToString(out.Token), "")
	if err != nil {
		t.Fatalf("A's token on B's gateway: %v", err)
	}
	var who string
	c.QueryRow(ctx, "SELECT current_user").Scan(&who)
	c.Close(ctx)
	if who != "AWSIDC:alice" {
		t.Fatalf("current_user %q", who)
	}

	// Key rotation on A is seen by B.
	if r := a.CallAdmin(t, a.Admin, "RotateWorkgroupKey", []byte(`{"workgroupName":"demo"}`)); r.Status != 200 {
		t.Fatalf("rotate: %s", r.Body)
	}
	// B caches unwrapped keys for a second; within that it switches to v2.
	bAlice := b.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	eventually(t, 5*time.Second, "B issues with the rotated key", func() (bool, error) {
		fromB, err := getToken(t, b, bAlice, "demo")
		if err != nil {
			return false, err
		}
		h, _, _, _ := authtoken.ParseHeader(aws.ToString(fromB.Token))
		return h.Keys[0].KeyVersion == 2, nil
	})
	if _, _, err := a.Instance.Issuer.Open(ctx, scope, "demo", aws.ToString(out.Token)); err != nil {
		t.Fatal(fmt.Errorf("old token after rotation: %w", err))
	}
}
