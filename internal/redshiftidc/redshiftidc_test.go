package redshiftidc

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/store/storetest"
)

// TestListKeptWhileNothingChanged: a versioned store's list is answered
// without a transaction until an application is created or deleted in any
// scope; a store that cannot vouch is read every time.
func TestListKeptWhileNothingChanged(t *testing.T) {
	ctx := context.Background()
	for _, versioned := range []bool{true, false} {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		cs := &storetest.Counting{Store: db, Opaque: !versioned}
		s := &Service{Store: cs, Now: time.Now}
		sc := serverless.Scope{Account: "123456789012", Region: "us-east-1"}
		other := serverless.Scope{Account: "123456789012", Region: "eu-west-1"}
		list := func(sc serverless.Scope, want int) {
			t.Helper()
			apps, err := s.List(ctx, sc)
			if err != nil || len(apps) != want {
				t.Fatalf("versioned %v: List = %d apps, %v; want %d", versioned, len(apps), err, want)
			}
		}
		a, err := s.Create(ctx, sc, Application{Name: "one", IdentityNamespace: "AWSIDC", IdcInstanceArn: "arn:aws:sso:::instance/ssoins-1"})
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
		if _, err := s.Create(ctx, other, Application{Name: "two", IdentityNamespace: "AWSIDC", IdcInstanceArn: "arn:aws:sso:::instance/ssoins-1"}); err != nil {
			t.Fatal(err)
		}
		list(other, 1)
		if _, err := s.Create(ctx, sc, Application{Name: "three", IdentityNamespace: "AWSIDC", IdcInstanceArn: "arn:aws:sso:::instance/ssoins-1"}); err != nil {
			t.Fatal(err)
		}
		list(sc, 2)
		if err := s.Delete(ctx, sc, a.Arn); err != nil {
			t.Fatal(err)
		}
		list(sc, 1)
	}
}
