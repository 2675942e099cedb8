package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/testserver"
)

// imNoDirectoryYAML is a deployment without an identityCenter section: the
// example IAM user "app" and nothing of Identity Center.
const imNoDirectoryYAML = `
region: us-east-1
accounts:
  - id: "123456789012"
    users:
      - name: app
        accessKeys:
          - accessKeyId: AKIAIOSFODNN7EXAMPLE
            secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        policies:
          - name: identity-broker
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: [sts:AssumeRole, sts:SetContext, sso-oauth:CreateTokenWithIAM]
                  Resource: "*"
`

// TestCreateTokenWithIAMWithoutDirectory: with no Identity Center configured,
// every clientId names an application that does not exist, so the answer is
// InvalidClientException (it used to be a recovered panic).
func TestCreateTokenWithIAMWithoutDirectory(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{ConfigYAML: imNoDirectoryYAML})
	_, err := srv.OIDC(srv.App).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(testserver.ApplicationArn), GrantType: aws.String(testserver.JWTBearer), Assertion: aws.String("a.b.c"),
	})
	wantAPIError(t, err, "InvalidClientException", 401, "")
	var ic *oidctypes.InvalidClientException
	if !errors.As(err, &ic) || aws.ToString(ic.Error_) != "invalid_client" ||
		aws.ToString(ic.Error_description) != "Application "+testserver.ApplicationArn+" does not exist." {
		t.Fatalf("error %v", err)
	}
}

// imKey is a signing key of an external IdP.
type imKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
	pub  any
}

func imNewKey(t *testing.T, kid string, alg jose.SignatureAlgorithm) imKey {
	t.Helper()
	switch alg {
	case jose.RS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return imKey{kid, alg, k, &k.PublicKey}
	default:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return imKey{kid, alg, k, &k.PublicKey}
	}
}

func (k imKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// inlineJWKS is the key set of k alone, as a config's inline jwks.
func (k imKey) inlineJWKS(t *testing.T) string {
	t.Helper()
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.jwk()}})
	if err != nil {
		t.Fatal(err)
	}
	return string(set)
}

func (k imKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return signJWT(t, jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, (&jose.SignerOptions{}).WithType("JWT"), claims)
}

// imJWKS is an external IdP's JWKS endpoint; it counts fetches.
type imJWKS struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	status  int
	fetches atomic.Int32
}

func imNewJWKS(t *testing.T, keys ...imKey) *imJWKS {
	j := &imJWKS{status: http.StatusOK}
	j.serve(http.StatusOK, keys...)
	j.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		j.mu.Lock()
		set, status := jose.JSONWebKeySet{Keys: j.keys}, j.status
		j.mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, "unavailable", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(j.Close)
	return j
}

func (j *imJWKS) serve(status int, keys ...imKey) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.status, j.keys = status, nil
	for _, k := range keys {
		j.keys = append(j.keys, k.jwk())
	}
}

// External issuers and the application that trusts them.
const (
	imURLIssuer    = "https://idp.corp.example"
	imInlineIssuer = "https://inline.corp.example"
	imDownIssuer   = "https://down.corp.example"
	imCorpApp      = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-00000000000000c1"
	imCorpAudience = "corp-app"
)

// imExternalWorld starts idcgate trusting three external issuers: one with
// a JWKS URL (email → emails.value), one with an inline JWKS
// (preferred_username → userName) and one whose JWKS URL is down.
func imExternalWorld(t *testing.T, clk *clock.Offset, jwks *imJWKS, inline imKey) *testserver.Server {
	t.Helper()
	inlineSet := inline.inlineJWKS(t)
	down := imNewJWKS(t)
	down.serve(http.StatusServiceUnavailable)
	return testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: func(c *config.Config) {
		ic := c.IdentityCenter
		ic.TrustedTokenIssuers = append(ic.TrustedTokenIssuers,
			config.TrustedTokenIssuer{Name: "corp-url", IssuerURL: imURLIssuer, JWKSURL: jwks.URL, ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"},
			config.TrustedTokenIssuer{Name: "corp-inline", IssuerURL: imInlineIssuer, JWKS: inlineSet, ClaimAttributePath: "preferred_username", IdentityStoreAttributePath: "userName"},
			config.TrustedTokenIssuer{Name: "corp-down", IssuerURL: imDownIssuer, JWKSURL: down.URL, ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"},
		)
		ic.Applications = append(ic.Applications, config.Application{Arn: imCorpApp, Name: "corp", Grants: []config.Grant{
			{Issuer: "corp-url", Audiences: []string{imCorpAudience}},
			{Issuer: "corp-inline", Audiences: []string{imCorpAudience}},
			{Issuer: "corp-down", Audiences: []string{imCorpAudience}},
		}})
	}})
}

func imClaims(clk *clock.Offset, iss string, mod func(map[string]any)) map[string]any {
	now := clk.Now()
	c := map[string]any{"iss": iss, "aud": imCorpAudience, "sub": "corp-user-1", "email": "alice@example.com", "preferred_username": "alice",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

// imExchange runs CreateTokenWithIAM for the corp application as "app".
func imExchange(srv *testserver.Server, assertion string) (*ssooidc.CreateTokenWithIAMOutput, error) {
	return ssoExchange(srv, imCorpApp, assertion)
}

// imWantOAuth asserts an SSO-OIDC error: wire code, status, the OAuth
// "error" member and the exact error_description.
func imWantOAuth(t *testing.T, err error, code string, status int, oauth, desc string) {
	t.Helper()
	wantAPIError(t, err, code, status, "")
	var e, d *string
	var (
		ig *oidctypes.InvalidGrantException
		ic *oidctypes.InvalidClientException
		uc *oidctypes.UnauthorizedClientException
		is *oidctypes.InternalServerException
	)
	switch {
	case errors.As(err, &ig):
		e, d = ig.Error_, ig.Error_description
	case errors.As(err, &ic):
		e, d = ic.Error_, ic.Error_description
	case errors.As(err, &uc):
		e, d = uc.Error_, uc.Error_description
	case errors.As(err, &is):
		e, d = is.Error_, is.Error_description
	default:
		t.Fatalf("unexpected error type %T", err)
	}
	if aws.ToString(e) != oauth || aws.ToString(d) != desc {
		t.Fatalf("error %q, error_description %q\nwant %q, %q", aws.ToString(e), aws.ToString(d), oauth, desc)
	}
}

// imUserOf returns the Identity Center user id (sub) of an exchange's idToken.
func imUserOf(t *testing.T, out *ssooidc.CreateTokenWithIAMOutput) string {
	t.Helper()
	sub, _ := testserver.IDTokenClaims(t, aws.ToString(out.IdToken))["sub"].(string)
	if sub == "" {
		t.Fatal("idToken without sub")
	}
	return sub
}

// TestTrustedIssuerJWKSURL: an external issuer whose JWKS idcgate fetches
// by URL; RS256 and ES256 keys; a rotation at the IdP is picked up by a
// refetch for the unknown kid (at most once per 30 s), without waiting for
// the 5-minute cache.
func TestTrustedIssuerJWKSURL(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	rsa1, ec1 := imNewKey(t, "rsa-1", jose.RS256), imNewKey(t, "ec-1", jose.ES256)
	jwks := imNewJWKS(t, rsa1, ec1)
	srv := imExternalWorld(t, clk, jwks, imNewKey(t, "inline-1", jose.ES256))
	alice := imUserID(t, srv, "alice")

	for _, k := range []imKey{rsa1, ec1} {
		out, err := imExchange(srv, k.sign(t, imClaims(clk, imURLIssuer, nil)))
		if err != nil {
			t.Fatalf("%s token: %v", k.alg, err)
		}
		if imUserOf(t, out) != alice {
			t.Fatalf("%s token mapped to another user", k.alg)
		}
	}
	if n := jwks.fetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for two tokens, want 1 (cached)", n)
	}

	sigDesc := "The assertion's signature does not verify with the keys of issuer " + imURLIssuer + "."
	_, err := imExchange(srv, imNewKey(t, "rogue", jose.ES256).sign(t, imClaims(clk, imURLIssuer, nil)))
	imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant", sigDesc)

	// The IdP rotates to ec-2 and drops the old keys. The unknown-kid
	// refetch above was just now, so for 30 s nothing is fetched again.
	ec2 := imNewKey(t, "ec-2", jose.ES256)
	jwks.serve(http.StatusOK, ec2)
	fetches := jwks.fetches.Load()
	_, err = imExchange(srv, ec2.sign(t, imClaims(clk, imURLIssuer, nil)))
	imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant", sigDesc)
	if jwks.fetches.Load() != fetches {
		t.Fatal("refetched the JWKS within 30 s of the last fetch")
	}
	clk.Advance(31 * time.Second)
	out, err := imExchange(srv, ec2.sign(t, imClaims(clk, imURLIssuer, nil)))
	if err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if imUserOf(t, out) != alice || jwks.fetches.Load() != fetches+1 {
		t.Fatalf("rotated key: %d fetches, want %d", jwks.fetches.Load(), fetches+1)
	}
	// The retired key no longer verifies.
	_, err = imExchange(srv, rsa1.sign(t, imClaims(clk, imURLIssuer, nil)))
	imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant", sigDesc)

	// The IdP's JWKS cannot be fetched: not the assertion's fault, so not
	// invalid_grant; a retryable InternalServerException.
	_, err = imExchange(srv, ec1.sign(t, imClaims(clk, imDownIssuer, nil)))
	imWantOAuth(t, err, "InternalServerException", 500, "server_error",
		"The keys of trusted token issuer corp-down could not be retrieved; try again later.")
}

// TestTrustedIssuerInlineJWKS: an issuer whose keys are inline in the
// config, mapped on userName (preferred_username claim) rather than email.
func TestTrustedIssuerInlineJWKS(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	inline := imNewKey(t, "inline-1", jose.ES256)
	srv := imExternalWorld(t, clk, imNewJWKS(t), inline)
	out, err := imExchange(srv, inline.sign(t, imClaims(clk, imInlineIssuer, func(c map[string]any) { c["email"] = "nobody@example.com" })))
	if err != nil {
		t.Fatal(err)
	}
	if imUserOf(t, out) != imUserID(t, srv, "alice") {
		t.Fatal("preferred_username alice mapped to another user")
	}
	bob := inline.sign(t, imClaims(clk, imInlineIssuer, func(c map[string]any) { c["preferred_username"] = "bob" }))
	if out, err = imExchange(srv, bob); err != nil {
		t.Fatal(err)
	}
	if claims := testserver.IDTokenClaims(t, aws.ToString(out.IdToken)); claims["sub"] == imUserID(t, srv, "alice") {
		t.Fatal("bob mapped to alice")
	}
	// userName matching is exact: an email in preferred_username is no user name.
	_, err = imExchange(srv, inline.sign(t, imClaims(clk, imInlineIssuer, func(c map[string]any) { c["preferred_username"] = "alice@example.com" })))
	imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant",
		"No user in identity store d-9067a1b2c3 has userName equal to the assertion's preferred_username claim.")
	_, err = imExchange(srv, inline.sign(t, imClaims(clk, imInlineIssuer, func(c map[string]any) { delete(c, "preferred_username") })))
	imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant", "The assertion has no preferred_username claim.")
	// A key that is not in the inline set.
	_, err = imExchange(srv, imNewKey(t, "inline-2", jose.ES256).sign(t, imClaims(clk, imInlineIssuer, nil)))
	imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant",
		"The assertion's signature does not verify with the keys of issuer "+imInlineIssuer+".")
}

// imBuiltinTokens runs the built-in IdP's flow for user: an IdP token
// exchanged for the application's tokens.
func imBuiltinTokens(t *testing.T, srv *testserver.Server, user string) *ssooidc.CreateTokenWithIAMOutput {
	t.Helper()
	// The example application admits assigned users only; the users these
	// tests add are not, so it admits everyone here.
	if _, err := srv.SSOAdmin(srv.Admin).PutApplicationAssignmentConfiguration(context.Background(), &ssoadmin.PutApplicationAssignmentConfigurationInput{
		ApplicationArn: aws.String(testserver.ApplicationArn), AssignmentRequired: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	out, err := srv.OIDC(srv.App).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(testserver.ApplicationArn), GrantType: aws.String(testserver.JWTBearer),
		Assertion: aws.String(srv.IdPToken(t, user, "idcgate-demo", 600))})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// imUserID is a directory user's id as the server reports it: the sub of
// an idToken from the built-in IdP's flow.
func imUserID(t *testing.T, srv *testserver.Server, user string) string {
	t.Helper()
	out := imBuiltinTokens(t, srv, user)
	return imUserOf(t, out)
}

// TestTrustedIssuerJWTChecks: time claims with and beyond the one-minute
// skew, issuer mismatches, the HMAC-with-the-public-key attack, claim
// types and a missing exp, each refused with its own description.
func TestTrustedIssuerJWTChecks(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	rsa1 := imNewKey(t, "rsa-1", jose.RS256)
	srv := imExternalWorld(t, clk, imNewJWKS(t, rsa1), imNewKey(t, "inline-1", jose.ES256))
	at := func(d time.Duration) int64 { return clk.Now().Add(d).Unix() }
	der, err := x509.MarshalPKIXPublicKey(rsa1.pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hmacWithPublicKey := func(secret []byte) string {
		return signJWT(t, jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: secret, KeyID: "rsa-1"}}, (&jose.SignerOptions{}).WithType("JWT"), imClaims(clk, imURLIssuer, nil))
	}
	const hmacDesc = "The assertion is signed with HS256; only RS256 and ES256 are accepted."
	cases := []struct {
		name      string
		assertion string
		code      string
		status    int
		oauth     string
		desc      string // empty: accepted
	}{
		{"nbf within skew", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["nbf"] = at(30 * time.Second) })), "", 0, "", ""},
		{"nbf beyond skew", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["nbf"] = at(3 * time.Minute) })),
			"InvalidGrantException", 400, "invalid_grant", "The assertion is not valid yet: its nbf is in the future."},
		{"iat within skew", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["iat"] = at(30 * time.Second) })), "", 0, "", ""},
		{"iat in the future beyond skew", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["iat"] = at(3 * time.Minute) })),
			"InvalidGrantException", 400, "invalid_grant", "The assertion was issued in the future: its iat is later than now."},
		{"exp within skew", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["exp"] = at(-30 * time.Second) })), "", 0, "", ""},
		{"expired beyond skew", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["exp"] = at(-3 * time.Minute) })),
			"InvalidGrantException", 400, "invalid_grant", "The assertion has expired."},
		{"iss of another trusted issuer", rsa1.sign(t, imClaims(clk, imInlineIssuer, nil)),
			"InvalidGrantException", 400, "invalid_grant", "The assertion's signature does not verify with the keys of issuer " + imInlineIssuer + "."},
		{"iss of no trusted issuer", rsa1.sign(t, imClaims(clk, "https://evil.example", nil)),
			"UnauthorizedClientException", 400, "unauthorized_client", "Application " + imCorpApp + " does not accept tokens from issuer https://evil.example."},
		{"HMAC keyed with the PEM public key", hmacWithPublicKey(pubPEM), "InvalidGrantException", 400, "invalid_grant", hmacDesc},
		{"HMAC keyed with the DER public key", hmacWithPublicKey(der), "InvalidGrantException", 400, "invalid_grant", hmacDesc},
		{"exp of the wrong type", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["exp"] = "soon" })),
			"InvalidGrantException", 400, "invalid_grant", "The assertion's exp claim must be a number."},
		{"no exp", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { delete(c, "exp") })),
			"InvalidGrantException", 400, "invalid_grant", "The assertion has no exp claim; it is required."},
		{"wrong audience", rsa1.sign(t, imClaims(clk, imURLIssuer, func(c map[string]any) { c["aud"] = "idcgate-demo" })),
			"InvalidGrantException", 400, "invalid_grant", "The assertion's audience is not accepted by application " + imCorpApp + "."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := imExchange(srv, tc.assertion)
			if tc.desc == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if imUserOf(t, out) != imUserID(t, srv, "alice") {
					t.Fatal("mapped to another user")
				}
				return
			}
			imWantOAuth(t, err, tc.code, tc.status, tc.oauth, tc.desc)
		})
	}
}

// TestTrustedIssuerPathValidation: claim and identity-store attribute paths
// are checked when the config is loaded, with a line naming the field.
func TestTrustedIssuerPathValidation(t *testing.T) {
	t.Parallel()
	load := func(claim, attr string) error {
		cfg, err := config.Load(testserver.ExampleConfig())
		if err != nil {
			t.Fatal(err)
		}
		cfg.ApplyDefaults()
		cfg.IdentityCenter.TrustedTokenIssuers[0].ClaimAttributePath = claim
		cfg.IdentityCenter.TrustedTokenIssuers[0].IdentityStoreAttributePath = attr
		return cfg.Validate()
	}
	for _, ok := range [][2]string{{"email", "emails.value"}, {"preferred_username", "userName"}, {"custom.employee_id", "userName"}, {`"cognito:username"`, "userName"}} {
		if err := load(ok[0], ok[1]); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
	cases := []struct{ claim, attr, want string }{
		{"email", "displayName", `identityCenter.trustedTokenIssuers[0].identityStoreAttributePath "displayName": unsupported; want userName or emails.value`},
		{"email", "emails[0].value", `identityCenter.trustedTokenIssuers[0].identityStoreAttributePath "emails[0].value": unsupported; want userName or emails.value`},
		{"emails[0]", "emails.value", `identityCenter.trustedTokenIssuers[0].claimAttributePath "emails[0]": want a claim name or a dotted path of names`},
		{"cognito:username", "userName", `identityCenter.trustedTokenIssuers[0].claimAttributePath "cognito:username": want a claim name`},
		{"a..b", "userName", `identityCenter.trustedTokenIssuers[0].claimAttributePath "a..b": want a claim name`},
	}
	for _, tc := range cases {
		err := load(tc.claim, tc.attr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("claim %q attr %q: %v\nwant a line with %s", tc.claim, tc.attr, err, tc.want)
		}
	}

	// The server refuses to start on such a file, in one clear message.
	b, err := os.ReadFile(testserver.ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "identityStoreAttributePath: emails.value", "identityStoreAttributePath: displayName", 1)
	if bad == string(b) {
		t.Fatal("example config has no identityStoreAttributePath line to change")
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := idcgateBinary(t)
	cmd := exec.Command(bin, "serve", "--config", path, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0", "--pg-upstream", "none")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), `identityStoreAttributePath "displayName": unsupported; want userName or emails.value`) {
		t.Fatalf("serve with a bad attribute path: %v\n%s", err, out)
	}
}

// imSkewedSigner signs at the server's injected time, as an SDK whose clock
// agrees with the server's would: the server clock can then move past
// SigV4's 15-minute skew window.
type imSkewedSigner struct {
	clk *clock.Offset
	v4  *v4.Signer
}

func (s imSkewedSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, at time.Time, opts ...func(*v4.SignerOptions)) error {
	offset := s.clk.Since()
	return s.v4.SignHTTP(ctx, creds, r, payloadHash, service, region, at.Add(offset), opts...)
}

// imRawSTS signs an awsQuery STS form body as the app user and sends it.
func imRawSTS(t *testing.T, srv *testserver.Server, form url.Values) (int, imQueryError) {
	t.Helper()
	resp := signedQuery(t, srv, srv.App, "sts", testserver.Region, time.Now(), form.Encode())
	var e imQueryError
	if resp.Status != 200 {
		if err := xml.Unmarshal(resp.Body, &e); err != nil {
			t.Fatalf("error body is not awsQuery XML: %v: %s", err, resp.Body)
		}
	}
	return resp.Status, e
}

type imQueryError struct {
	Type      string `xml:"Error>Type"`
	Code      string `xml:"Error>Code"`
	Message   string `xml:"Error>Message"`
	RequestID string `xml:"RequestId"`
}

// TestAssumeRoleContextExpiryAndDuration: an expired context assertion is
// ExpiredTokenException on the wire; DurationSeconds below 900, above the
// STS maximum, or not an integer is ValidationError in AWS's words; a
// foreign provider ARN is InvalidParameterValue naming the one accepted.
func TestAssumeRoleContextExpiryAndDuration(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now})
	ctx := context.Background()
	assertion := srv.IdentityContext(t, "alice")
	client := sts.NewFromConfig(srv.Config(srv.App), func(o *sts.Options) { o.HTTPSignerV4 = imSkewedSigner{clk, v4.NewSigner()} })
	assume := func(duration *int32, contexts ...ststypes.ProvidedContext) error {
		_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("alice"),
			DurationSeconds: duration, ProvidedContexts: contexts})
		return err
	}
	withContext := ststypes.ProvidedContext{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(assertion)}

	t.Run("duration below 900", func(t *testing.T) {
		wantAPIError(t, assume(aws.Int32(899), withContext), "ValidationError", 400,
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	})
	t.Run("duration above 43200", func(t *testing.T) {
		wantAPIError(t, assume(aws.Int32(43201), withContext), "ValidationError", 400,
			"1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200")
	})
	t.Run("foreign provider", func(t *testing.T) {
		wantAPIError(t, assume(nil, ststypes.ProvidedContext{ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/Other"), ContextAssertion: aws.String(assertion)}),
			"InvalidParameterValue", 400,
			`ProvidedContexts.member.1.ProviderArn "arn:aws:iam::aws:contextProvider/Other" is not a supported context provider; use arn:aws:iam::aws:contextProvider/IdentityCenter.`)
	})
	t.Run("duration not an integer", func(t *testing.T) {
		for raw, msg := range map[string]string{
			"abc":                  "1 validation error detected: Value 'abc' at 'durationSeconds' failed to satisfy constraint: Member must be an integer",
			"3600.5":               "1 validation error detected: Value '3600.5' at 'durationSeconds' failed to satisfy constraint: Member must be an integer",
			"99999999999999999999": "1 validation error detected: Value '99999999999999999999' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
		} {
			status, e := imRawSTS(t, srv, url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
				"RoleArn": {testserver.AnalystRoleArn}, "RoleSessionName": {"alice"}, "DurationSeconds": {raw}})
			if status != 400 || e.Type != "Sender" || e.Code != "ValidationError" || e.Message != msg || e.RequestID == "" {
				t.Fatalf("DurationSeconds=%s: %d %+v", raw, status, e)
			}
		}
	})
	t.Run("expired context assertion", func(t *testing.T) {
		if err := assume(nil, withContext); err != nil {
			t.Fatalf("fresh assertion: %v", err)
		}
		clk.Advance(oidcAccessTokenTTL + time.Minute)
		wantAPIError(t, assume(nil, withContext), "ExpiredTokenException", 400,
			"The context assertion provided for arn:aws:iam::aws:contextProvider/IdentityCenter has expired.")
		var et *ststypes.ExpiredTokenException
		if err := assume(nil, withContext); !errors.As(err, &et) {
			t.Fatalf("not the SDK's ExpiredTokenException: %T", err)
		}
		// The same call without the context succeeds at that time, so the
		// refusal is the assertion's, not the signature's.
		if err := assume(nil); err != nil {
			t.Fatalf("AssumeRole without context at the moved clock: %v", err)
		}
	})
}

// oidcAccessTokenTTL is how long a context assertion lives (oidc.AccessTokenTTL).
const oidcAccessTokenTTL = time.Hour

// imExchangeBuiltin runs the built-in IdP flow for user and returns the
// idToken's claims and the context assertion.
func imExchangeBuiltin(t *testing.T, srv *testserver.Server, user string) (map[string]any, string) {
	t.Helper()
	out := imBuiltinTokens(t, srv, user)
	claims := testserver.IDTokenClaims(t, aws.ToString(out.IdToken))
	return claims, claims["sts:identity_context"].(string)
}

// TestUserIDStableAcrossRestart: user ids are derived from the master key,
// the identity store id and the user name, so a restart on the same data
// dir, or a replica with the same IDCGATE_MASTER_KEY, keeps them; another
// master key gives other ids.
func TestUserIDStableAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	alice, bob := imUserID(t, srv, "alice"), imUserID(t, srv, "bob")
	if alice == bob {
		t.Fatal("alice and bob share a user id")
	}
	srv.Stop()
	again := testserver.Start(t, testserver.Options{DataDir: dir})
	if got := imUserID(t, again, "alice"); got != alice {
		t.Fatalf("alice's user id changed across a restart: %s, then %s", alice, got)
	}
	if other := testserver.Start(t, testserver.Options{}); imUserID(t, other, "alice") == alice {
		t.Fatal("another data dir (another master key) gave alice the same user id")
	}
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	a := testserver.Start(t, testserver.Options{Env: env})
	b := testserver.Start(t, testserver.Options{Env: env})
	if imUserID(t, a, "alice") != imUserID(t, b, "alice") || imUserID(t, a, "alice") != userID(t, "alice") {
		t.Fatal("two data dirs with the same IDCGATE_MASTER_KEY disagree on alice's user id")
	}
}

// TestIdentityConditionKeys: an identity-enhanced session carries every
// condition key of BEHAVIOUR 5.3. For each key a role allows GetWorkgroup
// only when the key has its expected value, and a twin role only when it
// has another value. The context assertion comes from a first run of the
// server, so the roles of the second run (same data dir, same master key)
// can name its credential id.
func TestIdentityConditionKeys(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	first := testserver.Start(t, testserver.Options{DataDir: dir})
	claims, assertion := imExchangeBuiltin(t, first, "alice")
	first.Stop()
	credID, _ := claims["aws:credential_id"].(string)
	if credID == "" {
		t.Fatal("idToken has no aws:credential_id")
	}
	now := time.Now().UTC()
	type key struct {
		name, op, want, other string
		identity              bool // only identity-enhanced sessions carry it
	}
	keys := []key{
		{"identitystore:UserId", "StringEquals", claims["sub"].(string), "00000000-0000-4000-8000-000000000000", true},
		{"identitystore:IdentityStoreArn", "StringEquals", "arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3", "arn:aws:identitystore::123456789012:identitystore/d-0000000000", true},
		{"identitycenter:InstanceArn", "StringEquals", "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6", "arn:aws:sso:::instance/ssoins-0000000000000000", true},
		{"identitycenter:ApplicationArn", "StringEquals", testserver.ApplicationArn, "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0000000000000000", true},
		{"identitycenter:CredentialId", "StringEquals", credID, credID + "x", true},
		{"aws:PrincipalAccount", "StringEquals", "123456789012", "210987654321", false},
		{"aws:RequestedRegion", "StringEquals", "us-east-1", "eu-west-1", false},
		{"aws:SecureTransport", "Bool", "false", "true", false}, // plain HTTP
		{"aws:CurrentTime", "DateGreaterThan", now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339), false},
		{"aws:PrincipalArn", "ArnEquals", "", "arn:aws:iam::123456789012:role/someone-else", false}, // want: the role's own ARN
	}
	roleName := func(i int, match bool) string {
		if match {
			return fmt.Sprintf("ck-%d", i)
		}
		return fmt.Sprintf("ckx-%d", i)
	}
	policy := func(op, name, value string) []byte {
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "redshift-serverless:GetWorkgroup", "Resource": "*",
			"Condition": map[string]any{op: map[string]any{name: value}}}}})
		return b
	}
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Edit: func(c *config.Config) {
		trust := c.Accounts[0].Roles[0].TrustPolicy
		for i, k := range keys {
			for _, match := range []bool{true, false} {
				value := k.other
				if match {
					value = k.want
					if k.name == "aws:PrincipalArn" {
						value = "arn:aws:iam::123456789012:role/" + roleName(i, true)
					}
				}
				c.Accounts[0].Roles = append(c.Accounts[0].Roles, config.Role{
					Name: roleName(i, match), MaxSessionDuration: &config.Duration{Duration: time.Hour}, TrustPolicy: trust,
					Policies: []config.Policy{{Name: "only-" + strings.ReplaceAll(k.name, ":", "-"), Document: config.Document{JSON: policy(k.op, k.name, value)}}},
				})
			}
		}
	}})
	ctx := context.Background()
	wg := workgroupARN(t, srv, "demo")
	session := func(role string, withContext bool) aws.Credentials {
		in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/" + role), RoleSessionName: aws.String("alice")}
		if withContext {
			in.ProvidedContexts = []ststypes.ProvidedContext{{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(assertion)}}
		}
		out, err := srv.STS(srv.App).AssumeRole(ctx, in)
		if err != nil {
			t.Fatalf("AssumeRole %s: %v", role, err)
		}
		c := out.Credentials
		return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}
	}
	getWorkgroup := func(creds aws.Credentials) error {
		_, err := srv.Serverless(creds).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
		return err
	}
	denied := func(role string) string {
		return "User: arn:aws:sts::123456789012:assumed-role/" + role + "/alice is not authorized to perform: redshift-serverless:GetWorkgroup on resource: " +
			wg + " because no identity-based policy allows the redshift-serverless:GetWorkgroup action"
	}
	for i, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			if err := getWorkgroup(session(roleName(i, true), true)); err != nil {
				t.Fatalf("%s = expected value refused: %v", k.name, err)
			}
			wantAPIError(t, getWorkgroup(session(roleName(i, false), true)), "AccessDeniedException", 400, denied(roleName(i, false)))
			if k.identity {
				// A plain role session has no such key.
				wantAPIError(t, getWorkgroup(session(roleName(i, true), false)), "AccessDeniedException", 400, denied(roleName(i, true)))
			}
		})
	}
}

// TestUpdateNamespaceUnknownIdcApplication: UpdateNamespace naming a
// Redshift IdC application that does not exist is refused and changes
// nothing. The Go SDK's UpdateNamespaceInput has no
// redshiftIdcApplicationArn member, so the request is signed JSON.
func TestUpdateNamespaceUnknownIdcApplication(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	admin := srv.Serverless(srv.Admin)
	get := func() []byte {
		out, err := admin.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("demo")})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(out.Namespace)
		return b
	}
	before := get()
	for _, arn := range []string{
		"arn:aws:redshift:us-east-1:123456789012:redshiftidcapplication:00000000-0000-4000-8000-000000000000",
		"not-an-arn",
	} {
		body, _ := json.Marshal(map[string]any{"namespaceName": "demo", "redshiftIdcApplicationArn": arn, "logExports": []string{"userlog"}})
		resp := srv.CallServerless(t, srv.Admin, "UpdateNamespace", body)
		m := resp.JSON(t)
		if resp.Status != 400 || resp.Header.Get("X-Amzn-ErrorType") != "ValidationException" || m["__type"] != "ValidationException" ||
			m["message"] != "Redshift IdC application "+arn+" does not exist." || resp.Header.Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s: %d %v %s", arn, resp.Status, resp.Header, resp.Body)
		}
	}
	if after := get(); !bytes.Equal(before, after) {
		t.Fatalf("namespace changed by refused updates:\n%s\n%s", before, after)
	}
	// Identity Center is still enabled on it: alice still gets a token.
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	if _, err := srv.Serverless(alice).GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}}); err != nil {
		t.Fatalf("token after the refused update: %v", err)
	}
}
