package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestIAMRestart: what the API made survives a restart; the config is
// re-applied (a role it no longer declares is gone, a policy it changes is
// changed back).
func TestIAMRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	ctx := context.Background()
	a := testserver.Start(t, testserver.Options{DataDir: dir})
	ia := iamClient(a, a.Admin)
	dave := iamUserWithKey(t, ia, "dave")
	if _, err := ia.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("analyst"), PolicyName: aws.String("redshift-serverless")}); err != nil {
		t.Fatal(err)
	}
	a.Stop()

	b := testserver.Start(t, testserver.Options{DataDir: dir, Edit: func(c *config.Config) {
		c.Accounts[0].Roles = c.Accounts[0].Roles[:1] // no-redshift is no longer declared
	}})
	ib := iamClient(b, b.Admin)
	if _, err := b.STS(dave).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("API-made key after a restart: %v", err)
	}
	if _, err := ib.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("analyst"), PolicyName: aws.String("redshift-serverless")}); err != nil {
		t.Fatalf("the config's policy is not re-applied: %v", err)
	}
	_, err := ib.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("no-redshift")})
	wantAPIError(t, err, "NoSuchEntity", 404, "")
}

// TestIAMGatewayRoleDeleted: a token issued to a session of a role that has
// since been deleted is refused at the next gateway login; while the role
// exists it logs in.
func TestIAMGatewayRoleDeleted(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	ctx := context.Background()
	admin := iamClient(srv, srv.Admin)
	const arn = "arn:aws:iam::123456789012:role/bi"
	if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bi"), AssumeRolePolicyDocument: aws.String(trustApp)}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("bi"), PolicyName: aws.String("tok"), PolicyDocument: aws.String(allowToken)}); err != nil {
		t.Fatal(err)
	}
	out := mustToken(t, srv, srv.IdentitySession(t, "alice", arn), "demo")
	tok := aws.ToString(out.Token)
	tokenUsers.Store(tok, "alice")
	c, err := connectGateway(t, srv, tok, "")
	if err != nil {
		t.Fatalf("login while the role exists: %v", err)
	}
	c.Close(ctx)
	if _, err := admin.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("bi"), PolicyName: aws.String("tok")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("bi")}); err != nil {
		t.Fatal(err)
	}
	_, err = connectGateway(t, srv, tok, "")
	wantPgError(t, err, "28000", "no longer exists")
}
