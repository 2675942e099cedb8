package ssoadmin

import (
	"context"
	"errors"
	"testing"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// TestManagedApplication: made and deleted inside the caller's
// transaction; a managed application is an application like the others
// (assignments go with it); deleting one already gone is no error; issuers
// of another instance do not exist.
func TestManagedApplication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.Store(t)
	s := newService(t, db)
	if err := s.ApplyConfig(ctx, []TrustedTokenIssuer{configIssuer()}, nil); err != nil {
		t.Fatal(err)
	}
	var app Application
	err := db.Update(ctx, func(tx store.Tx) error {
		var err error
		app, err = s.CreateManagedApplication(tx, ManagedApplicationInput{ApplicationProviderArn: ProviderRedshift, Name: "lake",
			Scopes: []string{"redshift:connect"}, Tags: []Tag{{Key: ptr("team"), Value: ptr("data")}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Application(ctx, app.ApplicationArn)
	if err != nil || got.ApplicationProviderArn != ProviderRedshift || got.AssignmentRequired || got.Status != StatusEnabled || len(got.Tags) != 1 {
		t.Fatalf("managed application %+v %v", got, err)
	}
	if _, ok := got.Scopes["redshift:connect"]; !ok {
		t.Fatalf("scopes %v", got.Scopes)
	}
	if err := s.CreateApplicationAssignment(ctx, AssignmentInput{ptr(app.ApplicationArn), ptr(alice), ptr(PrincipalUser)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.Update(ctx, func(tx store.Tx) error { return s.DeleteManagedApplication(tx, app.ApplicationArn) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Application(ctx, app.ApplicationArn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	n := 0
	if err := db.View(ctx, func(r store.Reader) error {
		return r.Scan(s.asgPrefix(), "", func(string, []byte) (bool, error) { n++; return true, nil })
	}); err != nil || n != 0 {
		t.Fatalf("%d assignments left, %v", n, err)
	}
	err = db.View(ctx, func(r store.Reader) error {
		for arn, want := range map[string]bool{cfgTTI: true, cfgTTI + "0": false,
			"arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-0000000000000000/tti-0b6d3f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b": false} {
			if ok, err := s.TrustedTokenIssuerExists(r, arn); err != nil || ok != want {
				t.Errorf("TrustedTokenIssuerExists(%s) = %v %v, want %v", arn, ok, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
