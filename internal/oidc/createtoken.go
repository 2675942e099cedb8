package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/store"
)

// CreateTokenInput is CreateToken's input.
type CreateTokenInput struct {
	ClientId     *string
	ClientSecret *string
	GrantType    *string
	DeviceCode   *string
	Code         *string
	CodeVerifier *string
	RedirectUri  *string
	RefreshToken *string
	// Scope has no effect (the model: a token always has the client's
	// registered scopes).
	Scope []string
}

// CreateTokenOutput is CreateToken's output: no idToken, which AWS does
// not implement for CreateToken.
type CreateTokenOutput struct {
	AccessToken  string
	TokenType    string
	ExpiresIn    int32
	RefreshToken string
}

// CreateToken redeems a device code, an authorization code or a refresh
// token of a registered client for tokens (BEHAVIOUR 18.2, 18.3).
func (s *Service) CreateToken(ctx context.Context, in CreateTokenInput) (CreateTokenOutput, error) {
	c, err := s.authenticateClient(ctx, in.ClientId, in.ClientSecret)
	if err != nil {
		return CreateTokenOutput{}, err
	}
	grant := deref(in.GrantType)
	switch grant {
	case "":
		return CreateTokenOutput{}, fail(ErrInvalidRequest, "grantType is required.")
	case GrantDeviceCode, GrantAuthorizationCode, GrantRefreshToken:
	default:
		return CreateTokenOutput{}, fail(ErrUnsupportedGrantType, "Grant type %s is not supported by CreateToken.", printable(grant))
	}
	if !slices.Contains(c.GrantTypes, grant) {
		return CreateTokenOutput{}, fail(ErrUnauthorizedClient, "The client is not registered for the %s grant.", grant)
	}
	switch grant {
	case GrantDeviceCode:
		return s.redeemDevice(ctx, c, deref(in.DeviceCode))
	case GrantAuthorizationCode:
		return s.redeemCode(ctx, c, in)
	default:
		return s.refresh(ctx, c, deref(in.RefreshToken))
	}
}

// redeemDevice is one poll of a device authorization: pending (or too
// soon: slow_down), denied, expired, or approved and redeemed once.
func (s *Service) redeemDevice(ctx context.Context, c clientRecord, deviceCode string) (CreateTokenOutput, error) {
	if deviceCode == "" {
		return CreateTokenOutput{}, fail(ErrInvalidRequest, "deviceCode is required for the device code grant.")
	}
	if len(deviceCode) > maxRequestValue {
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "Invalid device code provided.")
	}
	now := s.Clock.Now()
	var d deviceRecord
	// The poll is recorded (LastPoll, or the redemption) in a transaction
	// that commits; the refusal it leads to is returned after it.
	var refusal error
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		refusal = nil
		key := hashKey(keyDevices, deviceCode)
		err := store.GetJSON(tx, key, &d)
		switch {
		case errors.Is(err, store.ErrNotFound):
			refusal = fail(ErrInvalidGrant, "Invalid device code provided.")
			return nil
		case err != nil:
			return err
		case d.ClientID != c.ClientID:
			refusal = fail(ErrInvalidGrant, "Invalid device code provided.")
			return nil
		case !now.Before(d.Expires):
			refusal = fail(ErrExpiredToken, "The device code has expired.")
			return nil
		}
		switch d.State {
		case devicePending:
			if !d.LastPoll.IsZero() && now.Sub(d.LastPoll) < d.Interval {
				refusal = fail(ErrSlowDown, "Client is polling too fast: wait at least %v between polls.", d.Interval)
			} else {
				refusal = fail(ErrAuthorizationPending, "Authorization is pending: the user has not approved the request yet.")
			}
			d.LastPoll = now
			return store.PutJSON(tx, key, d)
		case deviceDenied:
			refusal = fail(ErrAccessDenied, "The user denied the authorization request.")
			return nil
		case deviceRedeemed:
			refusal = fail(ErrInvalidGrant, "The device code has already been redeemed.")
			return nil
		}
		// Approved: redeemed now, once; kept as redeemed until it expires
		// so a second use is told so.
		d.State = deviceRedeemed
		return store.PutJSON(tx, key, d)
	})
	if err != nil {
		return CreateTokenOutput{}, err
	}
	if refusal != nil {
		return CreateTokenOutput{}, refusal
	}
	return s.issueInteractive(ctx, c, d.UserID, d.Scopes, now.Add(SessionTTL), now)
}

// redeemCode redeems an authorization code: one use (a second is
// invalid_grant), within its lifetime, by the client it was issued to,
// with the same redirect URI and the PKCE verifier of its challenge.
func (s *Service) redeemCode(ctx context.Context, c clientRecord, in CreateTokenInput) (CreateTokenOutput, error) {
	code, verifier, redirect := deref(in.Code), deref(in.CodeVerifier), deref(in.RedirectUri)
	switch {
	case code == "":
		return CreateTokenOutput{}, fail(ErrInvalidRequest, "code is required for the authorization_code grant.")
	case verifier == "":
		return CreateTokenOutput{}, fail(ErrInvalidRequest, "codeVerifier is required for the authorization_code grant.")
	case redirect == "":
		return CreateTokenOutput{}, fail(ErrInvalidRequest, "redirectUri is required for the authorization_code grant.")
	case len(code) > maxRequestValue:
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "Invalid authorization code provided.")
	}
	now := s.Clock.Now()
	var rec codeRecord
	found := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		key := hashKey(keyCodes, code)
		err := store.GetJSON(tx, key, &rec)
		if errors.Is(err, store.ErrNotFound) {
			found = false
			return nil
		} else if err != nil {
			return err
		}
		found = true
		// Consumed by this attempt whatever its outcome: a code is tried
		// once, so its verifier cannot be guessed at leisure.
		return tx.Delete(key)
	})
	if err != nil {
		return CreateTokenOutput{}, err
	}
	switch {
	case !found || rec.ClientID != c.ClientID:
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "Invalid authorization code provided: it is unknown, already used, or another client's.")
	case !now.Before(rec.Expires):
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "The authorization code has expired.")
	case rec.RedirectURI != redirect:
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "redirectUri does not match the redirect URI of the authorization request.")
	case !pkceMatches(verifier, rec.Challenge):
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "The codeVerifier does not match the code challenge of the authorization request.")
	}
	return s.issueInteractive(ctx, c, rec.UserID, rec.Scopes, now.Add(SessionTTL), now)
}

// pkceMatches: S256 (RFC 7636 4.6), the only method /authorize accepts.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	h := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(h[:])), []byte(challenge)) == 1
}

// refresh redeems a refresh token once (they rotate: the answer carries
// the next one, and the sign-in's end stays where it was).
func (s *Service) refresh(ctx context.Context, c clientRecord, token string) (CreateTokenOutput, error) {
	if token == "" {
		return CreateTokenOutput{}, fail(ErrInvalidRequest, "refreshToken is required for the refresh_token grant.")
	}
	var rc refreshClaims
	if err := s.Tokens.Open(token, &rc); err != nil || rc.Kind != "refresh" || rc.ClientID != c.ClientID || rc.ID == "" {
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "Invalid refresh token provided.")
	}
	now := s.Clock.Now()
	if !now.Before(rc.Expires) {
		return CreateTokenOutput{}, fail(ErrExpiredToken, "The refresh token has expired; sign in again.")
	}
	used := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Get(keyUsed + rc.ID)
		if err == nil {
			used = true
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		used = false
		return store.PutJSON(tx, keyUsed+rc.ID, usedRecord{Expires: rc.Expires})
	})
	if err != nil {
		return CreateTokenOutput{}, err
	}
	if used {
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "The refresh token has already been used; refresh tokens are used once.")
	}
	return s.issueInteractive(ctx, c, rc.UserID, rc.Scope, rc.Expires, now)
}

// issueInteractive issues a public client's tokens for a user: she must
// still exist, and when the client is entitled to an application, that
// application must still admit her (enabled; assigned when it requires
// assignment). The refresh token is issued only to a client registered
// for the refresh grant.
func (s *Service) issueInteractive(ctx context.Context, c clientRecord, userID string, scopes []string, sessionEnd, now time.Time) (CreateTokenOutput, error) {
	if s.Dir == nil {
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "There is no directory to sign in to.")
	}
	user, err := s.Dir.UserByID(ctx, userID)
	if errors.Is(err, identitycenter.ErrNoSuchUser) {
		return CreateTokenOutput{}, fail(ErrInvalidGrant, "The user of this sign-in no longer exists.")
	} else if err != nil {
		return CreateTokenOutput{}, err
	}
	if c.EntitledApplicationArn != "" {
		app, err := s.application(ctx, c.EntitledApplicationArn, ErrInvalidClient)
		if err != nil {
			return CreateTokenOutput{}, err
		}
		if err := s.checkAssignment(ctx, &app, user); err != nil {
			return CreateTokenOutput{}, err
		}
	}
	expires := now.Add(AccessTokenTTL)
	if sessionEnd.Before(expires) {
		expires = sessionEnd
	}
	expires = expires.Truncate(time.Second)
	access, err := s.Tokens.Seal(refreshClaims{UserID: user.UserID, App: c.EntitledApplicationArn, Scope: scopes, Expires: expires,
		Kind: "access", ClientID: c.ClientID})
	if err != nil {
		return CreateTokenOutput{}, err
	}
	out := CreateTokenOutput{AccessToken: access, TokenType: "Bearer", ExpiresIn: int32(expires.Sub(now.Truncate(time.Second)) / time.Second)}
	if slices.Contains(c.GrantTypes, GrantRefreshToken) {
		if out.RefreshToken, err = s.Tokens.Seal(refreshClaims{UserID: user.UserID, App: c.EntitledApplicationArn, Scope: scopes,
			Expires: sessionEnd, Kind: "refresh", ClientID: c.ClientID, ID: randomText(16)}); err != nil {
			return CreateTokenOutput{}, err
		}
	}
	return out, nil
}
