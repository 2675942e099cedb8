package tokenlogin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/issuer/issuertest"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/serverless"
)

var (
	scope = serverless.Scope{Account: "123456789012", Region: "us-east-1"}
	// other is a second account with a workgroup of the same name as one of scope's.
	other = serverless.Scope{Account: "210987654321", Region: "us-east-1"}
)

// world is an issuer and serverless service on a real embedded store, as
// the app wires them, with workgroups wg-00… of scope (each in namespace
// ns-NN, database db_NN), wg-00 of other, and alice's identity-enhanced
// role session.
type world struct {
	cfg   *config.Config
	iss   *issuer.Issuer
	sl    *serverless.Service
	keys  *keyring.Keyring
	clock *clock.Fake
	alice *auth.Principal
}

func newWorld(t *testing.T, n int) *world {
	t.Helper()
	w := &world{clock: clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))}
	parts := issuertest.New(t, w.clock.Now, 0)
	for _, sc := range []serverless.Scope{scope, other} {
		count := n
		if sc == other {
			count = 1
		}
		wgs := make([]issuertest.Workgroup, count)
		for i := range wgs {
			wgs[i] = issuertest.Workgroup{Namespace: fmt.Sprintf("ns-%02d", i), Database: fmt.Sprintf("db_%02d", i), Name: fmt.Sprintf("wg-%02d", i)}
		}
		parts.AddWorkgroups(t, sc, wgs...)
	}
	w.cfg, w.alice = parts.Config, parts.Alice
	w.iss = &issuer.Issuer{Serverless: parts.Serverless, Keys: parts.Keys, Dir: parts.Dir, IdcApps: parts.IdcApps, TTL: time.Hour, Clock: w.clock.Now, Rand: rand.Reader}
	w.sl, w.keys = parts.Serverless, parts.Keys
	return w
}

// issue is alice's token for the named workgroups of scope.
func (w *world) issue(t *testing.T, names ...string) string {
	t.Helper()
	body := `{"workgroupNames":["` + strings.Join(names, `","`) + `"]}`
	res, err := w.iss.Issue(context.Background(), issuer.Request{Principal: w.alice, Auth: auth.Request{Region: scope.Region, Now: w.clock.Now()}, Scope: scope, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Token
}

// authenticator is the gateway's Authenticator over the world, with the
// config's upstreams and no managed cluster.
func (w *world) authenticator() *Authenticator {
	return &Authenticator{Issuer: w.iss, Upstreams: &Upstreams{Config: w.cfg, Serverless: w.sl}}
}

// TestChooseWorkgroup: the TLS server name first (its first label, and in
// the endpoint form its account and region), then the token's only
// workgroup, then the startup option.
func TestChooseWorkgroup(t *testing.T) {
	w := newWorld(t, 3)
	one := w.issue(t, "wg-01")
	two := w.issue(t, "wg-00", "wg-02")
	endpoint := func(sc serverless.Scope, wg string) string { return serverless.EndpointAddress(sc, wg) }
	for _, tc := range []struct {
		name, token, sni, option string
		scope                    serverless.Scope
		want                     string
		err                      string // the ErrNoWorkgroup message, when refused
	}{
		{name: "SNI label", token: two, sni: "wg-02", scope: scope, want: "wg-02"},
		{name: "SNI label before the option", token: two, sni: "wg-02", option: "wg-00", scope: scope, want: "wg-02"},
		{name: "SNI label before the token's only workgroup", token: one, sni: "wg-00", scope: scope, want: "wg-00"},
		{name: "SNI endpoint", token: two, sni: endpoint(scope, "wg-00"), scope: scope, want: "wg-00"},
		{name: "SNI endpoint of another account", token: two, sni: endpoint(other, "wg-00"), scope: other, want: "wg-00"},
		{name: "SNI endpoint form with a label of another domain", token: two, sni: "wg-00.example.com", option: "wg-02", scope: scope, want: "wg-00"},
		{name: "unknown SNI label, the token's only workgroup", token: one, sni: "nope", scope: scope, want: "wg-01"},
		{name: "unknown SNI label, the option", token: two, sni: "nope.123456789012.us-east-1.redshift-serverless.amazonaws.com", option: "wg-00", scope: scope, want: "wg-00"},
		{name: "the token's only workgroup", token: one, scope: scope, want: "wg-01"},
		{name: "the token's only workgroup before the option", token: one, option: "wg-02", scope: scope, want: "wg-01"},
		{name: "option", token: two, option: "wg-02", scope: scope, want: "wg-02"},
		{name: "option naming no workgroup is still the choice", token: two, option: "nope", scope: scope, want: "nope"},
		{name: "none", token: two, scope: scope,
			err: "the token names 2 workgroups: choose one with the TLS server name or the startup option -c workgroup=NAME"},
		{name: "unknown SNI label and no option", token: two, sni: "nope", scope: scope,
			err: "the token names 2 workgroups: choose one with the TLS server name or the startup option -c workgroup=NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, _, err := authtoken.ParseHeader(tc.token)
			if err != nil {
				t.Fatal(err)
			}
			sc, name, err := chooseWorkgroup(context.Background(), w.sl, h, tc.sni, tc.option)
			if tc.err != "" {
				if !errors.Is(err, gateway.ErrNoWorkgroup) || err.Error() != tc.err {
					t.Fatalf("err = %v, want ErrNoWorkgroup %q", err, tc.err)
				}
				return
			}
			if err != nil || name != tc.want || sc != tc.scope {
				t.Fatalf("got %v %q %v, want %v %q", sc, name, err, tc.scope, tc.want)
			}
		})
	}
	// The token's only workgroup, deleted since: nothing to fall back on.
	wg, err := w.sl.GetWorkgroup(context.Background(), scope, "wg-01")
	if err != nil {
		t.Fatal(err)
	}
	name := "wg-01"
	if _, err := w.sl.DeleteWorkgroup(context.Background(), scope, wg.WorkgroupId, serverless.DeleteWorkgroupInput{WorkgroupName: &name}); err != nil {
		t.Fatal(err)
	}
	h, _, _, _ := authtoken.ParseHeader(one)
	if _, _, err := chooseWorkgroup(context.Background(), w.sl, h, "", ""); !errors.Is(err, gateway.ErrNoWorkgroup) ||
		err.Error() != "the token names 1 workgroups: choose one with the TLS server name or the startup option -c workgroup=NAME" {
		t.Fatalf("deleted only workgroup: %v", err)
	}
}

// TestOpenError: each reason the issuer refuses a token maps to its
// gateway sentinel; anything else stays as it is (an internal error).
func TestOpenError(t *testing.T) {
	internal := errors.New("store: disk on fire")
	for _, tc := range []struct {
		err, want error
		msg       string
	}{
		{nil, nil, ""},
		{fmt.Errorf("open: %w", serverless.ErrNotFound), gateway.ErrNoWorkgroup, "workgroup wg-07 does not exist"},
		{authtoken.ErrExpired, gateway.ErrTokenExpired, ""},
		{authtoken.ErrForeignWorkgroup, gateway.ErrWrongWorkgroup, ""},
		{authtoken.ErrWrongAccount, gateway.ErrWrongWorkgroup, ""},
		{authtoken.ErrWrongRegion, gateway.ErrWrongWorkgroup, ""},
		{authtoken.ErrMalformed, gateway.ErrBadToken, ""},
		{authtoken.ErrTruncated, gateway.ErrBadToken, ""},
		{authtoken.ErrTampered, gateway.ErrBadToken, ""},
		{fmt.Errorf("%w: %w", authtoken.ErrKeyUnavailable, keyring.ErrRetired), gateway.ErrBadToken, ""},
		{internal, internal, ""},
	} {
		got := openError("wg-07", tc.err)
		if !errors.Is(got, tc.want) || (tc.want == nil) != (got == nil) {
			t.Errorf("openError(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if tc.msg != "" && got.Error() != tc.msg {
			t.Errorf("openError(%v) says %q, want %q", tc.err, got.Error(), tc.msg)
		}
	}
}

// TestAuthenticateRefusals: real tokens the issuer refuses, through the
// whole login, come back as the gateway's sentinels, without a Login.
func TestAuthenticateRefusals(t *testing.T) {
	w := newWorld(t, 3)
	ctx := context.Background()
	a := w.authenticator()
	tok := w.issue(t, "wg-00")
	tampered := issuertest.Tampered(t, tok)
	for _, tc := range []struct {
		name, sni, option, token string
		want                     error
	}{
		{"malformed", "", "", "IDC2.!!", gateway.ErrBadToken},
		{"truncated", "", "", tok[:len(tok)/2], gateway.ErrBadToken},
		{"tampered", "", "", tampered, gateway.ErrBadToken},
		{"foreign workgroup", "wg-01", "", tok, gateway.ErrWrongWorkgroup},
		{"another account's workgroup", serverless.EndpointAddress(other, "wg-00"), "", tok, gateway.ErrWrongWorkgroup},
		{"unknown workgroup", "", "", w.issue(t, "wg-00", "wg-01"), gateway.ErrNoWorkgroup},
		{"named workgroup does not exist", "", "wg-09", w.issue(t, "wg-00", "wg-01"), gateway.ErrNoWorkgroup},
		{"named workgroup is no workgroup name", "", "Not a\nname!", w.issue(t, "wg-00", "wg-01"), gateway.ErrNoWorkgroup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			login, err := a.Authenticate(ctx, gateway.AuthRequest{SNI: tc.sni, Workgroup: tc.option, Token: tc.token})
			if !errors.Is(err, tc.want) || login != nil {
				t.Fatalf("got %+v, %v; want %v", login, err, tc.want)
			}
		})
	}
	// A retired key version.
	wg, err := w.sl.GetWorkgroup(ctx, scope, "wg-00")
	if err != nil {
		t.Fatal(err)
	}
	id := keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}
	if _, err := w.keys.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := w.keys.Retire(ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	if login, err := a.Authenticate(ctx, gateway.AuthRequest{Token: tok}); !errors.Is(err, gateway.ErrBadToken) || login != nil {
		t.Fatalf("retired key: %+v, %v", login, err)
	}
	// Expired.
	tok = w.issue(t, "wg-01")
	w.clock.Advance(time.Hour)
	if login, err := a.Authenticate(ctx, gateway.AuthRequest{Token: tok}); !errors.Is(err, gateway.ErrTokenExpired) || login != nil {
		t.Fatalf("expired: %+v, %v", login, err)
	}
}

// TestAuthenticate: a token that opens gives the login of the chosen
// workgroup, with the directory's groups now and the workgroup's upstream.
func TestAuthenticate(t *testing.T) {
	w := newWorld(t, 2)
	w.cfg.PGUpstream = "postgres://gw@db.example:5432/dev?sslmode=verify-full"
	ctx := context.Background()
	wg, err := w.sl.GetWorkgroup(ctx, scope, "wg-01")
	if err != nil {
		t.Fatal(err)
	}
	login, err := w.authenticator().Authenticate(ctx, gateway.AuthRequest{SNI: serverless.EndpointAddress(scope, "wg-01"), Token: w.issue(t, "wg-00", "wg-01")})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := w.iss.Dir.UserByName(ctx, "alice")
	if login.Workgroup != "wg-01" || login.WorkgroupID != wg.WorkgroupId || login.Account != scope.Account || login.IdentityNamespace != "AWSIDC" ||
		login.Upstream != w.cfg.PGUpstream || login.Claims.UserName != "alice" || !slices.Equal(login.Claims.Groups, u.Groups) {
		t.Fatalf("login %+v", login)
	}
	// Refused after the token opened: the Login comes back for the audit.
	w.cfg.PGUpstream = config.UpstreamNone
	login, err = w.authenticator().Authenticate(ctx, gateway.AuthRequest{Token: w.issue(t, "wg-00")})
	if !errors.Is(err, gateway.ErrNoUpstream) || login == nil || login.Workgroup != "wg-00" || login.Upstream != "" {
		t.Fatalf("no upstream: %+v, %v", login, err)
	}
}

// TestCurrent: a login carries the user's groups in the directory now; a
// user no longer there, or a token of another identity store, is refused.
func TestCurrent(t *testing.T) {
	w := newWorld(t, 1)
	dir := w.iss.Dir
	alice, err := dir.UserByName(context.Background(), "alice")
	if err != nil || len(alice.Groups) == 0 {
		t.Fatalf("alice %+v", alice)
	}
	claims := func() authtoken.Claims {
		return authtoken.Claims{IdentityStoreArn: dir.IdentityStoreArn, UserID: alice.UserID, UserName: "alice", Groups: []string{"revoked-group"}}
	}
	for _, tc := range []struct {
		name string
		dir  *identitycenter.Directory
		edit func(*authtoken.Claims)
		msg  string // the ErrUnknownUser message; "" when admitted
	}{
		{name: "current user", dir: dir, edit: func(*authtoken.Claims) {}},
		{name: "no directory", dir: nil, edit: func(*authtoken.Claims) {},
			msg: "the token's identity store " + dir.IdentityStoreArn + " is not this Identity Center instance's: get a new token with GetIdentityCenterAuthToken"},
		{name: "another identity store", dir: dir, edit: func(c *authtoken.Claims) {
			c.IdentityStoreArn = "arn:aws:identitystore::123456789012:identitystore/d-0000000000"
		},
			msg: "the token's identity store arn:aws:identitystore::123456789012:identitystore/d-0000000000 is not this Identity Center instance's: get a new token with GetIdentityCenterAuthToken"},
		{name: "user gone", dir: dir, edit: func(c *authtoken.Claims) { c.UserID = "00000000-0000-4000-8000-000000000000" },
			msg: "the Identity Center user alice (00000000-0000-4000-8000-000000000000) no longer exists in identity store " + dir.IdentityStoreID},
		{name: "user id reused by another name", dir: dir, edit: func(c *authtoken.Claims) { c.UserName = "mallory" },
			msg: "the Identity Center user mallory (" + alice.UserID + ") no longer exists in identity store " + dir.IdentityStoreID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			login := &gateway.Login{Claims: claims()}
			tc.edit(&login.Claims)
			u, err := current(context.Background(), tc.dir, login)
			if tc.msg != "" {
				if !errors.Is(err, gateway.ErrUnknownUser) || err.Error() != tc.msg {
					t.Fatalf("err = %v, want ErrUnknownUser %q", err, tc.msg)
				}
				return
			}
			if err != nil || !slices.Equal(login.Claims.Groups, alice.Groups) || u == nil || u.UserID != alice.UserID {
				t.Fatalf("groups %v, user %v, %v; want %v of %s", login.Claims.Groups, u, err, alice.Groups, alice.UserID)
			}
		})
	}
}

// TestUpstreamDSN: the workgroup's own upstream, else pgUpstream's DSN,
// else the managed cluster's database of the workgroup's namespace.
func TestUpstreamDSN(t *testing.T) {
	w := newWorld(t, 2)
	ctx := context.Background()
	const (
		own    = "postgres://gw@own.example:5432/sales?sslmode=verify-full"
		shared = "postgres://gw@shared.example:5432/dev?sslmode=verify-full"
	)
	managed := &managedpg.Cluster{Port: 54329, DataDir: "/var/lib/idcgate-pg/data"}
	wg := func(sc serverless.Scope, name string) serverless.Workgroup {
		wg, err := w.sl.GetWorkgroup(ctx, sc, name)
		if err != nil {
			t.Fatal(err)
		}
		return wg
	}
	wg00, wg01, otherWG := wg(scope, "wg-00"), wg(scope, "wg-01"), wg(other, "wg-00")
	withOwn := func(pg string) *config.Config {
		return &config.Config{PGUpstream: pg, Accounts: []config.Account{{ID: scope.Account, Workgroups: []config.Workgroup{{Name: "wg-00", Namespace: "ns-00", Upstream: own}}}}}
	}
	for _, tc := range []struct {
		name    string
		cfg     *config.Config
		managed *managedpg.Cluster
		sc      serverless.Scope
		wg      serverless.Workgroup
		want    string // "" for ErrNoUpstream
	}{
		{"own upstream", withOwn(shared), managed, scope, wg00, own},
		{"own upstream before none", withOwn(config.UpstreamNone), nil, scope, wg00, own},
		{"pgUpstream", withOwn(shared), managed, scope, wg01, shared},
		{"another account's own upstream does not apply", withOwn(shared), nil, other, otherWG, shared},
		{"managed: the namespace's database", withOwn(config.UpstreamManaged), managed, scope, wg01, managed.DSN("db_01")},
		{"unset: managed", withOwn(""), managed, other, otherWG, managed.DSN("db_00")},
		{"managed, not running", withOwn(config.UpstreamManaged), nil, scope, wg01, ""},
		{"none", withOwn(config.UpstreamNone), nil, scope, wg01, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &Upstreams{Config: tc.cfg, Serverless: w.sl, Managed: tc.managed}
			got, err := u.DSN(ctx, tc.sc, tc.wg)
			if tc.want == "" {
				want := "no upstream: workgroup " + tc.wg.WorkgroupName + " has no upstream PostgreSQL (set pgUpstream or the workgroup's upstream in the config)"
				if !errors.Is(err, gateway.ErrNoUpstream) || got != "" || err.Error() != want {
					t.Fatalf("got %q, %v; want ErrNoUpstream %q", got, err, want)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	// The managed database is the namespace's as stored now.
	u := &Upstreams{Config: withOwn(config.UpstreamManaged), Serverless: w.sl, Managed: managed}
	gone := wg01
	gone.NamespaceName = "ns-09"
	if _, err := u.DSN(ctx, scope, gone); !errors.Is(err, serverless.ErrNotFound) {
		t.Fatalf("namespace gone: %v", err)
	}
}

// TestCheckConfigured: every DSN the config gives must carry TLS; the
// words managed and none, and unset upstreams, are not checked.
func TestCheckConfigured(t *testing.T) {
	const (
		tlsDSN   = "postgres://gw@db.example:5432/dev?sslmode=verify-full"
		plainDSN = "postgres://gw@db.example:5432/dev?sslmode=disable"
	)
	cfg := func(pg, own string) *config.Config {
		return &config.Config{PGUpstream: pg, Accounts: []config.Account{{ID: scope.Account, Workgroups: []config.Workgroup{{Name: "wg-00", Upstream: own}}}}}
	}
	for _, tc := range []struct {
		name, pg, own string
		want          string // the error's prefix; "" when accepted
	}{
		{"TLS", tlsDSN, tlsDSN, ""},
		{"unset", "", "", ""},
		{"managed", config.UpstreamManaged, "", ""},
		{"none", config.UpstreamNone, tlsDSN, ""},
		{"pgUpstream without TLS", plainDSN, tlsDSN, "pgUpstream: "},
		{"a workgroup's without TLS", config.UpstreamManaged, plainDSN, "the upstream of workgroup 123456789012/wg-00: "},
		{"not a DSN", "postgres://[::1", "", "pgUpstream: upstream DSN: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckConfigured(cfg(tc.pg, tc.own))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q…", err, tc.want)
			}
			if strings.Contains(tc.name, "without TLS") && !errors.Is(err, gateway.ErrUpstreamNoTLS) {
				t.Fatalf("err = %v, want ErrUpstreamNoTLS", err)
			}
		})
	}
}
