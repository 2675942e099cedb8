package redshiftidc

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store/storetest"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/validation"
)

// appNamed is a valid application of that name.
func appNamed(name string) Application {
	return Application{Name: name, IdentityNamespace: "AWSIDC", IdcInstanceArn: "arn:aws:sso:::instance/ssoins-1", DisplayName: "App", IamRoleArn: "arn:aws:iam::123456789012:role/r"}
}

// TestListKeptWhileNothingChanged: a versioned store's list is answered
// without a transaction until an application is created or deleted in any
// scope; a store that cannot vouch is read every time.
func TestListKeptWhileNothingChanged(t *testing.T) {
	ctx := context.Background()
	for _, versioned := range []bool{true, false} {
		db := testkit.Store(t)
		cs := &storetest.Counting{Store: db}
		s := &Service{Store: cs}
		if versioned {
			s.Versions = db
		}
		sc := serverless.Scope{Account: "123456789012", Region: "us-east-1"}
		other := serverless.Scope{Account: "123456789012", Region: "eu-west-1"}
		list := func(sc serverless.Scope, want int) {
			t.Helper()
			apps, err := s.List(ctx, sc)
			if err != nil || len(apps) != want {
				t.Fatalf("versioned %v: List = %d apps, %v; want %d", versioned, len(apps), err, want)
			}
		}
		a, err := s.Create(ctx, sc, appNamed("one"))
		if err != nil {
			t.Fatal(err)
		}
		list(sc, 1)
		before := cs.Views
		list(sc, 1)
		list(sc, 1)
		if kept := cs.Views == before; kept != versioned {
			t.Fatalf("versioned %v: %d reads for two unchanged lists", versioned, cs.Views-before)
		}
		if _, err := s.Create(ctx, other, appNamed("two")); err != nil {
			t.Fatal(err)
		}
		list(other, 1)
		if _, err := s.Create(ctx, sc, appNamed("three")); err != nil {
			t.Fatal(err)
		}
		list(sc, 2)
		if err := s.Delete(ctx, sc, a.Arn); err != nil {
			t.Fatal(err)
		}
		list(sc, 1)
	}
}

// TestCreateValidates: an application's fields follow the Redshift API
// model; a refused one stores nothing.
func TestCreateValidates(t *testing.T) {
	t.Parallel()
	ok := Application{Name: "sales-idc", IdentityNamespace: "AWSIDC", IdcInstanceArn: "arn:aws:sso:::instance/ssoins-1", DisplayName: "Sales_IdC-app.v2@corp", IamRoleArn: "arn:aws:iam::123456789012:role/r"}
	cases := []struct {
		name string
		edit func(*Application)
		want string // "" when accepted
	}{
		{"valid", func(*Application) {}, ""},
		{"display name with newline", func(a *Application) { a.DisplayName = "Sales\nAdmin" },
			"Value 'Sales\nAdmin' at 'idcDisplayName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"},
		{"display name with escape", func(a *Application) { a.DisplayName = "\x1b[2J" }, "at 'idcDisplayName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"display name invalid UTF-8", func(a *Application) { a.DisplayName = "app\xff" }, "at 'idcDisplayName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"display name with space", func(a *Application) { a.DisplayName = "Sales app" }, "at 'idcDisplayName' failed to satisfy constraint"},
		{"display name too long", func(a *Application) { a.DisplayName = strings.Repeat("a", 128) }, "at 'idcDisplayName' failed to satisfy constraint: Member must have length less than or equal to 127"},
		{"display name missing", func(a *Application) { a.DisplayName = "" }, "Value null at 'idcDisplayName' failed to satisfy constraint: Member must not be null"},
		{"name too long", func(a *Application) { a.Name = strings.Repeat("a", 64) }, "at 'redshiftIdcApplicationName' failed to satisfy constraint: Member must have length less than or equal to 63"},
		{"name upper case", func(a *Application) { a.Name = "Sales" }, "at 'redshiftIdcApplicationName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"identity namespace with NUL", func(a *Application) { a.IdentityNamespace = "AWS\x00IDC" }, "at 'identityNamespace' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"identity namespace too long", func(a *Application) { a.IdentityNamespace = strings.Repeat("A", 128) }, "at 'identityNamespace' failed to satisfy constraint: Member must have length less than or equal to 127"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testkit.Store(t)
			s := &Service{Store: db, Versions: db}
			sc := serverless.Scope{Account: "123456789012", Region: "us-east-1"}
			app := ok
			tc.edit(&app)
			_, err := s.Create(context.Background(), sc, app)
			apps, lerr := s.List(context.Background(), sc)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.want == "" {
				if err != nil || len(apps) != 1 {
					t.Fatalf("Create = %v; %d stored", err, len(apps))
				}
				return
			}
			if !errors.Is(err, validation.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant a validation error with %q", err, tc.want)
			}
			if len(apps) != 0 {
				t.Fatalf("%d applications stored after a refused create", len(apps))
			}
		})
	}
}

// List hands out a slice of the caller's own: changing it does not reach
// the kept list (a versioned store) nor the decoded records (either).
func TestListIsTheCallersCopy(t *testing.T) {
	ctx := context.Background()
	for _, versioned := range []bool{true, false} {
		db := testkit.Store(t)
		s := &Service{Store: db}
		if versioned {
			s.Versions = db
		}
		sc := serverless.Scope{Account: "123456789012", Region: "us-east-1"}
		in := appNamed("one")
		in.ServiceIntegrations = []ServiceIntegration{{Service: ServiceRedshift, Authorizations: []string{"Enabled"}}}
		in.Tags, in.SsoTagKeys = []Tag{{Key: "team", Value: "sales"}}, []string{"team"}
		a, err := s.Create(ctx, sc, in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 { // a miss, the read that keeps the list, a hit
			apps, err := s.List(ctx, sc)
			if err != nil || len(apps) != 1 || !reflect.DeepEqual(apps[0], a) {
				t.Fatalf("versioned %v, list %d: %+v %v, want the stored %+v", versioned, i, apps, err, a)
			}
			apps[0].Arn, apps[0].IdcInstanceArn = "arn:changed", "arn:changed"
			apps[0].Tags[0].Key, apps[0].SsoTagKeys[0] = "changed", "changed"
			apps[0].ServiceIntegrations[0].Authorizations[0] = "changed"
		}
	}
}
