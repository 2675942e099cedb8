//go:build slow

package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestIAMReplicas: on a shared PostgreSQL store, a user, key or policy
// changed through one replica is what the other enforces on the next call.
func TestIAMReplicas(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	ctx := context.Background()
	ia, ib := iamClient(a, a.Admin), iamClient(b, b.Admin)

	carol := iamUserWithKey(t, ia, "carol")
	if _, err := b.STS(carol).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("replica B with a key made on A: %v", err)
	}
	// A policy put on B decides the next call on A.
	_, err := iamClient(a, carol).ListRoles(ctx, &iam.ListRolesInput{})
	wantAPIError(t, err, "AccessDenied", 403, "")
	if _, err := ib.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamClient(a, carol).ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("replica A after B put the policy: %v", err)
	}
	// A key deleted on B is refused by A.
	if _, err := ib.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(carol.AccessKeyID)}); err != nil {
		t.Fatal(err)
	}
	_, err = a.STS(carol).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403, "")
}

// twoReplicas are two servers of the example config sharing one
// PostgreSQL store and master key, as replicas run.
func twoReplicas(t *testing.T) (a, b *testserver.Server) {
	t.Helper()
	return replicas(t, false, nil)
}

// gatewayReplicas are twoReplicas in front of one upstream (gmPrepare's dev
// database, on the store's PostgreSQL), edit (may be nil) applied to both
// configs.
func gatewayReplicas(t *testing.T, edit func(*config.Config)) (a, b *testserver.Server) {
	t.Helper()
	return replicas(t, true, edit)
}

func replicas(t *testing.T, upstream bool, more func(*config.Config)) (a, b *testserver.Server) {
	t.Helper()
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "idcgate")
	if upstream {
		gmPrepare(t, pg)
	}
	edit := func(c *config.Config) {
		// One public URL, as behind one load balancer: the built-in IdP's
		// issuer is <publicUrl>/idp on both.
		c.Store, c.PublicURL = pg.DSN("idcgate"), "http://idcgate.replicas.test:7439"
		if upstream {
			c.PGUpstream = pg.TLSDSN("dev")
			c.Serverless.TransitionDelay = &config.Duration{}
		}
		if more != nil {
			more(c)
		}
	}
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	a, b = testserver.Start(t, testserver.Options{Env: env, Edit: edit}), testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	if upstream {
		a.TrustUpstreamCA(t, pg) // one CA in the shared store
	}
	return a, b
}

// TestBuiltinIdPAcrossReplicas: a JWT one replica's built-in IdP issued is
// accepted by the other's CreateTokenWithIAM: both derive the IdP's key
// from the master key they share (BEHAVIOUR 7.3).
func TestBuiltinIdPAcrossReplicas(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	jwtFromA := a.IdPToken(t, "alice", "idcgate-demo", 600)
	out, err := ssoExchange(b, testserver.ApplicationArn, jwtFromA)
	if err != nil {
		t.Fatalf("replica b refused replica a's built-in IdP JWT: %v", err)
	}
	if aws.ToString(out.AccessToken) == "" {
		t.Fatal("no access token")
	}
}
