package jwtverify

import (
	"encoding/base64"
	"errors"
	"testing"
)

// TestUnverifiedIssuer: iss is read from any compact JWS whose payload
// has a string one; anything else is ErrMalformed.
func TestUnverifiedIssuer(t *testing.T) {
	t.Parallel()
	jws := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	for _, tc := range []struct {
		name, token, want string
	}{
		{"iss", jws(`{"iss":"https://token.example","exp":1767323045}`), "https://token.example"},
		{"no iss", jws(`{"sub":"a"}`), ""},
		{"empty iss", jws(`{"iss":""}`), ""},
		{"iss a number", jws(`{"iss":7}`), ""},
		{"payload not JSON", jws(`iss`), ""},
		{"payload not base64url", "a.b+c.d", ""},
		{"two parts", "a.b", ""},
		{"four parts", "a.b.c.d", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnverifiedIssuer(tc.token)
			if tc.want != "" && (err != nil || got != tc.want) {
				t.Fatalf("UnverifiedIssuer = %q, %v; want %q", got, err, tc.want)
			}
			if tc.want == "" && !errors.Is(err, ErrMalformed) {
				t.Fatalf("UnverifiedIssuer = %q, %v; want ErrMalformed", got, err)
			}
		})
	}
	if got := UnverifiedExpiry(jws(`{"iss":"x","exp":1767323045}`)); got != 1767323045 {
		t.Fatalf("UnverifiedExpiry = %d", got)
	}
	if got := UnverifiedExpiry("a.b"); got != 0 {
		t.Fatalf("UnverifiedExpiry of a non-JWS = %d", got)
	}
}
