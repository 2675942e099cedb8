package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/testkit"
)

const (
	testTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	testAllow = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
)

// registryParts are what a registry is built from: the example config
// (its data dir a temp dir), a new master key, an embedded store, and the
// IAM store on it.
type registryParts struct {
	dir string
	cfg *config.Config
	mk  *masterkey.Key
	st  *bolt.DB
	svc *iamstore.Service
}

func newRegistryParts(t testing.TB) registryParts {
	t.Helper()
	p := registryParts{dir: t.TempDir()}
	var err error
	p.cfg, err = config.LoadFile(filepath.Join("..", "..", "examples", "idcgate.yaml"), map[string]string{"data-dir": p.dir})
	if err != nil {
		t.Fatal(err)
	}
	p.mk = testkit.MasterKey(t)
	p.st = testkit.StoreAt(t, filepath.Join(p.dir, "s.db"))
	p.svc, err = iamstore.New(p.st, p.mk, nil, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestRegistry(t testing.TB, versioned bool) (*Registry, *iamstore.Service) {
	t.Helper()
	p := newRegistryParts(t)
	var versions store.Versioned
	if versioned {
		versions = p.st
	}
	r, err := NewRegistry(context.Background(), p.cfg, p.mk, p.st, p.svc, versions, rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r, p.svc
}

// TestRegistryReadsTheStore: every change is seen by the next lookup, with
// the cache the embedded store's versions vouch for and without (a shared
// store).
func TestRegistryReadsTheStore(t *testing.T) {
	t.Parallel()
	for _, versioned := range []bool{true, false} {
		r, svc := newTestRegistry(t, versioned)
		ctx := context.Background()
		const acct = "123456789012"
		u, err := svc.CreateUser(ctx, acct, iamstore.CreateUserInput{UserName: "bob", Path: "/eng/"})
		if err != nil {
			t.Fatal(err)
		}
		k, err := svc.CreateAccessKey(ctx, acct, "bob", u.UserID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.LookupCredential(ctx, k.AccessKeyID, "")
		p, _ := c.Principal.(*Principal)
		if err != nil || c.SecretAccessKey != k.Secret || p.ARN != "arn:aws:iam::123456789012:user/eng/bob" || p.UserID != u.UserID || len(p.Identity) != 0 {
			t.Fatalf("versioned=%v: lookup %v %+v", versioned, err, p)
		}
		if err := svc.PutUserPolicy(ctx, acct, "bob", u.UserID, "p", testAllow); err != nil {
			t.Fatal(err)
		}
		c, _ = r.LookupCredential(ctx, k.AccessKeyID, "")
		if len(c.Principal.(*Principal).Identity) != 1 {
			t.Fatalf("versioned=%v: the new policy is not seen", versioned)
		}
		if err := svc.DeleteAccessKey(ctx, acct, "bob", k.AccessKeyID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.LookupCredential(ctx, k.AccessKeyID, ""); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
			t.Fatalf("versioned=%v: deleted key: %v", versioned, err)
		}

		const arn = "arn:aws:iam::123456789012:role/svc/etl"
		if _, ok, err := r.Role(ctx, arn); ok || err != nil {
			t.Fatalf("versioned=%v: role before it exists: %v %v", versioned, ok, err)
		}
		role, err := svc.CreateRole(ctx, acct, iamstore.CreateRoleInput{RoleName: "etl", Path: "/svc/", AssumeRolePolicyDocument: testTrust})
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := r.Role(ctx, arn)
		if !ok || err != nil || got.RoleID != role.RoleID || got.MaxSessionDuration != time.Hour || len(got.Policies) != 0 {
			t.Fatalf("versioned=%v: role %v %v %+v", versioned, ok, err, got)
		}
		if _, ok, _ := r.Role(ctx, "arn:aws:iam::123456789012:role/etl"); ok {
			t.Fatalf("versioned=%v: a role found under another path", versioned)
		}
		if err := svc.PutRolePolicy(ctx, acct, "etl", role.RoleID, "p", testAllow); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := r.Role(ctx, arn); len(got.Policies) != 1 {
			t.Fatalf("versioned=%v: the role's new policy is not seen", versioned)
		}
		roles, err := r.Roles(ctx)
		if err != nil || len(roles) != 3 {
			t.Fatalf("versioned=%v: roles %v %d", versioned, err, len(roles))
		}
		if p, ok, err := r.PrincipalByARN(ctx, "arn:aws:sts::123456789012:assumed-role/etl/s1"); !ok || err != nil || p.RoleARN != arn {
			t.Fatalf("versioned=%v: session principal %v %v %+v", versioned, ok, err, p)
		}
		if p, ok, err := r.PrincipalByARN(ctx, "arn:aws:iam::123456789012:user/app"); !ok || err != nil || p.Kind != KindUser || len(p.Identity) != 1 {
			t.Fatalf("versioned=%v: user principal %v %v %+v", versioned, ok, err, p)
		}
		svc.DeleteRolePolicy(ctx, acct, "etl", role.RoleID, "p")
		if err := svc.DeleteRole(ctx, acct, "etl", role.RoleID); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := r.Role(ctx, arn); ok {
			t.Fatalf("versioned=%v: deleted role found", versioned)
		}
	}
}

// BenchmarkLookupCredential is SigV4's key lookup of an IAM user's key, on
// the embedded store (kept under its versions) and as on a shared store.
func BenchmarkLookupCredential(b *testing.B) {
	for _, versioned := range []bool{true, false} {
		name := "kept"
		if !versioned {
			name = "read"
		}
		b.Run(name, func(b *testing.B) {
			r, _ := newTestRegistry(b, versioned)
			ctx := context.Background()
			for b.Loop() {
				if _, err := r.LookupCredential(ctx, "AKIAIOSFODNN7EXAMPLE", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRegistryUser: a user is found by ARN with its current policies, with
// and without the kept reads; what a caller changes in the principal it got
// is its own; a user deleted is gone at once; other ARNs are no user.
func TestRegistryUser(t *testing.T) {
	t.Parallel()
	for _, versioned := range []bool{true, false} {
		r, svc := newTestRegistry(t, versioned)
		ctx := context.Background()
		const arn = "arn:aws:iam::123456789012:user/app"
		p, ok, err := r.User(ctx, arn)
		if err != nil || !ok || p.Kind != KindUser || p.Name != "app" || len(p.Identity) == 0 {
			t.Fatalf("User(app): %v %v %+v", err, ok, p)
		}
		p.AccessKeyID, p.UserSession = "ASIAMINE", true
		again, _, _ := r.User(ctx, arn)
		if again.AccessKeyID != "" || again.UserSession {
			t.Fatalf("versioned %v: the kept principal was changed through a copy: %+v", versioned, again)
		}
		for _, other := range []string{"arn:aws:iam::123456789012:role/analyst", "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/nobody"} {
			if _, ok, err := r.User(ctx, other); ok || err != nil {
				t.Errorf("User(%s) = %v %v", other, ok, err)
			}
		}
		u, err := svc.CreateUser(ctx, "123456789012", iamstore.CreateUserInput{UserName: "temp"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := r.User(ctx, u.ARN()); !ok {
			t.Fatal("a new user is not found")
		}
		if err := svc.DeleteUser(ctx, "123456789012", u.Name, u.UserID); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := r.User(ctx, u.ARN()); ok {
			t.Fatalf("versioned %v: a deleted user is still found", versioned)
		}
	}
}
