package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/testserver"
)

const thumbprint = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"

// anonymousSTS is an STS client that signs nothing, as a CI job without
// AWS credentials calls AssumeRoleWithWebIdentity.
func anonymousSTS(srv *testserver.Server) *sts.Client {
	cfg := srv.Config(aws.Credentials{})
	cfg.Credentials = aws.AnonymousCredentials{}
	return sts.NewFromConfig(cfg)
}

func toCreds(k, s, tok *string) aws.Credentials {
	return aws.Credentials{AccessKeyID: aws.ToString(k), SecretAccessKey: aws.ToString(s), SessionToken: aws.ToString(tok)}
}

// TestOIDCProviders: IAM's OpenID Connect provider actions through the
// SDK's IAM client, with IAM's errors.
func TestOIDCProviders(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	admin := iamClient(srv, srv.Admin)
	url := srv.Instance.PublicURL + "/idp"
	resource := strings.TrimPrefix(url, "http://")
	arn := "arn:aws:iam::123456789012:oidc-provider/" + resource

	created, err := admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(url), ClientIDList: []string{"ci", "ci"}, ThumbprintList: []string{strings.ToUpper(thumbprint)},
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.OpenIDConnectProviderArn) != arn || len(created.Tags) != 1 {
		t.Fatalf("created %+v", created)
	}
	got, err := admin.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Url) != resource || !slices.Equal(got.ClientIDList, []string{"ci"}) || !slices.Equal(got.ThumbprintList, []string{thumbprint}) ||
		got.CreateDate == nil || time.Since(*got.CreateDate) > time.Minute || len(got.Tags) != 1 || aws.ToString(got.Tags[0].Value) != "platform" {
		t.Fatalf("GetOpenIDConnectProvider %+v", got)
	}
	list, err := admin.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(list.OpenIDConnectProviderList) != 1 || aws.ToString(list.OpenIDConnectProviderList[0].Arn) != arn {
		t.Fatalf("ListOpenIDConnectProviders %v %+v", err, list)
	}

	// Client ids: adding one twice, or removing one absent, is no error.
	for _, id := range []string{"other", "other"} {
		if _, err := admin.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"ci", "never-added"} {
		if _, err := admin.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	second := strings.Repeat("ab", 20)
	if _, err := admin.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: aws.String(arn), ThumbprintList: []string{second}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn),
		Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("ci")}, {Key: aws.String("TEAM"), Value: aws.String("data")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UntagOpenIDConnectProvider(ctx, &iam.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := admin.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "TEAM" || aws.ToString(tags.Tags[0].Value) != "data" || tags.IsTruncated {
		t.Fatalf("ListOpenIDConnectProviderTags %v %+v", err, tags)
	}
	got, err = admin.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil || !slices.Equal(got.ClientIDList, []string{"other"}) || !slices.Equal(got.ThumbprintList, []string{second}) {
		t.Fatalf("after the changes: %v %+v", err, got)
	}

	// Errors, with IAM's codes and statuses.
	_, err = admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(url + "/"), ClientIDList: []string{"x"}})
	wantAPIError(t, err, "EntityAlreadyExists", 409, "Provider with url "+url+"/ already exists.")
	for _, bad := range []string{"ftp://example.com", "https://example.com/?q=1", "example.com", "https://user@example.com"} {
		_, err = admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(bad)})
		wantAPIError(t, err, "InvalidInput", 400, "")
	}
	_, err = admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://x.example"), ThumbprintList: []string{"abc"}})
	wantAPIError(t, err, "ValidationError", 400, "1 validation error detected: Value 'abc' at 'thumbprintList.1.member' failed to satisfy constraint: Member must have length greater than or equal to 40")
	_, err = admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://x.example"), ThumbprintList: slices.Repeat([]string{thumbprint}, 6)})
	wantAPIError(t, err, "LimitExceeded", 409, "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5")
	_, err = admin.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::123456789012:role/analyst")})
	wantAPIError(t, err, "InvalidInput", 400, "ARN arn:aws:iam::123456789012:role/analyst is not valid.")
	missing := "arn:aws:iam::123456789012:oidc-provider/nowhere.example"
	_, err = admin.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(missing)})
	wantAPIError(t, err, "NoSuchEntity", 404, "OpenIDConnect Provider not found for arn "+missing)
	_, err = admin.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(missing), ClientID: aws.String("x")})
	wantAPIError(t, err, "NoSuchEntity", 404, "")

	// The example user "app" has no IAM permission: refused whether or
	// not the provider exists, so it learns nothing of which do.
	app := iamClient(srv, srv.App)
	for a, on := range map[string]string{arn: arn, missing: "arn:aws:iam::123456789012:oidc-provider/*"} {
		_, err = app.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(a)})
		wantAPIError(t, err, "AccessDenied", 403, "User: arn:aws:iam::123456789012:user/app is not authorized to perform: iam:GetOpenIDConnectProvider on resource: "+on+" because no identity-based policy allows the iam:GetOpenIDConnectProvider action")
	}
	_, err = app.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	wantAPIError(t, err, "AccessDenied", 403, "")

	if _, err := admin.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	wantAPIError(t, err, "NoSuchEntity", 404, "OpenIDConnect Provider not found for arn "+arn)
	list, err = admin.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(list.OpenIDConnectProviderList) != 0 {
		t.Fatalf("after delete: %v %+v", err, list)
	}
	// A trust policy may not name a provider of the account that does not exist.
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity"}]}`, arn)
	_, err = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("orphan"), AssumeRolePolicyDocument: aws.String(trust)})
	wantAPIError(t, err, "MalformedPolicyDocument", 400, `Invalid principal in policy: "Federated":"`+arn+`"`)
}

// webIdentityWorld registers the built-in IdP as an IAM OIDC provider
// (client id "ci-aud") and makes the role "ci", trusting it for subject
// alice only. It returns the provider's ARN and its condition-key prefix.
func webIdentityWorld(t *testing.T, srv *testserver.Server) (string, string) {
	t.Helper()
	ctx := context.Background()
	admin := iamClient(srv, srv.Admin)
	url := srv.Instance.PublicURL + "/idp"
	p, err := admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(url), ClientIDList: []string{"ci-aud"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(p.OpenIDConnectProviderArn)
	prefix := strings.TrimPrefix(url, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity",`+
		`"Condition":{"StringEquals":{%q:"ci-aud",%q:"alice"}}}]}`, arn, prefix+":aud", prefix+":sub")
	if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ci"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	return arn, prefix
}

// TestAssumeRoleWithWebIdentityCI is the CI flow: a JWT from the built-in
// IdP, exchanged without any AWS credentials for a role session whose
// identity GetCallerIdentity shows; the trust policy's aud and sub
// conditions admit one subject and refuse another; expired, wrongly
// signed, unknown-issuer and foreign-audience tokens are refused.
func TestAssumeRoleWithWebIdentityCI(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now})
	ctx := context.Background()
	providerArn, _ := webIdentityWorld(t, srv)
	const roleArn = "arn:aws:iam::123456789012:role/ci"
	anon := anonymousSTS(srv)
	assume := func(token string, mod ...func(*sts.AssumeRoleWithWebIdentityInput)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("build-42"), WebIdentityToken: aws.String(token)}
		for _, m := range mod {
			m(in)
		}
		return anon.AssumeRoleWithWebIdentity(ctx, in)
	}

	jwt := srv.IdPToken(t, "alice", "ci-aud", 600)
	out, err := assume(jwt)
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SessionToken) == "" ||
		c.Expiration == nil || c.Expiration.Sub(clk.Now()) > time.Hour+time.Second || c.Expiration.Sub(clk.Now()) < time.Hour-time.Minute ||
		aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/ci/build-42" ||
		!strings.HasPrefix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), "AROA") || !strings.HasSuffix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), ":build-42") ||
		aws.ToString(out.SubjectFromWebIdentityToken) != "alice" || aws.ToString(out.Audience) != "ci-aud" || aws.ToString(out.Provider) != providerArn ||
		out.PackedPolicySize != nil {
		t.Fatalf("AssumeRoleWithWebIdentity %+v %+v", out, out.AssumedRoleUser)
	}
	session := toCreds(c.AccessKeyId, c.SecretAccessKey, c.SessionToken)
	who, err := srv.STS(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:sts::123456789012:assumed-role/ci/build-42" || aws.ToString(who.Account) != testserver.Account {
		t.Fatalf("GetCallerIdentity %v %+v", err, who)
	}

	// The SDK's own web identity credential provider, as a CI job or a
	// pod configures it (a token file and a role ARN), gets the same.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	provider := stscreds.NewWebIdentityRoleProvider(anon, roleArn, stscreds.IdentityTokenFile(tokenFile),
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "sdk-chain" })
	cfg := srv.Config(aws.Credentials{})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	who, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:sts::123456789012:assumed-role/ci/sdk-chain" {
		t.Fatalf("GetCallerIdentity through stscreds: %v %+v", err, who)
	}

	// A session policy is reported by its packed size.
	out, err = assume(jwt, func(in *sts.AssumeRoleWithWebIdentityInput) {
		in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`)
	})
	if err != nil || out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 {
		t.Fatalf("with a session policy: %v %+v", err, out)
	}

	denied := "Not authorized to perform sts:AssumeRoleWithWebIdentity"
	// bob's token is good, but the trust policy's sub condition names alice.
	_, err = assume(srv.IdPToken(t, "bob", "ci-aud", 600))
	wantAPIError(t, err, "AccessDenied", 403, denied)
	// A role that does not exist is answered the same way.
	_, err = assume(jwt, func(in *sts.AssumeRoleWithWebIdentityInput) {
		in.RoleArn = aws.String("arn:aws:iam::123456789012:role/nope")
	})
	wantAPIError(t, err, "AccessDenied", 403, denied)
	// The example role "analyst" does not trust the provider.
	_, err = assume(jwt, func(in *sts.AssumeRoleWithWebIdentityInput) { in.RoleArn = aws.String(testserver.AnalystRoleArn) })
	wantAPIError(t, err, "AccessDenied", 403, denied)
	// An audience the provider does not list.
	_, err = assume(srv.IdPToken(t, "alice", "someone-else", 600))
	wantAPIError(t, err, "InvalidIdentityToken", 400, "Incorrect token audience")
	// Signed by a key that is not the IdP's.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	claims := map[string]any{"iss": srv.Instance.PublicURL + "/idp", "sub": "alice", "aud": "ci-aud", "exp": clk.Now().Add(time.Hour).Unix(), "iat": clk.Now().Unix()}
	forged := signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil, claims)
	_, err = assume(forged)
	wantAPIError(t, err, "InvalidIdentityToken", 400, "")
	// An issuer no provider of the account names.
	claims["iss"] = "https://issuer.invalid"
	_, err = assume(signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil, claims))
	wantAPIError(t, err, "InvalidIdentityToken", 400, "No OpenIDConnect provider found in your account for https://issuer.invalid")
	// Not a JWT at all.
	_, err = assume("not-a-jwt")
	wantAPIError(t, err, "InvalidIdentityToken", 400, "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	// Input bounds: the token is never quoted.
	_, err = assume("abc")
	wantAPIError(t, err, "ValidationError", 400, "1 validation error detected: Value '***' at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4")
	_, err = assume(jwt, func(in *sts.AssumeRoleWithWebIdentityInput) { in.RoleSessionName = aws.String("no spaces") })
	wantAPIError(t, err, "ValidationError", 400, "")
	_, err = assume(jwt, func(in *sts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(7200) })
	wantAPIError(t, err, "ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	_, err = assume(jwt, func(in *sts.AssumeRoleWithWebIdentityInput) { in.Policy = aws.String(`{"Statement":[]}`) })
	wantAPIError(t, err, "MalformedPolicyDocument", 400, "")
	_, err = assume(jwt, func(in *sts.AssumeRoleWithWebIdentityInput) { in.ProviderId = aws.String("www.amazon.com") })
	wantAPIError(t, err, "InvalidParameterValue", 400, "")

	// Expired: past exp and the minute of leeway.
	short := srv.IdPToken(t, "alice", "ci-aud", 60)
	clk.Set(3 * time.Minute)
	_, err = assume(short)
	wantAPIError(t, err, "ExpiredTokenException", 400, "")

	// Deleting the provider ends new sessions from its tokens.
	fresh := srv.IdPToken(t, "alice", "ci-aud", 600)
	if _, err := iamClient(srv, srv.Admin).DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerArn)}); err != nil {
		t.Fatal(err)
	}
	_, err = assume(fresh)
	wantAPIError(t, err, "InvalidIdentityToken", 400, "No OpenIDConnect provider found in your account for "+srv.Instance.PublicURL+"/idp")

	// Audit: the calls whose token verified are WebIdentityUser calls;
	// no record holds the token.
	var web []audit.Record
	for _, r := range opsStoreRecords(t, srv) {
		if r.EventName == "AssumeRoleWithWebIdentity" && r.UserIdentity.Type == "WebIdentityUser" {
			web = append(web, r)
		}
	}
	if len(web) < 2 {
		t.Fatalf("%d WebIdentityUser records", len(web))
	}
	u := web[0].UserIdentity
	if u.IdentityProvider != providerArn || u.UserName != "alice" || u.PrincipalID != providerArn+":ci-aud:alice" || web[0].RecipientAccountID != testserver.Account ||
		web[0].ErrorCode != "" || web[0].RequestParameters["WebIdentityToken"] != audit.Hidden {
		t.Fatalf("record %+v (identity %+v)", web[0], u)
	}
	raw, _ := os.ReadFile(filepath.Join(srv.DataDir, "audit.log"))
	for _, tok := range []string{jwt, forged, short} {
		if strings.Contains(string(raw), tok[strings.LastIndexByte(tok, '.'):]) {
			t.Fatal("a web identity token is in the audit trail")
		}
	}
}

// TestWebIdentityConfigProvider: a provider declared in the config is
// there at start and its tokens are taken; one the config no longer
// declares is gone after a restart, and the API's stays.
func TestWebIdentityConfigProvider(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	declare := func(urls ...string) func(*config.Config) {
		return func(c *config.Config) {
			for _, u := range urls {
				c.Accounts[0].OIDCProviders = append(c.Accounts[0].OIDCProviders, config.OIDCProvider{URL: u, ClientIDs: []string{"ci-aud"}})
			}
		}
	}
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Edit: declare("https://token.actions.githubusercontent.com")})
	ctx := context.Background()
	admin := iamClient(srv, srv.Admin)
	gh := iamstore.OIDCProviderARN(testserver.Account, "https://token.actions.githubusercontent.com")
	got, err := admin.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(gh)})
	if err != nil || aws.ToString(got.Url) != "token.actions.githubusercontent.com" || !slices.Equal(got.ClientIDList, []string{"ci-aud"}) {
		t.Fatalf("config provider: %v %+v", err, got)
	}
	apiMade, err := admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://api.example"), ClientIDList: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv = testserver.Start(t, testserver.Options{DataDir: dir})
	admin = iamClient(srv, srv.Admin)
	list, err := admin.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(list.OpenIDConnectProviderList) != 1 || aws.ToString(list.OpenIDConnectProviderList[0].Arn) != aws.ToString(apiMade.OpenIDConnectProviderArn) {
		t.Fatalf("after restart without the config's provider: %v %+v", err, list)
	}
}

// TestGetSessionToken: an IAM user's temporary credentials act as the
// user, may not call IAM or STS beyond AssumeRole and GetCallerIdentity,
// and only an IAM user's long-term keys may ask for them.
func TestGetSessionToken(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	out, err := srv.STS(srv.App).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || c.Expiration == nil ||
		c.Expiration.Sub(time.Now()) > 12*time.Hour+time.Second || c.Expiration.Sub(time.Now()) < 12*time.Hour-time.Minute {
		t.Fatalf("GetSessionToken %+v", c)
	}
	session := toCreds(c.AccessKeyId, c.SecretAccessKey, c.SessionToken)
	who, err := srv.STS(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::123456789012:user/app" || !strings.HasPrefix(aws.ToString(who.UserId), "AIDA") {
		t.Fatalf("GetCallerIdentity %v %+v", err, who)
	}
	// The user's own permissions: app may assume the identity roles.
	if _, err := srv.STS(session).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("s1")}); err != nil {
		t.Fatalf("AssumeRole with the user session: %v", err)
	}
	_, err = iamClient(srv, session).ListRoles(ctx, &iam.ListRolesInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
	_, err = srv.STS(session).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	wantAPIError(t, err, "AccessDenied", 403, "")
	_, err = srv.STS(session).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(testserver.AppKeyID)})
	wantAPIError(t, err, "AccessDenied", 403, "")

	// Who may call it.
	_, err = srv.STS(srv.Admin).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	wantAPIError(t, err, "AccessDenied", 403, "")
	role := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	_, err = srv.STS(role).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	wantAPIError(t, err, "AccessDenied", 403, "Cannot call GetSessionToken with session credentials")

	// Bounds, and no MFA to check a code against.
	out, err = srv.STS(srv.App).GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(129600)})
	if err != nil || out.Credentials.Expiration.Sub(time.Now()) < 36*time.Hour-time.Minute {
		t.Fatalf("36-hour session: %v %+v", err, out)
	}
	_, err = srv.STS(srv.App).GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(899)})
	wantAPIError(t, err, "ValidationError", 400, "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	_, err = srv.STS(srv.App).GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(129601)})
	wantAPIError(t, err, "ValidationError", 400, "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600")
	_, err = srv.STS(srv.App).GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/app"), TokenCode: aws.String("123456")})
	wantAPIError(t, err, "AccessDenied", 403, "")

	// A user deleted (and made again) loses its sessions.
	admin := iamClient(srv, srv.Admin)
	long := iamUserWithKey(t, admin, "temp")
	tmp, err := srv.STS(long).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	tmpCreds := toCreds(tmp.Credentials.AccessKeyId, tmp.Credentials.SecretAccessKey, tmp.Credentials.SessionToken)
	if _, err := admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("temp"), AccessKeyId: aws.String(long.AccessKeyID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("temp")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("temp")}); err != nil {
		t.Fatal(err)
	}
	_, err = srv.STS(tmpCreds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403, "")
}

// keyWithAccount is an access key id carrying account as AWS encodes it
// (written out here, apart from idcgate's code, to check it).
func keyWithAccount(prefix string, account uint64) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [10]byte
	z := account << 7 // 48 bits: 1 random bit (0), the account, 7 random bits (0)
	for i := 0; i < 6; i++ {
		b[i] = byte(z >> (8 * (5 - i)))
	}
	b[9] = 0x5a
	out := []byte(prefix)
	var acc uint64
	bits := 0
	for _, x := range b {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			out = append(out, alphabet[acc>>(bits-5)&31])
			bits -= 5
		}
	}
	return string(out)
}

// TestGetAccessKeyInfo: the account of any well-formed key id.
func TestGetAccessKeyInfo(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	c := srv.STS(srv.Admin)
	session := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	for name, tc := range map[string]struct{ key, want string }{
		"an IAM user's":      {testserver.AppKeyID, testserver.Account},
		"the root's":         {srv.Admin.AccessKeyID, testserver.Account},
		"a role session's":   {session.AccessKeyID, testserver.Account},
		"another account's":  {keyWithAccount("AKIA", 210987654321), "210987654321"},
		"a session key's":    {keyWithAccount("ASIA", 999999999999), "999999999999"},
		"a small account id": {keyWithAccount("AKIA", 42), "000000000042"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := c.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(tc.key)})
			if err != nil || aws.ToString(out.Account) != tc.want {
				t.Fatalf("GetAccessKeyInfo(%s): %v %+v, want %s", tc.key, err, out, tc.want)
			}
		})
	}
	_, err := c.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIASHORT")})
	wantAPIError(t, err, "ValidationError", 400, "1 validation error detected: Value 'AKIASHORT' at 'accessKeyId' failed to satisfy constraint: Member must have length greater than or equal to 16")
	_, err = c.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIA-NOT-A-KEY-ID!")})
	wantAPIError(t, err, "ValidationError", 400, "")
	_, err = c.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("akia0000000000000000")})
	wantAPIError(t, err, "InvalidParameterValue", 400, "")
	// It is an action policies control: the example user "app" has no
	// policy that allows it.
	_, err = srv.STS(srv.App).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(testserver.AppKeyID)})
	wantAPIError(t, err, "AccessDenied", 403, "User: arn:aws:iam::123456789012:user/app is not authorized to perform: sts:GetAccessKeyInfo on resource: * because no identity-based policy allows the sts:GetAccessKeyInfo action")
}

// externalIdP is an OpenID Connect issuer on its own listener: discovery
// document and JWKS, its tokens signed with key. Its issuer is its URL,
// with a trailing slash when slash is set (as some IdPs name themselves).
func externalIdP(t *testing.T, slash bool) (*httptest.Server, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mux := http.NewServeMux()
	var url string
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		iss := url
		if slash {
			iss += "/"
		}
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss, url+"/keys")
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
		w.Write(b)
	})
	idp := httptest.NewServer(mux)
	t.Cleanup(idp.Close)
	url = idp.URL
	return idp, key
}

// TestAssumeRoleWithWebIdentityExternalIssuer: a provider that is not the
// built-in IdP has its keys found through its discovery document; its
// amr claim is a condition key; an issuer that cannot be reached is
// IDPCommunicationError.
func TestAssumeRoleWithWebIdentityExternalIssuer(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	idp, key := externalIdP(t, false)
	admin := iamClient(srv, srv.Admin)
	p, err := admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(idp.URL), ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimPrefix(idp.URL, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity",`+
		`"Condition":{"StringLike":{%q:"repo:acme/*"},"ForAnyValue:StringEquals":{%q:"mfa"}}}]}`, aws.ToString(p.OpenIDConnectProviderArn), prefix+":sub", prefix+":amr")
	if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deploy"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	sign := func(sub string, amr ...string) string {
		return signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil, map[string]any{
			"iss": idp.URL, "sub": sub, "aud": []string{"other", "sts.amazonaws.com"}, "amr": amr,
			"iat": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix()})
	}
	anon := anonymousSTS(srv)
	in := func(token string) *sts.AssumeRoleWithWebIdentityInput {
		return &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("gha"), WebIdentityToken: aws.String(token)}
	}
	out, err := anon.AssumeRoleWithWebIdentity(ctx, in(sign("repo:acme/app:ref:refs/heads/main", "pwd", "mfa")))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Audience) != "sts.amazonaws.com" || aws.ToString(out.SubjectFromWebIdentityToken) != "repo:acme/app:ref:refs/heads/main" {
		t.Fatalf("answer %+v", out)
	}
	_, err = anon.AssumeRoleWithWebIdentity(ctx, in(sign("repo:acme/app:ref:refs/heads/main", "pwd")))
	wantAPIError(t, err, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	_, err = anon.AssumeRoleWithWebIdentity(ctx, in(sign("repo:evil/app", "mfa")))
	wantAPIError(t, err, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")

	// A token whose iss says http for a provider registered as https
	// names no provider: keys are never fetched on a downgraded scheme.
	https := strings.Replace(idp.URL, "http://", "https://", 1)
	if _, err := admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(https + "/tls"), ClientIDList: []string{"sts.amazonaws.com"}}); err != nil {
		t.Fatal(err)
	}
	down := signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil, map[string]any{
		"iss": idp.URL + "/tls", "sub": "repo:acme/app", "aud": "sts.amazonaws.com", "exp": time.Now().Add(10 * time.Minute).Unix()})
	_, err = anon.AssumeRoleWithWebIdentity(ctx, in(down))
	wantAPIError(t, err, "InvalidIdentityToken", 400, "No OpenIDConnect provider found in your account for "+idp.URL+"/tls")

	// An issuer that names itself with a trailing slash.
	slashed, slashedKey := externalIdP(t, true)
	sp, err := admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(slashed.URL + "/"), ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	strust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity"}]}`, aws.ToString(sp.OpenIDConnectProviderArn))
	if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("slashed"), AssumeRolePolicyDocument: aws.String(strust)}); err != nil {
		t.Fatal(err)
	}
	st := signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: slashedKey, KeyID: "k1"}}, nil, map[string]any{
		"iss": slashed.URL + "/", "sub": "s", "aud": "sts.amazonaws.com", "exp": time.Now().Add(10 * time.Minute).Unix()})
	sin := in(st)
	sin.RoleArn = aws.String("arn:aws:iam::123456789012:role/slashed")
	if _, err := anon.AssumeRoleWithWebIdentity(ctx, sin); err != nil {
		t.Fatalf("issuer with a trailing slash: %v", err)
	}

	// A well-signed token whose claims are not valid yet.
	early := signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil, map[string]any{
		"iss": idp.URL, "sub": "repo:acme/app", "aud": "sts.amazonaws.com", "nbf": time.Now().Add(10 * time.Minute).Unix(), "exp": time.Now().Add(20 * time.Minute).Unix()})
	_, err = anon.AssumeRoleWithWebIdentity(ctx, in(early))
	wantAPIError(t, err, "IDPRejectedClaim", 403, "The web identity token is not valid yet (nbf).")

	// An issuer whose keys cannot be fetched.
	gone, goneKey := externalIdP(t, false)
	if _, err := admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(gone.URL), ClientIDList: []string{"sts.amazonaws.com"}}); err != nil {
		t.Fatal(err)
	}
	token := signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: goneKey}, nil, map[string]any{
		"iss": gone.URL, "sub": "x", "aud": "sts.amazonaws.com", "exp": time.Now().Add(10 * time.Minute).Unix()})
	gone.Close()
	_, err = anon.AssumeRoleWithWebIdentity(ctx, in(token))
	wantAPIError(t, err, "IDPCommunicationError", 400, "")
}
