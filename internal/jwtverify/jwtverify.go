// Package jwtverify verifies JWTs from trusted token issuers with go-jose:
// signature by a key of the issuer's JWKS (RS256 or ES256 only: never
// "none", never HMAC, so a public key can't be used as an HMAC secret),
// then iss, aud, exp, nbf and iat with a small leeway.
package jwtverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Sentinel errors; each names one reason a token is refused.
var (
	ErrMalformed = errors.New("jwt: malformed or unsupported algorithm")
	ErrSignature = errors.New("jwt: signature not made by a key of the issuer")
	ErrExpired   = errors.New("jwt: expired")
	ErrNotYet    = errors.New("jwt: not yet valid")
	ErrIssuer    = errors.New("jwt: wrong issuer")
	ErrAudience  = errors.New("jwt: audience not accepted")
	ErrKeys      = errors.New("jwt: issuer keys unavailable")
)

// Algorithms is the allow-list.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = time.Minute

// KeySource returns an issuer's current public keys.
type KeySource func(ctx context.Context) (*jose.JSONWebKeySet, error)

// StaticKeys serves a fixed (inline) JWKS.
func StaticKeys(jwks string) (KeySource, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return func(context.Context) (*jose.JSONWebKeySet, error) { return &set, nil }, nil
}

// RemoteKeys fetches a JWKS URL and caches it for ttl.
func RemoteKeys(client *http.Client, url string, ttl time.Duration) KeySource {
	var mu sync.Mutex
	var cached *jose.JSONWebKeySet
	var at time.Time
	return func(ctx context.Context) (*jose.JSONWebKeySet, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil && time.Since(at) < ttl {
			return cached, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeys, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%w: %s answered %d", ErrKeys, url, resp.StatusCode)
		}
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeys, err)
		}
		cached, at = &set, time.Now()
		return cached, nil
	}
}

// Verifier checks tokens of one issuer.
type Verifier struct {
	Issuer string
	Keys   KeySource
	Now    func() time.Time
}

// Verify checks token and returns its claims (all of them, as JSON values).
func (v *Verifier) Verify(ctx context.Context, token string, audiences []string) (map[string]any, error) {
	tok, err := jwt.ParseSigned(token, Algorithms)
	if err != nil || len(tok.Headers) != 1 {
		return nil, ErrMalformed
	}
	set, err := v.Keys(ctx)
	if err != nil {
		return nil, err
	}
	h := tok.Headers[0]
	var std jwt.Claims
	var all map[string]any
	verified := false
	for _, k := range set.Keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		pub := k.Public()
		if pub.Key == nil || (k.Algorithm != "" && k.Algorithm != h.Algorithm) {
			continue
		}
		if err := tok.Claims(pub.Key, &std, &all); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, ErrSignature
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: v.Issuer, AnyAudience: audiences, Time: now}, Leeway)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrExpired):
		return nil, ErrExpired
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, ErrNotYet
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return nil, ErrIssuer
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, ErrAudience
	default:
		return nil, ErrMalformed
	}
	if std.Expiry == nil {
		return nil, ErrExpired
	}
	return all, nil
}
