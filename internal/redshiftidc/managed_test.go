package redshiftidc

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/ssoadmin"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

const insArn = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"

// ssoCenter is the app's adapter in small: the real sso-admin service.
type ssoCenter struct{ sso *ssoadmin.Service }

func (c ssoCenter) TrustedTokenIssuerExists(r store.Reader, arn string) (bool, error) {
	return c.sso.TrustedTokenIssuerExists(r, arn)
}

func (c ssoCenter) CreateManagedApplication(tx store.Tx, app Application) (string, error) {
	m, err := c.sso.CreateManagedApplication(tx, ssoadmin.ManagedApplicationInput{ApplicationProviderArn: ssoadmin.ProviderRedshift, Name: app.Name, ManagedBy: "redshift"})
	return m.ApplicationArn, err
}

func (c ssoCenter) DeleteManagedApplication(tx store.Tx, arn string) error {
	return c.sso.DeleteManagedApplication(tx, arn)
}

func (c ssoCenter) RenameManagedApplication(tx store.Tx, arn string, app Application) error {
	return c.sso.RenameManagedApplication(tx, arn, app.DisplayName)
}

type fixture struct {
	s   *Service
	sso *ssoadmin.Service
	tti string
	sc  serverless.Scope
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	db := testkit.Store(t)
	now := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	pages := &pagetoken.Codec{Key: make([]byte, 32), Clock: now}
	sso := &ssoadmin.Service{Store: db, Clock: now, Region: "us-east-1", Pages: pages,
		Instance: ssoadmin.Instance{InstanceArn: insArn, IdentityStoreID: "d-9067a1b2c3", OwnerAccountID: "123456789012"}}
	ctx := context.Background()
	if _, err := sso.EnsureInstance(ctx); err != nil {
		t.Fatal(err)
	}
	tti, err := sso.CreateTrustedTokenIssuer(ctx, ssoadmin.CreateTrustedTokenIssuerInput{
		InstanceArn: ptr(insArn), Name: ptr("corp"), TrustedTokenIssuerType: ptr(ssoadmin.TrustedTokenIssuerTypeOIDCJWT),
		TrustedTokenIssuerConfiguration: &ssoadmin.TrustedTokenIssuerConfiguration{OidcJwtConfiguration: &ssoadmin.OidcJwtConfiguration{
			IssuerUrl: ptr("https://idp.corp.example"), ClaimAttributePath: ptr("email"), IdentityStoreAttributePath: ptr("emails.value"),
			JwksRetrievalOption: ptr(ssoadmin.JwksOpenIDDiscovery)}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{Store: db, Versions: db, Clock: now, Pages: pages, IdentityCenter: ssoCenter{sso}}
	return fixture{s: s, sso: sso, tti: tti.TrustedTokenIssuerArn, sc: serverless.Scope{Account: "123456789012", Region: "us-east-1"}}
}

func ptr[T any](v T) *T { return &v }

func app(name string) Application {
	return Application{Name: name, IdentityNamespace: "AWSIDC", IdcInstanceArn: insArn, DisplayName: "App", IamRoleArn: "arn:aws:iam::123456789012:role/r"}
}

func (f fixture) ssoApps(t *testing.T) int {
	t.Helper()
	apps, err := f.sso.Applications(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(apps)
}

// TestManagedApplication: create makes the managed application in the same
// transaction, a refused create makes none, delete removes it, Ensure
// keeps it, and EnsureManagedApplications gives one to a record without.
func TestManagedApplication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	a := app("one")
	a.AuthorizedTokenIssuers = []AuthorizedTokenIssuer{{TrustedTokenIssuerArn: f.tti, AuthorizedAudiences: []string{"aud"}}}
	created, err := f.s.Create(ctx, f.sc, a)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.sso.Application(ctx, created.ManagedApplicationArn)
	if err != nil || m.ApplicationProviderArn != ssoadmin.ProviderRedshift || m.AssignmentRequired {
		t.Fatalf("managed application %+v %v", m, err)
	}

	bad := app("two")
	bad.AuthorizedTokenIssuers = []AuthorizedTokenIssuer{{TrustedTokenIssuerArn: f.tti + "x"}}
	if _, err := f.s.Create(ctx, f.sc, bad); !errors.Is(err, ErrInvalidParameter) {
		t.Fatalf("unknown issuer: %v", err)
	}
	if n := f.ssoApps(t); n != 1 {
		t.Fatalf("%d sso-admin applications after a refused create", n)
	}

	// The config naming an application that exists keeps its managed
	// application.
	arns, err := f.s.ApplyConfig(ctx, f.sc, []Application{app("one")})
	if err != nil || arns["one"] != created.Arn {
		t.Fatalf("ApplyConfig: %v %v", arns, err)
	}
	again, err := f.s.ByArn(ctx, f.sc, created.Arn)
	if err != nil || again.ManagedApplicationArn != created.ManagedApplicationArn {
		t.Fatalf("after ApplyConfig: %+v %v", again, err)
	}

	// A record from before managed applications.
	old := app("old")
	old.Arn = "arn:aws:redshift:us-east-1:123456789012:redshiftidcapplication:0000"
	if err := f.s.Store.Update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, prefix(f.sc)+"old", old) }); err != nil {
		t.Fatal(err)
	}
	if err := f.s.EnsureManagedApplications(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.ByArn(ctx, f.sc, old.Arn)
	if err != nil || got.ManagedApplicationArn == "" {
		t.Fatalf("old record: %+v %v", got, err)
	}
	if n := f.ssoApps(t); n != 2 {
		t.Fatalf("%d sso-admin applications, want 2", n)
	}

	if err := f.s.Delete(ctx, f.sc, created.Arn); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sso.Application(ctx, created.ManagedApplicationArn); !errors.Is(err, ssoadmin.ErrNotFound) {
		t.Fatalf("managed application after delete: %v", err)
	}
}

// TestModify: what is given changes, an empty list clears, a refusal
// changes nothing.
func TestModify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	a := app("one")
	a.ServiceIntegrations = []ServiceIntegration{{Service: ServiceRedshift, Authorizations: []string{AuthorizationEnabled}}}
	created, err := f.s.Create(ctx, f.sc, a)
	if err != nil {
		t.Fatal(err)
	}
	issuers := []AuthorizedTokenIssuer{{TrustedTokenIssuerArn: f.tti, AuthorizedAudiences: []string{"a", "b"}}}
	none := []ServiceIntegration{}
	got, err := f.s.Modify(ctx, f.sc, ModifyInput{Arn: created.Arn, DisplayName: ptr("Other"), AuthorizedTokenIssuers: &issuers, ServiceIntegrations: &none})
	if err != nil || got.DisplayName != "Other" || len(got.AuthorizedTokenIssuers) != 1 || got.ServiceIntegrations != nil || got.IdentityNamespace != "AWSIDC" {
		t.Fatalf("Modify: %+v %v", got, err)
	}
	cases := []struct {
		name string
		in   ModifyInput
		want error
	}{
		{"unknown issuer", ModifyInput{Arn: created.Arn, DisplayName: ptr("Changed"), AuthorizedTokenIssuers: &[]AuthorizedTokenIssuer{{TrustedTokenIssuerArn: f.tti + "0"}}}, ErrInvalidParameter},
		{"bad authorization", ModifyInput{Arn: created.Arn, ServiceIntegrations: &[]ServiceIntegration{{Service: ServiceLakeFormation, Authorizations: []string{"On"}}}}, nil},
		{"no service", ModifyInput{Arn: created.Arn, ServiceIntegrations: &[]ServiceIntegration{{}}}, nil},
		{"bad namespace", ModifyInput{Arn: created.Arn, IdentityNamespace: ptr("a b")}, nil},
		{"unknown application", ModifyInput{Arn: created.Arn + "0", DisplayName: ptr("X")}, ErrNotFound},
		{"no arn", ModifyInput{DisplayName: ptr("X")}, nil},
	}
	for _, tc := range cases {
		_, err := f.s.Modify(ctx, f.sc, tc.in)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
		now, _ := f.s.ByArn(ctx, f.sc, created.Arn)
		if now.DisplayName != "Other" || now.IdentityNamespace != "AWSIDC" || len(now.AuthorizedTokenIssuers) != 1 || now.ServiceIntegrations != nil {
			t.Fatalf("%s changed the application: %+v", tc.name, now)
		}
	}
}

// TestDescribePages: MaxRecords bounds, the Marker round trip, and markers
// of another scope or that are not ours refused.
func TestDescribePages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	for i := range 45 {
		if _, err := f.s.Create(ctx, f.sc, app(fmt.Sprintf("app-%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	marker := ""
	for range 10 {
		page, next, err := f.s.Describe(ctx, f.sc, "", 20, marker)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			names = append(names, a.Name)
		}
		if marker = next; marker == "" {
			break
		}
	}
	if len(names) != 45 || names[0] != "app-00" || names[44] != "app-44" {
		t.Fatalf("paged names %v", names)
	}
	for _, n := range []int{-1, 19, 101} {
		if _, _, err := f.s.Describe(ctx, f.sc, "", n, ""); !errors.Is(err, ErrInvalidParameter) {
			t.Fatalf("MaxRecords %d: %v", n, err)
		}
	}
	_, next, err := f.s.Describe(ctx, f.sc, "", 20, "")
	if err != nil || next == "" {
		t.Fatal(err)
	}
	other := serverless.Scope{Account: "210987654321", Region: "us-east-1"}
	for _, m := range []string{"nope", next[:len(next)-2]} {
		if _, _, err := f.s.Describe(ctx, f.sc, "", 20, m); !errors.Is(err, ErrInvalidParameter) {
			t.Fatalf("marker %q: %v", m, err)
		}
	}
	if _, _, err := f.s.Describe(ctx, other, "", 20, next); !errors.Is(err, ErrInvalidParameter) {
		t.Fatalf("another account's marker: %v", err)
	}
	if _, _, err := f.s.Describe(ctx, f.sc, "arn:nothing", 0, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown ARN: %v", err)
	}
}
