package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testserver"
)

// slWant asserts err is the SSO-OIDC error E, with the OAuth error and
// error_description members the model gives it, and returns it.
func slWant[E any, P interface {
	*E
	error
}](t *testing.T, err error, oauth string) P {
	t.Helper()
	var e P
	if !errors.As(err, &e) {
		t.Fatalf("want %T, got %v", e, err)
	}
	// Every SSO-OIDC error type has these two members.
	member := func(name string) string {
		f := reflect.ValueOf(e).Elem().FieldByName(name)
		if !f.IsValid() || f.Type() != reflect.TypeFor[*string]() {
			t.Fatalf("%T has no %s member", e, name)
		}
		return aws.ToString(f.Interface().(*string))
	}
	if code, desc := member("Error_"), member("Error_description"); code != oauth || desc == "" {
		t.Fatalf("%T: error %q (want %q), error_description %q", e, code, oauth, desc)
	}
	// The model's statuses: 401 for InvalidClientException, 400 for the
	// others a client is told.
	status := http.StatusBadRequest
	if oauth == "invalid_client" {
		status = http.StatusUnauthorized
	}
	got := 0
	if re := (*awshttp.ResponseError)(nil); errors.As(err, &re) {
		got = re.HTTPStatusCode()
	}
	if got != status {
		t.Fatalf("%T: HTTP status %d, want %d", e, got, status)
	}
	return e
}

// slServer is a server on a fake clock (interactive sign-in's expiries and
// polling intervals are tested by moving it), with unsigned SSO-OIDC and
// the example directory.
func slServer(t *testing.T) (*testserver.Server, *clock.Fake, *ssooidc.Client) {
	t.Helper()
	clk := clock.NewFake(time.Now())
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now})
	return srv, clk, srv.UnsignedOIDC()
}

func slUserID(t *testing.T, srv *testserver.Server, name string) string {
	t.Helper()
	u, err := srv.Instance.OIDC.Dir.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.UserID
}

// slRegister registers a client for the device flow, as `aws sso login` does.
func slRegister(t *testing.T, c *ssooidc.Client, in *ssooidc.RegisterClientInput) *ssooidc.RegisterClientOutput {
	t.Helper()
	if in == nil {
		in = &ssooidc.RegisterClientInput{ClientName: aws.String("botocore-client-test"), ClientType: aws.String("public"),
			Scopes: []string{"sso:account:access", "redshift:connect"}}
	}
	out, err := c.RegisterClient(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var slUserCodeShape = regexp.MustCompile(`^[A-Z]{4}-[A-Z]{4}$`)

// TestSSOLoginDeviceFlow: RegisterClient, StartDeviceAuthorization, then polls:
// pending, too fast (slow_down), approved (tokens, once), and a reused
// device code.
func TestSSOLoginDeviceFlow(t *testing.T) {
	t.Parallel()
	srv, clk, c := slServer(t)
	ctx := context.Background()
	reg := slRegister(t, c, nil)
	now := clk.Now().Unix()
	if reg.ClientIdIssuedAt != now || reg.ClientSecretExpiresAt != now+90*24*3600 {
		t.Fatalf("issued %d expires %d, want %d and 90 days later", reg.ClientIdIssuedAt, reg.ClientSecretExpiresAt, now)
	}
	if aws.ToString(reg.ClientId) == "" || aws.ToString(reg.ClientSecret) == "" || reg.AuthorizationEndpoint != nil || reg.TokenEndpoint != nil {
		t.Fatalf("register: %+v", reg)
	}
	start, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(srv.URL + "/start")})
	if err != nil {
		t.Fatal(err)
	}
	code := aws.ToString(start.UserCode)
	if !slUserCodeShape.MatchString(code) || start.ExpiresIn != 600 || start.Interval != 1 ||
		aws.ToString(start.VerificationUri) != srv.URL+"/device" ||
		aws.ToString(start.VerificationUriComplete) != srv.URL+"/device?user_code="+code || aws.ToString(start.DeviceCode) == "" {
		t.Fatalf("start: %+v", start)
	}
	poll := func() (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String(oidc.GrantDeviceCode), DeviceCode: start.DeviceCode})
	}
	_, err = poll()
	slWant[oidctypes.AuthorizationPendingException](t, err, "authorization_pending")
	_, err = poll() // at once: faster than the interval
	slWant[oidctypes.SlowDownException](t, err, "slow_down")
	clk.Advance(time.Second)
	_, err = poll()
	slWant[oidctypes.AuthorizationPendingException](t, err, "authorization_pending")

	// The device page finds the request by the code as typed: any case, no dash.
	pending, err := srv.Instance.OIDC.PendingDevice(ctx, strings.ToLower(strings.ReplaceAll(code, "-", "")))
	if err != nil || pending.ClientName != "botocore-client-test" || pending.UserCode != code || len(pending.Scopes) != 2 {
		t.Fatalf("pending %+v %v", pending, err)
	}
	if err := srv.Instance.OIDC.ApproveDevice(ctx, code, slUserID(t, srv, "alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Instance.OIDC.PendingDevice(ctx, code); !errors.Is(err, oidc.ErrInvalidRequest) {
		t.Fatalf("a decided code is no longer pending: %v", err)
	}
	tok, err := poll()
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(tok.AccessToken) == "" || aws.ToString(tok.RefreshToken) == "" || aws.ToString(tok.TokenType) != "Bearer" ||
		tok.ExpiresIn != 3600 || tok.IdToken != nil {
		t.Fatalf("tokens: %+v", tok)
	}
	_, err = poll()
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")

	// A device code that was never issued, and a wrong secret.
	_, err = c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(oidc.GrantDeviceCode), DeviceCode: aws.String("not-a-device-code")})
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")
	_, err = c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: aws.String("wrong"),
		GrantType: aws.String(oidc.GrantDeviceCode), DeviceCode: start.DeviceCode})
	slWant[oidctypes.InvalidClientException](t, err, "invalid_client")
}

// TestSSOLoginDeviceDeniedAndExpired: a denied request is access_denied to the
// poller; one nobody decides expires after expiresIn.
func TestSSOLoginDeviceDeniedAndExpired(t *testing.T) {
	t.Parallel()
	srv, clk, c := slServer(t)
	ctx := context.Background()
	reg := slRegister(t, c, nil)
	start := func(startURL string) *ssooidc.StartDeviceAuthorizationOutput {
		out, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
			ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The portal URL AWS gives the instance names it too.
	denied := start("https://d-9067a1b2c3.awsapps.com/start")
	expired := start("https://ssoins-7223a1b2c3d4e5f6.awsapps.com/start/")
	if err := srv.Instance.OIDC.DenyDevice(ctx, aws.ToString(denied.UserCode)); err != nil {
		t.Fatal(err)
	}
	poll := func(d *ssooidc.StartDeviceAuthorizationOutput) error {
		_, err := c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String(oidc.GrantDeviceCode), DeviceCode: d.DeviceCode})
		return err
	}
	slWant[oidctypes.AccessDeniedException](t, poll(denied), "access_denied")
	clk.Advance(10 * time.Minute)
	slWant[oidctypes.ExpiredTokenException](t, poll(expired), "expired_token")
	if _, err := srv.Instance.OIDC.PendingDevice(ctx, aws.ToString(expired.UserCode)); !errors.Is(err, oidc.ErrExpiredToken) {
		t.Fatalf("expired code on the device page: %v", err)
	}
	if err := srv.Instance.OIDC.ApproveDevice(ctx, aws.ToString(expired.UserCode), slUserID(t, srv, "alice")); !errors.Is(err, oidc.ErrExpiredToken) {
		t.Fatalf("approving an expired code: %v", err)
	}
	// Expired records are pruned.
	if n, err := srv.Instance.OIDC.Prune(ctx); err != nil || n < 3 {
		t.Fatalf("pruned %d records, %v; want the two device codes and the expired user code", n, err)
	}

	for _, bad := range []string{"https://evil.example.com/start", "https://d-0000000000.awsapps.com/start", "not a url"} {
		_, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
			ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(bad)})
		slWant[oidctypes.InvalidRequestException](t, err, "invalid_request")
	}
}

// slPKCE is a code verifier and its S256 challenge.
func slPKCE() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + base64.RawURLEncoding.EncodeToString([]byte(time.Now().String()))
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

// TestSSOLoginAuthorizationCode: the authorization code grant with PKCE, as
// `aws sso login` (2.22+) runs it: a loopback redirect whose port the CLI
// picks, the verifier, the same redirect URI, the code once and soon.
func TestSSOLoginAuthorizationCode(t *testing.T) {
	t.Parallel()
	srv, clk, c := slServer(t)
	ctx := context.Background()
	svc := srv.Instance.OIDC
	alice := slUserID(t, srv, "alice")
	reg := slRegister(t, c, &ssooidc.RegisterClientInput{ClientName: aws.String("aws-cli"), ClientType: aws.String("public"),
		Scopes: []string{"sso:account:access"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		RedirectUris: []string{"http://127.0.0.1/oauth/callback"}, IssuerUrl: aws.String(srv.URL)})
	const redirect = "http://127.0.0.1:43117/oauth/callback"
	issue := func() (code, verifier string) {
		t.Helper()
		verifier, challenge := slPKCE()
		req := oidc.AuthorizeRequest{ClientID: aws.ToString(reg.ClientId), RedirectURI: redirect, State: "s",
			CodeChallenge: challenge, CodeChallengeMethod: "S256", Scopes: []string{"sso:account:access"}}
		if _, err := svc.CheckAuthorize(ctx, req); err != nil {
			t.Fatal(err)
		}
		code, err := svc.IssueAuthorizationCode(ctx, req, alice)
		if err != nil {
			t.Fatal(err)
		}
		return code, verifier
	}
	redeem := func(code, verifier, redirect string) (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("authorization_code"), Code: aws.String(code), CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect)})
	}

	code, verifier := issue()
	tok, err := redeem(code, verifier, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(tok.AccessToken) == "" || aws.ToString(tok.RefreshToken) == "" || tok.ExpiresIn != 3600 {
		t.Fatalf("tokens %+v", tok)
	}
	_, err = redeem(code, verifier, redirect)
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")

	code, _ = issue()
	_, err = redeem(code, strings.Repeat("w", 43), redirect)
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")

	code, verifier = issue()
	_, err = redeem(code, verifier, "http://127.0.0.1:43118/oauth/callback")
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")

	code, verifier = issue()
	clk.Advance(oidc.AuthorizationCodeTTL)
	_, err = redeem(code, verifier, redirect)
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")

	// /authorize's checks, before anyone signs in.
	_, challenge := slPKCE()
	good := oidc.AuthorizeRequest{ClientID: aws.ToString(reg.ClientId), RedirectURI: redirect, CodeChallenge: challenge, CodeChallengeMethod: "S256"}
	for name, tc := range map[string]struct {
		edit func(*oidc.AuthorizeRequest)
		want error
	}{
		"unknown client":      {func(r *oidc.AuthorizeRequest) { r.ClientID = "nope" }, oidc.ErrInvalidClient},
		"foreign redirect":    {func(r *oidc.AuthorizeRequest) { r.RedirectURI = "https://evil.example.com/cb" }, oidc.ErrInvalidRedirectURI},
		"other loopback path": {func(r *oidc.AuthorizeRequest) { r.RedirectURI = "http://127.0.0.1:5/other" }, oidc.ErrInvalidRedirectURI},
		"plain method":        {func(r *oidc.AuthorizeRequest) { r.CodeChallengeMethod = "plain" }, oidc.ErrInvalidRequest},
		"no challenge":        {func(r *oidc.AuthorizeRequest) { r.CodeChallenge = "" }, oidc.ErrInvalidRequest},
		"foreign scope":       {func(r *oidc.AuthorizeRequest) { r.Scopes = []string{"redshift:connect"} }, oidc.ErrInvalidScope},
	} {
		r := good
		tc.edit(&r)
		if _, err := svc.CheckAuthorize(ctx, r); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// A device-flow client cannot use the authorization code grant.
	dev := slRegister(t, c, nil)
	_, err = c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: dev.ClientId, ClientSecret: dev.ClientSecret,
		GrantType: aws.String("authorization_code"), Code: aws.String("x"), CodeVerifier: aws.String("y"), RedirectUri: aws.String(redirect)})
	slWant[oidctypes.UnauthorizedClientException](t, err, "unauthorized_client")
	_, err = c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: dev.ClientId, ClientSecret: dev.ClientSecret, GrantType: aws.String("password")})
	slWant[oidctypes.UnsupportedGrantTypeException](t, err, "unsupported_grant_type")
}

// slDeviceTokens runs the device flow for user and returns its tokens.
func slDeviceTokens(t *testing.T, srv *testserver.Server, c *ssooidc.Client, reg *ssooidc.RegisterClientOutput, user string) *ssooidc.CreateTokenOutput {
	t.Helper()
	ctx := context.Background()
	start, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Instance.OIDC.ApproveDevice(ctx, aws.ToString(start.UserCode), slUserID(t, srv, user)); err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(oidc.GrantDeviceCode), DeviceCode: start.DeviceCode})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSSOLoginRefreshRotation: a refresh token works once and hands out the
// next; the used one is refused; a deleted user's is refused; a client
// entitled to an application that requires assignment gets nothing for
// a user no longer assigned.
func TestSSOLoginRefreshRotation(t *testing.T) {
	t.Parallel()
	srv, clk, c := slServer(t)
	ctx := context.Background()
	reg := slRegister(t, c, nil)
	refresh := func(rt *string) (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("refresh_token"), RefreshToken: rt})
	}
	first := slDeviceTokens(t, srv, c, reg, "alice")
	second, err := refresh(first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(second.RefreshToken) == aws.ToString(first.RefreshToken) || aws.ToString(second.AccessToken) == "" {
		t.Fatalf("refresh did not rotate: %+v", second)
	}
	_, err = refresh(first.RefreshToken)
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")
	if _, err := refresh(second.RefreshToken); err != nil {
		t.Fatalf("the rotated refresh token: %v", err)
	}
	// Another client's refresh token is not this one's.
	other := slRegister(t, c, nil)
	theirs := slDeviceTokens(t, srv, c, other, "alice")
	_, err = refresh(theirs.RefreshToken)
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")

	// bob is deleted: his refresh token is refused.
	bobs := slDeviceTokens(t, srv, c, reg, "bob")
	is := srv.IdentityStore(srv.Admin)
	if _, err := is.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: aws.String(srv.Instance.OIDC.Dir.IdentityStoreID),
		UserId: aws.String(slUserID(t, srv, "bob"))}); err != nil {
		t.Fatal(err)
	}
	_, err = refresh(bobs.RefreshToken)
	slWant[oidctypes.InvalidGrantException](t, err, "invalid_grant")

	// Entitled to the example application (assignment required): alice
	// is assigned through her group; once out of it, she gets no token.
	ent := slRegister(t, c, &ssooidc.RegisterClientInput{ClientName: aws.String("redshift-browser"), ClientType: aws.String("public"),
		Scopes: []string{"redshift:connect"}, EntitledApplicationArn: aws.String(testserver.ApplicationArn)})
	alices := slDeviceTokens(t, srv, c, ent, "alice")
	slLeaveGroups(t, srv, "alice")
	_, err = c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: ent.ClientId, ClientSecret: ent.ClientSecret,
		GrantType: aws.String("refresh_token"), RefreshToken: alices.RefreshToken})
	slWant[oidctypes.AccessDeniedException](t, err, "access_denied")

	// A sign-in ends: its refresh tokens expire with it.
	carols := slDeviceTokens(t, srv, c, reg, "carol")
	clk.Advance(oidc.SessionTTL)
	_, err = refresh(carols.RefreshToken)
	slWant[oidctypes.ExpiredTokenException](t, err, "expired_token")
}

// slLeaveGroups removes user from every group.
func slLeaveGroups(t *testing.T, srv *testserver.Server, user string) {
	t.Helper()
	ctx := context.Background()
	is := srv.IdentityStore(srv.Admin)
	sid := aws.String(srv.Instance.OIDC.Dir.IdentityStoreID)
	uid := slUserID(t, srv, user)
	out, err := is.ListGroupMembershipsForMember(ctx, &identitystore.ListGroupMembershipsForMemberInput{IdentityStoreId: sid,
		MemberId: &istypes.MemberIdMemberUserId{Value: uid}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.GroupMemberships {
		if _, err := is.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: sid, MembershipId: m.MembershipId}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSSOLoginRegisterClientRefusals: what RegisterClient refuses, each as AWS's
// error.
func TestSSOLoginRegisterClientRefusals(t *testing.T) {
	t.Parallel()
	_, _, c := slServer(t)
	ctx := context.Background()
	base := func() *ssooidc.RegisterClientInput {
		return &ssooidc.RegisterClientInput{ClientName: aws.String("c"), ClientType: aws.String("public")}
	}
	check := func(name string, edit func(*ssooidc.RegisterClientInput), want func(error)) {
		t.Run(name, func(t *testing.T) {
			in := base()
			edit(in)
			_, err := c.RegisterClient(ctx, in)
			want(err)
		})
	}
	check("confidential", func(in *ssooidc.RegisterClientInput) { in.ClientType = aws.String("confidential") }, func(err error) {
		slWant[oidctypes.InvalidClientMetadataException](t, err, "invalid_client_metadata")
	})
	check("password grant", func(in *ssooidc.RegisterClientInput) { in.GrantTypes = []string{"password"} }, func(err error) {
		slWant[oidctypes.UnsupportedGrantTypeException](t, err, "unsupported_grant_type")
	})
	check("ftp redirect", func(in *ssooidc.RegisterClientInput) {
		in.GrantTypes, in.RedirectUris = []string{"authorization_code"}, []string{"ftp://127.0.0.1/cb"}
	}, func(err error) { slWant[oidctypes.InvalidRedirectUriException](t, err, "invalid_redirect_uri") })
	check("http to a remote host", func(in *ssooidc.RegisterClientInput) {
		in.GrantTypes, in.RedirectUris = []string{"authorization_code"}, []string{"http://example.com/cb"}
	}, func(err error) { slWant[oidctypes.InvalidRedirectUriException](t, err, "invalid_redirect_uri") })
	check("code grant without redirect", func(in *ssooidc.RegisterClientInput) { in.GrantTypes = []string{"authorization_code"} },
		func(err error) { slWant[oidctypes.InvalidRedirectUriException](t, err, "invalid_redirect_uri") })
	check("foreign issuer", func(in *ssooidc.RegisterClientInput) { in.IssuerUrl = aws.String("https://evil.example.com") },
		func(err error) { slWant[oidctypes.InvalidRequestException](t, err, "invalid_request") })
	check("missing application", func(in *ssooidc.RegisterClientInput) {
		in.EntitledApplicationArn = aws.String("arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0000000000000000")
	}, func(err error) { slWant[oidctypes.InvalidRequestException](t, err, "invalid_request") })
	check("scope the application lacks", func(in *ssooidc.RegisterClientInput) {
		in.EntitledApplicationArn, in.Scopes = aws.String(testserver.ApplicationArn), []string{"codewhisperer:completions"}
	}, func(err error) { slWant[oidctypes.InvalidScopeException](t, err, "invalid_scope") })
	check("scope with a space", func(in *ssooidc.RegisterClientInput) { in.Scopes = []string{"a b"} },
		func(err error) { slWant[oidctypes.InvalidScopeException](t, err, "invalid_scope") })
}

// TestSSOLoginAuditHidesSecrets: the unsigned calls are in the trail as
// CloudTrail records them (no principal, the instance's account), and no
// secret of theirs (client secret, device code, tokens) is in it.
func TestSSOLoginAuditHidesSecrets(t *testing.T) {
	t.Parallel()
	srv, _, c := slServer(t)
	reg := slRegister(t, c, nil)
	tok := slDeviceTokens(t, srv, c, reg, "alice")
	if _, err := c.CreateToken(context.Background(), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(srv.DataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for name, secret := range map[string]string{"client secret": aws.ToString(reg.ClientSecret), "access token": aws.ToString(tok.AccessToken),
		"refresh token": aws.ToString(tok.RefreshToken)} {
		if strings.Contains(log, secret) {
			t.Errorf("the audit log holds the %s", name)
		}
	}
	recs := auditRecords(t, srv.DataDir)
	seen := map[string]int{}
	for _, r := range recs {
		if r.EventSource != "sso-oauth.amazonaws.com" {
			continue
		}
		seen[r.EventName]++
		if r.UserIdentity.Type != "Unknown" || r.UserIdentity.ARN != "" || r.RecipientAccountID != testserver.Account || r.ErrorCode != "" {
			t.Errorf("%s recorded as %+v", r.EventName, r)
		}
		if r.EventName == "CreateToken" && r.RequestParameters["grantType"] == oidc.GrantDeviceCode &&
			(r.RequestParameters["deviceCode"] != audit.Hidden || r.RequestParameters["clientSecret"] != audit.Hidden || r.RequestParameters["clientId"] != aws.ToString(reg.ClientId)) {
			t.Errorf("CreateToken parameters %v", r.RequestParameters)
		}
	}
	if seen["RegisterClient"] != 1 || seen["StartDeviceAuthorization"] != 1 || seen["CreateToken"] != 2 {
		t.Errorf("records by operation: %v", seen)
	}
}

// TestSSOLoginUnsignedAuditBounded: unsigned calls are recorded from the
// bucket of unauthenticated records (100 at once; the server's clock does
// not move here, so it never refills), and a call whose record the bucket
// refused leaves no journal entry either, which would become a record
// later.
func TestSSOLoginUnsignedAuditBounded(t *testing.T) {
	t.Parallel()
	srv, _, c := slServer(t)
	const calls = 130
	for range calls {
		slRegister(t, c, nil)
	}
	recs := auditRecords(t, srv.DataDir)
	n := 0
	for _, r := range recs {
		if r.EventName == "RegisterClient" {
			n++
		}
	}
	if n != 100 {
		t.Fatalf("%d RegisterClient records of %d calls, want the bucket's 100", n, calls)
	}
	// A recorded call's journal entry goes when the copier has put its
	// record in the store, a moment after the file has it; an unrecorded
	// call's entry would never go.
	eventually(t, 10*time.Second, "no journal entries left by unrecorded calls", func() (bool, error) {
		journal := 0
		err := srv.Instance.Store.View(context.Background(), func(r store.Reader) error {
			return r.Scan(audit.JournalPrefix, "", func(string, []byte) (bool, error) { journal++; return true, nil })
		})
		return journal == 0, err
	})
}
