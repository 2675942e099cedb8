package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.yaml.in/yaml/v3"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestTrustedIssuerJWKSRedirect: a jwksUrl that redirects to another
// origin does not make that origin's keys trusted (a token signed by a key
// served only there used to be accepted): the keys cannot be retrieved, so
// CreateTokenWithIAM answers InternalServerException and the other origin
// is never asked. A redirect within the origin is followed.
func TestTrustedIssuerJWKSRedirect(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	good, evil := imNewKey(t, "good-1", jose.ES256), imNewKey(t, "evil-1", jose.ES256)
	elsewhere := imNewJWKS(t, evil)
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{good.jwk()}})
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/jwks", http.StatusFound) })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/jwks", http.StatusFound)
	})
	idp := httptest.NewServer(mux)
	t.Cleanup(idp.Close)
	const awayIssuer, movedIssuer = "https://away.corp.example", "https://moved.corp.example"
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: func(c *config.Config) {
		ic := c.IdentityCenter
		ic.TrustedTokenIssuers = append(ic.TrustedTokenIssuers,
			config.TrustedTokenIssuer{Name: "corp-away", IssuerURL: awayIssuer, JWKSURL: idp.URL + "/away", ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"},
			config.TrustedTokenIssuer{Name: "corp-moved", IssuerURL: movedIssuer, JWKSURL: idp.URL + "/moved", ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"},
		)
		ic.Applications = append(ic.Applications, config.Application{Arn: imCorpApp, Name: "corp", Grants: []config.Grant{
			{Issuer: "corp-away", Audiences: []string{imCorpAudience}},
			{Issuer: "corp-moved", Audiences: []string{imCorpAudience}},
		}})
	}})

	_, err := imExchange(srv, evil.sign(t, imClaims(clk, awayIssuer, nil)))
	imWantOAuth(t, err, "InternalServerException", 500, "server_error",
		"The keys of trusted token issuer corp-away could not be retrieved; try again later.")
	if n := elsewhere.fetches.Load(); n != 0 {
		t.Fatalf("the redirect's target was asked %d times", n)
	}

	out, err := imExchange(srv, good.sign(t, imClaims(clk, movedIssuer, nil)))
	if err != nil {
		t.Fatalf("same-origin redirect: %v", err)
	}
	if imUserOf(t, out) != imUserID(t, srv, "alice") {
		t.Fatal("same-origin redirect: the token mapped to another user")
	}
}

// TestTrustedIssuerClaimMatching: how a trusted token issuer's claim finds
// its user. emails.value ignores ASCII case and nothing else (the Kelvin
// sign K, U+212A, used to match k under Unicode folding, so a claim
// "\u212Aate@…" signed by the IdP was kate's token); userName is exact.
func TestTrustedIssuerClaimMatching(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	key := imNewKey(t, "inline-1", jose.ES256)
	set := key.inlineJWKS(t)
	const emailIssuer, nameIssuer = "https://email.corp.example", "https://name.corp.example"
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: func(c *config.Config) {
		ic := c.IdentityCenter
		ic.Users = append(ic.Users,
			config.DirectoryUser{UserName: "kate", Emails: []string{"kate@example.com"}},
			config.DirectoryUser{UserName: "\u212Aelvin", Emails: []string{"\u212Aelvin@example.com"}},
		)
		ic.TrustedTokenIssuers = append(ic.TrustedTokenIssuers,
			config.TrustedTokenIssuer{Name: "corp-email", IssuerURL: emailIssuer, JWKS: set, ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"},
			config.TrustedTokenIssuer{Name: "corp-name", IssuerURL: nameIssuer, JWKS: set, ClaimAttributePath: "preferred_username", IdentityStoreAttributePath: "userName"},
		)
		ic.Applications = append(ic.Applications, config.Application{Arn: imCorpApp, Name: "corp", Grants: []config.Grant{
			{Issuer: "corp-email", Audiences: []string{imCorpAudience}},
			{Issuer: "corp-name", Audiences: []string{imCorpAudience}},
		}})
	}})
	kate, kelvin := imUserID(t, srv, "kate"), imUserID(t, srv, "\u212Aelvin")
	const (
		noEmail = "No user in identity store d-9067a1b2c3 has emails.value equal to the assertion's email claim."
		noName  = "No user in identity store d-9067a1b2c3 has userName equal to the assertion's preferred_username claim."
	)
	cases := []struct {
		name, iss, claim, value string
		user, desc              string
	}{
		{"email", emailIssuer, "email", "kate@example.com", kate, ""},
		{"email in other ASCII case", emailIssuer, "email", "KATE@Example.COM", kate, ""},
		{"kelvin sign for k", emailIssuer, "email", "\u212Aate@example.com", "", noEmail},
		{"k for kelvin sign", emailIssuer, "email", "kelvin@example.com", "", noEmail},
		{"kelvin sign exact", emailIssuer, "email", "\u212Aelvin@example.com", kelvin, ""},
		{"userName", nameIssuer, "preferred_username", "kate", kate, ""},
		{"userName in other case", nameIssuer, "preferred_username", "Kate", "", noName},
		{"userName with kelvin sign", nameIssuer, "preferred_username", "\u212Aate", "", noName},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := imExchange(srv, key.sign(t, imClaims(clk, tc.iss, func(c map[string]any) { c[tc.claim] = tc.value })))
			if tc.user == "" {
				imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant", tc.desc)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := imUserOf(t, out); got != tc.user {
				t.Fatalf("mapped to user %s, want %s", got, tc.user)
			}
		})
	}
}

// TestDirectoryDuplicatesRefused: two users whose emails differ only in
// case (a claim matched either, at random) or whose user names do are
// refused when the server starts, in one message naming both users.
func TestDirectoryDuplicatesRefused(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(testserver.ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	bin := idcgateBinary(t)
	cases := []struct {
		name string
		user config.DirectoryUser
		want string
	}{
		{"email differing in case", config.DirectoryUser{UserName: "alice2", Emails: []string{"Alice@Example.com"}},
			`identityCenter.users[3].emails[0] "Alice@Example.com": already an email of identityCenter.users[0] ("alice"); email addresses are unique in an identity store, ignoring case`},
		{"userName differing in case", config.DirectoryUser{UserName: "ALICE", Emails: []string{"other@example.com"}},
			`identityCenter.users[3].userName "ALICE": already the userName of identityCenter.users[0] ("alice"); user names are unique in an identity store, ignoring case`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			ic := doc["identityCenter"].(map[string]any)
			ic["users"] = append(ic["users"].([]any), map[string]any{"userName": tc.user.UserName, "emails": tc.user.Emails})
			out, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "dup.yaml")
			if err := os.WriteFile(path, out, 0o600); err != nil {
				t.Fatal(err)
			}
			// A server that does start (the defect) must fail the test, not hang it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--config", path, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0", "--pg-upstream", "none")
			got, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(got), tc.want) {
				t.Fatalf("serve with a duplicate: %v\n%s\nwant a line with %s", err, got, tc.want)
			}
		})
	}
}
