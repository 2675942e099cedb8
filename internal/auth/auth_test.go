package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/store"
)

func TestRegistryAndCredentialsFile(t *testing.T) {
	p := newRegistryParts(t)
	dir, cfg, mk, st, svc := p.dir, p.cfg, p.mk, p.st, p.svc
	ctx := context.Background()
	r1, err := NewRegistry(ctx, cfg, mk, st, svc, st, rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := NewRegistry(ctx, cfg, mk, st, svc, nil, rand.Reader, time.Now())
	if r1.Roots()[0] != r2.Roots()[0] {
		t.Fatal("root key not stable across registry builds")
	}
	root := r1.Roots()[0]
	if !strings.HasPrefix(root.AccessKeyID, "AKIA") || len(root.AccessKeyID) != 20 || len(root.SecretAccessKey) != 40 {
		t.Fatalf("root key shape %s / %d", root.AccessKeyID, len(root.SecretAccessKey))
	}
	// The store holds the key id, never the secret.
	st.View(ctx, func(rd store.Reader) error {
		return rd.Scan("", "", func(k string, v []byte) (bool, error) {
			if strings.Contains(string(v), root.SecretAccessKey) {
				t.Errorf("secret stored at %s", k)
			}
			return true, nil
		})
	})
	_, err = r1.LookupCredential(ctx, "AKIANOPENOPENOPENOPE", "")
	if !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("unknown key: %v", err)
	}
	c, err := r1.LookupCredential(ctx, "AKIAIOSFODNN7EXAMPLE", "")
	if err != nil || c.Principal.(*Principal).ARN != "arn:aws:iam::123456789012:user/app" {
		t.Fatalf("app user: %v %+v", err, c)
	}
	if role, ok, _ := r1.Role(ctx, "arn:aws:iam::123456789012:role/analyst"); !ok || role.MaxSessionDuration != 12*time.Hour || !strings.HasPrefix(role.RoleID, "AROA") {
		t.Fatalf("role %+v", role)
	}
	path := filepath.Join(dir, "credentials")
	if err := WriteCredentialsFile(path, r1.Roots()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), "[default]\naws_access_key_id = "+root.AccessKeyID) || !strings.Contains(string(b), "[123456789012]") {
		t.Fatalf("credentials file %v:\n%s", fi.Mode(), b)
	}
}

func TestAuthorize(t *testing.T) {
	allowGet := iam.MustParsePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"redshift-serverless:Get*","Resource":"*"}]}`)
	user := &Principal{Kind: KindUser, Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/u", Name: "u", Identity: []*iam.Policy{allowGet}}
	root := &Principal{Kind: KindRoot, Account: "123456789012", ARN: "arn:aws:iam::123456789012:root"}
	req := Request{Region: "us-east-1", Now: time.Now()}
	own := "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/x"
	foreign := "arn:aws:redshift-serverless:us-east-1:210987654321:workgroup/x"
	if err := Authorize(root, "redshift-serverless:DeleteWorkgroup", own, req, nil); err != nil {
		t.Fatalf("root in own account: %v", err)
	}
	if err := Authorize(root, "redshift-serverless:DeleteWorkgroup", foreign, req, nil); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("root in another account: %v", err)
	}
	if err := Authorize(user, "redshift-serverless:GetWorkgroup", own, req, nil); err != nil {
		t.Fatal(err)
	}
	err := Authorize(user, "redshift-serverless:DeleteWorkgroup", own, req, nil)
	if !errors.Is(err, ErrAccessDenied) || err.Error() != "User: arn:aws:iam::123456789012:user/u is not authorized to perform: redshift-serverless:DeleteWorkgroup on resource: "+own+" because no identity-based policy allows the redshift-serverless:DeleteWorkgroup action" {
		t.Fatalf("deny: %v", err)
	}
	c := Conditions(user, req, nil)
	if v, _ := c.Get("aws:username"); len(v) != 1 || v[0] != "u" {
		t.Fatalf("aws:username = %v", v)
	}
	if v, _ := c.Get("aws:PrincipalType"); v[0] != "User" {
		t.Fatalf("aws:PrincipalType = %v", v)
	}
}
