package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/idp"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/testserver"
)

const fixedMasterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// aliceID is alice's user id under fixedMasterKey, computed the way the
// server computes it.
func userID(t *testing.T, name string) string {
	t.Helper()
	cfg, err := config.Load(testserver.ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ApplyDefaults()
	mk, _ := masterkey.Parse(fixedMasterKey)
	for _, u := range cfg.IdentityCenter.Users {
		if u.UserName == name {
			return identitystore.ConfigUserID(mk, cfg.IdentityCenter.IdentityStoreID, name)
		}
	}
	t.Fatalf("no user %s", name)
	return ""
}

func TestIdentityChain(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}})
	ctx := context.Background()

	jwtText := srv.IdPToken(t, "alice", "idcgate-demo", 600)
	tok, err := ssoExchange(srv, testserver.ApplicationArn, jwtText)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(tok.TokenType) != "Bearer" || tok.ExpiresIn != 3600 || aws.ToString(tok.RefreshToken) == "" || aws.ToString(tok.AccessToken) == "" {
		t.Fatalf("token output %+v", tok)
	}
	claims := testserver.IDTokenClaims(t, aws.ToString(tok.IdToken))
	if claims["sub"] != userID(t, "alice") || claims["aws:identity_store_id"] != "d-9067a1b2c3" ||
		claims["aws:instance_arn"] != "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6" || claims["aws:instance_account"] != "123456789012" ||
		claims["aws:identity_store_arn"] != "arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3" {
		t.Fatalf("idToken claims %v", claims)
	}
	assertion := claims["sts:identity_context"].(string)
	if tok.AwsAdditionalDetails == nil || aws.ToString(tok.AwsAdditionalDetails.IdentityContext) != assertion {
		t.Fatal("awsAdditionalDetails.identityContext differs from the idToken claim")
	}

	ar, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("alice-session"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(assertion)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(ar.Credentials.AccessKeyId), "ASIA") || aws.ToString(ar.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/analyst/alice-session" {
		t.Fatalf("AssumeRole %+v", ar.AssumedRoleUser)
	}
	if d := time.Until(aws.ToTime(ar.Credentials.Expiration)); d < 55*time.Minute || d > 61*time.Minute {
		t.Fatalf("expiration in %s", d)
	}
	session := aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey), SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	id, err := srv.STS(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != "arn:aws:sts::123456789012:assumed-role/analyst/alice-session" || aws.ToString(id.Account) != "123456789012" ||
		!strings.HasPrefix(aws.ToString(id.UserId), "AROA") || !strings.HasSuffix(aws.ToString(id.UserId), ":alice-session") {
		t.Fatalf("GetCallerIdentity %s %s %s", aws.ToString(id.Arn), aws.ToString(id.Account), aws.ToString(id.UserId))
	}
	if _, err := srv.Serverless(session).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatalf("analyst session: %v", err)
	}

	// The refresh grant gives a new context for the same user.
	ref, err := srv.OIDC(srv.App).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(testserver.ApplicationArn), GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if testserver.IDTokenClaims(t, aws.ToString(ref.IdToken))["sub"] != userID(t, "alice") {
		t.Fatal("refresh grant changed the user")
	}

	// The built-in IdP publishes its discovery document and keys without SigV4.
	resp := testserver.Do(t, mustGet(t, srv.URL+"/idp/.well-known/openid-configuration"))
	if resp.Status != 200 || resp.JSON(t)["issuer"] != srv.URL+"/idp" {
		t.Fatalf("discovery %d %s", resp.Status, resp.Body)
	}
}

// TestUserIdCondition: a policy conditioned on identitystore:UserId allows
// alice and refuses bob.
func TestUserIdCondition(t *testing.T) {
	t.Parallel()
	alice := userID(t, "alice")
	srv := testserver.Start(t, testserver.Options{
		Env: map[string]string{masterkey.EnvVar: fixedMasterKey},
		Edit: func(c *config.Config) {
			c.Accounts[0].Roles = append(c.Accounts[0].Roles, config.Role{
				Name: "alice-only", MaxSessionDuration: &config.Duration{Duration: time.Hour},
				TrustPolicy: c.Accounts[0].Roles[0].TrustPolicy,
				Policies: []config.Policy{{Name: "p", Document: config.Document{JSON: []byte(`{"Version":"2012-10-17","Statement":[
					{"Effect":"Allow","Action":"redshift-serverless:GetWorkgroup","Resource":"*",
					 "Condition":{"StringEquals":{"identitystore:UserId":"` + alice + `"}}}]}`)}}},
			})
		},
	})
	ctx := context.Background()
	role := "arn:aws:iam::123456789012:role/alice-only"
	a := srv.IdentitySession(t, "alice", role)
	if _, err := srv.Serverless(a).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatalf("alice refused: %v", err)
	}
	b := srv.IdentitySession(t, "bob", role)
	_, err := srv.Serverless(b).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	wantAPIError(t, err, "AccessDeniedException", 400,
		"User: arn:aws:sts::123456789012:assumed-role/alice-only/bob is not authorized to perform: redshift-serverless:GetWorkgroup on resource: "+workgroupARN(t, srv, "demo")+" because no identity-based policy allows the redshift-serverless:GetWorkgroup action")
}

func workgroupARN(t *testing.T, srv *testserver.Server, name string) string {
	out, err := srv.Serverless(srv.Admin).GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Workgroup.WorkgroupArn)
}

// signWithIdPKey signs claims with the built-in IdP's own key, derived from
// the server's master key (to make tokens the IdP would never issue), or
// with a foreign key.
func signWithIdPKey(t *testing.T, srv *testserver.Server, claims map[string]any, foreign bool) string {
	t.Helper()
	var key *ecdsa.PrivateKey
	if foreign {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		mk, err := masterkey.Load(srv.DataDir, func(string) string { return "" }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key, err = idp.SigningKey(mk); err != nil {
			t.Fatal(err)
		}
	}
	return signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil, claims)
}

func baseClaims(srv *testserver.Server, email string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": srv.URL + "/idp", "aud": "idcgate-demo", "sub": "x", "email": email,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

func TestCreateTokenWithIAMRefusals(t *testing.T) {
	t.Parallel()
	otherApp := "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0000000000000001"
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		withReader(c)
		c.IdentityCenter.TrustedTokenIssuers = append(c.IdentityCenter.TrustedTokenIssuers, config.TrustedTokenIssuer{
			Name: "corp", IssuerURL: "https://idp.corp.example", JWKS: `{"keys":[]}`, ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"})
		c.IdentityCenter.Applications = append(c.IdentityCenter.Applications, config.Application{
			Arn: otherApp, Name: "corp-only", Grants: []config.Grant{{Issuer: "corp", Audiences: []string{"idcgate-demo"}}}})
	}})
	ctx := context.Background()
	exchange := func(creds aws.Credentials, app, assertion string) error {
		_, err := srv.OIDC(creds).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
			ClientId: aws.String(app), GrantType: aws.String(testserver.JWTBearer), Assertion: aws.String(assertion)})
		return err
	}
	expired := baseClaims(srv, "alice@example.com")
	expired["exp"] = time.Now().Add(-10 * time.Minute).Unix()
	expired["iat"] = time.Now().Add(-20 * time.Minute).Unix()
	expired["nbf"] = expired["iat"]
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload, _ := json.Marshal(baseClaims(srv, "alice@example.com"))
	algNone := header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."

	cases := []struct {
		name   string
		err    func() error
		code   string
		status int
		oauth  string
	}{
		{"unknown key", func() error {
			return exchange(srv.App, testserver.ApplicationArn, signWithIdPKey(t, srv, baseClaims(srv, "alice@example.com"), true))
		},
			"InvalidGrantException", 400, "invalid_grant"},
		{"expired", func() error {
			return exchange(srv.App, testserver.ApplicationArn, signWithIdPKey(t, srv, expired, false))
		},
			"InvalidGrantException", 400, "invalid_grant"},
		{"wrong audience", func() error {
			return exchange(srv.App, testserver.ApplicationArn, srv.IdPToken(t, "alice", "someone-else", 600))
		},
			"InvalidGrantException", 400, "invalid_grant"},
		{"alg none", func() error { return exchange(srv.App, testserver.ApplicationArn, algNone) },
			"InvalidGrantException", 400, "invalid_grant"},
		{"user not in directory", func() error {
			return exchange(srv.App, testserver.ApplicationArn, signWithIdPKey(t, srv, baseClaims(srv, "zed@example.com"), false))
		},
			"InvalidGrantException", 400, "invalid_grant"},
		{"application does not accept the issuer", func() error { return exchange(srv.App, otherApp, srv.IdPToken(t, "alice", "idcgate-demo", 600)) },
			"UnauthorizedClientException", 400, "unauthorized_client"},
		{"unknown application", func() error {
			return exchange(srv.App, "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-ffffffffffffffff", srv.IdPToken(t, "alice", "idcgate-demo", 600))
		}, "InvalidClientException", 401, "invalid_client"},
		{"caller without sso-oauth:CreateTokenWithIAM", func() error {
			return exchange(reader, testserver.ApplicationArn, srv.IdPToken(t, "alice", "idcgate-demo", 600))
		},
			"AccessDeniedException", 400, "access_denied"},
		{"unsupported grant", func() error {
			_, err := srv.OIDC(srv.App).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(testserver.ApplicationArn), GrantType: aws.String("password")})
			return err
		}, "UnsupportedGrantTypeException", 400, "unsupported_grant_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			wantAPIError(t, err, tc.code, tc.status, "")
			// The OAuth "error" member travels with the SDK's typed errors.
			var ig *oidctypes.InvalidGrantException
			if errors.As(err, &ig) && (aws.ToString(ig.Error_) != tc.oauth || aws.ToString(ig.Error_description) == "") {
				t.Fatalf("error %q description %q", aws.ToString(ig.Error_), aws.ToString(ig.Error_description))
			}
			var ad *oidctypes.AccessDeniedException
			if errors.As(err, &ad) && aws.ToString(ad.Error_) != tc.oauth {
				t.Fatalf("error %q", aws.ToString(ad.Error_))
			}
		})
	}
}

func TestAssumeRoleRefusals(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		c.Accounts[0].Roles = append(c.Accounts[0].Roles, config.Role{
			Name: "no-setcontext", MaxSessionDuration: &config.Duration{Duration: time.Hour},
			TrustPolicy: config.Document{JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)},
		})
	}})
	ctx := context.Background()
	assertion := srv.IdentityContext(t, "alice")
	assume := func(creds aws.Credentials, role string, duration *int32, contexts ...ststypes.ProvidedContext) error {
		_, err := srv.STS(creds).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1"), DurationSeconds: duration, ProvidedContexts: contexts})
		return err
	}
	ctxOf := func(provider, assertion string) ststypes.ProvidedContext {
		return ststypes.ProvidedContext{ProviderArn: aws.String(provider), ContextAssertion: aws.String(assertion)}
	}
	tampered := []byte(assertion)
	tampered[len(tampered)/2] ^= 1
	cases := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"trust policy without sts:SetContext", assume(srv.App, "arn:aws:iam::123456789012:role/no-setcontext", nil, ctxOf(testserver.ContextProvider, assertion)),
			"AccessDenied", 403, "User: arn:aws:iam::123456789012:user/app is not authorized to perform: sts:SetContext on resource: arn:aws:iam::123456789012:role/no-setcontext because the role's trust policy does not allow it"},
		{"tampered context assertion", assume(srv.App, testserver.AnalystRoleArn, nil, ctxOf(testserver.ContextProvider, string(tampered))),
			"InvalidParameterValue", 400, "The context assertion provided for arn:aws:iam::aws:contextProvider/IdentityCenter is invalid."},
		{"foreign provider", assume(srv.App, testserver.AnalystRoleArn, nil, ctxOf("arn:aws:iam::aws:contextProvider/Other", assertion)),
			"InvalidParameterValue", 400, ""},
		{"duration above role maximum", assume(srv.App, "arn:aws:iam::123456789012:role/no-setcontext", aws.Int32(7200)),
			"ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"root cannot assume roles", assume(srv.Admin, testserver.AnalystRoleArn, nil),
			"AccessDenied", 403, "Roles may not be assumed by root accounts."},
		{"unknown role", assume(srv.App, "arn:aws:iam::123456789012:role/ghost", nil),
			"AccessDenied", 403, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.err, tc.code, tc.status, tc.msg) })
	}

	t.Run("tampered session token", func(t *testing.T) {
		good := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
		for _, i := range []int{10, len(good.SessionToken) / 2, len(good.SessionToken) - 2} {
			bad := good
			b := []byte(bad.SessionToken)
			b[i] ^= 1
			bad.SessionToken = string(b)
			_, err := srv.Serverless(bad).ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
			wantAPIError(t, err, "UnrecognizedClientException", 400, "The security token included in the request is invalid.")
			_, err = srv.STS(bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			wantAPIError(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
		}
	})
	t.Run("session policy intersects", func(t *testing.T) {
		out, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("narrow"),
			Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"redshift-serverless:GetWorkgroup","Resource":"*"}]}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.PackedPolicySize) <= 0 {
			t.Fatalf("packed policy size %d", aws.ToInt32(out.PackedPolicySize))
		}
		s := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
		if _, err := srv.Serverless(s).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
			t.Fatal(err)
		}
		_, err = srv.Serverless(s).ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:sts::123456789012:assumed-role/analyst/narrow is not authorized to perform: redshift-serverless:ListWorkgroups on resource: * because no session policy allows the redshift-serverless:ListWorkgroups action")
		_, err = srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("bad"), Policy: aws.String(`{"Statement":`)})
		wantAPIError(t, err, "MalformedPolicyDocument", 400, "")
	})
	t.Run("no-redshift role", func(t *testing.T) {
		s := srv.IdentitySession(t, "alice", testserver.NoRedshiftRole)
		_, err := srv.Serverless(s).ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
		wantAPIError(t, err, "AccessDeniedException", 400, "")
	})
}

func TestRedshiftIdcApplications(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	rs := srv.Redshift(srv.Admin)
	if list := idcApplications(t, srv); len(list) != 1 || aws.ToString(list[0].IdentityNamespace) != "AWSIDC" {
		t.Fatalf("seeded applications %+v", list)
	}
	created, err := rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String("arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"), RedshiftIdcApplicationName: aws.String("second"),
		IdentityNamespace: aws.String("CORP"), IdcDisplayName: aws.String("Second"), IamRoleArn: aws.String(testserver.AnalystRoleArn),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.RedshiftIdcApplication.RedshiftIdcApplicationArn)
	if !strings.HasPrefix(arn, "arn:aws:redshift:us-east-1:123456789012:redshiftidcapplication:") {
		t.Fatalf("arn %s", arn)
	}
	_, err = rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String("arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"), RedshiftIdcApplicationName: aws.String("second"),
		IdcDisplayName: aws.String("Second"), IamRoleArn: aws.String(testserver.AnalystRoleArn),
	})
	wantAPIError(t, err, "RedshiftIdcApplicationAlreadyExists", 400, "")

	c := srv.Serverless(srv.Admin)
	if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("idc-ns"), RedshiftIdcApplicationArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("idc-bad"), RedshiftIdcApplicationArn: aws.String(arn + "x")})
	wantAPIError(t, err, "ValidationException", 400, "Redshift IdC application "+arn+"x does not exist.")

	if _, err := rs.DeleteRedshiftIdcApplication(ctx, &redshift.DeleteRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{RedshiftIdcApplicationArn: aws.String(arn)})
	wantAPIError(t, err, "RedshiftIdcApplicationNotExists", 404, "")
}
