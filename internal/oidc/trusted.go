package oidc

import (
	"context"
	"errors"

	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/ssoadmin"
)

// ErrIssuerNotAccepted: no trusted token issuer of those accepted has the
// JWT's iss. CreateTokenWithIAM answers it as ErrUnauthorizedClient; the
// gateway's EXT_JWT login as a refusal of its own.
var ErrIssuerNotAccepted = errors.New("oidc: issuer not accepted")

// NoMappedClaimError: the verified JWT has no (string) claim at the
// issuer's claimAttributePath, so it names no user.
type NoMappedClaimError struct{ Path string }

func (e *NoMappedClaimError) Error() string { return "oidc: no " + e.Path + " claim" }

// TrustedJWT is a JWT checked against trusted token issuers: which one, and
// what it says.
type TrustedJWT struct {
	// Iss is the token's (unverified) iss: set once the token parsed.
	Iss string
	// Issuer is the trusted token issuer picked by Iss, and Audiences the
	// audiences accepted of it: set once it was found.
	Issuer    ssoadmin.TrustedTokenIssuer
	Audiences []string
	// Verified is set once the signature and claims verified.
	Verified bool
	Claims   map[string]any
	// User is the directory user the issuer's claim mapping names.
	User *identitycenter.User
}

// VerifyTrustedJWT checks a JWT the way CreateTokenWithIAM checks its
// assertion (BEHAVIOUR 6.2, 6.3): its iss picks, among the accepted
// trusted token issuers, the one whose issuer URL it is; that issuer's
// keys must verify it, with one of the audiences accepted of it; the
// issuer's claim mapping (claimAttributePath to identityStoreAttributePath)
// must name exactly one directory user. The answer is filled as far as the
// checks got. Errors: jwtverify.ErrMalformed for what is not a JWT with an
// iss; ErrIssuerNotAccepted; jwtverify's sentinels (ErrKeys when the
// issuer's keys cannot be fetched); *NoMappedClaimError;
// identitycenter.ErrNoSuchUser or ErrAmbiguousUser; else the store's.
func (s *Service) VerifyTrustedJWT(ctx context.Context, token string, accepted []ssoadmin.AuthorizedTokenIssuer) (TrustedJWT, error) {
	var t TrustedJWT
	iss, err := jwtverify.UnverifiedIssuer(token)
	if err != nil {
		return t, err // jwtverify.ErrMalformed
	}
	t.Iss = iss
	var verifier *jwtverify.Verifier
	for _, a := range accepted {
		if a.TrustedTokenIssuerArn == nil || s.Verifier == nil || s.Apps == nil {
			continue
		}
		tti, err := s.Apps.TrustedTokenIssuer(ctx, *a.TrustedTokenIssuerArn)
		if errors.Is(err, ssoadmin.ErrNotFound) {
			continue // deleted since it was named
		} else if err != nil {
			return t, err
		}
		v, err := s.Verifier(ctx, tti)
		if err != nil {
			return t, err
		}
		if v.Issuer == iss {
			t.Issuer, t.Audiences, verifier = tti, a.AuthorizedAudiences, v
			break
		}
	}
	if verifier == nil {
		return t, ErrIssuerNotAccepted
	}
	claims, err := verifier.Verify(ctx, token, t.Audiences)
	if err != nil {
		return t, err
	}
	t.Verified, t.Claims = true, claims
	value, _ := claimAt(claims, t.Issuer.ClaimAttributePath)
	if value == "" {
		return t, &NoMappedClaimError{Path: t.Issuer.ClaimAttributePath}
	}
	if s.Dir == nil {
		return t, identitycenter.ErrNoSuchUser
	}
	t.User, err = s.Dir.FindUser(ctx, t.Issuer.IdentityStoreAttributePath, value)
	return t, err
}

// JWTFault tells an error of jwtverify's (the token's fault, or its
// issuer's keys out of reach) from the store's and the directory's.
func JWTFault(err error) bool {
	for _, k := range []error{jwtverify.ErrMalformed, jwtverify.ErrAlgorithm, jwtverify.ErrSignature, jwtverify.ErrClaimType,
		jwtverify.ErrMissingClaim, jwtverify.ErrExpired, jwtverify.ErrNotYet, jwtverify.ErrIssuedInFuture, jwtverify.ErrIssuer,
		jwtverify.ErrAudience, jwtverify.ErrKeys} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
