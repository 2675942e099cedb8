package oidc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// interactive is the test service with a store for sign-in state.
func interactive(t *testing.T, now *time.Time) *Service {
	t.Helper()
	s := service(t, now)
	db := testkit.Store(t)
	s.Store, s.Endpoint, s.Region = db, "http://127.0.0.1:7439", "us-east-1"
	return s
}

func TestNormalizeUserCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"BCDF-GHJK": "BCDFGHJK", "bcdf-ghjk": "BCDFGHJK", "bcdfghjk": "BCDFGHJK", " BCDF GHJK ": "BCDFGHJK",
		"BCDF-GHJ": "", "BCDF-GHJKL": "", "ABCD-EFGH": "" /* vowels are never issued */, "BCDF-GHJ1": "", "": "",
	} {
		got, ok := normalizeUserCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("normalizeUserCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for range 100 {
		c := newUserCode()
		if n, ok := normalizeUserCode(DisplayUserCode(c)); !ok || n != c {
			t.Fatalf("issued code %q does not read back (%q)", c, n)
		}
	}
}

func TestRedirectAllowed(t *testing.T) {
	t.Parallel()
	registered := []string{"http://127.0.0.1/oauth/callback", "https://app.example.com/cb", "http://[::1]:8080/cb"}
	for uri, want := range map[string]bool{
		"http://127.0.0.1/oauth/callback":        true,
		"http://127.0.0.1:53211/oauth/callback":  true, // RFC 8252 7.3: any port on loopback
		"http://[::1]:9999/cb":                   true,
		"https://app.example.com/cb":             true,
		"https://app.example.com:444/cb":         false, // not loopback: exact only
		"http://127.0.0.1:5/other":               false,
		"http://127.0.0.1:5/oauth/callback?x=1":  false,
		"http://localhost/oauth/callback":        false, // another host than registered
		"https://127.0.0.1/oauth/callback":       false,
		"http://evil.example.com/oauth/callback": false,
	} {
		if got := redirectAllowed(registered, uri); got != want {
			t.Errorf("redirectAllowed(%q) = %v", uri, got)
		}
	}
}

func TestCheckRedirectURI(t *testing.T) {
	t.Parallel()
	for uri, ok := range map[string]bool{
		"https://app.example.com/cb": true, "http://127.0.0.1/cb": true, "http://localhost:8080/cb": true, "http://[::1]/cb": true,
		"http://example.com/cb": false, "ftp://127.0.0.1/cb": false, "/cb": false, "https://app.example.com/cb#frag": false,
		"https:///cb": false, "": false,
	} {
		err := checkRedirectURI(uri)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalidRedirectURI)) {
			t.Errorf("checkRedirectURI(%q) = %v", uri, err)
		}
	}
}

func TestNamesInstance(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s := interactive(t, &now)
	for u, want := range map[string]bool{
		"http://127.0.0.1:7439":                                   true,
		"http://127.0.0.1:7439/start":                             true,
		"http://127.0.0.1:7439/any/path?x=1":                      true,
		"https://127.0.0.1:7439/start":                            false, // another scheme
		"http://127.0.0.1:7440/start":                             false,
		"https://ssoins-7223a1b2c3d4e5f6.awsapps.com/start":       true,
		"https://d-9067a1b2c3.awsapps.com/start/":                 true,
		"https://D-9067A1B2C3.awsapps.com/start":                  true,
		"https://d-9067a1b2c3.awsapps.com/other":                  false,
		"http://d-9067a1b2c3.awsapps.com/start":                   false,
		"https://d-0000000000.awsapps.com/start":                  false,
		"https://d-9067a1b2c3.awsapps.com.evil.example.com/start": false,
		"not a url": false, "": false,
	} {
		if got := s.namesInstance(u); got != want {
			t.Errorf("namesInstance(%q) = %v", u, got)
		}
	}
}

// TestPKCE: S256 as RFC 7636 4.2 defines it; the pair was computed apart,
// with Python's hashlib and base64.urlsafe_b64encode.
func TestPKCE(t *testing.T) {
	t.Parallel()
	const verifier, challenge = "dBjftJeZ4CVP-mJ92K9XqTdNL6ABGJbNlTjOrZ1zZ5k", "EQIdwH6KihqWHouosFWCC419XMScP_wal7plJjWDi30"
	if !pkceMatches(verifier, challenge) || !validChallenge(challenge) {
		t.Fatal("the S256 pair does not match")
	}
	if pkceMatches(verifier+"x", challenge) || pkceMatches(challenge, challenge) || pkceMatches("short", challenge) {
		t.Fatal("a wrong verifier matched")
	}
	if validChallenge("EQIdwH6KihqWHouosFWCC419XMScP_wal7plJjWDi3") || validChallenge("EQIdwH6KihqWHouosFWCC419XMScP_wal7plJjWDi3+") {
		t.Fatal("a malformed challenge passed")
	}
}

// TestInteractiveTokens: a device sign-in's access token is the sealed
// format the gateway reads (kind, user, application, scopes, expiry) with
// the client's id; an entitled client's carries the application.
func TestInteractiveTokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := interactive(t, &now)
	ctx := context.Background()
	alice := user(t, s, "alice")
	for _, entitled := range []string{"", app} {
		reg, err := s.RegisterClient(ctx, RegisterClientInput{ClientName: p("cli"), ClientType: p("public"),
			Scopes: []string{"redshift:connect"}, EntitledApplicationArn: func() *string {
				if entitled == "" {
					return nil
				}
				return p(entitled)
			}()})
		if err != nil {
			t.Fatal(err)
		}
		start, err := s.StartDeviceAuthorization(ctx, StartDeviceAuthorizationInput{ClientId: &reg.ClientID, ClientSecret: &reg.ClientSecret, StartUrl: p(s.Endpoint)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ApproveDevice(ctx, start.UserCode, alice.UserID); err != nil {
			t.Fatal(err)
		}
		out, err := s.CreateToken(ctx, CreateTokenInput{ClientId: &reg.ClientID, ClientSecret: &reg.ClientSecret, GrantType: p(GrantDeviceCode), DeviceCode: &start.DeviceCode})
		if err != nil {
			t.Fatal(err)
		}
		var access, refresh refreshClaims
		if err := s.Tokens.Open(out.AccessToken, &access); err != nil {
			t.Fatal(err)
		}
		if access.Kind != "access" || access.UserID != alice.UserID || access.App != entitled || len(access.Scope) != 1 ||
			access.Scope[0] != "redshift:connect" || access.ClientID != reg.ClientID || !access.Expires.Equal(now.Add(AccessTokenTTL)) {
			t.Errorf("access token claims %+v", access)
		}
		if err := s.Tokens.Open(out.RefreshToken, &refresh); err != nil || refresh.Kind != "refresh" || refresh.ID == "" ||
			!refresh.Expires.Equal(now.Add(SessionTTL)) {
			t.Errorf("refresh token claims %+v %v", refresh, err)
		}
		// CreateTokenWithIAM never takes a public client's refresh token,
		// even for the application the client is entitled to.
		if entitled != "" {
			_, err := s.CreateTokenWithIAM(ctx, Input{ClientId: p(app), GrantType: p(GrantRefreshToken), RefreshToken: &out.RefreshToken})
			if !errors.Is(err, ErrInvalidGrant) {
				t.Errorf("CreateTokenWithIAM with a public client's refresh token: %v", err)
			}
		}
	}
}

// TestPrune: expired records go, live ones stay.
func TestPrune(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s := interactive(t, &now)
	ctx := context.Background()
	if _, err := s.RegisterClient(ctx, RegisterClientInput{ClientName: p("a"), ClientType: p("public")}); err != nil {
		t.Fatal(err)
	}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		for i := range 1200 { // more than one batch
			if err := store.PutJSON(tx, keyUsed+string(rune('a'+i%26))+time.Duration(i).String(), usedRecord{Expires: now.Add(time.Minute)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("nothing expired yet: pruned %d, %v", n, err)
	}
	now = now.Add(time.Hour)
	if n, err := s.Prune(ctx); err != nil || n != 1200 {
		t.Fatalf("pruned %d, %v; want the 1200 used refresh tokens", n, err)
	}
	var left int
	s.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(keyPrefix, "", func(string, []byte) (bool, error) { left++; return true, nil })
	})
	if left != 1 {
		t.Fatalf("%d records left, want the client", left)
	}
}

// TestDecidedUserCodeNamesNothing: once approved or denied, a user code
// is no longer recorded, so the device page knows it no more than an
// unknown one (BEHAVIOUR 18.2) and it is decided only once.
func TestDecidedUserCodeNamesNothing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := interactive(t, &now)
	ctx := context.Background()
	alice := user(t, s, "alice")
	reg, err := s.RegisterClient(ctx, RegisterClientInput{ClientName: p("cli"), ClientType: p("public")})
	if err != nil {
		t.Fatal(err)
	}
	for _, decide := range []func(code string) error{
		func(code string) error { return s.ApproveDevice(ctx, code, alice.UserID) },
		func(code string) error { return s.DenyDevice(ctx, code) },
	} {
		start, err := s.StartDeviceAuthorization(ctx, StartDeviceAuthorizationInput{ClientId: &reg.ClientID, ClientSecret: &reg.ClientSecret, StartUrl: p(s.Endpoint)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PendingDevice(ctx, start.UserCode); err != nil {
			t.Fatalf("pending before the decision: %v", err)
		}
		if err := decide(start.UserCode); err != nil {
			t.Fatal(err)
		}
		code, ok := normalizeUserCode(start.UserCode)
		if !ok {
			t.Fatalf("user code %q is not one", start.UserCode)
		}
		if err := s.Store.View(ctx, func(r store.Reader) error { _, err := r.Get(keyUser + code); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the decided user code is still recorded: %v", err)
		}
		if _, err := s.PendingDevice(ctx, start.UserCode); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("PendingDevice after the decision: %v", err)
		}
		if err := s.ApproveDevice(ctx, start.UserCode, alice.UserID); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("ApproveDevice after the decision: %v", err)
		}
		if err := s.DenyDevice(ctx, start.UserCode); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("DenyDevice after the decision: %v", err)
		}
	}
}
