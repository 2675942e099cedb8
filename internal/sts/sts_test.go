package sts

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/store/bolt"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*Service, *clock, *auth.Principal) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.LoadFile(filepath.Join("..", "..", "examples", "idcgate.yaml"), map[string]string{"data-dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Accounts[0].Roles = append(cfg.Accounts[0].Roles, config.Role{
		Name: "chainer", MaxSessionDuration: &config.Duration{Duration: 12 * time.Hour},
		TrustPolicy: cfg.Accounts[0].Roles[0].TrustPolicy,
		Policies:    []config.Policy{{Name: "p", Document: config.Document{JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}}},
	})
	text, _ := masterkey.Generate(rand.Reader)
	mk, _ := masterkey.Parse(text)
	st, _ := bolt.Open(filepath.Join(dir, "s.db"))
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)}
	reg, err := auth.NewRegistry(context.Background(), cfg, mk, st, rand.Reader, c.t)
	if err != nil {
		t.Fatal(err)
	}
	ctxBox, _ := seal.New(mk.Derive(32, "a"), "identity-context", "")
	sessBox, _ := seal.New(mk.Derive(32, "b"), "session-token", "IQoJ")
	s := &Service{Registry: reg, Dir: identitycenter.New(cfg, mk), Contexts: ctxBox, Sessions: sessBox, Now: c.now}
	cred, _ := reg.LookupCredential(context.Background(), "AKIAIOSFODNN7EXAMPLE", "")
	return s, c, cred.Principal.(*auth.Principal)
}

func assertion(t *testing.T, s *Service, exp time.Time) string {
	u, _ := s.Dir.UserByName("alice")
	a, err := s.Contexts.Seal(identitycenter.Context{Version: 1, InstanceArn: s.Dir.InstanceArn, UserID: u.UserID, UserName: "alice", IdentityStoreArn: s.Dir.IdentityStoreArn, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestExpiredContextAssertion(t *testing.T) {
	s, c, app := setup(t)
	a := assertion(t, s, c.t.Add(time.Hour))
	c.t = c.t.Add(2 * time.Hour)
	_, err := s.AssumeRole(context.Background(), app, AssumeRoleInput{
		RoleArn: "arn:aws:iam::123456789012:role/analyst", RoleSessionName: "s1",
		ProvidedContexts: []ProvidedContext{{ProviderArn: identitycenter.ProviderArn, ContextAssertion: a}},
	}, auth.Request{Region: "us-east-1", Now: c.t})
	if !errors.Is(err, ErrExpiredContext) {
		t.Fatalf("err = %v", err)
	}
}

func TestSessionLifecycleAndChaining(t *testing.T) {
	s, c, app := setup(t)
	ctx := context.Background()
	req := auth.Request{Region: "us-east-1", Now: c.t}
	out, err := s.AssumeRole(ctx, app, AssumeRoleInput{
		RoleArn: "arn:aws:iam::123456789012:role/chainer", RoleSessionName: "s1",
		ProvidedContexts: []ProvidedContext{{ProviderArn: identitycenter.ProviderArn, ContextAssertion: assertion(t, s, c.t.Add(time.Hour))}},
	}, req)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := s.LookupCredential(ctx, out.Credentials.AccessKeyId, out.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	p := cred.Principal.(*auth.Principal)
	if p.IdentityContext == nil || p.IdentityContext.UserName != "alice" {
		t.Fatal("session lost its identity context")
	}
	if v, _ := p.Context.Get("identitystore:UserId"); len(v) != 1 || v[0] != p.IdentityContext.UserID {
		t.Fatalf("identitystore:UserId = %v", v)
	}
	// Role chaining keeps the context, and is limited to one hour.
	chained, err := s.AssumeRole(ctx, p, AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/analyst", RoleSessionName: "chained"}, req)
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := s.LookupCredential(ctx, chained.Credentials.AccessKeyId, chained.Credentials.SessionToken)
	if cc.Principal.(*auth.Principal).IdentityContext == nil {
		t.Fatal("role chaining dropped the identity context")
	}
	two := int64(7200)
	if _, err := s.AssumeRole(ctx, p, AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/analyst", RoleSessionName: "c2", DurationSeconds: &two}, req); err == nil {
		t.Fatal("chained session longer than an hour")
	}
	// A key id that does not match its token, and an expired session.
	if _, err := s.LookupCredential(ctx, "ASIAOTHEROTHEROTHER1", out.Credentials.SessionToken); !errors.Is(err, sigv4.ErrInvalidClientToken) {
		t.Fatalf("mismatched key id: %v", err)
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, err := s.LookupCredential(ctx, out.Credentials.AccessKeyId, out.Credentials.SessionToken); !errors.Is(err, sigv4.ErrExpiredToken) {
		t.Fatalf("expired session: %v", err)
	}
}

// Opened sessions are remembered by their exact token: an edited token is
// opened (and refused) afresh, never served from the cache.
func TestOpenedSessionCacheNeedsTheSameToken(t *testing.T) {
	s, c, app := setup(t)
	ctx := context.Background()
	out, err := s.AssumeRole(ctx, app, AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/chainer", RoleSessionName: "s1"}, auth.Request{Region: "us-east-1", Now: c.t})
	if err != nil {
		t.Fatal(err)
	}
	tok := out.Credentials.SessionToken
	for i := 0; i < 2; i++ {
		if _, err := s.LookupCredential(ctx, out.Credentials.AccessKeyId, tok); err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
	}
	b := []byte(tok)
	b[len(b)/2] ^= 1
	if _, err := s.LookupCredential(ctx, out.Credentials.AccessKeyId, string(b)); !errors.Is(err, sigv4.ErrInvalidClientToken) {
		t.Fatalf("edited token: %v", err)
	}
}
