// Package oidc implements SSO-OIDC CreateTokenWithIAM: it exchanges a JWT
// from a trusted token issuer (jwt-bearer grant), or a refresh token, for
// Identity Center tokens whose idToken carries the identity context that STS
// AssumeRole accepts in ProvidedContexts.
package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/ssoadmin"
	"github.com/idcgate/idcgate/internal/store"
)

// Grant types.
const (
	GrantJWTBearer    = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantRefreshToken = "refresh_token"
	TokenTypeAccess   = "urn:ietf:params:oauth:token-type:access_token"
)

// Sentinels, one per OAuth error of the SDK model; the wire table in
// awserror gives each its code and OAuth "error" member.
var (
	ErrInvalidRequest       = errors.New("oidc: invalid request")
	ErrInvalidClient        = errors.New("oidc: invalid client")
	ErrInvalidGrant         = errors.New("oidc: invalid grant")
	ErrUnauthorizedClient   = errors.New("oidc: unauthorized client")
	ErrUnsupportedGrantType = errors.New("oidc: unsupported grant type")
	ErrInvalidScope         = errors.New("oidc: invalid scope")
	ErrExpiredToken         = errors.New("oidc: expired token")
	// ErrIssuerUnavailable: the trusted token issuer's JWKS could not be
	// fetched, so the assertion can be neither accepted nor refused. AWS
	// documents nothing for this; we answer InternalServerException (a 5xx
	// the SDKs retry), not invalid_grant, which tells a client its token is
	// bad and not to retry it.
	ErrIssuerUnavailable = errors.New("oidc: trusted token issuer unavailable")
	// ErrAccessDenied: the application's authentication methods do not
	// admit the caller, or the user is not assigned to an application that
	// requires assignment (AccessDeniedException, access_denied).
	ErrAccessDenied = errors.New("oidc: access denied")
	// ErrAuthorizationPending: the device authorization is not approved
	// or denied yet; the client polls again after its interval.
	ErrAuthorizationPending = errors.New("oidc: authorization pending")
	// ErrSlowDown: the client polled faster than its interval.
	ErrSlowDown = errors.New("oidc: slow down")
	// ErrInvalidClientMetadata: RegisterClient's client type or metadata
	// cannot be registered.
	ErrInvalidClientMetadata = errors.New("oidc: invalid client metadata")
	// ErrInvalidRedirectURI: a redirect URI is malformed or not one the
	// client registered.
	ErrInvalidRedirectURI = errors.New("oidc: invalid redirect uri")
)

// Error is an OAuth error: its Message is the error_description.
type Error = apierror.Error

var fail = apierror.New

// Lifetimes of what CreateTokenWithIAM issues.
const (
	AccessTokenTTL  = time.Hour
	RefreshTokenTTL = 12 * time.Hour
)

// Applications is where CreateTokenWithIAM finds the application, its
// trusted token issuers and its assignments: the sso-admin records in the
// store (*ssoadmin.Service), read on every call so a change takes effect on
// the next one.
type Applications interface {
	Application(ctx context.Context, arn string) (ssoadmin.Application, error)
	TrustedTokenIssuer(ctx context.Context, arn string) (ssoadmin.TrustedTokenIssuer, error)
	IsAssigned(ctx context.Context, appArn, userID string, groupIDs []string) (bool, error)
}

// Service issues tokens.
type Service struct {
	Dir  *identitycenter.Directory
	Apps Applications
	// Verifier gives the JWT verifier of a trusted token issuer (cached by
	// its ARN and version by the caller).
	Verifier func(ctx context.Context, t ssoadmin.TrustedTokenIssuer) (*jwtverify.Verifier, error)
	// GroupIDs are the ids of the groups the user belongs to (for
	// assignments made to groups).
	GroupIDs func(ctx context.Context, u *identitycenter.User) ([]string, error)
	Contexts *seal.Box // identity-context assertions
	Tokens   *seal.Box // access and refresh tokens
	Clock    clock.Clock

	// Store holds interactive sign-in's state (clients, device and
	// authorization codes, used refresh tokens), so any replica serves any
	// step. Endpoint is idcgate's public URL (verificationUri, and what a
	// startUrl may name); Region is the one client ids name.
	Store    store.Store
	Endpoint string
	Region   string

	signer    jose.Signer
	publicKey *ecdsa.PublicKey

	// policies keeps parsed actor policies by their text (a policy is
	// immutable, and the same text always parses the same), so a call
	// parses none it has seen.
	policiesOnce sync.Once
	policies     *lru.Cache[string, *iam.Policy]
}

// actorPolicy parses an actor policy, or gives the one parsed before.
func (s *Service) actorPolicy(doc []byte) (*iam.Policy, error) {
	s.policiesOnce.Do(func() { s.policies, _ = lru.New[string, *iam.Policy](1024) })
	if p, ok := s.policies.Get(string(doc)); ok {
		return p, nil
	}
	p, err := ssoadmin.ParseActorPolicy(doc)
	if err == nil {
		s.policies.Add(string(doc), p)
	}
	return p, err
}

// IDTokenIssuer is the iss of idTokens, in AWS's form.
func (s *Service) IDTokenIssuer() string {
	id := s.Dir.InstanceArn[strings.LastIndex(s.Dir.InstanceArn, "/")+1:]
	return "https://identitycenter.amazonaws.com/" + id
}

// Init derives the idToken signing key from the master key, so every replica
// signs with the same key.
func (s *Service) Init(mk *masterkey.Key) error {
	for i := 0; ; i++ {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), mk.Derive(32, "idtoken-signing", fmt.Sprint(i)))
		if err != nil {
			continue // scalar out of range: astronomically rare, try the next
		}
		s.publicKey = &k.PublicKey
		s.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: "idc-1"}}, (&jose.SignerOptions{}).WithType("JWT"))
		return err
	}
}

// IDTokenKeys is the public key idTokens are signed with.
func (s *Service) IDTokenKeys() *jose.JSONWebKeySet {
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: s.publicKey, KeyID: "idc-1", Algorithm: "ES256", Use: "sig"}}}
}

// Input is CreateTokenWithIAM's input.
type Input struct {
	ClientId     *string
	GrantType    *string
	Assertion    *string
	RefreshToken *string
	Scope        []string

	// Caller and Auth are who calls and how (not on the wire): the
	// application's authentication methods decide whether Caller may.
	Caller *auth.Principal `json:"-"`
	Auth   auth.Request    `json:"-"`
}

// Output is CreateTokenWithIAM's output.
type Output struct {
	AccessToken     string
	TokenType       string
	ExpiresIn       int32
	RefreshToken    string
	IdToken         string
	IssuedTokenType string
	Scope           []string
	IdentityContext string
}

type refreshClaims struct {
	UserID  string    `json:"uid"`
	App     string    `json:"app"`
	Scope   []string  `json:"scp,omitempty"`
	Expires time.Time `json:"exp"`
	Kind    string    `json:"k"`
	// ClientID is the registered public client (RegisterClient) the token
	// was issued to; empty for CreateTokenWithIAM's tokens, whose client
	// is the application.
	ClientID string `json:"cid,omitempty"`
	// ID names a refresh token issued by CreateToken, so its one use can
	// be recorded (refresh tokens rotate).
	ID string `json:"jti,omitempty"`
}

// MaxClientID is the longest application ARN (sso-admin's ApplicationArn:
// length 10 to 1224).
const MaxClientID = 1224

// ApplicationArn checks the clientId member and returns it (callers
// authorize on it before the exchange).
func ApplicationArn(in Input) (string, error) {
	if in.ClientId == nil || *in.ClientId == "" {
		return "", fail(ErrInvalidRequest, "clientId is required.")
	}
	// The clientId is evaluated as a resource (IAM) before it is looked up;
	// nothing longer than an application ARN can be one, so a longer value
	// is refused before policies are matched against it.
	if len(*in.ClientId) > MaxClientID {
		return "", fail(ErrInvalidRequest, "clientId must be at most %d characters.", MaxClientID)
	}
	return *in.ClientId, nil
}

// CreateTokenWithIAM performs the exchange (BEHAVIOUR 15.4): the
// application must exist and be enabled, an IAM authentication method of
// it must admit the caller, the assertion must come through its jwt-bearer
// grant (issuer and audience), and when it requires assignment the user
// must be assigned directly or through a group.
func (s *Service) CreateTokenWithIAM(ctx context.Context, in Input) (Output, error) {
	appArn, err := ApplicationArn(in)
	if err != nil {
		return Output{}, err
	}
	if in.GrantType == nil || *in.GrantType == "" {
		return Output{}, fail(ErrInvalidRequest, "grantType is required.")
	}
	app, err := s.application(ctx, appArn, ErrInvalidClient)
	if err != nil {
		return Output{}, err
	}
	if err := s.checkActor(app, in); err != nil {
		return Output{}, err
	}
	now := s.Clock.Now()
	var user *identitycenter.User
	switch *in.GrantType {
	case GrantJWTBearer:
		if in.Assertion == nil || *in.Assertion == "" {
			return Output{}, fail(ErrInvalidRequest, "assertion is required for the jwt-bearer grant.")
		}
		if user, err = s.verifyAssertion(ctx, &app, *in.Assertion); err != nil {
			return Output{}, err
		}
	case GrantRefreshToken:
		if in.RefreshToken == nil || *in.RefreshToken == "" {
			return Output{}, fail(ErrInvalidRequest, "refreshToken is required for the refresh_token grant.")
		}
		var rc refreshClaims
		// A public client's refresh token (ClientID set) is CreateToken's,
		// even when its client is entitled to this application.
		if err := s.Tokens.Open(*in.RefreshToken, &rc); err != nil || rc.Kind != "refresh" || rc.App != appArn || rc.ClientID != "" {
			return Output{}, fail(ErrInvalidGrant, "The refresh token is invalid.")
		}
		if !now.Before(rc.Expires) {
			return Output{}, fail(ErrExpiredToken, "The refresh token has expired.")
		}
		if user, err = s.Dir.UserByID(ctx, rc.UserID); errors.Is(err, identitycenter.ErrNoSuchUser) {
			return Output{}, fail(ErrInvalidGrant, "The user of the refresh token no longer exists.")
		} else if err != nil {
			return Output{}, err
		}
	default:
		return Output{}, fail(ErrUnsupportedGrantType, "Grant type %s is not supported by CreateTokenWithIAM here.", printable(*in.GrantType))
	}
	if err := s.checkAssignment(ctx, &app, user); err != nil {
		return Output{}, err
	}
	for _, sc := range in.Scope {
		if !scopeAllowed(&app, sc) {
			return Output{}, fail(ErrInvalidScope, "Scope %s is not an access scope of application %s.", printable(sc), app.ApplicationArn)
		}
	}
	return s.issue(&app, user, in.Scope, now)
}

// application reads an enabled application; a missing or disabled one is
// refused with kind: invalid_client where the application is the client
// (a clientId SSO-OIDC does not know), invalid_request where a request
// names it (RegisterClient's entitledApplicationArn).
func (s *Service) application(ctx context.Context, arn string, kind error) (ssoadmin.Application, error) {
	if s.Apps == nil || s.Dir == nil {
		return ssoadmin.Application{}, fail(kind, "Application %s does not exist.", printable(arn))
	}
	app, err := s.Apps.Application(ctx, arn)
	switch {
	case errors.Is(err, ssoadmin.ErrNotFound):
		return app, fail(kind, "Application %s does not exist.", printable(arn))
	case err != nil:
		return app, err
	case app.Status == ssoadmin.StatusDisabled:
		return app, fail(kind, "Application %s is disabled.", app.ApplicationArn)
	}
	return app, nil
}

// ActionCreateTokenWithIAM is the action an actor policy must allow.
const ActionCreateTokenWithIAM = "sso-oauth:CreateTokenWithIAM"

// checkActor: one of the application's IAM authentication methods must
// allow the caller (its actor policy, a resource-based policy, evaluated
// by the IAM evaluator with the request's condition keys; an explicit deny
// refuses). Without a caller (in-process use) there is nothing to check.
func (s *Service) checkActor(app ssoadmin.Application, in Input) error {
	if in.Caller == nil {
		return nil
	}
	m, ok := app.AuthenticationMethods[ssoadmin.AuthenticationMethodIAM]
	if !ok {
		return fail(ErrAccessDenied, "Application %s has no IAM authentication method: no IAM principal may call CreateTokenWithIAM for it.", app.ApplicationArn)
	}
	pol, err := s.actorPolicy(m.ActorPolicy)
	if err != nil {
		return &Error{Kind: ErrAccessDenied, Message: fmt.Sprintf("The IAM authentication method of application %s cannot be evaluated.", app.ApplicationArn), Cause: err}
	}
	req := &iam.Request{Action: ActionCreateTokenWithIAM, Resource: app.ApplicationArn, Principal: in.Caller.IAMPrincipal(),
		Context: auth.Conditions(in.Caller, in.Auth, nil)}
	if pol.Evaluate(req) != iam.DecisionAllow {
		return fail(ErrAccessDenied, "User: %s is not authorized to perform: %s on resource: %s because the application's IAM authentication method does not allow it.",
			in.Caller.ARN, ActionCreateTokenWithIAM, app.ApplicationArn)
	}
	return nil
}

// checkAssignment: an application that requires assignment admits only
// users assigned to it directly or through one of their groups.
func (s *Service) checkAssignment(ctx context.Context, app *ssoadmin.Application, user *identitycenter.User) error {
	ok, err := s.assigned(ctx, app, user)
	if err != nil {
		return err
	}
	if !ok {
		return fail(ErrAccessDenied, "User %s is not assigned to application %s, which requires assignment.", user.UserID, app.ApplicationArn)
	}
	return nil
}

// alwaysScopes are the OpenID and AWS scopes every application may ask for.
var alwaysScopes = []string{"openid", "aws", "sts:identity_context"}

func scopeAllowed(app *ssoadmin.Application, sc string) bool {
	if slices.Contains(alwaysScopes, sc) {
		return true
	}
	_, ok := app.Scopes[sc]
	return ok
}

func (s *Service) verifyAssertion(ctx context.Context, app *ssoadmin.Application, assertion string) (*identitycenter.User, error) {
	if _, err := jwtverify.UnverifiedIssuer(assertion); err != nil {
		return nil, fail(ErrInvalidGrant, "The assertion is not a well-formed JWT.")
	}
	grant, ok := app.Grants[GrantJWTBearer]
	if !ok {
		return nil, fail(ErrUnauthorizedClient, "Application %s has no %s grant.", app.ApplicationArn, GrantJWTBearer)
	}
	t, err := s.VerifyTrustedJWT(ctx, assertion, grant.AuthorizedTokenIssuers)
	var nc *NoMappedClaimError
	switch {
	case err == nil:
		return t.User, nil
	case errors.Is(err, ErrIssuerNotAccepted):
		return nil, fail(ErrUnauthorizedClient, "Application %s does not accept tokens from issuer %s.", app.ApplicationArn, printable(t.Iss))
	case errors.As(err, &nc):
		return nil, fail(ErrInvalidGrant, "The assertion has no %s claim.", nc.Path)
	case errors.Is(err, identitycenter.ErrAmbiguousUser):
		// Never pick one: whichever we chose, the token could be another
		// person's. The description names no user.
		return nil, fail(ErrInvalidGrant, "More than one user in identity store %s has %s equal to the assertion's %s claim; the assertion cannot name one user.", s.Dir.IdentityStoreID, t.Issuer.IdentityStoreAttributePath, t.Issuer.ClaimAttributePath)
	case errors.Is(err, identitycenter.ErrNoSuchUser):
		return nil, fail(ErrInvalidGrant, "No user in identity store %s has %s equal to the assertion's %s claim.", s.Dir.IdentityStoreID, t.Issuer.IdentityStoreAttributePath, t.Issuer.ClaimAttributePath)
	case JWTFault(err):
		return nil, assertionError(err, app, &t.Issuer, t.Iss)
	}
	return nil, err // the store's or the directory's own failure
}

func (s *Service) issue(app *ssoadmin.Application, user *identitycenter.User, scope []string, now time.Time) (Output, error) {
	credID := make([]byte, 12)
	rand.Read(credID)
	ic := identitycenter.Context{
		Version: 1, InstanceArn: s.Dir.InstanceArn, InstanceAccount: s.Dir.Account,
		IdentityStoreID: s.Dir.IdentityStoreID, IdentityStoreArn: s.Dir.IdentityStoreArn,
		UserID: user.UserID, UserName: user.UserName, ApplicationArn: app.ApplicationArn,
		CredentialID: base64.RawURLEncoding.EncodeToString(credID),
		IssuedAt:     now.Truncate(time.Second), Expires: now.Add(AccessTokenTTL).Truncate(time.Second),
	}
	assertion, err := s.Contexts.Seal(ic)
	if err != nil {
		return Output{}, err
	}
	access, err := s.Tokens.Seal(refreshClaims{UserID: user.UserID, App: app.ApplicationArn, Scope: scope, Expires: ic.Expires, Kind: "access"})
	if err != nil {
		return Output{}, err
	}
	refresh, err := s.Tokens.Seal(refreshClaims{UserID: user.UserID, App: app.ApplicationArn, Scope: scope, Expires: now.Add(RefreshTokenTTL), Kind: "refresh"})
	if err != nil {
		return Output{}, err
	}
	idToken, err := jwt.Signed(s.signer).Claims(map[string]any{
		"iss":                    s.IDTokenIssuer(),
		"sub":                    user.UserID,
		"aud":                    app.ApplicationArn,
		"iat":                    ic.IssuedAt.Unix(),
		"exp":                    ic.Expires.Unix(),
		"sts:identity_context":   assertion,
		"aws:identity_store_id":  s.Dir.IdentityStoreID,
		"aws:identity_store_arn": s.Dir.IdentityStoreArn,
		"aws:instance_arn":       s.Dir.InstanceArn,
		"aws:instance_account":   s.Dir.Account,
		"aws:application_arn":    app.ApplicationArn,
		"aws:credential_id":      ic.CredentialID,
	}).Serialize()
	if err != nil {
		return Output{}, err
	}
	return Output{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int32(AccessTokenTTL / time.Second),
		RefreshToken: refresh, IdToken: idToken, IssuedTokenType: TokenTypeAccess,
		Scope: slices.Clone(scope), IdentityContext: assertion,
	}, nil
}

// assertionError turns a jwtverify refusal into the OAuth error and a
// description that says what is wrong with the assertion.
func assertionError(err error, app *ssoadmin.Application, issuer *ssoadmin.TrustedTokenIssuer, iss string) error {
	var ce *jwtverify.ClaimError
	var ae *jwtverify.AlgorithmError
	switch {
	case errors.Is(err, jwtverify.ErrKeys):
		return &Error{Kind: ErrIssuerUnavailable, Message: fmt.Sprintf("The keys of trusted token issuer %s could not be retrieved; try again later.", issuer.Name), Cause: err}
	case errors.As(err, &ae):
		return fail(ErrInvalidGrant, "The assertion is signed with %s; only RS256 and ES256 are accepted.", printable(ae.Alg))
	case errors.Is(err, jwtverify.ErrSignature):
		return fail(ErrInvalidGrant, "The assertion's signature does not verify with the keys of issuer %s.", printable(iss))
	case errors.As(err, &ce) && errors.Is(err, jwtverify.ErrMissingClaim):
		return fail(ErrInvalidGrant, "The assertion has no %s claim; it is required.", ce.Claim)
	case errors.As(err, &ce):
		return fail(ErrInvalidGrant, "The assertion's %s claim must be %s.", ce.Claim, ce.Want)
	case errors.Is(err, jwtverify.ErrExpired):
		return fail(ErrInvalidGrant, "The assertion has expired.")
	case errors.Is(err, jwtverify.ErrNotYet):
		return fail(ErrInvalidGrant, "The assertion is not valid yet: its nbf is in the future.")
	case errors.Is(err, jwtverify.ErrIssuedInFuture):
		return fail(ErrInvalidGrant, "The assertion was issued in the future: its iat is later than now.")
	case errors.Is(err, jwtverify.ErrIssuer):
		return fail(ErrInvalidGrant, "The assertion's issuer is not %s.", printable(iss))
	case errors.Is(err, jwtverify.ErrAudience):
		return fail(ErrInvalidGrant, "The assertion's audience is not accepted by application %s.", app.ApplicationArn)
	default:
		return fail(ErrInvalidGrant, "The assertion is not a well-formed JWT.")
	}
}

// claimAt evaluates a claim path (config-validated: identifiers or quoted
// names joined by dots, the JMESPath subset we support) to a string claim.
func claimAt(claims map[string]any, path string) (string, bool) {
	var cur any = claims
	for path != "" {
		var name string
		if strings.HasPrefix(path, `"`) {
			end := strings.IndexByte(path[1:], '"')
			if end < 0 {
				return "", false
			}
			name, path = path[1:end+1], path[end+2:]
		} else if i := strings.IndexByte(path, '.'); i >= 0 {
			name, path = path[:i], path[i:]
		} else {
			name, path = path, ""
		}
		path = strings.TrimPrefix(path, ".")
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur = m[name]
	}
	v, ok := cur.(string)
	return v, ok
}

var printable = apierror.Printable
