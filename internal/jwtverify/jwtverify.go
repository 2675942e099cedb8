// Package jwtverify verifies JWTs from trusted token issuers with go-jose:
// signature by a key of the issuer's JWKS (RS256 or ES256 only: never
// "none", never HMAC, so a public key can't be used as an HMAC secret),
// then the types of the registered claims, then iss, aud, exp, nbf and iat
// with a small leeway.
package jwtverify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcgate/idcgate/internal/clock"
)

// Sentinel errors; each names one reason a token is refused.
var (
	ErrMalformed      = errors.New("jwt: malformed")
	ErrAlgorithm      = errors.New("jwt: algorithm not allowed")
	ErrSignature      = errors.New("jwt: signature not made by a key of the issuer")
	ErrClaimType      = errors.New("jwt: claim has the wrong type")
	ErrMissingClaim   = errors.New("jwt: required claim missing")
	ErrExpired        = errors.New("jwt: expired")
	ErrNotYet         = errors.New("jwt: not yet valid")
	ErrIssuedInFuture = errors.New("jwt: issued in the future")
	ErrIssuer         = errors.New("jwt: wrong issuer")
	ErrAudience       = errors.New("jwt: audience not accepted")
	ErrKeys           = errors.New("jwt: issuer keys unavailable")
)

// ClaimError says which claim an ErrClaimType or ErrMissingClaim is about.
type ClaimError struct {
	Kind  error
	Claim string
	// Want is the JSON type the claim must have ("a number", "a string", …).
	Want string
}

func (e *ClaimError) Error() string { return e.Kind.Error() + ": " + e.Claim }
func (e *ClaimError) Unwrap() error { return e.Kind }

// AlgorithmError names the refused "alg" of the token's header.
type AlgorithmError struct{ Alg string }

func (e *AlgorithmError) Error() string { return ErrAlgorithm.Error() + ": " + e.Alg }
func (e *AlgorithmError) Unwrap() error { return ErrAlgorithm }

// Algorithms is the allow-list.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = time.Minute

// KeySource returns an issuer's public keys. refresh asks for a fresher copy
// than the one last returned, because the token names a key that copy lacks
// (the IdP may have rotated); a source may answer with the same copy.
type KeySource func(ctx context.Context, refresh bool) (*jose.JSONWebKeySet, error)

// StaticKeys serves a fixed (inline) JWKS.
func StaticKeys(jwks string) (KeySource, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return func(context.Context, bool) (*jose.JSONWebKeySet, error) { return &set, nil }, nil
}

// Verifier checks tokens of one issuer.
type Verifier struct {
	Issuer string
	Keys   KeySource
	Clock  clock.Clock
}

// Verify checks token and returns its claims (all of them, as JSON values).
func (v *Verifier) Verify(ctx context.Context, token string, audiences []string) (map[string]any, error) {
	if err := checkAlgorithm(token); err != nil {
		return nil, err
	}
	tok, err := jwt.ParseSigned(token, Algorithms)
	if err != nil || len(tok.Headers) != 1 {
		return nil, ErrMalformed
	}
	h := tok.Headers[0]
	set, err := v.Keys(ctx, false)
	if err != nil {
		return nil, err
	}
	verified := verifySignature(tok, h, set)
	if !verified && (h.KeyID == "" || len(set.Key(h.KeyID)) == 0) {
		// An unknown kid may be a key the IdP rotated in since we fetched.
		if set, err = v.Keys(ctx, true); err != nil {
			return nil, err
		}
		verified = verifySignature(tok, h, set)
	}
	if !verified {
		return nil, ErrSignature
	}
	// The signature is good: from here on a problem is the claims', never
	// the signature's.
	var all map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&all); err != nil || all == nil {
		return nil, ErrMalformed
	}
	if err := checkClaimTypes(all); err != nil {
		return nil, err
	}
	if _, ok := all["exp"]; !ok {
		return nil, &ClaimError{Kind: ErrMissingClaim, Claim: "exp", Want: "a number"}
	}
	var std jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&std); err != nil {
		return nil, ErrMalformed // checkClaimTypes makes this unreachable
	}
	now := v.Clock.Now()
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: v.Issuer, AnyAudience: audiences, Time: now}, Leeway)
	switch {
	case err == nil:
		return all, nil
	case errors.Is(err, jwt.ErrExpired):
		return nil, ErrExpired
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, ErrNotYet
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, ErrIssuedInFuture
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return nil, ErrIssuer
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, ErrAudience
	default:
		return nil, ErrMalformed
	}
}

// checkAlgorithm reads the header's alg before go-jose does, so a refused
// algorithm (none, HS256 keyed with a public key, …) is reported as such.
func checkAlgorithm(token string) error {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return ErrMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ErrMalformed
	}
	var h struct {
		Alg any `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return ErrMalformed
	}
	alg, ok := h.Alg.(string)
	if !ok {
		return ErrMalformed
	}
	if !slices.Contains(Algorithms, jose.SignatureAlgorithm(alg)) {
		return &AlgorithmError{Alg: alg}
	}
	return nil
}

// verifySignature tries the set's keys that may have signed tok: the one
// with its kid (all when it has none), usable for signing with its alg.
func verifySignature(tok *jwt.JSONWebToken, h jose.Header, set *jose.JSONWebKeySet) bool {
	for _, k := range set.Keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if (k.Algorithm != "" && k.Algorithm != h.Algorithm) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub := k.Public()
		if pub.Key == nil {
			continue
		}
		if tok.Claims(pub.Key) == nil {
			return true
		}
	}
	return false
}

// checkClaimTypes checks the registered claims' JSON types (RFC 7519 4.1).
func checkClaimTypes(c map[string]any) error {
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := c[name]; ok {
			if _, isNum := v.(float64); !isNum {
				return &ClaimError{Kind: ErrClaimType, Claim: name, Want: "a number"}
			}
		}
	}
	for _, name := range []string{"iss", "sub", "jti"} {
		if v, ok := c[name]; ok {
			if _, isStr := v.(string); !isStr {
				return &ClaimError{Kind: ErrClaimType, Claim: name, Want: "a string"}
			}
		}
	}
	if v, ok := c["aud"]; ok {
		switch a := v.(type) {
		case string:
		case []any:
			for _, e := range a {
				if _, isStr := e.(string); !isStr {
					return &ClaimError{Kind: ErrClaimType, Claim: "aud", Want: "a string or an array of strings"}
				}
			}
		default:
			return &ClaimError{Kind: ErrClaimType, Claim: "aud", Want: "a string or an array of strings"}
		}
	}
	return nil
}

// UnverifiedIssuer reads a compact JWS's iss without verifying anything:
// it only chooses whose keys verify the token next.
func UnverifiedIssuer(token string) (string, error) {
	var c struct {
		Iss any `json:"iss"`
	}
	if err := unverifiedClaims(token, &c); err != nil {
		return "", err
	}
	iss, ok := c.Iss.(string)
	if !ok || iss == "" {
		return "", ErrMalformed
	}
	return iss, nil
}

// UnverifiedExpiry reads a token's exp (0 when it has none), for the
// message of a token already found expired.
func UnverifiedExpiry(token string) int64 {
	var c struct {
		Exp float64 `json:"exp"`
	}
	if unverifiedClaims(token, &c) != nil {
		return 0
	}
	return int64(c.Exp)
}

func unverifiedClaims(token string, v any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ErrMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ErrMalformed
	}
	if err := json.Unmarshal(b, v); err != nil {
		return ErrMalformed
	}
	return nil
}
