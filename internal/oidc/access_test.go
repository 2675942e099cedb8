package oidc

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/ssoadmin"
)

// TestOpenAccessToken: an access token opens to its user, application,
// scopes and expiry; a refresh token, another box's text or an expired
// token does not; a token issued without scopes has the application's.
func TestOpenAccessToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s := service(t, &now)
	ctx := context.Background()
	alice := user(t, s, "alice")
	scoped, err := s.issue(mustApp(t, s), alice, []string{"redshift:connect"}, now)
	if err != nil {
		t.Fatal(err)
	}
	unscoped, err := s.issue(mustApp(t, s), alice, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	at, err := s.OpenAccessToken(ctx, scoped.AccessToken)
	if err != nil || at.UserID != alice.UserID || at.ApplicationArn != app || !slices.Equal(at.Scopes, []string{"redshift:connect"}) ||
		!at.Expires.Equal(now.Add(AccessTokenTTL)) || !at.HasScope(ScopeRedshiftConnect) {
		t.Fatalf("scoped: %+v %v", at, err)
	}
	at, err = s.OpenAccessToken(ctx, unscoped.AccessToken)
	if err != nil || !slices.Equal(at.Scopes, []string{"openid", "aws", "sts:identity_context", "redshift:connect"}) {
		t.Fatalf("unscoped: %+v %v", at, err)
	}
	for name, tok := range map[string]string{"refresh token": scoped.RefreshToken, "idToken": scoped.IdToken, "garbage": "aoa-x", "empty": ""} {
		if _, err := s.OpenAccessToken(ctx, tok); !errors.Is(err, ErrInvalidGrant) {
			t.Errorf("%s: %v", name, err)
		}
	}
	now = now.Add(AccessTokenTTL)
	if _, err := s.OpenAccessToken(ctx, scoped.AccessToken); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("expired: %v", err)
	}
}

// TestAdmits: an application without assignment admits everyone; one that
// requires it admits users assigned directly or through a group; an
// unknown one admits no one.
func TestAdmits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s := service(t, &now)
	ctx := context.Background()
	alice := user(t, s, "alice")
	bob := user(t, s, "bob")
	const gated = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-2b3c4d5e6f7a8b9c"
	s.Apps = storeApps(t, s, nil, []ssoadmin.ConfigApplication{
		{Arn: app, Name: "open"},
		{Arn: gated, Name: "gated", AssignmentRequired: true, Assignments: []ssoadmin.Assignment{{PrincipalType: ssoadmin.PrincipalGroup, PrincipalId: "g-analysts"}}},
	})
	s.GroupIDs = func(_ context.Context, u *identitycenter.User) ([]string, error) {
		if u.UserName == "alice" {
			return []string{"g-analysts"}, nil
		}
		return nil, nil
	}
	for _, tc := range []struct {
		app  string
		user string
		want bool
	}{
		{app, "alice", true}, {app, "bob", true}, {gated, "alice", true}, {gated, "bob", false},
		{"arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0000000000000000", "alice", false},
	} {
		u := alice
		if tc.user == "bob" {
			u = bob
		}
		if ok, err := s.Admits(ctx, tc.app, u); err != nil || ok != tc.want {
			t.Errorf("%s %s: %v %v, want %v", tc.app, tc.user, ok, err, tc.want)
		}
	}
}
