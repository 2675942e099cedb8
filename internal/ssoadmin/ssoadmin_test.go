package ssoadmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/validation"
)

const (
	insArn = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"
	cfgApp = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b"
	cfgTTI = "arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-7223a1b2c3d4e5f6/tti-0b6d3f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
	alice  = "11111111-1111-4111-8111-111111111111"
	group  = "22222222-2222-4222-8222-222222222222"
)

type principals map[string]bool

func (p principals) PrincipalExists(_ context.Context, typ, id string) (bool, error) {
	return p[typ+"/"+id], nil
}

func newService(t *testing.T, db store.Store) *Service {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	s := &Service{Store: db, Clock: now, Region: "us-east-1",
		Pages:     &pagetoken.Codec{Key: make([]byte, 32), Clock: now},
		Instance:  Instance{InstanceArn: insArn, IdentityStoreID: "d-9067a1b2c3", OwnerAccountID: "123456789012"},
		Directory: principals{"USER/" + alice: true, "GROUP/" + group: true}}
	if _, err := s.EnsureInstance(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func configIssuer() TrustedTokenIssuer {
	return TrustedTokenIssuer{TrustedTokenIssuerArn: cfgTTI, Name: "idp", IssuerUrl: "https://idp.example", Builtin: true,
		ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"}
}

func configApp(asg ...Assignment) ConfigApplication {
	arn := cfgTTI
	return ConfigApplication{Arn: cfgApp, Name: "demo", Scopes: []string{"redshift:connect"},
		JWTBearer:          []AuthorizedTokenIssuer{{TrustedTokenIssuerArn: &arn, AuthorizedAudiences: []string{"demo"}}},
		ActorPolicy:        json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}`),
		AssignmentRequired: true, Assignments: asg}
}

// TestApplyConfig: the config's objects are written at every start, the
// config wins for what it names, what it no longer names goes, and what
// an API made stays.
func testApplyConfig(t *testing.T, db store.Store) {
	ctx := context.Background()
	s := newService(t, db)
	if err := s.ApplyConfig(ctx, []TrustedTokenIssuer{configIssuer()}, []ConfigApplication{configApp(Assignment{PrincipalType: PrincipalGroup, PrincipalId: group})}); err != nil {
		t.Fatal(err)
	}
	app, err := s.Application(ctx, cfgApp)
	if err != nil || !app.AssignmentRequired || app.Name != "demo" || len(app.Grants[GrantJWTBearer].AuthorizedTokenIssuers) != 1 || !app.FromConfig {
		t.Fatalf("config application: %+v %v", app, err)
	}
	// API changes: a rename (the config wins), an assignment and an
	// application of its own (they stay).
	if err := s.UpdateApplication(ctx, UpdateApplicationInput{ApplicationArn: ptr(cfgApp), Name: ptr("renamed")}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApplicationAssignment(ctx, AssignmentInput{ptr(cfgApp), ptr(alice), ptr(PrincipalUser)}); err != nil {
		t.Fatal(err)
	}
	made, err := s.CreateApplication(ctx, CreateApplicationInput{InstanceArn: ptr(insArn), ApplicationProviderArn: ptr(ProviderCustom), Name: ptr("mine")})
	if err != nil {
		t.Fatal(err)
	}
	tti, _ := s.TrustedTokenIssuer(ctx, cfgTTI)
	// The next start: the same config.
	if err := s.ApplyConfig(ctx, []TrustedTokenIssuer{configIssuer()}, []ConfigApplication{configApp(Assignment{PrincipalType: PrincipalGroup, PrincipalId: group})}); err != nil {
		t.Fatal(err)
	}
	app, _ = s.Application(ctx, cfgApp)
	if app.Name != "demo" {
		t.Fatalf("the config did not win: %q", app.Name)
	}
	if again, _ := s.TrustedTokenIssuer(ctx, cfgTTI); again.Version != tti.Version {
		t.Fatalf("an unchanged issuer got version %d (was %d): its verifier would be rebuilt", again.Version, tti.Version)
	}
	as, _, err := s.ListApplicationAssignments(ctx, ptr(cfgApp), Page{})
	if err != nil || len(as) != 2 {
		t.Fatalf("assignments: %+v %v", as, err)
	}
	// A changed issuer gets a new version; the group is no longer assigned.
	changed := configIssuer()
	changed.ClaimAttributePath = "preferred_username"
	if err := s.ApplyConfig(ctx, []TrustedTokenIssuer{changed}, []ConfigApplication{configApp()}); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.TrustedTokenIssuer(ctx, cfgTTI); again.Version != tti.Version+1 || again.ClaimAttributePath != "preferred_username" {
		t.Fatalf("changed issuer: %+v", again)
	}
	if ok, _ := s.IsAssigned(ctx, cfgApp, "nobody", []string{group}); ok {
		t.Fatal("the group the config dropped is still assigned")
	}
	if ok, _ := s.IsAssigned(ctx, cfgApp, alice, nil); !ok {
		t.Fatal("the API's assignment is gone")
	}
	// Removed from the config: removed, with its assignments.
	if err := s.ApplyConfig(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Application(ctx, cfgApp); !errors.Is(err, ErrNotFound) {
		t.Fatalf("config application after removal: %v", err)
	}
	if _, err := s.TrustedTokenIssuer(ctx, cfgTTI); !errors.Is(err, ErrNotFound) {
		t.Fatalf("config issuer after removal: %v", err)
	}
	if out, _, _ := s.ListApplicationAssignmentsForPrincipal(ctx, ListForPrincipalInput{InstanceArn: ptr(insArn), PrincipalId: ptr(alice), PrincipalType: ptr(PrincipalUser)}); len(out) != 0 {
		t.Fatalf("assignments of the removed application remain: %+v", out)
	}
	if _, err := s.Application(ctx, made.ApplicationArn); err != nil {
		t.Fatalf("the API's application: %v", err)
	}
}

// TestIsAssigned: directly or through any group.
func testIsAssigned(t *testing.T, db store.Store) {
	ctx := context.Background()
	s := newService(t, db)
	if err := s.ApplyConfig(ctx, []TrustedTokenIssuer{configIssuer()}, []ConfigApplication{configApp(Assignment{PrincipalType: PrincipalGroup, PrincipalId: group})}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		user   string
		groups []string
		want   bool
	}{
		{"through the group", "u1", []string{"g0", group}, true},
		{"no group", "u1", nil, false},
		{"other groups", "u1", []string{"g0", "g1"}, false},
		{"a user id equal to the group's", group, nil, false},
	}
	for _, tc := range cases {
		if got, err := s.IsAssigned(ctx, cfgApp, tc.user, tc.groups); err != nil || got != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestRefusals: each refusal is the model's error, and changes nothing.
func testRefusals(t *testing.T, db store.Store) {
	ctx := context.Background()
	s := newService(t, db)
	if err := s.ApplyConfig(ctx, []TrustedTokenIssuer{configIssuer()}, []ConfigApplication{configApp()}); err != nil {
		t.Fatal(err)
	}
	other := "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-ffffffffffffffff"
	otherAccount := "arn:aws:sso::210987654321:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b"
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"unknown application", s.PutApplicationAccessScope(ctx, ptr(other), ptr("a:b"), nil), ErrNotFound},
		{"application of another account", s.PutApplicationAccessScope(ctx, ptr(otherAccount), ptr("a:b"), nil), ErrNotFound},
		{"bad scope", s.PutApplicationAccessScope(ctx, ptr(cfgApp), ptr("a:b:c:d"), nil), validation.ErrInvalid},
		{"bad ARN", s.PutApplicationAccessScope(ctx, ptr("arn:aws:sso::1:application/x"), ptr("a"), nil), validation.ErrInvalid},
		{"grant of the wrong union member", s.PutApplicationGrant(ctx, PutApplicationGrantInput{ptr(cfgApp), ptr(GrantRefreshToken), &GrantUnion{TokenExchange: &struct{}{}}}), validation.ErrInvalid},
		{"unknown grant type", s.PutApplicationGrant(ctx, PutApplicationGrantInput{ptr(cfgApp), ptr("password"), &GrantUnion{RefreshToken: &struct{}{}}}), validation.ErrInvalid},
		{"no method", s.DeleteApplicationAuthenticationMethod(ctx, ptr(cfgApp), ptr("SAML")), validation.ErrInvalid},
		{"actor policy without principal", s.PutApplicationAuthenticationMethod(ctx, ptr(cfgApp), ptr(AuthenticationMethodIAM),
			&AuthenticationMethodUnion{Iam: &struct{ ActorPolicy json.RawMessage }{json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}}), validation.ErrInvalid},
		{"unknown user", s.CreateApplicationAssignment(ctx, AssignmentInput{ptr(cfgApp), ptr("33333333-3333-4333-8333-333333333333"), ptr(PrincipalUser)}), ErrNotFound},
		{"group id as a user", s.CreateApplicationAssignment(ctx, AssignmentInput{ptr(cfgApp), ptr(group), ptr(PrincipalUser)}), ErrNotFound},
		{"bad principal type", s.CreateApplicationAssignment(ctx, AssignmentInput{ptr(cfgApp), ptr(alice), ptr("ROLE")}), validation.ErrInvalid},
		{"issuer in use", s.DeleteTrustedTokenIssuer(ctx, ptr(cfgTTI)), ErrConflict},
		{"issuer URL cannot change", s.UpdateTrustedTokenIssuer(ctx, UpdateTrustedTokenIssuerInput{TrustedTokenIssuerArn: ptr(cfgTTI),
			TrustedTokenIssuerConfiguration: &struct{ OidcJwtConfiguration *OidcJwtConfiguration }{&OidcJwtConfiguration{IssuerUrl: ptr("https://x.example")}}}), validation.ErrInvalid},
		{"unsupported attribute", s.UpdateTrustedTokenIssuer(ctx, UpdateTrustedTokenIssuerInput{TrustedTokenIssuerArn: ptr(cfgTTI),
			TrustedTokenIssuerConfiguration: &struct{ OidcJwtConfiguration *OidcJwtConfiguration }{&OidcJwtConfiguration{IdentityStoreAttributePath: ptr("externalIds.id")}}}), validation.ErrInvalid},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	app, _ := s.Application(ctx, cfgApp)
	if len(app.Scopes) != 1 || len(app.Grants) != 1 || len(app.AuthenticationMethods) != 1 {
		t.Fatalf("a refusal changed the application: %+v", app)
	}
}

// TestPaging: pages of MaxResults in key order, a token of one listing
// refused by another, and the last page without a token.
func testPaging(t *testing.T, db store.Store) {
	ctx := context.Background()
	s := newService(t, db)
	var want []string
	for range 5 {
		a, err := s.CreateApplication(ctx, CreateApplicationInput{InstanceArn: ptr(insArn), ApplicationProviderArn: ptr(ProviderCustom), Name: ptr("a")})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, a.ApplicationArn)
	}
	slices.Sort(want)
	var got []string
	var next *string
	for pages := 0; ; pages++ {
		apps, tok, err := s.ListApplications(ctx, ListApplicationsInput{InstanceArn: ptr(insArn), MaxResults: ptr(int32(2)), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			got = append(got, a.ApplicationArn)
		}
		if tok == nil {
			if pages != 2 {
				t.Fatalf("%d pages", pages+1)
			}
			break
		}
		next = tok
		if _, _, err := s.ListTrustedTokenIssuers(ctx, ptr(insArn), Page{NextToken: tok}); !errors.Is(err, validation.ErrInvalid) {
			t.Fatalf("another listing's token: %v", err)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if _, _, err := s.ListApplications(ctx, ListApplicationsInput{InstanceArn: ptr(insArn), MaxResults: ptr(int32(0))}); !errors.Is(err, validation.ErrInvalid) {
		t.Fatalf("MaxResults 0: %v", err)
	}
}

// TestOnBothStores runs each test on the embedded store and on PostgreSQL
// (the shared store replicas use).
func TestOnBothStores(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*testing.T, store.Store){
		"ApplyConfig": testApplyConfig, "IsAssigned": testIsAssigned, "Refusals": testRefusals, "Paging": testPaging,
	}
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		for name, test := range tests {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				db := testkit.Store(t)
				test(t, db)
			})
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := pgtest.Start(t)
		var seq atomic.Int32
		for name, test := range tests {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				dbName := fmt.Sprintf("ssoadmin_%d", seq.Add(1))
				db := testkit.PostgresStore(t, pg, dbName)
				test(t, db)
			})
		}
	})
}
