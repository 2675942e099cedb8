package testserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// Example identity facts.
const (
	ApplicationArn  = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b"
	AnalystRoleArn  = "arn:aws:iam::123456789012:role/analyst"
	NoRedshiftRole  = "arn:aws:iam::123456789012:role/no-redshift"
	ContextProvider = "arn:aws:iam::aws:contextProvider/IdentityCenter"
	JWTBearer       = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// IdPToken asks the built-in IdP (as administrator) for a JWT.
func (s *Server) IdPToken(t testing.TB, user, audience string, ttlSeconds int) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"userName": user, "audience": audience, "ttlSeconds": ttlSeconds})
	resp := s.CallAdmin(t, s.Admin, "IssueTestToken", body)
	if resp.Status != 200 {
		t.Fatalf("IssueTestToken: %d %s", resp.Status, resp.Body)
	}
	return resp.JSON(t)["token"].(string)
}

// CallAdmin signs an idcgate administrator call.
func (s *Server) CallAdmin(t testing.TB, creds aws.Credentials, op string, body []byte) *RawResponse {
	t.Helper()
	req := s.ServerlessRequest(t, op, body)
	req.Header.Set("X-Amz-Target", "Idcgate."+op)
	Sign(t, req, body, creds, "idcgate", Region, nowFunc())
	return Do(t, req)
}

// OIDC returns an SSO-OIDC client.
func (s *Server) OIDC(creds aws.Credentials) *ssooidc.Client {
	return ssooidc.NewFromConfig(s.Config(creds))
}

// UnsignedOIDC returns an SSO-OIDC client without credentials: the SDK
// sends RegisterClient, StartDeviceAuthorization and CreateToken unsigned
// (noAuth), as the AWS CLI does.
func (s *Server) UnsignedOIDC() *ssooidc.Client {
	return ssooidc.NewFromConfig(s.Config(aws.Credentials{}), func(o *ssooidc.Options) { o.Credentials = nil })
}

// STS returns an STS client.
func (s *Server) STS(creds aws.Credentials) *sts.Client {
	return sts.NewFromConfig(s.Config(creds))
}

// IdentityContext runs IdP JWT → CreateTokenWithIAM (signed as app) and
// returns the idToken's sts:identity_context claim.
func (s *Server) IdentityContext(t testing.TB, user string) string {
	t.Helper()
	jwt := s.IdPToken(t, user, "idcgate-demo", 600)
	out, err := s.OIDC(s.App).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(ApplicationArn), GrantType: aws.String(JWTBearer), Assertion: aws.String(jwt),
	})
	if err != nil {
		t.Fatalf("CreateTokenWithIAM for %s: %v", user, err)
	}
	return IDTokenClaims(t, aws.ToString(out.IdToken))["sts:identity_context"].(string)
}

// IdentitySession returns identity-enhanced role credentials for user.
func (s *Server) IdentitySession(t testing.TB, user, roleArn string) aws.Credentials {
	t.Helper()
	assertion := s.IdentityContext(t, user)
	out, err := s.STS(s.App).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleArn), RoleSessionName: aws.String(user),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(ContextProvider), ContextAssertion: aws.String(assertion)}},
	})
	if err != nil {
		t.Fatalf("AssumeRole for %s: %v", user, err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: aws.ToTime(c.Expiration)}
}

// IDTokenClaims decodes a JWT's payload without verifying it.
func IDTokenClaims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
