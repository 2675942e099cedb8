package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/ssoadmin"
	"github.com/idcgate/idcgate/internal/testkit"
)

const app = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b"

func service(t *testing.T, now *time.Time) *Service {
	cfg, err := config.LoadFile(filepath.Join("..", "..", "examples", "idcgate.yaml"), map[string]string{"data-dir": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	mk := testkit.MasterKey(t)
	ctxBox, _ := seal.New(mk.Derive(32, "c"), "identity-context", "")
	tokBox, _ := seal.New(mk.Derive(32, "t"), "oidc-token", "aoa")
	s := &Service{Dir: testDir(t, cfg, mk), Contexts: ctxBox, Tokens: tokBox, Clock: func() time.Time { return *now }}
	if err := s.Init(mk); err != nil {
		t.Fatal(err)
	}
	s.Apps = storeApps(t, s, nil, []ssoadmin.ConfigApplication{{Arn: app, Name: "demo", Scopes: []string{"redshift:connect"}}})
	return s
}

const ttiArn = "arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-7223a1b2c3d4e5f6/tti-0b6d3f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

// storeApps keeps issuers and applications in an embedded store.
func storeApps(t testing.TB, s *Service, issuers []ssoadmin.TrustedTokenIssuer, apps []ssoadmin.ConfigApplication) *ssoadmin.Service {
	t.Helper()
	db := testkit.Store(t)
	svc := &ssoadmin.Service{Store: db, Clock: s.Clock, Region: "us-east-1",
		Instance: ssoadmin.Instance{InstanceArn: "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6", IdentityStoreID: "d-9067a1b2c3", OwnerAccountID: "123456789012"}}
	if err := svc.ApplyConfig(context.Background(), issuers, apps); err != nil {
		t.Fatal(err)
	}
	return svc
}

func p(s string) *string { return &s }

// testDir is the config's directory with its users in a store of the test's.
func testDir(t testing.TB, cfg *config.Config, mk *masterkey.Key) *identitycenter.Directory {
	t.Helper()
	st := testkit.Store(t)
	d, err := identitycenter.NewWithStore(context.Background(), cfg, mk, st)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRefreshGrant(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s := service(t, &now)
	alice := user(t, s, "alice")
	out, err := s.issue(mustApp(t, s), alice, []string{"openid"}, now)
	if err != nil {
		t.Fatal(err)
	}
	var c identitycenter.Context
	if err := s.Contexts.Open(out.IdentityContext, &c); err != nil || c.UserID != alice.UserID || !c.Expires.Equal(now.Add(AccessTokenTTL)) {
		t.Fatalf("context %+v %v", c, err)
	}
	ctx := context.Background()
	again, err := s.CreateTokenWithIAM(ctx, Input{ClientId: p(app), GrantType: p(GrantRefreshToken), RefreshToken: p(out.RefreshToken)})
	if err != nil || again.IdToken == "" {
		t.Fatalf("refresh: %v", err)
	}
	// An access token is not a refresh token.
	if _, err := s.CreateTokenWithIAM(ctx, Input{ClientId: p(app), GrantType: p(GrantRefreshToken), RefreshToken: p(out.AccessToken)}); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("access token as refresh token: %v", err)
	}
	now = now.Add(RefreshTokenTTL + time.Minute)
	if _, err := s.CreateTokenWithIAM(ctx, Input{ClientId: p(app), GrantType: p(GrantRefreshToken), RefreshToken: p(out.RefreshToken)}); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("expired refresh token: %v", err)
	}
}

func TestInputRefusals(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s := service(t, &now)
	ctx := context.Background()
	cases := []struct {
		in   Input
		want error
	}{
		{Input{}, ErrInvalidRequest},
		{Input{ClientId: p(app)}, ErrInvalidRequest},
		{Input{ClientId: p(app), GrantType: p(GrantJWTBearer)}, ErrInvalidRequest},
		{Input{ClientId: p(app + "0"), GrantType: p(GrantJWTBearer), Assertion: p("x")}, ErrInvalidClient},
		{Input{ClientId: p(app), GrantType: p("authorization_code")}, ErrUnsupportedGrantType},
		{Input{ClientId: p(app), GrantType: p(GrantJWTBearer), Assertion: p("not.a.jwt")}, ErrInvalidGrant},
	}
	for _, tc := range cases {
		if _, err := s.CreateTokenWithIAM(ctx, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.in, err, tc.want)
		}
	}
}

// user is the directory's user of that name.
func user(t *testing.T, s *Service, name string) *identitycenter.User {
	t.Helper()
	u, err := s.Dir.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustApp(t *testing.T, s *Service) *ssoadmin.Application {
	a, err := s.Apps.Application(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

func TestClaimAt(t *testing.T) {
	claims := map[string]any{
		"email":            "a@example.com",
		"cognito:username": "alice",
		"custom":           map[string]any{"employee_id": "e-7", "n": 7.0, "deep": map[string]any{"x.y": "z"}},
	}
	cases := []struct {
		path, want string
		ok         bool
	}{
		{"email", "a@example.com", true},
		{`"cognito:username"`, "alice", true},
		{"custom.employee_id", "e-7", true},
		{`custom.deep."x.y"`, "z", true},
		{"custom.n", "", false}, // not a string
		{"custom", "", false},
		{"missing", "", false},
		{"email.more", "", false},
	}
	for _, tc := range cases {
		got, ok := claimAt(claims, tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("claimAt(%s) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

// matchingService is a service whose directory is built from users as
// given (no config validation, so even an ambiguous directory reaches
// CreateTokenWithIAM), trusting one issuer by inline key that maps the
// email claim to emails.value.
func matchingService(t testing.TB, now time.Time, users ...config.DirectoryUser) (*Service, func(email string) string) {
	t.Helper()
	return matchingServiceGroups(t, now, users, nil)
}

// matchingServiceGroups is matchingService with groups.
func matchingServiceGroups(t testing.TB, now time.Time, users []config.DirectoryUser, groups []config.DirectoryGroup) (*Service, func(email string) string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	cfg := &config.Config{IdentityCenter: &config.IdentityCenter{
		InstanceArn: "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6", IdentityStoreID: "d-9067a1b2c3", Account: "123456789012",
		Users:  users,
		Groups: groups,
	}}
	mk := testkit.MasterKey(t)
	ctxBox, _ := seal.New(mk.Derive(32, "c"), "identity-context", "")
	tokBox, _ := seal.New(mk.Derive(32, "t"), "oidc-token", "aoa")
	keys, err := jwtverify.StaticKeys(string(set))
	if err != nil {
		t.Fatal(err)
	}
	verifier := &jwtverify.Verifier{Issuer: "https://idp.corp.example", Keys: keys, Clock: func() time.Time { return now }}
	s := &Service{Dir: testDir(t, cfg, mk), Contexts: ctxBox, Tokens: tokBox, Clock: func() time.Time { return now },
		Verifier: func(context.Context, ssoadmin.TrustedTokenIssuer) (*jwtverify.Verifier, error) { return verifier, nil }}
	if err := s.Init(mk); err != nil {
		t.Fatal(err)
	}
	arn := ttiArn
	s.Apps = storeApps(t, s,
		[]ssoadmin.TrustedTokenIssuer{{TrustedTokenIssuerArn: ttiArn, Name: "corp", IssuerUrl: "https://idp.corp.example", ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"}},
		[]ssoadmin.ConfigApplication{{Arn: app, Name: "a", JWTBearer: []ssoadmin.AuthorizedTokenIssuer{{TrustedTokenIssuerArn: &arn, AuthorizedAudiences: []string{"corp-app"}}}}})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertion := func(email string) string {
		tok, err := jwt.Signed(signer).Claims(map[string]any{"iss": "https://idp.corp.example", "aud": "corp-app", "sub": "s", "email": email,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return s, assertion
}

// TestAssertionUserMatching: the claim names one user or none. Two users
// the claim matches are refused (it used to pick one by map order: 8 times
// in 40 the other user); emails compare ignoring ASCII case only, so the
// Kelvin sign K (U+212A) is not k.
func TestAssertionUserMatching(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s, assertion := matchingService(t, now,
		config.DirectoryUser{UserName: "kate", Emails: []string{"kate@example.com"}},
		config.DirectoryUser{UserName: "kate2", Emails: []string{"KATE@example.com"}},
		config.DirectoryUser{UserName: "sam", Emails: []string{"sam@example.com"}},
	)
	const (
		noUser    = "No user in identity store d-9067a1b2c3 has emails.value equal to the assertion's email claim."
		ambiguous = "More than one user in identity store d-9067a1b2c3 has emails.value equal to the assertion's email claim; the assertion cannot name one user."
	)
	cases := []struct {
		name, email, user, desc string
	}{
		{"one user", "sam@example.com", "sam", ""},
		{"one user, other case", "SAM@Example.COM", "sam", ""},
		{"two users", "kate@example.com", "", ambiguous},
		{"kelvin sign", "\u212Aate@example.com", "", noUser},
		{"long s", "\u017Fam@example.com", "", noUser},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for range 40 { // a map walk would differ between tries
				out, err := s.CreateTokenWithIAM(context.Background(), Input{ClientId: p(app), GrantType: p(GrantJWTBearer), Assertion: p(assertion(tc.email))})
				if tc.user == "" {
					var oe *Error
					if !errors.As(err, &oe) || !errors.Is(err, ErrInvalidGrant) || oe.Public() != tc.desc {
						t.Fatalf("err = %v; want invalid_grant %q", err, tc.desc)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				var c identitycenter.Context
				if err := s.Contexts.Open(out.IdentityContext, &c); err != nil || c.UserName != tc.user {
					t.Fatalf("context names %q (%v), want %s", c.UserName, err, tc.user)
				}
			}
		})
	}
}

// TestClientIDBound: a clientId longer than any application ARN is refused
// before it is used as an IAM resource (where a crafted one would meet
// wildcard patterns).
func TestClientIDBound(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		n    int
		want error
	}{
		{"longest application ARN", MaxClientID, nil},
		{"one more", MaxClientID + 1, ErrInvalidRequest},
		{"a megabyte", 1 << 20, ErrInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := strings.Repeat("a", tc.n)
			if _, err := ApplicationArn(Input{ClientId: &id}); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestEnforcement: the application's authentication method, assignment
// requirement and scopes decide, on a refresh as on a first exchange.
func TestEnforcement(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s := service(t, &now)
	alice := user(t, s, "alice")
	first, err := s.issue(mustApp(t, s), alice, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	caller := &auth.Principal{Kind: auth.KindUser, Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/app", Name: "app"}
	account := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}`)
	other := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/other"},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}`)
	denied := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/app"},"Action":"sso-oauth:*","Resource":"*"}]}`)
	cases := []struct {
		name     string
		policy   json.RawMessage
		required bool
		assigned []ssoadmin.Assignment
		scope    []string
		want     error
	}{
		{"account's principals", account, false, nil, []string{"openid", "redshift:connect"}, nil},
		{"no authentication method", nil, false, nil, nil, ErrAccessDenied},
		{"another principal", other, false, nil, nil, ErrAccessDenied},
		{"explicit deny", denied, false, nil, nil, ErrAccessDenied},
		{"not assigned", account, true, nil, nil, ErrAccessDenied},
		{"assigned", account, true, []ssoadmin.Assignment{{PrincipalType: ssoadmin.PrincipalUser, PrincipalId: alice.UserID}}, nil, nil},
		{"scope not the application's", account, false, nil, []string{"redshift:admin"}, ErrInvalidScope},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.Apps = storeApps(t, s, nil, []ssoadmin.ConfigApplication{{Arn: app, Name: "demo", Scopes: []string{"redshift:connect"},
				ActorPolicy: tc.policy, AssignmentRequired: tc.required, Assignments: tc.assigned}})
			_, err := s.CreateTokenWithIAM(context.Background(), Input{ClientId: p(app), GrantType: p(GrantRefreshToken), RefreshToken: p(first.RefreshToken),
				Scope: tc.scope, Caller: caller, Auth: auth.Request{Region: "us-east-1", Now: now}})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
