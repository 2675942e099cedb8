package iamstore

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/validation"
)

const (
	acct  = "123456789012"
	trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	allow = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
)

func newService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	st := testkit.Store(t)
	mk := testkit.MasterKey(t)
	c := clock.NewFake(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	s, err := New(st, mk, c.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	role, err := s.CreateRole(ctx, acct, CreateRoleInput{RoleName: "Etl", AssumeRolePolicyDocument: trust})
	if err != nil {
		t.Fatal(err)
	}
	if role.Path != "/" || role.MaxSessionDuration != 3600 || !strings.HasPrefix(role.RoleID, "AROA") || len(role.RoleID) != 21 ||
		role.ARN() != "arn:aws:iam::123456789012:role/Etl" || !role.CreateDate.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("role %+v", role)
	}
	u, err := s.CreateUser(ctx, acct, CreateUserInput{UserName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("a", 2100) + `"}]}`
	for _, tc := range []struct {
		name string
		err  error
		do   func() error
	}{
		{"role name taken ignoring case", ErrEntityExists, func() error {
			_, err := s.CreateRole(ctx, acct, CreateRoleInput{RoleName: "ETL", AssumeRolePolicyDocument: trust})
			return err
		}},
		{"trust with a resource", ErrMalformedPolicy, func() error {
			_, err := s.CreateRole(ctx, acct, CreateRoleInput{RoleName: "x", AssumeRolePolicyDocument: allow})
			return err
		}},
		{"trust naming a user that does not exist", ErrMalformedPolicy, func() error {
			_, err := s.CreateRole(ctx, acct, CreateRoleInput{RoleName: "x", AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:user/nobody"]},"Action":"sts:AssumeRole"}]}`})
			return err
		}},
		{"trust naming a user under another path", ErrMalformedPolicy, func() error {
			return s.UpdateAssumeRolePolicy(ctx, acct, "etl", role.RoleID, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ops/bob"},"Action":"sts:AssumeRole"}]}`)
		}},
		{"bad path", validation.ErrInvalid, func() error {
			_, err := s.CreateRole(ctx, acct, CreateRoleInput{RoleName: "x", Path: "a/", AssumeRolePolicyDocument: trust})
			return err
		}},
		{"session too long", validation.ErrInvalid, func() error {
			_, err := s.CreateRole(ctx, acct, CreateRoleInput{RoleName: "x", AssumeRolePolicyDocument: trust, MaxSessionDuration: 50000, MaxSessionSet: true})
			return err
		}},
		{"identity policy with a principal", ErrMalformedPolicy, func() error {
			return s.PutRolePolicy(ctx, acct, "etl", role.RoleID, "p", trust)
		}},
		{"user policies over 2048", ErrLimitExceeded, func() error {
			return s.PutUserPolicy(ctx, acct, "bob", u.UserID, "big", big)
		}},
		{"a role whose id changed since it was authorized", ErrNoSuchEntity, func() error {
			return s.PutRolePolicy(ctx, acct, "etl", "AROAOTHER", "p", allow)
		}},
		{"missing role", ErrNoSuchEntity, func() error { _, err := s.GetRole(ctx, acct, "nope"); return err }},
		{"missing policy", ErrNoSuchEntity, func() error { return s.DeleteUserPolicy(ctx, acct, "bob", u.UserID, "nope") }},
		{"missing key", ErrNoSuchEntity, func() error { return s.DeleteAccessKey(ctx, acct, "bob", "AKIAAAAAAAAAAAAAAAAA") }},
		{"bad marker", validation.ErrInvalid, func() error {
			_, _, err := s.ListUsers(ctx, acct, "", ListInput{Marker: "junk"})
			return err
		}},
		{"max items 0", validation.ErrInvalid, func() error {
			_, _, err := s.ListUsers(ctx, acct, "", ListInput{MaxItemsSet: true})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.err) {
				t.Errorf("%v, want %v", err, tc.err)
			}
		})
	}
	// Users and roles that exist, and other accounts, may be named.
	if err := s.UpdateAssumeRolePolicy(ctx, acct, "etl", role.RoleID, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/bob","arn:aws:iam::123456789012:role/Etl","arn:aws:iam::210987654321:user/x","210987654321"]},"Action":"sts:AssumeRole"}]}`); err != nil {
		t.Fatal(err)
	}
	// A role's policies can be up to 10,240 characters.
	if err := s.PutRolePolicy(ctx, acct, "etl", role.RoleID, "big", big); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRole(ctx, acct, "etl", role.RoleID); !errors.Is(err, ErrDeleteConflict) {
		t.Fatalf("delete with policies: %v", err)
	}
	for i := 0; i < MaxAccessKeys; i++ {
		if _, err := s.CreateAccessKey(ctx, acct, "bob", u.UserID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateAccessKey(ctx, acct, "bob", u.UserID); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("third key: %v", err)
	}
	if err := s.DeleteUser(ctx, acct, "bob", u.UserID); !errors.Is(err, ErrDeleteConflict) {
		t.Fatalf("delete with keys: %v", err)
	}
}

func TestKeysAreSealed(t *testing.T) {
	t.Parallel()
	s, st := newService(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, acct, CreateUserInput{UserName: "bob", Path: "/eng/"})
	k, err := s.CreateAccessKey(ctx, acct, "bob", u.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.AccessKeyID) != 20 || !strings.HasPrefix(k.AccessKeyID, "AKIA") || len(k.Secret) != 40 {
		t.Fatalf("key %+v", k)
	}
	st.View(ctx, func(r store.Reader) error {
		return r.Scan("", "", func(key string, v []byte) (bool, error) {
			if strings.Contains(string(v), k.Secret) {
				t.Errorf("secret in the clear at %s", key)
			}
			return true, nil
		})
	})
	c, err := s.LookupKey(ctx, k.AccessKeyID)
	if err != nil || c.Key.Secret != k.Secret || c.User.ARN() != "arn:aws:iam::123456789012:user/eng/bob" {
		t.Fatalf("LookupKey: %v %+v", err, c)
	}
	// A sealed secret moved onto another key's record does not open as it.
	st.Update(ctx, func(tx store.Tx) error {
		var rec keyRecord
		store.GetJSON(tx, accessKeyKey(k.AccessKeyID), &rec)
		rec.AccessKeyID = "AKIAMOVEDMOVEDMOVED2"
		return store.PutJSON(tx, accessKeyKey(rec.AccessKeyID), rec)
	})
	if _, err := s.LookupKey(ctx, "AKIAMOVEDMOVEDMOVED2"); err == nil {
		t.Fatal("a moved sealed secret opened")
	}
	if _, err := s.LookupKey(ctx, "AKIANOSUCHKEYNOSUCH2"); !errors.Is(err, ErrNoSuchEntity) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	for _, n := range []string{"a1", "b1", "c1", "d1", "e1"} {
		path := "/x/"
		if n == "c1" {
			path = "/y/"
		}
		if _, err := s.CreateUser(ctx, acct, CreateUserInput{UserName: n, Path: path}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	marker, pages := "", 0
	for {
		users, next, err := s.ListUsers(ctx, acct, "/x/", ListInput{Marker: marker, MaxItems: 2, MaxItemsSet: true})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range users {
			got = append(got, u.Name)
		}
		if next == "" {
			break
		}
		marker = next
	}
	if strings.Join(got, ",") != "a1,b1,d1,e1" || pages != 2 {
		t.Fatalf("pages: %v in %d", got, pages)
	}
	// A page whose rest is all filtered out is the last one.
	if _, err := s.CreateUser(ctx, acct, CreateUserInput{UserName: "f1", Path: "/y/"}); err != nil {
		t.Fatal(err)
	}
	users, next, err := s.ListUsers(ctx, acct, "/x/", ListInput{MaxItems: 4, MaxItemsSet: true})
	if err != nil || len(users) != 4 || next != "" {
		t.Fatalf("last page: %v %d users, marker %q", err, len(users), next)
	}
	users, next, err = s.ListUsers(ctx, acct, "/x/", ListInput{MaxItems: 3, MaxItemsSet: true})
	if err != nil || len(users) != 3 || next == "" {
		t.Fatalf("first of two pages: %v %d users, marker %q", err, len(users), next)
	}
	// A marker of one list is refused by another.
	_, next, _ = s.ListUsers(ctx, acct, "", ListInput{MaxItems: 1, MaxItemsSet: true})
	if _, _, err := s.ListRoles(ctx, acct, "", ListInput{Marker: next}); !errors.Is(err, validation.ErrInvalid) {
		t.Fatalf("foreign marker: %v", err)
	}
	if _, _, err := s.ListUsers(ctx, "210987654321", "", ListInput{Marker: next}); !errors.Is(err, validation.ErrInvalid) {
		t.Fatalf("foreign account's marker: %v", err)
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	declared := func(withOps bool) ([]DeclaredUser, []DeclaredRole) {
		users := []DeclaredUser{{User: User{Name: "app", UserID: "AIDAAPPAPPAPPAPPAPPA1"},
			Policies: []Policy{{Name: "p", Document: allow}},
			Keys:     []AccessKey{{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}}}
		roles := []DeclaredRole{{Role: Role{Name: "analyst", RoleID: "AROAANALYSTANALYST12", AssumeRolePolicyDocument: trust, MaxSessionDuration: 43200},
			Policies: []Policy{{Name: "p", Document: allow}}}}
		if withOps {
			users = append(users, DeclaredUser{User: User{Name: "ops", UserID: "AIDAOPSOPSOPSOPSOPS12"},
				Keys: []AccessKey{{AccessKeyID: "AKIAOPSOPSOPSOPSOPS2", Secret: "secretsecretsecretsecret"}}})
			roles = append(roles, DeclaredRole{Role: Role{Name: "ops", RoleID: "AROAOPSOPSOPSOPSOPS12", AssumeRolePolicyDocument: trust, MaxSessionDuration: 3600},
				Policies: []Policy{{Name: "p", Document: allow}}})
		}
		return users, roles
	}
	users, roles := declared(true)
	if err := s.Apply(ctx, acct, users, roles, nil); err != nil {
		t.Fatal(err)
	}
	// Made by API: a user, a role, a policy and a key on the config's user.
	api, _ := s.CreateUser(ctx, acct, CreateUserInput{UserName: "made"})
	if _, err := s.CreateRole(ctx, acct, CreateRoleInput{RoleName: "made", AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserPolicy(ctx, acct, "app", "AIDAAPPAPPAPPAPPAPPA1", "extra", allow); err != nil {
		t.Fatal(err)
	}
	extraKey, err := s.CreateAccessKey(ctx, acct, "app", "AIDAAPPAPPAPPAPPAPPA1")
	if err != nil {
		t.Fatal(err)
	}
	// The config changes app's policy document and forgets ops.
	users, roles = declared(false)
	other := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
	users[0].Policies[0].Document = other
	if err := s.Apply(ctx, acct, users, roles, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, acct, "ops"); !errors.Is(err, ErrNoSuchEntity) {
		t.Fatalf("ops user kept: %v", err)
	}
	if _, err := s.GetRole(ctx, acct, "ops"); !errors.Is(err, ErrNoSuchEntity) {
		t.Fatalf("ops role kept: %v", err)
	}
	if _, err := s.LookupKey(ctx, "AKIAOPSOPSOPSOPSOPS2"); !errors.Is(err, ErrNoSuchEntity) {
		t.Fatalf("ops key kept: %v", err)
	}
	if u, err := s.GetUser(ctx, acct, "made"); err != nil || u.UserID != api.UserID {
		t.Fatalf("API-made user: %v", err)
	}
	if _, err := s.GetRole(ctx, acct, "made"); err != nil {
		t.Fatalf("API-made role: %v", err)
	}
	c, err := s.LookupKey(ctx, "AKIAIOSFODNN7EXAMPLE")
	if err != nil || c.User.Name != "app" || len(c.Policies) != 2 {
		t.Fatalf("config key: %v %+v", err, c)
	}
	for _, p := range c.Policies {
		if p.Name == "p" && p.Document != other {
			t.Fatalf("config policy not re-applied: %s", p.Document)
		}
	}
	if _, err := s.LookupKey(ctx, extraKey.AccessKeyID); err != nil {
		t.Fatalf("API-made key on a config user: %v", err)
	}
	keys, _, err := s.ListAccessKeys(ctx, acct, "app", ListInput{})
	if err != nil || len(keys) != 2 {
		t.Fatalf("app's keys: %v %+v", err, keys)
	}
}
