package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/seal"
)

const app = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b"

func service(t *testing.T, now *time.Time) *Service {
	cfg, err := config.LoadFile(filepath.Join("..", "..", "examples", "idcgate.yaml"), map[string]string{"data-dir": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := masterkey.Generate(rand.Reader)
	mk, _ := masterkey.Parse(text)
	ctxBox, _ := seal.New(mk.Derive(32, "c"), "identity-context", "")
	tokBox, _ := seal.New(mk.Derive(32, "t"), "oidc-token", "aoa")
	s := &Service{Dir: identitycenter.New(cfg, mk), Contexts: ctxBox, Tokens: tokBox, Now: func() time.Time { return *now }}
	if err := s.Init(mk); err != nil {
		t.Fatal(err)
	}
	return s
}

func p(s string) *string { return &s }

func TestRefreshGrant(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s := service(t, &now)
	alice, _ := s.Dir.UserByName("alice")
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

func mustApp(t *testing.T, s *Service) *identitycenter.Application {
	a, ok := s.Dir.Application(app)
	if !ok {
		t.Fatal("no application")
	}
	return a
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
