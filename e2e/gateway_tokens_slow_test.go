//go:build slow

package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshift/types"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestGatewayExtJWTReplayAcrossReplicas: an EXT_JWT that logged in on one
// replica is refused on the other, which shares its store. The issuer is
// an external one both replicas trust (the built-in IdP's keys are each
// replica's own).
func TestGatewayExtJWTReplayAcrossReplicas(t *testing.T) {
	t.Parallel()
	key := imNewKey(t, "corp-1", jose.ES256)
	inlineSet, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.jwk()}})
	if err != nil {
		t.Fatal(err)
	}
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "idcgate")
	gmPrepare(t, pg)
	edit := func(c *config.Config) {
		c.Store = pg.DSN("idcgate")
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
		c.IdentityCenter.TrustedTokenIssuers = append(c.IdentityCenter.TrustedTokenIssuers,
			config.TrustedTokenIssuer{Name: "corp-inline", IssuerURL: imInlineIssuer, JWKS: string(inlineSet), ClaimAttributePath: "preferred_username", IdentityStoreAttributePath: "userName"})
	}
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	a := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	b := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	a.TrustUpstreamCA(t, pg) // one CA in the shared store
	demo, _ := idcAppArn(t, a, "demo-idc")
	if _, err := a.Redshift(a.Admin).ModifyRedshiftIdcApplication(context.Background(), &redshift.ModifyRedshiftIdcApplicationInput{
		RedshiftIdcApplicationArn: aws.String(demo),
		AuthorizedTokenIssuerList: []rstypes.AuthorizedTokenIssuer{{TrustedTokenIssuerArn: aws.String(issuerArn(t, a, "corp-inline")), AuthorizedAudiencesList: []string{"redshift"}}},
	}); err != nil {
		t.Fatal(err)
	}
	jwt := func(jti string) string {
		return key.sign(t, map[string]any{"iss": imInlineIssuer, "aud": "redshift", "preferred_username": "alice",
			"exp": time.Now().Add(10 * time.Minute).Unix(), "jti": jti})
	}
	first := jwt("replica-1")
	wantDriverLogin(t, a.PGAddr(), "", extJWT, first, true, "AWSIDC:alice")
	wantDriverRefusal(t, b.PGAddr(), "", extJWT, first, "28P01", "the EXT_JWT was already used to log in")
	// B's own JWT logs in on B, and is then spent on A too.
	second := jwt("replica-2")
	wantDriverLogin(t, b.PGAddr(), "", extJWT, second, false, "AWSIDC:alice")
	wantDriverRefusal(t, a.PGAddr(), "", extJWT, second, "28P01", "the EXT_JWT was already used to log in")
}
