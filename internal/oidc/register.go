package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/store"
)

// RegisterClientInput is RegisterClient's input.
type RegisterClientInput struct {
	ClientName             *string
	ClientType             *string
	Scopes                 []string
	RedirectUris           []string
	GrantTypes             []string
	IssuerUrl              *string
	EntitledApplicationArn *string
}

// RegisterClientOutput is RegisterClient's output.
type RegisterClientOutput struct {
	ClientID, ClientSecret  string
	IssuedAt, SecretExpires time.Time
}

// Bounds on what a client registers (the model gives none; these keep a
// record small and a page readable).
const (
	maxClientName   = 256
	maxListed       = 25
	maxScopeLen     = 256
	maxRedirectURI  = 2048
	maxRequestValue = 2048
)

// defaultGrantTypes: a client registered without grantTypes (the AWS CLI's
// device flow registers so) may use the device code and refresh grants.
var defaultGrantTypes = []string{GrantDeviceCode, GrantRefreshToken}

var knownGrantTypes = []string{GrantAuthorizationCode, GrantDeviceCode, GrantRefreshToken}

// RegisterClient registers a public client (BEHAVIOUR 18.1).
func (s *Service) RegisterClient(ctx context.Context, in RegisterClientInput) (RegisterClientOutput, error) {
	st, err := s.store()
	if err != nil {
		return RegisterClientOutput{}, err
	}
	name := deref(in.ClientName)
	switch {
	case name == "":
		return RegisterClientOutput{}, fail(ErrInvalidRequest, "clientName is required.")
	case len(name) > maxClientName || printable(name) != name:
		return RegisterClientOutput{}, fail(ErrInvalidClientMetadata, "clientName must be at most %d printable characters.", maxClientName)
	case deref(in.ClientType) == "":
		return RegisterClientOutput{}, fail(ErrInvalidRequest, "clientType is required.")
	case deref(in.ClientType) != "public":
		return RegisterClientOutput{}, fail(ErrInvalidClientMetadata, "Only the public client type is supported.")
	case len(in.Scopes) > maxListed || len(in.RedirectUris) > maxListed || len(in.GrantTypes) > maxListed:
		return RegisterClientOutput{}, fail(ErrInvalidClientMetadata, "At most %d scopes, redirect URIs and grant types each.", maxListed)
	}
	grants := in.GrantTypes
	if len(grants) == 0 {
		grants = defaultGrantTypes
	}
	for _, g := range grants {
		if !slices.Contains(knownGrantTypes, g) {
			return RegisterClientOutput{}, fail(ErrUnsupportedGrantType, "Grant type %s is not supported; use authorization_code, %s or refresh_token.", printable(g), GrantDeviceCode)
		}
	}
	for _, sc := range in.Scopes {
		if sc == "" || len(sc) > maxScopeLen || strings.ContainsAny(sc, " \t\r\n") || printable(sc) != sc {
			return RegisterClientOutput{}, fail(ErrInvalidScope, "Scope %s is not a valid scope.", printable(sc))
		}
	}
	for _, u := range in.RedirectUris {
		if err := checkRedirectURI(u); err != nil {
			return RegisterClientOutput{}, err
		}
	}
	if slices.Contains(grants, GrantAuthorizationCode) && len(in.RedirectUris) == 0 {
		return RegisterClientOutput{}, fail(ErrInvalidRedirectURI, "The authorization_code grant needs at least one redirect URI.")
	}
	if in.IssuerUrl != nil && !s.namesInstance(*in.IssuerUrl) {
		return RegisterClientOutput{}, fail(ErrInvalidRequest, "issuerUrl %s does not name this Identity Center instance.", printable(*in.IssuerUrl))
	}
	if app := deref(in.EntitledApplicationArn); app != "" {
		if err := s.checkEntitlement(ctx, app, in.Scopes, in.RedirectUris); err != nil {
			return RegisterClientOutput{}, err
		}
	} else if in.EntitledApplicationArn != nil {
		return RegisterClientOutput{}, fail(ErrInvalidRequest, "entitledApplicationArn must not be empty.")
	}

	now := s.Clock.Now().Truncate(time.Second)
	region := s.Region
	if region == "" {
		region = "us-east-1"
	}
	c := Client{
		// AWS's client ids are random base64url text followed by the
		// region, base64url too.
		ClientID: randomText(16) + base64.RawURLEncoding.EncodeToString([]byte(region)), ClientName: name, ClientType: "public",
		Scopes: slices.Clone(in.Scopes), RedirectURIs: slices.Clone(in.RedirectUris), GrantTypes: slices.Clone(grants),
		IssuerURL: deref(in.IssuerUrl), EntitledApplicationArn: deref(in.EntitledApplicationArn),
		IssuedAt: now, SecretExpiresAt: now.Add(ClientTTL),
	}
	secret := "aoas" + randomText(48)
	rec := clientRecord{Client: c, SecretHash: secretHash(secret), Expires: c.SecretExpiresAt}
	if err := st.Update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, keyClients+c.ClientID, rec) }); err != nil {
		return RegisterClientOutput{}, err
	}
	return RegisterClientOutput{ClientID: c.ClientID, ClientSecret: secret, IssuedAt: c.IssuedAt, SecretExpires: c.SecretExpiresAt}, nil
}

// checkRedirectURI: an absolute https URI, or http to a loopback address
// (a native client's listener, RFC 8252 7.3), without a fragment (RFC 6749
// 3.1.2).
func checkRedirectURI(u string) error {
	p, err := url.Parse(u)
	switch {
	case len(u) > maxRedirectURI || err != nil || !p.IsAbs() || p.Host == "":
		return fail(ErrInvalidRedirectURI, "Redirect URI %s is not an absolute URI.", printable(u))
	case p.Fragment != "" || strings.Contains(u, "#"):
		return fail(ErrInvalidRedirectURI, "Redirect URI %s must not have a fragment.", printable(u))
	case p.Scheme == "https":
		return nil
	case p.Scheme == "http" && isLoopback(p.Hostname()):
		return nil
	}
	return fail(ErrInvalidRedirectURI, "Redirect URI %s must use https, or http to a loopback address.", printable(u))
}

// checkEntitlement: the application must exist (and be enabled); the
// client's scopes must be its access scopes (or the OpenID ones), and when
// its authorization_code grant lists redirect URIs, the client's must be
// among them.
func (s *Service) checkEntitlement(ctx context.Context, arn string, scopes, redirects []string) error {
	if len(arn) > MaxClientID {
		return fail(ErrInvalidRequest, "entitledApplicationArn must be at most %d characters.", MaxClientID)
	}
	app, err := s.application(ctx, arn, ErrInvalidRequest)
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		if !scopeAllowed(&app, sc) {
			return fail(ErrInvalidScope, "Scope %s is not an access scope of application %s.", printable(sc), app.ApplicationArn)
		}
	}
	if g, ok := app.Grants[GrantAuthorizationCode]; ok && len(g.RedirectUris) > 0 {
		for _, u := range redirects {
			if !redirectAllowed(g.RedirectUris, u) {
				return fail(ErrInvalidRedirectURI, "Redirect URI %s is not one application %s allows.", printable(u), app.ApplicationArn)
			}
		}
	}
	return nil
}

// namesInstance: a startUrl or issuerUrl names this instance when it is
// idcgate's own endpoint (any path), or the access portal URL AWS gives
// the instance: https://<instance id or identity store id>.awsapps.com/start.
func (s *Service) namesInstance(raw string) bool {
	if len(raw) > maxRequestValue {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if e, err := url.Parse(s.Endpoint); err == nil && e.Host != "" &&
		strings.EqualFold(u.Scheme, e.Scheme) && strings.EqualFold(u.Host, e.Host) {
		return true
	}
	if s.Dir == nil || !strings.EqualFold(u.Scheme, "https") {
		return false
	}
	sub, ok := strings.CutSuffix(strings.ToLower(u.Host), ".awsapps.com")
	if !ok {
		return false
	}
	instanceID := s.Dir.InstanceArn[strings.LastIndex(s.Dir.InstanceArn, "/")+1:]
	if sub != strings.ToLower(instanceID) && sub != strings.ToLower(s.Dir.IdentityStoreID) {
		return false
	}
	return u.Path == "/start" || u.Path == "/start/"
}

// StartDeviceAuthorizationInput is StartDeviceAuthorization's input.
type StartDeviceAuthorizationInput struct {
	ClientId     *string
	ClientSecret *string
	StartUrl     *string
}

// StartDeviceAuthorizationOutput is its output.
type StartDeviceAuthorizationOutput struct {
	DeviceCode, UserCode, VerificationURI, VerificationURIComplete string
	ExpiresIn, Interval                                            int32
}

// StartDeviceAuthorization starts a device authorization (BEHAVIOUR 18.2):
// a device code for the client to poll with, a user code for the person to
// type at verificationUri.
func (s *Service) StartDeviceAuthorization(ctx context.Context, in StartDeviceAuthorizationInput) (StartDeviceAuthorizationOutput, error) {
	c, err := s.authenticateClient(ctx, in.ClientId, in.ClientSecret)
	if err != nil {
		return StartDeviceAuthorizationOutput{}, err
	}
	if deref(in.StartUrl) == "" {
		return StartDeviceAuthorizationOutput{}, fail(ErrInvalidRequest, "startUrl is required.")
	}
	if !s.namesInstance(*in.StartUrl) {
		return StartDeviceAuthorizationOutput{}, fail(ErrInvalidRequest, "startUrl %s does not name this Identity Center instance.", printable(*in.StartUrl))
	}
	if !slices.Contains(c.GrantTypes, GrantDeviceCode) {
		return StartDeviceAuthorizationOutput{}, fail(ErrUnauthorizedClient, "The client is not registered for the device code grant.")
	}
	now := s.Clock.Now()
	deviceCode := randomText(48)
	d := deviceRecord{ClientID: c.ClientID, ClientName: c.ClientName, Scopes: c.Scopes, State: devicePending,
		Interval: DeviceInterval, Expires: now.Add(DeviceCodeTTL)}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		// A fresh user code: one still pending is never given twice.
		for range 10 {
			code := newUserCode()
			if _, err := tx.Get(keyUser + code); errors.Is(err, store.ErrNotFound) {
				d.UserCode = code
				break
			} else if err != nil {
				return err
			}
		}
		if d.UserCode == "" {
			return errors.New("oidc: no free user code after 10 tries")
		}
		key := hashKey(keyDevices, deviceCode)
		if err := store.PutJSON(tx, key, d); err != nil {
			return err
		}
		return store.PutJSON(tx, keyUser+d.UserCode, userCodeRecord{Device: key, Expires: d.Expires})
	})
	if err != nil {
		return StartDeviceAuthorizationOutput{}, err
	}
	shown := DisplayUserCode(d.UserCode)
	verify := strings.TrimSuffix(s.Endpoint, "/") + "/device"
	return StartDeviceAuthorizationOutput{
		DeviceCode: deviceCode, UserCode: shown,
		VerificationURI: verify, VerificationURIComplete: verify + "?user_code=" + url.QueryEscape(shown),
		ExpiresIn: int32(DeviceCodeTTL / time.Second), Interval: int32(DeviceInterval / time.Second),
	}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
