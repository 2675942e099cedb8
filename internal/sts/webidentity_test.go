package sts

import (
	"slices"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/iamstore"
)

// TestWebIdentityConditions: a trust policy sees the provider's claim keys,
// aws:FederatedProvider, and the request's global keys as a signed
// caller's policies do.
func TestWebIdentityConditions(t *testing.T) {
	t.Parallel()
	p := iamstore.OIDCProvider{Account: "123456789012", URL: "https://token.example/ci"}
	claims := map[string]any{"sub": "repo:a/b", "amr": []any{"pwd", "mfa"}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := webIdentityConditions(p, claims, "sts.amazonaws.com", auth.Request{Region: "eu-west-1", SourceIP: "192.0.2.7", SecureTransport: true, Now: now})
	for key, want := range map[string][]string{
		"token.example/ci:aud":  {"sts.amazonaws.com"},
		"token.example/ci:sub":  {"repo:a/b"},
		"token.example/ci:amr":  {"pwd", "mfa"},
		"aws:FederatedProvider": {"arn:aws:iam::123456789012:oidc-provider/token.example/ci"},
		"aws:RequestedRegion":   {"eu-west-1"},
		"aws:SourceIp":          {"192.0.2.7"},
		"aws:SecureTransport":   {"true"},
		"aws:CurrentTime":       {"2026-01-02T03:04:05Z"},
		"aws:EpochTime":         {"1767323045"},
	} {
		if got, _ := c.Get(key); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}
