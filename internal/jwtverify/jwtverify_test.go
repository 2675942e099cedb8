package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

var now = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// fixedKey is the same in every process, so that a genuine token seeded in
// one fuzz worker verifies in all of them.
var fixedKey = func() *ecdsa.PrivateKey {
	d := make([]byte, 32)
	d[31] = 7
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		panic(err)
	}
	return k
}()

func setup(t testing.TB) (*Verifier, jose.Signer, *ecdsa.PrivateKey) {
	k := fixedKey
	set := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "ES256"}}}
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, nil)
	return &Verifier{Issuer: "https://idp", Keys: func(context.Context, bool) (*jose.JSONWebKeySet, error) { return set, nil }, Clock: func() time.Time { return now }}, s, k
}

func sign(t testing.TB, s jose.Signer, c map[string]any) string {
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func claims(mod func(map[string]any)) map[string]any {
	c := map[string]any{"iss": "https://idp", "aud": "demo", "sub": "alice", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func TestVerify(t *testing.T) {
	v, s, _ := setup(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	os, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: other, KeyID: "k1"}}, nil)
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	cases := []struct {
		name string
		tok  string
		want error
	}{
		{"valid", sign(t, s, claims(nil)), nil},
		{"unknown key", sign(t, os, claims(nil)), ErrSignature},
		{"expired", sign(t, s, claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })), ErrExpired},
		{"within leeway", sign(t, s, claims(func(c map[string]any) { c["exp"] = now.Add(-30 * time.Second).Unix() })), nil},
		{"not yet valid", sign(t, s, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), ErrNotYet},
		{"wrong issuer", sign(t, s, claims(func(c map[string]any) { c["iss"] = "https://evil" })), ErrIssuer},
		{"wrong audience", sign(t, s, claims(func(c map[string]any) { c["aud"] = "other" })), ErrAudience},
		{"no exp", sign(t, s, claims(func(c map[string]any) { delete(c, "exp") })), ErrMissingClaim},
		{"HMAC refused", sign(t, hs, claims(nil)), ErrAlgorithm},
		{"alg none", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcCJ9.", ErrAlgorithm},
		{"garbage", "a.b.c", ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.tok, []string{"demo"})
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	v, s, _ := setup(f)
	f.Add(sign(f, s, claims(nil)))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(context.Background(), tok, []string{"demo"})
		if err == nil && c["iss"] != "https://idp" {
			t.Fatalf("accepted token with iss %v", c["iss"])
		}
	})
}
