package sts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/validation"
)

func setup(t *testing.T) (*Service, *clock.Fake, *auth.Principal) {
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
	mk := testkit.MasterKey(t)
	st := testkit.StoreAt(t, filepath.Join(dir, "s.db"))
	c := clock.NewFake(time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	svc, err := iamstore.New(st, mk, c.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := auth.NewRegistry(context.Background(), cfg, mk, st, svc, st, rand.Reader, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctxBox, _ := seal.New(mk.Derive(32, "a"), "identity-context", "")
	sessBox, _ := seal.New(mk.Derive(32, "b"), "session-token", "IQoJ")
	s := &Service{Registry: reg, Dir: mustDir(t, cfg, mk, st), Contexts: ctxBox, Sessions: sessBox, Clock: c.Now}
	cred, _ := reg.LookupCredential(context.Background(), "AKIAIOSFODNN7EXAMPLE", "")
	return s, c, cred.Principal.(*auth.Principal)
}

func assertion(t *testing.T, s *Service, exp time.Time) string {
	u, _ := s.Dir.UserByName(context.Background(), "alice")
	a, err := s.Contexts.Seal(identitycenter.Context{Version: 1, InstanceArn: s.Dir.InstanceArn, UserID: u.UserID, UserName: "alice", IdentityStoreArn: s.Dir.IdentityStoreArn, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestExpiredContextAssertion(t *testing.T) {
	s, c, app := setup(t)
	a := assertion(t, s, c.Now().Add(time.Hour))
	c.Advance(2 * time.Hour)
	_, err := s.AssumeRole(context.Background(), app, AssumeRoleInput{
		RoleArn: "arn:aws:iam::123456789012:role/analyst", RoleSessionName: "s1",
		ProvidedContexts: []ProvidedContext{{ProviderArn: identitycenter.ProviderArn, ContextAssertion: a}},
	}, auth.Request{Region: "us-east-1", Now: c.Now()})
	if !errors.Is(err, ErrExpiredContext) {
		t.Fatalf("err = %v", err)
	}
}

func TestSessionLifecycleAndChaining(t *testing.T) {
	s, c, app := setup(t)
	ctx := context.Background()
	req := auth.Request{Region: "us-east-1", Now: c.Now()}
	out, err := s.AssumeRole(ctx, app, AssumeRoleInput{
		RoleArn: "arn:aws:iam::123456789012:role/chainer", RoleSessionName: "s1",
		ProvidedContexts: []ProvidedContext{{ProviderArn: identitycenter.ProviderArn, ContextAssertion: assertion(t, s, c.Now().Add(time.Hour))}},
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
	c.Advance(2 * time.Hour)
	if _, err := s.LookupCredential(ctx, out.Credentials.AccessKeyId, out.Credentials.SessionToken); !errors.Is(err, sigv4.ErrExpiredToken) {
		t.Fatalf("expired session: %v", err)
	}
}

// Opened sessions are remembered by their exact token: an edited token is
// opened (and refused) afresh, never served from the cache.
func TestOpenedSessionCacheNeedsTheSameToken(t *testing.T) {
	s, c, app := setup(t)
	ctx := context.Background()
	out, err := s.AssumeRole(ctx, app, AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/chainer", RoleSessionName: "s1"}, auth.Request{Region: "us-east-1", Now: c.Now()})
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

// TestAssumeRoleBounds: every member is held to the STS model's bounds and
// patterns before anything is evaluated, with AWS's validation text.
func TestAssumeRoleBounds(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	role := "arn:aws:iam::123456789012:role/analyst"
	base := func() AssumeRoleInput { return AssumeRoleInput{RoleArn: role, RoleSessionName: "s1"} }
	many := func(n int, v string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	cases := []struct {
		name string
		edit func(*AssumeRoleInput)
		want string
	}{
		{"roleArn too long", func(in *AssumeRoleInput) { in.RoleArn = role + strings.Repeat("x", 2048) }, "at 'roleArn' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"roleArn control character", func(in *AssumeRoleInput) { in.RoleArn = role + "\x01" }, "at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"roleSessionName too short", func(in *AssumeRoleInput) { in.RoleSessionName = "s" }, "at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"roleSessionName too long", func(in *AssumeRoleInput) { in.RoleSessionName = strings.Repeat("s", 65) }, "at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"policy with a control character", func(in *AssumeRoleInput) { in.Policy = "{\x01}" }, "at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"externalId too short", func(in *AssumeRoleInput) { in.ExternalId = str("x") }, "at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"externalId too long", func(in *AssumeRoleInput) { in.ExternalId = str(strings.Repeat("x", 1225)) }, "at 'externalId' failed to satisfy constraint: Member must have length less than or equal to 1224"},
		{"externalId space", func(in *AssumeRoleInput) { in.ExternalId = str("a b") }, "at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*"},
		{"sourceIdentity too long", func(in *AssumeRoleInput) { in.SourceIdentity = str(strings.Repeat("x", 65)) }, "at 'sourceIdentity' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"tokenCode not digits", func(in *AssumeRoleInput) { in.TokenCode = str("12345a") }, "at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*"},
		{"serialNumber too short", func(in *AssumeRoleInput) { in.SerialNumber = str("12345678") }, "at 'serialNumber' failed to satisfy constraint: Member must have length greater than or equal to 9"},
		{"policyArns too many", func(in *AssumeRoleInput) { in.PolicyArns = many(11, "arn:aws:iam::aws:policy/ReadOnlyAccess") }, "at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{"policyArn too short", func(in *AssumeRoleInput) { in.PolicyArns = []string{"arn:aws:iam::1"} }, "at 'policyArns.1.member.arn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"tags too many", func(in *AssumeRoleInput) {
			in.Tags = make([]Tag, 51)
			for i := range in.Tags {
				in.Tags[i] = Tag{Key: str(fmt.Sprint("k", i)), Value: str("v")}
			}
		}, "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{"tag key control character", func(in *AssumeRoleInput) { in.Tags = []Tag{{Key: str("team\n"), Value: str("v")}} }, "at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"tag key too long", func(in *AssumeRoleInput) { in.Tags = []Tag{{Key: str(strings.Repeat("k", 129)), Value: str("v")}} }, "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"tag without key", func(in *AssumeRoleInput) { in.Tags = []Tag{{Value: str("v")}} }, "Value null at 'tags.1.member.key' failed to satisfy constraint: Member must not be null"},
		{"tag value too long", func(in *AssumeRoleInput) { in.Tags = []Tag{{Key: str("k"), Value: str(strings.Repeat("v", 257))}} }, "at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"providerArn too long", func(in *AssumeRoleInput) {
			in.ProvidedContexts = []ProvidedContext{{ProviderArn: identitycenter.ProviderArn + strings.Repeat("x", 2048), ContextAssertion: "abcd"}}
		}, "at 'providedContexts.1.member.providerArn' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"contextAssertion too long", func(in *AssumeRoleInput) {
			in.ProvidedContexts = []ProvidedContext{{ProviderArn: identitycenter.ProviderArn, ContextAssertion: strings.Repeat("a", 2049)}}
		}, "Value '***' at 'providedContexts.1.member.contextAssertion' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"transitive keys too many", func(in *AssumeRoleInput) { in.TransitiveTagKeys = many(51, "k") }, "at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, caller := setup(t)
			in := base()
			tc.edit(&in)
			_, err := s.AssumeRole(context.Background(), caller, in, auth.Request{})
			if !errors.Is(err, validation.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant a validation error with %q", err, tc.want)
			}
		})
	}
	t.Run("within bounds", func(t *testing.T) {
		t.Parallel()
		s, _, caller := setup(t)
		in := base()
		in.ExternalId, in.SourceIdentity = str("ext-id:1/2"), str("alice@example.com")
		in.Tags, in.TransitiveTagKeys = []Tag{{Key: str("team"), Value: str("")}}, []string{"team"}
		if _, err := s.AssumeRole(context.Background(), caller, in, auth.Request{}); errors.Is(err, validation.ErrInvalid) {
			t.Fatalf("refused: %v", err)
		}
	})
	// Well-formed managed policy ARNs are refused, not ignored: ignoring
	// them would give a broader session than the caller asked for.
	t.Run("policyArns refused", func(t *testing.T) {
		t.Parallel()
		s, _, caller := setup(t)
		in := base()
		in.PolicyArns = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
		_, err := s.AssumeRole(context.Background(), caller, in, auth.Request{})
		if !errors.Is(err, validation.ErrInvalid) || !strings.Contains(err.Error(), "arn:aws:iam::aws:policy/ReadOnlyAccess cannot narrow the session") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSessionPolicyKind: a session policy is parsed as IAM parses one, so a
// Principal (meaningless in it) is MalformedPolicyDocument, not ignored.
func TestSessionPolicyKind(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, policy, want string }{
		{"Principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, "Policy document should not specify a principal."},
		{"NotPrincipal", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}]}`, "Policy document should not specify a principal."},
		{"no Resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}`, "Policy statement must contain resources."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, caller := setup(t)
			_, err := s.AssumeRole(context.Background(), caller, AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/analyst", RoleSessionName: "s1", Policy: tc.policy}, auth.Request{})
			if !errors.Is(err, ErrMalformedPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want MalformedPolicyDocument %q", err, tc.want)
			}
		})
	}
}

// Opened sessions are copied at the cache's boundary: a caller that
// changes the identity context of the principal it got cannot change the
// next lookup's.
func TestOpenedSessionIsTheCallersCopy(t *testing.T) {
	s, c, app := setup(t)
	ctx := context.Background()
	out, err := s.AssumeRole(ctx, app, AssumeRoleInput{
		RoleArn: "arn:aws:iam::123456789012:role/chainer", RoleSessionName: "s1",
		ProvidedContexts: []ProvidedContext{{ProviderArn: identitycenter.ProviderArn, ContextAssertion: assertion(t, s, c.Now().Add(time.Hour))}},
	}, auth.Request{Region: "us-east-1", Now: c.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var want identitycenter.Context
	for i := range 3 { // the lookup that opens and caches, then hits
		cred, err := s.LookupCredential(ctx, out.Credentials.AccessKeyId, out.Credentials.SessionToken)
		if err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
		ic := cred.Principal.(*auth.Principal).IdentityContext
		if i == 0 {
			want = *ic
		} else if *ic != want {
			t.Fatalf("lookup %d: a caller's change reached the cache: %+v, want %+v", i, *ic, want)
		}
		ic.UserID, ic.UserName, ic.InstanceArn = "changed", "mallory", "arn:changed"
	}
}

func mustDir(t *testing.T, cfg *config.Config, mk *masterkey.Key, st store.Store) *identitycenter.Directory {
	t.Helper()
	d, err := identitycenter.NewWithStore(context.Background(), cfg, mk, st)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
