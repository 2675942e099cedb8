package iamstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/idcgate/idcgate/internal/validation"
)

// TestOIDCProviders: a provider is found by its token's iss with the host
// in any case (never the path), lists change idempotently, and inputs IAM
// refuses change nothing.
func TestOIDCProviders(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	p, err := s.CreateOIDCProvider(ctx, acct, CreateOIDCProviderInput{URL: "https://Issuer.Example/tenant/", ClientIDs: []string{"a", "b", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:iam::123456789012:oidc-provider/Issuer.Example/tenant"
	if p.ARN() != arn || !slices.Equal(p.ClientIDs, []string{"a", "b"}) {
		t.Fatalf("created %+v (%s)", p, p.ARN())
	}
	for iss, found := range map[string]bool{
		"https://issuer.example/tenant": true, "https://ISSUER.EXAMPLE/tenant/": true,
		"https://issuer.example/Tenant": false, "https://issuer.example": false, "https://other.example/tenant": false,
	} {
		_, err := s.OIDCProviderFor(ctx, acct, iss)
		if found != (err == nil) || !found && !errors.Is(err, ErrNoSuchEntity) {
			t.Errorf("OIDCProviderFor(%s): %v, want found %v", iss, err, found)
		}
	}
	if _, err := s.OIDCProviderFor(ctx, "210987654321", "https://issuer.example/tenant"); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("another account's lookup: %v", err)
	}
	if _, err := s.CreateOIDCProvider(ctx, acct, CreateOIDCProviderInput{URL: "https://issuer.example/tenant"}); !errors.Is(err, ErrEntityExists) {
		t.Fatalf("same issuer, other host case: %v", err)
	}
	for name, tc := range map[string]struct {
		ch   OIDCChange
		want error
	}{
		"add twice":          {OIDCChange{AddClientID: "b"}, nil},
		"remove absent":      {OIDCChange{RemoveClientID: "zz"}, nil},
		"thumbprint not hex": {OIDCChange{Thumbprints: []string{"zz" + "0123456789abcdef0123456789abcdef012345"}, SetThumbprints: true}, ErrInvalidInput},
		"thumbprint short":   {OIDCChange{Thumbprints: []string{"00"}, SetThumbprints: true}, validation.ErrInvalid},
		"client id too long": {OIDCChange{AddClientID: string(make([]byte, 256))}, validation.ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.UpdateOIDCProvider(ctx, acct, arn, tc.ch)
			if (tc.want == nil) != (err == nil) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	got, err := s.GetOIDCProvider(ctx, acct, arn)
	if err != nil || !slices.Equal(got.ClientIDs, []string{"a", "b"}) || len(got.Thumbprints) != 0 {
		t.Fatalf("after the changes: %v %+v", err, got)
	}
	if _, err := s.GetOIDCProvider(ctx, acct, "arn:aws:iam::210987654321:oidc-provider/Issuer.Example/tenant"); !errors.Is(err, ErrNoSuchEntity) {
		t.Fatalf("another account's ARN: %v", err)
	}
	if _, err := s.GetOIDCProvider(ctx, acct, "arn:aws:iam::123456789012:saml-provider/x"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("a SAML provider ARN: %v", err)
	}
}

// TestApplyOIDCProviders: the config's providers are written at every
// start, keeping their creation date; one it stops declaring goes, the
// API's stay.
func TestApplyOIDCProviders(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	gh := OIDCProvider{URL: "https://token.actions.githubusercontent.com", ClientIDs: []string{"sts.amazonaws.com"}}
	gl := OIDCProvider{URL: "https://gitlab.example", ClientIDs: []string{"x"}}
	if err := s.Apply(ctx, acct, nil, nil, []OIDCProvider{gh, gl}); err != nil {
		t.Fatal(err)
	}
	first, err := s.OIDCProviderFor(ctx, acct, gh.URL)
	if err != nil || !first.FromConfig {
		t.Fatalf("declared provider: %v %+v", err, first)
	}
	if _, err := s.CreateOIDCProvider(ctx, acct, CreateOIDCProviderInput{URL: "https://api.example", ClientIDs: []string{"y"}}); err != nil {
		t.Fatal(err)
	}
	gh.ClientIDs = []string{"sts.amazonaws.com", "other"}
	if err := s.Apply(ctx, acct, nil, nil, []OIDCProvider{gh}); err != nil {
		t.Fatal(err)
	}
	again, err := s.OIDCProviderFor(ctx, acct, gh.URL)
	if err != nil || !again.CreateDate.Equal(first.CreateDate) || len(again.ClientIDs) != 2 {
		t.Fatalf("re-applied provider: %v %+v", err, again)
	}
	list, err := s.ListOIDCProviders(ctx, acct)
	if err != nil || len(list) != 2 || list[0].URL != "https://api.example" || list[1].URL != gh.URL {
		t.Fatalf("providers after the config dropped one: %v %+v", err, list)
	}
}

// TestOIDCProviderQuota: an account has at most MaxOIDCProviders; one
// more is LimitExceeded and is not stored.
func TestOIDCProviderQuota(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	for i := range MaxOIDCProviders {
		if _, err := s.CreateOIDCProvider(ctx, acct, CreateOIDCProviderInput{URL: fmt.Sprintf("https://issuer.example/%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateOIDCProvider(ctx, acct, CreateOIDCProviderInput{URL: "https://issuer.example/one-more"}); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("provider %d: %v, want LimitExceeded", MaxOIDCProviders+1, err)
	}
	if list, err := s.ListOIDCProviders(ctx, acct); err != nil || len(list) != MaxOIDCProviders {
		t.Fatalf("%d providers, %v", len(list), err)
	}
}
