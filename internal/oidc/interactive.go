package oidc

import (
	"context"
	"time"
)

// Client is a client registered with RegisterClient.
type Client struct {
	ClientID, ClientName, ClientType  string
	Scopes, RedirectURIs, GrantTypes  []string
	IssuerURL, EntitledApplicationArn string
	IssuedAt, SecretExpiresAt         time.Time
}

// AuthorizeRequest is what GET /authorize received (query parameters, already split).
type AuthorizeRequest struct {
	ClientID, RedirectURI, State, CodeChallenge, CodeChallengeMethod string
	Scopes                                                           []string
}

// DeviceRequest is a pending device authorization, as the device page shows it.
type DeviceRequest struct {
	UserCode   string
	ClientName string
	Scopes     []string
	ExpiresAt  time.Time
}

// CheckAuthorize validates an /authorize request before anyone signs in: the
// client exists and has not expired, the redirect URI is one it registered
// (exact match; loopback http redirect URIs may differ in port, as RFC 8252
// 7.3 allows), the method is S256 with a challenge, the scopes are the
// client's. Errors are *apierror.Error with the oidc sentinels.
func (s *Service) CheckAuthorize(ctx context.Context, r AuthorizeRequest) (Client, error) {
	return Client{}, fail(ErrInvalidClient, "Not built yet.")
}

// IssueAuthorizationCode records that user userID allowed the request and
// returns the one-time code (short-lived, bound to client, redirect URI,
// PKCE challenge, scopes, user).
func (s *Service) IssueAuthorizationCode(ctx context.Context, r AuthorizeRequest, userID string) (string, error) {
	return "", fail(ErrInvalidClient, "Not built yet.")
}

// PendingDevice finds the pending device authorization a user code names
// (codes are compared case-insensitively and without the dash). Unknown:
// ErrInvalidRequest; expired: ErrExpiredToken.
func (s *Service) PendingDevice(ctx context.Context, userCode string) (DeviceRequest, error) {
	return DeviceRequest{}, fail(ErrInvalidRequest, "Not built yet.")
}

// ApproveDevice records that the user signed in as userID allowed the
// device authorization; the polling CreateToken then gets its tokens.
func (s *Service) ApproveDevice(ctx context.Context, userCode, userID string) error {
	return fail(ErrInvalidRequest, "Not built yet.")
}

// DenyDevice records that the user denied the device authorization; the
// polling CreateToken then gets AccessDeniedException.
func (s *Service) DenyDevice(ctx context.Context, userCode string) error {
	return fail(ErrInvalidRequest, "Not built yet.")
}
