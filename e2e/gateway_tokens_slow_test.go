//go:build slow

package e2e

import (
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcgate/idcgate/internal/config"
)

// TestGatewayExtJWTReplayAcrossReplicas: an EXT_JWT that logged in on one
// replica is refused on the other, which shares its store. The issuer is
// an external one both replicas trust by config.
func TestGatewayExtJWTReplayAcrossReplicas(t *testing.T) {
	t.Parallel()
	key := imNewKey(t, "corp-1", jose.ES256)
	inlineSet := key.inlineJWKS(t)
	a, b := gatewayReplicas(t, func(c *config.Config) {
		c.IdentityCenter.TrustedTokenIssuers = append(c.IdentityCenter.TrustedTokenIssuers,
			config.TrustedTokenIssuer{Name: "corp-inline", IssuerURL: imInlineIssuer, JWKS: inlineSet, ClaimAttributePath: "preferred_username", IdentityStoreAttributePath: "userName"})
	})
	demo, _ := idcAppArn(t, a, "demo-idc")
	trustIssuers(t, a, demo, "redshift", "corp-inline")
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
