package sts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/validation"
)

// Sentinels of AssumeRoleWithWebIdentity, mapped to STS's codes by the wire table.
var (
	// ErrInvalidIdentityToken: the token is not a JWT, names no provider of
	// the role's account, is not signed by its keys, or names none of its
	// client ids.
	ErrInvalidIdentityToken = errors.New("sts: invalid web identity token")
	// ErrWebIdentityExpired: the token's exp has passed.
	ErrWebIdentityExpired = errors.New("sts: web identity token expired")
	// ErrIDPRejectedClaim: a claim of a well-signed token is not valid
	// (not yet valid, issued in the future, or of the wrong type).
	ErrIDPRejectedClaim = errors.New("sts: identity provider claim rejected")
	// ErrIDPCommunication: the provider's keys could not be fetched.
	ErrIDPCommunication = errors.New("sts: identity provider unreachable")
)

// WebIdentityAction is the action a role's trust policy must allow.
const WebIdentityAction = "sts:AssumeRoleWithWebIdentity"

// AssumeRoleWithWebIdentityInput is AssumeRoleWithWebIdentity's input.
type AssumeRoleWithWebIdentityInput struct {
	RoleArn          string
	RoleSessionName  string
	WebIdentityToken string
	ProviderId       *string
	DurationSeconds  *int64
	Policy           string
	PolicyArns       []string
}

// WebIdentity is the caller a verified token names: CloudTrail's
// WebIdentityUser.
type WebIdentity struct {
	Account     string
	ProviderArn string
	Subject     string
	Audience    string
}

// AssumeRoleWithWebIdentityOutput is its answer.
type AssumeRoleWithWebIdentityOutput struct {
	AssumeRoleOutput
	SubjectFromWebIdentityToken string
	Provider                    string
	Audience                    string
}

// notAuthorizedWeb is AWS's refusal for a role that does not exist or
// does not trust the token (one answer, so nothing tells them apart).
func notAuthorizedWeb() error {
	return apierror.New(auth.ErrAccessDenied, "Not authorized to perform %s", WebIdentityAction)
}

// AssumeRoleWithWebIdentity exchanges an OpenID Connect ID token for a
// role session (BEHAVIOUR 5.6). The call is unsigned: the token is the
// caller's proof. identity is set once the token is verified, refused or
// not afterwards, for the audit record.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, in AssumeRoleWithWebIdentityInput, req auth.Request) (out AssumeRoleWithWebIdentityOutput, identity *WebIdentity, err error) {
	if err := validateWebIdentity(&in); err != nil {
		return out, nil, err
	}
	if in.ProviderId != nil {
		return out, nil, fail(ErrInvalidParameter, "ProviderId is only for the OAuth 2.0 access tokens of www.amazon.com and graph.facebook.com, which idcgate does not take; omit it for an OpenID Connect ID token.")
	}
	if len(in.PolicyArns) > 0 {
		return out, nil, validation.Newf("PolicyArns: idcgate has no managed policies, so %s cannot narrow the session; pass the statements inline as Policy.", printable(in.PolicyArns[0]))
	}
	account, _, ok := auth.SplitIAMARN(in.RoleArn, "role")
	if !ok || !s.Registry.IsAccount(account) {
		return out, nil, notAuthorizedWeb()
	}
	iss, err := jwtverify.UnverifiedIssuer(in.WebIdentityToken)
	if err != nil {
		return out, nil, fail(ErrInvalidIdentityToken, "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	provider, err := s.Registry.OIDCProviderFor(ctx, account, iss)
	// The lookup ignores the scheme; keys registered for https are never
	// fetched over plain http because a token says so.
	if errors.Is(err, iamstore.ErrNoSuchEntity) || err == nil && scheme(iss) != scheme(provider.URL) {
		return out, nil, fail(ErrInvalidIdentityToken, "No OpenIDConnect provider found in your account for %s", printable(iss))
	} else if err != nil {
		return out, nil, err
	}
	if s.IssuerKeys == nil {
		return out, nil, fmt.Errorf("sts: no key source for web identity tokens")
	}
	// Keys are found from the issuer as the token spells it when that is
	// the provider's URL but for a trailing slash (an issuer whose iss ends
	// in "/" names itself so in its discovery document), else from the
	// provider's URL: a few sources per provider, whatever tokens say.
	keysFrom := provider.URL
	if iamstore.OIDCResource(iss) == provider.Resource() {
		keysFrom = iss
	}
	v := &jwtverify.Verifier{Issuer: iss, Keys: s.IssuerKeys(keysFrom), Clock: s.Clock}
	claims, err := v.Verify(ctx, in.WebIdentityToken, provider.ClientIDs)
	if err != nil {
		return out, nil, s.tokenRefusal(err, in.WebIdentityToken)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return out, nil, fail(ErrIDPRejectedClaim, "The web identity token has no sub claim.")
	}
	aud := matchedAudience(claims["aud"], provider.ClientIDs)
	identity = &WebIdentity{Account: account, ProviderArn: provider.ARN(), Subject: sub, Audience: aud}

	role, ok, err := s.Registry.Role(ctx, in.RoleArn)
	if err != nil {
		return out, identity, err
	}
	if !ok {
		return out, identity, notAuthorizedWeb()
	}
	if role.Trust.Evaluate(&iam.Request{Action: WebIdentityAction, Resource: role.ARN,
		Principal: &iam.Principal{Type: "Federated", ARN: provider.ARN()},
		Context:   webIdentityConditions(provider, claims, aud, req)}) != iam.DecisionAllow {
		return out, identity, notAuthorizedWeb()
	}
	duration := time.Hour
	if in.DurationSeconds != nil {
		duration = time.Duration(*in.DurationSeconds) * time.Second
	}
	if duration > role.MaxSessionDuration {
		return out, identity, validation.Newf("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	packed, err := sessionPolicy(in.Policy)
	if err != nil {
		return out, identity, err
	}
	now := s.Clock.Now().UTC()
	expires := now.Add(duration).Truncate(time.Second)
	creds, err := s.issue(session{
		Account: role.Account, RoleArn: role.ARN,
		SessionName: in.RoleSessionName, IssuedAt: now.Truncate(time.Second), Expires: expires, SessionPolicy: in.Policy,
	})
	if err != nil {
		return out, identity, err
	}
	out.AssumeRoleOutput = roleSession(role, in.RoleSessionName, creds, packed)
	out.SubjectFromWebIdentityToken, out.Provider, out.Audience = sub, provider.ARN(), aud
	return out, identity, nil
}

// tokenRefusal turns a verification failure into STS's error.
func (s *Service) tokenRefusal(err error, token string) error {
	var ce *jwtverify.ClaimError
	switch {
	case errors.Is(err, jwtverify.ErrExpired):
		exp := jwtverify.UnverifiedExpiry(token)
		return fail(ErrWebIdentityExpired, "Token expired: current date/time %d must be before the expiration date/time %d", s.Clock.Now().Unix(), exp)
	case errors.Is(err, jwtverify.ErrAudience):
		return fail(ErrInvalidIdentityToken, "Incorrect token audience")
	case errors.Is(err, jwtverify.ErrKeys):
		return &apierror.Error{Kind: ErrIDPCommunication, Message: "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements", Cause: err}
	case errors.Is(err, jwtverify.ErrSignature):
		return fail(ErrInvalidIdentityToken, "The web identity token's signature was not made by a key of its identity provider.")
	case errors.Is(err, jwtverify.ErrAlgorithm):
		return fail(ErrInvalidIdentityToken, "The web identity token is signed with an algorithm idcgate does not accept (RS256 and ES256 are).")
	case errors.Is(err, jwtverify.ErrIssuer):
		return fail(ErrInvalidIdentityToken, "The web identity token's iss does not name its identity provider.")
	case errors.Is(err, jwtverify.ErrNotYet):
		return fail(ErrIDPRejectedClaim, "The web identity token is not valid yet (nbf).")
	case errors.Is(err, jwtverify.ErrIssuedInFuture):
		return fail(ErrIDPRejectedClaim, "The web identity token was issued in the future (iat).")
	case errors.As(err, &ce):
		if errors.Is(ce, jwtverify.ErrMissingClaim) {
			return fail(ErrIDPRejectedClaim, "The web identity token has no %s claim.", ce.Claim)
		}
		return fail(ErrIDPRejectedClaim, "The web identity token's %s claim must be %s.", ce.Claim, ce.Want)
	}
	return fail(ErrInvalidIdentityToken, "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
}

// matchedAudience is the token's audience that the provider accepts (the
// first, for a token with several).
func matchedAudience(aud any, clientIDs []string) string {
	switch a := aud.(type) {
	case string:
		return a
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok && slices.Contains(clientIDs, s) {
				return s
			}
		}
	}
	return ""
}

// webIdentityConditions are the keys a trust policy sees for a web
// identity: "<provider host and path>:aud", ":sub" and ":amr" (when the
// token has one), aws:FederatedProvider, and the request's global keys.
func webIdentityConditions(p iamstore.OIDCProvider, claims map[string]any, aud string, req auth.Request) iam.Context {
	c := iam.Context{}
	prefix := p.Resource()
	c.Set(prefix+":aud", aud)
	if sub, ok := claims["sub"].(string); ok {
		c.Set(prefix+":sub", sub)
	}
	switch amr := claims["amr"].(type) {
	case string:
		c.Set(prefix+":amr", amr)
	case []any:
		var vals []string
		for _, v := range amr {
			if s, ok := v.(string); ok {
				vals = append(vals, s)
			}
		}
		c.Set(prefix+":amr", vals...)
	}
	c.Set("aws:FederatedProvider", p.ARN())
	req.SetConditions(c)
	return c
}

// scheme is a URL's scheme, lower-cased ("" without one).
func scheme(u string) string {
	s, _, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	return strings.ToLower(s)
}

// validateWebIdentity holds the members to the STS model's bounds.
func validateWebIdentity(in *AssumeRoleWithWebIdentityInput) error {
	var v validation.Collector
	checkRoleSession(&v, in.RoleArn, in.RoleSessionName)
	// The token is a credential: a message never quotes it.
	if v.Required("webIdentityToken", in.WebIdentityToken != "") {
		v.SecretLength("webIdentityToken", in.WebIdentityToken, 4, 20000)
	}
	if in.ProviderId != nil {
		v.Length("providerId", *in.ProviderId, 4, 2048)
	}
	checkDurationAndPolicy(&v, in.DurationSeconds, in.Policy)
	checkPolicyArns(&v, in.PolicyArns)
	return v.Err()
}
