package jwtverify

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/idcgate/idcgate/internal/clock"
)

// TestClaimChecks: skew on nbf and iat, claim types and a missing exp are
// each reported for what they are, never as a bad signature.
func TestClaimChecks(t *testing.T) {
	v, s, _ := setup(t)
	cases := []struct {
		name  string
		mod   func(map[string]any)
		want  error
		claim string
	}{
		{"nbf within skew", func(c map[string]any) { c["nbf"] = now.Add(30 * time.Second).Unix() }, nil, ""},
		{"nbf beyond skew", func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() }, ErrNotYet, ""},
		{"iat within skew", func(c map[string]any) { c["iat"] = now.Add(30 * time.Second).Unix() }, nil, ""},
		{"iat beyond skew", func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }, ErrIssuedInFuture, ""},
		{"exp as a string", func(c map[string]any) { c["exp"] = "tomorrow" }, ErrClaimType, "exp"},
		{"nbf as a bool", func(c map[string]any) { c["nbf"] = true }, ErrClaimType, "nbf"},
		{"iss as a number", func(c map[string]any) { c["iss"] = 7 }, ErrClaimType, "iss"},
		{"aud as an object", func(c map[string]any) { c["aud"] = map[string]any{"x": 1} }, ErrClaimType, "aud"},
		{"aud list with a number", func(c map[string]any) { c["aud"] = []any{"demo", 1} }, ErrClaimType, "aud"},
		{"aud list", func(c map[string]any) { c["aud"] = []any{"other", "demo"} }, nil, ""},
		{"missing exp", func(c map[string]any) { delete(c, "exp") }, ErrMissingClaim, "exp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), sign(t, s, claims(tc.mod)), []string{"demo"})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || errors.Is(err, ErrSignature) || errors.Is(err, ErrExpired) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ce *ClaimError
			if tc.claim != "" && (!errors.As(err, &ce) || ce.Claim != tc.claim || ce.Want == "") {
				t.Fatalf("err = %#v, want a ClaimError about %s", err, tc.claim)
			}
		})
	}
}

// TestHMACWithPublicKey is the classic attack: sign HS256 with the issuer's
// RSA public key as the HMAC secret, hoping the verifier uses the key it
// has for whatever algorithm the header names.
func TestHMACWithPublicKey(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	set := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &rk.PublicKey, KeyID: "r1", Use: "sig"}}}
	v := &Verifier{Issuer: "https://idp", Keys: func(context.Context, bool) (*jose.JSONWebKeySet, error) { return set, nil }, Clock: func() time.Time { return now }}

	rs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: rk, KeyID: "r1"}}, nil)
	if _, err := v.Verify(context.Background(), sign(t, rs, claims(nil)), []string{"demo"}); err != nil {
		t.Fatalf("genuine RS256 token refused: %v", err)
	}
	for _, secret := range [][]byte{pemBytes, der} {
		hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: secret, KeyID: "r1"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), sign(t, hs, claims(nil)), []string{"demo"})
		var ae *AlgorithmError
		if !errors.As(err, &ae) || ae.Alg != "HS256" {
			t.Fatalf("HS256 keyed with the public key: %v", err)
		}
	}
}

// jwksServer serves whatever set holds and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	status  int
	fetches atomic.Int32
	gate    chan struct{} // when set, each fetch waits for it
	reached chan struct{} // gets a value as each fetch arrives (when there is room)
}

func newJWKSServer(t *testing.T, set *jose.JSONWebKeySet) *jwksServer {
	j := &jwksServer{set: set, status: http.StatusOK, reached: make(chan struct{}, 1)}
	j.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		select {
		case j.reached <- struct{}{}:
		default:
		}
		j.mu.Lock()
		gate, set, status := j.gate, j.set, j.status
		j.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(j.Close)
	return j
}

func (j *jwksServer) serve(set *jose.JSONWebKeySet, status int) {
	j.mu.Lock()
	j.set, j.status = set, status
	j.mu.Unlock()
}

func rsaKeySet(t *testing.T, kid string) (*jose.JSONWebKeySet, jose.Signer) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}}, s
}

// TestRemoteRotation: an unknown kid refetches the JWKS, at most once per
// MinRefresh; within the TTL known kids need no fetch.
func TestRemoteRotation(t *testing.T) {
	set1, s1 := rsaKeySet(t, "k1")
	set2, s2 := rsaKeySet(t, "k2")
	srv := newJWKSServer(t, set1)
	clk := clock.NewFake(now)
	r := &Remote{Client: srv.Client(), URL: srv.URL, Clock: clk.Now}
	v := &Verifier{Issuer: "https://idp", Keys: r.Keys, Clock: clk.Now}
	verify := func(s jose.Signer) error {
		_, err := v.Verify(context.Background(), sign(t, s, claims(func(c map[string]any) {
			c["iat"], c["nbf"], c["exp"] = clk.Now().Unix(), clk.Now().Unix(), clk.Now().Add(time.Hour).Unix()
		})), []string{"demo"})
		return err
	}
	if err := verify(s1); err != nil {
		t.Fatal(err)
	}
	if err := verify(s1); err != nil || srv.fetches.Load() != 1 {
		t.Fatalf("cached: %v, %d fetches", err, srv.fetches.Load())
	}
	// The IdP rotates to k2. The first k2 token refetches at once (the last
	// fetch is older than MinRefresh)…
	srv.serve(set2, http.StatusOK)
	clk.Advance(DefaultMinRefresh + time.Second)
	if err := verify(s2); err != nil || srv.fetches.Load() != 2 {
		t.Fatalf("after rotation: %v, %d fetches", err, srv.fetches.Load())
	}
	// …and a made-up kid right after does not fetch again.
	_, s3 := rsaKeySet(t, "k3")
	if err := verify(s3); !errors.Is(err, ErrSignature) || srv.fetches.Load() != 2 {
		t.Fatalf("unknown kid within MinRefresh: %v, %d fetches", err, srv.fetches.Load())
	}
	// k1 is gone from the IdP's set now.
	if err := verify(s1); !errors.Is(err, ErrSignature) {
		t.Fatalf("retired key: %v", err)
	}
	// The TTL expires: a known kid refetches once.
	clk.Advance(DefaultTTL)
	if err := verify(s2); err != nil || srv.fetches.Load() != 3 {
		t.Fatalf("after TTL: %v, %d fetches", err, srv.fetches.Load())
	}
}

// TestRemoteFailures: an IdP that cannot be reached is ErrKeys while no
// keys are known; a failed refresh after the TTL keeps the last good keys;
// a failed fetch for an unknown kid is ErrKeys (we cannot tell the key is
// not there).
func TestRemoteFailures(t *testing.T) {
	set1, s1 := rsaKeySet(t, "k1")
	_, s2 := rsaKeySet(t, "k2")
	srv := newJWKSServer(t, set1)
	srv.serve(nil, http.StatusServiceUnavailable)
	clk := clock.NewFake(now)
	r := &Remote{Client: srv.Client(), URL: srv.URL, Clock: clk.Now}
	v := &Verifier{Issuer: "https://idp", Keys: r.Keys, Clock: clk.Now}
	tok1 := sign(t, s1, claims(nil))
	if _, err := v.Verify(context.Background(), tok1, []string{"demo"}); !errors.Is(err, ErrKeys) {
		t.Fatalf("unreachable: %v", err)
	}
	// Within MinRefresh the failure is remembered, not retried.
	if _, err := v.Verify(context.Background(), tok1, []string{"demo"}); !errors.Is(err, ErrKeys) || srv.fetches.Load() != 1 {
		t.Fatalf("rate-limited failure: %v, %d fetches", err, srv.fetches.Load())
	}
	srv.serve(set1, http.StatusOK)
	clk.Advance(DefaultMinRefresh + time.Second)
	if _, err := v.Verify(context.Background(), tok1, []string{"demo"}); err != nil {
		t.Fatalf("IdP back: %v", err)
	}
	srv.serve(nil, http.StatusInternalServerError)
	clk.Advance(DefaultTTL + time.Second)
	if _, err := v.Verify(context.Background(), tok1, []string{"demo"}); err != nil {
		t.Fatalf("stale keys after a failed refresh: %v", err)
	}
	clk.Advance(DefaultMinRefresh + time.Second)
	if _, err := v.Verify(context.Background(), sign(t, s2, claims(nil)), []string{"demo"}); !errors.Is(err, ErrKeys) {
		t.Fatalf("unknown kid while the IdP is down: %v", err)
	}
}

// TestRemoteSingleFlight: concurrent first callers share one fetch, and a
// caller that gives up does not hold the others.
func TestRemoteSingleFlight(t *testing.T) {
	set1, s1 := rsaKeySet(t, "k1")
	srv := newJWKSServer(t, set1)
	gate := make(chan struct{})
	srv.mu.Lock()
	srv.gate = gate
	srv.mu.Unlock()
	r := &Remote{Client: srv.Client(), URL: srv.URL}
	v := &Verifier{Issuer: "https://idp", Keys: r.Keys, Clock: func() time.Time { return now }}
	tok := sign(t, s1, claims(nil))

	// One impatient caller gives up while the fetch is blocked.
	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error, 1)
	go func() { _, err := v.Verify(ctx, tok, []string{"demo"}); impatient <- err }()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), tok, []string{"demo"})
			errs <- err
		}()
	}
	select {
	case <-srv.reached: // the shared fetch is at the server, held by the gate
	case <-time.After(5 * time.Second):
		t.Fatal("no fetch reached the server")
	}
	cancel()
	if err := <-impatient; !errors.Is(err, ErrKeys) {
		t.Fatalf("impatient caller: %v", err)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

// TestRemoteErrorRedactsPassword: fetch errors are logged; a password in the
// JWKS URL must not be.
func TestRemoteErrorRedactsPassword(t *testing.T) {
	srv := newJWKSServer(t, nil)
	srv.serve(nil, http.StatusForbidden)
	u := strings.Replace(srv.URL, "http://", "http://jwks:s3cret@", 1)
	_, err := (&Remote{Client: srv.Client(), URL: u}).Keys(context.Background(), false)
	if !errors.Is(err, ErrKeys) || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("err = %v", err)
	}
}
